"""One vocabulary for every layer: what describe can be asked for (purposes, languages, lengths,
tones), the writing rules all writers keep (alt-text limits, placeholders, keyword counts) and
the Unicode ranges that tell Chinese (and other CJK) text from Latin text.

Tasks, writers, validators, the index's word search and the shells read these names from
here; none keeps a copy.
"""

from __future__ import annotations

import re
from typing import Literal

# --- what describe writes ------------------------------------------------------------------

Purpose = Literal["alt", "caption", "product", "social", "news", "tags", "travel"]
Language = Literal["en", "zh"]
Length = Literal["short", "medium", "long"]
Tone = Literal["neutral", "friendly", "formal", "playful"]

PURPOSES: tuple[str, ...] = Purpose.__args__  # type: ignore[attr-defined]
LANGUAGES: tuple[str, ...] = Language.__args__  # type: ignore[attr-defined]
LENGTHS: tuple[str, ...] = Length.__args__  # type: ignore[attr-defined]
TONES: tuple[str, ...] = Tone.__args__  # type: ignore[attr-defined]

# what people type for a language -> the code ocula writes
LANGUAGE_ALIASES = {"en": "en", "en-us": "en", "en-gb": "en", "english": "en", "eng": "en", "英文": "en",
                    "zh": "zh", "zh-cn": "zh", "zh-hans": "zh", "zh-sg": "zh", "cn": "zh", "chinese": "zh",
                    "chi": "zh", "zho": "zh", "中文": "zh", "汉语": "zh"}
# the language tag written into XMP language alternatives
XMP_LANGUAGE = {"en": "en", "zh": "zh-CN"}

# --- writing rules ---------------------------------------------------------------------------

ALT_MAX = 125      # alt text, characters: what screen-reader guidance asks; the hard limit for every writer
ALT_MAX_ZH = 60    # the builtin writer's aim for Chinese alt text (a character carries about twice the meaning)
# what the image cannot tell, per language: kept in the text until the user or a fact fills it
PLACEHOLDERS = {"en": {"who": "[WHO]", "where": "[WHERE]", "when": "[WHEN]"},
                "zh": {"who": "[人物]", "where": "[地点]", "when": "[时间]"}}
ALL_PLACEHOLDERS = tuple(p for d in PLACEHOLDERS.values() for p in d.values())
TAG_COUNTS = {"short": 5, "medium": 10, "long": 20}        # keywords per length
BULLET_COUNTS = {"short": 3, "medium": 4, "long": 5}       # product bullets per length
SENTENCES = {"short": 1, "medium": 2, "long": 4}           # sentences per length
HASHTAG_COUNTS = {"short": 3, "medium": 5, "long": 6}      # hashtags of a social post per length
# purposes whose text names where and when the photo was taken (from GPS and EXIF, else placeholders)
PLACE_PURPOSES = ("news", "caption", "social", "travel")
PURPOSES_HELP = "alt, caption, product, social, news, tags or travel."

# --- scripts ---------------------------------------------------------------------------------

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"       # CJK ideographs: Ext. A, unified, compatibility
HAN_SUPPLEMENT = "\U00020000-\U0002ffff"               # Ext. B and later (rare names)
CJK_PUNCTUATION = "\u3000-\u303f\uff00-\uffef"          # 。、「」 and full-width forms
KANA = "\u3040-\u30ff"
HANGUL = "\uac00-\ud7af"
# characters the index's word search treats as one token each (no spaces between words in these scripts)
CJK_TOKEN = KANA + HAN + HANGUL
LATIN_LETTERS = "A-Za-z\u00c0-\u024f"

HAN_RE = re.compile(f"[{HAN}{HAN_SUPPLEMENT}]")


def is_han(ch: str) -> bool:
    """A Chinese character (any CJK ideograph block)."""
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FFFF


def is_han_or_punctuation(ch: str) -> bool:
    """A Chinese character, CJK punctuation (。、「」) or a full-width form: no space goes between two."""
    o = ord(ch)
    return is_han(ch) or 0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF


def has_han(text: str) -> bool:
    return HAN_RE.search(text) is not None
