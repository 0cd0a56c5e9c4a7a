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

import os
import re
import sqlite3
import threading
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_CHAR = re.compile(f"([{_CJK}])")
_TOKEN = re.compile(f"[{_CJK}]+|[^\\W_]+", re.UNICODE)

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
]
SCHEMA_VERSION = len(MIGRATIONS)
QUALITY = {"poor": 0, "acceptable": 1, "good": 2}


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


class Store:
    """One connection to an index file. Not shared between threads."""

    def __init__(self, path: str | os.PathLike, *, readonly: bool = False):
        self.path = Path(path).expanduser()
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
        self.lock = threading.Lock()
        # what this connection changed, so the vector files can be patched instead of rebuilt
        self.touched: dict[str, set[int]] = {}
        self.removed: set[int] = set()
        self._migrate()

    # -- schema -------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
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
        return _Tx(self.db)

    def close(self) -> None:
        try:
            self.db.execute("PRAGMA optimize")
        except sqlite3.Error:
            pass
        self.db.close()

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (key, str(value)))

    def bump_generation(self, kind: str) -> None:
        """Call inside a transaction that changes vectors of ``kind``."""
        gen = int(self.get_meta(f"vectors.{kind}.gen", "0")) + 1
        self.set_meta(f"vectors.{kind}.gen", str(gen))

    # -- rows ---------------------------------------------------------------------------
    def known(self) -> dict[str, tuple[int, int, int, str]]:
        """path -> (id, size, mtime_ns, hash) of every indexed image."""
        return {p: (i, s, m, h) for i, p, s, m, h in
                self.db.execute("SELECT id, path, size, mtime_ns, hash FROM images")}

    def known_errors(self) -> dict[str, tuple[int, int]]:
        return {p: (s, m) for p, s, m in self.db.execute("SELECT path, size, mtime_ns FROM errors")}

    def ids_by_hash(self, hashes: Iterable[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        hashes = list(set(hashes))
        for i in range(0, len(hashes), 500):
            chunk = hashes[i:i + 500]
            q = f"SELECT hash, id FROM images WHERE hash IN ({','.join('?' * len(chunk))})"
            for h, id_ in self.db.execute(q, chunk):
                out.setdefault(h, id_)
        return out

    def delete_images(self, ids: Iterable[int]) -> int:
        ids = list(ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            self.db.execute(f"DELETE FROM vectors WHERE image_id IN ({marks})", chunk)
            self.db.execute(f"DELETE FROM fts WHERE rowid IN ({marks})", chunk)
            self.db.execute(f"DELETE FROM images WHERE id IN ({marks})", chunk)
        self.removed.update(ids)
        return len(ids)

    def upsert_image(self, row: dict) -> int:
        """Insert or replace the image at row['path']; returns its id (kept when it existed)."""
        cols = [c for c in row if c != "id"]
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "path")
        self.db.execute(f"INSERT INTO images({', '.join(cols)}) VALUES({', '.join('?' * len(cols))}) "
                        f"ON CONFLICT(path) DO UPDATE SET {sets}", [row[c] for c in cols])
        id_ = self.db.execute("SELECT id FROM images WHERE path = ?", (row["path"],)).fetchone()[0]
        self.db.execute("DELETE FROM fts WHERE rowid = ?", (id_,))
        self.db.execute("INSERT INTO fts(rowid, ocr, description, tags) VALUES(?, ?, ?, ?)",
                        (id_, cjk_split(row.get("ocr", "")), cjk_split(row.get("description", "")),
                         cjk_split(" ".join([row.get("tags_en", ""), row.get("tags_zh", ""), row.get("labels", "")]))))
        self.db.execute("DELETE FROM errors WHERE path = ?", (row["path"],))
        return id_

    def put_vector(self, image_id: int, kind: str, model: str, vec: np.ndarray) -> None:
        self.db.execute("INSERT OR REPLACE INTO vectors(image_id, kind, model, data) VALUES(?, ?, ?, ?)",
                        (image_id, kind, model, np.ascontiguousarray(vec, dtype=np.float32).tobytes()))
        self.touched.setdefault(kind, set()).add(image_id)

    def copy_image(self, src_id: int, path: str, size: int, mtime_ns: int, indexed_at: float) -> int:
        """A new path with content already indexed: copy its row, text and vectors."""
        cols = [r[1] for r in self.db.execute("PRAGMA table_info(images)") if r[1] not in ("id", "path", "size", "mtime_ns", "indexed_at")]
        self.db.execute(f"INSERT INTO images(path, size, mtime_ns, indexed_at, {', '.join(cols)}) "
                        f"SELECT ?, ?, ?, ?, {', '.join(cols)} FROM images WHERE id = ? "
                        f"ON CONFLICT(path) DO NOTHING", (path, size, mtime_ns, indexed_at, src_id))
        row = self.db.execute("SELECT id FROM images WHERE path = ?", (path,)).fetchone()
        new_id = row[0]
        self.db.execute("DELETE FROM fts WHERE rowid = ?", (new_id,))
        self.db.execute("INSERT INTO fts(rowid, ocr, description, tags) SELECT ?, ocr, description, tags FROM fts WHERE rowid = ?",
                        (new_id, src_id))
        self.db.execute("INSERT OR REPLACE INTO vectors(image_id, kind, model, data) "
                        "SELECT ?, kind, model, data FROM vectors WHERE image_id = ?", (new_id, src_id))
        self.touched.setdefault("*", set()).add(new_id)
        self.db.execute("DELETE FROM errors WHERE path = ?", (path,))
        return new_id

    def move_image(self, image_id: int, path: str, size: int, mtime_ns: int) -> None:
        self.db.execute("UPDATE images SET path = ?, size = ?, mtime_ns = ? WHERE id = ?", (path, size, mtime_ns, image_id))
        self.db.execute("DELETE FROM errors WHERE path = ?", (path,))

    def record_error(self, path: str, size: int, mtime_ns: int, error: str, at: float) -> None:
        self.db.execute("INSERT OR REPLACE INTO errors(path, size, mtime_ns, error, at) VALUES(?, ?, ?, ?, ?)",
                        (path, size, mtime_ns, error, at))
        # a file that used to be a good image and is now broken leaves the index
        row = self.db.execute("SELECT id FROM images WHERE path = ?", (path,)).fetchone()
        if row:
            self.delete_images([row[0]])

    def delete_errors(self, paths: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM errors WHERE path = ?", [(p,) for p in paths])

    def vectors(self, kind: str, ids: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray, str | None]:
        """(ids int64, vectors float32 (n, dim), model) of one kind, by id: all, or those of ``ids``."""
        if ids is None:
            rows = self.db.execute("SELECT image_id, model, data FROM vectors WHERE kind = ? ORDER BY image_id",
                                   (kind,)).fetchall()
        else:
            wanted, rows = sorted(set(int(i) for i in ids)), []
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                rows += self.db.execute(f"SELECT image_id, model, data FROM vectors WHERE kind = ? AND image_id IN "
                                        f"({','.join('?' * len(chunk))}) ORDER BY image_id", [kind, *chunk]).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32), None
        ids_ = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        mat = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return ids_, mat, rows[0][1]

    def vector_of(self, image_id: int, kind: str) -> np.ndarray | None:
        row = self.db.execute("SELECT data FROM vectors WHERE image_id = ? AND kind = ?", (image_id, kind)).fetchone()
        return None if row is None else np.frombuffer(row[0], dtype=np.float32)

    def iter_paths(self) -> Iterator[str]:
        for (p,) in self.db.execute("SELECT path FROM images ORDER BY path"):
            yield p


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error: a batch lands whole or not at all."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
        return False


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


class BruteForce:
    """Exact cosine search over vectors held in memory (numpy), with the VectorIndex API of
    ``index/vectors.py``. Used when that module is not available; it keeps no file, so it is
    rebuilt from SQLite each time it is opened."""

    kind = "brute"

    def __init__(self, path: str | os.PathLike, dim: int):
        self.path, self.dim = Path(path), dim
        self.ids = np.zeros(0, np.int64)
        self.mat = np.zeros((0, dim), np.float32)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        keep = ~np.isin(self.ids, ids)
        self.ids = np.concatenate([self.ids[keep], np.asarray(ids, np.int64)])
        self.mat = np.concatenate([self.mat[keep], np.asarray(vectors, np.float32).reshape(-1, self.dim)])

    def remove(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self.ids, ids)
        self.ids, self.mat = self.ids[keep], self.mat[keep]

    def rebuild(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.ids = np.asarray(ids, np.int64).copy()
        self.mat = np.asarray(vectors, np.float32).reshape(-1, self.dim).copy()

    def save(self) -> None:
        pass

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        ids, mat = self.ids, self.mat
        if allowed is not None:
            mask = np.isin(ids, allowed)
            ids, mat = ids[mask], mat[mask]
        if len(ids) == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        sims = mat @ np.asarray(query, np.float32).reshape(self.dim)
        k = min(k, len(ids))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return ids[top], sims[top]
