"""Tesseract 5 (LSTM) as the second OCR engine: the ``tesseract`` program with the Debian
language data ``eng`` and ``chi_sim``.

The program is run directly (``tesseract stdin stdout ... tsv``, image piped in as PPM) rather
than through pytesseract, for one reason: the Debian build uses OpenMP, and with its default
thread pool a page took 5-8 s instead of 1.2 s on a busy 2-core machine (spin-waiting threads).
``OMP_THREAD_LIMIT=1`` fixes that, and only a child environment of our own can set it without
touching the OpenMP runtime of this process (torch reads the same variable). Piping also
avoids pytesseract's temporary files.

Words come from the TSV output (level 5) and are grouped into lines by Tesseract's own
(block, paragraph, line) numbers. Tesseract separates CJK characters with spaces; those
spaces are removed. Confidence is Tesseract's word confidence / 100.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import ModelUnavailable, OculaError
from ..vocabulary import is_han_or_punctuation
from . import RawLine

MODEL = "tesseract"
INSTALL = "apt-get install -y tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim"
# Language data per ``language`` option. chi_sim first: with "eng+chi_sim" Chinese lines
# came out ~5x worse on the rendered set while English stayed perfect either way. "zh" alone
# is chi_sim only: as accurate on Chinese and ~30% faster (it reads digits and some Latin).
LANGS = {"auto": "chi_sim+eng", "en": "eng", "zh": "chi_sim"}
# Page segmentation: 11 = sparse text, any layout. The default (3, full page analysis) broke
# short Chinese lines into scattered one-character blocks (CER 0.28 vs 0.01); reading order is
# rebuilt from the boxes by the task anyway.
PSM = 11
TIMEOUT_S = 120


def _program() -> str:
    exe = shutil.which("tesseract")
    if exe is None:
        raise ModelUnavailable(MODEL, "the tesseract program is not installed", INSTALL)
    return exe


@lru_cache(maxsize=4)
def _languages(exe: str) -> frozenset[str]:
    try:
        proc = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        raise ModelUnavailable(MODEL, f"`tesseract --list-langs` failed ({e})", INSTALL) from None
    return frozenset(ln.strip() for ln in proc.stdout.splitlines()[1:] if ln.strip())


def check(language: str = "auto") -> str:
    """The program's path, after checking the language data ``language`` needs is installed."""
    exe = _program()
    need = LANGS[language].split("+")
    missing = [lang for lang in need if lang not in _languages(exe)]
    if missing:
        pkgs = " ".join("tesseract-ocr-" + m.replace("_", "-") for m in missing)
        raise ModelUnavailable(MODEL, f"tesseract language data {', '.join(missing)} is not installed",
                               f"apt-get install -y {pkgs}")
    return exe


def _ppm(rgb: np.ndarray) -> bytes:
    h, w = rgb.shape[:2]
    buf = io.BytesIO()
    buf.write(f"P6\n{w} {h}\n255\n".encode("ascii"))
    buf.write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
    return buf.getvalue()


def join_words(words: list[str]) -> str:
    """Words joined with spaces, except between two CJK characters (or CJK punctuation)."""
    out = ""
    for w in words:
        if out and not (is_han_or_punctuation(out[-1]) and is_han_or_punctuation(w[0])):
            out += " "
        out += w
    return out


def parse_tsv(tsv: str, min_confidence: float = 0.0) -> list[RawLine]:
    """Lines from Tesseract's TSV: words grouped by (block, paragraph, line), in Tesseract's order.
    Words under ``min_confidence`` (0..1) are dropped before grouping."""
    lines: dict[tuple[int, int, int], list[tuple[str, float, int, int, int, int]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t", 11)
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        try:
            conf = float(cols[10])
            left, top, width, height = (int(c) for c in cols[6:10])
            key = (int(cols[2]), int(cols[3]), int(cols[4]))
        except ValueError:
            continue
        if not text or conf < 0:
            continue
        conf = min(max(conf / 100.0, 0.0), 1.0)
        if conf < min_confidence:
            continue
        lines.setdefault(key, []).append((text, conf, left, top, width, height))
    out = []
    for words in lines.values():
        text = join_words([w[0] for w in words])
        weights = [len(w[0]) for w in words]
        conf = sum(w[1] * n for w, n in zip(words, weights)) / sum(weights)
        x0 = min(w[2] for w in words)
        y0 = min(w[3] for w in words)
        x1 = max(w[2] + w[4] for w in words)
        y1 = max(w[3] + w[5] for w in words)
        out.append(RawLine(text, conf, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]))
    return out


def read(rgb: np.ndarray, *, language: str = "auto", min_confidence: float = 0.0,
         psm: int = PSM) -> list[RawLine]:
    """Text lines in an HxWx3 uint8 RGB array, boxes in that array's pixels."""
    exe = check(language)
    env = dict(os.environ)
    env.setdefault("OMP_THREAD_LIMIT", "1")
    cmd = [exe, "stdin", "stdout", "-l", LANGS[language], "--psm", str(psm), "tsv"]
    try:
        proc = subprocess.run(cmd, input=_ppm(rgb), capture_output=True, env=env, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise OculaError(f"tesseract took longer than {TIMEOUT_S} s on this image; "
                         "try the rapidocr engine or a smaller image") from None
    except OSError as e:
        raise ModelUnavailable(MODEL, f"the tesseract program could not be run ({e})", INSTALL) from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OculaError(f"tesseract failed (exit {proc.returncode}): {err[-1] if err else 'no message'}")
    return parse_tsv(proc.stdout.decode("utf-8", "replace"), min_confidence)


def read_lines(rgb: np.ndarray, *, language: str, min_score: float, settings: Any,
               detail: Any = None) -> list[RawLine]:
    """The OCR backend interface (tasks/ocr.py): lines read with at least ``min_score``, boxes in
    ``rgb``'s pixels. Tesseract finds and reads text in one pass, so it works on the larger
    ``detail()`` copy when there is one."""
    big = np.asarray(detail()) if detail is not None else rgb
    sx, sy = big.shape[1] / rgb.shape[1], big.shape[0] / rgb.shape[0]
    lines = read(big, language=language, min_confidence=min_score)
    if (sx, sy) == (1.0, 1.0):
        return lines
    return [RawLine(r.text, r.confidence, [(x / sx, y / sy) for x, y in r.box]) for r in lines]
