"""Enhancement benchmark: Real-ESRGAN super-resolution through ocula's tiled pipeline against
the bare ncnn call on a single tile, at 2 threads; plus the watermark rows of
bench/_provenance_bench.py when that file is present.

    python bench/enhance.py              # table + bench/results/enhance.json
    python bench/enhance.py --quick      # smaller image, one round (a smoke run)

For each model:
- bare: the network called directly (``backends.realesrgan``) on one TILE x TILE input;
- tiled: ``upscale_array`` on a W x H photo (a grid with interior tiles), default tile/pad;
- seconds per output megapixel of both (best of the rounds, wall and CPU time: the CPU time
  of both threads is steadier on a shared machine), and their ratio, the tiling overhead.
  It has two parts, reported separately: the context each tile reads beyond its share
  (geometry: total tile input area / image area) and the machinery (splitting, blending,
  conversions: tiled CPU time / bare CPU time for the same number of input pixels);
- peak memory: resident memory above the level before the call, each measured in a fresh
  process (after the model is loaded) so earlier calls' freed memory does not hide it; for
  comparison also the whole photo in one call (tile 0), which tiling exists to avoid.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, table, write_json  # noqa: E402

THREADS = 2
MODELS = ("realesr-animevideov3", "realesrgan-x4plus")
TARGET = 1.15


def _photo(w: int, h: int):
    import numpy as np
    from PIL import Image

    img = Image.open(ROOT / "samples" / "astronaut.jpg").convert("RGB")
    return np.ascontiguousarray(np.asarray(img.resize((w, h), Image.Resampling.BOX)))


def _engine(model: str):
    from ocula.backends import realesrgan

    eng = realesrgan.load(model, THREADS)
    eng(_photo(16, 16))  # warm-up: first-call allocations and layer set-up
    return eng


def _timed(fn) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def worker_timing(model: str, tile: int, pad: int, w: int, h: int, rounds: int) -> dict:
    """Bare tile and tiled pipeline, interleaved round by round so both see the same load."""
    from ocula.tasks.upscale import _splits, upscale_array

    eng = _engine(model)
    img = _photo(w, h)
    bare_in = _photo(tile, tile)
    best = {"bare": [float("inf")] * 2, "tiled": [float("inf")] * 2}
    calls = 0
    for _ in range(rounds):
        wall, cpu = _timed(lambda: eng(bare_in))
        best["bare"] = [min(best["bare"][0], wall), min(best["bare"][1], cpu)]
        out: dict = {}
        wall, cpu = _timed(lambda: out.setdefault("r", upscale_array(img, eng, tile=tile, tile_pad=pad)))
        calls = out["r"][1]
        best["tiled"] = [min(best["tiled"][0], wall), min(best["tiled"][1], cpu)]
    ys, xs = _splits(h, tile), _splits(w, tile)
    area = sum((min(h, ys[i + 1] + pad) - max(0, ys[i] - pad)) * (min(w, xs[j + 1] + pad) - max(0, xs[j] - pad))
               for i in range(len(ys) - 1) for j in range(len(xs) - 1))
    return {"bare_wall": best["bare"][0], "bare_cpu": best["bare"][1], "tiled_wall": best["tiled"][0],
            "tiled_cpu": best["tiled"][1], "calls": calls, "context": area / (w * h)}


def worker_memory(model: str, what: str, tile: int, pad: int, w: int, h: int) -> dict:
    from ocula.tasks._edit import PeakMemory
    from ocula.tasks.upscale import upscale_array

    eng = _engine(model)
    if what == "bare":
        img = _photo(tile, tile)
        fn = lambda: eng(img)  # noqa: E731
    else:
        img = _photo(w, h)
        fn = lambda: upscale_array(img, eng, tile=tile if what == "tiled" else 0, tile_pad=pad)  # noqa: E731
    with PeakMemory() as mem:
        fn()
    return {"peak_mb": round(mem.mib, 1), "seconds": round(mem.seconds, 2)}


def _sub(*args: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def upscale_rows(tile: int, pads: list[int], w: int, h: int, rounds: int, untiled: bool) -> list[dict]:
    rows = []
    for model in MODELS:
        for pad in pads:
            t = _sub("timing", model, str(tile), str(pad), str(w), str(h), str(rounds))
            out_mp = 16 * w * h / 1e6
            tile_mp = 16 * tile * tile / 1e6
            bare_cpu, tiled_cpu = t["bare_cpu"] / tile_mp, t["tiled_cpu"] / out_mp
            bare_wall, tiled_wall = t["bare_wall"] / tile_mp, t["tiled_wall"] / out_mp
            row = {"model": model, "threads": THREADS, "tile": tile, "pad": pad, "input": f"{w}x{h}",
                   "output_mp": round(out_mp, 2), "tiles": t["calls"],
                   "bare_s_per_mp": round(bare_wall, 2), "tiled_s_per_mp": round(tiled_wall, 2),
                   "bare_cpu_s_per_mp": round(bare_cpu, 2), "tiled_cpu_s_per_mp": round(tiled_cpu, 2),
                   "overhead_wall": round(tiled_wall / bare_wall, 3), "overhead_cpu": round(tiled_cpu / bare_cpu, 3),
                   "context": round(t["context"], 3),
                   "machinery": round(tiled_cpu / bare_cpu / t["context"], 3)}
            row["bare_peak_mb"] = _sub("memory", model, "bare", str(tile), str(pad), str(w), str(h))["peak_mb"]
            row["tiled_peak_mb"] = _sub("memory", model, "tiled", str(tile), str(pad), str(w), str(h))["peak_mb"]
            if untiled and pad == pads[0]:
                row["untiled_peak_mb"] = _sub("memory", model, "untiled", str(tile), str(pad), str(w), str(h))["peak_mb"]
            row["within_target"] = row["overhead_cpu"] <= TARGET
            rows.append(row)
            print(f"  {model} pad {pad}: overhead {row['overhead_cpu']} (cpu) {row['overhead_wall']} (wall)",
                  file=sys.stderr, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a 256x128 photo and one round")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--no-watermark", action="store_true", help="skip the watermark rows")
    args = ap.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "timing":
            m, tile, pad, w, h, rounds = rest
            res = worker_timing(m, int(tile), int(pad), int(w), int(h), int(rounds))
        else:
            m, what, tile, pad, w, h = rest
            res = worker_memory(m, what, int(tile), int(pad), int(w), int(h))
        print(json.dumps(res))
        return

    from ocula.tasks.upscale import DEFAULT_TILE, DEFAULT_TILE_PAD

    w, h, rounds = (256, 128, 1) if args.quick else (384, 256, 3)
    pads = sorted({DEFAULT_TILE_PAD, 10})
    print(f"upscale: {w}x{h} photo, tile {DEFAULT_TILE}, pads {pads}, {THREADS} threads, best of {rounds}",
          file=sys.stderr)
    rows = upscale_rows(DEFAULT_TILE, pads, w, h, rounds, untiled=True)
    print(table(rows, ["model", "pad", "input", "tiles", "bare_s_per_mp", "tiled_s_per_mp", "bare_cpu_s_per_mp",
                       "tiled_cpu_s_per_mp", "overhead_cpu", "overhead_wall", "context", "machinery",
                       "bare_peak_mb", "tiled_peak_mb", "untiled_peak_mb"]))
    data: dict = {"upscale": {"threads": THREADS, "tile": DEFAULT_TILE, "target_overhead": TARGET, "rows": rows}}

    provenance = Path(__file__).resolve().parent / "_provenance_bench.py"
    if provenance.exists() and not args.no_watermark:
        import importlib.util

        spec = importlib.util.spec_from_file_location("_provenance_bench", provenance)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        if hasattr(mod, "rows"):
            wm_rows = mod.rows()
            print()
            cols = list(dict.fromkeys(k for r in wm_rows for k in r))
            print(table(wm_rows, cols))
            data["watermark"] = wm_rows
    print(f"\nwrote {write_json('enhance', data)}")


if __name__ == "__main__":
    main()
