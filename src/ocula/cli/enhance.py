"""Enhancement and privacy commands: upscale, denoise, inpaint, restore, blur-faces, strip.

Each writes a new file and never the input: ``-o OUT`` names it (a folder when several
images are given), else it goes next to the input as photo.<what>.<ext>, never replacing a
file that exists unless ``--overwrite`` is given. ``--watermark TEXT`` and ``--sign`` go to
the task, which marks what it writes (``ocula.provenance.marking``), as the Python API does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, List

import typer

from .common import IMAGES_HELP, JSON_HELP, err, expand, fail, run_batch

Images = typer.Argument(..., help=IMAGES_HELP, show_default=False)
OUTPUT_HELP = ("Output file; a folder when several images are given. Default: next to each input as "
               "NAME.{tag}.EXT (never replacing an existing file).")


def _opts(tag: str):
    return {
        "output": typer.Option(None, "--output", "-o", help=OUTPUT_HELP.format(tag=tag), show_default=False),
        "overwrite": typer.Option(False, "--overwrite", help="Replace an existing output file (never an input)."),
        "quality": typer.Option(None, "--quality", "-q", min=1, max=100,
                                help="JPEG/WebP/AVIF quality of the output (default 95 for JPEG, 90 otherwise)."),
        "json": typer.Option(False, "--json", help=JSON_HELP),
        "sign": typer.Option(False, "--sign", help="Sign the output with C2PA content credentials recording what "
                                                   "was done (see `ocula sign`)."),
        "watermark": typer.Option(None, "--watermark", help="Embed this text as an invisible watermark in the "
                                                            "output (see `ocula watermark embed`).",
                                  show_default=False),
    }


def _precheck(outputs: Any, action: str, sign: bool, watermark: str | None) -> None:
    """Fail on a mark that cannot be made (format, payload) before any file of a batch is worked on."""
    from ..provenance import precheck

    for out in outputs:
        precheck(out, size=None, actions=[action], sign=sign, watermark=watermark)


def _run(images: list[str], output: str | None, tag: str, action: str, *, overwrite: bool, as_json: bool,
         sign: bool, watermark: str | None, work: Callable[[Path, Path], Any], keep_suffix: bool = False) -> None:
    """Plan every output first (nothing is overwritten, a bad -o fails at once), then run ``work(src,
    dst)`` on each image; the task itself watermarks and signs what it writes."""
    from ..output import plan_outputs

    files, batch = expand(images)
    plan = plan_outputs(files, output, tag, batch=batch, overwrite=overwrite, keep_suffix=keep_suffix)
    if sign or watermark is not None:
        _precheck(plan.values(), action, sign, watermark)
    run_batch(images, lambda path: work(path, plan[path]), as_json=as_json)


class _TileBar:
    """A transient per-tile progress bar on stderr (for one image on a terminal)."""

    def __init__(self, enabled: bool, label: str):
        self.enabled = enabled and err.is_terminal
        self.label = label
        self.bar = None
        self.task = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=err, transient=True)
        self.bar.start()

        def update(done: int, total: int) -> None:
            if self.task is None:
                self.task = self.bar.add_task(self.label, total=total)
            self.bar.update(self.task, completed=done, total=total)

        return update

    def __exit__(self, *exc: Any) -> bool:
        if self.bar is not None:
            self.bar.stop()
        return False


o = _opts("upscaled")


def upscale(
    images: List[str] = Images,
    scale: int = typer.Option(4, "--scale", "-s", help="2, 3 or 4."),
    model: str = typer.Option("realesrgan-x4plus", "--model", "-m",
                              help="realesrgan-x4plus (photos), realesr-animevideov3 (drawings; ~30x faster), "
                                   "lanczos (no model) or swin2sr-x4 (hub model)."),
    # defaults: tasks.upscale.DEFAULT_TILE / DEFAULT_TILE_PAD (not imported here: --help stays light)
    tile: int = typer.Option(128, "--tile", min=0, help="Tile side in input pixels (0: whole image at once; "
                                                        "x4plus needs ~0.9 GB at 128, ~4 GB for 384x256 whole)."),
    tile_pad: int = typer.Option(4, "--tile-pad", min=0, help="Context overlap per tile side, blended."),
    output: str = o["output"], overwrite: bool = o["overwrite"], quality: int = o["quality"],
    json: bool = o["json"], sign: bool = o["sign"], watermark: str = o["watermark"],
) -> None:
    """Enlarge images 2-4x with Real-ESRGAN super-resolution (CPU, tiled, alpha kept)."""
    from ..tasks.upscale import _check_model, _check_options, upscale as run

    _check_options(scale, tile, tile_pad)  # a bad option fails before any file is planned
    _check_model(model)
    files, batch = expand(images)

    def work(src: Path, dst: Path):
        with _TileBar(not batch and not json, f"upscaling {src.name}") as progress:
            return run(src, scale=scale, model=model, tile=tile, tile_pad=tile_pad, output=dst,
                       overwrite=overwrite, quality=quality, sign=sign, watermark=watermark, progress=progress)

    _run(images, output, "upscaled", "upscaled", overwrite=overwrite, as_json=json, sign=sign,
         watermark=watermark, work=work)


o = _opts("denoised")


def denoise(
    images: List[str] = Images,
    strength: float = typer.Option(1.0, "--strength", min=0.01, max=5.0,
                                   help="Multiplies the strength estimated from the measured noise."),
    h: float = typer.Option(None, "--h", min=0.01, max=100.0, help="Filter strength set by hand (overrides the "
                                                                  "estimate; 3-5 light, 10 strong)."),
    output: str = o["output"], overwrite: bool = o["overwrite"], quality: int = o["quality"],
    json: bool = o["json"], sign: bool = o["sign"], watermark: str = o["watermark"],
) -> None:
    """Remove noise (non-local means), its strength set from the noise measured in each image."""
    from ..tasks.denoise import denoise as run

    _run(images, output, "denoised", "denoised", overwrite=overwrite, as_json=json, sign=sign,
         watermark=watermark, work=lambda src, dst: run(src, strength=strength, h=h, output=dst,
                                                          overwrite=overwrite, quality=quality, sign=sign,
                                                          watermark=watermark))


o = _opts("inpainted")


def inpaint(
    images: List[str] = Images,
    mask: str = typer.Option(None, "--mask", help="Mask image the size of the picture: white (or opaque) = fill.",
                             show_default=False),
    box: str = typer.Option(None, "--box", help="Region to fill as x,y,w,h in pixels.", show_default=False),
    find: str = typer.Option(None, "--find", help="Fill what these English words describe ('power lines'), "
                             "found by `ocula detect --find`.", show_default=False),
    method: str = typer.Option("telea", "--method", help="telea, ns (OpenCV, offline) or lama (hub model, "
                                                         "for large regions)."),
    radius: int = typer.Option(5, "--radius", min=1, max=50, help="Neighbourhood used by telea/ns, pixels."),
    grow: int = typer.Option(2, "--grow", min=0, max=50, help="Widen the mask by this many pixels."),
    output: str = o["output"], overwrite: bool = o["overwrite"], quality: int = o["quality"],
    json: bool = o["json"], sign: bool = o["sign"], watermark: str = o["watermark"],
) -> None:
    """Fill a region (--mask, --box or --find words) from its surroundings: blemishes, wires, stamps."""
    from ..errors import InvalidArgument
    from ..tasks.detect import parse_find
    from ..tasks.inpaint import METHODS, inpaint as run, parse_box

    if sum(x is not None for x in (mask, box, find)) != 1:
        fail("give exactly one of --mask MASK, --box x,y,w,h or --find WORDS")
    words = None
    if find is not None:
        try:
            words = parse_find(find)
        except InvalidArgument as e:
            fail(str(e))
    if method not in METHODS:
        fail(f"unknown --method {method!r}; choose one of: {', '.join(METHODS)}")
    if box is not None:
        parse_box(box)
    if mask is not None and not Path(mask).expanduser().is_file():
        fail(f"mask {mask}: no such file")
    _run(images, output, "inpainted", "inpainted", overwrite=overwrite, as_json=json, sign=sign,
         watermark=watermark, work=lambda src, dst: run(src, mask=mask, box=box, find=words, method=method, radius=radius,
                                                          grow=grow, output=dst, overwrite=overwrite,
                                                          quality=quality, sign=sign, watermark=watermark))


o = _opts("restored")


def restore(
    images: List[str] = Images,
    fixes: str = typer.Option(None, "--fixes", help="Comma-separated: exposure, white-balance, contrast, clahe, "
                                                    "or all (default: contrast,exposure,clahe)."),
    steps: str = typer.Option(None, "--steps", hidden=True, help="Old name of --fixes."),
    white_balance: str = typer.Option("grey-world", "--white-balance",
                                      help="grey-world or percentile (with the white-balance fix)."),
    force: bool = typer.Option(False, "--force", help="Apply every chosen fix even when the measures say it "
                                                      "is not needed."),
    output: str = o["output"], overwrite: bool = o["overwrite"], quality: int = o["quality"],
    json: bool = o["json"], sign: bool = o["sign"], watermark: str = o["watermark"],
) -> None:
    """Fix exposure, colour balance and contrast automatically; says what it changed."""
    from ..tasks.restore import check_fixes, restore as run

    if steps is not None:
        err.print("note: --steps is deprecated; use --fixes", markup=False)
    chosen = check_fixes(fixes if fixes is not None else steps)
    _run(images, output, "restored", "restored", overwrite=overwrite, as_json=json, sign=sign,
         watermark=watermark, work=lambda src, dst: run(src, fixes=chosen, white_balance=white_balance,
                                                          force=force, output=dst, overwrite=overwrite,
                                                          quality=quality, sign=sign, watermark=watermark))


o = _opts("blurred")


def blur_faces(
    images: List[str] = Images,
    pixelate: bool = typer.Option(False, "--pixelate", help="Pixelate instead of blurring."),
    model: str = typer.Option(None, "--model", "-m", help="Face detector: mtcnn or haar-frontalface."),
    min_score: float = typer.Option(0.9, "--min-score", min=0, max=1,
                                    help="Hide faces detected with at least this score (lower hides more)."),
    output: str = o["output"], overwrite: bool = o["overwrite"], quality: int = o["quality"],
    json: bool = o["json"], sign: bool = o["sign"], watermark: str = o["watermark"],
) -> None:
    """Privacy: blur (or pixelate) every face found; reports the regions hidden."""
    from ..tasks.blur_faces import blur_faces as run

    method = "pixelate" if pixelate else "blur"
    _run(images, output, "blurred", "faces-blurred", overwrite=overwrite, as_json=json, sign=sign,
         watermark=watermark, work=lambda src, dst: run(src, method=method, model=model, min_score=min_score,
                                                          output=dst, overwrite=overwrite, quality=quality,
                                                          sign=sign, watermark=watermark))


o = _opts("stripped")


def strip(
    images: List[str] = Images,
    output: str = o["output"], overwrite: bool = o["overwrite"],
    json: bool = o["json"], sign: bool = o["sign"], watermark: str = o["watermark"],
) -> None:
    """Privacy: remove EXIF (GPS, camera, serials), XMP, IPTC and comments.

    Keeps the colour profile and turns the picture upright. JPEG data is copied, not
    re-encoded, wherever possible."""
    from ..tasks.strip import strip as run

    _run(images, output, "stripped", "metadata-stripped", overwrite=overwrite, as_json=json, sign=sign,
         watermark=watermark, work=lambda src, dst: run(src, output=dst, overwrite=overwrite, sign=sign,
                                                          watermark=watermark), keep_suffix=True)
