"""`ocula serve` against hostile clients (issue 13): bodies that crash parsers, paths that leak,
oversized uploads read by ordinary clients, slowloris heads and bodies, greedy clients, huge
headers. The socket-level cases run real uvicorn on loopback with small limits so they are quick."""

from __future__ import annotations

import http.client
import json
import socket
import time
from contextlib import contextmanager

import pytest

from hostile import tiff_with_broken_frame
from serve_helpers import API, assert_problem, make_app, serving, small_jpeg, wait_job

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install ocula[serve])")
from starlette.testclient import TestClient  # noqa: E402

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])


@contextmanager
def client_for(tmp_path, **config):
    app = make_app(tmp_path, **config)
    with TestClient(app) as client:
        yield app, client


def _multipart(fields: dict[str, bytes], boundary: str = "ocula-test-boundary") -> tuple[bytes, str]:
    parts = []
    for name, data in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name.split("#")[0]}"; '
                     f'filename="{name}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


# --- bodies that broke the parsers: 400/422, never 500 ------------------------------------------

def test_json_nested_100000_deep_is_400(tmp_path):
    with client_for(tmp_path) as (app, c):
        deep = "[" * 100_000 + "]" * 100_000
        for body in (deep, '{"steps": ' + deep + "}"):
            assert_problem(c.post(f"{API}/analyze", content=body, headers={"content-type": "application/json"}),
                           400, "nested too deeply")


def test_integers_of_more_than_4300_digits(tmp_path):
    with client_for(tmp_path) as (app, c):
        r = c.post(f"{API}/classify", content='{"top_k": 1' + "0" * 5000 + "}",
                   headers={"content-type": "application/json"})
        assert_problem(r, 400, "could not be parsed", "4300 digits")
        r = c.post(f"{API}/classify", files={"image": ("a.jpg", small_jpeg(), "image/jpeg")},
                   data={"top_k": "9" * 5000})
        assert_problem(r, 422, "top_k")
        assert_problem(c.get(f"{API}/images/{'9' * 5000}/thumbnail"), 422)


def test_a_second_image_part_is_refused(tmp_path):
    with client_for(tmp_path) as (app, c):
        body, ctype = _multipart({"image": small_jpeg(), "image#2": small_jpeg(32, 32)})
        assert_problem(c.post(f"{API}/classify", content=body, headers={"content-type": ctype}),
                       422, "2 'image' parts", "one image per request")


# --- what clients see of the server's layout: folder names, never paths -------------------------

def test_health_index_results_and_errors_show_no_server_paths(tmp_path):
    folder = tmp_path / "private-layout" / "photos"
    folder.mkdir(parents=True)
    (folder / "cat.jpg").write_bytes(small_jpeg(96, 72))
    (folder / "broken.tif").write_bytes(tiff_with_broken_frame())
    secret = str(tmp_path)
    with client_for(tmp_path, folder=folder, workers=1) as (app, c):
        h = c.get(f"{API}/health")
        assert h.json()["folders"] == ["photos"] and secret not in h.text
        missing = c.post(f"{API}/search", json={"query": "cat"})
        assert_problem(missing, 409, "photos") and secret not in missing.text
        assert secret not in c.get("/openapi.json").text
        job = c.post(f"{API}/index", json={}).json()
        done = wait_job(c, job["id"], timeout=300)
        assert done["state"] == "done", done
        text = json.dumps(done)
        assert secret not in text, text
        report = done["result"]
        assert report["db"] == "index" and report["roots"] == ["photos"]
        assert [f["source"] for f in report["failed"]] == ["photos/broken.tif"]
        assert report["failed"][0]["error"].startswith("corrupt TIFF data")


def test_problem_details_hide_server_paths(tmp_path):
    from ocula.errors import OculaError
    from ocula.serve.problems import from_exception, hide_paths

    hide_paths({str(tmp_path / "shared" / "photos"): "photos", str(tmp_path / "home"): "OCULA_HOME"})
    p = from_exception(OculaError(f"model file {tmp_path}/home/models/x.onnx is missing; "
                                  f"{tmp_path}/shared/photos/a.jpg too"))
    assert str(tmp_path) not in p.detail
    assert p.detail == "model file OCULA_HOME/models/x.onnx is missing; photos/a.jpg too"


# --- oversized uploads, read the way Python's http.client (and clients like it) read ------------

def _post_raw(base: str, path: str, body, headers: dict) -> tuple[int, dict]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers, encode_chunked=not isinstance(body, bytes))
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def test_oversized_uploads_get_413_with_http_client(tmp_path):
    app = make_app(tmp_path, max_request_bytes=100_000)
    photo = small_jpeg(64, 48)
    body, ctype = _multipart({"image": photo + b"\0" * 150_000})
    with serving(app) as base:
        # Content-Length over the limit: the server reads (and drops) the body before answering,
        # so a client that sends everything before reading still gets the answer, not a reset
        status, doc = _post_raw(base, f"{API}/classify", body, {"Content-Type": ctype})
        assert status == 413 and "limit of 97.7 KiB" in doc["detail"]

        def chunks():  # no Content-Length: chunked transfer
            for i in range(0, len(body), 8192):
                yield body[i:i + 8192]

        status, doc = _post_raw(base, f"{API}/classify", chunks(), {"Content-Type": ctype})
        assert status == 413 and doc["title"] == "Request too large", doc
        status, doc = _post_raw(base, f"{API}/classify", chunks(), {"Content-Type": "application/json"})
        assert status == 413
        # and the server is fine afterwards
        ok, _ = _post_raw(base, f"{API}/colors", _multipart({"image": photo})[0], {"Content-Type": ctype})
        assert ok == 200


# --- slow and greedy clients ------------------------------------------------------------------

def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _answer(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes (or the timeout)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def test_slowloris_heads_and_bodies_are_cut_off(tmp_path):
    app = make_app(tmp_path, header_timeout=1.0, body_timeout=1.0, min_body_rate=1000)
    with serving(app) as base:
        heads = [_connect(base) for _ in range(10)]
        bodies = [_connect(base) for _ in range(10)]
        for s in bodies:
            s.sendall(f"POST {API}/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 100000\r\n\r\n".encode())
        t0 = time.monotonic()
        closed: dict[int, float] = {}
        answers: dict[int, bytes] = {}
        socks = heads + bodies
        for s in socks:
            s.setblocking(False)
        while len(closed) < len(socks) and time.monotonic() - t0 < 15:
            for i, s in enumerate(socks):
                if i in closed:
                    continue
                try:  # a drip: one byte of head or body every 0.2 s
                    s.send(b"X-Slow: a\r\n"[:1] if i < 10 else b"{")
                except OSError:
                    pass
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                answers[i] = answers.get(i, b"") + data
                if not data or b"Request timeout" in answers[i]:
                    closed[i] = time.monotonic() - t0
            time.sleep(0.2)
        for s in socks:
            s.close()
        assert len(closed) == 20, f"still open after 15 s: {sorted(set(range(20)) - set(closed))}"
        assert max(closed.values()) < 8, closed  # 1 s for a head; 1 s + a few bytes' credit for a body
        assert all(b"408" in answers[i] for i in range(20)), answers
        # a slow but honest upload keeps its connection: 100 kB at ~100 kB/s, 50 kB/s required
        app2 = make_app(tmp_path / "2", header_timeout=1.0, body_timeout=1.0, min_body_rate=50_000)
    with serving(app2) as base2:
        body, ctype = _multipart({"image": small_jpeg(64, 48) + b"\0" * 100_000})
        s = _connect(base2)
        s.sendall(f"POST {API}/colors HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
        for i in range(0, len(body), 10_000):
            s.sendall(body[i:i + 10_000])
            time.sleep(0.1)
        answer = _answer(s)
        s.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]


def test_connections_per_client_are_capped(tmp_path):
    app = make_app(tmp_path, max_connections_per_client=3, header_timeout=30)
    with serving(app) as base:
        held = [_connect(base) for _ in range(3)]
        time.sleep(0.3)  # the server has accepted them
        extra = _connect(base)
        extra.sendall(f"GET {API}/health HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answer = _answer(extra)
        extra.close()
        assert answer.startswith(b"HTTP/1.1 429"), answer[:200]
        assert b"retry-after: 1" in answer.lower() and b"too many connections" in answer.lower()
        held.pop().close()
        time.sleep(0.3)
        again = _connect(base)
        again.sendall(f"GET {API}/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        assert _answer(again).startswith(b"HTTP/1.1 200")
        again.close()
        for s in held:
            s.close()


def test_request_head_size_is_capped(tmp_path):
    app = make_app(tmp_path, max_header_bytes=4096)
    with serving(app) as base:
        s = _connect(base)
        s.sendall(f"GET {API}/health HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 5000}\r\n\r\n".encode())
        answer = _answer(s)
        s.close()
        assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
        s = _connect(base)
        s.sendall(f"GET {API}/health HTTP/1.1\r\nHost: x\r\nX-Fine: {'a' * 2000}\r\nConnection: close\r\n\r\n".encode())
        assert _answer(s).startswith(b"HTTP/1.1 200")
        s.close()
