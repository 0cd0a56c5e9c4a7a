"""ocula.places: offline reverse geocoding, time facts, moments; metadata(place=True) on photos
made here with Pillow (GPS and time in EXIF)."""

from __future__ import annotations

import io
import math
import os
import subprocess
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from PIL.TiffImagePlugin import IFDRational

from conftest import exif_photo, require_program
from ocula import places
from ocula.errors import InvalidArgument
from ocula.places.geocode import Geocoder, get_geocoder, haversine_km
from ocula.places.moments import PhotoRecord, date_range, group_moments
from ocula.places.when import time_facts
from ocula.tasks.metadata import metadata

pytestmark = pytest.mark.slow  # the first use builds the city table (seconds)


@pytest.fixture(scope="module")
def geo():
    from ocula.config import get_settings

    return get_geocoder(get_settings().home)


# (lat, lon) -> city (English, Simplified Chinese), districts accepted, ISO region
LANDMARKS = {
    "Eiffel Tower": ((48.8584, 2.2945), "Paris", "巴黎", None, "FR-IDF"),
    "Louvre": ((48.8606, 2.3376), "Paris", "巴黎", None, "FR-IDF"),
    "Times Square": ((40.7580, -73.9855), "New York City", "纽约", {"Manhattan"}, "US-NY"),
    "Central Park": ((40.7829, -73.9654), "New York City", "纽约", {"Manhattan"}, "US-NY"),
    "the Bund": ((31.2400, 121.4900), "Shanghai", "上海", {"Puxi", "Huangpu", "Pudong"}, "CN-SH"),
    "Oriental Pearl Tower": ((31.2397, 121.4998), "Shanghai", "上海", {"Pudong"}, "CN-SH"),
    "Forbidden City": ((39.9163, 116.3972), "Beijing", "北京", None, "CN-BJ"),
    "West Lake": ((30.2460, 120.1500), "Hangzhou", "杭州", None, "CN-ZJ"),
    "Foshan (not Guangzhou)": ((23.0215, 113.1214), "Foshan", "佛山", None, "CN-GD"),
    "Canton Tower": ((23.1064, 113.3245), "Guangzhou", "广州", None, "CN-GD"),
    "Big Ben": ((51.5007, -0.1246), "London", "伦敦", {"City of Westminster"}, "GB-ENG"),
    "Colosseum": ((41.8902, 12.4922), "Rome", "罗马", None, "IT-62"),
    "Brandenburg Gate": ((52.5163, 13.3777), "Berlin", "柏林", None, "DE-BE"),
    "Red Square": ((55.7539, 37.6208), "Moscow", "莫斯科", None, "RU-MOW"),
    "Tokyo Tower": ((35.6586, 139.7454), "Tokyo", "东京", {"Minato City"}, "JP-13"),
    "Gyeongbokgung": ((37.5796, 126.9770), "Seoul", "首尔", None, "KR-11"),
    "Taipei 101": ((25.0340, 121.5645), "Taipei", "台北", None, None),
    "Victoria Peak": ((22.2759, 114.1455), "Hong Kong", "香港", None, None),
    "Marina Bay Sands": ((1.2834, 103.8607), "Singapore", "新加坡", None, None),
    "Sydney Opera House": ((-33.8568, 151.2153), "Sydney", "悉尼", None, "AU-NSW"),
    "Christ the Redeemer": ((-22.9519, -43.2105), "Rio de Janeiro", "里约热内卢", None, "BR-RJ"),
    "Zócalo": ((19.4326, -99.1332), "Mexico City", "墨西哥城", None, "MX-CMX"),
    "Obelisco": ((-34.6037, -58.3816), "Buenos Aires", "布宜诺斯艾利斯", None, None),
    "Pyramids of Giza (not Cairo)": ((29.9792, 31.1342), "Giza", None, None, "EG-GZ"),
    "Table Mountain": ((-33.9628, 18.4098), "Cape Town", "开普敦", None, "ZA-WC"),
    "Taj Mahal": ((27.1751, 78.0421), "Agra", "阿格拉", None, "IN-UP"),
    "Jersey City (not New York)": ((40.7326, -74.0631), "Jersey City", None, None, "US-NJ"),
    "Versailles (not Paris)": ((48.8049, 2.1204), "Versailles", None, None, "FR-IDF"),
}


@pytest.mark.parametrize("name", list(LANDMARKS))
def test_landmarks_name_the_city_people_mean(geo, name):
    (lat, lon), en, zh, districts, region = LANDMARKS[name]
    p = geo.reverse(lat, lon)
    assert p.kind == "city" and p.city.en == en, (name, p.city)
    if zh:
        assert p.city.zh == zh
    if districts:
        assert p.district is not None and p.district.en in districts
    if region:
        assert p.region_code == region
    assert p.distance_km < 15 and p.timezone and p.country_code


def test_names_in_both_languages_and_the_local_script(geo):
    nyc = geo.reverse(40.7580, -73.9855)
    assert nyc.city.zh == "纽约" and nyc.city.zh_hant == "紐約"  # GeoNames has only 紐約
    assert nyc.country.zh == "美国" and nyc.region.zh == "纽约州" and nyc.district.zh == "曼哈顿"
    tokyo = geo.reverse(35.6586, 139.7454)
    assert tokyo.city.local == "東京" and tokyo.country.zh == "日本"
    seoul = geo.reverse(37.5796, 126.9770)
    assert seoul.city.local == "서울" and seoul.country.zh == "韩国"
    taipei = geo.reverse(25.0340, 121.5645)
    assert taipei.city.zh_hant in ("臺北", "台北") and taipei.country.zh == "台湾"
    shanghai = geo.reverse(31.2400, 121.4900)
    assert places.label(shanghai) == "Shanghai, China"
    assert places.label(shanghai, "zh") == "中国上海"
    assert places.label(shanghai, "zh-Hant") == "中國上海"
    assert places.label(geo.reverse(48.8584, 2.2945)) == "Paris, Île-de-France, France"
    assert places.label(geo.reverse(48.8584, 2.2945), "zh") == "法国法兰西岛巴黎"
    assert places.label(nyc, "en", district=True) == "New York City (Manhattan), United States"


def test_near_a_city_and_far_from_any(geo):
    gate = geo.reverse(37.8199, -122.4783)  # Golden Gate Bridge: outside San Francisco's reach
    assert gate.kind == "near" and gate.city.en == "San Francisco" and 5 < gate.distance_km < 10
    assert places.label(gate).startswith("near San Francisco (7 km), California")
    assert places.label(gate, "zh") == "美国加利福尼亚州旧金山附近（7公里）"
    atlantic = geo.reverse(30.0, -40.0)
    assert atlantic.kind == "ocean" and atlantic.city is None
    assert places.label(atlantic) == "Atlantic Ocean" and places.label(atlantic, "zh") == "大西洋"
    assert places.label(geo.reverse(0.0, -150.0)) == "Pacific Ocean"
    sahara = geo.reverse(23.0, 12.0)
    assert sahara.kind == "country" and sahara.country_code == "NE" and sahara.distance_km > 60
    assert geo.reverse(-80.0, 0.0).country_code == "AQ"


@pytest.mark.parametrize("lat, lon, status, why", [
    (None, None, None, "no GPS position"),
    (0.0, 0.0, None, "(0, 0)"),
    (95.0, 10.0, None, "outside the range"),
    (10.0, 200.0, None, "outside the range"),
    (float("nan"), 1.0, None, "not a number"),
    (48.85, 2.29, "V", "void"),
])
def test_unusable_gps_is_said_and_never_geocoded(lat, lon, status, why):
    problem = places.usable_gps(lat, lon, status=status)
    assert problem.startswith("no usable GPS") and why in problem
    if lat is not None and status is None:
        with pytest.raises(InvalidArgument, match="no usable GPS"):
            places.reverse(lat, lon)
    assert places.usable_gps(48.85, 2.29, status="A") is None
    assert places.label(None) == "no usable GPS"


def test_tree_lookup_equals_a_brute_force_haversine_scan(geo):
    rng = np.random.default_rng(7)
    lat = np.degrees(np.arcsin(rng.uniform(-0.9, 0.95, 300)))  # uniform on the sphere
    lon = rng.uniform(-180, 180, 300)
    t = geo.table
    for a, b in zip(lat, lon):
        idx, km = geo.nearest(a, b)
        d = haversine_km(a, b, t.lat, t.lon)
        assert idx[0] == int(np.argmin(d)) or math.isclose(d[idx[0]], d.min(), abs_tol=1e-6)
        assert km[0] == pytest.approx(d.min(), abs=1e-3)


def test_the_table_is_cached_and_a_broken_cache_is_rebuilt(geo, tmp_path):
    from ocula.config import get_settings
    from ocula.places import data

    cached = data.cache_path(get_settings().home, data.DEFAULT_MIN_POPULATION)
    assert cached.is_file()
    again = Geocoder(get_settings().home)
    assert again.reverse(31.24, 121.49).city.en == "Shanghai"
    broken = data.cache_path(tmp_path, data.DEFAULT_MIN_POPULATION)
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a zip")
    table = data.load(tmp_path)
    assert len(table) == len(geo.table) and table.names(0) == geo.table.names(0)


# --- time ------------------------------------------------------------------------------

@pytest.mark.parametrize("recorded, why", [
    (None, "no capture time"),
    ("", "no capture time"),
    ("0000:00:00 00:00:00", "left it blank"),
    ("2024:13:01 10:00:00", "impossible"),
    ("2023:02:30 10:00:00", "impossible"),
    ("2000:01:01 00:00:00", "factory default"),
    ("1970:01:01 00:00:00", "factory default"),
    ("1700:05:01 10:00:00", "before photography"),
    ("2999:05:01 10:00:00", "future"),
    ("yesterday", "unreadable"),
])
def test_bad_capture_times_are_unknown_not_used(recorded, why):
    t = time_facts(recorded, "+08:00", zone="Asia/Shanghai", latitude=31.2, file_mtime=1.7e9)
    assert t.known is False and why in t.problem
    assert t.local is None and t.instant is None and t.season is None
    assert t.file_date == "2023-11-14T22:13:20Z"  # shown apart, never as the capture time
    assert places.time_label(t) == "time unknown" and places.time_label(t, "zh") == "时间不详"


def test_time_facts_offset_zone_and_derived_words():
    t = time_facts("2024:05:12 15:20:00", "+08:00", latitude=31.2)
    assert t.known and t.zone_source == "exif" and t.offset == "+08:00"
    assert t.instant == "2024-05-12T07:20:00Z" and t.local == "2024-05-12T15:20:00"
    assert (t.weekday, t.weekday_zh, t.time_of_day, t.time_of_day_zh) == ("Sunday", "星期日", "afternoon", "下午")
    assert (t.season, t.season_zh) == ("spring", "春季")
    assert places.time_label(t) == "Sunday 12 May 2024, afternoon (15:20, UTC+08:00)"
    assert places.time_label(t, "zh") == "2024年5月12日 星期日 下午 15:20（UTC+08:00）"
    paris = time_facts("2024:07:14 22:30:00", zone="Europe/Paris", latitude=48.9)  # summer time
    assert paris.zone_source == "place" and paris.offset == "+02:00" and paris.zone == "Europe/Paris"
    assert (paris.season, paris.time_of_day) == ("summer", "night")
    sydney = time_facts("2024:07:14 07:00:00", zone="Australia/Sydney", latitude=-33.9)
    assert sydney.season == "winter" and sydney.offset == "+10:00" and sydney.time_of_day == "early morning"
    assert time_facts("2024:07:14 12:00:00", latitude=1.3).season is None  # tropics: no four seasons
    unknown = time_facts("2024:01:10 09:00:00")
    assert unknown.known and unknown.zone_source == "unknown" and unknown.offset is None and unknown.instant is None
    assert places.time_label(unknown).endswith("(09:00, local time, zone unknown)")
    assert time_facts("2024:01:01 00:00:00").known  # midnight on New Year of a year no camera defaults to


# --- metadata on photos made here --------------------------------------------------------

_photo = exif_photo


@pytest.mark.parametrize("lat, lon, when, en, zh, offset", [
    (31.2400, 121.4900, "2024:05:12 15:20:00", "Shanghai", "上海", "+08:00"),
    (48.8584, 2.2945, "2024:07:14 21:00:00", "Paris", "巴黎", "+02:00"),
    (40.7580, -73.9855, "2024:01:20 10:00:00", "New York City", "纽约", "-05:00"),
])
def test_metadata_names_the_place_without_coordinates(tmp_path, lat, lon, when, en, zh, offset):
    path = _photo(tmp_path / f"{en}.jpg", lat, lon, when)
    res = metadata(path, place=True)
    assert res.place.city.en == en and res.place.city.zh == zh
    assert res.gps is None and str(round(lat, 2)) not in res.model_dump_json()  # no coordinates
    assert res.time.known and res.time.zone_source == "place" and res.time.offset == offset
    plain = metadata(path)
    assert plain.place is None and plain.gps is None and plain.has_gps
    assert plain.time.known and plain.time.offset is None and plain.time.zone_source == "unknown"
    both = metadata(path, gps=True, place=True)
    assert both.gps.latitude == pytest.approx(lat, abs=1e-4) and both.place.city.en == en


def test_metadata_offset_from_exif_wins_over_the_place(tmp_path):
    path = _photo(tmp_path / "a.jpg", 31.24, 121.49, "2024:05:12 15:20:00", offset="+09:00")
    t = metadata(path, place=True).time
    assert t.zone_source == "exif" and t.offset == "+09:00"


@pytest.mark.parametrize("kwargs, why", [
    (dict(lat=0.0, lon=0.0), "(0, 0)"),
    (dict(lat=48.85, lon=2.29, status="V"), "void"),
    (dict(lat=48.85, lon=2.29, raw_lat=(IFDRational(95, 1), IFDRational(0, 1), IFDRational(0, 1))), "outside"),
    (dict(), "no GPS position"),
])
def test_metadata_bad_gps_is_no_usable_gps(tmp_path, kwargs, why):
    path = _photo(tmp_path / "bad.jpg", when="2000:01:01 00:00:00", **kwargs)
    res = metadata(path, place=True, gps=True)
    assert res.place is None and res.gps is None
    assert res.gps_note.startswith("no usable GPS") and why in res.gps_note
    assert res.time.known is False and "factory default" in res.time.problem  # not dated 2000
    assert res.time.file_date is not None and res.time.local is None


def test_the_photos_gps_reads_back_with_exiftool(tmp_path):
    exiftool = require_program("exiftool")
    path = _photo(tmp_path / "sh.jpg", 31.24, -121.49, "2024:05:12 15:20:00")
    out = subprocess.run([exiftool, "-n", "-GPSLatitude", "-GPSLongitude", "-s3", str(path)],
                         capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) == pytest.approx(31.24, abs=1e-4) and float(out[1]) == pytest.approx(-121.49, abs=1e-4)


def test_analyze_passes_place_through(tmp_path):
    from ocula.tasks.analyze import analyze

    path = _photo(tmp_path / "p.jpg", 48.8584, 2.2945, "2024:07:14 21:00:00")
    facts = analyze(path, steps=["metadata"], place=True)
    assert facts.metadata.place.city.en == "Paris" and facts.metadata.gps is None
    assert analyze(path, steps=["metadata"]).metadata.place is None


# --- moments ---------------------------------------------------------------------------

def _trip(geo):
    shanghai, berlin = geo.reverse(31.24, 121.49), geo.reverse(52.52, 13.40)
    recs = []
    for day in range(3):  # a three-day trip, photos morning to evening
        for h in (0, 3, 6, 10):
            t = datetime(2024, 5, 12, 9, tzinfo=timezone(timedelta(hours=8))) + timedelta(days=day, hours=h)
            recs.append(PhotoRecord(id=f"sh-{day}-{h}", time=t, lat=31.24 + 0.01 * h, lon=121.49, place=shanghai,
                                    score=float(day == 1 and h == 3)))
    for day in range(6):  # evenings at home
        for k in range(5):
            recs.append(PhotoRecord(id=f"be-{day}-{k}", time=datetime(2024, 6, 1 + day, 19) + timedelta(minutes=9 * k),
                                    lat=52.52, lon=13.40, place=berlin))
    return recs


def test_moments_group_a_trip_and_keep_home_evenings_apart(geo):
    moments = group_moments(_trip(geo) + [PhotoRecord(id="undated", time=None)])
    trip = moments[0]
    assert trip.count == 12 and trip.cover == "sh-1-3"  # the best-scored photo
    assert trip.title == "Shanghai, 12–14 May 2024" and trip.title_zh == "上海，2024年5月12日至14日"
    assert trip.place.city.en == "Shanghai"
    assert [m.count for m in moments[1:]] == [5] * 6 and moments[1].title == "Berlin, 1 June 2024"
    assert all("undated" not in m.photos for m in moments)


def test_moments_are_incremental(geo):
    recs = _trip(geo)
    first = group_moments(recs[:10])
    added = group_moments(recs[10:], existing=first)
    full = group_moments(recs)
    assert [(m.photos, m.title, m.cover) for m in added] == [(m.photos, m.title, m.cover) for m in full]
    assert added[0].id == first[0].id  # the trip kept its id as photos joined it


def test_a_flight_starts_a_new_moment(geo):
    t0 = datetime(2024, 5, 12, 8)
    recs = [PhotoRecord(id="a", time=t0, lat=48.85, lon=2.29),
            PhotoRecord(id="b", time=t0 + timedelta(hours=3), lat=51.50, lon=-0.12)]  # Paris, then London
    assert [m.photos for m in group_moments(recs)] == [["a"], ["b"]]
    recs[1] = PhotoRecord(id="b", time=t0 + timedelta(hours=3), lat=48.86, lon=2.35)
    assert [m.photos for m in group_moments(recs)] == [["a", "b"]]


def test_date_ranges():
    d = datetime
    assert date_range(d(2024, 5, 30), d(2024, 6, 2)) == "30 May – 2 June 2024"
    assert date_range(d(2024, 5, 30), d(2024, 6, 2), "zh") == "2024年5月30日至6月2日"
    assert date_range(d(2024, 12, 30), d(2025, 1, 2)) == "30 December 2024 – 2 January 2025"
    assert date_range(d(2024, 12, 30), d(2025, 1, 2), "zh") == "2024年12月30日至2025年1月2日"


# --- writing: describe fills WHERE and WHEN from the facts ----------------------------------

@pytest.fixture(scope="module")
def shanghai(tmp_path_factory):
    folder = tmp_path_factory.mktemp("where-when")
    return _photo(folder / "bund.jpg", 31.2400, 121.4900, "2024:05:12 15:20:00")


@pytest.fixture(scope="module")
def nowhere(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nowhere")
    return _photo(folder / "zero.jpg", 0.0, 0.0, "2000:01:01 00:00:00")


def _describe(path, **kw):
    from ocula.tasks.describe import describe

    return describe(path, steps=["metadata", "colors"], **kw)


@pytest.mark.parametrize("purpose", ["news", "caption", "social", "travel"])
def test_describe_names_the_place_and_date_in_both_languages(shanghai, purpose):
    en = _describe(shanghai, purpose=purpose, language="en")
    zh = _describe(shanghai, purpose=purpose, language="zh")
    assert "Shanghai, China" in en.text and "[WHERE]" not in en.text, en.text
    assert "上海" in zh.text and "[地点]" not in zh.text, zh.text
    assert "12 May 2024" in en.text and "2024年5月12日" in zh.text
    assert en.facts.metadata.place.city.en == "Shanghai" and en.facts.metadata.gps is None  # no coordinates
    assert "31.24" not in en.model_dump_json() and "121.49" not in zh.model_dump_json()


def test_news_in_chinese_says_shanghai_and_the_date(shanghai):
    d = _describe(shanghai, purpose="news", language="zh")
    assert d.text.startswith("图为2024年5月12日在中国上海"), d.text


def test_travel_post_says_time_of_day_and_season(shanghai):
    en = _describe(shanghai, purpose="travel", language="en")
    zh = _describe(shanghai, purpose="travel", language="zh")
    assert "spring afternoon" in en.text and "Sunday 12 May 2024" in en.text, en.text
    assert "下午" in zh.text and "春季" in zh.text and "星期日" in zh.text, zh.text
    assert "#Shanghai" in en.hashtags and "#上海" in zh.hashtags


@pytest.mark.parametrize("purpose", ["news", "travel"])
def test_no_usable_gps_keeps_the_placeholder_and_a_default_clock_gives_no_date(nowhere, purpose):
    for lang, where in (("en", "[WHERE]"), ("zh", "[地点]")):
        d = _describe(nowhere, purpose=purpose, language=lang)
        assert where in d.text and "2000" not in d.text and "Ocean" not in d.text and "Guinea" not in d.text, d.text
    assert "[WHEN]" in _describe(nowhere, purpose="news", language="en").text
    caption = _describe(nowhere, purpose="caption", length="long")
    assert "2000" not in caption.text and "Taken with an ocula test camera" in caption.text


def test_context_overrides_the_place_and_no_place_keeps_the_placeholder(shanghai):
    d = _describe(shanghai, purpose="news", context="where: Lisbon; when: 3 May 2024")
    assert "Lisbon" in d.text and "Shanghai" not in d.text and "3 May 2024" in d.text, d.text
    travel = _describe(shanghai, purpose="travel", context="where: Sintra")
    assert "Sintra" in travel.text and "Shanghai" not in travel.text, travel.text
    hidden = _describe(shanghai, purpose="news", place=False)
    assert "[WHERE]" in hidden.text and "Shanghai" not in hidden.model_dump_json(), hidden.text
    assert "12 May 2024" in hidden.text  # the date is not the location
    facts = _describe(shanghai, purpose="alt").facts
    assert "Shanghai" not in _describe(shanghai, facts=facts, purpose="news", place=False).text


def test_llm_writers_get_the_same_grounded_place_and_time(shanghai, nowhere):
    import json

    from ocula.writing import llm, validate
    from ocula.writing.base import DescribeRequest, Draft

    facts = _describe(shanghai, purpose="alt").facts
    data = json.loads(llm.facts_json(facts))
    assert data["place"] == {"en": "Shanghai, China", "zh": "中国上海"}
    assert data["time"]["season"] == "spring" and data["exif"]["date"] == "2024-05-12T15:20:00+08:00"
    assert "31.24" not in llm.facts_json(facts)
    bad = json.loads(llm.facts_json(_describe(nowhere, purpose="alt").facts))
    assert "place" not in bad and "date" not in bad.get("exif", {}) and "time" not in bad
    for purpose in ("news", "travel"):
        prompt = llm.system_prompt(DescribeRequest(purpose=purpose), vision=False)
        assert '"place"' in prompt and "[WHERE]" in prompt
    assert llm.json_schema("travel")["required"] == ["text", "hashtags"]

    req = DescribeRequest(purpose="news")
    ok = Draft(text="A photo taken in Shanghai, China on 12 May 2024.", confidence=0.5)
    assert validate.check_draft(ok, facts, req) == []
    no_place = _describe(nowhere, purpose="alt").facts
    problems = validate.check_draft(ok, no_place, req)
    assert any("Shanghai" in p for p in problems) and any("[WHERE]" in p for p in problems)
    assert any("year 2024" in p for p in problems)  # the default clock gives no date to check against
    travel = DescribeRequest(purpose="travel", language="zh")
    assert validate.check_draft(Draft(text="中国上海，一张以蓝色为主的图片。", confidence=0.5), facts, travel) == []
    assert validate.check_draft(Draft(text="一张以蓝色为主的图片。", confidence=0.5), no_place, travel)


def test_captioner_draft_uses_the_place(shanghai, nowhere):
    from ocula.backends.captioner import Caption
    from ocula.writing.base import DescribeRequest
    from ocula.writing.captioner import caption_draft

    cap = Caption(text="a tall tower by a river", tokens=6, score=0.8, model="test")
    facts = _describe(shanghai, purpose="alt").facts
    news = caption_draft(cap, facts, DescribeRequest(purpose="news"))
    assert "in Shanghai, China" in news.text and "2024-05-12" in news.text and "[WHERE]" not in news.text
    travel = caption_draft(cap, facts, DescribeRequest(purpose="travel"))
    assert "Shanghai, China" in travel.text and "#Shanghai" in travel.hashtags
    none = caption_draft(cap, _describe(nowhere, purpose="alt").facts, DescribeRequest(purpose="news"))
    assert "[WHERE]" in none.text and "2000" not in none.text


# --- metadata out: IPTC location and DateCreated in XMP --------------------------------------

def _exiftool(path, *tags) -> dict:
    import json

    out = subprocess.run([require_program("exiftool"), "-j", "-G1", *tags, str(path)], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)[0]


def _cli(*args, cwd=None):
    import sys
    from pathlib import Path

    ocula = Path(sys.executable).parent / "ocula"
    return subprocess.run([str(ocula), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")})


def test_write_xmp_location_reads_back_with_exiftool_and_a_persons_stays(tmp_path):
    photo = _photo(tmp_path / "bund.jpg", 31.2400, 121.4900, "2024:05:12 15:20:00")
    r = _cli("describe", photo, "--purpose", "news", "--steps", "metadata", "--write-xmp")
    assert r.returncode == 0, r.stderr
    tags = _exiftool(tmp_path / "bund.jpg.xmp")
    assert tags["XMP-photoshop:City"] == "Shanghai" and tags["XMP-photoshop:Country"] == "China"
    assert tags["XMP-iptcCore:CountryCode"] == "CN" and tags["XMP-iptcExt:LocationShownCity"] == "Shanghai"
    assert tags["XMP-iptcExt:LocationCreatedCountryName"] == "China"
    assert tags["XMP-photoshop:DateCreated"] == "2024:05:12 15:20:00+08:00"
    assert not any("GPS" in k for k in tags)  # the place, not the coordinates
    # a person corrects the city: ocula keeps it (and says so), --overwrite replaces it
    subprocess.run([require_program("exiftool"), "-q", "-overwrite_original", "-XMP-photoshop:City=Huangpu",
                    str(tmp_path / "bund.jpg.xmp")], check=True)
    r = _cli("describe", photo, "--purpose", "caption", "--steps", "metadata", "--write-xmp")
    assert r.returncode == 0 and "kept the location a person wrote" in r.stderr, r.stderr
    assert _exiftool(tmp_path / "bund.jpg.xmp")["XMP-photoshop:City"] == "Huangpu"
    r = _cli("describe", photo, "--purpose", "caption", "--steps", "metadata", "--write-xmp", "--overwrite")
    assert r.returncode == 0 and _exiftool(tmp_path / "bund.jpg.xmp")["XMP-photoshop:City"] == "Shanghai"


def test_no_gps_writes_no_location_and_an_unknown_time_no_date(tmp_path):
    photo = _photo(tmp_path / "zero.jpg", 0.0, 0.0, "2000:01:01 00:00:00")
    r = _cli("describe", photo, "--purpose", "news", "--steps", "metadata", "--write-xmp", "--language", "zh")
    assert r.returncode == 0, r.stderr
    tags = _exiftool(tmp_path / "zero.jpg.xmp")
    assert "[地点]" in tags["XMP-dc:Description"]
    assert not any(k.startswith(("XMP-photoshop", "XMP-iptcExt")) for k in tags), tags


def test_embedded_location_goes_with_strip(tmp_path):
    photo = _photo(tmp_path / "paris.jpg", 48.8584, 2.2945, "2024:07:14 21:00:00")
    r = _cli("describe", photo, "--purpose", "travel", "--language", "zh", "--steps", "metadata", "--embed")
    assert r.returncode == 0, r.stderr
    tags = _exiftool(photo)
    assert tags["XMP-photoshop:City"] == "巴黎" and tags["XMP-photoshop:DateCreated"] == "2024:07:14 21:00:00+02:00"
    out = tmp_path / "clean.jpg"
    r = _cli("strip", photo, "-o", out)
    assert r.returncode == 0, r.stderr
    left = _exiftool(out)
    assert not any(k.startswith(("XMP", "EXIF:GPS", "IPTC")) for k in left), left
