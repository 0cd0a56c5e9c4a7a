"""OCR: the text in an image, line by line in reading order, Chinese and English.

Two engines:
- ``rapidocr`` (default): PP-OCRv4 detection + recognition on onnxruntime; one model reads
  Chinese and English, so ``language`` only matters to Tesseract.
- ``tesseract``: Tesseract 5 with ``eng`` / ``chi_sim`` data (system packages).

Both give line boxes with confidences; the lines are then put in reading order here, the
same way for both engines (``reading_order``): blocks separated by wide horizontal gaps are
read top to bottom, clear text columns left to right, and boxes on one row are joined into
one line, left to right. Boxes are in the pixels of the full, orientation-corrected image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median
from typing import Sequence

from ..config import Settings, get_settings
from ..deprecation import renamed
from ..errors import InvalidArgument
from ..image import ImageInput, load_image
from ..models import catalog
from ..results import ImageInfo, OCRResult, TextLine
from ..vocabulary import is_han
from . import registry

# Text is found on a copy at most DET_SIDE on its longer side and read from one at most
# READ_SIDE (decoded again for it only when text was found; see ``LoadedImage.detail``).
# READ_SIDE, measured on a 6000x4000 JPEG page with lines of 24-80 px text: at 2560 RapidOCR
# read every line of >= 32 px text (CER 0.00; 2048: 0.06 on a 40 px line, 1536: 0.25 on 32
# px); Tesseract read even 24 px text at 2560 (2048: 0.08) in 1/3 of its full-size time, where
# full size also broke the 80 px lines (0.37). DET_SIDE: finding text needs far fewer pixels
# than reading it; where the small copy shows likely text too small to box, the backend finds
# it again on crops of the large copy (backends/rapidocr.py), so a photo without text costs one
# detector pass at 1024 px instead of one at 2000.
READ_SIDE = 2560
DET_SIDE = 1024
MAX_SIDE: int | None = DET_SIDE  # what analyze decodes for this step
# the catalogue's OCR models, by the short names the settings and results use (rapidocr, tesseract)
ENGINES: tuple[str, ...] = tuple((s.aliases or [s.name])[0] for s in catalog.list_specs("ocr"))
# Neither engine reads a line of text under about 8 px; a working copy thinner than that (a
# 100000x1 strip) holds none, and is not worth an engine's time.
MIN_TEXT_PX = 8
LANGUAGES = ("auto", "en", "zh")


@dataclass
class _Item:
    text: str
    confidence: float
    box: list[tuple[float, float]]
    x0: float
    x1: float
    cy: float
    height: float  # text height along the box's side, not the axis-aligned extent

    @property
    def top(self) -> float:
        return self.cy - self.height / 2

    @property
    def bottom(self) -> float:
        return self.cy + self.height / 2

    @property
    def width(self) -> float:
        return self.x1 - self.x0


def _item(text: str, confidence: float, box: Sequence[tuple[float, float]]) -> _Item:
    pts = [(float(x), float(y)) for x, y in box]
    xs = [p[0] for p in pts]
    (tlx, tly), (trx, try_), (brx, bry), (blx, bly) = pts
    height = (math.hypot(blx - tlx, bly - tly) + math.hypot(brx - trx, bry - try_)) / 2
    cy = sum(p[1] for p in pts) / 4
    return _Item(text, confidence, pts, min(xs), max(xs), cy, max(height, 1.0))


def detect_language(text: str) -> str:
    """en, zh, mixed or und, from the share of CJK characters among CJK + Latin letters."""
    cjk = sum(1 for c in text if is_han(c))
    latin = sum(1 for c in text if ("a" <= c <= "z") or ("A" <= c <= "Z") or ("\u00c0" <= c <= "\u024f"))
    if cjk + latin == 0:
        return "und"
    share = cjk / (cjk + latin)
    if share >= 0.8:
        return "zh"
    if share <= 0.2:
        return "en"
    return "mixed"


# --- reading order --------------------------------------------------------------------------

def _gaps(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Empty intervals between the union of ``spans``: (start, end) of each gap."""
    spans = sorted(spans)
    out = []
    reach = spans[0][1]
    for lo, hi in spans[1:]:
        if lo > reach:
            out.append((reach, lo))
        reach = max(reach, hi)
    return out


def _column_cut(items: list[_Item], unit: float) -> tuple[float, float] | None:
    """(width, x) of the widest gutter that splits ``items`` into two columns of running
    text, else None.

    Only wide gutters between prose-like blocks count: a price column beside item names
    (receipts, tables) stays part of each row."""
    best = None
    for lo, hi in _gaps([(it.x0, it.x1) for it in items]):
        if hi - lo < unit:
            continue
        cut = (lo + hi) / 2
        left = [it for it in items if it.x1 <= cut]
        right = [it for it in items if it.x0 >= cut]
        if min(len(left), len(right)) < 2:
            continue
        if min(median(it.width for it in left), median(it.width for it in right)) < 4 * unit:
            continue
        if best is None or hi - lo > best[0]:
            best = (hi - lo, cut)
    return best


def _group_rows(items: list[_Item]) -> list[list[_Item]]:
    """Boxes whose vertical extents overlap by half the smaller height share a row."""
    rows: list[list[_Item]] = []
    for it in sorted(items, key=lambda i: i.cy):
        best, best_overlap = None, 0.0
        for row in rows:
            top = median(r.top for r in row)
            bottom = median(r.bottom for r in row)
            overlap = min(bottom, it.bottom) - max(top, it.top)
            if overlap >= 0.5 * min(bottom - top, it.height) and overlap > best_overlap:
                best, best_overlap = row, overlap
        if best is None:
            rows.append([it])
        else:
            best.append(it)
    rows.sort(key=lambda row: median(r.cy for r in row))
    return [sorted(row, key=lambda r: r.x0) for row in rows]


def _xy_cut(items: list[_Item], unit: float) -> list[list[_Item]]:
    if len(items) <= 1:
        return [items] if items else []
    y_gaps = _gaps([(it.top, it.bottom) for it in items])
    widest = max((hi - lo for lo, hi in y_gaps), default=0.0)
    col = _column_cut(items, unit)
    if col is not None and col[0] > widest:
        left = [it for it in items if it.x1 <= col[1]]
        right = [it for it in items if it.x0 >= col[1]]
        return _xy_cut(left, unit) + _xy_cut(right, unit)
    if y_gaps:
        # split at the widest gaps first (paragraphs, blocks), then recurse; within a block
        # the remaining gaps are line spacing, and columns get their chance there
        cuts = [(lo + hi) / 2 for lo, hi in y_gaps if hi - lo >= 0.8 * widest]
        bands: list[list[_Item]] = [[] for _ in range(len(cuts) + 1)]
        for it in items:
            bands[sum(1 for c in cuts if it.cy > c)].append(it)
        return [row for band in bands for row in _xy_cut(band, unit)]
    return _group_rows(items)


def reading_order(items: list[_Item]) -> list[list[_Item]]:
    """Rows of boxes in reading order, each row left to right."""
    if not items:
        return []
    unit = median(it.height for it in items)
    return _xy_cut(items, unit)


def _join(row: list[_Item]) -> str:
    out = ""
    for it in row:
        if out and not (is_han(out[-1]) and is_han(it.text[0])):
            out += " "
        out += it.text
    return out


# --- entry point ----------------------------------------------------------------------------

def _check(model: str | None, language: str, min_score: float, settings: Settings) -> str:
    name = model if model is not None else settings.ocr_engine
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in ENGINES:
        raise InvalidArgument(f"unknown OCR engine {name!r}; choose one of: {', '.join(ENGINES)}")
    if language not in LANGUAGES:
        raise InvalidArgument(f"unknown OCR language {language!r}; choose one of: {', '.join(LANGUAGES)}")
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0 <= min_score <= 1:
        raise InvalidArgument(f"min_score must be a number from 0 to 1, got {min_score!r}")
    return key


@renamed(**registry.old_names("ocr"))
def ocr(image: ImageInput, *, model: str | None = None, language: str = "auto", min_score: float = 0.5,
        settings: Settings | None = None) -> OCRResult:
    """Read the text in ``image``.

    ``model``: rapidocr or tesseract (default: the ``ocr_engine`` setting).
    ``language``: auto, en or zh; picks Tesseract's language data (RapidOCR reads both always).
    ``min_score``: drop text the engine is less sure of (0..1; Tesseract: per word).
    """
    settings = settings or get_settings()
    name = _check(model, language, min_score, settings)
    backend = catalog.load_backend(catalog.get_spec(name, "ocr"))
    if hasattr(backend, "check"):
        backend.check(language)  # a missing program or language fails before the image is decoded
    loaded = load_image(image, max_side=DET_SIDE, settings=settings)
    rgb = loaded.array(DET_SIDE)
    full_w, full_h = loaded.original_size
    if min(full_w, full_h) * min(1.0, READ_SIDE / max(full_w, full_h)) < MIN_TEXT_PX:
        raw = []  # thinner than a line of text even at the reading size
    else:
        # boxes in the pixels of ``rgb``; the backend reads from ``detail()`` where it found text
        raw = backend.read_lines(rgb, language=language, min_score=min_score, settings=settings,
                                 detail=lambda: loaded.detail_view(READ_SIDE))

    sx, sy = full_w / rgb.shape[1], full_h / rgb.shape[0]
    lines: list[TextLine] = []
    for row in reading_order([_item(r.text, r.confidence, r.box) for r in raw]):
        text = _join(row)
        if not any(ch.isalnum() for ch in text):  # "|", "=", "»": edges and texture read as symbols
            continue
        if len(row) == 1:
            pts = row[0].box
        else:  # several boxes on one row: their enclosing rectangle
            ys = [p[1] for it in row for p in it.box]
            x0, x1 = min(it.x0 for it in row), max(it.x1 for it in row)
            pts = [(x0, min(ys)), (x1, min(ys)), (x1, max(ys)), (x0, max(ys))]
        box = [(min(max(x * sx, 0.0), full_w), min(max(y * sy, 0.0), full_h)) for x, y in pts]
        left = int(math.floor(min(p[0] for p in box)))
        top = int(math.floor(min(p[1] for p in box)))
        right = min(int(math.ceil(max(p[0] for p in box))), full_w)
        bottom = min(int(math.ceil(max(p[1] for p in box))), full_h)
        weights = [max(len(it.text), 1) for it in row]
        conf = sum(it.confidence * w for it, w in zip(row, weights)) / sum(weights)
        lines.append(TextLine(text=text, confidence=round(min(max(conf, 0.0), 1.0), 4),
                              box=[(round(x, 1), round(y, 1)) for x, y in box],
                              bbox=(left, top, max(right - left, 0), max(bottom - top, 0)),
                              order=len(lines), language=detect_language(text)))
    full_text = "\n".join(ln.text for ln in lines)
    return OCRResult(image=ImageInfo.of(loaded), model=name, lines=lines, text=full_text,
                     language=detect_language(full_text))
