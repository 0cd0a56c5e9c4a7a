"""describe: its options carry the facts of an earlier analysis, so that the page writes a dozen
descriptions from one analysis. (The recognition tasks' routes are made from the task table.)"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field, ValidationError

from ...results import Analysis, Description
from ..inputs import option_errors
from ..problems import Problem
from . import image_route, options_model


def _describe(parsed, state, job) -> Description:
    from ...tasks.describe import describe

    o = parsed.options
    facts = None
    if o.facts is not None:
        try:
            facts = Analysis.model_validate(o.facts)
        except ValidationError as e:
            raise option_errors(e) from None
    elif "image" not in parsed.images:
        raise Problem(422, "send the image (field 'image') or the facts from /analyze (JSON field 'facts')",
                      title="Invalid image")
    options = o.model_dump(exclude={"facts"})
    return describe(parsed.images.get("image"), facts=facts, db=state.db, settings=state.settings, **options)


def describe_route(router: APIRouter, task: Any) -> None:
    options = options_model(task, facts=(dict[str, Any] | None, Field(
        None, description="an Analysis from /analyze: describe it without the image")))
    image_route(router, task.name, options, _describe, Description,
                "Alt text, caption, product text, social post, news caption or keywords, in English or Chinese",
                image=task.image, tags=[task.group])
