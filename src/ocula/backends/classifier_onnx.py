"""Classifiers you trained (``ocula train classifier``), run on onnxruntime alone (no torch):
the classify task uses this when ``--model`` (or settings.classifier / OCULA_CLASSIFIER) names
such a MODEL_DIR. The int8 model is used when present, fp32 otherwise. Training writes the
folder (ocula/train/export.py) with the same input and output names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..config import Settings, get_settings
from ..errors import ModelUnavailable

MANIFEST = "model.json"
FORMAT = "ocula-classifier"
INPUT, OUTPUT = "image", "logits"  # the exported graph's input and output names


def is_model_dir(name: str | None) -> bool:
    if not name:
        return False
    try:
        return (Path(name).expanduser() / MANIFEST).is_file()
    except (OSError, ValueError):
        return False


@dataclass
class CustomModel:
    path: Path
    name: str
    classes: list[str]
    onnx_file: Path
    session: Any

    @property
    def labels(self) -> tuple[dict[str, Any], ...]:
        return tuple({"en": c, "zh": None, "category": "custom"} for c in self.classes)

    def logits(self, images: Sequence, *, settings: Settings | None = None, batch_size: int = 32) -> np.ndarray:
        from .efficientnet import preprocess

        x = np.stack([preprocess(im) for im in images]) if images else np.zeros((0, 3, 224, 224), np.float32)
        return run_logits(self.session, x, batch_size)


def read_manifest(model_dir: Path) -> dict:
    try:
        meta = json.loads((model_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelUnavailable(str(model_dir), f"{MANIFEST} could not be read ({e})",
                               f"train it again: ocula train classifier DATA_DIR -o {model_dir}") from None
    if meta.get("format") != FORMAT or not meta.get("classes"):
        raise ModelUnavailable(str(model_dir), f"{MANIFEST} is not an ocula classifier manifest",
                               f"train it again: ocula train classifier DATA_DIR -o {model_dir}")
    return meta


def load(model_dir: str | Path, settings: Settings | None = None, precision: str = "auto") -> CustomModel:
    """The trained model in ``model_dir`` (precision: auto = int8 if present, int8, fp32)."""
    from . import cached_model

    settings = settings or get_settings()
    path = Path(model_dir).expanduser().resolve()
    meta = read_manifest(path)
    candidates = {"int8": [meta.get("onnx_int8")], "fp32": [meta.get("onnx")],
                  "auto": [meta.get("onnx_int8"), meta.get("onnx")]}[precision]
    files = [path / f for f in candidates if f and (path / f).is_file()]
    if not files:
        raise ModelUnavailable(str(path), f"no {precision} ONNX file in the model folder",
                               f"train it again: ocula train classifier DATA_DIR -o {path}")
    onnx_file = files[0]
    st = onnx_file.stat()
    key = ("custom-classifier", str(onnx_file), st.st_mtime_ns, st.st_size, settings.threads)
    sess = cached_model(key, lambda: session(onnx_file, settings.threads))
    return CustomModel(path, meta.get("name") or path.name, list(meta["classes"]), onnx_file, sess)


def session(path: Path, threads: int) -> Any:
    """An onnxruntime session for an exported classifier."""
    import onnxruntime as ort

    from . import ort_options

    return ort.InferenceSession(str(path), ort_options(threads), providers=["CPUExecutionProvider"])


def run_logits(sess: Any, x: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Logits for preprocessed pixels (N, 3, 224, 224), in batches."""
    out = [sess.run([OUTPUT], {INPUT: np.ascontiguousarray(x[s:s + batch_size], np.float32)})[0]
           for s in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
