"""People over HTTP: list, show, name, merge, forget (the index's people), who (an uploaded
photo against them), and face thumbnails for the page. Behind the API key like every /api
route. Paths go out as the client sees them ("<folder>/<file>"); no client path is opened:
a face is named by its id, a person by id or name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path as PathParam, Query, Request
from fastapi.responses import Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from ...errors import InvalidArgument
from ...results import (ForgetReport, MergeResult, NameResult, PeopleList, PersonDetail, PersonPhoto, PersonSummary,
                        WhoResult)
from ..problems import Problem, responses
from ..run import ServerState, state_of
from . import Options, image_route, options_model
from .search import _need_index, jpeg, load_shared, shared_path

# routes that are not tasks: face thumbnails
router = APIRouter(tags=["people"])
ERRORS = (401, 404, 409, 422)


class ServedPerson(PersonSummary):
    thumbnail: str | None = Field(None, description="URL of a JPEG of the face that stands for the person")


class ServedPeopleList(PeopleList):
    people: list[ServedPerson] = Field(default_factory=list)


class ServedPhoto(PersonPhoto):
    thumbnail: str | None = Field(None, description="URL of a JPEG thumbnail of the photo")
    face_thumbnail: str | None = Field(None, description="URL of a JPEG of the face")


class ServedPersonDetail(PersonDetail):
    person: ServedPerson
    photos: list[ServedPhoto] = Field(default_factory=list)


def _client(data: dict[str, Any], state: ServerState) -> dict[str, Any]:
    """A people result as clients see it: shared paths, thumbnail URLs, no server layout."""
    prefix, folders = state.jobs.prefix, state.config.folders
    if "db" in data:
        data["db"] = "index"

    def person(p: dict[str, Any]) -> None:
        if p.get("sample"):
            p["sample"] = shared_path(p["sample"], folders)
        p["thumbnail"] = f"{prefix}/faces/{p['sample_face']}/thumbnail" if p.get("sample_face") else None

    if isinstance(data.get("people"), list):
        for p in data["people"]:
            person(p)
    if isinstance(data.get("person"), dict):
        person(data["person"])
    for ph in data.get("photos", []):
        ph["path"] = shared_path(ph["path"], folders)
        ph["thumbnail"] = f"{prefix}/images/{ph['image_id']}/thumbnail"
        ph["face_thumbnail"] = f"{prefix}/faces/{ph['face']}/thumbnail" if ph.get("face") else None
    if data.get("image"):
        data["image"] = shared_path(data["image"], folders) if isinstance(data["image"], str) else data["image"]
    return data


def _get(state: ServerState, fn) -> dict[str, Any]:
    _need_index(state)
    return _client(fn().model_dump(mode="json"), state)


def people_route(router: APIRouter, task: Any) -> None:
    async def people(request: Request):
        from ...tasks.people import people as run

        state = state_of(request)
        return await run_in_threadpool(_get, state, lambda: run(db=state.db, settings=state.settings))

    router.add_api_route("/people", people, methods=["GET"], summary=task.summary, operation_id="people",
                         tags=[task.group], responses={200: {"model": ServedPeopleList}, **responses(401, 409)})


def show_route(router: APIRouter, task: Any) -> None:
    async def people_show(request: Request, person: str = PathParam(max_length=200,
                                                                     description="a person's id, name or alias")):
        from ...tasks.people_show import people_show as run

        state = state_of(request)

        def call():
            try:
                return run(person, db=state.db, settings=state.settings)
            except InvalidArgument as e:
                raise Problem(404, str(e)) from None
        return await run_in_threadpool(_get, state, call)

    router.add_api_route("/people/{person}", people_show, methods=["GET"], summary=task.summary,
                         operation_id="people_show", tags=[task.group],
                         responses={200: {"model": ServedPersonDetail}, **responses(*ERRORS)})


def _post(router: APIRouter, task: Any, path: str, options: type[Options], result: type, call) -> None:
    def run(parsed, state: ServerState, job) -> dict[str, Any]:
        _need_index(state)
        return _client(call(parsed.options, state).model_dump(mode="json"), state)

    image_route(router, path, options, run, result, task.summary, image="none", json_only=True, tags=[task.group])


def name_route(router: APIRouter, task: Any) -> None:
    from ...tasks.people_name import people_name

    options = options_model(task, name=(str, Field(..., max_length=200, description="the name, in any script")),
                            person=(int | None, Field(None, ge=1, description="a person's id: name or rename it")))

    def call(o, state: ServerState) -> NameResult:
        if (o.person is None) == (o.face is None):
            raise Problem(422, "give either 'face' (a face id) or 'person' (a person id)", title="Invalid option")
        if o.box is not None:
            raise Problem(422, "'box' is for naming in an image by path (the command line); name a face by its "
                               "id here", title="Invalid option")
        return people_name(o.person, o.name, face=o.face, alias=o.alias, db=state.db, settings=state.settings)

    _post(router, task, "people/name", options, NameResult, call)


def split_route(router: APIRouter, task: Any) -> None:
    from ...tasks.people_split import people_split

    options = options_model(task, person=(str, Field(..., max_length=200, description="the person the face is not")))

    def call(o, state: ServerState) -> NameResult:
        if o.face is None:
            raise Problem(422, "give 'face': the id of the face that is not this person", title="Invalid option")
        return people_split(o.person, face=o.face, db=state.db, settings=state.settings)

    _post(router, task, "people/split", options, NameResult, call)


def merge_route(router: APIRouter, task: Any) -> None:
    from ...tasks.people_merge import people_merge

    options = options_model(task, person=(str, Field(..., max_length=200, description="the person to keep")),
                            other=(str, Field(..., max_length=200, description="the same person, to merge in")))
    _post(router, task, "people/merge", options, MergeResult,
          lambda o, state: people_merge(o.person, o.other, db=state.db, settings=state.settings))


def forget_route(router: APIRouter, task: Any) -> None:
    from ...tasks.people_forget import people_forget

    options = options_model(task, person=(str | None, Field(None, max_length=200, description="a person (id or "
                                                                                               "name)")),
                            everyone=(bool, Field(False, description="true (and no person): erase every face")))

    def call(o, state: ServerState) -> ForgetReport:
        if (o.person is not None) != o.everyone:  # exactly one of them
            return people_forget(o.person, db=state.db, settings=state.settings)
        raise Problem(422, "say whom to forget: 'person' (an id or a name), or 'everyone': true", title="Invalid option")

    _post(router, task, "people/forget", options, ForgetReport, call)


def who_route(router: APIRouter, task: Any) -> None:
    from ...tasks.who import who

    def call(parsed, state: ServerState, job) -> WhoResult:
        _need_index(state)
        result = who(parsed.images["image"], db=state.db, settings=state.settings)
        result.db = "index"
        return result

    image_route(router, task.name, options_model(task), call, WhoResult, task.summary, image="required",
                tags=[task.group])


def _face_thumbnail(state: ServerState, face_id: int, size: int) -> bytes:
    from ...index import open_store

    _need_index(state)
    with open_store(state.db, settings=state.settings) as store:
        face = store.face(face_id)
    if face is None:
        raise Problem(404, f"no stored face has id {face_id}")
    loaded = load_shared(state, face.path, f"face {face_id}", 2048)  # a keyframe's face: from its video
    k = loaded.width / loaded.original_size[0]  # the box is in full-size pixels
    x, y, w, h = (v * k for v in face.box)
    side = max(w, h) * 1.7  # some hair and chin around the box
    cx, cy = x + w / 2, y + h / 2
    box = (round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2))
    return jpeg(loaded.image.crop(box), size)


@router.get("/faces/{face_id}/thumbnail", summary="A JPEG of one stored face", operation_id="face_thumbnail",
            response_class=Response, responses={200: {"content": {"image/jpeg": {}}}, **responses(401, 404, 409, 422)})
async def face_thumbnail(request: Request, face_id: int = PathParam(ge=1, le=2**62),
                         size: int = Query(160, ge=16, le=512, description="longest side in pixels")):
    data = await run_in_threadpool(_face_thumbnail, state_of(request), face_id, size)
    # faces are personal data: not kept by shared caches
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})
