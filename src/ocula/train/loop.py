"""The epoch loop shared by the linear probe and fine-tuning: class-balanced soft-target
cross-entropy, early stopping on validation loss, a checkpoint after every epoch.

Resuming: the checkpoint holds the module and optimizer state, the epoch, the best state so
far and the history; it is used only when its fingerprint (data, mode, seed, hyper-parameters)
matches the run, so a changed run never continues from a stale one. Batch order depends only
on (seed, epoch), so a resumed run gives the same result as an uninterrupted one.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..output import replacing
from .features import Progress


@dataclass
class History:
    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    resumed_from: int | None = None


def soft_ce(logits, targets, class_w):
    """Cross-entropy with soft targets, each sample weighted by its (soft) class weight."""
    import torch

    logp = torch.log_softmax(logits, dim=1)
    w = targets @ class_w
    return -((targets * logp).sum(dim=1) * w).sum() / w.sum().clamp_min(1e-12)


def run(module: Any, optimizer: Any, *, train_epoch: Callable[[int], tuple[float, float]],
        evaluate: Callable[[], tuple[float, float]] | None, epochs: int, patience: int,
        checkpoint: Path | None, fingerprint: str, progress: Progress | None,
        stage: str, resume: bool = True) -> History:
    """Train ``module`` for up to ``epochs``; leaves it holding the best (lowest val loss)
    weights. ``train_epoch(epoch) -> (loss, acc)``, ``evaluate() -> (val_loss, val_acc)``."""
    import torch

    hist = History()
    best_loss = float("inf")
    best_state = copy.deepcopy(module.state_dict())
    start = 0
    if resume and checkpoint and checkpoint.exists():
        try:
            ck = torch.load(checkpoint, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError, ValueError):
            ck = None
        if ck and ck.get("fingerprint") == fingerprint:
            module.load_state_dict(ck["module"])
            optimizer.load_state_dict(ck["optimizer"])
            best_state, best_loss = ck["best_state"], ck["best_loss"]
            hist = History(**ck["history"])
            start = hist.resumed_from = ck["epoch"]
            if ck.get("finished"):
                start = epochs
    since_best = start - hist.best_epoch if start else 0
    for epoch in range(start, epochs):
        if hist.stopped_early:
            break
        loss, acc = train_epoch(epoch)
        row = {"epoch": epoch + 1, "loss": loss, "acc": acc}
        if evaluate is not None:
            val_loss, val_acc = evaluate()
            row.update(val_loss=val_loss, val_acc=val_acc)
            improved = val_loss < best_loss - 1e-6
        else:
            val_loss, improved = loss, loss < best_loss - 1e-6
        if improved:
            best_loss, hist.best_epoch, since_best = val_loss, epoch + 1, 0
            best_state = copy.deepcopy(module.state_dict())
        else:
            since_best += 1
        hist.epochs.append(row)
        if progress:
            progress(stage, epoch + 1, epochs, row)
        if since_best >= patience:
            hist.stopped_early = True
        if checkpoint:
            with replacing(checkpoint) as tmp:
                torch.save({"fingerprint": fingerprint, "module": module.state_dict(),
                            "optimizer": optimizer.state_dict(), "best_state": best_state,
                            "best_loss": best_loss, "history": dataclasses.asdict(hist), "epoch": epoch + 1,
                            "finished": hist.stopped_early or epoch + 1 == epochs}, tmp)
    module.load_state_dict(best_state)
    return hist
