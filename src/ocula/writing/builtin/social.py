"""Social posts: an opener in the chosen tone (a hedged subject is asked about, not claimed),
the visible text, the user's context, where it was taken (from the GPS) and colours with length,
then hashtags from the keywords, the place, the user's own words and a few general ones."""

from __future__ import annotations

from ...vocabulary import HASHTAG_COUNTS
from .. import vocab as V
from ..base import DescribeRequest, Draft
from .phrases import (Picker, colours_en, colours_zh, core_en, core_zh, kind_of, place_en, place_zh, plain_en,
                      plain_zh, quote)
from .scene import Context, Scene



def _hashtags(sc: Scene, ctx: Context, req: DescribeRequest, zh: bool) -> list[str]:
    words: list[str] = []
    s = sc.subject
    for en, zh_word, _ in sc.tags:
        if en == "text" or any(en == c for c, _ in sc.colours) or en == "black and white":
            continue
        if en == "person":
            en, zh_word = "people", "人物"
        if zh:
            head = next((n for n in V.HEADS.values() if n.zh == zh_word and n.hashtag_zh), None)
            words.append(head.hashtag_zh if head else zh_word)
        else:
            words.append(en)
    for k in ctx.keywords:
        words.insert(1 if words else 0, k)
    city = sc.place.city if sc.place is not None and ctx.where is None else None
    if city is not None:  # where it was taken, just below the main subject
        from ...places import name_in

        words.insert(1 if words else 0, name_in(city, "zh" if zh else "en"))
    if s is not None and s.noun.en in ("cat", "dog") or any(w in ("cat", "dog", "猫咪", "狗狗") for w in words):
        words.append("萌宠" if zh else "pets")
    if s is not None and s.noun.category == "food":
        words.append("美食" if zh else "foodie")
    words += ["摄影", "每日一图", "随手拍"] if zh else ["photography", "PhotoOfTheDay", "PicOfTheDay"]
    n = HASHTAG_COUNTS[req.length]
    out: list[str] = []
    seen: set[str] = set()
    for w in words:
        h = V.hashtag(w)
        if h and h.lower() not in seen:
            seen.add(h.lower())
            out.append(h)
    return out[:n]


def write_en(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    pick = Picker(sc.seed)
    core = core_en(sc)
    kind = kind_of(sc)
    hedged = sc.subject is not None and not sc.subject.sure and not sc.people
    if not core:
        core = plain_en(sc) if not sc.text else f"the words {quote(sc.text, 60)}"
    if req.tone == "playful" and hedged:
        opener = f"Is that {sc.subject.noun.a()}? We think so!"
    else:
        t = {
            "neutral": ["In this shot: {c}.", "Today's picture: {c}."],
            "friendly": {"animal": ["Say hello to {this}!", "Meet {this}!"], "people": ["Here's {c}!"],
                         "food": ["Time for {c}!", "Who's up for {c}?"],
                         "other": ["Check out {this}!", "Look at {this}!"]}[kind],
            "formal": ["Featured: {c}.", "This photograph shows {c}."],
            "playful": {"animal": ["Plot twist: {this} steals the show!", "Who's this? {C}, of course!"],
                        "people": ["Strike a pose! {C}."], "food": ["{C}? Yes, please!"],
                        "other": ["Spotted: {c}!", "Guess what we found? {C}!"]}[kind],
        }[req.tone]
        this = (f"this {sc.subject.noun.en}" if sc.subject is not None and sc.subject.sure and not sc.people
                and sc.subject.maybe is None else core)
        opener = pick(t, "social").format(c=core, C=V.capitalize(core), this=this)
    parts = [opener]
    if req.length != "short":
        if sc.text and "the words" not in opener.lower():
            parts.append(f"It says {quote(sc.text, 50)}.")
        if ctx.phrase:
            parts.append(V.sentence_en(ctx.phrase))
        if ctx.where is None and place_en(sc):
            parts.append(place_en(sc))
    if req.length == "long" and (sc.colours or sc.greyscale):
        parts.append(f"Loving the {colours_en(sc)} tones." if req.tone in ("friendly", "playful")
                     else f"Palette: {colours_en(sc)}.")
    tags = _hashtags(sc, ctx, req, zh=False)
    post = " ".join(parts)
    return Draft(text=f"{post}\n\n{' '.join(tags)}", hashtags=tags, confidence=0)


def write_zh(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    pick = Picker(sc.seed)
    np, hedged = core_zh(sc)
    kind = kind_of(sc)
    s = sc.subject
    this = f"这{s.noun.mw}{s.noun.zh}" if s is not None and s.sure and not sc.people else None
    if not np:
        opener = f"看到一段文字：{quote(sc.text, 30)}！" if sc.text else f"分享{plain_zh(sc)}！"
    elif hedged:
        opener = {"playful": f"这是{np}吗？我们觉得是！", "formal": f"图中似乎是{np}。",
                  "friendly": f"来看看吧，画面中似乎是{np}！", "neutral": f"画面中似乎是{np}。"}[req.tone]
    else:
        t = {
            "neutral": [f"今日分享：{np}。", f"镜头里是{np}。"],
            "friendly": {"animal": [f"来认识一下{this or np}吧！"], "people": [f"来看看这张照片：{np}。"],
                         "food": [f"来{np}吧！"], "other": [f"快来看看{this or np}！"]}[kind],
            "formal": [f"图为{np}。"],
            "playful": {"animal": [f"本期主角：{np}！", f"今日份可爱：{np}！"], "people": [f"镜头前是{np}，很有范儿！"],
                        "food": [f"{np}，安排上了！"], "other": [f"发现{np}！"]}[kind],
        }[req.tone]
        opener = pick(t, "social")
    parts = [opener]
    if req.length != "short":
        if sc.text and np:
            parts.append(f"上面写着{quote(sc.text, 30)}。")
        if ctx.phrase:
            parts.append(V.sentence_zh(ctx.phrase))
        if ctx.where is None and place_zh(sc):
            parts.append(place_zh(sc))
    if req.length == "long" and (sc.colours or sc.greyscale):
        parts.append(f"好喜欢这{colours_zh(sc)}的色调！" if req.tone in ("friendly", "playful")
                     else f"色调：{colours_zh(sc)}。")
    tags = _hashtags(sc, ctx, req, zh=True)
    return Draft(text=f"{''.join(parts)}\n\n{' '.join(tags)}", hashtags=tags, confidence=0)
