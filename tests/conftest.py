"""Shared fixtures. The suite runs offline: sockets are blocked by pytest-socket (see
pyproject addopts), hub libraries are told they are offline, and OCULA_HOME is a temp dir."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _ocula_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("ocula-home")
    old = os.environ.get("OCULA_HOME")
    os.environ["OCULA_HOME"] = str(home)
    from ocula.config import get_settings

    get_settings.cache_clear()
    yield home
    if old is None:
        os.environ.pop("OCULA_HOME", None)
    else:
        os.environ["OCULA_HOME"] = old
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where tests leave artefacts worth looking at (screenshots, annotated images)."""
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    return out


def require_program(name: str) -> str:
    """Skip (locally) when a system program is missing; CI installs it via .ci/run."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install it; .ci/run does)")
    return path


def _dms(value: float) -> tuple:
    from PIL.TiffImagePlugin import IFDRational

    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    s = round(((value - d) * 60 - m) * 60 * 1000)
    return (IFDRational(d, 1), IFDRational(m, 1), IFDRational(s, 1000))


def exif_photo(path, lat=None, lon=None, when=None, offset=None, status=None, raw_lat=None, size=(64, 48),
               colour=(90, 140, 200), picture=None):
    """A small JPEG made here with EXIF: camera, capture time (and offset), GPS (and its status);
    a plain colour, or ``picture`` (a file) resized to ``size``."""
    from PIL import Image

    if picture is not None:
        with Image.open(picture) as im:
            img = im.convert("RGB").resize(size)
    else:
        img = Image.new("RGB", size, colour)
    ex = Image.Exif()
    ex[0x010F], ex[0x0110] = "ocula", "test camera"
    if when is not None:
        sub = ex.get_ifd(0x8769)
        sub[0x9003] = when
        if offset:
            sub[0x9011] = offset
    if lat is not None:
        gps = ex.get_ifd(0x8825)
        gps[1], gps[2] = ("N" if lat >= 0 else "S"), raw_lat or _dms(lat)
        gps[3], gps[4] = ("E" if lon >= 0 else "W"), _dms(lon)
        if status:
            gps[9] = status
    img.save(path, "JPEG", exif=ex)
    return path
