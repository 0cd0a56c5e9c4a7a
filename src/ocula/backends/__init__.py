"""Backends: one module per model family. Models load once per process and are shared
between threads (the server's worker pool, analyze's batches)."""

from __future__ import annotations

import threading
from typing import Any, Callable

_models: dict[tuple, Any] = {}
_lock = threading.Lock()


def cached_model(key: tuple, factory: Callable[[], Any]) -> Any:
    """Return the model stored under ``key``, building it with ``factory`` the first time."""
    model = _models.get(key)
    if model is not None:
        return model
    with _lock:
        model = _models.get(key)
        if model is None:
            model = factory()
            _models[key] = model
    return model


def clear_models() -> None:
    """Forget every loaded model (tests; freeing memory in a long-lived process)."""
    with _lock:
        _models.clear()


def configure_threads(threads: int) -> None:
    """Apply the thread setting to torch and OpenCV once they are imported."""
    import sys

    if "torch" in sys.modules:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    if "cv2" in sys.modules:
        import cv2

        cv2.setNumThreads(threads)
