"""Face detection: where the faces are, how sure, and (MTCNN) five landmarks per face.

Two detectors:
- ``mtcnn``: P-/R-/O-Net with the weights inside the ``facenet-pytorch`` wheel; boxes, scores
  and landmarks. The default when that package is installed.
- ``haar-frontalface``: OpenCV's Haar cascade; frontal faces only, no landmarks, more false
  alarms. Needs nothing beyond opencv, so it is the fallback.

Detection runs on the image reduced to ``MAX_SIDE``; boxes and landmarks are returned in the
pixels of the full image (``result.image.width`` x ``height``).
"""

from __future__ import annotations

import math

import numpy as np

from ..backends import cached_model, configure_threads, mtcnn
from ..config import Settings, get_settings
from ..errors import InvalidArgument, ModelUnavailable, UnknownModel
from ..image import ImageInput, load_image
from ..results import Face, FacesResult, ImageInfo

# Faces of ~20 px are still found in a 1280 px working copy of a 4000 px photo of a group
# (~60 px faces there); beyond that the pyramid costs more than it finds.
MAX_SIDE: int | None = 1280
MODELS = ("mtcnn", "haar-frontalface")
AUTO = "auto"
# The smallest face each detector can see in the working copy: P-Net's 12 px window,
# the cascade's 24 px window.
_MIN_WINDOW = {"mtcnn": 12, "haar-frontalface": 24}


def resolve_model(model: str | None, settings: Settings) -> str:
    """The detector to run: an explicit name, else the setting; ``auto`` picks MTCNN when its
    weights are installed."""
    name = (model if model is not None else settings.face_detector).strip().lower()
    if name == AUTO:
        return "mtcnn" if mtcnn.is_available() else "haar-frontalface"
    if name not in MODELS:
        raise UnknownModel(name, [AUTO, *MODELS], task="faces")
    if name == "mtcnn" and not mtcnn.is_available():
        raise ModelUnavailable("mtcnn", f"{mtcnn.PACKAGE} (which carries the MTCNN weights) is not installed",
                               mtcnn.INSTALL)
    return name


def faces(image: ImageInput, *, model: str | None = None, min_score: float = 0.9, min_size: int = 20,
          settings: Settings | None = None) -> FacesResult:
    """Detect faces. ``min_score``: drop faces scored below it (0..1). ``min_size``: smallest face
    side sought, in pixels of the full image (floored at what the working copy can show)."""
    settings = settings or get_settings()
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0 <= min_score <= 1:
        raise InvalidArgument(f"min_score must be a number from 0 to 1, got {min_score!r}")
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 1:
        raise InvalidArgument(f"min_size must be a whole number of pixels >= 1, got {min_size!r}")
    name = resolve_model(model, settings)
    detect = _mtcnn if name == "mtcnn" else _haar  # resolve first: a bad name fails before decoding

    loaded = load_image(image, max_side=MAX_SIDE, settings=settings)
    rgb = loaded.array(MAX_SIDE)
    full_w, full_h = loaded.original_size
    # the working copy may come from a reduced JPEG decode and a resize: map back to full size
    sx, sy = full_w / rgb.shape[1], full_h / rgb.shape[0]
    min_face = max(float(_MIN_WINDOW[name]), min_size / max(sx, sy))

    found = []
    for box, score, points in detect(loaded, rgb, min_face, settings):
        if score < min_score:
            continue
        x0, y0, x1, y1 = box
        x0 = min(max(x0 * sx, 0.0), full_w)
        x1 = min(max(x1 * sx, 0.0), full_w)
        y0 = min(max(y0 * sy, 0.0), full_h)
        y1 = min(max(y1 * sy, 0.0), full_h)
        left, top = int(math.floor(x0)), int(math.floor(y0))
        w, h = int(math.ceil(x1)) - left, int(math.ceil(y1)) - top
        if w < 1 or h < 1:
            continue
        landmarks = None
        if points is not None:
            landmarks = {k: (round(min(max(float(px) * sx, 0.0), full_w), 1),
                             round(min(max(float(py) * sy, 0.0), full_h), 1))
                         for k, (px, py) in zip(mtcnn.LANDMARK_NAMES, points)}
        found.append(Face(box=(left, top, w, h), score=round(min(max(float(score), 0.0), 1.0), 4),
                          landmarks=landmarks))
    found.sort(key=lambda f: (-f.score, -f.box[2] * f.box[3]))
    return FacesResult(image=ImageInfo.of(loaded), model=name, faces=found)


def _mtcnn(loaded, rgb: np.ndarray, min_face: float, settings: Settings):
    detector = cached_model(("faces", "mtcnn", settings.device), lambda: mtcnn.MTCNN(settings.device))
    configure_threads(settings.threads)
    det = detector.detect(rgb, min_face=min_face)
    return [(tuple(map(float, b)), float(s), p) for b, s, p in zip(det.boxes, det.scores, det.points)]


def _haar(loaded, rgb: np.ndarray, min_face: float, settings: Settings):
    from ..backends.cascade import HaarFaceDetector

    detector = cached_model(("faces", "haar-frontalface"), HaarFaceDetector)
    configure_threads(settings.threads)
    gray = loaded.gray(MAX_SIDE)
    det = detector.detect(gray, min_face=int(round(min_face)))
    return [((float(x), float(y), float(x + w), float(y + h)), float(s), None)
            for (x, y, w, h), s in zip(det.boxes, det.scores)]
