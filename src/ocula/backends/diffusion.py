"""diffusers pipelines: text-to-image, image-to-image, inpainting and ControlNet.

A model is a catalogue name (its local snapshot at the pinned revision; never downloaded
here — `ocula models pull NAME` does that) or a local folder in diffusers format. One base
pipeline is loaded per (folder, device, dtype); the other modes reuse its components through
``from_pipe``, so switching mode costs no memory. Heavy imports stay inside functions.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import InvalidArgument, MissingDependency, ModelUnavailable
from . import cached_model

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "float16", "bfloat16")
MODES = ("text2img", "img2img", "inpaint", "control")
# catalogue defaults per mode: a fast one-step model for plain prompts; SD 1.5-class models
# where the mode needs them (a 9-channel inpainting UNet; ControlNets trained on SD 1.5)
DEFAULT_MODEL = {"text2img": "sd-turbo", "img2img": "sd-turbo", "inpaint": "sd-inpainting",
                 "control": "stable-diffusion-v1-5"}
CONTROL_MODELS = {"canny": "controlnet-canny", "scribble": "controlnet-scribble"}
# few-step distilled models run without classifier-free guidance
_TURBO_DEFAULTS = {"steps": 1, "guidance": 0.0}
_DEFAULTS = {"steps": 25, "guidance": 7.5}


def _quiet() -> None:
    """diffusers/transformers talk on stderr (torchvision fallbacks, progress bars); ocula has its own."""
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    except ImportError:
        pass
    from diffusers.utils import logging as dlog

    dlog.set_verbosity_error()
    dlog.disable_progress_bar()


def require_diffusers() -> None:
    import importlib.util

    for mod in ("diffusers", "transformers"):
        if importlib.util.find_spec(mod) is None:
            raise MissingDependency(mod, "`pip install 'ocula[generate]'` (diffusers and transformers)")


@dataclass(frozen=True)
class ModelRef:
    """Where a model's files are and what to call it in metadata."""

    name: str       # catalogue name, or the folder as given
    path: Path
    catalogue: bool
    turbo: bool = False

    @property
    def defaults(self) -> dict:
        return dict(_TURBO_DEFAULTS if self.turbo else _DEFAULTS)


def resolve_model(model: str | os.PathLike | None, mode: str, settings: Settings) -> ModelRef:
    """A catalogue name or a local diffusers folder -> ModelRef; missing weights name the pull command."""
    from ..models.catalog import CATALOG, get_spec
    from ..models.resolve import require

    if model is None:
        model = DEFAULT_MODEL[mode]
    text = str(model)
    p = Path(text).expanduser()
    if p.is_dir():
        if not (p / "model_index.json").is_file() and not (p / "config.json").is_file():
            raise InvalidArgument(f"{p} is not a diffusers folder (no model_index.json); "
                                  "save one with pipeline.save_pretrained(folder)")
        return ModelRef(name=text, path=p.resolve(), catalogue=False, turbo=_looks_turbo(p))
    if text in CATALOG:
        spec = get_spec(text)
        if spec.runtime != "diffusers":
            raise InvalidArgument(f"{text} is a {spec.task} model, not an image generator; "
                                  "see `ocula models list` for generation models")
        path = require(text, settings=settings)
        return ModelRef(name=text, path=path, catalogue=True, turbo="turbo" in text)
    if os.sep in text or text.startswith(".") or p.suffix:
        raise InvalidArgument(f"model folder {text} does not exist")
    gen = [n for n, s in CATALOG.items() if s.runtime == "diffusers"]
    raise InvalidArgument(f"unknown model {text!r}: give a local diffusers folder or one of: {', '.join(gen)}")


def _looks_turbo(path: Path) -> bool:
    return "turbo" in path.name.lower()


def pick_device(device: str | None, settings: Settings) -> str:
    device = (device or "auto").lower()
    if device not in DEVICES and not device.startswith("cuda:"):
        raise InvalidArgument(f"device must be one of {', '.join(DEVICES)} (or cuda:N), not {device!r}")
    import torch

    if device == "auto":
        if settings.device != "cpu":  # an explicit OCULA_DEVICE wins over detection
            device = settings.device
        elif torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidArgument("device cuda was asked for but torch sees no CUDA GPU; use --device cpu")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InvalidArgument("device mps was asked for but is not available; use --device cpu")
    return device


def pick_dtype(dtype: str | None, device: str) -> str:
    dtype = (dtype or "auto").lower()
    if dtype not in DTYPES:
        raise InvalidArgument(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    if dtype == "auto":
        return "float32" if device == "cpu" else "float16"
    if device == "cpu" and dtype == "float16":
        # many CPU kernels have no half-precision version; bfloat16 does run there
        raise InvalidArgument("float16 does not run on the CPU; use --dtype float32 (or bfloat16)")
    return dtype


def _is_sdxl(path: Path) -> bool:
    try:
        index = json.loads((path / "model_index.json").read_text())
    except (OSError, ValueError):
        return False
    return "XL" in str(index.get("_class_name", ""))


def _prepare(pipe: Any, device: str) -> Any:
    pipe.set_progress_bar_config(disable=True)
    if device == "cpu":
        # trade a little speed for a much lower peak on CPU machines
        pipe.enable_attention_slicing()
        vae = getattr(pipe, "vae", None)
        if vae is not None and hasattr(vae, "enable_tiling"):
            vae.enable_tiling()
    elif device.startswith("cuda") and os.environ.get("OCULA_TORCH_COMPILE", "").lower() in ("1", "true", "yes"):
        import torch

        # opt-in: the first call compiles for a minute; later calls at the same size run faster
        if not hasattr(pipe.unet, "_orig_mod"):
            pipe.unet = torch.compile(pipe.unet, mode="reduce-overhead", fullgraph=True)
    return pipe


def load_base(ref: ModelRef, device: str, dtype: str, *, inpaint: bool = False) -> Any:
    """The text-to-image pipeline (or the inpainting one for a 9-channel inpainting model)."""
    require_diffusers()
    _quiet()

    def build() -> Any:
        import torch
        from diffusers import AutoPipelineForInpainting, AutoPipelineForText2Image

        cls = AutoPipelineForInpainting if inpaint else AutoPipelineForText2Image
        kwargs: dict = {"dtype": getattr(torch, dtype)}
        if not _is_sdxl(ref.path):
            kwargs.update(safety_checker=None, requires_safety_checker=False)  # ocula moderates itself
        try:
            pipe = cls.from_pretrained(str(ref.path), local_files_only=True, **kwargs)
        except (OSError, ValueError) as e:
            raise ModelUnavailable(ref.name, f"could not load the diffusers folder {ref.path}: {e}".splitlines()[0],
                                   f"`ocula models pull {ref.name}`" if ref.catalogue else None) from None
        return _prepare(pipe.to(device), device)

    return cached_model(("diffusion", str(ref.path), device, dtype, "inpaint" if inpaint else "base"), build)


def is_inpainting_model(ref: ModelRef) -> bool:
    try:
        cfg = json.loads((ref.path / "unet" / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return int(cfg.get("in_channels", 4)) == 9


def pipeline_for(ref: ModelRef, mode: str, device: str, dtype: str, control_ref: ModelRef | None = None) -> Any:
    """The pipeline for ``mode``, sharing the base model's weights."""
    if mode not in MODES:
        raise InvalidArgument(f"mode must be one of {', '.join(MODES)}")
    nine = is_inpainting_model(ref)
    if nine and mode != "inpaint":
        raise InvalidArgument(f"{ref.name} is an inpainting model (9-channel UNet): it needs --init-image and --mask")
    if mode == "inpaint" and nine:
        return load_base(ref, device, dtype, inpaint=True)
    base = load_base(ref, device, dtype)
    if mode == "text2img":
        return base

    def derived() -> Any:
        from diffusers import (AutoPipelineForImage2Image, AutoPipelineForInpainting, ControlNetModel,
                               StableDiffusionControlNetPipeline)

        if mode == "img2img":
            return _prepare(AutoPipelineForImage2Image.from_pipe(base), device)
        if mode == "inpaint":
            return _prepare(AutoPipelineForInpainting.from_pipe(base), device)
        assert control_ref is not None
        if _is_sdxl(ref.path):
            raise InvalidArgument("ControlNet needs an SD 1.5-class base model (e.g. --model stable-diffusion-v1-5), "
                                  f"not {ref.name}")
        import torch

        try:
            net = ControlNetModel.from_pretrained(str(control_ref.path), dtype=getattr(torch, dtype),
                                                  local_files_only=True)
        except (OSError, ValueError) as e:
            raise ModelUnavailable(control_ref.name, f"could not load the ControlNet {control_ref.path}: "
                                   f"{str(e).splitlines()[0]}") from None
        pipe = StableDiffusionControlNetPipeline.from_pipe(base, controlnet=net.to(device))
        return _prepare(pipe, device)

    key = ("diffusion", str(ref.path), device, dtype, mode, str(control_ref.path) if control_ref else None)
    return cached_model(key, derived)


def resolve_control_model(control: str, control_model: str | os.PathLike | None, settings: Settings) -> ModelRef:
    from ..models.catalog import CATALOG

    name = control_model or CONTROL_MODELS[control]
    if control_model is None and name not in CATALOG:
        raise InvalidArgument(f"no {control} ControlNet is in the catalogue yet; pass --control-model FOLDER "
                              "(a diffusers ControlNet folder, e.g. a download of lllyasviel/sd-controlnet-scribble)")
    return resolve_model(name, "control", settings)


def native_size(pipe: Any) -> tuple[int, int]:
    """The resolution the model was trained at (UNet sample size x VAE scale)."""
    unet = getattr(pipe, "unet", None)
    sample = getattr(getattr(unet, "config", None), "sample_size", 64) or 64
    if isinstance(sample, (list, tuple)):
        sample = sample[0]
    scale = getattr(pipe, "vae_scale_factor", 8) or 8
    return int(sample) * int(scale), int(sample) * int(scale)
