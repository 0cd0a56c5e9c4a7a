"""Vector indexes for search: exact numpy scans for small collections, an HNSW graph (usearch)
above a threshold. One file per index, beside the SQLite database, written atomically.

Kinds:
- ``flat``: float32 matrix, exact scan (``X @ q``). Memory-bound: ~1 ms per 10k 384-d vectors.
- ``int8``: int8 copy of the matrix in RAM (4x smaller), scanned for ``RERANK * k`` candidates
  that are re-scored exactly from the float32 rows (read from the file's page cache).
- ``hnsw``: usearch HNSW graph over float32 vectors, inner product on L2-normalised vectors.
  Chosen over hnswlib (no wheel for Python 3.11: builds from source, unmaintained) and faiss-cpu
  (HNSW cannot remove ids) — see bench/search.py for the measurements.

``auto`` picks ``flat`` below ``ANN_THRESHOLD`` vectors and ``hnsw`` from there on, and an
``auto`` flat index turns itself into HNSW when ``add`` crosses the threshold.

File layout: ``payload | meta JSON | u32 meta length | MAGIC``. The trailer goes last so that a
file cut short anywhere is detected at once (no magic), and the HNSW payload is the library's own
stream, written straight to the temp file. The meta holds kind, dim, count, the ids stamp,
payload length and CRC32, so a truncated, bit-flipped or stale file is found on open; the
caller then calls ``rebuild()`` from the authoritative copy in SQLite.
"""

from __future__ import annotations

import json
import math
import os
import struct
import threading
import zlib
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import InvalidArgument, OculaError

# Brute force over 100k 384-d float32 vectors reads 150 MB per query (~10 ms on 2 cores); above
# that the HNSW graph answers in ~1 ms at recall@10 >= 0.95 (bench/search.py).
ANN_THRESHOLD = 100_000
# With an ``allowed`` filter, the HNSW index scans the allowed subset exactly when it is this
# small (or a small share of the index), and otherwise oversamples and filters.
SUBSET_EXACT_MAX = 20_000
RERANK = 8  # int8 kind: candidates re-scored in float32 per wanted result
HNSW_CONNECTIVITY = 16
HNSW_EXPANSION_ADD = 128
HNSW_EXPANSION_SEARCH = 96
KINDS = ("auto", "flat", "int8", "hnsw")

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


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
        self._q8: np.ndarray | None = None  # int8 rows
        self._q8_scale: np.ndarray | None = None  # per-row dequantisation scale
        self._n = 0
        self._order: np.ndarray | None = None  # argsort of live ids, built lazily
        self._hnsw = None  # usearch Index

    # ---------------------------------------------------------------- info
    def __len__(self) -> int:
        with self._lock:
            return len(self._hnsw) if self._hnsw is not None else self._n

    @property
    def stamp(self) -> str:
        """``ids_stamp`` of the ids held now (compare with the one kept in SQLite)."""
        return f"{len(self)}:{self._mix & 0xFFFFFFFFFFFFFFFF:016x}"

    def ids(self) -> np.ndarray:
        with self._lock:
            if self._hnsw is not None:
                return np.asarray(self._hnsw.keys, dtype=np.int64).copy()
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
            if self._hnsw is None and self.auto and self._n + ids.size >= ANN_THRESHOLD:
                self._to_hnsw()
            if self._hnsw is not None:
                self._hnsw.add(ids, x, threads=self._threads())
            else:
                self._append(ids, x)
            self._mix += _mix_sum(ids)

    def _append(self, ids: np.ndarray, x: np.ndarray) -> None:
        need = self._n + ids.size
        if need > self._ids.size:
            cap = max(need, int(self._ids.size * 1.5), 1024)
            nid = np.empty(cap, dtype=np.int64)
            nx = np.empty((cap, self.dim), dtype=np.float32)
            nid[: self._n] = self._ids[: self._n]
            nx[: self._n] = self._x[: self._n]
            self._ids, self._x = nid, nx
        self._ids[self._n : need] = ids
        self._x[self._n : need] = x
        if self.kind == "int8":
            if self._q8 is None or self._q8.shape[0] < self._ids.size:
                nq = np.empty((self._ids.size, self.dim), dtype=np.int8)
                ns = np.empty(self._ids.size, dtype=np.float32)
                if self._q8 is not None:
                    nq[: self._n] = self._q8[: self._n]
                    ns[: self._n] = self._q8_scale[: self._n]
                self._q8, self._q8_scale = nq, ns
            self._q8[self._n : need], self._q8_scale[self._n : need] = _quantise(x)
        self._n = need
        self._order = None

    def remove(self, ids: np.ndarray) -> None:
        """Drop these ids (unknown ids are ignored)."""
        ids = np.unique(_as_ids(ids))
        if ids.size == 0:
            return
        with self._lock:
            if self._hnsw is not None:
                present = ids[np.asarray(self._hnsw.contains(ids), dtype=bool).reshape(-1)]
                if present.size:
                    self._hnsw.remove(present)
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
                self._q8[:n] = self._q8[: self._n][keep]
                self._q8_scale[:n] = self._q8_scale[: self._n][keep]
            self._n = n
            self._order = None

    def rebuild(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace everything with these vectors (the authoritative copy from SQLite) and save."""
        ids = _as_ids(ids)
        x = _as_matrix(vectors, self.dim, ids.size)
        with self._lock:
            self._reset(ids.size)
            self.add(ids, x)
            self.stale = False
            self.problem = None
            if self.path is not None:
                self.save()

    def _reset(self, count: int) -> None:
        self._ids = np.empty(0, dtype=np.int64)
        self._x = np.empty((0, self.dim), dtype=np.float32)
        self._q8 = self._q8_scale = None
        self._n = 0
        self._order = None
        self._hnsw = None
        self._mix = 0
        if self.auto:
            self.kind = "hnsw" if count >= ANN_THRESHOLD else "flat"
        if self.kind == "hnsw":
            self._hnsw = _new_hnsw(self.dim)

    def _place(self, kind: str, ids: np.ndarray, x: np.ndarray) -> None:
        self._reset(0)
        self.kind = kind
        if kind == "hnsw":
            self._hnsw = _new_hnsw(self.dim)
            self._hnsw.add(ids, x, threads=self._threads())
        else:
            self._hnsw = None
            self._append(ids, x)
        self._mix = _mix_sum(ids)

    def _to_hnsw(self) -> None:
        ids, x = self._ids[: self._n].copy(), self._x[: self._n].copy()
        self._ids = np.empty(0, dtype=np.int64)
        self._x = np.empty((0, self.dim), dtype=np.float32)
        self._q8 = self._q8_scale = None
        self._n = 0
        self._order = None
        self.kind = "hnsw"
        self._hnsw = _new_hnsw(self.dim)
        if ids.size:
            self._hnsw.add(ids, x, threads=self._threads())

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
                allowed = np.unique(_as_ids(allowed))
                if allowed.size == 0:
                    return _empty()
            if self._hnsw is not None:
                return self._search_hnsw(q, k, allowed)
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
        q8 = self._q8[: self._n] if rows is None else self._q8[rows]
        scale = self._q8_scale[: self._n] if rows is None else self._q8_scale[rows]
        # float32 x int8 products in blocks: a block's int8 -> float32 copy stays in cache
        approx = np.empty(q8.shape[0], dtype=np.float32)
        step = 16384
        for i in range(0, q8.shape[0], step):
            approx[i : i + step] = q8[i : i + step].astype(np.float32) @ q
        approx *= scale
        cand = _top(approx, min(approx.size, max(k * RERANK, 64)))
        cand_rows = cand if rows is None else rows[cand]
        exact = self._x[cand_rows] @ q
        top = _top(exact, k)
        return self._ids[cand_rows[top]].copy(), exact[top].astype(np.float32)

    def _search_hnsw(self, q: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        h = self._hnsw
        n = len(h)
        if n == 0:
            return _empty()
        if allowed is None:
            m = h.search(q, min(k, n), threads=1)
            return _from_matches(m)
        present = allowed[np.asarray(h.contains(allowed), dtype=bool).reshape(-1)]
        if present.size == 0:
            return _empty()
        if present.size <= SUBSET_EXACT_MAX or present.size * 10 <= n:
            return self._exact_subset(q, k, present)
        # A large allowed share: oversample the graph by 1/share, widen until k survive.
        want = min(n, int(math.ceil(k * n / present.size * 2)) + k)
        while True:
            m = h.search(q, want, threads=1)
            keys = np.asarray(m.keys, dtype=np.int64)
            dist = np.asarray(m.distances, dtype=np.float32)
            pos = np.searchsorted(present, keys)
            ok = (pos < present.size) & (present[np.minimum(pos, present.size - 1)] == keys)
            if int(ok.sum()) >= min(k, present.size) or want >= n:
                keys, dist = keys[ok][:k], dist[ok][:k]
                return keys, (1.0 - dist).astype(np.float32)
            if want * 4 >= n:
                return self._exact_subset(q, k, present)
            want *= 4

    def _exact_subset(self, q: np.ndarray, k: int, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(self._hnsw.get(ids), dtype=np.float32).reshape(ids.size, self.dim)
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
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                if self._hnsw is not None:
                    self._hnsw.save(str(tmp))
                    payload = tmp.stat().st_size
                    crc = _crc_file(tmp, payload)
                    extra = {"connectivity": HNSW_CONNECTIVITY, "expansion_add": HNSW_EXPANSION_ADD}
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
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
                _fsync_dir(self.path.parent)
            finally:
                if tmp.exists():
                    tmp.unlink()

    def _load(self, verify: bool) -> None:
        path = self.path
        meta = read_meta(path)
        if meta.get("dim") != self.dim:
            raise VectorIndexCorrupt(f"{path} holds {meta.get('dim')}-d vectors, expected {self.dim}")
        count, payload = int(meta["count"]), int(meta["payload_bytes"])
        if verify and _crc_file(path, payload) != meta.get("crc32"):
            raise VectorIndexCorrupt(f"{path}: checksum mismatch (damaged file)")
        kind = meta["kind"]
        want = self.kind if not self.auto else ("hnsw" if count >= ANN_THRESHOLD else kind)
        if kind == "hnsw":
            from usearch.index import Index

            # usearch reads its own header and stops there, so the trailer after it is harmless.
            h = Index.restore(str(path))
            if h is None or len(h) != count or h.ndim != self.dim:
                raise VectorIndexCorrupt(f"{path}: the HNSW graph does not match its header")
            ids = np.asarray(h.keys, dtype=np.int64)
            if want == "hnsw":
                h.expansion_search = HNSW_EXPANSION_SEARCH
                self._reset(0)
                self.kind, self._hnsw, self._mix = "hnsw", h, _mix_sum(ids)
            else:
                x = np.asarray(h.get(ids), dtype=np.float32).reshape(ids.size, self.dim)
                self._place(want, ids, x)
        else:
            if payload != count * 8 + count * self.dim * 4:
                raise VectorIndexCorrupt(f"{path}: payload size does not match {count} vectors")
            with open(path, "rb") as fh:
                ids = np.fromfile(fh, dtype=np.int64, count=count)
                x = np.fromfile(fh, dtype=np.float32, count=count * self.dim).reshape(count, self.dim)
            if ids.size != count or x.shape[0] != count:
                raise VectorIndexCorrupt(f"{path}: cut short")
            self._place(want, ids, x)
        if self.stamp != meta.get("stamp"):
            raise VectorIndexCorrupt(f"{path}: ids do not match the stamp in its header")


def _quantise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8: x ~= q * scale."""
    peak = np.abs(x).max(axis=1)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(x / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def _new_hnsw(dim: int):
    try:
        from usearch.index import Index
    except ImportError:  # pragma: no cover - usearch is a dependency
        from ..errors import MissingDependency

        raise MissingDependency("usearch", "pip install usearch") from None
    return Index(ndim=dim, metric="ip", dtype="f32", connectivity=HNSW_CONNECTIVITY,
                 expansion_add=HNSW_EXPANSION_ADD, expansion_search=HNSW_EXPANSION_SEARCH)


def _from_matches(m) -> tuple[np.ndarray, np.ndarray]:
    keys = np.asarray(m.keys, dtype=np.int64).reshape(-1)
    dist = np.asarray(m.distances, dtype=np.float32).reshape(-1)
    return keys, (1.0 - dist).astype(np.float32)


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
