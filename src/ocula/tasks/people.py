"""people: the people an index knows, named or not, with how many faces and photos each has and
a photo that stands for them (`ocula people`).

People appear as `ocula index` groups faces (``tasks/_people.py``); naming, merging and
forgetting are their own tasks (people_name, people_merge, people_forget)."""

from __future__ import annotations

import os

from ..config import Settings
from ..results import PeopleList
from ._people import damaged_note, open_index, summary


def people(*, db: str | os.PathLike | None = None, settings: Settings | None = None) -> PeopleList:
    """Everyone in the index, most faces first."""
    with open_index(db, settings) as store:
        rows = store.people_rows()
        stored = store.stored_faces()
        faces = int(store.stats()["faces"])
        in_people = sum(r.faces for r in rows)
        return PeopleList(db=store.location, people=[summary(r) for r in rows], faces=faces,
                          unknown=max(0, faces - in_people), warnings=damaged_note(stored, store.location))
