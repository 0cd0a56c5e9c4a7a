"""Invisible watermarks: embed a short payload into an image file, or read one back.

    >>> from ocula.tasks.watermark import watermark, detect_watermark
    >>> watermark("photo.jpg", payload="ocula", output="marked.jpg").verified
    True
    >>> detect_watermark("marked.jpg").payload
    'ocula'

Up to 6 bytes of text are stored verbatim (2 with rivaGan); a longer text is stored as a
hash, which ``detect_watermark(..., payload=TEXT)`` compares. See
``ocula.provenance.watermark`` for the scheme and its check.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from ..config import Settings, get_settings
from ..deprecation import renamed
from ..errors import InvalidArgument
from ..provenance import pixels, watermark as wm
from ..provenance.marking import watermark_file
from ..results import WatermarkDetection, WatermarkEmbedResult
from . import registry

MAX_SIDE: int | None = None  # the mark spans every pixel
DETECT_METHODS = (*wm.METHODS, "all")


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def watermark(image: Any, *, payload: str, output: str | os.PathLike, method: str = "dwtDctSvd",
              overwrite: bool = False, settings: Settings | None = None) -> WatermarkEmbedResult:
    """Write a copy of ``image`` to ``output`` carrying ``payload`` invisibly, and read it back."""
    settings = settings or get_settings()
    method = wm._check_method(method)
    t0 = time.perf_counter()
    done = watermark_file(image, payload, output, method=method, overwrite=overwrite, settings=settings)
    raw, notes = done.raw, list(done.notes)
    data, _ = wm._data_for(payload, wm.data_bytes(method))
    if raw.format in ("JPEG", "PNG", "WEBP", "TIFF", "HEIF", "AVIF") and _had_manifest(raw.path):
        notes.append("the input's content credentials (C2PA) were not carried over: they describe other pixels; "
                     "sign the output (ocula sign) to record the watermark")
    return WatermarkEmbedResult(
        image=raw.info, output=str(done.path), method=method, payload=payload, stored_as=done.kind,
        payload_hash=data.hex() if done.kind == "hash" else None, bits=wm.BITS[method],
        psnr=round(_psnr(raw.rgb, done.marked), 2), verified=done.back.found and wm.matches(done.back, payload, method),
        confidence=round(done.back.strength, 4), seconds=round(time.perf_counter() - t0, 3), notes=notes)


def _had_manifest(path) -> bool:
    if path is None:
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
    except OSError:
        return False
    return b"c2pa" in head and (b"jumb" in head or b"caBX" in head)


def detection_result(decoded: wm.Decoded, method: str, payload: str | None, info=None) -> WatermarkDetection:
    return WatermarkDetection(
        image=info, found=decoded.found, method=method,
        payload=decoded.text if decoded.kind == "text" else None,
        payload_hash=decoded.data.hex() if decoded.kind == "hash" and decoded.data else None,
        matches=wm.matches(decoded, payload, method) if payload is not None else None,
        confidence=round(min(1.0, max(0.0, decoded.strength)), 4), check="ok" if decoded.check_ok else "failed",
        corrected_bits=decoded.corrected if decoded.found else 0, bits=wm.BITS[method],
        word=decoded.word.hex() if decoded.word else None)


@renamed(**registry.old_names("detect-watermark"))
def detect_watermark(image: Any, *, method: str = "dwtDctSvd", payload: str | None = None,
                     settings: Settings | None = None) -> WatermarkDetection:
    """Look for an ocula watermark. ``method="all"`` tries dwtDctSvd, then rivaGan.
    ``payload``: the text it should carry, to compare with (needed to confirm a hashed payload)."""
    settings = settings or get_settings()
    if method not in DETECT_METHODS:
        raise InvalidArgument(f"unknown watermark method {method!r}; choose one of: {', '.join(DETECT_METHODS)}")
    raw = pixels.read_raw(image, settings)
    return detect_raw(raw, method=method, payload=payload, settings=settings, info=raw.info)


def detect_raw(raw: pixels.RawImage, *, method: str, payload: str | None, settings: Settings,
               info=None) -> WatermarkDetection:
    methods = wm.METHODS if method == "all" else (method,)
    first = None
    for m in methods:
        decoded = wm.detect(raw.rgb, m, threads=settings.threads)
        result = detection_result(decoded, m, payload, info)
        if decoded.found:
            return result
        first = first or result
    return first
