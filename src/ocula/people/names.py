"""People's names as the index keeps and matches them.

A name is kept as typed (Unicode NFC, outer spaces dropped, inner runs of spaces made one) and
matched by its key: the NFC form casefolded, so "JOSÉ", "josé" and a decomposed "Jose\u0301"
are one name, and "张三" matches "张三" only. Names are never guessed: a query is a person's
name when its key equals the key of the name or of an alias; otherwise ``nearest`` offers the
closest names so that a typo is answered with what was meant.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from typing import Iterable, TypeVar

from ..errors import InvalidArgument

MAX_NAME = 200
T = TypeVar("T")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_name(name: object) -> str:
    """The name as stored, or InvalidArgument saying what is wrong with it."""
    if not isinstance(name, str):
        raise InvalidArgument(f"a name must be text, got {type(name).__name__}")
    text = " ".join(unicodedata.normalize("NFC", name).split())
    if not text:
        raise InvalidArgument("give a name (any script: Grace Hopper, 张三, José)")
    if len(text) > MAX_NAME:
        raise InvalidArgument(f"a name is at most {MAX_NAME} characters, got {len(text)}")
    if _CONTROL.search(text):
        raise InvalidArgument("a name cannot contain control characters")
    return text


def name_key(name: str) -> str:
    """How names are compared: NFC, casefolded, spaces collapsed."""
    return unicodedata.normalize("NFC", " ".join(unicodedata.normalize("NFC", name).split()).casefold())


def nearest(name: str, candidates: Iterable[tuple[str, T]], n: int = 3) -> list[T]:
    """The values of the ``n`` candidate names most like ``name`` (by key), best first."""
    by_key: dict[str, T] = {}
    for cand, value in candidates:
        by_key.setdefault(name_key(cand), value)
    keys = difflib.get_close_matches(name_key(name), list(by_key), n=n, cutoff=0.5)
    out = [by_key[k] for k in keys]
    return list(dict.fromkeys(out))
