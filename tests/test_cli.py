"""The CLI through its real entry point (the installed `ocula` script), as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_image import _png_header_only

OCULA = Path(sys.executable).parent / "ocula"
COMMANDS = ["classify", "ocr", "faces", "colors", "quality", "metadata", "moderate", "analyze",
            "models", "models list", "models info", "models pull"]


def run(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([str(OCULA), *args], capture_output=True, text=True, timeout=timeout, env=full_env)


def test_entry_point_installed():
    assert OCULA.exists(), "the `ocula` console script is not installed in this environment"


def test_help_is_fast():
    # a generous bound: heavy libraries (torch, onnxruntime) must not load for --help
    best = min(_timed("--help") for _ in range(3))
    assert best < 1.5, f"`ocula --help` took {best:.2f}s"


@pytest.mark.parametrize("cmd", COMMANDS)
def test_subcommand_help(cmd):
    t0 = time.perf_counter()
    r = run(*cmd.split(), "--help")
    dt = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    assert "Usage" in r.stdout
    assert dt < 3.0, f"`ocula {cmd} --help` took {dt:.2f}s"


def _timed(*args: str) -> float:
    t0 = time.perf_counter()
    r = run(*args)
    assert r.returncode == 0, r.stderr
    return time.perf_counter() - t0


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, samples):
    d = tmp_path_factory.mktemp("bad")
    (d / "zero.jpg").write_bytes(b"")
    (d / "notes.png").write_text("hello, I am text\n")
    (d / "trunc.jpg").write_bytes((samples / "chelsea.jpg").read_bytes()[:5000])
    _png_header_only(d / "bomb.png", 30000, 30000)
    return {
        "missing": (d / "missing.jpg", "no such file"),
        "zero": (d / "zero.jpg", "empty file"),
        "text": (d / "notes.png", "text file"),
        "truncated": (d / "trunc.jpg", "truncated"),
        "bomb": (d / "bomb.png", "over the limit"),
    }


@pytest.mark.parametrize("kind", ["missing", "zero", "text", "truncated", "bomb"])
def test_bad_file_one_line(bad_files, kind):
    path, msg = bad_files[kind]
    r = run("analyze", str(path))
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert msg in lines[0] and str(path) in lines[0]
    assert "Traceback" not in r.stderr + r.stdout


def test_bad_file_json(bad_files):
    path, msg = bad_files["zero"]
    r = run("analyze", str(path), "--json")
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert data["source"] == str(path) and msg in data["error"]


@pytest.mark.slow
def test_folder_mixing_good_and_bad(tmp_path, bad_files, samples):
    for name in ("chelsea.jpg", "coffee.jpg"):
        shutil.copy(samples / name, tmp_path / name)
    for kind in ("zero", "text", "truncated", "bomb"):
        src = bad_files[kind][0]
        shutil.copy(src, tmp_path / src.name)
    r = run("analyze", str(tmp_path), "--json")
    assert r.returncode == 1  # some inputs failed
    data = json.loads(r.stdout)
    good = sorted(Path(x["image"]["source"]).name for x in data["results"])
    bad = sorted(Path(x["source"]).name for x in data["failures"])
    assert good == ["chelsea.jpg", "coffee.jpg"]
    assert bad == ["bomb.png", "notes.png", "trunc.jpg", "zero.jpg"]
    chelsea = next(x for x in data["results"] if x["image"]["source"].endswith("chelsea.jpg"))
    assert chelsea["labels"][0]["category"] == "animal"
    assert "4 of 6 file(s) could not be processed" in r.stderr
    assert "Traceback" not in r.stderr


def test_classify_json_names_a_cat(samples):
    r = run("classify", str(samples / "chelsea.jpg"), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    top = data["labels"][0]
    assert "cat" in top["name"] and "猫" in top["name_zh"]


def test_faces_json_finds_astronaut(samples):
    r = run("faces", str(samples / "astronaut.jpg"), "--json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["faces"]) == 1


def test_human_output(samples):
    r = run("analyze", str(samples / "chelsea.jpg"), "--steps", "classify,colors")
    assert r.returncode == 0, r.stderr
    assert "chelsea.jpg" in r.stdout and "labels:" in r.stdout and "colours:" in r.stdout


def test_bad_option_values():
    r = run("analyze", "x.jpg", "--steps", "classify,dance")
    assert r.returncode != 0
    assert "unknown analyze step" in r.stderr and "Traceback" not in r.stderr
    r = run("classify", "x.jpg", "--top-k", "0")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_models_list_and_info():
    r = run("models", "list", "--json")
    assert r.returncode == 0, r.stderr
    models = {m["name"]: m for m in json.loads(r.stdout)}
    assert models["efficientnet-lite0"]["status"]["usable"] is True
    assert models["blip-base"]["status"]["usable"] is False
    assert "ocula models pull blip-base" in models["blip-base"]["status"]["fix"]
    r = run("models", "info", "efficientnet-lite0", "--verify")
    assert r.returncode == 0 and "[ok]" in r.stdout
    r = run("models", "info", "no-such-model")
    assert r.returncode == 1 and "choose one of" in r.stderr


def test_models_pull_refused_offline():
    r = run("models", "pull", "blip-base", env={"OCULA_OFFLINE": "1"})
    assert r.returncode == 1
    assert "OCULA_OFFLINE" in r.stderr and "Traceback" not in r.stderr
