"""Fill a region of an image from its surroundings: remove a blemish, a wire, a date stamp.

The region is a mask image (white, or any value >= 128, means fill; a 0/1 label mask counts
nonzero as fill; a mask with transparency counts its opaque pixels) or a box ``x,y,w,h``.
Methods: ``telea`` (Telea 2004, fast marching, the default) and ``ns`` (Navier-Stokes) from
OpenCV, offline and good for thin or small regions; ``lama`` (LaMa, a hub model on
onnxruntime) for large regions, where the classical methods smear. The mask is widened by
``grow`` pixels (2 by default) because hand-drawn masks tend to stop just short of the
thing to remove, leaving a halo of it to be propagated inwards. Pixels outside the mask
are never changed.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
from PIL import Image

from ..config import Settings, get_settings
from ..errors import InvalidArgument, InvalidImage
from ..image import ImageInput, load_image
from ..results import ImageInfo, InpaintResult
from ._edit import PeakMemory, finish, precheck_output, with_alpha

MAX_SIDE: int | None = None
METHODS = ("telea", "ns", "lama")


def parse_box(box: str | Sequence[int]) -> tuple[int, int, int, int]:
    """``"x,y,w,h"`` (or a 4-sequence) as integers; a clear error otherwise."""
    if isinstance(box, str):
        parts = [p.strip() for p in box.replace(" ", ",").split(",") if p.strip()]
        try:
            vals = [int(p) for p in parts]
        except ValueError:
            raise InvalidArgument(f"box {box!r} is not four whole numbers x,y,w,h (e.g. 10,20,64,48)") from None
    else:
        vals = list(box)
    if len(vals) != 4 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        raise InvalidArgument(f"box must be four whole numbers x,y,w,h, not {box!r}")
    return tuple(int(v) for v in vals)  # type: ignore[return-value]


def box_mask(box: str | Sequence[int], size: tuple[int, int]) -> np.ndarray:
    """A boolean mask for a box inside an image of ``size`` (w, h)."""
    x, y, w, h = parse_box(box)
    iw, ih = size
    if w <= 0 or h <= 0:
        raise InvalidArgument(f"box {x},{y},{w},{h}: width and height must be positive")
    if x < 0 or y < 0 or x + w > iw or y + h > ih:
        raise InvalidArgument(f"box {x},{y},{w},{h} reaches outside the {iw}x{ih} image "
                              f"(x+w must be <= {iw}, y+h <= {ih}, x and y >= 0)")
    m = np.zeros((ih, iw), dtype=bool)
    m[y:y + h, x:x + w] = True
    return m


def load_mask(mask: ImageInput | np.ndarray, size: tuple[int, int], settings: Settings) -> np.ndarray:
    """A boolean fill mask from any image (or array) the size of the picture."""
    if isinstance(mask, np.ndarray) and mask.ndim == 2:
        arr = mask
        m = arr > 0 if arr.dtype == bool or arr.max() <= 1 else arr >= 128
    else:
        try:
            lm = load_image(mask, settings=settings, name=None if not isinstance(mask, (str, os.PathLike))
                            else f"mask {mask}")
        except InvalidImage as e:
            raise InvalidArgument(f"the mask could not be read: {e}") from None
        if lm.alpha is not None and np.asarray(lm.alpha).min() < 128:
            m = np.asarray(lm.alpha) >= 128  # painted strokes on a transparent layer
        else:
            g = lm.gray()
            m = g > 0 if g.max() <= 1 else g >= 128
    if (m.shape[1], m.shape[0]) != tuple(size):
        raise InvalidArgument(f"the mask is {m.shape[1]}x{m.shape[0]} but the image is {size[0]}x{size[1]}; "
                              "they must be the same size")
    return m


def _found_mask(loaded, find: list[str], settings: Settings) -> np.ndarray:
    from .detect import detect_loaded

    found = detect_loaded(loaded, find, None, None, settings)
    if not found.objects:
        raise InvalidArgument(f"nothing matching {', '.join(find)} was found to fill")
    m = np.zeros((loaded.height, loaded.width), dtype=bool)
    for o in found.objects:
        x, y, w, h = o.box
        m[y:y + h, x:x + w] = True
    return m


def inpaint(image: ImageInput, *, mask: ImageInput | np.ndarray | None = None,
            box: str | Sequence[int] | None = None, find: list[str] | None = None, method: str = "telea",
            radius: int = 5, grow: int = 2, output: str | os.PathLike | None = None, overwrite: bool = False,
            quality: int | None = None, sign: bool = False, watermark: str | None = None,
            settings: Settings | None = None) -> InpaintResult:
    """Fill the pixels selected by ``mask``, ``box`` or the boxes of what ``find`` describes
    (English words, found by ``detect``) with ``method`` (telea, ns or lama)."""
    import cv2

    settings = settings or get_settings()
    if method not in METHODS:
        raise InvalidArgument(f"unknown inpaint method {method!r}; choose one of: {', '.join(METHODS)}")
    if sum(x is not None for x in (mask, box, find)) != 1:
        raise InvalidArgument("give exactly one of a mask (--mask FILE), a box (--box x,y,w,h) or words "
                              "(--find 'power lines')")
    if find is not None:
        from .detect import parse_find

        find = parse_find(find)
    if not 1 <= radius <= 50:
        raise InvalidArgument(f"radius must be 1..50 pixels, not {radius}")
    if not 0 <= grow <= 50:
        raise InvalidArgument(f"grow must be 0..50 pixels, not {grow}")
    loaded = load_image(image, max_side=MAX_SIDE, settings=settings)
    if find is not None:
        m = _found_mask(loaded, find, settings)
    else:
        m = box_mask(box, loaded.size) if box is not None else load_mask(mask, loaded.size, settings)
    if grow:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        m = cv2.dilate(m.astype(np.uint8), k).astype(bool)
    filled = int(m.sum())
    if filled == 0:
        raise InvalidArgument("the mask selects no pixels (fill = white / >= 128, or opaque on a transparent mask)")
    if filled == m.size:
        raise InvalidArgument("the mask covers the whole image: there is nothing around it to fill from")
    precheck_output(output, loaded, overwrite, action="inpainted", sign=sign, watermark=watermark)

    rgb = np.asarray(loaded.image)
    with PeakMemory() as mem:
        if method == "lama":
            from ..backends import lama

            out = lama.load(settings).fill(rgb, m)
        else:
            cv2.setNumThreads(settings.threads)
            flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
            bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
            out = cv2.cvtColor(cv2.inpaint(bgr, m.astype(np.uint8) * 255, radius, flag), cv2.COLOR_BGR2RGB)
            out[~m] = rgb[~m]  # exact pixels outside the mask, whatever the method did
    ys, xs = np.nonzero(m)
    region = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    result = InpaintResult(image=ImageInfo.of(loaded), width=loaded.width, height=loaded.height,
                           seconds=round(mem.seconds, 3), method=method, filled_pixels=filled,
                           filled_fraction=round(filled / m.size, 5), region=region)
    return finish(result, with_alpha(Image.fromarray(out), loaded.alpha), loaded,
                  output=output, overwrite=overwrite, quality=quality, action="inpainted",
                  sign=sign, watermark=watermark, settings=settings)
