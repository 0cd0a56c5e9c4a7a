"""Where did this image come from? Content credentials (C2PA), invisible watermark and
camera metadata, checked together.

    >>> from ocula.tasks.verify import verify
    >>> r = verify("signed.png")
    >>> r.manifest.state, r.ok
    ('valid', True)

Manifest states: ``none`` (no content credentials), ``valid`` (intact and correctly signed,
but the signer is not in your trust list), ``trusted`` (valid, and the signer chains to a
trust anchor you configured: ``trust=[CA.pem]`` or ``$OCULA_HOME/c2pa/trust-anchors.pem``),
``invalid`` (changed after signing, or a broken manifest). ``ok`` is False only for invalid.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..config import Settings, get_settings
from ..deprecation import renamed
from ..errors import InvalidArgument, InvalidImage, OculaError
from ..provenance import c2pa as cc
from ..provenance import pixels
from ..image import load_image
from ..results import ImageInfo, VerifyResult
from . import registry
from .watermark import DETECT_METHODS, detect_raw

MAX_SIDE: int | None = None  # the watermark reader needs every pixel


@renamed(**registry.old_names("verify"))
def verify(image: Any, *, trust: list[str | os.PathLike] | None = None, check_watermark: bool = True,
           watermark_method: str = "dwtDctSvd", payload: str | None = None, check_metadata: bool = True,
           settings: Settings | None = None) -> VerifyResult:
    """Check a file's content credentials, look for a watermark (``payload``: the text it should
    carry, if known) and read its camera metadata."""
    settings = settings or get_settings()
    if watermark_method not in DETECT_METHODS:
        raise InvalidArgument(f"unknown watermark method {watermark_method!r}; choose one of: "
                              f"{', '.join(DETECT_METHODS)}")
    if not isinstance(image, (str, os.PathLike)):
        raise InvalidArgument("verify needs an image file: content credentials live in the file's bytes")
    path = Path(image).expanduser()
    if not path.is_file():
        load_image(path, max_side=64, settings=settings)  # the clear error: missing, a folder ...
    notes: list[str] = []
    report = cc.read_manifest(path, trust=[Path(t) for t in trust or []], settings=settings)
    try:
        raw = pixels.read_raw(path, settings)
        info = raw.info
    except InvalidImage as e:
        # a tampered file may no longer decode; what the manifest says still stands
        if report.state == "none":
            raise
        raw = None
        info = ImageInfo(source=str(path), width=0, height=0, bytes=path.stat().st_size)
        notes.append(f"the pixels could not be decoded ({e.reason}): watermark and metadata not checked")
        check_watermark = check_metadata = False
    mark = None
    declared = _declared_method(report.soft_binding)
    if check_watermark and raw is not None:
        try:
            # a manifest that declares a watermark says which reader to use
            method = declared if declared and watermark_method != "all" else watermark_method
            mark = detect_raw(raw, method=method, payload=payload, settings=settings)
            if declared and report.soft_binding:
                word = report.soft_binding.rsplit(":", 1)[-1]
                if mark.found and mark.word == word:
                    notes.append("the watermark in the pixels is the one the content credentials declare")
                elif report.state != "invalid":
                    notes.append("the content credentials declare a watermark that could not be read from the pixels")
        except InvalidArgument as e:  # too small to carry one
            notes.append(f"watermark not checked: {e}")
        except OculaError as e:  # rivaGan models missing
            notes.append(f"watermark not checked: {e}")
    meta = None
    if check_metadata:
        from .metadata import metadata as read_metadata

        try:
            meta = read_metadata(path, gps=False, settings=settings)
        except InvalidImage as e:
            notes.append(f"metadata not read: {e.reason}")
    if report.state == "none" and mark is not None and mark.found:
        notes.append("an invisible watermark but no content credentials: the file was never signed, or a "
                     "re-save stripped them")
    return VerifyResult(image=info, ok=report.state != "invalid", manifest=report, watermark=mark,
                        metadata=meta, notes=notes)


def _declared_method(soft_binding: str | None) -> str | None:
    from ..provenance import watermark as wm

    if not soft_binding:
        return None
    alg = soft_binding.rsplit(":", 1)[0]
    return next((m for m in wm.METHODS if alg == wm.soft_binding_alg(m)), None)
