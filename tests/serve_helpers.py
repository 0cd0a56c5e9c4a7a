"""Shared by the `ocula serve` tests: an app on a temporary OCULA_HOME and index, small
images made on the fly, the problem-details check, a worker held busy on purpose, and
uvicorn on loopback in a thread."""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
API = "/api/v1"
TERMINAL = ("done", "failed", "cancelled")


def make_app(tmp: Path, *, folder: Path | None = None, db: Path | None = None, **config: Any):
    """create_app on its own OCULA_HOME (tmp/home) and index (tmp/index.db unless given)."""
    pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install ocula[serve])")
    from ocula.config import load_settings
    from ocula.serve.app import create_app
    from ocula.serve.config import ServeConfig

    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    settings = load_settings(env={"OCULA_HOME": str(home)})
    return create_app(ServeConfig(folders=[folder] if folder else [], db=db or tmp / "index.db",
                                  settings=settings, **config))


def copy_samples(dest: Path) -> Path:
    """samples/ without the README, plus an exact copy of coffee.jpg (a duplicate to find)."""
    shutil.copytree(SAMPLES, dest, ignore=shutil.ignore_patterns("*.md"))
    shutil.copy(dest / "coffee.jpg", dest / "coffee-copy.jpg")
    return dest


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def encode(img, fmt: str = "JPEG", **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def small_jpeg(w: int = 64, h: int = 48, *, gps: bool = False) -> bytes:
    """A tiny photo-like JPEG (a crop of the cat), optionally with EXIF GPS and camera tags."""
    from PIL import Image

    with Image.open(SAMPLES / "chelsea.jpg") as im:
        img = im.convert("RGB").resize((w, h))
    exif = Image.Exif()
    if gps:
        exif[0x010F] = "OculaCam"  # Make
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd.update({1: "N", 2: (52.0, 22.0, 0.0), 3: "E", 4: (4.0, 53.0, 0.0)})
    return encode(img, "JPEG", quality=90, exif=exif)


def resized_jpeg(name: str, side: int) -> bytes:
    from PIL import Image

    with Image.open(SAMPLES / name) as im:
        img = im.convert("RGB")
        img.thumbnail((side, side))
        if max(img.size) < side:  # samples are ~450-512 px: scale up to the side asked for
            f = side / max(img.size)
            img = img.resize((round(img.width * f), round(img.height * f)))
    return encode(img, "JPEG", quality=90)


def text_png(text: str = "HELLO OCULA") -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (360, 80), "white")
    ImageDraw.Draw(img).text((10, 15), text, fill="black", font=ImageFont.load_default(size=40))
    return encode(img, "PNG")


def huge_png(side: int = 8000) -> bytes:
    """side x side pixels in a few KB: a 1-bit PNG of one colour."""
    from PIL import Image

    return encode(Image.new("1", (side, side)), "PNG", optimize=True)


def open_image(data: bytes):
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def assert_problem(resp, status: int, *detail_words: str) -> dict[str, Any]:
    """An RFC 9457 problem: media type, the four members, the status, no stack trace."""
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    assert resp.headers["content-type"].split(";")[0] == "application/problem+json", resp.headers
    body = resp.json()
    for key in ("type", "title", "status", "detail"):
        assert key in body, (key, body)
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    text = resp.text
    assert "Traceback" not in text and 'File "' not in text and "site-packages" not in text, text
    for word in detail_words:
        assert word.lower() in body["detail"].lower(), (word, body["detail"])
    return body


def wait_job(client, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll GET /jobs/{id} until it is terminal."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"{API}/jobs/{job_id}")
        assert r.status_code == 200, r.text
        job = r.json()
        if job["state"] in TERMINAL:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']} after {timeout} s"
        time.sleep(0.05)


def wait_idle(app, timeout: float = 30.0) -> dict[str, int]:
    """Until no job waits or runs in the app's pool."""
    jobs = app.state.ocula.jobs
    deadline = time.monotonic() + timeout
    while True:
        stats = jobs.stats()
        if stats["waiting"] == 0 and stats["running"] == 0:
            return stats
        assert time.monotonic() < deadline, f"the queue did not drain: {stats}"
        time.sleep(0.02)


@contextmanager
def busy_worker(app, count: int = 1, timeout: float = 30.0) -> Iterator[list]:
    """Hold ``count`` workers on jobs blocked on an Event (submitted straight to the pool);
    they are released and finished on exit. Yields the blocking jobs."""
    jobs = app.state.ocula.jobs
    gate = threading.Event()
    started = threading.Semaphore(0)

    def block(job):
        started.release()
        if not gate.wait(timeout):
            raise TimeoutError("the test never released the worker")
        return {"blocked": True}

    held = [jobs.submit("test-block", block) for _ in range(count)]
    try:
        for _ in held:
            assert started.acquire(timeout=10), "a worker did not pick up the blocking job"
        yield held
    finally:
        gate.set()
        for job in held:
            job.future.result(timeout=10)


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) for each event of a text/event-stream body (comments and retry skipped)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


@contextmanager
def serving(app, startup: float = 30.0) -> Iterator[str]:
    """The app under uvicorn on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is not installed (pip install ocula[serve])")
    from ocula.serve.connections import uvicorn_config

    # the server `ocula serve` runs: its connection limits (timeouts, caps) included
    srv = uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=0, limits=app.state.ocula.config.connection_limits(),
                                        log_level="warning", access_log=False))
    thread = threading.Thread(target=srv.run, name="ocula-serve-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{srv.servers[0].sockets[0].getsockname()[1]}"
    finally:
        srv.should_exit = True
        thread.join(timeout=20)
