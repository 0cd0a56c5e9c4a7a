"""Benchmark `describe`: images/s of the built-in writer over >= 200 images next to analyze
alone on the same images (target: describe <= 1.2x the analyze time), and the LLM writer's
own overhead per image (prompt building + validation, the server's time excluded) against
a canned OpenAI-compatible server on loopback.

    python bench/describe.py [--count 200] [--threads 2]

Prints a table and writes bench/results/describe.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, photo_set, table, write_json  # noqa: E402

DATA = ROOT / "bench" / ".data" / "photos-2mp"


class CannedLLM:
    """A loopback chat-completions server answering every request with one valid alt text."""

    def __init__(self, answer: dict):
        payload = json.dumps({"id": "b", "object": "chat.completion", "model": "bench",
                              "choices": [{"index": 0, "finish_reason": "stop",
                                           "message": {"role": "assistant",
                                                       "content": json.dumps(answer)}}]}).encode()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    os.environ["OCULA_THREADS"] = str(args.threads)

    from ocula.config import get_settings
    from ocula.results import Failure
    from ocula.tasks.analyze import analyze_many
    from ocula.tasks.describe import describe_many
    from ocula.writing.base import DescribeRequest
    from ocula.writing.llm import LLMWriter

    get_settings.cache_clear()
    settings = get_settings()
    paths = photo_set(DATA, args.count)
    list(analyze_many(paths[:2], settings=settings))  # warm the models

    def timed_analyze(ps):
        t0 = time.perf_counter()
        facts = [x for _, x in analyze_many(ps, settings=settings)]
        assert not any(isinstance(f, Failure) for f in facts)
        return time.perf_counter() - t0, facts

    def timed_describe(ps):
        t0 = time.perf_counter()
        out = [d for _, d in describe_many(ps, purpose="alt", settings=settings)]
        assert not any(isinstance(d, Failure) for d in out)
        return time.perf_counter() - t0

    half = len(paths) // 2
    t_an, facts = timed_analyze(paths[:half])
    t_de = timed_describe(paths[:half])
    t_de += timed_describe(paths[half:])
    t_an2, facts2 = timed_analyze(paths[half:])
    t_an += t_an2
    facts += facts2
    ratio = t_de / t_an

    server = CannedLLM({"text": "A photo with several objects, seen from the front."})
    try:
        writer = LLMWriter(settings.model_copy(update={"llm_url": server.url, "llm_model": "bench"}))
        request = DescribeRequest(purpose="alt")
        for f in facts[:5]:  # warm the HTTP client
            writer.write(f, request, None)
        writer.stats.update(images=0, requests=0, overhead_s=0.0, server_s=0.0)
        for f in facts:
            try:
                writer.write(f, request, None)
            except Exception:  # a canned answer may contradict some facts: overhead still counts
                pass
        st = dict(writer.stats)
    finally:
        server.close()
    overhead_ms = 1000 * st["overhead_s"] / max(st["images"], 1)
    round_trip_ms = 1000 * st["server_s"] / max(st["requests"], 1)

    rows = [
        {"run": "analyze alone", "images": len(paths), "s": f"{t_an:.1f}", "images/s": f"{len(paths) / t_an:.2f}"},
        {"run": "describe --purpose alt (builtin)", "images": len(paths), "s": f"{t_de:.1f}",
         "images/s": f"{len(paths) / t_de:.2f}"},
    ]
    print(table(rows, ["run", "images", "s", "images/s"]))
    print(f"\ndescribe / analyze time: {ratio:.3f}  (target <= 1.2)")
    print(f"LLM writer overhead: {overhead_ms:.2f} ms/image (prompt + validation; loopback round trip "
          f"{round_trip_ms:.2f} ms excluded), {st['images']} images")
    path = write_json("describe", {"images": len(paths), "threads": args.threads, "analyze_s": t_an,
                                   "describe_s": t_de, "ratio": ratio, "llm_overhead_ms": overhead_ms,
                                   "llm_round_trip_ms": round_trip_ms, "llm_stats": st})
    print(f"written {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
