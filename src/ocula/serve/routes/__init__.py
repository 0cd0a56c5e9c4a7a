"""The HTTP routes of the task table (``ocula.tasks.registry``). ``task_router`` makes one route
per task: generated (``image_route`` with an options model made from the task's options: an
image in, the task's typed result out) or hand-made (a module here names a ``fn(router, task)``
in the task's entry). Routes that are not tasks (health, models, jobs, thumbnails) keep
module-level routers."""

from __future__ import annotations

from typing import Annotated, Any, Callable, Literal

from fastapi import APIRouter, Query, Request
from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, create_model

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
                result: type[BaseModel], summary: str, *, image: str = "required", json_only: bool = False,
                tags: list[str] | None = None) -> None:
    """POST /{name}: parse the body, run ``call`` in the worker pool, answer its result."""

    async def handler(request: Request, as_job: AsJob = False):
        parsed = await parse(request, options, image=image)
        state = state_of(request)
        return await run(request, name, lambda job: _named(call(parsed, state, job), parsed.name), as_job)

    handler.__name__ = name.replace("-", "_").replace("/", "_")
    router.add_api_route(f"/{name}", handler, methods=["POST"], summary=summary, operation_id=handler.__name__,
                         tags=tags,
                         responses={200: {"model": result}, 202: {"model": JobInfo}, **responses(*IMAGE_ERRORS)},
                         openapi_extra=request_body(options, image=image, json_only=json_only))


_TYPES: dict[type, Any] = {str: str, int: int, float: float, bool: bool}


def options_model(task: Any, *, base: type[Options] = Options, **extra: Any) -> type[Options]:
    """The pydantic model of a task's options as the HTTP API takes them (old names accepted;
    ``server`` bounds override the library's). ``extra``: more fields, as create_model takes them."""
    fields: dict[str, Any] = {}
    for o in task.options:
        if not o.http:
            continue
        if o.type is list:
            kind: Any = CommaList
        elif o.choices:
            kind = Literal[o.choices]  # type: ignore[valid-type]
        else:
            kind = _TYPES[o.type]
        if o.default is None and o.type is not list:
            kind = kind | None
        limits = {k: v for k, v in {"ge": o.ge, "le": o.le, "gt": o.gt, "max_length": o.max_length}.items()
                  if v is not None and not (o.choices and k == "max_length")}
        limits.update(o.server)
        default = limits.pop("default", o.default)  # what the server does unless asked otherwise
        alias = {"validation_alias": AliasChoices(o.name, *o.aliases)} if o.aliases else {}
        fields[o.name] = (kind, Field(default, description=o.help, **limits, **alias))
    fields.update(extra)
    cls_name = "".join(p.capitalize() for p in task.name.replace("-", "_").split("_")) + "Options"
    return create_model(cls_name, __base__=base, **fields)


def _auto(task: Any) -> Callable[[Parsed, ServerState, Job], Any]:
    def call(parsed: Parsed, state: ServerState, job: Job) -> Any:
        fn, image, options = task.load(), parsed.images["image"], parsed.options.model_dump()
        if task.writes_image:
            from .enhance import write_and_keep

            return write_and_keep(lambda out: fn(image, output=out, **options, settings=state.settings), job)
        return fn(image, **options, settings=state.settings)
    return call


def task_router() -> APIRouter:
    """Every task's route, as the task table stands now."""
    from importlib import import_module

    from ...tasks import registry

    router = APIRouter()
    for task in registry.tasks():
        if task.route is None:
            continue
        if task.route == registry.AUTO:
            image_route(router, task.name, options_model(task), _auto(task), task.result_type(), task.summary,
                        image=task.image, tags=[task.group])
        else:
            module, _, fn = task.route.partition(":")
            getattr(import_module(module), fn)(router, task)
    return router
