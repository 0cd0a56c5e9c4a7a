"""Provenance of the images ocula writes: invisible watermarks (``watermark``), C2PA content
credentials (``c2pa``, ``certs``), and marking what ocula writes (``marking``: every
image-writing task watermarks and signs its outputs there).

This layer reads and writes files and pixels; it never imports a task or a shell. Heavy
modules (c2pa, onnxruntime, cryptography) load inside the functions that need them.
"""

from __future__ import annotations

import os
from pathlib import Path


def software_tag(actions: list[str]) -> str:
    """EXIF Software value recording what an ocula command did, e.g. "ocula 0.1.0 (upscaled)".
    ``ocula sign`` without --action records these actions in the manifest."""
    from ..version import __version__
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


__all__ = ["mark_output", "precheck", "software_tag", "sign_in_place"]


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


from .marking import mark_output  # noqa: E402  (marking uses sign_in_place above)
