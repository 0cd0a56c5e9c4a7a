"""Hostile input found by the review of issue 13 and by the fuzz harness: each case is made
here with Pillow (tests/hostile.py) and must give one clear line per bad file, never a crash
of the batch, and bounded work."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from hostile import (jpeg_claiming, multipage_tiff, photo, tiff_mutants, tiff_with_broken_frame,
                     wide_png)
from ocula.errors import InvalidImage
from ocula.image import load_image

OCULA = Path(sys.executable).parent / "ocula"


@pytest.mark.parametrize("broken,why", [
    (dict(), "Missing dimensions"),                      # ImageWidth gone from page 2: TypeError in Pillow
    (dict(tag=259, value=54174), "unknown code 54174"),  # Compression: KeyError in Pillow
    (dict(tag=262, value=77), "unknown pixel mode"),     # Photometric: SyntaxError in Pillow
    (dict(tag=277, value=9), "samples per pixel"),
])
def test_broken_tiff_frame_is_an_invalid_image(broken, why, capfd):
    with pytest.raises(InvalidImage) as e:
        load_image(tiff_with_broken_frame(**broken))
    assert e.value.reason.startswith("corrupt TIFF data") and why in e.value.reason
    assert "\n" not in str(e.value)
    out, err = capfd.readouterr()
    assert out == "" and err == "", (out, err)  # no Pillow log line, no libtiff message


def test_every_tiff_mutant_loads_or_is_invalid(capfd):
    ok = bad = 0
    for data in tiff_mutants(400, seed=7):
        try:
            li = load_image(data)
        except InvalidImage as e:
            assert "\n" not in e.reason and e.reason, e.reason
            bad += 1
        else:
            assert li.image.mode == "RGB" and li.frames >= 1
            ok += 1
    assert ok > 20 and bad > 100, (ok, bad)
    assert capfd.readouterr().err == ""


def test_any_decoder_exception_is_the_files_failure(monkeypatch):
    def explode(self):
        raise ZeroDivisionError("a decoder bug")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", explode)
    buf = __import__("io").BytesIO()
    photo(side=32).save(buf, "PNG")
    with pytest.raises(InvalidImage, match=r"corrupt PNG data \(a decoder bug\)"):
        load_image(buf.getvalue())


def test_heif_errors_are_one_line():
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    import io

    buf = io.BytesIO()
    photo(side=128).save(buf, "HEIF")
    data = buf.getvalue()
    with pytest.raises(InvalidImage) as e:
        load_image(data[: len(data) // 2])
    assert "\n" not in str(e.value) and "HEIF" in e.value.reason


def test_invalid_image_reason_is_one_line():
    assert str(InvalidImage("a.png", "first line\n  second line\n")) == "a.png: first line second line"


def test_reduced_decode_keeps_what_the_caller_needs(tmp_path):
    """PNG/TIFF have no reduced decode: the loader reduces right after decoding, by a whole
    factor that keeps at least max_side, before any colour conversion."""
    img = Image.new("RGBA", (4000, 1000), (10, 200, 30, 255))
    img.paste((0, 0, 0, 0), (0, 0, 2000, 1000))
    p = tmp_path / "half.png"
    img.save(p)
    li = load_image(p, max_side=1000)
    assert li.original_size == (4000, 1000)
    assert li.size == (1000, 250)  # factor 4: still >= 1000 on the long side
    assert li.has_alpha and li.alpha.size == li.size
    assert li.image.getpixel((100, 100)) == (255, 255, 255)  # transparent half on white
    assert li.image.getpixel((900, 100)) == (10, 200, 30)
    full = load_image(p)
    assert full.size == (4000, 1000) and full.image.getpixel((3900, 900)) == (10, 200, 30)


@pytest.mark.parametrize("mode,value,expect", [("I;16", 3000, 12), ("I", 200, 200), ("F", 0.5, 128)])
def test_high_bit_depth_in_bands(tmp_path, mode, value, expect, monkeypatch):
    import ocula.image as image_mod

    monkeypatch.setattr(image_mod, "_BAND_PIXELS", 1000)  # many bands on a small image
    img = Image.new(mode, (300, 200), value)
    li = load_image(img if mode == "F" else _saved(img, tmp_path / "deep.png" if mode == "I;16" else
                                                     tmp_path / "deep.tif"), max_side=100)
    assert li.image.getpixel((10, 10)) == (expect,) * 3
    if mode != "F":
        assert li.size == (100, 67)  # factor 3: still >= 100 on the long side


def _saved(img: Image.Image, path: Path) -> Path:
    img.save(path)
    return path


def test_wide_strip_ocr_is_empty_and_quick():
    from ocula.tasks.ocr import ocr

    t0 = time.perf_counter()
    res = ocr(wide_png(100_000, 1))
    assert res.lines == [] and res.image.width == 100_000 and res.image.height == 1
    # a strip the engine is skipped for costs no model time (not a timing assertion of the engine)
    assert time.perf_counter() - t0 < 30


def test_rapidocr_pads_thin_strips_instead_of_scaling_them_up():
    from ocula.backends import rapidocr

    thin = np.full((1, 2560, 3), 200, np.uint8)
    padded = rapidocr._padded(thin)
    assert padded.shape == (32, 2560, 3) and (padded[:1] == thin).all() and (padded[1:] == 200).all()
    tall = np.zeros((2560, 3, 3), np.uint8)
    assert rapidocr._padded(tall).shape == (2560, 32, 3)
    normal = np.zeros((40, 40, 3), np.uint8)
    assert rapidocr._padded(normal) is normal
    assert rapidocr.read(thin, threads=1) == []  # bounded: see test_limits for its memory


def test_jpeg_header_lies_about_its_size():
    """A 1.5 kB JPEG whose SOF says 65000x1: decoded reduced (draft) for a step that needs 2560 px."""
    li = load_image(jpeg_claiming(65_000, 1), max_side=2560)
    assert li.original_size == (65_000, 1) and 2560 <= li.width <= 2 * 2560


def _mutant_folder(folder: Path, count: int) -> tuple[int, int]:
    """count TIFF mutants + the broken-frame cases + a good photo; (good, bad) by the loader."""
    folder.mkdir()
    files = {f"m{i:03d}.tif": d for i, d in enumerate(tiff_mutants(count, seed=3))}
    files["broken-frame.tif"] = tiff_with_broken_frame()
    files["unknown-compression.tif"] = tiff_with_broken_frame(tag=259, value=54174)
    files["good.tif"] = multipage_tiff()
    good = bad = 0
    for name, data in files.items():
        (folder / name).write_bytes(data)
        try:
            load_image(data)
            good += 1
        except InvalidImage:
            bad += 1
    return good, bad


def test_analyze_folder_of_mutants_prints_json(tmp_path):
    """The review's failure: one corrupt multi-frame TIFF in a folder ended `analyze --json` with a
    traceback and no JSON. Now every file is a result or a failure."""
    good, bad = _mutant_folder(tmp_path / "mutants", 60)
    proc = subprocess.run([str(OCULA), "analyze", str(tmp_path / "mutants"), "--json", "--steps", "colors,metadata"],
                          capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 1  # some files failed
    data = json.loads(proc.stdout)
    assert len(data["results"]) == good and len(data["failures"]) == bad
    names = {Path(f["source"]).name for f in data["failures"]}
    assert {"broken-frame.tif", "unknown-compression.tif"} <= names
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == f"{bad} of {good + bad} file(s) could not be processed:"
    assert len(lines) == bad + 1  # one line per bad file, nothing else


def test_a_step_crash_fails_that_file_only(tmp_path, monkeypatch):
    from ocula.results import Failure
    from ocula.tasks import analyze as analyze_mod
    from ocula.tasks import colors as colors_mod

    real = colors_mod.colors

    def flaky(loaded, **kw):
        if loaded.size == (20, 20):
            raise IndexError("a bug on odd images")
        return real(loaded, **kw)

    monkeypatch.setattr(colors_mod, "colors", flaky)
    imgs = [photo(side=64), Image.new("RGB", (20, 20)), photo("coffee.jpg", side=64)]
    out = [item for _, item in analyze_mod.analyze_many(imgs, steps=["colors"])]
    assert [type(x).__name__ for x in out] == ["Analysis", "Failure", "Analysis"]
    assert isinstance(out[1], Failure) and "IndexError: a bug on odd images" in out[1].error
