"""Linear probe: logistic regression on frozen, L2-normalised EfficientNet-Lite0 features.

Seconds on a CPU: features are computed once (and cached); the head trains with AdamW on
mini-batches whose order depends only on (seed, epoch), class-balanced, with early stopping on
validation loss. Deterministic under a seed (one thread, fixed init and batch order).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import loop
from .features import Progress

LR, WEIGHT_DECAY, BATCH, PATIENCE = 0.01, 1e-4, 128, 15


def make_head(n_classes: int, seed: int):
    import torch

    torch.manual_seed(seed)
    head = torch.nn.Linear(1280, n_classes)
    torch.nn.init.zeros_(head.weight)   # zero init: the fit does not depend on the init draw
    torch.nn.init.zeros_(head.bias)
    return head


def train_head(x: np.ndarray, targets: np.ndarray, x_val: np.ndarray | None, y_val: np.ndarray | None,
               class_w: np.ndarray, *, epochs: int, seed: int, checkpoint: Path | None = None,
               fingerprint: str = "", progress: Progress | None = None,
               resume: bool = True) -> tuple[np.ndarray, np.ndarray, loop.History]:
    """Fit the head; returns (W (K, 1280), b (K,), history)."""
    import torch

    n_classes = targets.shape[1]
    head = make_head(n_classes, seed)
    opt = torch.optim.AdamW(head.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    X, T = torch.from_numpy(x), torch.from_numpy(targets)
    cw = torch.from_numpy(class_w)
    hard = T.argmax(dim=1)
    Xv = torch.from_numpy(x_val) if x_val is not None and len(x_val) else None
    yv = torch.from_numpy(y_val) if Xv is not None else None
    # features are unit vectors: scaling them lets a small lr reach confident logits
    scale = 16.0

    def train_epoch(epoch: int) -> tuple[float, float]:
        order = torch.from_numpy(np.random.default_rng([seed, epoch]).permutation(len(X)))
        head.train()
        total, correct = 0.0, 0
        for s in range(0, len(X), BATCH):
            idx = order[s:s + BATCH]
            logits = head(X[idx] * scale)
            loss = loop.soft_ce(logits, T[idx], cw)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == hard[idx]).sum())
        return total / len(X), correct / len(X)

    def evaluate() -> tuple[float, float]:
        with torch.no_grad():
            logits = head(Xv * scale)
            onehot = torch.nn.functional.one_hot(yv, n_classes).float()
            return float(loop.soft_ce(logits, onehot, cw)), float((logits.argmax(1) == yv).float().mean())

    prev_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matmuls: extra threads only wait on each other (10x slower on a busy CPU)
    try:
        hist = loop.run(head, opt, train_epoch=train_epoch, evaluate=evaluate if Xv is not None else None,
                        epochs=epochs, patience=PATIENCE, checkpoint=checkpoint, fingerprint=fingerprint,
                        progress=progress, stage="train", resume=resume)
    finally:
        torch.set_num_threads(prev_threads)
    W = head.weight.detach().numpy() * scale
    b = head.bias.detach().numpy()
    return W.astype(np.float32), b.astype(np.float32), hist
