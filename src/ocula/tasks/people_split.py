"""people-split: "not this person" (`ocula people split PERSON IMAGE [--box]`). The face leaves
the person for good: no later index run or naming puts it back (a rejection is stored with the
face, and carried to the re-detected face when the photo changes). Naming the face afterwards
gives it its right person."""

from __future__ import annotations

import os
from typing import Any

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..results import NameResult
from ._people import describe_box, find_person, open_index, parse_box, summary
from .people_name import target_face


def people_split(person: Any, image: Any = None, *, box: str | None = None, face: int | None = None,
                 db: str | os.PathLike | None = None, settings: Settings | None = None) -> NameResult:
    """The face in ``image`` (under ``box`` when it has several; or the stored face ``face``)
    is not ``person`` (an id, name or alias)."""
    settings = settings or get_settings()
    where = parse_box(box)
    if image is None and face is None:
        raise InvalidArgument("say which face is not this person: an indexed image (with --box when it has "
                              "several faces)")
    with open_index(db, settings) as store:
        row = find_person(store, person)
        f, path = target_face(store, image, face, where, settings, of_person=row.id)
        if f.person_id != row.id:
            raise InvalidArgument(f"the face at {describe_box(f.box)} in {os.path.basename(path)} is not in "
                                  f"{summary(row).label} (person {row.id}) now")
        with store.transaction():
            store.reject_face(f.id, row.id)
            store.delete_empty_people()
        rest = store.people_rows([row.id])
        person_now = summary(rest[0]) if rest else summary(row)
        return NameResult(db=store.location, person=person_now, face=f.id, image=path, moved_from=row.id,
                          message=f"the face at {describe_box(f.box)} in {os.path.basename(path)} is not "
                                  f"{person_now.label}: it left person {row.id} for good")
