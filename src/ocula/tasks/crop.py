"""crop: a crop to an aspect ratio that keeps the subject whole, with a margin around it.

What the crop must keep comes from the cut-out's matte (``_matte``: the subject's box where
its alpha is at least ``SUBJECT_ALPHA``), joined with every face found (``tasks.faces``),
each enlarged the way ``blur-faces`` enlarges them (hair, forehead, chin), so heads are never
cut. Without a clear subject the crop follows the faces alone, else the centre of the
saliency map (the network's probability), at the largest size the aspect allows.

The crop is the smallest box of the aspect that holds that region with ``margin`` (a share
of the crop's side) on every side, centred on it and slid back inside the photo where it
would cross an edge (the margin on that side then shrinks, and a note says so). When the
photo is too narrow or too short for the aspect to hold the region at all, the crop cuts it
and a warning says by how much; the heads are then kept whole (a quarter of the spare height
above them), so it is feet that go rather than heads, or centred when not even they fit.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np
from PIL import Image

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..image import ImageInput, load_image
from ..results import CropResult, ImageInfo
from . import _matte
from ._edit import PeakMemory, finish, precheck_output, with_alpha

MAX_SIDE: int | None = None
MAX_MARGIN = 0.40       # per side; 45 % would leave a subject 10 % of the crop
MAX_RATIO = 10.0        # 10:1 either way is already a banner
SUBJECT_ALPHA = 64      # matte level counted as subject when placing a crop (keeps soft edges in)
MAX_OUTPUT_SIDE = 20000

Box = tuple[int, int, int, int]


def parse_aspect(value: str) -> tuple[float, str]:
    """'4:5' (also 4x5, 4/5, 1.25) -> (width / height, 'W:H')."""
    v = str(value).strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*[:x/]\s*(\d+(?:\.\d+)?)", v)
    try:
        w, h = (float(m.group(1)), float(m.group(2))) if m else (float(v), 1.0)
    except ValueError:
        raise InvalidArgument(f"aspect {value!r} is not a ratio; write it as W:H, e.g. 1:1, 4:5 or 16:9") from None
    if not (w > 0 and h > 0) or not math.isfinite(w / h):
        raise InvalidArgument(f"aspect {value!r}: both sides must be more than 0, e.g. 1:1, 4:5 or 16:9")
    ratio = w / h
    if not 1 / MAX_RATIO <= ratio <= MAX_RATIO:
        raise InvalidArgument(f"aspect {value!r} is more extreme than {MAX_RATIO:g}:1; use e.g. 1:1, 4:5 or 16:9")
    return ratio, (f"{w:g}:{h:g}" if m else f"{ratio:g}:1")


def parse_margin(value: str | float | int) -> float:
    """'8%', '0.08' or 8 (a number above 1 is read as percent) -> 0.08."""
    v = str(value).strip()
    try:
        x = float(v[:-1]) / 100 if v.endswith("%") else float(v)
    except ValueError:
        raise InvalidArgument(f"margin {value!r} is not a number; write e.g. 8% or 0.08") from None
    if not v.endswith("%") and x > 1:
        x /= 100
    if not math.isfinite(x) or x < 0:
        raise InvalidArgument(f"margin {value!r} must be 0% or more")
    if x > MAX_MARGIN:
        raise InvalidArgument(f"margin {value!r} leaves too little room for the subject: use 0% to "
                              f"{MAX_MARGIN:.0%} per side")
    return x


def check_size(size: int | None) -> None:
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 16 <= size <= MAX_OUTPUT_SIDE):
        raise InvalidArgument(f"size must be a whole number of pixels from 16 to {MAX_OUTPUT_SIDE}, not {size!r}")


def union(boxes: list[Box]) -> Box | None:
    if not boxes:
        return None
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def _start(lo: float, length: float, crop: int, limit: int, head: tuple[float, float] | None, above: float) -> int:
    """Where a crop of ``crop`` pixels starts along one axis of ``limit`` pixels, for a region
    at ``lo`` of ``length``: centred on it when it fits; when it does not, around the heads
    (``head``: start, length) with ``above`` of the spare room before them, else centred."""
    if length > crop and head is not None:
        h0, hl = head
        start = h0 - (crop - hl) * above if hl <= crop else h0 + hl / 2 - crop / 2
    else:
        start = lo + length / 2 - crop / 2
    return int(min(max(0, round(start)), limit - crop))


def plan(size: tuple[int, int], ratio: float, margin: float, region: Box | None,
         centre: tuple[float, float], heads: Box | None = None) -> tuple[Box, bool, float]:
    """(crop box, whether it cuts the region, the smallest margin left as a share of the side).
    When the region cannot fit, the heads in it are kept whole if they fit, else centred."""
    iw, ih = size
    if region is None:
        cw = min(iw, ih * ratio)
    else:
        inner = 1 - 2 * margin
        cw = max(region[2] / inner, region[3] / inner * ratio)
        cw = min(cw, iw, ih * ratio)
    ch = cw / ratio
    cw_i, ch_i = max(1, min(iw, round(cw))), max(1, min(ih, round(ch)))
    if region is None:
        x0 = min(max(0, round(centre[0] - cw_i / 2)), iw - cw_i)
        y0 = min(max(0, round(centre[1] - ch_i / 2)), ih - ch_i)
        return (x0, y0, cw_i, ch_i), False, 0.0
    rx, ry, rw, rh = region
    x0 = _start(rx, rw, cw_i, iw, (heads[0], heads[2]) if heads else None, 0.5)
    y0 = _start(ry, rh, ch_i, ih, (heads[1], heads[3]) if heads else None, 0.25)
    gaps = [(rx - x0) / cw_i, (x0 + cw_i - rx - rw) / cw_i, (ry - y0) / ch_i, (y0 + ch_i - ry - rh) / ch_i]
    return (x0, y0, cw_i, ch_i), rw > cw_i or rh > ch_i, max(0.0, min(gaps))


def _saliency_centre(prob: np.ndarray | None, size: tuple[int, int]) -> tuple[float, float]:
    w, h = size
    if prob is None or float(prob.sum()) <= 0:
        return w / 2, h / 2
    ys, xs = np.indices(prob.shape, dtype=np.float64)
    total = float(prob.sum())
    return (float((xs * prob).sum() / total) + 0.5) * w / prob.shape[1], \
        (float((ys * prob).sum() / total) + 0.5) * h / prob.shape[0]


def _heads(loaded, settings: Settings) -> list[Box]:
    from .blur_faces import enlarge
    from .faces import faces as find_faces

    found = find_faces(loaded, settings=settings)
    # faces() answers in the header's pixels, which the full decode here has too
    sx, sy = loaded.width / found.image.width, loaded.height / found.image.height
    out = []
    for f in found.faces:
        x, y, w, h = f.box
        out.append(enlarge((round(x * sx), round(y * sy), round(w * sx), round(h * sy)), loaded.size))
    return out


def crop(image: ImageInput, *, aspect: str = "1:1", margin: str | float = "8%", size: int | None = None,
         faces: bool = True, output: str | os.PathLike | None = None, overwrite: bool = False,
         quality: int | None = None, sign: bool = False, watermark: str | None = None,
         settings: Settings | None = None) -> CropResult:
    """Crop ``image`` to ``aspect`` around its subject with ``margin``; ``size``: the output's
    longer side in pixels (resampled with Lanczos). ``faces=False`` skips face detection.
    ``sign``/``watermark``: mark the output."""
    settings = settings or get_settings()
    ratio, label = parse_aspect(aspect)
    m = parse_margin(margin)
    check_size(size)
    loaded = load_image(image, max_side=MAX_SIDE, settings=settings)
    precheck_output(output, loaded, overwrite, action="cropped", sign=sign, watermark=watermark)
    notes: list[str] = []
    with PeakMemory() as mem:
        matte = _matte.matte(loaded, settings)
        heads = _heads(loaded, settings) if faces else []
        subject = _matte.bounding_box(matte.alpha, SUBJECT_ALPHA) if matte.clear else None
        region = union(([subject] if subject else []) + heads)
        guide = ("subject+faces" if heads else "subject") if subject else ("faces" if heads else "saliency")
        box, cuts, left = plan(loaded.size, ratio, m, region, _saliency_centre(matte.probability, loaded.size),
                               union(heads))
        x, y, w, h = box
        out = loaded.image.crop((x, y, x + w, y + h))
        alpha = loaded.alpha.crop((x, y, x + w, y + h)) if loaded.alpha is not None else None
        if size is not None and max(w, h) != size:
            s = size / max(w, h)
            new = (max(1, round(w * s)), max(1, round(h * s)))
            out = out.resize(new, Image.Resampling.LANCZOS)
            alpha = alpha.resize(new, Image.Resampling.LANCZOS) if alpha is not None else None
            if s > 1:
                notes.append(f"enlarged {s:.2f}x with Lanczos to {size} px (ocula upscale adds detail)")
        out = with_alpha(out, alpha)
    warnings = [] if matte.clear else [w for w in matte.warnings] + (
        [f"cropped around {len(heads)} face(s) instead"] if heads else ["cropped around the saliency map's centre"])
    if cuts:
        rx, ry, rw, rh = region  # type: ignore[misc]
        kept = min(1.0, w / rw) * min(1.0, h / rh)
        warnings.append(f"a {label} crop of this {loaded.width}x{loaded.height} photo cannot hold the whole subject "
                        f"({rw}x{rh}): it keeps {kept:.0%} of it; choose a {'wider' if rw > w else 'taller'} aspect")
    elif region is not None and left + 1e-6 < m:
        notes.append(f"margin {left:.1%} on the tightest side (the photo ends there), not {m:.0%}")
    result = CropResult(
        image=ImageInfo.of(loaded), width=out.width, height=out.height, seconds=round(mem.seconds, 3),
        aspect=label, margin=m, box=box, subject_box=region, guide=guide, faces=len(heads), cuts_subject=cuts,
        warnings=warnings, notes=notes)
    return finish(result, out, loaded, output=output, overwrite=overwrite, quality=quality, action="cropped",
                  sign=sign, watermark=watermark, settings=settings)
