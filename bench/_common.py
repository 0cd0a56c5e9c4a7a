"""Shared bench helpers: a table printer, JSON output, the machine's description, and a
set of >= 2 MP JPEGs made from the sample photos."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def machine() -> dict:
    import psutil

    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "python": platform.python_version(),
            "platform": platform.platform(terse=True)}


def table(rows: list[dict], columns: list[str]) -> str:
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(x.ljust(w) for x, w in zip(row, widths)) for row in cells]
    return "\n".join(out)


def write_json(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {"machine": machine(), "when": time.strftime("%Y-%m-%d %H:%M:%S"), **data}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    return path


def photo_set(folder: Path, count: int = 200, min_mp: float = 2.0) -> list[Path]:
    """``count`` distinct JPEGs of at least ``min_mp`` megapixels, from the sample photos:
    resized, cropped, flipped and recompressed so that no two files are the same."""
    from PIL import Image, ImageOps

    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("img_*.jpg"))
    if len(existing) >= count:
        return existing[:count]
    sources = [Image.open(p).convert("RGB") for p in sorted((ROOT / "samples").glob("*.jpg"))]
    out = []
    for i in range(count):
        img = sources[i % len(sources)]
        w, h = img.size
        crop = (i * 7) % 20 + 3 * (i // 180)  # the other variations repeat every 180 files
        img = img.crop((crop, crop, w - crop, h - crop))
        if i % 2:
            img = ImageOps.mirror(img)
        scale = (min_mp * 1e6 / (img.width * img.height)) ** 0.5 * (1.0 + (i % 5) * 0.05)
        img = img.resize((int(img.width * scale) + 1, int(img.height * scale) + 1), Image.Resampling.BICUBIC)
        path = folder / f"img_{i:04d}.jpg"
        img.save(path, quality=85 + i % 10)
        out.append(path)
    return out


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
