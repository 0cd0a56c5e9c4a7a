"""The vector files beside a SQLite index (``<db>.<kind>.vec``, see ``index/vectors.py``).

They are derived data: SQLite holds every vector. Each file is stamped, in the db's ``meta``
table, with the generation of the db it was saved at (``vectors.<kind>.saved`` against
``vectors.<kind>.gen``, which every transaction that changes vectors bumps). A file that is
missing, damaged or saved at another generation (a crash between a commit and the save) is
rebuilt from SQLite the next time it is opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .base import VECTOR_KINDS
from .vectors import VectorIndex, open_vectors

if TYPE_CHECKING:
    from .store import Store

# (db, kind) -> (generation, count, index): a process that searches again (the Python API,
# the server) reuses the loaded vectors until an index run changes the db's generation
_OPEN: dict[tuple[str, str], tuple[str, int, VectorIndex]] = {}


def vector_path(db: Path, kind: str) -> Path:
    return Path(f"{db}.{kind}.vec")


def forget_loaded() -> None:
    """Drop the vector indexes this process holds (as a new process would start)."""
    _OPEN.clear()


def in_sync(store: "Store", kind: str) -> bool:
    return store.get_meta(f"vectors.{kind}.saved") == store.get_meta(f"vectors.{kind}.gen", "0")


def _mark_saved(store: "Store", kind: str) -> None:
    with store.transaction():
        store.set_meta(f"vectors.{kind}.saved", store.get_meta(f"vectors.{kind}.gen", "0"))


def _rebuild(store: "Store", vi: VectorIndex, kind: str) -> None:
    ids, mat, _ = store.vectors(kind)
    vi.rebuild(ids, mat)
    vi.save()
    _mark_saved(store, kind)


def open_index(store: "Store", kind: str) -> VectorIndex | None:
    """The vector index of ``kind`` for this db, rebuilt from SQLite when the file is missing,
    damaged, or was saved at another generation of the db. None when there are no such vectors."""
    count, dim = store.vector_state(kind)
    if not count:
        return None
    gen = store.get_meta(f"vectors.{kind}.gen", "0")
    key = (str(store.path.resolve()), kind)
    hit = _OPEN.get(key)
    if hit is not None and hit[0] == gen and hit[1] == count and in_sync(store, kind):
        return hit[2]
    vi = open_vectors(vector_path(store.path, kind), dim, count=count, verify=False)
    if vi.stale or not in_sync(store, kind) or len(vi) != count or vi.dim != dim:
        _rebuild(store, vi, kind)
    _OPEN[key] = (gen, count, vi)
    return vi


def sync(store: "Store", was_in_sync: dict[str, bool]) -> None:
    """Bring the vector files up to date after a run: patch them with what this connection
    changed when they were in sync at its start, else rebuild them from SQLite."""
    for kind in VECTOR_KINDS:
        count, dim = store.vector_state(kind)
        path = vector_path(store.path, kind)
        if not count:
            path.unlink(missing_ok=True)
            _mark_saved(store, kind)
            continue
        if was_in_sync.get(kind) and path.exists():
            vi = open_vectors(path, dim, count=None, verify=True)
            if not vi.stale and vi.dim == dim:
                changed = store.touched.get(kind, set()) | store.touched.get("*", set())
                vi.remove(np.array(sorted(store.removed | changed), dtype=np.int64))
                ids, mat, _ = store.vectors(kind, changed)
                if len(ids):
                    vi.add(ids, mat)
                if len(vi) == count:
                    vi.save()
                    _mark_saved(store, kind)
                    continue
        _rebuild(store, open_vectors(path, dim, count=count, verify=False), kind)
