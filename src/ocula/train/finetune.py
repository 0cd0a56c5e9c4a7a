"""Fine-tuning of the last EfficientNet-Lite0 blocks (and the 1x1 head convolution), started
from the linear probe's head (linear probe then fine-tune, which keeps the pretrained features
from being disturbed by a random head).

The network stays in eval mode: batch-norm statistics are frozen (batches of a few dozen
images would estimate them badly) and there is no dropout, so a seed fixes the run. Without
augmentation the frozen part is computed once and kept; with augmentation it runs again on
every epoch's new views.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import augment, loop
from .features import Progress

N_BLOCKS, LR_BLOCKS, LR_HEAD, BATCH, PATIENCE = 2, 3e-4, 1e-3, 32, 3


def _split(backbone: Any, n_blocks: int) -> tuple[Callable, Callable, list]:
    import torch

    blocks = list(backbone._blocks)
    cut = len(blocks) - n_blocks

    def frozen(x):
        x = backbone._swish(backbone._bn0(backbone._conv_stem(x)))
        for b in blocks[:cut]:
            x = b(x)
        return x

    def trainable(z):
        for b in blocks[cut:]:
            z = b(z)
        z = backbone._swish(backbone._bn1(backbone._conv_head(z)))
        return torch.nn.functional.normalize(z.mean(dim=(2, 3)), dim=1)

    params = [p for b in blocks[cut:] for p in b.parameters()]
    params += list(backbone._conv_head.parameters()) + list(backbone._bn1.parameters())
    return frozen, trainable, params


def finetune(base: Any, images: Callable[[int], Sequence], y: np.ndarray, val_x: np.ndarray | None,
             y_val: np.ndarray | None, W: np.ndarray, b: np.ndarray, class_w: np.ndarray, *,
             epochs: int, seed: int, augment_kind: str, checkpoint: Path | None, fingerprint: str,
             progress: Progress | None, resume: bool = True, n_blocks: int = N_BLOCKS) -> tuple[Any, np.ndarray, np.ndarray, loop.History]:
    """Returns (fine-tuned backbone, W, b, history). ``images(epoch)`` gives the training
    images as PIL (already loaded); ``val_x`` is the preprocessed validation batch."""
    import torch

    from ..backends.efficientnet import preprocess

    torch.manual_seed(seed)
    backbone = copy.deepcopy(base).to(memory_format=torch.contiguous_format).eval()
    for p in backbone.parameters():
        p.requires_grad_(False)
    frozen, trainable, params = _split(backbone, n_blocks)
    for p in params:
        p.requires_grad_(True)
    head = torch.nn.Linear(W.shape[1], W.shape[0])
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(W))
        head.bias.copy_(torch.from_numpy(b))

    class Trainable(torch.nn.Module):  # one module so that the checkpoint holds both parts
        def __init__(self) -> None:
            super().__init__()
            self.blocks = torch.nn.ModuleList(list(backbone._blocks)[-n_blocks:])
            self.conv_head, self.bn1, self.head = backbone._conv_head, backbone._bn1, head

    module = Trainable()
    opt = torch.optim.AdamW([{"params": params, "lr": LR_BLOCKS}, {"params": head.parameters(), "lr": LR_HEAD}],
                            weight_decay=1e-4)
    cw = torch.from_numpy(class_w)
    n_classes = W.shape[0]
    cached_z: list[Any] = []

    def embed_frozen(batch_x: np.ndarray):
        with torch.no_grad():
            return frozen(torch.from_numpy(batch_x))

    def train_epoch(epoch: int) -> tuple[float, float]:
        rng = np.random.default_rng([seed, epoch, 1])
        if augment_kind == "none" and cached_z:
            zs, targets = cached_z, np.eye(n_classes, dtype=np.float32)[y]
        else:
            pil, targets = augment.views(images(epoch), y, n_classes, augment_kind, rng)
            x = np.stack([preprocess(im) for im in pil])
            zs = [embed_frozen(x[s:s + BATCH]) for s in range(0, len(x), BATCH)]
            if augment_kind == "none":
                cached_z.extend(zs)
        z_all = torch.cat(zs)
        T = torch.from_numpy(targets)
        order = torch.from_numpy(rng.permutation(len(z_all)))
        total, correct = 0.0, 0
        for s in range(0, len(order), BATCH):
            idx = order[s:s + BATCH]
            logits = head(trainable(z_all[idx]))
            loss = loop.soft_ce(logits, T[idx], cw)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == T[idx].argmax(1)).sum())
        return total / len(order), correct / len(order)

    val_z: list[Any] = []

    def evaluate() -> tuple[float, float]:
        if not val_z:
            val_z.extend(embed_frozen(val_x[s:s + BATCH]) for s in range(0, len(val_x), BATCH))
        with torch.no_grad():
            logits = torch.cat([head(trainable(z)) for z in val_z])
        yv = torch.from_numpy(y_val)
        onehot = torch.nn.functional.one_hot(yv, n_classes).float()
        return float(loop.soft_ce(logits, onehot, cw)), float((logits.argmax(1) == yv).float().mean())

    has_val = val_x is not None and len(val_x) > 0
    hist = loop.run(module, opt, train_epoch=train_epoch, evaluate=evaluate if has_val else None,
                    epochs=epochs, patience=PATIENCE, checkpoint=checkpoint, fingerprint=fingerprint,
                    progress=progress, stage="finetune", resume=resume)
    return (backbone, head.weight.detach().numpy().astype(np.float32),
            head.bias.detach().numpy().astype(np.float32), hist)
