"""People in the index: the face work of an index run, grouping, recognition against the stored
faces, and what the people commands share (finding a person by id or name, summaries).

An index run (``FaceWork``):
- for each new or changed image, the faces analyze found (or, without that step, the
  detector's) are aligned and embedded in one batch call, and stored with the image in the
  same transaction. A changed file's faces take over the person, lock and "not this person"
  of the face they overlap (IoU >= 0.5), so what a person said survives edits;
- named face regions in the image's XMP (Lightroom, digiKam, Picasa: ``regions.read_people``)
  name the face they cover (IoU >= 0.3) unless a person already placed it; a named region no
  detector found is embedded from its own box; a name without a box (PersonInImage alone) is a
  person with no face, kept with the image, so searching for it finds the photo;
- images never scanned with the current model (an old index, people switched on later) are
  caught up; then every new face is grouped at once (``group``: ``people.cluster.update``),
  so the cost follows the new faces. A run killed before grouping leaves faces marked
  waiting, and the next run groups them.
Unchanged files do no face work: nothing is read, and grouping has nothing waiting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from ..backends import dlib_face
from ..config import Settings, get_settings
from ..errors import InvalidArgument, OculaError
from ..index import IndexStore, open_store
from ..index.base import FaceRow, PersonRow, StoredFaces
from ..people import cluster
from ..people.names import clean_name, name_key, nearest
from ..results import Face, FaceEmbeddingsResult, NamedPerson, PersonSummary, WhoFace

if TYPE_CHECKING:
    from ..image import LoadedImage
    from ..results import FacesResult

MODEL = dlib_face.NAME
CARRY_IOU = 0.5      # a re-detected face of a changed file is the face it was
XMP_IOU = 0.3        # an XMP region covers a detected face (regions.py's same-face rule)
BATCH = 16           # images per embedding call when catching up
# what grouping was done with: a change (a new threshold in a new version) regroups everything
GROUPING = f"{MODEL}/t{cluster.THRESHOLD}/e{cluster.EPS}/m{cluster.MIN_FACES}"


# --- an index run ----------------------------------------------------------------------------

@dataclass
class Found:
    """One image's faces, ready to store."""

    result: FaceEmbeddingsResult
    detected: int                                         # the first ``detected`` faces came from the detector
    names: dict[int, str] = field(default_factory=dict)   # face index -> name of the XMP region on it
    boxless: list[str] = field(default_factory=list)      # names the XMP gives without a box


class FaceWork:
    """The face step of one index run over ``store``."""

    def __init__(self, store: IndexStore, settings: Settings):
        self.store = store
        self.settings = settings
        self.faces = 0
        self.from_xmp = 0
        self.warnings: list[str] = []

    @classmethod
    def start(cls, store: IndexStore, settings: Settings, warnings: list[str]) -> "FaceWork | None":
        """The face step, or None (and one warning) when face recognition is not installed."""
        if not dlib_face.is_available():
            warnings.append(f"people skipped: face recognition is not installed ({dlib_face.INSTALL}; "
                            f"OCULA_PEOPLE=0 silences this)")
            return None
        return cls(store, settings)

    def prepare(self, items: list[tuple[str, "LoadedImage", "FacesResult | None"]]) -> list[Found | None]:
        """Embed the faces of decoded images (``found``: analyze's faces, None to detect now).
        Outside any transaction: this is the slow part. None for an image that failed."""
        from .face_embeddings import embed_prepared, prepare_found

        prepared: list[Any] = []
        meta: list[tuple[int, dict[int, str], list[str]] | None] = []
        for path, loaded, found in items:
            try:
                faces, detector = self._detect(loaded, found)
                named, extra, boxless = self._xmp(path, faces)
                prepared.append(prepare_found(path, loaded, faces + extra, detector, self.settings))
                meta.append((len(faces), named, boxless))
            except OculaError as e:  # InvalidImage included: the image itself was indexed; its faces wait
                self.warnings.append(f"{path}: faces not read ({e})")
                meta.append(None)
        done = iter(embed_prepared(prepared, self.settings)) if prepared else iter(())
        out: list[Found | None] = []
        for m in meta:
            out.append(None if m is None else Found(next(done), m[0], m[1], m[2]))
        return out

    def _detect(self, loaded: "LoadedImage", found: "FacesResult | None") -> tuple[list[Face], str]:
        if found is not None:
            return list(found.faces), found.model
        from . import faces as detect

        res = detect.faces(loaded, settings=self.settings)
        return list(res.faces), res.model

    def _xmp(self, path: str, faces: list[Face]) -> tuple[dict[int, str], list[Face], list[str]]:
        """Names other photo managers gave faces: region name per face index, faces to add for
        named regions no detector found, and names without a box."""
        from ..media import frame_of
        from ..regions import iou, read_people

        if frame_of(path) is not None:  # a video's keyframe: face regions are a still photo's metadata
            return {}, [], []
        try:
            regions, names = read_people(path)
        except OculaError as e:
            self.warnings.append(f"{path}: its XMP face names were not read ({e})")
            return {}, [], []
        named: dict[int, str] = {}
        extra: list[Face] = []
        for r in regions:
            if not r.name or r.type != "Face" or r.box is None:
                continue
            overlaps = [iou(f.box, r.box) if i not in named else 0.0 for i, f in enumerate(faces)]
            best = int(np.argmax(overlaps)) if overlaps else -1
            if best >= 0 and overlaps[best] >= XMP_IOU:
                named[best] = r.name
            elif r.box[2] >= 8 and r.box[3] >= 8:
                extra.append(Face(box=r.box, score=0.0))
                named[len(faces) + len(extra) - 1] = r.name
        boxed = {name_key(n) for n in named.values()}
        return named, extra, [n for n in names if name_key(n) not in boxed]

    def put(self, image_id: int, found: Found) -> None:
        """Store one image's faces (inside the batch's transaction)."""
        old = self.store.faces_of([image_id]).get(image_id, [])
        taken: set[int] = set()
        rows = []
        for i, f in enumerate(found.result.faces):
            row = FaceRow(box=f.box, embedding=np.asarray(f.embedding, np.float32), model=MODEL, score=f.score,
                          quality=f.quality.score, usable=f.quality.usable, reasons="; ".join(f.quality.reasons),
                          landmarks=f.landmarks, alignment=[list(p) for p in f.alignment],
                          source="detected" if i < found.detected else "xmp")
            prev = _best_overlap(f.box, old, taken)
            if prev is not None:
                taken.add(prev.id)
                row.person_id, row.locked, row.distance = prev.person_id, prev.locked, prev.distance
                row.grouped, row.rejected = prev.person_id is not None or prev.locked, prev.rejected
            name = found.names.get(i)
            if name and not row.locked:
                pid = self.person_for(name)
                if pid is not None:
                    row.person_id, row.locked, row.grouped, row.distance = pid, True, True, None
                    self.from_xmp += 1
            rows.append(row)
        self.store.put_faces(image_id, MODEL, rows)
        # a name without a box is a person too (with no face yet): it finds the photo, and naming
        # the face later joins them
        boxless = [(n, name_key(n)) for n in found.boxless if self.person_for(n) is not None]
        self.store.put_image_names(image_id, boxless, "xmp")
        self.faces += len(rows)

    def person_for(self, name: str) -> int | None:
        """The person a name from XMP belongs to: the one with that name or alias, else a new one."""
        try:
            clean = clean_name(name)
        except InvalidArgument:
            return None
        key = name_key(clean)
        ids = self.store.people_by_key(key)
        return ids[0] if ids else self.store.add_person(clean, key, confirmed=True)

    def catch_up(self, paths: set[str] | None) -> int:
        """Scan images that have no faces from the current model (among ``paths``, or all; a video's
        keyframes when the video is among them)."""
        from ..media import frame_of, load_media
        from .faces import MAX_SIDE

        def among(path: str) -> bool:
            frame = frame_of(path) if paths is not None and path not in paths else None
            return paths is None or path in paths or (frame is not None and frame[0] in paths)

        todo = [(i, p) for i, p in self.store.unscanned_faces(MODEL) if among(p)]
        for start in range(0, len(todo), BATCH):
            items, ids = [], []
            for id_, path in todo[start:start + BATCH]:
                try:  # a keyframe is decoded from its video
                    items.append((path, load_media(path, max_side=MAX_SIDE, settings=self.settings), None))
                    ids.append(id_)
                except (OculaError, OSError):  # gone or broken since: the next index run deals with it
                    continue
            found = self.prepare(items)
            with self.store.transaction():
                for id_, f in zip(ids, found):
                    if f is not None:
                        self.put(id_, f)
        return len(todo)

    def finish(self, paths: set[str] | None) -> int:
        """Catch up and group; returns how many people appeared."""
        self.catch_up(paths)
        return group(self.store)


def _best_overlap(box: tuple[int, int, int, int], old: list[FaceRow], taken: set[int]) -> FaceRow | None:
    from ..regions import iou

    best, score = None, CARRY_IOU
    for f in old:
        s = iou(box, f.box)
        if f.id not in taken and s >= score:
            best, score = f, s
    return best


# --- grouping --------------------------------------------------------------------------------

def gallery_of(stored: StoredFaces, rows: np.ndarray | None = None) -> cluster.Gallery:
    sel = slice(None) if rows is None else rows
    return cluster.Gallery.build(stored.ids[sel], stored.vectors[sel], stored.person[sel], stored.usable[sel],
                                 stored.locked[sel], stored.confirmed, stored.rejected)


def group(store: IndexStore) -> int:
    """Group the faces waiting since the last run (or regroup all after a change of model or
    threshold); returns how many people appeared. One transaction."""
    before = store.get_meta("people.grouping")
    if before in (None, GROUPING) and not store.faces_waiting():
        return 0  # nothing new: no face is read
    # one grouper at a time on an index many indexers share (PostgreSQL: an advisory lock), so
    # two runs never make two people of the same new faces
    with store.exclusive("people"), store.transaction():
        stored = store.stored_faces()
        before = store.get_meta("people.grouping")
        if before is not None and before != GROUPING and len(stored.ids):
            made = _regroup(store, stored)
        else:
            waiting = ~stored.grouped
            made = 0
            if waiting.any():
                decided = cluster.update(gallery_of(stored, ~waiting), stored.vectors[waiting], stored.usable[waiting])
                real = {pid: store.add_person() for pid in decided.new_people}
                people = [real.get(int(p), int(p)) if p >= 0 else None for p in decided.person]
                # a re-detected face keeps its "not this person" (carried over from the changed photo)
                people = [None if (int(f), p) in stored.rejected else p for f, p in zip(stored.ids[waiting], people)]
                rows = [(int(f), p, float(d)) for f, p, d in zip(stored.ids[waiting], people, decided.distance)]
                rows += [(f, real[p], None) for f, p in decided.joined.items()]
                store.set_face_people(rows)
                made = len(real)
        store.delete_empty_people()
        if len(stored.ids):
            store.set_meta("people.grouping", GROUPING)
    return made


def _regroup(store: IndexStore, stored: StoredFaces) -> int:
    person = cluster.recluster(gallery_of(stored))
    known = set(int(p) for p in stored.person if p >= 0)
    real = {int(p): store.add_person() for p in np.unique(person) if p >= 0 and int(p) not in known}
    store.set_face_people((int(f), real.get(int(p), int(p)) if p >= 0 else None, None)
                          for f, p in zip(stored.ids, person))
    return len(real)


def attach_unknowns(store: IndexStore, person_id: int) -> int:
    """After a naming or a merge: unknown faces that now pass rule 1 for ``person_id`` join
    it (only faces within the threshold of one of its faces are looked at)."""
    stored = store.stored_faces()
    mine = stored.vectors[stored.person == person_id]
    free = np.flatnonzero((stored.person < 0) & stored.usable & stored.grouped & ~stored.locked)
    if len(mine) == 0 or len(free) == 0:
        return 0
    d2 = ((stored.vectors[free][:, None, :] - mine[None, :, :]) ** 2).sum(-1).min(axis=1)
    free = free[d2 <= cluster.THRESHOLD ** 2]
    if len(free) == 0:
        return 0
    g = gallery_of(stored)
    near = cluster.nearest_people(g, stored.vectors[free], query_ids=stored.ids[free])
    chosen = cluster.decide(near)
    rows = [(int(stored.ids[i]), person_id, float(near.distance[k])) for k, i in enumerate(free)
            if chosen[k] == person_id]
    store.set_face_people(rows)
    return len(rows)


# --- recognition -----------------------------------------------------------------------------

class Recogniser:
    """The stored people, read once, to tell who is in new photos."""

    def __init__(self, store: IndexStore):
        self.stored = store.stored_faces()
        self.gallery = gallery_of(self.stored)
        self.names = {r.id: r.name for r in store.people_rows()}
        self.warnings = damaged_note(self.stored, store.location)

    @property
    def anyone_named(self) -> bool:
        return any(self.names.values())

    def label(self, person: int) -> str:
        return self.names.get(person) or f"person {person}"

    def faces(self, result: FaceEmbeddingsResult) -> list[WhoFace]:
        if not result.faces:
            return []
        near = cluster.nearest_people(self.gallery, result.vectors())
        chosen = cluster.decide(near)
        out = []
        for i, f in enumerate(result.faces):
            pid, d = int(near.person[i]), float(near.distance[i])
            nd = round(d, 3) if np.isfinite(d) else None
            base = dict(box=f.box, score=f.score, usable=f.quality.usable)
            if chosen[i] >= 0 and f.quality.usable:  # a blurred or tiny face is never named
                out.append(WhoFace(**base, person=pid, name=self.names.get(pid), distance=nd))
                continue
            note = self._why(f, pid, nd, near, i)
            out.append(WhoFace(**base, nearest=self.label(pid) if pid >= 0 else None, nearest_distance=nd, note=note))
        return out

    def _why(self, f, pid: int, d: float | None, near: cluster.Nearest, i: int) -> str:
        if not f.quality.usable:
            return f"not recognised: the face is {', '.join(f.quality.reasons) or 'of low quality'}"
        if d is None or pid < 0:
            return "no people in the index yet"
        if d > cluster.THRESHOLD:
            return f"no person within {cluster.THRESHOLD}"
        if near.centroid_distance[i] > cluster.THRESHOLD:
            return f"{self.label(pid)}'s other photos are farther than {cluster.THRESHOLD}"
        return f"{self.label(int(near.runner_up[i]))} is about as near: doubtful, left unknown"

    def named(self, result: FaceEmbeddingsResult) -> list[NamedPerson]:
        """Only named people: what describe may write."""
        return [NamedPerson(name=w.name, person=w.person, box=w.box, distance=w.distance or 0.0)
                for w in self.faces(result) if w.name and w.person is not None]


def damaged_note(stored: StoredFaces, where: str) -> list[str]:
    if not stored.damaged:
        return []
    return [f"{len(stored.damaged)} stored face(s) in {where} have a damaged embedding and were left out "
            f"(face ids {', '.join(map(str, stored.damaged[:5]))}); `ocula people forget` erases them and "
            f"the next index run finds the faces again"]


class Namer:
    """Named people of the index recognised in photos, for describe (WHO, captions, alt text):
    the stored people are read once; without an index, with recognition off or nobody named,
    no face work is done. Only named people come out; every other face stays "a person"."""

    def __init__(self, db: str | os.PathLike | None, settings: Settings):
        from ..index import exists

        self.settings = settings
        self.recogniser: Recogniser | None = None
        self.active = bool(settings.people) and exists(db, settings)
        if self.active:
            with open_store(db, settings=settings) as store:
                rec = Recogniser(store)
            self.recogniser = rec if rec.anyone_named else None

    def __call__(self, image: "LoadedImage", facts: Any) -> list[NamedPerson] | None:
        """None when not checked (no index, recognition off), else the named people found."""
        if not self.active:
            return None
        if self.recogniser is None:
            return []
        from .face_embeddings import embed_prepared, prepare_found

        faces = facts.faces if facts is not None and facts.faces is not None else None
        if faces is None:
            from . import faces as detect

            faces = detect.faces(image, settings=self.settings)
        if not faces.faces:
            return []
        prepared = prepare_found(image, image, list(faces.faces), faces.model, self.settings)
        return self.recogniser.named(embed_prepared([prepared], self.settings)[0])


class KnownNames:
    """What the names describe writes for one photo depend on, read once from the index without
    looking at the photo (a resumed describe run adds it to each image's hash): an indexed photo,
    the names of the people its faces belong to; any other photo, everyone named (any of them may
    be recognised in it). Naming someone redoes exactly the photos whose names that changes."""

    def __init__(self, db: str | os.PathLike | None, settings: Settings):
        from ..index import exists

        self.faces: dict[str, set[str]] = {}
        self.indexed: set[str] = set()
        self.everyone: list[str] = []
        if not settings.people or not exists(db, settings):  # a file or a postgresql:// URL
            return
        with open_store(db, settings=settings) as store:
            named = [r for r in store.people_rows() if r.name]
            if named:
                self.indexed = set(store.known())
            for row in named:
                for face in store.person_faces(row.id):
                    self.faces.setdefault(face.path, set()).add(row.name)
        self.everyone = sorted({r.name for r in named})

    def __call__(self, image: str | os.PathLike) -> str:
        path = os.path.abspath(os.fspath(image))
        names = sorted(self.faces.get(path, ())) if path in self.indexed else self.everyone
        return "names:" + "\x1f".join(names)


# --- finding people --------------------------------------------------------------------------

def open_index(db: str | os.PathLike | None, settings: Settings | None) -> IndexStore:
    return open_store(db, settings=settings or get_settings())


def summary(row: PersonRow) -> PersonSummary:
    return PersonSummary(id=row.id, name=row.name, aliases=list(row.aliases), confirmed=row.confirmed,
                         faces=row.faces, photos=row.photos, sample=row.sample_path, sample_face=row.sample_face)


def _is_id(ref: Any) -> bool:
    return (isinstance(ref, (int, np.integer)) and not isinstance(ref, bool)) or \
        (isinstance(ref, str) and ref.strip().isdigit())


def find_person(store: IndexStore, ref: Any) -> PersonRow:
    """A person by id (a number) or by name or alias (exact, NFC and case-insensitive). An unknown
    one is one error line listing the nearest."""
    if _is_id(ref):
        pid = int(ref)
        rows = store.people_rows([pid])
        if rows:
            return rows[0]
        everyone = store.people_rows()
        close = sorted(everyone, key=lambda r: (abs(r.id - pid), r.id))[:5]
        listed = ", ".join(f"{r.id} {summary(r).label}" for r in close)
        raise InvalidArgument(f"no person with id {pid}; " + (f"nearest ids: {listed}" if listed else
                              "the index has no people yet (ocula index FOLDER finds them)"))
    if not isinstance(ref, str):
        raise InvalidArgument(f"a person is an id or a name, got {type(ref).__name__}")
    ids = store.people_by_key(name_key(clean_name(ref)))
    if ids:
        return store.people_rows(ids[:1])[0]
    raise InvalidArgument(f"no person named {ref!r}; " + suggestions(store, ref))


def suggestions(store: IndexStore, name: str) -> str:
    names = store.person_names()
    close = nearest(name, [(n, (pid, n)) for pid, n in names], n=5)
    best: dict[int, str] = {}
    for pid, n in close:
        best.setdefault(pid, n)
    if best:
        return "nearest: " + ", ".join(f"{n} ({pid})" for pid, n in list(best.items())[:3])
    if names:
        return "named people: " + ", ".join(f"{n} ({pid})" for pid, n in names[:5]) + (" …" if len(names) > 5 else "")
    return "no one is named yet: ocula people name IMAGE NAME"


def persons_for(store: IndexStore, names: Iterable[str]) -> tuple[int, ...]:
    """Person ids for names given to search (--person, --with); unknown names are errors."""
    return tuple(find_person(store, n).id for n in names)


def parse_box(box: Any) -> tuple[int, int, int, int] | None:
    """'x,y,w,h' (or a 4-sequence) in pixels -> a box; None stays None."""
    if box is None:
        return None
    parts = [p.strip() for p in box.split(",")] if isinstance(box, str) else list(box)
    try:
        x, y, w, h = (int(round(float(p))) for p in parts)
    except (TypeError, ValueError):
        raise InvalidArgument(f"a box is x,y,w,h in pixels (e.g. 120,80,200,240), got {box!r}") from None
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        raise InvalidArgument(f"a box needs x, y >= 0 and a positive width and height, got {box!r}")
    return x, y, w, h


def describe_box(box: tuple[int, int, int, int]) -> str:
    return ",".join(str(v) for v in box)


def check_embedding_model(settings: Settings) -> None:
    """People work needs face recognition on and its model files (one clear line otherwise)."""
    from .face_embeddings import PeopleOff

    if not settings.people:
        raise PeopleOff()
    dlib_face.model_file(MODEL)


def image_in_index(store: IndexStore, image: str | os.PathLike) -> tuple[int, str]:
    from ..media import frame_key, frame_of, is_video

    path = os.path.abspath(os.path.expanduser(os.fspath(image)))
    frame = frame_of(path)  # a video's keyframe, VIDEO#t=SECONDS, as ocula people show lists it
    if frame is not None:
        path = frame_key(*frame)
    elif not os.path.exists(path):
        raise InvalidArgument(f"{image}: no such image file")
    elif is_video(path):
        raise InvalidArgument(f"{image} is a video: name a face in one of its keyframes, {path}#t=SECONDS "
                              f"(ocula people show PERSON lists them)")
    image_id = store.image_id(path)
    if image_id is None:
        raise InvalidArgument(f"{path} is not in the index {store.location}; index its folder first: "
                              f"ocula index {os.path.dirname(path)}")
    return image_id, path

