"""Is a model usable right now, where are its files, and fetching hub models."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

from ..config import Settings, get_settings
from ..digest import sha256_file
from ..errors import ModelUnavailable, OfflineError, OculaError
from .catalog import get_spec
from .spec import ModelSpec, ModelStatus


def package_dir(module: str) -> Path | None:
    """Folder of an installed package, found without importing it (some import torchvision)."""
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if found is None:
        return None
    if found.submodule_search_locations:
        return Path(list(found.submodule_search_locations)[0])
    return Path(found.origin).parent if found.origin else None


def package_file(spec: ModelSpec | str, relpath: str | None = None) -> Path:
    """Path of a weights file shipped in a package (the first listed file by default)."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    base = package_dir(spec.location)
    if base is None:
        raise ModelUnavailable(spec.name, f"package {spec.location!r} is not installed", spec.install)
    rel = relpath or (spec.files[0].path if spec.files else "")
    path = base / rel
    if not path.exists():
        raise ModelUnavailable(spec.name, f"{path} is missing from the installed package", spec.install)
    return path


@lru_cache(maxsize=1)
def _tesseract_langs() -> tuple[str, ...] | None:
    exe = shutil.which("tesseract")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(line.strip() for line in out.splitlines()[1:] if line.strip())


def _hub_snapshot(spec: ModelSpec, settings: Settings) -> Path | None:
    """The local snapshot of a hub model at its pinned revision, or None.

    Reads the Hugging Face cache layout (models--ORG--NAME/snapshots/REV) directly: importing
    huggingface_hub's downloader costs ~0.5 s, too much for `models list` or each search."""
    try:
        from huggingface_hub import constants
    except ImportError:
        return None
    repo = Path(constants.HF_HUB_CACHE) / ("models--" + spec.location.replace("/", "--"))
    revision = spec.revision
    if revision is None:
        ref = repo / "refs" / "main"
        if not ref.is_file():
            return None
        revision = ref.read_text().strip()
    snapshot = repo / "snapshots" / revision
    if not snapshot.is_dir():
        return None
    needed = [f.path for f in spec.files if "*" not in f.path]
    if any(not (snapshot / p).exists() for p in needed) or not any(snapshot.iterdir()):
        return None
    return snapshot


def status(spec: ModelSpec | str, settings: Settings | None = None) -> ModelStatus:
    """Whether the model can run now, and if not, the command that makes it usable."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    settings = settings or get_settings()
    kind = spec.kind
    if kind == "package":
        base = package_dir(spec.location)
        if base is None:
            return ModelStatus(name=spec.name, usable=False, reason=f"package {spec.location!r} is not installed",
                               fix=spec.install)
        missing = [f.path for f in spec.files if not (base / f.path).exists()]
        if missing:
            return ModelStatus(name=spec.name, usable=False, reason=f"files missing: {', '.join(missing)}",
                               fix=spec.install)
        return ModelStatus(name=spec.name, usable=True, path=str(base / spec.files[0].path) if spec.files else str(base))
    if kind == "system":
        langs = _tesseract_langs()
        if langs is None:
            return ModelStatus(name=spec.name, usable=False, reason="the tesseract program is not installed",
                               fix=spec.install)
        need = [lang for lang in ("eng", "chi_sim") if lang not in langs]
        if need:
            return ModelStatus(name=spec.name, usable=False, reason=f"tesseract language data missing: {need}",
                               fix=spec.install)
        return ModelStatus(name=spec.name, usable=True, path=shutil.which("tesseract"))
    if kind == "hub":
        path = _hub_snapshot(spec, settings)
        if path is not None:
            return ModelStatus(name=spec.name, usable=True, path=str(path))
        reason = "not available offline" if settings.offline else "not downloaded"
        return ModelStatus(name=spec.name, usable=False, reason=reason,
                           fix=f"`ocula models pull {spec.name}`" + (" when online" if settings.offline else ""))
    if kind == "http":
        url = settings.llm_url
        return ModelStatus(name=spec.name, usable=False, reason=f"needs a server at {url} (not probed)",
                           fix=spec.install)
    return ModelStatus(name=spec.name, usable=False, reason=f"unknown source {spec.source!r}")


def require(name: str, task: str | None = None, settings: Settings | None = None) -> Path:
    """The model's local path, or a ModelUnavailable naming the fix."""
    spec = get_spec(name, task)
    st = status(spec, settings)
    if not st.usable:
        raise ModelUnavailable(spec.name, st.reason, st.fix)
    return Path(st.path) if st.path else Path()


def verify(spec: ModelSpec | str) -> dict[str, str]:
    """sha256 check of a package model's files: {path: 'ok' | 'mismatch' | 'missing' | 'unknown'}."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    base = package_dir(spec.location) if spec.kind == "package" else None
    out: dict[str, str] = {}
    for f in spec.files:
        p = base / f.path if base else None
        if p is None or not p.exists():
            out[f.path] = "missing"
        elif not f.sha256:
            out[f.path] = "unknown"
        else:
            out[f.path] = "ok" if sha256_file(p) == f.sha256 else "mismatch"
    return out


def pull(name: str, settings: Settings | None = None, progress: Callable[[str], None] | None = None) -> Path:
    """Download a hub model at its pinned revision into the Hugging Face cache."""
    spec = get_spec(name)
    settings = settings or get_settings()
    if spec.kind == "package":
        st = status(spec, settings)
        if st.usable:
            return Path(st.path or "")
        raise OculaError(f"{name} ships inside a Python package, not the hub — {spec.install}")
    if spec.kind != "hub":
        raise OculaError(f"{name} is not downloadable ({spec.source}) — {spec.install or 'see `ocula models info`'}")
    if settings.offline:
        raise OfflineError(f"cannot pull {name}: OCULA_OFFLINE=1 (or HF_HUB_OFFLINE=1) is set; "
                           "unset it on a machine with network access")
    from huggingface_hub import snapshot_download

    if progress:
        progress(f"downloading {spec.location}@{spec.revision or 'main'} (~{spec.size_mb or '?'} MB)")
    patterns = [f.path for f in spec.files] or None
    try:
        path = snapshot_download(spec.location, revision=spec.revision or "main", allow_patterns=patterns)
    except Exception as e:  # network, auth, missing revision: one line, not a traceback
        raise OculaError(f"could not download {name} from {spec.location}: {type(e).__name__}: {e}") from None
    return Path(path)


def model_type(name: str, path: Path, supported: Iterable[str], what: str) -> str:
    """The ``model_type`` in a transformers folder's config.json, checked against the families
    a backend runs (``what`` names the kind of model in the error)."""
    import json

    supported = list(supported)
    try:
        found = json.loads((path / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError) as e:
        raise ModelUnavailable(name, f"unreadable config.json in {path}: {e}") from None
    if found not in supported:
        raise ModelUnavailable(name, f"model type {found!r} is not {what} ocula runs "
                                     f"(supported: {', '.join(supported)})")
    return found


def local_model(name: str, task: str, settings: Settings | None = None, *,
                hint: str = "point it at a folder written by save_pretrained") -> tuple[str, Path]:
    """(display name, local folder) for a catalogue name, ``file:PATH`` or a folder path.
    Raises UnknownModel / ModelUnavailable with the fix."""
    if name.startswith("file:") or Path(name).expanduser().is_dir():
        path = Path(name[5:] if name.startswith("file:") else name).expanduser()
        if not (path / "config.json").is_file():
            raise ModelUnavailable(name, f"no model folder at {path} (config.json missing)", hint)
        return str(path), path
    return name, require(name, task, settings)
