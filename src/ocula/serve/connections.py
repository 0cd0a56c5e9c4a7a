"""Connection-level limits of `ocula serve`: what uvicorn does not bound by itself.

uvicorn (h11) closes idle keep-alive connections, but a client that sends its request head or
body slowly (slowloris) held a connection open indefinitely: 40 of 40 such connections were
still open after 30 s. Here, per connection:

- the request head (request line and headers) must arrive within ``header_timeout`` seconds
  and stay under ``max_header_bytes`` (408 / 431 otherwise);
- a body must keep coming: it may take ``body_timeout`` seconds, plus one second for every
  ``min_body_rate`` bytes received (Apache's mod_reqtimeout rule), so a large upload on a slow
  but honest link finishes while a drip of bytes is cut off (408);
- one peer address may hold at most ``max_connections_per_client`` connections at once; the
  one over is answered 429. Behind a reverse proxy every client has the proxy's address: set
  the cap to 0 (off) there and cap clients at the proxy.

The server is uvicorn with its h11 protocol subclassed (``uvicorn_config``), so these rules
hold whichever HTTP parser uvicorn would otherwise pick.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .problems import MEDIA_TYPE, Problem


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float = 10.0
    body_timeout: float = 20.0
    min_body_rate: int = 16 * 1024
    max_header_bytes: int = 16 * 1024
    max_connections_per_client: int = 64  # 0: no cap
    keep_alive: float = 5.0


def raw_problem(problem: Problem) -> bytes:
    """A whole HTTP/1.1 response carrying ``problem``, for answers given outside any request
    cycle (before the head is parsed), with ``Connection: close``."""
    body = json.dumps(problem.body()).encode()
    head = [f"HTTP/1.1 {problem.status} {problem.title}", f"content-type: {MEDIA_TYPE}",
            f"content-length: {len(body)}", "connection: close",
            *(f"{k}: {v}" for k, v in problem.headers.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def protocol_class(limits: ConnectionLimits) -> type:
    """An h11 protocol class enforcing ``limits``; every connection of one server shares the
    per-client counts (one event loop: no locking needed)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    open_per_client: Counter[str] = Counter()
    cap = limits.max_connections_per_client

    async def too_many(scope: dict, receive: Any, send: Any) -> None:
        problem = Problem(429, f"too many connections from your address at once (this server allows {cap}); "
                               "reuse one connection or wait for others to finish", title="Too many connections",
                          headers={"Retry-After": "1"})
        body = json.dumps(problem.body(scope.get("path"))).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"), (b"retry-after", b"1")]})
        await send({"type": "http.response.body", "body": body})

    class LimitedH11Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._peer = self.client[0] if self.client else ""
            open_per_client[self._peer] += 1
            if cap and open_per_client[self._peer] > cap:
                self.app = too_many  # uvicorn runs self.app for each request of this connection
            self._phase: str | None = None
            self._timer: Any = None
            self._watch()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._peer is not None:
                open_per_client[self._peer] -= 1
                if open_per_client[self._peer] <= 0:
                    del open_per_client[self._peer]
                self._peer = None
            self._cancel()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE and self._head_too_large(data):
                return self._refuse(Problem(431, f"the request head is over the server's limit of "
                                                 f"{limits.max_header_bytes} bytes", title="Request header too large"))
            if self._phase == "body":
                self._received += len(data)
            super().data_received(data)
            self._watch()

        def _head_too_large(self, data: bytes) -> bool:
            """Whether the request head being received (a body may follow it in ``data``) has
            passed the limit without ending."""
            limit = limits.max_header_bytes
            buffered = self.conn.trailing_data[0]
            if len(buffered) + len(data) <= limit:
                return False
            return b"\r\n\r\n" not in (buffered + data[:limit + 4])[:limit + 4]

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._watch()

        # -- deadlines ---------------------------------------------------------------------

        def _watch(self) -> None:
            """Start the head or body clock when the connection enters that phase."""
            if self.transport.is_closing():
                return self._cancel()
            state = self.conn.their_state
            now = self.loop.time()
            if state is h11.IDLE and not (self.cycle and not self.cycle.response_complete):
                if self._phase != "head":  # waiting for a request head (the first, or the next one)
                    self._phase, self._start = "head", now
                    self._arm(limits.header_timeout)
            elif state is h11.SEND_BODY:
                if self._phase != "body":
                    self._phase, self._start, self._received = "body", now, 0
                    self._arm(limits.body_timeout)
            elif self._phase is not None:  # the request is in: the app's time is not the client's
                self._phase = None
                self._cancel()

        def _deadline(self) -> float:
            if self._phase == "head":
                return self._start + limits.header_timeout
            return self._start + limits.body_timeout + self._received / max(1, limits.min_body_rate)

        def _arm(self, delay: float) -> None:
            self._cancel()
            self._timer = self.loop.call_later(max(0.0, delay), self._check)

        def _cancel(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _check(self) -> None:
            self._timer = None
            if self._phase is None or self.transport.is_closing():
                return
            left = self._deadline() - self.loop.time()
            if left > 0:  # the body kept coming: its deadline moved on
                return self._arm(left)
            if self._phase == "head":
                self._refuse(Problem(408, f"the request head did not arrive within {limits.header_timeout:g} s",
                                     title="Request timeout"))
            else:
                self._refuse(Problem(408, "the request body arrived too slowly (the server needs it within "
                                          f"{limits.body_timeout:g} s plus 1 s per {limits.min_body_rate} bytes)",
                                     title="Request timeout"))

        def _refuse(self, problem: Problem) -> None:
            """Answer ``problem`` and close, whatever the app is doing (it sees a disconnect)."""
            self._phase = None
            self._cancel()
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:
                if cycle.response_started:  # too late for an answer: just close
                    self.transport.close()
                    return
                cycle.disconnected = True  # the app's reads end and its answer is dropped
                cycle.message_event.set()
            self.transport.write(raw_problem(problem))
            self.transport.close()

    return LimitedH11Protocol


def uvicorn_config(app: Any, *, host: str, port: int, limits: ConnectionLimits, **kw: Any) -> Any:
    """The uvicorn configuration `ocula serve` runs with (also used by the tests)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, http=protocol_class(limits),
                          h11_max_incomplete_event_size=limits.max_header_bytes,
                          timeout_keep_alive=max(1, round(limits.keep_alive)), **kw)
