"""Where and when in the index: places, capture times and GPS stored per photo (GPS in its own
columns, forgotten when the settings say so), search by place names in English and Chinese, by
year, --near and --moment, and `ocula moments` (kept incrementally by the index, or read from a
folder). Photos are made here with EXIF (conftest.exif_photo); the index runs only the metadata
step (the embeddings still run)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import exif_photo
from ocula import Index
from ocula.config import load_settings
from ocula.errors import InvalidArgument
from ocula.index.store import SCHEMA_VERSION

pytestmark = pytest.mark.slow  # the first use builds the city table (seconds)
OCULA = Path(sys.executable).parent / "ocula"
STEPS = ["metadata"]
TRIP = [f"sh-{day}-{h}" for day in range(3) for h in (9, 13, 18)]


def make_photos(folder: Path) -> Path:
    """A three-day trip to Shanghai, a day in Paris, New York, evenings at home in Berlin, and
    three bad cases: GPS (0, 0) with the camera's default clock, no GPS, no time."""
    folder.mkdir(parents=True, exist_ok=True)
    for day in range(3):
        for h in (9, 13, 18):
            exif_photo(folder / f"sh-{day}-{h}.jpg", 31.2400 + 0.004 * day, 121.4900, f"2024:05:{12 + day:02d} {h:02d}:00:00")
    for k in range(3):
        exif_photo(folder / f"paris-{k}.jpg", 48.8584, 2.2945, f"2023:07:14 1{k}:30:00", colour=(200, 90, 60))
    exif_photo(folder / "nyc-0.jpg", 40.7580, -73.9855, "2024:01:20 10:00:00", colour=(60, 60, 60))
    exif_photo(folder / "nyc-1.jpg", 40.7829, -73.9654, "2024:01:20 11:00:00", colour=(60, 60, 60))
    (folder / "home").mkdir(exist_ok=True)
    for day in range(5):
        for k in range(2):
            exif_photo(folder / "home" / f"berlin-{day}-{k}.jpg", 52.5200, 13.4050,
                       f"2024:06:{day + 1:02d} 19:{10 * k:02d}:00", colour=(90, 200, 90))
    exif_photo(folder / "zero.jpg", 0.0, 0.0, "2000:01:01 00:00:00")
    exif_photo(folder / "nogps.jpg", None, None, "2023:03:01 12:00:00")
    exif_photo(folder / "undated.jpg", 48.8606, 2.3376, None)
    return folder


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> tuple[Path, Index]:
    root = tmp_path_factory.mktemp("moments")
    photos = make_photos(root / "photos")
    ix = Index(root / "index.db")
    report = ix.add([photos], steps=STEPS)
    assert report.analysed == 27 and not report.failed and report.moments >= 5
    return photos, ix


def _stems(result) -> list[str]:
    return [Path(h.path).stem for h in result.hits]


def test_the_index_keeps_where_and_when(indexed):
    _, ix = indexed
    s = ix.stats()
    assert s.schema_version == SCHEMA_VERSION and s.images == 27
    assert s.with_time == 25 and s.with_place == 25 and s.with_gps == 25  # zero.jpg: no place, no 2000
    zero = ix.search("", near="0,0", within_km=20_000, top_k=100)
    assert "zero" not in _stems(zero)  # (0, 0) is not a position anywhere
    hit = next(h for h in ix.search("zero nogps", top_k=30).hits if Path(h.path).stem == "zero")
    assert hit.captured is None and hit.place is None and not hit.taken.startswith("2000")


def test_moments_group_the_trip_with_titles_in_both_languages(indexed):
    _, ix = indexed
    result = ix.moments()
    trip = next(m for m in result.moments if "sh-0-9" in {Path(p).stem for p in _paths(ix, m)})
    assert trip.count == 9 and trip.title == "Shanghai, 12–14 May 2024"
    assert trip.title_zh == "上海，2024年5月12日至14日" and Path(trip.cover_path).stem in TRIP
    titles = [m.title for m in result.moments]
    assert "Paris, 14 July 2023" in titles and "New York City, 20 January 2024" in titles
    assert sum(t.startswith("Berlin") for t in titles) == 5  # evenings at home stay apart
    assert result.undated == 2 and result.photos == 25  # zero.jpg and undated.jpg are not grouped


def _paths(ix, moment) -> list[str]:
    return [h.path for h in ix.search("", moment=moment.id, top_k=100).hits]


PLACES = {"paris": {"paris-0", "paris-1", "paris-2", "undated"}, "nyc": {"nyc-0", "nyc-1"}, "sh": set(TRIP),
          "berlin": {f"berlin-{d}-{k}" for d in range(5) for k in range(2)}}


@pytest.mark.parametrize("query, where", [
    ("巴黎", "paris"), ("Paris", "paris"), ("PARIS", "paris"), ("ile de france", "paris"), ("Île-de-France", "paris"),
    ("纽约", "nyc"), ("紐約", "nyc"), ("New York", "nyc"), ("Manhattan", "nyc"), ("曼哈顿", "nyc"),
    ("上海", "sh"), ("shanghai", "sh"), ("中国", "sh"), ("Berlin", "berlin"), ("柏林", "berlin"),
])
def test_place_names_in_either_language_find_the_photos_first(indexed, query, where):
    _, ix = indexed
    res = ix.search(query, top_k=12)
    expected = PLACES[where]
    assert set(_stems(res)[:len(expected)]) == expected, (query, [(h.path, h.ranks) for h in res.hits])
    assert "place" in res.hits[0].ranks and res.places


def test_a_year_is_a_capture_date_filter(indexed):
    _, ix = indexed
    res = ix.search("上海 2024", top_k=30)
    assert res.years == [2024] and res.places == ["上海"]
    assert set(_stems(res)[:9]) == set(TRIP)
    assert all(h.captured and h.captured.startswith("2024") for h in res.hits)
    assert not any(s.startswith("sh") for s in _stems(ix.search("Shanghai 2023", top_k=30)))
    only_year = ix.search("2023", top_k=30)
    assert only_year.lists == ["time"] and set(_stems(only_year)) == {"paris-0", "paris-1", "paris-2", "nogps"}
    assert _stems(only_year)[0] == "nogps"  # in the order they were taken
    assert ix.search("2000").hits == []  # the factory-default clock is no date


def test_near_a_place_or_a_position_and_within(indexed):
    _, ix = indexed
    res = ix.search("", near="Shanghai", within_km=30, top_k=50)
    assert set(_stems(res)) == set(TRIP) and res.near == "within 30 km of Shanghai, China"
    assert set(_stems(ix.search("", near="上海", top_k=50))) == set(TRIP)
    eiffel = ix.search("", near=(48.8584, 2.2945), within_km=0.5, top_k=50)
    assert set(_stems(eiffel)) == {"paris-0", "paris-1", "paris-2"}  # not undated.jpg at the Louvre, 3 km
    assert "undated" in _stems(ix.search("", near="48.8584,2.2945", within_km=5, top_k=50))
    with_words = ix.search("paris", near="New York", within_km=50)
    assert set(_stems(with_words)) == {"nyc-0", "nyc-1"}
    for bad, why in [("Xyzzyville", "no town or city"), ("95,10", "not a position"), ("", "give some words")]:
        with pytest.raises(InvalidArgument, match=why):
            ix.search("", near=bad)
    with pytest.raises(InvalidArgument, match="within"):
        ix.search("", near="Paris", within_km=0)


def test_moment_filter(indexed):
    _, ix = indexed
    trip = next(m for m in ix.moments().moments if m.title.startswith("Shanghai"))
    res = ix.search("", moment=trip.id, top_k=50)
    assert set(_stems(res)) == set(TRIP) and _stems(res)[0] == "sh-0-9" and res.moment == trip.id
    assert set(_stems(ix.search("shanghai", moment=trip.id, top_k=50))) == set(TRIP)
    with pytest.raises(InvalidArgument, match="no moment 'nope'.*ocula moments"):
        ix.search("cat", moment="nope")


def test_cli_search_moments_and_bad_input(indexed, tmp_path):
    photos, ix = indexed
    run = lambda *a: subprocess.run([str(OCULA), *map(str, a)], capture_output=True, text=True)  # noqa: E731
    r = run("search", "巴黎", "--db", ix.path, "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert Path(data["hits"][0]["path"]).stem in PLACES["paris"] and data["hits"][0]["place_zh"] == "法国法兰西岛巴黎"
    r = run("search", "--near", "Shanghai", "--within", "30km", "--db", ix.path, "--paths")
    assert r.returncode == 0 and {Path(p).stem for p in r.stdout.split()} == set(TRIP)
    r = run("search", "上海 2024", "--db", ix.path)
    assert r.returncode == 0 and "taken in 2024; place: 上海" in r.stdout and "Shanghai, China / 中国上海" in r.stdout
    r = run("search", "--near", "Paris", "--within", "5 parsecs", "--db", ix.path)
    assert r.returncode != 0 and "20km, 500m or 3mi" in r.stderr and "Traceback" not in r.stderr
    r = run("moments", "--db", ix.path, "--json")
    assert r.returncode == 0, r.stderr
    moments = json.loads(r.stdout)["moments"]
    assert any(m["title_zh"] == "上海，2024年5月12日至14日" and m["count"] == 9 for m in moments)
    r = run("moments", "--db", ix.path)
    assert r.returncode == 0 and "Shanghai, 12–14 May 2024 / 上海，2024年5月12日至14日  (9 photos)" in r.stdout
    # a folder, read on the spot (no index); a broken file is reported and the rest grouped
    folder = tmp_path / "loose"
    shutil.copytree(photos, folder, ignore=shutil.ignore_patterns("home", "nyc*", "paris*"))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    r = run("moments", folder, "--json")
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert [m["title"] for m in data["moments"]][-1] == "Shanghai, 12–14 May 2024"
    assert len(data["failed"]) == 1 and data["failed"][0]["source"].endswith("broken.jpg")
    assert all(m["center_lat"] is None for m in data["moments"])  # no coordinates in what is shown
    r = run("moments", tmp_path / "missing")
    assert r.returncode != 0 and "not found" in r.stderr


def test_moments_follow_the_index_incrementally(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for day in range(2):
        for h in (9, 18):
            exif_photo(photos / f"sh-{day}-{h}.jpg", 31.24, 121.49, f"2024:05:{12 + day:02d} {h:02d}:00:00")
    exif_photo(photos / "suzhou.jpg", 31.30, 120.62, "2024:05:13 12:00:00")  # a day trip, 85 km away
    ix = Index(tmp_path / "i.db")
    ix.add([photos], steps=STEPS)
    (trip,) = ix.moments().moments
    assert trip.title == "Shanghai and Suzhou, 12–13 May 2024" and trip.count == 5
    again = ix.add([photos], steps=STEPS)
    assert again.moments == 0 and again.analysed == 0  # nothing new: nothing regrouped or written
    exif_photo(photos / "sh-2-9.jpg", 31.24, 121.49, "2024:05:14 09:00:00")
    assert ix.add([photos], steps=STEPS).moments == 1
    (grown,) = ix.moments().moments
    assert grown.id == trip.id and grown.count == 6 and grown.title == "Shanghai and Suzhou, 12–14 May 2024"
    (photos / "suzhou.jpg").unlink()
    report = ix.add([photos], steps=STEPS)
    assert report.removed == 1 and report.moments == 1
    (shrunk,) = ix.moments().moments
    assert shrunk.id == trip.id and shrunk.count == 5 and shrunk.title == "Shanghai, 12–14 May 2024"
    ix.remove([photos / "sh-0-9.jpg"])
    assert [m.count for m in ix.moments().moments] == [4]


def test_privacy_settings_forget_coordinates_then_places(tmp_path):
    photos = make_photos(tmp_path / "photos")
    db = tmp_path / "i.db"
    home = os.environ["OCULA_HOME"]
    Index(db).add([photos], steps=STEPS)
    no_gps = Index(db, settings=load_settings(env={"OCULA_HOME": home, "OCULA_INDEX_GPS": "0"}))
    no_gps.add([photos], steps=STEPS)
    s = no_gps.stats()
    assert s.with_gps == 0 and s.with_place == 25
    with sqlite3.connect(db) as con:  # nothing left behind: no column, no moment centre finer than a city
        assert con.execute("SELECT count(*) FROM images WHERE lat IS NOT NULL OR lon IS NOT NULL").fetchone() == (0,)
        assert "31.24" not in " ".join(r[0] for r in con.execute("SELECT data FROM moments"))
        assert "31.24" not in " ".join(r[0] or "" for r in con.execute("SELECT analysis FROM images"))
    with pytest.raises(InvalidArgument, match="keeps no GPS coordinates"):
        no_gps.search("", near="Shanghai")
    assert any(m.title == "Shanghai, 12–14 May 2024" and m.count == 9 for m in no_gps.moments().moments)
    assert set(_stems(no_gps.search("巴黎", top_k=4))) == PLACES["paris"]  # names need no coordinates
    nothing = Index(db, settings=load_settings(env={"OCULA_HOME": home, "OCULA_INDEX_GPS": "0",
                                                    "OCULA_INDEX_PLACE": "0"}))
    nothing.add([photos], steps=STEPS)
    s = nothing.stats()
    assert s.with_place == 0 and s.with_gps == 0 and s.with_time == 25
    assert "place" not in nothing.search("巴黎").lists
    assert all(not m.title.startswith(("Shanghai", "Paris")) for m in nothing.moments().moments)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM place_names").fetchone() == (0,)
        assert "Shanghai" not in " ".join(r[0] for r in con.execute("SELECT data FROM moments"))
        words = " ".join(" ".join(r) for r in con.execute("SELECT analysis, description, tags_en, tags_zh FROM images"))
        assert "Shanghai" not in words and "上海" not in words  # the place was only ever in its own columns


def test_an_index_made_before_places_gets_them_on_the_next_run(tmp_path):
    """A schema-1 index (made by an older ocula) is migrated, and the next index run reads where
    and when for its photos from EXIF without analysing them again."""
    from ocula.index.store import MIGRATIONS, _statements

    photos = tmp_path / "photos"
    photos.mkdir()
    path = exif_photo(photos / "bund.jpg", 31.24, 121.49, "2024:05:12 15:20:00")
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as con:
        for stmt in _statements(MIGRATIONS[0]):
            con.execute(stmt)
        st = path.stat()
        con.execute("INSERT INTO images(path, size, mtime_ns, hash, taken, indexed_at) VALUES(?, ?, ?, 'x', "
                    "'2024-05-12T15:20:00', 0)", (str(path), st.st_size, st.st_mtime_ns))
        con.execute("PRAGMA user_version = 1")
    ix = Index(db)
    report = ix.add([photos], steps=STEPS)
    assert report.unchanged == 1 and report.analysed == 0 and report.places_read == 1 and report.moments == 1
    assert ix.stats().schema_version == SCHEMA_VERSION and ix.stats().with_place == 1
    assert _stems(ix.search("上海"))[0] == "bund"
    assert ix.add([photos], steps=STEPS).places_read == 0
