"""Privacy: blur or pixelate every face the detector finds.

Faces come from ``ocula.tasks.faces`` (MTCNN, or the Haar cascade without it). A detector's
box covers eyes to mouth; hair, forehead and ears identify people too, so each box is
enlarged (20 % on each side, 35 % above, 15 % below) before it is hidden. Blur is a Gaussian
with sigma = 1/6 of the region's larger side, strong enough that features are gone rather
than softened, blended in with a narrow feathered edge outside the enlarged box; pixelate
averages blocks of 1/8 of the face width (8 blocks across a face) with hard edges. Everything outside the
regions keeps its exact pixels.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..image import ImageInput, load_image
from ..results import BlurFacesResult, ImageInfo
from ._edit import PeakMemory, finish, precheck_output, with_alpha

MAX_SIDE: int | None = None  # the output keeps full resolution; faces() works on its own reduced copy
METHODS = ("blur", "pixelate")
GROW = {"left": 0.20, "right": 0.20, "top": 0.35, "bottom": 0.15}


def enlarge(box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The region hidden for a detected face box (x, y, w, h), clipped to the image."""
    x, y, w, h = box
    iw, ih = size
    x0 = max(0, int(round(x - GROW["left"] * w)))
    y0 = max(0, int(round(y - GROW["top"] * h)))
    x1 = min(iw, int(round(x + w + GROW["right"] * w)))
    y1 = min(ih, int(round(y + h + GROW["bottom"] * h)))
    return x0, y0, x1 - x0, y1 - y0


def _blur(rgb: np.ndarray, region: tuple[int, int, int, int]) -> None:
    import cv2

    x, y, w, h = region
    sigma = max(w, h) / 6
    feather = max(2, int(min(w, h) * 0.06))
    ih, iw = rgb.shape[:2]
    # work on the region plus the feather and the blur's reach, so edges blur from real pixels
    reach = int(3 * sigma) + feather
    ax0, ay0 = max(0, x - reach), max(0, y - reach)
    ax1, ay1 = min(iw, x + w + reach), min(ih, y + h + reach)
    area = rgb[ay0:ay1, ax0:ax1].astype(np.float32)
    blurred = cv2.GaussianBlur(area, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    mask = np.zeros(area.shape[:2], np.float32)
    mask[y - ay0:y - ay0 + h, x - ax0:x - ax0 + w] = 1.0
    # feather outwards only: every pixel of the region itself is fully blurred
    mask = cv2.dilate(mask, np.ones((2 * feather + 1, 2 * feather + 1), np.uint8)) if feather else mask
    mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=feather / 2)
    mask[y - ay0:y - ay0 + h, x - ax0:x - ax0 + w] = 1.0
    out = area * (1 - mask[..., None]) + blurred * mask[..., None]
    rgb[ay0:ay1, ax0:ax1] = np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _pixelate(rgb: np.ndarray, region: tuple[int, int, int, int], face_width: int) -> None:
    import cv2

    x, y, w, h = region
    block = max(4, face_width // 8)
    small = cv2.resize(rgb[y:y + h, x:x + w], (max(1, w // block), max(1, h // block)), interpolation=cv2.INTER_AREA)
    rgb[y:y + h, x:x + w] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def blur_faces(image: ImageInput, *, method: str = "blur", model: str | None = None, min_score: float = 0.9,
               output: str | os.PathLike | None = None, overwrite: bool = False, quality: int | None = None,
               sign: bool = False, watermark: str | None = None, settings: Settings | None = None) -> BlurFacesResult:
    """Hide every face found: ``method`` blur (default) or pixelate. Reports the regions hidden."""
    from .faces import faces as detect

    settings = settings or get_settings()
    if method not in METHODS:
        raise InvalidArgument(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    loaded = load_image(image, max_side=MAX_SIDE, settings=settings)
    precheck_output(output, loaded, overwrite, action="faces-blurred", sign=sign, watermark=watermark)
    with PeakMemory() as mem:
        found = detect(loaded, model=model, min_score=min_score, settings=settings)
        rgb = np.array(loaded.image)  # a writable copy
        regions = []
        for f in found.faces:
            region = enlarge(f.box, loaded.size)
            if region[2] < 1 or region[3] < 1:
                continue
            regions.append(region)
            if method == "blur":
                _blur(rgb, region)
            else:
                _pixelate(rgb, region, f.box[2])
    notes = [] if regions else ["no faces found: the output is a copy of the input"]
    result = BlurFacesResult(image=ImageInfo.of(loaded), width=loaded.width, height=loaded.height,
                             seconds=round(mem.seconds, 3), model=found.model, method=method,
                             faces=found.faces, regions=regions, notes=notes)
    return finish(result, with_alpha(Image.fromarray(rgb), loaded.alpha), loaded,
                  output=output, overwrite=overwrite, quality=quality, action="faces-blurred",
                  sign=sign, watermark=watermark, settings=settings)
