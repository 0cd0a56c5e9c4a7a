"""Pixels as stored, for watermarking: no colour conversion and no flattening of
transparency (``load_image`` does both, which suits recognition but would make a written
file differ from its input in more than the mark). Orientation is applied and the EXIF tag
reset, so the marked pixels are the ones a viewer shows.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, ImageOps

from ..config import Settings, get_settings
from ..errors import InvalidArgument, InvalidImage
from ..image import SUPPORTED_FORMATS, LoadedImage, load_image, open_unchecked
from ..output import image_format, write_atomic
from ..results import ImageInfo

_LOSSY_PALETTE = {"GIF"}


@dataclass
class RawImage:
    rgb: np.ndarray
    alpha: np.ndarray | None
    info: ImageInfo
    format: str | None = None
    icc: bytes | None = None
    exif: bytes | None = None
    jpeg: dict[str, Any] | None = None  # quantisation tables and subsampling of a JPEG source
    path: Path | None = None
    notes: list[str] = field(default_factory=list)


def read_raw(src: Any, settings: Settings | None = None) -> RawImage:
    """Decode ``src`` (a path, bytes, or anything ``load_image`` takes) to 8-bit RGB + alpha."""
    settings = settings or get_settings()
    if isinstance(src, (LoadedImage, Image.Image, np.ndarray)):
        loaded = load_image(src, settings=settings)  # already decoded: take its pixels as they are
        alpha = np.asarray(loaded.alpha) if loaded.alpha is not None else None
        return RawImage(np.asarray(loaded.image), alpha, ImageInfo.of(loaded), loaded.format,
                        loaded.icc_profile, None, None, loaded.path)
    try:
        return _decode(src, settings)
    except InvalidImage:
        raise
    except Exception as e:
        # let the shared loader name the problem (missing, not an image, too big ...)
        load_image(src, max_side=64, settings=settings)
        raise InvalidImage(str(src), f"corrupt image data ({e})") from None


def _decode(src: Any, settings: Settings) -> RawImage:
    from ..image import _register_heif

    _register_heif()
    path: Path | None = None
    if isinstance(src, (str, os.PathLike)):
        path = Path(src).expanduser()
        if not path.is_file() or path.stat().st_size == 0 or path.stat().st_size > settings.max_bytes:
            raise ValueError("let load_image explain")
        fh: IO[bytes] = open(path, "rb")
        nbytes = path.stat().st_size
    elif isinstance(src, (bytes, bytearray, memoryview)):
        fh, nbytes = io.BytesIO(bytes(src)), len(src)
    else:
        raise ValueError("let load_image explain")
    with fh:
        img = open_unchecked(fh)
        fmt = img.format
        if fmt is None:
            raise ValueError("let load_image explain")
        if fmt not in SUPPORTED_FORMATS:
            raise InvalidImage(str(src), f"{fmt} images are not supported")
        w, h = img.size
        if w * h > settings.max_pixels:
            raise ValueError("let load_image explain")
        notes: list[str] = []
        frames = getattr(img, "n_frames", 1) or 1
        if frames > 1:
            notes.append(f"only the first of {frames} frames was kept")
        mode = img.mode
        icc = img.info.get("icc_profile")
        jpeg = None
        if fmt in ("JPEG", "MPO"):
            from PIL import JpegImagePlugin

            jpeg = {"qtables": img.quantization, "subsampling": JpegImagePlugin.get_sampling(img)}
        if frames > 1:
            img.seek(0)
        img.load()  # first: a failed load inside getexif() would leave half an image behind
        try:
            exif = img.getexif()
        except Exception:  # broken EXIF: keep the pixels, drop the tags
            exif = Image.Exif()
        if exif and exif.get(0x0112, 1) != 1:
            img = ImageOps.exif_transpose(img) or img
            exif[0x0112] = 1
        alpha = None
        if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            a = rgba.getchannel("A")
            alpha = np.asarray(a) if a.getextrema() != (255, 255) else None
            img = rgba.convert("RGB")
        elif img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
            from ..image import _to_rgb  # the loader's 16-bit/float handling

            img, _ = _to_rgb(img)
            notes.append("the 16-bit/float image was written as 8-bit")
        elif img.mode == "CMYK":
            img = img.convert("RGB")
            icc = None  # a CMYK profile cannot describe the RGB pixels
            notes.append("the CMYK image was converted to RGB")
        elif img.mode != "RGB":
            if img.mode in ("L", "1"):
                notes.append("the greyscale image became RGB: the mark lives in the colour")
            img = img.convert("RGB")
        info = ImageInfo(source=str(src) if path is not None else "<bytes>", format=fmt, width=img.size[0],
                         height=img.size[1], mode=mode, has_alpha=alpha is not None, frames=frames, bytes=nbytes)
        return RawImage(np.asarray(img), alpha, info, fmt, icc, exif.tobytes() if exif else None, jpeg, path, notes)


def write_raw(raw: RawImage, rgb: np.ndarray, dst: str | os.PathLike, *, inputs: list, overwrite: bool,
              keep_tables: bool = True) -> tuple[Path, list[str]]:
    """Write ``rgb`` (+ the source's alpha, profile and EXIF) to ``dst`` safely."""
    fmt = image_format(dst)
    notes: list[str] = []
    if fmt in _LOSSY_PALETTE:
        raise InvalidArgument(f"{fmt} keeps only 256 colours, which would erase an invisible watermark; "
                              "write PNG, WebP, TIFF or JPEG instead")
    img = Image.fromarray(rgb, "RGB")
    if raw.alpha is not None:
        if fmt in ("JPEG", "BMP"):
            notes.append(f"{fmt} has no transparency: the image was flattened on white")
            bg = Image.new("RGB", img.size, (255, 255, 255))
            bg.paste(img, mask=Image.fromarray(raw.alpha, "L"))
            img = bg
        else:
            img = img.convert("RGBA")
            img.putalpha(Image.fromarray(raw.alpha, "L"))
    params: dict[str, Any] = {}
    if raw.icc and fmt in ("JPEG", "PNG", "WEBP", "TIFF", "AVIF", "HEIF"):
        params["icc_profile"] = raw.icc
    if raw.exif and fmt in ("JPEG", "PNG", "WEBP", "TIFF", "AVIF", "HEIF"):
        params["exif"] = raw.exif
    if fmt == "JPEG":
        if keep_tables and raw.jpeg and raw.jpeg.get("qtables"):
            # the source's own quality: the file stays as big (and as good) as it was
            params["qtables"] = raw.jpeg["qtables"]
            sub = raw.jpeg.get("subsampling", -1)
            if sub is not None and sub >= 0:
                params["subsampling"] = sub
        else:
            params.update(quality=95, subsampling=0)  # 4:4:4: the mark is in the chroma
    elif fmt in ("WEBP", "AVIF", "HEIF"):
        params["quality"] = 95
    elif fmt == "TIFF":
        params["compression"] = "tiff_adobe_deflate"

    def write(fh: IO[bytes]) -> None:
        img.save(fh, format=fmt, **params)

    return write_atomic(dst, write, inputs=inputs, overwrite=overwrite), notes
