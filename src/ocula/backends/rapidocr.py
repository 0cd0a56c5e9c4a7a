"""RapidOCR (``rapidocr-onnxruntime`` 1.4.x): PaddleOCR's PP-OCRv4 text detector, mobile
angle classifier and PP-OCRv4 recogniser (Chinese + English in one model) on onnxruntime.

What differs from calling ``RapidOCR()`` with its defaults, and why:
- Detection limits the *longer* side (``det_limit_type="max"``; in that mode RapidOCR picks
  the limit itself: 960 px below 960, 1500 below 1500, else 2000, never upscaling). The package
  default (``min``, 736) scales the *shorter* side up to 736, so a 900x116 line of 36 px text
  was detected at ~5700x736: 10x slower and the words came back as separate, misordered boxes
  (English CER 0.13 vs 0.01 on the rendered set).
- The package's own downscale (``max_side_len`` 2000) is raised: the task decides the working
  size (``ocr.MAX_SIDE``); recognition then crops from that copy, so small text keeps its pixels
  even when detection ran smaller.
- Boxes are grown more (``UNCLIP``) and the 180-degree angle classifier is off: on long
  lines (squeezed into its 192x48 input) it turned correct lines upside down, and PaddleOCR
  itself leaves it off by default. Upside-down pages are rare once EXIF orientation is applied.
- ``text_score`` is 0: the task filters by its ``min_confidence``. Per-call keyword arguments
  are never passed: ``RapidOCR.__call__`` writes them into the shared detector, which is not
  safe when threads share the cached engine.
- The input is a BGR array: RapidOCR passes 3-channel arrays through untouched and its
  models were trained on OpenCV's BGR (it converts only PIL images and files itself).
- A short side under 30 px is padded here (``MIN_SIDE``), never left to RapidOCR, which scales
  it *up* to 30 px and then letterboxes anything wider than 8:1 to 1:4: a 2560x1 strip became a
  76800x19200 working image (4.7 GB for a 300 kB PNG). Padding keeps the text's pixels, so the
  work stays bounded by the task's working size (``ocr.MAX_SIDE``) whatever the aspect ratio.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..errors import ModelUnavailable
from . import RawLine, cached_model

MODEL = "rapidocr-ppocrv4"
INSTALL = "pip install 'rapidocr-onnxruntime>=1.4,<2'"
# Never let RapidOCR shrink the working copy again (the task already sized it).
_NO_SHRINK = 16384
# Box growth around detected text. 2.0 instead of 1.6: the tighter crops lost the spaces
# between English words ("Invoice2026-11-23total42.50"; English CER 0.011 -> 0.000 on the
# rendered set) without merging lines set with tight leading.
UNCLIP = 2.0
_LOGGERS = ("RapidOCR", "OrtInferSession")
# RapidOCR's min_side_len is 30; a multiple of 32 is what its detector rounds to anyway
MIN_SIDE = 32


def _quiet() -> None:
    # rapidocr attaches its own DEBUG stream handler to these loggers; keep only errors
    from rapidocr_onnxruntime.utils import get_logger

    for name in _LOGGERS:
        log = get_logger(name)
        log.setLevel(logging.ERROR)
        log.propagate = False


def _no_spinning() -> None:
    """Make RapidOCR's sessions sleep instead of spin between ops.

    onnxruntime's intra-op threads busy-wait by default; when other work shares the cores
    (analyze's other models, a server's worker pool, other processes) that doubled the time
    of a recogniser batch (2 threads: 154 ms spinning vs 83 ms not, on a busy 2-core machine).
    RapidOCR builds its SessionOptions itself, so its builder is wrapped once."""
    from rapidocr_onnxruntime.utils import infer_engine

    cls = infer_engine.OrtInferSession
    original = cls._init_sess_opts
    if getattr(original, "_ocula_no_spin", False):
        return

    def init_sess_opts(config: dict) -> Any:
        opts = original(config)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return opts

    init_sess_opts._ocula_no_spin = True  # type: ignore[attr-defined]
    cls._init_sess_opts = staticmethod(init_sess_opts)


def _build(threads: int, use_cuda: bool) -> Any:
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as e:
        raise ModelUnavailable(MODEL, f"rapidocr-onnxruntime could not be imported ({e})", INSTALL) from None
    _quiet()
    _no_spinning()
    try:
        engine = RapidOCR(
            text_score=0.0,
            use_cls=False,
            max_side_len=_NO_SHRINK,
            intra_op_num_threads=threads,
            inter_op_num_threads=1,
            det_limit_type="max",
            det_limit_side_len=960,  # unused in "max" mode, see above
            det_unclip_ratio=UNCLIP,
            det_use_cuda=use_cuda, cls_use_cuda=use_cuda, rec_use_cuda=use_cuda,
        )
    except FileNotFoundError as e:  # a broken install: the .onnx files are gone
        raise ModelUnavailable(MODEL, str(e), "pip install --force-reinstall 'rapidocr-onnxruntime>=1.4,<2'") from None
    _quiet()
    return engine


def _wants_cuda(device: str) -> bool:
    if not device.startswith("cuda"):
        return False
    try:
        import onnxruntime

        return "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    except ImportError:
        return False


def engine(threads: int, device: str = "cpu") -> Any:
    """The shared RapidOCR engine for this thread count (loaded once per process)."""
    use_cuda = _wants_cuda(device)
    return cached_model((MODEL, threads, use_cuda), lambda: _build(threads, use_cuda))


def _padded(bgr: np.ndarray) -> np.ndarray:
    """``bgr`` with its short side padded to ``MIN_SIDE`` on the bottom/right (boxes keep their
    coordinates), in the image's median colour so that the edge reads as background."""
    h, w = bgr.shape[:2]
    if min(h, w) >= MIN_SIDE:
        return bgr
    out = np.empty((max(h, MIN_SIDE), max(w, MIN_SIDE), 3), np.uint8)
    out[:] = np.median(bgr.reshape(-1, 3), axis=0).astype(np.uint8)
    out[:h, :w] = bgr
    return out


def read(rgb: np.ndarray, *, threads: int, device: str = "cpu") -> list[RawLine]:
    """Text lines found in an HxWx3 uint8 RGB array, boxes in that array's pixels."""
    eng = engine(threads, device)
    bgr = _padded(np.ascontiguousarray(rgb[:, :, ::-1]))
    found, _elapsed = eng(bgr)
    out: list[RawLine] = []
    for box, text, score in found or ():
        text = str(text).strip()
        if not text:
            continue
        pts = [(float(x), float(y)) for x, y in box]
        out.append(RawLine(text, float(min(max(score, 0.0), 1.0)), pts))
    return out


def read_lines(rgb: np.ndarray, *, language: str, min_score: float, settings: Any) -> list[RawLine]:
    """The OCR backend interface (tasks/ocr.py): lines read with at least ``min_score``. One model
    reads Chinese and English, so ``language`` changes nothing here."""
    return [r for r in read(rgb, threads=settings.threads, device=settings.device) if r.confidence >= min_score]
