"""Storage of the search index: every byte of SQL and every vector file lives in this package.

- ``base.py``: the interface (``IndexStore``) that the index, search and dupes tasks use, and
  the shapes it trades in (``Known``, ``Filters``, ``HitRow``, ``DupeRow``);
- ``store.py``: the SQLite implementation (WAL, numbered migrations, FTS5);
- ``vectorfiles.py`` / ``vectors.py``: the vector files beside a SQLite index (numpy, faiss);
- ``walk.py``: folders -> image files with their stat; ``phash.py``: the perceptual hash.

``open_store`` is the one way in. The ``Index`` object of the Python API (``ocula.Index``)
lives above the tasks, in ``ocula/facade.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import IndexStore

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["IndexStore", "open_store", "default_db", "location"]


def default_db(settings: "Settings | None" = None) -> Path:
    from ..config import get_settings

    return (settings or get_settings()).home / "index.db"


def location(db: str | os.PathLike | None, settings: "Settings | None" = None) -> Path:
    """Where an index is: the given file, else OCULA_HOME/index.db."""
    return Path(db).expanduser() if db else default_db(settings)


def open_store(db: str | os.PathLike | None = None, *, create: bool = False,
               settings: "Settings | None" = None) -> IndexStore:
    """The index at ``db`` (default: OCULA_HOME/index.db). ``create``: make it when it does not
    exist (indexing); otherwise a missing index is an error that says how to make one."""
    from .store import Store

    return Store(location(db, settings), readonly=not create)


def __getattr__(name: str) -> Any:
    # ocula.index.Index was the façade's old home; it now sits above the tasks it calls
    if name == "Index":
        import warnings

        warnings.warn("ocula.index.Index moved: use ocula.Index", DeprecationWarning, stacklevel=2)
        from .. import Index

        return Index
    raise AttributeError(f"module 'ocula.index' has no attribute {name!r}")
