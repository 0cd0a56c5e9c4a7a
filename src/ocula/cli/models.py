"""`ocula models`: the catalogue, one model's details, and fetching hub models."""

from __future__ import annotations

import typer

from .common import JSON_HELP, dump_json, err, out

app = typer.Typer(help="List, inspect and download models.", no_args_is_help=True)


@app.command("list")
def list_(
    task: str = typer.Option(None, "--task", "-t", help="Only models of this task (classify, ocr, faces ...)."),
    json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Every model ocula knows, and whether it is usable right now."""
    from ..models import list_specs, status

    specs = list_specs(task)
    rows = [(s, status(s)) for s in specs]
    if json:
        dump_json([{**s.model_dump(), "status": st.model_dump()} for s, st in rows])
        return
    from rich.table import Table

    table = Table(show_lines=False, header_style="bold", box=None, pad_edge=False)
    for col in ("name", "task", "runtime", "licence", "MB", "usable"):
        table.add_column(col, no_wrap=col in ("name", "task", "runtime", "MB"))
    for s, st in rows:
        usable = "[green]yes[/]" if st.usable else f"[yellow]no[/] ({st.reason})"
        table.add_row(s.name + (" *" if s.default else ""), s.task, s.runtime, s.license,
                      f"{s.size_mb:g}" if s.size_mb else "", usable)
    out.print(table)
    out.print("* offline default.  `ocula models info NAME` shows files, revision and how to make a model usable.",
              markup=False)


@app.command()
def info(
    name: str = typer.Argument(..., help="Model name from `ocula models list`."),
    verify: bool = typer.Option(False, "--verify", help="Check the sha256 of the model's files."),
    json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Everything about one model: task, runtime, source, revision, files, licence, status."""
    from ..models import get_spec, status
    from ..models.resolve import verify as verify_files

    spec = get_spec(name)
    st = status(spec)
    checks = verify_files(spec) if verify else None
    if json:
        dump_json({**spec.model_dump(), "status": st.model_dump(), **({"verify": checks} if checks else {})})
        return
    for key in ("name", "task", "runtime", "source", "revision", "license", "size_mb", "description", "notes"):
        value = getattr(spec, key)
        if value not in (None, ""):
            out.print(f"{key:12} {value}", markup=False)
    for f in spec.files:
        mark = f"  [{checks[f.path]}]" if checks else ""
        out.print(f"{'file':12} {f.path}  sha256={f.sha256 or '?'}{mark}", markup=False)
    if st.usable:
        out.print(f"{'usable':12} yes  ({st.path})", markup=False)
    else:
        out.print(f"{'usable':12} no: {st.reason}", markup=False)
        if st.fix:
            out.print(f"{'fix':12} {st.fix}", markup=False)
    if checks and any(v == "mismatch" for v in checks.values()):
        raise typer.Exit(1)


@app.command()
def pull(names: list[str] = typer.Argument(..., help="Hub model names to download.")) -> None:
    """Download hub models at their pinned revisions (refused under OCULA_OFFLINE=1)."""
    from ..models import pull as do_pull

    for name in names:
        path = do_pull(name, progress=lambda msg: err.print(msg, markup=False))
        out.print(f"{name}: {path}", markup=False)
