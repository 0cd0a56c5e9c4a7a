"""people-export: write the names of faces into the photos' metadata (`ocula people export --xmp`),
as Metadata Working Group face regions with ``Iptc4xmpExt:PersonInImage``, which Lightroom,
digiKam and exiftool read. Into sidecars (``xmp``) or the images themselves (``embed``, with
exiftool); regions and names a person wrote are never changed (``regions.write_regions``).
The faces of a video's keyframes are left out: face regions describe a still photo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import InvalidArgument, OculaError
from ..results import ExportReport, Failure, RegionsWritten
from ._people import find_person, open_index


def people_export(person: Any = None, *, xmp: bool = False, embed: bool = False,
                  db: str | os.PathLike | None = None, settings: Settings | None = None) -> ExportReport:
    """Write every named face of the photos of ``person`` (None: of every named person) into
    XMP. Each photo gets all its named faces, so exporting one person keeps the others."""
    from ..media import frame_of
    from ..regions import NamedFace, write_regions

    if not xmp and not embed:
        raise InvalidArgument("say where to write: --xmp (sidecars beside the photos) or --embed (into the "
                              "photos, with exiftool)")
    if embed:
        from ..sidecar import exiftool_path

        exiftool_path()
    with open_index(db, settings) as store:
        if person is not None:
            row = find_person(store, person)
            if row.name is None:
                raise InvalidArgument(f"person {row.id} has no name to write; name it first: "
                                      f"ocula people name {row.id} NAME")
            people = [row]
        else:
            people = [r for r in store.people_rows() if r.name is not None]
        image_ids = sorted({i for r in people for i, _ in store.person_images(r.id)})
        names = {r.id: r.name for r in store.people_rows() if r.name is not None}
        faces = store.faces_of(image_ids)
        paths = {i: store.path_of(i) for i in image_ids}
    paths = {i: p for i, p in paths.items() if p is not None and frame_of(p) is None}
    report = ExportReport(db=str(store.location))
    for image_id in image_ids:
        named = [NamedFace(names[f.person_id], f.box) for f in faces.get(image_id, []) if f.person_id in names]
        path = paths.get(image_id)
        if not named or path is None:
            continue
        report.images += 1
        for target, on in (("xmp", xmp), ("embed", embed)):
            if not on:
                continue
            try:
                o = write_regions(Path(path), named, embed=target == "embed")
            except OculaError as e:
                report.failed.append(Failure(source=path, error=str(e), kind=type(e).__name__))
                continue
            report.files.append(RegionsWritten(path=str(o.path), status=o.status, names=o.written, kept=o.kept))
            report.written += o.status == "written"
            report.unchanged += o.status == "unchanged"
    return report
