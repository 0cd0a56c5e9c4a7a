"""Benchmark words: zero-shot labels, detection and the MCP server.

1. Zero-shot classification over COUNT images x 20 labels with a CLIP ViT-B/32 of the real
   architecture (clip-vit-b32 when it has been pulled, else the same CLIPConfig with random
   weights: the same work): images/s, and the share of the run spent in the text tower (the
   labels are embedded once and cached; target <= 1 %).
2. Detection: ocula's detect (image in, typed result out) against the bare transformers calls
   (processor, model, post-processing) on the same decoded inputs, with an RT-DETR R50 of the
   real architecture (rtdetr-r50 when pulled, else random weights); target overhead <= 5 %.
3. MCP: the metadata tool called through the SDK's client and ocula's server (in-process and
   over stdio) against calling the library in-process; target <= 10 ms per call.

    python bench/words.py [--count 1000] [--detect 20] [--calls 50] [--threads 2]

Prints tables and writes bench/results/words.json. Taken on whatever machine runs it; the
ratios are measured side by side in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, photo_set, table, write_json  # noqa: E402

DATA = ROOT / "bench" / ".data"
LABELS = ["kitchen", "beach", "receipt", "cat", "dog", "mountain", "car", "street", "food", "document", "sky",
          "forest", "people", "building", "flower", "book", "screen", "river", "snow", "night"]


def _settings(threads: int, **update):
    os.environ["OCULA_THREADS"] = str(threads)
    from ocula.config import get_settings

    get_settings.cache_clear()
    return get_settings().model_copy(update=update)


def _clip_folder(tmp: Path, settings) -> tuple[str, str]:
    """(model for clip_model, what it is): the pulled clip-vit-b32, else ViT-B/32 with random weights."""
    from ocula.models import status

    if status("clip-vit-b32", settings).usable:
        return "clip-vit-b32", "clip-vit-b32 (pulled)"
    import torch
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

    sys.path.insert(0, str(ROOT / "tests"))
    from test_clip import write_clip_tokenizer

    folder = tmp / "clip-b32"
    folder.mkdir()
    write_clip_tokenizer(folder)
    tok = CLIPTokenizer.from_pretrained(folder)
    tok.save_pretrained(folder)
    torch.manual_seed(0)
    config = CLIPConfig(text_config={"vocab_size": 49408}, vision_config={"patch_size": 32}, projection_dim=512)
    CLIPModel(config).eval().save_pretrained(folder)
    CLIPImageProcessorPil().save_pretrained(folder)
    return str(folder), "CLIP ViT-B/32 architecture, random weights"


def bench_zero_shot(paths: list[Path], settings) -> dict:
    from ocula.tasks import _zeroshot
    from ocula.tasks.classify import classify_batch

    _zeroshot.clear_cache()
    scorer = _zeroshot.ZeroShot(None, LABELS, settings)
    text_time = 0.0
    real = scorer.label_vectors

    def timed(labels):
        nonlocal text_time
        t = time.perf_counter()
        try:
            return real(labels)
        finally:
            text_time += time.perf_counter() - t

    _zeroshot.ZeroShot.label_vectors = lambda self, labels: timed(labels)  # type: ignore[method-assign]
    try:
        t0 = time.perf_counter()
        for i in range(0, len(paths), 32):
            classify_batch(paths[i:i + 32], labels=LABELS, top_k=3, settings=settings)
        total = time.perf_counter() - t0
    finally:
        _zeroshot.ZeroShot.label_vectors = real.__func__  # type: ignore[method-assign]
    return {"images": len(paths), "labels": len(LABELS), "seconds": round(total, 2),
            "images_per_s": round(len(paths) / total, 2), "text_tower_s": round(text_time, 3),
            "text_share_pct": round(100 * text_time / total, 3)}


def _rtdetr_folder(tmp: Path, settings) -> tuple[str, str]:
    from ocula.models import status

    if status("rtdetr-r50", settings).usable:
        return "rtdetr-r50", "rtdetr-r50 (pulled)"
    import torch
    from transformers import RTDetrConfig, RTDetrForObjectDetection, RTDetrImageProcessorPil

    folder = tmp / "rtdetr-r50"
    torch.manual_seed(0)
    RTDetrForObjectDetection(RTDetrConfig(use_pretrained_backbone=False)).eval().save_pretrained(folder)
    RTDetrImageProcessorPil().save_pretrained(folder)
    return str(folder), "RT-DETR R50 architecture, random weights"


def bench_detect(paths: list[Path], settings, rounds: int = 2) -> dict:
    import torch

    from ocula.backends import rtdetr
    from ocula.image import load_image
    from ocula.tasks.detect import MAX_SIDE, detect

    loaded = [load_image(p, max_side=MAX_SIDE, settings=settings) for p in paths]
    det = rtdetr.load(settings.detector, settings)

    def ours(li) -> float:
        t = time.perf_counter()
        detect(li, settings=settings)
        return time.perf_counter() - t

    def bare(li) -> float:
        t = time.perf_counter()
        pil = li.resized(MAX_SIDE)
        inputs = det.processor(images=[pil], return_tensors="pt")
        with torch.inference_mode():
            out = det.model(pixel_values=inputs["pixel_values"])
        det.processor.post_process_object_detection(out, threshold=0.5, target_sizes=[(pil.height, pil.width)])
        return time.perf_counter() - t

    ours(loaded[0]), bare(loaded[0])  # warm up
    a, b = [], []
    for _ in range(rounds):
        for i, li in enumerate(loaded):  # alternated image by image (and which goes first): drift hits both
            first, second = (ours, bare) if i % 2 == 0 else (bare, ours)
            x, y = first(li), second(li)
            a.append(x if first is ours else y)
            b.append(y if first is ours else x)
    wrapped, plain = sum(a) / rounds, sum(b) / rounds
    ratios = sorted(x / y for x, y in zip(a, b))
    return {"images": len(paths), "ocula_s": round(wrapped, 3), "bare_s": round(plain, 3),
            "overhead_pct": round(100 * (wrapped / plain - 1), 2),
            "median_pair_overhead_pct": round(100 * (statistics.median(ratios) - 1), 2)}


def bench_mcp(image: Path, settings, calls: int) -> dict:
    import anyio
    from mcp import Client, StdioServerParameters

    from ocula.mcp.server import build_server
    from ocula.mcp.tools import Folders, Toolbox
    from ocula.tasks.metadata import metadata

    # metadata: a real task whose own work is ~1 ms, so that the call's overhead is what is measured
    toolbox = Toolbox(Folders([image.parent]), settings=settings)
    direct = []
    for _ in range(calls):
        t = time.perf_counter()
        metadata(image, settings=settings)
        direct.append(time.perf_counter() - t)

    async def through(client) -> list[float]:
        await client.call_tool("metadata", {"image": image.name})
        out = []
        for _ in range(calls):
            t = time.perf_counter()
            r = await client.call_tool("metadata", {"image": image.name})
            out.append(time.perf_counter() - t)
            assert not r.is_error, r.content[0].text
        return out

    async def in_process() -> list[float]:
        async with Client(build_server(toolbox)) as client:
            return await through(client)

    async def stdio() -> list[float]:
        params = StdioServerParameters(command=sys.executable, args=["-m", "ocula", "mcp", "--allow-dir",
                                                                     str(image.parent)],
                                       env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        async with Client(params) as client:
            return await through(client)

    mem = anyio.run(in_process)
    pipe = anyio.run(stdio)
    lib = statistics.median(direct)
    return {"calls": calls, "library_ms": round(1000 * lib, 2),
            "mcp_in_process_ms": round(1000 * statistics.median(mem), 2),
            "mcp_stdio_ms": round(1000 * statistics.median(pipe), 2),
            "overhead_in_process_ms": round(1000 * (statistics.median(mem) - lib), 2),
            "overhead_stdio_ms": round(1000 * (statistics.median(pipe) - lib), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1000, help="images for zero-shot")
    ap.add_argument("--detect", type=int, default=20, help="images for detection")
    ap.add_argument("--calls", type=int, default=50, help="MCP calls")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=("zero-shot", "detect", "mcp"), help="run one part")
    args = ap.parse_args()
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = _settings(args.threads)
        photos = photo_set(DATA / "photos-2mp", max(args.count, args.detect))
        if args.only in (None, "zero-shot"):
            clip, what = _clip_folder(tmp, base)
            zs = bench_zero_shot(photos[:args.count], _settings(args.threads, clip_model=clip))
            out["zero_shot"] = {**zs, "model": what}
            print(table([out["zero_shot"]], list(out["zero_shot"])))
        if args.only in (None, "detect"):
            detector, what = _rtdetr_folder(tmp, base)
            dt = bench_detect(photos[:args.detect], _settings(args.threads, detector=detector))
            out["detect"] = {**dt, "model": what}
            print(table([out["detect"]], list(out["detect"])))
        if args.only in (None, "mcp"):
            out["mcp"] = bench_mcp(ROOT / "samples" / "chelsea.jpg", base, args.calls)
            print(table([out["mcp"]], list(out["mcp"])))
    print("wrote", write_json("words" if args.only is None else f"words-{args.only}", out))


if __name__ == "__main__":
    main()
