"""Images and options from a request: multipart (field ``image``), JSON with base64
(``image``) or, when the server enables it, ``image_url``. One code path for both, and an
OpenAPI request body that documents both."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError

from .problems import Problem

IMAGE_FIELDS = ("image", "mask")  # file fields a route may take; the rest are options


@dataclass
class Parsed:
    images: dict[str, bytes]  # field name -> bytes (image, mask)
    options: BaseModel
    raw: dict[str, Any]  # the JSON object or form fields, for routes with extra structure
    name: str = "upload"  # what results call the image: the uploaded file's base name, or "upload"


def _b64(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise Problem(422, f"'{field}' must be a base64 string of the image file's bytes", title="Invalid image")
    if value.startswith("data:"):
        value = value.partition(",")[2]
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Problem(422, f"'{field}' is not valid base64", title="Invalid image") from None
    if not data:
        raise Problem(422, f"'{field}' is empty (0 bytes)", title="Invalid image")
    return data


def option_errors(e: ValidationError) -> Problem:
    errors = [{"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
              for err in e.errors()]
    detail = "; ".join(f"{x['field']}: {x['message']}" for x in errors[:5])
    return Problem(422, detail, title="Invalid option", errors=errors)


def _options(model: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(values)
    except ValidationError as e:
        raise option_errors(e) from None


async def _form(request: Request, model: type[BaseModel]) -> Parsed:
    from starlette.datastructures import UploadFile

    state = request.app.state.ocula
    try:
        form = await request.form(max_files=len(IMAGE_FIELDS), max_fields=64,
                                  max_part_size=state.config.max_request_bytes)
    except Exception as e:  # a malformed multipart body is the client's problem, said plainly
        if isinstance(e, Problem):
            raise
        raise Problem(400, f"the multipart body could not be read ({e})") from None
    try:
        images: dict[str, bytes] = {}
        values: dict[str, Any] = {}
        filename = "upload"
        for key in form.keys():
            items = form.getlist(key)
            if key in IMAGE_FIELDS:
                if len(items) > 1:  # which one did the client mean? refuse rather than guess
                    raise Problem(422, f"{len(items)} '{key}' parts in one request; send one image per request",
                                  title="Invalid image")
                item = items[0]
                if isinstance(item, UploadFile):
                    data = await item.read()
                else:  # a text field: allow base64 here too
                    data = _b64(item, key)
                if not data:
                    raise Problem(422, f"the uploaded '{key}' is empty (0 bytes)", title="Invalid image")
                images[key] = data
                if key == "image" and isinstance(item, UploadFile) and item.filename:
                    filename = _safe_name(item.filename)
            elif any(isinstance(i, UploadFile) for i in items):
                raise Problem(422, f"unexpected file field '{key}'; send the image in the field 'image'",
                              title="Invalid option")
            else:
                values[key] = items if len(items) > 1 else items[0]
    finally:
        await form.close()
    return Parsed(images, _options(model, values), values, filename)


def _safe_name(name: str) -> str:
    """A client's file name, only ever echoed back as a label: base name, printable, short."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable())[:120].strip()
    return base or "upload"


async def _json(request: Request, model: type[BaseModel]) -> Parsed:
    body = await request.body()
    try:
        values = json.loads(body) if body.strip() else {}
    except RecursionError:  # [[[[... 100,000 deep: the parser's recursion limit, not a server fault
        raise Problem(400, "the JSON body is nested too deeply to be parsed") from None
    except ValueError as e:  # JSONDecodeError, bad UTF-8, or an integer of over 4,300 digits
        raise Problem(400, f"the JSON body could not be parsed ({' '.join(str(e).split())[:200]})") from None
    if not isinstance(values, dict):
        raise Problem(422, "the JSON body must be an object", title="Invalid option")
    images = {f: _b64(values.pop(f), f) for f in IMAGE_FIELDS if values.get(f) is not None}
    url = values.pop("image_url", None)
    if url is not None and "image" not in images:
        images["image"] = await _fetch(request, url)
    for f in IMAGE_FIELDS:
        values.pop(f, None)
    return Parsed(images, _options(model, values), values)


async def _fetch(request: Request, url: Any) -> bytes:
    from starlette.concurrency import run_in_threadpool

    cfg = request.app.state.ocula.config
    if not cfg.allow_urls:
        raise Problem(422, "this server does not fetch image URLs (start it with --allow-url HOST); "
                           "send the image itself in 'image'", title="Invalid option")
    if not isinstance(url, str):
        raise Problem(422, "'image_url' must be a string", title="Invalid option")
    from .fetch import fetch_image_url

    try:
        return await run_in_threadpool(fetch_image_url, url, allowlist=cfg.url_allowlist,
                                       max_bytes=cfg.max_request_bytes)
    except Exception as e:
        from .problems import from_exception

        raise from_exception(e) from None


async def parse(request: Request, model: type[BaseModel], *, image: str = "required") -> Parsed:
    """Read the body as multipart or JSON. ``image``: required, optional or none."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        parsed = await _form(request, model)
    elif ctype in ("application/json", "") or ctype.endswith("+json"):
        parsed = await _json(request, model)
    else:
        raise Problem(415, f"send multipart/form-data (field 'image') or application/json, not {ctype!r}")
    if image == "required" and "image" not in parsed.images:
        raise Problem(422, "no image: send the file in the multipart field 'image', or base64 in the JSON "
                           "field 'image'", title="Invalid image")
    if image == "none" and parsed.images:
        raise Problem(422, "this route takes no image", title="Invalid option")
    return parsed


def request_body(model: type[BaseModel], *, image: str = "required", json_only: bool = False) -> dict[str, Any]:
    """openapi_extra for a route: both encodings, the options' fields and the image field(s)."""
    schema = model.model_json_schema()
    props = dict(schema.get("properties", {}))
    required = list(schema.get("required", []))
    content: dict[str, Any] = {}
    json_props = dict(props)
    if image != "none":
        json_props["image"] = {"type": "string", "format": "byte", "description": "the image file, base64"}
        json_props["image_url"] = {"type": "string", "description": "an https URL (only when the server allows URLs)"}
    content["application/json"] = {"schema": {"type": "object", "properties": json_props,
                                              **({"required": required} if required else {})}}
    if not json_only and image != "none":
        form_props = dict(props)
        form_props["image"] = {"type": "string", "format": "binary", "description": "the image file"}
        if "mask" in getattr(model, "file_fields", ()):
            form_props["mask"] = {"type": "string", "format": "binary", "description": "the mask image"}
        content["multipart/form-data"] = {"schema": {"type": "object", "properties": form_props,
                                                     "required": required + (["image"] if image == "required" else [])}}
    # options are flat (Literal, not Enum): their schema has no $defs to carry along
    return {"requestBody": {"required": image == "required", "content": content}}
