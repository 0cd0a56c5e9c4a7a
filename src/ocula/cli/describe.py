"""`ocula describe`: alt text, captions, product copy, social posts, news captions and keywords,
in English or Chinese; optionally written into XMP sidecars or the images themselves."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, List

import typer

from ..vocabulary import PURPOSES_HELP
from .common import IMAGES_HELP, JSON_HELP, _progress, dump_json, err, expand, fail, out
from .render import render

_CONTEXT_HELP = ("What the photo cannot show: names, place, date, product details. "
                 "'who: Jane Doe; where: Lisbon; when: 3 May 2024' fills a news caption's placeholders "
                 "(and wins over the place and date read from the photo).")


def describe(
    images: List[str] = typer.Argument(..., help=IMAGES_HELP, show_default=False),
    purpose: str = typer.Option("alt", "--purpose", "-p", help=PURPOSES_HELP),
    language: str = typer.Option("en", "--language", "-l", help="en or zh."),
    length: str = typer.Option("medium", "--length", help="short, medium or long."),
    tone: str = typer.Option("neutral", "--tone", help="neutral, friendly, formal or playful."),
    context: str = typer.Option(None, "--context", "-c", help=_CONTEXT_HELP),
    writer: str = typer.Option("builtin", "--writer", "-w",
                               help="builtin (offline), llm, vlm (OpenAI-compatible server) or captioner."),
    llm_url: str = typer.Option(None, "--llm-url", help="OpenAI-compatible endpoint (OCULA_LLM_URL; "
                                                        "default Ollama at http://127.0.0.1:11434/v1)."),
    llm_model: str = typer.Option(None, "--llm-model", help="Model name on that server (OCULA_LLM_MODEL)."),
    write_xmp: bool = typer.Option(False, "--write-xmp", help="Write photo.jpg.xmp sidecars (description, "
                                                              "alt text, keywords; --purpose tags: keywords "
                                                              "only) for Lightroom/digiKam/darktable."),
    embed: bool = typer.Option(False, "--embed", help="Write into the JPEG/PNG/WebP itself (needs exiftool; "
                                                      "pixels untouched)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace descriptions a person wrote."),
    report: Path = typer.Option(None, "--report", help="Also write a report: out.csv or out.jsonl."),
    steps: str = typer.Option(None, "--steps", help="Facts to gather, comma-separated: classify,ocr,faces,colors,"
                                                    "quality,metadata,moderate (default: all installed)."),
    jobs: int = typer.Option(None, "--jobs", "-j", min=1, help="Images decoded (and LLM requests) in parallel."),
    place: bool = typer.Option(True, "--place/--no-place", help="Name where the photo was taken from its GPS "
                               "(offline; no coordinates); --no-place keeps the [WHERE] placeholder."),
    people: bool = typer.Option(True, "--people/--no-people", help="Name the people you named in the index when "
                                                                   "their faces are recognised (OCULA_PEOPLE=0: off)."),
    db: str = typer.Option(None, "--db", help="The index whose named people are recognised (default: "
                                              "OCULA_HOME/index.db).", show_default=False),
    json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Write text from images: alt text, captions, product copy, social posts, news captions, travel posts,
    keywords. Where and when come from the photo's GPS and EXIF time (--no-place: no place)."""
    from ..tasks.describe import make_request, _writer_name

    request = make_request(purpose, language, length, tone, context)  # bad values: one line, exit 1
    writer_name = _writer_name(writer)
    if report is not None and report.suffix.lower() not in (".csv", ".jsonl"):
        fail(f"--report must end in .csv or .jsonl, not {report.name!r}")
    if embed:
        from ..sidecar import exiftool_path

        exiftool_path()
    files, batch = expand(images)
    step_list = None
    if steps:
        from ..tasks.analyze import check_steps

        step_list = list(check_steps(steps.split(",")))  # unknown names: one line naming the valid ones
    run = _Run(request, writer_name, llm_url, llm_model, write_xmp, embed, overwrite, json, batch, step_list, place,
               people, db)
    try:
        if batch:
            run.batch(files, jobs)
        else:
            run.single(files[0])
    finally:
        if report is not None:
            run.write_report(report)
    if run.failures:
        raise typer.Exit(1)


class _Run:
    def __init__(self, request, writer: str, llm_url, llm_model, write_xmp: bool, embed: bool, overwrite: bool,
                 as_json: bool, batch: bool, steps: list[str] | None = None, place: bool = True,
                 people: bool = True, db: str | None = None):
        self.request = request
        self.place = place
        self.people = people
        self.db = db
        self.steps = steps
        self.writer = writer
        self.llm_url = llm_url
        self.llm_model = llm_model
        self.write_xmp = write_xmp
        self.embed = embed
        self.overwrite = overwrite
        self.as_json = as_json
        self.rows: list[dict[str, Any]] = []
        self.target = None
        if write_xmp or embed:
            from ..tasks.describe import resumable

            self.target = resumable(request, writer, llm_model=llm_model, steps=steps, xmp=write_xmp, embed=embed,
                                    overwrite=overwrite, place=place, people=people, db=db)
        self.results: list[dict] = []
        self.skipped: list[str] = []
        self.failures: list[Any] = []
        self.notes: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    # --- metadata writing ---------------------------------------------------------------

    @property
    def writes(self) -> bool:
        return self.write_xmp or self.embed

    def _done_before(self, path: Path) -> bool:
        """Already written by ocula for exactly these inputs (resume / re-run)."""
        return self.target is not None and self.target.done_before(path)

    def _write_meta(self, path: Path, desc) -> list[str]:
        """Write sidecar/embedded XMP; returns human-readable status lines."""
        from ..tasks.describe import write_people, xmp_fields

        lines = []
        for o in self.target.write(path, xmp_fields(desc)):
            kept = f" (kept the {', '.join(_field_name(k) for k in o.kept)} a person wrote; --overwrite replaces it)" \
                if o.kept else ""
            lines.append(f"{o.status} {o.path}{kept}")
        for o in write_people(path, desc, xmp=self.write_xmp, embed=self.embed):
            kept = f" (kept {len(o.kept)} face region(s) a person wrote)" if o.kept else ""
            lines.append(f"{o.status} {o.path}: face regions {', '.join(o.written)}{kept}")
        return lines

    # --- one image / many ----------------------------------------------------------------

    def single(self, path: Path) -> None:
        from ..tasks.describe import describe

        desc = describe(path, **self._kwargs())
        status = self._write_meta(path, desc) if self.writes else []
        self._row(path, "described" if not status else status[0].split()[0], desc, status)
        if self.as_json:
            data = desc.model_dump(mode="json")
            if status:
                data["metadata"] = status
            dump_json(data)
        else:
            for line in render(desc):
                out.print(line, markup=False)
        for w in desc.warnings:
            err.print(f"note: {w}", markup=False)
        for s in status:
            err.print(s, markup=False)

    def batch(self, files: list[Path], jobs: int | None) -> None:
        from ..errors import OculaError
        from ..results import Failure
        from ..tasks.describe import describe_many

        with _progress(len(files), enabled=True) as advance:
            todo = []
            for p in files:
                if self._done_before(p):
                    self.skipped.append(str(p))
                    self._row(p, "unchanged", None, [])
                    advance()
                else:
                    todo.append(p)
            for src, item in describe_many(todo, jobs=jobs, **self._kwargs()):
                status: list[str] = []
                if not isinstance(item, Failure) and self.writes:
                    try:
                        status = self._write_meta(Path(src), item)
                    except OculaError as e:
                        item = Failure(source=str(src), error=str(e), kind=type(e).__name__)
                if not isinstance(item, Failure):
                    for w in item.warnings:  # summed up at the end: a dead server is one note, not 10,000
                        key = re.sub(r"\s*\(\d+%\)", "", w)
                        self.notes[key] = self.notes.get(key, 0) + 1
                if isinstance(item, Failure):
                    self.failures.append(item)
                    self._row(src, "failed", None, [], error=item.error)
                else:
                    self._row(src, status[0].split()[0] if status else "described", item, status)
                    if self.as_json:
                        data = item.model_dump(mode="json")
                        if status:
                            data["metadata"] = status
                        self.results.append(data)
                    else:
                        out.print(f"{src}", markup=False, style="bold")
                        for line in render(item):
                            out.print(f"  {line}", markup=False)
                        for s in status:
                            if not s.startswith(("written", "unchanged")):
                                err.print(f"  {s}", markup=False)
                for s in status:
                    word = s.split()[0]
                    self.counts[word] = self.counts.get(word, 0) + 1
                advance()
        if self.as_json:
            dump_json({"results": self.results, "skipped": self.skipped,
                       "failures": [f.model_dump() for f in self.failures]})
        for note, n in self.notes.items():
            err.print(f"note: {note}" + (f" ({n} files)" if n > 1 else ""), markup=False)
        if self.counts:
            what = "sidecars" if self.write_xmp and not self.embed else "files"
            err.print(f"metadata: {self.counts.get('written', 0)} {what} written, "
                      f"{self.counts.get('unchanged', 0)} already up to date, "
                      f"{self.counts.get('kept', 0)} kept as a person wrote them", markup=False)
        if self.skipped and not self.as_json:
            err.print(f"{len(self.skipped)} file(s) already described with these settings; skipped "
                      "(--overwrite redoes them)", markup=False)
        if self.failures:
            err.print(f"{len(self.failures)} of {len(files)} file(s) could not be described:", markup=False)
            for f in self.failures:
                err.print(f"  {f.source}: {f.error}", markup=False)

    def _kwargs(self) -> dict[str, Any]:
        r = self.request
        return dict(purpose=r.purpose, language=r.language, length=r.length, tone=r.tone, context=r.context,
                    writer=self.writer, llm_url=self.llm_url, llm_model=self.llm_model, steps=self.steps,
                    place=self.place, people=self.people, db=self.db)

    # --- report --------------------------------------------------------------------------

    def _row(self, src, status: str, desc, meta: list[str], error: str = "") -> None:
        self.rows.append({
            "source": str(src), "status": status,
            "writer": desc.writer if desc else "", "purpose": self.request.purpose,
            "language": self.request.language, "confidence": round(desc.confidence, 3) if desc else "",
            "text": desc.text if desc else "", "tags": "; ".join(desc.tags) if desc else "",
            "warnings": " | ".join(desc.warnings) if desc else "", "metadata": " | ".join(meta), "error": error,
        })

    def write_report(self, path: Path) -> None:
        import csv
        import io
        import json

        from ..output import replace_file

        buf = io.StringIO()
        if path.suffix.lower() == ".csv":
            w = csv.DictWriter(buf, fieldnames=list(self.rows[0]) if self.rows else ["source"])
            w.writeheader()
            w.writerows(self.rows)
        else:
            for row in self.rows:
                buf.write(json.dumps(row, ensure_ascii=False) + "\n")
        path = replace_file(path.expanduser(), buf.getvalue())
        err.print(f"report: {path} ({len(self.rows)} rows)", markup=False)


def _field_name(tag: str) -> str:
    return {"dc:description": "description", "Iptc4xmpCore:AltTextAccessibility": "alt text",
            "location": "location", "photoshop:DateCreated": "date"}.get(tag, tag)
