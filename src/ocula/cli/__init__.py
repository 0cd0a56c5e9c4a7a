"""The `ocula` command line. Each command is a thin shell over one task function."""

from __future__ import annotations

import os
import sys

import typer

from .common import err

app = typer.Typer(
    name="ocula",
    help="Offline-first AI on images: recognize, describe, search, enhance, generate and verify.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"ocula {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    threads: int = typer.Option(None, "--threads", min=1, help="Threads per model (OCULA_THREADS)."),
    device: str = typer.Option(None, "--device", help="cpu, cuda, cuda:N or mps (OCULA_DEVICE)."),
    offline: bool = typer.Option(False, "--offline", help="Never use the network (OCULA_OFFLINE=1)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Global options apply to every command."""
    changed = False
    for var, value in (("OCULA_THREADS", threads), ("OCULA_DEVICE", device)):
        if value is not None:
            os.environ[var] = str(value)
            changed = True
    if offline:
        os.environ["OCULA_OFFLINE"] = "1"
        changed = True
    if changed:
        from ..config import get_settings

        get_settings.cache_clear()


def _register() -> None:
    from . import models, recognize

    recognize.register(app)
    app.add_typer(models.app, name="models")
    import importlib
    import importlib.util

    # later capabilities register themselves when their module is present
    for name in ("describe", "search", "enhance", "provenance", "train", "generate", "serve"):
        if importlib.util.find_spec(f"{__name__}.{name}") is not None:
            importlib.import_module(f"{__name__}.{name}").register(app)


_register()


def main() -> None:
    """Entry point: OculaError -> one line on stderr, never a traceback. Usage errors are
    click's (exit 2); everything else exits with the command's code."""
    from ..errors import OculaError

    try:
        app()  # standalone: prints usage errors itself and raises SystemExit
    except OculaError as e:
        err.print(f"[bold red]error:[/] {e}", markup=True, highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
