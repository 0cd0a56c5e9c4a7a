"""Walking folders for the index: image and video files with their size and mtime in one pass.

Same rules as ``ocula.image.iter_image_files`` (image suffixes inside folders, hidden files
and folders skipped unless asked, symlink loops cut by (device, inode)), plus exclude
globs and the stat result the incremental index needs: ``os.scandir`` hands back the
stat cheaply, so 10,000 unchanged files cost one directory read each and a stat.

Symbolic links are followed only while they stay inside the folders given: a link in a shared
folder pointing at /home/someone/private.jpg would otherwise put that file's description and
tags in every search answer. ``follow_links=True`` follows them anywhere.
"""

from __future__ import annotations

import fnmatch
import os
import stat as stat_mod
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from ..image import IMAGE_SUFFIXES
from ..media import VIDEO_SUFFIXES

_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES  # videos are indexed by their keyframes


@dataclass(frozen=True, slots=True)
class Entry:
    path: str          # absolute, not symlink-resolved (what the user sees)
    size: int
    mtime_ns: int


def _excluded(path: str, name: str, patterns: tuple[str, ...]) -> bool:
    # a pattern matches the base name ("*.tmp", "thumbs") or the whole path ("*/cache/*")
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(path, p) for p in patterns)


def walk(roots: Iterable[str | os.PathLike], *, exclude: Iterable[str] = (), hidden: bool = False,
         follow_links: bool = False) -> Iterator[Entry]:
    """Image files under ``roots`` (files named directly are kept whatever their suffix),
    sorted within each folder. Unreadable folders are skipped, and so are links that lead out
    of ``roots`` unless ``follow_links``."""
    patterns = tuple(exclude)
    roots = [os.fspath(r) for r in roots]
    real_roots = [os.path.realpath(os.path.expanduser(r)) for r in roots]
    seen_dirs: set[tuple[int, int]] = set()

    def leaves(entry: os.DirEntry) -> bool:
        return not follow_links and entry.is_symlink() and not under(os.path.realpath(entry.path), real_roots)

    for root in roots:
        top = os.path.abspath(os.path.expanduser(os.fspath(root)))
        if not os.path.isdir(top):
            try:
                st = os.stat(top)
            except OSError:
                continue
            if stat_mod.S_ISREG(st.st_mode) and not _excluded(top, os.path.basename(top), patterns):
                yield Entry(top, st.st_size, st.st_mtime_ns)
            continue
        stack = [top]
        while stack:
            folder = stack.pop()
            try:
                st = os.stat(folder)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen_dirs:  # symlink loop or the same folder twice
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            subdirs = []
            for e in entries:
                if not hidden and e.name.startswith("."):
                    continue
                if _excluded(e.path, e.name, patterns):
                    continue
                try:
                    if leaves(e):
                        continue
                    if e.is_dir(follow_symlinks=True):
                        subdirs.append(e.path)
                        continue
                    if Path(e.name).suffix.lower() not in _SUFFIXES:
                        continue
                    est = e.stat(follow_symlinks=True)
                except OSError:  # a dangling symlink
                    continue
                if stat_mod.S_ISREG(est.st_mode):
                    yield Entry(e.path, est.st_size, est.st_mtime_ns)
            stack.extend(reversed(subdirs))  # depth-first, in name order


def under(path: str, roots: Iterable[str]) -> bool:
    """Whether ``path`` is one of ``roots`` or inside one of them (absolute paths)."""
    for r in roots:
        if path == r or path.startswith(r.rstrip(os.sep) + os.sep):
            return True
    return False
