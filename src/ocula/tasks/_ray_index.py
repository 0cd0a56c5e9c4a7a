"""``ocula index SOURCE --ray ...``: the index task's batch work on a Ray cluster (Ray Data).

The driver (this process) lists the inputs, skips what the index already has unchanged or
recorded as bad, and sweeps vanished images, exactly as an in-process run does. The rest is a
Ray Dataset of inputs mapped through a pool of actors (``map_batches`` with an
``ActorPoolStrategy``): each actor opens the shared index and loads its models once, then per
batch reads and hashes the files, decodes, analyses and embeds them (``_Indexer.run_batch``,
the in-process code) and commits the batch in one transaction. Ray Data streams the inputs
with backpressure, so memory stays bounded whatever the size of the job.

Faults. A committed batch is never lost: a killed job run again finds those images unchanged
and goes on. An actor that dies is restarted and its batch retried once (``max_task_retries``);
a batch that fails again is dropped by Ray Data (``max_errored_blocks``),
its files go through once more one at a time, and those that still kill their worker are
recorded as failed, so the job ends and reports them. Two jobs (or a job and
an in-process run) on overlapping inputs leave one row per path: writes are upserts.

People (``people=True``, the default): each actor also finds and embeds the faces of its
batch (``_people.FaceWork``, loaded once per actor) and stores them in the batch's
transaction, as an in-process run does; the driver then catches up images never scanned and
groups the new faces into people once, under the index's ``exclusive("people")`` lock (several
jobs sharing a database never group at the same time). Named face regions in XMP are read for
files the workers can open as paths (a folder or a shared mount), not for object-store URLs.

Videos: an actor samples a video's keyframes and indexes them as an in-process run does
(``_video.index_videos``: the video's row and its keyframes' in one transaction, faces
included). Videos in object storage are refused, one line each (a keyframe is decoded again
from its video's file later: for re-embedding, detail, face thumbnails).

What differs from an in-process run: the content-hash matching of moved files happens per
batch in the actors, so a moved file is copied from its old row (no model work) and the old
path swept, and its id changes.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from typing import Any

from ..config import Settings
from ..errors import InvalidArgument, OculaError
from ..index import is_url, location, open_store
from ..index.sources import Unreadable, is_remote, list_source
from ..index.walk import Entry, under
from ..results import Failure, IndexReport
from .index import to_do

DIED = "the worker indexing it died twice (out of memory, or a crash in a decoder or model)"
REMOTE_VIDEO = ("a video from object storage is not indexed by --ray: copy it to a folder or shared mount "
                "the workers read (its keyframes are decoded again from the file later)")
NO_KEYFRAME = "no keyframe"  # a worker's status for a video none of whose keyframes could be analysed
_RAY_MODES = ("auto", "local")


def _check_mode(ray_mode: str) -> str:
    mode = ray_mode.strip()
    if mode not in _RAY_MODES and not mode.startswith("ray://"):
        raise InvalidArgument(f"ray must be auto, local or ray://HOST:PORT, got {ray_mode!r}")
    return mode


def _init_ray(mode: str) -> Any:
    try:
        import ray
    except ImportError:
        raise OculaError("--ray needs Ray: pip install 'ocula[scale]'") from None
    if ray.is_initialized():
        return ray
    quiet = dict(include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    try:
        if mode == "local":
            ray.init(num_cpus=os.cpu_count(), **quiet)
        elif mode == "auto":
            # a running cluster (RAY_ADDRESS or one started with `ray start` here), else a local one
            try:
                ray.init(address="auto", **quiet)
            except (ConnectionError, RuntimeError):
                ray.init(num_cpus=os.cpu_count(), **quiet)
        else:
            ray.init(address=mode, logging_level="WARNING")
    except Exception as e:  # Ray raises many types for an unreachable cluster
        raise OculaError(f"cannot start or reach the Ray cluster ({mode}): {str(e).strip().splitlines()[0]}; "
                         "check the address, or use --ray local") from None
    return ray


class _Worker:
    """One Ray actor: the shared index and the models, loaded once; one batch per call."""

    def __init__(self, db: str, steps: tuple[str, ...], threads: int, device: str | None,
                 labels: list[str] | None = None, people: bool = False):
        from ..backends import configure_threads
        from ..config import get_settings
        from ._people import FaceWork
        from .index import _Indexer

        overrides: dict[str, Any] = {"threads": threads, "jobs": 1}
        if device:
            overrides["device"] = device
        self.settings = get_settings().model_copy(update=overrides)
        configure_threads(threads)
        self.store = open_store(db, create=True, settings=self.settings)
        # the driver checked that face recognition is installed; its warnings are the driver's to give
        self.faces = FaceWork.start(self.store, self.settings, []) if people else None
        self.indexer = _Indexer(self.store, steps, self.settings, jobs=1, labels=labels, faces=self.faces)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        import hashlib

        from ..digest import sha256_file
        from ..image import load_image
        from ..media import is_video

        entries = [Entry(str(p), int(s), int(m)) for p, s, m in zip(batch["path"], batch["size"], batch["mtime_ns"])]
        status: dict[str, tuple[str, str]] = {}
        items: list[tuple[Entry, str, Any]] = []
        copies: list[tuple[Entry, str]] = []
        videos: list[tuple[Entry, str]] = []
        for e in entries:
            if is_video(e.path) and is_remote(e.path):
                items.append((e, "", Failure(source=e.path, error=REMOTE_VIDEO, kind="InvalidImage")))
                continue
            try:
                if e.size > self.settings.max_bytes and not is_video(e.path):  # a local video is streamed
                    raise Unreadable(f"file is {e.size} bytes, over the limit of {self.settings.max_bytes} "
                                     "(OCULA_MAX_BYTES)")
                if is_remote(e.path):
                    from ..index.sources import read_bytes

                    data = read_bytes(e.path)
                    digest = hashlib.sha256(data).hexdigest()
                else:
                    data, digest = None, sha256_file(e.path)
            except (Unreadable, OSError) as err:
                items.append((e, "", Failure(source=e.path, error=str(err), kind="OSError")))
                continue
            if self.store.ids_by_hash([digest]):
                copies.append((e, digest))
                continue
            if is_video(e.path):  # keyframes sampled and indexed below, one transaction per video
                videos.append((e, digest))
                continue
            if data is None:
                loaded = self.indexer.decode(e, digest)
            else:
                try:
                    loaded = load_image(data, max_side=self.indexer.side, settings=self.settings, name=e.path)
                except OculaError as err:
                    loaded = Failure(source=e.path, error=getattr(err, "reason", str(err)), kind=type(err).__name__)
            items.append((e, digest, loaded))
        faces = (self.faces.faces, self.faces.from_xmp, len(self.faces.warnings)) if self.faces else (0, 0, 0)
        if items:
            _, failures = self.indexer.run_batch(items)
            failed = {f.source: f for f in failures}
            for e, _, _ in items:
                f = failed.get(e.path)
                status[e.path] = (f.kind or "failed", f.error) if f is not None else ("analysed", "")
        if copies:
            with self.store.transaction():
                for e, digest in copies:
                    src = self.store.ids_by_hash([digest]).get(digest)
                    if src is None:
                        continue
                    self.store.copy_image(src, e.path, e.size, e.mtime_ns, time.time())
                    status[e.path] = ("copied", "")
        frames, frame_failures = self._videos(videos, status)
        paths = [e.path for e in entries if e.path in status]
        extra = [f.source for f in frame_failures]  # keyframes that failed: reported, not inputs
        status.update({f.source: (f.kind or "failed", f.error) for f in frame_failures})
        n = len(paths) + len(extra)
        out = {"path": paths + extra, "status": [status[p][0] for p in paths + extra],
               "error": [status[p][1] for p in paths + extra], "worker": [os.getpid()] * n,
               "frames": [frames.get(p, 0) for p in paths] + [0] * len(extra),
               "keyframe": [False] * len(paths) + [True] * len(extra),
               "faces": [0] * n, "from_xmp": [0] * n, "notes": [""] * n}
        if self.faces is not None and paths:  # the batch's face counts and warnings ride on its first row
            out["faces"][0] = self.faces.faces - faces[0]
            out["from_xmp"][0] = self.faces.from_xmp - faces[1]
            out["notes"][0] = "\n".join(self.faces.warnings[faces[2]:])
        return out

    def _videos(self, videos: list[tuple[Entry, str]], status: dict[str, tuple[str, str]]
                ) -> tuple[dict[str, int], list[Failure]]:
        """Index videos as an in-process run does (``_video.index_videos``): the video's row and
        its keyframes' in one transaction. Returns keyframes indexed per video and the keyframes
        that failed."""
        from ._video import index_videos

        frames: dict[str, int] = {}
        frame_failures: list[Failure] = []
        for e, digest in videos:
            part = IndexReport(db=self.store.location)
            index_videos(self.store, [e], {e.path: digest}, self.indexer.all_steps, self.settings, 1,
                         self.indexer.labels, part, faces=self.faces, indexer=self.indexer)
            mine = [f for f in part.failed if f.source == e.path]
            if mine:
                status[e.path] = (mine[0].kind or "failed", mine[0].error)
            else:  # not one keyframe analysed: recorded as a bad file, its keyframes' failures reported
                status[e.path] = ("analysed", "") if part.analysed else (NO_KEYFRAME, "")
            frames[e.path] = part.frames
            frame_failures += [f for f in part.failed if f.source != e.path]
        return frames, frame_failures

    def __del__(self) -> None:
        store = getattr(self, "store", None)
        if store is not None:
            try:
                store.close()
            except Exception:  # noqa: BLE001 - a closing actor has nobody to tell
                pass


def run(sources: list[str], *, db: str | os.PathLike | None, ray_mode: str, exclude: tuple[str, ...], hidden: bool,
        steps: tuple[str, ...], batch_size: int, settings: Settings, progress: Any, t_start: float,
        follow_links: bool = False, labels: list[str] | None = None, people: bool = False) -> IndexReport:
    """The index task on Ray (see the module docstring)."""
    mode = _check_mode(ray_mode)
    where = location(db, settings)
    if not is_url(where):
        if mode.startswith("ray://"):
            raise InvalidArgument("a Ray cluster's workers need a database they all reach: "
                                  "--db postgresql://USER@HOST/DBNAME")
        where = os.path.abspath(os.fspath(where))
    entries: list[Entry] = []
    listed_failures: list[tuple[str, str]] = []
    roots: list[str] = []
    for source in sources:
        if not is_remote(source) and not os.path.exists(os.path.expanduser(source)):
            raise InvalidArgument(f"not found: {source}")
        found, bad, rts = list_source(source, exclude=exclude, hidden=hidden, follow_links=follow_links)
        entries += found
        listed_failures += bad
        roots += rts
    unique: dict[str, Entry] = {}
    for e in entries:
        unique.setdefault(e.path, e)
    entries = list(unique.values())

    store = open_store(where, create=True, settings=settings)
    try:
        report = IndexReport(db=store.location, roots=roots or list(sources), seen=len(entries))
        if not (settings.index_place and settings.index_gps):  # privacy settings: drop what is stored
            with store.transaction():
                store.forget(places=not settings.index_place, positions=not settings.index_gps)
        known, bad = store.known(), store.known_errors()
        todo = to_do(entries, known, bad, report)
        seen = set(unique)
        vanished = [k.id for p, k in known.items() if p not in seen and under(p, roots)]
        now = time.time()
        with store.transaction():
            for path, problem in listed_failures:
                store.record_error(path, 0, 0, problem, now)
            report.removed = store.delete_images(vanished)
            store.delete_errors([p for p in bad if p not in seen and under(p, roots)])
        report.failed += [Failure(source=p, error=e, kind="OSError") for p, e in listed_failures]
        if people:
            from ._people import FaceWork

            people = FaceWork.start(store, settings, report.warnings) is not None  # installed, else one warning
    finally:
        store.close()

    if progress:
        progress(0, len(todo))
    if todo:
        _run_dataset(todo, str(where), mode, steps, batch_size, settings, progress, report, labels, people)
    with open_store(where, create=True, settings=settings) as store:
        from ._people import FaceWork
        from .index import _read_missing_captures, _refresh_vectors
        from .moments import update_moments

        report.reembedded = _refresh_vectors(store, seen, settings, 1, batch_size)
        report.places_read = _read_missing_captures(store, seen, settings, 1, batch_size)
        report.moments = update_moments(store, settings)
        store.sync()  # SQLite: vector files rebuilt from what the workers wrote; PostgreSQL: HNSW indexes
        if people:  # images never scanned (an older index, people switched on later), then grouping
            work = FaceWork(store, settings)
            report.new_people = work.finish(seen)
            report.faces += work.faces
            report.warnings += work.warnings
        report.images = store.count()
    report.seconds = round(time.perf_counter() - t_start, 3)
    return report


def _run_dataset(todo: list[Entry], db: str, mode: str, steps: tuple[str, ...], batch_size: int,
                 settings: Settings, progress: Any, report: IndexReport, labels: list[str] | None = None,
                 people: bool = False) -> None:
    ray = _init_ray(mode)
    from ray.data import DataContext

    logging.getLogger("ray.data").setLevel(logging.ERROR)  # our progress bar and summary say it
    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.max_errored_blocks = -1  # a batch whose worker died twice is dropped and reported, the job goes on
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    cpus = max(1, int(resources.get("CPU", 1)))
    if gpus and settings.device != "cpu":
        actors, per_actor = gpus, dict(num_gpus=1, num_cpus=max(1, cpus // gpus))
        threads, device = per_actor["num_cpus"], settings.device if settings.device.startswith("cuda") else "cuda"
    else:
        # one model thread per actor: on a CPU node N single-threaded actors outrun one N-threaded one
        actors, per_actor, threads, device = cpus, dict(num_cpus=1), 1, None
    pool = dict(actors=actors, per_actor=per_actor,
                kwargs=dict(db=db, steps=steps, threads=threads, device=device, labels=labels, people=people))
    done: set[str] = set()
    workers: set[int] = set()
    t0 = time.perf_counter()
    _pass(ray, todo, batch_size, pool, done, workers, report, progress, len(todo))
    lost = [e for e in todo if e.path not in done]
    if lost and batch_size > 1:
        # a batch died twice: its files again one at a time, so that only the one that kills its
        # worker is reported, not its neighbours
        _pass(ray, lost, 1, pool, done, workers, report, progress, len(todo))
        lost = [e for e in lost if e.path not in done]
    elapsed = max(1e-9, time.perf_counter() - t0)
    if lost:
        with open_store(db, create=True, settings=settings) as store, store.transaction():
            for e in lost:
                store.record_error(e.path, e.size, e.mtime_ns, DIED, time.time())
        report.failed += [Failure(source=e.path, error=DIED, kind="WorkerDied") for e in lost]
    report.images_per_second = round(report.analysed / elapsed, 3)
    report.workers = len(workers) or actors


def _pass(ray: Any, todo: list[Entry], batch_size: int, pool: dict, done: set[str], workers: set[int],
          report: IndexReport, progress: Any, total: int) -> None:
    """One Ray Dataset over ``todo``: the actor pool indexes it batch by batch; what came back is
    counted in ``report``."""
    from ray.data import ActorPoolStrategy

    rows = [{"path": e.path, "size": e.size, "mtime_ns": e.mtime_ns} for e in todo]
    # one block per batch, so that every actor gets work from the start
    ds = ray.data.from_items(rows, override_num_blocks=max(1, min(-(-len(rows) // batch_size), 100_000)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Ray 2.60 deprecates passing max_restarts this way, with no other way yet
        # Ray Data restarts actors and retries their tasks forever by default: a file that kills its
        # decoder would then stall the job. Actors still restart as often as they die (the pool must
        # survive), but a batch is retried once, then dropped and reported
        # one task in flight per actor: when an actor dies, only the batch it was on is retried
        out = ds.map_batches(_Worker, batch_size=batch_size, fn_constructor_kwargs=pool["kwargs"],
                             compute=ActorPoolStrategy(size=pool["actors"], max_tasks_in_flight_per_actor=1),
                             max_restarts=-1, max_task_retries=1, **pool["per_actor"])
    for batch in out.iter_batches(batch_size=None, batch_format="pandas"):
        for path, state, error, worker, frames, keyframe, faces, from_xmp, notes in zip(
                batch["path"], batch["status"], batch["error"], batch["worker"], batch["frames"], batch["keyframe"],
                batch["faces"], batch["from_xmp"], batch["notes"]):
            if keyframe:  # a keyframe of a video that failed; the video itself has its own row
                report.failed.append(Failure(source=path, error=error, kind=state))
                continue
            done.add(path)
            workers.add(int(worker))
            if frames:
                report.videos += 1
                report.frames += int(frames)
            report.faces += int(faces)
            report.named_from_xmp += int(from_xmp)
            report.warnings += [n for n in str(notes).split("\n") if n]
            if state == "analysed":
                report.analysed += 1
            elif state == "copied":
                report.copied += 1
            elif state == NO_KEYFRAME:  # counted as the in-process run counts it: its keyframes failed
                pass
            else:
                report.failed.append(Failure(source=path, error=error, kind=state))
        if progress:
            progress(len(done), total)

