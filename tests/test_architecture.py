"""The house rules, checked: one task table that every surface reads, storage behind one
interface (no SQL outside index/), arrows only downward between the layers, and
docs/architecture.md naming files that exist."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "ocula"
SAMPLES = ROOT / "samples"

# layer of each top-level part of the package (lower number = lower layer)
BASE, BACKENDS, MIDDLE, TASKS, API, SHELLS = range(6)
LAYERS = {
    "version": BASE, "errors": BASE, "config": BASE, "vocabulary": BASE, "digest": BASE, "deprecation": BASE,
    "image": BASE, "results": BASE, "output": BASE, "models": BASE, "_textset": BASE, "_memory": BASE,
    "geometry": BASE, "media": BASE,
    "backends": BACKENDS,
    "index": MIDDLE, "provenance": MIDDLE, "writing": MIDDLE, "train": MIDDLE, "sidecar": MIDDLE, "places": MIDDLE,
    "people": MIDDLE, "regions": MIDDLE,
    "tasks": TASKS,
    "__init__": API, "facade": API, "__main__": SHELLS,
    "cli": SHELLS, "serve": SHELLS, "mcp": SHELLS,
}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py"))


def _part(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[str, int]]:
    """Absolute ocula module names a file imports (at any depth: lazy imports count), with lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ["ocula", *path.relative_to(SRC).parent.parts]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.startswith("ocula"):
                targets = [name] if node.module else [f"{name}.{a.name}" for a in node.names]
                out += [(t, node.lineno) for t in targets]
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.startswith("ocula")]
    return out


def _layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts == ["ocula"]:
        return API
    return LAYERS.get(parts[1])


def test_every_part_of_the_package_has_a_layer():
    assert {_part(p) for p in _modules()} <= set(LAYERS), "a new module needs its layer in LAYERS and the docs"


def test_arrows_point_down_only():
    """A module imports only from its own part or lower layers; the middle layer (index,
    provenance, writing, train, sidecar) never imports tasks or shells, nor one of its
    neighbours' tasks; backends never import tasks or the middle layer."""
    bad = []
    for path in _modules():
        part = _part(path)
        own = LAYERS[part]
        for module, line in _imports(path):
            target = module.split(".")[1] if "." in module else "__init__"
            layer = _layer_of(module)
            if layer is None or target == part:
                continue
            # the middle layer's parts are peers (writing reads sidecar's rules; sidecar writes
            # through output); only upward arrows break the house
            if layer > own or (own == BACKENDS and layer == MIDDLE):
                allowed = path == SRC / "index" / "__init__.py" and module == "ocula.Index"  # deprecated alias
                if not allowed:
                    bad.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert bad == [], "\n".join(bad)


def test_no_sql_outside_index():
    sql = re.compile(r"\b(SELECT\s+\S+.*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|DELETE\s+FROM|CREATE\s+(TABLE|INDEX|VIRTUAL)"
                     r"|UPDATE\s+\w+\s+SET|PRAGMA\s+\w+)", re.I)
    found = []
    for path in _modules():
        if _part(path) == "index":
            continue
        text = path.read_text(encoding="utf-8")
        if "sqlite3" in text or ".execute(" in text:
            found.append(f"{path.relative_to(SRC)}: uses sqlite3 / execute")
        for no, line in enumerate(text.splitlines(), 1):
            if sql.search(line):
                found.append(f"{path.relative_to(SRC)}:{no}: {line.strip()}")
    assert found == [], "\n".join(found)


# --- the task table --------------------------------------------------------------------

def test_results_are_data_and_render_lives_in_the_cli():
    """How a result reads in a terminal is cli/render.py's: a result class carries no render
    method (a stray one drifts from its class and breaks unseen)."""
    tree = ast.parse((SRC / "results.py").read_text(encoding="utf-8"))
    methods = [f"{c.name}.{f.name} (line {f.lineno})" for c in tree.body if isinstance(c, ast.ClassDef)
               for f in c.body if isinstance(f, ast.FunctionDef) and "render" in f.name]
    assert methods == [], f"results.py renders; move it to src/ocula/cli/render.py: {methods}"


def test_registry_matches_the_entry_functions():
    """Every task's module, entry function and result resolve; every option is a keyword of the
    entry function (or its batch function) with the same default; old names are accepted."""
    from ocula.tasks import registry

    for task in registry.tasks():
        fn = task.load()
        many = task.load_many()
        params = dict(inspect.signature(fn).parameters)
        if many is not None:
            params = {**dict(inspect.signature(many).parameters), **params}
        assert issubclass(task.result_type(), object)
        for option in task.options:
            assert option.name in params, f"{task.name}: option {option.name} is not a keyword of {fn.__name__}"
            default = params[option.name].default
            expected = option.default if option.type is not list else None
            assert default == expected or (option.type is list and default in (None, ())), \
                f"{task.name}.{option.name}: the shells say {option.default!r}, the function {default!r}"
        if any(o.aliases for o in task.options):
            assert getattr(fn, "renamed", None) == registry.old_names(task.name), task.name
        if task.cli not in (None, registry.AUTO):
            module, _, name = task.cli.partition(":")
            assert callable(getattr(importlib.import_module(module), name)), task.cli
        if task.route not in (None, registry.AUTO):
            module, _, name = task.route.partition(":")
            assert callable(getattr(importlib.import_module(module), name)), task.route
        if task.step:
            from ocula.results import Analysis

            fields = [f for f, _ in task.step_fields] or [task.step]
            assert all(f in Analysis.model_fields for f in fields), task.name


def test_python_api_lists_every_task():
    import ocula
    from ocula.tasks import registry

    for task in registry.tasks():
        for name in task.public_names:
            assert name in ocula.__all__ and callable(getattr(ocula, name)), name


def test_analyze_runs_the_registered_steps():
    from ocula.tasks import registry
    from ocula.tasks.analyze import check_steps, default_steps

    steps = [t.name for t in registry.steps()]
    assert steps[:2] == ["classify", "ocr"] and set(default_steps()) <= set(steps)
    assert check_steps(["labels", "text", "moderation"]) == ("classify", "ocr", "moderate")


TOY = '''
"""A toy task for the registry test: the mean brightness of an image."""
from ocula.image import load_image
from ocula.results import Result


class Brightness(Result):
    source: str
    brightness: float
    scale: float


def toy(image, *, scale: float = 1.0, settings=None) -> Brightness:
    loaded = load_image(image, max_side=64, settings=settings)
    return Brightness(source=loaded.source, brightness=float(loaded.gray(64).mean()) / 255 * scale, scale=scale)
'''


@pytest.fixture
def toy_task(tmp_path, monkeypatch):
    """A task registered in one place (the table) by a module the package knows nothing of."""
    from ocula.tasks import registry

    (tmp_path / "ocula_toy_task.py").write_text(textwrap.dedent(TOY), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    task = registry.register(registry.Task(
        "toy", "Mean brightness of the picture, scaled.", "ocula_toy_task:Brightness",
        module="ocula_toy_task", group="recognize",
        options=(registry.Option("scale", float, 1.0, "Multiply the brightness by this.", ge=0, le=10),)))
    yield task
    registry.unregister("toy")
    sys.modules.pop("ocula_toy_task", None)


def test_a_task_registered_once_appears_everywhere(toy_task, tmp_path):
    from typer.testing import CliRunner

    import ocula
    from ocula.cli import build_app

    # the command line
    app = build_app()
    runner = CliRunner()
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0 and "toy" in r.stdout and "Mean brightness" in r.stdout
    r = runner.invoke(app, ["toy", str(SAMPLES / "coffee.jpg"), "--scale", "2", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["scale"] == 2 and 0 < out["brightness"] <= 2
    r = runner.invoke(app, ["toy", str(SAMPLES / "coffee.jpg"), "--scale", "11"])
    assert r.exit_code == 2  # the option's bound, from the table

    # the Python API
    importlib.reload(ocula)
    assert "toy" in ocula.__all__ and ocula.toy(SAMPLES / "coffee.jpg").scale == 1.0

    # the HTTP API and its OpenAPI document
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from serve_helpers import make_app

    with TestClient(make_app(tmp_path)) as client:
        spec = client.get("/openapi.json").json()
        assert "/api/v1/toy" in spec["paths"]
        post = spec["paths"]["/api/v1/toy"]["post"]
        assert post["summary"] == toy_task.summary
        r = client.post("/api/v1/toy", files={"image": ("c.jpg", (SAMPLES / "coffee.jpg").read_bytes())},
                        data={"scale": "3"})
        assert r.status_code == 200, r.text
        assert r.json()["scale"] == 3
        r = client.post("/api/v1/toy", files={"image": ("c.jpg", (SAMPLES / "coffee.jpg").read_bytes())},
                        data={"scale": "-1"})
        assert r.status_code == 422


# --- the docs ----------------------------------------------------------------------------

def test_architecture_doc_names_files_that_exist():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    paths = {p.rstrip("./") for p in re.findall(r"\b((?:src|tests|bench|docs)/[\w./<>-]+)", doc) if "<" not in p}
    assert len(paths) > 20
    missing = [p for p in sorted(paths) if not (ROOT / p).exists()]
    assert missing == [], f"docs/architecture.md names files that do not exist: {missing}"
    parts = {p.split("/")[2].removesuffix(".py") for p in paths if p.startswith("src/ocula/")}
    assert set(LAYERS) - {"__main__", "_textset", "_memory", "digest", "deprecation"} <= parts | {"__init__"}
