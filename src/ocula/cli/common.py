"""What every command shares: expanding inputs, batches with progress, --json output,
one-line errors. Heavy modules are imported inside functions so `--help` stays fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

import typer
from rich.console import Console

from .render import render

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

JSON_HELP = "Print machine-readable JSON instead of text."
IMAGES_HELP = "Image files or folders (folders are searched recursively for images)."


def fail(message: str, code: int = 1) -> None:
    """Print one error line and exit."""
    err.print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(code)


def dump_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def print_result(result: Any, as_json: bool) -> None:
    """A command's typed result: its JSON with --json, else its rendered lines."""
    if as_json:
        dump_json(result.model_dump(mode="json"))
    else:
        for line in render(result):
            out.print(line, markup=False)


def expand(inputs: list[str]) -> tuple[list[Path], bool]:
    """Files to process and whether the call is a batch (several inputs or a folder)."""
    from ..image import iter_image_files

    files = iter_image_files(inputs)
    batch = len(inputs) > 1 or any(Path(p).is_dir() for p in inputs)
    if not files:
        fail("no image files found in " + ", ".join(inputs))
    return files, batch


def run_batch(inputs: list[str], fn: Callable[[Path], Any] | None = None, *, as_json: bool,
              stream: Callable[[list[Path]], Iterable[Any]] | None = None) -> None:
    """Run ``fn`` on every input image (or take (input, result) pairs in order from
    ``stream(files)``, as ``analyze_many`` yields them), print each result, report failures at
    the end, exit 1 if any input failed."""
    from ..errors import DiskFull, InvalidImage, OculaError
    from ..results import Failure

    files, batch = expand(inputs)
    done: list[dict] = []
    failures: list[Failure] = []

    def one(path: Path):
        try:
            return fn(path)
        except DiskFull:  # not this file's fault, and the next one would fail the same: stop here
            raise
        except OculaError as e:  # InvalidImage carries source/reason; others a message
            # a ModelUnavailable's reason alone would drop the fix its message names
            return Failure(source=getattr(e, "source", str(path)),
                           error=e.reason if isinstance(e, InvalidImage) else str(e), kind=type(e).__name__)

    items = (item for _, item in stream(files)) if stream is not None else (one(p) for p in files)
    with _progress(len(files), enabled=batch) as advance:
        for item in items:
            if isinstance(item, Failure):
                failures.append(item)
            elif as_json:
                done.append(item.model_dump(mode="json"))
            else:
                for line in render(item):
                    out.print(line, markup=False)
            advance()

    if as_json:
        if batch:
            dump_json({"results": done, "failures": [f.model_dump() for f in failures]})
        else:
            dump_json(done[0] if done else failures[0].model_dump())
    if failures:
        if batch:
            err.print(f"{len(failures)} of {len(files)} file(s) could not be processed:", markup=False)
            for f in failures:
                err.print(f"  {f.source}: {f.error}", markup=False)
        else:
            err.print(f"error: {failures[0].source}: {failures[0].error}", markup=False)
        raise typer.Exit(1)


class _progress:
    """A transient progress bar on stderr for batches (nothing for one file or a pipe)."""

    def __init__(self, total: int, enabled: bool):
        self.total = total
        self.enabled = enabled and err.is_terminal
        self.bar = None

    def __enter__(self):
        if not self.enabled:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=err, transient=True)
        self.bar.start()
        task = self.bar.add_task("images", total=self.total)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False
