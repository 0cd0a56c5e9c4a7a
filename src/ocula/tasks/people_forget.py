"""people-forget: erase face data (`ocula people forget [PERSON]`). Faces and names are biometric
personal data: forgetting removes the face rows with their embeddings, the people, their aliases,
"not this person" records and names read from photos' metadata, then empties the index's
write-ahead log and vacuums it, so no embedding is left in the database file, its WAL or its
free pages (embeddings never go to the vector files). Says what it erased."""

from __future__ import annotations

import os
from typing import Any

from ..config import Settings
from ..results import ForgetReport
from ._people import find_person, open_index


def people_forget(person: Any = None, *, db: str | os.PathLike | None = None,
                  settings: Settings | None = None) -> ForgetReport:
    """Forget one person (an id, a name or an alias), or, without ``person``, every face and person."""
    with open_index(db, settings) as store:
        row = find_person(store, person) if person is not None else None
        counts = store.forget_people(None if row is None else [row.id])
        notes = []
        if row is None:
            notes.append("the next `ocula index` finds and embeds faces again unless face recognition is off "
                         "(OCULA_PEOPLE=0 or ocula index --no-people)")
        else:
            notes.append("faces of this person in photos that change later are found again, as an unnamed person")
        if counts.get("shared_server"):
            notes.append("the rows and the tables' files are erased; the PostgreSQL server's write-ahead log, "
                         "archives and replicas drop their copies as the server recycles them (its "
                         "administrator's settings)")
        elif not counts.get("wal_emptied", 1):
            notes.append("another program has the index open, so its write-ahead log could not be emptied; "
                         "close it and run forget again")
        return ForgetReport(db=store.location, person=None if row is None else row.id,
                            name=None if row is None else row.name, faces=counts.get("faces", 0),
                            people=counts.get("people", 0), aliases=counts.get("aliases", 0),
                            names=counts.get("names", 0), rejections=counts.get("rejections", 0),
                            wal_emptied=bool(counts.get("wal_emptied", 1)), notes=notes)
