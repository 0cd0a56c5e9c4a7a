"""who: who is in a photo (`ocula who IMAGE...`): each face with the person of the index it
belongs to and the distance, or "unknown" with the nearest person and why (too far, doubtful
between two people, a face too small or blurred to tell). Nothing is stored; the photos need
not be indexed."""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator

from ..config import Settings, get_settings
from ..image import ImageInput
from ..results import Failure, WhoResult
from ._people import Recogniser, check_embedding_model, open_index


def who_many(images: Iterable[ImageInput], *, db: str | os.PathLike | None = None,
             settings: Settings | None = None) -> Iterator[tuple[Any, WhoResult | Failure]]:
    """(input, result or Failure) for many images, in input order; the stored people are read once."""
    from .face_embeddings import face_embeddings_many

    settings = settings or get_settings()
    check_embedding_model(settings)
    with open_index(db, settings) as store:
        rec = Recogniser(store)
        location = store.location
    for src, res in face_embeddings_many(images, settings=settings):
        if isinstance(res, Failure):
            yield src, res
        else:
            yield src, WhoResult(image=res.image, db=location, faces=rec.faces(res), warnings=rec.warnings)


def who(image: ImageInput, *, db: str | os.PathLike | None = None, settings: Settings | None = None) -> WhoResult:
    """Each face in ``image`` with its person's name and distance, or unknown (and why)."""
    from .face_embeddings import face_embeddings

    settings = settings or get_settings()
    check_embedding_model(settings)
    with open_index(db, settings) as store:
        rec = Recogniser(store)
        location = store.location
    res = face_embeddings(image, settings=settings)
    return WhoResult(image=res.image, db=location, faces=rec.faces(res), warnings=rec.warnings)
