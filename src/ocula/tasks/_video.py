"""Videos for analyze and index: keyframes sampled by ``media.sample_video`` are analysed like
photos. ``analyze`` returns one Analysis with the facts of each keyframe; ``index`` stores the
video as one row and each keyframe as a searchable row linked to it (``IndexStore.link_frames``),
all in one transaction per video, so a run killed half-way leaves the video to do again."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

from ..config import Settings
from ..errors import InvalidImage, OculaError
from ..media import Sampled, clock, frame_key, is_video, sample_video
from ..results import Analysis, Failure, ImageInfo, Keyframe, VideoInfo

if TYPE_CHECKING:
    from ..index import IndexStore
    from ..index.walk import Entry
    from ..results import IndexReport

__all__ = ["is_video", "sample", "analyze_video", "split_videos", "index_videos"]


def sample(src: Any, *, max_side: int | None, settings: Settings) -> Sampled:
    """``media.sample_video``, with the recording time moved to the place's time zone when the
    container gave it in UTC and a GPS position names the place (else it stays UTC, +00:00)."""
    clip = sample_video(src, max_side=max_side, settings=settings)
    _local_time(clip, settings)
    return clip


def _local_time(clip: Sampled, settings: Settings) -> None:
    exif = clip.frames[0].image.exif if clip.frames else None
    if not exif:
        return
    sub, gps = exif.get_ifd(0x8769), exif.get_ifd(0x8825)
    recorded, offset = sub.get(0x9003), sub.get(0x9011)
    if not recorded or offset != "+00:00" or 2 not in gps or 4 not in gps:
        return
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from ..places import reverse

    def degrees(v: Any, ref: str) -> float:
        d = float(v[0]) + float(v[1]) / 60 + float(v[2]) / 3600
        return -d if ref in ("S", "W") else d

    try:
        place = reverse(degrees(gps[2], gps.get(1, "N")), degrees(gps[4], gps.get(3, "E")), settings=settings)
        zone = ZoneInfo(place.timezone) if place.timezone else None
    except (OculaError, ZoneInfoNotFoundError, ValueError, TypeError):
        return
    if zone is None:
        return
    utc = datetime.strptime(recorded, "%Y:%m:%d %H:%M:%S").replace(tzinfo=timezone.utc)
    local = utc.astimezone(zone)
    delta = local.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sub[0x9003] = local.strftime("%Y:%m:%d %H:%M:%S")
    sub[0x9011] = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def video_info(clip: Sampled) -> VideoInfo:
    return VideoInfo(duration=clip.duration, fps=clip.fps, codec=clip.codec, frame_count=clip.frame_count,
                     rotation=clip.rotation, keyframes=len(clip.frames), decode_seconds=clip.seconds)


def image_info(clip: Sampled, source: str, nbytes: int | None) -> ImageInfo:
    return ImageInfo(source=source, format=clip.format, width=clip.width, height=clip.height, mode="video",
                     frames=clip.frame_count or len(clip.frames), bytes=nbytes)


def _size(src: Any) -> int | None:
    try:
        return os.path.getsize(src) if isinstance(src, (str, os.PathLike)) else None
    except OSError:
        return None


def analyze_video(src: Any, steps: tuple[str, ...], options: dict[str, Any], settings: Settings) -> Analysis:
    """Every analyze step on each keyframe of a video."""
    from .analyze import _analyze_loaded, decode_side

    clip = sample(src, max_side=decode_side(steps), settings=settings)
    name = str(src) if isinstance(src, (str, os.PathLike)) else f"<{type(src).__name__}>"
    out = Analysis(image=image_info(clip, name, _size(src)), video=video_info(clip), warnings=list(clip.warnings),
                   timings={"decode": clip.seconds})
    for f in clip.frames:
        facts = _analyze_loaded(f.image, steps, options, settings)
        f.image._cache.clear()
        out.keyframes.append(Keyframe(at=f.at, timestamp=clock(f.at), scene=f.scene, facts=facts))
        for step, seconds in facts.timings.items():
            out.timings[step] = round(out.timings.get(step, 0.0) + seconds, 4)
    return out


def analyze_video_item(src: Any, steps: tuple[str, ...], options: dict[str, Any], settings: Settings
                       ) -> Analysis | Failure:
    """``analyze_video`` for a batch: a bad video is a Failure, and the batch goes on."""
    try:
        return analyze_video(src, steps, options, settings)
    except InvalidImage as e:
        return Failure(source=e.source, error=e.reason, kind="InvalidImage")
    except OculaError as e:
        return Failure(source=str(src), error=str(e), kind=type(e).__name__)


# -- the index ------------------------------------------------------------------------------

def split_videos(entries: list[Entry]) -> tuple[list[Entry], list[Entry]]:
    """(photos, videos) among walked files."""
    videos = [e for e in entries if is_video(e.path)]
    if not videos:
        return entries, []
    chosen = {e.path for e in videos}
    return [e for e in entries if e.path not in chosen], videos


def index_videos(store: IndexStore, videos: list[Entry], hashes: dict[str, str], steps: tuple[str, ...],
                 settings: Settings, jobs: int, labels: list[str] | None, report: IndexReport,
                 progress: Callable[[], None] | None = None, faces: Any = None, indexer: Any = None) -> None:
    """Sample, analyse, describe and embed the keyframes of each video; store the video and its
    keyframes in one transaction (``_Indexer.run_batch`` with a hook). Failures are recorded.
    ``faces`` (the people step): the faces of each keyframe are embedded and stored with it.
    ``indexer``: an ``_Indexer`` on ``store`` to use (a Ray actor's, made once), else one is made."""
    from ..index.walk import Entry
    from .index import _Indexer, _taken, read_capture

    indexer = indexer or _Indexer(store, steps, settings, jobs, labels=labels, faces=faces)
    for e in videos:
        h = hashes[e.path]
        try:
            clip = sample(e.path, max_side=indexer.side, settings=settings)
        except (OculaError, OSError) as err:
            reason = err.reason if isinstance(err, InvalidImage) else str(err)
            with store.transaction():
                store.record_error(e.path, e.size, e.mtime_ns, reason, time.time())
            report.failed.append(Failure(source=e.path, error=reason, kind=type(err).__name__))
            if progress:
                progress()
            continue
        capture, md = read_capture(clip.frames[0].image, settings)
        analysis = Analysis(image=image_info(clip, e.path, e.size), video=video_info(clip), warnings=clip.warnings)
        row = {"path": e.path, "size": e.size, "mtime_ns": e.mtime_ns, "hash": h, "width": clip.width,
               "height": clip.height, "taken": _taken(md, e.mtime_ns), "has_text": 0, "faces": 0, "quality": None,
               "phash": None, "analysis": analysis.model_dump_json(), "ocr": "", "description": "", "tags_en": "",
               "tags_zh": "", "labels": "", "steps": ",".join(steps), "indexed_at": time.time(), "media": "video"}
        at = {frame_key(e.path, f.at): f.at for f in clip.frames}
        items = [(Entry(frame_key(e.path, f.at), e.size, e.mtime_ns), f"{h}#t={f.at:.3f}", f.image)
                 for f in clip.frames]

        def link(store: IndexStore, written: list[tuple[str, int]], failed: list[Failure]) -> None:
            if not written:  # not one keyframe could be analysed: the video is a bad file, retried when it changes
                why = f" ({failed[0].error})" if failed else ""
                store.record_error(e.path, e.size, e.mtime_ns, f"no keyframe could be analysed{why}", time.time())
                return
            video_id = store.upsert_image(row)
            if capture is not None:
                store.put_capture(video_id, capture)
            store.link_frames(video_id, {id_: at[path] for path, id_ in written})

        n_ok, bad = indexer.run_batch(items, also=link)
        report.failed.extend(bad)
        if n_ok:
            report.analysed += 1
            report.videos += 1
            report.frames += n_ok
        if progress:
            progress()
