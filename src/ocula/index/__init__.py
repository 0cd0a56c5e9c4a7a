"""Storage of the search index: every byte of SQL and every vector file lives in this package.

- ``base.py``: the interface (``IndexStore``) that the index, search and dupes tasks use, and
  the shapes it trades in (``Known``, ``Filters``, ``HitRow``, ``DupeRow``);
- ``store.py``: the SQLite implementation (WAL, numbered migrations, FTS5);
- ``postgres.py``: the PostgreSQL + pgvector implementation, for a ``postgresql://`` URL (an
  index many machines share), and ``ocula db start``'s local server;
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

__all__ = ["IndexStore", "open_store", "default_db", "location", "is_url", "exists"]
_URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(db: object) -> bool:
    """Whether ``db`` names a database server (postgresql://...) rather than a file."""
    return isinstance(db, str) and db.strip().lower().startswith(_URL_SCHEMES)


def default_db(settings: "Settings | None" = None) -> Path | str:
    """OCULA_DB (a file or a postgresql:// URL) when set, else OCULA_HOME/index.db."""
    from ..config import get_settings

    settings = settings or get_settings()
    if settings.db:
        return settings.db if is_url(settings.db) else Path(settings.db).expanduser()
    return settings.home / "index.db"


def location(db: str | os.PathLike | None, settings: "Settings | None" = None) -> Path | str:
    """Where an index is: the given file or URL, else the default (``default_db``)."""
    if db and is_url(os.fspath(db)):
        return os.fspath(db).strip()
    return Path(db).expanduser() if db else default_db(settings)


def exists(db: str | os.PathLike | None, settings: "Settings | None" = None) -> bool:
    """Whether an index is there: its file exists, or the database server holds one (a server
    that cannot be reached says so with an error)."""
    where = location(db, settings)
    if isinstance(where, Path):
        return where.exists()
    from ..errors import InvalidArgument

    try:
        open_store(where, settings=settings).close()
    except InvalidArgument:
        return False
    return True


def open_store(db: str | os.PathLike | None = None, *, create: bool = False,
               settings: "Settings | None" = None) -> IndexStore:
    """The index at ``db``: a SQLite file, or a PostgreSQL database for a postgresql:// URL
    (default: OCULA_DB, else OCULA_HOME/index.db). ``create``: make it when it does not exist
    (indexing); otherwise a missing index is an error that says how to make one."""
    where = location(db, settings)
    if isinstance(where, str):
        from .postgres import PostgresStore

        return PostgresStore(where, readonly=not create)
    from .store import Store

    return Store(where, readonly=not create)


def __getattr__(name: str) -> Any:
    # ocula.index.Index was the façade's old home; it now sits above the tasks it calls
    if name == "Index":
        import warnings

        warnings.warn("ocula.index.Index moved: use ocula.Index", DeprecationWarning, stacklevel=2)
        from .. import Index

        return Index
    raise AttributeError(f"module 'ocula.index' has no attribute {name!r}")
