"""A model is data: where it comes from, what it is for, under which licence."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Runtime = Literal["torch", "onnxruntime", "ncnn", "opencv", "cli", "numpy", "ctypes", "http", "transformers",
                  "diffusers", "python", "dlib"]
# what a model is for; "write" models turn facts into text for describe (see ocula.writing)
Task = Literal["classify", "ocr", "faces", "embed-face", "moderate", "quality", "embed-text", "embed-image",
               "caption", "generate", "upscale", "inpaint", "watermark", "write", "places", "segment", "detect",
               "find", "vqa"]


class ModelFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="path inside the package or repo")
    sha256: str | None = None
    size: int | None = Field(None, description="bytes")


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    task: Task
    runtime: Runtime
    source: str = Field(description="package:<module> | hub:<repo> | system:<program> | http:<url>")
    revision: str | None = Field(None, description="pinned package version or hub commit")
    files: list[ModelFile] = Field(default_factory=list)
    license: str
    size_mb: float | None = None
    description: str = ""
    install: str | None = Field(None, description="what makes it usable when it is not")
    default: bool = False
    notes: str = ""
    backend: str | None = Field(None, description="the code that runs it: module, or module:attribute")
    aliases: list[str] = Field(default_factory=list, description="other names it answers to (rapidocr)")
    multilingual: bool = Field(False, description="its text encoder reads Chinese and other languages, "
                                                  "not only English (zero-shot labels, generate prompts)")

    @property
    def kind(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def location(self) -> str:
        return self.source.split(":", 1)[1]


class ModelStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    usable: bool
    reason: str = ""
    fix: str | None = None
    path: str | None = Field(None, description="where the weights are, when usable")
