"""Labelled images from class folders (DATA_DIR/<class>/*.png) or a CSV of ``path,label``.

Problems with single files or folders never stop training: they are collected in
``Dataset.skipped`` (and the report) so that the good images are still used. Only problems that
leave nothing to learn from (no classes, a single class) raise.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InvalidArgument
from ..image import IMAGE_SUFFIXES

_FIX = ("put one folder per class in DATA_DIR (DATA_DIR/cat/*.jpg, DATA_DIR/dog/*.jpg ...) "
        "or give a CSV file with lines path,label")


@dataclass
class Dataset:
    paths: list[Path]
    labels: np.ndarray            # int64 class indices into ``classes``
    classes: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (path, reason)
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(self.classes))

    def subset(self, idx: np.ndarray) -> "Dataset":
        return Dataset([self.paths[i] for i in idx], self.labels[idx], self.classes, self.skipped, self.warnings)

    def drop(self, bad: dict[int, str]) -> "Dataset":
        """Without the items at the given indices (recorded as skipped with their reason)."""
        keep = np.array([i for i in range(len(self.paths)) if i not in bad], dtype=np.int64)
        self.skipped.extend((str(self.paths[i]), why) for i, why in sorted(bad.items()))
        return self.subset(keep)


def _walk_images(folder: Path, skipped: list[tuple[str, str]]) -> list[Path]:
    """Image files under ``folder`` (sorted, recursive); unreadable sub-folders are recorded."""
    out: list[Path] = []

    def onerror(e: OSError) -> None:
        skipped.append((str(e.filename or folder), f"folder could not be read ({e.strerror or e})"))

    seen: set[tuple[int, int]] = set()
    for root, dirs, files in os.walk(folder, onerror=onerror, followlinks=True):
        st = os.stat(root)
        if (st.st_dev, st.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(root) / f for f in sorted(files)
                   if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES)
    return out


def _from_folders(root: Path) -> tuple[list[Path], list[str], list[tuple[str, str]], list[str]]:
    skipped: list[tuple[str, str]] = []
    warnings: list[str] = []
    try:
        entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    except OSError as e:
        raise InvalidArgument(f"cannot read the data folder {root}: {e.strerror or e}") from None
    class_dirs = [p for p in entries if p.is_dir()]
    loose = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if loose:
        warnings.append(f"{len(loose)} image(s) directly in {root} ignored: images must be in a folder per class")
    paths: list[Path] = []
    names: list[str] = []
    for d in class_dirs:
        if not os.access(d, os.R_OK | os.X_OK):
            skipped.append((str(d), "folder could not be read (permission denied)"))
            continue
        files = _walk_images(d, skipped)
        if not files:
            warnings.append(f"class {d.name!r} has no images in {d}: left out")
            continue
        paths.extend(files)
        names.extend([d.name] * len(files))
    return paths, names, skipped, warnings


def _from_csv(path: Path) -> tuple[list[Path], list[str], list[tuple[str, str]], list[str]]:
    skipped: list[tuple[str, str]] = []
    paths: list[Path] = []
    names: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InvalidArgument(f"cannot read the CSV file {path}: {e}") from None
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["path", "label"]:
        rows = rows[1:]
    for n, row in enumerate(rows, 1):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            skipped.append((f"{path}:{n}", "expected a line path,label"))
            continue
        p = Path(row[0].strip()).expanduser()
        p = p if p.is_absolute() else path.parent / p
        if not p.is_file():
            skipped.append((str(p), "file not found"))
            continue
        paths.append(p)
        names.append(row[1].strip())
    return paths, names, skipped, []


def load_dataset(source: str | os.PathLike) -> Dataset:
    """Read class folders or a CSV; classes sorted by name. Raises InvalidArgument when fewer
    than two classes with images remain."""
    root = Path(source).expanduser()
    if not root.exists():
        raise InvalidArgument(f"data not found: {root} ({_FIX})")
    if root.is_dir():
        paths, names, skipped, warnings = _from_folders(root)
    elif root.suffix.lower() in (".csv", ".txt"):
        paths, names, skipped, warnings = _from_csv(root)
    else:
        raise InvalidArgument(f"{root} is neither a folder nor a .csv file ({_FIX})")
    classes = sorted(set(names))
    if len(classes) < 2:
        found = f"only the class {classes[0]!r}" if classes else "no class with images"
        raise InvalidArgument(f"{root}: {found} found; a classifier needs at least two classes ({_FIX})")
    index = {c: i for i, c in enumerate(classes)}
    labels = np.array([index[n] for n in names], dtype=np.int64)
    return Dataset(paths, labels, classes, skipped, warnings)


def split(ds: Dataset, val_split: float, seed: int) -> tuple[Dataset, Dataset]:
    """Stratified train/validation split: every class keeps at least one training image, and
    a class with two or more images gives at least one to validation when val_split > 0."""
    if not 0 <= val_split < 1:
        raise InvalidArgument(f"val_split must be in [0, 1), got {val_split}")
    rng = np.random.default_rng(seed)
    train_idx: list[int] = []
    val_idx: list[int] = []
    for c in range(len(ds.classes)):
        idx = np.flatnonzero(ds.labels == c)
        idx = idx[rng.permutation(len(idx))]
        n_val = 0 if val_split == 0 or len(idx) < 2 else min(len(idx) - 1, max(1, round(len(idx) * val_split)))
        val_idx.extend(idx[:n_val].tolist())
        train_idx.extend(idx[n_val:].tolist())
    return ds.subset(np.array(sorted(train_idx), dtype=np.int64)), ds.subset(np.array(sorted(val_idx), dtype=np.int64))


def class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Inverse-frequency weights (mean 1 over samples) so that rare classes count as much."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, len(labels) / (n_classes * np.maximum(counts, 1)), 0.0)
    return w.astype(np.float32)
