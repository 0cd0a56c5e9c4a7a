"""Build src/ocula/places/regions.tsv: GeoNames admin1 codes -> ISO 3166-2 subdivision codes.

GeoNames numbers first-level regions with its own codes (FIPS 10-4 for most countries: CN.23 is
Shanghai, JP.40 is Tokyo), while region names in English and Chinese come from ISO 3166-2
(pycountry and its translations). Nothing in a registry package links the two, so this script
infers the link once, per country, and the result is committed (a few thousand short lines):

  score(GeoNames region G, ISO subdivision S) =
      share of the 25 cities nearest to S's point that lie in G (the point is inside its region,
      even where it is far from the centre)
    + half the population-weighted share of G's cities whose nearest ISO point is S
    + a bonus when S's name is one of the names of G's cities (Tokyo, Shanghai, Berlin ...)
    + a bonus when G's code is S's code and the two agree on the nearest point too (US, CH, GB)

and each country's regions are matched one-to-one by maximum total score (Hungarian
assignment). A pair is kept only when S's point lies among G's cities or the names agree.
Where GeoNames has many more regions than ISO's first level, the second level is matched.
The subdivision points are the ``latLng`` values of the ``iso3166-2`` package
(MIT), used here only: pass the path of its ``iso3166-2.json``. Pairs with a low score are left
out (no region beats a wrong one).

    python tools/places_regions.py /path/to/iso3166_2/iso3166-2.json
"""

from __future__ import annotations

import json
import math
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

import numpy as np
import pycountry
from scipy.optimize import linear_sum_assignment

from ocula.places.data import CITY_FILES, geonames_dir

OUT = Path(__file__).resolve().parents[1] / "src" / "ocula" / "places" / "regions.tsv"
_SUFFIXES = (" shi", " sheng", " zizhiqu", " uygur", " huizu", " zhuangzu", " tebiexingzhengqu",
             "-teukbyeolsi", "-gwangyeoksi", "-do", "-si", "-to", "-fu", "-ken", " oblast'", " kray",
             " respublika", " governorate", " province", " region", " state")


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.split("[")[0]).encode("ascii", "ignore").decode().lower().strip()
    for s in _SUFFIXES:
        text = text.removesuffix(s)
    return text.replace("-", " ").replace("'", "").strip()


# checked by hand where the inference is wrong or unsure: GeoNames' "Taiwan" region (TW.04)
# spans most of the island and has no ISO counterpart; Gansu's ISO point sits near Ningxia's.
KNOWN: dict[str, str | None] = {"TW.04": None, "CN.15": "CN-GS"}


def _own_country(s, countries: dict[str, str]) -> bool:
    """CN-TW, CN-HK, US-PR ...: subdivisions that GeoNames lists as countries of their own."""
    suffix = s.code.split("-", 1)[1]
    return suffix in countries and bool(set(countries[suffix].split()) & set(fold(s.name).split()))


def unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.c_[np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]


def main(iso_json: str) -> None:
    iso = json.loads(Path(iso_json).read_text())
    cities = json.loads((geonames_dir() / CITY_FILES[500]).read_text())
    groups: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for c in cities.values():
        if c["admin1code"]:
            groups[c["countrycode"]][c["admin1code"]].append(c)
    countries = {code: fold(c["name"]) for code, c in
                 json.loads((geonames_dir() / "countries.json").read_text()).items()}
    rows, dropped = [], 0
    for cc, by_code in sorted(groups.items()):
        subs = [s for s in pycountry.subdivisions.get(country_code=cc) or [] if not _own_country(s, countries)]
        top = [s for s in subs if s.parent_code is None]
        if len(by_code) <= 1.5 * len(top):  # else GeoNames' regions are ISO's second level (Indonesia)
            subs = top
        points = [(s, iso.get(cc, {}).get(s.code, {}).get("latLng")) for s in subs]
        points = [(s, p) for s, p in points if p]
        if not points:
            continue
        codes = sorted(by_code)
        xyz = unit(np.array([p[0] for _, p in points]), np.array([p[1] for _, p in points]))
        score = np.zeros((len(codes), len(points)))
        names_of = [{fold(s.name)} | {fold(x) for x in s.name.split("[")[-1].rstrip("]").split("/")} for s, _ in points]
        everyone = [(i, c) for i, code in enumerate(codes) for c in by_code[code]]
        all_xyz = unit(np.array([c["latitude"] for _, c in everyone]), np.array([c["longitude"] for _, c in everyone]))
        owner = np.array([i for i, _ in everyone])
        k = min(25, len(everyone))
        for j in range(len(points)):
            near = np.argsort(-(all_xyz @ xyz[j]))[:k]
            np.add.at(score[:, j], owner[near], 1.0 / k)
        inside = score.copy()  # the ISO point lies among G's cities
        named = np.zeros_like(score, dtype=bool)
        for i, code in enumerate(codes):
            members = by_code[code]
            m = unit(np.array([c["latitude"] for c in members]), np.array([c["longitude"] for c in members]))
            nearest = np.argmax(m @ xyz.T, axis=1)
            w = np.sqrt(np.array([c["population"] for c in members], dtype=float) + 1)
            share = np.zeros(len(points))
            np.add.at(share, nearest, w)
            score[i] += 0.5 * share / w.sum()
            city_names = set()
            for c in sorted(members, key=lambda c: -c["population"])[:3]:
                city_names |= {fold(c["name"])} | {fold(a) for a in c["alternatenames"] if a.isascii()}
            for j, (s, _) in enumerate(points):
                if names_of[j] & city_names:
                    score[i, j] += 1.0
                    named[i, j] = True
                if s.code.split("-", 1)[1] == code and score[i, j] > 0.2:
                    score[i, j] += 0.5
        r, c = linear_sum_assignment(-score)
        for i, j in zip(r, c):
            runner_up = np.sort(score[i])[-2] if score.shape[1] > 1 else 0.0
            clear = score[i, j] - runner_up >= 0.2  # a region as large as the country matches all
            if score[i, j] >= 0.3 and (inside[i, j] >= 0.25 or named[i, j]) and (clear or named[i, j]):
                rows.append(f"{cc}.{codes[i]}\t{points[j][0].code}")
            else:
                dropped += 1
    rows = [r for r in rows if r.split("\t")[0] not in KNOWN]
    rows += [f"{k}\t{v}" for k, v in KNOWN.items() if v]
    rows.sort()
    OUT.write_text("# GeoNames admin1 code -> ISO 3166-2 code, inferred by tools/places_regions.py\n"
                   + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} regions mapped, {dropped} left out (low score) -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
