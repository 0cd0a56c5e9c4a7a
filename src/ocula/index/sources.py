"""What a distributed index job reads: a folder (local or a shared mount), a text file of paths
and URLs, or an object-store prefix (``s3://``, ``gs://``, ``file://`` ... through fsspec, with
credentials from the environment as each filesystem library reads them).

Inputs are ``Entry`` records (path or URL as stored in the index, size, mtime) like a folder
walk's, so the incremental rules are the same; ``read_bytes`` fetches one on whichever machine
analyses it. A path or URL that cannot be listed or read is reported per file, never aborts.
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import Iterator

from ..image import IMAGE_SUFFIXES
from ..media import VIDEO_SUFFIXES
from .walk import Entry, walk

_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES  # videos are listed so that the job reports them

__all__ = ["is_remote", "list_source", "read_bytes", "Unreadable"]


class Unreadable(Exception):
    """One input that could not be listed or read (a missing object, no permission)."""


def is_remote(path: str) -> bool:
    """An fsspec URL (s3://, gs://, file://, http(s)://...) rather than a local path."""
    return "://" in path and not path.lower().startswith(("postgresql://", "postgres://"))


def _fs(url: str):
    try:
        import fsspec
    except ImportError:
        from ..errors import OculaError

        raise OculaError("object-store inputs need fsspec (and s3fs or gcsfs): pip install 'ocula[scale]'") from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as e:
        from ..errors import InvalidArgument

        raise InvalidArgument(f"cannot open {url}: {e}; install the filesystem package it needs "
                              "(s3fs for s3://, gcsfs for gs://)") from None


def _mtime_ns(info: dict) -> int:
    for key in ("mtime", "LastModified", "updated", "last_modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return int(value.timestamp() * 1e9)
        try:
            return int(float(value) * 1e9)
        except (TypeError, ValueError):
            continue
    return 0


def _remote_entries(url: str, failed: list[tuple[str, str]]) -> Iterator[Entry]:
    fs, root = _fs(url)
    protocol = url.split("://", 1)[0]
    try:
        info = fs.info(root)
    except (OSError, ValueError) as e:
        failed.append((url, f"cannot read: {e}"))
        return
    if info.get("type") != "directory":
        yield Entry(url, int(info.get("size") or 0), _mtime_ns(info))
        return
    try:
        found = fs.find(root, detail=True)
    except (OSError, ValueError) as e:
        failed.append((url, f"cannot list: {e}"))
        return
    for key in sorted(found):
        meta = found[key]
        if meta.get("type") == "directory" or PurePosixPath(key).suffix.lower() not in _SUFFIXES:
            continue
        if any(part.startswith(".") for part in PurePosixPath(key).parts):
            continue
        yield Entry(f"{protocol}://{key.lstrip('/') if protocol != 'file' else key}", int(meta.get("size") or 0),
                    _mtime_ns(meta))


def _list_file(path: str) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [line.strip() for line in fh if line.strip() and not line.lstrip().startswith("#")]


def list_source(source: str, *, exclude: tuple[str, ...] = (), hidden: bool = False, follow_links: bool = False
                ) -> tuple[list[Entry], list[tuple[str, str]], list[str]]:
    """(inputs, [(path, problem)], roots) of a folder, image file, list file (``.txt``, one
    path or URL a line) or object-store URL. ``roots``: where vanished images are swept (the
    folders and prefixes walked; none for a list file)."""
    failed: list[tuple[str, str]] = []
    if is_remote(source):
        return list(_remote_entries(source, failed)), failed, [source.rstrip("/")]
    local = os.path.abspath(os.path.expanduser(source))
    if os.path.isfile(local) and local.lower().endswith((".txt", ".lst", ".list")):
        entries: list[Entry] = []
        for item in _list_file(local):
            if is_remote(item):
                entries.extend(_remote_entries(item, failed))
                continue
            path = os.path.abspath(os.path.expanduser(item))
            try:
                st = os.stat(path)
            except OSError as e:
                failed.append((path, f"cannot read: {e.strerror or e}"))
                continue
            if os.path.isdir(path):
                entries.extend(walk([path], exclude=exclude, hidden=hidden, follow_links=follow_links))
            else:
                entries.append(Entry(path, st.st_size, st.st_mtime_ns))
        return entries, failed, []
    return list(walk([local], exclude=exclude, hidden=hidden, follow_links=follow_links)), failed, [local]


def read_bytes(path: str) -> bytes:
    """The bytes of one input, local or remote; ``Unreadable`` with the reason when they cannot be read."""
    try:
        if not is_remote(path):
            with open(path, "rb") as fh:
                return fh.read()
        fs, key = _fs(path)
        with fs.open(key, "rb") as fh:
            return fh.read()
    except (OSError, ValueError) as e:
        raise Unreadable(f"cannot read: {e}") from None
