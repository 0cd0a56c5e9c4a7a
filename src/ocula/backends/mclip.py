"""A multilingual text tower aligned to CLIP's image space (clip-ViT-B-32-multilingual-v1):
Chinese and 50+ other languages embedded where CLIP ViT-B/32 puts its images.

The hub repository is in the sentence-transformers layout: a transformers model at the root
(DistilBERT), ``1_Pooling/config.json`` (mean of the token vectors) and ``2_Dense`` (a linear
map into CLIP's 512-d space). It is read here with transformers and torch alone."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from . import cached_model, configure_threads, import_transformers
from ..config import Settings, get_settings
from ..errors import ModelUnavailable

BATCH = 64


def _read_json(path: Path, name: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelUnavailable(name, f"unreadable {path.name} in {path.parent}: {e}") from None


class MultilingualText:
    """Texts in any language -> L2-normalised float32 rows in CLIP ViT-B/32's space. Thread-safe."""

    multilingual = True

    def __init__(self, name: str, path: Path, settings: Settings):
        import torch

        transformers = import_transformers()
        configure_threads(settings.threads)
        self.name = name
        self.device = settings.device
        pooling = _read_json(path / "1_Pooling" / "config.json", name)
        dense = _read_json(path / "2_Dense" / "config.json", name)
        self.mean = bool(pooling.get("pooling_mode_mean_tokens", True))
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = transformers.AutoModel.from_pretrained(path, local_files_only=True).to(self.device).eval()
        except (OSError, ValueError, KeyError) as e:
            raise ModelUnavailable(name, f"could not load from {path}: {str(e).splitlines()[0]}",
                                   f"`ocula models pull {name}`" if "/" not in name else None) from None
        self.linear = torch.nn.Linear(int(dense["in_features"]), int(dense["out_features"]),
                                      bias=bool(dense.get("bias", True)))
        self.linear.load_state_dict({k.removeprefix("linear."): v for k, v in self._dense_weights(path).items()})
        self.linear.to(self.device).eval()
        activation = str(dense.get("activation_function", "Identity")).rsplit(".", 1)[-1]
        self.activation = torch.tanh if activation.lower() == "tanh" else (lambda x: x)
        self.dim = int(dense["out_features"])
        self._torch = torch
        self._lock = threading.Lock()

    def _dense_weights(self, path: Path) -> dict:
        folder = path / "2_Dense"
        if (folder / "model.safetensors").is_file():
            from safetensors.torch import load_file

            return load_file(str(folder / "model.safetensors"))
        if (folder / "pytorch_model.bin").is_file():
            return self._torch_load(folder / "pytorch_model.bin")
        raise ModelUnavailable(self.name, f"no weights in {folder}", f"`ocula models pull {self.name}`")

    @staticmethod
    def _torch_load(file: Path) -> dict:
        import torch

        return torch.load(file, map_location="cpu", weights_only=True)  # tensors only: no pickled code

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        out = []
        for i in range(0, len(texts), BATCH):
            enc = self.tokenizer(list(texts[i:i + BATCH]), padding=True, truncation=True, max_length=128,
                                 return_tensors="pt")
            enc = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
            with self._lock, torch.inference_mode():
                tokens = self.model(**enc).last_hidden_state
                if self.mean:
                    m = enc["attention_mask"].unsqueeze(-1).to(tokens.dtype)
                    pooled = (tokens * m).sum(1) / m.sum(1).clamp(min=1e-9)
                else:
                    pooled = tokens[:, 0]
                feats = self.activation(self.linear(pooled))
            x = feats.float().cpu().numpy()
            out.append(x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12))
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)


def load(name: str = "clip-multilingual-text", settings: Settings | None = None) -> MultilingualText:
    from ..models.resolve import local_model

    settings = settings or get_settings()
    display, path = local_model(name, "embed-text", settings, hint="point it at the model's folder")
    return cached_model(("mclip", str(path.resolve()), settings.device),
                        lambda: MultilingualText(display, path, settings))
