"""Which ocean a point far from any town lies in: a coarse rule by latitude and longitude bands.

Only used for positions more than ``geocode.FAR_KM`` from any listed place whose time zone is
an ocean zone (Etc/GMT±N), i.e. open water; near coasts the bands are only approximate.
"""

from __future__ import annotations

OCEANS = {
    "Pacific Ocean": "太平洋", "Atlantic Ocean": "大西洋", "Indian Ocean": "印度洋",
    "Arctic Ocean": "北冰洋", "Southern Ocean": "南大洋", "Mediterranean Sea": "地中海",
}


def ocean_name(lat: float, lon: float) -> str:
    if lat <= -60:
        return "Southern Ocean"
    if lat >= 66.5:
        return "Arctic Ocean"
    if 30 <= lat <= 46 and -5.5 <= lon <= 36:
        return "Mediterranean Sea"
    if lat < 30 and (20 <= lon < 100 or (100 <= lon < 147 and lat < -10)):
        return "Indian Ocean"
    if lat < 8:
        return "Atlantic Ocean" if -70 <= lon < 20 else "Pacific Ocean"
    if lat < 32:  # Gulf of Mexico and the Caribbean, not Central America's Pacific coast
        pacific_side = lon < -98 or (lat < 16 and lon < -84)
        return "Atlantic Ocean" if -98 <= lon < 20 and not pacific_side else "Pacific Ocean"
    return "Atlantic Ocean" if -82 <= lon < 20 else "Pacific Ocean"


def ocean_at(lat: float, lon: float) -> tuple[str, str]:
    """(English, Chinese) name of the ocean at a point."""
    en = ocean_name(lat, lon)
    return en, OCEANS[en]
