"""EfficientNet-Lite0 features for training, cached on disk so that a second run (another
mode, seed or number of epochs on the same images) does not decode and embed them again.

Cache: ``<cache_dir>/features.npz`` keyed by absolute path, size and mtime of each file, so an
edited image is embedded again. Corrupt or unreadable images are returned as ``bad`` (index ->
reason) and never stop the run.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..backends import efficientnet
from ..config import Settings, get_settings
from ..errors import OculaError
from ..image import load_image
from ..output import replacing

# the classify task's decode size: train and inference must see the same pixels
MAX_SIDE = 384
CACHE_VERSION = "1"
Progress = Callable[[str, int, int, dict], None]


def backbone_features(images: Sequence, settings: Settings, batch_size: int = 32) -> np.ndarray:
    """Features (N, 1280) of PIL images (the same values as efficientnet.features; on
    onnxruntime: on a busy 2-core machine torch eager managed 5 images/s where it did 40)."""
    return efficientnet.forward(list(images), settings=settings, batch_size=batch_size)[1]


def _key(path: Path) -> str:
    st = path.stat()
    raw = f"{CACHE_VERSION}|{efficientnet.NAME}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha1(raw.encode()).hexdigest()


def load_rgb(path: Path, settings: Settings):
    """The RGB PIL image as the classify task would see it (raises OculaError)."""
    return load_image(path, max_side=MAX_SIDE, settings=settings).image


def _read_cache(file: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(file, allow_pickle=False) as z:
            return dict(zip(z["keys"].tolist(), z["feats"]))
    except (OSError, KeyError, ValueError):
        return {}


def _write_cache(file: Path, cache: dict[str, np.ndarray]) -> None:
    keys = list(cache)
    with replacing(file, suffix=".npz") as tmp:
        np.savez(tmp, keys=np.array(keys), feats=np.stack([cache[k] for k in keys]).astype(np.float32))


def extract(paths: Sequence[Path], cache_dir: Path | None, *, settings: Settings | None = None,
            progress: Progress | None = None, batch_size: int = 32) -> tuple[np.ndarray, dict[int, str]]:
    """Features (N, 1280) for ``paths`` (rows of bad images are zero) and ``bad``."""
    settings = settings or get_settings()
    feats = np.zeros((len(paths), efficientnet.FEATURE_DIM), np.float32)
    bad: dict[int, str] = {}
    cache_file = cache_dir / "features.npz" if cache_dir else None
    cache = _read_cache(cache_file) if cache_file and cache_file.exists() else {}
    keys: list[str | None] = []
    todo: list[int] = []
    for i, p in enumerate(paths):
        try:
            k = _key(Path(p))
        except OSError as e:
            bad[i] = f"cannot read ({e.strerror or e})"
            keys.append(None)
            continue
        keys.append(k)
        if k in cache:
            feats[i] = cache[k]
        else:
            todo.append(i)
    done = len(paths) - len(todo)
    if progress:
        progress("features", done, len(paths), {})
    for start in range(0, len(todo), batch_size):
        chunk = todo[start:start + batch_size]
        images, ok = [], []
        for i in chunk:
            try:
                images.append(load_rgb(Path(paths[i]), settings))
                ok.append(i)
            except OculaError as e:
                bad[i] = getattr(e, "reason", str(e))
        if images:
            f = backbone_features(images, settings)
            for i, row in zip(ok, f):
                feats[i] = row
                cache[keys[i]] = row
        done += len(chunk)
        if progress:
            progress("features", done, len(paths), {})
    if cache_file and todo:
        _write_cache(cache_file, cache)
    return feats, bad


def embed(images: Sequence, *, settings: Settings | None = None) -> np.ndarray:
    """Features of already loaded (e.g. augmented) PIL images, no cache."""
    return backbone_features(list(images), settings or get_settings())
