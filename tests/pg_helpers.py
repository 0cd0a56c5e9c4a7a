"""A real PostgreSQL 16 + pgvector for the tests, started the way users start one
(``ocula db start``: the pgserver wheel), listening on a Unix socket in a temp folder. Each test
gets its own database. Skipped (locally) when the scale extra is not installed; CI installs it."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Callable, Iterator

import pytest

_counter = itertools.count()


@contextmanager
def local_server() -> Iterator[str]:
    """A local server in a fresh folder (not under pytest's tmp root, which pytest makes 0700
    again when another run starts: the server's own user must reach its folder)."""
    pytest.importorskip("pgserver", reason="the scale extra is not installed (pip install 'ocula[scale]')")
    pytest.importorskip("psycopg", reason="the scale extra is not installed (pip install 'ocula[scale]')")
    from ocula.index.postgres import start_server, stop_server

    folder = tempfile.mkdtemp(prefix="ocula-pg-")
    try:
        start_server(folder, "ocula")
        yield folder
    finally:
        stop_server(folder)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The folder of a running local server (stopped at the end of the session)."""
    with local_server() as folder:
        yield folder


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
