"""Reading the facts: an ``Analysis`` becomes a ``Scene`` (what the main subject is and how sure
we are, how many people, what text is visible, colours, quality, where and when, camera, ranked
keywords)
and the user's ``--context`` becomes a ``Context`` (free phrase, who/where/when, keywords).

The subject is hedged by confidence: a top label at >= 0.5 is said plainly ("an Egyptian cat"),
0.2-0.5 with "what appears to be" / "似乎是", below that only the coarse category ("an animal");
a breed group (five ImageNet cat classes) can make the everyday word sure ("a cat") while the
breed is not. Faces are counted as people (ImageNet has no person class); the only names said
are those of people the user named in the index and ``describe`` recognised (``facts.people``,
left to right); every other face stays "a person".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from ...results import Analysis, Label, Place, TimeFacts
from ...vocabulary import HAN
from .. import vocab as V
from ..base import DescribeRequest

SURE = 0.5       # top label said plainly
LIKELY = 0.2     # top label said with a hedge; below: coarse category
TAG_MIN = 0.15   # labels kept as keywords
OCR_MIN_CONF = 0.6  # OCR lines read with less confidence are left out


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
    place: Place | None = None       # named from the GPS (ocula.places); None: no usable GPS
    time: TimeFacts | None = None    # the capture time, checked; ``date`` is its day when known
    names: list[str] = field(default_factory=list)  # recognised named people, left to right

    @property
    def unnamed(self) -> int:
        """Faces nobody named."""
        return max(0, self.people - len(self.names))


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
             if ln.confidence >= OCR_MIN_CONF and len(re.findall(rf"[\w{HAN}]", ln.text)) >= 2]
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
DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tonight|this morning"


def _has_date(s: str) -> bool:
    return bool(re.search(rf"(?i)\b(19|20)\d\d\b|\b({_MONTHS})\b\.?\s*\d|\d\s*({_MONTHS})\b|\b({DAYS})\b"
                          r"|\d{1,2}/\d{1,2}/\d{2,4}", s)
                or re.search(r"\d+\s*年|\d+\s*月\s*\d+\s*日|[一二三四五六七八九十]+月|星期|周[一二三四五六日天]|今天|昨天|今晨|昨晚|上午|下午|晚上", s))


def _has_place(s: str) -> bool:
    return bool(re.search(r"\b(in|at|near|outside|inside)\s+(the\s+)?[A-Z][\w'’-]+", s)
                or re.search(r"[在于].{1,12}?(省|市|县|区|镇|村|路|街|广场|公园|大学|机场|车站|体育场|博物馆|医院|学校)", s)
                or re.search(r"(北京|上海|广州|深圳|香港|台北|澳门|天津|重庆|成都|杭州|南京|武汉|西安)", s))


def _has_person(s: str) -> bool:
    caps = re.findall(r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)\b", s)
    month_day = re.compile(rf"(?i)^(?:{_MONTHS}|{DAYS})$")
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
    md = facts.metadata
    when = md.time if md is not None else None
    if when is not None:  # checked: a factory-default or impossible time is no date at all
        date = datetime.fromisoformat(when.local) if when.known and when.local else None
    else:  # facts from before time facts existed
        date = V.parse_exif_date(md.datetime_original) if md else None
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
                  height=facts.image.height, place=md.place if md is not None else None,
                  time=when if when is not None and when.known else None)
    scene.names = _names(facts, people)
    scene.tags = _tag_candidates(scene, labels, imagenet)
    if not facts.labels and not faces and not text:
        scene.warnings.append("no labels, faces or text were found; the description says little")
    if scene.unsafe:
        scene.warnings.append("moderation flagged this image as unsafe; review the text before publishing")
    if subject is not None and not subject.sure:
        scene.warnings.append(f"low confidence in the main subject ({subject.score:.0%}); the text is hedged")
    return scene


def _names(facts: Analysis, people: int) -> list[str]:
    """Named people recognised in the photo, left to right, each once (never more than faces)."""
    found = sorted(facts.people or [], key=lambda p: p.box[0])
    names = list(dict.fromkeys(p.name for p in found if p.name.strip()))
    return names[:people] if people else []


def _tag_candidates(scene: Scene, labels: list[Label], imagenet: bool) -> list[tuple[str, str, float]]:
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
