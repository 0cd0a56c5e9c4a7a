"""Objects of the Python API that stand above several tasks. ``ocula.Index`` is the Python face
of `ocula index`, `ocula search` and `ocula dupes`:

    >>> import ocula
    >>> ix = ocula.Index("photos.db")
    >>> ix.add(["~/Pictures"])                 # incremental: only new or changed files cost
    >>> [h.path for h in ix.search("猫").hits]
    >>> ix.search("上海 2024").paths                 # a place name and a year (the capture date)
    >>> ix.search("", near="Paris", within_km=5)    # or near=(48.85, 2.35)
    >>> [(m.id, m.title, m.title_zh) for m in ix.moments().moments]
    >>> ix.search_image("example.jpg", top_k=5)
    >>> ix.dupes().groups
    >>> ix.name_face("~/Pictures/grandma.jpg", "Grandma")   # people: name once ...
    >>> ix.search(person="Grandma").paths                   # ... found everywhere
    >>> ix.who("new.jpg").names

The work is done by ``tasks/index.py``, ``tasks/search.py``, ``tasks/moments.py``, ``tasks/dupes.py``
and the people tasks (``tasks/people*.py``, ``tasks/who.py``); storage (SQLite + vector files) lives
in ``index/``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:
    from .config import Settings
    from .results import (DupesResult, ForgetReport, IndexReport, IndexStats, MergeResult, MomentsResult, NameResult,
                          PeopleList, PersonDetail, SearchResult, WhoResult)

__all__ = ["Index"]


class Index:
    """A photo index: one SQLite file, or a PostgreSQL database for a postgresql:// URL (default:
    OCULA_DB, else OCULA_HOME/index.db)."""

    def __init__(self, path: str | os.PathLike | None = None, *, settings: "Settings | None" = None):
        from .config import get_settings
        from .index import location

        self.settings = settings or get_settings()
        self.path = location(path, self.settings)

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r})"

    def add(self, paths: str | os.PathLike | Sequence[str | os.PathLike], *, exclude: Iterable[str] = (),
            hidden: bool = False, jobs: int | None = None, steps: Iterable[str] | None = None,
            **kwargs: Any) -> "IndexReport":
        """Index files and folders (new or changed images only; vanished ones under them are swept)."""
        from .tasks.index import index

        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        return index(list(paths), db=self.path, exclude=exclude, hidden=hidden, jobs=jobs, steps=steps,
                     settings=self.settings, **kwargs)

    def search(self, query: str = "", *, top_k: int = 10, near: Any = None, within_km: float | None = None,
               moment: str | None = None, **filters: Any) -> "SearchResult":
        """Images matching words in any language (place names and years too: "上海 2024").
        ``near``: a town or city, (lat, lon) or "LAT,LON", within ``within_km`` (default 20);
        ``moment``: one moment's photos. Filters: has_text, faces, min_quality, folder, after, before,
        person and with_people (names, aliases or ids: photos showing all of them; then the query
        may be left out)."""
        from .tasks.search import DEFAULT_WITHIN_KM, search

        return search(query, db=self.path, top_k=top_k, near=near, moment=moment,
                      within_km=DEFAULT_WITHIN_KM if within_km is None else within_km, settings=self.settings,
                      **filters)

    def moments(self) -> "MomentsResult":
        """The photos grouped into moments (events), oldest first, with titles in English and Chinese."""
        from .tasks.moments import moments

        return moments(db=self.path, settings=self.settings)

    def search_image(self, image: Any, *, top_k: int = 10, **filters: Any) -> "SearchResult":
        """Images that look like ``image`` (a path, bytes, PIL image or LoadedImage)."""
        from .tasks.search import search_image

        return search_image(image, db=self.path, top_k=top_k, settings=self.settings, **filters)

    def dupes(self, *, threshold: int | None = None, min_similarity: float | None = None) -> "DupesResult":
        """Groups of exact and near-duplicate images."""
        from .tasks.dupes import MIN_SIMILARITY, THRESHOLD, dupes

        return dupes(db=self.path, threshold=THRESHOLD if threshold is None else threshold,
                     min_similarity=MIN_SIMILARITY if min_similarity is None else min_similarity,
                     settings=self.settings)

    def remove(self, paths: str | os.PathLike | Sequence[str | os.PathLike]) -> int:
        """Forget files, or everything under folders (the files themselves are not touched).
        Returns the number of images removed."""
        from .tasks.index import remove

        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        return remove(list(paths), db=self.path, settings=self.settings)

    def stats(self) -> "IndexStats":
        """Counts: images, bad files, vectors per kind and the models that made them."""
        from .tasks.index import stats

        return stats(db=self.path, settings=self.settings)

    # -- people ------------------------------------------------------------------------------
    def people(self) -> "PeopleList":
        """Everyone the index found, named or not, most faces first."""
        from .tasks.people import people

        return people(db=self.path, settings=self.settings)

    def person(self, person: int | str) -> "PersonDetail":
        """One person (id, name or alias) and their photos."""
        from .tasks.people_show import people_show

        return people_show(person, db=self.path, settings=self.settings)

    def name_face(self, image: str | os.PathLike, name: str, *, box: str | None = None) -> "NameResult":
        """Name the face in an indexed image (``box`` "x,y,w,h" when it has several)."""
        from .tasks.people_name import people_name

        return people_name(image, name, box=box, db=self.path, settings=self.settings)

    def name_person(self, person: int, name: str, *, alias: bool = False) -> "NameResult":
        """Name or rename a person (``alias``: add another name)."""
        from .tasks.people_name import people_name

        return people_name(person, name, alias=alias, db=self.path, settings=self.settings)

    def merge(self, person: int | str, other: int | str) -> "MergeResult":
        """``other`` is the same person as ``person``."""
        from .tasks.people_merge import people_merge

        return people_merge(person, other, db=self.path, settings=self.settings)

    def forget(self, person: int | str | None = None) -> "ForgetReport":
        """Erase one person's (None: everyone's) faces, embeddings and names."""
        from .tasks.people_forget import people_forget

        return people_forget(person, db=self.path, settings=self.settings)

    def who(self, image: Any) -> "WhoResult":
        """Who is in ``image`` (it need not be indexed)."""
        from .tasks.who import who

        return who(image, db=self.path, settings=self.settings)
