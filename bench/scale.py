"""Scale benchmark: Ray's overhead on one machine, the PostgreSQL + pgvector index against the
SQLite + faiss one at up to 1M vectors, and batched write throughput with concurrent writers.

    .venv/bin/python bench/scale.py [--photos 500] [--steps classify] [--sizes 100000,1000000]
                                    [--queries 200] [--writers 1,2,4] [--rows 2000] [--skip ...]

Three parts, side by side in one run (the machines here are shared and noisy: read the ratios):

- ``index``: ``ocula index FOLDER --db URL`` in-process against ``--ray local`` on the same
  ``--photos`` distinct >= 2 MP JPEGs made from the samples, each a fresh process and a
  fresh database on the same local server, so process start, model loading and (for Ray) the
  cluster start count for both. Target: Ray >= 0.9 of in-process throughput on 2 CPUs.
- ``vectors``: ``--sizes`` x 384-d vectors with the structure of photo embeddings (the
  generator of bench/search.py), loaded into PostgreSQL (binary COPY) and indexed by
  ``PostgresStore.sync()`` (pgvector HNSW, m=16, ef_construction=64, cosine), beside ocula's
  faiss IVF index (the one a SQLite index uses from 100k vectors on). Queries one at a time
  through ``PostgresStore.nearest`` (SQL round trip included) and ``VectorIndex.search``, in turn;
  p50/p99, recall@10 against the exact top 10, build time, index size.
- ``writes``: 1, 2, 4 processes each committing ``--rows`` images (row, words, a 384-d text
  vector and a 1280-d image vector) in batches of 8 (the indexer's batch) through the store
  interface; rows/s over all writers. SQLite beside it (one writer at a time by design).

Table on stdout, JSON in bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, photo_set, table, write_json  # noqa: E402
from search import exact_top, make_queries, make_vectors, recall  # noqa: E402

OCULA = [sys.executable, "-m", "ocula"]


def _server(folder: str):
    from ocula.index.postgres import start_server

    return lambda name: start_server(folder, name)


# -- in-process against Ray ------------------------------------------------------------------------

def index_rows(photos: int, steps: str, work: Path, new_db) -> list[dict]:
    folder = work / "distinct"
    files = photo_set(folder, photos)  # distinct: repeats would be copies, not analysed
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    rows = []
    for mode in ("in-process", "ray local"):
        db = new_db(f"bench_index_{mode.split()[0].replace('-', '_')}")
        cmd = [*OCULA, "index", str(folder), "--db", db, "--steps", steps, "--json"]
        if mode != "in-process":
            cmd += ["--ray", "local"]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        if done.returncode not in (0, 1):
            raise SystemExit(f"{mode} failed: {done.stderr[-3000:]}")
        report = json.loads(done.stdout)
        rows.append({"run": mode, "photos": len(files), "steps": steps, "analysed": report["analysed"],
                     "wall_s": round(wall, 1), "images_per_s_wall": round(report["analysed"] / wall, 3),
                     "images_per_s_analysis": report["images_per_second"], "workers": report.get("workers") or 1})
    base = rows[0]["images_per_s_wall"]
    for r in rows:
        r["ratio_wall"] = round(r["images_per_s_wall"] / base, 3)
        r["ratio_analysis"] = round(r["images_per_s_analysis"] / rows[0]["images_per_s_analysis"], 3)
    return rows


# -- pgvector HNSW against faiss IVF --------------------------------------------------------------

def _load_pg(url: str, x: np.ndarray) -> float:
    """Rows and vectors through binary COPY (a bulk load, as a migration of an archive would)."""
    import psycopg

    from ocula.index import open_store

    open_store(url, create=True).close()  # the schema
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        from pgvector.psycopg import register_vector

        register_vector(conn)
        with conn.cursor() as cur:
            with cur.copy("COPY images (id, path, size, mtime_ns, hash, indexed_at) FROM STDIN WITH (FORMAT BINARY)"
                          ) as copy:
                copy.set_types(["int8", "text", "int8", "int8", "text", "float8"])
                for i in range(x.shape[0]):
                    copy.write_row((i + 1, f"/bench/{i:07d}.jpg", 1000, 0, f"h{i}", 0.0))
            with cur.copy("COPY vectors (image_id, kind, model, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "text", "text", "vector"])
                for i in range(x.shape[0]):
                    copy.write_row((i + 1, "text", "bench", x[i]))
            cur.execute("INSERT INTO vector_models(kind, model, dim) VALUES('text', 'bench', %s)", (x.shape[1],))
            cur.execute("ANALYZE images")
            cur.execute("ANALYZE vectors")
    return time.perf_counter() - t0


def vector_rows(n: int, dim: int, nq: int, work: Path, new_db, ef_search: list[int]) -> list[dict]:
    import psycopg

    from ocula.index import open_store
    from ocula.index.postgres import ann_index_name
    from ocula.index.vectors import open_vectors

    x = make_vectors(n, dim, seed=n)
    q = make_queries(x, nq)
    truth = exact_top(x, q) + 1  # ids are row + 1
    url = new_db(f"bench_vec_{n}")
    load = _load_pg(url, x)
    store = open_store(url)
    t0 = time.perf_counter()
    store.sync()  # builds the HNSW index
    build = time.perf_counter() - t0
    with psycopg.connect(url) as c:
        idx_mb = c.execute("SELECT pg_relation_size(%s::regclass)", (ann_index_name("text", "bench", dim),)
                           ).fetchone()[0] / 1e6
        table_mb = c.execute("SELECT pg_total_relation_size('vectors')").fetchone()[0] / 1e6 - idx_mb
    path = work / f"ivf-{n}.vec"
    t0 = time.perf_counter()
    ivf = open_vectors(path, dim, kind="ivf", threads=2)
    ivf.add(np.arange(1, n + 1, dtype=np.int64), x)
    ivf_build = time.perf_counter() - t0
    ivf.save()
    ivf_mb = path.stat().st_size / 1e6
    from ocula.index import postgres

    def hnsw(ef: int):
        def search(v: np.ndarray) -> np.ndarray:
            postgres.EF_SEARCH_MIN = ef  # the candidate list nearest() asks for (it takes at least 2 k)
            return store.nearest("text", v, 10)[0]
        return search

    default_ef = postgres.EF_SEARCH_MIN
    fns = {f"pgvector hnsw, ef_search {ef}{' (default)' if ef == default_ef else ''}": hnsw(ef) for ef in ef_search}
    fns["faiss ivf (sqlite index)"] = lambda v: ivf.search(v, 10)[0]
    for fn in fns.values():
        for v in q[:5]:
            fn(v)  # warm the caches: the index pages, the IVF lists
    times = {k: [] for k in fns}
    got = {k: [] for k in fns}
    for v in q:
        for name, fn in fns.items():
            t = time.perf_counter()
            got[name].append(np.asarray(fn(v)))
            times[name].append((time.perf_counter() - t) * 1000)
    store.close()
    path.unlink(missing_ok=True)
    rows = []
    for name in fns:
        ms = np.array(times[name])
        rows.append({"vectors": n, "dim": dim, "index": name, "p50_ms": round(float(np.percentile(ms, 50)), 2),
                     "p99_ms": round(float(np.percentile(ms, 99)), 2), "recall@10": round(recall(got[name], truth), 4),
                     "build_s": round(build if name.startswith("pg") else ivf_build, 1),
                     "load_s": round(load, 1) if name.startswith("pg") else "",
                     "index_mb": round(idx_mb if name.startswith("pg") else ivf_mb, 1),
                     "table_mb": round(table_mb, 1) if name.startswith("pg") else ""})
    return rows


# -- batched writes -------------------------------------------------------------------------------

def _writer(db: str, writer: int, rows: int, start, out) -> None:
    from ocula.index import open_store

    rng = np.random.default_rng(writer)
    text = rng.standard_normal((rows, 384)).astype(np.float32)
    image = rng.standard_normal((rows, 1280)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    image /= np.linalg.norm(image, axis=1, keepdims=True)
    store = open_store(db, create=True)
    start.wait()
    t0 = time.perf_counter()
    for b in range(0, rows, 8):
        with store.transaction():
            for i in range(b, min(rows, b + 8)):
                id_ = store.upsert_image({
                    "path": f"/w{writer}/{i:06d}.jpg", "size": 1000, "mtime_ns": i, "hash": f"{writer}-{i}",
                    "width": 4000, "height": 3000, "taken": "2024-05-01T10:00:00", "has_text": 0, "faces": 0,
                    "quality": 2, "phash": i, "analysis": "{}", "ocr": "", "description": f"a photo number {i}",
                    "tags_en": "photo, bench", "tags_zh": "照片", "labels": "bench", "steps": "classify",
                    "indexed_at": time.time()})
                store.put_vector(id_, "text", "bench-text", text[i])
                store.put_vector(id_, "image", "bench-image", image[i])
    out.put(time.perf_counter() - t0)
    store.close()


def write_rows(writers: list[int], rows: int, work: Path, new_db) -> list[dict]:
    ctx = mp.get_context("spawn")
    out = []
    for backend in ("postgresql", "sqlite"):
        for w in writers:
            db = new_db(f"bench_write_{w}") if backend == "postgresql" else str(work / f"write-{w}.db")
            from ocula.index import open_store

            open_store(db, create=True).close()  # schema first: the writers measure writes only
            start, q = ctx.Event(), ctx.Queue()
            procs = [ctx.Process(target=_writer, args=(db, i, rows, start, q)) for i in range(w)]
            for p in procs:
                p.start()
            time.sleep(3.0)  # every writer connected and ready
            t0 = time.perf_counter()
            start.set()
            for p in procs:
                p.join()
            wall = time.perf_counter() - t0
            with open_store(db) as s:
                count = s.count()
            assert count == w * rows, (backend, w, count)
            out.append({"backend": backend, "writers": w, "rows": w * rows, "seconds": round(wall, 2),
                        "rows_per_s": round(w * rows / wall, 1)})
    base = {r["backend"]: r["rows_per_s"] for r in out if r["writers"] == writers[0]}
    for r in out:
        r["vs_one_writer"] = round(r["rows_per_s"] / base[r["backend"]], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=500)
    ap.add_argument("--steps", default="classify", help="analyze steps of both index runs (default classify)")
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--ef-search", default="", help="HNSW candidate lists to compare (default: ocula's)")
    ap.add_argument("--writers", default="1,2,4")
    ap.add_argument("--rows", type=int, default=2000, help="rows per writer")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: index, vectors, writes")
    ap.add_argument("--build-memory", default="4GB", help="the server's maintenance_work_mem (HNSW builds)")
    ap.add_argument("--out", default="scale", help="name of the JSON under bench/results/")
    ap.add_argument("--work", default=None, help="work folder (default: a temp folder; photos are kept there)")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    from ocula.index.postgres import EF_SEARCH_MIN

    ef = [int(e) for e in args.ef_search.split(",") if e] or [EF_SEARCH_MIN]
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="ocula-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    pg = tempfile.mkdtemp(prefix="ocula-pg-bench-")
    from ocula.index.postgres import start_server, stop_server

    base = start_server(pg, "ocula")
    new_db = _server(pg)
    import psycopg

    with psycopg.connect(base, autocommit=True) as c:  # as an operator would tune a server for a 1M build
        c.execute(f"ALTER SYSTEM SET maintenance_work_mem = '{args.build_memory}'")
        c.execute("SELECT pg_reload_conf()")
    result: dict = {"postgres_dir": pg}
    try:
        if "index" not in skip:
            rows = index_rows(args.photos, args.steps, work, new_db)
            print(table(rows, list(rows[0])), "\n", flush=True)
            result["index"] = rows
        if "vectors" not in skip:
            rows = []
            for n in [int(s) for s in args.sizes.split(",") if s]:
                rows += vector_rows(n, args.dim, args.queries, work, new_db, ef)
                print(table(rows[-len(ef) - 1:], list(rows[-1])), "\n", flush=True)
                result["vectors"] = rows
                write_json(args.out, result)
        if "writes" not in skip:
            rows = write_rows([int(w) for w in args.writers.split(",")], args.rows, work, new_db)
            print(table(rows, list(rows[0])), "\n", flush=True)
            result["writes"] = rows
    finally:
        print(f"results: {write_json(args.out, result)}")
        stop_server(pg)
        shutil.rmtree(pg, ignore_errors=True)


if __name__ == "__main__":
    main()
