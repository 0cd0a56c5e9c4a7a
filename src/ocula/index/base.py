"""The storage interface of the search index: what the index, search and dupes tasks may ask of
a store, whatever holds the data. ``index/store.py`` implements it on SQLite (+ vector files);
a PostgreSQL + pgvector store implements the same methods.

Rules every store keeps:
- ``transaction()`` makes a batch land whole or not at all; a store notes itself which vector
  kinds a transaction changed, so callers never maintain derived data (vector files, ANN
  graphs);
- vectors are float32, L2-normalised, one per (image, kind), tagged with the model that made
  them; ``nearest`` returns cosine similarities, best first;
- ``text_search`` matches words in any language, every CJK character a token (so "猫"
  matches), words OR-ed and ranked by BM25 (or the backend's nearest equivalent);
- paths are absolute strings as the user sees them;
- where and when (``put_capture``): place names are matched exactly as given (the caller
  passes ``places.search_key`` forms); GPS coordinates live only in their own columns and
  ``forget`` drops them; a moment whose photos change (an image removed, re-analysed or given
  new capture facts) is dissolved, its other photos become ``ungrouped`` and the caller groups
  them again;
- videos (``link_frames``): a video is one row for its file (``upsert_image`` with ``media``
  "video": hash, size and mtime as for a photo; no vectors, no words) and each keyframe sampled
  from it a row of its own, written by ``upsert_image`` at the path ``media.frame_key(video, at)``
  ("VIDEO#t=SECONDS") and then linked to the video (media "frame", ``parent``, ``at`` seconds).
  Keyframes are searched, filtered and embedded like photos; everything that treats files
  (``known``, ``count``, ``dupe_rows``, ``ungrouped``, ``missing_captures``) leaves them out;
  ``delete_images``, ``move_image``, ``copy_image`` and ``record_error`` on a video take its
  keyframes along; ``missing_vectors`` leaves video rows out (their keyframes carry the
  vectors); ``hits`` of a keyframe give the video's path with ``media`` "frame" and ``at``.
  Faces are a keyframe's like a photo's (``put_faces`` on its row: ``person_images`` and the
  ``people`` filter find the keyframe, so a search by person returns the video at that time);
  ``unscanned_faces`` leaves video rows out; removing a video removes its keyframes' faces.
  Both schemas: columns ``media`` (image, video, frame), ``parent`` and ``at`` (migration 4,
  after people's 3; PostgreSQL's ``parent`` also cascades deletes, a safety net for racing writers).
- faces (people, issue 15) are biometric data: a face row holds its box, quality and 128-d
  embedding, the person it belongs to and whether a person put it there (``locked``);
  ``forget_people`` erases rows and every copy the store keeps of their bytes.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    import numpy as np

    from ..results import Moment

# quality verdicts as stored (ordered, so "at least acceptable" is a comparison)
QUALITY = {"poor": 0, "acceptable": 1, "good": 2}
# the kinds of vectors an index keeps: EfficientNet image features, the multilingual text
# embedding of an image's words, and CLIP/SigLIP image embeddings when such a model is usable
VECTOR_KINDS = ("image", "text", "clip")


@dataclass(frozen=True, slots=True)
class Known:
    """What the index holds about one path: enough to decide whether it changed."""

    id: int
    size: int
    mtime_ns: int
    hash: str


@dataclass(frozen=True)
class Filters:
    """Conditions on indexed images (None: no condition). Dates are ISO prefixes, already checked."""

    has_text: bool | None = None
    faces: bool | None = None
    min_quality: int | None = None   # a QUALITY value
    folder: str | None = None        # absolute, without a trailing separator
    after: str | None = None         # on ``taken`` (capture time, else the file's date)
    before: str | None = None
    captured_after: str | None = None   # on the capture time only (unknown times never pass)
    captured_before: str | None = None
    near: tuple[float, float, float] | None = None  # (lat, lon, km): great-circle distance to the GPS
    moment: str | None = None        # a moment's id: only its photos
    people: tuple[int, ...] | None = None  # person ids: images showing every one of them

    @property
    def empty(self) -> bool:
        return all(v is None for v in (self.has_text, self.faces, self.min_quality, self.folder, self.after,
                                       self.before, self.captured_after, self.captured_before, self.near,
                                       self.moment, self.people))


@dataclass(frozen=True, slots=True)
class HitRow:
    """The stored fields a search hit shows."""

    path: str
    description: str
    tags_en: str
    ocr: str
    width: int | None
    height: int | None
    taken: str | None
    captured: str | None = None      # local capture time (None: unknown)
    place: str | None = None         # Place JSON
    media: str = "image"             # image, video, or frame (a keyframe: ``path`` is its video's)
    at: float | None = None          # a keyframe's time in its video, in seconds


@dataclass(frozen=True, slots=True)
class DupeRow:
    id: int
    path: str
    hash: str
    phash: int | None


@dataclass(frozen=True, slots=True)
class Capture:
    """Where and when one image was taken, as the index keeps it (``put_capture``)."""

    captured: str | None = None      # local wall-clock capture time, ISO 8601 (None: unknown)
    captured_utc: str | None = None  # the same instant in UTC, when the offset is known
    utc_offset: str | None = None    # "+08:00"
    place: str | None = None         # Place JSON: names, codes, time zone; never coordinates
    names: tuple[str, ...] = ()      # search keys of every name of the place (places.place_keys)
    lat: float | None = None         # GPS, only while the settings keep coordinates
    lon: float | None = None
    level: str = "place"             # what was read: "time" (the place was not asked) or "place"


@dataclass(frozen=True, slots=True)
class CaptureRow:
    """What grouping into moments needs of one indexed image."""

    id: int
    captured: str                    # local capture time
    captured_utc: str | None
    lat: float | None
    lon: float | None
    place: str | None                # Place JSON
    quality: int | None              # a QUALITY value
    faces: int


@dataclass(slots=True)
class FaceRow:
    """One face as stored: where it is, how usable, its embedding and whose it is. ``id`` and
    ``image_id`` are None until stored; ``embedding`` may be None when read for a listing."""

    box: tuple[int, int, int, int]            # x, y, w, h in the image's displayed pixels
    embedding: "np.ndarray | None"            # (128,) float32
    model: str                                # the embedding model
    score: float = 0.0                        # detector score (0 for a region read from XMP)
    quality: float = 0.0
    usable: bool = False                      # good enough to group
    reasons: str = ""                         # why not usable
    landmarks: dict | None = None
    alignment: list | None = None
    source: str = "detected"                  # detected, or xmp (a named region no detector found)
    person_id: int | None = None
    distance: float | None = None             # to the nearest face of its person when it joined
    locked: bool = False                      # a person put it there: never moved by grouping
    grouped: bool = False                     # grouping has seen it (False: new, waiting)
    rejected: tuple[int, ...] = ()            # people it is "not"
    id: int | None = None
    image_id: int | None = None
    path: str | None = None                   # filled by reads that join the image


@dataclass(frozen=True)
class StoredFaces:
    """Every stored face as arrays (the gallery grouping works on). ``person`` is -1 for none;
    ``damaged`` lists faces whose stored embedding could not be read (left out)."""

    ids: "np.ndarray"
    vectors: "np.ndarray"
    person: "np.ndarray"
    usable: "np.ndarray"
    locked: "np.ndarray"
    grouped: "np.ndarray"
    confirmed: frozenset[int] = frozenset()
    rejected: frozenset[tuple[int, int]] = frozenset()
    damaged: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class PersonRow:
    """A person with counts and the face that stands for them (best quality, named first)."""

    id: int
    name: str | None
    aliases: tuple[str, ...]
    confirmed: bool
    faces: int
    photos: int
    sample_face: int | None
    sample_path: str | None


# the text columns a passage embedding is made from, in the order ``passage_text`` reads them
PASSAGE_COLUMNS = ("description", "tags_en", "tags_zh", "labels", "ocr")


class IndexStore(ABC):
    """One open index. Not shared between threads."""

    location: str  # the file or URL, for messages and reports

    # -- lifecycle ---------------------------------------------------------------------
    @property
    @abstractmethod
    def version(self) -> int:
        """Schema version (number of migrations applied)."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Any]:
        """A batch of writes that lands whole or not at all."""

    @abstractmethod
    def close(self) -> None:
        """Bring derived data up to date (``sync``) is the caller's; this only closes."""

    def __enter__(self) -> "IndexStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- what is indexed ---------------------------------------------------------------
    @abstractmethod
    def known(self) -> dict[str, Known]:
        """path -> Known for every indexed image."""

    @abstractmethod
    def known_errors(self) -> dict[str, tuple[int, int]]:
        """path -> (size, mtime_ns) of every file recorded as bad."""

    @abstractmethod
    def ids_by_hash(self, hashes: Iterable[str]) -> dict[str, int]:
        """content hash -> an image id holding it."""

    @abstractmethod
    def count(self) -> int:
        """How many images are indexed."""

    @abstractmethod
    def path_of(self, image_id: int) -> str | None:
        """The path of an indexed image, or None."""

    # -- writes (inside ``transaction()``) -----------------------------------------------
    @abstractmethod
    def upsert_image(self, row: dict[str, Any]) -> int:
        """Insert or replace the image at row['path'] with its words for text search; returns its
        id (kept when it existed). Clears an error recorded for that path."""

    @abstractmethod
    def put_vector(self, image_id: int, kind: str, model: str, vec: np.ndarray) -> None:
        """Store (replace) the ``kind`` vector of an image."""

    @abstractmethod
    def put_vectors(self, kind: str, model: str, ids: Iterable[int], vecs: np.ndarray) -> None:
        """Store vectors of ``kind`` made by ``model`` and drop every ``kind`` vector another model
        made (the collection moves to the new model as it is re-embedded)."""

    @abstractmethod
    def copy_image(self, src_id: int, path: str, size: int, mtime_ns: int, indexed_at: float) -> int:
        """A new path whose content is already indexed: copy its row, words and vectors."""

    @abstractmethod
    def move_image(self, image_id: int, path: str, size: int, mtime_ns: int) -> None:
        """The same content under a new path, or the same path touched."""

    @abstractmethod
    def link_frames(self, video_id: int, frames: dict[int, float]) -> None:
        """Inside a transaction: rows written by ``upsert_image`` (ids -> seconds) become the keyframes
        of the video ``video_id`` (they take its ``taken``); keyframes it had before that are not
        among them are deleted."""

    @abstractmethod
    def record_error(self, path: str, size: int, mtime_ns: int, error: str, at: float) -> None:
        """A bad file: remembered (not retried until it changes); a good image that turned bad leaves."""

    @abstractmethod
    def delete_errors(self, paths: Iterable[str]) -> None:
        ...

    @abstractmethod
    def delete_images(self, ids: Iterable[int]) -> int:
        """Remove images with their words and vectors; returns how many."""

    # -- vectors -----------------------------------------------------------------------
    @abstractmethod
    def vectors(self, kind: str, ids: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray, str | None]:
        """(ids int64, vectors float32 (n, dim), model) of one kind: all, or those of ``ids``."""

    @abstractmethod
    def has_vectors(self, kind: str, model: str | None = None) -> bool:
        """Whether any ``kind`` vector (made by ``model``, when given) is stored."""

    @abstractmethod
    def missing_vectors(self, kind: str, model: str) -> list[tuple[int, str]]:
        """(id, path) of images without a ``kind`` vector made by ``model``."""

    @abstractmethod
    def passages(self, ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        """id -> the PASSAGE_COLUMNS of each image, for re-embedding its words."""

    @abstractmethod
    def nearest(self, kind: str, query: np.ndarray, k: int, allowed: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` images whose ``kind`` vector is most similar to ``query`` (ids, cosines),
        best first; ``allowed``: only these ids (None: all)."""

    @abstractmethod
    def sync(self) -> None:
        """Bring derived search structures up to date with what this connection wrote."""

    # -- search ------------------------------------------------------------------------
    @abstractmethod
    def filter_ids(self, filters: Filters) -> tuple[np.ndarray | None, int]:
        """(ids passing the filters, sorted — None when there are no filters; how many pass)."""

    @abstractmethod
    def text_search(self, query: str, k: int, filters: Filters) -> list[int]:
        """Ids of images whose OCR text, caption or tags match words of ``query``, best first."""

    @abstractmethod
    def hits(self, ids: Iterable[int]) -> dict[int, HitRow]:
        ...

    # -- where and when ------------------------------------------------------------------
    @abstractmethod
    def put_capture(self, image_id: int, capture: Capture) -> None:
        """Store (replace) where and when an image was taken, with its place names; inside a
        transaction. Dissolves the image's moment."""

    @abstractmethod
    def missing_captures(self, place: bool) -> list[tuple[int, str]]:
        """(id, path) of images whose capture facts were never read (indexed before this
        existed), or, with ``place``, read without the place."""

    @abstractmethod
    def forget(self, *, places: bool = False, positions: bool = False) -> int:
        """Drop every stored place (names included) and/or GPS position; dissolves every moment
        when something was dropped. Returns how many images lost something."""

    @abstractmethod
    def place_matches(self, names: Iterable[str], filters: Filters) -> dict[int, int]:
        """id -> how many of ``names`` (search keys, matched exactly) the image's place has,
        for images passing the filters."""

    # -- moments ----------------------------------------------------------------------------
    @abstractmethod
    def ungrouped(self) -> list[CaptureRow]:
        """Images with a known capture time that belong to no moment."""

    @abstractmethod
    def moments(self, ids: Iterable[str] | None = None, *, between: tuple[str, str] | None = None) -> list[Moment]:
        """Stored moments, oldest first: all, those of ``ids``, or those whose span (start_instant
        to end_instant) overlaps ``between`` (two ISO instants)."""

    @abstractmethod
    def replace_moments(self, remove: Iterable[str], add: Iterable[Moment]) -> None:
        """Inside a transaction: delete moments by id, then store ``add`` (their ``photos`` are
        image ids as strings)."""

    def exclusive(self, name: str) -> AbstractContextManager[Any]:
        """Work that one process at a time may do on this index (grouping moments, clustering),
        however many indexers and servers share it. A shared store (PostgreSQL) takes a lock
        across machines; this default, for a store one machine owns, takes none."""
        from contextlib import nullcontext

        return nullcontext()

    @abstractmethod
    def dupe_rows(self) -> list[DupeRow]:
        """Every image's id, path, content hash and perceptual hash, by path."""

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """The fields of ``IndexStats``: images, errors, vectors and models per kind, counts, bytes."""

    @abstractmethod
    def image_id(self, path: str) -> int | None:
        """The id of the image indexed at ``path``, or None."""

    @abstractmethod
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """A small setting the index keeps about itself (the people threshold it grouped with)."""

    @abstractmethod
    def set_meta(self, key: str, value: str | None) -> None:
        """Set (None: remove) a setting; inside ``transaction()``."""

    # -- faces and people (issue 15). Name keys are computed by the caller (people/names.py) --
    @abstractmethod
    def unscanned_faces(self, model: str) -> list[tuple[int, str]]:
        """(id, path) of images (keyframes included, videos not) whose faces were never looked for
        with ``model``, or whose content changed since."""

    @abstractmethod
    def put_faces(self, image_id: int, model: str, faces: list[FaceRow]) -> list[int]:
        """Replace the faces of an image with ``faces`` (their rejections included) and record
        that its current content was scanned with ``model``; returns the new face ids."""

    @abstractmethod
    def faces_of(self, image_ids: Iterable[int], *, embeddings: bool = False) -> dict[int, list[FaceRow]]:
        """image id -> its faces (left to right), with their embeddings when asked."""

    @abstractmethod
    def face(self, face_id: int) -> FaceRow | None:
        """One face with its image's path (no embedding), or None."""

    @abstractmethod
    def stored_faces(self) -> StoredFaces:
        """Every face with an embedding, confirmed people and rejections, for grouping."""

    @abstractmethod
    def faces_waiting(self) -> int:
        """How many faces grouping has not seen yet (cheap: an index run with none does nothing)."""

    @abstractmethod
    def set_face_people(self, rows: Iterable[tuple[int, int | None, float | None]]) -> None:
        """(face id, person id or None, distance) decided by grouping; marks the faces grouped.
        Locked faces are left as they are."""

    @abstractmethod
    def lock_face(self, face_id: int, person_id: int) -> None:
        """A person said this face is ``person_id``: it moves there for good (any "not this
        person" of that pair is withdrawn)."""

    @abstractmethod
    def reject_face(self, face_id: int, person_id: int) -> None:
        """"Not this person": the face leaves the person, unlocked, and never goes back."""

    @abstractmethod
    def add_person(self, name: str | None = None, key: str | None = None, *, confirmed: bool = False) -> int:
        """A new person (ids are never reused); returns its id."""

    @abstractmethod
    def set_person_name(self, person_id: int, name: str | None, key: str | None) -> None:
        """Name (or rename) a person and confirm it. The caller checks the key is free."""

    @abstractmethod
    def add_alias(self, person_id: int, alias: str, key: str) -> None:
        """Another name for a person (matched like its name)."""

    @abstractmethod
    def people_rows(self, ids: Iterable[int] | None = None) -> list[PersonRow]:
        """People (all, or those of ``ids``) with their counts, most faces first."""

    @abstractmethod
    def people_by_key(self, key: str) -> list[int]:
        """Ids of the people whose name or an alias has this key."""

    @abstractmethod
    def person_names(self) -> list[tuple[int, str]]:
        """(person id, name or alias) of every named person, for suggestions."""

    @abstractmethod
    def person_images(self, person_id: int) -> list[tuple[int, str]]:
        """(image id, path) of the person's photos: faces a person placed first, then by the
        distance at which faces joined; then photos that only carry the name (no box)."""

    @abstractmethod
    def person_faces(self, person_id: int) -> list[FaceRow]:
        """The person's faces with their images' paths (no embeddings), best first."""

    @abstractmethod
    def merge_people(self, keep: int, other: int) -> int:
        """``other`` is ``keep``: its faces, rejections and aliases move to ``keep``; ``other``
        goes. Returns how many faces moved."""

    @abstractmethod
    def delete_empty_people(self) -> int:
        """Remove people nobody named that hold no face; returns how many."""

    @abstractmethod
    def put_image_names(self, image_id: int, names: list[tuple[str, str]], source: str) -> None:
        """Replace the (name, key) pairs of one source (xmp) said to be in an image without a box."""

    @abstractmethod
    def image_names(self, image_ids: Iterable[int]) -> dict[int, list[str]]:
        """image id -> names said to be in it without a box."""

    @abstractmethod
    def forget_people(self, person_ids: Iterable[int] | None = None) -> dict[str, int]:
        """Erase people (None: every face, person and name) and every copy of their bytes the
        store keeps (free pages, journals); returns counts of what went: faces, people, aliases,
        names, rejections, scans; ``wal_emptied`` 1 when the journal could be emptied."""


def passage_text(caption: str, tags_en: str, tags_zh: str, labels: str, ocr: str) -> str:
    """What the multilingual text embedding of an image reads (the stored columns, so that a
    re-embedding with another model reads exactly the same)."""
    return ". ".join(p.strip() for p in (caption, tags_en, tags_zh, labels, ocr) if p and p.strip())


def near_box(lat: float, lon: float, km: float) -> tuple[float, float, float | None, float | None]:
    """(lat_lo, lat_hi, lon_lo, lon_hi) of a box around a point that holds every point within
    ``km`` (lon bounds None where the box would cross the antimeridian or a pole): an index-friendly
    first cut before the exact great-circle distance."""
    import math

    dlat = km / 111.19 + 1e-6
    cos = math.cos(math.radians(min(89.9, abs(lat) + dlat)))
    dlon = km / (111.19 * cos) + 1e-6 if cos > 0 else 360.0
    if dlon < 180 and -180 <= lon - dlon and lon + dlon <= 180:
        return lat - dlat, lat + dlat, lon - dlon, lon + dlon
    return lat - dlat, lat + dlat, None, None


def folder_key(folder: str | os.PathLike) -> str:
    """A folder filter as stored paths are compared with it: absolute, no trailing separator."""
    return os.path.abspath(os.path.expanduser(os.fspath(folder))).rstrip(os.sep)
