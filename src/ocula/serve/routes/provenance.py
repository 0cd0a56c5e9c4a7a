"""Provenance: verify content credentials and watermarks, detect a watermark."""

from __future__ import annotations

import tempfile
from typing import Any

from fastapi import APIRouter

from ...results import VerifyResult, WatermarkDetection
from ..run import ServerState
from . import image_route, options_model
from .enhance import write_upload

def _verify(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.verify import verify

    # content credentials live in the file's bytes: verify reads a file, so the upload becomes one
    with tempfile.TemporaryDirectory(prefix="ocula-serve-") as tmp:
        path = write_upload(parsed.images["image"], tmp)
        data = verify(path, settings=state.settings, **parsed.options.model_dump()).model_dump(mode="json")
    return _hide_path(data, str(path))


def _hide_path(data: Any, path: str) -> Any:
    """The temporary file's name means nothing to the client: call it 'upload'."""
    if isinstance(data, dict):
        return {k: _hide_path(v, path) for k, v in data.items()}
    if isinstance(data, list):
        return [_hide_path(v, path) for v in data]
    return "upload" if data == path else data


def _detect(parsed, state: ServerState, job) -> WatermarkDetection:
    from ...tasks.watermark import detect_watermark

    return detect_watermark(parsed.images["image"], settings=state.settings, **parsed.options.model_dump())


def verify_route(router: APIRouter, task: Any) -> None:
    image_route(router, task.name, options_model(task), _verify, VerifyResult,
                "Content credentials (C2PA), invisible watermark and camera metadata of a file", tags=[task.group])


def detect_route(router: APIRouter, task: Any) -> None:
    image_route(router, "watermark/detect", options_model(task), _detect, WatermarkDetection,
                "Look for an ocula watermark", tags=[task.group])
