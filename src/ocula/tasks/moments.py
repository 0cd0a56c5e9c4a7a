"""moments: photos grouped into events (a trip, a birthday afternoon) by time gaps and distance,
each with a title in English and Chinese built from the facts ("Shanghai, 12–14 May 2024" /
"上海，2024年5月12日至14日"), a photo count and a cover photo.

From the index (default): the index groups photos as it adds them (``update_moments``, called by
``tasks/index.py``), so listing is a read. From a folder: its photos' EXIF is read and grouped
on the spot, nothing is stored. The grouping rule is ``ocula.places.moments``: photos without a
usable capture time are not grouped (no date is invented); positions are the stored GPS, or,
where the index keeps no coordinates, the centre of the photo's city (never finer than its name).
The cover is the best photo by the stored quality verdict (a face counts a little), else the
middle one.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from ..config import Settings, get_settings
from ..errors import InvalidArgument, OculaError
from ..index import IndexStore, open_store
from ..index.base import CaptureRow
from ..results import Failure, MomentsResult, Place
from ._pipeline import default_workers

MAX_SIDE = 64  # only EXIF is read


def _aware(local: str, utc: str | None) -> datetime:
    """Local capture time, aware of its offset when the instant in UTC is known."""
    t = datetime.fromisoformat(local)
    if utc:
        delta = t - datetime.fromisoformat(utc.rstrip("Z"))
        try:
            return t.replace(tzinfo=timezone(delta))
        except ValueError:  # an offset of a day or more: not a real zone, keep local time
            return t
    return t


def _record(row: CaptureRow, settings: Settings) -> Any:
    from ..places import centre
    from ..places.moments import PhotoRecord

    place = Place.model_validate_json(row.place) if row.place else None
    pos = (row.lat, row.lon) if row.lat is not None and row.lon is not None else centre(place, settings=settings)
    score = float(row.quality or 0) + (0.5 if row.faces else 0.0)  # a good photo, a face a little more
    return PhotoRecord(id=str(row.id), time=_aware(row.captured, row.captured_utc), lat=pos[0] if pos else None,
                       lon=pos[1] if pos else None, place=place, score=score)


def update_moments(store: IndexStore, settings: Settings | None = None) -> int:
    """Group the index's ungrouped photos (new, copied, or left by a dissolved moment) into its
    moments; only moments that changed are written. Returns how many were made or changed."""
    from ..places.moments import group_moments

    with store.exclusive("moments"):  # several indexers sharing a database: one groups at a time
        rows = store.ungrouped()
        if not rows:
            return 0
        settings = settings or get_settings()
        existing = store.moments()
        grouped = group_moments([_record(r, settings) for r in rows], existing=existing)
        before = {m.id: m for m in existing}
        changed = [m for m in grouped if before.get(m.id) != m]
        keep = {m.id for m in grouped} - {m.id for m in changed}
        with store.transaction():
            store.replace_moments([i for i in before if i not in keep], changed)
        return len(changed)


def _from_index(db: str | os.PathLike | None, settings: Settings) -> MomentsResult:
    with open_store(db, settings=settings) as store:
        update_moments(store, settings)  # photos a crashed run left ungrouped
        found = store.moments()
        paths = {i: r.path for i, r in store.hits(int(m.cover) for m in found).items()}
        stats = store.stats()
        location = store.location
    for m in found:
        m.cover_path = paths.get(int(m.cover))
    grouped = sum(m.count for m in found)
    return MomentsResult(source=location, moments=found, photos=grouped,
                         undated=max(0, stats["images"] - stats["with_time"]))


def _from_folder(folder: str, settings: Settings) -> MomentsResult:
    from ..index.walk import walk
    from ..places.moments import PhotoRecord, group_moments
    from .metadata import metadata

    def read(path: str) -> Any:
        try:
            return path, metadata(path, gps=True, place=True, settings=settings)
        except OculaError as e:
            return path, Failure(source=path, error=str(e), kind=type(e).__name__)
        except OSError as e:
            return path, Failure(source=path, error=str(e), kind="OSError")

    records, failed, undated = [], [], 0
    with ThreadPoolExecutor(max_workers=default_workers(settings)) as pool:
        for path, md in pool.map(read, [e.path for e in walk([folder])]):
            if isinstance(md, Failure):
                failed.append(md)
                continue
            t = md.time
            if t is None or not t.known:
                undated += 1
                continue
            records.append(PhotoRecord(id=path, time=_aware(t.local, t.instant),
                                       lat=md.gps.latitude if md.gps else None,
                                       lon=md.gps.longitude if md.gps else None, place=md.place))
    found = group_moments(records)
    for m in found:
        m.cover_path = m.cover
        m.center_lat = m.center_lon = None  # coordinates stay private in what is shown
    return MomentsResult(source=folder, moments=found, photos=sum(m.count for m in found), undated=undated,
                         failed=failed)


def moments(folder: str | os.PathLike | None = None, *, db: str | os.PathLike | None = None,
            settings: Settings | None = None) -> MomentsResult:
    """The moments of the index (default) or of the photos in ``folder``, oldest first."""
    settings = settings or get_settings()
    t0 = time.perf_counter()
    if folder is not None and db is not None:
        raise InvalidArgument("give a folder or --db, not both")
    if folder is not None:
        root = os.path.abspath(os.path.expanduser(os.fspath(folder)))
        if not os.path.exists(root):
            raise InvalidArgument(f"not found: {root}")
        result = _from_folder(root, settings)
    else:
        result = _from_index(db, settings)
    result.seconds = round(time.perf_counter() - t0, 3)
    return result


def check_moment(store: IndexStore, moment: str) -> str:
    """A moment id that the index holds (InvalidArgument naming how to list them otherwise)."""
    m = str(moment).strip()
    if not m or not store.moments([m]):
        raise InvalidArgument(f"no moment {moment!r} in {store.location}; list them with: ocula moments")
    return m
