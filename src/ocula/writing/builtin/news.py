"""News captions: who, what, where and when in one sentence, in the agency style ("[WHO] is
seen in [WHERE] on [WHEN]"). Names come only from the user's context or from people the user
named in the index and recognised in the photo (an unnamed face keeps [WHO]); the place from the
context, else the one the photo's GPS names ("in Shanghai, China"); the date from the context,
else the checked EXIF time. What nobody said stays a placeholder for the editor. Then the
context, the visible text, the photographer and the camera."""

from __future__ import annotations

import re

from ...vocabulary import PLACEHOLDERS
from .. import vocab as V
from ..base import DescribeRequest, Draft
from .phrases import (close_phrase, core_en, core_zh, named_en, named_zh, object_zh, quote, subject_en, where_en,
                      where_zh)
from .scene import DAYS, Context, Scene


def _when(sc: Scene, ctx: Context, zh: bool) -> str | None:
    """The date phrase, a placeholder, or None when the context phrase already says it."""
    if ctx.when:
        if zh:
            return ctx.when
        if re.match(r"(?i)(on|in|at|during)\b", ctx.when):
            return ctx.when
        if re.search(rf"(?i)\d|\b({DAYS})\b", ctx.when) and not re.fullmatch(r"(19|20)\d\d", ctx.when.strip()):
            return f"on {ctx.when}"
        return f"in {ctx.when}"
    if ctx.when == "":
        return None
    if sc.date:
        return V.date_zh(sc.date) if zh else f"on {V.date_en(sc.date)}"
    return PLACEHOLDERS["zh"]["when"] if zh else f"on {PLACEHOLDERS['en']['when']}"


def _where(sc: Scene, ctx: Context, zh: bool) -> str | None:
    if ctx.where:
        if zh:
            return ctx.where
        return ctx.where if re.match(r"(?i)(in|at|on|near|outside|inside)\b", ctx.where) else f"in {ctx.where}"
    if ctx.where == "":
        return None
    known = where_zh(sc) if zh else where_en(sc)  # from the GPS; never guessed
    if known:
        return known
    return PLACEHOLDERS["zh"]["where"] if zh else f"in {PLACEHOLDERS['en']['where']}"


def _news_setting(ctx: Context, zh: bool = False) -> Context:
    """A context that is only a setting ('on the windowsill at home', '在窗台上') stands in
    for the [WHERE] placeholder instead of being a sentence of its own."""
    setting = ctx.prepositional_zh if zh else ctx.prepositional
    if ctx.phrase and setting and ctx.where is None and len(ctx.phrase) <= 80:
        return Context(phrase="", who=ctx.who, where=ctx.phrase, when=ctx.when, keywords=ctx.keywords)
    return ctx


def write_en(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    ph = PLACEHOLDERS["en"]
    ctx = _news_setting(ctx)
    when, where = _when(sc, ctx, False), _where(sc, ctx, False)
    tail = " ".join(x for x in (where, when) if x)
    verb = "is pictured" if req.tone == "formal" else "is seen"
    s = sc.subject
    if sc.people:
        extra = ""
        if s is not None:
            obj = subject_en(s, compound=True)
            extra = {"clothing": f" wearing {obj}", "building": f" in front of {obj}",
                     "scene": f" with {obj} in the background"}.get(s.noun.category, f" with {obj}")
        if ctx.who == "":  # named in the context sentence that follows: describe, do not name
            first = f"{V.capitalize(core_en(sc))} {verb.replace('is', 'are') if sc.people > 1 else verb} {tail}"
        elif sc.names and not ctx.who:  # recognised people the user named; other faces keep [WHO]
            rest = sc.unnamed
            others = None if rest <= 1 else f"{V.number_en(rest)} other people, {ph['who']},"
            who = named_en(sc, others if rest > 1 else ph["who"])
            plural = sc.people > 1
            if extra.startswith(" wearing") and not plural:
                first = f"{who},{extra}, {verb} {tail}"
            else:
                first = f"{who} {verb.replace('is', 'are') if plural else verb}{extra} {tail}"
        elif sc.people > 1:
            who = f"{V.capitalize(V.number_en(sc.people))} people, {ctx.who or ph['who']},"
            first = f"{who} {verb.replace('is', 'are')}{extra} {tail}"
        elif extra.startswith(" wearing"):
            first = f"{ctx.who or ph['who']},{extra}, {verb} {tail}"
        else:
            first = f"{ctx.who or ph['who']} {verb}{extra} {tail}"
    else:
        subj = close_phrase(core_en(sc)) or (f"text reading {quote(sc.text, 60)}" if sc.text else "")
        first = f"{V.capitalize(subj)} {verb} {tail}" if subj else f"Photo taken {tail}"
        if ctx.who:
            first += f" with {ctx.who}"
    sentences = [V.sentence_en(" ".join(first.split()).replace(" ,", ",").rstrip(","))]
    if ctx.phrase:
        sentences.append(V.sentence_en(ctx.phrase))
    if req.length != "short":
        if sc.text and "text reading" not in sentences[0].lower():
            sentences.append(f"Visible text reads {quote(sc.text, 80)}.")
        if sc.artist:
            sentences.append(f"(Photo: {sc.artist})")
    if req.length == "long" and sc.camera:
        sentences.append(f"Taken with {V.with_article(sc.camera)}.")
    return Draft(text=" ".join(sentences), confidence=0)


def write_zh(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    ph = PLACEHOLDERS["zh"]
    ctx = _news_setting(ctx, zh=True)
    when, where = _when(sc, ctx, True), _where(sc, ctx, True)
    if when and re.fullmatch(r"(19|20)\d\d", when.strip()):
        when = f"{when.strip()}年"
    at = (where if where.startswith(("在", "于")) else f"在{where}") if where else ""
    when_part = f"{when}，" if when else ""
    s = sc.subject
    if sc.people:
        n = "" if sc.people == 1 else f"等{V.people_zh(sc.people, formal=True)}"
        who = ctx.who or ph["who"]
        if sc.names and not ctx.who:  # recognised people the user named; other faces keep [人物]
            who = named_zh(sc, ph["who"] if sc.unnamed == 1 else f"{ph['who']}等{V.people_zh(sc.unnamed, formal=True)}")
            n = ""
        if ctx.who == "":  # named in the context sentence that follows
            np, _ = core_zh(sc)
            first = f"图为{when_part}{at}的{np}。" if at else f"图为{when_part}{np}。"
        elif s is not None and s.noun.category == "clothing":
            cloth = f"疑似{s.maybe.zh}" if s.maybe else (s.noun.zh if s.sure else f"疑似{s.noun.zh}")
            first = f"图为{when_part}身穿{cloth}的{who}{n}{at}。"
        else:
            first = f"图为{when_part}{who}{n}{at}。"
            if s is not None:
                first += f"画面中还有{object_zh(s)}。"
    else:
        np, hedged = core_zh(sc)
        where_when = f"{when or ''}{at}"
        if np and not hedged:
            first = f"图为{where_when}拍摄的{np}。"
        elif np:
            first = f"图为{where_when}拍摄的画面，画面中似乎是{np}。"
        else:
            first = f"图为{where_when}拍摄的画面。"
        if ctx.who:
            first += f"人物：{ctx.who}。"
    sentences = [first]
    if ctx.phrase:
        sentences.append(V.sentence_zh(ctx.phrase))
    if req.length != "short":
        if sc.text:
            sentences.append(f"画面中的文字写着{quote(sc.text, 40)}。")
        if sc.artist:
            sentences.append(f"（摄影：{sc.artist}）")
    if req.length == "long" and sc.camera:
        sentences.append(f"相机为{sc.camera}。")
    return Draft(text="".join(sentences), confidence=0)
