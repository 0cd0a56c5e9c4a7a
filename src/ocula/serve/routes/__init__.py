"""One module per capability group; each exposes ``router``. ``image_route`` makes the
common kind of route: an image (and options) in, a task's typed result out."""

from __future__ import annotations

from typing import Annotated, Any, Callable

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict

from ..inputs import Parsed, parse, request_body
from ..jobs import Job, JobInfo
from ..problems import responses
from ..run import ServerState, run, state_of

# 409: no index yet (search, dupes) or the job was cancelled while the request waited;
# 502: an image_url could not be fetched (servers that accept URLs)
IMAGE_ERRORS = (400, 401, 409, 413, 415, 422, 429, 502, 503, 504)


def _split(v: Any) -> Any:
    if isinstance(v, str):
        return [s.strip() for s in v.split(",") if s.strip()]
    return v


# "labels,colors" in a form field, or ["labels", "colors"] in JSON
CommaList = Annotated[list[str] | None, BeforeValidator(_split)]


class Options(BaseModel):
    """Options of a route. Unknown fields are refused, so a typo is an error, not ignored."""
    model_config = ConfigDict(extra="forbid")


def _named(result: Any, name: str) -> Any:
    """Results name their input; for an upload that is its file name, not "<bytes>"."""
    data = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    for holder in (data, data.get("facts") if isinstance(data, dict) else None):
        info = holder.get("image") if isinstance(holder, dict) else None
        if isinstance(info, dict) and info.get("source") in ("<bytes>", "upload"):
            info["source"] = name
    return data


AsJob = Annotated[bool, Query(alias="async", description="answer 202 with a job at once instead of waiting")]


def image_route(router: APIRouter, name: str, options: type[Options], call: Callable[[Parsed, ServerState, Job], Any],
                result: type[BaseModel], summary: str, *, image: str = "required", json_only: bool = False) -> None:
    """POST /{name}: parse the body, run ``call`` in the worker pool, answer its result."""

    async def handler(request: Request, as_job: AsJob = False):
        parsed = await parse(request, options, image=image)
        state = state_of(request)
        return await run(request, name, lambda job: _named(call(parsed, state, job), parsed.name), as_job)

    handler.__name__ = name.replace("-", "_").replace("/", "_")
    router.add_api_route(f"/{name}", handler, methods=["POST"], summary=summary, operation_id=handler.__name__,
                         responses={200: {"model": result}, 202: {"model": JobInfo}, **responses(*IMAGE_ERRORS)},
                         openapi_extra=request_body(options, image=image, json_only=json_only))
