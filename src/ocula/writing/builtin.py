"""The built-in writer: turns ``Analysis`` facts into text, offline and deterministic.

It first reads the facts into a ``Scene`` (what the main subject is and how sure we are,
how many people, what text is visible, colours, quality, date, camera), then writes the
scene for a purpose, language, length and tone from sentence templates.

Honesty rules kept everywhere:
- the subject is hedged by confidence: a top label at >= 0.5 is said plainly ("an Egyptian
  cat"), 0.2-0.5 with "what appears to be" / "似乎是", below that only the coarse category
  ("an animal"); a breed group (five ImageNet cat classes) can make the everyday word sure
  ("a cat") while the breed is not;
- faces are counted as people (ImageNet has no person class); nobody is named or gendered;
- visible text is quoted, never paraphrased;
- names, places and dates come only from EXIF or the user's context, else placeholders.

Templates vary between images but not between runs: the choice is seeded from the facts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from ..results import Analysis, Label
from ..vocabulary import ALT_MAX, ALT_MAX_ZH, PLACEHOLDERS, TAG_COUNTS
from . import vocab as V
from .base import DescribeRequest, Draft

if TYPE_CHECKING:
    from ..image import LoadedImage

SURE = 0.5       # top label said plainly
LIKELY = 0.2     # top label said with a hedge; below: coarse category
TAG_MIN = 0.15   # labels kept as keywords
ALT_MAX_EN = ALT_MAX
OCR_MIN_CONF = 0.6



# --- reading the facts --------------------------------------------------------------------------

@dataclass
class Subject:
    noun: V.Noun
    sure: bool
    score: float
    level: str                       # "label", "head" (everyday word for a group) or "category"
    alternative: V.Noun | None = None  # the runner-up of the same group, for long captions
    maybe: V.Noun | None = None        # a sure general noun's likely specific kind ("possibly a palace")


@dataclass
class Context:
    phrase: str = ""                 # free text from --context (minus who:/where:/when: fields)
    who: str | None = None
    where: str | None = None
    when: str | None = None
    keywords: list[str] = field(default_factory=list)

    @property
    def prepositional(self) -> bool:
        """An English setting phrase: 'on the windowsill', 'at the market'."""
        return bool(re.match(r"(?i)(on|in|at|near|by|during|from|with|inside|outside|under|beside|before|after)\b",
                             self.phrase))

    @property
    def prepositional_zh(self) -> bool:
        """A Chinese setting phrase: '在窗台上', '于北京'."""
        return bool(re.match(r"[在于]", self.phrase)) and V.cjk_share(self.phrase) > 0.5


@dataclass
class Scene:
    subject: Subject | None
    people: int
    portrait: bool
    person_noun: V.Noun | None
    text: str
    colours: list[tuple[str, str]]   # (en, zh), most of the picture first
    greyscale: bool
    issues: list[str]
    date: datetime | None
    camera: str | None
    artist: str | None
    tags: list[tuple[str, str, float]]  # (en, zh, score)
    confidence: float
    seed: int
    unsafe: bool
    width: int
    height: int
    warnings: list[str] = field(default_factory=list)


def _clean_name(name: str) -> str:
    return name.split(",")[0].strip().replace("_", " ")


def _label_noun(lab: Label, head: V.Noun | None) -> V.Noun:
    en = _clean_name(lab.name)
    zh = (lab.name_zh or "").split("，")[0].split(",")[0].strip()
    if head is not None and head.en == "cat" and "cat" not in en.lower():
        en = f"{en} cat"  # 'tabby' alone does not say cat
    if not zh:
        zh = head.zh if head else V.CATEGORY_NOUNS.get(lab.category, V.CATEGORY_NOUNS["object"]).zh
    elif head is not None and head.zh == "猫" and "猫" not in zh:
        zh += "猫"
    mw = V.measure_word(zh, lab.category, fallback=head.mw if head else None)
    mass = en.lower() in V.MASS_NOUNS
    return V.Noun(en, zh, mw, mass=mass, category=lab.category)


def _head_of(lab: Label, imagenet: bool) -> V.Noun | None:
    if not imagenet:
        return None
    head = V.HEADS.get(lab.index)
    if head is None:
        return None
    strict = {"animal", "vehicle"}
    if (head.category in strict or lab.category in strict) and head.category != lab.category:
        return None  # the indices are not ImageNet's after all
    return head


def _subject(labels: list[Label], imagenet: bool, people: int) -> Subject | None:
    if not labels:
        return None
    labels = sorted(labels, key=lambda lab: -lab.score)
    top = labels[0]
    head = _head_of(top, imagenet)
    head_sum = sum(lab.score for lab in labels if head is not None and _head_of(lab, imagenet) is head)
    alt = None
    if head is not None and len(labels) > 1 and _head_of(labels[1], imagenet) is head and labels[1].score >= TAG_MIN:
        alt = _label_noun(labels[1], head)
    cat = top.category if top.category in V.CATEGORY_NOUNS else "object"
    cat_sum = sum(lab.score for lab in labels if lab.category == cat)
    if top.score >= SURE:
        return Subject(_label_noun(top, head), True, top.score, "label", alt)
    if head is not None and head_sum >= SURE:
        group = [lab for lab in labels if _head_of(lab, imagenet) is head]
        clear = top.score >= LIKELY and (len(group) < 2 or top.score >= 1.5 * group[1].score)
        return Subject(head, True, head_sum, "head", None, _label_noun(top, head) if clear else None)
    if top.score >= LIKELY:
        if cat_sum >= SURE and cat not in ("object", "scene", "person"):
            # sure it is a building, not sure which: "a building, possibly a palace"
            runner = next((lab for lab in labels[1:] if lab.category == cat and lab.score >= TAG_MIN), None)
            return Subject(V.CATEGORY_NOUNS[cat], True, cat_sum, "category",
                           _label_noun(runner, _head_of(runner, imagenet)) if runner else None,
                           _label_noun(top, head))
        return Subject(_label_noun(top, head), False, top.score, "label", alt)
    if head is not None and head_sum >= LIKELY:
        return Subject(head, False, head_sum, "head", None)
    if cat == "object" or (cat == "scene" and cat_sum < 0.3) or cat_sum < 0.1:
        return None  # "an object" says nothing
    if cat == "person" and people:
        return None  # the faces already say it
    return Subject(V.CATEGORY_NOUNS[cat], cat_sum >= SURE, cat_sum, "category", None)


def _ocr_text(facts: Analysis) -> str:
    if facts.text is None:
        return ""
    lines = [ln.text.strip() for ln in sorted(facts.text.lines, key=lambda ln: ln.order)
             if ln.confidence >= OCR_MIN_CONF and len(re.findall(r"[\w\u3400-\u9fff]", ln.text)) >= 2]
    if not lines and not facts.text.lines and facts.text.text.strip():
        lines = [facts.text.text.strip()]
    # a line break inside a quotation is written " / "
    return " / ".join(" ".join(ln.split()).strip("\"“”'") for ln in lines)


def _camera(facts: Analysis) -> str | None:
    md = facts.metadata
    if md is None or not (md.camera_make or md.camera_model):
        return None
    make, model = (md.camera_make or "").strip(), (md.camera_model or "").strip()
    if make and model.lower().startswith(make.split()[0].lower()):
        return model
    return " ".join(x for x in (make.title() if make.isupper() else make, model) if x)


def _seed(facts: Analysis, request: DescribeRequest) -> int:
    top = facts.labels[0].name if facts.labels else ""
    key = "|".join([facts.image.source.replace("\\", "/").rsplit("/", 1)[-1], str(facts.image.width),
                    str(facts.image.height), top, request.purpose, request.tone, request.length,
                    request.language])
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


def parse_context(context: str | None) -> Context:
    """Free text plus optional fields: 'who: Jane Doe; where: Paris; when: 1 May 2024'
    (also 人物/地点/时间). Dates and places in free text are recognised so that news captions
    do not ask for what the user already gave."""
    if not context or not context.strip():
        return Context()
    ctx = Context()
    keys = {"who": "who", "人物": "who", "where": "where", "地点": "where", "place": "where",
            "when": "when", "时间": "when", "date": "when", "keywords": "keywords", "关键词": "keywords"}
    rest: list[str] = []
    for part in re.split(r"[;；\n]+", context):
        m = re.match(r"\s*(who|where|when|place|date|keywords|人物|地点|时间|关键词)\s*[:：=]\s*(.+)", part, re.I)
        if m:
            k = keys[m.group(1).lower()]
            v = m.group(2).strip()
            if k == "keywords":
                ctx.keywords += [w.strip() for w in re.split(r"[,，、]", v) if w.strip()]
            else:
                setattr(ctx, k, v)
        elif part.strip():
            rest.append(part.strip())
    ctx.phrase = "; ".join(rest).strip().rstrip(".。")
    if ctx.phrase:
        if ctx.when is None and _has_date(ctx.phrase):
            ctx.when = ""  # given inside the phrase: no placeholder, the phrase is quoted whole
        if ctx.where is None and _has_place(ctx.phrase):
            ctx.where = ""
        if ctx.who is None and _has_person(ctx.phrase):
            ctx.who = ""
        pieces = [p.strip() for p in re.split(r"[,，、]", ctx.phrase)]
        if len(pieces) > 1 and all(0 < len(p.split()) <= 3 and len(p) <= 30 for p in pieces):
            ctx.keywords += pieces  # a list of words is meant as keywords
        elif len(ctx.phrase.split()) <= 3 and len(ctx.phrase) <= 30:
            ctx.keywords.append(ctx.phrase)
    return ctx


_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tonight|this morning"


def _has_date(s: str) -> bool:
    return bool(re.search(rf"(?i)\b(19|20)\d\d\b|\b({_MONTHS})\b\.?\s*\d|\d\s*({_MONTHS})\b|\b({_DAYS})\b"
                          r"|\d{1,2}/\d{1,2}/\d{2,4}", s)
                or re.search(r"\d+\s*年|\d+\s*月\s*\d+\s*日|[一二三四五六七八九十]+月|星期|周[一二三四五六日天]|今天|昨天|今晨|昨晚|上午|下午|晚上", s))


def _has_place(s: str) -> bool:
    return bool(re.search(r"\b(in|at|near|outside|inside)\s+(the\s+)?[A-Z][\w'’-]+", s)
                or re.search(r"[在于].{1,12}?(省|市|县|区|镇|村|路|街|广场|公园|大学|机场|车站|体育场|博物馆|医院|学校)", s)
                or re.search(r"(北京|上海|广州|深圳|香港|台北|澳门|天津|重庆|成都|杭州|南京|武汉|西安)", s))


def _has_person(s: str) -> bool:
    caps = re.findall(r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)\b", s)
    month_day = re.compile(rf"(?i)^(?:{_MONTHS}|{_DAYS})$")
    for c in caps:
        words = c.split()
        if not any(month_day.match(w) for w in words) and not re.search(rf"\b(in|at|near)\s+{re.escape(c)}", s):
            return True
    return bool(re.search(r"(先生|女士|总统|主席|市长|部长|教授|博士|老师|选手|运动员|医生|记者)", s))


def read_scene(facts: Analysis, request: DescribeRequest) -> Scene:
    imagenet = V.is_imagenet(facts.classifier)
    faces = facts.faces.faces if facts.faces is not None else []
    people = len(faces)
    h = facts.image.height or 1
    portrait = people == 1 and 0 < faces[0].box[3] / h <= 1 and faces[0].box[3] / h >= 0.25
    labels = sorted(facts.labels, key=lambda lab: -lab.score)
    person_noun = None
    for lab in labels[:3]:
        if imagenet and lab.index in V.PERSON_LABELS and lab.score >= LIKELY:
            en, zh = V.PERSON_LABELS[lab.index]
            person_noun = V.Noun(_clean_name(lab.name) or en, lab.name_zh or zh,
                                 V.measure_word(lab.name_zh or zh, "person"), category="person")
            people = max(people, 1)
            break
    subject = _subject([lab for lab in labels if not (imagenet and lab.index in V.PERSON_LABELS)],
                       imagenet, people)
    if people and subject is not None and (subject.score < LIKELY or
                                           (subject.level == "category" and subject.maybe is None)):
        subject = None  # "a person with some sports equipment" says less than "a person"

    colours: list[tuple[str, str]] = []
    greyscale = False
    if facts.colors is not None:
        greyscale = facts.colors.is_grayscale
        for c in facts.colors.colors:
            if c.fraction >= 0.12 and (c.name, c.name_zh) not in colours:
                colours.append((c.name, c.name_zh))
        colours = colours[:3]
    issues = list(facts.quality.issues) if facts.quality is not None else []
    date = V.parse_exif_date(facts.metadata.datetime_original) if facts.metadata else None
    artist = facts.metadata.artist.strip() if facts.metadata and facts.metadata.artist else None
    text = _ocr_text(facts)
    if subject is not None and not subject.sure and len(text) >= 20:
        subject = None  # mostly text: a weak guess at the object would mislead

    conf = [subject.score] if subject else []
    if faces:
        conf.append(max(f.score for f in faces))
    if text and facts.text is not None and facts.text.lines:
        conf.append(max(ln.confidence for ln in facts.text.lines))
    confidence = round(max(conf) if conf else 0.1, 3)

    scene = Scene(subject=subject, people=people, portrait=portrait, person_noun=person_noun, text=text,
                  colours=colours, greyscale=greyscale, issues=issues, date=date, camera=_camera(facts),
                  artist=artist, tags=[], confidence=confidence, seed=_seed(facts, request),
                  unsafe=bool(facts.moderation and facts.moderation.unsafe), width=facts.image.width,
                  height=facts.image.height)
    scene.tags = _tag_candidates(facts, scene, labels, imagenet)
    if not facts.labels and not faces and not text:
        scene.warnings.append("no labels, faces or text were found; the description says little")
    if scene.unsafe:
        scene.warnings.append("moderation flagged this image as unsafe; review the text before publishing")
    if subject is not None and not subject.sure:
        scene.warnings.append(f"low confidence in the main subject ({subject.score:.0%}); the text is hedged")
    return scene


def _tag_candidates(facts: Analysis, scene: Scene, labels: list[Label], imagenet: bool) -> list[tuple[str, str, float]]:
    out: list[tuple[str, str, float]] = []
    heads: dict[str, tuple[V.Noun, float]] = {}
    cats: dict[str, float] = {}
    for lab in labels:
        head = _head_of(lab, imagenet)
        if head is not None:
            n, s = heads.get(head.en, (head, 0.0))
            heads[head.en] = (n, s + lab.score)
        cats[lab.category] = cats.get(lab.category, 0.0) + lab.score
    for n, s in heads.values():
        if s >= LIKELY:
            out.append((n.en, n.zh, s + 0.001))  # the everyday word ranks above its breeds
    for lab in labels[:5]:
        if lab.score < TAG_MIN or (imagenet and lab.index in V.PERSON_LABELS):
            continue
        if scene.people and lab.score < LIKELY and lab.category != "clothing":
            continue  # next to a face, weak object guesses are mostly wrong
        n = _label_noun(lab, _head_of(lab, imagenet))
        out.append((n.en, n.zh, lab.score))
    if scene.person_noun is not None:
        out.append((scene.person_noun.en, scene.person_noun.zh, 0.9))
    if scene.people:
        if scene.portrait:
            out.append(("portrait", "人像", 0.85))
        out.append(("people", "人物", 0.84) if scene.people > 1 else ("person", "人物", 0.84))
    if scene.text:
        out.append(("text", "文字", 0.6))
    for cat, s in sorted(cats.items(), key=lambda kv: -kv[1]):
        en, zh = V.CATEGORY_TAGS.get(cat, (None, None))
        if scene.people and cat not in ("clothing", "person"):
            continue
        if en and s >= LIKELY:
            out.append((en, zh, s * 0.8))
    # colours describe the photo, not the subject: always after the things in it
    if scene.greyscale:
        out.append(("black and white", "黑白", 0.05))
    else:
        for i, (en, zh) in enumerate(scene.colours):
            out.append((en, zh, 0.05 - 0.01 * i))
    out.sort(key=lambda t: -t[2])
    return out


# --- phrases ------------------------------------------------------------------------------------

_TAGLIKE_TEXT = {"object", "electronics", "clothing", "food", "tool", "sport", "instrument", "vehicle",
                 "furniture", "building"}


def _en_subject(s: Subject, compound: bool = False) -> str:
    if s.maybe is not None:
        return f"what appears to be {s.maybe.a()}" if compound else f"{s.noun.a()}, possibly {s.maybe.a()}"
    return s.noun.a() if s.sure else f"what appears to be {s.noun.a()}"


def _close(phrase: str) -> str:
    """Close an apposition before the sentence goes on: 'a building, possibly a palace,'."""
    return phrase + "," if ", possibly " in phrase else phrase


def _join(core: str, rest: str) -> str:
    if not rest:
        return core
    return core + rest if rest.startswith(",") else _close(core) + rest


def _zh_object(s: Subject) -> str:
    """A subject inside a longer Chinese phrase: '一只埃及猫' / '一只疑似埃及猫的动物'."""
    if s.maybe is not None:
        return f"一{s.noun.mw}疑似{s.maybe.zh}的{s.noun.zh}"
    if s.sure:
        return s.noun.one_zh()
    cat = V.CATEGORY_NOUNS.get(s.noun.category, V.CATEGORY_NOUNS["object"])
    if s.level == "category" or cat.zh == s.noun.zh:
        return f"疑似{cat.one_zh()}"
    return f"一{cat.mw}疑似{s.noun.zh}的{cat.zh}"


def core_en(sc: Scene, formal: bool = False, portrait: bool = False) -> str:
    """The main noun phrase: 'an Egyptian cat', 'a person wearing what appears to be a
    military uniform', 'two people'. Empty when nothing is known."""
    s = sc.subject
    if sc.people:
        who = (sc.person_noun.a() if sc.person_noun and sc.people == 1 else V.people_en(sc.people, formal))
        if portrait and sc.portrait:  # alt text: the framing matters to someone who cannot see it
            who = f"a portrait of {who}"
        if s is None:
            return who
        obj = _en_subject(s, compound=True)
        cat = s.noun.category
        if cat == "clothing":
            return f"{who} wearing {obj}"
        if cat == "building":
            return f"{who} in front of {obj}"
        if cat == "scene":
            return f"{who} with {obj} in the background"
        if cat in ("animal", "vehicle"):
            return f"{who} and {obj}"
        return f"{who} with {obj}"
    return _en_subject(s) if s else ""


def core_zh(sc: Scene, formal: bool = False, portrait: bool = False) -> tuple[str, bool]:
    """The main Chinese noun phrase and whether it still needs an outer hedge (似乎是)."""
    s = sc.subject
    if sc.people:
        if sc.person_noun is not None and sc.people == 1:
            who = f"一{sc.person_noun.mw}{sc.person_noun.zh}"
        else:
            who = V.people_zh(sc.people, formal)
        if s is None:
            return (f"{who}的肖像" if portrait and sc.portrait else who), False
        cat = s.noun.category
        if cat == "clothing":
            cloth = f"疑似{s.maybe.zh}" if s.maybe else (s.noun.zh if s.sure else f"疑似{s.noun.zh}")
            if portrait and sc.portrait:
                return f"身穿{cloth}的人物肖像", False
            n = f"{V.number_zh(sc.people)}{'' if formal else '个'}"
            return f"{n}穿着{cloth}的人", False
        obj = _zh_object(s)
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


def _shi(hedged: bool) -> str:
    return "似乎是" if hedged else "是"


def _quote(text: str, limit: int) -> str:
    return f"“{V.clip_words(text, limit)}”"


def _colours_en(sc: Scene) -> str:
    if sc.greyscale:
        return "black and white"
    return V.join_en([en for en, _ in sc.colours])


def _colours_zh(sc: Scene) -> str:
    if sc.greyscale:
        return "黑白"
    return V.join_zh([zh for _, zh in sc.colours])


_ISSUE_EN = {"low contrast": "low in contrast", "low resolution": "low in resolution"}
_ISSUE_ZH = {"blurry": "模糊", "dark": "偏暗", "overexposed": "过曝", "low contrast": "对比度偏低",
             "noisy": "噪点较多", "low resolution": "分辨率较低"}


def _quality_en(sc: Scene) -> str:
    if not sc.issues:
        return ""
    return f"The photo is {V.join_en([_ISSUE_EN.get(i, i) for i in sc.issues])}."


def _quality_zh(sc: Scene) -> str:
    items = [_ISSUE_ZH[i] for i in sc.issues if i in _ISSUE_ZH]
    return f"照片画质：{'、'.join(items)}。" if items else ""


def _exif_en(sc: Scene) -> str:
    if sc.date and sc.camera:
        return f"Taken on {V.date_en(sc.date)} with {V.with_article(sc.camera)}."
    if sc.date:
        return f"Taken on {V.date_en(sc.date)}."
    if sc.camera:
        return f"Taken with {V.with_article(sc.camera)}."
    return ""


def _exif_zh(sc: Scene) -> str:
    if sc.date and sc.camera:
        return f"拍摄于{V.date_zh(sc.date)}，相机为{sc.camera}。"
    if sc.date:
        return f"拍摄于{V.date_zh(sc.date)}。"
    if sc.camera:
        return f"相机为{sc.camera}。"
    return ""


def _plain_en(sc: Scene) -> str:
    """What can be said of a picture with no recognised subject."""
    if sc.greyscale:
        return "a black-and-white image"
    if sc.colours:
        return f"a mostly {_colours_en(sc)} image"
    return "a photograph"


def _plain_zh(sc: Scene) -> str:
    if sc.greyscale:
        return "一张黑白图片"
    if sc.colours:
        return f"一张以{_colours_zh(sc)}为主的图片"
    return "一张照片"


def _kind(sc: Scene) -> str:
    if sc.people:
        return "people"
    if sc.subject is None:
        return "other"
    c = sc.subject.noun.category
    return c if c in ("animal", "food") else "other"


class _Picker:
    """Deterministic template choice: the same facts and request give the same text."""

    def __init__(self, seed: int):
        self.seed = seed

    def __call__(self, options: list[str], salt: str) -> str:
        h = hashlib.sha256(f"{self.seed}:{salt}".encode()).digest()
        return options[int.from_bytes(h[:4], "big") % len(options)]


# --- the writer ---------------------------------------------------------------------------------

class BuiltinWriter:
    """Offline writer from facts, English and Chinese."""

    name = "builtin"

    def __init__(self, settings=None):
        self.settings = settings

    def write(self, facts: Analysis, request: DescribeRequest, image: "LoadedImage | None" = None) -> Draft:
        sc = read_scene(facts, request)
        ctx = parse_context(request.context)
        writer: Callable[[Scene, Context, DescribeRequest], Draft] = getattr(
            self, f"_{request.purpose}_{request.language}")
        draft = writer(sc, ctx, request)
        if ctx.phrase and (V.cjk_share(ctx.phrase) > 0.5) != (request.language == "zh"):
            draft.warnings.append("the context is not in the output language; it was used as written")
        if not draft.tags:
            draft.tags = self._tag_list(sc, ctx, request)
        draft.confidence = sc.confidence
        draft.warnings = sc.warnings + draft.warnings
        return draft

    # --- alt ---------------------------------------------------------------------------------

    def _alt_en(self, sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
        core = core_en(sc, portrait=True)
        warnings: list[str] = []
        text_clause = ""
        if sc.text:
            if core:
                text_clause = " with the text {q}"
            else:
                core = "text reading {q}"
        if not core:
            core = _plain_en(sc)
        # colours help a reader who cannot see the picture, unless the context says more
        with_colour = req.length == "long" or (req.length == "medium" and not ctx.phrase)
        tones = "black and white" if sc.greyscale else f"{_colours_en(sc)} tones"
        colour = f" in {tones}" if with_colour and (sc.colours or sc.greyscale) \
            and (sc.subject is not None or sc.people) and "{q}" not in core else ""
        if req.length == "short":
            text_clause = ""
        use_ctx = bool(ctx.phrase) and req.length != "short"
        # drop the least important parts until it fits: colour, then the quote's length,
        # then the context's length, then the quote
        s = ""
        for attempt in range(6):
            q = _quote(sc.text, [90, 60, 40, 25, 15, 15][attempt])
            rest = (colour if attempt < 1 else "") + (text_clause if attempt < 4 else "")
            body = _join(core, rest).replace("{q}", q)
            c = ""
            if use_ctx:
                room = ALT_MAX_EN - len(V.sentence_en(body)) - 2
                phrase = ctx.phrase if attempt < 2 else V.clip_words(ctx.phrase, max(8, room))
                if attempt < 2 or room >= 8:
                    c = (" " if ctx.prepositional else ", ") + phrase
            s = V.sentence_en(_join(body, c))
            if len(s) <= ALT_MAX_EN:
                break
        if len(s) > ALT_MAX_EN:
            s = V.clip_words(s, ALT_MAX_EN - 1).rstrip("…") + "."
        if use_ctx and ctx.phrase not in s:
            warnings.append("context shortened to keep the alt text within 125 characters")
        return Draft(text=_no_image_of(s), confidence=0, warnings=warnings)

    def _alt_zh(self, sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
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
            main = _plain_zh(sc)
        with_colour = req.length == "long" or (req.length == "medium" and not ctx.phrase)
        colour = f"，色调以{_colours_zh(sc)}为主" if with_colour and (sc.colours or sc.greyscale) \
            and (sc.subject is not None or sc.people) and "{q}" not in main else ""
        ctx_part = (("" if ctx.prepositional_zh else "，") + ctx.phrase) if ctx.phrase and req.length != "short" else ""
        if req.length == "short" and "{q}" not in main:
            text_part = ""
        warnings: list[str] = []
        for attempt in range(6):
            q_len = [24, 16, 12, 8, 8, 8][attempt]
            c = ctx_part if attempt < 2 else (f"，{V.clip_words(ctx.phrase, 12)}" if ctx_part and attempt < 4 else "")
            body = main + (text_part if attempt < 4 else "") + (colour if attempt < 1 else "") + c
            s = V.sentence_zh(body.replace("{q}", _quote(sc.text, q_len)))
            if len(s) <= ALT_MAX_ZH:
                break
        else:
            s = s[: ALT_MAX_ZH - 1] + "。"
        if ctx_part and ctx.phrase not in s:
            warnings.append("context shortened to keep the alt text within 60 characters")
        return Draft(text=s, confidence=0, warnings=warnings)

    # --- caption -----------------------------------------------------------------------------

    def _caption_en(self, sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
        pick = _Picker(sc.seed)
        core = core_en(sc, formal=req.tone == "formal")
        if ctx.phrase and ctx.prepositional and core:
            core = _join(core, f" {ctx.phrase}")
        sentences: list[str] = []
        if core:
            t = {
                "neutral": ["The photo shows {c}.", "Pictured: {c}."],
                "friendly": ["Here's {c}.", "This photo captures {c}."],
                "formal": ["The photograph depicts {c}.", "This photograph shows {c}."],
                "playful": (["Guess who's here? {C}!", "Look who showed up: {c}!"]
                            if _kind(sc) in ("animal", "people") else ["Spotted: {c}!", "Guess what this is? {C}!"]),
            }[req.tone]
            if req.length == "short" and req.tone == "neutral":
                t = ["{C}."]
            sentences.append(pick(t, "caption").format(c=core, C=V.capitalize(core)))
        elif sc.text:
            sentences.append(f"Printed text reads {_quote(sc.text, 80)}.")
        else:
            sentences.append(V.sentence_en(_plain_en(sc)) if sc.colours or sc.greyscale
                             else "A photograph with no clearly recognisable subject.")
        if req.length != "short":
            if sc.text and core:
                sentences.append(f"Visible text reads {_quote(sc.text, 80)}.")
            if ctx.phrase and not (ctx.prepositional and core):
                sentences.append(V.sentence_en(ctx.phrase))
        if req.length == "long":
            if sc.subject and sc.subject.alternative is not None and not sc.people:
                sentences.append(f"It could also be {sc.subject.alternative.a()}.")
            if sc.portrait:
                sentences.append("It is a close-up portrait.")
            if sc.colours or sc.greyscale:
                sentences.append("The photo is in black and white." if sc.greyscale else
                                 pick([f"The palette is mostly {_colours_en(sc)}.",
                                       f"{V.capitalize(_colours_en(sc))} dominate the frame." if len(sc.colours) > 1
                                       else f"{V.capitalize(_colours_en(sc))} dominates the frame."], "colours"))
            sentences += [x for x in (_quality_en(sc), _exif_en(sc)) if x]
        return Draft(text=" ".join(sentences), confidence=0)

    def _caption_zh(self, sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
        pick = _Picker(sc.seed)
        np, hedged = core_zh(sc, formal=req.tone == "formal")
        sentences: list[str] = []
        if np:
            who = "谁" if _kind(sc) in ("animal", "people") else "什么"
            t = {
                "neutral": ["画面中{shi}{np}。", "照片里{shi}{np}。"],
                "friendly": ["这张照片里{shi}{np}。", "看，画面中{shi}{np}！"],
                "formal": ["图为{np}。" if not hedged else "图中似乎是{np}。", "本图展示的{shi}{np}。"],
                "playful": [f"猜猜这是{who}？{{shi2}}{{np}}！", "快看！画面中{shi}{np}！"],
            }[req.tone]
            if req.length == "short" and req.tone == "neutral":
                t = ["{shi2}{np}。"]
            sentences.append(pick(t, "caption").format(shi=_shi(hedged), shi2="似乎是" if hedged else "",
                                                       np=np))
        elif sc.text:
            sentences.append(f"画面中的文字写着{_quote(sc.text, 40)}。")
        else:
            sentences.append(V.sentence_zh(_plain_zh(sc)) if sc.colours or sc.greyscale
                             else "一张没有明显主体的照片。")
        if req.length != "short":
            if sc.text and np:
                sentences.append(f"画面中的文字写着{_quote(sc.text, 40)}。")
            if ctx.phrase and ctx.prepositional_zh and np:
                sentences[0] = sentences[0][:-1] + "，" + V.sentence_zh(ctx.phrase)
            elif ctx.phrase:
                sentences.append(V.sentence_zh(ctx.phrase))
        if req.length == "long":
            if sc.subject and sc.subject.alternative is not None and not sc.people:
                sentences.append(f"也可能是{sc.subject.alternative.one_zh()}。")
            if sc.portrait:
                sentences.append("这是一张人物特写。")
            if sc.colours or sc.greyscale:
                sentences.append("这是一张黑白照片。" if sc.greyscale else
                                 pick([f"画面色调以{_colours_zh(sc)}为主。", f"整体色彩以{_colours_zh(sc)}为主。"],
                                      "colours"))
            sentences += [x for x in (_quality_zh(sc), _exif_zh(sc)) if x]
        return Draft(text="".join(sentences), confidence=0)

    # --- product -----------------------------------------------------------------------------

    def _product_title(self, sc: Scene, ctx: Context, zh: bool) -> tuple[str, list[str]]:
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

    def _product_bullets(self, sc: Scene, ctx: Context, req: DescribeRequest, zh: bool) -> list[str]:
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
                what = _en_subject(s) if s.maybe else s.noun.a() if s.sure else f"likely {s.noun.a()}"
                lead = "Pictured" if ctx.phrase else ("What it is" if casual else "Item")
                items.append((0, f"{lead}: {what}" + (bang if req.tone == "playful" else "")))
        if sc.text:
            items.append((1, f"{'印有文字' if zh else ('It says' if casual else 'Printed text')}"
                             f"{'：' if zh else ': '}{_quote(sc.text, 60)}"))
        if ctx.phrase:
            items.append((2, f"详情：{ctx.phrase}" if zh else f"{'Good to know' if casual else 'Details'}: "
                             f"{V.capitalize(ctx.phrase)}"))
        if sc.colours or sc.greyscale:
            items.append((3, f"色调：{_colours_zh(sc)}" if zh else f"{'Colours' if casual else 'Colour palette'}: "
                             f"{_colours_en(sc)}"))
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
            items.append((6, f"图片：{size}像素，{'、'.join(_ISSUE_ZH.get(i, i) for i in sc.issues)}，建议重拍" if zh
                             else f"Photo: {size} px, {V.join_en(sc.issues)}; a retake would sell better"))
        else:
            items.append((6, f"图片：{size}像素，清晰" if zh else f"Photo: {size} px, sharp and well exposed"))
        n = {"short": 3, "medium": 4, "long": 5}[req.length]
        items.sort(key=lambda kv: kv[0])
        return [t for _, t in items[:n]]

    def _product(self, sc: Scene, ctx: Context, req: DescribeRequest, zh: bool) -> Draft:
        title, warnings = self._product_title(sc, ctx, zh)
        bullets = self._product_bullets(sc, ctx, req, zh)
        text = title + "\n" + "\n".join(f"• {b}" for b in bullets)
        return Draft(text=text, title=title, bullets=bullets, confidence=0, warnings=warnings)

    def _product_en(self, sc, ctx, req):
        return self._product(sc, ctx, req, zh=False)

    def _product_zh(self, sc, ctx, req):
        return self._product(sc, ctx, req, zh=True)

    # --- social ------------------------------------------------------------------------------

    def _hashtags(self, sc: Scene, ctx: Context, req: DescribeRequest, zh: bool) -> list[str]:
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
        if s is not None and s.noun.en in ("cat", "dog") or any(w in ("cat", "dog", "猫咪", "狗狗") for w in words):
            words.append("萌宠" if zh else "pets")
        if s is not None and s.noun.category == "food":
            words.append("美食" if zh else "foodie")
        words += ["摄影", "每日一图", "随手拍"] if zh else ["photography", "PhotoOfTheDay", "PicOfTheDay"]
        n = {"short": 3, "medium": 5, "long": 6}[req.length]
        out: list[str] = []
        seen: set[str] = set()
        for w in words:
            h = V.hashtag(w)
            if h and h.lower() not in seen:
                seen.add(h.lower())
                out.append(h)
        return out[:n]

    def _social_en(self, sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
        pick = _Picker(sc.seed)
        core = core_en(sc)
        kind = _kind(sc)
        hedged = sc.subject is not None and not sc.subject.sure and not sc.people
        if not core:
            core = _plain_en(sc) if not sc.text else f"the words {_quote(sc.text, 60)}"
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
                parts.append(f"It says {_quote(sc.text, 50)}.")
            if ctx.phrase:
                parts.append(V.sentence_en(ctx.phrase))
        if req.length == "long" and (sc.colours or sc.greyscale):
            parts.append(f"Loving the {_colours_en(sc)} tones." if req.tone in ("friendly", "playful")
                         else f"Palette: {_colours_en(sc)}.")
        tags = self._hashtags(sc, ctx, req, zh=False)
        post = " ".join(parts)
        return Draft(text=f"{post}\n\n{' '.join(tags)}", hashtags=tags, confidence=0)

    def _social_zh(self, sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
        pick = _Picker(sc.seed)
        np, hedged = core_zh(sc)
        kind = _kind(sc)
        s = sc.subject
        this = f"这{s.noun.mw}{s.noun.zh}" if s is not None and s.sure and not sc.people else None
        if not np:
            opener = f"看到一段文字：{_quote(sc.text, 30)}！" if sc.text else f"分享{_plain_zh(sc)}！"
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
                parts.append(f"上面写着{_quote(sc.text, 30)}。")
            if ctx.phrase:
                parts.append(V.sentence_zh(ctx.phrase))
        if req.length == "long" and (sc.colours or sc.greyscale):
            parts.append(f"好喜欢这{_colours_zh(sc)}的色调！" if req.tone in ("friendly", "playful")
                         else f"色调：{_colours_zh(sc)}。")
        tags = self._hashtags(sc, ctx, req, zh=True)
        return Draft(text=f"{''.join(parts)}\n\n{' '.join(tags)}", hashtags=tags, confidence=0)

    # --- news --------------------------------------------------------------------------------

    @staticmethod
    def _when(sc: Scene, ctx: Context, zh: bool) -> str | None:
        """The date phrase, a placeholder, or None when the context phrase already says it."""
        if ctx.when:
            if zh:
                return ctx.when
            if re.match(r"(?i)(on|in|at|during)\b", ctx.when):
                return ctx.when
            if re.search(rf"(?i)\d|\b({_DAYS})\b", ctx.when) and not re.fullmatch(r"(19|20)\d\d", ctx.when.strip()):
                return f"on {ctx.when}"
            return f"in {ctx.when}"
        if ctx.when == "":
            return None
        if sc.date:
            return V.date_zh(sc.date) if zh else f"on {V.date_en(sc.date)}"
        return PLACEHOLDERS["zh" if zh else "en"]["when"] if zh else f"on {PLACEHOLDERS['en']['when']}"

    @staticmethod
    def _where(ctx: Context, zh: bool) -> str | None:
        if ctx.where:
            if zh:
                return ctx.where
            return ctx.where if re.match(r"(?i)(in|at|on|near|outside|inside)\b", ctx.where) else f"in {ctx.where}"
        if ctx.where == "":
            return None
        return PLACEHOLDERS["zh"]["where"] if zh else f"in {PLACEHOLDERS['en']['where']}"

    @staticmethod
    def _news_setting(ctx: Context, zh: bool = False) -> tuple[Context, bool]:
        """A context that is only a setting ('on the windowsill at home', '在窗台上') stands in
        for the [WHERE] placeholder instead of being a sentence of its own."""
        setting = ctx.prepositional_zh if zh else ctx.prepositional
        if ctx.phrase and setting and ctx.where is None and len(ctx.phrase) <= 80:
            return Context(phrase="", who=ctx.who, where=ctx.phrase, when=ctx.when, keywords=ctx.keywords), True
        return ctx, False

    def _news_en(self, sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
        ph = PLACEHOLDERS["en"]
        ctx, _ = self._news_setting(ctx)
        when, where = self._when(sc, ctx, False), self._where(ctx, False)
        tail = " ".join(x for x in (where, when) if x)
        verb = "is pictured" if req.tone == "formal" else "is seen"
        s = sc.subject
        if sc.people:
            extra = ""
            if s is not None:
                obj = _en_subject(s, compound=True)
                extra = {"clothing": f" wearing {obj}", "building": f" in front of {obj}",
                         "scene": f" with {obj} in the background"}.get(s.noun.category, f" with {obj}")
            if ctx.who == "":  # named in the context sentence that follows: describe, do not name
                first = f"{V.capitalize(core_en(sc))} {verb.replace('is', 'are') if sc.people > 1 else verb} {tail}"
            elif sc.people > 1:
                who = f"{V.capitalize(V.number_en(sc.people))} people, {ctx.who or ph['who']},"
                first = f"{who} {verb.replace('is', 'are')}{extra} {tail}"
            elif extra.startswith(" wearing"):
                first = f"{ctx.who or ph['who']},{extra}, {verb} {tail}"
            else:
                first = f"{ctx.who or ph['who']} {verb}{extra} {tail}"
        else:
            subj = _close(core_en(sc)) or (f"text reading {_quote(sc.text, 60)}" if sc.text else "")
            first = f"{V.capitalize(subj)} {verb} {tail}" if subj else f"Photo taken {tail}"
            if ctx.who:
                first += f" with {ctx.who}"
        sentences = [V.sentence_en(" ".join(first.split()).replace(" ,", ",").rstrip(","))]
        if ctx.phrase:
            sentences.append(V.sentence_en(ctx.phrase))
        if req.length != "short":
            if sc.text and "text reading" not in sentences[0].lower():
                sentences.append(f"Visible text reads {_quote(sc.text, 80)}.")
            if sc.artist:
                sentences.append(f"(Photo: {sc.artist})")
        if req.length == "long" and sc.camera:
            sentences.append(f"Taken with {V.with_article(sc.camera)}.")
        return Draft(text=" ".join(sentences), confidence=0)

    def _news_zh(self, sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
        ph = PLACEHOLDERS["zh"]
        ctx, _ = self._news_setting(ctx, zh=True)
        when, where = self._when(sc, ctx, True), self._where(ctx, True)
        if when and re.fullmatch(r"(19|20)\d\d", when.strip()):
            when = f"{when.strip()}年"
        at = (where if where.startswith(("在", "于")) else f"在{where}") if where else ""
        when_part = f"{when}，" if when else ""
        s = sc.subject
        if sc.people:
            n = "" if sc.people == 1 else f"等{V.people_zh(sc.people, formal=True)}"
            if ctx.who == "":  # named in the context sentence that follows
                np, _ = core_zh(sc)
                first = f"图为{when_part}{at}的{np}。" if at else f"图为{when_part}{np}。"
            elif s is not None and s.noun.category == "clothing":
                cloth = f"疑似{s.maybe.zh}" if s.maybe else (s.noun.zh if s.sure else f"疑似{s.noun.zh}")
                first = f"图为{when_part}身穿{cloth}的{ctx.who or ph['who']}{n}{at}。"
            else:
                first = f"图为{when_part}{ctx.who or ph['who']}{n}{at}。"
                if s is not None:
                    first += f"画面中还有{_zh_object(s)}。"
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
                sentences.append(f"画面中的文字写着{_quote(sc.text, 40)}。")
            if sc.artist:
                sentences.append(f"（摄影：{sc.artist}）")
        if req.length == "long" and sc.camera:
            sentences.append(f"相机为{sc.camera}。")
        return Draft(text="".join(sentences), confidence=0)

    # --- tags --------------------------------------------------------------------------------

    def _tag_list(self, sc: Scene, ctx: Context, req: DescribeRequest) -> list[str]:
        zh = req.language == "zh"
        ranked = [(zh_word if zh else en) for en, zh_word, _ in sc.tags]
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

    def _tags_en(self, sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
        tags = self._tag_list(sc, ctx, req)
        return Draft(text=", ".join(tags), tags=tags, confidence=0)

    def _tags_zh(self, sc: Scene, ctx: Context, req: DescribeRequest) -> Draft:
        tags = self._tag_list(sc, ctx, req)
        return Draft(text="、".join(tags), tags=tags, confidence=0)


_PRODUCT_CATEGORY = {
    "animal": ("pets & animals", "宠物"), "vehicle": ("vehicles", "汽车交通"), "food": ("food & drink", "食品饮料"),
    "plant": ("home & garden", "家居园艺"), "clothing": ("clothing & accessories", "服饰配件"),
    "furniture": ("furniture", "家具"), "electronics": ("electronics", "数码电子"),
    "instrument": ("musical instruments", "乐器"), "tool": ("tools & hardware", "五金工具"),
    "sport": ("sports & outdoors", "运动户外"), "object": ("home & living", "家居生活"),
    "building": ("travel & places", "旅行"), "scene": ("travel & places", "旅行"),
}

_BANNED_START = re.compile(r"(?i)^(an?\s+)?(image|picture|photo|photograph|pic)\s+(of|showing)\s+")


def _no_image_of(s: str) -> str:
    """Alt text never starts with 'image of' (screen readers already say it is an image)."""
    m = _BANNED_START.match(s)
    return V.sentence_en(s[m.end():]) if m else s
