"""The `ocula` command line: one command per task of the task table (``ocula.tasks.registry``),
plus `models`, `db` and `serve`. Each command is a thin shell over one task function."""

from __future__ import annotations

import os
import sys

import typer

from .common import err

# help of command groups whose commands come from several tasks ("watermark embed", "watermark detect")
GROUP_HELP = {
    "watermark": "Invisible watermarks: embed a short payload in the pixels, or read one back.",
    "train": "Train your own models on your images (CPU is enough).",
    "people": "The people in your photos, found by `ocula index`: alone it lists them; show, name, merge, "
              "forget or export them.",
}
PANELS = {"recognize": "Recognize", "write": "Write", "search": "Search", "people": "People",
          "enhance": "Enhance and protect", "provenance": "Provenance", "generate": "Generate", "train": "Train",
          "product": "Product photos"}


def _version(value: bool) -> None:
    if value:
        from ..version import __version__

        typer.echo(f"ocula {__version__}")
        raise typer.Exit()


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


def build_app() -> typer.Typer:
    """The command line as the task table stands now (a task registered later appears in the
    next app built)."""
    from ..tasks import registry
    from . import db, mcp, models, serve
    from .tasks import auto_command, load_command

    app = typer.Typer(
        name="ocula",
        help="Offline-first AI on images: recognize, describe, search, enhance, generate and verify.",
        no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    groups: dict[str, typer.Typer] = {}
    # a task whose command is a group's own name ("people") runs when the group is given alone
    group_names = {t.command.rpartition(" ")[0] for t in registry.tasks() if t.cli is not None and " " in t.command}
    for task in registry.tasks():
        if task.cli is None:
            continue
        fn = auto_command(task) if task.cli == registry.AUTO else load_command(task.cli)
        panel = PANELS.get(task.group, task.group.capitalize())
        group, _, name = task.command.rpartition(" ")
        if not group and name in group_names:
            group, name = name, ""
        if group:
            if group not in groups:
                groups[group] = typer.Typer(help=GROUP_HELP.get(group), no_args_is_help=group not in [
                    t.command for t in registry.tasks() if t.cli is not None])
                app.add_typer(groups[group], name=group, rich_help_panel=panel)
            if name:
                groups[group].command(name)(fn)
            else:
                groups[group].callback(invoke_without_command=True)(fn)
        else:
            app.command(name, rich_help_panel=panel)(fn)
    app.add_typer(models.app, name="models", rich_help_panel="Models and server")
    app.add_typer(db.app, name="db", rich_help_panel="Models and server")
    app.command("serve", rich_help_panel="Models and server")(serve.serve)
    app.command("mcp", rich_help_panel="Models and server")(mcp.mcp)
    return app


app = build_app()


def main() -> None:
    """Entry point: OculaError -> one line on stderr, never a traceback. Usage errors are
    click's (exit 2); everything else exits with the command's code."""
    from rich.markup import escape

    from ..errors import DiskFull, OculaError, is_disk_full

    try:
        app()  # standalone: prints usage errors itself and raises SystemExit
    except OculaError as e:
        err.print(f"[bold red]error:[/] {escape(str(e))}", markup=True, highlight=False)
        sys.exit(1)
    except Exception as e:  # a full disk met by a writer of its own (not output.write_atomic, not the index)
        if not is_disk_full(e):
            raise
        full = DiskFull(getattr(e, "filename", None), kept=None)
        err.print(f"[bold red]error:[/] {escape(str(full))}", markup=True, highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
