"""dupes: groups of exact and near duplicates in an index.

Exact duplicates share their SHA-256. Near duplicates (resized, recompressed, lightly
cropped copies) need two signals to agree: the 64-bit dHashes differ in at most
``threshold`` bits AND the EfficientNet image embeddings have cosine >= ``min_similarity``.
The hash alone confuses different photos with the same layout (two grey documents); the
embedding alone groups two photos of the same kind of thing (two tabby cats). Pairs are
joined by union-find, so a chain of near copies forms one group.

Measured on the sample photos: a half-size JPEG copy is 0-1 bits and cosine 0.92-0.94 away;
a 5% crop on each side ~14 bits; unrelated photos 25-40 bits, and the two portraits in the
samples (astronaut, grace_hopper) are kept apart by the embedding. Defaults: 16 bits, 0.85.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..index import open_store
from ..index.phash import hamming_matrix
from ..results import DupeGroup, DupesResult

THRESHOLD = 16
MIN_SIMILARITY = 0.85
_CHUNK = 2048


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def dupes(*, db: str | os.PathLike | None = None, threshold: int = THRESHOLD, min_similarity: float = MIN_SIMILARITY,
          settings: Settings | None = None) -> DupesResult:
    """Exact and near-duplicate groups among the indexed images."""
    t0 = time.perf_counter()
    settings = settings or get_settings()
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or not 0 <= threshold <= 64:
        raise InvalidArgument(f"threshold must be a whole number of bits from 0 to 64, got {threshold!r}")
    if not -1.0 <= float(min_similarity) <= 1.0:
        raise InvalidArgument(f"min_similarity must be a cosine from -1 to 1, got {min_similarity!r}")
    with open_store(db, settings=settings) as store:
        rows = [(r.id, r.path, r.hash, r.phash) for r in store.dupe_rows()]
        vec_ids, mat, _ = store.vectors("image")
    n = len(rows)
    ids = np.array([r[0] for r in rows], np.int64)
    uf = _UnionFind(n)
    by_hash: dict[str, int] = {}
    for i, r in enumerate(rows):
        if r[2] in by_hash:
            uf.union(by_hash[r[2]], i)
        else:
            by_hash[r[2]] = i
    # embeddings aligned with rows (zeros where missing: never similar enough)
    feats = np.zeros((n, mat.shape[1] if mat.size else 1), np.float32)
    if mat.size:
        pos = {int(v): k for k, v in enumerate(vec_ids)}
        for i, id_ in enumerate(ids):
            k = pos.get(int(id_))
            if k is not None:
                feats[i] = mat[k]
    has_ph = np.array([r[3] is not None for r in rows], bool)
    ph = np.array([r[3] if r[3] is not None else 0 for r in rows], np.int64)
    for start in range(0, n, _CHUNK):
        d = hamming_matrix(ph[start:start + _CHUNK], ph)
        ii, jj = np.nonzero(d <= threshold)
        ii = ii + start
        keep = (jj > ii) & has_ph[ii] & has_ph[jj]
        ii, jj = ii[keep], jj[keep]
        if len(ii) == 0:
            continue
        cos = np.einsum("ij,ij->i", feats[ii], feats[jj])
        for a, b in zip(ii[cos >= min_similarity], jj[cos >= min_similarity]):
            uf.union(int(a), int(b))
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(uf.find(i), []).append(i)
    groups = []
    for idx in members.values():
        if len(idx) < 2:
            continue
        first = idx[0]
        exact = len({rows[i][2] for i in idx}) == 1
        dist = max(int(hamming_matrix(ph[[first]], ph[idx]).max()), 0)
        sim = float(np.min(feats[idx] @ feats[first])) if mat.size else 1.0
        groups.append(DupeGroup(kind="exact" if exact else "near", paths=[rows[i][1] for i in idx],
                                ids=[int(rows[i][0]) for i in idx],
                                distance=0 if exact else dist, similarity=1.0 if exact else round(sim, 4)))
    groups.sort(key=lambda g: (-len(g.paths), g.paths[0]))
    return DupesResult(db=store.location, groups=groups, images=n, threshold=int(threshold),
                       min_similarity=float(min_similarity), seconds=round(time.perf_counter() - t0, 4))
