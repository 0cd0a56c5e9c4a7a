"""people-name: say who someone is (`ocula people name IMAGE NAME`, `ocula people name PERSON_ID NAME`).

Naming a face (an indexed image with one face, or the face under ``box`` when it has several)
places that face in the person of that name for good: a new person when nobody has the name
yet, or the face's own group when nobody named that group before, so the name reaches every
photo of it at once. Naming a person (its id) names or renames it; ``alias`` adds another name.
Unknown faces that now clearly match (the people threshold) join the named person.

Refused with one line: an image with no face, several faces without ``box`` (the line lists
them), a box that covers no face, a name that belongs to someone else (merge says they are
one), an unknown person id (the nearest ids are listed).
"""

from __future__ import annotations

import os
from typing import Any

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..index import IndexStore
from ..people.names import clean_name, name_key
from ..regions import iou
from ..results import NameResult
from ._people import (MODEL, FaceWork, _is_id, attach_unknowns, check_embedding_model, describe_box, find_person,
                      image_in_index, open_index, parse_box, summary)


def people_name(target: Any = None, name: str | None = None, *, box: str | None = None, face: int | None = None,
                alias: bool = False, db: str | os.PathLike | None = None,
                settings: Settings | None = None) -> NameResult:
    """Name the face in image ``target`` (its one face, or the one under ``box`` "x,y,w,h"), the
    stored face ``face`` (an id, as the web page sends it) or the person ``target`` (an id)."""
    settings = settings or get_settings()
    clean = clean_name(name)
    key = name_key(clean)
    where = parse_box(box)
    if target is None and face is None:
        raise InvalidArgument("say whom to name: an indexed image (with --box when it has several faces) "
                              "or a person id")
    with open_index(db, settings) as store:
        if face is None and _is_id(target) and not os.path.exists(str(target)):
            return _name_person(store, find_person(store, target), clean, key, alias)
        if alias:
            raise InvalidArgument("--alias adds a name to a person: give the person's id (ocula people lists them)")
        row, image = target_face(store, target, face, where, settings)
        return _name_face(store, row, image, clean, key)


def target_face(store: IndexStore, image: Any, face: int | None, box: tuple[int, int, int, int] | None,
                settings: Settings, of_person: int | None = None):
    """(the face, its image's path): the stored face ``face``, else the face of indexed ``image``."""
    if face is not None:
        row = store.face(int(face))
        if row is None:
            raise InvalidArgument(f"no stored face with id {face}")
        return row, row.path
    image_id, path = image_in_index(store, image)
    return _pick_face(store, image_id, path, box, settings, of_person), path


def _pick_face(store: IndexStore, image_id: int, image: str, box: tuple[int, int, int, int] | None,
               settings: Settings, of_person: int | None = None):
    """The face to name: the image's only face, or the one under ``box``. ``of_person``: among
    several faces, the one that person holds needs no box."""
    if image_id in dict(store.unscanned_faces(MODEL)):  # indexed with people off, or changed since
        check_embedding_model(settings)
        work = FaceWork(store, settings)
        work.catch_up({image})
    faces = store.faces_of([image_id]).get(image_id, [])
    name = os.path.basename(image)
    if not faces:
        raise InvalidArgument(f"no face was found in {name}, so there is nothing to name")
    listed = "; ".join(f"{describe_box(f.box)}" + (f" ({_where(f, faces)})" if len(faces) > 1 else "")
                       for f in faces)
    if box is None and of_person is not None:
        theirs = [f for f in faces if f.person_id == of_person]
        if len(theirs) == 1:
            return theirs[0]
    if box is None:
        if len(faces) > 1:
            raise InvalidArgument(f"{len(faces)} faces were found in {name}; pick one with --box x,y,w,h: {listed}")
        return faces[0]
    scores = [iou(box, f.box) for f in faces]
    best = max(range(len(faces)), key=lambda i: scores[i])
    if scores[best] < 0.3:
        raise InvalidArgument(f"no face of {name} is under the box {describe_box(box)}; its faces: {listed}")
    return faces[best]


def _where(face, faces) -> str:
    order = sorted(faces, key=lambda f: f.box[0])
    i = order.index(face)
    return "left" if i == 0 else "right" if i == len(order) - 1 else f"{i + 1} from the left"


def _taken_by_other(store: IndexStore, key: str, person: int | None) -> int | None:
    owners = [p for p in store.people_by_key(key) if p != person]
    return owners[0] if owners else None


def _name_person(store: IndexStore, row, clean: str, key: str, alias: bool) -> NameResult:
    other = _taken_by_other(store, key, row.id)
    if other is not None:
        owner = store.people_rows([other])[0]
        said = owner.name if owner.name is not None and name_key(owner.name) == key else clean
        raise InvalidArgument(f"{said!r} is the name of person {other} already; if they are one person: "
                              f"ocula people merge {other} {row.id}")
    previous = row.name if row.name is not None and name_key(row.name) != key and not alias else None
    with store.transaction():
        if alias:
            if row.name is None:
                raise InvalidArgument(f"person {row.id} has no name yet: name it first (without --alias)")
            if name_key(row.name) != key:
                store.add_alias(row.id, clean, key)
        else:
            store.set_person_name(row.id, clean, key)
            if previous is not None:
                store.add_alias(row.id, previous, name_key(previous))  # the old name still finds them
        joined = attach_unknowns(store, row.id)
        store.delete_empty_people()
    person = summary(store.people_rows([row.id])[0])
    if alias:
        msg = f"{clean} is now another name of {person.label} (person {person.id})"
    elif previous:
        msg = f"person {person.id} renamed from {previous} to {clean} ({previous} kept as an alias)"
    else:
        msg = f"person {person.id} is {clean} ({person.faces} face(s) in {person.photos} photo(s))"
    return NameResult(db=store.location, person=person, previous=previous, alias=alias, joined=joined,
                      message=msg + (f"; {joined} more face(s) joined" if joined else ""))


def _name_face(store: IndexStore, face, image: str, clean: str, key: str) -> NameResult:
    owners = store.people_by_key(key)
    with store.transaction():
        if owners:
            pid = owners[0]
        elif face.person_id is not None and store.people_rows([face.person_id])[0].name is None:
            pid = face.person_id  # the face's own group had no name: the name reaches all of it
            store.set_person_name(pid, clean, key)
        else:
            pid = store.add_person(clean, key, confirmed=True)
        moved_from = face.person_id if face.person_id not in (None, pid) else None
        store.lock_face(face.id, pid)
        joined = attach_unknowns(store, pid)
        store.delete_empty_people()
    person = summary(store.people_rows([pid])[0])
    msg = f"the face at {describe_box(face.box)} in {os.path.basename(image)} is {clean} (person {pid}, " \
          f"{person.faces} face(s) in {person.photos} photo(s))"
    if moved_from is not None:
        rest = store.people_rows([moved_from])
        msg += f"; it was in person {moved_from} before"
        if rest and rest[0].name is None and rest[0].faces:
            msg += (f", which still holds {rest[0].faces} face(s); if those are {clean} too: "
                    f"ocula people merge {pid} {moved_from}")
    return NameResult(db=store.location, person=person, face=face.id, image=image, moved_from=moved_from,
                      joined=joined, message=msg + (f"; {joined} more face(s) joined" if joined else ""))
