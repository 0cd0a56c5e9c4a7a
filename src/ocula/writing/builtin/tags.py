"""Keywords: the scene's ranked tags (main subject first, colours last) with the user's own
keywords and the place (city, country: from the GPS) just below the main subject, and the camera
and year in long lists; TAG_COUNTS per length. Every purpose's draft carries them."""

from __future__ import annotations

from ...vocabulary import TAG_COUNTS
from ..base import DescribeRequest, Draft
from .scene import Context, Scene


def tag_list(sc: Scene, ctx: Context, req: DescribeRequest) -> list[str]:
    """The keywords every draft carries, most important first, without repeats."""
    zh = req.language == "zh"
    ranked = [(zh_word if zh else en) for en, zh_word, _ in sc.tags]
    if sc.place is not None and ctx.where is None:
        from ...places import name_in

        for name in reversed([n for n in (sc.place.city, sc.place.country or sc.place.ocean) if n is not None]):
            ranked.insert(1 if ranked else 0, name_in(name, "zh" if zh else "en"))
    for k in reversed(ctx.keywords):  # the user's own words rank just below the main subject
        ranked.insert(1 if ranked else 0, k)
    if req.length == "long":
        if sc.camera:
            ranked.append(sc.camera)
        if sc.date:
            ranked.append(f"{sc.date.year}年" if zh else str(sc.date.year))
    n = TAG_COUNTS[req.length]
    out: list[str] = []
    seen: set[str] = set()
    for t in ranked:
        t = t.strip()
        key = t.lower()
        if t and key not in seen:
            seen.add(key)
            out.append(t)
    return out[:n]


def write_en(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    tags = tag_list(sc, ctx, req)
    return Draft(text=", ".join(tags), tags=tags, confidence=0)


def write_zh(sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
    tags = tag_list(sc, ctx, req)
    return Draft(text="、".join(tags), tags=tags, confidence=0)
