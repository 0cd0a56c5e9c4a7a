"""People in the index, with the real detector and dlib on the licensed photos: faces stored and
grouped by `index`, no face work for unchanged files, naming (one face, --box, a person id),
refusals of the issue's "Bad input", what a person said surviving edited files and later runs,
--no-people, copies and deletions, a damaged face table, regrouping after a threshold change,
search by person, forgetting one person, XMP export read back by exiftool."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import exif_photo, require_program
from people_helpers import PHOTOS, altered, copy, lightroom_sidecar, obama_three_times, resave, side_by_side

pytest.importorskip("dlib", reason="dlib-bin is not installed (pip install dlib-bin)")

from ocula.backends import dlib_face  # noqa: E402
from ocula.config import load_settings  # noqa: E402
from ocula.errors import InvalidArgument, OculaError  # noqa: E402
from ocula.index import open_store  # noqa: E402
from ocula.tasks import _people  # noqa: E402
from ocula.tasks.index import index  # noqa: E402
from ocula.tasks.people import people  # noqa: E402
from ocula.tasks.people_export import people_export  # noqa: E402
from ocula.tasks.people_forget import people_forget  # noqa: E402
from ocula.tasks.people_merge import people_merge  # noqa: E402
from ocula.tasks.people_name import people_name  # noqa: E402
from ocula.tasks.people_show import people_show  # noqa: E402
from ocula.tasks.people_split import people_split  # noqa: E402
from ocula.tasks.search import search  # noqa: E402
from ocula.tasks.who import who  # noqa: E402

STEPS = ["faces", "classify"]  # enough for people; keeps the runs short


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Obama three times (a person appears), Hopper twice, a pair photo (Hopper and Collins),
    a photo without a face; indexed once, the db copied per test."""
    root = tmp_path_factory.mktemp("people-base")
    f = root / "photos"
    obama_three_times(f)
    copy("collins", f / "collins.jpg")
    side_by_side(f / "pair.jpg", "miranda", "collins")
    copy("coffee", f / "coffee.jpg")
    report = index([f], db=root / "base.db", steps=STEPS)
    assert report.analysed == 7 and not report.failed
    return f, root / "base.db", report


@pytest.fixture
def db(base, tmp_path):
    out = tmp_path / "index.db"
    shutil.copy(base[1], out)
    return out


def test_index_stores_faces_and_groups_them(base):
    folder, path, report = base
    assert report.faces == 7 and report.new_people == 1
    listed = people(db=path)
    assert len(listed.people) == 1 and listed.faces == 7 and listed.unknown == 4
    obama = listed.people[0]
    assert obama.name is None and obama.faces == 3 and not obama.confirmed
    shown = people_show(obama.id, db=path)
    assert sorted(Path(p.path).name for p in shown.photos) == ["obama-darker.jpg", "obama.jpg", "obama_small.jpg"]
    with open_store(path) as store:
        stored = store.stored_faces()
        assert stored.vectors.shape == (7, 128) and stored.grouped.all() and not stored.damaged
        assert store.unscanned_faces(_people.MODEL) == []  # the face-less coffee was scanned too
        assert store.get_meta("people.grouping") == _people.GROUPING


def test_unchanged_files_do_no_face_work(base, db, monkeypatch):
    def no(*a, **k):
        raise AssertionError("face work on an unchanged index")
    monkeypatch.setattr(dlib_face, "embed", no)
    monkeypatch.setattr(dlib_face, "align", no)
    report = index([base[0]], db=db, steps=STEPS)
    assert report.unchanged == 7 and report.faces == 0 and report.new_people == 0


def test_naming_a_face_names_its_group_and_search_finds_them(base, db):
    folder = base[0]
    r = people_name(folder / "obama_small.jpg", "Barack Obama", db=db)
    assert r.person.name == "Barack Obama" and r.person.faces == 3 and r.person.confirmed and r.moved_from is None
    hits = search(person="barack OBAMA", db=db, top_k=10)
    assert hits.mode == "person" and {Path(h.path).name for h in hits.hits} == \
        {"obama.jpg", "obama_small.jpg", "obama-darker.jpg"}
    assert Path(hits.hits[0].path).name == "obama_small.jpg"  # the face a person named first
    # words that are a name: the person's photos first
    r = search("Barack Obama", db=db, top_k=5)
    assert {Path(h.path).name for h in r.hits[:3]} == {"obama.jpg", "obama_small.jpg", "obama-darker.jpg"}
    assert r.hits[0].ranks.get("people") == 1 and "people" in r.lists
    # a person filter with words
    r = search("a man in a suit", person="Barack Obama", db=db)
    assert r.hits and all("obama" in Path(h.path).name for h in r.hits)


def test_bad_input_is_one_line(base, db):
    folder = base[0]

    def one_line(fn, *a, **k) -> str:
        with pytest.raises(InvalidArgument) as e:
            fn(*a, **k)
        msg = str(e.value)
        assert "\n" not in msg
        return msg

    msg = one_line(people_name, folder / "pair.jpg", "Someone", db=db)
    assert msg.startswith("2 faces were found in pair.jpg; pick one with --box x,y,w,h:")
    assert "(left)" in msg and "(right)" in msg
    box = msg.split(": ", 1)[1].split(" (left)")[0]
    r = people_name(folder / "pair.jpg", "Lin-Manuel Miranda", box=box, db=db)
    assert r.person.name == "Lin-Manuel Miranda" and r.face is not None
    assert "no face of pair.jpg is under the box 1,1,5,5" in one_line(people_name, folder / "pair.jpg", "X",
                                                                        box="1,1,5,5", db=db)
    assert "a box is x,y,w,h" in one_line(people_name, folder / "pair.jpg", "X", box="left", db=db)
    assert one_line(people_name, folder / "coffee.jpg", "X", db=db) == \
        "no face was found in coffee.jpg, so there is nothing to name"
    assert "is not in the index" in one_line(people_name, base[1], "X", db=db)  # a file, but not an indexed image
    assert "no such image file" in one_line(people_name, folder / "nobody.jpg", "X", db=db)
    msg = one_line(people_name, 99, "X", db=db)
    assert msg.startswith("no person with id 99; nearest ids:")
    assert one_line(people_name, folder / "hopper.jpg", "   ", db=db).startswith("give a name")
    assert "no person named 'Lin Manuel'" in one_line(people_show, "Lin Manuel", db=db)
    assert "Lin-Manuel Miranda" in one_line(people_show, "Lin Manuel", db=db)
    assert "same person already" in one_line(people_merge, "Lin-Manuel Miranda", "lin-manuel miranda", db=db)


def test_naming_never_renames_another_person(base, db):
    folder = base[0]
    hopper = people_name(folder / "hopper.jpg", "Grace Hopper", db=db).person
    obama = next(p for p in people(db=db).people if p.name is None)
    with pytest.raises(InvalidArgument, match=rf"'Grace Hopper' is the name of person {hopper.id} already; "
                                              rf"if they are one person: ocula people merge {hopper.id} {obama.id}"):
        people_name(obama.id, "grace hopper", db=db)
    r = people_name(obama.id, "Barack", db=db)
    assert r.person.name == "Barack" and r.previous is None
    r = people_name(obama.id, "Barack Obama", db=db)
    assert r.previous == "Barack" and r.person.aliases == ["Barack"]
    assert people_show("barack", db=db).person.id == obama.id  # the old name still finds him
    r = people_name(obama.id, "奥巴马", alias=True, db=db)
    assert r.person.name == "Barack Obama" and "奥巴马" in r.person.aliases
    assert {Path(h.path).name for h in search("奥巴马", db=db, top_k=3).hits} >= {"obama.jpg"}
    # naming a face that another person holds moves that face only, and says so
    r = people_name(folder / "obama.jpg", "Grace Hopper", db=db)
    assert r.moved_from == obama.id and r.person.id == hopper.id
    assert people_show(obama.id, db=db).person.faces == 2


def test_what_a_person_said_survives_edits_and_later_runs(tmp_path):
    f = tmp_path / "photos"
    for name in ("obama", "obama_small", "hopper"):
        copy(name, f / f"{name}.jpg")
    altered(f / "obama.jpg", f / "obama-darker.jpg", "darker")
    altered(f / "hopper.jpg", f / "hopper-mirror.jpg", "mirror")
    db = tmp_path / "i.db"
    index([f], db=db, steps=STEPS)
    obama = people_name(f / "obama.jpg", "Barack Obama", db=db).person
    hopper = people_name(f / "hopper.jpg", "Grace Hopper", db=db).person
    assert people_show("Grace Hopper", db=db).person.faces == 2  # the mirrored copy joined
    # "not this person" for the darker copy; the mirror of Hopper wrongly named Obama by hand
    people_split("Barack Obama", f / "obama-darker.jpg", db=db)
    people_name(f / "hopper-mirror.jpg", "Barack Obama", db=db)
    before = {p.name: p.faces for p in people(db=db).people}
    assert before == {"Barack Obama": 3, "Grace Hopper": 1}

    time.sleep(0.01)
    for name in ("obama.jpg", "obama-darker.jpg", "hopper-mirror.jpg", "hopper.jpg"):
        resave(f / name)  # new bytes: re-detected, re-embedded
    report = index([f], db=db, steps=STEPS)
    assert report.analysed == 4 and report.faces == 4
    after = {p.name: p.faces for p in people(db=db).people}
    assert after == before
    darker = next(p for p in people_show("Barack Obama", db=db).photos if p.path.endswith("obama_small.jpg"))
    assert darker is not None
    assert not any(p.path.endswith("obama-darker.jpg") for p in people_show("Barack Obama", db=db).photos)
    mirror = next(p for p in people_show("Barack Obama", db=db).photos if p.path.endswith("hopper-mirror.jpg"))
    assert mirror.locked
    # a merge survives too
    people_merge(obama.id, hopper.id, db=db)
    index([f], db=db, steps=STEPS)
    assert [(p.name, p.faces) for p in people(db=db).people] == [("Barack Obama", 4)]


def test_no_people_computes_no_embedding_and_catches_up_later(tmp_path, monkeypatch):
    f = tmp_path / "photos"
    copy("hopper", f / "hopper.jpg")
    copy("collins", f / "collins.jpg")
    db = tmp_path / "i.db"
    real = dlib_face.embed

    def no(*a, **k):
        raise AssertionError("an embedding was computed with people off")
    monkeypatch.setattr(dlib_face, "embed", no)
    r = index([f], db=db, steps=STEPS, people=False)
    assert r.analysed == 2 and r.faces == 0
    off = load_settings(people=False)
    r = index([f], db=db, steps=STEPS, settings=off)  # OCULA_PEOPLE=0
    assert r.faces == 0
    with open_store(db) as store:
        assert store.stats()["faces"] == 0
    # not installed: one line, and the rest of the index works
    monkeypatch.setattr(dlib_face, "is_available", lambda: False)
    r = index([f], db=db, steps=STEPS)
    assert r.faces == 0 and len(r.warnings) == 1 and "pip install dlib-bin" in r.warnings[0]
    monkeypatch.undo()
    r = index([f], db=db, steps=STEPS)
    assert r.unchanged == 2 and r.faces == 2  # caught up without re-analysing
    assert people(db=db).faces == 2


_PEOPLE_TABLES = ("people", "person_aliases", "faces", "face_rejections", "face_scans", "image_names")


def _schema(db: Path) -> set[tuple[str, str]]:
    """Tables and indexes, and the columns of images."""
    with sqlite3.connect(db) as con:
        return {(t, n) for t, n in con.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                                               "AND name NOT LIKE 'fts_%'")} | \
            {("column", r[1]) for r in con.execute("PRAGMA table_info(images)")}


def test_an_index_made_before_people_gets_the_face_tables(tmp_path):
    """An index made before people (schema 2: places, capture times and moments) upgrades to the
    people schema: what it held stays (rows, places, moments, searches), and the next run finds
    the faces of the photos indexed before without analysing them again."""
    from ocula.index.store import MIGRATIONS, PEOPLE_MIGRATION, SCHEMA_VERSION, _statements

    # people come after places (and videos after people): an old index upgrades through 3 and 4
    assert PEOPLE_MIGRATION == 2 and SCHEMA_VERSION == 4
    f = tmp_path / "photos"
    f.mkdir()
    exif_photo(f / "hopper.jpg", 31.24, 121.49, "2024:05:12 15:20:00", size=(512, 600), picture=PHOTOS["hopper"])
    exif_photo(f / "bund.jpg", 31.24, 121.49, "2024:05:12 15:40:00")
    db = tmp_path / "old.db"
    first = index([f], db=db, steps=STEPS, people=False)
    assert first.analysed == 2 and first.faces == 0 and first.moments == 1
    # back to the schema of an index made before people: their tables and the video columns gone,
    # user_version 2
    with sqlite3.connect(db) as con:
        for table in _PEOPLE_TABLES:
            con.execute(f"DROP TABLE {table}")
        con.execute("DROP INDEX images_parent")
        for column in ("media", "parent", "at"):
            con.execute(f"ALTER TABLE images DROP COLUMN {column}")
        con.execute("PRAGMA user_version = 2")
    reference = tmp_path / "schema2.db"
    with sqlite3.connect(reference) as con:
        for step in MIGRATIONS[:2]:
            for stmt in _statements(step):
                con.execute(stmt)
    assert _schema(db) == _schema(reference)  # exactly what migrations 1 and 2 make

    report = index([f], db=db, steps=STEPS)
    assert report.unchanged == 2 and report.analysed == 0 and report.places_read == 0
    assert report.faces == 1 and not report.failed
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert set(_PEOPLE_TABLES) <= tables and {"place_names", "moments", "moment_photos"} <= tables
    with open_store(db) as store:
        s = store.stats()
        assert (s["schema_version"], s["images"], s["with_place"], s["with_gps"], s["moments"]) == (4, 2, 2, 2, 1)
        assert s["videos"] == s["frames"] == 0
        assert s["faces"] == 1
    hopper = people_name(f / "hopper.jpg", "Grace Hopper", db=db).person
    assert hopper.faces == 1
    # places, dates and people in one search
    assert [Path(h.path).name for h in search("上海 2024", person="Grace Hopper", db=db).hits] == ["hopper.jpg"]
    assert {Path(h.path).name for h in search("上海", db=db).hits} == {"hopper.jpg", "bund.jpg"}
    assert [Path(h.path).name for h in search("Grace Hopper", db=db).hits][0] == "hopper.jpg"


def test_copies_and_deletions(tmp_path):
    f = tmp_path / "photos"
    copy("hopper", f / "hopper.jpg")
    copy("collins", f / "collins.jpg")
    db = tmp_path / "i.db"
    index([f], db=db, steps=STEPS)
    people_name(f / "hopper.jpg", "Grace Hopper", db=db)
    shutil.copy(f / "hopper.jpg", f / "hopper-copy.jpg")
    r = index([f], db=db, steps=STEPS)
    assert r.copied == 1 and r.faces == 0
    assert {Path(h.path).name for h in search(person="Grace Hopper", db=db).hits} == {"hopper.jpg", "hopper-copy.jpg"}
    (f / "hopper.jpg").unlink()
    (f / "hopper-copy.jpg").unlink()
    r = index([f], db=db, steps=STEPS)
    assert r.removed == 2
    hopper = people_show("Grace Hopper", db=db)  # a named person stays, with no face
    assert hopper.person.faces == 0 and hopper.photos == []
    assert search(person="Grace Hopper", db=db).hits == []


def test_damaged_face_table_is_reported_not_crashed_on(base, db, samples):
    con = sqlite3.connect(db)
    con.execute("UPDATE faces SET embedding = x'0011' WHERE id = 1")
    con.commit()
    con.close()
    listed = people(db=db)
    assert listed.warnings and "damaged embedding" in listed.warnings[0] and "forget" in listed.warnings[0]
    w = who(samples / "grace_hopper.jpg", db=db)
    assert len(w.faces) == 1 and w.warnings
    con = sqlite3.connect(db)
    con.execute("PRAGMA foreign_keys = OFF")
    con.execute("DROP TABLE face_rejections")
    con.commit()
    con.close()
    with pytest.raises(OculaError) as e:
        people(db=db)
    assert "cannot be read" in str(e.value) and "ocula people forget" in str(e.value) and "\n" not in str(e.value)
    # forget erases what is left and makes the tables again; the next run finds the faces again
    report = people_forget(db=db)
    assert report.faces == 7 and report.people == 1
    assert people(db=db).people == []
    assert index([base[0]], db=db, steps=STEPS).faces == 7


def test_regrouping_after_a_threshold_change_keeps_names(base, db):
    people_name(base[0] / "hopper.jpg", "Grace Hopper", db=db)
    before = {p.id: (p.name, p.faces) for p in people(db=db).people}
    with open_store(db) as store:
        with store.transaction():
            store.set_meta("people.grouping", "dlib-resnet-face-v1/t0.6/e0.5/m3")
        assert _people.group(store) == 0
        assert store.get_meta("people.grouping") == _people.GROUPING
    assert {p.id: (p.name, p.faces) for p in people(db=db).people} == before


def test_who_says_why_a_face_is_unknown(base, db, samples):
    w = who(samples / "grace_hopper.jpg", db=db)
    face = w.faces[0]
    assert face.person is None and face.nearest is not None and face.note == "no person within 0.5"
    people_name(base[0] / "hopper.jpg", "Grace Hopper", db=db)
    w = who(samples / "grace_hopper.jpg", db=db)
    assert w.names == ["Grace Hopper"] and w.faces[0].distance < 0.2
    empty = tmp_db = db.parent / "empty.db"
    index([base[0] / "coffee.jpg"], db=empty, steps=STEPS)
    assert who(samples / "grace_hopper.jpg", db=tmp_db).faces[0].note == "no people in the index yet"
    with pytest.raises(OculaError, match="switched off"):
        who(samples / "grace_hopper.jpg", db=db, settings=load_settings(people=False))


def test_forget_one_person_keeps_the_others(base, db):
    people_name(base[0] / "hopper.jpg", "Grace Hopper", db=db)
    obama = next(p for p in people(db=db).people if p.name is None)
    with open_store(db) as store:
        theirs = [f.id for f in store.person_faces(obama.id)]
        gone = [e for i, e in zip(store.stored_faces().ids, store.stored_faces().vectors) if i in theirs]
    report = people_forget(obama.id, db=db)
    assert report.faces == 3 and report.people == 1 and report.wal_emptied
    listed = people(db=db)
    assert [p.name for p in listed.people] == ["Grace Hopper"] and listed.faces == 4
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))
    assert not any(v.tobytes() in raw for v in gone)
    # the forgotten faces are not found again while their photos are unchanged
    assert index([base[0]], db=db, steps=STEPS).faces == 0


def test_export_writes_regions_exiftool_reads_and_keeps_a_persons_region(base, db, tmp_path):
    exiftool = require_program("exiftool")
    with pytest.raises(InvalidArgument, match="--xmp"):
        people_export(db=db)
    f = tmp_path / "photos"
    copy("hopper", f / "hopper.jpg")
    pair = side_by_side(f / "pair.jpg", "hopper", "collins")
    index([f], db=tmp_path / "x.db", steps=STEPS)
    x = tmp_path / "x.db"
    people_name(f / "hopper.jpg", "Grace Hopper", db=x)  # the pair's Hopper joins
    faces = open_store(x).faces_of([open_store(x).image_id(str(pair))])
    collins_box = max(next(iter(faces.values())), key=lambda fc: fc.box[0]).box
    lightroom_sidecar(pair, [("Eileen Collins", collins_box)])  # a person named the other face in Lightroom
    people_name(pair, "Eileen M. Collins", box=",".join(map(str, collins_box)), db=x)
    report = people_export(xmp=True, db=x)
    assert report.images == 2 and report.written == 2 and not report.failed
    by_name = {Path(o.path).name: o for o in report.files}
    assert by_name["pair.xmp"].names == ["Grace Hopper"] and by_name["pair.xmp"].kept == ["Eileen Collins"]
    out = subprocess.run([exiftool, "-j", "-XMP-mwg-rs:RegionName", "-XMP-iptcExt:PersonInImage",
                          str(f / "pair.xmp")], capture_output=True, text=True, check=True).stdout
    assert "Grace Hopper" in out and "Eileen Collins" in out and "Eileen M. Collins" not in out
    out = subprocess.run([exiftool, "-j", "-XMP-mwg-rs:RegionName", str(f / "hopper.jpg.xmp")],
                         capture_output=True, text=True, check=True).stdout
    assert "Grace Hopper" in out
    again = people_export(xmp=True, db=x)
    assert again.written == 0 and again.unchanged == 2
