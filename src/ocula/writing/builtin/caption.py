"""Captions: a sentence naming the subject (the template chosen by tone, seeded from the facts),
then, with length, the visible text, the user's context, where and when it was taken (from the
GPS and the checked EXIF time), a runner-up guess, the framing, colours, quality and the camera."""

from __future__ import annotations

from .. import vocab as V
from ..base import DescribeRequest, Draft
from .phrases import (Picker, colours_en, colours_zh, core_en, core_zh, exif_en, exif_zh, join_phrase, kind_of,
                      place_en, place_zh, plain_en, plain_zh, quality_en, quality_zh, quote, shi)
from .scene import Context, Scene


def write_en(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    pick = Picker(sc.seed)
    core = core_en(sc, formal=req.tone == "formal")
    if ctx.phrase and ctx.prepositional and core:
        core = join_phrase(core, f" {ctx.phrase}")
    sentences: list[str] = []
    if core:
        t = {
            "neutral": ["The photo shows {c}.", "Pictured: {c}."],
            "friendly": ["Here's {c}.", "This photo captures {c}."],
            "formal": ["The photograph depicts {c}.", "This photograph shows {c}."],
            "playful": (["Guess who's here? {C}!", "Look who showed up: {c}!"]
                        if kind_of(sc) in ("animal", "people") else ["Spotted: {c}!", "Guess what this is? {C}!"]),
        }[req.tone]
        if req.length == "short" and req.tone == "neutral":
            t = ["{C}."]
        sentences.append(pick(t, "caption").format(c=core, C=V.capitalize(core)))
    elif sc.text:
        sentences.append(f"Printed text reads {quote(sc.text, 80)}.")
    else:
        sentences.append(V.sentence_en(plain_en(sc)) if sc.colours or sc.greyscale
                         else "A photograph with no clearly recognisable subject.")
    if req.length != "short":
        if sc.text and core:
            sentences.append(f"Visible text reads {quote(sc.text, 80)}.")
        if ctx.phrase and not (ctx.prepositional and core):
            sentences.append(V.sentence_en(ctx.phrase))
        if req.length == "medium" and ctx.where is None and place_en(sc):
            sentences.append(place_en(sc))
    if req.length == "long":
        if sc.subject and sc.subject.alternative is not None and not sc.people:
            sentences.append(f"It could also be {sc.subject.alternative.a()}.")
        if sc.portrait:
            sentences.append("It is a close-up portrait.")
        if sc.colours or sc.greyscale:
            sentences.append("The photo is in black and white." if sc.greyscale else
                             pick([f"The palette is mostly {colours_en(sc)}.",
                                   f"{V.capitalize(colours_en(sc))} dominate the frame." if len(sc.colours) > 1
                                   else f"{V.capitalize(colours_en(sc))} dominates the frame."], "colours"))
        sentences += [x for x in (quality_en(sc), exif_en(sc)) if x]
    return Draft(text=" ".join(sentences), confidence=0)


def write_zh(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    pick = Picker(sc.seed)
    np, hedged = core_zh(sc, formal=req.tone == "formal")
    sentences: list[str] = []
    if np:
        who = "谁" if kind_of(sc) in ("animal", "people") else "什么"
        t = {
            "neutral": ["画面中{shi}{np}。", "照片里{shi}{np}。"],
            "friendly": ["这张照片里{shi}{np}。", "看，画面中{shi}{np}！"],
            "formal": ["图为{np}。" if not hedged else "图中似乎是{np}。", "本图展示的{shi}{np}。"],
            "playful": [f"猜猜这是{who}？{{shi2}}{{np}}！", "快看！画面中{shi}{np}！"],
        }[req.tone]
        if req.length == "short" and req.tone == "neutral":
            t = ["{shi2}{np}。"]
        sentences.append(pick(t, "caption").format(shi=shi(hedged), shi2="似乎是" if hedged else "",
                                                   np=np))
    elif sc.text:
        sentences.append(f"画面中的文字写着{quote(sc.text, 40)}。")
    else:
        sentences.append(V.sentence_zh(plain_zh(sc)) if sc.colours or sc.greyscale
                         else "一张没有明显主体的照片。")
    if req.length != "short":
        if sc.text and np:
            sentences.append(f"画面中的文字写着{quote(sc.text, 40)}。")
        if ctx.phrase and ctx.prepositional_zh and np:
            sentences[0] = sentences[0][:-1] + "，" + V.sentence_zh(ctx.phrase)
        elif ctx.phrase:
            sentences.append(V.sentence_zh(ctx.phrase))
        if req.length == "medium" and ctx.where is None and place_zh(sc):
            sentences.append(place_zh(sc))
    if req.length == "long":
        if sc.subject and sc.subject.alternative is not None and not sc.people:
            sentences.append(f"也可能是{sc.subject.alternative.one_zh()}。")
        if sc.portrait:
            sentences.append("这是一张人物特写。")
        if sc.colours or sc.greyscale:
            sentences.append("这是一张黑白照片。" if sc.greyscale else
                             pick([f"画面色调以{colours_zh(sc)}为主。", f"整体色彩以{colours_zh(sc)}为主。"],
                                  "colours"))
        sentences += [x for x in (quality_zh(sc), exif_zh(sc)) if x]
    return Draft(text="".join(sentences), confidence=0)
