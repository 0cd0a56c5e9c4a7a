"""Past one machine: the same photos give the same search hits from the SQLite index and the
PostgreSQL one; several writers share one PostgreSQL index without lost or doubled rows; a
killed indexer resumes; two servers answer alike; Ray Data (a real local cluster, 2 CPUs)
builds the same index content as the in-process indexer, from a folder, a list file and a
file:// URL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocula import Index
from ocula._textset import render_lines

from pg_helpers import local_server, new_db, pg_server  # noqa: F401  (fixtures)

PHOTOS = ("chelsea", "coffee", "rocket", "flower", "astronaut", "china")
OCULA = [sys.executable, "-m", "ocula"]
STEPS = ["classify", "ocr"]
COLUMNS = ("hash", "width", "height", "has_text", "faces", "phash", "ocr", "description", "tags_en", "tags_zh",
           "labels")


def _photos(samples: Path, dest: Path) -> Path:
    (dest / "trip").mkdir(parents=True)
    for name in PHOTOS:  # small copies keep decoding and OCR fast
        im = Image.open(samples / f"{name}.jpg").convert("RGB")
        im.thumbnail((320, 320))
        im.save(dest / f"{name}.jpg", quality=90)
    render_lines(["PARKING"], size=48).save(dest / "trip" / "sign_en.png")
    render_lines(["图书馆"], size=48).save(dest / "trip" / "sign_zh.png")
    return dest


@pytest.fixture(scope="module")
def pg_module():
    """A server for this module's databases."""
    from ocula.index.postgres import start_server

    with local_server() as folder:
        counter = iter(range(1000))
        yield lambda: start_server(folder, f"m{next(counter)}")


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, samples, pg_module):
    """The same photos indexed in-process into SQLite and into PostgreSQL."""
    root = tmp_path_factory.mktemp("scale")
    photos = _photos(samples, root / "photos")
    sqlite, pg = Index(root / "index.db"), Index(pg_module())
    for ix in (sqlite, pg):
        report = ix.add([photos], steps=STEPS)
        assert report.analysed == len(PHOTOS) + 2 and not report.failed
    return photos, sqlite, pg


def _rows(db: str) -> dict[str, dict]:
    """Every image's stored columns and vectors, by path, videos' keyframes (VIDEO#t=SECONDS,
    found by their vectors) included (the public store interface only)."""
    from ocula.index import open_store

    with open_store(db) as store:
        known = store.known()
        ids = {k.id: p for p, k in known.items()}
        hashes = {k.id: k.hash for k in known.values()}
        for kind in ("image", "text"):  # keyframes are not files (known) but have vectors
            ids.update({int(i): store.path_of(int(i)) for i in store.vectors(kind)[0] if int(i) not in ids})
        hits = store.hits(ids)
        out = {p: {"hash": hashes.get(i), "description": hits[i].description, "tags": hits[i].tags_en,
                   "ocr": hits[i].ocr, "size": (hits[i].width, hits[i].height)} for i, p in ids.items()}
        for kind in ("image", "text"):
            vids, mat, model = store.vectors(kind)
            for i, v in zip(vids, mat):
                out[ids[int(i)]][kind] = (model, v)
        dupes = {r.path: r.phash for r in store.dupe_rows()}
    for p in out:
        out[p]["phash"] = dupes.get(p)
    return out


def _faces(db: str) -> dict[str, list[tuple[int, ...]]]:
    """Every image's stored face boxes, by path."""
    from ocula.index import open_store

    with open_store(db) as store:
        known = store.known()
        faces = store.faces_of(k.id for k in known.values())
        return {p: [f.box for f in faces.get(k.id, [])] for p, k in known.items()}


def _same_content(a: dict[str, dict], b: dict[str, dict]) -> None:
    assert sorted(a) == sorted(b)
    for path in a:
        x, y = a[path], b[path]
        for key in ("hash", "description", "tags", "ocr", "size", "phash"):
            assert x[key] == y[key], (path, key, x[key], y[key])
        for kind in ("image", "text"):
            assert (kind in x) == (kind in y), (path, kind)
            if kind not in x:  # a video's row: its keyframes carry the vectors
                continue
            assert x[kind][0] == y[kind][0]
            assert np.allclose(x[kind][1], y[kind][1], atol=2e-3), (path, kind)


# -- the same hits on either backend ----------------------------------------------------------

QUERIES = ["cat", "猫", "小猫", "咖啡", "coffee cup", "rocket launch", "flower", "parking", "图书馆", "书馆", "astronaut"]


@pytest.mark.parametrize("query", QUERIES)
def test_sqlite_and_postgres_give_the_same_hits(indexed, query):
    _, sqlite, pg = indexed
    a = [(Path(h.path).name, h.ranks) for h in sqlite.search(query, top_k=3).hits]
    b = [(Path(h.path).name, h.ranks) for h in pg.search(query, top_k=3).hits]
    assert [n for n, _ in a] == [n for n, _ in b], (query, a, b)


def test_same_hits_by_example_image_and_filters(indexed, samples):
    photos, sqlite, pg = indexed
    for ix in (sqlite, pg):
        assert Path(ix.search_image(samples / "coffee.jpg", top_k=1).hits[0].path).name == "coffee.jpg"
        assert {Path(h.path).name for h in ix.search("a", has_text=True, top_k=5).hits} == {"sign_en.png",
                                                                                             "sign_zh.png"}
        assert [Path(h.path).name for h in ix.search("cat", folder=photos / "trip").hits][:1] != ["chelsea.jpg"]
    assert sqlite.stats().images == pg.stats().images == len(PHOTOS) + 2
    assert [g.paths for g in sqlite.dupes().groups] == [g.paths for g in pg.dupes().groups]


def test_search_on_the_command_line_with_a_url(indexed):
    _, _, pg = indexed
    done = subprocess.run([*OCULA, "search", "猫", "--db", pg.path, "--paths", "-k", "1"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).name == "chelsea.jpg"
    env = {**os.environ, "OCULA_DB": pg.path}
    done = subprocess.run([*OCULA, "search", "parking", "--paths", "-k", "1"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert Path(done.stdout.strip()).name == "sign_en.png", done.stderr


def test_two_servers_on_one_index_answer_alike(indexed, tmp_path):
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    from fastapi.testclient import TestClient

    from serve_helpers import make_app

    photos, _, pg = indexed
    answers = []
    for replica in ("a", "b"):
        app = make_app(tmp_path / replica, folder=photos, db=pg.path)
        with TestClient(app) as client:
            assert client.get("/api/v1/health").json()["indexed"] is True
            res = client.post("/api/v1/search", json={"query": "猫", "top_k": 3})
            assert res.status_code == 200, res.text
            answers.append([h["path"] for h in res.json()["hits"]])
            assert "postgresql" not in res.text  # the server's database is not the client's business
    assert answers[0] == answers[1] and answers[0][0] == "photos/chelsea.jpg"


# -- many writers ----------------------------------------------------------------------------

def _small_collection(samples: Path, dest: Path, n: int) -> list[Path]:
    names = ["chelsea", "coffee", "rocket", "flower", "astronaut", "coins", "china", "grace_hopper", "text"]
    dest.mkdir(parents=True)
    out = []
    for i in range(n):
        im = Image.open(samples / f"{names[i % len(names)]}.jpg").convert("RGB")
        im.thumbnail((128, 128))
        k = i // len(names)
        w, h = im.size
        im = im.crop((k * 5, k * 3, w - k * 2, h - k * 4))
        out.append(dest / f"img{i:02d}.jpg")
        im.save(out[-1], quality=90)
    return out


def _index(targets: list[str], db: str, *extra: str) -> list[str]:
    return [*OCULA, "index", *targets, "--db", db, "--steps", "classify", "--batch-size", "2", "--json", *extra]


def test_two_indexers_on_overlapping_folders_leave_one_row_per_image(tmp_path, samples, new_db):
    from ocula.index import open_store

    files = _small_collection(samples, tmp_path / "a", 12)
    (tmp_path / "b").mkdir()
    for f in files[8:]:
        f.rename(tmp_path / "b" / f.name)
    # one indexes folder a (images 0-7), the other images 4-7 of a and folder b (8-11)
    db = new_db()
    env = {**os.environ, "OCULA_THREADS": "1"}
    cmds = [_index([str(tmp_path / "a")], db), _index([*map(str, files[4:8]), str(tmp_path / "b")], db)]
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in cmds]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    with open_store(db) as store:
        known = store.known()
        assert len(known) == 12 and store.count() == 12 and len(store.dupe_rows()) == 12
        assert store.stats()["vectors"] == {"image": 12, "text": 12}
        assert sorted(Path(p).name for p in known) == [f.name for f in files]


def test_kill_9_of_an_indexer_then_a_rerun_loses_nothing(tmp_path, samples, new_db):
    from ocula.index import open_store

    n = 16
    _small_collection(samples, tmp_path / "photos", n)
    db = new_db()
    env = {**os.environ, "OCULA_THREADS": "1"}
    cmd = _index([str(tmp_path / "photos")], db)
    cmd[cmd.index("--batch-size") + 1] = "1"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    seen = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with open_store(db) as store:
                seen = store.count()
        except Exception:  # noqa: BLE001 - not created yet
            seen = 0
        if seen >= 2:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail(f"indexing ended before it could be killed: {proc.stderr.read()[-2000:]!r}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    with open_store(db) as store:
        at_kill = store.count()
    assert 2 <= at_kill < n
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr[-2000:]
    assert report["unchanged"] >= at_kill and report["analysed"] == n - report["unchanged"] and report["images"] == n
    with open_store(db) as store:
        assert store.count() == n and store.stats()["vectors"] == {"image": n, "text": n}


# -- Ray Data ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="the scale extra is not installed (pip install 'ocula[scale]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_builds_the_same_index_as_the_in_process_indexer(indexed, pg_module, ray_cluster):
    photos, _, pg = indexed
    db = pg_module()
    report = Index(db).add([photos], steps=STEPS, ray="local")
    assert report.analysed == len(PHOTOS) + 2 and not report.failed and report.workers
    assert report.images_per_second > 0
    _same_content(_rows(pg.path), _rows(db))
    # people: the actors found and embedded the same faces (the astronaut's)
    assert _faces(pg.path) == _faces(db) and report.faces == sum(map(len, _faces(db).values())) >= 1
    assert Path(Index(db).search("猫", top_k=1).hits[0].path).name == "chelsea.jpg"
    again = Index(db).add([photos], steps=STEPS, ray="local")
    assert (again.analysed, again.unchanged) == (0, len(PHOTOS) + 2)


def test_ray_from_a_list_file_and_a_file_url_with_bad_inputs(tmp_path, samples, ray_cluster, indexed):
    photos, sqlite, _ = indexed
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 300)
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"{photos / 'chelsea.jpg'}\n# a comment\n{photos / 'trip'}\n{tmp_path / 'gone.jpg'}\n"
                       f"{tmp_path / 'broken.jpg'}\nfile://{photos / 'coffee.jpg'}\n")
    db = str(tmp_path / "ray.db")
    report = Index(db).add([str(listing)], steps=STEPS, ray="local")
    assert report.analysed == 4  # chelsea, the two signs, coffee by URL
    assert sorted(Path(f.source).name for f in report.failed) == ["broken.jpg", "gone.jpg"]
    with_url = Index(db).add([f"file://{photos}"], steps=STEPS, ray="local")
    # the bytes already indexed (chelsea, the signs) are copied under their URLs, coffee.s URL is indexed
    assert (with_url.analysed, with_url.copied, with_url.unchanged) == (4, 3, 1)
    assert Path(Index(db).search("咖啡", top_k=1).hits[0].path).name == "coffee.jpg"
    rows = _rows(db)
    assert rows[str(photos / "chelsea.jpg")]["description"] == _rows(str(sqlite.path))[str(photos / "chelsea.jpg")][
        "description"]
    assert f"file://{photos / 'rocket.jpg'}" in rows


def test_ray_indexes_a_video_as_the_in_process_indexer_does(tmp_path, samples, pg_module, ray_cluster):
    """A folder with a photo and a small video: the actors sample its keyframes and store them
    with the video, as an in-process run does; search finds the video at a keyframe's time. A
    video in object storage is refused, one line."""
    pytest.importorskip("av", reason="the media extra is not installed (pip install 'ocula[media]')")
    from media_helpers import make_video

    from ocula.tasks._ray_index import REMOTE_VIDEO

    folder = tmp_path / "films"
    folder.mkdir()
    Image.open(samples / "rocket.jpg").convert("RGB").resize((320, 240)).save(folder / "rocket.jpg")
    make_video(folder / "clip.mp4", [samples / "coffee.jpg", samples / "chelsea.jpg"], seconds_each=2)
    sqlite, db = Index(tmp_path / "index.db"), pg_module()
    here = sqlite.add([folder], steps=["classify"])
    report = Index(db).add([folder], steps=["classify"], ray="local")
    assert not report.failed, report.failed
    assert (report.analysed, report.videos, report.frames, report.images) == (2, 1, here.frames, 2) and here.frames >= 2
    rows = _rows(db)
    assert sum("#t=" in p for p in rows) == here.frames
    _same_content(_rows(str(sqlite.path)), rows)  # the files and the keyframes
    for ix in (sqlite, Index(db)):
        hit = ix.search("猫", top_k=1).hits[0]
        assert (hit.path, hit.media) == (str(folder / "clip.mp4"), "video") and hit.at == pytest.approx(2, abs=0.3)
        st = ix.stats()
        assert (st.images, st.videos, st.frames) == (2, 1, here.frames)
    again = Index(db).add([folder], steps=["classify"], ray="local")
    assert (again.analysed, again.unchanged) == (0, 2)
    remote = Index(db).add([f"file://{folder / 'clip.mp4'}"], steps=["classify"], ray="local")
    assert [(f.source, f.error) for f in remote.failed] == [(f"file://{folder / 'clip.mp4'}", REMOTE_VIDEO)]


def test_bad_ray_address_and_sqlite_on_a_cluster_are_one_line(tmp_path, samples):
    from ocula.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="auto, local or ray://"):
        Index(tmp_path / "x.db").add([samples], ray="spark")
    with pytest.raises(InvalidArgument, match="postgresql://"):
        Index(tmp_path / "x.db").add([samples], ray="ray://10.0.0.1:10001")


class _DiesOnOneFile:
    """A Ray worker whose process dies (as on a segfault or the OOM killer) on one file."""

    def __call__(self, batch):
        if any(os.path.basename(str(p)) == "kills-its-worker.jpg" for p in batch["path"]):
            os._exit(1)
        return super().__call__(batch)


def test_a_file_that_kills_its_worker_is_retried_then_reported_alone(tmp_path, samples, ray_cluster, monkeypatch):
    from ray import cloudpickle

    from ocula.tasks import _ray_index

    # the test's worker class travels to the Ray workers by value (they cannot import this module)
    dying = type("Dying", (_DiesOnOneFile, _ray_index._Worker), {"__module__": __name__})
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(_ray_index, "_Worker", dying)
    files = _small_collection(samples, tmp_path / "photos", 5)
    Image.open(files[0]).transpose(Image.Transpose.ROTATE_90).save(tmp_path / "photos" / "kills-its-worker.jpg")
    db = str(tmp_path / "ray.db")
    report = Index(db).add([tmp_path / "photos"], steps=["classify"], batch_size=2, ray="local")
    assert report.analysed == 5  # its batch neighbour went through again, alone
    assert [(Path(f.source).name, f.kind) for f in report.failed] == [("kills-its-worker.jpg", "WorkerDied")]
    again = Index(db).add([tmp_path / "photos"], steps=["classify"], batch_size=2, ray="local")
    assert (again.analysed, again.unchanged, again.skipped_bad) == (0, 5, 1)
