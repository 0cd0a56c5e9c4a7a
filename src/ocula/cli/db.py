"""`ocula db`: a local PostgreSQL with pgvector for trying a shared index on one machine."""

from __future__ import annotations

from typing import Optional

import typer

from .common import err, fail, out

app = typer.Typer(help="A local PostgreSQL + pgvector index server (for one machine; real deployments "
                       "point --db at their own PostgreSQL >= 14 with pgvector).", no_args_is_help=True)


def _folder(folder: Optional[str]) -> str:
    from ..config import get_settings

    return folder or str(get_settings().home / "postgres")


@app.command("start")
def start(
    folder: Optional[str] = typer.Argument(None, help="Where its data lives (default: OCULA_HOME/postgres).",
                                           show_default=False),
    database: str = typer.Option("ocula", "--database", help="Database to create for the index."),
) -> None:
    """Start PostgreSQL 16 with pgvector (the pgserver wheel) and print the index URL.

    It listens on a Unix socket inside FOLDER and keeps running until `ocula db stop`."""
    from ..errors import OculaError
    from ..index.postgres import start_server

    try:
        url = start_server(_folder(folder), database)
    except OculaError as e:
        fail(str(e))
    err.print(f"PostgreSQL with pgvector runs; use it with --db or OCULA_DB (stop it: ocula db stop "
              f"{_folder(folder)})")
    out.print(url, markup=False, highlight=False)


@app.command("stop")
def stop(
    folder: Optional[str] = typer.Argument(None, help="Its data folder (default: OCULA_HOME/postgres).",
                                           show_default=False),
) -> None:
    """Stop the local PostgreSQL started by `ocula db start` (its data stays)."""
    from ..errors import OculaError
    from ..index.postgres import stop_server

    try:
        stopped = stop_server(_folder(folder))
    except OculaError as e:
        fail(str(e))
    err.print("stopped" if stopped else f"no server runs in {_folder(folder)}")
