"""Product-photo commands: cutout, crop, product (named by their entries in the task table).

Like the enhance commands, each writes new files and never an input: ``-o OUT`` names the
file (a folder when several images are given); without it the file goes next to the input as
NAME.cutout.png / NAME.cropped.EXT, never replacing an existing file unless ``--overwrite``.
``product`` always writes into a folder (``-o``, default ./listing): NAME.jpg, NAME.json and
one listing.csv for the batch. ``--sign`` / ``--watermark`` go to the task, which marks what
it writes. How the results read: cli/render.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, List

import typer

from .common import IMAGES_HELP, JSON_HELP, err, expand, fail, out, run_batch

Images = typer.Argument(..., help=IMAGES_HELP, show_default=False)
Overwrite = typer.Option(False, "--overwrite", help="Replace existing output files (never an input).")
Quality = typer.Option(None, "--quality", "-q", min=1, max=100,
                       help="JPEG/WebP quality of the output (default 95 for JPEG, 90 otherwise).")
Json = typer.Option(False, "--json", help=JSON_HELP)
Sign = typer.Option(False, "--sign", help="Sign the output with C2PA content credentials recording what was done.")
Watermark = typer.Option(None, "--watermark", show_default=False,
                         help="Embed this text as an invisible watermark in the output.")


def _run(images: list[str], output: str | None, tag: str, action: str, *, overwrite: bool, as_json: bool,
         sign: bool, watermark: str | None, work: Callable[[Path, Path], Any], suffix: str | None = None,
         folder: bool = False) -> None:
    """Plan every output first (nothing is overwritten; a bad -o or mark fails at once), then
    run ``work(src, dst)`` on each image."""
    from ..output import plan_outputs

    files, batch = expand(images)
    plan = plan_outputs(files, output, tag, batch=batch or folder, overwrite=overwrite, suffix=suffix)
    if sign or watermark is not None:
        from ..provenance import precheck

        for dst in plan.values():
            precheck(dst, size=None, actions=[action], sign=sign, watermark=watermark)
    run_batch(images, lambda path: work(path, plan[path]), as_json=as_json)


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
    overwrite: bool = Overwrite, quality: int = Quality, json: bool = Json, sign: bool = Sign,
    watermark: str = Watermark,
) -> None:
    """Remove the background (U²-Net-p, offline): the subject on transparency, white, a colour or a blur."""
    from ..tasks._matte import REFINES
    from ..tasks.cutout import ACTION, cutout as run, parse_background

    kind, _ = parse_background(background)  # a bad value fails before any file is planned
    if refine not in REFINES:
        fail(f"unknown --refine {refine!r}; choose one of: {', '.join(REFINES)}")
    keeps_alpha = mask_only or kind == "transparent"
    _run(images, output, "cutout", ACTION, overwrite=overwrite, as_json=json, sign=sign, watermark=watermark,
         suffix=".png" if keeps_alpha else None,
         work=lambda src, dst: run(src, background=background, shadow=shadow, mask_only=mask_only, refine=refine,
                                   output=dst, overwrite=overwrite, quality=quality, sign=sign, watermark=watermark))


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
    overwrite: bool = Overwrite, quality: int = Quality, json: bool = Json, sign: bool = Sign,
    watermark: str = Watermark,
) -> None:
    """Crop to an aspect ratio around the subject (its cut-out and whole heads), with a margin."""
    from ..tasks.crop import check_size, crop as run, parse_aspect, parse_margin

    parse_aspect(aspect)
    parse_margin(margin)
    check_size(size)
    _run(images, output, "cropped", "cropped", overwrite=overwrite, as_json=json, sign=sign, watermark=watermark,
         work=lambda src, dst: run(src, aspect=aspect, margin=margin, size=size, faces=faces, output=dst,
                                   overwrite=overwrite, quality=quality, sign=sign, watermark=watermark))


def product(
    images: List[str] = Images,
    output: str = typer.Option("listing", "--output", "-o",
                               help="Folder for NAME.jpg, NAME.json and listing.csv (created when missing)."),
    size: int = typer.Option(2000, "--size", "-s", min=16, max=20000, help="Side of the square listing photo."),
    margin: str = typer.Option("7%", "--margin", "-m", help="White space on each side (7%: the product fills "
                                                            "86% of the frame)."),
    language: List[str] = typer.Option(["en", "zh"], "--language", "-l",
                                       help="Languages of the copy (repeat, or en,zh)."),
    upscale: bool = typer.Option(True, "--upscale/--no-upscale",
                                 help="Enlarge a small product with Real-ESRGAN (slow on a CPU) rather than Lanczos."),
    upscale_model: str = typer.Option("realesrgan-x4plus", "--upscale-model",
                                      help="realesrgan-x4plus (photos) or realesr-animevideov3 (~30x faster)."),
    writer: str = typer.Option("builtin", "--writer", help="Who writes title and bullets: builtin (offline), "
                                                           "llm, vlm (see `ocula describe`)."),
    overwrite: bool = Overwrite, quality: int = Quality, json: bool = Json, sign: bool = Sign,
    watermark: str = Watermark,
) -> None:
    """A marketplace listing per photo: cut out, square on pure white, title, bullets and keywords (en + zh)."""
    from ..output import default_output
    from ..tasks.crop import check_size, parse_margin
    from ..tasks.product import ACTION, _languages, product as run, write_listing_csv
    from ..tasks.upscale import _check_model

    check_size(size)
    parse_margin(margin)
    _check_model(upscale_model)
    langs = _languages([part.strip() for item in language for part in item.split(",") if part.strip()])
    folder = Path(output).expanduser()
    if folder.exists() and not folder.is_dir():
        fail(f"-o {output}: product writes a folder (NAME.jpg, NAME.json, listing.csv); {output} is a file")
    done: list = []

    def work(src: Path, dst: Path) -> Any:
        result = run(src, size=size, margin=margin, languages=langs, upscale=upscale, upscale_model=upscale_model,
                     writer=writer, output=dst, overwrite=overwrite, quality=quality, sign=sign, watermark=watermark)
        done.append(result)
        return result

    try:
        _run(images, str(folder), "product", ACTION, overwrite=overwrite, as_json=json, sign=sign,
             watermark=watermark, work=work, suffix=".jpg", folder=True)
    finally:
        if done:
            target = folder / "listing.csv"
            if target.exists() and not overwrite:
                target = default_output(target, "", ".csv")
            path = write_listing_csv(done, target, overwrite=overwrite)
            warned = sum(1 for r in done if r.warnings)
            (err if json else out).print(f"{path}: {len(done)} product(s)"
                                         + (f", {warned} with warnings" if warned else ""), markup=False)
