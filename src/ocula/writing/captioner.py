"""Captioner writer: a caption model (BLIP, Florence-2; backends/captioner.py) writes one
English sentence about the picture; the facts fill in the rest for each purpose.

Both models write English only: a Chinese request raises WriterError and describe()
falls back to the builtin writer, which writes Chinese natively, with a warning.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..backends import cached_model
from ..backends.captioner import (INPUT_MAX_SIDE, Caption, Captioner, clean_caption, load_captioner,
                                  resolve_source)
from ..config import Settings, get_settings
from ..errors import ModelUnavailable
from ..results import Analysis
from ..vocabulary import ALT_MAX, TAG_COUNTS
from . import validate
from .base import DescribeRequest, Draft, WriterError, WriterUnavailable
from .vocab import join_en

if TYPE_CHECKING:
    from ..image import LoadedImage

__all__ = ["CaptionerWriter", "caption_draft", "Caption", "clean_caption", "load_captioner"]

# --- from a caption to a draft ----------------------------------------------------------

_STOP = {"a", "an", "the", "of", "on", "in", "at", "with", "and", "is", "are", "to", "its", "it", "there",
         "this", "that", "by", "for", "from", "into", "over", "under", "near", "next", "top", "front", "while",
         "up", "down", "some", "two", "three", "very", "out", "his", "her", "their", "has", "have", "be",
         "image", "picture", "photo", "close", "view", "shows", "showing", "sitting", "laying", "lying",
         "standing", "looking", "holding", "being", "other", "each", "one"}


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _trim(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary, ending in a full stop."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    cut = cut[:cut.rfind(" ")] if " " in cut else cut
    return cut.rstrip(" ,;:-") + "."


def _ocr_text(facts: Analysis, limit: int = 60) -> str:
    if facts.text is None:
        return ""
    t = re.sub(r"\s+", " ", facts.text.text).strip()
    return t if 0 < len(t) <= limit else ""


def _content_words(caption: str) -> list[str]:
    words = re.findall(r"[a-z][a-z'-]+", caption.lower())
    return list(dict.fromkeys(w for w in words if w not in _STOP and not w.endswith("ing")))


def _where_when(facts: Analysis) -> tuple[str | None, str | None]:
    """('Shanghai, China', '2024-05-12') from the place the GPS names and the checked capture
    time; None for what is not known (the caller keeps its placeholder)."""
    from ..places import label

    md = facts.metadata
    if md is None:
        return None, None
    where = label(md.place) if md.place is not None else None
    if md.time is not None:
        date = md.time.local[:10] if md.time.known and md.time.local else None
    else:
        date = md.datetime_original[:10] if md.datetime_original else None
    return where, date


def caption_draft(caption: Caption, facts: Analysis, request: DescribeRequest) -> Draft:
    """The Draft for a purpose: the caption is the main sentence, facts give the rest."""
    c = caption.text
    where, date = _where_when(facts)
    at = ("" if where.startswith("near ") else "in ") + where if where else None
    main = _sentence(c)
    ocr = _ocr_text(facts)
    quoted = f'"{ocr}"' if ocr and ocr.lower() not in c.lower() else ""
    faces = facts.faces.count if facts.faces is not None else 0
    colours = [col.name for col in facts.colors.colors[:3]] if facts.colors is not None else []
    labels = [lab.name for lab in facts.labels if lab.score >= 0.1]
    context = (request.context or "").strip().rstrip(".")
    title = bullets = None
    hashtags: list[str] = []
    tags: list[str] = []  # other purposes: describe() adds the builtin writer's ranked keywords
    if request.purpose == "alt":
        text = main
        if quoted and len(main) + len(quoted) + 16 <= ALT_MAX:
            text = f"{main[:-1]}, with the text {quoted}."
        text = _trim(text, ALT_MAX)
    elif request.purpose in ("caption", "social", "travel"):
        parts = [main]
        if request.purpose == "travel":
            parts = [f"{main[:-1]}, {at or 'in [WHERE]'}." if not context else main]
            if date:
                parts.append(f"Taken on {date}.")
        if request.length != "short" or request.purpose in ("social", "travel"):
            if quoted:
                parts.append(f"The text reads {quoted}.")
            if context:
                parts.append(_sentence(context))
            elif at and request.purpose != "travel":
                parts.append(f"Taken {at}.")
        if request.length == "long" and colours:
            parts.append(f"The main colours are {', '.join(colours[:-1]) + ' and ' if len(colours) > 1 else ''}"
                         f"{colours[-1]}.")
        text = " ".join(parts)
        if request.purpose in ("social", "travel"):
            words = _content_words(c) + [w for lab in labels for w in lab.lower().split() if w not in _STOP]
            city = facts.metadata.place.city if where and facts.metadata.place.city else None
            words = ([city.en.replace(" ", "")] if city else []) + words + (["travel"] if request.purpose == "travel"
                                                                             else [])
            hashtags = ["#" + w.replace("-", "").replace("'", "") for w in dict.fromkeys(words)][:5] or ["#photo"]
    elif request.purpose == "product":
        title = _trim(re.sub(r"^(?:a|an|the)\s+", "", c, flags=re.I).strip(), 60).rstrip(".")
        title = " ".join(w if w.lower() in _STOP else w[:1].upper() + w[1:] for w in title.split())
        title = title[:1].upper() + title[1:]
        text = main + (f" {_sentence(context)}" if context else "")
        bullets = [f"As pictured: {c}"]
        if labels:
            bullets.append(f"Type: {labels[0]}")
        if colours:
            bullets.append(f"Colours: {', '.join(colours)}")
        if quoted:
            bullets.append(f"Printed text: {quoted}")
        if context:
            bullets.append(_sentence(context))
        if len(bullets) < 3:
            bullets.append(f"Photo: {facts.image.width} × {facts.image.height} px")
        if len(bullets) < 3:
            bullets.append("Details as shown in the photo")
        bullets = bullets[:5]
    elif request.purpose == "news":
        lead = main[:-1]
        # WHO only from people the user named and describe recognised; other faces keep [WHO]
        named = [p.name for p in sorted(facts.people or [], key=lambda p: p.box[0])][:faces]
        who = join_en(named + (["[WHO]"] if faces > len(named) else []))
        if not context:
            lead += f" {at}" if at else " at [WHERE]"
        if faces and (named or not context):
            lead = f"{who} — {lead[0].lower()}{lead[1:]}"
        if date:
            lead += f", {date}"
        text = lead + "." + (f" {_sentence(context)}" if context else "")
    else:  # tags
        n = TAG_COUNTS[request.length]
        tags = list(dict.fromkeys(_content_words(c) + [lab.lower() for lab in labels] + colours))[:n]
        text = ", ".join(tags)
    return Draft(text=text, title=title, bullets=bullets or [], hashtags=hashtags, tags=tags,
                 confidence=round(caption.score, 3))


class CaptionerWriter:
    """Writer over a captioning model; English only (Chinese falls back to builtin)."""

    name = "captioner"

    def __init__(self, settings: Settings | None = None, *, model: str | None = None, num_beams: int = 3,
                 max_new_tokens: int | None = None, **_: Any):
        self.settings = settings or get_settings()
        self.model_name = model or self.settings.captioner
        self.num_beams = num_beams
        self.max_new_tokens = max_new_tokens  # None: by the requested length
        # find the files now (cheap, no torch): a missing model fails before any image is analysed
        try:
            self._display, self._path = resolve_source(self.model_name, self.settings)
        except ModelUnavailable as e:
            raise WriterUnavailable(str(e)) from e

    def load(self) -> Captioner:
        settings = self.settings
        try:
            return cached_model(("captioner", str(self._path.resolve()), settings.device),
                                lambda: Captioner(self._display, self._path, settings))
        except ModelUnavailable as e:
            raise WriterUnavailable(str(e)) from e

    def write(self, facts: Analysis, request: DescribeRequest, image: "LoadedImage | None" = None) -> Draft:
        if request.language != "en":
            raise WriterError(f"the captioner ({self.model_name}) writes English only; "
                              f"{request.language} text comes from the builtin writer")
        if image is None:
            raise WriterError("the captioner writer needs the image itself, not only its facts")
        captioner = self.load()
        pil = image.resized(INPUT_MAX_SIDE) if max(image.size) > INPUT_MAX_SIDE else image.image
        cap = captioner.caption(pil, length=request.length, max_new_tokens=self.max_new_tokens,
                                num_beams=self.num_beams)
        if not cap.text:
            raise WriterError(f"the captioner ({captioner.name}) wrote nothing for this image")
        draft = caption_draft(cap, facts, request)
        problems = validate.check_draft(draft, facts, request)
        if problems:
            raise WriterError(f'the caption "{cap.text}" from {captioner.name} was rejected: '
                              f"{validate.first_problem(problems)}")
        return draft
