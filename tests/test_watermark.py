"""Invisible watermarks: payload coding and its check, JPEG q75 survival on the sample
photos, no false finds on unmarked photos or noise, compatibility with invisible-watermark's
own reader, rivaGan, files and errors."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocula.errors import InvalidArgument
from ocula.provenance import watermark as wm
from ocula.tasks.watermark import detect_watermark, watermark

SAMPLES = sorted((Path(__file__).resolve().parent.parent / "samples").glob("*.jpg"))
OCULA = Path(sys.executable).parent / "ocula"


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _jpeg(rgb: np.ndarray, quality: int = 75) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)  # Pillow's default 4:2:0 chroma
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


# --- payload coding -------------------------------------------------------------------

def test_payload_coding_round_trip():
    for text, kind in [("ocula", "text"), ("日本", "text"), ("abcdef", "text"), ("abcdefg", "hash"),
                       ("© 2026 Newsroom, photo 1234", "hash")]:
        bits, k = wm.encode_payload(text)
        assert k == kind and bits.size == 64
        d = wm.decode_soft(bits * 2.0 - 1.0, "dwtDctSvd")
        assert d.found and d.kind == kind and d.corrected == 0
        assert wm.matches(d, text, "dwtDctSvd") and not wm.matches(d, text + "!", "dwtDctSvd")
        if kind == "text":
            assert d.text == text
    bits, kind = wm.encode_payload("ocula", "rivaGan")
    assert bits.size == 32 and kind == "hash"  # 2 bytes verbatim at most
    assert wm.decode_soft(bits * 2.0 - 1.0, "rivaGan").text is None


def test_weak_bits_are_corrected_strong_errors_are_not():
    bits, _ = wm.encode_payload("ocula")
    soft = (bits * 2.0 - 1.0) * 0.8
    soft[[3, 40]] *= -0.1  # two bits wrong, but the reader was unsure about them
    d = wm.decode_soft(soft, "dwtDctSvd")
    assert d.found and d.text == "ocula" and d.corrected == 2
    soft = (bits * 2.0 - 1.0) * 0.8
    soft[[3, 40]] *= -1.0  # confidently wrong: the CRC refuses
    assert not wm.decode_soft(soft, "dwtDctSvd").found


def test_check_rejects_random_and_constant_bits():
    rng = np.random.default_rng(0)
    found = sum(wm.decode_soft(rng.uniform(-1, 1, 64), "dwtDctSvd").found for _ in range(3000))
    assert found <= 2  # ~8 words x 2 forms x 2^-16 each: ~0.7 expected in 3000
    # flat images vote the same way in every block: all-0 and all-1 words must not pass
    for v in (-1.0, 1.0):
        assert not wm.decode_soft(np.full(64, v), "dwtDctSvd").check_ok
        assert not wm.decode_soft(np.full(32, v), "rivaGan").check_ok


def test_bad_payloads_and_methods():
    with pytest.raises(InvalidArgument, match="non-empty"):
        wm.encode_payload("")
    with pytest.raises(InvalidArgument, match="dwtDctSvd, rivaGan"):
        wm.encode_payload("x", "dwtDct")


# --- on photos ------------------------------------------------------------------------

def test_jpeg_q75_recovers_the_payload_on_a_512px_sample(samples):
    rgb = _rgb(samples / "astronaut.jpg")
    assert rgb.shape[:2] == (512, 512)
    for payload in ("ocula", "photo desk, 2026-05-01, frame 0042"):
        marked, _ = wm.embed(rgb, payload)
        psnr = 10 * np.log10(255 ** 2 / np.mean((marked.astype(float) - rgb) ** 2))
        assert psnr > 40
        d = wm.detect(_jpeg(marked, 75))
        assert d.found and wm.matches(d, payload, "dwtDctSvd")
        bits, _ = wm.encode_payload(payload)
        soft = wm._soft_dwt(_jpeg(marked, 75), 64)
        accuracy = float(np.mean((soft > 0) == bits.astype(bool)))
        assert accuracy >= 0.97, accuracy


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_q75_survival_and_no_false_find_on_every_sample(path):
    rgb = _rgb(path)
    assert not wm.detect(rgb).found, "an unmarked photo was read as marked"
    assert not wm.detect(_jpeg(rgb, 75)).found
    marked, _ = wm.embed(rgb, "ocula")
    d = wm.detect(_jpeg(marked, 75))
    assert d.found and d.text == "ocula"


def test_no_false_find_on_noise_and_flat_images():
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (256, 320, 3), dtype=np.uint8) for _ in range(40)]
    images += [np.full((256, 256, 3), v, np.uint8) for v in (0, 128, 255)]
    smooth = rng.normal(0, 1, (40, 8, 8, 3))
    for s in smooth:
        img = Image.fromarray(np.clip(128 + 40 * s, 0, 255).astype(np.uint8)).resize((300, 260), Image.BICUBIC)
        images.append(np.asarray(img))
    assert not any(wm.detect(im).found for im in images)


def test_compatible_with_invisible_watermark_reader_and_writer(samples):
    imw = pytest.importorskip("imwatermark")
    rgb = _rgb(samples / "coffee.jpg")
    bits, _ = wm.encode_payload("ocula")
    ours, _ = wm.embed(rgb, "ocula")
    theirs = imw.WatermarkDecoder("bits", 64).decode(np.ascontiguousarray(ours[..., ::-1]), "dwtDctSvd")
    assert np.array_equal(np.asarray(theirs, dtype=np.uint8), bits)
    enc = imw.WatermarkEncoder()
    enc.set_watermark("bits", [int(b) for b in bits])
    marked = enc.encode(np.ascontiguousarray(rgb[..., ::-1]), "dwtDctSvd")[..., ::-1]
    d = wm.detect(np.ascontiguousarray(marked))
    assert d.found and d.text == "ocula"


def test_rivagan_survives_jpeg_and_ignores_unmarked(samples):
    rgb = _rgb(samples / "rocket.jpg")
    marked, kind = wm.embed(rgb, "ok", "rivaGan")
    assert kind == "text"
    d = wm.detect(_jpeg(marked, 75), "rivaGan")
    assert d.found and d.text == "ok"
    assert not wm.detect(rgb, "rivaGan").found
    assert not wm.detect(_rgb(samples / "coins.jpg"), "rivaGan").found


# --- files ----------------------------------------------------------------------------

def test_embed_file_keeps_alpha_profile_and_never_the_input(tmp_path, samples):
    src = tmp_path / "logo.png"
    rgba = Image.open(samples / "flower.jpg").convert("RGBA")
    a = np.full(rgba.size[::-1], 255, np.uint8)
    a[:40] = 0
    rgba.putalpha(Image.fromarray(a))
    rgba.save(src, icc_profile=b"")
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    out = tmp_path / "marked.png"
    r = watermark(src, payload="ocula", output=out)
    assert r.verified and r.stored_as == "text" and r.psnr > 40 and r.output == str(out)
    back = Image.open(out)
    assert back.mode == "RGBA" and np.array_equal(np.asarray(back)[..., 3], a)
    assert detect_watermark(out).payload == "ocula"
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    with pytest.raises(InvalidArgument, match="never overwrites its inputs"):
        watermark(src, payload="x", output=src)
    with pytest.raises(InvalidArgument, match="256 colours"):
        watermark(src, payload="x", output=tmp_path / "m.gif")


def test_embed_jpeg_keeps_exif_and_orientation(tmp_path, samples):
    src = tmp_path / "rotated.jpg"
    ex = Image.Exif()
    ex[0x0112] = 6  # displayed rotated 90 degrees
    ex[0x010F] = "Canon"
    Image.open(samples / "china.jpg").save(src, exif=ex.tobytes(), quality=90)
    out = tmp_path / "marked.jpg"
    r = watermark(src, payload="ok", output=out)
    assert r.verified
    back = Image.open(out)
    assert back.size == (427, 640)  # the rotation is in the pixels now ...
    assert back.getexif().get(0x0112) == 1 and back.getexif().get(0x010F) == "Canon"  # ... and the tag says so


def test_too_small_and_unknown(tmp_path, samples):
    small = tmp_path / "small.png"
    Image.open(samples / "coffee.jpg").resize((200, 150)).save(small)
    with pytest.raises(InvalidArgument, match="at least 65536 pixels"):
        watermark(small, payload="x", output=tmp_path / "o.png")
    with pytest.raises(InvalidArgument, match="dwtDctSvd, rivaGan, all"):
        detect_watermark(samples / "coffee.jpg", method="lsb")


def test_cli_embed_reencode_detect(tmp_path, samples):
    out = tmp_path / "m.png"
    r = subprocess.run([str(OCULA), "watermark", "embed", str(samples / "coffee.jpg"), "--payload", "ocula",
                        "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    q75 = tmp_path / "m75.jpg"
    Image.open(out).save(q75, quality=75)
    r = subprocess.run([str(OCULA), "watermark", "detect", str(q75), str(samples / "coffee.jpg")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "watermark 'ocula'" in lines[0] and "no watermark" in lines[1]
