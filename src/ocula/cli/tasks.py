"""Commands made from the task table (``ocula.tasks.registry``): images or folders in, each
task option as a flag, ``--json``, batches with progress and failures reported at the end.
A task whose entry names a hand-made command (describe, index, upscale ...) uses that one."""

from __future__ import annotations

import inspect
from typing import Any, Callable, List, Optional

import typer

from .common import IMAGES_HELP, JSON_HELP, err, run_batch

_ANNOTATION = {str: Optional[str], int: Optional[int], float: Optional[float], bool: Optional[bool], list: Optional[str]}


def _param(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def option_params(task: Any) -> list[inspect.Parameter]:
    """typer parameters for the task's options shown in the CLI, plus a hidden flag for each old name."""
    params = []
    for o in task.options:
        if not o.cli:
            continue
        if o.type is bool and o.default is not None:
            annotation, default = bool, o.default
        else:
            annotation, default = _ANNOTATION[o.type], (None if o.type is list else o.default)
        limits = {"min": o.ge, "max": o.le} if o.type in (int, float) else {}
        params.append(_param(o.name, annotation, typer.Option(default, *o.cli_flags, help=o.help,
                                                              show_default=default is not None,
                                                              **{k: v for k, v in limits.items() if v is not None})))
        for old in o.aliases:
            params.append(_param(old, _ANNOTATION[o.type], typer.Option(None, "--" + old.replace("_", "-"),
                                                                       hidden=True)))
    return params


def option_values(task: Any, given: dict[str, Any]) -> dict[str, Any]:
    """The task's keyword arguments from parsed flags: old flag names folded into the new ones
    (with a note), comma-separated lists split."""
    values: dict[str, Any] = {}
    for o in task.options:
        if not o.cli:
            continue
        value = given.get(o.name)
        for old in o.aliases:
            if given.get(old) is not None:
                err.print(f"note: --{old.replace('_', '-')} is deprecated; use {o.cli_flags[0].split('/')[0]}",
                          markup=False)
                value = given[old]
        if o.type is list and isinstance(value, str):
            value = [s.strip() for s in value.split(",") if s.strip()]
        values[o.name] = value
    return values


def auto_command(task: Any) -> Callable[..., None]:
    """A typer command for a task that takes one image and returns a typed result."""

    # the signature typer reads is set below; this def's own annotations are left out on purpose
    def command(images, json=False, **given):  # type: ignore[no-untyped-def]
        options = option_values(task, given)
        many = task.load_many()
        if many is not None:
            run_batch(images, as_json=json, stream=lambda files: many(files, **options))
        else:
            fn = task.load()
            run_batch(images, lambda p: fn(p, **options), as_json=json)

    params = [inspect.Parameter("images", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=List[str],
                                default=typer.Argument(..., help=IMAGES_HELP, show_default=False)),
              *option_params(task),
              _param("json", bool, typer.Option(False, "--json", help=JSON_HELP))]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__name__ = task.function_name
    command.__doc__ = task.summary.replace("[", "\\[")  # rich markup: keep "[moderation]"
    return command


def load_command(spec: str) -> Callable[..., Any]:
    """A hand-made command named "module:function"."""
    from importlib import import_module

    module, _, name = spec.partition(":")
    return getattr(import_module(module), name)
