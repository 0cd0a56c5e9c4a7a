"""OCR benchmark: RapidOCR (PP-OCRv4) against its peer Tesseract 5, in one process.

Images are rendered from known text (ocula._textset, the same renderer tests/test_ocr.py
uses): one image per English, Chinese and mixed line, plus multi-line pages whose CER also
counts reading order; each once clean and once "camera"-degraded (tilt, blur, noise, JPEG). Reports images/s and character error rate per language, and the
speed ratio between the engines (machines here are noisy; the ratio travels better).

    .venv/bin/python bench/ocr.py [--size 36] [--threads N]
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import table, write_json  # bench/ is on sys.path when this file is run

from ocula import _textset as ts
from ocula.backends import tesseract as tess_backend
from ocula.config import load_settings
from ocula.errors import OculaError
from ocula.tasks.ocr import ocr

PAGES = [
    ts.ENGLISH[0:5],
    ts.CHINESE[0:5],
    [ts.ENGLISH[5], ts.CHINESE[5], ts.MIXED[0], ts.ENGLISH[6], ts.CHINESE[6], ts.MIXED[1]],
    ts.ENGLISH[7:12] + ts.CHINESE[7:12],
]


def dataset(size: int) -> list[dict]:
    """Clean renders, then the same images through ``degrade`` (tilt, blur, noise, JPEG)."""
    clean = [{"kind": s.language, "text": s.text, "image": s.image} for s in ts.text_samples(size)]
    for lines in PAGES:
        clean.append({"kind": "page", "text": "\n".join(lines),
                      "image": ts.render_lines(lines, size=round(size * 0.8))})
    camera = [{**it, "image": ts.degrade(it["image"], seed=i)} for i, it in enumerate(clean)]
    return [{**it, "set": "clean"} for it in clean] + [{**it, "set": "camera"} for it in camera]


def run(engine: str, items: list[dict], settings, hinted: bool = False) -> list[dict]:
    """One row per image set: speed and mean CER per kind of text."""
    t0 = time.perf_counter()
    ocr(items[0]["image"], engine=engine, settings=settings)  # model load + warm-up
    load_s = time.perf_counter() - t0
    per: list[dict] = []
    for it in items:
        lang = it["kind"] if hinted and it["kind"] in ("en", "zh") else "auto"
        t = time.perf_counter()
        res = ocr(it["image"], engine=engine, language=lang, settings=settings)
        dt = time.perf_counter() - t
        per.append({"set": it["set"], "kind": it["kind"], "truth": it["text"], "read": res.text,
                    "seconds": round(dt, 4), "cer": round(ts.cer(it["text"], res.text), 4)})
    rows = []
    for name in dict.fromkeys(p["set"] for p in per):
        sub = [p for p in per if p["set"] == name]
        total = sum(p["seconds"] for p in sub)

        def mean_cer(kind: str) -> float | None:
            vals = [p["cer"] for p in sub if p["kind"] == kind]
            return round(sum(vals) / len(vals), 4) if vals else None

        rows.append({"engine": engine, "language": "en/zh hint" if hinted else "auto", "set": name,
                     "images": len(sub), "load_s": round(load_s, 2), "seconds": round(total, 3),
                     "images_per_s": round(len(sub) / total, 2), "ms_per_image": round(1000 * total / len(sub), 1),
                     "cer_en": mean_cer("en"), "cer_zh": mean_cer("zh"), "cer_mixed": mean_cer("mixed"),
                     "cer_pages": mean_cer("page"), "per_image": sub})
    return rows


def compare(settings, size: int = 36) -> list[dict]:
    """RapidOCR vs Tesseract (auto and language-hinted) on the rendered set: speed and CER."""
    items = dataset(size)
    print(f"{len(items)} images ({size} px text), threads={settings.threads}", flush=True)
    rows = run("rapidocr", items, settings)
    try:
        tess_backend.check("auto")
    except OculaError as e:
        print(f"tesseract skipped: {e}")
    else:
        rows += run("tesseract", items, settings)
        rows += run("tesseract", items, settings, hinted=True)
    base = {r["set"]: r["seconds"] for r in rows if r["engine"] == "tesseract" and r["language"] == "auto"}
    for r in rows:
        if r["set"] in base:
            r["time_vs_tesseract"] = round(r["seconds"] / base[r["set"]], 2)
    return rows


COLUMNS = ["engine", "language", "set", "images", "images_per_s", "ms_per_image", "load_s", "cer_en", "cer_zh",
           "cer_mixed", "cer_pages", "time_vs_tesseract"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=36, help="font size in pixels (default 36)")
    ap.add_argument("--threads", type=int, default=None, help="threads per model (default: settings)")
    args = ap.parse_args()
    missing = ts.missing_fonts()
    if missing:
        sys.exit(f"fonts missing: apt-get install -y {' '.join(missing)}")
    settings = load_settings(threads=args.threads)
    rows = compare(settings, args.size)
    print(table(rows, COLUMNS))
    for r in rows:
        worst = sorted(r["per_image"], key=lambda p: -p["cer"])[:3]
        for p in worst:
            if p["cer"] > 0:
                print(f"  {r['engine']}/{r['language']}/{r['set']} cer {p['cer']:.3f}: {p['truth']!r} -> {p['read']!r}")
    path = write_json("ocr", {"size_px": args.size, "threads": settings.threads, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
