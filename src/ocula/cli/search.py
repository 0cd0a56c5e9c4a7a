"""Search commands: index, search, moments, dupes."""

from __future__ import annotations

from typing import List, Optional

import typer

from .common import JSON_HELP, dump_json, err, fail, out, print_result
from .render import render

Json = typer.Option(False, "--json", help=JSON_HELP)
Db = typer.Option(None, "--db", help="Index file or postgresql:// URL (default: OCULA_DB, else OCULA_HOME/index.db).",
                  show_default=False)


class _Bar:
    """Progress bar with ETA on stderr while images are analysed (nothing on a pipe)."""

    def __init__(self) -> None:
        self.bar = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if not err.is_terminal or total == 0:
            return
        if self.bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                console=err, transient=True)
            self.bar.start()
            self.task = self.bar.add_task("indexing", total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def index(
    folders: List[str] = typer.Argument(..., help="Folders (searched recursively) or image files.",
                                        show_default=False),
    db: Optional[str] = Db,
    exclude: List[str] = typer.Option([], "--exclude", "-x", help="Glob of names or paths to skip (repeatable)."),
    hidden: bool = typer.Option(False, "--hidden", help="Also index hidden files and folders."),
    follow_links: bool = typer.Option(False, "--follow-links", help="Follow symbolic links that lead out of "
                                      "the folders given (by default they are skipped)."),
    jobs: int = typer.Option(None, "--jobs", "-j", min=1, help="Images decoded in parallel (OCULA_JOBS)."),
    steps: Optional[str] = typer.Option(None, "--steps", help="Analyze steps, comma-separated "
                                        "(default: all installed)."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Images per committed batch."),
    labels: Optional[str] = typer.Option(None, "--labels", help="Your own tags, comma-separated: those that apply "
                                         "(zero-shot, CLIP/SigLIP) are stored as searchable tags.",
                                         show_default=False),
    labels_file: Optional[str] = typer.Option(None, "--labels-file", help="A file of your own tags, one per line.",
                                              show_default=False),
    people: bool = typer.Option(True, "--people/--no-people", help="Find faces and group them into people "
                                                                   "(--no-people or OCULA_PEOPLE=0: no face "
                                                                   "embedding is computed)."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Run on a Ray cluster: auto, local or ray://HOST:PORT; "
                                      "SOURCE may then be a .txt list of paths/URLs or an s3:// / gs:// URL.",
                                      show_default=False),
    json: bool = Json,
) -> None:
    """Build or update a search index; only new or changed images are analysed.

    Moved files are matched by content, deleted ones swept. Safe to interrupt and run again.
    With --ray the work runs on a Ray cluster and --db should be a postgresql:// URL they share."""
    from ..tasks.index import index as run

    bar = _Bar()
    try:
        report = run(folders, db=db, exclude=exclude, hidden=hidden, jobs=jobs,
                     steps=steps.split(",") if steps else None, batch_size=batch_size, people=people, ray=ray,
                     progress=bar, follow_links=follow_links, labels=[labels] if labels else None,
                     labels_file=labels_file)
    finally:
        bar.close()
    print_result(report, json)
    if report.failed:
        raise typer.Exit(1)

def search(
    query: Optional[str] = typer.Argument(None, help="Words in any language (omit with --image).",
                                          show_default=False),
    image: Optional[str] = typer.Option(None, "--image", "-i", help="Find images that look like this one."),
    db: Optional[str] = Db,
    top_k: int = typer.Option(10, "--top-k", "-k", min=1, max=1000, help="How many results."),
    has_text: bool = typer.Option(False, "--has-text", help="Only images with text in them."),
    faces: bool = typer.Option(False, "--faces", help="Only images with faces."),
    min_quality: Optional[str] = typer.Option(None, "--min-quality", help="good or acceptable."),
    folder: Optional[str] = typer.Option(None, "--folder", help="Only images under this folder."),
    after: Optional[str] = typer.Option(None, "--after", help="Taken on or after (2024, 2024-05, 2024-05-31)."),
    before: Optional[str] = typer.Option(None, "--before", help="Taken before this date."),
    near: Optional[str] = typer.Option(None, "--near", help="Only photos taken near a town or city "
                                       "('Shanghai', '巴黎') or LAT,LON."),
    within: str = typer.Option("20km", "--within", help="How near, with --near: 20km, 500m, 3mi."),
    moment: Optional[str] = typer.Option(None, "--moment", help="Only the photos of this moment (ocula moments)."),
    person: Optional[str] = typer.Option(None, "--person", help="Only photos of this person (name, alias or id; "
                                                                "matched exactly). Words become optional."),
    with_people: List[str] = typer.Option([], "--with", help="Only photos showing this person too (repeatable)."),
    json: bool = Json,
    paths: bool = typer.Option(False, "--paths", help="One path per line, best first (for pipes)."),
) -> None:
    """Search an index by words (English, Chinese, ...), place names and years ('上海 2024'), by
    person, or by an example image."""
    from ..tasks import search as task

    if query is not None and image is not None:
        fail("give either words to search for or --image FILE (not both)", code=2)
    if query is None and image is None and near is None and moment is None and not person and not with_people:
        fail("give words to search for, --image FILE, --near PLACE, --moment ID or --person NAME", code=2)
    filters = dict(top_k=top_k, db=db, has_text=has_text or None, faces=faces or None,
                   min_quality=min_quality, folder=folder, after=after, before=before, near=near,
                   within_km=task.parse_km(within), moment=moment, person=person, with_people=with_people or None)
    result = task.search_image(image, **filters) if image else task.search(query or "", **filters)
    if json:
        dump_json(result.model_dump(mode="json"))
    elif paths:
        for h in result.hits:
            out.print(h.path, markup=False, highlight=False)
    else:
        for line in render(result):
            out.print(line, markup=False)

def moments(
    folder: Optional[str] = typer.Argument(None, help="Group the photos of this folder (read on the spot) "
                                           "instead of the index's.", show_default=False),
    db: Optional[str] = Db,
    json: bool = Json,
) -> None:
    """Photos grouped into moments (a trip, an afternoon): titles in English and Chinese, photo
    count, cover photo. The index keeps them up to date as it indexes."""
    from ..tasks.moments import moments as run

    result = run(folder, db=db)
    print_result(result, json)
    if result.failed:
        raise typer.Exit(1)


def dupes(
    db: Optional[str] = Db,
    threshold: int = typer.Option(16, "--threshold", "-t", min=0, max=64,
                                  help="Largest perceptual-hash difference (bits of 64) for near duplicates."),
    min_similarity: float = typer.Option(0.85, "--min-similarity", min=-1, max=1,
                                         help="Smallest image-embedding cosine for near duplicates."),
    json: bool = Json,
) -> None:
    """Groups of exact and near-duplicate images (resized, recompressed, lightly cropped)."""
    from ..tasks.dupes import dupes as run

    result = run(db=db, threshold=threshold, min_similarity=min_similarity)
    print_result(result, json)
