"""Product-photo commands: cutout, crop, product.

Like the enhance commands, each writes new files and never an input: ``-o OUT`` names the
file (a folder when several images are given); without it the file goes next to the input as
NAME.cutout.png / NAME.cropped.EXT, never replacing an existing file unless ``--overwrite``.
``product`` always writes into a folder (``-o``, default ./listing): NAME.jpg, NAME.json and
one listing.csv for the batch. The human-readable lines for these results are made here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, List

import typer

from .common import IMAGES_HELP, JSON_HELP, err, expand, fail, out, run_batch

Images = typer.Argument(..., help=IMAGES_HELP, show_default=False)


class _Shown:
    """A result with the lines this module renders for it (run_batch prints ``render()``)."""

    def __init__(self, result: Any, lines: list[str]):
        self.result = result
        self.lines = lines

    def render(self) -> list[str]:
        return self.lines

    def model_dump(self, **kw: Any) -> dict:
        return self.result.model_dump(**kw)


def _head(r: Any, what: str) -> list[str]:
    lines = [f"{r.image.source} -> {r.output or '(not written)'}  {what}"]
    lines += [f"  warning: {w}" for w in getattr(r, "warnings", [])]
    lines += [f"  note: {n}" for n in r.notes]
    return lines


def cutout_lines(r: Any) -> list[str]:
    if r.background == "mask":
        what = "matte"
    elif not r.clear_subject:
        what = "original kept"
    else:
        what = f"cut out on {r.background}" + (" with a shadow" if r.shadow else "")
    edges = "" if r.model == "input alpha" else f", edges {r.refine}"
    return _head(r, f"{what} ({r.model}{edges}; subject {r.subject_share:.0%} of the frame, edge uncertainty "
                    f"{r.edge_uncertainty:.2f}; {r.seconds:.1f} s)")


def crop_lines(r: Any) -> list[str]:
    x, y, w, h = r.box
    faces = f", {r.faces} face(s) kept whole" if r.faces else ""
    return _head(r, f"{r.aspect} crop {w}x{h} at x={x} y={y} -> {r.width}x{r.height} (by {r.guide}{faces}; "
                    f"{r.seconds:.1f} s)")


def product_lines(r: Any) -> list[str]:
    up = f", upscaled with {r.upscaled}" if r.upscaled else ""
    json_note = f" + {Path(r.json_output).name}" if r.json_output else ""
    lines = _head(r, f"{r.size}x{r.size} on white{up}{json_note} ({r.seconds:.1f} s)")
    for lang, c in r.listing.items():
        lines.append(f"  {lang}: {c.title}")
        lines += [f"      • {b}" for b in c.bullets]
        sep = "、" if lang == "zh" else ", "
        lines.append(f"      {sep.join(c.keywords)}")
    return lines


def _plan(images: list[str], output: str | None, tag: str, overwrite: bool, suffix: str | None = None,
          folder: bool = False) -> dict[Path, Path]:
    from ..output import plan_outputs

    files, batch = expand(images)
    return plan_outputs(files, output, tag, batch=batch or folder, overwrite=overwrite, suffix=suffix)


def _run(images: list[str], plan: dict[Path, Path], as_json: bool, work: Callable[[Path, Path], Any],
         lines: Callable[[Any], list[str]], done: list | None = None) -> None:
    def one(path: Path) -> Any:
        result = work(path, plan[path])
        if done is not None:
            done.append(result)
        return _Shown(result, lines(result))

    run_batch(images, one, as_json=as_json)


def _options():
    return {
        "overwrite": typer.Option(False, "--overwrite", help="Replace existing output files (never an input)."),
        "quality": typer.Option(None, "--quality", "-q", min=1, max=100,
                                help="JPEG/WebP quality of the output (default 95 for JPEG, 90 otherwise)."),
        "json": typer.Option(False, "--json", help=JSON_HELP),
    }


def register(app: typer.Typer) -> None:
    o = _options()

    @app.command()
    def cutout(
        images: List[str] = Images,
        output: str = typer.Option(None, "--output", "-o", show_default=False,
                                   help="Output file (.png/.webp keep transparency); a folder for several images. "
                                        "Default: next to each input as NAME.cutout.png."),
        background: str = typer.Option("transparent", "--background", "-b",
                                       help="transparent, white, #RRGGBB (or a colour name), blur, or an image file."),
        shadow: bool = typer.Option(False, "--shadow", help="Add a soft contact shadow under the subject."),
        mask_only: bool = typer.Option(False, "--mask-only", help="Write the matte itself (white = subject)."),
        refine: str = typer.Option("guided", "--refine", help="Edge refinement: guided (soft edges at full "
                                                              "resolution) or none (the network's mask)."),
        overwrite: bool = o["overwrite"], quality: int = o["quality"], json: bool = o["json"],
    ) -> None:
        """Remove the background (U²-Net-p, offline): the subject on transparency, white, a colour or a blur."""
        from ..tasks._matte import REFINES
        from ..tasks.cutout import cutout as run, parse_background

        parse_background(background)  # a bad value fails before any file is planned
        if refine not in REFINES:
            fail(f"unknown --refine {refine!r}; choose one of: {', '.join(REFINES)}")
        keeps_alpha = mask_only or parse_background(background)[0] == "transparent"
        plan = _plan(images, output, "cutout", overwrite, ".png" if keeps_alpha else None)
        _run(images, plan, json, lambda src, dst: run(src, background=background, shadow=shadow, mask_only=mask_only,
                                                      refine=refine, output=dst, overwrite=overwrite,
                                                      quality=quality), cutout_lines)

    @app.command()
    def crop(
        images: List[str] = Images,
        aspect: str = typer.Option("1:1", "--aspect", "-a", help="Width:height of the crop, e.g. 1:1, 4:5, 16:9."),
        margin: str = typer.Option("8%", "--margin", "-m", help="Space around the subject on each side, as a share "
                                                                "of the crop (0% to 40%)."),
        size: int = typer.Option(None, "--size", "-s", show_default=False,
                                 help="Longer side of the output in pixels (resampled with Lanczos)."),
        faces: bool = typer.Option(True, "--faces/--no-faces", help="Find faces and keep heads whole."),
        output: str = typer.Option(None, "--output", "-o", show_default=False,
                                   help="Output file; a folder for several images. Default: next to each input as "
                                        "NAME.cropped.EXT."),
        overwrite: bool = o["overwrite"], quality: int = o["quality"], json: bool = o["json"],
    ) -> None:
        """Crop to an aspect ratio around the subject (its cut-out and whole heads), with a margin."""
        from ..tasks.crop import check_size, crop as run, parse_aspect, parse_margin

        parse_aspect(aspect)
        parse_margin(margin)
        check_size(size)
        plan = _plan(images, output, "cropped", overwrite)
        _run(images, plan, json, lambda src, dst: run(src, aspect=aspect, margin=margin, size=size, faces=faces,
                                                      output=dst, overwrite=overwrite, quality=quality), crop_lines)

    @app.command()
    def product(
        images: List[str] = Images,
        output: str = typer.Option("listing", "--output", "-o",
                                   help="Folder for NAME.jpg, NAME.json and listing.csv (created when missing)."),
        size: int = typer.Option(2000, "--size", "-s", help="Side of the square listing photo in pixels."),
        margin: str = typer.Option("7%", "--margin", "-m", help="White space on each side (7%: the product fills "
                                                                "86% of the frame)."),
        language: List[str] = typer.Option(["en", "zh"], "--language", "-l",
                                           help="Languages of the copy (repeat, or en,zh)."),
        upscale: bool = typer.Option(True, "--upscale/--no-upscale",
                                     help="Enlarge a small product with Real-ESRGAN (slow on CPU) rather than Lanczos."),
        writer: str = typer.Option("builtin", "--writer", help="Who writes title and bullets: builtin (offline), "
                                                               "llm, vlm (see `ocula describe`)."),
        overwrite: bool = o["overwrite"], quality: int = o["quality"], json: bool = o["json"],
    ) -> None:
        """A marketplace listing per photo: cut out, square on pure white, title, bullets and keywords (en + zh)."""
        from ..output import default_output
        from ..tasks.crop import check_size, parse_margin
        from ..tasks.product import _languages, product as run, write_listing_csv

        check_size(size)
        parse_margin(margin)
        langs = _languages(part.strip() for item in language for part in item.split(",") if part.strip())
        folder = Path(output).expanduser()
        if folder.exists() and not folder.is_dir():
            fail(f"-o {output}: product writes a folder (NAME.jpg, NAME.json, listing.csv); {output} is a file")
        plan = _plan(images, str(folder), "product", overwrite, ".jpg", folder=True)
        done: list = []
        try:
            _run(images, plan, json, lambda src, dst: run(src, size=size, margin=margin, languages=langs,
                                                          upscale=upscale, writer=writer, output=dst,
                                                          overwrite=overwrite, quality=quality), product_lines, done)
        finally:
            if done:
                target = folder / "listing.csv"
                if target.exists() and not overwrite:
                    target = default_output(target, "", ".csv")
                path = write_listing_csv(done, target, overwrite=overwrite)
                warned = sum(1 for r in done if r.warnings)
                (err if json else out).print(f"{path}: {len(done)} product(s)"
                                             + (f", {warned} with warnings" if warned else ""), markup=False)
