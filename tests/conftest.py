"""Shared fixtures. The suite runs offline: sockets are blocked by pytest-socket (see
pyproject addopts), hub libraries are told they are offline, and OCULA_HOME is a temp dir."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _ocula_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("ocula-home")
    old = os.environ.get("OCULA_HOME")
    os.environ["OCULA_HOME"] = str(home)
    from ocula.config import get_settings

    get_settings.cache_clear()
    yield home
    if old is None:
        os.environ.pop("OCULA_HOME", None)
    else:
        os.environ["OCULA_HOME"] = old
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where tests leave artefacts worth looking at (screenshots, annotated images)."""
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    return out


def require_program(name: str) -> str:
    """Skip (locally) when a system program is missing; CI installs it via .ci/run."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install it; .ci/run does)")
    return path
