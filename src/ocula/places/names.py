"""Place names in English, Chinese (Simplified and Traditional) and the local script.

GeoNames lists a city's alternate names without saying which language each is in, so the
Chinese name is chosen by vote among the names written only in Han characters, after folding
Traditional into Simplified (OpenCC) and "X市" into "X"; Japanese cities first map their
shinjitai spellings (横浜) to Traditional (橫濱) so that they vote with the Chinese ones (横滨).
The local name is the country's own script where that is not Latin (東京, 서울, Москва,
القاهرة); for Latin-script countries it is GeoNames' main name. Countries and regions come
from ISO 3166 (pycountry and its translations), with common names where the ISO name is a
formal one nobody uses in a caption.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections import Counter
from functools import lru_cache

_HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff·・\-－]+$")
_KANA = re.compile(r"[\u3040-\u30ff]")

# the script a country writes its place names in, where it is not Latin. Cyrillic and Arabic
# script are left out: GeoNames lists Russian, Ukrainian, Belarusian (Persian, Urdu ...) spellings
# side by side without labels, and no rule tested here told Москва from Муско or Київ from Киев.
_SCRIPTS: dict[str, tuple[str, ...]] = {
    "greek": ("GR", "CY"),
    "hebrew": ("IL",),
    "thai": ("TH",),
    "lao": ("LA",),
    "khmer": ("KH",),
    "myanmar": ("MM",),
    "georgian": ("GE",),
    "armenian": ("AM",),
    "hangul": ("KR", "KP"),
    "ethiopic": ("ET", "ER"),
    "sinhala": ("LK",),
    "bengali": ("BD",),
    "devanagari": ("NP",),
}
_RANGES = {
    "greek": (0x0370, 0x03FF), "hebrew": (0x0590, 0x05FF),
    "thai": (0x0E00, 0x0E7F), "lao": (0x0E80, 0x0EFF), "khmer": (0x1780, 0x17FF), "myanmar": (0x1000, 0x109F),
    "georgian": (0x10A0, 0x10FF), "armenian": (0x0530, 0x058F), "hangul": (0xAC00, 0xD7AF),
    "ethiopic": (0x1200, 0x137F), "sinhala": (0x0D80, 0x0DFF), "bengali": (0x0980, 0x09FF),
    "devanagari": (0x0900, 0x097F),
}
SCRIPT_OF = {cc: script for script, ccs in _SCRIPTS.items() for cc in ccs}

CHINESE = ("CN", "TW", "HK", "MO")


@lru_cache(maxsize=None)
def converter(config: str):
    """An OpenCC converter (t2s, s2t, jp2t, t2jp), built once."""
    import opencc

    return opencc.OpenCC(config)


def _in_script(text: str, script: str) -> bool:
    lo, hi = _RANGES[script]
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and all(lo <= ord(ch) <= hi for ch in letters)


def chinese_names(alternates: list[str], country: str) -> tuple[str | None, str | None]:
    """(Simplified, Traditional) Chinese name from GeoNames' unlabelled alternate names."""
    originals = [a.replace("－", "-") for a in alternates if _HAN.match(a) and not _KANA.search(a)]
    if not originals:
        return None, None
    t2s, s2t = converter("t2s"), converter("s2t")
    jp2t = converter("jp2t") if country == "JP" else None
    votes: Counter[str] = Counter()
    written_simplified: set[str] = set()
    with_shi: set[str] = set()  # 深圳 is also written 深圳市: the city's own name, not an old one (宝安)
    trad_of: dict[str, str] = {}
    for name in originals:
        trad_in = jp2t.convert(name) if jp2t else name
        simp = t2s.convert(trad_in)
        key = simp[:-1] if len(simp) > 2 and simp.endswith("市") else simp  # 广州市 votes for 广州
        votes[key] += 1
        if key != simp:
            with_shi.add(key)
        if simp == name and jp2t is None:
            written_simplified.add(key)
        if trad_in != simp:
            base = trad_in[:-1] if key != simp else trad_in
            trad_of.setdefault(key, base)
    # most votes; then one also written with 市; then one written in Simplified; then one without a
    # type word (开普敦 over 好望角镇); then the longer (佛罗伦萨 over 翡冷翠's two-way tie)
    best = max(votes, key=lambda k: (votes[k], k in with_shi, k in written_simplified,
                                     k[-1] not in "镇县区乡村", len(k)))
    return best, trad_of.get(best) or s2t.convert(best)


def local_name(name: str, alternates: list[str], country: str, zh: str | None, zh_hant: str | None) -> str:
    """The name in the country's own script, else GeoNames' main name."""
    if country == "CN" and zh:
        return zh
    if country in ("TW", "HK", "MO") and zh_hant:
        return zh_hant
    if country == "JP" and zh_hant:
        return converter("t2jp").convert(zh_hant)
    script = SCRIPT_OF.get(country)
    if script is None:
        return name
    found = [a for a in alternates if _in_script(a, script)]
    if not found:
        return name
    # GeoNames lists each spelling once; a name that others extend (서울 -> 서울특별시) gathers their votes
    votes = Counter({a: 1 + sum(b != a and b.startswith(a) for b in found) for a in found})
    return max(votes, key=lambda a: (votes[a], -len(a)))


def fold(text: str) -> str:
    """Lower case without accents or punctuation, for matching names ("Île-de-France" ~ "ile de france")."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


# --- countries and regions (ISO 3166) -------------------------------------------------

# common names where pycountry's translation is the formal one
_COUNTRY_ZH = {"KR": "韩国", "KP": "朝鲜", "TW": "台湾", "VN": "越南", "LA": "老挝", "IR": "伊朗", "SY": "叙利亚",
               "MD": "摩尔多瓦", "TZ": "坦桑尼亚", "VE": "委内瑞拉", "BO": "玻利维亚", "RU": "俄罗斯", "GB": "英国",
               "US": "美国", "HK": "中国香港", "MO": "中国澳门", "CZ": "捷克", "MK": "北马其顿", "PS": "巴勒斯坦",
               "CD": "刚果（金）", "CG": "刚果（布）", "FM": "密克罗尼西亚", "BN": "文莱", "VA": "梵蒂冈"}
_COUNTRY_ZH_HANT = {"TW": "台灣", "HK": "香港", "MO": "澳門", "KR": "韓國", "KP": "北韓"}


@lru_cache(maxsize=None)
def _translation(domain: str, language: str):
    import pycountry

    try:
        return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[language])
    except OSError:
        return gettext.NullTranslations()


def _translated(domain: str, language: str, text: str) -> str | None:
    out = _translation(domain, language).gettext(text)
    return out if out != text else None


def country_names(code: str, english: str | None) -> tuple[str, str | None, str | None]:
    """(English, Simplified, Traditional) name of a country from its ISO 3166-1 alpha-2 code."""
    import pycountry

    c = pycountry.countries.get(alpha_2=code)
    en = english or (getattr(c, "common_name", None) or c.name if c else code)
    zh = _COUNTRY_ZH.get(code) or (_translated("iso3166-1", "zh_CN", c.name) if c else None)
    hant = _COUNTRY_ZH_HANT.get(code) or (_translated("iso3166-1", "zh_TW", c.name) if c else None)
    if zh and not hant:
        hant = converter("s2t").convert(zh)
    return en, zh, hant


# the type word some ISO names carry in romanised form ("Guangdong Sheng", "Seoul-teukbyeolsi")
_REGION_SUFFIX = re.compile(r"[\s-](shi|sheng|zizhiqu|uygur zizhiqu|huizu zizhiqu|zhuangzu zizhiqu|"
                            r"tebiexingzhengqu|teukbyeolsi|gwangyeoksi|teukbyeoljachisi|teukbyeoljachido|do)$",
                            re.IGNORECASE)


def region_names(iso_code: str) -> tuple[str, str | None, str | None] | None:
    """(English, Simplified, Traditional) name of an ISO 3166-2 subdivision."""
    import pycountry

    s = pycountry.subdivisions.get(code=iso_code)
    if s is None:
        return None
    en = _translated("iso3166-2", "en", s.name) or s.name
    en = en.split("[")[0].strip()  # "Catalunya [Cataluña]"
    en = _REGION_SUFFIX.sub("", _REGION_SUFFIX.sub("", en)).strip()
    zh = _translated("iso3166-2", "zh_CN", s.name)
    if zh:
        zh = zh.removeprefix("伪")  # a political prefix in one translation, not part of the name
    if zh and not _HAN.match(zh):
        zh = None  # an untranslated or partly Latin entry
    hant = _translated("iso3166-2", "zh_TW", s.name)
    if hant and not _HAN.match(hant):
        hant = None
    if zh and not hant:
        hant = converter("s2t").convert(zh)
    return en, zh, hant
