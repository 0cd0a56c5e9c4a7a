"""The built-in writer: turns ``Analysis`` facts into text, offline and deterministic.

It first reads the facts into a ``Scene`` (scene.py: what the main subject is and how sure we
are, how many people, what text is visible, colours, quality, date, camera), then writes the
scene for a purpose and language (one module each: alt, caption, product, social, news, tags,
travel)
in the requested length and tone from sentence templates, with phrases they share (phrases.py).

Honesty rules kept everywhere:
- the subject is hedged by confidence: a top label at >= 0.5 is said plainly ("an Egyptian
  cat"), 0.2-0.5 with "what appears to be" / "似乎是", below that only the coarse category
  ("an animal"); a breed group (five ImageNet cat classes) can make the everyday word sure
  ("a cat") while the breed is not;
- faces are counted as people (ImageNet has no person class); nobody is gendered, and only
  people the user named in the index and recognised in the photo are named (``facts.people``);
- visible text is quoted, never paraphrased;
- names come only from the user's context; places only from the context or the photo's GPS
  (ocula.places), dates only from the context or the checked EXIF time; else placeholders.

Templates vary between images but not between runs: the choice is seeded from the facts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ...results import Analysis
from ...vocabulary import ALT_MAX as ALT_MAX_EN, ALT_MAX_ZH
from .. import vocab as V
from ..base import DescribeRequest, Draft
from . import alt, caption, news, product, social, tags, travel
from .phrases import core_en, core_zh
from .scene import Context, Scene, Subject, parse_context, read_scene

if TYPE_CHECKING:
    from ...image import LoadedImage

__all__ = ["BuiltinWriter", "ALT_MAX_EN", "ALT_MAX_ZH", "Context", "Scene", "Subject", "core_en", "core_zh",
           "parse_context", "read_scene"]

Write = Callable[[Scene, Context, DescribeRequest], Draft]

# every purpose x language the vocabulary allows (vocabulary.PURPOSES, LANGUAGES)
WRITE: dict[tuple[str, str], Write] = {
    ("alt", "en"): alt.write_en, ("alt", "zh"): alt.write_zh,
    ("caption", "en"): caption.write_en, ("caption", "zh"): caption.write_zh,
    ("product", "en"): product.write_en, ("product", "zh"): product.write_zh,
    ("social", "en"): social.write_en, ("social", "zh"): social.write_zh,
    ("news", "en"): news.write_en, ("news", "zh"): news.write_zh,
    ("tags", "en"): tags.write_en, ("tags", "zh"): tags.write_zh,
    ("travel", "en"): travel.write_en, ("travel", "zh"): travel.write_zh,
}


class BuiltinWriter:
    """Offline writer from facts, English and Chinese."""

    name = "builtin"

    def __init__(self, settings=None):
        self.settings = settings

    def write(self, facts: Analysis, request: DescribeRequest, image: "LoadedImage | None" = None) -> Draft:
        sc = read_scene(facts, request)
        ctx = parse_context(request.context)
        draft = WRITE[request.purpose, request.language](sc, ctx, request)
        if ctx.phrase and (V.cjk_share(ctx.phrase) > 0.5) != (request.language == "zh"):
            draft.warnings.append("the context is not in the output language; it was used as written")
        if not draft.tags:
            draft.tags = tags.tag_list(sc, ctx, request)
        draft.confidence = sc.confidence
        draft.warnings = sc.warnings + draft.warnings
        return draft
