"""Backends: one module per model family. Models load once per process and are shared
between threads (the server's worker pool, analyze's batches)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

_models: dict[tuple, Any] = {}
_lock = threading.RLock()  # re-entrant: a factory may load another model (an export from torch weights)


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


def ort_options(threads: int):
    """onnxruntime session options used by every ONNX backend: ``threads`` intra-op threads that
    sleep instead of spin between ops (spinning doubled latency on a busy 2-core machine), and
    no warnings on stderr."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def import_transformers():
    """transformers, or a MissingDependency naming the extra that installs it."""
    try:
        import transformers
    except ImportError:
        from ..errors import MissingDependency

        raise MissingDependency("transformers (hub models)", "pip install 'ocula[hub]'") from None
    return transformers


@dataclass(frozen=True)
class RawLine:
    """A line of text as an OCR engine reports it, before ocula orders and types it."""

    text: str
    confidence: float
    box: list[tuple[float, float]]  # 4 points clockwise from top-left, input-array pixels
