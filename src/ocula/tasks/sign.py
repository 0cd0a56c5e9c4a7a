"""Sign an image with C2PA content credentials: who signed it, what was done to it and from
what, written into the file itself (JPEG, PNG, WebP, GIF, TIFF, HEIC, AVIF).

    >>> from ocula.tasks.sign import sign
    >>> r = sign("big.png", output="signed.png", actions=["upscaled"], parent="small.png")
    >>> r.signer.development     # no --cert/--key: ocula's local, untrusted certificate
    True

Without ``cert``/``key`` (or OCULA_C2PA_CERT / OCULA_C2PA_KEY) the file is signed with a
development certificate ocula makes under ``$OCULA_HOME/c2pa/``: the signature is real
and any change to the pixels breaks it, but nobody else trusts that certificate.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..image import LoadedImage, load_image
from ..output import check_output, image_format, write_atomic
from ..provenance import c2pa as cc
from ..provenance import certs
from ..results import ImageInfo, SignResult

MAX_SIDE: int | None = 64  # only the header and a cheap decode to check the input is an image

_CREATION = {"created", "generated"}


def _path_of(image: Any) -> Path:
    if isinstance(image, LoadedImage) and image.path is not None:
        return image.path
    if isinstance(image, (str, os.PathLike)):
        return Path(image).expanduser()
    raise InvalidArgument("signing needs an image file: pass a path (the manifest signs the file's bytes)")


def sign(image: Any, *, output: str | os.PathLike, actions: list[str] | None = None,
         parent: str | os.PathLike | None = None, generated: bool = False, source_type: str | None = None,
         cert: str | os.PathLike | None = None, key: str | os.PathLike | None = None, overwrite: bool = False,
         settings: Settings | None = None) -> SignResult:
    """Write a copy of ``image`` with a C2PA manifest to ``output``.

    actions: what was done (ocula names such as upscaled, denoised, inpainted, restored,
      faces-blurred, metadata-stripped, watermarked, edited, or standard c2pa.* names).
      None: the actions an ocula command recorded in the file's EXIF Software tag
      ("ocula 0.1.0 (upscaled)", see ``ocula.provenance.software_tag``), if any.
    parent: the file it was made from; by default the input itself, so the manifest says
      "ocula opened this file" plus the actions. A 'created'/'generated' action means there is
      no parent, and the manifest says where the pixels came from (``source_type``, or
      trainedAlgorithmicMedia with ``generated``).
    """
    settings = settings or get_settings()
    src = _path_of(image)
    loaded = load_image(image if isinstance(image, LoadedImage) else src, max_side=MAX_SIDE, settings=settings)
    notes: list[str] = []
    if actions is None:
        actions = recorded_actions(loaded)
        if actions:
            notes.append(f"actions read from the file's EXIF Software tag, written by ocula: {', '.join(actions)}")
    names = [cc.normalise_action(a)[0] for a in actions]  # bad names fail before any work
    creation = any(n in _CREATION for n in names)
    if parent is not None and creation:
        raise InvalidArgument("a created/generated image has no parent; leave out the parent, or record an "
                              "edit instead (edited, upscaled ...)")
    parent_path = None if creation else (Path(parent).expanduser() if parent is not None else src)
    if parent_path is not None and parent_path != src:
        load_image(parent_path, max_side=64, settings=settings)  # a clear error if it is not an image
    check_output(output, [src, parent_path], overwrite=overwrite)
    _same_format(src, Path(output), loaded.format)
    binding = _soft_binding(src, settings) if "watermarked" in names else None
    creds = certs.credentials(cert, key, settings)
    signed = cc.sign_bytes(src, actions=names, generated=generated, ingredient=parent_path,
                           source_type=source_type, creds=creds, title=Path(output).name, soft_binding=binding)
    path = write_atomic(output, lambda fh: fh.write(signed.data), inputs=[src, parent_path], overwrite=overwrite)
    notes += signed.notes
    if source_type is None and parent_path is None and not generated:
        notes.append("recorded as digitalCreation; pass --source-type (e.g. digitalCapture) if the pixels came "
                     "from somewhere else, or --generated for AI-generated content")
    return SignResult(image=ImageInfo.of(loaded), output=str(path), format=signed.mime, actions=signed.actions,
                      ingredient=signed.ingredient, generated=generated or "generated" in names,
                      signer=signed.signer, manifest_bytes=signed.manifest_bytes, seconds=round(signed.seconds, 4),
                      notes=notes)


def _soft_binding(src: Path, settings: Settings) -> tuple[str, bytes]:
    """The watermark already in ``src``, which a 'watermarked' action must declare."""
    from ..provenance import pixels, watermark as wm

    raw = pixels.read_raw(src, settings)
    for method in wm.METHODS:
        try:
            decoded = wm.detect(raw.rgb, method, threads=settings.threads)
        except InvalidArgument:
            break  # too small to carry one
        if decoded.found and decoded.word is not None:
            return wm.soft_binding_alg(method), decoded.word
    raise InvalidArgument(f"the 'watermarked' action needs a watermark in {src}, and none was found; embed one "
                          f"first (ocula watermark embed {src} --payload TEXT -o marked.png)")


def _same_format(src: Path, output: Path, fmt: str | None) -> None:
    """Signing embeds the manifest in the file as it is: it never converts."""
    want = image_format(output)
    have = "JPEG" if fmt == "MPO" else fmt
    if want != have:
        raise InvalidArgument(f"{src} is {have}; signing does not convert it, so -o must be a {have} file too "
                              f"(e.g. {output.with_suffix(src.suffix or '.' + str(have).lower())}); convert "
                              "first if you need another format")


_SOFTWARE = re.compile(r"^ocula\s+\S+\s+\(([^)]*)\)\s*$")


def recorded_actions(loaded: LoadedImage) -> list[str]:
    """Action names from an EXIF Software tag of the form "ocula <version> (upscaled, ...)"."""
    try:
        software = loaded.exif.get(0x0131) if loaded.exif else None
    except Exception:  # broken EXIF
        return []
    m = _SOFTWARE.match(str(software or ""))
    if not m:
        return []
    out = []
    for name in (n.strip() for n in m.group(1).split(",")):
        try:
            out.append(cc.normalise_action(name)[0])
        except InvalidArgument:
            continue  # a newer ocula's name: not ours to guess
    return out
