"""The seed corpus: the sample photos, small, written in every format ocula reads and in the
modes and structures that exercise different decoder paths (progressive and CMYK JPEG, EXIF
orientation, 16-bit and palette PNG, animated GIF and WebP, multi-page LZW TIFF, HEIC, AVIF)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterator

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def seeds(side: int = 48) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every seed file."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        heif = True
    except ImportError:
        heif = False
    photos = sorted(SAMPLES.glob("*.jpg"))
    for i, path in enumerate(photos):
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        rgb.thumbnail((side, side))
        stem = path.stem
        yield f"{stem}.jpg", _save(rgb, "JPEG", quality=85)
        yield f"{stem}.png", _save(rgb, "PNG")
        yield f"{stem}.webp", _save(rgb, "WEBP", quality=80)
        yield f"{stem}.bmp", _save(rgb, "BMP")
        yield f"{stem}.gif", _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "GIF")
        yield f"{stem}.tif", _save(rgb, "TIFF", compression="tiff_lzw")
        if heif:
            yield f"{stem}.heic", _save(rgb, "HEIF", quality=60)
        yield f"{stem}.avif", _save(rgb, "AVIF", quality=60)
        if i == 0:  # the other structures once
            exif = Image.Exif()
            exif[0x0112] = 6
            exif[0x010F] = "OculaCam"
            yield f"{stem}-exif-rotated.jpg", _save(rgb, "JPEG", exif=exif)
            yield f"{stem}-progressive.jpg", _save(rgb, "JPEG", progressive=True)
            yield f"{stem}-cmyk.jpg", _save(rgb.convert("CMYK"), "JPEG")
            yield f"{stem}-gray.jpg", _save(rgb.convert("L"), "JPEG")
            rgba = rgb.convert("RGBA")
            rgba.putalpha(128)
            yield f"{stem}-alpha.png", _save(rgba, "PNG")
            yield f"{stem}-16bit.png", _save(rgb.convert("L").convert("I;16"), "PNG")
            yield f"{stem}-palette-transparent.png", _save(rgb.convert("P"), "PNG", transparency=0)
            yield f"{stem}-1bit.png", _save(rgb.convert("1"), "PNG")
            frames = [rgb, rgb.rotate(90), rgb.rotate(180)]
            yield f"{stem}-anim.gif", _save(frames[0], "GIF", save_all=True, append_images=frames[1:])
            yield f"{stem}-anim.webp", _save(frames[0], "WEBP", save_all=True, append_images=frames[1:])
            yield f"{stem}-pages.tif", _save(frames[0], "TIFF", save_all=True, append_images=frames[1:],
                                             compression="tiff_lzw")
            yield f"{stem}-16bit.tif", _save(rgb.convert("L").convert("I;16"), "TIFF")
            yield f"{stem}-float.tif", _save(rgb.convert("F"), "TIFF")
            yield f"{stem}-alpha.webp", _save(rgba, "WEBP", lossless=True)


def write(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for name, data in seeds():
        (folder / name).write_bytes(data)
        n += 1
    return n
