"""The tools: their input schemas (from the task table's options), the allowed folders, and
calling a task with checked arguments."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..config import Settings, get_settings
from ..errors import InvalidArgument

# tasks that get a hand-made tool instead of the generated one (or none: they write outside
# an image's folder, sign with the server's key, or hold biometric data)
HAND_MADE = ("generate", "search", "index", "dupes", "sign", "watermark", "train", "face-embeddings")
MAX_PATH = 4096
# what a search may be given instead of a query (search lists the photos that pass them)
SEARCH_FILTERS = ("person", "with_people", "near", "moment")


@dataclass
class ToolSpec:
    name: str
    description: str
    schema: dict[str, Any]
    run: Callable[[dict[str, Any], "Progress"], Any]  # (checked arguments, progress) -> result
    read_only: bool = True


@dataclass
class Progress:
    """What a running tool may report; the server turns it into MCP progress notifications."""

    report: Callable[[float, float | None, str | None], None] = lambda done, total, message: None


class Folders:
    """The folders tools may read (``allow``) and the one they write into (``output``)."""

    def __init__(self, allow: list[str | os.PathLike] | None = None, output: str | os.PathLike | None = None):
        dirs = [Path(p).expanduser().resolve() for p in (allow or [Path.cwd()])]
        for d in dirs:
            if not d.is_dir():
                raise InvalidArgument(f"--allow-dir {d} is not a folder")
        self.allow = dirs
        self.output = Path(output).expanduser().resolve() if output is not None else dirs[0]
        if not self.inside(self.output):
            raise InvalidArgument(f"--output-dir {self.output} is outside the allowed folders "
                                  f"({', '.join(map(str, dirs))})")

    def inside(self, path: Path) -> bool:
        return any(path == d or path.is_relative_to(d) for d in self.allow)

    def _resolve(self, value: Any, what: str, base: Path | None = None) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgument(f"{what} must be a path (a string)")
        if len(value) > MAX_PATH or "\x00" in value:
            raise InvalidArgument(f"{what} is not a usable path")
        p = Path(value).expanduser()
        if not p.is_absolute():
            p = (base or self.allow[0]) / p
        return p.resolve()  # symlinks followed: a link out of an allowed folder is outside it

    def readable(self, value: Any, what: str = "image", *, folder: bool = False) -> Path:
        p = self._resolve(value, what)
        if not self.inside(p):
            raise InvalidArgument(f"{what} {value!r} is outside the allowed folders "
                                  f"({', '.join(map(str, self.allow))}); start ocula mcp with --allow-dir")
        if folder and not p.is_dir():
            raise InvalidArgument(f"{what} {value!r} is not a folder")
        if not folder and not p.is_file():
            raise InvalidArgument(f"{what} {value!r}: no such file")
        return p

    def writable(self, value: Any, source: Path, tag: str) -> Path:
        """Where an edited image goes: a name or path inside the output folder (never an existing
        file), or photo.<tag>.<ext> there."""
        from ..output import default_output

        self.output.mkdir(parents=True, exist_ok=True)
        if value is None:
            return default_output(source, tag, folder=self.output)
        p = self._resolve(value, "output", base=self.output)
        if not (p == self.output or p.is_relative_to(self.output)):
            raise InvalidArgument(f"output {value!r} is outside the output folder {self.output}")
        return p


def option_schema(option: Any) -> dict[str, Any]:
    """JSON schema of one task option as the HTTP API bounds it (``server`` limits win)."""
    kinds = {str: "string", int: "integer", float: "number", bool: "boolean"}
    bounds = {"ge": option.ge, "le": option.le, "gt": option.gt, "max_length": option.max_length, **option.server}
    if option.type is list:
        s: dict[str, Any] = {"type": "array", "items": {"type": "string", "maxLength": 500}}
        if bounds.get("max_length"):
            s["maxItems"] = bounds["max_length"]
    else:
        s = {"type": kinds[option.type]}
        if option.choices:
            s["enum"] = list(option.choices)
        for key, name in (("ge", "minimum"), ("le", "maximum"), ("gt", "exclusiveMinimum")):
            if bounds.get(key) is not None and option.type in (int, float):
                s[name] = bounds[key]
        if option.type is str and bounds.get("max_length") and not option.choices:
            s["maxLength"] = bounds["max_length"]
    if option.default is not None:
        s["default"] = option.default
    else:
        s = {"anyOf": [s, {"type": "null"}]}
    s["description"] = option.help
    return s


def object_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def check(schema: dict[str, Any], arguments: dict[str, Any] | None) -> dict[str, Any]:
    """The arguments, checked against the tool's schema: one line naming the first problem."""
    import jsonschema

    args = dict(arguments or {})
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(args), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        where = ".".join(str(p) for p in e.path) or "arguments"
        message = e.message if len(e.message) < 200 else e.message[:200] + "…"
        raise InvalidArgument(f"{where}: {message}")
    return args


def task_tools(folders: Folders, settings: Settings) -> list[ToolSpec]:
    """One tool per task offered over HTTP that takes an image, from the task table."""
    from ..tasks import registry

    out = []
    for task in registry.tasks():
        if task.route is None or task.image == "none" or task.name in HAND_MADE:
            continue
        options = [o for o in task.options if o.http]
        props = {"image": {"type": "string", "description": "Path of the image (inside an allowed folder)."}}
        props.update({o.name: option_schema(o) for o in options})
        if task.writes_image:
            props["output"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None,
                               "description": f"File name in the output folder {folders.output} (default: "
                                              f"IMAGE.{task.name}.EXT there; never an existing file)."}
        description = task.summary + (f" Writes into {folders.output}." if task.writes_image else "")
        out.append(ToolSpec(task.name.replace("-", "_"), description, object_schema(props, ["image"]),
                            _task_runner(task, folders, settings), read_only=not task.writes_image))
    return out


def _task_runner(task: Any, folders: Folders, settings: Settings) -> Callable[[dict[str, Any], Progress], Any]:
    def run(args: dict[str, Any], progress: Progress) -> Any:
        image = folders.readable(args.pop("image"))
        fn = task.load()
        if task.writes_image:
            output = folders.writable(args.pop("output", None), image, task.name)
            return fn(image, output=output, overwrite=False, **args, settings=settings)
        return fn(image, **args, settings=settings)
    return run


# --- hand-made tools --------------------------------------------------------------------------

def _search_tool(folders: Folders, settings: Settings, db: str | None) -> ToolSpec:
    from ..tasks import registry

    task = registry.get("search")
    props = {"query": {"anyOf": [{"type": "string", "maxLength": 2000}, {"type": "null"}], "default": None,
                       "description": "Words to search for (English, Chinese, ...), a year (2024) among them or "
                                      "alone; may be left out when " + ", ".join(SEARCH_FILTERS) + " is given."}}
    props.update({o.name: option_schema(o) for o in task.options if o.http})

    def run(args: dict[str, Any], progress: Progress) -> Any:
        from ..tasks.search import search

        query = (args.pop("query", None) or "").strip()
        if not query and not any(args.get(k) for k in SEARCH_FILTERS):
            raise InvalidArgument("search needs a query (words or a year) or one of " + ", ".join(SEARCH_FILTERS) +
                                  " (a person's name lists their photos)")
        result = search(query, db=db, **args, settings=settings)
        # the index may hold photos outside the allowed folders: those are not shown
        kept = [h for h in result.hits if folders.inside(Path(h.path).resolve())]
        hidden = len(result.hits) - len(kept)
        result.hits = kept
        if hidden:
            result.total = max(0, result.total - hidden)
        return result

    return ToolSpec("search", task.summary + " Only photos inside the allowed folders are returned.",
                    object_schema(props, []), run)


def _index_tool(folders: Folders, settings: Settings, db: str | None) -> ToolSpec:
    props = {"folder": {"type": "string", "description": "A folder (inside an allowed folder) to index."}}

    def run(args: dict[str, Any], progress: Progress) -> Any:
        from ..tasks.index import index

        folder = folders.readable(args["folder"], "folder", folder=True)
        return index([folder], db=db, settings=settings,
                     progress=lambda done, total: progress.report(done, total, f"{done} of {total} images"))

    return ToolSpec("index", "Build or update the search index of a folder (only new or changed images are "
                             "analysed); reports progress.", object_schema(props, ["folder"]), run, read_only=False)


def _generate_tool(folders: Folders, settings: Settings) -> ToolSpec:
    props = {
        "prompt": {"type": "string", "minLength": 1, "maxLength": 2000,
                   "description": "What to draw (English; Chinese is translated by the configured LLM)."},
        "n": {"type": "integer", "minimum": 1, "maximum": 4, "default": 1, "description": "How many images."},
        "size": {"anyOf": [{"type": "string", "pattern": r"^\d+(x\d+)?$"}, {"type": "null"}], "default": None,
                 "description": "WIDTHxHEIGHT, multiples of 8 (default: the model's own)."},
        "seed": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}], "default": None},
        "denoising_steps": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 100}, {"type": "null"}],
                            "default": None},
        "negative": {"anyOf": [{"type": "string", "maxLength": 1000}, {"type": "null"}], "default": None},
        "model": {"anyOf": [{"type": "string", "maxLength": 200}, {"type": "null"}], "default": None,
                  "description": "A catalogue generation model (sd-turbo ...)."},
        "enhance_prompt": {"type": "boolean", "default": False,
                           "description": "Let the configured LLM write a detailed prompt from this one."},
    }

    def run(args: dict[str, Any], progress: Progress) -> Any:
        from ..tasks.generate import generate

        model = args.pop("model", None)
        if model is not None and ("/" in model or os.sep in model or model.startswith(".")):
            raise InvalidArgument("model must be a catalogue name here (see `ocula models list`), not a path")
        return generate(args.pop("prompt"), model=model, out_dir=folders.output / "generated", **args,
                        settings=settings,
                        progress=lambda step, steps, image, images: progress.report(
                            (image - 1) * steps + step, images * steps, f"image {image} of {images}, step {step}"))

    return ToolSpec("generate", f"Make images from a prompt (text-to-image), written into "
                                f"{folders.output / 'generated'}; reports progress.",
                    object_schema(props, ["prompt"]), run, read_only=False)


@dataclass
class Toolbox:
    folders: Folders
    settings: Settings = field(default_factory=get_settings)
    db: str | None = None
    tools: dict[str, ToolSpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        made = task_tools(self.folders, self.settings)
        made += [_search_tool(self.folders, self.settings, self.db), _index_tool(self.folders, self.settings, self.db),
                 _generate_tool(self.folders, self.settings)]
        self.tools = {t.name: t for t in made}

    def call(self, name: str, arguments: dict[str, Any] | None, progress: Progress | None = None) -> Any:
        """The tool's typed result; InvalidArgument (or the task's OculaError) when it cannot run."""
        tool = self.tools.get(name)
        if tool is None:
            raise InvalidArgument(f"no tool named {name!r}; tools: {', '.join(self.tools)}")
        return tool.run(check(tool.schema, arguments), progress or Progress())
