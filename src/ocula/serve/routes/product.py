"""Product photos: the hand-made routes of cutout, crop and product (named by their entries in
the task table). Like every image-writing route, the task writes its output in a scratch folder
(so it is marked as asked) and the image is kept with the job; the result's ``output`` is the
URL that serves it. ``product`` answers the listing (copy in each language): the same object
``ocula product`` writes as NAME.json. A background is never a file on the server."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..problems import Problem
from ..run import ServerState
from . import image_route, options_model
from .enhance import upload_suffix, write_and_keep


def _cutout(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.cutout import cutout, parse_background

    o = parsed.options
    kind, _ = parse_background(o.background, allow_image=False)  # before the work: 422 for a path or typo
    suffix = ".png" if kind == "transparent" or o.mask_only else ".jpg"
    return write_and_keep(lambda out: cutout(parsed.images["image"], output=out, settings=state.settings,
                                             background_files=False, **o.model_dump()), job, suffix)


def _crop(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.crop import crop

    data = parsed.images["image"]
    suffix = upload_suffix(data) if isinstance(data, bytes) else ".png"  # a crop keeps the photo's format
    return write_and_keep(lambda out: crop(data, output=out, settings=state.settings, **parsed.options.model_dump()),
                          job, ".png" if suffix in (".gif", ".bmp") else suffix)


def _product(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.product import product

    o = parsed.options
    if o.size * o.size > state.config.max_pixels:
        raise Problem(422, f"a {o.size}x{o.size} listing photo is over the server's limit of "
                           f"{state.config.max_pixels / 1e6:.0f} megapixels (--max-megapixels); ask for a smaller size",
                      title="Invalid option")
    return write_and_keep(lambda out: product(parsed.images["image"], output=out, settings=state.settings,
                                              **o.model_dump()), job, ".jpg")


def _route(call):
    def add(router: APIRouter, task: Any) -> None:
        image_route(router, task.name, options_model(task), call, task.result_type(), task.summary,
                    image=task.image, tags=[task.group])
    return add


cutout_route = _route(_cutout)
crop_route = _route(_crop)
product_route = _route(_product)
