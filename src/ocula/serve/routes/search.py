"""Search the server's indexed folders by words or by example, find duplicates, (re)index,
and thumbnails of indexed images. Which folders are indexed is the operator's choice
(``ocula serve --folder``): no client-supplied path is ever opened."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Path as PathParam, Query, Request
from fastapi.responses import Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from ...results import DupeGroup, DupesResult, IndexReport, Moment, MomentsResult, SearchHit, SearchResult
from ..jobs import JobInfo
from ..problems import Problem, responses
from ..run import ServerState, indexed, job_response, state_of, submit
from . import AsJob, Options, image_route, options_model

# routes that are not tasks: thumbnails of indexed images
router = APIRouter(tags=["search"])


def _need_index(state: ServerState) -> None:
    if not indexed(state):
        how = ("POST /api/v1/index indexes " + ", ".join(f.name for f in state.config.folders)) if state.config.folders \
            else "start the server with --folder DIR, then POST /api/v1/index"
        raise Problem(409, f"nothing is indexed on this server yet; {how}", title="No index")


class ServedSearchHit(SearchHit):
    thumbnail: str | None = Field(None, description="URL of a JPEG thumbnail of the image (GET it)")


class ServedSearchResult(SearchResult):
    """SearchResult as served: each hit also carries its thumbnail URL."""
    hits: list[ServedSearchHit] = Field(default_factory=list)


class ServedMoment(Moment):
    cover_thumbnail: str | None = Field(None, description="URL of a JPEG thumbnail of the cover photo (GET it)")


class ServedMomentsResult(MomentsResult):
    """MomentsResult as served: paths as "<folder>/<path inside it>", the cover's thumbnail URL,
    and no coordinates (moment centres stay on the server)."""
    moments: list[ServedMoment] = Field(default_factory=list)


class ServedDupeGroup(DupeGroup):
    thumbnails: list[str] = Field(default_factory=list, description="thumbnail URLs, in the order of paths")


class ServedDupesResult(DupesResult):
    """DupesResult as served: each group also carries its thumbnail URLs."""
    groups: list[ServedDupeGroup] = Field(default_factory=list)


def shared_path(path: str, folders: list) -> str:
    """A path as clients see it: "<folder name>/<path inside it>", never the server's layout."""
    for folder in folders:
        try:
            return str(Path(folder.name) / Path(path).relative_to(folder))
        except ValueError:
            continue
    return Path(path).name


def _for_client(result: SearchResult | DupesResult | IndexReport | MomentsResult, state: ServerState
                ) -> dict[str, Any]:
    prefix, folders = state.jobs.prefix, state.config.folders
    data = result.model_dump(mode="json")
    if "db" in data:
        data["db"] = "index"  # the server's file layout is not the client's business
    if "source" in data:
        data["source"] = "index"
    for m in data["moments"] if isinstance(data.get("moments"), list) else []:  # an index report counts them
        m["center_lat"] = m["center_lon"] = None
        m["cover_path"] = shared_path(m["cover_path"], folders) if m.get("cover_path") else None
        m["cover_thumbnail"] = f"{prefix}/images/{m['cover']}/thumbnail" if str(m.get("cover", "")).isdigit() \
            else None
    for hit in data.get("hits", []):
        hit["path"] = shared_path(hit["path"], folders)
        hit["thumbnail"] = f"{prefix}/images/{hit['id']}/thumbnail" if hit.get("id") is not None else None
    if "roots" in data:  # an index run's report
        data["roots"] = [shared_path(r, folders) for r in data["roots"]]
    for failure in data.get("failed", []):
        failure["source"] = shared_path(failure["source"], folders)
    for group in data.get("groups", []):
        group["paths"] = [shared_path(p, folders) for p in group["paths"]]
        group["thumbnails"] = [f"{prefix}/images/{i}/thumbnail" for i in group.get("ids", [])]
    return data


def _search(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.search import search, search_image

    _need_index(state)
    options = parsed.options.model_dump(exclude={"query"})
    query = parsed.options.query
    if "image" in parsed.images:
        result = search_image(parsed.images["image"], db=state.db, settings=state.settings, **options)
    elif (query and query.strip()) or any(options.get(k) for k in ("near", "moment", "person", "with_people")):
        result = search(query or "", db=state.db, settings=state.settings, **options)
    else:
        raise Problem(422, "give words to search for ('query'), an example image ('image'), 'near', 'moment' or a "
                      "person ('person')",
                      title="Invalid option")
    return _for_client(result, state)


def search_route(router: APIRouter, task: Any) -> None:
    options = options_model(task, query=(str | None, Field(
        None, max_length=500, description="words in any language (omit when sending an image)")))
    image_route(router, task.name, options, _search, ServedSearchResult,
                "Indexed images matching words (any language) or looking like an example image", image=task.image,
                tags=[task.group])


def _dupes(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.dupes import dupes

    _need_index(state)
    return _for_client(dupes(db=state.db, settings=state.settings, **parsed.options.model_dump()), state)


def dupes_route(router: APIRouter, task: Any) -> None:
    image_route(router, task.name, options_model(task), _dupes, ServedDupesResult,
                "Exact and near-duplicate groups in the index", image="none", json_only=True, tags=[task.group])


def _moments(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.moments import moments

    _need_index(state)
    return _for_client(moments(db=state.db, settings=state.settings, **parsed.options.model_dump()), state)


def moments_route(router: APIRouter, task: Any) -> None:
    image_route(router, task.name, options_model(task), _moments, ServedMomentsResult,
                "The indexed photos grouped into moments (events), with titles in English and Chinese",
                image="none", json_only=True, tags=[task.group])


class IndexOptions(Options):
    pass


def _index(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.index import index

    if not state.config.folders:
        raise Problem(422, "this server indexes no folders; start it with: ocula serve --folder DIR",
                      title="No folders")
    return _for_client(index([str(f) for f in state.config.folders], db=state.db, settings=state.settings,
                             progress=lambda done, total: job.report(done, total, "indexing")), state)


def index_route(router: APIRouter, task: Any) -> None:
    async def index(request: Request, as_job: AsJob = True):
        from ..inputs import parse

        parsed = await parse(request, IndexOptions, image="none")
        state = state_of(request)
        return job_response(submit(request, "index", lambda job: _index(parsed, state, job)))

    router.add_api_route("/index", index, methods=["POST"], status_code=202, tags=[task.group],
                         summary="Index (or update the index of) the server's folders, as a job", operation_id="index",
                         responses={202: {"model": JobInfo}, **responses(400, 401, 413, 415, 422, 429)},
                         openapi_extra={"requestBody": {"required": False, "content": {"application/json": {
                             "schema": {"type": "object", "properties": {}, "additionalProperties": False}}}}})


def _thumbnail(state: ServerState, image_id: int, size: int) -> bytes:
    from ...index import open_store

    _need_index(state)
    with open_store(state.db, settings=state.settings) as store:
        path = store.path_of(image_id)
    if path is None:
        raise Problem(404, f"no indexed image has id {image_id}")
    return jpeg(load_shared(state, path, f"image {image_id}", size).image.copy(), size)


def shared_file(state: ServerState, path: str, what: str) -> str:
    """The real path of an indexed file, only when it is inside a folder this server shares
    (the index may hold others: a shared db)."""
    from ...index.walk import under

    real = os.path.realpath(path)
    if not under(real, [os.path.realpath(f) for f in state.config.folders]):
        raise Problem(404, f"{what} is not in a folder this server shares")
    return real


def load_shared(state: ServerState, path: str, what: str, max_side: int) -> Any:
    """An indexed image decoded (a video's keyframe, VIDEO#t=SECONDS, from its video), only when
    its file is inside a folder this server shares."""
    from ...media import frame_key, load_media, split_frame_key

    key = split_frame_key(path) if not os.path.exists(path) else None
    real = shared_file(state, key[0] if key else path, what)
    return load_media(frame_key(real, key[1]) if key else real, max_side=max_side, settings=state.settings)


def jpeg(img, size: int) -> bytes:
    """A JPEG of ``img`` at most ``size`` pixels long."""
    img = img.convert("RGB") if img.mode not in ("RGB", "L") else img
    img.thumbnail((size, size))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


@router.get("/images/{image_id}/thumbnail", summary="A JPEG thumbnail of an indexed image", operation_id="thumbnail",
            response_class=Response, responses={200: {"content": {"image/jpeg": {}}}, **responses(401, 404, 409, 422)})
async def thumbnail(request: Request, image_id: int = PathParam(ge=1, le=2**62),
                    size: int = Query(256, ge=16, le=1024, description="longest side in pixels")):
    data = await run_in_threadpool(_thumbnail, state_of(request), image_id, size)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})
