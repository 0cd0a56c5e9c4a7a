"""Swin2SR super-resolution (Conde et al. 2022) through transformers: an optional hub model.

``Swin2SRForImageSuperResolution`` pads its input to a multiple of the window size and crops
the output itself, so a tile goes in as 1 x 3 x H x W floats in 0..1 and comes out as
1 x 3 x sH x sW. The model is loaded from a local folder (a saved model, or the Hugging Face
cache at the catalogue's pinned revision); it is downloaded on first use only when online.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import MissingDependency, ModelUnavailable, OculaError
from . import cached_model, configure_threads

CATALOG_NAME = "swin2sr-x4"


def _import() -> tuple[Any, Any]:
    try:
        import torch
        from transformers import Swin2SRForImageSuperResolution
    except ImportError as e:
        raise MissingDependency(f"transformers/torch for Swin2SR ({e.name or e})",
                                "run `pip install 'ocula[hub]'`") from None
    return torch, Swin2SRForImageSuperResolution


def is_model_dir(path: str | Path) -> bool:
    """A folder holding a saved transformers Swin2SR model (config.json with model_type swin2sr)."""
    import json

    cfg = Path(path) / "config.json"
    if not cfg.is_file():
        return False
    try:
        return json.loads(cfg.read_text(encoding="utf-8")).get("model_type") == "swin2sr"
    except (OSError, ValueError):
        return False


def _resolve(name_or_path: str, settings: Settings) -> tuple[str, dict]:
    """Where from_pretrained should read from, and its keyword arguments."""
    if Path(name_or_path).expanduser().is_dir():
        path = Path(name_or_path).expanduser()
        if not is_model_dir(path):
            raise OculaError(f"{path} is not a saved Swin2SR model (no config.json with model_type 'swin2sr')")
        return str(path), {"local_files_only": True}
    from ..models import get_spec, require

    spec = get_spec(name_or_path, "upscale")
    try:
        return str(require(spec.name, settings=settings)), {"local_files_only": True}
    except ModelUnavailable:
        if settings.offline:
            raise
    # online and not cached: first use downloads at the pinned revision
    return spec.location, {"revision": spec.revision or "main", "local_files_only": False}


@dataclass
class Swin2SR:
    name: str
    model: Any
    device: str
    scale: int

    def __call__(self, tile: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 RGB -> (sH)x(sW)x3 float32 in 0..255 (not yet clipped)."""
        import torch

        h, w = tile.shape[:2]
        win = int(self.model.config.window_size)
        # the model's own padding does not reach its patch un-embedding (the image processor pads
        # beforehand), so pad to whole windows here, mirrored like Swin2SRImageProcessor
        padded = np.pad(tile, ((0, -h % win), (0, -w % win), (0, 0)), mode="symmetric")
        x = torch.from_numpy(np.ascontiguousarray(padded.transpose(2, 0, 1))).to(torch.float32).div_(255.0)
        x = x.unsqueeze(0).to(self.device)
        with torch.inference_mode():
            y = self.model(pixel_values=x).reconstruction
        y = y[0, :, :h * self.scale, :w * self.scale]
        return y.float().cpu().numpy().transpose(1, 2, 0) * 255.0


def load(name_or_path: str, settings: Settings) -> Swin2SR:
    """A Swin2SR model by catalogue name (``swin2sr-x4``) or saved-model folder."""
    torch, cls = _import()
    configure_threads(settings.threads)
    where, kwargs = _resolve(name_or_path, settings)

    def factory() -> Any:
        from transformers.utils import logging as hf_logging

        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no "Loading weights" bar on the user's terminal
        try:
            model = cls.from_pretrained(where, **kwargs)
        except OSError as e:  # missing files, no network: transformers raises OSError
            raise ModelUnavailable(name_or_path, f"could not load Swin2SR from {where} ({str(e).splitlines()[0]})",
                                   f"`ocula models pull {CATALOG_NAME}` on a machine with network access") from None
        finally:
            if bar:
                hf_logging.enable_progress_bar()
        return model.eval().to(settings.device)

    model = cached_model(("swin2sr", where, kwargs.get("revision"), settings.device), factory)
    configure_threads(settings.threads)
    return Swin2SR(name=name_or_path, model=model, device=settings.device, scale=int(model.config.upscale))


load_engine = load  # the upscale backend interface (tasks/upscale.py)
