"""Search benchmark: query latency of the vector indexes at 10k, 100k and 1M vectors, brute
force against the IVF index, plus the indexing rows from bench/_index_bench.py.

    .venv/bin/python bench/search.py [--sizes 10000,100000,1000000] [--dim 384] [--queries 200]
                                     [--threads 2] [--no-index] [--index-count 10000]
                                     [--index-images 16] [--compare 20000x1280]

- Vectors: synthetic, L2-normalised, with the structure of photo embeddings (1000 clusters in a
  64-d latent space, projected to ``dim`` with isotropic noise; a photo's nearest neighbours
  sit at cosine ~0.45, a random pair at ~0). Uniformly random vectors have no neighbours worth
  the name and defeat every ANN index (HNSW too); they are not what search sees.
- Queries: stored vectors plus noise (search by example, a text query near some photos).
- Peer: a plain numpy scan ``X @ q`` + argpartition over all vectors, as small CLIP search tools
  do. "flat" is ocula's exact kind (the same scan), "int8" its quantised scan with float re-rank,
  "ivf" the ANN index (faiss IVF-Flat) that ``open_vectors(kind="auto")`` uses from 100k on.
- Recall@10 against the exact top 10. Latency: one query at a time, p50/p99 over ``--queries``;
  BLAS/OpenMP limited to ``--threads`` (target: p50 < 20 ms at 1M on 2 threads, recall >= 0.95).
- ``--compare NxD``: the three ANN libraries measured for the choice (usearch HNSW, hnswlib,
  faiss HNSW, faiss IVF) when installed: build time, latency, recall, file size.
The machines here are shared and noisy: read the ratios against the numpy scan.
"""

from __future__ import annotations

import argparse
import os
import sys

# thread limits must be set before numpy loads its BLAS
_THREADS = "2"
for _i, _a in enumerate(sys.argv):
    if _a == "--threads" and _i + 1 < len(sys.argv):
        _THREADS = sys.argv[_i + 1]
    elif _a.startswith("--threads="):
        _THREADS = _a.split("=", 1)[1]
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = _THREADS
# faiss's OpenMP threads otherwise spin after each call and starve numpy's BLAS threads
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table, write_json  # noqa: E402

from ocula.index.vectors import open_vectors  # noqa: E402


def make_vectors(n: int, dim: int, seed: int = 0, latent: int = 64, clusters: int = 1000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    proj = rng.standard_normal((latent, dim), dtype=np.float32) / np.sqrt(latent)
    centres = rng.standard_normal((clusters, latent), dtype=np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    noise = np.sqrt(latent) / 4 / np.sqrt(dim)
    for i in range(0, n, 100_000):
        m = min(100_000, n - i)
        z = centres[rng.integers(0, clusters, m)] + rng.standard_normal((m, latent), dtype=np.float32)
        out[i : i + m] = z @ proj + noise * rng.standard_normal((m, dim), dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def make_queries(x: np.ndarray, count: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q = x[rng.integers(0, x.shape[0], count)] + 0.05 * rng.standard_normal((count, x.shape[1]), dtype=np.float32)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def exact_top(x: np.ndarray, q: np.ndarray, k: int = 10) -> np.ndarray:
    """Row indices of the exact top k per query (in blocks: 200 x 1M scores is 800 MB)."""
    best = np.empty((q.shape[0], k), dtype=np.int64)
    for i in range(0, q.shape[0], 50):
        s = q[i : i + 50] @ x.T
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(s, part, 1), axis=1)
        best[i : i + 50] = np.take_along_axis(part, order, 1)
    return best


def timed_round_robin(fns: dict, queries: np.ndarray) -> dict[str, tuple[list, np.ndarray]]:
    """Each query through every method in turn, so that the load spikes of a shared machine
    fall on all of them alike. {name: (results, milliseconds)}."""
    for fn in fns.values():
        fn(queries[0])  # warm caches and lazy state
    out = {name: ([], []) for name in fns}
    for q in queries:
        for name, fn in fns.items():
            t = time.perf_counter()
            res = fn(q)
            out[name][1].append(time.perf_counter() - t)
            out[name][0].append(res)
    return {name: (res, np.array(ms) * 1000) for name, (res, ms) in out.items()}


def recall(got: list[np.ndarray], truth: np.ndarray) -> float:
    return float(np.mean([len(set(g.tolist()) & set(t.tolist())) / truth.shape[1] for g, t in zip(got, truth)]))


def numpy_scan(x: np.ndarray, k: int = 10):
    def search(q: np.ndarray) -> np.ndarray:
        s = x @ q
        part = np.argpartition(-s, k - 1)[:k]
        return part[np.argsort(-s[part])]
    return search


def size_rows(n: int, dim: int, nq: int, threads: int, work: Path) -> list[dict]:
    x = make_vectors(n, dim, seed=n)
    q = make_queries(x, nq)
    truth = exact_top(x, q)
    ids = np.arange(n, dtype=np.int64)
    fns = {"numpy scan (peer)": numpy_scan(x)}
    extra: dict[str, dict] = {"numpy scan (peer)": {}}
    keep = []
    for kind in ("flat", "int8", "ivf"):
        path = work / f"{n}-{dim}-{kind}.vec"
        t0 = time.perf_counter()
        index = open_vectors(path, dim, kind=kind, threads=threads)
        index.add(ids, x)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        index.save()
        save = time.perf_counter() - t0
        del index
        t0 = time.perf_counter()
        again = open_vectors(path, dim, kind=kind, threads=threads, verify=True)
        load = time.perf_counter() - t0
        assert not again.stale, again.problem
        keep.append(again)
        fns[kind] = (lambda ix: (lambda v: ix.search(v, 10)[0]))(again)
        extra[kind] = {"build_s": round(build, 2), "save_s": round(save, 2), "open_s": round(load, 2),
                       "file_mb": round(path.stat().st_size / 1e6, 1)}
        if kind == "ivf":
            extra[kind]["note"] = f"{again._ann.cells} cells, nprobe {again._ann.index.nprobe}"
            # SQL filters: 30% of the collection allowed (filtered in the cells), and 1%
            for share in (0.3, 0.01):
                # sorted, as ``SELECT id ... ORDER BY id`` returns them
                allowed = np.sort(np.random.default_rng(7).choice(ids, max(10, int(n * share)), replace=False))
                name = f"ivf, {share:.0%} allowed"
                fns[name] = (lambda ix, al: (lambda v: ix.search(v, 10, allowed=al)[0]))(again, allowed)
                extra[name] = {"allowed": allowed}
        path.unlink(missing_ok=True)
    timings = timed_round_robin(fns, q)
    peer = float(np.percentile(timings["numpy scan (peer)"][1], 50))
    rows = []
    for name, (got, ms) in timings.items():
        info = dict(extra[name])
        allowed = info.pop("allowed", None)
        if allowed is None:
            rec = recall(got, truth)
        else:
            mask = np.zeros(n, dtype=bool)
            mask[allowed] = True
            sub = np.flatnonzero(mask)
            rec = recall(got, sub[exact_top(x[sub], q)])
            info["note"] = "only allowed ids" if all(mask[g].all() for g in got) else "RETURNED A FILTERED-OUT ID"
        p50 = float(np.percentile(ms, 50))
        rows.append({"vectors": n, "dim": dim, "index": name, "p50_ms": round(p50, 3),
                     "p99_ms": round(float(np.percentile(ms, 99)), 3), "recall@10": round(rec, 4),
                     "speedup_vs_numpy": round(peer / p50, 1), **info})
    del keep
    return rows


def compare_rows(n: int, dim: int, nq: int, threads: int, work: Path) -> list[dict]:
    """The ANN libraries side by side at the same settings (HNSW M=16, ef_construction=128,
    ef_search=64; IVF as ocula configures it)."""
    import importlib.util
    import math

    x = make_vectors(n, dim, seed=n + dim)
    q = make_queries(x, nq)
    truth = exact_top(x, q)
    ids = np.arange(n, dtype=np.int64)
    rows = []
    for lib in ("faiss-ivf", "faiss-hnsw", "hnswlib", "usearch"):
        module = {"faiss-ivf": "faiss", "faiss-hnsw": "faiss"}.get(lib, lib)
        if importlib.util.find_spec(module) is None:
            rows.append({"library": lib, "vectors": n, "dim": dim, "note": "not installed"})
            continue
        path = work / f"cmp-{lib}.idx"
        t0 = time.perf_counter()
        if lib == "usearch":
            from usearch.index import Index

            idx = Index(ndim=dim, metric="ip", dtype="f32", connectivity=16, expansion_add=128, expansion_search=64)
            idx.add(ids, x, threads=threads)
            build = time.perf_counter() - t0
            search = lambda v: np.asarray(idx.search(v, 10, threads=1).keys)  # noqa: E731
            idx.save(str(path))
        elif lib == "hnswlib":
            import hnswlib

            idx = hnswlib.Index(space="ip", dim=dim)
            idx.init_index(max_elements=n, M=16, ef_construction=128)
            idx.set_num_threads(threads)
            idx.add_items(x, ids)
            idx.set_ef(64)
            build = time.perf_counter() - t0
            idx.set_num_threads(1)
            search = lambda v: idx.knn_query(v, k=10)[0][0]  # noqa: E731
            idx.save_index(str(path))
        else:
            import faiss

            faiss.omp_set_num_threads(threads)
            if lib == "faiss-hnsw":
                base = faiss.IndexHNSWFlat(dim, 16, faiss.METRIC_INNER_PRODUCT)
                base.hnsw.efConstruction = 128
                idx = faiss.IndexIDMap2(base)
                idx.add_with_ids(x, ids)
                base.hnsw.efSearch = 64
            else:
                from ocula.index import vectors as V

                cells = int(max(1, min(V.IVF_MAX_CELLS, V.IVF_CELLS_PER_SQRT * math.sqrt(n), n // 39)))
                idx = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, cells, faiss.METRIC_INNER_PRODUCT)
                idx.cp.niter = V.IVF_TRAIN_ITERATIONS
                sample = x[np.random.default_rng(n).choice(n, min(n, cells * V.IVF_TRAIN_PER_CELL), replace=False)]
                idx.train(sample)
                idx.add_with_ids(x, ids)
                idx.nprobe = min(cells, max(V.IVF_MIN_PROBE, int(cells * V.IVF_PROBE_SHARE)))
            build = time.perf_counter() - t0
            faiss.omp_set_num_threads(1)
            search = lambda v: idx.search(v[None, :], 10)[1][0]  # noqa: E731
            faiss.write_index(idx, str(path))
        got, ms = timed_round_robin({lib: search}, q)[lib]
        rows.append({"library": lib, "vectors": n, "dim": dim, "build_s": round(build, 2),
                     "p50_ms": round(float(np.percentile(ms, 50)), 3),
                     "p99_ms": round(float(np.percentile(ms, 99)), 3), "recall@10": round(recall(got, truth), 4),
                     "file_mb": round(path.stat().st_size / 1e6, 1)})
        path.unlink(missing_ok=True)
        del idx
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated vector counts")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-index", action="store_true", help="skip the indexing rows (bench/_index_bench.py)")
    ap.add_argument("--index-count", type=int, default=10_000, help="files for the re-index row")
    ap.add_argument("--index-images", type=int, default=16, help="photos for the indexing throughput rows")
    ap.add_argument("--compare", default="", help="also compare the ANN libraries at NxD, e.g. 20000x1280")
    ap.add_argument("--out", default="search", help="results file name under bench/results/ (no .json)")
    args = ap.parse_args()

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    out: dict = {"threads": args.threads, "dim": args.dim, "queries": args.queries}
    with tempfile.TemporaryDirectory(prefix="ocula-search-bench-") as tmp:
        work = Path(tmp)
        rows: list[dict] = []
        for n in sizes:
            t0 = time.perf_counter()
            rows += size_rows(n, args.dim, args.queries, args.threads, work)
            print(f"[{n} vectors: {time.perf_counter() - t0:.0f} s]", file=sys.stderr, flush=True)
        out["query_rows"] = rows
        if rows:
            print(table(rows, ["vectors", "index", "p50_ms", "p99_ms", "recall@10", "speedup_vs_numpy",
                               "build_s", "save_s", "open_s", "file_mb", "note"]))
        if args.compare:
            for spec in args.compare.split(","):
                n, d = (int(v) for v in spec.lower().split("x"))
                cmp_rows = compare_rows(n, d, args.queries, args.threads, work)
                out.setdefault("ann_compare", []).extend(cmp_rows)
                print()
                print(table(cmp_rows, ["library", "vectors", "dim", "build_s", "p50_ms", "p99_ms", "recall@10",
                                       "file_mb", "note"]))
    if not args.no_index:
        try:
            from _index_bench import index_rows
        except ImportError as e:
            print(f"(no indexing rows: {e})", file=sys.stderr)
        else:
            irows = index_rows(args.index_count, args.index_images)
            out["index_rows"] = irows
            print()
            print(table(irows, ["measure", "files", "seconds", "per_second", "ratio", "note"]))
    print("wrote", write_json(args.out, out))


if __name__ == "__main__":
    main()
