"""Follow, cancel and collect jobs: JSON, Server-Sent Events, output images."""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Path as PathParam, Request
from fastapi.responses import Response, StreamingResponse

from ..jobs import TERMINAL, Job, JobInfo
from ..problems import Problem, responses
from ..run import state_of

router = APIRouter(tags=["jobs"])
JobId = PathParam(pattern=r"^[0-9a-f]{16}$", description="the id POST answered with")
POLL = 0.1  # seconds between looks at a job for the event stream
KEEPALIVE = 15.0  # a comment line this often keeps proxies from closing an idle stream


def _job(request: Request, job_id: str) -> Job:
    job = state_of(request).jobs.get(job_id)
    if job is None:
        raise Problem(404, f"no job {job_id} (finished jobs are kept for a while, then dropped)")
    return job


@router.get("/jobs/{job_id}", response_model=JobInfo, summary="A job's state, progress and result",
            operation_id="get_job", responses=responses(401, 404, 422))
async def get_job(request: Request, job_id: str = JobId) -> JobInfo:
    return _job(request, job_id).info()


@router.delete("/jobs/{job_id}", response_model=JobInfo, summary="Cancel a job",
               operation_id="cancel_job", responses=responses(401, 404, 422))
async def cancel_job(request: Request, job_id: str = JobId) -> JobInfo:
    job = _job(request, job_id)
    if job.state not in TERMINAL:
        job.cancel()
    return job.info()


@router.get("/jobs/{job_id}/events", summary="Progress as Server-Sent Events (events: progress, state)",
            operation_id="job_events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}, **responses(401, 404, 422)})
async def job_events(request: Request, job_id: str = JobId):
    job = _job(request, job_id)

    async def stream():
        seen, state, idle = -1, None, 0.0
        yield "retry: 2000\n\n"
        while True:
            if job.version != seen:
                seen = job.version
                info = job.info()
                kind = "state" if info.state != state else "progress"
                state = info.state
                yield f"event: {kind}\nid: {seen}\ndata: {json.dumps(info.model_dump(mode='json'))}\n\n"
                idle = 0.0
                if state in TERMINAL:
                    return
            elif idle >= KEEPALIVE:
                yield ": keep-alive\n\n"
                idle = 0.0
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL)
            idle += POLL

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/jobs/{job_id}/outputs/{n}", summary="An image a job produced", operation_id="job_output",
            response_class=Response, responses={200: {"content": {"image/png": {}, "image/jpeg": {}}},
                                                **responses(401, 404, 422)})
async def job_output(request: Request, job_id: str = JobId, n: int = PathParam(ge=0, le=1000)):
    job = _job(request, job_id)
    if n >= len(job.outputs):
        raise Problem(404, f"job {job_id} has {len(job.outputs)} output(s)")
    data, media = job.outputs[n]
    return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=3600"})
