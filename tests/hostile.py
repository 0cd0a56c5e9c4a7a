"""Hostile inputs, made on the fly (nothing large is committed): corrupt multi-page TIFFs,
images of extreme aspect ratio, small files that decode to many pixels, JPEGs whose header
lies about their size. Used by the regression tests, the memory-contract test and the fuzz
harness's seed corpus (tests/fuzz)."""

from __future__ import annotations

import io
import random
import struct
from functools import lru_cache
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def photo(name: str = "chelsea.jpg", side: int | None = None) -> Image.Image:
    with Image.open(SAMPLES / name) as im:
        img = im.convert("RGB")
    if side:
        img.thumbnail((side, side))
    return img


def multipage_tiff(pages: int = 4, side: int = 96) -> bytes:
    """A multi-page LZW TIFF of sample photos (Pillow, ``save_all=True``)."""
    names = ["chelsea.jpg", "coffee.jpg", "rocket.jpg", "astronaut.jpg", "coins.jpg"]
    frames = [photo(names[i % len(names)], side) for i in range(pages)]
    return _encode(frames[0], "TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw")


def frame_offsets(tiff: bytes) -> list[int]:
    """Byte offsets of each page's IFD in a little-endian TIFF, in file order."""
    assert tiff[:4] == b"II*\x00", "only little-endian classic TIFF"
    out = []
    off = struct.unpack_from("<I", tiff, 4)[0]
    while off and off < len(tiff) and off not in out:
        out.append(off)
        n = struct.unpack_from("<H", tiff, off)[0]
        nxt = off + 2 + 12 * n
        off = struct.unpack_from("<I", tiff, nxt)[0] if nxt + 4 <= len(tiff) else 0
    return out


def mutate(data: bytes, rnd: random.Random) -> bytes:
    """One hostile edit of the kind a damaged disk or transfer makes: bytes deleted,
    inserted, overwritten, or the file cut off, somewhere after the 8-byte header."""
    b = bytearray(data)
    at = rnd.randrange(8, len(b))
    kind = rnd.choice(("delete", "insert", "flip", "cut", "zero"))
    n = rnd.choice((1, 2, 4, 16, 256, 4096))
    if kind == "delete":
        del b[at:at + n]
    elif kind == "insert":
        b[at:at] = rnd.randbytes(n)
    elif kind == "flip":
        for _ in range(min(n, 16)):
            i = rnd.randrange(8, len(b))
            b[i] ^= 1 << rnd.randrange(8)
    elif kind == "zero":
        b[at:at + n] = bytes(len(b[at:at + n]))
    else:
        del b[at:]
    return bytes(b)


def tiff_mutants(count: int, seed: int = 13) -> list[bytes]:
    """``count`` mutants of one multi-page LZW TIFF, edits aimed at its frames' IFDs and data."""
    base = multipage_tiff()
    ifds = frame_offsets(base)
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        b = bytearray(base)
        if rnd.random() < 0.5 and ifds:  # inside a frame directory: the frame count reads these
            at = rnd.choice(ifds) + rnd.randrange(0, 2 + 12 * 8)
            kind = rnd.choice(("delete", "insert", "cut"))
            n = rnd.choice((1, 2, 4, 12))
            if kind == "delete":
                del b[at:at + n]
            elif kind == "insert":
                b[at:at] = rnd.randbytes(n)
            else:
                del b[at:]
            out.append(bytes(b))
        else:
            out.append(mutate(base, rnd))
    return out


def wide_png(width: int = 100_000, height: int = 1) -> bytes:
    """A valid PNG of extreme aspect ratio (photo-like noise, so it is not tiny)."""
    import numpy as np

    rnd = np.random.default_rng(0)
    arr = rnd.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return _encode(Image.fromarray(arr, "RGB"), "PNG")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose SOF header is edited to say ``width`` x ``height``."""
    data = bytearray(_encode(photo(side=64), "JPEG", quality=80))
    i = 2
    while i < len(data):
        marker = data[i + 1]
        length = struct.unpack_from(">H", data, i + 2)[0]
        if marker in (0xC0, 0xC1, 0xC2):
            struct.pack_into(">HH", data, i + 5, height, width)
            return bytes(data)
        i += 2 + length
    raise AssertionError("no SOF marker")


def flat_tiff(side: int = 9000) -> bytes:
    """side x side pixels of one colour, compressed to a few hundred kB."""
    return _encode(Image.new("RGB", (side, side), (90, 120, 200)), "TIFF", compression="tiff_adobe_deflate")


def flat_png(side: int = 10_000) -> bytes:
    return _encode(Image.new("RGB", (side, side), (90, 120, 200)), "PNG", optimize=False, compress_level=9)


def alpha_png(side: int = 10_000) -> bytes:
    """side x side RGBA, half of it transparent: the alpha compositing path at full size."""
    from PIL import ImageDraw

    img = Image.new("RGBA", (side, side), (90, 120, 200, 255))
    ImageDraw.Draw(img).rectangle((0, 0, side // 2, side // 2), fill=(0, 0, 0, 0))
    return _encode(img, "PNG", compress_level=9)


def gray16_png(side: int = 10_000) -> bytes:
    """side x side 16-bit greyscale: the high-bit-depth path at full size."""
    return _encode(Image.new("I;16", (side, side), 3000), "PNG", compress_level=9)


@lru_cache(maxsize=1)
def worst_inputs() -> dict[str, bytes]:
    """The inputs the memory contract is checked on (name -> file bytes); the name's suffix
    is the file's format."""
    return {
        "wide-100000x1.png": wide_png(100_000, 1),
        "wide-65000x1.png": wide_png(65_000, 1),
        "wide-200000x2.png": wide_png(200_000, 2),
        "tall-1x100000.png": wide_png(1, 100_000),
        "sof-65000x1.jpg": jpeg_claiming(65_000, 1),
        "flat-9000.tif": flat_tiff(9000),
        "flat-10000.png": flat_png(10_000),
        "alpha-10000.png": alpha_png(10_000),
        "gray16-10000.png": gray16_png(10_000),
    }


def tiff_with_broken_frame(tag: int = 256, value: int | None = None, frame: int = 1, *, pages: int = 4,
                           side: int = 96) -> bytes:
    """A multi-page TIFF whose page ``frame`` (0-based) has the entry ``tag`` broken: renamed to
    an unknown tag (value None: ImageWidth gone -> "Missing dimensions") or set to ``value``
    (e.g. Compression 54174: an unknown code). Page 0 stays intact."""
    data = bytearray(multipage_tiff(pages, side))
    off = frame_offsets(bytes(data))[frame]
    n = struct.unpack_from("<H", data, off)[0]
    for i in range(n):
        entry = off + 2 + 12 * i
        if struct.unpack_from("<H", data, entry)[0] == tag:
            if value is None:
                struct.pack_into("<H", data, entry, 0xFDE8)  # a private tag nobody reads
            else:
                struct.pack_into("<H", data, entry + 8, value)
            return bytes(data)
    raise AssertionError(f"tag {tag} not in frame {frame}")
