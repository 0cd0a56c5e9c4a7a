"""Perceptual hash for near-duplicate detection: 64-bit dHash.

dHash (difference hash) compares neighbouring pixels of a 9x8 grey thumbnail: each bit is
"is this pixel brighter than the one to its right". It survives resizing and recompression
almost unchanged (0-2 bits flip), a light crop flips a handful, and it costs one tiny resize,
so it is computed for every indexed image. Hashes are stored as signed 64-bit integers
(SQLite's INTEGER); ``hamming`` works on either sign.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

BITS = 64


def dhash(image: "Image.Image") -> int:
    """64-bit difference hash of an image, as a signed int64 (fits a SQLite INTEGER)."""
    from PIL import Image

    grey = image.convert("L")
    # two-step reduce: draft-quality box filter first keeps it cheap on large inputs
    if max(grey.size) > 256:
        grey.thumbnail((256, 256), Image.Resampling.BOX)
    small = np.asarray(grey.resize((9, 8), Image.Resampling.LANCZOS), dtype=np.int16)
    bits = (small[:, 1:] > small[:, :-1]).reshape(-1)
    value = 0
    for b in bits:
        value = (value << 1) | int(b)
    return int(np.array(value, dtype=np.uint64).view(np.int64))


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return bin((a ^ b) & 0xFFFFFFFFFFFFFFFF).count("1")


def hamming_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances between int64 hash arrays a (n,) and b (m,) -> (n, m) uint8."""
    x = np.bitwise_xor(a.astype(np.int64)[:, None], b.astype(np.int64)[None, :]).view(np.uint64)
    return np.bitwise_count(x).astype(np.uint8)
