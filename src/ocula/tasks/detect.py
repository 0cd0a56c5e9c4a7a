"""detect: objects in the picture, with boxes. Without ``find``: the 80 COCO classes (RT-DETR,
"3 people, 2 dogs"); with ``find``: whatever the words describe ("red car, person with
umbrella"), by an open-vocabulary detector (OWLv2). ``annotate`` writes a copy with the boxes
drawn. redact and inpaint take their regions from here (``find=``); analyze runs it as the
``objects`` step when a detector is downloaded, so describe and search know what is there."""

from __future__ import annotations

import os
import re
from collections import Counter
from typing import Any, Iterable, Sequence

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..image import ImageInput, LoadedImage, load_image
from ..results import DetectedObject, DetectResult, ImageInfo

MAX_SIDE = 1024      # RT-DETR sees 640 px, OWLv2 960 px: more only costs decoding
MAX_QUERIES = 50
MAX_QUERY_CHARS = 100
# words that name nothing by themselves: a --find of only these finds nothing worth a box
_EMPTY = {"a", "an", "the", "of", "and", "or", "with", "in", "on", "at", "to", "for", "by", "from", "this",
          "that", "these", "those", "some", "any", "all", "it", "its", "is", "are", "be", "very", "no", "not"}
_PLURAL = {"person": "people", "mouse": "mice", "sheep": "sheep", "skis": "skis", "knife": "knives",
           "bus": "buses", "glass": "glasses", "couch": "couches", "sandwich": "sandwiches", "dish": "dishes",
           "box": "boxes", "scissors": "scissors", "potted plant": "potted plants", "wine glass": "wine glasses"}
_CN_NUM = "零一两三四五六七八九十"


def parse_find(find: str | Iterable[str] | None) -> list[str]:
    """The phrases to look for: comma-separated or a list; each must name something."""
    from ._zeroshot import SPLIT, needs_multilingual

    if find is None:
        return []
    items = [find] if isinstance(find, str) else list(find)
    phrases: dict[str, str] = {}
    for item in items:
        if not isinstance(item, str):
            raise InvalidArgument(f"find takes words, not {type(item).__name__}")
        for part in SPLIT.split(item):
            phrase = " ".join(part.split())
            if not phrase:
                continue
            words = [w for w in re.findall(r"\w+", phrase.lower())]
            if not words or all(w in _EMPTY or w.isdigit() for w in words):
                raise InvalidArgument(f"--find {phrase!r} names no thing to look for; give nouns such as "
                                      f"'red car, person with umbrella'")
            if len(phrase) > MAX_QUERY_CHARS:
                raise InvalidArgument(f"--find phrase {phrase[:30]!r}... is {len(phrase)} characters; keep each "
                                      f"under {MAX_QUERY_CHARS}")
            if needs_multilingual(phrase):
                raise InvalidArgument(f"--find {phrase!r}: the open-vocabulary detector reads English only; "
                                      f"write what to find in English")
            phrases.setdefault(phrase.lower(), phrase)
    if not phrases:
        raise InvalidArgument("--find is empty; give what to look for, e.g. --find 'cup, person with umbrella'")
    if len(phrases) > MAX_QUERIES:
        raise InvalidArgument(f"{len(phrases)} phrases to find: at most {MAX_QUERIES} at once")
    return list(phrases.values())


def _check_score(min_score: float | None) -> float | None:
    if min_score is None:
        return None
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0 <= min_score <= 1:
        raise InvalidArgument(f"min_score must be a number from 0 to 1, not {min_score!r}")
    return float(min_score)


def plural(label: str, n: int) -> str:
    if n == 1:
        return label
    if label in _PLURAL:
        return _PLURAL[label]
    return label + ("es" if label.endswith(("s", "x", "ch", "sh")) else "s")


def summarize(counts: dict[str, int], zh: dict[str, str | None]) -> tuple[str, str]:
    """('3 people, 2 dogs', '3个人、2只狗')."""
    from ..writing.vocab import measure_word

    en = ", ".join(f"{n} {plural(lab, n)}" for lab, n in counts.items())
    parts = []
    for lab, n in counts.items():
        name = zh.get(lab) or lab
        num = _CN_NUM[n] if n <= 10 and n != 2 else ("两" if n == 2 else str(n))
        parts.append(f"{num}{measure_word(name, 'object')}{name}")
    return en, "、".join(parts)


def _backend(find: list[str], model: str | None, settings: Settings) -> Any:
    if find:
        from ..backends import owlv2

        return owlv2.load(model or settings.finder, settings), owlv2.DEFAULT_MIN_SCORE
    from ..backends import rtdetr

    return rtdetr.load(model or settings.detector, settings), rtdetr.DEFAULT_MIN_SCORE


def detect_loaded(loaded: LoadedImage, find: list[str], model: str | None, min_score: float | None,
                  settings: Settings) -> DetectResult:
    """Detection on an image already loaded (redact and inpaint share it); arguments checked."""
    from ..backends.rtdetr import COCO_ZH

    backend, default_score = _backend(find, model, settings)
    score = default_score if min_score is None else min_score
    # boxes come back in the pixels of the copy the model saw; scale them to the full image
    pil = loaded.resized(MAX_SIDE)
    sx, sy = loaded.original_size[0] / pil.width, loaded.original_size[1] / pil.height
    boxes = (backend.find([pil], find, score) if find else backend.detect([pil], score))[0]
    objects = []
    for b in boxes:
        x, y, w, h = b.box
        box = (int(round(x * sx)), int(round(y * sy)), max(1, int(round(w * sx))), max(1, int(round(h * sy))))
        objects.append(DetectedObject(label=b.label, score=round(min(1.0, max(0.0, b.score)), 4), box=box,
                                      name_zh=None if find else COCO_ZH.get(b.label),
                                      query=find.index(b.label) if find and b.label in find else None))
    counts = dict(Counter(o.label for o in objects).most_common())
    en, zh = summarize(counts, {o.label: o.name_zh for o in objects})
    return DetectResult(image=ImageInfo.of(loaded), model=backend.name, find=find, objects=objects, counts=counts,
                        summary=en, summary_zh=zh, min_score=score)


def annotate_image(loaded: LoadedImage, objects: Sequence[DetectedObject]):
    """A copy of the picture with each box drawn and labelled."""
    from PIL import ImageDraw, ImageFont

    img = loaded.image.convert("RGB")  # convert makes a copy
    draw = ImageDraw.Draw(img)
    k = img.width / loaded.original_size[0]  # boxes are in full-image pixels; the copy may be smaller
    width = max(2, round(max(img.size) / 400))
    try:
        font = ImageFont.load_default(size=max(12, round(max(img.size) / 50)))
    except TypeError:  # Pillow without FreeType
        font = ImageFont.load_default()
    palette = ((230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240))
    colours: dict[str, tuple[int, int, int]] = {}
    for o in objects:
        colour = colours.setdefault(o.label, palette[len(colours) % len(palette)])
        x, y, w, h = (round(v * k) for v in o.box)
        draw.rectangle([x, y, x + w - 1, y + h - 1], outline=colour, width=width)
        text = f"{o.label} {o.score:.2f}"
        tx0, ty0, tx1, ty1 = draw.textbbox((x, y), text, font=font)
        top = y - (ty1 - ty0) - 2 * width if y - (ty1 - ty0) - 2 * width >= 0 else y
        draw.rectangle([x, top, x + (tx1 - tx0) + 2 * width, top + (ty1 - ty0) + 2 * width], fill=colour)
        draw.text((x + width, top + width - (ty0 - y)), text, fill=(255, 255, 255), font=font)
    return img


def detect(image: ImageInput, *, find: list[str] | None = None, model: str | None = None,
           min_score: float | None = None, annotate: str | os.PathLike | None = None, overwrite: bool = False,
           settings: Settings | None = None) -> DetectResult:
    """Objects with boxes: the COCO classes, or with ``find`` whatever those English words
    describe. ``min_score``: default 0.5 for COCO, 0.2 for words. ``annotate``: write a copy
    with the boxes drawn there."""
    settings = settings or get_settings()
    find = parse_find(find)
    min_score = _check_score(min_score)
    if annotate is not None:
        from ..output import check_output

        check_output(annotate, [image if isinstance(image, (str, os.PathLike)) else None], overwrite=overwrite)
    loaded = image if isinstance(image, LoadedImage) else load_image(image, max_side=MAX_SIDE, settings=settings)
    result = detect_loaded(loaded, find, model, min_score, settings)
    if annotate is not None:
        from ..output import save_image

        saved = save_image(annotate_image(loaded, result.objects), annotate, inputs=[loaded.path],
                           overwrite=overwrite)
        result.annotated = str(saved.path)
    return result
