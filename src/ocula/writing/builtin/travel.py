"""Travel posts: a short introduction of the photo for a travel site or post (seed use: tourism):
the place, the time of day and season, what is pictured, then with length the visible text, the
user's context and the colours; hashtags name the place.

The place comes from the user's context, else from the photo's GPS; with neither it stays the
[WHERE] placeholder (a place is never guessed from what the picture looks like). The time of day
and season come from the checked EXIF time; an unknown time is left out, not invented."""

from __future__ import annotations

from ...vocabulary import HASHTAG_COUNTS, PLACEHOLDERS
from .. import vocab as V
from ..base import DescribeRequest, Draft
from .phrases import (Picker, colours_en, colours_zh, core_parts_en, core_zh, moment_en, moment_zh, named_at_zh,
                      plain_en, plain_zh, quote, where_en, where_zh)
from .scene import Context, Scene


def _where_en(sc: Scene, ctx: Context) -> str:
    if ctx.where:
        return ctx.where if ctx.where.split()[0].lower() in ("in", "at", "on", "near") else f"in {ctx.where}"
    return where_en(sc) or f"in {PLACEHOLDERS['en']['where']}"


def _where_zh(sc: Scene, ctx: Context) -> str:
    return ctx.where or where_zh(sc) or PLACEHOLDERS["zh"]["where"]


def _hashtags(sc: Scene, ctx: Context, req: DescribeRequest, zh: bool) -> list[str]:
    from ...places import name_in

    words: list[str] = []
    if ctx.where:
        words.append(ctx.where)
    elif sc.place is not None:
        for name in (sc.place.city, sc.place.country, sc.place.ocean):
            if name is not None:
                words.append(name_in(name, "zh" if zh else "en"))
    words += ctx.keywords
    if sc.subject is not None:
        words.append(sc.subject.noun.zh if zh else sc.subject.noun.en)
    words += ["旅行", "旅游"] if zh else ["travel", "wanderlust"]
    out: list[str] = []
    for w in words:
        h = V.hashtag(w)
        if h and h.lower() not in {x.lower() for x in out}:
            out.append(h)
    return out[:HASHTAG_COUNTS[req.length]]


def write_en(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    pick = Picker(sc.seed)
    who, tail = core_parts_en(sc)
    subject = f"{who} {tail}" if tail else who
    core = subject or (f"a sign reading {quote(sc.text, 60)}" if sc.text else plain_en(sc))
    where = _where_en(sc, ctx)
    # "Grace Hopper, wearing a gown, in Paris": a named person is who the post is about, not a view
    here = f"{who}, {tail}, {where}" if sc.names and tail and not tail.startswith("and ") else f"{core} {where}"
    t = {
        "neutral": ["{H}.", "A view of {h}." if subject and not sc.people else "{H}."],
        "friendly": ["Here's {h}!", "Say hello from {W}: {c}."],
        "formal": ["{C}, photographed {w}.", "This photograph shows {h}."],
        "playful": ["Postcard from {W}: {c}!", "Guess where we are? {W}, with {c}!"],
    }[req.tone]
    bare = where.split(" ", 1)[1] if where.startswith(("in ", "on the ", "at ")) else where
    bare = bare.removeprefix("the ")
    first = pick(t, "travel").format(c=core, C=V.capitalize(core), w=where, W=V.capitalize(bare),
                                     h=here, H=V.capitalize(here))
    sentences = [first]
    when = moment_en(sc) if ctx.when is None else None
    if when:
        sentences.append(f"Taken {when}.")
    if req.length != "short":
        if sc.text and "reading" not in first:
            sentences.append(f"A sign reads {quote(sc.text, 60)}.")
        if ctx.phrase:
            sentences.append(V.sentence_en(ctx.phrase))
    if req.length == "long" and (sc.colours or sc.greyscale):
        sentences.append("Shot in black and white." if sc.greyscale else f"The scene is awash in {colours_en(sc)}.")
    tags = _hashtags(sc, ctx, req, zh=False)
    return Draft(text=" ".join(sentences), hashtags=tags, confidence=0)


def write_zh(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    pick = Picker(sc.seed)
    np, hedged = core_zh(sc)
    np = (f"似乎是{np}" if hedged else np) or (f"写着{quote(sc.text, 30)}的招牌" if sc.text else plain_zh(sc))
    where = _where_zh(sc, ctx)
    t = {
        "neutral": ["{w}，镜头里是{np}。", "在{w}拍下{np}。"],
        "friendly": ["来自{w}的问候：{np}！", "一起看看{w}的{np}吧！"],
        "formal": ["图为在{w}拍摄的{np}。"],
        "playful": ["打卡{w}：{np}！", "猜猜这是哪儿？{w}，还有{np}！"],
    }[req.tone]
    if sc.names:  # a sentence about the named person: "Grace Hopper在法国巴黎，身穿学位袍。"
        t = {"neutral": ["{at}。"], "friendly": ["来自{w}的问候：{np}！"], "formal": ["图为{at}。"],
             "playful": ["打卡{w}：{np}！"]}[req.tone]
    sentences = [pick(t, "travel").format(w=where, np=np, at=named_at_zh(sc, where) if sc.names else "")]
    when = moment_zh(sc) if ctx.when is None else None
    if when:
        sentences.append(f"拍摄于{when}。")
    if req.length != "short":
        if sc.text and "写着" not in np:
            sentences.append(f"画面中的文字写着{quote(sc.text, 30)}。")
        if ctx.phrase:
            sentences.append(V.sentence_zh(ctx.phrase))
    if req.length == "long" and (sc.colours or sc.greyscale):
        sentences.append("这是一张黑白照片。" if sc.greyscale else f"画面以{colours_zh(sc)}为主调。")
    tags = _hashtags(sc, ctx, req, zh=True)
    return Draft(text="".join(sentences), hashtags=tags, confidence=0)
