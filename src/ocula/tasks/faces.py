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


from ..backends import mtcnn
from ..config import Settings, get_settings
from ..errors import InvalidArgument, ModelUnavailable, UnknownModel
from ..image import ImageInput, load_image
from ..models import catalog
from ..results import Face, FacesResult, ImageInfo

# Faces of ~20 px are still found in a 1280 px working copy of a 4000 px photo of a group
# (~60 px faces there); beyond that the pyramid costs more than it finds.
MAX_SIDE: int | None = 1280
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

    found = []
    for box, score, points in backend.detect_faces(loaded, rgb, min_face, settings, MAX_SIDE):
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
