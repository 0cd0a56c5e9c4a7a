"""The bounded worker pool every inference runs in, and the jobs clients can follow.

A fixed number of worker threads take jobs from a bounded queue: when it is full, new work is
refused at once (429) instead of piling up until the server falls over. Models are loaded once
per process by the tasks themselves (``backends.cached_model``), so every worker shares them.
A job is cancelled before it starts by dropping it; while running, at its next progress report.
"""

from __future__ import annotations

import math
import queue
import secrets
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from datetime import datetime, timezone
from typing import Any, Callable, Literal

from pydantic import BaseModel, Field

from .problems import Problem, from_exception

State = Literal["queued", "running", "done", "failed", "cancelled"]
TERMINAL = ("done", "failed", "cancelled")


class QueueFull(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"the work queue is full; retry in {retry_after} s")


class Cancelled(Exception):
    """Raised inside a running job at its next progress report after DELETE /jobs/{id}."""


class JobProgress(BaseModel):
    done: int = 0
    total: int | None = None
    message: str = ""


class JobInfo(BaseModel):
    id: str
    kind: str
    state: State
    progress: JobProgress = Field(default_factory=JobProgress)
    result: dict[str, Any] | None = Field(None, description="the task's typed result, once done")
    error: dict[str, Any] | None = Field(None, description="problem details, once failed or cancelled")
    outputs: list[str] = Field(default_factory=list, description="URLs of the images the job produced")
    created: datetime
    started: datetime | None = None
    finished: datetime | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Job:
    def __init__(self, kind: str, fn: Callable[["Job"], Any], prefix: str):
        self.id = secrets.token_hex(8)  # unguessable: a job id is all it takes to read a result
        self.kind = kind
        self.fn = fn
        self.state: State = "queued"
        self.progress = JobProgress()
        self.result: dict[str, Any] | None = None
        self.error: Problem | None = None
        self.outputs: list[tuple[bytes, str]] = []  # (bytes, media type)
        self.created = _now()
        self.started: datetime | None = None
        self.finished: datetime | None = None
        self.future: Future = Future()  # resolves when the job reaches a terminal state
        self.version = 0  # bumped on every change: the SSE stream sends a snapshot when it moves
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._prefix = prefix

    # --- called from the task --------------------------------------------------------
    def report(self, done: int, total: int | None = None, message: str = "") -> None:
        """Progress from the task; raises Cancelled if the client cancelled the job."""
        with self._lock:
            self.progress = JobProgress(done=done, total=total, message=message)
            self.version += 1
        if self._cancel.is_set():
            raise Cancelled()

    def add_output(self, data: bytes, media_type: str) -> str:
        """Keep an image the job made; returns the URL that serves it."""
        with self._lock:
            self.outputs.append((data, media_type))
            return self.output_url(len(self.outputs) - 1)

    @property
    def url(self) -> str:
        return f"{self._prefix}/jobs/{self.id}"

    def output_url(self, n: int) -> str:
        return f"{self.url}/outputs/{n}"

    # --- state -----------------------------------------------------------------------
    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def _finish(self, state: State, result: dict | None = None, error: Problem | None = None) -> bool:
        with self._lock:
            if self.state in TERMINAL:
                return False
            self.state, self.result, self.error = state, result, error
            self.finished = _now()
            self.version += 1
        self.future.set_result(state)
        return True

    def cancel(self, reason: str = "cancelled by the client") -> None:
        self._cancel.set()
        with self._lock:
            queued = self.state == "queued"
        if queued:  # never ran: it is finished now; the worker will skip it
            self._finish("cancelled", error=Problem(409, reason, title="Cancelled"))

    def info(self) -> JobInfo:
        with self._lock:
            return JobInfo(id=self.id, kind=self.kind, state=self.state, progress=self.progress.model_copy(),
                           result=self.result, error=self.error.body() if self.error else None,
                           outputs=[self.output_url(i) for i in range(len(self.outputs))],
                           created=self.created, started=self.started, finished=self.finished)

    def run(self) -> None:
        with self._lock:
            if self.state != "queued":
                return
            self.state, self.started = "running", _now()
            self.version += 1
        try:
            value = self.fn(self)
        except Cancelled:
            self._finish("cancelled", error=Problem(409, "cancelled by the client while running", title="Cancelled"))
            return
        except BaseException as e:  # the job fails, the worker lives on
            if self._cancel.is_set():  # a task's own cancellation error (generate's) after our request
                self._finish("cancelled", error=Problem(409, "cancelled by the client while running",
                                                         title="Cancelled"))
            else:
                self._finish("failed", error=from_exception(e))
            return
        if self._cancel.is_set():
            self._finish("cancelled", error=Problem(409, "cancelled by the client", title="Cancelled"))
            return
        data = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
        self._finish("done", result=data)


class JobManager:
    """Worker threads over a bounded queue, and a registry of recent jobs."""

    def __init__(self, workers: int, capacity: int, keep: int = 200, prefix: str = "/api/v1"):
        self.workers = workers
        self.capacity = capacity
        self.keep = keep
        self.prefix = prefix
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._waiting = 0
        self._running = 0
        self._durations: list[float] = []  # recent job seconds, for Retry-After
        self._threads: list[threading.Thread] = []
        with self._lock:
            self._start_workers()

    def _start_workers(self) -> None:
        """Start the worker threads on the current queue (with ``_lock`` held). Also after a
        shutdown: an app whose lifespan ends and starts again (test clients do) keeps working."""
        self._threads = [threading.Thread(target=self._work, args=(self._queue,), name=f"ocula-worker-{i}",
                                          daemon=True) for i in range(self.workers)]
        for t in self._threads:
            t.start()

    def submit(self, kind: str, fn: Callable[[Job], Any]) -> Job:
        """Queue ``fn(job)``; raises QueueFull when ``capacity`` jobs already wait."""
        job = Job(kind, fn, self.prefix)
        with self._lock:
            if self._waiting >= self.capacity and self._running >= self.workers:
                raise QueueFull(self._retry_after())
            if not self._threads:  # shut down earlier: start again
                self._start_workers()
            self._waiting += 1
            self._jobs[job.id] = job
            self._evict()
            self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"waiting": self._waiting, "running": self._running, "capacity": self.capacity,
                    "workers": self.workers, "jobs": len(self._jobs)}

    def shutdown(self) -> None:
        """Cancel what waits; workers stop after their current job."""
        with self._lock:
            jobs = list(self._jobs.values())
        for j in jobs:
            if j.state == "queued":
                j.cancel("the server is shutting down")
        with self._lock:  # the old workers drain their queue (skipping cancelled jobs), then stop
            old, threads = self._queue, self._threads
            self._queue, self._threads = queue.Queue(), []
        for _ in threads:
            old.put(None)

    def _retry_after(self) -> int:
        recent = self._durations[-20:]
        mean = sum(recent) / len(recent) if recent else 1.0
        return max(1, math.ceil(mean * (self._waiting + self._running) / self.workers))

    def _evict(self) -> None:
        excess = len(self._jobs) - self.keep
        if excess <= 0:
            return
        for jid in [j for j, job in self._jobs.items() if job.state in TERMINAL][:excess]:
            del self._jobs[jid]

    def _work(self, jobs: queue.Queue[Job | None]) -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            with self._lock:
                self._waiting -= 1
                self._running += 1
            t0 = time.perf_counter()
            try:
                job.run()
            finally:
                with self._lock:
                    self._running -= 1
                    self._durations = (self._durations + [time.perf_counter() - t0])[-50:]
