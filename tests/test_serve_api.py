"""`ocula serve`'s HTTP API in-process (starlette's TestClient: no socket): every route with
real samples, both input encodings, jobs (async, SSE, cancel), every error as problem
details, the API key, CORS and the access log. The app runs on a temporary OCULA_HOME and
index over a copy of samples/ (plus a duplicate of coffee.jpg for /dupes)."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import threading
import time
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from serve_helpers import (API, assert_problem, busy_worker, copy_samples, huge_png, make_app, open_image, parse_sse,
                           resized_jpeg, sample, small_jpeg, text_png, wait_idle, wait_job)

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install ocula[serve])")
from starlette.testclient import TestClient  # noqa: E402

CAT = sample("chelsea.jpg")
FACE = sample("astronaut.jpg")


def upload(data: bytes, name: str = "photo.jpg", media: str = "image/jpeg") -> dict:
    return {"image": (name, data, media)}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@contextmanager
def client_for(tmp_path, **config):
    app = make_app(tmp_path, **config)
    with TestClient(app) as client:
        yield app, client


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One app (1 worker) over a copy of samples/, not yet indexed."""
    tmp = tmp_path_factory.mktemp("serve-api")
    folder = copy_samples(tmp / "photos")
    app = make_app(tmp, folder=folder, workers=1)
    with TestClient(app) as client:
        yield SimpleNamespace(app=app, client=client, folder=folder, db=tmp / "index.db")


@pytest.fixture(scope="module")
def indexed(served):
    """The same app after POST /index, followed by polling the job to the end."""
    c = served.client
    r = c.post(f"{API}/index", json={})
    assert r.status_code == 202, r.text
    job = r.json()
    assert re.fullmatch(r"[0-9a-f]{16}", job["id"]) and job["kind"] == "index"
    assert job["state"] in ("queued", "running")
    assert r.headers["location"] == f"{API}/jobs/{job['id']}"
    done = wait_job(c, job["id"], timeout=120)
    assert done["state"] == "done", done
    assert done["result"]["images"] == 10 and done["result"]["failed"] == []
    assert done["result"]["analysed"] == 9 and done["result"]["copied"] == 1  # coffee-copy.jpg: same bytes
    assert done["progress"]["total"] and done["progress"]["done"] == done["progress"]["total"]
    assert done["started"] and done["finished"]
    return served


# --- system ---------------------------------------------------------------------------

def test_health(served):
    r = served.client.get(f"{API}/health")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    h = r.json()
    from ocula import __version__

    assert h["status"] == "ok" and h["version"] == __version__
    assert h["workers"] == 1
    assert h["queue"] == {"waiting": 0, "running": 0, "capacity": 8}
    assert h["folders"] == [served.folder.name]  # names only: the layout stays on the server
    assert h["auth"] is False and h["urls"] is False


def test_models(served):
    r = served.client.get(f"{API}/models")
    assert r.status_code == 200
    models = {m["name"]: m for m in r.json()}
    lite = models["efficientnet-lite0"]
    assert lite["task"] == "classify" and lite["usable"] is True and lite["default"] is True
    for m in models.values():
        assert {"name", "task", "runtime", "license", "usable", "reason"} <= set(m)
        if not m["usable"]:
            assert m["reason"], m
    assert "sd-turbo" in models and models["sd-turbo"]["task"] == "generate"


# --- recognize --------------------------------------------------------------------------

def _top_names(result: dict) -> str:
    return " ".join(lbl["name"].lower() for lbl in result["labels"][:3])


def test_analyze_multipart_with_form_options(served):
    r = served.client.post(f"{API}/analyze", files=upload(CAT, "chelsea.jpg"),
                           data={"steps": "labels,colors", "top_k": "3", "gps": "false"})
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["image"]["source"] == "chelsea.jpg"
    assert (a["image"]["width"], a["image"]["height"]) == (451, 300)
    assert len(a["labels"]) == 3 and "cat" in _top_names(a)
    assert a["colors"]["colors"] and a["text"] is None and a["faces"] is None  # only the steps asked for


@pytest.mark.parametrize("prefix", ["", "data:image/jpeg;base64,"], ids=["base64", "data-url"])
def test_analyze_base64_json_with_typed_options(served, prefix):
    r = served.client.post(f"{API}/analyze", json={"image": prefix + b64(CAT), "steps": ["labels"], "top_k": 2})
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["image"]["source"] == "upload" and a["image"]["bytes"] == len(CAT)
    assert len(a["labels"]) == 2 and "cat" in _top_names(a)
    assert a["colors"] is None


def test_classify(served):
    r = served.client.post(f"{API}/classify", files=upload(CAT), data={"top_k": "4"})
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["model"] == "efficientnet-lite0" and len(c["labels"]) == 4
    assert "cat" in c["labels"][0]["name"].lower() and "猫" in c["labels"][0]["name_zh"]
    scores = [lbl["score"] for lbl in c["labels"]]
    assert scores == sorted(scores, reverse=True)


def test_ocr(served):
    r = served.client.post(f"{API}/ocr", files=upload(text_png("HELLO OCULA"), "sign.png", "image/png"))
    assert r.status_code == 200, r.text
    o = r.json()
    assert "HELLO" in o["text"] and "OCULA" in o["text"]
    assert o["lines"] and o["lines"][0]["confidence"] > 0.5


def test_faces(served):
    r = served.client.post(f"{API}/faces", files=upload(FACE, "astronaut.jpg"))
    assert r.status_code == 200, r.text
    faces = r.json()["faces"]
    assert len(faces) == 1 and faces[0]["score"] > 0.9
    x, y, w, h = faces[0]["box"]
    assert 150 < x < 260 and 20 < y < 120 and w > 40 and h > 40  # her face, upper middle of 512x512
    r = served.client.post(f"{API}/faces", json={"image": b64(sample("coffee.jpg"))})
    assert r.status_code == 200 and r.json()["faces"] == []


def test_colors(served):
    r = served.client.post(f"{API}/colors", json={"image": b64(CAT), "count": 2})
    assert r.status_code == 200, r.text
    colors = r.json()["colors"]
    assert 1 <= len(colors) <= 2
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c["hex"]) and c["name"] and c["name_zh"] for c in colors)
    assert colors[0]["name"] == "brown"
    assert abs(sum(c["fraction"] for c in colors) - 1) < 0.01


def test_quality(served):
    r = served.client.post(f"{API}/quality", files=upload(CAT), data={"brisque": "false"})
    assert r.status_code == 200, r.text
    q = r.json()
    assert q["megapixels"] == pytest.approx(451 * 300 / 1e6, abs=0.001)
    assert q["verdict"] in ("good", "acceptable", "poor") and q["sharpness"] > 0
    assert q["brisque"] is None  # the option, sent as the form string "false", was applied


def test_moderate(served):
    r = served.client.post(f"{API}/moderate", files=upload(CAT), data={"threshold": "0.6"})
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["unsafe"] is False and m["threshold"] == 0.6 and m["scores"]


def test_metadata_gps_only_when_asked(served):
    photo = small_jpeg(gps=True)
    r = served.client.post(f"{API}/metadata", files=upload(photo))
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["camera_make"] == "OculaCam" and m["has_gps"] is True and m["gps"] is None
    r = served.client.post(f"{API}/metadata", json={"image": b64(photo), "gps": True})
    gps = r.json()["gps"]
    assert gps["latitude"] == pytest.approx(52 + 22 / 60, abs=1e-3)
    assert gps["longitude"] == pytest.approx(4 + 53 / 60, abs=1e-3)


# --- describe --------------------------------------------------------------------------

def test_describe_cat_en_and_zh(served):
    r = served.client.post(f"{API}/describe", files=upload(CAT, "chelsea.jpg"))
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["language"] == "en" and d["purpose"] == "alt" and "cat" in d["text"].lower()
    assert d["image"]["source"] == "chelsea.jpg"
    r = served.client.post(f"{API}/describe", files=upload(CAT), data={"language": "zh", "purpose": "caption"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["language"] == "zh" and d["purpose"] == "caption" and "猫" in d["text"]


def test_describe_from_facts_without_image(served):
    facts = served.client.post(f"{API}/analyze", json={"image": b64(CAT), "steps": "labels,colors"}).json()
    r = served.client.post(f"{API}/describe", json={"facts": facts, "purpose": "tags"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["purpose"] == "tags" and d["image"]["source"] == "upload"
    assert "cat" in d["text"].lower() and "cat" in [t.lower() for t in d["tags"]]
    # neither image nor facts: said plainly
    assert_problem(served.client.post(f"{API}/describe", json={"purpose": "alt"}), 422, "facts")
    assert_problem(served.client.post(f"{API}/describe", json={"facts": {"labels": "nope"}}), 422)


# --- search, thumbnails, dupes (after indexing) ------------------------------------------

@pytest.mark.parametrize("query", ["cat", "猫"])
def test_search_words(indexed, query):
    r = indexed.client.post(f"{API}/search", json={"query": query, "top_k": 3})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["mode"] == "text" and 1 <= len(s["hits"]) <= 3
    top = s["hits"][0]
    assert top["path"].endswith("chelsea.jpg")
    assert isinstance(top["id"], int) and top["thumbnail"] == f"{API}/images/{top['id']}/thumbnail"


def test_search_by_example_image(indexed):
    r = indexed.client.post(f"{API}/search", files=upload(resized_jpeg("chelsea.jpg", 200)), data={"top_k": "2"})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["mode"] == "image" and len(s["hits"]) == 2
    assert s["hits"][0]["path"].endswith("chelsea.jpg")
    assert_problem(indexed.client.post(f"{API}/search", json={"top_k": 2}), 422, "query")


def test_thumbnail(indexed):
    hit = indexed.client.post(f"{API}/search", json={"query": "cat", "top_k": 1}).json()["hits"][0]
    r = indexed.client.get(hit["thumbnail"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    img = open_image(r.content)
    assert img.format == "JPEG" and max(img.size) == 256 and img.size[0] > img.size[1]  # the cat is landscape
    r = indexed.client.get(hit["thumbnail"], params={"size": 64})
    assert max(open_image(r.content).size) == 64
    assert_problem(indexed.client.get(f"{API}/images/999999/thumbnail"), 404, "999999")
    assert_problem(indexed.client.get(f"{API}/images/1/thumbnail", params={"size": 5}), 422)


def test_dupes(indexed):
    r = indexed.client.post(f"{API}/dupes", json={})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["images"] == 10
    exact = [g for g in d["groups"] if g["kind"] == "exact"]
    assert len(exact) == 1
    group = exact[0]
    assert sorted(p.rsplit("/", 1)[-1] for p in group["paths"]) == ["coffee-copy.jpg", "coffee.jpg"]
    assert len(group["ids"]) == 2 and group["thumbnails"] == [f"{API}/images/{i}/thumbnail" for i in group["ids"]]
    assert indexed.client.get(group["thumbnails"][0]).status_code == 200
    assert_problem(indexed.client.post(f"{API}/dupes", json={"threshold": 65}), 422, "threshold")


def test_search_without_index_is_409(tmp_path):
    with client_for(tmp_path, db=tmp_path / "none.db") as (app, c):
        assert c.get(f"{API}/health").json()["indexed"] is False
        for r in (c.post(f"{API}/search", json={"query": "cat"}), c.post(f"{API}/dupes", json={}),
                  c.get(f"{API}/images/1/thumbnail")):
            body = assert_problem(r, 409, "index")
            assert body["title"] == "No index"
        # and /index with no folders configured is refused, as a failed job
        r = c.post(f"{API}/index", json={})
        assert r.status_code == 202
        job = wait_job(c, r.json()["id"])
        assert job["state"] == "failed" and job["error"]["status"] == 422 and "--folder" in job["error"]["detail"]


# --- enhance: outputs are URLs ------------------------------------------------------------

def _output(client, result: dict):
    assert re.fullmatch(rf"{API}/jobs/[0-9a-f]{{16}}/outputs/0", result["output"]), result["output"]
    r = client.get(result["output"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/")
    return open_image(r.content), r.content


def test_upscale_lanczos(served):
    r = served.client.post(f"{API}/upscale", files=upload(small_jpeg(64, 48)), data={"model": "lanczos", "scale": "2"})
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["model"] == "lanczos" and res["scale"] == 2 and (res["width"], res["height"]) == (128, 96)
    img, _ = _output(served.client, res)
    assert img.size == (128, 96)
    # JSON types: scale as a number
    r = served.client.post(f"{API}/upscale", json={"image": b64(small_jpeg(64, 48)), "model": "lanczos", "scale": 3})
    assert r.status_code == 200, r.text
    assert _output(served.client, r.json())[0].size == (192, 144)
    assert_problem(served.client.post(f"{API}/upscale", files=upload(small_jpeg()), data={"scale": "5"}), 422, "scale")


@pytest.mark.parametrize("route,options", [
    ("denoise", {"strength": "1.5"}),
    ("restore", {"steps": "exposure,contrast"}),
    ("blur-faces", {"method": "pixelate"}),
    ("inpaint", {"box": "10,10,20,16"}),
])
def test_edits_keep_size(served, route, options):
    r = served.client.post(f"{API}/{route}", files=upload(small_jpeg(64, 48)), data=options)
    assert r.status_code == 200, r.text
    res = r.json()
    assert (res["width"], res["height"]) == (64, 48)
    assert res["image"]["source"] == "photo.jpg"  # the upload's name, never a server temp path
    assert _output(served.client, res)[0].size == (64, 48)


def test_edits_are_marked_like_the_library_marks_them(served, tmp_path):
    """sign and watermark over HTTP go through the same library code as `ocula upscale --sign`."""
    pytest.importorskip("c2pa")
    from PIL import Image

    from ocula.tasks.verify import verify
    from serve_helpers import SAMPLES, encode

    photo = encode(Image.open(SAMPLES / "chelsea.jpg").convert("RGB").resize((400, 300)), "JPEG", quality=95)
    r = served.client.post(f"{API}/denoise", files=upload(photo), data={"h": "3", "sign": "true",
                                                                      "watermark": "ocula"})
    assert r.status_code == 422  # h is not an HTTP option: refused, not ignored
    r = served.client.post(f"{API}/denoise", files=upload(photo), data={"sign": "true", "watermark": "ocula"})
    assert r.status_code == 200, r.text
    prov = r.json()["provenance"]
    assert prov["signed"] and prov["watermarked"] and prov["watermark_verified"]
    out = tmp_path / "denoised.png"
    out.write_bytes(served.client.get(r.json()["output"]).content)
    v = verify(out)
    assert v.manifest.state == "valid" and v.watermark.found and v.watermark.payload == "ocula"


def test_inpaint_with_mask_and_needs_one_region(served):
    from PIL import Image, ImageDraw

    from serve_helpers import encode

    mask = Image.new("L", (64, 48), 0)
    ImageDraw.Draw(mask).rectangle((20, 10, 40, 30), fill=255)
    files = {**upload(small_jpeg(64, 48)), "mask": ("mask.png", encode(mask, "PNG"), "image/png")}
    r = served.client.post(f"{API}/inpaint", files=files)
    assert r.status_code == 200, r.text
    assert _output(served.client, r.json())[0].size == (64, 48)
    assert_problem(served.client.post(f"{API}/inpaint", files=upload(small_jpeg())), 422, "box")


def test_strip_removes_gps(served):
    from PIL import Image

    photo = small_jpeg(gps=True)
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)  # the input has GPS
    r = served.client.post(f"{API}/strip", files=upload(photo))
    assert r.status_code == 200, r.text
    res = r.json()
    assert any("GPS" in x for x in res["removed"]), res["removed"]
    img, data = _output(served.client, res)
    assert img.format == "JPEG" and img.size == (64, 48)
    exif = img.getexif()
    assert not exif.get_ifd(0x8825) and 0x010F not in exif
    assert b"OculaCam" not in data and len(data) == res["bytes_after"]


# --- provenance -------------------------------------------------------------------------

def test_verify_and_watermark_detect(served, tmp_path):
    r = served.client.post(f"{API}/verify", files=upload(CAT, "chelsea.jpg"))
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["ok"] is True and v["manifest"]["state"] == "none" and v["watermark"]["found"] is False
    assert str(tmp_path) not in r.text and "ocula-serve-" not in r.text  # no server temp path leaks

    from ocula.tasks.watermark import watermark

    marked = watermark(CAT, payload="serve-test", output=tmp_path / "marked.png").output
    data = open(marked, "rb").read()
    r = served.client.post(f"{API}/watermark/detect", files=upload(data, "marked.png", "image/png"),
                           data={"candidate": "serve-test"})
    assert r.status_code == 200, r.text
    w = r.json()
    assert w["found"] is True and w["matches"] is True
    r = served.client.post(f"{API}/watermark/detect", json={"image": b64(CAT)})
    assert r.status_code == 200 and r.json()["found"] is False


def test_generate_without_model_is_503(served):
    models = {m["name"]: m for m in served.client.get(f"{API}/models").json()}
    if models["sd-turbo"]["usable"]:
        pytest.skip("a diffusion model is installed here: generate would run")
    body = assert_problem(served.client.post(f"{API}/generate", json={"prompt": "a red cat"}), 503,
                          "ocula models pull")
    assert body["title"] == "Model unavailable"
    assert_problem(served.client.post(f"{API}/generate", json={"prompt": ""}), 422, "prompt")


# --- jobs ------------------------------------------------------------------------------

def test_async_job(served):
    c = served.client
    r = c.post(f"{API}/classify?async=true", files=upload(CAT), data={"top_k": "2"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"{API}/jobs/{job['id']}"
    assert job["kind"] == "classify" and job["state"] in ("queued", "running") and job["result"] is None
    done = wait_job(c, job["id"])
    assert done["state"] == "done" and done["error"] is None
    assert len(done["result"]["labels"]) == 2 and "cat" in done["result"]["labels"][0]["name"].lower()
    assert done["created"] <= done["started"] <= done["finished"]
    # an enhance job lists its output
    r = c.post(f"{API}/denoise?async=true", files=upload(small_jpeg()))
    done = wait_job(c, r.json()["id"])
    assert done["outputs"] == [f"{API}/jobs/{done['id']}/outputs/0"] == [done["result"]["output"]]
    assert c.get(done["outputs"][0]).status_code == 200
    assert_problem(c.get(f"{API}/jobs/{done['id']}/outputs/1"), 404)


def test_job_events_stream(tmp_path):
    with client_for(tmp_path, workers=1) as (app, c):
        gate = threading.Event()

        def work(job):
            gate.wait(10)
            for i in range(1, 4):
                job.report(i, 3, "step")
                time.sleep(0.25)  # longer than the stream's poll: each step is seen
            return {"answer": 42}

        job = app.state.ocula.jobs.submit("test-progress", work)
        threading.Timer(0.3, gate.set).start()
        r = c.get(f"{API}/jobs/{job.id}/events")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        events = parse_sse(r.text)
        names = [e for e, _ in events]
        assert names[0] == "state" and names[-1] == "state", names
        assert events[-1][1]["state"] == "done" and events[-1][1]["result"] == {"answer": 42}
        progress = [d["progress"]["done"] for e, d in events if e == "progress"]
        assert progress and progress == sorted(progress) and set(progress) <= {1, 2, 3}, events
        assert all(d["id"] == job.id for _, d in events)
        # a finished job's stream is its final state, then the end
        again = parse_sse(c.get(f"{API}/jobs/{job.id}/events").text)
        assert [(e, d["state"]) for e, d in again] == [("state", "done")]
        assert_problem(c.get(f"{API}/jobs/0123456789abcdef/events"), 404)


def test_cancel_queued_job_never_runs(tmp_path):
    with client_for(tmp_path, workers=1) as (app, c):
        ran = threading.Event()
        with busy_worker(app):
            queued = app.state.ocula.jobs.submit("test-queued", lambda job: ran.set())
            r = c.post(f"{API}/classify?async=true", files=upload(CAT))
            assert r.status_code == 202
            http_job = r.json()["id"]
            assert c.get(f"{API}/health").json()["queue"] == {"waiting": 2, "running": 1, "capacity": 8}
            for jid in (queued.id, http_job):
                r = c.delete(f"{API}/jobs/{jid}")
                assert r.status_code == 200 and r.json()["state"] == "cancelled"
                assert r.json()["error"]["title"] == "Cancelled"
        wait_idle(app)
        assert not ran.is_set()
        for jid in (queued.id, http_job):
            job = c.get(f"{API}/jobs/{jid}").json()
            assert job["state"] == "cancelled" and job["started"] is None and job["result"] is None
        # cancelling a finished job changes nothing
        assert c.delete(f"{API}/jobs/{queued.id}").json()["state"] == "cancelled"
        assert_problem(c.delete(f"{API}/jobs/0123456789abcdef"), 404)


def test_cancel_running_job_stops_at_progress(tmp_path):
    with client_for(tmp_path, workers=1) as (app, c):
        steps: list[int] = []
        started = threading.Event()

        def work(job):
            for i in range(500):
                steps.append(i)
                started.set()
                job.report(i, 500, "step")
                time.sleep(0.01)
            return {"finished": True}

        job = app.state.ocula.jobs.submit("test-running", work)
        assert started.wait(10)
        assert c.get(f"{API}/jobs/{job.id}").json()["state"] == "running"
        r = c.delete(f"{API}/jobs/{job.id}")
        assert r.status_code == 200
        assert job.future.result(timeout=10) == "cancelled"
        info = c.get(f"{API}/jobs/{job.id}").json()
        assert info["state"] == "cancelled" and info["result"] is None and info["started"] is not None
        assert "while running" in info["error"]["detail"]
        assert len(steps) < 500
        wait_idle(app)


# --- errors ------------------------------------------------------------------------------

def test_malformed_bodies_are_400(served):
    c = served.client
    assert_problem(c.post(f"{API}/classify", content=b'{"image": ', headers={"content-type": "application/json"}),
                   400, "JSON")
    assert_problem(c.post(f"{API}/classify", content=b"garbage\r\n",
                          headers={"content-type": "multipart/form-data; boundary=xyz"}), 400, "multipart")
    assert_problem(c.post(f"{API}/classify", content=b"garbage",
                          headers={"content-type": "multipart/form-data"}), 400, "multipart")
    assert_problem(c.post(f"{API}/classify", content=b"[1, 2]", headers={"content-type": "application/json"}),
                   422, "object")


def test_unsupported_media_type_is_415(served):
    assert_problem(served.client.post(f"{API}/classify", content=b"hello",
                                      headers={"content-type": "text/plain"}), 415, "multipart/form-data")


def test_not_found_is_404(served):
    assert_problem(served.client.get(f"{API}/jobs/0123456789abcdef"), 404, "0123456789abcdef")
    assert_problem(served.client.get(f"{API}/no-such-route"), 404, "/api/v1/no-such-route")
    assert_problem(served.client.post(f"{API}/no-such-route", json={}), 404)


@pytest.mark.parametrize("case", ["corrupt", "empty-file", "empty-base64", "truncated", "pdf", "no-image"])
def test_invalid_images_are_422(served, case):
    c = served.client
    if case == "corrupt":
        r = c.post(f"{API}/classify", files=upload(b"\x00\x17garbage" * 20))
    elif case == "empty-file":
        r = c.post(f"{API}/classify", files=upload(b""))
    elif case == "empty-base64":
        r = c.post(f"{API}/classify", json={"image": ""})
    elif case == "truncated":
        r = c.post(f"{API}/classify", files=upload(CAT[: len(CAT) // 2]))
    elif case == "pdf":
        r = c.post(f"{API}/classify", files=upload(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "a.pdf",
                                                    "application/pdf"))
    else:
        r = c.post(f"{API}/classify", json={"top_k": 3})
    words = {"empty-file": ("empty",), "truncated": ("truncated",), "pdf": ("PDF",), "no-image": ("image",)}
    body = assert_problem(r, 422, *words.get(case, ()))
    if case != "empty-base64":
        assert body["title"] == "Invalid image"


def test_invalid_options_are_422(served):
    c = served.client
    body = assert_problem(c.post(f"{API}/classify", files=upload(CAT), data={"top_k": "0"}), 422, "top_k")
    assert body["title"] == "Invalid option" and body["errors"][0]["field"] == "top_k"
    assert_problem(c.post(f"{API}/classify", json={"image": b64(CAT), "top_k": 51}), 422, "top_k")
    assert_problem(c.post(f"{API}/classify", json={"image": b64(CAT), "top_k": "many"}), 422, "top_k")
    body = assert_problem(c.post(f"{API}/classify", json={"image": b64(CAT), "colour": "red"}), 422, "colour")
    assert body["errors"] == [{"field": "colour", "message": "Extra inputs are not permitted"}]
    assert_problem(c.post(f"{API}/analyze", files=upload(CAT), data={"gpss": "true"}), 422, "gpss")
    assert_problem(c.post(f"{API}/classify", files={**upload(CAT), "other": ("x.jpg", CAT, "image/jpeg")}),
                   422, "other")


def test_no_client_path_is_read(served):
    c = served.client
    body = assert_problem(c.post(f"{API}/classify", json={"image": "/etc/passwd"}), 422, "base64")
    assert "root:" not in json.dumps(body)
    # a path that happens to be valid base64 is decoded as bytes, not opened
    body = assert_problem(c.post(f"{API}/classify", json={"image": "/etc/hosts/x"}), 422)
    assert "localhost" not in body["detail"]
    for route, payload in (("describe", {"image": b64(CAT), "folder": "/etc"}),
                           ("search", {"query": "cat", "db": "/etc/passwd"}),
                           ("search", {"query": "cat", "folder": "/"}),
                           ("index", {"folders": ["/etc"]})):
        field = next(k for k in payload if k in ("folder", "db", "folders"))
        body = assert_problem(c.post(f"{API}/{route}", json=payload), 422, field)
        assert body["title"] == "Invalid option"


def test_image_url_refused_when_disabled(served):
    body = assert_problem(served.client.post(f"{API}/classify", json={"image_url": "https://example.com/cat.jpg"}),
                          422, "does not fetch")
    assert body["title"] == "Invalid option"


def test_limits_413_and_max_pixels(tmp_path):
    with client_for(tmp_path, max_request_bytes=100_000, max_pixels=1_000_000) as (app, c):
        big = b"x" * 150_000
        body = assert_problem(c.post(f"{API}/classify", content=big, headers={"content-type": "application/json"}),
                              413, "97.7 KiB")
        assert body["title"] == "Request too large"
        assert_problem(c.post(f"{API}/classify", files=upload(big)), 413)

        def chunks():  # no Content-Length: refused while it streams in
            for _ in range(30):
                yield b"y" * 10_000

        r = c.post(f"{API}/classify", content=chunks(), headers={"content-type": "application/json"})
        assert "content-length" not in r.request.headers
        assert_problem(r, 413)
        # under the limit in bytes, over it in pixels: refused before decoding, the limit named
        png = huge_png(8000)
        assert len(png) < 100_000
        body = assert_problem(c.post(f"{API}/classify", files=upload(png, "big.png", "image/png")), 422,
                              "8000x8000", "megapixels", "limit of 1")
        assert body["title"] == "Invalid image"
        # an upscale whose output would be over the limit: refused, not run
        photo = resized_jpeg("chelsea.jpg", 800)  # 800x532 = 0.43 MP in, 1.7 MP at 2x
        assert len(photo) < 100_000
        body = assert_problem(c.post(f"{API}/upscale", files=upload(photo), data={"scale": "2", "model": "lanczos"}),
                              422, "megapixels", "limit")
        assert "800x532" in body["detail"]
        r = c.post(f"{API}/upscale", files=upload(resized_jpeg("chelsea.jpg", 400)),
                   data={"scale": "2", "model": "lanczos"})  # 400x266 -> 0.43 MP: fine
        assert r.status_code == 200, r.text
        assert c.get(f"{API}/health").status_code == 200


def test_queue_full_is_429(tmp_path):
    with client_for(tmp_path, workers=1, queue_size=1) as (app, c):
        with busy_worker(app):
            r = c.post(f"{API}/classify?async=true", files=upload(CAT))  # takes the one queue place
            assert r.status_code == 202
            waiting = r.json()["id"]
            for url in (f"{API}/classify", f"{API}/classify?async=true"):
                r = c.post(url, files=upload(CAT))
                body = assert_problem(r, 429, "retry")
                assert int(r.headers["retry-after"]) >= 1
                assert body["title"] == "Too many requests"
            assert c.get(f"{API}/health").json()["queue"] == {"waiting": 1, "running": 1, "capacity": 1}
        assert wait_job(c, waiting)["state"] == "done"
        wait_idle(app)
        assert c.post(f"{API}/classify", files=upload(CAT)).status_code == 200


def test_timeout_is_504_and_cancels_the_job(tmp_path):
    with client_for(tmp_path, workers=1, timeout=0.2) as (app, c):
        with busy_worker(app):
            t0 = time.monotonic()
            r = c.post(f"{API}/classify", files=upload(CAT))
            assert time.monotonic() - t0 < 5
            body = assert_problem(r, 504, "0.2 s", "?async=true")
            job_id = re.search(r"jobs/([0-9a-f]{16})", body["detail"]).group(1)
            job = c.get(f"{API}/jobs/{job_id}").json()
            assert job["state"] == "cancelled" and "deadline" in job["error"]["detail"]
        wait_idle(app)
        job = c.get(f"{API}/jobs/{job_id}").json()
        assert job["state"] == "cancelled" and job["started"] is None  # it never ran


# --- API key, CORS, access log -----------------------------------------------------------

def test_api_key(tmp_path):
    key = "s3cret-key"
    with client_for(tmp_path, api_key=key) as (app, c):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}, {"Authorization": key},
                        {"Authorization": "Bearer "}):
            r = c.get(f"{API}/models", headers=headers)
            assert_problem(r, 401, "API key")
            assert r.headers["www-authenticate"].startswith("Bearer")
        assert_problem(c.post(f"{API}/classify", files=upload(CAT)), 401)
        assert_problem(c.get(f"{API}/jobs/0123456789abcdef"), 401)  # 401 before 404: ids are not probed
        for headers in ({"Authorization": f"Bearer {key}"}, {"authorization": f"bearer {key}"}, {"X-API-Key": key}):
            assert c.get(f"{API}/models", headers=headers).status_code == 200, headers
        r = c.post(f"{API}/classify", files=upload(CAT), headers={"X-API-Key": key})
        assert r.status_code == 200 and r.json()["labels"]
        health = c.get(f"{API}/health")
        assert health.status_code == 200 and health.json()["auth"] is True
        page = c.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_cors_off_by_default(served):
    r = served.client.get(f"{API}/health", headers={"Origin": "https://elsewhere.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    r = served.client.options(f"{API}/classify", headers={"Origin": "https://elsewhere.example",
                                                          "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_when_configured(tmp_path):
    origin = "https://app.example"
    with client_for(tmp_path, cors_origins=[origin], api_key="k", max_request_bytes=1000) as (app, c):
        r = c.get(f"{API}/health", headers={"Origin": origin})
        assert r.headers["access-control-allow-origin"] == origin
        r = c.get(f"{API}/health", headers={"Origin": "https://other.example"})
        assert "access-control-allow-origin" not in r.headers
        # the preflight carries no key and must still pass
        r = c.options(f"{API}/classify", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "X-API-Key, Content-Type"})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == origin
        assert "POST" in r.headers["access-control-allow-methods"]
        assert "x-api-key" in r.headers["access-control-allow-headers"].lower()
        # a cross-origin page must be able to read why it was refused: 401 and 413 carry CORS headers
        r = c.get(f"{API}/models", headers={"Origin": origin})
        assert_problem(r, 401)
        assert r.headers["access-control-allow-origin"] == origin
        r = c.post(f"{API}/classify", content=b"x" * 2000, headers={"Origin": origin, "X-API-Key": "k",
                                                                    "content-type": "application/json"})
        assert_problem(r, 413)
        assert r.headers["access-control-allow-origin"] == origin


def test_access_log_one_json_line_per_request(served, caplog):
    caplog.set_level(logging.INFO, logger="ocula.access")
    r1 = served.client.get(f"{API}/health")
    r2 = served.client.get(f"{API}/no-such-route")
    r3 = served.client.post(f"{API}/colors", files=upload(CAT))
    records = [json.loads(rec.getMessage()) for rec in caplog.records if rec.name == "ocula.access"]
    assert len(records) == 3, records
    for rec, resp, method, path in ((records[0], r1, "GET", f"{API}/health"),
                                    (records[1], r2, "GET", f"{API}/no-such-route"),
                                    (records[2], r3, "POST", f"{API}/colors")):
        assert rec["method"] == method and rec["path"] == path and rec["status"] == resp.status_code
        assert rec["request_id"] == resp.headers["x-request-id"]
        assert rec["bytes"] == len(resp.content) and rec["ms"] >= 0
    assert [r["status"] for r in records] == [200, 404, 200]


# --- where and when: place and time in every analysis, search by place, moments ------------

@pytest.fixture(scope="module")
def placed(tmp_path_factory):
    """An app over photos taken in Shanghai (a trip), Paris and at (0, 0), indexed."""
    from conftest import exif_photo

    tmp = tmp_path_factory.mktemp("serve-places")
    folder = tmp / "trips"
    folder.mkdir()
    for day in range(2):
        exif_photo(folder / f"sh-{day}.jpg", 31.24, 121.49, f"2024:05:{12 + day:02d} 10:00:00")
    exif_photo(folder / "paris.jpg", 48.8584, 2.2945, "2023:07:14 21:00:00")
    exif_photo(folder / "zero.jpg", 0.0, 0.0, "2000:01:01 00:00:00")
    app = make_app(tmp, folder=folder, workers=1)
    with TestClient(app) as client:
        done = wait_job(client, client.post(f"{API}/index", json={}).json()["id"], timeout=180)
        assert done["state"] == "done" and done["result"]["moments"] == 2, done
        yield SimpleNamespace(client=client, folder=folder)


def test_every_analysis_carries_place_and_time(served):
    photo = small_jpeg(gps=True)  # Amsterdam
    for route in ("analyze", "metadata"):
        r = served.client.post(f"{API}/{route}", files=upload(photo), data={"steps": "metadata"} if route == "analyze"
                               else {})
        assert r.status_code == 200, r.text
        m = r.json()["metadata"] if route == "analyze" else r.json()
        assert m["place"]["city"]["en"] == "Amsterdam" and m["place"]["label_zh"].endswith("阿姆斯特丹")
        assert m["gps"] is None and "time" in m and m["time"]["known"] is False  # no capture time in this file
    r = served.client.post(f"{API}/metadata", json={"image": b64(photo), "place": False})
    assert r.json()["place"] is None


def test_describe_over_http_names_the_place(placed):
    from pathlib import Path

    photo = (Path(placed.folder) / "paris.jpg").read_bytes()
    r = placed.client.post(f"{API}/describe", files=upload(photo), data={"purpose": "news", "language": "zh",
                                                                         "steps": "metadata"})
    assert r.status_code == 200 and "法国法兰西岛巴黎" in r.json()["text"] and "2023年7月14日" in r.json()["text"]
    r = placed.client.post(f"{API}/describe", files=upload(photo), data={"purpose": "travel", "steps": "metadata",
                                                                         "place": "false"})
    assert r.status_code == 200 and "[WHERE]" in r.json()["text"] and "Paris" not in r.json()["text"]


def test_search_by_place_near_and_moments_over_http(placed):
    c = placed.client
    s = c.post(f"{API}/search", json={"query": "巴黎", "top_k": 2}).json()
    assert s["hits"][0]["path"] == "trips/paris.jpg" and s["hits"][0]["place"] == "Paris, Île-de-France, France"
    assert s["places"] == ["巴黎"]
    s = c.post(f"{API}/search", json={"query": "上海 2024"}).json()
    assert s["years"] == [2024] and [h["path"] for h in s["hits"]][:2] == ["trips/sh-0.jpg", "trips/sh-1.jpg"]
    s = c.post(f"{API}/search", json={"near": "Shanghai", "within_km": 30}).json()
    assert sorted(h["path"] for h in s["hits"]) == ["trips/sh-0.jpg", "trips/sh-1.jpg"]
    m = c.post(f"{API}/moments", json={}).json()
    assert m["source"] == "index" and m["undated"] == 1
    trip = next(x for x in m["moments"] if x["title_zh"] == "上海，2024年5月12日至13日")
    assert trip["count"] == 2 and trip["center_lat"] is None and trip["cover_path"].startswith("trips/sh-")
    assert c.get(trip["cover_thumbnail"]).status_code == 200
    s = c.post(f"{API}/search", json={"moment": trip["id"]}).json()
    assert [h["path"] for h in s["hits"]] == ["trips/sh-0.jpg", "trips/sh-1.jpg"]
    assert_problem(c.post(f"{API}/search", json={"near": "Xyzzyville"}), 422, "no town or city")
    assert_problem(c.post(f"{API}/search", json={"near": "Paris", "within_km": 0}), 422)
    assert_problem(c.post(f"{API}/search", json={"moment": "nope"}), 422, "no moment")
    assert_problem(c.post(f"{API}/moments", json={"db": "/etc/passwd"}), 422)
