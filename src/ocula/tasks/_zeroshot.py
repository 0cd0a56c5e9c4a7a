"""Zero-shot labels: score an image against words the user just typed, with CLIP or SigLIP.

Each label is embedded through prompt templates ("a photo of a {}.") averaged into one vector
(prompt ensembling), once per process and label list. Scores are a softmax over the given
labels (CLIP: scale * cosine; SigLIP: its sigmoid logits) times the chance that any of them
applies at all, so that ``none_score`` (= 1 - that chance) is high when every label is
unlikely: SigLIP's sigmoid is a calibrated match probability; for CLIP, whose cosines have
no absolute meaning, a match is sigmoid(scale * (cosine - NONE_COSINE)).

English towers never see Chinese (or any non-Latin script): such labels go through the
multilingual text tower aligned to CLIP ViT-B/32 (``clip-multilingual-text``), or are refused
with one line saying how to get it. Not a task itself: classify (``--labels``), analyze and
index use it."""

from __future__ import annotations

import re
import threading
import unicodedata
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..config import Settings
from ..errors import InvalidArgument, ModelUnavailable
from ..vocabulary import has_han

MAX_LABELS = 1000
MAX_LABEL_CHARS = 100
MAX_FILE_BYTES = 1_000_000
TEMPLATES = {"en": ("a photo of a {}.", "a photo of the {}.", "a close-up photo of a {}."),
             "zh": ("一张{}的照片。", "{}的照片。", "一张关于{}的图片。")}
# cosine at which CLIP ViT-B/32 turns from "unrelated" to "matches" for a templated label
# (matching prompts sit around 0.27-0.33, unrelated ones around 0.15-0.21)
NONE_COSINE = 0.22
SPLIT = re.compile(r"[,\n;，、；]")

_cache: dict[tuple, np.ndarray] = {}
_cache_lock = threading.Lock()


def parse_labels(labels: str | Iterable[str] | None = None, labels_file: str | Path | None = None) -> list[str]:
    """The labels to score, from a comma-separated string, a list, and/or a file (one per line
    or comma-separated); stripped, duplicates dropped. Bad lists raise one InvalidArgument."""
    raw: list[str] = []
    if labels is not None:
        for item in [labels] if isinstance(labels, str) else labels:
            if not isinstance(item, str):
                raise InvalidArgument(f"labels must be words, not {type(item).__name__}")
            raw += SPLIT.split(item)
    if labels_file is not None:
        path = Path(labels_file).expanduser()
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise InvalidArgument(f"labels file {path} is over {MAX_FILE_BYTES // 1000} kB; keep it to "
                                      f"{MAX_LABELS} labels")
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise InvalidArgument(f"labels file {path} could not be read: {e.strerror or e}") from None
        except UnicodeDecodeError:
            raise InvalidArgument(f"labels file {path} is not UTF-8 text") from None
        raw += [part for line in text.splitlines() if not line.lstrip().startswith("#") for part in SPLIT.split(line)]
    out: dict[str, str] = {}
    for item in raw:
        label = " ".join(item.split())
        if not label:
            continue
        if not any(ch.isalnum() for ch in label):
            raise InvalidArgument(f"label {label!r} has no letters or digits; labels are words such as "
                                  f"'kitchen, beach, receipt'")
        if len(label) > MAX_LABEL_CHARS:
            raise InvalidArgument(f"label {label[:30]!r}... is {len(label)} characters; keep each label under "
                                  f"{MAX_LABEL_CHARS}")
        out.setdefault(label.casefold(), label)
    if not out:
        raise InvalidArgument("no labels given: pass words such as --labels 'kitchen, beach, receipt' "
                              "(or --labels-file FILE, one per line)")
    if len(out) > MAX_LABELS:
        raise InvalidArgument(f"{len(out)} labels: at most {MAX_LABELS} can be scored at once")
    return list(out.values())


def needs_multilingual(label: str) -> bool:
    """True when an English text tower cannot read the label: Chinese, or any letter of a
    script other than Latin."""
    if has_han(label):
        return True
    return any(ch.isalpha() and not ch.isascii() and "LATIN" not in unicodedata.name(ch, "") for ch in label)


def _templated(label: str) -> list[str]:
    return [t.format(label) for t in TEMPLATES["zh" if has_han(label) else "en"]]


class ZeroShot:
    """An image tower (CLIP/SigLIP) and the text tower that reads the labels."""

    def __init__(self, model: str | None, labels: Sequence[str], settings: Settings):
        from ..backends.clip import AUTO_ORDER, get_clip, load_clip

        self.image = load_clip(model, settings) if model else get_clip(settings)
        if self.image is None:
            raise ModelUnavailable(AUTO_ORDER[0], "zero-shot labels need a CLIP or SigLIP model and none is "
                                                   "downloaded (or OCULA_CLIP_MODEL is off)",
                                   f"`ocula models pull {AUTO_ORDER[0]}`")
        foreign = [lab for lab in labels if needs_multilingual(lab)]
        self.text: Any = self.image
        if foreign and not self.image.multilingual:
            self.text = self._multilingual(foreign, settings)
        self.model = self.image.name if self.text is self.image else f"{self.image.name} + {self.text.name}"

    def _multilingual(self, foreign: list[str], settings: Settings) -> Any:
        from ..backends import mclip
        from ..backends.clip import AUTO_ORDER

        shown = ", ".join(foreign[:3])
        hint = (f"`ocula models pull {settings.clip_text_model}` (with {AUTO_ORDER[0]}), or write the labels in "
                f"English")
        try:
            text = mclip.load(settings.clip_text_model, settings)
        except ModelUnavailable as e:
            raise InvalidArgument(f"labels such as {shown} are not English and {self.image.name}'s text tower "
                                  f"reads English only; a multilingual text tower is needed: {hint} "
                                  f"({e.reason})") from None
        pairs = self.image.family == "clip" and text.dim == self.image.dim and (
            "/" in self.image.name or self.image.name == AUTO_ORDER[0])
        if not pairs:
            raise InvalidArgument(f"labels such as {shown} are not English; the multilingual text tower "
                                  f"{text.name} is aligned to {AUTO_ORDER[0]}'s images, not {self.image.name}'s: "
                                  f"set OCULA_CLIP_MODEL={AUTO_ORDER[0]}, or write the labels in English")
        return text

    def label_vectors(self, labels: Sequence[str]) -> np.ndarray:
        """(labels, dim) unit vectors, each the mean of its templated prompts; cached."""
        key = (self.text.name, id(self.text), tuple(labels))
        with _cache_lock:
            hit = _cache.get(key)
        if hit is not None:
            return hit
        prompts = [p for lab in labels for p in _templated(lab)]
        vecs = self.text.embed_texts(prompts).reshape(len(labels), -1, self.image.dim).mean(axis=1)
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        with _cache_lock:
            if len(_cache) > 64:
                _cache.clear()
            _cache[key] = vecs
        return vecs

    def scores(self, pils: list, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (images, labels), none_score (images,)): each row plus its none_score sums to 1."""
        cos = self.image.embed_images(pils) @ self.label_vectors(labels).T
        return probabilities(cos.astype(np.float64), self.image.logit_scale, self.image.logit_bias)


def probabilities(cos: np.ndarray, scale: float, bias: float | None) -> tuple[np.ndarray, np.ndarray]:
    logits = scale * cos + (bias or 0.0)
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    share = z / z.sum(axis=1, keepdims=True)
    match = 1 / (1 + np.exp(-(logits if bias is not None else scale * (cos - NONE_COSINE))))
    none = 1.0 - match.max(axis=1)
    return share * (1.0 - none)[:, None], none


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
