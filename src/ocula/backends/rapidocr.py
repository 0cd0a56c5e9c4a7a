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
- The detector runs in horizontal strips of at most ``DET_STRIP_PIXELS`` (with ``DET_OVERLAP``
  rows of context each side, stitched into one probability map before RapidOCR's own
  post-processing): it is fully convolutional, and one 1984x1984 pass held ~560 MB of
  activations, the largest single allocation of an analyze (README "Limits"). Two strips cost
  ~7 % more network time and about half the memory.
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
# detector input above this many pixels runs in strips; rows of context on each side of a strip
DET_STRIP_PIXELS = 2_200_000
DET_OVERLAP = 96


class _StripedDetector:
    """Wraps RapidOCR's detector session: one NCHW input, run in overlapping horizontal strips
    (offsets multiples of 32, the network's stride), the centre of each kept."""

    def __init__(self, infer: Any):
        self.infer = infer

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        h, w = x.shape[2], x.shape[3]
        if h * w <= DET_STRIP_PIXELS or h <= 2 * DET_OVERLAP + 64:
            return self.infer(x)
        n = -(-h * w // DET_STRIP_PIXELS)
        core = -(-h // n // 32) * 32  # rows each strip contributes, a multiple of 32
        out: np.ndarray | None = None
        for top in range(0, h, core):
            lo, hi = max(0, top - DET_OVERLAP), min(h, top + core + DET_OVERLAP)
            pred = self.infer(np.ascontiguousarray(x[:, :, lo:hi]))[0]
            if out is None:
                out = np.empty((pred.shape[0], pred.shape[1], h, w), pred.dtype)
            out[:, :, top:min(h, top + core)] = pred[:, :, top - lo:top - lo + min(core, h - top)]
        return [out]


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
    engine.text_det.infer = _StripedDetector(engine.text_det.infer)
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
    if bgr.shape[0] * bgr.shape[1] > 1_000_000:
        from .._memory import trim

        trim()  # the detector's activations (~700 MB at 2560 px) are freed: give them back
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
