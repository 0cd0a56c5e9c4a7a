"""Giving freed memory back to the system after the big transient allocations of one image.

glibc keeps freed memory in its per-thread arenas; after one 100 MP decode or one OCR pass at
2560 px (onnxruntime allocates from several threads), a process kept ~350 MB it no longer used,
and the next image's peak came on top of it: a batch or a server worker crept past the memory
contract that one image alone met (README "Limits"). ``malloc_trim`` returns it; elsewhere (not
glibc) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except (OSError, AttributeError):
        return None


def trim() -> None:
    """Return the heap's free pages to the system (a few ms; call after big work, not in loops)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
