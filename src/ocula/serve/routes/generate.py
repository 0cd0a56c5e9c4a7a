"""Text-to-image (and image-to-image with an 'image'), as a job that reports every step."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import AliasChoices, Field

from ...results import GenerateResult
from ...tasks.generate import SAFETY_MODES
from ..run import ServerState
from . import Options, image_route

class GenerateOptions(Options):
    prompt: str = Field(min_length=1, max_length=1000)
    negative: str | None = Field(None, max_length=1000)
    denoising_steps: int | None = Field(None, ge=1, le=150, validation_alias=AliasChoices("denoising_steps", "steps"),
                                        description="denoising steps (default: the model's; old name: steps)")
    guidance: float | None = Field(None, ge=0, le=30)
    size: str | None = Field(None, pattern=r"^\d{2,4}x\d{2,4}$", description="WxH, e.g. 512x512")
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    n: int = Field(1, ge=1, le=4, description="images to make")
    strength: float | None = Field(None, gt=0, le=1, description="image-to-image: how much to change the 'image'")
    safety: Literal[SAFETY_MODES] = "flag"  # type: ignore[valid-type]
    enhance_prompt: bool = Field(False, description="let the server's LLM write a detailed English prompt from this "
                                                    "one (Chinese prompts are translated by it anyway)")


def _generate(parsed, state: ServerState, job) -> dict[str, Any]:
    from ...tasks.generate import generate

    o: GenerateOptions = parsed.options
    with tempfile.TemporaryDirectory(prefix="ocula-serve-") as tmp:
        result = generate(o.prompt, negative=o.negative, denoising_steps=o.denoising_steps, guidance=o.guidance,
                          size=o.size,
                          seed=o.seed, n=o.n, init_image=parsed.images.get("image"), strength=o.strength,
                          safety=o.safety, out_dir=tmp, settings=state.settings, enhance_prompt=o.enhance_prompt,
                          progress=lambda step, steps, i, n: job.report(step + (i - 1) * steps, steps * n, "steps"),
                          cancel=lambda: job.cancel_requested)
        data = result.model_dump(mode="json")
        for item in data["images"]:
            if item.get("path"):
                item["path"] = job.add_output(Path(item["path"]).read_bytes(), "image/png")
    return data


def generate_route(router: APIRouter, task: Any) -> None:
    image_route(router, task.name, GenerateOptions, _generate, GenerateResult,
                "Text-to-image (image-to-image with 'image'); needs a diffusion model (ocula models pull)",
                image=task.image, tags=[task.group])
