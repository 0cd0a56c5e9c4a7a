from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageCms
from PIL.TiffImagePlugin import IFDRational

from ocula.tasks.metadata import EXIF_IFD, GPS_IFD, exposure_string, metadata
from ocula.cli.render import render


def _exif(with_gps: bool = True, south_west: bool = False) -> Image.Exif:
    ex = Image.Exif()
    ex[0x010F] = "Canon"
    ex[0x0110] = "EOS R5"
    ex[0x0131] = "ocula tests 1.0"
    ex[0x013B] = "Jane Doe"
    ex[0x8298] = "(c) 2024 Jane Doe"
    ex[0x010E] = "A tabby cat"
    ex[0x0112] = 1
    sub = ex.get_ifd(EXIF_IFD)
    sub[0x9003] = "2024:05:01 12:34:56"
    sub[0x9011] = "+08:00"
    sub[0x8827] = 400
    sub[0x829D] = IFDRational(28, 10)
    sub[0x829A] = IFDRational(1, 250)
    sub[0x920A] = IFDRational(50, 1)
    sub[0xA434] = "RF50mm F1.8 STM"
    if with_gps:
        gps = ex.get_ifd(GPS_IFD)
        gps[1] = "S" if south_west else "N"
        gps[2] = (IFDRational(48, 1), IFDRational(51, 1), IFDRational(2958, 100))
        gps[3] = "W" if south_west else "E"
        gps[4] = (IFDRational(2, 1), IFDRational(17, 1), IFDRational(4020, 100))
        gps[5] = 0
        gps[6] = IFDRational(35, 1)
    return ex


def _jpeg(samples, exif=None, icc: bytes | None = None) -> bytes:
    img = Image.open(samples / "chelsea.jpg")
    buf = io.BytesIO()
    kwargs = {}
    if exif is not None:
        kwargs["exif"] = exif
    if icc is not None:
        kwargs["icc_profile"] = icc
    img.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def _with_app1(jpeg: bytes, payload: bytes) -> bytes:
    """Insert a raw APP1 segment right after SOI (a hand-made, possibly broken, EXIF block)."""
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_fields_read_back(samples, tmp_path):
    path = tmp_path / "cat.jpg"
    path.write_bytes(_jpeg(samples, _exif()))
    res = metadata(path)
    assert res.camera_make == "Canon" and res.camera_model == "EOS R5"
    assert res.lens == "RF50mm F1.8 STM"
    assert res.datetime_original == "2024-05-01T12:34:56+08:00"
    assert res.software == "ocula tests 1.0"
    assert res.artist == "Jane Doe" and res.copyright == "(c) 2024 Jane Doe"
    assert res.description == "A tabby cat"
    assert res.orientation == 1 and res.iso == 400
    assert res.f_number == 2.8 and res.exposure_time == "1/250" and res.focal_length_mm == 50.0
    assert (res.image.width, res.image.height) == (451, 300)
    assert any("Canon" in line for line in render(res))


def test_gps_only_when_asked(samples):
    data = _jpeg(samples, _exif())
    hidden = metadata(data)
    assert hidden.has_gps is True and hidden.gps is None
    assert "48.85" not in hidden.model_dump_json()
    shown = metadata(data, gps=True)
    assert shown.gps.latitude == pytest.approx(48 + 51 / 60 + 29.58 / 3600, abs=1e-6)
    assert shown.gps.longitude == pytest.approx(2 + 17 / 60 + 40.2 / 3600, abs=1e-6)
    assert shown.gps.altitude == 35.0


def test_gps_signs(samples):
    res = metadata(_jpeg(samples, _exif(south_west=True)), gps=True)
    assert res.gps.latitude < 0 and res.gps.longitude < 0


def test_no_gps(samples):
    res = metadata(_jpeg(samples, _exif(with_gps=False)), gps=True)
    assert res.has_gps is False and res.gps is None
    assert res.camera_model == "EOS R5"


def test_plain_sample_has_nothing(samples):
    res = metadata(samples / "chelsea.jpg", gps=True)
    out = res.model_dump(exclude={"image"}, exclude_none=True)
    # no EXIF: no GPS (said why) and no capture time (the file date is only labelled as such)
    assert out.pop("gps_note").startswith("no usable GPS")
    time = out.pop("time")
    assert time["known"] is False and time["problem"] == "no capture time in EXIF" and "file_date" in time
    assert out == {"has_gps": False}


def test_icc_profile_description(samples):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    res = metadata(_jpeg(samples, icc=icc))
    assert res.icc_profile and "sRGB" in res.icc_profile


@pytest.mark.parametrize("payload", [
    b"Exif\x00\x00" + b"\x13\x37garbage" * 5,  # not TIFF at all
    b"Exif\x00\x00II*\x00" + struct.pack("<I", 0xFFFFFF),  # IFD0 offset past the end
    b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05",  # truncated entry table
    # IFD0 with a string past the end and Exif/GPS pointers to nowhere
    b"Exif\x00\x00II*\x00" + struct.pack("<IH", 8, 3) + struct.pack("<HHII", 0x010F, 2, 100, 5000)
    + struct.pack("<HHII", EXIF_IFD, 4, 1, 9999) + struct.pack("<HHII", GPS_IFD, 4, 1, 12) + b"\0\0\0\0",
])
@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's own "Corrupt EXIF" notes while opening
def test_broken_exif_does_not_fail(samples, payload):
    res = metadata(_with_app1(_jpeg(samples), payload), gps=True)
    assert res.has_gps is False and res.gps is None


def test_broken_sub_ifd_keeps_the_rest(samples):
    # a valid IFD0 (Make, Model) whose Exif and GPS pointers lead past the end of the block
    entries = [(0x010F, 2, 6, b"Nikon\x00"), (0x0110, 2, 4, b"Z6\x00\x00")]
    head = struct.pack("<2sHI", b"II", 42, 8)
    n = len(entries) + 2
    data_off = 8 + 2 + n * 12 + 4
    table, blobs = b"", b""
    for tag, typ, count, blob in entries:
        if len(blob) <= 4:
            table += struct.pack("<HHI4s", tag, typ, count, blob.ljust(4, b"\0"))
        else:
            table += struct.pack("<HHII", tag, typ, count, data_off + len(blobs))
            blobs += blob
    table += struct.pack("<HHII", EXIF_IFD, 4, 1, 60000) + struct.pack("<HHII", GPS_IFD, 4, 1, 61000)
    tiff = head + struct.pack("<H", n) + table + b"\0\0\0\0" + blobs
    res = metadata(_with_app1(_jpeg(samples), b"Exif\x00\x00" + tiff), gps=True)
    assert res.camera_make == "Nikon" and res.camera_model == "Z6"
    assert res.has_gps is False and res.datetime_original is None


def test_odd_values(samples):
    ex = _exif(with_gps=False)
    sub = ex.get_ifd(EXIF_IFD)
    sub[0x9003] = "0000:00:00 00:00:00"  # "unset" in many cameras
    sub[0x829D] = IFDRational(0, 0)  # nan
    sub[0x829A] = IFDRational(2, 1)
    ex[0x0110] = "EOS R5\x00\x00  "
    res = metadata(_jpeg(samples, ex))
    assert res.datetime_original is None and res.f_number is None
    assert res.exposure_time == "2" and res.camera_model == "EOS R5"


@pytest.mark.parametrize("seconds,text", [(1 / 250, "1/250"), (1 / 8000, "1/8000"), (0.25, "1/4"),
                                          (0.5, "0.5"), (2.0, "2"), (1.3, "1.3"), (30.0, "30")])
def test_exposure_string(seconds, text):
    assert exposure_string(seconds) == text


def test_png_exif(samples):
    img = Image.open(samples / "chelsea.jpg")
    buf = io.BytesIO()
    img.save(buf, "PNG", exif=_exif())
    res = metadata(buf.getvalue(), gps=True)
    assert res.camera_make == "Canon" and res.gps is not None
