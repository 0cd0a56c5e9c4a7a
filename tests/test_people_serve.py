"""People over HTTP (TestClient on a served, indexed folder): list with face thumbnails and the
client's paths, show, name a face or a person, split, merge, who on an upload, search by
person, forget (which needs a person or everyone), problems for bad input, and the API key on
every people route."""

from __future__ import annotations

import pytest
from PIL import Image

from people_helpers import obama_three_times, side_by_side
from serve_helpers import API, make_app, sample

pytest.importorskip("dlib", reason="dlib-bin is not installed (pip install dlib-bin)")
pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install ocula[serve])")
KEY = "people-key"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from ocula.config import load_settings
    from ocula.tasks.index import index

    root = tmp_path_factory.mktemp("people-serve")
    f = root / "photos"
    obama_three_times(f)
    side_by_side(f / "pair.jpg", "hopper", "collins")
    (root / "home").mkdir()
    index([f], db=root / "index.db", steps=["faces", "classify"],
          settings=load_settings(env={"OCULA_HOME": str(root / "home")}))
    return root, f


@pytest.fixture
def client(served):
    from fastapi.testclient import TestClient

    root, folder = served
    import shutil

    shutil.copy(root / "index.db", root / "work.db")
    with TestClient(make_app(root, folder=folder, db=root / "work.db")) as c:
        yield c


def test_people_routes(client, served):
    r = client.get(f"{API}/people")
    assert r.status_code == 200, r.text
    listed = r.json()
    assert listed["db"] == "index" and len(listed["people"]) == 1
    obama = listed["people"][0]
    assert obama["name"] is None and obama["faces"] == 3 and obama["sample"].startswith("photos/")
    thumb = client.get(obama["thumbnail"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert "private" in thumb.headers["cache-control"]
    import io

    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 160

    # name the person by id; a face by its id
    r = client.post(f"{API}/people/name", json={"person": obama["id"], "name": "Barack Obama"})
    assert r.status_code == 200 and r.json()["person"]["name"] == "Barack Obama"
    shown = client.get(f"{API}/people/barack%20obama").json()
    assert len(shown["photos"]) == 3 and all(p["path"].startswith("photos/") for p in shown["photos"])
    assert all(p["thumbnail"].startswith(f"{API}/images/") and p["face_thumbnail"] for p in shown["photos"])
    # the pair's left face is Hopper: find it through who on the upload of the same photo
    w = client.post(f"{API}/who", files={"image": ("pair.jpg", (served[1] / "pair.jpg").read_bytes())}).json()
    assert len(w["faces"]) == 2 and all(f["name"] is None for f in w["faces"]) and w["image"]["source"] == "pair.jpg"

    # the hopper photo's face id, from the store (the page gets it from a person's photos)
    from ocula.index import open_store

    with open_store(served[0] / "work.db") as store:
        hopper_face = store.faces_of([store.image_id(str(served[1] / "hopper.jpg"))]).popitem()[1][0].id
    r = client.post(f"{API}/people/name", json={"face": hopper_face, "name": "格蕾丝·霍珀"})
    assert r.status_code == 200 and r.json()["person"]["faces"] == 2, r.text  # the pair's Hopper joined
    w = client.post(f"{API}/who", files={"image": ("g.jpg", sample("grace_hopper.jpg"))}).json()
    assert w["faces"][0]["name"] == "格蕾丝·霍珀" and w["db"] == "index"

    # search by person, without words
    r = client.post(f"{API}/search", json={"person": "格蕾丝·霍珀"})
    assert r.status_code == 200 and sorted(h["path"] for h in r.json()["hits"]) == ["photos/hopper.jpg",
                                                                                    "photos/pair.jpg"]
    assert r.json()["mode"] == "person"

    # not this person, then merge two people
    pair_face = next(p["face"] for p in client.get(f"{API}/people/格蕾丝·霍珀").json()["photos"]
                     if p["path"].endswith("pair.jpg"))
    r = client.post(f"{API}/people/split", json={"person": "格蕾丝·霍珀", "face": pair_face})
    assert r.status_code == 200 and r.json()["person"]["faces"] == 1
    r = client.post(f"{API}/people/name", json={"face": pair_face, "name": "Grace"})
    r = client.post(f"{API}/people/merge", json={"person": "格蕾丝·霍珀", "other": "Grace"})
    assert r.status_code == 200 and r.json()["person"]["faces"] == 2 and r.json()["aliases"] == ["Grace"]

    # forget needs to be told whom
    r = client.post(f"{API}/people/forget", json={})
    assert r.status_code == 422 and "everyone" in r.json()["detail"]
    r = client.post(f"{API}/people/forget", json={"person": "Barack Obama"})
    assert r.status_code == 200 and r.json()["faces"] == 3 and r.json()["db"] == "index"
    r = client.post(f"{API}/people/forget", json={"everyone": True})
    assert r.status_code == 200 and r.json()["people"] == 1
    assert client.get(f"{API}/people").json()["people"] == []


def test_people_problems(client):
    r = client.get(f"{API}/people/99")
    assert r.status_code == 404 and "no person with id 99" in r.json()["detail"]
    r = client.post(f"{API}/people/name", json={"name": "X"})
    assert r.status_code == 422 and "'face'" in r.json()["detail"]
    r = client.post(f"{API}/people/name", json={"face": 999, "name": "X"})
    assert r.status_code == 422 and "no stored face with id 999" in r.json()["detail"]
    r = client.post(f"{API}/people/name", json={"face": 1, "name": "   "})
    assert r.status_code == 422 and "give a name" in r.json()["detail"]
    r = client.post(f"{API}/people/name", json={"face": 1, "name": "X", "path": "/etc/passwd"})
    assert r.status_code == 422  # unknown fields are refused
    r = client.get(f"{API}/faces/999/thumbnail")
    assert r.status_code == 404
    r = client.post(f"{API}/search", json={"person": "Nobody Here"})
    assert r.status_code == 422 and "no person named 'Nobody Here'" in r.json()["detail"]


def test_people_routes_need_the_key(served):
    from fastapi.testclient import TestClient

    root, folder = served
    with TestClient(make_app(root, folder=folder, api_key=KEY)) as c:
        calls = [("get", "/people", {}), ("get", "/people/1", {}), ("get", "/faces/1/thumbnail", {}),
                 ("post", "/people/name", {"json": {"person": 1, "name": "X"}}),
                 ("post", "/people/merge", {"json": {"person": "1", "other": "2"}}),
                 ("post", "/people/split", {"json": {"person": "1", "face": 1}}),
                 ("post", "/people/forget", {"json": {"everyone": True}}),
                 ("post", "/who", {"files": {"image": ("g.jpg", sample("grace_hopper.jpg"))}})]
        for method, path, kw in calls:
            r = getattr(c, method)(API + path, **kw)
            assert r.status_code == 401, (path, r.status_code)
        r = c.get(f"{API}/people", headers={"Authorization": f"Bearer {KEY}"})
        assert r.status_code == 200 and len(r.json()["people"]) == 1
