"""people-merge: two people are one (`ocula people merge A B`). Every face of the second moves to
the first for good; a name the second had stays an alias, so nothing that found them is lost.
When only the second is named, the merged person keeps that name."""

from __future__ import annotations

import os
from typing import Any

from ..config import Settings
from ..errors import InvalidArgument
from ..people.names import name_key
from ..results import MergeResult
from ._people import attach_unknowns, find_person, open_index, summary


def people_merge(person: Any, other: Any, *, db: str | os.PathLike | None = None,
                 settings: Settings | None = None) -> MergeResult:
    """Merge ``other`` into ``person`` (ids, names or aliases)."""
    with open_index(db, settings) as store:
        a, b = find_person(store, person), find_person(store, other)
        if a.id == b.id:
            raise InvalidArgument(f"{person!r} and {other!r} are the same person already (id {a.id})")
        keep, gone = (b, a) if a.name is None and b.name is not None else (a, b)
        aliases = []
        with store.transaction():
            moved = store.merge_people(keep.id, gone.id)
            if gone.name is not None:
                if keep.name is None:
                    store.set_person_name(keep.id, gone.name, name_key(gone.name))
                else:
                    store.add_alias(keep.id, gone.name, name_key(gone.name))
                    aliases.append(gone.name)
            attach_unknowns(store, keep.id)
        return MergeResult(db=store.location, person=summary(store.people_rows([keep.id])[0]), removed=gone.id,
                           moved=moved, aliases=aliases + list(gone.aliases))
