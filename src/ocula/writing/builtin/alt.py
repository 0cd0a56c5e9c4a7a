"""Alt text: one sentence for a screen reader, within ALT_MAX characters (ALT_MAX_ZH in Chinese).
Says the subject (and a portrait's framing), quotes visible text, adds colours and the user's
context while they fit, and never starts with "image of"."""

from __future__ import annotations

import re

from ...vocabulary import ALT_MAX, ALT_MAX_ZH
from .. import vocab as V
from ..base import DescribeRequest, Draft
from .phrases import colours_en, colours_zh, core_en, core_zh, join_phrase, plain_en, plain_zh, quote
from .scene import Context, Scene

# subjects that text is written on (上面写着, "on it is written"); for others the text is somewhere in the picture
_TAGLIKE_TEXT = {"object", "electronics", "clothing", "food", "tool", "sport", "instrument", "vehicle",
                 "furniture", "building"}


def write_en(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    core = core_en(sc, portrait=True)
    warnings: list[str] = []
    text_clause = ""
    if sc.text:
        if core:
            text_clause = " with the text {q}"
        else:
            core = "text reading {q}"
    if not core:
        core = plain_en(sc)
    # colours help a reader who cannot see the picture, unless the context says more
    with_colour = req.length == "long" or (req.length == "medium" and not ctx.phrase)
    tones = "black and white" if sc.greyscale else f"{colours_en(sc)} tones"
    colour = f" in {tones}" if with_colour and (sc.colours or sc.greyscale) \
        and (sc.subject is not None or sc.people) and "{q}" not in core else ""
    if req.length == "short":
        text_clause = ""
    use_ctx = bool(ctx.phrase) and req.length != "short"
    # drop the least important parts until it fits: colour, then the quote's length,
    # then the context's length, then the quote
    s = ""
    for attempt in range(6):
        q = quote(sc.text, [90, 60, 40, 25, 15, 15][attempt])
        rest = (colour if attempt < 1 else "") + (text_clause if attempt < 4 else "")
        body = join_phrase(core, rest).replace("{q}", q)
        c = ""
        if use_ctx:
            room = ALT_MAX - len(V.sentence_en(body)) - 2
            phrase = ctx.phrase if attempt < 2 else V.clip_words(ctx.phrase, max(8, room))
            if attempt < 2 or room >= 8:
                c = (" " if ctx.prepositional else ", ") + phrase
        s = V.sentence_en(join_phrase(body, c))
        if len(s) <= ALT_MAX:
            break
    if len(s) > ALT_MAX:
        s = V.clip_words(s, ALT_MAX - 1).rstrip("…") + "."
    if use_ctx and ctx.phrase not in s:
        warnings.append(f"context shortened to keep the alt text within {ALT_MAX} characters")
    return Draft(text=_no_image_of(s), confidence=0, warnings=warnings)


def write_zh(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    np, hedged = core_zh(sc, portrait=True)
    main = ("似乎是" if hedged else "") + np if np else ""
    text_part = ""
    if sc.text:
        if main:
            on = "上面写着" if sc.subject and sc.subject.noun.category in _TAGLIKE_TEXT and not sc.people \
                else "画面中有文字"
            text_part = f"，{on}{{q}}"
        else:
            main = "一段文字：{q}"
    if not main:
        main = plain_zh(sc)
    with_colour = req.length == "long" or (req.length == "medium" and not ctx.phrase)
    colour = f"，色调以{colours_zh(sc)}为主" if with_colour and (sc.colours or sc.greyscale) \
        and (sc.subject is not None or sc.people) and "{q}" not in main else ""
    ctx_part = (("" if ctx.prepositional_zh else "，") + ctx.phrase) if ctx.phrase and req.length != "short" else ""
    if req.length == "short" and "{q}" not in main:
        text_part = ""
    warnings: list[str] = []
    for attempt in range(6):
        q_len = [24, 16, 12, 8, 8, 8][attempt]
        c = ctx_part if attempt < 2 else (f"，{V.clip_words(ctx.phrase, 12)}" if ctx_part and attempt < 4 else "")
        body = main + (text_part if attempt < 4 else "") + (colour if attempt < 1 else "") + c
        s = V.sentence_zh(body.replace("{q}", quote(sc.text, q_len)))
        if len(s) <= ALT_MAX_ZH:
            break
    else:
        s = s[: ALT_MAX_ZH - 1] + "。"
    if ctx_part and ctx.phrase not in s:
        warnings.append(f"context shortened to keep the alt text within {ALT_MAX_ZH} characters")
    return Draft(text=s, confidence=0, warnings=warnings)


_BANNED_START = re.compile(r"(?i)^(an?\s+)?(image|picture|photo|photograph|pic)\s+(of|showing)\s+")


def _no_image_of(s: str) -> str:
    """Alt text never starts with 'image of' (screen readers already say it is an image)."""
    m = _BANNED_START.match(s)
    return V.sentence_en(s[m.end():]) if m else s
