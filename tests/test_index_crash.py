"""kill -9 in the middle of `ocula index`, run it again: the index continues where it
stopped, passes PRAGMA integrity_check, and holds every good image exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

N_GOOD = 30


def _collection(samples: Path, dest: Path) -> None:
    """30 different small images (crops and flips of the samples) and one corrupt file."""
    names = ["chelsea", "coffee", "rocket", "flower", "astronaut", "coins", "china", "grace_hopper", "text"]
    dest.mkdir(parents=True)
    i = 0
    while i < N_GOOD:
        name = names[i % len(names)]
        im = Image.open(samples / f"{name}.jpg").convert("RGB")
        im.thumbnail((160, 160))
        w, h = im.size
        k = i // len(names)
        im = im.crop((k * 7, k * 5, w - k * 3, h - k * 4))
        if k % 2:
            im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        im.save(dest / f"img{i:02d}.jpg", quality=90)
        i += 1
    (dest / "zz-corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 300)


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as c:
            return c.execute("SELECT count(*) FROM images").fetchone()[0]
    except sqlite3.Error:
        return 0


def _index_cmd(photos: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "ocula", "index", str(photos), "--db", str(db), "--steps", "classify",
            "--batch-size", "1", "--json"]


def test_kill_9_mid_run_then_resume(tmp_path, samples):
    photos, db = tmp_path / "photos", tmp_path / "crash.db"
    _collection(samples, photos)
    env = {**os.environ, "OCULA_THREADS": "1"}
    proc = subprocess.Popen(_index_cmd(photos, db), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    seen = 0
    while time.monotonic() < deadline and proc.poll() is None:
        seen = _count(db)
        if seen >= 3:
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.fail(f"indexing ended before it could be killed (rc {proc.returncode}): {proc.stderr.read()[-2000:]!r}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    at_kill = _count(db)
    assert 3 <= at_kill < N_GOOD, at_kill

    done = subprocess.run(_index_cmd(photos, db), env=env, capture_output=True, text=True, timeout=300)
    import json

    report = json.loads(done.stdout)
    assert done.returncode == 1  # the corrupt file is reported
    assert [Path(f["source"]).name for f in report["failed"]] == ["zz-corrupt.jpg"]
    assert report["unchanged"] >= at_kill and report["analysed"] == N_GOOD - report["unchanged"]
    assert report["images"] == N_GOOD

    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert c.execute("SELECT count(*) FROM images").fetchone()[0] == N_GOOD
        assert c.execute("SELECT count(DISTINCT path) FROM images").fetchone()[0] == N_GOOD
        assert c.execute("SELECT count(DISTINCT hash) FROM images").fetchone()[0] == N_GOOD
        assert c.execute("SELECT count(*) FROM fts").fetchone()[0] == N_GOOD
        assert c.execute("SELECT kind, count(*) FROM vectors GROUP BY kind ORDER BY kind").fetchall() == [
            ("image", N_GOOD), ("text", N_GOOD)]
        assert c.execute("SELECT count(*) FROM errors").fetchone()[0] == 1
        assert c.execute("SELECT count(*) FROM vectors WHERE image_id NOT IN (SELECT id FROM images)").fetchone()[0] == 0

    again = subprocess.run(_index_cmd(photos, db), env=env, capture_output=True, text=True, timeout=300)
    report = json.loads(again.stdout)
    assert (report["analysed"], report["unchanged"], report["skipped_bad"]) == (0, N_GOOD, 1)
    assert again.returncode == 0
