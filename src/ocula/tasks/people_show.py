"""people-show: one person's photos, the faces a person placed first (`ocula people show PERSON`)."""

from __future__ import annotations

import os
from typing import Any

from ..config import Settings
from ..results import PersonDetail, PersonPhoto
from ._people import find_person, open_index, summary


def people_show(person: Any, *, db: str | os.PathLike | None = None, settings: Settings | None = None
                ) -> PersonDetail:
    """A person (an id, a name or an alias) and every photo of them: photos where their face was
    found, then photos whose metadata names them without a box."""
    with open_index(db, settings) as store:
        row = find_person(store, person)
        photos, seen = [], set()
        for f in store.person_faces(row.id):
            photos.append(PersonPhoto(image_id=f.image_id, path=f.path, face=f.id, box=f.box,
                                      distance=None if f.locked or f.distance is None else round(f.distance, 3),
                                      locked=f.locked))
            seen.add(f.image_id)
        photos += [PersonPhoto(image_id=i, path=p) for i, p in store.person_images(row.id) if i not in seen]
        return PersonDetail(db=store.location, person=summary(row), photos=photos)
