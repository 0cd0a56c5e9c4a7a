"""Face detection: where the faces are, how sure, and (MTCNN) five landmarks per face.

Two detectors:
- ``mtcnn``: P-/R-/O-Net with the weights inside the ``facenet-pytorch`` wheel; boxes, scores
  and landmarks. The default when that package is installed.
- ``haar-frontalface``: OpenCV's Haar cascade; frontal faces only, no landmarks, more false
  alarms. Needs nothing beyond opencv, so it is the fallback.

Detection runs on the image reduced to ``MAX_SIDE``; where it finds a small face (a group, a
crowd, someone far away) it looks again around it in a copy up to ``DETAIL_SIDE`` long, where
the faces next to it that were too small to see become visible. Boxes and landmarks are
returned in the pixels of the full image (``result.image.width`` x ``height``).
"""

from __future__ import annotations

import math

import numpy as np

from ..backends import mtcnn
from ..config import Settings, get_settings
from ..geometry import merge_overlapping, overlap
from ..errors import InvalidArgument, ModelUnavailable, UnknownModel
from ..image import ImageInput, load_image
from ..models import catalog
from ..results import Face, FacesResult, ImageInfo

# Measured on 40 12 MP photos (2-5 faces of 45-230 px in a third of them): MTCNN found 46 faces
# at 1280 px (713 ms/photo on one thread), 41 at 1024 (367 ms) and 800 (264 ms); the five lost
# at 1024 were the smallest, the ones next to other small faces. The second pass around small
# faces brings them back at a cost paid only by photos that have small faces.
MAX_SIDE: int | None = 1024
DETAIL_SIDE = 2048
# A face under SMALL px in the working copy is near the detector's 12 px window: its neighbours
# may be just under it. The second pass looks at REACH face sides around it.
SMALL = 24
REACH = 4.0
SAME_FACE = 0.3  # boxes overlapping this much (IoU) are one face seen twice
MODELS: tuple[str, ...] = tuple(catalog.names("faces"))
AUTO = catalog.AUTO
# The smallest face each detector can see in the working copy: P-Net's 12 px window,
# the cascade's 24 px window.
_MIN_WINDOW = {"mtcnn": 12, "haar-frontalface": 24}


def _available(spec) -> bool:
    return catalog.load_backend(spec).is_available()


def resolve_model(model: str | None, settings: Settings) -> str:
    """The detector to run: an explicit name, else the setting; ``auto`` picks the catalogue's
    default (MTCNN) when its weights are installed, else the next detector that is."""
    name = model if model is not None else settings.face_detector
    try:
        spec = catalog.choose("faces", name, _available)
    except UnknownModel:
        raise UnknownModel(name, [AUTO, *MODELS], task="faces") from None
    if not _available(spec):
        backend = catalog.load_backend(spec)
        raise ModelUnavailable(spec.name, getattr(backend, "MISSING", "its files are not installed"),
                               spec.install)
    return spec.name


def check_options(min_score: float, min_size: int) -> None:
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0 <= min_score <= 1:
        raise InvalidArgument(f"min_score must be a number from 0 to 1, got {min_score!r}")
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 1:
        raise InvalidArgument(f"min_size must be a whole number of pixels >= 1, got {min_size!r}")


def faces(image: ImageInput, *, model: str | None = None, min_score: float = 0.9, min_size: int = 20,
          settings: Settings | None = None) -> FacesResult:
    """Detect faces. ``min_score``: drop faces scored below it (0..1). ``min_size``: smallest face
    side sought, in pixels of the full image (floored at what the working copy can show)."""
    settings = settings or get_settings()
    check_options(min_score, min_size)
    name = resolve_model(model, settings)  # first: a bad name fails before decoding
    backend = catalog.load_backend(catalog.get_spec(name, "faces"))

    loaded = load_image(image, max_side=MAX_SIDE, settings=settings)
    rgb = loaded.array(MAX_SIDE)
    full_w, full_h = loaded.original_size
    # the working copy may come from a reduced JPEG decode and a resize: map back to full size
    sx, sy = full_w / rgb.shape[1], full_h / rgb.shape[0]
    min_face = max(float(_MIN_WINDOW[name]), min_size / max(sx, sy))

    detected = backend.detect_faces(rgb, min_face, settings)
    detected = _look_closer(backend, loaded, rgb, detected, _MIN_WINDOW[name], min_size, settings)
    found = []
    for box, score, points in detected:
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


def _look_closer(backend, loaded, rgb: np.ndarray, detected: list, window: int, min_size: int,
                 settings: Settings) -> list:
    """``detected`` plus the faces found again around small ones in a larger copy, all in
    ``rgb``'s pixels; a face seen in both keeps the larger copy's box (more pixels, better
    landmarks). Nothing happens without a small face or when ``rgb`` is the full image."""
    small = [box for box, _, _ in detected if max(box[2] - box[0], box[3] - box[1]) < SMALL]
    full_side = max(loaded.original_size)
    if not small or full_side <= max(rgb.shape[:2]) * 1.25:
        return detected
    big = loaded.detail_view(DETAIL_SIDE)  # only the areas around small faces are made
    k = big.shape[1] / rgb.shape[1]
    if k < 1.25:
        return detected
    h, w = rgb.shape[:2]
    areas = []
    for x0, y0, x1, y1 in small:
        r = REACH * max(x1 - x0, y1 - y0)
        areas.append((max(0.0, x0 - r), max(0.0, y0 - r), min(float(w), x1 + r), min(float(h), y1 + r)))
    min_face = max(float(window), min_size * big.shape[1] / loaded.original_size[0])
    closer = []
    for ax0, ay0, ax1, ay1 in merge_overlapping(areas):
        X0, Y0, X1, Y1 = int(ax0 * k), int(ay0 * k), int(math.ceil(ax1 * k)), int(math.ceil(ay1 * k))
        crop = big.patch(X0, Y0, X1, Y1)
        for (bx0, by0, bx1, by1), score, points in backend.detect_faces(crop, min_face, settings):
            # a face the crop cuts through is found whole by the first pass or another crop
            if ((bx0 < 2 and X0 > 0) or (by0 < 2 and Y0 > 0) or (bx1 > crop.shape[1] - 2 and X1 < big.shape[1])
                    or (by1 > crop.shape[0] - 2 and Y1 < big.shape[0])):
                continue
            box = ((bx0 + X0) / k, (by0 + Y0) / k, (bx1 + X0) / k, (by1 + Y0) / k)
            if points is not None:
                points = (np.asarray(points, np.float32) + (X0, Y0)) / k
            closer.append((box, score, points))
    kept = [d for d in detected if not any(overlap(d[0], c[0]) >= SAME_FACE for c in closer)]
    return kept + closer
