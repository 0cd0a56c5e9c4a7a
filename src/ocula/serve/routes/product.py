"""Product photos: cutout, crop, product. Like the enhance routes, the image made is kept with
the job and the result's ``output`` is the URL that serves it; ``product`` answers the listing
(copy in each language) as JSON, the same object ``ocula product`` writes as NAME.json."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from ...results import CropResult, CutoutResult, ProductResult
from ..problems import Problem
from ..run import ServerState
from . import CommaList, Options, image_route
from .enhance import keep_output

router = APIRouter(tags=["product"])


class CutoutOptions(Options):
    background: str = Field("transparent", max_length=32,
                            description="transparent, white, #RRGGBB, a colour name, or blur (no file paths)")
    shadow: bool = False
    mask_only: bool = False
    refine: Literal["guided", "none"] = "guided"


class CropOptions(Options):
    aspect: str = Field("1:1", max_length=16, description="W:H, e.g. 1:1, 4:5, 16:9")
    margin: str = Field("8%", max_length=8, description="around the subject on each side, e.g. 8%")
    size: int | None = Field(None, ge=16, le=20000, description="longer side of the output, pixels")
    faces: bool = Field(True, description="keep heads whole (face detection)")


class ProductOptions(Options):
    size: int = Field(2000, ge=16, le=8000, description="side of the square on white, pixels")
    margin: str = Field("7%", max_length=8)
    languages: CommaList = Field(None, description="languages of the copy (default en,zh)")
    upscale: bool = Field(False, description="enlarge a small product with Real-ESRGAN (seconds to minutes on a "
                                             "CPU; off: Lanczos)")


def _cutout(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.cutout import cutout

    o: CutoutOptions = parsed.options
    result = cutout(parsed.images["image"], background=o.background, shadow=o.shadow, mask_only=o.mask_only,
                    refine=o.refine, settings=state.settings, background_files=False)
    return keep_output(result, job, ".png" if result.pil.mode in ("RGBA", "L") else ".jpg")


def _crop(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.crop import crop

    o: CropOptions = parsed.options
    result = crop(parsed.images["image"], aspect=o.aspect, margin=o.margin, size=o.size, faces=o.faces,
                  settings=state.settings)
    return keep_output(result, job, ".png" if result.pil.mode == "RGBA" else ".jpg")


def _product(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.product import LANGUAGES, product

    o: ProductOptions = parsed.options
    if o.size * o.size > state.config.max_pixels:
        raise Problem(422, f"a {o.size}x{o.size} listing photo is over the server's limit of "
                           f"{state.config.max_pixels / 1e6:.0f} megapixels (--max-megapixels); ask for a smaller size",
                      title="Invalid option")
    result = product(parsed.images["image"], size=o.size, margin=o.margin, languages=o.languages or LANGUAGES,
                     upscale=o.upscale, settings=state.settings)
    return keep_output(result, job, ".jpg")


image_route(router, "cutout", CutoutOptions, _cutout, CutoutResult, "Remove the background (U²-Net-p)")
image_route(router, "crop", CropOptions, _crop, CropResult, "Crop to an aspect around the subject, heads whole")
image_route(router, "product", ProductOptions, _product, ProductResult,
            "A listing photo on white plus title, bullets and keywords (en, zh)")
