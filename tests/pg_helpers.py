"""A real PostgreSQL 16 + pgvector for the tests, started the way users start one
(``ocula db start``: the pgserver wheel), listening on a Unix socket in a temp folder. Each test
gets its own database. Skipped (locally) when the scale extra is not installed; CI installs it."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Callable, Iterator

import pytest

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory) -> Iterator[str]:
    """The folder of a running local server (stopped at the end of the session)."""
    pytest.importorskip("pgserver", reason="the scale extra is not installed (pip install 'ocula[scale]')")
    pytest.importorskip("psycopg", reason="the scale extra is not installed (pip install 'ocula[scale]')")
    from ocula.index.postgres import start_server, stop_server

    # a short path: a Unix socket path must stay under ~100 bytes
    folder = Path(os.environ.get("OCULA_TEST_PG_DIR") or tmp_path_factory.mktemp("pg"))
    start_server(str(folder), "ocula")
    yield str(folder)
    stop_server(str(folder))


@pytest.fixture
def new_db(pg_server) -> Callable[[], str]:
    """Make a fresh, empty database on the server; returns its URL."""
    from ocula.index.postgres import start_server

    def make() -> str:
        return start_server(pg_server, f"t{os.getpid()}_{next(_counter)}")
    return make


@pytest.fixture
def pg_url(new_db) -> str:
    return new_db()


def db_for(kind: str, tmp_path: Path, new_db: Callable[[], str] | None) -> str:
    """A fresh index location of the given kind: a SQLite file or a PostgreSQL URL."""
    if kind == "sqlite":
        return str(tmp_path / f"index{next(_counter)}.db")
    assert new_db is not None
    return new_db()
