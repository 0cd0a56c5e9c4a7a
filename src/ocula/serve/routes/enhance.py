"""Enhance: upscale, denoise, inpaint, restore, blur faces, strip metadata. The output image is
kept with the job; the result's ``output`` is the URL that serves it."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter
from pydantic import BeforeValidator, Field

from ...results import (BlurFacesResult, DenoiseResult, ImageEdit, InpaintResult, RestoreResult, StripResult,
                        UpscaleResult)
from ...tasks.restore import WB_METHODS
from ...tasks.upscale import DEFAULT_TILE, MODELS
from ..problems import Problem
from ..run import ServerState
from . import CommaList, Options, image_route

router = APIRouter(tags=["enhance"])
_SUFFIX = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp",
           "TIFF": ".tif", "HEIF": ".heic", "AVIF": ".avif"}
_MEDIA = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".gif": "image/gif",
          ".bmp": "image/bmp", ".tif": "image/tiff", ".heic": "image/heic", ".avif": "image/avif"}


def upload_suffix(data: bytes) -> str:
    """The file suffix for uploaded bytes, from their header (the client's file name is not trusted)."""
    from PIL import Image

    from ...image import _register_heif

    _register_heif()
    try:
        with Image.open(io.BytesIO(data)) as img:
            return _SUFFIX.get(img.format or "", ".png")
    except Exception:  # not an image: the task will say so with its own clear error
        return ".png"


def write_upload(data: bytes, folder: str | Path, stem: str = "upload") -> Path:
    path = Path(folder) / f"{stem}{upload_suffix(data)}"
    path.write_bytes(data)
    return path


def keep_output(result: ImageEdit, job, suffix: str = ".png") -> dict[str, Any]:
    """Encode the result's image (or read the file it wrote) into the job; answer its URL."""
    with tempfile.TemporaryDirectory(prefix="ocula-serve-") as tmp:
        path = Path(result.output) if result.output else Path(result.save(str(Path(tmp) / f"output{suffix}")))
        data = path.read_bytes()
    url = job.add_output(data, _MEDIA.get(path.suffix.lower(), "application/octet-stream"))
    data = result.model_dump(mode="json")
    data["output"] = url
    return data


def _int_string(v: Any) -> Any:
    return int(v) if isinstance(v, str) and v.strip().isdigit() else v


class UpscaleOptions(Options):
    # form fields are strings: "2" must be accepted as 2 (a Literal of ints refuses it)
    scale: Annotated[Literal[2, 3, 4], BeforeValidator(_int_string)] = 4
    model: Literal[MODELS] = "realesrgan-x4plus"  # type: ignore[valid-type]
    tile: int = Field(DEFAULT_TILE, ge=0, le=1024, description="tile side in input pixels (0: whole image)")


class DenoiseOptions(Options):
    strength: float = Field(1.0, gt=0, le=5, description="scales the automatic filter strength")


class InpaintOptions(Options):
    box: str | None = Field(None, max_length=64, description="x,y,w,h of the region to fill (or send a 'mask' image)")
    method: Literal["telea", "ns", "lama"] = "telea"
    radius: int = Field(5, ge=1, le=50)
    grow: int = Field(2, ge=0, le=100)
    file_fields: ClassVar[tuple[str, ...]] = ("mask",)


class RestoreOptions(Options):
    steps: CommaList = Field(None, description="any of exposure, white_balance, contrast, clahe")
    white_balance: Literal[WB_METHODS] = "grey-world"  # type: ignore[valid-type]


class BlurFacesOptions(Options):
    method: Literal["blur", "pixelate"] = "blur"
    min_score: float = Field(0.9, ge=0, le=1)


class StripOptions(Options):
    pass


def _upscale(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...image import load_image
    from ...tasks.upscale import upscale

    o: UpscaleOptions = parsed.options
    loaded = load_image(parsed.images["image"], settings=state.settings)
    out_px = loaded.width * loaded.height * o.scale ** 2
    if out_px > state.config.max_pixels:
        raise Problem(422, f"a {o.scale}x upscale of {loaded.width}x{loaded.height} would be {out_px / 1e6:.0f} "
                           f"megapixels, over the server's limit of {state.config.max_pixels / 1e6:.0f} "
                           "(--max-megapixels); send a smaller image or a smaller scale", title="Invalid image")
    result = upscale(loaded, scale=o.scale, model=o.model, tile=o.tile, settings=state.settings,
                     progress=lambda done, total: job.report(done, total, "tiles"))
    return keep_output(result, job)


def _simple(name: str):
    def call(parsed, state: ServerState, job) -> dict[str, Any]:
        from importlib import import_module

        fn = getattr(import_module(f"ocula.tasks.{name}"), name)
        result = fn(parsed.images["image"], **parsed.options.model_dump(), settings=state.settings)
        return keep_output(result, job)
    return call


def _inpaint(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.inpaint import inpaint

    o: InpaintOptions = parsed.options
    if (o.box is None) == ("mask" not in parsed.images):
        raise Problem(422, "give exactly one of 'box' (x,y,w,h) or a 'mask' image (white = fill)",
                      title="Invalid option")
    result = inpaint(parsed.images["image"], mask=parsed.images.get("mask"), box=o.box, method=o.method,
                     radius=o.radius, grow=o.grow, settings=state.settings)
    return keep_output(result, job)


def _strip(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.strip import strip

    data = parsed.images["image"]
    with tempfile.TemporaryDirectory(prefix="ocula-serve-") as tmp:
        result = strip(data, output=Path(tmp) / f"stripped{upload_suffix(data)}", settings=state.settings)
        return keep_output(result, job)


image_route(router, "upscale", UpscaleOptions, _upscale, UpscaleResult, "4x (or 2x, 3x) super-resolution")
image_route(router, "denoise", DenoiseOptions, _simple("denoise"), DenoiseResult, "Remove noise")
image_route(router, "inpaint", InpaintOptions, _inpaint, InpaintResult, "Fill a region (box or mask)")
image_route(router, "restore", RestoreOptions, _simple("restore"), RestoreResult, "Fix exposure, colour and contrast")
image_route(router, "blur-faces", BlurFacesOptions, _simple("blur_faces"), BlurFacesResult, "Hide every face")
image_route(router, "strip", StripOptions, _strip, StripResult,
            "Remove EXIF, GPS, XMP and comments (same format, upright, colour profile kept)")
