"""Faults from outside: a full disk, symbolic links out of an indexed folder, an endless query.

The full disk is simulated in-process (ENOSPC raised by the write, SQLITE_FULL by SQLite's own
page limit): making a small filesystem needs root (a tmpfs mount), which a test must not need.
The message has to come from the shared mechanisms (output.write_atomic, the index's error
handling, the CLI's top-level handler) as one line naming the disk and the file."""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from hostile import photo
from ocula.errors import DiskFull, InvalidArgument
from ocula.output import write_atomic


def _enospc(*args, **kw):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_write_atomic_on_a_full_disk_keeps_what_was_there(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"the user's file")
    with pytest.raises(DiskFull) as e:
        write_atomic(target, lambda fh: (fh.write(b"partial"), _enospc()), overwrite=True)
    msg = str(e.value)
    assert "\n" not in msg and str(target) in msg and "the disk at /" in msg and "is full" in msg
    assert target.read_bytes() == b"the user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temp file left behind


def _cli(monkeypatch, capsys, *argv: str) -> tuple[int, str, str]:
    """`ocula ARGV` in this process (so that a write can be made to fail), through main()."""
    from ocula.cli import main

    monkeypatch.setattr(sys, "argv", ["ocula", *argv])
    with pytest.raises(SystemExit) as e:
        main()
    out, err = capsys.readouterr()
    return e.value.code, out, err


@pytest.mark.parametrize("command", [["upscale", "--model", "lanczos", "--scale", "2"], ["denoise"]])
def test_enhance_output_on_a_full_disk_is_one_line(tmp_path, monkeypatch, capsys, command):
    src = tmp_path / "cat.jpg"
    photo(side=96).save(src)
    out = tmp_path / "result.png"
    monkeypatch.setattr(Image.Image, "save", _enospc)
    code, _, err = _cli(monkeypatch, capsys, *command, str(src), "-o", str(out))
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith("error:") and "is full" in lines[0] and str(out) in lines[0], err
    assert "Traceback" not in err and not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cat.jpg"]


def test_a_full_disk_stops_a_batch_with_one_line(tmp_path, monkeypatch, capsys):
    for i in range(3):
        photo(side=64).save(tmp_path / f"{i}.jpg")
    monkeypatch.setattr(Image.Image, "save", _enospc)
    code, _, err = _cli(monkeypatch, capsys, "denoise", str(tmp_path), "-o", str(tmp_path / "out"))
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "is full" in lines[0], err


def test_any_writer_on_a_full_disk_is_one_line(monkeypatch, capsys):
    """A write outside the shared writers (no file name known): still one line, no traceback."""
    import ocula.cli as cli

    def boom(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cli, "app", boom)
    code, _, err = _cli(monkeypatch, capsys, "analyze", "x.jpg")
    assert code == 1 and err.strip().splitlines() == [
        "error: the disk is full: a file could not be written — free some space and run the command again"]


def test_index_on_a_full_disk_is_one_line_and_keeps_the_index(tmp_path, monkeypatch, capsys):
    """SQLite answers SQLITE_FULL ("database or disk is full") when the db may not grow: here
    through its own page limit, set on every connection the index opens."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    photo(side=96).save(first / "cat.jpg")
    photo("coffee.jpg", side=96).save(second / "coffee.jpg")
    photo("rocket.jpg", side=96).save(second / "rocket.jpg")
    db = tmp_path / "index.db"
    steps = "colors,metadata"
    code, out, err = _cli(monkeypatch, capsys, "index", str(first), "--db", str(db), "--steps", steps)
    assert code in (0, None), err

    real_connect = sqlite3.connect

    def full_connect(*args, **kw):
        conn = real_connect(*args, **kw)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # not one page more
        return conn

    monkeypatch.setattr(sqlite3, "connect", full_connect)
    code, out, err = _cli(monkeypatch, capsys, "index", str(first), str(second), "--db", str(db), "--steps", steps)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert "is full" in lines[0] and str(db) in lines[0] and "every image indexed before is kept" in lines[0]
    monkeypatch.setattr(sqlite3, "connect", real_connect)
    conn = real_connect(db)
    assert [r[0] for r in conn.execute("SELECT path FROM images")] == [str(first / "cat.jpg")]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


# --- symbolic links out of an indexed folder ---------------------------------------------------

def test_links_out_of_the_folder_are_not_followed(tmp_path):
    from ocula.index.walk import walk

    shared, private = tmp_path / "shared", tmp_path / "private"
    (shared / "inner").mkdir(parents=True)
    private.mkdir()
    for p in (shared / "a.jpg", shared / "inner" / "b.jpg", private / "secret.jpg", private / "diary.jpg"):
        photo(side=32).save(p)
    os.symlink(private / "secret.jpg", shared / "link-out.jpg")
    os.symlink(private, shared / "dir-out")
    os.symlink(shared / "a.jpg", shared / "link-in.jpg")
    os.symlink(shared / "inner", shared / "dir-in")

    names = sorted(os.path.relpath(e.path, shared) for e in walk([shared]))
    assert names == ["a.jpg", "dir-in/b.jpg", "link-in.jpg"]  # inner/ is dir-in/: walked once
    allowed = sorted(os.path.relpath(e.path, shared) for e in walk([shared], follow_links=True))
    assert {"link-out.jpg", "dir-out/secret.jpg", "dir-out/diary.jpg"} <= set(allowed)
    # two folders given: a link from one into the other stays inside what was given
    both = sorted(os.path.relpath(e.path, tmp_path) for e in walk([shared, private]))
    assert "shared/link-out.jpg" in both


def test_index_skips_links_out_and_sweeps_them(tmp_path):
    from ocula.tasks.index import index
    from ocula.tasks.search import search  # noqa: F401

    shared, private = tmp_path / "shared", tmp_path / "private"
    shared.mkdir()
    private.mkdir()
    photo(side=64).save(shared / "cat.jpg")
    photo("coffee.jpg", side=64).save(private / "secret.jpg")
    os.symlink(private / "secret.jpg", shared / "link.jpg")
    db = tmp_path / "i.db"
    with_links = index([shared], db=db, steps=["colors"], follow_links=True)
    assert with_links.images == 2
    report = index([shared], db=db, steps=["colors"])
    assert report.images == 1 and report.removed == 1 and report.seen == 1
    conn = sqlite3.connect(db)
    assert [r[0] for r in conn.execute("SELECT path FROM images")] == [str(shared / "cat.jpg")]
    conn.close()


# --- a query nobody can mean ------------------------------------------------------------------

def test_an_endless_query_is_refused_at_once(tmp_path):
    from ocula.tasks.search import MAX_QUERY_CHARS, search

    words = " ".join(f"word{i}" for i in range(30_000))
    t0 = time.perf_counter()
    with pytest.raises(InvalidArgument, match=f"the limit is {MAX_QUERY_CHARS}"):
        search(words, db=tmp_path / "none.db")
    assert time.perf_counter() - t0 < 5
    assert MAX_QUERY_CHARS == 500  # the server's SearchOptions.query limit
