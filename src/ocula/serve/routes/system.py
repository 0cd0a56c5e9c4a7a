"""Health and the model catalogue."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ...version import __version__
from ..problems import responses
from ..run import indexed, state_of

router = APIRouter(tags=["system"])


class QueueInfo(BaseModel):
    waiting: int
    running: int
    capacity: int = Field(description="jobs that may wait before new ones get 429")


class Health(BaseModel):
    status: str = "ok"
    version: str
    workers: int
    queue: QueueInfo
    auth: bool = Field(description="whether /api routes need an API key")
    folders: list[str] = Field(description="names of the folders POST /index indexes (never their paths)")
    indexed: bool = Field(description="whether an index exists (search needs one)")
    urls: bool = Field(description="whether image_url inputs are accepted")


class ModelInfo(BaseModel):
    name: str
    task: str
    runtime: str
    license: str
    size_mb: float | None = None
    description: str = ""
    default: bool = False
    usable: bool
    reason: str = ""
    fix: str | None = None


@router.get("/health", response_model=Health, summary="Liveness, queue and configuration",
            operation_id="health")
async def health(request: Request) -> Health:
    st = state_of(request)
    stats = st.jobs.stats()
    return Health(version=__version__, workers=stats["workers"],
                  queue=QueueInfo(waiting=stats["waiting"], running=stats["running"], capacity=stats["capacity"]),
                  auth=st.config.api_key is not None, folders=[f.name for f in st.config.folders],
                  indexed=indexed(st), urls=st.config.allow_urls)


def _models(settings) -> list[ModelInfo]:
    from ...models import list_specs, status

    out = []
    for spec in list_specs():
        s = status(spec, settings)
        out.append(ModelInfo(name=spec.name, task=spec.task, runtime=spec.runtime, license=spec.license,
                             size_mb=spec.size_mb, description=spec.description, default=spec.default,
                             usable=s.usable, reason=s.reason, fix=s.fix))
    return out


@router.get("/models", response_model=list[ModelInfo], summary="Every model ocula knows and whether it can run",
            operation_id="models", responses=responses(401))
async def models(request: Request) -> list[ModelInfo]:
    return await run_in_threadpool(_models, state_of(request).settings)
