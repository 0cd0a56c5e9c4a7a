"""RAW files and videos (issue 14): a RAW file through its embedded preview against demosaicing
it, side by side; a 1-minute 1080p video indexed.

    python bench/media.py [--repeat 3] [--seconds 60] [--skip-video] [--skip-raw]

RAW. A 24 MP DNG (6000x4000, 12-bit RGGB mosaic, uncompressed, as many cameras write DNG) made
here from a mosaic of the sample photos, with a full-size JPEG preview (quality 92) embedded the
way cameras do. ``load_image`` at the sizes the steps ask for (2560: the default analyze steps;
1024; 384: classification) through the preview (``raw_decode=auto``) and through LibRaw
(``raw_decode=demosaic``, which takes LibRaw's half-size shortcut when that is still large enough:
each 2x2 block of the sensor one pixel, no interpolation), alternated A-B-B-A, best of
``--repeat``; beside them the full demosaic (``max_side=None``: the whole sensor, interpolated).
Target: the preview >= 5x faster than demosaicing. An uncompressed DNG is the easiest RAW to
unpack; compressed NEF/CR2/CR3 cost LibRaw more, the preview the same.

Video. ``--seconds`` (60) of 1920x1080 at 30 fps, H.264 (libx264, preset veryfast, a key frame
every 2 s as phones write them), made with PyAV from the sample photos (a scene every 6 s, each
panning, one with printed words), indexed with the default
analyze steps into a fresh index (``ocula index``'s code path, models loaded before the clock
starts); the time split into sampling keyframes (decoding) and the rest (analysing, describing,
embedding, writing). Target: <= 10 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _common import ROOT, peak_rss_mb, table, write_json  # noqa: E402


def mosaic(size: tuple[int, int]):
    """The sample photos tiled at about their own resolution: a picture with a camera's detail."""
    from PIL import Image

    w, h = size
    out = Image.new("RGB", size)
    photos = [Image.open(p).convert("RGB") for p in sorted((ROOT / "samples").glob("*.jpg"))]
    x = y = i = 0
    row_h = 0
    while y < h:
        tile = photos[i % len(photos)]
        tile = tile.resize((int(tile.width * 1.5), int(tile.height * 1.5)))
        out.paste(tile, (x, y))
        row_h = max(row_h, tile.height)
        x += tile.width
        i += 1
        if x >= w:
            x, y, row_h = 0, y + row_h, 0
    return out


def raw_bench(folder: Path, repeat: int) -> list[dict]:
    from media_helpers import make_dng

    from ocula.config import load_settings
    from ocula.image import load_image

    picture = folder / "mosaic.png"
    mosaic((6000, 4000)).save(picture)
    t0 = time.perf_counter()
    dng = make_dng(folder / "camera.dng", picture, (6000, 4000), preview=(6000, 4000))
    print(f"made {dng.name}: {dng.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s", flush=True)
    auto, demosaic = load_settings(raw_decode="auto"), load_settings(raw_decode="demosaic")
    full = 1e9
    for _ in range(max(1, repeat - 1)):  # the whole sensor, interpolated: what max_side=None asks for
        t = time.perf_counter()
        li = load_image(dng, settings=demosaic)
        full = min(full, time.perf_counter() - t)
    rows = []
    for side in (2560, 1024, 384):
        best = {"preview": 1e9, "demosaic": 1e9}
        got = {}
        for which in ["preview", "demosaic", "demosaic", "preview"] * repeat:
            t = time.perf_counter()
            li = load_image(dng, max_side=side, settings=auto if which == "preview" else demosaic)
            best[which] = min(best[which], time.perf_counter() - t)
            got[which] = f"{li.raw} -> {li.width}x{li.height}"
        row = {"max_side": side, "preview_ms": round(best["preview"] * 1000),
               "half_demosaic_ms": round(best["demosaic"] * 1000), "full_demosaic_ms": round(full * 1000),
               "vs_half": f"{best['demosaic'] / best['preview']:.1f}x", "vs_full": f"{full / best['preview']:.1f}x",
               "preview": got["preview"], "demosaic": got["demosaic"]}
        rows.append(row)
        print(row, flush=True)
    return rows


def make_clip(path: Path, seconds: int) -> Path:
    """The sample photos and a card with printed words, 6 s each, panning (tests/media_helpers)."""
    from media_helpers import make_video
    from PIL import Image, ImageDraw, ImageFont

    card = path.parent.parent / "card.png"
    img = Image.new("RGB", (1920, 1080), "white")
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    ImageDraw.Draw(img).text((200, 450), "HARBOUR FERRY 42", fill="black",
                             font=ImageFont.truetype(font, 140) if Path(font).exists() else None)
    img.save(card)
    photos = sorted((ROOT / "samples").glob("*.jpg"))
    photos.insert(3, card)
    scenes = [photos[i % len(photos)] for i in range(max(1, seconds // 6))]
    return make_video(path, scenes, size=(1920, 1080), fps=30, seconds_each=6, gop=60,
                      metadata={"creation_time": "2024-05-12T07:20:00.000000Z"})


def video_bench(folder: Path, seconds: int) -> dict:
    from ocula.config import get_settings
    from ocula.media import sample_video
    from ocula.tasks.analyze import decode_side, default_steps
    from ocula.tasks.index import index

    videos = folder / "videos"
    videos.mkdir()
    t0 = time.perf_counter()
    clip = make_clip(videos / "clip.mp4", seconds)
    print(f"made {clip.name}: {clip.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.0f} s", flush=True)
    warm = folder / "warm"  # load every model once, outside the clock
    warm.mkdir()
    from PIL import Image

    Image.open(ROOT / "samples" / "chelsea.jpg").save(warm / "w.jpg")
    index([warm], db=folder / "warm.db")
    settings = get_settings()
    t = time.perf_counter()
    sampled = sample_video(clip, max_side=decode_side(default_steps()), settings=settings)
    sample_s = time.perf_counter() - t
    t = time.perf_counter()
    report = index([videos], db=folder / "video.db")
    total = time.perf_counter() - t
    assert not report.failed, report.failed
    return {"video": f"{seconds} s, 1920x1080, 30 fps, H.264, a key frame every 2 s",
            "keyframes": report.frames, "at": [f.at for f in sampled.frames], "sampling_s": round(sample_s, 2),
            "index_s": round(total, 2), "per_keyframe_s": round((total - sample_s) / max(1, report.frames), 2),
            "steps": list(default_steps()), "target_s": 10, "peak_rss_mb": round(peak_rss_mb())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--skip-raw", action="store_true")
    ap.add_argument("--skip-video", action="store_true")
    args = ap.parse_args()
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="ocula-bench-media-") as tmp:
        folder = Path(tmp)
        if not args.skip_raw:
            rows = raw_bench(folder, args.repeat)
            print("\nRAW, 24 MP DNG with a full-size JPEG preview (load_image, best of "
                  f"{args.repeat}, alternated):")
            print(table(rows, ["max_side", "preview_ms", "half_demosaic_ms", "full_demosaic_ms", "vs_half", "vs_full",
                               "preview", "demosaic"]))
            out["raw"] = rows
        if not args.skip_video:
            v = video_bench(folder, args.seconds)
            print("\nVideo indexed (default steps, fresh index, models warm):")
            print(table([v], ["video", "keyframes", "sampling_s", "per_keyframe_s", "index_s", "target_s",
                              "peak_rss_mb"]))
            out["video"] = v
    path = write_json("media", {**out, "note": "a shared, busy 2-core machine: compare ratios from one run"})
    print(f"\n{path}")


if __name__ == "__main__":
    main()
