"""Both index stores (SQLite + vector files, PostgreSQL + pgvector) against the same assertions:
what the index, search and dupes tasks ask of an ``IndexStore``. The PostgreSQL one runs on a
real server (pgserver, as `ocula db start` starts it)."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from ocula.errors import InvalidArgument, OculaError
from ocula.index import open_store
from ocula.index.base import Filters

from pg_helpers import new_db, pg_server, pg_url  # noqa: F401  (fixtures)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "index.db")
    return request.getfixturevalue("new_db")()


def _row(path: str, hash_: str, **kw) -> dict:
    row = dict(path=path, size=100, mtime_ns=1, hash=hash_, width=640, height=480, taken="2024-05-01T10:00:00",
               has_text=0, faces=0, quality=2, phash=-123456789, analysis="{}", ocr="", description="",
               tags_en="", tags_zh="", labels="", steps="classify", indexed_at=time.time())
    row.update(kw)
    return row


def _unit(rng, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def filled(db):
    """Three images with words in English and Chinese and vectors of two kinds."""
    rng = np.random.default_rng(0)
    vecs = _unit(rng, 3, 32)
    store = open_store(db, create=True)
    with store.transaction():
        ids = [store.upsert_image(_row("/p/cat.jpg", "h-cat", description="a tabby cat sleeping on a sofa",
                                       tags_en="cat, sofa", tags_zh="猫、沙发", labels="tabby cat 虎斑猫")),
               store.upsert_image(_row("/p/trip/sign.png", "h-sign", ocr="图书馆 PARKING Café", has_text=1,
                                       description="a sign", tags_en="sign", quality=0, taken="2023-01-02")),
               store.upsert_image(_row("/p/coffee.jpg", "h-coffee", description="a cup of coffee",
                                       tags_en="coffee, cup", tags_zh="咖啡", faces=1))]
        for i, v in zip(ids, vecs):
            store.put_vector(i, "text", "e5", v)
            store.put_vector(i, "image", "eff", np.resize(v, 48) / np.linalg.norm(np.resize(v, 48)))
    store.sync()
    yield store, ids, vecs
    store.close()


def test_words_match_in_any_language_every_cjk_character_a_token(filled):
    store, (cat, sign, coffee), _ = filled
    none = Filters()
    assert store.text_search("猫", 10, none) == [cat]
    assert store.text_search("cat", 10, none) == [cat]
    assert store.text_search("书馆", 10, none) == [sign]      # two characters inside a word: a phrase
    assert store.text_search("馆书", 10, none) == []          # not in that order
    assert store.text_search("parking", 10, none) == [sign]
    assert store.text_search("cafe", 10, none) == [sign]      # diacritics removed
    assert set(store.text_search("咖啡 cat", 10, none)) == {cat, coffee}  # words OR-ed
    assert store.text_search("zebra", 10, none) == []
    assert store.text_search("  ", 10, none) == []
    assert store.text_search('"; DROP TABLE images; --', 10, none) == []
    assert store.count() == 3


def test_the_words_printed_in_an_image_weigh_more_than_its_tags(filled):
    store, *_ = filled
    with store.transaction():
        tagged = store.upsert_image(_row("/p/tagged.jpg", "h-tagged", tags_en="bus stop"))
        printed = store.upsert_image(_row("/p/printed.jpg", "h-printed", ocr="bus stop"))
    assert store.text_search("bus", 10, Filters()) == [printed, tagged]


def test_filters(filled):
    store, (cat, sign, coffee), _ = filled
    assert store.filter_ids(Filters()) == (None, 3)
    ids, n = store.filter_ids(Filters(has_text=True))
    assert list(ids) == [sign] and n == 1
    assert list(store.filter_ids(Filters(faces=True))[0]) == [coffee]
    assert list(store.filter_ids(Filters(min_quality=1))[0]) == [cat, coffee]
    assert list(store.filter_ids(Filters(folder="/p/trip"))[0]) == [sign]
    assert list(store.filter_ids(Filters(folder="/p/tri"))[0]) == []
    assert list(store.filter_ids(Filters(after="2024"))[0]) == [cat, coffee]
    assert list(store.filter_ids(Filters(before="2024"))[0]) == [sign]
    assert store.text_search("a", 10, Filters(has_text=True)) == [sign]


def test_nearest_cosines_best_first_with_and_without_allowed_ids(filled):
    store, ids, vecs = filled
    got, sims = store.nearest("text", vecs[1], 3)
    assert list(got) == [ids[1]] + sorted(ids[::2], key=lambda i: -float(vecs[ids.index(i)] @ vecs[1]))
    assert sims[0] == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(sims, [float(vecs[ids.index(i)] @ vecs[1]) for i in got], atol=1e-5)
    got, _ = store.nearest("text", vecs[1], 3, allowed=np.array([ids[0], ids[2]]))
    assert set(got) == {ids[0], ids[2]}
    assert len(store.nearest("text", vecs[1], 3, allowed=np.array([], np.int64))[0]) == 0
    assert len(store.nearest("clip", vecs[1], 3)[0]) == 0
    assert store.has_vectors("text") and store.has_vectors("text", "e5") and not store.has_vectors("text", "e6")
    got, mat, model = store.vectors("image")
    assert list(got) == ids and mat.shape == (3, 48) and model == "eff"


def test_copies_moves_errors_and_deletes(filled):
    store, (cat, sign, coffee), vecs = filled
    with store.transaction():
        copy = store.copy_image(cat, "/q/cat-copy.jpg", 100, 2, time.time())
        store.move_image(coffee, "/q/coffee.jpg", 100, 3)
        store.record_error("/q/bad.jpg", 5, 6, "not an image", time.time())
    assert copy not in (cat, sign, coffee)
    assert store.text_search("猫", 10, Filters()) in ([cat, copy], [copy, cat])
    assert np.allclose(store.vectors("text", [copy])[1][0], vecs[0], atol=1e-6)
    known = store.known()
    assert set(known) == {"/p/cat.jpg", "/p/trip/sign.png", "/q/coffee.jpg", "/q/cat-copy.jpg"}
    assert known["/q/cat-copy.jpg"].hash == "h-cat" and known["/q/coffee.jpg"].id == coffee
    assert store.ids_by_hash(["h-cat", "h-none"]) in ({"h-cat": cat}, {"h-cat": copy})
    assert store.known_errors() == {"/q/bad.jpg": (5, 6)}
    assert store.path_of(coffee) == "/q/coffee.jpg" and store.path_of(10**9) is None
    # a good image that turns bad leaves the index; an image indexed again clears its error
    with store.transaction():
        store.record_error("/p/cat.jpg", 1, 1, "truncated", time.time())
        store.upsert_image(_row("/q/bad.jpg", "h-bad"))
    assert "/p/cat.jpg" not in store.known() and set(store.known_errors()) == {"/p/cat.jpg"}
    with store.transaction():
        assert store.delete_images([sign]) == 1
        store.delete_errors(["/p/cat.jpg"])
    store.sync()
    assert store.known_errors() == {}
    assert sign not in store.vectors("text")[0]
    assert store.text_search("parking", 10, Filters()) == []
    hits = store.hits([copy])
    assert hits[copy].path == "/q/cat-copy.jpg" and hits[copy].width == 640 and "tabby" in hits[copy].description
    rows = store.dupe_rows()
    assert [r.path for r in rows] == sorted(r.path for r in rows) and rows[0].phash == -123456789


def test_a_batch_lands_whole_or_not_at_all(filled):
    store, ids, _ = filled
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.upsert_image(_row("/p/new.jpg", "h-new"))
            raise RuntimeError("crash mid-batch")
    assert "/p/new.jpg" not in store.known() and store.count() == 3


def test_upserts_keep_the_id_and_replace_the_words(filled):
    store, (cat, sign, coffee), _ = filled
    with store.transaction():
        again = store.upsert_image(_row("/p/cat.jpg", "h-cat2", description="a dog", tags_zh="狗"))
    assert again == cat and store.count() == 3
    assert store.text_search("狗", 10, Filters()) == [cat] and store.text_search("猫", 10, Filters()) == []


def test_a_new_embedding_model_replaces_the_old_vectors(filled):
    store, ids, vecs = filled
    assert store.missing_vectors("text", "e5-v2") == [(i, p) for i, p in
                                                     sorted((k.id, p) for p, k in store.known().items())]
    new = _unit(np.random.default_rng(1), 3, 16)
    with store.transaction():
        store.put_vectors("text", "e5-v2", ids, new)
    store.sync()
    got, mat, model = store.vectors("text")
    assert model == "e5-v2" and mat.shape == (3, 16) and store.missing_vectors("text", "e5-v2") == []
    assert store.nearest("text", new[2], 1)[0][0] == ids[2]
    assert store.passages([ids[0]])[ids[0]][0] == "a tabby cat sleeping on a sofa"


def test_stats(filled):
    store, *_ = filled
    st = store.stats()
    assert st["images"] == 3 and st["errors"] == 0 and st["vectors"] == {"text": 3, "image": 3}
    assert st["models"] == {"text": "e5", "image": "eff"} and st["with_text"] == 1 and st["with_faces"] == 1
    assert st["bytes"] > 0 and st["schema_version"] == store.version >= 1


def test_where_and_when_places_and_moments(filled):
    from ocula.index.base import Capture
    from ocula.results import Moment

    store, (cat, sign, coffee), _ = filled
    with store.transaction():
        store.put_capture(cat, Capture(captured="2024-05-01T10:00:00", captured_utc="2024-05-01T02:00:00Z",
                                       utc_offset="+08:00", place='{"city": "Hangzhou"}', names=("hangzhou", "杭州"),
                                       lat=30.25, lon=120.17))
        store.put_capture(coffee, Capture(captured="2024-05-01T12:00:00", place='{"city": "Shanghai"}',
                                          names=("shanghai",), lat=31.23, lon=121.47, level="place"))
        store.put_capture(sign, Capture(captured=None, level="time"))
    assert store.missing_captures(place=False) == []
    assert store.missing_captures(place=True) == [(sign, "/p/trip/sign.png")]
    assert store.place_matches(["杭州", "hangzhou", "paris"], Filters()) == {cat: 2}
    assert store.place_matches(["shanghai"], Filters(has_text=True)) == {}
    assert list(store.filter_ids(Filters(near=(30.26, 120.18, 5.0)))[0]) == [cat]
    assert list(store.filter_ids(Filters(near=(30.26, 120.18, 200.0)))[0]) == [cat, coffee]
    assert list(store.filter_ids(Filters(captured_after="2024-05-01T11"))[0]) == [coffee]
    assert store.hits([cat])[cat].captured == "2024-05-01T10:00:00" and "Hangzhou" in store.hits([cat])[cat].place
    assert [r.id for r in store.ungrouped()] == [cat, coffee]
    day = Moment(id="m1", photos=[str(cat), str(coffee)], count=2, start="2024-05-01T10:00:00",
                 end="2024-05-01T12:00:00", start_instant="2024-05-01T02:00:00Z", end_instant="2024-05-01T04:00:00Z",
                 cover=str(cat), title="A day")
    with store.exclusive("moments"), store.transaction():
        store.replace_moments([], [day])
    assert store.ungrouped() == [] and [m.id for m in store.moments()] == ["m1"]
    assert list(store.filter_ids(Filters(moment="m1"))[0]) == [cat, coffee]
    assert [m.id for m in store.moments(between=("2024-05-01T03", "2024-05-02"))] == ["m1"]
    assert store.moments(["nope"]) == [] and store.stats()["moments"] == 1
    with store.transaction():  # new content for one photo dissolves its moment: both are grouped again
        store.upsert_image(_row("/p/coffee.jpg", "h-coffee-2", description="a cup of tea"))
    assert store.moments() == [] and [r.id for r in store.ungrouped()] == [cat, coffee]
    with store.transaction():
        assert store.forget(positions=True) == 2
    assert list(store.filter_ids(Filters(near=(30.26, 120.18, 200.0)))[0]) == []
    with store.transaction():
        store.forget(places=True)
    assert store.place_matches(["hangzhou"], Filters()) == {} and store.hits([cat])[cat].place is None
    st = store.stats()
    assert (st["with_time"], st["with_place"], st["with_gps"]) == (2, 0, 0)


def _face(vec: np.ndarray, x: int = 10, **kw):
    from ocula.index.base import FaceRow

    return FaceRow(box=(x, 20, 60, 60), embedding=vec, model="dlib-test", score=0.9, quality=0.8, usable=True,
                   landmarks={"nose": [40, 50]}, alignment=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], **kw)


def _paths(store, ids) -> set[str]:
    return {store.path_of(int(i)) for i in ids}


def test_faces_and_people(filled, db):
    """Faces stored with their embeddings, grouped into a person (the real grouping code), named,
    found by person (faces and a name without a box), copied with their image, merged, split,
    deleted with their image, forgotten: the same on both stores."""
    from ocula.tasks import _people
    from ocula.tasks.people_forget import people_forget
    from ocula.tasks.people_name import people_name
    from ocula.tasks.search import search

    store, (cat, sign, coffee), _ = filled
    rng = np.random.default_rng(7)
    a, b = (0.6 * _unit(rng, 1, 128)[0] for _ in range(2))  # 0.85 apart: two different people
    near = lambda v: (v + 0.01 * _unit(rng, 1, 128)[0]).astype(np.float32)  # noqa: E731
    with store.transaction():
        store.upsert_image(_row("/p/group.jpg", "h-group", description="a group"))
        group_photo = store.image_id("/p/group.jpg")
        assert store.put_faces(cat, "dlib-test", [_face(near(a))]) and store.unscanned_faces("dlib-test") == \
            [(sign, "/p/trip/sign.png"), (coffee, "/p/coffee.jpg"), (group_photo, "/p/group.jpg")]
        store.put_faces(coffee, "dlib-test", [_face(near(b), x=200), _face(near(a), x=5)])
        store.put_faces(sign, "dlib-test", [_face(near(a))])
        store.put_faces(group_photo, "dlib-test", [])
        store.put_image_names(group_photo, [("Grace Hopper", "grace hopper")], "xmp")
    assert store.unscanned_faces("dlib-test") == [] and store.faces_waiting() == 4
    got = store.faces_of([coffee, cat], embeddings=True)
    assert [f.box[0] for f in got[coffee]] == [5, 200] and got[coffee][0].path == "/p/coffee.jpg"
    assert got[cat][0].landmarks == {"nose": [40, 50]} and got[cat][0].embedding.shape == (128,)
    assert np.allclose(got[coffee][1].embedding, store.stored_faces().vectors[1], atol=1e-6)

    assert _people.group(store) == 1 and store.faces_waiting() == 0  # three alike faces: a person
    [person] = store.people_rows()
    assert (person.name, person.faces, person.photos, person.confirmed) == (None, 3, 3, False)
    assert store.face(person.sample_face).person_id == person.id and store.get_meta("people.grouping")
    stored = store.stored_faces()
    assert stored.vectors.shape == (4, 128) and stored.grouped.all() and not stored.damaged
    assert sorted(stored.person.tolist()) == [-1, person.id, person.id, person.id]

    named = people_name(person.id, "Grace Hopper", db=db)
    assert named.person.name == "Grace Hopper" and named.person.confirmed
    # the name without a box (XMP PersonInImage) counts as her photo too
    assert store.people_rows([person.id])[0].photos == 4 and store.people_by_key("grace hopper") == [person.id]
    her = {"/p/cat.jpg", "/p/coffee.jpg", "/p/trip/sign.png", "/p/group.jpg"}
    assert _paths(store, store.filter_ids(Filters(people=(person.id,)))[0]) == her
    assert {p for _, p in store.person_images(person.id)} == her and store.person_images(person.id)[-1][1] == \
        "/p/group.jpg" and store.image_names([group_photo]) == {group_photo: ["Grace Hopper"]}
    found = search(person="grace HOPPER", db=db, top_k=10)
    assert found.mode == "person" and {h.path for h in found.hits} == her

    with store.transaction():
        copy = store.copy_image(cat, "/q/cat-copy.jpg", 100, 2, time.time())
        other = store.add_person()
        store.lock_face(store.faces_of([coffee])[coffee][1].id, other)   # the other face: another person
        store.add_alias(other, "Amazing Grace", "amazing grace")
    assert store.faces_of([copy])[copy][0].person_id == person.id
    assert store.person_names() == [(person.id, "Grace Hopper"), (other, "Amazing Grace")]
    with store.transaction():
        assert store.merge_people(person.id, other) == 1
        store.reject_face(store.faces_of([sign])[sign][0].id, person.id)   # "not this person"
    assert store.people_rows([person.id])[0].aliases == ("Amazing Grace",)
    assert store.people_rows([other]) == [] and store.faces_of([sign])[sign][0].rejected == (person.id,)
    assert [f.image_id for f in store.person_faces(person.id)][0] in (coffee, cat, copy)
    with store.transaction():
        store.delete_images([coffee])
    assert store.faces_of([coffee]) == {} and store.stats()["faces"] == 3 and store.stats()["people"] == 1

    report = people_forget("Amazing Grace", db=db)
    assert (report.faces, report.people, report.aliases, report.names) == (2, 1, 1, 1)
    assert store.people_rows() == [] and store.filter_ids(Filters(people=(person.id,)))[0].size == 0
    assert store.stored_faces().ids.tolist() == [store.faces_of([sign])[sign][0].id]  # the rejected face stays
    assert store.image_names([group_photo]) == {}
    with pytest.raises(InvalidArgument, match="no person named"):
        search(person="Grace Hopper", db=db)
    everyone = people_forget(db=db)
    assert everyone.faces == 1 and store.stats()["faces"] == 0 and store.unscanned_faces("dlib-test")
    with store.transaction():
        assert store.add_person() == 1  # person ids start again after everything is forgotten


def test_search_needs_an_existing_index(db):
    with pytest.raises(InvalidArgument, match="ocula index"):
        open_store(db)


# -- PostgreSQL only: what many machines sharing one server need -----------------------------

def test_migrations_run_once_under_concurrent_starts(pg_url):
    from ocula.index.postgres import SCHEMA_VERSION

    errors, versions = [], []

    def start():
        try:
            with open_store(pg_url, create=True) as s:
                versions.append(s.version)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)
    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and versions == [SCHEMA_VERSION] * 6


def test_a_newer_schema_is_refused_and_nothing_written(pg_url):
    import psycopg

    with open_store(pg_url, create=True):
        pass
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(OculaError, match="newer than this ocula.*upgrade"):
        open_store(pg_url, create=True)


def test_wrong_or_unreachable_database_is_one_line(pg_server, tmp_path):
    for url in (f"postgresql://postgres@/nosuchdb?host={pg_server}",
                f"postgresql://postgres@/ocula?host={tmp_path}"):   # no server listens there
        with pytest.raises(OculaError) as e:
            open_store(url, create=True)
        assert "\n" not in str(e.value) and "ocula db start" in str(e.value)


def test_a_database_without_pgvector_says_how_to_get_it(pg_server, new_db):
    import psycopg

    url = new_db()
    admin = psycopg.connect(url, autocommit=True)
    admin.execute("DROP EXTENSION vector")
    admin.execute("DROP ROLE IF EXISTS plain")
    admin.execute("CREATE ROLE plain LOGIN")
    admin.execute(f"GRANT ALL ON DATABASE {admin.info.dbname} TO plain")
    admin.execute("GRANT ALL ON SCHEMA public TO plain")
    plain = url.replace("postgresql://postgres:@", "postgresql://plain@")
    with pytest.raises(OculaError, match="no pgvector extension.*CREATE EXTENSION vector"):
        open_store(plain, create=True)
    tables = admin.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    assert tables == 0  # nothing written
    admin.close()


def test_the_password_never_shows(pg_url):
    from ocula.index.postgres import redact

    assert redact("postgresql://me:secret@db.example/photos") == "postgresql://me:***@db.example/photos"
    with open_store(pg_url, create=True) as s:
        assert s.stats()["db"] == s.location


def test_people_on_postgresql_with_real_faces(pg_server, pg_url, tmp_path):
    """Index photos into PostgreSQL with the real detector and dlib: a person appears, is named,
    found and recognised; forgetting them leaves no embedding in the tables' files. Embeddings
    are a pgvector column."""
    pytest.importorskip("dlib", reason="dlib-bin is not installed (pip install dlib-bin)")
    import os
    from pathlib import Path

    import psycopg

    from people_helpers import obama_three_times

    from ocula.tasks.index import index
    from ocula.tasks.people import people
    from ocula.tasks.people_forget import people_forget
    from ocula.tasks.people_name import people_name
    from ocula.tasks.search import search
    from ocula.tasks.who import who

    folder = obama_three_times(tmp_path / "photos")
    report = index([folder], db=pg_url, steps=["faces", "classify"])
    assert report.analysed == 4 and report.faces == 4 and report.new_people == 1 and not report.failed
    assert index([folder], db=pg_url, steps=["faces", "classify"]).faces == 0  # unchanged: no face work
    named = people_name(folder / "obama_small.jpg", "Barack Obama", db=pg_url)
    assert named.person.faces == 3 and named.person.confirmed
    hits = search(person="barack obama", db=pg_url, top_k=10)
    assert [Path(h.path).name for h in hits.hits][0] == "obama_small.jpg" and len(hits.hits) == 3
    assert [f.name for f in who(folder / "obama.jpg", db=pg_url).faces] == ["Barack Obama"]
    from ocula.config import get_settings
    from ocula.tasks._people import KnownNames

    known = KnownNames(pg_url, get_settings())  # describe's resume key reads the shared index too
    assert known(folder / "obama_small.jpg") == known(tmp_path / "elsewhere.jpg") == "names:Barack Obama"
    with psycopg.connect(pg_url, autocommit=True) as c:
        kind = c.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                         "'faces'::regclass AND attname = 'embedding'").fetchone()[0]
        rows = c.execute("SELECT embedding::text FROM faces WHERE person_id IS NOT NULL").fetchall()
    assert kind == "vector(128)" and len(rows) == 3
    gone = [np.array(r[0].strip("[]").split(","), np.float32).tobytes() for r in rows]

    def table_bytes() -> bytes:
        with psycopg.connect(pg_url, autocommit=True) as c:
            c.execute("CHECKPOINT")  # what the server holds in memory goes to the files
            files = [c.execute("SELECT pg_relation_filepath(%s)", (t,)).fetchone()[0] for t in ("faces", "people")]
        return b"".join(Path(pg_server, f).read_bytes() for f in files if os.path.exists(Path(pg_server, f)))
    assert all(v in table_bytes() for v in gone)  # the check below can fail
    report = people_forget("Barack Obama", db=pg_url)
    assert report.faces == 3 and not report.wal_emptied and any("write-ahead log" in n for n in report.notes)
    assert [p.name for p in people(db=pg_url).people] == []
    assert not any(v in table_bytes() for v in gone)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, samples):
    """4 s of video made here: a cat (0-2 s), then the word HARBOUR (2-4 s)."""
    pytest.importorskip("av", reason="the media extra is not installed (pip install 'ocula[media]')")
    from PIL import Image, ImageDraw, ImageFont

    from media_helpers import make_video

    folder = tmp_path_factory.mktemp("clip")
    card = Image.new("RGB", (700, 480), "white")
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    ImageDraw.Draw(card).text((60, 180), "HARBOUR", fill="black",
                              font=ImageFont.truetype(font, 96) if os.path.exists(font) else ImageFont.load_default(96))
    card.save(folder / "card.png")
    return make_video(folder / "clip.mp4", [samples / "chelsea.jpg", folder / "card.png"], size=(640, 480),
                      seconds_each=2)


def test_a_video_is_its_keyframes_on_either_store(db, clip, tmp_path):
    """A video indexed into either store: one row for the file, its keyframes searchable (a hit
    is the video at the frame's time), left out of what counts files, moved, copied and deleted
    with the video (their faces too)."""
    import shutil

    from ocula.media import clock
    from ocula.tasks.index import IMAGE_MODEL, index
    from ocula.tasks.search import search

    films = tmp_path / "films"
    films.mkdir()
    shutil.copy(clip, films / "clip.mp4")
    r = index([films], db=db, steps=["classify", "ocr"], people=False)
    assert not r.failed, r.failed
    assert (r.analysed, r.videos, r.frames, r.images) == (1, 1, 2, 1)
    hit = search("harbour", db=db, top_k=3).hits[0]
    assert (hit.path, hit.media, hit.timestamp) == (str(films / "clip.mp4"), "video", clock(hit.at))
    assert hit.at == pytest.approx(2, abs=0.2) and "HARBOUR" in hit.text
    with open_store(db) as store:
        video = store.image_id(str(films / "clip.mp4"))
        row = store.hits([hit.id])[hit.id]
        assert (row.path, row.media) == (str(films / "clip.mp4"), "frame") and row.at == hit.at
        assert store.path_of(hit.id) == f"{films / 'clip.mp4'}#t={hit.at:.3f}"
        st = store.stats()
        assert (st["images"], st["videos"], st["frames"]) == (1, 1, 2) and store.count() == 1
        assert list(store.known()) == [str(films / "clip.mp4")]
        assert [d.id for d in store.dupe_rows()] == [video]
        assert store.missing_vectors("image", IMAGE_MODEL) == []  # the video row has none, its keyframes do
        assert video not in {i for i, _ in store.unscanned_faces("dlib-test")}
        assert video not in {i for i, _ in store.missing_captures(place=True)}
        assert hit.id not in {i for i, _ in store.missing_captures(place=True)}
        with store.transaction():
            store.put_faces(hit.id, "dlib-test", [_face(_unit(np.random.default_rng(1), 1, 128)[0])])

    os.rename(films / "clip.mp4", films / "harbour.mp4")
    shutil.copy(films / "harbour.mp4", films / "copy.mp4")
    r = index([films], db=db, steps=["classify", "ocr"], people=False)
    assert (r.analysed, r.renamed, r.copied, r.images) == (0, 1, 1, 2)
    hits = search("harbour", db=db, top_k=5).hits
    assert {(h.path, h.at) for h in hits[:2]} == {(str(films / "harbour.mp4"), hit.at), (str(films / "copy.mp4"), hit.at)}
    with open_store(db) as store:
        st = store.stats()
        assert (st["images"], st["videos"], st["frames"], st["faces"]) == (2, 2, 4, 2)  # the face went along

    for name in ("harbour.mp4", "copy.mp4"):
        (films / name).unlink()
    r = index([films], db=db, steps=["classify", "ocr"], people=False)
    assert (r.removed, r.images) == (2, 0)
    with open_store(db) as store:
        st = store.stats()
        assert (st["images"], st["videos"], st["frames"], st["faces"]) == (0, 0, 0, 0)
    assert search("harbour", db=db).hits == []
