"""NudeNet 320n NSFW detector (YOLOv8n, 18 body-part classes) run with onnxruntime.

The ONNX file ships in the ``nudenet`` package (3.4.x), whose LICENSE file is AGPL-3.0, so it
is only the optional extra ``ocula[moderation]``. Its ``NudeDetector`` is not used: it decodes
files itself, and in 3.4.x its ``_read_image`` swaps red and blue twice (``COLOR_RGBA2BGR`` on
BGR input, then ``swapRB=True``), feeding the network BGR where it was trained on RGB
(upstream issue notAI-tech/NudeNet#203; the commit before it was right). Here the already
decoded RGB image is letterboxed the way NudeNet does (image at top-left, black padding to a
square, 320x320) and the detections are decoded with the same score cut (0.2) and
class-agnostic NMS (0.25 / IoU 0.45).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np

from ..errors import MissingDependency
from . import cached_model, ort_options

MODEL = "nudenet-320n"
PACKAGE = "nudenet"
WHAT = "NSFW moderation (NudeNet, AGPL-3.0)"
INSTALL = "pip install 'ocula[moderation]'"
INPUT = 320
CANDIDATE_SCORE = 0.2  # NudeNet's own cut before NMS
NMS_SCORE, NMS_IOU = 0.25, 0.45

# The network's output order (nudenet/nudenet.py, __labels).
LABELS: tuple[str, ...] = (
    "FEMALE_GENITALIA_COVERED", "FACE_FEMALE", "BUTTOCKS_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED", "MALE_BREAST_EXPOSED", "ANUS_EXPOSED", "FEET_EXPOSED",
    "BELLY_COVERED", "FEET_COVERED", "ARMPITS_COVERED", "ARMPITS_EXPOSED", "FACE_MALE",
    "BELLY_EXPOSED", "MALE_GENITALIA_EXPOSED", "ANUS_COVERED", "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)
# What makes an image unsafe: exposed genitalia, female breasts, buttocks, anus.
EXPLICIT: frozenset[str] = frozenset({
    "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "BUTTOCKS_EXPOSED", "ANUS_EXPOSED",
})


@dataclass(frozen=True)
class RawDetection:
    label: str
    score: float
    box: tuple[float, float, float, float]  # x, y, w, h in the input array's pixels


def is_installed() -> bool:
    try:
        return importlib.util.find_spec(PACKAGE) is not None
    except (ImportError, ValueError):
        return False


def require() -> None:
    if not is_installed():
        raise MissingDependency(WHAT, INSTALL)


def _session(threads: int):
    import onnxruntime as ort

    from ..models import package_file

    return ort.InferenceSession(str(package_file(MODEL)), ort_options(threads), providers=["CPUExecutionProvider"])


def session(threads: int):
    require()
    return cached_model((MODEL, threads), lambda: _session(threads))


def preprocess(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """Letterbox an RGB uint8 image into 1x3x320x320 float32; returns (blob, input px per image px)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = INPUT / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = rgb if (nw, nh) == (w, h) else cv2.resize(rgb, (nw, nh), interpolation=interp)
    canvas = np.zeros((INPUT, INPUT, 3), dtype=np.float32)
    canvas[:nh, :nw] = small.astype(np.float32) / 255.0
    return canvas.transpose(2, 0, 1)[None], scale


def detect(rgb: np.ndarray, threads: int) -> tuple[dict[str, float], list[RawDetection]]:
    """Highest score per label (over every anchor) and the NMS-kept detections."""
    import cv2

    sess = session(threads)
    blob, scale = preprocess(rgb)
    out = sess.run(None, {sess.get_inputs()[0].name: blob})[0]
    rows = out[0].T  # (anchors, 4 + classes): cx, cy, w, h in input pixels, then class scores
    cls = rows[:, 4:4 + len(LABELS)]
    scores = {label: float(s) for label, s in zip(LABELS, cls.max(axis=0))}

    best = cls.argmax(axis=1)
    best_score = cls[np.arange(len(cls)), best]
    keep = best_score >= CANDIDATE_SCORE
    if not keep.any():
        return scores, []
    h, w = rgb.shape[:2]
    cw, ch = w * scale, h * scale  # content area inside the padded square
    b = rows[keep, :4].astype(np.float64)
    x0 = np.clip(b[:, 0] - b[:, 2] / 2, 0, cw)
    y0 = np.clip(b[:, 1] - b[:, 3] / 2, 0, ch)
    x1 = np.clip(b[:, 0] + b[:, 2] / 2, 0, cw)
    y1 = np.clip(b[:, 1] + b[:, 3] / 2, 0, ch)
    boxes = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)
    kept_scores = best_score[keep].astype(np.float64)
    kept_labels = best[keep]
    idx = cv2.dnn.NMSBoxes(boxes.tolist(), kept_scores.tolist(), NMS_SCORE, NMS_IOU)
    dets = []
    for i in np.asarray(idx, dtype=np.int64).ravel():
        x, y, bw, bh = (v / scale for v in boxes[i])
        dets.append(RawDetection(LABELS[kept_labels[i]], float(kept_scores[i]), (x, y, bw, bh)))
    dets.sort(key=lambda d: -d.score)
    return scores, dets
