"""CLIP / SigLIP image-text embeddings on transformers, for search.

Models come from the catalogue (``clip-vit-b32``, ``siglip-base``: hub repos at pinned
revisions, fetched by ``ocula models pull``) or from a local folder written by
``save_pretrained`` (a model, its tokenizer and image processor). Nothing is downloaded here.
Only native transformers classes (CLIPModel, SiglipModel) and the PIL image processors are used,
so torchvision is not needed.

Images and texts land in one space: ``embed_images`` and ``embed_texts`` return L2-normalised
float32 rows, and a cosine (dot product) ranks images for a text query.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import cached_model, configure_threads, import_transformers
from ..config import Settings, get_settings
from ..errors import InvalidArgument, MissingDependency, ModelUnavailable

if TYPE_CHECKING:
    from PIL import Image

# catalogue models tried in order by clip_model="auto"
AUTO_ORDER = ("clip-vit-b32", "siglip-base")
FAMILIES = {"clip": "CLIPModel", "siglip": "SiglipModel"}
BATCH = 32  # images per forward pass: bounds memory on large folders


def _model_type(name: str, path: Path) -> str:
    from ..models.resolve import model_type

    return model_type(name, path, FAMILIES, "an image-text embedder")


def _features(out) -> "object":
    # transformers 5 returns a model output whose pooler_output is the projected embedding
    return out if hasattr(out, "dim") else out.pooler_output


class ClipEmbedder:
    """A loaded CLIP or SigLIP model with its tokenizer and image processor. Thread-safe."""

    def __init__(self, name: str, path: Path, settings: Settings):
        import torch

        transformers = import_transformers()
        configure_threads(settings.threads)
        self.name = name
        self.path = path
        self.family = _model_type(name, path)
        self.device = settings.device
        cls = getattr(transformers, FAMILIES[self.family])
        fix = f"`ocula models pull {name}`" if "/" not in name else "point clip_model at a save_pretrained folder"
        try:
            # backend="pil": transformers 5 defaults to the torchvision processors, and
            # torchvision does not import beside the CPU torch here
            self.image_processor = transformers.AutoImageProcessor.from_pretrained(
                path, local_files_only=True, backend="pil")
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = cls.from_pretrained(path, local_files_only=True).to(self.device).eval()
        except ImportError as e:  # SigLIP's sentencepiece tokenizer
            raise MissingDependency(f"{name} needs {e.name or 'a tokenizer library'}",
                                    "pip install sentencepiece") from None
        except (OSError, ValueError, KeyError) as e:
            raise ModelUnavailable(name, f"could not load from {path}: {str(e).splitlines()[0]}", fix) from None
        cfg = self.model.config
        self.dim = int(getattr(cfg, "projection_dim", 0) or cfg.text_config.hidden_size)
        max_pos = getattr(cfg.text_config, "max_position_embeddings", 77)
        self.max_length = int(min(max_pos, getattr(self.tokenizer, "model_max_length", max_pos) or max_pos))
        # zero-shot classification turns cosines into logits as the model was trained to:
        # CLIP softmax(scale * cos); SigLIP sigmoid(scale * cos + bias)
        scale, bias = getattr(self.model, "logit_scale", None), getattr(self.model, "logit_bias", None)
        self.logit_scale = float(scale.detach().exp()) if scale is not None else 100.0
        self.logit_bias = float(bias.detach()) if bias is not None else None
        self._torch = torch
        self._lock = threading.Lock()

    multilingual = False  # CLIP's and SigLIP's text towers here read English

    def __repr__(self) -> str:
        return f"ClipEmbedder(name={self.name!r}, family={self.family!r}, dim={self.dim})"

    def _normalise(self, feats) -> np.ndarray:
        x = feats.float().cpu().numpy().astype(np.float32, copy=False)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)

    def embed_images(self, images: "list[Image.Image]") -> np.ndarray:
        """(n, dim) float32, L2-normalised."""
        if not images:
            return np.empty((0, self.dim), dtype=np.float32)
        out = []
        for i in range(0, len(images), BATCH):
            batch = [im.convert("RGB") if im.mode != "RGB" else im for im in images[i : i + BATCH]]
            pixels = self.image_processor(images=batch, return_tensors="pt")["pixel_values"].to(self.device)
            with self._lock, self._torch.inference_mode():
                feats = _features(self.model.get_image_features(pixel_values=pixels))
            out.append(self._normalise(feats))
        return np.concatenate(out)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        if isinstance(texts, str):
            raise InvalidArgument("embed_texts takes a list of strings")
        # SigLIP was trained on texts padded to the full length; CLIP pools at the end token
        padding = "max_length" if self.family == "siglip" else True
        out = []
        for i in range(0, len(texts), BATCH):
            enc = self.tokenizer(list(texts[i : i + BATCH]), padding=padding, truncation=True,
                                 max_length=self.max_length, return_tensors="pt")
            inputs = {k: v.to(self.device) for k, v in enc.items()
                      if k in ("input_ids", "attention_mask", "position_ids")}
            if self.family == "siglip":
                inputs.pop("attention_mask", None)  # SigLIP attends to its padding, as trained
            with self._lock, self._torch.inference_mode():
                feats = _features(self.model.get_text_features(**inputs))
            out.append(self._normalise(feats))
        return np.concatenate(out)

    def similarity(self, images: "list[Image.Image]", texts: list[str]) -> np.ndarray:
        """(n_images, n_texts) cosine similarities."""
        return self.embed_images(images) @ self.embed_texts(texts).T

    @property
    def key(self) -> str:
        """What the index records as the maker of a vector: ``clip:<name>``."""
        return f"clip:{self.name}"


def resolve_clip(name: str, settings: Settings) -> tuple[str, Path]:
    """(display name, local folder) for a catalogue name, ``file:PATH`` or a folder path."""
    from ..models.resolve import local_model

    return local_model(name, "embed-image", settings, hint="set clip_model to a folder written by save_pretrained")


def load_clip(name: str, settings: Settings | None = None) -> ClipEmbedder:
    """The embedder ``name`` (catalogue name or folder), loaded once per process.
    Raises UnknownModel / ModelUnavailable naming the fix."""
    settings = settings or get_settings()
    display, path = resolve_clip(name, settings)
    return cached_model(("clip", str(path.resolve()), settings.device),
                        lambda: ClipEmbedder(display, path, settings))


def get_clip(settings: Settings | None = None) -> ClipEmbedder | None:
    """The CLIP/SigLIP embedder chosen by ``settings.clip_model``, or None when there is none.

    ``auto``: the first catalogue model in AUTO_ORDER that is downloaded (None if none is);
    ``off``: None; a catalogue name or a folder: that model, or an error saying how to get it."""
    settings = settings or get_settings()
    choice = (settings.clip_model or "auto").strip()
    if choice.lower() in ("off", "none", ""):
        return None
    if choice.lower() == "auto":
        from ..models import status

        for name in AUTO_ORDER:
            if status(name, settings).usable:
                try:
                    return load_clip(name, settings)
                except (ModelUnavailable, MissingDependency):
                    continue  # e.g. SigLIP without sentencepiece: try the next, else no CLIP
        return None
    return load_clip(choice, settings)
