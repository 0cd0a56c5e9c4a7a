"""Control maps for ControlNet, computed by ocula from an ordinary image.

- canny: white Canny edges on black, thresholds from the image's median brightness so
  dark and bright photos both give usable edges.
- scribble: the thick, sparse strokes scribble ControlNets were trained on: a sketch is
  thresholded (dark lines on light paper become white on black); a photo's edges are
  thickened, as if drawn with a marker.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..errors import InvalidArgument

KINDS = ("canny", "scribble")


def _gray(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    import cv2

    rgb = np.asarray(image.convert("RGB").resize(size, Image.Resampling.LANCZOS))
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def canny(image: Image.Image, size: tuple[int, int], low: int | None = None, high: int | None = None) -> np.ndarray:
    import cv2

    gray = _gray(image, size)
    if low is None or high is None:
        med = float(np.median(gray))
        low = int(max(0, 0.66 * med)) if low is None else low
        high = int(min(255, 1.33 * med + 1)) if high is None else high
    return cv2.Canny(gray, low, high)


def scribble(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    import cv2

    gray = _gray(image, size)
    # a drawing on paper: mostly light with a few dark strokes
    if float(np.mean(gray > 200)) > 0.6:
        lines = (gray < 128).astype(np.uint8) * 255
    else:
        lines = canny(image, size)
    width = max(3, round(min(size) / 128))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    return cv2.dilate(lines, kernel)


def control_map(image: Image.Image, kind: str, size: tuple[int, int]) -> Image.Image:
    """The RGB control image of ``kind`` at ``size`` (width, height)."""
    if kind not in KINDS:
        raise InvalidArgument(f"control must be one of {', '.join(KINDS)}, not {kind!r}")
    edges = canny(image, size) if kind == "canny" else scribble(image, size)
    return Image.fromarray(np.stack([edges] * 3, axis=-1))
