"""Provenance: verify content credentials and watermarks, detect a watermark."""

from __future__ import annotations

import tempfile
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from ...results import VerifyResult, WatermarkDetection
from ...tasks.watermark import DETECT_METHODS
from ..run import ServerState
from . import Options, image_route
from .enhance import write_upload

router = APIRouter(tags=["provenance"])


class VerifyOptions(Options):
    watermark: bool = Field(True, description="also look for an invisible watermark")
    candidate: str | None = Field(None, max_length=500, description="text to compare a watermark payload with")


class DetectOptions(Options):
    method: Literal[DETECT_METHODS] = "dwtDctSvd"  # type: ignore[valid-type]
    candidate: str | None = Field(None, max_length=500)


def _verify(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.verify import verify

    o: VerifyOptions = parsed.options
    # content credentials live in the file's bytes: verify reads a file, so the upload becomes one
    with tempfile.TemporaryDirectory(prefix="ocula-serve-") as tmp:
        path = write_upload(parsed.images["image"], tmp)
        data = verify(path, watermark=o.watermark, candidate=o.candidate, settings=state.settings).model_dump(mode="json")
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

    o: DetectOptions = parsed.options
    return detect_watermark(parsed.images["image"], method=o.method, candidate=o.candidate, settings=state.settings)


image_route(router, "verify", VerifyOptions, _verify, VerifyResult,
            "Content credentials (C2PA), invisible watermark and camera metadata of a file")
image_route(router, "watermark/detect", DetectOptions, _detect, WatermarkDetection, "Look for an ocula watermark")
