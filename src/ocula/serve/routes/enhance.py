"""Enhance: the hand-made routes (upscale, inpaint, strip) and what every image-writing route
shares: the output image is kept with the job; the result's ``output`` is the URL that serves it."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Annotated, Any, Callable, ClassVar, Literal

from fastapi import APIRouter
from pydantic import BeforeValidator, Field

from ...results import ImageEdit, InpaintResult, StripResult, UpscaleResult
from ..problems import Problem
from ..run import ServerState
from . import Options, image_route, options_model

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


def write_and_keep(run: Callable[[Path], ImageEdit], job, suffix: str = ".png") -> dict[str, Any]:
    """Run an image-writing task with an output file in a scratch folder, so that it is written,
    watermarked and signed like any file ocula writes, and keep that file with the job."""
    with tempfile.TemporaryDirectory(prefix="ocula-serve-") as tmp:
        return keep_output(run(Path(tmp) / f"output{suffix}"), job)


def keep_output(result: ImageEdit, job, suffix: str = ".png") -> dict[str, Any]:
    """Encode the result's image (or read the file it wrote) into the job; answer its URL."""
    with tempfile.TemporaryDirectory(prefix="ocula-serve-") as tmp:
        path = Path(result.output) if result.output else Path(result.save(str(Path(tmp) / f"output{suffix}")))
        data = path.read_bytes()
    url = job.add_output(data, _MEDIA.get(path.suffix.lower(), "application/octet-stream"))
    data = result.model_dump(mode="json")
    data["output"] = url
    return data


def _upscale(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...image import load_image
    from ...tasks.upscale import upscale

    o = parsed.options
    loaded = load_image(parsed.images["image"], settings=state.settings)
    out_px = loaded.width * loaded.height * o.scale ** 2
    if out_px > state.config.max_pixels:
        raise Problem(422, f"a {o.scale}x upscale of {loaded.width}x{loaded.height} would be {out_px / 1e6:.0f} "
                           f"megapixels, over the server's limit of {state.config.max_pixels / 1e6:.0f} "
                           "(--max-megapixels); send a smaller image or a smaller scale", title="Invalid image")
    return write_and_keep(lambda out: upscale(loaded, output=out, settings=state.settings, **o.model_dump(),
                                              progress=lambda done, total: job.report(done, total, "tiles")), job)


def upscale_route(router: APIRouter, task: Any) -> None:
    from ...tasks.upscale import MODELS

    # form fields are strings: "2" must be accepted as 2 (a Literal of ints refuses it)
    scale = (Annotated[Literal[2, 3, 4], BeforeValidator(_int_string)], Field(4, description=task.option("scale").help))
    model = (Literal[MODELS], Field("realesrgan-x4plus", description=task.option("model").help))  # type: ignore[valid-type]
    image_route(router, task.name, options_model(task, scale=scale, model=model), _upscale, UpscaleResult,
                "4x (or 2x, 3x) super-resolution", image=task.image, tags=[task.group])


def _inpaint(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.inpaint import inpaint

    o = parsed.options
    if (o.box is None) == ("mask" not in parsed.images):
        raise Problem(422, "give exactly one of 'box' (x,y,w,h) or a 'mask' image (white = fill)",
                      title="Invalid option")
    return write_and_keep(lambda out: inpaint(parsed.images["image"], mask=parsed.images.get("mask"), output=out,
                                              settings=state.settings, **o.model_dump()), job)


class _MaskField(Options):
    file_fields: ClassVar[tuple[str, ...]] = ("mask",)


def inpaint_route(router: APIRouter, task: Any) -> None:
    image_route(router, task.name, options_model(task, base=_MaskField), _inpaint, InpaintResult,
                "Fill a region (box or mask)", image=task.image, tags=[task.group])


def _strip(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.strip import strip

    data = parsed.images["image"]
    with tempfile.TemporaryDirectory(prefix="ocula-serve-") as tmp:
        result = strip(data, output=Path(tmp) / f"stripped{upload_suffix(data)}", settings=state.settings,
                       **parsed.options.model_dump())
        return keep_output(result, job)


def strip_route(router: APIRouter, task: Any) -> None:
    image_route(router, task.name, options_model(task), _strip, StripResult,
                "Remove EXIF, GPS, XMP and comments (same format, upright, colour profile kept)", image=task.image,
                tags=[task.group])


def _int_string(v: Any) -> Any:
    return int(v) if isinstance(v, str) and v.strip().isdigit() else v
