"""Marking the images ocula writes: an invisible watermark in the pixels, then a C2PA signature
over the file. Every image-writing task comes through here (``tasks/_edit.finish``, generate,
strip, the watermark task, ``mark_output``), so `ocula upscale --sign`, ``ocula.upscale(...,
sign=True)`` and the HTTP API mark files the same way.

Order: a watermark changes pixels, which would break a signature made before it, so the
signature comes last and records ``c2pa.watermarked`` among the actions. Pixels are marked
before they are encoded when ocula has them (one encode, no loss); a file ocula already wrote
is marked by re-writing it with its own JPEG tables (``watermark_file``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

    from ..config import Settings
    from ..results import ProvenanceReport
    from . import pixels
    from .watermark import Decoded

DEFAULT_METHOD = "dwtDctSvd"


def embed_in_image(img: "Image.Image", payload: str, method: str = DEFAULT_METHOD, *, threads: int = 1
                   ) -> "Image.Image":
    """A copy of ``img`` carrying ``payload`` in its colour pixels (alpha kept as it is)."""
    from PIL import Image

    from . import watermark as wm

    marked, _ = wm.embed(np.asarray(img.convert("RGB")), payload, method, threads=threads)
    out = Image.fromarray(marked)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        out.putalpha(img.convert("RGBA").getchannel("A"))
    return out


def read_back(path: str | os.PathLike, method: str, settings: "Settings") -> "Decoded":
    """The watermark as a reader finds it in a written file."""
    from . import pixels
    from . import watermark as wm

    return wm.detect(pixels.read_raw(path, settings).rgb, method, threads=settings.threads)


@dataclass
class MarkedFile:
    """What ``watermark_file`` wrote."""

    path: Path
    raw: "pixels.RawImage"
    marked: np.ndarray
    kind: str                 # "text" or "hash": how the payload is stored
    back: "Decoded"           # the mark read back from the written file
    notes: list[str] = field(default_factory=list)


def watermark_file(src: Any, payload: str, output: str | os.PathLike, *, method: str = DEFAULT_METHOD,
                   overwrite: bool = False, settings: "Settings", inputs: list | None = None) -> MarkedFile:
    """Write a copy of ``src`` (a file, bytes, or pixels) to ``output`` carrying ``payload``, keeping
    its profile, EXIF and (for JPEG) quantisation tables; read the mark back. When the source's JPEG
    quality was too low to keep the mark, it is written again at quality 95."""
    from . import pixels
    from . import watermark as wm

    method = wm._check_method(method)
    wm.encode_payload(payload, method)  # a bad payload fails before any decoding
    raw = pixels.read_raw(src, settings)
    marked, kind = wm.embed(raw.rgb, payload, method, threads=settings.threads)
    inputs = inputs if inputs is not None else [raw.path]
    path, notes = pixels.write_raw(raw, marked, output, inputs=inputs, overwrite=overwrite)
    back = read_back(path, method, settings)
    if not back.found and raw.jpeg is not None and path.suffix.lower() in (".jpg", ".jpeg", ".jpe", ".jfif"):
        path, notes = pixels.write_raw(raw, marked, path, inputs=inputs, overwrite=True, keep_tables=False)
        notes.append("re-encoded at JPEG quality 95: the input's own quality was too low to keep the mark")
        back = read_back(path, method, settings)
    return MarkedFile(path, raw, marked, kind, back, raw.notes + notes)


def seal(path: Path, *, actions: list[str], sign: bool, watermark: str | None, settings: "Settings",
         method: str = DEFAULT_METHOD, ingredient: Path | None = None, generated: bool = False,
         cert: str | os.PathLike | None = None, key: str | os.PathLike | None = None,
         inputs: list[Path] | None = None, report: "ProvenanceReport | None" = None) -> "ProvenanceReport":
    """After a file whose pixels carry ``watermark`` (if any) was written: check that a reader
    finds the mark, then sign the file (C2PA) when asked. Returns what was done."""
    from ..results import ProvenanceReport
    from . import c2pa as cc

    report = report or ProvenanceReport(output=str(path))
    names = [cc.normalise_action(a)[0] for a in actions]
    binding = None
    if watermark is not None:
        from . import watermark as wm

        back = read_back(path, method, settings)
        report.watermarked, report.watermark_method, report.watermark_payload = True, method, watermark
        report.watermark_verified = bool(back.found and wm.matches(back, watermark, method))
        if not report.watermark_verified:
            report.notes.append("the watermark could not be read back from the written file (small or flat "
                                "images and low JPEG quality hold it poorly; 256 px and up work best)")
        binding = (wm.soft_binding_alg(method), wm.codeword(watermark, method))
        if "watermarked" not in names:
            names.append("watermarked")
    if sign:
        from . import certs, sign_in_place

        creation = generated or any(n in ("created", "generated") for n in names)
        sign_in_place(report, path, actions=names, generated=generated,
                      ingredient=None if creation else ingredient, creds=certs.credentials(cert, key, settings),
                      soft_binding=binding, inputs=inputs or ([ingredient] if ingredient is not None else []))
        if ingredient is None and not creation:
            report.notes.append("no input file was given: recorded as a new creation (digitalCreation)")
    return report


def mark_output(path: str | os.PathLike, *, actions: list[str], sign: bool = False, watermark: str | None = None,
                ingredient: str | os.PathLike | None = None, generated: bool = False,
                settings: "Settings | None" = None, method: str = DEFAULT_METHOD,
                cert: str | os.PathLike | None = None, key: str | os.PathLike | None = None) -> "ProvenanceReport":
    """Watermark, then sign, a file ocula itself just wrote, in place.

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
    for a in actions:  # a bad name fails before the file is touched
        cc.normalise_action(a)
    if ingredient is not None and path.resolve() == ingredient.resolve():
        raise InvalidArgument(f"{path} is the input file; mark_output only marks files ocula wrote")
    report = ProvenanceReport(output=str(path))
    inputs = [ingredient] if ingredient is not None else []
    if watermark is not None:
        done = watermark_file(path, watermark, path, method=method, overwrite=True, settings=settings, inputs=inputs)
        report.notes += [n for n in done.notes if "content credentials" not in n]
    return seal(path, actions=actions, sign=sign, watermark=watermark, settings=settings, method=method,
                ingredient=ingredient, generated=generated, cert=cert, key=key, inputs=inputs, report=report)
