"""Vector indexes for search: exact numpy scans for small collections, an inverted-file ANN
index (faiss IVF-Flat) above a threshold. One file per index, beside the SQLite database, written
atomically.

Kinds:
- ``flat``: float32 matrix, exact scan (``X @ q``). Memory-bound: ~1 ms per 10k 384-d vectors.
- ``int8``: an int8 copy of the matrix (faiss scalar quantiser, SIMD) scanned for ``RERANK * k``
  candidates that are re-scored exactly in float32: 4x fewer bytes to read per query; the
  float32 rows stay in RAM for the re-rank.
- ``ivf``: faiss IndexIVFFlat, inner product on L2-normalised vectors: k-means cells over the
  vectors, a query scans the ``nprobe`` nearest cells exactly. Chosen over HNSW graphs (usearch,
  hnswlib, faiss HNSW) because it builds 10-30x faster on a 2-core machine (a 1M rebuild after a
  crash takes minutes, not hours), removes ids, filters natively (IDSelector), and its similarities
  are exact float32 cosines. hnswlib has no wheel for Python 3.11; faiss's HNSW cannot remove ids.
  Measurements: bench/search.py.

``auto`` picks ``flat`` below ``ANN_THRESHOLD`` vectors and ``ivf`` from there on, and an ``auto``
flat index turns itself into IVF when ``add`` crosses the threshold. The IVF cells are k-means
centres of the vectors present when it was trained; it retrains itself when the collection has
grown ``RETRAIN_GROWTH`` times since.

File layout: ``payload | meta JSON | u32 meta length | MAGIC``. The trailer goes last so that a
file cut short anywhere is detected at once (no magic), and the faiss payload is the library's own
stream, written straight to the temp file. The meta holds kind, dim, count, the ids stamp,
payload length and CRC32, so a truncated, bit-flipped or stale file is found on open; the
caller then calls ``rebuild()`` from the authoritative copy in SQLite.
"""

from __future__ import annotations

import json
import math
import struct
import threading
import zlib
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import InvalidArgument, OculaError

# Brute force over 100k 384-d float32 vectors reads 150 MB per query (~10 ms on 2 cores); above
# that the IVF index answers in a few ms at recall@10 >= 0.95 (bench/search.py).
ANN_THRESHOLD = 100_000
# With an ``allowed`` filter, the IVF index scores up to this many allowed ids directly (fetching
# each vector by id costs ~10 us); above, it filters inside its cells with a bitmap of the ids,
# probing 1/share times more cells, all of them (exact) for a small share.
SUBSET_EXACT_MAX = 2_000
RERANK = 8  # int8 kind: candidates re-scored in float32 per wanted result
# int8 codes: one uniform range [-1, 1] for every component (a unit vector's components lie
# there), so nothing is trained from data and no row clips; the re-rank absorbs the rounding.
# (faiss 1.15's 8bit_direct quantisers returned garbage above ~64 dims here: not used.)
IVF_CELLS_PER_SQRT = 4  # cells = 4 * sqrt(n): 4000 cells of ~250 vectors at 1M
IVF_MAX_CELLS = 8192
IVF_TRAIN_PER_CELL = 48  # k-means sample per cell (faiss wants >= 39)
IVF_TRAIN_ITERATIONS = 10  # k-means rounds (faiss default 25): cells good enough to route queries
IVF_PROBE_SHARE = 1 / 32  # cells scanned per query (at least IVF_MIN_PROBE)
IVF_MIN_PROBE = 32
RETRAIN_GROWTH = 4
KINDS = ("auto", "flat", "int8", "ivf")

MAGIC = b"OCVECv01"
_TRAILER = struct.Struct("<I8s")
FORMAT = 1


class VectorIndexCorrupt(OculaError):
    """The vector file is missing, cut short, damaged or out of date; call ``rebuild()``."""


def ids_stamp(ids: Iterable[int] | np.ndarray) -> str:
    """Order-independent stamp of a set of ids: ``"<count>:<hash>"``.

    The hash is the wrapping sum of splitmix64(id), so the SQLite side can compute it from its
    ids in one query result, and add/remove update it in O(batch)."""
    arr = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64).ravel()
    return f"{arr.size}:{_mix_sum(arr):016x}"


def _mix_sum(ids: np.ndarray) -> int:
    with np.errstate(over="ignore"):
        z = ids.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        return int(z.sum(dtype=np.uint64))


def _as_ids(ids: np.ndarray | Iterable[int]) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).ravel())


def _as_matrix(vectors: np.ndarray, dim: int, n: int | None = None) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or v.shape[1] != dim:
        raise InvalidArgument(f"vectors must have shape (n, {dim}), got {tuple(np.shape(vectors))}")
    if n is not None and v.shape[0] != n:
        raise InvalidArgument(f"{n} ids but {v.shape[0]} vectors")
    return np.ascontiguousarray(v)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first."""
    if k >= scores.size:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def _crc_file(path: Path, length: int) -> int:
    crc = 0
    with open(path, "rb") as fh:
        left = length
        while left > 0:
            chunk = fh.read(min(left, 8 << 20))
            if not chunk:
                break
            crc = zlib.crc32(chunk, crc)
            left -= len(chunk)
    return crc


def read_meta(path: Path) -> dict:
    """The trailer of a vector file; raises VectorIndexCorrupt when it is missing or damaged."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise VectorIndexCorrupt(f"{path} does not exist") from None
    if size < _TRAILER.size:
        raise VectorIndexCorrupt(f"{path} is cut short ({size} bytes)")
    with open(path, "rb") as fh:
        fh.seek(size - _TRAILER.size)
        meta_len, magic = _TRAILER.unpack(fh.read(_TRAILER.size))
        if magic != MAGIC or meta_len > size - _TRAILER.size:
            raise VectorIndexCorrupt(f"{path} is not a complete ocula vector file (cut short or overwritten)")
        fh.seek(size - _TRAILER.size - meta_len)
        raw = fh.read(meta_len)
    try:
        meta = json.loads(raw)
    except ValueError:
        raise VectorIndexCorrupt(f"{path}: damaged header") from None
    if meta.get("format") != FORMAT:
        raise VectorIndexCorrupt(f"{path}: format {meta.get('format')!r}, expected {FORMAT}")
    if meta.get("payload_bytes") != size - _TRAILER.size - meta_len:
        raise VectorIndexCorrupt(f"{path}: payload length does not match its header")
    return meta


class VectorIndex:
    """ids (int64) -> L2-normalised float32 vectors; cosine similarity search.

    ``stale`` is True when the file on disk was missing, damaged or did not match the expected
    stamp; ``problem`` then says why and the index starts empty until ``rebuild()``.
    """

    def __init__(self, path: Path | None, dim: int, kind: str = "auto", *, threads: int | None = None):
        if kind not in KINDS:
            raise InvalidArgument(f"unknown vector index kind {kind!r}; valid: {', '.join(KINDS)}")
        if dim <= 0:
            raise InvalidArgument(f"dim must be positive, got {dim}")
        self.path = Path(path) if path is not None else None
        self.dim = int(dim)
        self.auto = kind == "auto"
        self.kind = "flat" if kind == "auto" else kind
        self.threads = threads
        self.stale = False
        self.problem: str | None = None
        self._lock = threading.RLock()
        self._mix = 0  # running splitmix64 sum of the ids, for the stamp
        # flat / int8 state: rows [0, _n) are live
        self._ids = np.empty(0, dtype=np.int64)
        self._x = np.empty((0, self.dim), dtype=np.float32)
        self._q8 = None  # int8 kind: faiss IndexScalarQuantizer, row i = self._x[i]
        self._n = 0
        self._order: np.ndarray | None = None  # argsort of live ids, built lazily
        self._ann: _Ivf | None = None

    # ---------------------------------------------------------------- info
    def __len__(self) -> int:
        with self._lock:
            return self._ann.count if self._ann is not None else self._n

    @property
    def stamp(self) -> str:
        """``ids_stamp`` of the ids held now (compare with the one kept in SQLite)."""
        return f"{len(self)}:{self._mix & 0xFFFFFFFFFFFFFFFF:016x}"

    def ids(self) -> np.ndarray:
        with self._lock:
            if self._ann is not None:
                return self._ann.keys.copy()
            return self._ids[: self._n].copy()

    def __repr__(self) -> str:
        return f"VectorIndex(kind={self.kind!r}, dim={self.dim}, count={len(self)}, path={str(self.path)!r})"

    def _threads(self) -> int:
        if self.threads:
            return self.threads
        from ..config import get_settings

        return get_settings().threads

    # ---------------------------------------------------------------- mutation
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace vectors (int64 ids, float32 (n, dim), L2-normalised by the caller)."""
        ids = _as_ids(ids)
        x = _as_matrix(vectors, self.dim, ids.size)
        if ids.size == 0:
            return
        if np.unique(ids).size != ids.size:
            # keep the last vector given for a repeated id
            _, last = np.unique(ids[::-1], return_index=True)
            keep = np.sort(ids.size - 1 - last)
            ids, x = ids[keep], x[keep]
        with self._lock:
            self.remove(ids)
            if self._ann is None and self.auto and self._n + ids.size >= ANN_THRESHOLD:
                self._to_ann()
            if self._ann is not None:
                self._ann.add(ids, x, self._threads())
            else:
                self._append(ids, x)
            self._mix += _mix_sum(ids)

    def _append(self, ids: np.ndarray, x: np.ndarray, own: bool = False) -> None:
        """Append rows; ``own``: the arrays are ours (read from the file) and may be adopted
        as they are, saving a copy of the whole matrix."""
        need = self._n + ids.size
        if own and self._n == 0:
            self._ids, self._x = ids, x
        elif need > self._ids.size:
            cap = max(need, int(self._ids.size * 1.5), 1024)
            nid = np.empty(cap, dtype=np.int64)
            nx = np.empty((cap, self.dim), dtype=np.float32)
            nid[: self._n] = self._ids[: self._n]
            nx[: self._n] = self._x[: self._n]
            self._ids, self._x = nid, nx
        if not (own and self._n == 0):
            self._ids[self._n : need] = ids
            self._x[self._n : need] = x
        if self.kind == "int8":
            if self._q8 is None:
                self._q8 = _new_int8(self.dim)
            self._q8.add(x)
        self._n = need
        self._order = None

    def remove(self, ids: np.ndarray) -> None:
        """Drop these ids (unknown ids are ignored)."""
        ids = np.unique(_as_ids(ids))
        if ids.size == 0:
            return
        with self._lock:
            if self._ann is not None:
                present = ids[self._ann.contains(ids)]
                if present.size:
                    self._ann.remove(present)
                    self._mix -= _mix_sum(present)
                return
            rows, found = self._rows_of(ids)
            rows = rows[found]
            if rows.size == 0:
                return
            self._mix -= _mix_sum(self._ids[rows])
            keep = np.ones(self._n, dtype=bool)
            keep[rows] = False
            n = int(keep.sum())
            self._ids[:n] = self._ids[: self._n][keep]
            self._x[:n] = self._x[: self._n][keep]
            if self._q8 is not None:
                faiss = _faiss()
                # faiss compacts the codes in order, as the mask does the rows
                self._q8.remove_ids(faiss.IDSelectorBatch(rows.astype(np.int64)))
            self._n = n
            self._order = None

    def rebuild(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace everything with these vectors (the authoritative copy from SQLite); ``save()``
        writes it."""
        ids = _as_ids(ids)
        x = _as_matrix(vectors, self.dim, ids.size)
        with self._lock:
            self._reset(ids.size)
            self.add(ids, x)
            self.stale = False
            self.problem = None

    def _reset(self, count: int) -> None:
        self._ids = np.empty(0, dtype=np.int64)
        self._x = np.empty((0, self.dim), dtype=np.float32)
        self._q8 = None
        self._n = 0
        self._order = None
        self._ann = None
        self._mix = 0
        if self.auto:
            self.kind = "ivf" if count >= ANN_THRESHOLD else "flat"
        if self.kind == "ivf":
            self._ann = _Ivf(self.dim)

    def _place(self, kind: str, ids: np.ndarray, x: np.ndarray, own: bool = False) -> None:
        self._reset(0)
        self.kind = kind
        if kind == "ivf":
            self._ann = _Ivf(self.dim)
            self._ann.add(ids, x, self._threads())
        else:
            self._ann = None
            self._append(ids, x, own=own)
        self._mix = _mix_sum(ids)

    def _to_ann(self) -> None:
        ids, x = self._ids[: self._n].copy(), self._x[: self._n].copy()
        self._ids = np.empty(0, dtype=np.int64)
        self._x = np.empty((0, self.dim), dtype=np.float32)
        self._q8 = None
        self._n = 0
        self._order = None
        self.kind = "ivf"
        self._ann = _Ivf(self.dim)
        if ids.size:
            self._ann.add(ids, x, self._threads())

    # ---------------------------------------------------------------- search
    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest ids and their cosine similarities, best first.

        ``allowed``: only these ids may be returned (the ids passing the SQL filters)."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.size != self.dim:
            raise InvalidArgument(f"query must have {self.dim} values, got {q.size}")
        if k <= 0:
            raise InvalidArgument(f"k must be positive, got {k}")
        with self._lock:
            if allowed is not None:
                allowed = _as_ids(allowed)
                # ids straight from ``SELECT id ... ORDER BY id`` skip the sort
                if allowed.size > 1 and not bool(np.all(allowed[1:] > allowed[:-1])):
                    allowed = np.unique(allowed)
                if allowed.size == 0:
                    return _empty()
            if self._ann is not None:
                return self._search_ann(q, k, allowed)
            if self._n == 0:
                return _empty()
            rows = None
            if allowed is not None:
                r, found = self._rows_of(allowed)
                rows = r[found]
                if rows.size == 0:
                    return _empty()
            if self.kind == "int8":
                return self._search_int8(q, k, rows)
            return self._search_flat(q, k, rows)

    def _search_flat(self, q: np.ndarray, k: int, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if rows is None:
            scores = self._x[: self._n] @ q
            top = _top(scores, k)
            return self._ids[top].copy(), scores[top].astype(np.float32)
        scores = self._x[rows] @ q
        top = _top(scores, k)
        return self._ids[rows[top]].copy(), scores[top].astype(np.float32)

    def _search_int8(self, q: np.ndarray, k: int, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        faiss = _faiss(1)
        want = min(self._n if rows is None else rows.size, max(k * RERANK, 64))
        params = keep = None
        if rows is not None:
            sel, keep = _selector(faiss, np.sort(rows))
            params = faiss.SearchParameters(sel=sel)
        _, cand = self._q8.search(q[None, :], want, params=params)
        del keep
        cand = cand[0][cand[0] >= 0]
        exact = self._x[cand] @ q
        top = _top(exact, k)
        return self._ids[cand[top]].copy(), exact[top].astype(np.float32)

    def _search_ann(self, q: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        ann = self._ann
        n = ann.count
        if n == 0:
            return _empty()
        if allowed is None:
            return ann.search(q, min(k, n))
        if allowed.size <= SUBSET_EXACT_MAX:
            present = allowed[ann.contains(allowed)]
            return self._exact_subset(q, k, present) if present.size else _empty()
        # allowed may name ids the index lacks: then the share is smaller than it looks, and a
        # short answer falls back to scanning every cell (exact over the allowed ids)
        got = ann.search(q, k, allowed=allowed, widen=n / allowed.size)
        if got[0].size < k:
            got = ann.search(q, k, allowed=allowed, widen=float(ann.cells))
        return got

    def _exact_subset(self, q: np.ndarray, k: int, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self._ann.get(ids)
        scores = x @ q
        top = _top(scores, k)
        return ids[top].copy(), scores[top].astype(np.float32)

    def _rows_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``ids`` in the flat matrix and whether each was found."""
        live = self._ids[: self._n]
        if self._order is None:
            self._order = np.argsort(live, kind="stable")
        if live.size == 0:
            return np.zeros(ids.size, dtype=np.int64), np.zeros(ids.size, dtype=bool)
        sorted_ids = live[self._order]
        pos = np.searchsorted(sorted_ids, ids)
        pos_c = np.minimum(pos, live.size - 1)
        found = sorted_ids[pos_c] == ids
        return self._order[pos_c], found

    # ---------------------------------------------------------------- persistence
    def save(self) -> None:
        """Write the index to ``path`` atomically (temp file, fsync, rename)."""
        if self.path is None:
            raise InvalidArgument("this vector index has no path to save to")
        from ..output import replacing

        with self._lock, replacing(self.path) as tmp:
            if self._ann is not None:
                self._ann.save(tmp)
                payload = tmp.stat().st_size
                crc = _crc_file(tmp, payload)
                extra = {"cells": self._ann.cells, "trained_on": self._ann.trained_on}
            else:
                crc = 0
                with open(tmp, "wb") as fh:
                    for part in (self._ids[: self._n], self._x[: self._n]):
                        buf = memoryview(np.ascontiguousarray(part)).cast("B")
                        crc = zlib.crc32(buf, crc)
                        fh.write(buf)
                payload = tmp.stat().st_size
                extra = {}
            meta = {"format": FORMAT, "kind": self.kind, "auto": self.auto, "dim": self.dim,
                    "count": len(self), "stamp": self.stamp, "payload_bytes": payload, "crc32": crc, **extra}
            raw = json.dumps(meta, sort_keys=True).encode()
            with open(tmp, "ab") as fh:
                fh.write(raw)
                fh.write(_TRAILER.pack(len(raw), MAGIC))

    def _load(self, verify: bool) -> None:
        path = self.path
        meta = read_meta(path)
        if meta.get("dim") != self.dim:
            raise VectorIndexCorrupt(f"{path} holds {meta.get('dim')}-d vectors, expected {self.dim}")
        count, payload = int(meta["count"]), int(meta["payload_bytes"])
        if verify and _crc_file(path, payload) != meta.get("crc32"):
            raise VectorIndexCorrupt(f"{path}: checksum mismatch (damaged file)")
        kind = meta["kind"]
        want = self.kind if not self.auto else ("ivf" if count >= ANN_THRESHOLD else kind)
        if kind == "ivf":
            ann = _Ivf.restore(path, self.dim, int(meta.get("trained_on") or count))
            if ann.count != count:
                raise VectorIndexCorrupt(f"{path}: the IVF index does not match its header")
            ids = ann.keys
            if want == "ivf":
                self._reset(0)
                self.kind, self._ann, self._mix = "ivf", ann, _mix_sum(ids)
            else:
                self._place(want, ids.copy(), ann.get(ids), own=True)
        else:
            if payload != count * 8 + count * self.dim * 4:
                raise VectorIndexCorrupt(f"{path}: payload size does not match {count} vectors")
            with open(path, "rb") as fh:
                ids = np.fromfile(fh, dtype=np.int64, count=count)
                x = np.fromfile(fh, dtype=np.float32, count=count * self.dim).reshape(count, self.dim)
            if ids.size != count or x.shape[0] != count:
                raise VectorIndexCorrupt(f"{path}: cut short")
            self._place(want, ids, x, own=True)
        if self.stamp != meta.get("stamp"):
            raise VectorIndexCorrupt(f"{path}: ids do not match the stamp in its header")


def _faiss(threads: int | None = None):
    try:
        import faiss
    except ImportError:  # pragma: no cover - faiss-cpu is a dependency
        from ..errors import MissingDependency

        raise MissingDependency("faiss-cpu", "pip install faiss-cpu") from None
    if threads:
        faiss.omp_set_num_threads(threads)
    return faiss


def _selector(faiss, allowed: np.ndarray):
    """A faiss id filter for sorted ``allowed`` ids, and the buffer it points into (keep it
    alive while searching). A bitmap when the ids are small (SQLite rowids, row numbers): one
    bit test per scanned vector."""
    if allowed.size and allowed[0] >= 0 and allowed[-1] < (1 << 31):
        bits = np.zeros(int(allowed[-1]) + 1, dtype=bool)
        bits[allowed] = True
        bitmap = np.packbits(bits, bitorder="little")
        return faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap)), bitmap  # n = bytes
    return faiss.IDSelectorBatch(allowed), allowed


def _new_int8(dim: int):
    faiss = _faiss()
    index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit_uniform, faiss.METRIC_INNER_PRODUCT)
    index.train(np.stack([-np.ones(dim, dtype=np.float32), np.ones(dim, dtype=np.float32)]))
    return index


class _Ivf:
    """faiss IndexIVFFlat keyed by int64 ids, with a sorted copy of the ids (membership, stamp)
    and a hashtable direct map (vectors by id, for exact scans of a filtered subset)."""

    def __init__(self, dim: int):
        self.dim = dim
        self.index = None  # trained lazily, on the first add
        self.keys = np.empty(0, dtype=np.int64)  # sorted
        self.trained_on = 0

    @property
    def count(self) -> int:
        return int(self.keys.size)

    @property
    def cells(self) -> int:
        return int(self.index.nlist) if self.index is not None else 0

    @staticmethod
    def _faiss(threads: int | None = None):
        return _faiss(threads)

    def contains(self, ids: np.ndarray) -> np.ndarray:
        if self.keys.size == 0:
            return np.zeros(ids.size, dtype=bool)
        pos = np.minimum(np.searchsorted(self.keys, ids), self.keys.size - 1)
        return self.keys[pos] == ids

    def _train(self, x: np.ndarray, threads: int) -> None:
        faiss = self._faiss(threads)
        n = x.shape[0]
        cells = int(max(1, min(IVF_MAX_CELLS, IVF_CELLS_PER_SQRT * math.sqrt(n), n // 39)))
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, cells, faiss.METRIC_INNER_PRODUCT)
        sample = x
        if n > cells * IVF_TRAIN_PER_CELL:
            rng = np.random.default_rng(n)  # reproducible cells for the same collection size
            sample = x[np.sort(rng.choice(n, cells * IVF_TRAIN_PER_CELL, replace=False))]
        index.cp.verbose = False
        index.cp.niter = IVF_TRAIN_ITERATIONS
        index.train(np.ascontiguousarray(sample))
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        index.nprobe = max(IVF_MIN_PROBE, int(cells * IVF_PROBE_SHARE))
        index.nprobe = min(index.nprobe, cells)
        self.index = index
        self.trained_on = n

    def add(self, ids: np.ndarray, x: np.ndarray, threads: int) -> None:
        if self.index is None or self.count + ids.size > RETRAIN_GROWTH * max(self.trained_on, 1):
            # (re)train on everything: the cells must follow the collection as it grows
            old = self.keys
            allx = np.concatenate([self.get(old), x]) if old.size else x
            allids = np.concatenate([old, ids])
            self.index = None
            self._train(allx, threads)
            self._faiss(threads)
            self.index.add_with_ids(allx, allids)
            self.keys = np.sort(allids)
            return
        self._faiss(threads)
        self.index.add_with_ids(x, ids)
        new = np.sort(ids)
        self.keys = np.insert(self.keys, np.searchsorted(self.keys, new), new)

    def remove(self, ids: np.ndarray) -> None:
        faiss = self._faiss()
        self.index.remove_ids(faiss.IDSelectorArray(np.ascontiguousarray(ids, dtype=np.int64)))
        self.keys = self.keys[~np.isin(self.keys, ids, assume_unique=True)]

    def get(self, ids: np.ndarray) -> np.ndarray:
        if ids.size == 0:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.asarray(self.index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64)),
                          dtype=np.float32).reshape(ids.size, self.dim)

    def search(self, q: np.ndarray, k: int, allowed: np.ndarray | None = None,
               widen: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        faiss = self._faiss(1)  # one query: scanning a few cells is faster than waking threads
        params = keep = None
        if allowed is not None:
            nprobe = min(self.index.nlist, int(math.ceil(self.index.nprobe * widen)))
            sel, keep = _selector(faiss, allowed)
            params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
        sims, ids = self.index.search(q[None, :], k, params=params)
        del keep
        ok = ids[0] >= 0
        return ids[0][ok].astype(np.int64), sims[0][ok].astype(np.float32)

    def save(self, path: Path) -> None:
        faiss = self._faiss()
        if self.index is None:  # nothing added yet: an untrained stub keeps the format uniform
            self._train(np.eye(1, self.dim, dtype=np.float32), 1)
            self.trained_on = 0
        faiss.write_index(self.index, str(path))

    @classmethod
    def restore(cls, path: Path, dim: int, trained_on: int) -> "_Ivf":
        faiss = cls._faiss()
        # faiss reads its own stream and stops, so the trailer after it is harmless
        index = faiss.read_index(str(path))
        if index.d != dim or not isinstance(index, faiss.IndexIVFFlat):
            raise VectorIndexCorrupt(f"{path}: not a {dim}-d IVF index")
        self = cls(dim)
        inv = index.invlists
        parts = [faiss.rev_swig_ptr(inv.get_ids(i), inv.list_size(i)).copy()
                 for i in range(index.nlist) if inv.list_size(i)]
        self.keys = np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
        if self.keys.size:
            self.index = index
            if index.direct_map.type != faiss.DirectMap.Hashtable:
                index.set_direct_map_type(faiss.DirectMap.Hashtable)
        self.trained_on = trained_on
        return self


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)


def open_vectors(path: Path | str | None, dim: int, *, count: int | None = None, kind: str = "auto",
                 stamp: str | None = None, verify: bool = True, strict: bool = False,
                 threads: int | None = None) -> VectorIndex:
    """Open (or start) the vector index stored at ``path`` (e.g. ``<db>.image.vec``).

    ``count``: how many vectors the caller expects — picks the kind for ``auto`` when the file
    is new, and a file holding another count is stale. ``stamp``: the ``ids_stamp`` kept in
    SQLite; a file with another stamp is stale. A missing, damaged or stale file gives an empty
    index with ``stale=True`` and ``problem`` set (or raises VectorIndexCorrupt when ``strict``);
    the caller then calls ``rebuild(ids, vectors)`` with its authoritative copy.
    ``verify``: CRC32 the whole file on open (~1 s per 1.5 GB)."""
    if kind not in KINDS:
        raise InvalidArgument(f"unknown vector index kind {kind!r}; valid: {', '.join(KINDS)}")
    index = VectorIndex(Path(path) if path is not None else None, dim, kind, threads=threads)
    index._reset(count or 0)
    if index.path is None:
        return index
    if not index.path.exists():
        if count or stamp and not stamp.startswith("0:"):
            index.stale, index.problem = True, f"{index.path} does not exist"
            if strict:
                raise VectorIndexCorrupt(index.problem)
        return index
    try:
        index._load(verify)
        if count is not None and len(index) != count:
            raise VectorIndexCorrupt(f"{index.path} holds {len(index)} vectors, expected {count}")
        if stamp is not None and index.stamp != stamp:
            raise VectorIndexCorrupt(f"{index.path} is out of date (stamp {index.stamp}, expected {stamp})")
    except (VectorIndexCorrupt, RuntimeError, ValueError, OSError) as exc:
        if strict:
            raise exc if isinstance(exc, VectorIndexCorrupt) else VectorIndexCorrupt(f"{index.path}: {exc}") from exc
        index._reset(count or 0)
        index.stale, index.problem = True, str(exc)
    return index
