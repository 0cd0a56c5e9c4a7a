"""Privacy: blur-faces on the portrait samples, strip on files carrying GPS, XMP, IPTC,
comments and an ICC profile (read back with exiftool, an independent reader, when installed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from conftest import require_program
from ocula.errors import InvalidArgument
from ocula.output import OutputExists
from ocula.tasks import strip as strip_module
from ocula.tasks.blur_faces import blur_faces
from ocula.tasks.strip import strip
from ocula.cli.render import render

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Jane Roe"/></rdf:RDF></x:xmpmeta>')


# --- blur-faces -----------------------------------------------------------------------

@pytest.mark.parametrize("method", ["blur", "pixelate"])
def test_blur_faces_hides_the_face_and_nothing_else(samples, method, tmp_path):
    src = samples / "astronaut.jpg"
    out = tmp_path / f"{method}.png"
    res = blur_faces(src, method=method, output=out)
    before = np.asarray(Image.open(src).convert("RGB")).astype(int)
    after = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert len(res.faces) == 1 and len(res.regions) == 1 and res.method == method
    fx, fy, fw, fh = res.faces[0].box
    rx, ry, rw, rh = res.regions[0]
    assert rx <= fx and ry <= fy and rx + rw >= fx + fw and ry + rh >= fy + fh  # enlarged around the face
    face = (slice(fy, fy + fh), slice(fx, fx + fw))
    # the face's detail is gone: local contrast collapses, pixels move a lot
    assert np.abs(after[face] - before[face]).mean() > 10
    if method == "blur":
        detail = lambda a: float(np.var(np.diff(a.mean(-1), axis=0)))  # noqa: E731
        assert detail(after[face]) < 0.1 * detail(before[face])
    else:  # a few flat blocks (8 across the face) instead of thousands of colours
        colours = lambda a: len(np.unique(a.reshape(-1, 3), axis=0))  # noqa: E731
        assert colours(after[face]) < 150 < 20 * 150 < colours(before[face])
    # far from the face nothing changes at all (bottom third: suit, helmet, flag)
    assert np.array_equal(after[400:], before[400:])
    assert np.array_equal(after[:, :100], before[:, :100])


def test_blur_faces_without_faces_copies_and_says_so(samples):
    res = blur_faces(samples / "coins.jpg")
    assert res.regions == [] and any("no faces" in n for n in res.notes)
    assert np.array_equal(np.asarray(res.pil), np.asarray(Image.open(samples / "coins.jpg").convert("RGB")))


def test_blur_faces_bad_method(samples):
    with pytest.raises(InvalidArgument, match="choose one of: blur, pixelate"):
        blur_faces(samples / "astronaut.jpg", method="swirl")


# --- strip ------------------------------------------------------------------------------

def _exif(orientation: int = 1) -> Image.Exif:
    ex = Image.Exif()
    ex[0x010F] = "Canon"
    ex[0x0110] = "EOS 5D"
    ex[0x0131] = "Camera firmware 1.0"
    if orientation != 1:
        ex[0x0112] = orientation
    ex[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    return ex


def _photo(samples, size=(448, 288)) -> Image.Image:
    return Image.open(samples / "chelsea.jpg").convert("RGB").crop((0, 0, *size))


def _exiftool(path) -> dict:
    exe = require_program("exiftool")
    r = subprocess.run([exe, "-j", "-G", "-a", "-u", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]


def _groups(tags: dict) -> set[str]:
    return {k.split(":", 1)[0] for k in tags if ":" in k}


def test_strip_jpeg_removes_gps_xmp_iptc_keeps_icc_and_turns_upright(samples, tmp_path):
    src = tmp_path / "photo.jpg"
    _photo(samples, (448, 296)).save(src, quality=90, exif=_exif(6), icc_profile=SRGB, xmp=XMP, comment=b"secret")
    exe = require_program("exiftool")
    subprocess.run([exe, "-q", "-overwrite_original", "-IPTC:City=Paris", "-IPTC:Keywords=private", str(src)],
                   check=True, timeout=60)
    before = _exiftool(src)
    assert {"EXIF", "XMP", "IPTC", "ICC_Profile"} <= _groups(before) and "EXIF:GPSLatitude" in before

    out = tmp_path / "clean.jpg"
    res = strip(src, output=out)
    after = _exiftool(out)
    assert not [k for k in after if "GPS" in k], after
    assert not _groups(after) & {"EXIF", "XMP", "IPTC", "Photoshop"}, _groups(after)
    assert "File:Comment" not in after
    assert after["ICC_Profile:ProfileDescription"] == "sRGB built-in"
    assert "Orientation" not in " ".join(after)
    # upright: 448x296 stored sideways (orientation 6) comes out 296x448
    assert (after["File:ImageWidth"], after["File:ImageHeight"]) == (296, 448)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(src)).convert("RGB")).astype(int)
    assert np.abs(np.asarray(Image.open(out).convert("RGB")).astype(int) - upright).mean() < 2.5

    assert res.orientation_applied == 6 and (res.width, res.height) == (296, 448)
    text = " ".join(res.removed)
    for word in ("EXIF", "GPS", "XMP", "IPTC", "comment"):
        assert word in text, res.removed
    assert any("ICC" in k for k in res.kept)
    # 296 is not a whole number of 16 px blocks: jpegtran -perfect cannot, so it re-encodes and says so
    assert res.reencoded and res.quality and any("re-encoded" in n for n in res.notes)


def test_strip_jpeg_without_rotation_keeps_the_compressed_data(samples, tmp_path):
    src = tmp_path / "photo.jpg"
    _photo(samples).save(src, quality=88, exif=_exif(1), icc_profile=SRGB, xmp=XMP, progressive=True)
    out = tmp_path / "clean.jpg"
    res = strip(src, output=out)
    assert not res.reencoded and res.orientation_applied is None
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(src)))  # same decoded pixels
    assert res.bytes_after < res.bytes_before
    assert Image.open(out).info.get("icc_profile") == SRGB
    assert not Image.open(out).getexif() and "xmp" not in Image.open(out).info
    # the scan data itself is byte-identical
    data, stripped = src.read_bytes(), out.read_bytes()
    sos = stripped.index(b"\xff\xda")
    assert stripped[sos:] in data


def test_strip_rotates_losslessly_with_jpegtran(samples, tmp_path):
    require_program("jpegtran")
    src = tmp_path / "photo.jpg"
    _photo(samples, (448, 288)).save(src, quality=90, exif=_exif(8), icc_profile=SRGB)  # whole 16 px blocks
    res = strip(src, output=tmp_path / "clean.jpg")
    assert not res.reencoded and res.orientation_applied == 8
    assert any("losslessly" in n for n in res.notes)
    out = Image.open(tmp_path / "clean.jpg")
    assert out.size == (288, 448) and not out.getexif() and out.info.get("icc_profile") == SRGB
    upright = np.asarray(ImageOps.exif_transpose(Image.open(src)).convert("RGB")).astype(int)
    assert np.abs(np.asarray(out.convert("RGB")).astype(int) - upright).mean() < 1.0


def test_strip_reencodes_with_original_tables_without_jpegtran(samples, tmp_path, monkeypatch):
    monkeypatch.setattr(strip_module, "_jpegtran", lambda: None)
    src = tmp_path / "photo.jpg"
    _photo(samples, (448, 288)).save(src, quality=90, exif=_exif(3))
    res = strip(src, output=tmp_path / "clean.jpg")
    assert res.reencoded and any("install jpegtran" in n for n in res.notes)
    out = Image.open(tmp_path / "clean.jpg")
    assert out.quantization == Image.open(src).quantization
    upright = np.asarray(ImageOps.exif_transpose(Image.open(src)).convert("RGB")).astype(int)
    assert np.abs(np.asarray(out.convert("RGB")).astype(int) - upright).mean() < 2.0


@pytest.mark.parametrize("fmt,suffix,extra", [("PNG", ".png", {}), ("WEBP", ".webp", {"lossless": True})])
def test_strip_png_and_webp(samples, tmp_path, fmt, suffix, extra):
    src = tmp_path / f"photo{suffix}"
    _photo(samples, (120, 80)).save(src, format=fmt, exif=_exif(3), icc_profile=SRGB, xmp=XMP, **extra)
    out = tmp_path / f"clean{suffix}"
    res = strip(src, output=out)
    assert res.orientation_applied == 3
    img = Image.open(out)
    assert not img.getexif() and "xmp" not in img.info and img.info.get("icc_profile") == SRGB
    upright = np.asarray(ImageOps.exif_transpose(Image.open(src)).convert("RGB"))
    assert np.array_equal(np.asarray(img.convert("RGB")), upright)  # both lossless
    assert "GPS" in " ".join(res.removed)
    if shutil.which("exiftool"):  # the independent reader, when installed
        after = _exiftool(out)
        assert not [k for k in after if "GPS" in k] and not _groups(after) & {"EXIF", "XMP"}


def test_strip_refuses_to_overwrite_or_change_format(samples, tmp_path):
    src = tmp_path / "photo.jpg"
    _photo(samples).save(src, exif=_exif(1))
    before = src.read_bytes()
    with pytest.raises(InvalidArgument, match="never overwrites its inputs"):
        strip(src, output=src, overwrite=True)
    with pytest.raises(InvalidArgument, match="strip keeps the format"):
        strip(src, output=tmp_path / "clean.png")
    with pytest.raises(InvalidArgument, match="not decoded pixels"):
        strip(np.zeros((4, 4, 3), np.uint8), output=tmp_path / "x.jpg")
    (tmp_path / "taken.jpg").write_bytes(b"keep me")
    with pytest.raises(OutputExists):
        strip(src, output=tmp_path / "taken.jpg")
    assert (tmp_path / "taken.jpg").read_bytes() == b"keep me" and src.read_bytes() == before


def test_strip_sample_photo_without_metadata_reports_nothing_removed(samples, tmp_path):
    res = strip(samples / "coins.jpg", output=tmp_path / "coins.jpg")  # a bare JFIF file
    assert not res.reencoded and res.removed == [] and res.orientation_applied is None
    assert (tmp_path / "coins.jpg").read_bytes() == (samples / "coins.jpg").read_bytes()
    assert "nothing" in "\n".join(render(res))


def test_cli_strip_and_blur_faces(samples, tmp_path):
    ocula = os.path.join(os.path.dirname(sys.executable), "ocula")
    src = tmp_path / "photo.jpg"
    _photo(samples).save(src, exif=_exif(1), icc_profile=SRGB)
    r = subprocess.run([ocula, "strip", str(src), "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["output"] == str(tmp_path / "photo.stripped.jpg") and "GPS" in " ".join(data["removed"])
    r = subprocess.run([ocula, "blur-faces", str(samples / "astronaut.jpg"), "-o", str(tmp_path / "b.jpg"),
                        "--pixelate"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "1 face(s) pixelated" in r.stdout and (tmp_path / "b.jpg").exists()
