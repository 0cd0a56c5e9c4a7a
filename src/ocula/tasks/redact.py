"""redact: hide what words describe ("licence plate, screen, name badge"): blur, pixelate or
fill each region an open-vocabulary detector finds (``detect --find``), as blur-faces does for
faces. Boxes are widened by ``grow`` (a detector's box hugs the object; its edges still tell).
Everything outside the regions keeps its exact pixels."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..image import ImageInput, load_image
from ..results import ImageInfo, RedactResult
from ._edit import PeakMemory, finish, precheck_output, with_alpha

MAX_SIDE: int | None = None  # the output keeps full resolution; detection works on its own reduced copy
METHODS = ("blur", "pixelate", "fill")
ACTION = "c2pa.redacted"  # the C2PA action for removed or hidden content


def grown(box: tuple[int, int, int, int], grow: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A box widened by ``grow`` of its sides on every side, clipped to the image."""
    x, y, w, h = box
    dx, dy = grow * w, grow * h
    x0, y0 = max(0, int(round(x - dx))), max(0, int(round(y - dy)))
    x1, y1 = min(size[0], int(round(x + w + dx))), min(size[1], int(round(y + h + dy)))
    return x0, y0, x1 - x0, y1 - y0


def redact(image: ImageInput, *, find: list[str] | None = None, method: str = "blur", model: str | None = None,
           min_score: float | None = None, grow: float = 0.1, output: str | os.PathLike | None = None,
           overwrite: bool = False, quality: int | None = None, sign: bool = False, watermark: str | None = None,
           settings: Settings | None = None) -> RedactResult:
    """Hide every region that ``find`` describes (English words): ``method`` blur, pixelate or
    fill (solid black)."""
    from .blur_faces import _blur, _pixelate
    from .detect import _check_score, detect_loaded, parse_find

    settings = settings or get_settings()
    if method not in METHODS:
        raise InvalidArgument(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    if not find:
        raise InvalidArgument("say what to hide: --find 'licence plate, screen'")
    words = parse_find(find)
    min_score = _check_score(min_score)
    if isinstance(grow, bool) or not isinstance(grow, (int, float)) or not 0 <= grow <= 1:
        raise InvalidArgument(f"grow must be 0..1 (a share of each box's sides), not {grow!r}")
    loaded = load_image(image, max_side=MAX_SIDE, settings=settings)
    precheck_output(output, loaded, overwrite, action=ACTION, sign=sign, watermark=watermark)
    with PeakMemory() as mem:
        found = detect_loaded(loaded, words, model, min_score, settings)
        rgb = np.array(loaded.image.convert("RGB"))
        regions = []
        for o in found.objects:
            region = grown(o.box, grow, loaded.size)
            if region[2] < 1 or region[3] < 1:
                continue
            regions.append(region)
            x, y, w, h = region
            if method == "blur":
                _blur(rgb, region)
            elif method == "pixelate":
                _pixelate(rgb, region, max(w, h))
            else:
                rgb[y:y + h, x:x + w] = 0
    notes = [] if regions else [f"nothing matching {', '.join(words)} was found: the output is a copy of the input"]
    result = RedactResult(image=ImageInfo.of(loaded), width=loaded.width, height=loaded.height,
                          seconds=round(mem.seconds, 3), model=found.model, method=method, find=words,
                          objects=found.objects, regions=regions, notes=notes)
    return finish(result, with_alpha(Image.fromarray(rgb), loaded.alpha), loaded, output=output,
                  overwrite=overwrite, quality=quality, action=ACTION, sign=sign, watermark=watermark,
                  settings=settings)
