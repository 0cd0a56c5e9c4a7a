"""Running a task for a request: in the worker pool, waited for with a deadline (504) or
answered at once as a job (202) with ``?async=true``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from fastapi import Request
from fastapi.responses import JSONResponse

from ..config import Settings
from .config import ServeConfig
from .jobs import Job, JobManager, QueueFull
from .problems import Problem


@dataclass
class ServerState:
    config: ServeConfig
    settings: Settings
    jobs: JobManager
    db: Path | str  # a SQLite file or a postgresql:// URL


def indexed(state: ServerState) -> bool:
    """Whether the server's index exists (False too when its database cannot be reached). A
    function of ``db`` and ``settings`` only, so that anything carrying those two will do."""
    from ..errors import OculaError
    from ..index import exists

    try:
        return exists(state.db, state.settings)
    except OculaError:
        return False


def state_of(request: Request) -> ServerState:
    return request.app.state.ocula


def job_response(job: Job, status: int = 202) -> JSONResponse:
    return JSONResponse(job.info().model_dump(mode="json"), status_code=status,
                        headers={"Location": job.url})


def submit(request: Request, kind: str, fn: Callable[[Job], Any]) -> Job:
    try:
        return state_of(request).jobs.submit(kind, fn)
    except QueueFull as e:
        raise Problem(429, f"the server is busy ({e}); retry after {e.retry_after} s",
                      title="Too many requests", headers={"Retry-After": str(e.retry_after)}) from None


async def run(request: Request, kind: str, fn: Callable[[Job], Any], as_job: bool = False) -> JSONResponse:
    """Queue ``fn``; answer with its result, or with the job when ``as_job``."""
    job = submit(request, kind, fn)
    if as_job:
        return job_response(job)
    timeout = state_of(request).config.timeout
    try:
        # shield: the deadline must not cancel the job's future itself, only our wait
        await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job.future)), timeout)
    except asyncio.TimeoutError:
        job.cancel("the request's deadline passed")
        raise Problem(504, f"{kind} took longer than the server's limit of {timeout:g} s; retry with "
                           f"?async=true to run it as a job (GET /api/v1/jobs/{job.id})",
                      title="Gateway timeout") from None
    if job.state == "done":
        return JSONResponse(job.result)
    raise job.error or Problem(500, "the job ended without a result")
