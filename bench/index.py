"""Indexing camera-sized photos: `ocula index` and `analyze` on 12 MP JPEGs next to the bare
model calls (the limit a perfect pipeline could reach on this machine), peak memory and
per-step milliseconds.

    python bench/index.py [--count 100] [--side 4000] [--jobs N] [--skip-bound]

The photos: ``count`` distinct 4000x3000 JPEGs at quality 92, made once into
bench/.data/camera-<side>/ from the sample photos with sensor-like noise (so that they decode
and compress like camera files, 3-6 MB each); every third carries a sign with 40-120 px text,
every fourth a group of 2-5 faces of 150-700 px (samples and ../shared/data/faces-dev).

Measures (models warmed up first, the default steps):
- ``index``: ``ocula.tasks.index.index`` on the folder into a fresh database, in this process:
  analysis on the worker pool, describe, embeddings, dHash, commits. Peak RSS is this process's.
- ``analyze_many``: the same photos through ``analyze_many`` (the pool, no database).
- the bound: each photo decoded once at the size the steps share (not timed), then each step's
  bare backend call timed on the copy it uses; the sum is what the steps cost with no
  orchestration at all. Images/s of the bound is count / that sum, run one photo at a time
  with every thread on it, as the pool has workers x threads = cores.
- per step: the median milliseconds of each bare call, and decoding on its own.
- ratio = index images/s / bound images/s (target >= 0.8); target index >= 4 images/s on 2
  cores; peak RSS <= 1.5 GB.

Writes bench/results/index.json.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, peak_rss_mb, table, write_json  # noqa: E402

FACES_DEV = ROOT.parent / "shared" / "data" / "faces-dev"
WORDS = ("market street station coffee open daily fresh bread museum entrance platform exit "
         "north gate harbour ferry tickets 2026 opening hours closed sunday").split()


def camera_set(folder: Path, count: int, side: int) -> list[Path]:
    """``count`` distinct side x (3/4 side) JPEGs at quality 92 (made once, then reused)."""
    import random

    import numpy as np
    from PIL import Image, ImageDraw, ImageFont, ImageOps

    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("cam_*.jpg"))
    if len(existing) >= count:
        return existing[:count]
    w, h = side, side * 3 // 4
    sources = [Image.open(p).convert("RGB") for p in sorted((ROOT / "samples").glob("*.jpg"))]
    faces = [Image.open(ROOT / "samples" / n).convert("RGB") for n in ("astronaut.jpg", "grace_hopper.jpg")]
    faces += [Image.open(p).convert("RGB") for p in sorted(FACES_DEV.glob("*.jp*g"))]
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    rnd = random.Random(14)
    noise_rng = np.random.default_rng(14)
    out = []
    for i in range(count):
        path = folder / f"cam_{i:04d}.jpg"
        out.append(path)
        if path.exists():
            continue
        src = sources[i % len(sources)]
        # a different crop of the source each time round, so that no two photos are alike
        k = i // len(sources)
        cw, ch = src.width - (k * 13) % (src.width // 4), src.height - (k * 7) % (src.height // 4)
        x0, y0 = (k * 29) % (src.width - cw + 1), (k * 17) % (src.height - ch + 1)
        img = src.crop((x0, y0, x0 + cw, y0 + ch))
        img = ImageOps.fit(img, (w, h), Image.Resampling.BICUBIC)
        if i % 2:
            img = ImageOps.mirror(img)
        if i % 4 == 1:  # a group: 2-5 faces
            for _ in range(rnd.randint(2, 5)):
                face = rnd.choice(faces)
                size = rnd.randint(150, 700)
                face = ImageOps.fit(face, (size, int(size * face.height / face.width)))
                img.paste(face, (rnd.randint(0, w - face.width), rnd.randint(0, max(0, h - face.height))))
        if i % 3 == 0:  # a sign
            draw = ImageDraw.Draw(img)
            y = rnd.randint(h // 8, h // 2)
            for _ in range(rnd.randint(1, 3)):
                size = rnd.randint(40, 120)
                text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(2, 4)))
                f = ImageFont.truetype(font, size)
                x = rnd.randint(50, w // 3)
                box = draw.textbbox((x, y), text, font=f)
                draw.rectangle((box[0] - 30, box[1] - 20, box[2] + 30, box[3] + 20), fill=(245, 242, 230))
                draw.text((x, y), text, fill=(20, 20, 30), font=f)
                y = box[3] + size
        arr = np.asarray(img, dtype=np.int16)
        arr = arr + noise_rng.normal(0, 4.0, arr.shape).astype(np.int16)  # sensor noise
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path, quality=92)
    return out


def bare_calls(paths: list[Path], settings, steps) -> tuple[float, dict[str, list[float]]]:
    """Each step's backend on the copy it uses; decoding is not timed. Returns the summed time
    and each step's (and decoding's) per-photo times."""
    from ocula.backends import cached_model, configure_threads, efficientnet, mtcnn, nudenet
    from ocula.image import load_image
    from ocula.models import catalog
    from ocula.tasks import colors, faces, moderate, ocr, quality
    from ocula.tasks.analyze import decode_side

    side = decode_side(steps)
    detector = cached_model(("faces", "mtcnn", settings.device), lambda: mtcnn.MTCNN(settings.device))
    reader = catalog.load_backend(catalog.get_spec("rapidocr", "ocr"))
    configure_threads(settings.threads)
    calls = {
        "classify": lambda li: efficientnet.forward([li.resized(384)], settings=settings),
        "ocr": lambda li: reader.read_lines(li.array(ocr.DET_SIDE), language="auto", min_score=0.5,
                                            settings=settings,
                                            detail=lambda: li.detail_view(ocr.READ_SIDE)),
        "faces": lambda li: detector.detect(li.array(faces.MAX_SIDE), min_face=12),
        "colors": lambda li: colors.colors(li, settings=settings),  # no model: the work itself
        "quality": lambda li: quality.quality(li, settings=settings),
        "moderate": lambda li: nudenet.detect(li.array(moderate.MAX_SIDE), settings.threads),
    }
    per: dict[str, list[float]] = {"decode": []}
    total = 0.0
    for p in paths:
        t0 = time.perf_counter()
        li = load_image(p, max_side=side, settings=settings)
        per["decode"].append(time.perf_counter() - t0)
        for s in steps:
            if s not in calls:
                continue
            t0 = time.perf_counter()
            calls[s](li)
            dt = time.perf_counter() - t0
            per.setdefault(s, []).append(dt)
            total += dt
    return total, per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100, help="number of camera JPEGs (default 100)")
    ap.add_argument("--side", type=int, default=4000, help="long side in pixels (default 4000: 12 MP)")
    ap.add_argument("--jobs", type=int, default=None, help="workers for index/analyze (default: ocula's)")
    ap.add_argument("--skip-bound", action="store_true", help="skip the bare-model bound")
    args = ap.parse_args()

    from ocula.config import get_settings
    from ocula.results import Failure
    from ocula.tasks.analyze import analyze_many, default_steps
    from ocula.tasks.index import index

    settings = get_settings()
    steps = default_steps()
    paths = camera_set(ROOT / "bench" / ".data" / f"camera-{args.side}", args.count, args.side)
    mb = sum(p.stat().st_size for p in paths) / len(paths) / 2**20
    print(f"{len(paths)} JPEGs {args.side}x{args.side * 3 // 4} ({mb:.1f} MB each), steps {','.join(steps)}, "
          f"threads {settings.threads}, jobs {args.jobs or 'default'}\n")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # warm every model outside the timings
        index([paths[0]], db=work / "warm.db", steps=steps, jobs=args.jobs)
        list(analyze_many(paths[:2], steps=steps, jobs=args.jobs))
        gc.collect()

        t0 = time.perf_counter()
        rep = index(paths, db=work / "bench.db", steps=steps, jobs=args.jobs)
        t_ix = time.perf_counter() - t0
        assert rep.analysed == len(paths), rep
        rss_index = peak_rss_mb()

        t0 = time.perf_counter()
        bad = [r for _, r in analyze_many(paths, steps=steps, jobs=args.jobs) if isinstance(r, Failure)]
        t_an = time.perf_counter() - t0
        assert not bad, bad[:3]

    rows = [{"run": "ocula index (in process, warm)", "images/s": round(len(paths) / t_ix, 2),
             "ms/image": round(1000 * t_ix / len(paths)), "ratio": ""},
            {"run": "analyze_many", "images/s": round(len(paths) / t_an, 2),
             "ms/image": round(1000 * t_an / len(paths)), "ratio": ""}]
    result: dict = {"images": len(paths), "side": args.side, "mb_per_image": round(mb, 2), "steps": list(steps),
                    "threads": settings.threads, "jobs": args.jobs, "index_images_per_s": len(paths) / t_ix,
                    "analyze_images_per_s": len(paths) / t_an, "peak_rss_mb_index": rss_index}
    if not args.skip_bound:
        t_bare, per = bare_calls(paths, settings, steps)
        bound = len(paths) / t_bare
        rows.append({"run": "bound: bare model calls, decoded inputs", "images/s": round(bound, 2),
                     "ms/image": round(1000 * t_bare / len(paths)), "ratio": 1.0})
        rows[0]["ratio"] = round(result["index_images_per_s"] / bound, 2)
        rows[1]["ratio"] = round(result["analyze_images_per_s"] / bound, 2)
        result.update(bound_images_per_s=bound,
                      ratio_index=result["index_images_per_s"] / bound,
                      step_ms={k: round(1000 * statistics.median(v), 1) for k, v in per.items()})
    print(table(rows, ["run", "images/s", "ms/image", "ratio"]))
    if "step_ms" in result:
        print("\nmedian ms per photo (bare call): "
              + ", ".join(f"{k} {v}" for k, v in result["step_ms"].items()))
    print(f"\npeak RSS {rss_index:.0f} MB (target <= 1536); index target >= 4 images/s; ratio target >= 0.8")
    path = write_json("index", result)
    print(f"written {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
