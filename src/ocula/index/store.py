"""The search index on disk: one SQLite file (WAL), versioned schema, FTS5, atomic batches.

SQLite holds everything authoritative, vectors included (float32 BLOBs in ``vectors``):
the vector index files beside the db (``<db>.<kind>.vec``, see ``index/vectors.py``) are
derived and are rebuilt from here whenever their save stamp in ``meta`` disagrees with
the db's generation (a crash between a commit and a save).

Full-text search uses FTS5 with the unicode61 tokenizer over text in which every CJK
character is its own token (``cjk_split``): "猫" then matches a one-character query, and a
Chinese word is searched as a phrase of consecutive characters. The trigram tokenizer was
not used: it cannot match queries shorter than three characters, and most Chinese words
are one or two.

Schema changes: append a step to ``MIGRATIONS``; ``PRAGMA user_version`` records how many
have run, each runs in its own transaction.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import time
from abc import abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from ..vocabulary import CJK_TOKEN
from .base import (PASSAGE_COLUMNS, QUALITY, VECTOR_KINDS, Capture, CaptureRow, DupeRow, FaceRow, Filters, HitRow,
                   IndexStore, Known, PersonRow, StoredFaces, near_box)

if TYPE_CHECKING:
    from ..results import Moment

_CJK_CHAR = re.compile(f"([{CJK_TOKEN}])")
_TOKEN = re.compile(f"[{CJK_TOKEN}]+|[^\\W_]+", re.UNICODE)

# the columns of a face row as ``face_row`` reads them (both stores)
FACE_COLS = ", ".join(f"faces.{c}" for c in (
    "id", "image_id", "x", "y", "w", "h", "score", "landmarks", "alignment", "quality", "usable", "reasons",
    "model", "source", "person_id", "distance", "locked", "grouped"))

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        hash TEXT NOT NULL,
        width INTEGER, height INTEGER,
        taken TEXT,                    -- EXIF capture time, else file mtime, ISO 8601
        has_text INTEGER NOT NULL DEFAULT 0,
        faces INTEGER NOT NULL DEFAULT 0,
        quality INTEGER,               -- 0 poor, 1 acceptable, 2 good, NULL unknown
        phash INTEGER,
        analysis TEXT,                 -- the Analysis JSON
        ocr TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        tags_en TEXT NOT NULL DEFAULT '',
        tags_zh TEXT NOT NULL DEFAULT '',
        labels TEXT NOT NULL DEFAULT '',
        steps TEXT NOT NULL DEFAULT '',
        indexed_at REAL NOT NULL
    );
    CREATE INDEX images_hash ON images(hash);
    CREATE INDEX images_taken ON images(taken);
    CREATE TABLE vectors (
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,            -- image, text, clip
        model TEXT NOT NULL,           -- the model that made it: re-embed when it changes
        data BLOB NOT NULL,            -- float32, L2-normalised
        PRIMARY KEY (image_id, kind)
    );
    CREATE TABLE errors (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        error TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE VIRTUAL TABLE fts USING fts5(ocr, description, tags, tokenize = 'unicode61 remove_diacritics 2');
    """,
    # 2: where and when (places from GPS, capture time facts) and moments
    """
    ALTER TABLE images ADD COLUMN captured TEXT;      -- local capture time from EXIF; NULL: unknown
    ALTER TABLE images ADD COLUMN captured_utc TEXT;  -- the instant in UTC, when the offset is known
    ALTER TABLE images ADD COLUMN utc_offset TEXT;
    ALTER TABLE images ADD COLUMN place TEXT;         -- Place JSON: names, codes, zone; no coordinates
    ALTER TABLE images ADD COLUMN lat REAL;           -- GPS: only while settings keep it (index_gps)
    ALTER TABLE images ADD COLUMN lon REAL;
    ALTER TABLE images ADD COLUMN capture TEXT;       -- read: NULL never, 'time' without place, 'place'
    CREATE INDEX images_captured ON images(captured);
    CREATE INDEX images_lat ON images(lat);
    CREATE TABLE place_names (
        name TEXT NOT NULL,                           -- places.search_key of a name, any language
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        PRIMARY KEY (name, image_id)
    ) WITHOUT ROWID;
    CREATE INDEX place_names_image ON place_names(image_id);
    CREATE TABLE moments (
        id TEXT PRIMARY KEY,
        start_instant TEXT NOT NULL,
        end_instant TEXT NOT NULL,
        data TEXT NOT NULL                            -- the Moment JSON
    );
    CREATE INDEX moments_start ON moments(start_instant);
    CREATE TABLE moment_photos (
        image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
        moment_id TEXT NOT NULL REFERENCES moments(id) ON DELETE CASCADE
    );
    CREATE INDEX moment_photos_moment ON moment_photos(moment_id);
    """,
    # 3: people (issue 15): faces with their embeddings, people, names. Names stay out of the
    # words table (fts), so forgetting a person erases them in one place.
    """
    CREATE TABLE people (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: ids are what people type
        name TEXT,                             -- as given (NFC); NULL until someone names it
        name_key TEXT UNIQUE,                  -- NFC casefold: how names are matched
        confirmed INTEGER NOT NULL DEFAULT 0,  -- named or merged by a person: kept through reclustering
        created REAL NOT NULL
    );
    CREATE TABLE person_aliases (
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        alias TEXT NOT NULL,
        alias_key TEXT NOT NULL UNIQUE
    );
    CREATE TABLE faces (
        id INTEGER PRIMARY KEY,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        x INTEGER NOT NULL, y INTEGER NOT NULL, w INTEGER NOT NULL, h INTEGER NOT NULL,
        score REAL NOT NULL DEFAULT 0,
        landmarks TEXT, alignment TEXT,        -- JSON
        quality REAL NOT NULL DEFAULT 0,
        usable INTEGER NOT NULL DEFAULT 0,
        reasons TEXT NOT NULL DEFAULT '',
        embedding BLOB NOT NULL,               -- 128 float32 (512 bytes)
        model TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'detected',
        person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
        distance REAL,
        locked INTEGER NOT NULL DEFAULT 0,
        grouped INTEGER NOT NULL DEFAULT 0     -- 0: new, waiting for the grouping step
    );
    CREATE INDEX faces_image ON faces(image_id);
    CREATE INDEX faces_person ON faces(person_id);
    CREATE INDEX faces_waiting ON faces(grouped) WHERE NOT grouped;
    CREATE TABLE face_rejections (
        face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        PRIMARY KEY (face_id, person_id)
    );
    CREATE TABLE face_scans (
        image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,                    -- the content scanned: a changed file is scanned again
        model TEXT NOT NULL
    );
    CREATE TABLE image_names (
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        source TEXT NOT NULL,
        PRIMARY KEY (image_id, name_key)
    );
    CREATE INDEX image_names_key ON image_names(name_key);
    """,
    # 4: videos (issue 14): a video is one row (media 'video': the file, its hash and size, how the
    # incremental rules see it; no vectors, no words) and each keyframe sampled from it one row of
    # its own (media 'frame', parent: the video's id, at: seconds into it, path VIDEO#t=SECONDS),
    # analysed, described and embedded like a photo, so every search list and filter finds it
    """
    ALTER TABLE images ADD COLUMN media TEXT NOT NULL DEFAULT 'image';  -- image, video, frame
    ALTER TABLE images ADD COLUMN parent INTEGER;                      -- frames: the video's id
    ALTER TABLE images ADD COLUMN at REAL;                             -- frames: seconds from the start
    CREATE INDEX images_parent ON images(parent) WHERE parent IS NOT NULL;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
PEOPLE_MIGRATION = 2  # the step of MIGRATIONS that makes the face tables (forget_people repairs them)
BM25_WEIGHTS = (2.0, 1.0, 1.0)  # ocr, description, tags
__all__ = ["Store", "SQLiteStore", "MIGRATIONS", "SCHEMA_VERSION", "QUALITY", "cjk_split", "fts_query"]


def cjk_split(text: str) -> str:
    """Put spaces around every CJK character so that each one is an FTS token."""
    return _CJK_CHAR.sub(r" \1 ", text)


def fts_query(query: str) -> str | None:
    """A user query -> an FTS5 MATCH expression: each word (a run of CJK characters becomes
    a phrase of its characters) OR-ed, so partial matches still rank by BM25."""
    terms = []
    for tok in _TOKEN.findall(query.lower()):
        if _CJK_CHAR.match(tok):
            terms.append('"' + " ".join(tok) + '"')
        else:
            terms.append('"' + tok.replace('"', "") + '"')
    return " OR ".join(terms) if terms else None


def _face_tables(fn):
    """A damaged face table (a lost table, an unreadable page) is one clear error that says how
    to erase and rebuild it, not a traceback."""
    import functools

    @functools.wraps(fn)
    def wrapper(self: "Store", *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except sqlite3.DatabaseError as e:
            from ..errors import OculaError

            raise OculaError(f"the face tables of {self.path} cannot be read ({e}); erase them with "
                             f"`ocula people forget --db {self.path}`; the next index run finds the faces "
                             f"again") from None
    return wrapper


# a hit's row: a keyframe gives its video's path (``HitRow``); the caller adds the id condition
HITS_SQL = ("SELECT i.id, coalesce(v.path, i.path), i.description, i.tags_en, i.ocr, i.width, i.height, i.taken, "
            "i.captured, i.place, i.media, i.at FROM images i LEFT JOIN images v ON v.id = i.parent WHERE i.id")


# files (photos and videos) with a fact: a video has it when one of its keyframes has it, so that
# "with text: N" counts what "images: M" counts
_FILES_WITH = ("SELECT count(*) FROM images i WHERE i.media <> 'frame' AND (i.{0} OR EXISTS "
               "(SELECT 1 FROM images f WHERE f.parent = i.id AND f.{0}))")


class SQLStore(IndexStore):
    """What the SQLite and PostgreSQL stores ask in the same SQL: ``P`` is the driver's parameter
    mark, written ``?`` in the queries here."""

    P = "?"
    db: Any

    def _run(self, sql: str, args: Iterable[Any] = ()) -> Any:
        return self.db.execute(sql.replace("?", self.P) if self.P != "?" else sql, tuple(args))

    def _where(self, filters: Filters) -> tuple[str, list[Any]]:
        return filter_sql(filters, self.P)

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._run("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self._run("DELETE FROM meta WHERE key = ?", (key,))
            return
        self._run("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                  (key, str(value)))

    def known(self) -> dict[str, Known]:
        return {p: Known(i, s, m, h) for i, p, s, m, h in
                self._run("SELECT id, path, size, mtime_ns, hash FROM images WHERE media <> 'frame'")}

    def known_errors(self) -> dict[str, tuple[int, int]]:
        return {p: (s, m) for p, s, m in self._run("SELECT path, size, mtime_ns FROM errors")}

    def count(self) -> int:
        return self._run("SELECT count(*) FROM images WHERE media <> 'frame'").fetchone()[0]

    def path_of(self, image_id: int) -> str | None:
        row = self._run("SELECT path FROM images WHERE id = ?", (int(image_id),)).fetchone()
        return row[0] if row else None

    def image_id(self, path: str) -> int | None:
        row = self._run("SELECT id FROM images WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def filter_ids(self, filters: Filters) -> tuple[np.ndarray | None, int]:
        if filters.empty:
            return None, self.count()
        where, args = self._where(filters)
        rows = self._run(f"SELECT id FROM images WHERE {where} ORDER BY id", args).fetchall()
        return np.fromiter((r[0] for r in rows), np.int64, len(rows)), len(rows)

    def missing_captures(self, place: bool) -> list[tuple[int, str]]:
        cond = "capture IS NULL OR capture <> 'place'" if place else "capture IS NULL"
        # videos and their keyframes get theirs when the video is indexed (from its container)
        return [tuple(r) for r in self._run(f"SELECT id, path FROM images WHERE media = 'image' AND ({cond}) "
                                            f"ORDER BY id")]

    def dupe_rows(self) -> list[DupeRow]:
        return [DupeRow(*r) for r in self._run("SELECT id, path, hash, phash FROM images WHERE media <> 'frame' "
                                                "ORDER BY path")]

    def move_image(self, image_id: int, path: str, size: int, mtime_ns: int) -> None:
        old = self.path_of(image_id)
        self._run("UPDATE images SET path = ?, size = ?, mtime_ns = ? WHERE id = ?", (path, size, mtime_ns, int(image_id)))
        if old is not None and old != path:  # a video's keyframes are named after it
            self._run("UPDATE images SET path = ? || substr(path, CAST(? AS INTEGER)), size = ?, mtime_ns = ? "
                      "WHERE parent = ?", (path, len(old) + 1, size, mtime_ns, int(image_id)))
        self._run("DELETE FROM errors WHERE path = ?", (path,))

    def copy_image(self, src_id: int, path: str, size: int, mtime_ns: int, indexed_at: float) -> int:
        new_id = self._copy_row(int(src_id), path, size, mtime_ns, indexed_at)
        old = self.path_of(src_id) or ""
        for frame_id, frame_path in self._run("SELECT id, path FROM images WHERE parent = ? ORDER BY id",
                                              (int(src_id),)).fetchall():  # a video's keyframes, named after it
            self._copy_row(frame_id, path + frame_path[len(old):], size, mtime_ns, indexed_at, parent=new_id)
        return new_id

    @abstractmethod
    def _copy_row(self, src_id: int, path: str, size: int, mtime_ns: int, indexed_at: float,
                  parent: int | None = None) -> int:
        """Copy one row (its words, vectors, place names and faces) to ``path``; its new id."""

    @abstractmethod
    def _frames_of(self, video_ids: list[int]) -> list[int]:
        """The ids of these videos' keyframes."""

    def link_frames(self, video_id: int, frames: dict[int, float]) -> None:
        old = set(self._frames_of([int(video_id)])) - set(frames)
        if old:
            self.delete_images(sorted(old))
        for i, at in frames.items():  # a video has a few dozen at most
            self._run("UPDATE images SET media = 'frame', parent = ?, at = ?, taken = (SELECT taken FROM images "
                      "WHERE id = ?) WHERE id = ?", (int(video_id), float(at), int(video_id), int(i)))

    def _counts(self) -> dict[str, Any]:
        """What ``stats`` counts (files: photos and videos, not keyframes), the same on both stores."""
        one = lambda sql: self._run(sql).fetchone()[0]  # noqa: E731
        vectors: dict[str, int] = {}
        models: dict[str, str] = {}
        for kind, model, n in self._run("SELECT kind, model, count(*) FROM vectors GROUP BY kind, model"):
            vectors[kind] = vectors.get(kind, 0) + n
            models[kind] = model
        return dict(images=one("SELECT count(*) FROM images WHERE media <> 'frame'"),
                    videos=one("SELECT count(*) FROM images WHERE media = 'video'"),
                    frames=one("SELECT count(*) FROM images WHERE media = 'frame'"),
                    errors=one("SELECT count(*) FROM errors"), vectors=vectors, models=models,
                    with_text=one(_FILES_WITH.format("has_text <> 0")),
                    with_faces=one(_FILES_WITH.format("faces > 0")),
                    with_time=one(_FILES_WITH.format("captured IS NOT NULL")),
                    with_place=one(_FILES_WITH.format("place IS NOT NULL")),
                    with_gps=one(_FILES_WITH.format("lat IS NOT NULL")),
                    moments=one("SELECT count(*) FROM moments"),
                    faces=one("SELECT count(*) FROM faces"), people=one("SELECT count(*) FROM people"))


class Store(SQLStore):
    """The index in one SQLite file (WAL) plus derived vector files beside it.
    One connection; not shared between threads."""

    def __init__(self, path: str | os.PathLike, *, readonly: bool = False):
        """``readonly``: the index must exist already (search, dupes, stats); never created."""
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            from ..errors import InvalidArgument

            raise InvalidArgument(f"no index at {self.path}; create it with: ocula index FOLDER --db {self.path}")
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per batch
        self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, never corrupt
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.create_function("haversine_km", 4, _haversine_km, deterministic=True)
        # what this connection changed, so the vector files can be patched instead of rebuilt
        self.touched: dict[str, set[int]] = {}
        self.removed: set[int] = set()
        self._dirty: set[str] = set()  # vector kinds the open transaction changed
        self._migrate()
        from . import vectorfiles

        # whether each vector file matched the db when this connection opened: only then can
        # sync() patch it with this connection's changes instead of rebuilding it
        self._was_in_sync = {kind: vectorfiles.in_sync(self, kind) for kind in VECTOR_KINDS}

    # -- schema -------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self.version
        if version > SCHEMA_VERSION:
            from ..errors import OculaError

            raise OculaError(f"index {self.path} has schema version {version}, newer than this ocula "
                             f"({SCHEMA_VERSION}); upgrade ocula: pip install -U ocula")
        for step in range(version, SCHEMA_VERSION):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for stmt in _statements(MIGRATIONS[step]):
                    self.db.execute(stmt)
                self.db.execute(f"PRAGMA user_version = {step + 1}")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    @property
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def transaction(self) -> "_Tx":
        return _Tx(self)

    def close(self) -> None:
        try:
            self.db.execute("PRAGMA optimize")
        except sqlite3.Error:
            pass
        self.db.close()

    # -- meta ---------------------------------------------------------------------------
    def bump_generation(self, kind: str) -> None:
        """Call inside a transaction that changes vectors of ``kind`` (the store's own writes do)."""
        gen = int(self.get_meta(f"vectors.{kind}.gen", "0")) + 1
        self.set_meta(f"vectors.{kind}.gen", str(gen))

    # -- what is indexed ------------------------------------------------------------------
    def ids_by_hash(self, hashes: Iterable[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in _chunks(list(set(hashes))):
            q = f"SELECT hash, id FROM images WHERE hash IN ({_marks(chunk)})"
            for h, id_ in self.db.execute(q, chunk):
                out.setdefault(h, id_)
        return out

    # -- writes ---------------------------------------------------------------------------
    def delete_images(self, ids: Iterable[int]) -> int:
        ids = list(ids)
        files = len(ids)
        ids += self._frames_of(ids)  # a video goes with its keyframes
        self._dissolve_moments_of(ids)
        for chunk in _chunks(ids):
            marks = _marks(chunk)
            self.db.execute(f"DELETE FROM place_names WHERE image_id IN ({marks})", chunk)
            self.db.execute(f"DELETE FROM vectors WHERE image_id IN ({marks})", chunk)
            self.db.execute(f"DELETE FROM fts WHERE rowid IN ({marks})", chunk)
            self.db.execute(f"DELETE FROM images WHERE id IN ({marks})", chunk)
        if ids:
            self.removed.update(ids)
            self._dirty.update(VECTOR_KINDS)
        return files

    def _frames_of(self, video_ids: list[int]) -> list[int]:
        out: list[int] = []
        for chunk in _chunks(video_ids):
            out += [r[0] for r in self.db.execute(f"SELECT id FROM images WHERE parent IN ({_marks(chunk)})", chunk)]
        return out

    def upsert_image(self, row: dict[str, Any]) -> int:
        cols = [c for c in row if c != "id"]
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "path")
        self.db.execute(f"INSERT INTO images({', '.join(cols)}) VALUES({_marks(cols)}) "
                        f"ON CONFLICT(path) DO UPDATE SET {sets}", [row[c] for c in cols])
        id_ = self.db.execute("SELECT id FROM images WHERE path = ?", (row["path"],)).fetchone()[0]
        self.db.execute("DELETE FROM fts WHERE rowid = ?", (id_,))
        self.db.execute("INSERT INTO fts(rowid, ocr, description, tags) VALUES(?, ?, ?, ?)",
                        (id_, cjk_split(row.get("ocr", "")), cjk_split(row.get("description", "")),
                         cjk_split(" ".join([row.get("tags_en", ""), row.get("tags_zh", ""), row.get("labels", "")]))))
        self.db.execute("DELETE FROM errors WHERE path = ?", (row["path"],))
        self._dissolve_moments_of([id_])  # new content: its moment is grouped again
        return id_

    def put_vector(self, image_id: int, kind: str, model: str, vec: np.ndarray) -> None:
        self.db.execute("INSERT OR REPLACE INTO vectors(image_id, kind, model, data) VALUES(?, ?, ?, ?)",
                        (image_id, kind, model, np.ascontiguousarray(vec, dtype=np.float32).tobytes()))
        self.touched.setdefault(kind, set()).add(image_id)
        self._dirty.add(kind)

    def put_vectors(self, kind: str, model: str, ids: Iterable[int], vecs: np.ndarray) -> None:
        self.db.execute("DELETE FROM vectors WHERE kind = ? AND model != ?", (kind, model))
        for i, v in zip(ids, vecs):
            self.put_vector(int(i), kind, model, v)
        self._dirty.add(kind)

    def _copy_row(self, src_id: int, path: str, size: int, mtime_ns: int, indexed_at: float,
                  parent: int | None = None) -> int:
        cols = [r[1] for r in self.db.execute("PRAGMA table_info(images)")
                if r[1] not in ("id", "path", "size", "mtime_ns", "indexed_at", "parent")]
        self.db.execute(f"INSERT INTO images(path, size, mtime_ns, indexed_at, parent, {', '.join(cols)}) "
                        f"SELECT ?, ?, ?, ?, ?, {', '.join(cols)} FROM images WHERE id = ? "
                        f"ON CONFLICT(path) DO NOTHING", (path, size, mtime_ns, indexed_at, parent, src_id))
        new_id = self.db.execute("SELECT id FROM images WHERE path = ?", (path,)).fetchone()[0]
        self.db.execute("DELETE FROM fts WHERE rowid = ?", (new_id,))
        self.db.execute("INSERT INTO fts(rowid, ocr, description, tags) SELECT ?, ocr, description, tags FROM fts "
                        "WHERE rowid = ?", (new_id, src_id))
        self.db.execute("INSERT OR REPLACE INTO vectors(image_id, kind, model, data) "
                        "SELECT ?, kind, model, data FROM vectors WHERE image_id = ?", (new_id, src_id))
        self.db.execute("INSERT OR IGNORE INTO place_names(name, image_id) SELECT name, ? FROM place_names "
                        "WHERE image_id = ?", (new_id, src_id))
        self.touched.setdefault("*", set()).add(new_id)
        self._dirty.update(VECTOR_KINDS)
        self.db.execute("DELETE FROM errors WHERE path = ?", (path,))
        self._copy_faces(src_id, new_id)
        return new_id

    def record_error(self, path: str, size: int, mtime_ns: int, error: str, at: float) -> None:
        self.db.execute("INSERT OR REPLACE INTO errors(path, size, mtime_ns, error, at) VALUES(?, ?, ?, ?, ?)",
                        (path, size, mtime_ns, error, at))
        # a file that used to be a good image and is now broken leaves the index
        row = self.db.execute("SELECT id FROM images WHERE path = ?", (path,)).fetchone()
        if row:
            self.delete_images([row[0]])

    def delete_errors(self, paths: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM errors WHERE path = ?", [(p,) for p in paths])

    # -- vectors ----------------------------------------------------------------------------
    def vectors(self, kind: str, ids: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray, str | None]:
        if ids is None:
            rows = self.db.execute("SELECT image_id, model, data FROM vectors WHERE kind = ? ORDER BY image_id",
                                   (kind,)).fetchall()
        else:
            rows = []
            for chunk in _chunks(sorted(set(int(i) for i in ids))):
                rows += self.db.execute(f"SELECT image_id, model, data FROM vectors WHERE kind = ? AND image_id IN "
                                        f"({_marks(chunk)}) ORDER BY image_id", [kind, *chunk]).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32), None
        ids_ = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        mat = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return ids_, mat, rows[0][1]

    def vector_state(self, kind: str) -> tuple[int, int]:
        """(how many ``kind`` vectors, their dimension)."""
        count, nbytes = self.db.execute(
            "SELECT count(*), max(length(data)) FROM vectors WHERE kind = ?", (kind,)).fetchone()
        return count, (nbytes or 0) // 4

    def has_vectors(self, kind: str, model: str | None = None) -> bool:
        if model is None:
            row = self.db.execute("SELECT 1 FROM vectors WHERE kind = ? LIMIT 1", (kind,)).fetchone()
        else:
            row = self.db.execute("SELECT 1 FROM vectors WHERE kind = ? AND model = ? LIMIT 1", (kind, model)).fetchone()
        return row is not None

    def missing_vectors(self, kind: str, model: str) -> list[tuple[int, str]]:
        return self.db.execute(
            "SELECT id, path FROM images WHERE media != 'video' AND id NOT IN "
            "(SELECT image_id FROM vectors WHERE kind = ? AND model = ?) ORDER BY id", (kind, model)).fetchall()

    def passages(self, ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        out: dict[int, tuple[str, ...]] = {}
        for chunk in _chunks(list(ids)):
            for id_, *cols in self.db.execute(f"SELECT id, {', '.join(PASSAGE_COLUMNS)} FROM images "
                                              f"WHERE id IN ({_marks(chunk)})", chunk):
                out[id_] = tuple(cols)
        return out

    def nearest(self, kind: str, query: np.ndarray, k: int, allowed: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        from . import vectorfiles

        vi = vectorfiles.open_index(self, kind)
        if vi is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return vi.search(np.asarray(query, np.float32), k, allowed)

    def sync(self) -> None:
        from . import vectorfiles

        vectorfiles.sync(self, self._was_in_sync)
        self._was_in_sync = {kind: True for kind in VECTOR_KINDS}
        self.touched.clear()
        self.removed.clear()

    # -- search -----------------------------------------------------------------------------
    def text_search(self, query: str, k: int, filters: Filters) -> list[int]:
        expr = fts_query(query)
        if not expr:
            return []
        where, args = self._where(filters)
        where = f" AND {where}" if where else ""
        sql = (f"SELECT fts.rowid FROM fts JOIN images ON images.id = fts.rowid WHERE fts MATCH ?{where} "
               f"ORDER BY bm25(fts, {', '.join(map(str, BM25_WEIGHTS))}) LIMIT ?")
        try:
            return [r[0] for r in self.db.execute(sql, [expr, *args, k])]
        except sqlite3.OperationalError:  # an expression FTS5 cannot parse: no word matches
            return []

    def hits(self, ids: Iterable[int]) -> dict[int, HitRow]:
        out: dict[int, HitRow] = {}
        for chunk in _chunks(list(ids)):
            for id_, *cols in self.db.execute(
                    f"{HITS_SQL} IN ({_marks(chunk)})", chunk):
                out[id_] = HitRow(*cols)
        return out

    # -- where and when -----------------------------------------------------------------------
    def put_capture(self, image_id: int, capture: Capture) -> None:
        c = capture
        self._dissolve_moments_of([image_id])
        self.db.execute("UPDATE images SET captured = ?, captured_utc = ?, utc_offset = ?, place = ?, lat = ?, "
                        "lon = ?, capture = ? WHERE id = ?",
                        (c.captured, c.captured_utc, c.utc_offset, c.place, c.lat, c.lon, c.level, image_id))
        self.db.execute("DELETE FROM place_names WHERE image_id = ?", (image_id,))
        self.db.executemany("INSERT OR IGNORE INTO place_names(name, image_id) VALUES(?, ?)",
                            [(n, image_id) for n in dict.fromkeys(c.names) if n])

    def forget(self, *, places: bool = False, positions: bool = False) -> int:
        ids: set[int] = set()
        if places:
            ids |= {r[0] for r in self.db.execute("SELECT id FROM images WHERE place IS NOT NULL")}
            ids |= {r[0] for r in self.db.execute("SELECT DISTINCT image_id FROM place_names")}
            self.db.execute("UPDATE images SET place = NULL, capture = 'time' WHERE capture = 'place' "
                            "OR place IS NOT NULL")
            self.db.execute("DELETE FROM place_names")
        if positions:
            ids |= {r[0] for r in self.db.execute("SELECT id FROM images WHERE lat IS NOT NULL OR lon IS NOT NULL")}
            self.db.execute("UPDATE images SET lat = NULL, lon = NULL WHERE lat IS NOT NULL OR lon IS NOT NULL")
        if ids:  # titles and centres of moments were made from what is gone
            self.db.execute("DELETE FROM moments")
        return len(ids)

    def place_matches(self, names: Iterable[str], filters: Filters) -> dict[int, int]:
        names = list(dict.fromkeys(n for n in names if n))
        if not names:
            return {}
        where, args = self._where(filters)
        where = f" AND {where}" if where else ""
        out: dict[int, int] = {}
        for chunk in _chunks(names):
            for id_, n in self.db.execute(
                    f"SELECT p.image_id, count(*) FROM place_names p JOIN images ON images.id = p.image_id "
                    f"WHERE p.name IN ({_marks(chunk)}){where} GROUP BY p.image_id", [*chunk, *args]):
                out[id_] = out.get(id_, 0) + n
        return out

    # -- moments --------------------------------------------------------------------------------
    def ungrouped(self) -> list[CaptureRow]:
        return [CaptureRow(*r) for r in self.db.execute(
            "SELECT id, captured, captured_utc, lat, lon, place, quality, faces FROM images WHERE captured IS NOT NULL "
            "AND media != 'frame' AND id NOT IN (SELECT image_id FROM moment_photos) ORDER BY id")]

    def moments(self, ids: Iterable[str] | None = None, *, between: tuple[str, str] | None = None) -> list[Moment]:
        from ..results import Moment

        if ids is not None:
            rows = []
            for chunk in _chunks(list(dict.fromkeys(ids))):
                rows += self.db.execute(f"SELECT start_instant, data FROM moments WHERE id IN ({_marks(chunk)})",
                                        chunk).fetchall()
        elif between is not None:
            rows = self.db.execute("SELECT start_instant, data FROM moments WHERE end_instant >= ? AND "
                                   "start_instant <= ?", between).fetchall()
        else:
            rows = self.db.execute("SELECT start_instant, data FROM moments").fetchall()
        return [Moment.model_validate_json(d) for _, d in sorted(rows)]

    def replace_moments(self, remove: Iterable[str], add: Iterable[Moment]) -> None:
        for chunk in _chunks(list(remove)):
            self.db.execute(f"DELETE FROM moments WHERE id IN ({_marks(chunk)})", chunk)
        for m in add:
            self.db.execute("INSERT OR REPLACE INTO moments(id, start_instant, end_instant, data) VALUES(?, ?, ?, ?)",
                            (m.id, m.start_instant or m.start, m.end_instant or m.end, m.model_dump_json()))
            self.db.executemany("INSERT OR REPLACE INTO moment_photos(image_id, moment_id) VALUES(?, ?)",
                                [(int(p), m.id) for p in m.photos])

    def _dissolve_moments_of(self, image_ids: list[int]) -> None:
        for chunk in _chunks(image_ids):
            self.db.execute(f"DELETE FROM moments WHERE id IN (SELECT moment_id FROM moment_photos WHERE image_id "
                            f"IN ({_marks(chunk)}))", chunk)

    def stats(self) -> dict[str, Any]:
        size = sum(os.path.getsize(p) for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return dict(db=str(self.path), schema_version=self.version, bytes=size, **self._counts())

    # -- faces and people --------------------------------------------------------------------
    @_face_tables
    def unscanned_faces(self, model: str) -> list[tuple[int, str]]:
        return self.db.execute(
            "SELECT images.id, images.path FROM images LEFT JOIN face_scans s ON s.image_id = images.id "
            "WHERE images.media != 'video' AND (s.image_id IS NULL OR s.model != ? OR s.hash != images.hash) "
            "ORDER BY images.id",
            (model,)).fetchall()

    @_face_tables
    def put_faces(self, image_id: int, model: str, faces: list[FaceRow]) -> list[int]:
        self.db.execute("DELETE FROM faces WHERE image_id = ?", (image_id,))
        ids = []
        for f in faces:
            ids.append(self._insert_face(image_id, f))
        self.db.execute("INSERT OR REPLACE INTO face_scans(image_id, hash, model) "
                        "SELECT id, hash, ? FROM images WHERE id = ?", (model, image_id))
        return ids

    def _insert_face(self, image_id: int, f: FaceRow) -> int:
        x, y, w, h = (int(v) for v in f.box)
        vec = np.ascontiguousarray(f.embedding, dtype=np.float32).tobytes()
        cur = self.db.execute(
            "INSERT INTO faces(image_id, x, y, w, h, score, landmarks, alignment, quality, usable, reasons, "
            "embedding, model, source, person_id, distance, locked, grouped) "
            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (image_id, x, y, w, h, float(f.score), _json(f.landmarks), _json(f.alignment), float(f.quality),
             int(bool(f.usable)), f.reasons, vec, f.model, f.source, f.person_id, f.distance, int(bool(f.locked)),
             int(bool(f.grouped or f.locked))))
        for p in f.rejected:
            self.db.execute("INSERT OR IGNORE INTO face_rejections(face_id, person_id) "
                            "SELECT ?, id FROM people WHERE id = ?", (cur.lastrowid, p))
        return cur.lastrowid

    def _copy_faces(self, src_id: int, new_id: int) -> None:
        """A copy of an indexed image holds the same faces, people and names."""
        for face in self.faces_of([src_id], embeddings=True).get(src_id, []):
            face.id = None
            self._insert_face(new_id, face)
        self.db.execute("INSERT OR REPLACE INTO face_scans(image_id, hash, model) "
                        "SELECT ?, hash, model FROM face_scans WHERE image_id = ?", (new_id, src_id))
        self.db.execute("INSERT OR IGNORE INTO image_names(image_id, name, name_key, source) "
                        "SELECT ?, name, name_key, source FROM image_names WHERE image_id = ?", (new_id, src_id))

    def _face(self, row: tuple, embedding: bytes | None = None, path: str | None = None,
              rejected: tuple[int, ...] = ()) -> FaceRow:
        return face_row(row, _vector(embedding) if embedding is not None else None, path, rejected)

    @_face_tables
    def faces_of(self, image_ids: Iterable[int], *, embeddings: bool = False) -> dict[int, list[FaceRow]]:
        out: dict[int, list[FaceRow]] = {}
        extra = ", faces.embedding" if embeddings else ""
        for chunk in _chunks(sorted(set(int(i) for i in image_ids))):
            rows = self._people_query(
                f"SELECT {FACE_COLS}{extra}, images.path FROM faces JOIN images ON images.id = faces.image_id "
                f"WHERE faces.image_id IN ({_marks(chunk)}) ORDER BY faces.image_id, x, faces.id", chunk)
            face_ids = [r[0] for r in rows]
            rejected = self._rejections_of(face_ids)
            for r in rows:
                emb = r[18] if embeddings else None
                face = self._face(r[:18], emb, r[-1], tuple(rejected.get(r[0], ())))
                out.setdefault(face.image_id, []).append(face)
        return out

    def _rejections_of(self, face_ids: list[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for chunk in _chunks(face_ids):
            for f, p in self.db.execute(f"SELECT face_id, person_id FROM face_rejections WHERE face_id IN "
                                        f"({_marks(chunk)})", chunk):
                out.setdefault(f, []).append(p)
        return out

    @_face_tables
    def face(self, face_id: int) -> FaceRow | None:
        rows = self._people_query(f"SELECT {FACE_COLS}, images.path FROM faces JOIN images "
                                  f"ON images.id = faces.image_id WHERE faces.id = ?", (face_id,))
        return self._face(rows[0][:18], None, rows[0][-1]) if rows else None

    @_face_tables
    def stored_faces(self) -> StoredFaces:
        # columns as one integer array and the blobs joined: no Python work per face (100,000
        # faces read in ~0.3 s)
        cols = self.db.execute("SELECT id, coalesce(person_id, -1), usable, locked, grouped FROM faces "
                               "ORDER BY id").fetchall()
        blobs = [r[0] for r in self.db.execute("SELECT embedding FROM faces ORDER BY id")]
        meta = np.array(cols, dtype=np.int64).reshape(len(cols), 5)
        size = 4 * _FACE_DIM
        ok = np.fromiter((isinstance(b, bytes) and len(b) == size for b in blobs), bool, len(blobs))
        raw = b"".join(blobs) if ok.all() else b"".join(b for b, good in zip(blobs, ok) if good)
        vectors = np.frombuffer(raw, np.float32).reshape(-1, _FACE_DIM)
        meta = meta[ok]
        finite = np.isfinite(vectors).all(axis=1)
        damaged = tuple(int(i) for i in np.array([r[0] for r in cols], np.int64)[~ok]) + \
            tuple(int(i) for i in meta[~finite, 0])
        meta, vectors = meta[finite], vectors[finite]
        confirmed = frozenset(r[0] for r in self.db.execute("SELECT id FROM people WHERE confirmed"))
        rejected = frozenset(self.db.execute("SELECT face_id, person_id FROM face_rejections").fetchall())
        return StoredFaces(ids=meta[:, 0].copy(), vectors=np.ascontiguousarray(vectors), person=meta[:, 1].copy(),
                           usable=meta[:, 2].astype(bool), locked=meta[:, 3].astype(bool),
                           grouped=meta[:, 4].astype(bool), confirmed=confirmed, rejected=rejected, damaged=damaged)

    @_face_tables
    def faces_waiting(self) -> int:
        return self.db.execute("SELECT count(*) FROM faces WHERE NOT grouped").fetchone()[0]

    @_face_tables
    def set_face_people(self, rows: Iterable[tuple[int, int | None, float | None]]) -> None:
        self.db.executemany("UPDATE faces SET person_id = ?, distance = ?, grouped = 1 WHERE id = ? AND NOT locked",
                            [(p, None if d is None or d != d else float(d), int(f)) for f, p, d in rows])
        self.db.execute("UPDATE faces SET grouped = 1 WHERE locked AND NOT grouped")

    @_face_tables
    def lock_face(self, face_id: int, person_id: int) -> None:
        self.db.execute("UPDATE faces SET person_id = ?, locked = 1, grouped = 1, distance = NULL WHERE id = ?",
                        (person_id, face_id))
        self.db.execute("DELETE FROM face_rejections WHERE face_id = ? AND person_id = ?", (face_id, person_id))

    @_face_tables
    def reject_face(self, face_id: int, person_id: int) -> None:
        self.db.execute("UPDATE faces SET person_id = NULL, locked = 0, distance = NULL WHERE id = ? AND person_id = ?",
                        (face_id, person_id))
        self.db.execute("INSERT OR IGNORE INTO face_rejections(face_id, person_id) VALUES(?, ?)", (face_id, person_id))

    @_face_tables
    def add_person(self, name: str | None = None, key: str | None = None, *, confirmed: bool = False) -> int:
        cur = self.db.execute("INSERT INTO people(name, name_key, confirmed, created) VALUES(?, ?, ?, ?)",
                              (name, key, int(confirmed or name is not None), time.time()))
        return cur.lastrowid

    @_face_tables
    def set_person_name(self, person_id: int, name: str | None, key: str | None) -> None:
        self.db.execute("DELETE FROM person_aliases WHERE alias_key = ?", (key,))
        self.db.execute("UPDATE people SET name = ?, name_key = ?, confirmed = 1 WHERE id = ?", (name, key, person_id))

    @_face_tables
    def add_alias(self, person_id: int, alias: str, key: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO person_aliases(person_id, alias, alias_key) VALUES(?, ?, ?)",
                        (person_id, alias, key))

    @_face_tables
    def people_rows(self, ids: Iterable[int] | None = None) -> list[PersonRow]:
        where, args = "", []
        if ids is not None:
            args = sorted(set(int(i) for i in ids))
            if not args:
                return []
            where = f"WHERE people.id IN ({_marks(args)})"
        rows = self._people_query(
            "SELECT people.id, people.name, people.confirmed, count(faces.id), count(DISTINCT faces.image_id) "
            f"FROM people LEFT JOIN faces ON faces.person_id = people.id {where} GROUP BY people.id "
            "ORDER BY count(faces.id) DESC, people.id", args)
        aliases: dict[int, list[str]] = {}
        for pid, alias in self.db.execute("SELECT person_id, alias FROM person_aliases ORDER BY rowid"):
            aliases.setdefault(pid, []).append(alias)
        names_only = dict(self.db.execute(
            "SELECT people.id, count(DISTINCT n.image_id) FROM people JOIN image_names n ON n.name_key = people.name_key "
            "OR n.name_key IN (SELECT alias_key FROM person_aliases a WHERE a.person_id = people.id) "
            "WHERE n.image_id NOT IN (SELECT image_id FROM faces WHERE person_id = people.id) GROUP BY people.id"))
        samples = {pid: (fid, path) for pid, fid, path in self.db.execute(
            "SELECT f.person_id, f.id, images.path FROM faces f JOIN images ON images.id = f.image_id "
            "WHERE f.person_id IS NOT NULL AND f.id = (SELECT g.id FROM faces g WHERE g.person_id = f.person_id "
            "ORDER BY g.locked DESC, g.usable DESC, g.quality DESC, g.w * g.h DESC, g.id LIMIT 1)")}
        return [PersonRow(id=pid, name=name, aliases=tuple(aliases.get(pid, ())), confirmed=bool(conf), faces=n,
                          photos=photos + names_only.get(pid, 0), sample_face=samples.get(pid, (None, None))[0],
                          sample_path=samples.get(pid, (None, None))[1])
                for pid, name, conf, n, photos in rows]

    @_face_tables
    def people_by_key(self, key: str) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT id FROM people WHERE name_key = ? UNION SELECT person_id FROM person_aliases WHERE alias_key = ?",
            (key, key))]

    @_face_tables
    def person_names(self) -> list[tuple[int, str]]:
        return self.db.execute("SELECT id, name FROM people WHERE name IS NOT NULL "
                               "UNION ALL SELECT person_id, alias FROM person_aliases").fetchall()

    @_face_tables
    def person_images(self, person_id: int) -> list[tuple[int, str]]:
        rows = self._people_query(
            "SELECT images.id, images.path, max(f.locked) AS l, min(coalesce(f.distance, 0)) AS d FROM faces f "
            "JOIN images ON images.id = f.image_id WHERE f.person_id = ? GROUP BY images.id "
            "ORDER BY l DESC, d, images.taken DESC, images.id", (person_id,))
        seen = {r[0] for r in rows}
        named = self.db.execute(
            "SELECT DISTINCT images.id, images.path FROM image_names n JOIN images ON images.id = n.image_id "
            "WHERE n.name_key IN (SELECT name_key FROM people WHERE id = ? "
            "UNION SELECT alias_key FROM person_aliases WHERE person_id = ?) ORDER BY images.taken DESC, images.id",
            (person_id, person_id)).fetchall()
        return [(r[0], r[1]) for r in rows] + [r for r in named if r[0] not in seen]

    @_face_tables
    def person_faces(self, person_id: int) -> list[FaceRow]:
        rows = self._people_query(
            f"SELECT {FACE_COLS}, images.path FROM faces JOIN images ON images.id = faces.image_id "
            "WHERE faces.person_id = ? ORDER BY faces.locked DESC, coalesce(faces.distance, 0), faces.quality DESC, faces.id",
            (person_id,))
        return [self._face(r[:18], None, r[-1]) for r in rows]

    @_face_tables
    def merge_people(self, keep: int, other: int) -> int:
        moved = self.db.execute("UPDATE faces SET person_id = ? WHERE person_id = ?", (keep, other)).rowcount
        self.db.execute("UPDATE OR IGNORE face_rejections SET person_id = ? WHERE person_id = ?", (keep, other))
        self.db.execute("UPDATE person_aliases SET person_id = ? WHERE person_id = ?", (keep, other))
        self.db.execute("UPDATE people SET confirmed = 1 WHERE id = ?", (keep,))
        self.db.execute("DELETE FROM people WHERE id = ?", (other,))
        return moved

    @_face_tables
    def delete_empty_people(self) -> int:
        return self.db.execute("DELETE FROM people WHERE name IS NULL AND NOT confirmed AND id NOT IN "
                               "(SELECT person_id FROM faces WHERE person_id IS NOT NULL)").rowcount

    @_face_tables
    def put_image_names(self, image_id: int, names: list[tuple[str, str]], source: str) -> None:
        self.db.execute("DELETE FROM image_names WHERE image_id = ? AND source = ?", (image_id, source))
        self.db.executemany("INSERT OR IGNORE INTO image_names(image_id, name, name_key, source) VALUES(?, ?, ?, ?)",
                            [(image_id, n, k, source) for n, k in names])

    @_face_tables
    def image_names(self, image_ids: Iterable[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for chunk in _chunks(sorted(set(int(i) for i in image_ids))):
            for i, n in self.db.execute(f"SELECT image_id, name FROM image_names WHERE image_id IN ({_marks(chunk)}) "
                                        f"ORDER BY rowid", chunk):
                out.setdefault(i, []).append(n)
        return out

    def forget_people(self, person_ids: Iterable[int] | None = None) -> dict[str, int]:
        """Rows go with secure_delete on (freed space is zeroed), then the WAL is checkpointed
        and truncated and the file vacuumed, so no embedding is left in the db, its WAL or
        free pages. The WAL cannot be emptied while another connection reads the index:
        ``wal_emptied`` then says 0."""
        counts: dict[str, int] = {}
        self.db.execute("PRAGMA secure_delete = ON")
        try:
            with self.transaction():
                if person_ids is None:
                    # table by table, so that a lost or damaged one does not keep the rest
                    for table, key in (("face_rejections", "rejections"), ("faces", "faces"),
                                       ("person_aliases", "aliases"), ("image_names", "names"),
                                       ("face_scans", "scans"), ("people", "people")):
                        try:
                            counts[key] = self.db.execute(f"DELETE FROM {table}").rowcount
                        except sqlite3.DatabaseError:
                            counts[key] = 0
                            self.db.execute(f"DROP TABLE IF EXISTS {table}")
                    self._repair_people_tables()
                    self.db.execute("DELETE FROM meta WHERE key LIKE 'people.%'")
                    self.db.execute("DELETE FROM sqlite_sequence WHERE name = 'people'")
                else:
                    ids = sorted(set(int(i) for i in person_ids))
                    marks = _marks(ids)
                    keys = [r[0] for r in self.db.execute(
                        f"SELECT name_key FROM people WHERE id IN ({marks}) AND name_key IS NOT NULL "
                        f"UNION SELECT alias_key FROM person_aliases WHERE person_id IN ({marks})", ids + ids)]
                    counts["faces"] = self.db.execute(f"SELECT count(*) FROM faces WHERE person_id IN ({marks})",
                                                      ids).fetchone()[0]
                    counts["rejections"] = self.db.execute(
                        f"DELETE FROM face_rejections WHERE person_id IN ({marks}) OR face_id IN "
                        f"(SELECT id FROM faces WHERE person_id IN ({marks}))", ids + ids).rowcount
                    self.db.execute(f"DELETE FROM faces WHERE person_id IN ({marks})", ids)
                    counts["aliases"] = self.db.execute(f"DELETE FROM person_aliases WHERE person_id IN ({marks})",
                                                        ids).rowcount
                    counts["names"] = sum(self.db.execute("DELETE FROM image_names WHERE name_key = ?", (k,)).rowcount
                                          for k in keys)
                    counts["people"] = self.db.execute(f"DELETE FROM people WHERE id IN ({marks})", ids).rowcount
                    counts["scans"] = 0
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.db.execute("VACUUM")
            busy = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            counts["wal_emptied"] = int(busy == 0)
        finally:
            self.db.execute("PRAGMA secure_delete = OFF")
        return counts

    def _people_query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        return self.db.execute(sql, list(args)).fetchall()

    def _repair_people_tables(self) -> None:
        """Make the face tables again where one was lost (forget works on a damaged index)."""
        for stmt in _statements(MIGRATIONS[PEOPLE_MIGRATION]):
            stmt = re.sub(r"^CREATE (TABLE|INDEX) ", r"CREATE \1 IF NOT EXISTS ", stmt)
            self.db.execute(stmt)


SQLiteStore = Store


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error: a batch lands whole or not at all.
    The vector kinds it changed get a new generation in the same commit, so a crash before the
    vector files are saved is seen on the next open (their save stamp then disagrees)."""

    def __init__(self, store: Store):
        self.store = store

    def __enter__(self):
        self.store._dirty.clear()
        self.store.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, exc, tb):
        db = self.store.db
        if exc_type is None:
            try:
                for kind in sorted(self.store._dirty):
                    self.store.bump_generation(kind)
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
            finally:
                self.store._dirty.clear()
        else:
            self.store._dirty.clear()
            _rollback(db)
        return False


def _rollback(db: sqlite3.Connection) -> None:
    # SQLite ends the transaction itself on some errors (a full disk): nothing is left to roll back
    if db.in_transaction:
        db.execute("ROLLBACK")


def filter_sql(f: Filters, mark: str) -> tuple[str, list[Any]]:
    """The WHERE conditions (AND-ed) and arguments of ``f`` on the images table, with ``mark`` as
    the parameter placeholder ("?" for SQLite, "%s" for PostgreSQL: the SQL is the same)."""
    where: list[str] = []
    args: list[Any] = []

    def cond(sql: str, *values: Any) -> None:
        where.append(sql.replace("?", mark))
        args.extend(values)
    if f.has_text is not None:
        cond("has_text = ?", int(bool(f.has_text)))
    if f.faces is not None:
        cond("faces > 0" if f.faces else "faces = 0")
    if f.min_quality is not None:
        cond("quality >= ?", int(f.min_quality))
    if f.folder is not None:
        cond("(substr(path, 1, ?) = ?)", len(f.folder) + 1, f.folder + os.sep)
    for column, op, value in (("taken", ">=", f.after), ("taken", "<", f.before),
                              ("captured", ">=", f.captured_after), ("captured", "<", f.captured_before)):
        if value:
            cond(f"{column} {op} ?", value)
    if f.moment is not None:
        cond("id IN (SELECT image_id FROM moment_photos WHERE moment_id = ?)", f.moment)
    if f.near is not None:
        lat, lon, km = f.near
        # a box first (uses the lat index), then the exact great-circle distance
        lat_lo, lat_hi, lon_lo, lon_hi = near_box(lat, lon, km)
        cond("lat BETWEEN ? AND ?", lat_lo, lat_hi)
        if lon_lo is not None:
            cond("lon BETWEEN ? AND ?", lon_lo, lon_hi)
        cond("haversine_km(lat, lon, ?, ?) <= ?", lat, lon, km)
    for pid in f.people or ():
        # through the person's faces, or a name without a box that is theirs
        cond("(id IN (SELECT image_id FROM faces WHERE person_id = ?) OR id IN (SELECT image_id FROM image_names "
             "WHERE name_key IN (SELECT name_key FROM people WHERE id = ? UNION SELECT alias_key FROM "
             "person_aliases WHERE person_id = ?)))", int(pid), int(pid), int(pid))
    return " AND ".join(where), args


def _haversine_km(lat1: float | None, lon1: float | None, lat2: float, lon2: float) -> float | None:
    if lat1 is None or lon1 is None:
        return None
    la1, la2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


_FACE_DIM = 128


def face_row(row: tuple, vec: np.ndarray | None, path: str | None, rejected: tuple[int, ...] = ()) -> FaceRow:
    """A ``FACE_COLS`` row (and the embedding, already read) -> FaceRow."""
    (id_, image_id, x, y, w, h, score, landmarks, alignment, quality, usable, reasons, model, source, person,
     distance, locked, grouped) = row
    return FaceRow(box=(x, y, w, h), embedding=vec, model=model, score=score, quality=quality,
                   usable=bool(usable), reasons=reasons, landmarks=_unjson(landmarks),
                   alignment=_unjson(alignment), source=source, person_id=person, distance=distance,
                   locked=bool(locked), grouped=bool(grouped), rejected=rejected, id=id_, image_id=image_id,
                   path=path)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _unjson(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _vector(blob: bytes) -> np.ndarray | None:
    if not isinstance(blob, bytes) or len(blob) != 4 * _FACE_DIM:
        return None
    return np.frombuffer(blob, np.float32).copy()


def _chunks(items: list, size: int = 500):
    # SQLite caps the number of bound parameters per statement
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _marks(items: list) -> str:
    return ",".join("?" * len(items))


def _statements(script: str) -> list[str]:
    # sqlite3.executescript would COMMIT on its own; split so the migration stays one transaction
    out, buf = [], ""
    for line in script.splitlines():
        line = line.split("--", 1)[0]  # the schema has no '--' inside strings
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
