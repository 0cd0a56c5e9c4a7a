"""A bounded load test of `ocula serve` on loopback: real uvicorn in a thread, 48 client threads
posting /analyze for ~10 s. The bounded queue must answer every request with 200 or 429 (with
Retry-After), never a 5xx or a dropped connection; it must drain afterwards and stay healthy;
and every job accepted with 202 meanwhile must finish and stay readable."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest

from serve_helpers import API, TERMINAL, make_app, resized_jpeg, serving

pytestmark = [pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1"])]

CLIENTS = 48
SECONDS = 10.0
MAX_SECONDS = 25.0
ASYNC_JOBS = 30


def test_bounded_queue_under_load(tmp_path):
    httpx = pytest.importorskip("httpx")
    photo = resized_jpeg("chelsea.jpg", 640)
    app = make_app(tmp_path, workers=1, queue_size=8)
    with serving(app) as base:
        with httpx.Client(base_url=base, timeout=60) as c:  # load the models before the clock starts
            r = c.post(f"{API}/analyze", files={"image": ("warm.jpg", photo, "image/jpeg")})
            assert r.status_code == 200, r.text

        stop = threading.Event()
        lock = threading.Lock()
        statuses: Counter[int] = Counter()
        problems: list[str] = []  # anything but 200 / 429-with-Retry-After
        accepted: list[str] = []  # ids of 202 jobs

        def record(status: int, note: str = "") -> None:
            with lock:
                statuses[status] += 1
                if note:
                    problems.append(note)

        def hammer(n: int) -> None:
            """Post /analyze and wait for the answer, again and again, until stopped."""
            rnd = random.Random(n)
            with httpx.Client(base_url=base, timeout=60) as c:
                while not stop.is_set():
                    try:
                        r = c.post(f"{API}/analyze", files={"image": (f"c{n}.jpg", photo, "image/jpeg")})
                    except httpx.HTTPError as e:
                        record(-1, f"client {n}: {type(e).__name__}: {e}")
                        continue
                    if r.status_code == 200:
                        ok = "cat" in r.json()["labels"][0]["name"].lower()
                        record(200, "" if ok else f"client {n}: 200 without the cat: {r.text[:200]}")
                        # think time: without it the clients being answered take every freed place at once
                        stop.wait(rnd.uniform(0.05, 0.5))
                    elif r.status_code == 429:
                        retry = r.headers.get("retry-after", "")
                        polite = retry.isdigit() and int(retry) >= 1
                        record(429, "" if polite else f"429 without Retry-After: {r.headers}")
                        # a polite client waits about as long as it is told
                        stop.wait(min(float(retry or 1), 2.0) * rnd.uniform(0.3, 1.0))
                    else:
                        record(r.status_code, f"client {n}: {r.status_code} {r.text[:300]}")

        def submit_jobs() -> None:
            """?async=true jobs among the others until 30 are accepted; an impatient client (retries
            a 429 at once), so that it gets its share of the queue."""
            with httpx.Client(base_url=base, timeout=60) as c:
                while len(accepted) < ASYNC_JOBS and not stop.is_set():
                    try:
                        r = c.post(f"{API}/analyze?async=true", files={"image": ("a.jpg", photo, "image/jpeg")})
                    except httpx.HTTPError as e:
                        record(-1, f"async client: {type(e).__name__}: {e}")
                        continue
                    if r.status_code == 202:
                        job = r.json()
                        accepted.append(job["id"])
                        ok = r.headers.get("location") == f"{API}/jobs/{job['id']}"
                        record(202, "" if ok else f"202 without its Location: {r.headers}")
                    elif r.status_code == 429:
                        retry = r.headers.get("retry-after", "")
                        record(429, "" if retry.isdigit() else f"429 without Retry-After: {r.headers}")
                        stop.wait(0.02)
                    else:
                        record(r.status_code, f"async client: {r.status_code} {r.text[:300]}")

        threads = [threading.Thread(target=hammer, args=(i,), daemon=True) for i in range(CLIENTS)]
        threads.append(threading.Thread(target=submit_jobs, daemon=True))
        t0 = time.monotonic()
        for t in threads:
            t.start()
        # ~10 s of load, longer (up to MAX_SECONDS) if the 30 async jobs are not all in yet
        while not stop.wait(0.1):
            elapsed = time.monotonic() - t0
            if elapsed >= MAX_SECONDS or (elapsed >= SECONDS and len(accepted) >= ASYNC_JOBS):
                stop.set()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a client thread hung"
        elapsed = time.monotonic() - t0

        summary = f"{dict(statuses)} in {elapsed:.1f} s, {len(accepted)} async jobs accepted"
        print(summary)
        assert problems == [], f"{summary}; first problems: {problems[:5]}"
        assert set(statuses) <= {200, 202, 429}, summary
        assert statuses[200] >= 5 and statuses[429] >= 5, summary
        assert len(accepted) >= ASYNC_JOBS, summary

        with httpx.Client(base_url=base, timeout=30) as c:
            # the queue drains and the server is healthy
            deadline = time.monotonic() + 30
            while True:
                h = c.get(f"{API}/health")
                assert h.status_code == 200 and h.json()["status"] == "ok"
                queue = h.json()["queue"]
                if queue["waiting"] == 0 and queue["running"] == 0:
                    break
                assert time.monotonic() < deadline, f"the queue did not drain: {queue}"
                time.sleep(0.1)
            # no lost jobs: every accepted id is known and done
            for jid in accepted:
                r = c.get(f"{API}/jobs/{jid}")
                assert r.status_code == 200, (jid, r.text)
                job = r.json()
                assert job["state"] in TERMINAL and job["state"] == "done", job
                assert "cat" in job["result"]["labels"][0]["name"].lower(), job
            # and it still answers work at once
            r = c.post(f"{API}/analyze", files={"image": ("after.jpg", photo, "image/jpeg")})
            assert r.status_code == 200
