"""Provenance of the images ocula writes: invisible watermarks (``watermark``), C2PA content
credentials (``c2pa``, ``certs``), and ``mark_output`` for commands that make a new image
(``ocula upscale ... --watermark TEXT --sign``).

Heavy modules (c2pa, onnxruntime, cryptography) load inside the functions that need them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Settings
    from ..results import ProvenanceReport


def software_tag(actions: list[str]) -> str:
    """EXIF Software value recording what an ocula command did, e.g. "ocula 0.1.0 (upscaled)".
    ``ocula sign`` without --action records these actions in the manifest."""
    from .. import __version__
    from . import c2pa as cc

    names = [cc.normalise_action(a)[0] for a in actions]
    return f"ocula {__version__} ({', '.join(names)})" if names else f"ocula {__version__}"


def precheck(output: str | os.PathLike, *, size: tuple[int, int] | None, actions: list[str], sign: bool = False,
             watermark: str | None = None, method: str = "dwtDctSvd") -> None:
    """Raise the error ``mark_output`` would, before the expensive work that makes the output:
    unknown action names, an empty payload, an output format that cannot hold the mark or the
    manifest, an image too small for a watermark (``size``: the output's width, height)."""
    from ..errors import InvalidArgument
    from ..output import image_format
    from . import c2pa as cc

    for a in actions:
        cc.normalise_action(a)
    fmt = image_format(output)
    if watermark is not None:
        from . import watermark as wm

        wm.encode_payload(watermark, method)
        if fmt == "GIF":
            raise InvalidArgument("GIF keeps only 256 colours, which would erase an invisible watermark; "
                                  "write PNG, WebP, TIFF or JPEG instead")
        if size is not None and size[0] * size[1] < wm.MIN_PIXELS:
            raise InvalidArgument(f"the output is {size[0]}x{size[1]}; an invisible watermark needs at least "
                                  f"{wm.MIN_PIXELS} pixels (e.g. 256x256)")
    if sign and fmt not in cc.MIME:
        raise InvalidArgument(f"C2PA cannot hold content credentials in a {fmt} file; write PNG, JPEG, WebP, "
                              "TIFF, AVIF or HEIC to sign it")


def mark_output(path: Path, *, actions: list[str], sign: bool = False, watermark: str | None = None,
                ingredient: Path | None = None, generated: bool = False, settings: "Settings | None" = None,
                method: str = "dwtDctSvd", cert: str | os.PathLike | None = None,
                key: str | os.PathLike | None = None) -> "ProvenanceReport":
    """Watermark, then sign, a file ocula itself just wrote, in place.

    The order matters: a watermark changes pixels, which would break a signature made before
    it, so the signature comes last and records ``c2pa.watermarked`` among the actions.
    ``ingredient`` is the file the output was made from (recorded as its parent; never
    overwritten); ``actions`` are ocula's names for what was done (upscaled, denoised ...).
    Without ``cert``/``key`` (or OCULA_C2PA_CERT/OCULA_C2PA_KEY) the development certificate
    signs, and the report says it is untrusted.
    """
    from ..config import get_settings
    from ..errors import InvalidArgument
    from ..results import ProvenanceReport
    from . import c2pa as cc

    settings = settings or get_settings()
    path = Path(path)
    ingredient = Path(ingredient) if ingredient is not None else None
    names = [cc.normalise_action(a)[0] for a in actions]  # a bad name fails before the file is touched
    if ingredient is not None and path.resolve() == ingredient.resolve():
        raise InvalidArgument(f"{path} is the input file; mark_output only marks files ocula wrote")
    report = ProvenanceReport(output=str(path))
    inputs = [ingredient] if ingredient is not None else []
    if watermark is not None:
        from ..tasks.watermark import watermark as embed

        res = embed(path, payload=watermark, output=path, method=method, overwrite=True, settings=settings,
                    _inputs=inputs)
        report.watermarked = True
        report.watermark_method = res.method
        report.watermark_payload = watermark
        report.watermark_verified = res.verified
        report.notes += [n for n in res.notes if "content credentials" not in n]
        if not res.verified:
            report.notes.append("the watermark could not be read back from the written file")
        if "watermarked" not in names:
            names.append("watermarked")
    if sign:
        from . import certs

        creation = any(n in ("created", "generated") for n in names)
        creds = certs.credentials(cert, key, settings)
        binding = None
        if watermark is not None:
            from . import watermark as wm

            binding = (wm.soft_binding_alg(method), wm.codeword(watermark, method))
        sign_in_place(report, path, actions=names, generated=generated,
                      ingredient=None if creation else ingredient, creds=creds, soft_binding=binding,
                      inputs=inputs)
        if ingredient is None and not creation:
            report.notes.append("no input file was given: recorded as a new creation (digitalCreation)")
    return report


__all__ = ["mark_output", "precheck", "software_tag"]


def sign_in_place(report, path: Path, *, actions: list[str], generated: bool, ingredient: Path | None,
                  creds, soft_binding, inputs: list[Path] | None = None) -> None:
    """Sign ``path`` (a file ocula wrote) with a C2PA manifest, atomically, and record what was
    signed in ``report`` (a ProvenanceReport)."""
    from ..output import write_atomic
    from . import c2pa as cc

    signed = cc.sign_bytes(path, actions=actions, generated=generated, ingredient=ingredient, creds=creds,
                           title=path.name, soft_binding=soft_binding)
    write_atomic(path, lambda fh: fh.write(signed.data), inputs=inputs or [], overwrite=True)
    report.signed = True
    report.actions = [a.action for a in signed.actions]
    report.signer = signed.signer.subject
    report.development_certificate = signed.signer.development
    report.notes += signed.notes
    if signed.signer.development:
        report.notes.append("signed with ocula's local development certificate: verifiers will call it "
                            "untrusted (set OCULA_C2PA_CERT and OCULA_C2PA_KEY to sign as yourself)")
