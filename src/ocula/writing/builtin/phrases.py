"""The phrases every purpose shares: the main noun phrase (core_en / core_zh, hedged by
confidence), colours, quality, EXIF date and camera, quoting visible text, and the template
picker seeded from the facts, so that templates vary between images but not between runs.
"""

from __future__ import annotations

import hashlib

from .. import vocab as V
from .scene import Scene, Subject


def subject_en(s: Subject, compound: bool = False) -> str:
    """The subject hedged by confidence: 'a cat', 'what appears to be a cat', 'a building, possibly a
    palace' (inside a longer phrase: 'what appears to be a palace')."""
    if s.maybe is not None:
        return f"what appears to be {s.maybe.a()}" if compound else f"{s.noun.a()}, possibly {s.maybe.a()}"
    return s.noun.a() if s.sure else f"what appears to be {s.noun.a()}"


def close_phrase(phrase: str) -> str:
    """Close an apposition before the sentence goes on: 'a building, possibly a palace,'."""
    return phrase + "," if ", possibly " in phrase else phrase


def join_phrase(core: str, rest: str) -> str:
    if not rest:
        return core
    return core + rest if rest.startswith(",") else close_phrase(core) + rest


def object_zh(s: Subject) -> str:
    """A subject inside a longer Chinese phrase: '一只埃及猫' / '一只疑似埃及猫的动物'."""
    if s.maybe is not None:
        return f"一{s.noun.mw}疑似{s.maybe.zh}的{s.noun.zh}"
    if s.sure:
        return s.noun.one_zh()
    cat = V.CATEGORY_NOUNS.get(s.noun.category, V.CATEGORY_NOUNS["object"])
    if s.level == "category" or cat.zh == s.noun.zh:
        return f"疑似{cat.one_zh()}"
    return f"一{cat.mw}疑似{s.noun.zh}的{cat.zh}"


def named_en(sc: Scene, others: str | None = None) -> str:
    """The named people and a phrase for the rest: 'Grace Hopper', 'Barack Obama and another
    person'; ``others`` replaces that phrase (news: the [WHO] placeholder)."""
    rest = sc.unnamed
    more = others if others is not None else ("another person" if rest == 1 else f"{V.number_en(rest)} other people")
    return V.join_en(sc.names + ([more] if rest else []))


def named_zh(sc: Scene, others: str | None = None, also: tuple[str, ...] = ()) -> str:
    """'格蕾丝·霍珀', 'Barack Obama和另外一个人'; ``also``: more in the same list ('…、张三和一只狗')."""
    rest = sc.unnamed
    more = others if others is not None else f"另外{V.people_zh(rest)}"
    return V.join_zh(sc.names + ([more] if rest else []) + list(also))


def core_en(sc: Scene, formal: bool = False, portrait: bool = False) -> str:
    """The main noun phrase: 'an Egyptian cat', 'a person wearing what appears to be a
    military uniform', 'two people', 'Grace Hopper wearing ...'. Empty when nothing is known."""
    who, tail = core_parts_en(sc, formal, portrait)
    return f"{who} {tail}" if tail else who


def core_parts_en(sc: Scene, formal: bool = False, portrait: bool = False) -> tuple[str, str]:
    """``core_en`` as the people and what goes with them: ('Grace Hopper', 'wearing what
    appears to be an academic gown'), ('two people', 'and a dog'); ('an Egyptian cat', '')
    without people."""
    s = sc.subject
    if not sc.people:
        return (subject_en(s) if s else ""), ""
    who = (sc.person_noun.a() if sc.person_noun and sc.people == 1 else V.people_en(sc.people, formal))
    if sc.names:
        who = named_en(sc)
    if portrait and sc.portrait:  # alt text: the framing matters to someone who cannot see it
        who = f"a portrait of {who}"
    if s is None:
        return who, ""
    obj = subject_en(s, compound=True)
    cat = s.noun.category
    if cat == "clothing":
        return who, f"wearing {obj}"
    if cat == "building":
        return who, f"in front of {obj}"
    if cat == "scene":
        return who, f"with {obj} in the background"
    if cat in ("animal", "vehicle"):
        return who, f"and {obj}"
    return who, f"with {obj}"


def core_zh(sc: Scene, formal: bool = False, portrait: bool = False) -> tuple[str, bool]:
    """The main Chinese noun phrase and whether it still needs an outer hedge (似乎是)."""
    s = sc.subject
    if sc.people:
        if sc.person_noun is not None and sc.people == 1:
            who = f"一{sc.person_noun.mw}{sc.person_noun.zh}"
        else:
            who = V.people_zh(sc.people, formal)
        if sc.names:
            who = named_zh(sc)
        if s is None:
            return (f"{who}的肖像" if portrait and sc.portrait else who), False
        cat = s.noun.category
        if cat == "clothing":
            cloth = _cloth_zh(s)
            if sc.names:
                return (f"身穿{cloth}的{who}的肖像" if portrait and sc.portrait else f"身穿{cloth}的{who}"), False
            if portrait and sc.portrait:
                return f"身穿{cloth}的人物肖像", False
            n = f"{V.number_zh(sc.people)}{'' if formal else '个'}"
            return f"{n}穿着{cloth}的人", False
        obj = object_zh(s)
        if cat == "building":
            return f"{obj}前的{who}", False
        if cat == "scene":
            return f"{who}，背景{'是' if s.sure else '似乎是'}{s.noun.one_zh()}", False
        return f"{who}和{obj}", False
    if s is None:
        return "", False
    if s.maybe is not None:
        return f"{s.noun.one_zh()}，可能是{s.maybe.zh}", False
    return s.noun.one_zh(), not s.sure


def _cloth_zh(s: Subject) -> str:
    return f"疑似{s.maybe.zh}" if s.maybe else (s.noun.zh if s.sure else f"疑似{s.noun.zh}")


def named_at_zh(sc: Scene, where: str) -> str:
    """A clause about the named people at a place: 'Grace Hopper在法国巴黎，身穿疑似学位袍',
    'Grace Hopper和一只狗在法国巴黎', 'Grace Hopper在法国巴黎的一座教堂前'."""
    s, who = sc.subject, named_zh(sc)
    if s is None:
        return f"{who}在{where}"
    cat = s.noun.category
    if cat == "clothing":
        return f"{who}在{where}，身穿{_cloth_zh(s)}"
    if cat == "building":
        return f"{who}在{where}的{object_zh(s)}前"
    if cat == "scene":
        return f"{who}在{where}，背景{'是' if s.sure else '似乎是'}{s.noun.one_zh()}"
    return f"{named_zh(sc, also=(object_zh(s),))}在{where}"


def shi(hedged: bool) -> str:
    """是, or 似乎是 for a hedged subject."""
    return "似乎是" if hedged else "是"


def quote(text: str, limit: int) -> str:
    return f"“{V.clip_words(text, limit)}”"


def colours_en(sc: Scene) -> str:
    if sc.greyscale:
        return "black and white"
    return V.join_en([en for en, _ in sc.colours])


def colours_zh(sc: Scene) -> str:
    if sc.greyscale:
        return "黑白"
    return V.join_zh([zh for _, zh in sc.colours])


ISSUE_EN = {"low contrast": "low in contrast", "low resolution": "low in resolution"}
ISSUE_ZH = {"blurry": "模糊", "dark": "偏暗", "overexposed": "过曝", "low contrast": "对比度偏低",
             "noisy": "噪点较多", "low resolution": "分辨率较低"}


def quality_en(sc: Scene) -> str:
    if not sc.issues:
        return ""
    return f"The photo is {V.join_en([ISSUE_EN.get(i, i) for i in sc.issues])}."


def quality_zh(sc: Scene) -> str:
    items = [ISSUE_ZH[i] for i in sc.issues if i in ISSUE_ZH]
    return f"照片画质：{'、'.join(items)}。" if items else ""


def where_en(sc: Scene) -> str | None:
    """Where, as a phrase after a verb: 'in Shanghai, China', 'near San Francisco (7 km), ...',
    'on the Atlantic Ocean'; None without a place (the caller keeps its placeholder)."""
    from ...places import label

    if sc.place is None:
        return None
    text = label(sc.place)
    if not text:
        return None
    if sc.place.kind == "near":
        return text
    return f"on the {text}" if sc.place.kind == "ocean" else f"in {text}"


def where_zh(sc: Scene) -> str | None:
    """'中国上海', '美国加利福尼亚州旧金山附近（7公里）'; None without a place."""
    from ...places import label

    return (label(sc.place, "zh") or None) if sc.place is not None else None


def moment_en(sc: Scene) -> str | None:
    """When, with the light and the season: 'on a spring afternoon, Sunday 12 May 2024'."""
    t = sc.time
    if t is None or sc.date is None:
        return None
    day = f"{t.weekday} {V.date_en(sc.date)}" if t.weekday else V.date_en(sc.date)
    part = t.time_of_day or ""
    if t.season and part:
        return f"on {V.with_article(f'{t.season} {part}')}, {day}"
    if part:
        return f"in the {part}, {day}" if part != "night" else f"at night, {day}"
    return f"on {day}"


def moment_zh(sc: Scene) -> str | None:
    """'2024年5月12日星期日下午，正值春季'."""
    t = sc.time
    if t is None or sc.date is None:
        return None
    text = f"{V.date_zh(sc.date)}{t.weekday_zh or ''}{t.time_of_day_zh or ''}"
    return text + (f"，正值{t.season_zh}" if t.season_zh else "")


def exif_en(sc: Scene) -> str:
    """'Taken in Shanghai, China on 12 May 2024 with a Canon EOS R5.' (the parts known)."""
    where = where_en(sc)
    parts = [where] if where else []
    if sc.date:
        parts.append(f"on {V.date_en(sc.date)}")
    if sc.camera:
        parts.append(f"with {V.with_article(sc.camera)}")
    return f"Taken {' '.join(parts)}." if parts else ""


def exif_zh(sc: Scene) -> str:
    where = where_zh(sc)
    taken = "，".join(x for x in (where, V.date_zh(sc.date) if sc.date else None) if x)
    if taken and sc.camera:
        return f"拍摄于{taken}，相机为{sc.camera}。"
    if taken:
        return f"拍摄于{taken}。"
    if sc.camera:
        return f"相机为{sc.camera}。"
    return ""


def place_en(sc: Scene) -> str:
    """'Taken in Shanghai, China on 12 May 2024.' when the place is known, else ''."""
    where = where_en(sc)
    if not where:
        return ""
    return f"Taken {where}" + (f" on {V.date_en(sc.date)}." if sc.date else ".")


def place_zh(sc: Scene) -> str:
    where = where_zh(sc)
    if not where:
        return ""
    return f"拍摄于{where}" + (f"，{V.date_zh(sc.date)}。" if sc.date else "。")


def plain_en(sc: Scene) -> str:
    """What can be said of a picture with no recognised subject."""
    if sc.greyscale:
        return "a black-and-white image"
    if sc.colours:
        return f"a mostly {colours_en(sc)} image"
    return "a photograph"


def plain_zh(sc: Scene) -> str:
    if sc.greyscale:
        return "一张黑白图片"
    if sc.colours:
        return f"一张以{colours_zh(sc)}为主的图片"
    return "一张照片"


def kind_of(sc: Scene) -> str:
    if sc.people:
        return "people"
    if sc.subject is None:
        return "other"
    c = sc.subject.noun.category
    return c if c in ("animal", "food") else "other"


class Picker:
    """Deterministic template choice: the same facts and request give the same text."""

    def __init__(self, seed: int):
        self.seed = seed

    def __call__(self, options: list[str], salt: str) -> str:
        h = hashlib.sha256(f"{self.seed}:{salt}".encode()).digest()
        return options[int.from_bytes(h[:4], "big") % len(options)]
