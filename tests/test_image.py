"""Safe loading: every format, every mode, every input type, every kind of bad input."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocula.config import load_settings
from ocula.errors import InvalidImage
from ocula.image import iter_image_files, load_image


@pytest.fixture(scope="module")
def cat(samples) -> Image.Image:
    return Image.open(samples / "chelsea.jpg").convert("RGB")


def _close(a: Image.Image, b: Image.Image, tol: float = 12.0) -> bool:
    x = np.asarray(a.convert("RGB"), dtype=np.float32)
    y = np.asarray(b.convert("RGB").resize(a.size), dtype=np.float32)
    return float(np.abs(x - y).mean()) < tol


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("WEBP", ".webp"), ("GIF", ".gif"), ("BMP", ".bmp"),
                                        ("TIFF", ".tif"), ("JPEG", ".jpg"), ("AVIF", ".avif"), ("HEIF", ".heic")])
def test_formats(tmp_path, cat, fmt, suffix):
    if fmt == "HEIF":
        pillow_heif = pytest.importorskip("pillow_heif")
        pillow_heif.register_heif_opener()
    p = tmp_path / f"cat{suffix}"
    cat.save(p, fmt)
    li = load_image(p)
    assert li.image.mode == "RGB"
    assert li.size == cat.size
    assert li.format in (fmt, "HEIF")
    assert _close(li.image, cat, tol=25 if fmt == "GIF" else 12)


def test_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    p = tmp_path / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0)
    li = load_image(p)
    assert li.frames == 3
    r, g, b = li.image.getpixel((16, 16))
    assert r > 200 and g < 50 and b < 50


def test_exif_orientation_applied(tmp_path):
    img = Image.new("RGB", (60, 20), (255, 255, 255))
    img.paste((255, 0, 0), (0, 0, 10, 20))  # red stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    p = tmp_path / "rot.jpg"
    img.save(p, exif=exif, quality=95)
    li = load_image(p)
    assert li.size == (20, 60)
    assert li.original_size == (20, 60)
    r, g, b = li.image.getpixel((10, 3))  # the stripe is now on top
    assert r > 200 and g < 80


def test_cmyk_jpeg(tmp_path, cat):
    p = tmp_path / "cmyk.jpg"
    cat.convert("CMYK").save(p, quality=95)
    li = load_image(p)
    assert li.original_mode == "CMYK" and li.image.mode == "RGB"
    assert _close(li.image, cat, tol=15)


def test_16bit_png(tmp_path):
    arr = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    p = tmp_path / "deep.png"
    Image.fromarray(arr).save(p)
    li = load_image(p)
    out = np.asarray(li.image)[:, :, 0]
    assert out.min() <= 1 and out.max() >= 254  # scaled, not clipped to white
    assert abs(int(out[32, 32]) - int(arr[32, 32]) // 257) <= 1


def test_palette_with_transparency_and_alpha(tmp_path):
    img = Image.new("RGBA", (40, 40), (0, 0, 255, 255))
    img.paste((0, 0, 0, 0), (0, 0, 20, 40))  # left half transparent
    p = tmp_path / "alpha.png"
    img.save(p)
    li = load_image(p)
    assert li.has_alpha and li.alpha is not None
    assert li.image.getpixel((5, 5)) == (255, 255, 255)  # composited on white
    assert li.image.getpixel((30, 5)) == (0, 0, 255)
    pal = tmp_path / "pal.png"
    img.convert("P").save(pal, transparency=0)
    assert load_image(pal).image.mode == "RGB"


@pytest.mark.parametrize("mode", ["L", "LA", "1", "P", "I", "F", "RGBA"])
def test_modes(tmp_path, cat, mode):
    img = cat.convert(mode)
    li = load_image(img)
    assert li.image.mode == "RGB" and li.size == cat.size


def test_input_kinds_agree(samples, cat):
    path = samples / "chelsea.jpg"
    data = path.read_bytes()
    kinds = [str(path), path, data, bytearray(data), memoryview(data), io.BytesIO(data), open(path, "rb"),
             cat, np.asarray(cat)]
    ref = np.asarray(load_image(path).image, dtype=np.int16)
    for k in kinds:
        got = np.asarray(load_image(k).image, dtype=np.int16)
        assert got.shape == ref.shape
        assert np.abs(got - ref).mean() < 1.0
    loaded = load_image(path)
    assert load_image(loaded) is loaded


@pytest.mark.parametrize("arr", [
    np.zeros((10, 12), np.uint8), np.zeros((10, 12, 1), np.uint8), np.zeros((10, 12, 4), np.uint8),
    np.full((10, 12, 3), 60000, np.uint16), np.random.default_rng(0).random((10, 12, 3)),
    np.ones((10, 12), bool),
])
def test_numpy_arrays(arr):
    li = load_image(arr)
    assert li.image.mode == "RGB" and li.size == (12, 10)


@pytest.mark.parametrize("arr,msg", [
    (np.zeros((10,), np.uint8), "shape"), (np.zeros((10, 12, 5), np.uint8), "shape"),
    (np.zeros((0, 12, 3), np.uint8), "no pixels"), (np.zeros((4, 4), complex), "dtype"),
])
def test_bad_arrays(arr, msg):
    with pytest.raises(InvalidImage, match=msg):
        load_image(arr)


def test_draft_decoding_is_reduced(tmp_path, cat):
    big = cat.resize((4000, 2660))
    p = tmp_path / "big.jpg"
    big.save(p, quality=90)
    li = load_image(p, max_side=500)
    assert li.original_size == (4000, 2660)
    assert 500 <= max(li.size) <= 1000  # draft keeps at least the requested side
    full = load_image(p)
    assert full.size == (4000, 2660)
    assert _close(li.image, full.image.resize(li.size), tol=6)


def _png_header_only(path: Path, w: int, h: int) -> None:
    """A valid-looking PNG claiming w x h pixels, with almost no data (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100))
                     + chunk(b"IEND", b""))


def test_bad_inputs(tmp_path, samples):
    zero = tmp_path / "zero.jpg"
    zero.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture\n")
    trunc = tmp_path / "trunc.jpg"
    trunc.write_bytes((samples / "chelsea.jpg").read_bytes()[:6000])
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 30000, 30000)
    ico = tmp_path / "icon.ico"
    Image.new("RGB", (16, 16)).save(ico)
    cases = {
        tmp_path / "missing.jpg": "no such file",
        zero: "empty file",
        text: "text file",
        trunc: "truncated",
        bomb: "30000x30000 is 900 megapixels, over the limit",
        tmp_path: "is a folder",
        ico: "ICO images are not supported",
    }
    for path, msg in cases.items():
        with pytest.raises(InvalidImage) as ei:
            load_image(path)
        assert msg in str(ei.value), (path, str(ei.value))
        assert str(path) in str(ei.value)


def test_bomb_is_not_decoded(tmp_path):
    # 100000x100000 would need 30 GB; refusing it must be instant and allocation-free
    bomb = tmp_path / "huge.png"
    _png_header_only(bomb, 100000, 100000)
    with pytest.raises(InvalidImage, match="not decoded"):
        load_image(bomb)


def test_limits_from_settings(samples):
    tight = load_settings(env={}, max_bytes=1000, max_pixels=10_000)
    with pytest.raises(InvalidImage, match="over the limit of 0 MiB|MiB"):
        load_image(samples / "chelsea.jpg", settings=tight)
    with pytest.raises(InvalidImage, match="megapixels"):
        load_image(np.zeros((200, 200, 3), np.uint8), settings=tight)


def test_wrong_types(tmp_path):
    with pytest.raises(InvalidImage, match="unsupported input type int"):
        load_image(42)  # type: ignore[arg-type]
    p = tmp_path / "t.txt"
    p.write_text("x")
    with open(p) as fh, pytest.raises(InvalidImage, match="text mode"):
        load_image(fh)
    with pytest.raises(InvalidImage, match="empty input"):
        load_image(b"")
    with pytest.raises(InvalidImage, match="PDF"):
        load_image(b"%PDF-1.7 ...")


def test_iter_image_files(tmp_path, samples):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_bytes(b"1")
    (tmp_path / "a" / "notes.txt").write_text("x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "y.jpg").write_bytes(b"1")
    (tmp_path / "a" / "loop").symlink_to(tmp_path)  # a symlink loop must not hang
    files = iter_image_files([tmp_path])
    names = [f.name for f in files]
    assert names.count("x.jpg") == 1 and "notes.txt" not in names and "y.jpg" not in names
    assert iter_image_files([tmp_path / "a" / "notes.txt"]) == [tmp_path / "a" / "notes.txt"]


def test_a_detail_view_is_the_detail_copy_patch_by_patch(tmp_path, samples):
    """``detail_view`` reads the copy ``detail`` makes without making it whole: any patch equals
    that crop of the whole copy, pixel for pixel, at the edges too; one decode serves both
    sizes asked for; a source smaller than asked for is shown at its own size."""
    from PIL import Image

    big = tmp_path / "big.jpg"
    Image.open(samples / "chelsea.jpg").resize((3000, 2000), Image.Resampling.BICUBIC).save(big, quality=90)
    for side in (2560, 2048):
        whole = np.asarray(load_image(big, max_side=700).detail(side))
        view = load_image(big, max_side=700).detail_view(side)
        assert view.shape == whole.shape
        h, w = whole.shape[:2]
        for x0, y0, x1, y1 in ((0, 0, 37, 29), (401, 333, 1200, 380), (w - 50, h - 21, w + 9, h + 4), (-5, -5, 8, 8)):
            assert np.array_equal(view.patch(x0, y0, x1, y1), whole[max(0, y0):y1, max(0, x0):x1])
        assert np.array_equal(np.asarray(view), whole)
    loaded = load_image(big, max_side=700)
    loaded.detail_view(2048)
    loaded.detail_view(2560)
    assert [k for k in loaded._cache if k[0] == "again"] == [("again", 2048)]  # the 3000 px decode, once
    small = load_image(samples / "chelsea.jpg", max_side=300).detail_view(2560)
    assert small.size == Image.open(samples / "chelsea.jpg").size
