"""People commands: `ocula people` (list), `people show`, `people name`, `people merge`,
`people forget`, `people export`. Each calls one task and prints its result (or --json)."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from .common import JSON_HELP, err, fail, print_result

Json = typer.Option(False, "--json", help=JSON_HELP)
Db = typer.Option(None, "--db", help="Index file (default: OCULA_HOME/index.db).", show_default=False)


def people_list(ctx: typer.Context, db: Optional[str] = Db, json: bool = Json) -> None:
    """The people in the index: id, name, faces, photos and a sample photo.

    People appear as `ocula index` groups faces; name them with `ocula people name`."""
    if ctx.invoked_subcommand is not None:
        return
    from ..tasks.people import people

    print_result(people(db=db), json)


def show(person: str = typer.Argument(..., help="A person's id, name or alias.", show_default=False),
         db: Optional[str] = Db, json: bool = Json) -> None:
    """One person's photos (by id, name or alias)."""
    from ..tasks.people_show import people_show

    print_result(people_show(person, db=db), json)


def name(target: str = typer.Argument(..., help="An indexed image, or a person's id.", show_default=False),
         new_name: str = typer.Argument(..., metavar="NAME", help="The name, in any script (Grace Hopper, 张三, José).",
                                        show_default=False),
         box: Optional[str] = typer.Option(None, "--box", help="The face to name as x,y,w,h in pixels, when the "
                                                               "image has several (the error lists them)."),
         alias: bool = typer.Option(False, "--alias", help="Add NAME as another name of the person (an id)."),
         db: Optional[str] = Db, json: bool = Json) -> None:
    """Name a face (an indexed image, --box when it has several) or a person (its id)."""
    from ..tasks.people_name import people_name

    print_result(people_name(target, new_name, box=box, alias=alias, db=db), json)


def split(person: str = typer.Argument(..., help="The person (id, name or alias).", show_default=False),
          image: str = typer.Argument(..., help="An indexed image with a face of that person.", show_default=False),
          box: Optional[str] = typer.Option(None, "--box", help="The face as x,y,w,h, when the person has "
                                                                "several faces in the image."),
          db: Optional[str] = Db, json: bool = Json) -> None:
    """Not this person: the face in IMAGE leaves PERSON for good."""
    from ..tasks.people_split import people_split

    print_result(people_split(person, image, box=box, db=db), json)


def merge(person: str = typer.Argument(..., help="The person to keep (id, name or alias).", show_default=False),
          other: str = typer.Argument(..., help="The person that is the same (its faces move).", show_default=False),
          db: Optional[str] = Db, json: bool = Json) -> None:
    """Two people are one: the second's faces move to the first; its name stays an alias."""
    from ..tasks.people_merge import people_merge

    print_result(people_merge(person, other, db=db), json)


def forget(person: Optional[str] = typer.Argument(None, help="A person (id, name or alias); omit to erase every "
                                                             "face and person.", show_default=False),
           yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask: erase."),
           db: Optional[str] = Db, json: bool = Json) -> None:
    """Erase a person's (or everyone's) faces, embeddings and names from the index.

    Faces are biometric data: the rows go, then the index's journal is emptied and the file
    vacuumed, so no embedding is left on disk. Cannot be undone."""
    from ..tasks.people_forget import people_forget

    what = f"every face, embedding and name of {person!r}" if person else "every face, embedding, person and name"
    if not yes:
        if not sys.stdin.isatty():
            fail(f"forget erases {what} for good; add --yes to confirm", code=2)
        if not typer.confirm(f"Erase {what} from the index?", default=False, err=True):
            err.print("nothing erased", markup=False)
            raise typer.Exit(1)
    print_result(people_forget(person, db=db), json)


def export(person: Optional[str] = typer.Argument(None, help="Only this person's photos (id, name or alias).",
                                                  show_default=False),
           xmp: bool = typer.Option(False, "--xmp", help="Write XMP sidecars beside the photos (photo.jpg.xmp)."),
           embed: bool = typer.Option(False, "--embed", help="Write into the photos (JPEG/PNG/WebP; needs exiftool)."),
           db: Optional[str] = Db, json: bool = Json) -> None:
    """Write named faces into the photos' XMP: MWG face regions and PersonInImage.

    Lightroom, digiKam and exiftool read them; regions a person wrote are never changed."""
    from ..tasks.people_export import people_export

    report = people_export(person, xmp=xmp, embed=embed, db=db)
    print_result(report, json)
    if report.failed:
        raise typer.Exit(1)
