"""Product listings: a title (the seller's own words from the context, else the subject) and
bullets in order of importance (the item, its printed text, the context, colours, a shop
category, people shown, the photo's size and flaws), as many as the length allows."""

from __future__ import annotations

import re

from ...vocabulary import BULLET_COUNTS
from .. import vocab as V
from ..base import DescribeRequest, Draft
from .phrases import ISSUE_ZH, colours_en, colours_zh, quote, subject_en
from .scene import Context, Scene

# a subject's category -> the shop section it would be listed in (en, zh)
_PRODUCT_CATEGORY = {
    "animal": ("pets & animals", "宠物"), "vehicle": ("vehicles", "汽车交通"), "food": ("food & drink", "食品饮料"),
    "plant": ("home & garden", "家居园艺"), "clothing": ("clothing & accessories", "服饰配件"),
    "furniture": ("furniture", "家具"), "electronics": ("electronics", "数码电子"),
    "instrument": ("musical instruments", "乐器"), "tool": ("tools & hardware", "五金工具"),
    "sport": ("sports & outdoors", "运动户外"), "object": ("home & living", "家居生活"),
    "building": ("travel & places", "旅行"), "scene": ("travel & places", "旅行"),
}


def _title(sc: Scene, ctx: Context, zh: bool) -> tuple[str, list[str]]:
    warnings: list[str] = []
    s = sc.subject
    if s is not None:
        n = s.maybe or s.noun
        name = n.zh if zh else V.title_case(n.en)
        if not s.sure or s.maybe is not None:
            warnings.append("the product title rests on a low-confidence label; check it")
    elif sc.text:
        name = V.clip_words(sc.text, 40)
    else:
        name = "商品" if zh else "Product"
        warnings.append("no product was recognised; the title is generic")
    lead = re.split(r"[,.;:，。；：]", ctx.phrase)[0].strip() if ctx.phrase else ""
    if lead and not ctx.prepositional and len(lead) <= 60:
        # the seller's own words name the product better than an ImageNet label
        name = lead if zh else V.title_case(lead)
        warnings = []
    return name, warnings


def _bullets(sc: Scene, ctx: Context, req: DescribeRequest, zh: bool) -> list[str]:
    casual = req.tone in ("friendly", "playful")
    bang = "！" if zh else "!"
    items: list[tuple[int, str]] = []  # (priority, text); item, text and context always go in
    s = sc.subject
    if s is not None:
        if zh:
            what = (f"{s.noun.zh}（可能是{s.maybe.zh}）" if s.maybe else
                    s.noun.zh if s.sure else f"疑似{s.noun.zh}")
            lead = "图中：" if ctx.phrase else ("这是" if casual else "商品：")
            items.append((0, f"{lead}{what}" + (bang if req.tone == "playful" else "")))
        else:
            what = subject_en(s) if s.maybe else s.noun.a() if s.sure else f"likely {s.noun.a()}"
            lead = "Pictured" if ctx.phrase else ("What it is" if casual else "Item")
            items.append((0, f"{lead}: {what}" + (bang if req.tone == "playful" else "")))
    if sc.text:
        items.append((1, f"{'印有文字' if zh else ('It says' if casual else 'Printed text')}"
                         f"{'：' if zh else ': '}{quote(sc.text, 60)}"))
    if ctx.phrase:
        items.append((2, f"详情：{ctx.phrase}" if zh else f"{'Good to know' if casual else 'Details'}: "
                         f"{V.capitalize(ctx.phrase)}"))
    if sc.colours or sc.greyscale:
        items.append((3, f"色调：{colours_zh(sc)}" if zh else f"{'Colours' if casual else 'Colour palette'}: "
                         f"{colours_en(sc)}"))
    cat = s.noun.category if s is not None else None
    cat_name = _PRODUCT_CATEGORY.get(cat or "", None)
    if cat_name:
        items.append((4, f"类别：{cat_name[1]}" if zh else f"Category: {cat_name[0]}"))
    if sc.people:
        if cat == "clothing":
            items.append((5, "有人物上身展示" if zh else "Shown worn by a person"))
        else:
            items.append((5, f"图中有{V.people_zh(sc.people)}" if zh else f"Shown with {V.people_en(sc.people)}"))
    size = f"{sc.width}×{sc.height}"
    if sc.issues:
        items.append((6, f"图片：{size}像素，{'、'.join(ISSUE_ZH.get(i, i) for i in sc.issues)}，建议重拍" if zh
                         else f"Photo: {size} px, {V.join_en(sc.issues)}; a retake would sell better"))
    else:
        items.append((6, f"图片：{size}像素，清晰" if zh else f"Photo: {size} px, sharp and well exposed"))
    n = BULLET_COUNTS[req.length]
    items.sort(key=lambda kv: kv[0])
    return [t for _, t in items[:n]]


def _product(sc: Scene, ctx: Context, req: DescribeRequest, zh: bool) -> Draft:
    title, warnings = _title(sc, ctx, zh)
    bullets = _bullets(sc, ctx, req, zh)
    text = title + "\n" + "\n".join(f"• {b}" for b in bullets)
    return Draft(text=text, title=title, bullets=bullets, confidence=0, warnings=warnings)


def write_en(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    return _product(sc, ctx, req, zh=False)


def write_zh(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    return _product(sc, ctx, req, zh=True)
