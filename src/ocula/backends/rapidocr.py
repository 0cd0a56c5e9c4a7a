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
from typing import Any, Callable

import numpy as np

from ..errors import ModelUnavailable
from ..geometry import merge_overlapping
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


# --- two resolutions: find text on a small copy, read it from a large one -----------------------

# Text is found on a copy of at most ocr.DET_SIDE px and read from crops of the large working
# copy. Where the small copy's probability map shows text-like blobs (above LOW_PROB: a line too
# small to become a box, or boxes only a few pixels tall), detection runs again on crops of the
# large copy around them, so small print next to a headline, a receipt or a page is not lost.
LOW_PROB = 0.15           # a pixel that may be text (RapidOCR's box threshold is 0.3)
SMALL_BOX_PX = 14         # boxes lower than this in the small copy are re-found at full size
REGION_GROW = 0.5         # grow a hot region by this share of its height (and 24 px) before the second pass
MAX_REGIONS = 6           # more hot regions than this: the second pass covers their common box


def _detect(eng: Any, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(boxes (N, 4, 2) in ``bgr``'s pixels, the probability map resized to ``bgr``'s size)."""
    det = eng.text_det
    pre = det.get_preprocess(max(bgr.shape[:2]))(bgr)
    if pre is None:
        return np.zeros((0, 4, 2), np.float32), np.zeros(bgr.shape[:2], np.float32)
    pred = det.infer(pre)[0]
    boxes, _ = det.postprocess_op(pred, bgr.shape[:2])
    boxes = det.filter_tag_det_res(boxes, bgr.shape[:2])
    prob = pred[0, 0]
    if prob.shape != bgr.shape[:2]:
        import cv2

        prob = cv2.resize(prob, (bgr.shape[1], bgr.shape[0]), interpolation=cv2.INTER_LINEAR)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4, 2) if len(boxes) else np.zeros((0, 4, 2), np.float32)
    return boxes, prob


def _hot_regions(prob: np.ndarray, boxes: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Rectangles (x0, y0, x1, y1) of the small copy worth detecting again at full size: blobs
    of likely text that became no box, or only small boxes."""
    import cv2

    hot = (prob > LOW_PROB).astype(np.uint8)
    if not hot.any():
        return []
    big = np.zeros_like(hot)
    for b in boxes:
        ys = b[:, 1]
        if ys.max() - ys.min() >= SMALL_BOX_PX:  # read well enough from the small copy's box
            cv2.fillPoly(big, [np.round(b).astype(np.int32)], 1)
    hot &= 1 - big
    n, _, stats, _ = cv2.connectedComponentsWithStats(hot, connectivity=8)
    regions = []
    for x, y, w, h, area in stats[1:n]:
        if area < 6:  # specks
            continue
        g = int(max(24, REGION_GROW * h))
        regions.append((max(0, x - g), max(0, y - g), min(prob.shape[1], x + w + g), min(prob.shape[0], y + h + g)))
    if len(regions) > MAX_REGIONS:
        x0, y0 = min(r[0] for r in regions), min(r[1] for r in regions)
        regions = [(x0, y0, max(r[2] for r in regions), max(r[3] for r in regions))]
    return [tuple(map(int, r)) for r in merge_overlapping(regions)]


def _inside_any(box: np.ndarray, rects: list[tuple[float, float, float, float]]) -> bool:
    cx, cy = box[:, 0].mean(), box[:, 1].mean()
    return any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in rects)


def _bgr(view: Any, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    return np.ascontiguousarray(view.patch(x0, y0, x1, y1)[:, :, ::-1])


def _line_crops(eng: Any, view: Any, boxes: np.ndarray) -> list[np.ndarray]:
    """Each box cut out straight (RapidOCR's perspective crop) from a patch of the view just
    around it: the view is never made whole."""
    crops = []
    for box in boxes:
        x0, y0 = int(np.floor(box[:, 0].min())) - 3, int(np.floor(box[:, 1].min())) - 3
        x0, y0 = max(0, x0), max(0, y0)  # the patch's origin, inside the view
        x1, y1 = int(np.ceil(box[:, 0].max())) + 4, int(np.ceil(box[:, 1].max())) + 4
        crops += eng.get_crop_img_list(_bgr(view, x0, y0, x1, y1), [box - np.float32((x0, y0))])
    return crops


def read_two(det_rgb: np.ndarray, detail: Callable[[], Any], *, threads: int,
             device: str = "cpu") -> list[RawLine]:
    """Text lines found on ``det_rgb`` and read from ``detail()``: a larger view of the same
    picture (``image.DetailView``), asked for only when there is text, read only around it
    (see above); boxes in ``det_rgb``'s pixels."""
    eng = engine(threads, device)
    small = _padded(np.ascontiguousarray(det_rgb[:, :, ::-1]))
    boxes, prob = _detect(eng, small)
    regions = _hot_regions(prob[:det_rgb.shape[0], :det_rgb.shape[1]], boxes)
    if not len(boxes) and not regions:
        return []
    view = detail()
    if isinstance(view, np.ndarray):  # a caller's whole larger copy: read it the same way
        from PIL import Image

        from ..image import DetailView

        view = DetailView(Image.fromarray(view), max(view.shape[:2]))
    vh, vw = view.shape[:2]
    sx, sy = vw / det_rgb.shape[1], vh / det_rgb.shape[0]
    found = [b * (sx, sy) for b in boxes]
    if regions:
        full = [(x0 * sx, y0 * sy, x1 * sx, y1 * sy) for x0, y0, x1, y1 in regions]
        found = [b for b in found if not _inside_any(b, full)]  # re-found below, at full size
        for x0, y0, x1, y1 in full:
            x0, y0 = int(x0), int(y0)
            more, _ = _detect(eng, _padded(_bgr(view, x0, y0, int(np.ceil(x1)), int(np.ceil(y1)))))
            found += [b + (x0, y0) for b in more if b[:, 0].max() > 0]
    if not found:
        return []
    dt = eng.sorted_boxes(np.asarray(found, np.float32))
    crops = _line_crops(eng, view, dt)
    rec, _ = eng.text_rec(crops)
    out: list[RawLine] = []
    for box, got in zip(dt, rec):
        text, score = str(got[0]).strip(), float(got[1])
        if text:
            out.append(RawLine(text, min(max(score, 0.0), 1.0), [(float(x) / sx, float(y) / sy) for x, y in box]))
    if vw * vh > 1_000_000:
        from .._memory import trim

        trim()
    return out


def read_lines(rgb: np.ndarray, *, language: str, min_score: float, settings: Any,
               detail: Callable[[], np.ndarray] | None = None) -> list[RawLine]:
    """The OCR backend interface (tasks/ocr.py): lines read with at least ``min_score``, boxes in
    ``rgb``'s pixels; with ``detail``, text found on ``rgb`` is read from that larger copy. One
    model reads Chinese and English, so ``language`` changes nothing here."""
    lines = (read_two(rgb, detail, threads=settings.threads, device=settings.device) if detail is not None
             else read(rgb, threads=settings.threads, device=settings.device))
    return [r for r in lines if r.confidence >= min_score]
