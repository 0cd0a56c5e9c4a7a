"""What is in a picture: analyze and each recognition step alone, and describe."""

from __future__ import annotations

from importlib import import_module
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field, ValidationError

from ...results import (Analysis, Classification, ColorsResult, Description, FacesResult, MetadataResult,
                        ModerationResult, OCRResult, QualityResult)
from ...writing import LENGTHS, PURPOSES, TONES, WRITERS
from ..inputs import option_errors
from ..problems import Problem
from . import CommaList, Options, image_route

router = APIRouter(tags=["recognize"])
TopK = Field(5, ge=1, le=50, description="labels to return")


class AnalyzeOptions(Options):
    steps: CommaList = Field(None, description="steps to run (default: all installed): classify (or labels), ocr, "
                                               "faces, colors, quality, metadata, moderate")
    top_k: int = TopK
    gps: bool = Field(False, description="include GPS coordinates from EXIF")


class ClassifyOptions(Options):
    top_k: int = TopK
    model: str | None = Field(None, description="classifier (default: the server's)")


class OcrOptions(Options):
    engine: Literal["rapidocr", "tesseract"] | None = None
    language: str = Field("auto", max_length=20, description="auto, en, zh, ...")
    min_confidence: float = Field(0.5, ge=0, le=1)


class FacesOptions(Options):
    model: str | None = None
    min_score: float = Field(0.9, ge=0, le=1)
    min_size: int = Field(20, ge=1, le=10000)


class ColorsOptions(Options):
    count: int = Field(5, ge=1, le=20)


class QualityOptions(Options):
    brisque: bool = True


class ModerateOptions(Options):
    threshold: float = Field(0.5, ge=0, le=1)


class MetadataOptions(Options):
    gps: bool = False


class DescribeOptions(Options):
    purpose: Literal[PURPOSES] = "alt"  # type: ignore[valid-type]
    language: str = Field("en", max_length=20, description="en or zh (zh-CN, 中文 ... accepted)")
    length: Literal[LENGTHS] = "medium"  # type: ignore[valid-type]
    tone: Literal[TONES] = "neutral"  # type: ignore[valid-type]
    context: str | None = Field(None, max_length=2000, description="what the writer should know (event, product)")
    writer: Literal[tuple(WRITERS)] = "builtin"  # type: ignore[valid-type]
    facts: dict[str, Any] | None = Field(None, description="an Analysis from /analyze: describe it without the image")


# name, options, result, summary: the task ocula.tasks.<name>.<name> takes the options as keywords
SIMPLE = [
    ("analyze", AnalyzeOptions, Analysis, "All facts about an image"),
    ("classify", ClassifyOptions, Classification, "What the image shows (ImageNet labels, English and Chinese)"),
    ("ocr", OcrOptions, OCRResult, "Text in the image"),
    ("faces", FacesOptions, FacesResult, "Faces: boxes, landmarks, scores"),
    ("colors", ColorsOptions, ColorsResult, "Dominant colours with names"),
    ("quality", QualityOptions, QualityResult, "Sharpness, exposure, noise, BRISQUE"),
    ("moderate", ModerateOptions, ModerationResult, "Unsafe-content check"),
    ("metadata", MetadataOptions, MetadataResult, "Camera, date and (if asked) GPS from EXIF"),
]


def _task(name: str):
    def call(parsed, state, job):
        fn = getattr(import_module(f"ocula.tasks.{name}"), name)
        return fn(parsed.images["image"], **parsed.options.model_dump(), settings=state.settings)
    return call


for _name, _opts, _result, _summary in SIMPLE:
    image_route(router, _name, _opts, _task(_name), _result, _summary)


def _describe(parsed, state, job) -> Description:
    from ...tasks.describe import describe

    o: DescribeOptions = parsed.options
    facts = None
    if o.facts is not None:
        try:
            facts = Analysis.model_validate(o.facts)
        except ValidationError as e:
            raise option_errors(e) from None
    elif "image" not in parsed.images:
        raise Problem(422, "send the image (field 'image') or the facts from /analyze (JSON field 'facts')",
                      title="Invalid image")
    return describe(parsed.images.get("image"), purpose=o.purpose, language=o.language, length=o.length,
                    tone=o.tone, context=o.context, writer=o.writer, facts=facts, settings=state.settings)


image_route(router, "describe", DescribeOptions, _describe, Description,
            "Alt text, caption, product text, social post, news caption or keywords, in English or Chinese",
            image="optional")
