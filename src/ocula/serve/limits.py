"""Limits that apply before any route runs: request size (413), API key (401), access log.
Plain ASGI middleware, so a huge body is refused while it streams in, not after."""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from typing import Any, Awaitable, Callable

from .problems import MEDIA_TYPE, Problem

access_log = logging.getLogger("ocula.access")
Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


def _size(n: int) -> str:
    # "0 MiB" for a 100 KB limit told the client nothing
    if n >= 2**20:
        return f"{round(n / 2**20, 1):g} MiB"
    return f"{round(n / 1024, 1):g} KiB" if n >= 1024 else f"{n} bytes"


class TooLarge(Problem):
    """413, raised from inside a body read: a Problem, so that every layer that turns a body's
    errors into answers (multipart parsing, JSON) passes it on unchanged."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request is over the server's limit of {_size(limit)} "
                              "(ocula serve --max-request-mb)", title="Request too large")


async def send_problem(send: Callable, problem: Problem, path: str) -> None:
    body = json.dumps(problem.body(path)).encode()
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    headers += [(k.lower().encode(), v.encode()) for k, v in problem.headers.items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _discard(receive: Callable, budget: int) -> None:
    """Read and drop what is left of a refused body, up to ``budget`` bytes. A server that answers
    and closes while the client is still sending makes the kernel reset the connection, and
    clients that send the whole body before reading (Python's http.client, many others) then see
    the reset instead of the 413."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class BodyLimit:
    """413 when Content-Length says too much, or when the streamed body passes the limit. Up to
    ``drain`` bytes of a refused body are read and dropped first (default: twice the limit), so
    that ordinary clients see the answer; beyond that the connection is simply closed."""

    def __init__(self, app: ASGIApp, limit: int, drain: int | None = None):
        self.app = app
        self.limit = limit
        self.drain = 2 * limit if drain is None else drain

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return await send_problem(send, Problem(400, "Content-Length is not a number"), scope["path"])
            if declared > self.limit:
                if declared <= self.drain:
                    await _discard(receive, self.drain)
                return await send_problem(send, TooLarge(self.limit), scope["path"])
        seen = 0

        async def counted_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    if message.get("more_body", False):
                        await _discard(receive, self.drain - seen)
                    raise TooLarge(self.limit)
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        started = False
        try:
            await self.app(scope, counted_receive, tracking_send)
        except TooLarge as e:  # read outside the routes' error handling
            if not started:
                await send_problem(send, e, scope["path"])


class ApiKey:
    """Every /api route needs the key when one is set; the page and its assets do not.
    ``prefix``: the paths that need it (``ocula mcp --http`` guards /mcp the same way)."""

    def __init__(self, app: ASGIApp, key: str | None, prefix: str = "/api/"):
        self.app = app
        self.key = key.encode() if key else None
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if self.key is None or scope["type"] != "http" or not scope["path"].startswith(self.prefix) \
                or scope["path"] == "/api/v1/health" or scope.get("method") == "OPTIONS":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-api-key", b"")
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer ":
            given = auth[7:].strip()
        if not given or not hmac.compare_digest(given, self.key):
            problem = Problem(401, "this server needs an API key: send 'Authorization: Bearer KEY' or "
                                   "'X-API-Key: KEY'", title="Unauthorized",
                              headers={"WWW-Authenticate": 'Bearer realm="ocula"'})
            return await send_problem(send, problem, scope["path"])
        await self.app(scope, receive, send)


class AccessLog:
    """One JSON line per request: method, path, status, bytes, milliseconds, client, request id."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        rid = uuid.uuid4().hex[:12]
        status = 0
        sent = 0

        async def logging_send(message: dict) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, logging_send)
        finally:
            client = scope.get("client") or ("", 0)
            access_log.info(json.dumps({
                "request_id": rid, "method": scope.get("method"), "path": scope["path"], "status": status,
                "bytes": sent, "ms": round((time.perf_counter() - t0) * 1000, 1), "client": client[0]}))
