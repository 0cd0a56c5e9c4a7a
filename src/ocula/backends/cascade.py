"""OpenCV Haar cascade face detector: the fallback that needs nothing beyond opencv.

Frontal faces only, no landmarks, more false alarms than MTCNN (coins, round textures).
OpenCV 5 dropped the cascade files, hence ``opencv-python-headless<5`` in the dependencies.
"""

from __future__ import annotations

import math
import threading
from typing import Any
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelUnavailable

CASCADE_FILE = "haarcascade_frontalface_default.xml"
MISSING = "OpenCV's Haar cascade file was not found (OpenCV 5 no longer ships the Haar cascades)"
# The last of the cascade's 25 stages accepts a window when its sum exceeds about -2.99;
# true frontal faces score 4..6 on it, coins and round textures up to ~4.5, weak hits 0..2.
# A logistic centred at 1.5 puts 0.9 (the default min_score) at a stage sum of ~3.7.
_CENTRE = 1.5
_SPREAD = 1.0


def cascade_path() -> Path | None:
    try:
        import cv2
    except ImportError:
        return None
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if not folder:
        return None
    path = Path(folder) / CASCADE_FILE
    return path if path.is_file() else None


def weight_to_score(weight: float) -> float:
    """Map the final-stage sum (OpenCV's ``levelWeights``) to 0..1."""
    return 1.0 / (1.0 + math.exp(-(weight - _CENTRE) / _SPREAD))


@dataclass
class HaarDetections:
    boxes: np.ndarray   # (N, 4) x, y, w, h in the input array's pixels
    scores: np.ndarray  # (N,)


class HaarFaceDetector:
    def __init__(self) -> None:
        import cv2

        path = cascade_path()
        if path is None:
            raise ModelUnavailable("haar-frontalface", f"OpenCV's {CASCADE_FILE} was not found "
                                   "(OpenCV 5 no longer ships the Haar cascades)",
                                   'pip install "opencv-python-headless>=4.10,<5"')
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise ModelUnavailable("haar-frontalface", f"{path} could not be loaded",
                                   'pip install --force-reinstall "opencv-python-headless>=4.10,<5"')
        # a CascadeClassifier keeps per-call scratch state: one caller at a time
        self._lock = threading.Lock()

    def detect(self, gray: np.ndarray, min_face: int = 24, scale_factor: float = 1.1,
               min_neighbors: int = 5) -> HaarDetections:
        """Faces in an HxW uint8 greyscale array."""
        size = max(1, int(min_face))
        with self._lock:
            rects, _levels, weights = self._cascade.detectMultiScale3(
                np.ascontiguousarray(gray), scaleFactor=scale_factor, minNeighbors=min_neighbors,
                minSize=(size, size), outputRejectLevels=True)
        if len(rects) == 0:
            return HaarDetections(np.zeros((0, 4), np.int32), np.zeros(0, np.float32))
        scores = np.array([weight_to_score(float(w)) for w in np.ravel(weights)], np.float32)
        return HaarDetections(np.asarray(rects, np.int32).reshape(-1, 4), scores)


def is_available() -> bool:
    return cascade_path() is not None


def detect_faces(rgb: np.ndarray, min_face: float, settings: Any):
    """(box x0,y0,x1,y1, score, landmarks or None) per face of at least ``min_face`` px in
    ``rgb``; the cascade reads its greyscale (ITU-R 601 luma, as Pillow's "L")."""
    import cv2

    from . import cached_model, configure_threads

    detector = cached_model(("faces", "haar-frontalface"), HaarFaceDetector)
    configure_threads(settings.threads)
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    det = detector.detect(gray, min_face=int(round(min_face)))
    return [((float(x), float(y), float(x + w), float(y + h)), float(s), None)
            for (x, y, w, h), s in zip(det.boxes, det.scores)]
