"""Benchmark `analyze`: images/s and peak memory over >= 200 JPEGs of >= 2 MP, next to the
bare model calls on the same decoded inputs (the bound the pipeline can reach); reduced
JPEG decoding vs full decode + resize; and OCR engines (bench/ocr.py).

    python bench/analyze.py [--count 200] [--threads 2] [--skip-ocr]

Prints tables and writes bench/results/analyze.json.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, peak_rss_mb, photo_set, table, write_json  # noqa: E402

DATA = ROOT / "bench" / ".data" / "photos-2mp"


def _settings(threads: int):
    os.environ["OCULA_THREADS"] = str(threads)
    from ocula.config import get_settings

    get_settings.cache_clear()
    return get_settings()


def run_pipeline(paths: list[Path], settings, steps) -> float:
    from ocula.results import Failure
    from ocula.tasks.analyze import analyze_many

    t0 = time.perf_counter()
    for _, item in analyze_many(paths, steps=steps, settings=settings, jobs=1):
        assert not isinstance(item, Failure), item
    return time.perf_counter() - t0


def run_bare(paths: list[Path], settings, steps) -> float:
    """The same work with ocula's orchestration stripped: decode once at the same size, call
    each backend directly on arrays, build no result objects."""
    from ocula.backends import cached_model, configure_threads, efficientnet, mtcnn, rapidocr
    from ocula.image import load_image
    from ocula.tasks import colors, faces, metadata, ocr, quality
    from ocula.tasks.analyze import decode_side

    side = decode_side(steps)
    detector = cached_model(("faces", "mtcnn", settings.device), lambda: mtcnn.MTCNN(settings.device))
    configure_threads(settings.threads)
    t0 = time.perf_counter()
    for p in paths:
        li = load_image(p, max_side=side, settings=settings)
        efficientnet.logits([li.resized(384)], settings=settings)
        rapidocr.read(li.array(ocr.MAX_SIDE), threads=settings.threads)
        detector.detect(li.array(faces.MAX_SIDE), min_face=20)
        colors.colors(li, settings=settings)     # no model: the measurement is the work
        quality.quality(li, settings=settings)
        metadata.metadata(li, settings=settings)
    return time.perf_counter() - t0


def decode_comparison(paths: list[Path], side: int = 384) -> dict:
    from PIL import Image

    from ocula.image import load_image

    def full(p):
        with Image.open(p) as im:
            im = im.convert("RGB")
            im.thumbnail((side, side), Image.Resampling.BILINEAR)
            return im

    def reduced(p):
        li = load_image(p, max_side=side)
        return li.resized(side)

    out: dict[str, float] = {}
    for _ in range(3):  # alternate and keep each one's best round: the machine is noisy
        for name, fn in (("full decode + resize", full), ("reduced (draft) decode", reduced)):
            fn(paths[0])
            t0 = time.perf_counter()
            for p in paths:
                fn(p)
            dt = (time.perf_counter() - t0) / len(paths)
            out[name] = min(out.get(name, dt), dt)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200, help="number of >= 2 MP JPEGs (default 200)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-ocr", action="store_true", help="skip the OCR engine comparison")
    ap.add_argument("--skip-pipeline", action="store_true", help="skip the analyze vs bare-calls run")
    args = ap.parse_args()

    settings = _settings(args.threads)
    paths = photo_set(DATA, args.count)
    steps = ("classify", "ocr", "faces", "colors", "quality", "metadata")
    print(f"{len(paths)} JPEGs of >= 2 MP in {DATA}, {args.threads} threads, steps: {', '.join(steps)}\n")

    results: dict = {"images": len(paths), "threads": args.threads, "steps": list(steps)}
    if not args.skip_pipeline:
        results.update(pipeline_vs_bare(paths, settings, steps))
    dec = decode_comparison(paths[:60])
    speedup = dec["full decode + resize"] / dec["reduced (draft) decode"]
    print(table([{"decode to 384 px": k, "ms/image": f"{v * 1000:.1f}"} for k, v in dec.items()],
                ["decode to 384 px", "ms/image"]))
    print(f"\nreduced decoding speed-up: {speedup:.1f}x  (target >= 3x)\n")
    results.update(decode_ms={k: v * 1000 for k, v in dec.items()}, decode_speedup=speedup)

    if not args.skip_ocr:
        import ocr as ocr_bench  # bench/ocr.py

        ocr_rows = ocr_bench.compare(settings)
        print(table(ocr_rows, ocr_bench.COLUMNS))
        for r in ocr_rows:
            r.pop("per_image", None)
        results["ocr"] = ocr_rows
    path = write_json("analyze", results)
    print(f"written {path.relative_to(ROOT)}")


def pipeline_vs_bare(paths: list[Path], settings, steps) -> dict:
    warm = paths[:3]
    run_pipeline(warm, settings, steps)
    run_bare(warm, settings, steps)
    gc.collect()
    # alternate the two so that machine noise hits both alike
    half = len(paths) // 2
    t_pipe = run_pipeline(paths[:half], settings, steps)
    t_bare = run_bare(paths[:half], settings, steps)
    t_bare += run_bare(paths[half:], settings, steps)
    t_pipe += run_pipeline(paths[half:], settings, steps)
    ips_pipe, ips_bare = len(paths) / t_pipe, len(paths) / t_bare
    rows = [
        {"run": "ocula analyze (analyze_many)", "images/s": f"{ips_pipe:.2f}", "ms/image": f"{1000 / ips_pipe:.0f}"},
        {"run": "bare model calls", "images/s": f"{ips_bare:.2f}", "ms/image": f"{1000 / ips_bare:.0f}"},
    ]
    ratio = ips_pipe / ips_bare
    print(table(rows, ["run", "images/s", "ms/image"]))
    print(f"\npipeline / bare throughput: {ratio:.2f}  (target >= 0.8)   peak RSS: {peak_rss_mb():.0f} MB\n")
    return {"pipeline_images_per_s": ips_pipe, "bare_images_per_s": ips_bare, "ratio": ratio,
            "peak_rss_mb": peak_rss_mb()}


if __name__ == "__main__":
    main()
