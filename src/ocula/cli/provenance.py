"""Provenance commands: sign (C2PA content credentials), watermark embed/detect, verify."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from .common import IMAGES_HELP, JSON_HELP, print_result, run_batch

_ACTION_HELP = ("What was done to the image (repeatable): created, edited, upscaled, resized, cropped, denoised, "
                "filtered, inpainted, restored, faces-blurred, metadata-stripped, watermarked, converted, "
                "generated, or a standard c2pa.* action. Default: what an ocula command recorded in the "
                "file's EXIF Software tag.")


def sign(
    image: Path = typer.Argument(..., help="The image file to sign.", show_default=False),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the signed copy.",
                                show_default=False),
    action: List[str] = typer.Option(None, "--action", "-a", help=_ACTION_HELP),
    parent: Path = typer.Option(None, "--parent", help="The file this image was made from, recorded as its "
                                                       "parent ingredient (default: the image itself)."),
    generated: bool = typer.Option(False, "--generated", help="Declare AI-generated content "
                                                              "(IPTC trainedAlgorithmicMedia)."),
    source_type: str = typer.Option(None, "--source-type", help="Where the pixels came from, for a created "
                                                                "image: digitalCapture, digitalCreation, "
                                                                "trainedAlgorithmicMedia ..."),
    cert: Path = typer.Option(None, "--cert", help="Signing certificate chain, PEM, signing certificate first "
                                                   "(OCULA_C2PA_CERT). Default: ocula's local development "
                                                   "certificate, which nobody else trusts."),
    key: Path = typer.Option(None, "--key", help="Its private key, PEM, unencrypted (OCULA_C2PA_KEY)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists (never the input)."),
    json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Sign a copy of an image with C2PA content credentials: signer, actions, parent."""
    from ..tasks.sign import sign as run

    print_result(run(image, output=output, actions=list(action) if action else None, parent=parent,
               generated=generated, source_type=source_type, cert=cert, key=key, overwrite=overwrite), json)


def embed(
    image: Path = typer.Argument(..., help="The image file to mark.", show_default=False),
    payload: str = typer.Option(..., "--payload", "-p", help="Text to hide: up to 6 bytes are stored as is "
                                                             "(2 with rivaGan), longer texts as a hash.",
                                show_default=False),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the marked copy.",
                                show_default=False),
    method: str = typer.Option("dwtDctSvd", "--method", "-m", help="dwtDctSvd (64 bits, fast) or rivaGan "
                                                                   "(32 bits, neural, ~0.6 s)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists (never the input)."),
    json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Hide a payload in an image's pixels; it survives JPEG re-encoding (quality 75)."""
    from ..tasks.watermark import watermark as run

    print_result(run(image, payload=payload, output=output, method=method, overwrite=overwrite), json)


def detect(
    images: List[str] = typer.Argument(..., help=IMAGES_HELP, show_default=False),
    method: str = typer.Option("dwtDctSvd", "--method", "-m", help="dwtDctSvd, rivaGan or all."),
    payload: str = typer.Option(None, "--payload", "-p", help="A candidate text to compare with (needed to "
                                                              "confirm a payload stored as a hash)."),
    json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Read an ocula watermark; says 'no watermark' when the check fails."""
    from ..tasks.watermark import detect_watermark as run

    run_batch(images, lambda p: run(p, method=method, payload=payload), as_json=json)


def verify(
    images: List[str] = typer.Argument(..., help=IMAGES_HELP, show_default=False),
    trust: List[Path] = typer.Option(None, "--trust", help="PEM file of CA certificates you trust "
                                                           "(repeatable; also $OCULA_HOME/c2pa/trust-anchors.pem)."),
    payload: str = typer.Option(None, "--payload", "-p", help="A candidate watermark text to compare with."),
    watermark_method: str = typer.Option("dwtDctSvd", "--watermark-method", help="dwtDctSvd, rivaGan or all."),
    no_watermark: bool = typer.Option(False, "--no-watermark", help="Skip the watermark check."),
    no_metadata: bool = typer.Option(False, "--no-metadata", help="Skip the camera metadata."),
    json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Check content credentials (C2PA), invisible watermark and camera metadata together.

    Exit code 1 when a manifest is invalid (the file changed after signing)."""
    from ..tasks.verify import verify as run

    seen: list = []

    def one(p: Path):
        r = run(p, trust=trust or None, check_watermark=not no_watermark, watermark_method=watermark_method,
                payload=payload, check_metadata=not no_metadata)
        seen.append(r)
        return r

    run_batch(images, one, as_json=json)
    if any(not r.ok for r in seen):
        raise typer.Exit(1)
