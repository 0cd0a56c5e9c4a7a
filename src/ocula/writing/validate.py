"""Checks on text a model wrote (LLM, VLM, captioner), against the facts it was given.

Pure functions: no I/O, no models. Each check returns a list of problems, one short
sentence each; an empty list means the text passed. ``check_draft`` runs them all.

What is checked:
- shape: the fields a purpose needs (product: title + 3-5 bullets, social: hashtags, tags);
- length: alt text <= 125 characters, limits per purpose and length for the rest;
- script: Chinese text is mostly CJK, English text is not (quoted text is left out);
- refusals ("I'm sorry, I can't ...");
- contradictions with the facts: an animal no label supports ("dog" for a cat), people
  when the face detector ran and found none, quoted text that OCR did not read, and in
  news captions and travel posts a name, place or date that neither the context, EXIF, the
  place named from the GPS nor the people the user named give (a [WHERE] placeholder must
  stay when none of them gives one);
- names: a person's name (two or more capitalised words) that is neither a person the user
  named and ``describe`` recognised (``facts.people``) nor given by the context or the image
  text, in every purpose when people are pictured.
Limit: names and places written in Chinese characters cannot be recognised without a
language model; for Chinese news captions only dates, Latin-script names and the
placeholders are checked.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
from typing import Any, Iterable

from ..results import Analysis
from ..vocabulary import ALL_PLACEHOLDERS, ALT_MAX, HAN_RE, LATIN_LETTERS, PLACEHOLDERS
from .base import DescribeRequest, Draft


# --- lengths ----------------------------------------------------------------------------

# Upper bounds in characters of ``text`` for English; Chinese packs about twice the
# meaning per character, so its bounds are halved. Generous on purpose: they catch
# runaway answers, the prompt asks for the real length.
_MAX_CHARS = {
    "caption": {"short": 200, "medium": 450, "long": 900},
    "product": {"short": 350, "medium": 650, "long": 1100},
    "social": {"short": 280, "medium": 500, "long": 800},
    "news": {"short": 280, "medium": 550, "long": 950},
    "travel": {"short": 280, "medium": 500, "long": 800},
    "tags": {"short": 400, "medium": 700, "long": 1200},
}


def max_chars(purpose: str, length: str, language: str) -> int:
    """The longest ``text`` accepted for this purpose, length and language."""
    if purpose == "alt":
        return ALT_MAX
    n = _MAX_CHARS[purpose][length]
    return n // 2 if language == "zh" else n


# --- text helpers -----------------------------------------------------------------------

_CJK = HAN_RE
_LATIN = re.compile(f"[{LATIN_LETTERS}]")
_LATIN_WORD = re.compile(f"[{LATIN_LETTERS}]+")
_QUOTES = re.compile(r'"([^"\n]{1,200})"|\u201c([^\u201d\n]{1,200})\u201d|\u300c([^\u300d\n]{1,200})\u300d'
                     r'|\u300e([^\u300f\n]{1,200})\u300f')
_HASHTAG = re.compile(r"#[\w\u3400-\u9fff-]+")
_URL = re.compile(r"https?://\S+")


def quoted(text: str) -> list[str]:
    """Strings quoted in ``text`` with "", \u201c\u201d, \u300c\u300d or \u300e\u300f."""
    return [next(g for g in m.groups() if g is not None).strip() for m in _QUOTES.finditer(text)]


def _unquoted(text: str) -> str:
    text = _QUOTES.sub(" ", text)
    for p in ALL_PLACEHOLDERS:
        text = text.replace(p, " ")
    return _URL.sub(" ", _HASHTAG.sub(" ", text))


def norm(text: str) -> str:
    """Casefolded letters, digits and CJK only: for comparing quotes with OCR text."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def cjk_share(text: str) -> tuple[float, int]:
    """Share of CJK characters among CJK + Latin letters, and how many letters were seen."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    total = cjk + latin
    return (cjk / total if total else 0.0), total


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())


def all_text(draft: Draft) -> str:
    """Every piece of prose in a draft, one per line (hashtags and tags included)."""
    parts = [draft.text, draft.title or "", *draft.bullets, " ".join(draft.hashtags), ", ".join(draft.tags)]
    return "\n".join(p for p in parts if p)


# --- parsing model output ---------------------------------------------------------------

_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_THINK = re.compile(r"<think>.*?</think>", re.S)


def parse_json_object(content: str) -> dict[str, Any]:
    """The JSON object in a model's answer: bare, fenced in ```json, or after <think> text.
    Raises ValueError with a one-line reason."""
    s = _THINK.sub("", content or "").strip()
    s = _FENCE.sub("", s).strip()
    try:
        obj = json.loads(s)
    except json.JSONDecodeError as first:
        start, end = s.find("{"), s.rfind("}")
        if start < 0:
            raise ValueError("the answer is not JSON") from None
        if end <= start:
            raise ValueError(f"the answer is not valid JSON ({first.msg} at char {first.pos}; cut off?)") from None
        try:
            obj = json.loads(s[start:end + 1])
        except json.JSONDecodeError as e:
            raise ValueError(f"the answer is not valid JSON ({e.msg} at char {e.pos})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"the answer is JSON {type(obj).__name__}, not an object")
    return obj


def _str_list(obj: dict, key: str) -> list[str]:
    v = obj.get(key)
    if v is None:
        return []
    if isinstance(v, str):  # "a, b, c" where a list was asked for
        v = [p for p in re.split(r"[,\u3001\uff0c\n]", v)]
    if not isinstance(v, list) or not all(isinstance(x, (str, int, float)) for x in v):
        raise ValueError(f'"{key}" must be a list of strings')
    return [str(x).strip() for x in v if str(x).strip()]


def _hashtag(s: str) -> str:
    s = re.sub(r"\s+", "", s.strip().lstrip("#"))
    return "#" + s if s else ""


def draft_from_json(obj: dict[str, Any], request: DescribeRequest, confidence: float) -> Draft:
    """Turn a parsed answer into a Draft, tidying what is safe to tidy (whitespace, '#'
    prefixes, an "Image of" opening). Raises ValueError when a needed field is missing."""
    text = obj.get("text", "")
    if not isinstance(text, str):
        raise ValueError('"text" must be a string')
    title = obj.get("title")
    if title is not None and not isinstance(title, str):
        raise ValueError('"title" must be a string')
    bullets = _str_list(obj, "bullets")
    hashtags = [h for h in (_hashtag(x) for x in _str_list(obj, "hashtags")) if h]
    tags = list(dict.fromkeys(t.strip().lstrip("#") for t in _str_list(obj, "tags")))
    tags = [t for t in tags if t]
    if request.purpose == "tags" and not text.strip() and tags:
        text = ("\u3001" if request.language == "zh" else ", ").join(tags)
    text = tidy(text, request)
    if not text:
        raise ValueError('the answer has no "text"')
    return Draft(text=text, title=title.strip() if title else None, bullets=bullets,
                 hashtags=list(dict.fromkeys(hashtags)), tags=tags, confidence=confidence)


_ALT_OPENING = re.compile(r"^(?:(?:this|the)\s+is\s+)?(?:an?\s+)?(?:image|picture|photo|photograph)\s+(?:of|showing|shows)\s+",
                          re.I)
_ZH_OPENING = re.compile(r"^(?:这是)?(?:一张|这张)?(?:图片|照片|图像)(?:中|里|上)?(?:显示了?|展示了?|是)?[，,：:]?")


def tidy(text: str, request: DescribeRequest) -> str:
    """Whitespace collapsed; alt text loses "Image of ..." openings (screen readers already
    say "image") and its first letter is capitalised again."""
    text = re.sub(r"\s+", " ", text or "").strip()
    if request.purpose == "alt":
        stripped = _ALT_OPENING.sub("", text) if request.language == "en" else _ZH_OPENING.sub("", text)
        if stripped and stripped != text:
            text = stripped[0].upper() + stripped[1:]
    return text


# --- checks -----------------------------------------------------------------------------

_REFUSAL = re.compile(r"\b(?:I'?m sorry|I am sorry|I cannot|I can't|I can ?not|I am unable|I'm unable|"
                      r"as an AI|I'm not able|I do not have the ability)\b|抱歉|对不起|作为(?:一个)?(?:AI|人工智能)|"
                      r"我无法|我不能", re.I)


def check_refusal(draft: Draft) -> list[str]:
    m = _REFUSAL.search(draft.text)
    return [f'the model refused ("{draft.text[:60]}")'] if m else []


def check_shape(draft: Draft, request: DescribeRequest) -> list[str]:
    out: list[str] = []
    if not draft.text.strip():
        out.append("the text is empty")
    if request.purpose == "product":
        lo, hi = 3, 5
        if not draft.title:
            out.append("a product description needs a title")
        elif len(draft.title) > (40 if request.language == "zh" else 90):
            out.append(f"the product title is too long ({len(draft.title)} characters)")
        if not lo <= len(draft.bullets) <= hi:
            out.append(f"a product description needs {lo}-{hi} bullets, got {len(draft.bullets)}")
        long_b = [b for b in draft.bullets if len(b) > (80 if request.language == "zh" else 160)]
        if long_b:
            out.append(f"a bullet is too long ({len(long_b[0])} characters)")
    if request.purpose == "social" and not 1 <= len(draft.hashtags) <= 10:
        out.append(f"a social post needs 1-10 hashtags, got {len(draft.hashtags)}")
    if request.purpose == "travel" and len(draft.hashtags) > 10:
        out.append(f"a travel post takes at most 10 hashtags, got {len(draft.hashtags)}")
    if request.purpose == "tags":
        if not draft.tags:
            out.append("a keyword list needs at least one tag")
        elif len(draft.tags) > 30:
            out.append(f"too many tags ({len(draft.tags)}; at most 30)")
        long_t = [t for t in draft.tags if len(t) > 40]
        if long_t:
            out.append(f'a tag is a sentence, not a keyword ("{long_t[0][:40]}")')
    if request.purpose == "alt" and "\n" in draft.text:
        out.append("alt text must be one line")
    return out


def check_length(draft: Draft, request: DescribeRequest) -> list[str]:
    limit = max_chars(request.purpose, request.length, request.language)
    n = len(draft.text)
    if n > limit:
        what = "alt text" if request.purpose == "alt" else f"a {request.length} {request.purpose} text"
        return [f"{what} must be at most {limit} characters, got {n}"]
    return []


def check_script(draft: Draft, language: str, purpose: str = "caption", keep: Iterable[str] = ()) -> list[str]:
    """Chinese must be mostly CJK; English must not be. Quoted text, hashtags, URLs,
    placeholders and words from ``keep`` (the user's context, the text read in the image:
    any script, repeated as given) are left out; tags only count for the tags purpose
    (elsewhere they are filled from label names)."""
    parts = [draft.text, draft.title or "", *draft.bullets, *(draft.tags if purpose == "tags" else [])]
    text = _unquoted("\n".join(parts))
    # Latin words only: in Chinese text a name sits right next to Han characters ("的Grace Hopper在")
    given = {w.casefold() for k in keep if k for w in _LATIN_WORD.findall(k)}
    if given:
        text = _LATIN_WORD.sub(lambda m: " " if m.group(0).casefold() in given else m.group(0), text)
    share, letters = cjk_share(text)
    if letters < 2:
        return []
    if language == "zh" and share < 0.6:
        return [f"the text should be Chinese but only {share:.0%} of its letters are Chinese characters"]
    if language == "en" and share > 0.3:
        return [f"the text should be English but {share:.0%} of its letters are Chinese characters"]
    return []


# Animal kinds: words that claim them (English, Chinese) and how a label supports them
# (words in the label's name, and ImageNet-1k class index ranges, which is what the
# default classifiers predict; names alone miss "golden retriever" for "dog").
_ANIMALS: dict[str, tuple[set[str], tuple[str, ...], tuple[str, ...], tuple[range, ...]]] = {
    # kind: (English claim words, Chinese claim words, label-name words, ImageNet ranges)
    "cat": ({"cat", "cats", "kitten", "kittens", "kitty", "tabby", "feline", "felines"}, ("猫",),
            ("cat", "tabby", "lynx", "cougar", "leopard", "lion", "tiger", "jaguar", "cheetah"),
            (range(281, 294),)),
    "dog": ({"dog", "dogs", "puppy", "puppies", "pup", "pups", "canine", "hound", "hounds"}, ("狗", "犬"),
            ("dog", "hound", "terrier", "retriever", "spaniel", "poodle", "wolf", "puppy", "collie",
             "shepherd", "setter", "pointer", "schnauzer", "sheepdog", "pinscher", "bulldog", "husky"),
            (range(151, 281),)),
    "bird": ({"bird", "birds", "parrot", "parrots", "owl", "owls", "eagle", "eagles", "duck", "ducks",
              "chicken", "chickens", "hen", "hens", "goose", "geese", "swan", "swans", "pigeon", "pigeons",
              "penguin", "penguins", "sparrow", "sparrows", "seagull", "gull", "gulls"},
             ("鸟", "鸭", "鹅", "鸡", "鹰", "鹦鹉", "企鹅", "鸽"),
             ("bird", "owl", "eagle", "duck", "hen", "cock", "goose", "swan", "parrot", "macaw", "penguin",
              "finch", "robin", "jay", "magpie", "vulture", "kite", "stork", "heron", "crane", "pelican",
              "flamingo", "ostrich", "peacock", "quail", "grouse", "lorikeet", "cockatoo", "hummingbird",
              "toucan", "hornbill", "albatross", "gull", "bustard", "bittern", "limpkin", "gallinule",
              "coot", "dowitcher", "redshank", "oystercatcher", "ptarmigan", "partridge", "ouzel",
              "chickadee", "junco", "bunting", "bulbul", "brambling", "goldfinch", "jacamar", "bee eater",
              "merganser", "drake", "spoonbill", "ibis", "egret"),
             (range(7, 25), range(80, 101), range(127, 147))),
    "fish": ({"fish", "fishes", "shark", "sharks", "goldfish", "salmon", "trout", "eel", "eels"},
             ("鱼",), ("fish", "shark", "tench", "eel", "salmon", "coho", "sturgeon", "gar", "puffer",
                      "barracouta", "ray", "goldfish"),
             (range(0, 7), range(389, 398))),
    "horse": ({"horse", "horses", "pony", "ponies", "foal", "stallion", "mare"}, ("骏马", "小马", "马匹", "一匹马"),
              ("horse", "sorrel", "zebra", "pony"), (range(339, 341),)),
    "cattle": ({"cow", "cows", "cattle", "bull", "bulls", "ox", "oxen", "calf", "buffalo", "bison"},
               ("牛",), ("ox", "cow", "bull", "bison", "buffalo", "cattle"), (range(345, 348),)),
    "sheep": ({"sheep", "lamb", "lambs", "goat", "goats", "ram", "rams"}, ("羊",),
              ("sheep", "ram", "bighorn", "ibex", "goat", "lamb"), (range(348, 351),)),
    "pig": ({"pig", "pigs", "piglet", "hog", "hogs", "boar"}, ("猪",), ("pig", "hog", "boar", "warthog"),
            (range(341, 344),)),
    "bear": ({"bear", "bears", "panda", "pandas"}, ("熊",), ("bear", "panda"),
             (range(294, 298), range(387, 389))),
    "monkey": ({"monkey", "monkeys", "ape", "apes", "gorilla", "chimpanzee", "orangutan", "baboon"},
               ("猴", "猩猩"), ("monkey", "ape", "gorilla", "chimpanzee", "orangutan", "baboon", "macaque",
                              "gibbon", "siamang", "langur", "colobus", "marmoset", "capuchin", "lemur",
                              "guenon", "patas", "proboscis", "titi", "howler", "spider monkey", "indri"),
               (range(365, 385),)),
    "elephant": ({"elephant", "elephants"}, ("大象", "象群"), ("elephant", "tusker"), (range(385, 387), range(101, 102))),
    "rabbit": ({"rabbit", "rabbits", "bunny", "bunnies", "hare", "hares"}, ("兔",), ("rabbit", "hare", "angora"),
               (range(330, 333),)),
    "snake": ({"snake", "snakes", "serpent"}, ("蛇",), ("snake", "boa", "python", "viper", "cobra", "mamba",
                                                      "rattlesnake", "adder", "sidewinder"),
              (range(52, 69),)),
    "insect": ({"insect", "insects", "bug", "bugs", "butterfly", "butterflies", "bee", "bees", "beetle",
                "beetles", "ant", "ants", "moth", "moths", "dragonfly", "spider", "spiders"},
               ("昆虫", "蝴蝶", "蜜蜂", "甲虫", "蚂蚁", "蜘蛛", "蜻蜓"),
               ("beetle", "fly", "bee", "ant", "grasshopper", "cricket", "cockroach", "mantis", "cicada",
                "dragonfly", "damselfly", "butterfly", "admiral", "ringlet", "monarch", "lycaenid", "spider",
                "weevil", "ladybug", "leafhopper", "lacewing", "walking stick", "tick", "scorpion"),
               (range(69, 80), range(300, 327))),
}
_NAME_RES = {kind: re.compile(r"\b(?:" + "|".join(re.escape(w) for w in v[2]) + r")s?\b")
             for kind, v in _ANIMALS.items()}
_GENERIC_ANIMAL_EN = {"animal", "animals", "pet", "pets", "creature", "creatures", "wildlife"}
_GENERIC_ANIMAL_ZH = ("动物", "宠物")
# Chinese compounds whose characters would claim the wrong animal: 熊猫 is a panda
# (not a cat), 猫头鹰 an owl, 鸟瞰 a bird's-eye view, 马路 a road ...
_ZH_COMPOUNDS = {"熊猫": "熊", "猫头鹰": "鹰", "鸟瞰": "", "马路": "", "牛仔": "", "牛奶": "", "蜗牛": "",
                 "鱼眼": "", "狗尾草": "", "猫眼": "", "海狮": "", "犀牛": "", "金鱼草": "", "鸡蛋": "",
                 "羊毛": "", "羊绒": "", "猪肉": "", "牛肉": "", "鸡肉": "", "鱼肉": "", "兔毛": "", "牛排": "",
                 "鸭舌帽": "", "鹅卵石": "", "泰迪熊": "", "玩具熊": "", "熊熊": ""}
# English phrases that use an animal word without claiming the animal.
_EN_IDIOMS = ("hot dog", "hotdog", "bull's eye", "bullseye", "fly fishing", "butterfly valve", "ram memory",
              "teddy bear", "cat's eye", "catwalk", "dog-eared", "bear in mind", "fish eye", "fisheye",
              "horse power", "horsepower", "ant colony optimization", "bug fix", "pig iron", "bulldozer")

_PEOPLE_EN = {"person", "persons", "people", "man", "men", "woman", "women", "boy", "boys", "girl", "girls",
              "child", "children", "kid", "kids", "baby", "babies", "toddler", "toddlers", "lady", "ladies",
              "gentleman", "gentlemen", "guy", "guys", "crowd", "someone", "somebody", "student", "students",
              "worker", "workers", "tourist", "tourists", "pedestrian", "pedestrians", "teenager",
              "teenagers", "businessman", "businesswoman", "athlete", "athletes"}
# Pronouns are left out on purpose: people call their cat "she".
_PEOPLE_ZH = ("人们", "男人", "女人", "男子", "女子", "男孩", "女孩", "孩子", "儿童", "婴儿", "女士", "先生", "人群",
              "一个人", "两个人", "几个人", "一位", "一名", "游客", "行人", "学生", "他们", "她们", "人物", "小孩")
_NEGATIONS = {"no", "not", "without", "nobody", "nor", "zero", "none", "never", "n't", "isn't", "aren't"}
_ZH_NEGATED_PEOPLE = re.compile(r"(?:没有|无|不见|看不到|未见)(?:任何)?(?:人|行人|人物|人影)")


def _label_kinds(facts: Analysis, min_score: float) -> tuple[set[str], bool, bool]:
    """Animal kinds the labels support, whether any label is an animal, and whether any
    label is a person (scuba diver, groom ...)."""
    kinds: set[str] = set()
    any_animal = any_person = False
    for lab in facts.labels:
        if lab.score < min_score:
            continue
        name = f" {lab.name.lower()} "
        zh = lab.name_zh or ""
        imagenet = facts.classifier is None or "imagenet" in (facts.classifier or "").lower() \
            or (facts.classifier or "").startswith(("efficientnet", "mobilenet", "resnet", "convnext", "vit"))
        if lab.category == "animal" or (imagenet and 0 <= lab.index < 398):
            any_animal = True
        if lab.category == "person":
            any_person = True
        for kind, (_, zh_words, _, ranges) in _ANIMALS.items():
            if _NAME_RES[kind].search(name) or any(w in zh for w in zh_words) \
                    or (imagenet and any(lab.index in r for r in ranges)):
                kinds.add(kind)
    for obj in facts.objects.objects if facts.objects is not None else []:  # what a detector saw counts too
        any_person = any_person or obj.label == "person"
        for kind, (_, zh_words, _, _) in _ANIMALS.items():
            if _NAME_RES[kind].search(f" {obj.label.lower()} ") or any(w in (obj.name_zh or "") for w in zh_words):
                kinds.add(kind)
                any_animal = True
    return kinds, any_animal, any_person


def _negated(words: list[str], i: int) -> bool:
    return any(w in _NEGATIONS for w in words[max(0, i - 3):i])


def claimed_animals(text: str) -> tuple[dict[str, str], bool]:
    """Animal kinds ``text`` asserts ({kind: word that claims it}) and whether it names
    animals generically ("an animal", "宠物")."""
    low = text.lower()
    for idiom in _EN_IDIOMS:
        low = low.replace(idiom, " ")
    for compound, keep in _ZH_COMPOUNDS.items():
        low = low.replace(compound, keep)
    words = _words(low)
    found: dict[str, str] = {}
    for kind, (en_words, zh_words, _, _) in _ANIMALS.items():
        for i, w in enumerate(words):
            if w in en_words and not _negated(words, i):
                found.setdefault(kind, w)
        for w in zh_words:
            if w in low and not re.search(rf"(?:没有|无|不是){w}", low):
                found.setdefault(kind, w)
    generic = any(w in _GENERIC_ANIMAL_EN and not _negated(words, i) for i, w in enumerate(words)) \
        or any(w in low for w in _GENERIC_ANIMAL_ZH)
    return found, generic


def claims_people(text: str) -> str | None:
    """The first word in ``text`` that asserts a person is present, or None."""
    low = text.lower()
    for p in ALL_PLACEHOLDERS:
        low = low.replace(p.lower(), " ")
    words = _words(low)
    for i, w in enumerate(words):
        if w in _PEOPLE_EN and not _negated(words, i):
            return w
    low = _ZH_NEGATED_PEOPLE.sub("", low)
    for w in _PEOPLE_ZH:
        if w in low:
            return w
    return None


def check_animals(draft: Draft, facts: Analysis, min_score: float = 0.02) -> list[str]:
    """An animal named must be one a label supports. Skipped when no classifier ran."""
    if not facts.labels:
        return []
    kinds, any_animal, _ = _label_kinds(facts, min_score)
    claims, generic = claimed_animals(all_text(draft))
    seen = ", ".join(lab.name for lab in facts.labels[:3])
    out = [f'mentions "{word}" but no label supports a {kind} (labels: {seen})'
           for kind, word in claims.items() if kind not in kinds]
    if generic and not any_animal and not claims:
        out.append(f"mentions an animal but no label is an animal (labels: {seen})")
    return out


def check_people(draft: Draft, facts: Analysis, min_score: float = 0.02) -> list[str]:
    """People may only be mentioned when faces were found (or a label is a person).
    Skipped when face detection did not run."""
    if facts.faces is None or facts.faces.count > 0:
        return []
    _, _, any_person = _label_kinds(facts, min_score)
    if any_person:
        return []
    word = claims_people(all_text(draft))
    return [f'mentions people ("{word}") but no face was found'] if word else []


def check_quotes(draft: Draft, facts: Analysis, context: str | None = None) -> list[str]:
    """Quoted text must be text OCR read (or the user's context gave)."""
    ocr = facts.text.text if facts.text is not None else ""
    sources = norm(ocr) + "\n" + norm(context or "")
    out = []
    for q in quoted(all_text(draft)):
        nq = norm(q)
        if len(nq) < 2 or nq in sources:
            continue
        # OCR splits and misreads: accept when most words (or CJK characters) were read
        units = re.findall(r"[a-z0-9]+|[\u3400-\u9fff]", unicodedata.normalize("NFKC", q).casefold())
        if units and sum(u in sources for u in units) / len(units) >= 0.8:
            continue
        if not ocr.strip():
            out.append(f'quotes "{q[:40]}" but no text was read in the image')
        else:
            out.append(f'quotes "{q[:40]}" which is not the text read in the image')
    return out


# --- news: names, places, dates ---------------------------------------------------------

_MONTHS = {m: i + 1 for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july",
                                           "august", "september", "october", "november", "december"])}
_MONTHS.update({m[:3]: n for m, n in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_WEEKDAYS = {d: i for i, d in enumerate(["monday", "tuesday", "wednesday", "thursday", "friday",
                                         "saturday", "sunday"])}
_ZH_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_MONTH_WORD = re.compile(r"\b(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?(?:\s+(\d{1,2}))?\b", re.I)
_WEEKDAY_WORD = re.compile(r"\b(" + "|".join(_WEEKDAYS) + r")\b", re.I)
_NUM_DATE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)|(?<!\d)(\d{1,2})[/.](\d{1,2})[/.](\d{2,4})(?!\d)")
_ZH_DATE = re.compile(r"(?:(\d{2,4})\s*年)?\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*[日号])?")
_ZH_WEEKDAY = re.compile(r"(?:星期|礼拜|周)([一二三四五六日天])")
# Capitalised words that are not names: sentence openers and words captions use.
_COMMON_CAPS = {
    "a", "an", "the", "this", "that", "these", "those", "there", "here", "it", "its", "in", "on", "at", "of",
    "by", "for", "with", "from", "as", "and", "but", "or", "to", "into", "during", "after", "before",
    "while", "when", "where", "who", "what", "one", "two", "three", "four", "five", "several", "some",
    "many", "few", "an", "i", "we", "they", "he", "she", "his", "her", "their", "our", "photo", "image",
    "picture", "caption", "close", "close-up", "view", "scene", "inside", "outside", "above", "below",
    "left", "right", "front", "background", "foreground", "exif", "ocr", "jpeg", "png", "uk", "us", "tv",
    "led", "usb", "ok", "no", "yes", "new", "old", "big", "small", "large", "today", "earlier", "later",
}


def _source_dates(facts: Analysis, context: str | None) -> tuple[set[int], set[int], set[tuple[int, int]], set[int], str]:
    """Years, months, (month, day) pairs and weekdays that the EXIF date or the context give."""
    years: set[int] = set()
    months: set[int] = set()
    days: set[tuple[int, int]] = set()
    weekdays: set[int] = set()
    md = facts.metadata
    # the checked capture time when the facts carry it (a factory-default time gives no date)
    recorded = (md.time.local if md.time.known else None) if md is not None and md.time is not None \
        else (md.datetime_original if md is not None else None)
    if recorded:
        try:
            dt = datetime.fromisoformat(recorded.replace("Z", "+00:00"))
            years.add(dt.year)
            months.add(dt.month)
            days.add((dt.month, dt.day))
            weekdays.add(dt.weekday())
        except ValueError:
            years.update(int(y) for y in _YEAR.findall(recorded))
    ctx = context or ""
    y, m, d, w = _dates_in(ctx)
    years |= y
    months |= m
    days |= d
    weekdays |= w
    return years, months, days, weekdays, ctx


def _dates_in(text: str) -> tuple[set[int], set[int], set[tuple[int, int]], set[int]]:
    years = {int(y) for y in _YEAR.findall(text)}
    months: set[int] = set()
    days: set[tuple[int, int]] = set()
    weekdays: set[int] = set()
    for m in _MONTH_WORD.finditer(text):
        word = m.group(1).lower()
        if not m.group(0)[0].isupper():
            continue  # "may", "march", "mar": words before they are months
        months.add(_MONTHS[word])
        if m.group(2):
            days.add((_MONTHS[word], int(m.group(2))))
    for m in _WEEKDAY_WORD.finditer(text):
        weekdays.add(_WEEKDAYS[m.group(1).lower()])
    for m in _NUM_DATE.finditer(text):
        if m.group(1):
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        else:  # 5/1/2024: day/month order is ambiguous, keep both readings
            a, b, y = int(m.group(4)), int(m.group(5)), int(m.group(6))
            y = y + 2000 if y < 100 else y
            for mo, d in ((a, b), (b, a)):
                if 1 <= mo <= 12:
                    months.add(mo)
                    days.add((mo, d))
            years.add(y)
            continue
        years.add(y)
        months.add(mo)
        days.add((mo, d))
    for m in _ZH_DATE.finditer(text):
        if m.group(1):
            years.add(int(m.group(1)))
        mo = int(m.group(2))
        months.add(mo)
        if m.group(3):
            days.add((mo, int(m.group(3))))
    for m in _ZH_WEEKDAY.finditer(text):
        weekdays.add(_ZH_WEEKDAYS[m.group(1)])
    return years, months, days, weekdays


def _people_names(facts: Analysis) -> list[str]:
    return [p.name for p in facts.people or []]


def _allowed_words(facts: Analysis, context: str | None) -> set[str]:
    words: set[str] = set(_COMMON_CAPS)
    sources = [context or "", *_people_names(facts)]
    if facts.text is not None:
        sources.append(facts.text.text)
    for lab in facts.labels:
        sources.append(lab.name)
    if facts.colors is not None:
        sources.extend(c.name for c in facts.colors.colors)
    md = facts.metadata
    if md is not None:
        sources.extend(x for x in (md.camera_make, md.camera_model, md.lens, md.artist, md.software) if x)
        sources.extend(place_words(md.place))
    for s in sources:
        words.update(re.findall(r"[a-z0-9]+", s.lower()))
    return words


def place_words(place: Any) -> list[str]:
    """Every name of a place (the one the GPS names) a text may use, with its one-line labels."""
    if place is None:
        return []
    out = [x for x in (place.label, place.label_zh) if x] + ["near", "km"]
    for name in (place.city, place.district, place.region, place.country, place.ocean):
        if name is not None:
            out += [x for x in (name.en, name.zh, name.zh_hant, name.local) if x]
    return out


def check_news_specifics(draft: Draft, facts: Analysis, request: DescribeRequest) -> list[str]:
    """A news caption (or travel post) invents nothing: every date it gives comes from EXIF or
    the context, every capitalised name from the context, OCR, labels, the people the user named
    (``facts.people``) or the place the GPS names; without context or such a place it keeps the
    [WHERE] placeholder (a news caption also [WHO] when faces nobody named were found)."""
    text = all_text(draft)
    out: list[str] = []
    years, months, days, weekdays, ctx = _source_dates(facts, request.context)
    y, m, d, w = _dates_in(_QUOTES.sub(" ", text))
    if y - years:
        out.append(f"gives the year {min(y - years)} which neither the context nor EXIF gives")
    elif m - months:
        out.append("gives a month which neither the context nor EXIF gives")
    elif d - days:
        out.append("gives a day which neither the context nor EXIF gives")
    elif w - weekdays:
        out.append("gives a weekday which neither the context nor EXIF gives")
    allowed = _allowed_words(facts, request.context)
    names: list[str] = []
    for sentence in re.split(r"(?<=[.!?。！？;；:：])\s*|\n", _QUOTES.sub(" ", text)):
        tokens = re.findall(r"\[?[A-Za-z][A-Za-z'’\-]*\]?", sentence)
        for i, tok in enumerate(tokens):
            if tok.startswith("[") or not tok[0].isupper():
                continue
            low = re.sub(r"['’]s$", "", tok.lower()).strip("'’-")
            if low in allowed or low in _MONTHS or low in _WEEKDAYS or tok.isupper() and len(tok) <= 4:
                continue
            first = i == 0 and _LATIN.match(sentence.lstrip()[:1] or " ")
            if first:  # an opening word is capitalised anyway: a name only if one follows it
                nxt = tokens[1] if len(tokens) > 1 else ""
                if not (nxt[:1].isupper() and nxt.lower() not in allowed):
                    continue
            names.append(tok)
    if names:
        out.append(f'names "{names[0]}" which neither the context nor the image text gives')
    if not (request.context or "").strip():
        def has(key: str) -> bool:
            return any(PLACEHOLDERS[lang][key] in text for lang in PLACEHOLDERS)

        own = PLACEHOLDERS[request.language]
        what = "a travel post" if request.purpose == "travel" else "a news caption"
        placed = facts.metadata is not None and facts.metadata.place is not None
        if not has("where") and not placed:
            out.append(f"without context or a place from the GPS {what} must keep the {own['where']} placeholder")
        unnamed = (facts.faces.count if facts.faces is not None else 0) - len(_people_names(facts))
        if request.purpose == "news" and unnamed > 0 and not has("who"):
            out.append(f"without context a news caption must keep the {own['who']} placeholder for the people "
                       f"shown whom nobody named")
    return out


_NAME_RUN = re.compile(r"\b[A-Z][a-z'’\-]+(?:\s+(?:[A-Z][a-z'’\-]+|[A-Z]\.))+")


def check_names(draft: Draft, facts: Analysis, request: DescribeRequest) -> list[str]:
    """With people pictured, a name (two or more capitalised words, "Barack Obama") must be one
    ``facts.people`` gives (the user named them) or the context or the image text says: a
    wrong name is worse than none. Places and things said the same way ("Golden Gate Bridge")
    are caught too; the writer is asked again without them."""
    if facts.faces is None or facts.faces.count == 0:
        return []
    allowed = _allowed_words(facts, request.context)
    for m in _NAME_RUN.finditer(_QUOTES.sub(" ", all_text(draft))):
        words = [w.strip(".").lower() for w in m.group(0).split()]
        words = [re.sub(r"['’]s$", "", w) for w in words]
        if words[0] in _COMMON_CAPS or words[0] in _MONTHS or words[0] in _WEEKDAYS:
            words = words[1:]
        if len(words) >= 2 and not all(w in allowed for w in words):
            return [f'names "{m.group(0)}", who is not a person the user named (facts "people") nor in the '
                    f'context or the image text']
    return []


def check_draft(draft: Draft, facts: Analysis, request: DescribeRequest, *, min_score: float = 0.02) -> list[str]:
    """Every check; the problems found, in a stable order (empty list: the draft is fine)."""
    problems = check_refusal(draft)
    if problems:
        return problems
    problems += check_shape(draft, request)
    problems += check_length(draft, request)
    place = facts.metadata.place if facts.metadata is not None else None
    problems += check_script(draft, request.language, request.purpose,
                             keep=(request.context or "", facts.text.text if facts.text is not None else "",
                                   *place_words(place), *_people_names(facts)))
    problems += check_animals(draft, facts, min_score)
    problems += check_people(draft, facts, min_score)
    problems += check_quotes(draft, facts, request.context)
    if request.purpose in ("news", "travel"):
        problems += check_news_specifics(draft, facts, request)
    else:
        problems += check_names(draft, facts, request)
    return problems


def first_problem(problems: Iterable[str]) -> str:
    problems = list(problems)
    if not problems:
        return ""
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return problems[0] + more
