"""Benchmark `ocula serve`: requests/s and latency of POST /api/v1/analyze against a real
uvicorn server on loopback, next to the library called in-process on the same image bytes.

    .venv/bin/python bench/serve.py [--seconds 20] [--images 40] [--concurrency 1,4,16]
                                    [--threads 2] [--workers N] [--rounds 1] [--queue 64]

- Inputs: ``--images`` distinct JPEGs, 640 px on the longest side, made from the bench photos
  (bench/.data/photos-2mp, else the sample photos); every request sends one as multipart.
- Served: ``ocula serve`` in a subprocess (the CLI, as an operator runs it), default workers
  (ocula.serve.config.default_workers; ``--workers`` to override), ``--queue 64`` so that
  concurrency 16 never gets 429. The client is ``concurrency`` threads with one keep-alive
  connection each (http.client, bodies encoded before timing): as little CPU as it can take.
- In-process: ``ocula.analyze(bytes)`` from a pool of ``concurrency`` threads, same settings
  (``OCULA_THREADS``), same images.
- Each side is warmed up (models loaded, a few calls) before it is timed; each cell runs
  ``--seconds``; with ``--rounds`` > 1 the sides alternate and each keeps its best round.
- Ratio = served / in-process throughput (target: >= 0.85 at concurrency 4).

Prints a table and writes bench/results/serve.json. The machines here are shared and noisy.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, table, write_json  # noqa: E402

PHOTOS = ROOT / "bench" / ".data" / "photos-2mp"
DATA = ROOT / "bench" / ".data" / "photos-640"
PATH = "/api/v1/analyze"


def images_640(count: int) -> list[bytes]:
    """``count`` distinct JPEGs of 640 px on the longest side (made once, kept in DATA)."""
    from PIL import Image, ImageOps

    DATA.mkdir(parents=True, exist_ok=True)
    existing = sorted(DATA.glob("img_*.jpg"))
    if len(existing) < count:
        sources = sorted(PHOTOS.glob("*.jpg")) or sorted((ROOT / "samples").glob("*.jpg"))
        for i in range(count):
            with Image.open(sources[i % len(sources)]) as img:
                img = ImageOps.exif_transpose(img).convert("RGB")
                if i >= len(sources) and i % 2:  # repeats of a source differ: mirrored, recompressed
                    img = ImageOps.mirror(img)
                img.thumbnail((640, 640), Image.Resampling.LANCZOS)
                img.save(DATA / f"img_{i:04d}.jpg", quality=85 + i % 10)
        existing = sorted(DATA.glob("img_*.jpg"))
    return [p.read_bytes() for p in existing[:count]]


def multipart(data: bytes, name: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`ocula serve` in a subprocess on a free loopback port."""

    def __init__(self, env: dict[str, str], queue: int, workers: int | None = None):
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ocula", "serve", "--port", str(self.port), "--queue", str(queue),
             "--log-level", "warning", *(["--workers", str(workers)] if workers else [])],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"ocula serve exited with {self.proc.returncode}:\n{self.output()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("ocula serve did not answer /api/v1/health within 60 s")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _pcts(latencies: list[float]) -> tuple[float, float]:
    xs = sorted(latencies)
    if not xs:
        return float("nan"), float("nan")
    return xs[len(xs) // 2] * 1000, xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1000


def run_cell(call_factory, concurrency: int, n_inputs: int, seconds: float) -> dict:
    """``concurrency`` threads, each calling its own ``call(i)`` on inputs i, i+c, ... until
    ``seconds`` pass; requests/s over the completed calls, p50/p99 latency."""
    start = threading.Barrier(concurrency + 1)
    lat: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[str] = []
    stop_at = [0.0]

    def worker(k: int) -> None:
        call = call_factory()
        i = k
        start.wait()
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at[0]:
                break
            try:
                call(i % n_inputs)
            except Exception as e:  # noqa: BLE001 - reported, not raised: the other threads go on
                errors.append(f"{type(e).__name__}: {e}")
                break
            lat[k].append(time.perf_counter() - t0)
            i += concurrency

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(concurrency)]
    for t in threads:
        t.start()
    t_start = time.perf_counter()
    stop_at[0] = t_start + seconds
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t_start
    all_lat = [x for xs in lat for x in xs]
    p50, p99 = _pcts(all_lat)
    if errors:
        raise SystemExit(f"{len(errors)} call(s) failed, first: {errors[0]}")
    return {"requests": len(all_lat), "rps": len(all_lat) / elapsed, "p50_ms": p50, "p99_ms": p99}


def served_calls(port: int, bodies: list[tuple[bytes, str]]):
    def factory():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

        def call(i: int) -> None:
            body, ctype = bodies[i]
            conn.request("POST", PATH, body=body, headers={"Content-Type": ctype})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}: {data[:300]!r}")
        return call
    return factory


def inprocess_calls(images: list[bytes], settings):
    from ocula import analyze

    def factory():
        def call(i: int) -> None:
            analyze(images[i], settings=settings)
        return call
    return factory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20, help="timed seconds per cell (default 20)")
    ap.add_argument("--images", type=int, default=40, help="distinct 640 px JPEGs (default 40)")
    ap.add_argument("--concurrency", default="1,4,16", help="comma-separated client concurrencies")
    ap.add_argument("--threads", type=int, default=None, help="threads per model (default: ocula's, min(4, cores))")
    ap.add_argument("--rounds", type=int, default=1, help="alternate the sides this many times, keep the best")
    ap.add_argument("--workers", type=int, default=None, help="server workers (default: the server's own default)")
    ap.add_argument("--queue", type=int, default=64, help="server queue size (no 429 at the largest concurrency)")
    args = ap.parse_args()
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]

    home = Path(tempfile.mkdtemp(prefix="ocula-bench-serve-"))
    env = {**os.environ, "OCULA_HOME": str(home)}
    if args.threads:
        env["OCULA_THREADS"] = str(args.threads)
    os.environ.update({k: env[k] for k in ("OCULA_HOME", "OCULA_THREADS") if k in env})
    from ocula.config import load_settings
    from ocula.serve.config import default_workers

    settings = load_settings()
    workers = args.workers or default_workers(settings)
    images = images_640(args.images)
    bodies = [multipart(data, f"img_{i:04d}.jpg") for i, data in enumerate(images)]
    print(f"{len(images)} JPEGs of 640 px ({sum(map(len, images)) / len(images) / 1024:.0f} KB on average), "
          f"{settings.threads} threads per model, {workers} server worker(s), queue {args.queue}, "
          f"{args.seconds:g} s per cell, {os.cpu_count()} cores\n")

    server = Server(env, args.queue, args.workers)
    try:
        local, remote = inprocess_calls(images, settings), served_calls(server.port, bodies)
        for factory in (local, remote):  # warm-up: models loaded, every image decoded once
            call = factory()
            for i in range(min(len(images), 8)):
                call(i)
        best: dict[tuple[str, int], dict] = {}
        for r in range(args.rounds):
            for c in levels:
                sides = [("in-process", local), ("served", remote)]
                for side, factory in sides if (r + c) % 2 == 0 else sides[::-1]:
                    cell = run_cell(factory, c, len(images), args.seconds)
                    key = (side, c)
                    if key not in best or cell["rps"] > best[key]["rps"]:
                        best[key] = cell
                    print(f"  round {r + 1} c={c:<3} {side:<10} {cell['rps']:6.2f} req/s  "
                          f"p50 {cell['p50_ms']:6.0f} ms  p99 {cell['p99_ms']:6.0f} ms", flush=True)
    finally:
        server.stop()

    rows, out = [], []
    for c in levels:
        a, b = best[("in-process", c)], best[("served", c)]
        ratio = b["rps"] / a["rps"]
        rows.append({"concurrency": c, "in-process req/s": f"{a['rps']:.2f}", "p50 ms": f"{a['p50_ms']:.0f}",
                     "p99 ms": f"{a['p99_ms']:.0f}", "served req/s": f"{b['rps']:.2f}",
                     "served p50 ms": f"{b['p50_ms']:.0f}", "served p99 ms": f"{b['p99_ms']:.0f}",
                     "served / in-process": f"{ratio:.2f}"})
        out.append({"concurrency": c, "in_process": a, "served": b, "ratio": ratio})
    print()
    print(table(rows, list(rows[0])))
    at4 = next((o["ratio"] for o in out if o["concurrency"] == 4), None)
    if at4 is not None:
        print(f"\nserved / in-process throughput at concurrency 4: {at4:.2f}  (target >= 0.85)")
    path = write_json("serve", {"images": len(images), "side": 640, "threads": settings.threads,
                                "workers": workers, "queue": args.queue, "seconds": args.seconds,
                                "rounds": args.rounds, "cells": out})
    print(f"written {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
