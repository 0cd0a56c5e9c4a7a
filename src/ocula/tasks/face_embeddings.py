"""Face embeddings: each face in an image as a 128-d vector that says who it is, with a
quality score that says how far the vector can be trusted.

Faces are found by the face detector (``tasks/faces.py``: MTCNN, or OpenCV's cascade when
MTCNN's weights are missing), aligned by dlib's 5-point landmark model inside each box and
embedded by dlib's ResNet (``backends/dlib_face.py``). Two faces whose embeddings lie less than
``people.cluster.THRESHOLD`` (0.5, Euclidean) apart are taken for the same person.

Detection runs on a working copy of at most 1280 px; the faces are cut from a copy large enough
to give each face up to ``EMBED_SIDE`` pixels (the full image when faces are small), so group
photos from 24 MP cameras keep their detail and portraits do not decode more than they need.

Faces are biometric data: nothing here leaves the process, and ``OCULA_PEOPLE=0`` switches
it off.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Iterator

import numpy as np

from ..backends import dlib_face
from ..config import Settings, get_settings
from ..errors import InvalidArgument, InvalidImage, OculaError
from ..image import ImageInput, LoadedImage, load_image
from ..people.quality import assess
from ..results import Face, FaceEmbedding, FaceEmbeddingsResult, FaceQuality, Failure, ImageInfo
from . import faces as detect

# A face is cut from pixels where it is at least this big (or as big as it is): the chip is
# 150 px wide with the face in its middle ~100 px, so more detail than this is thrown away.
EMBED_SIDE = 160
MAX_SIDE = detect.MAX_SIDE  # detection's working copy; faces are cut from a larger one when they need it
_END = object()
_NO_CHIPS = np.zeros((0, dlib_face.CHIP_SIZE, dlib_face.CHIP_SIZE, 3), np.uint8)


class PeopleOff(OculaError):
    def __init__(self) -> None:
        super().__init__("face recognition is switched off (OCULA_PEOPLE=0, or people = false in the config "
                         "file); unset it to compute face embeddings")


def _check_on(settings: Settings) -> None:
    if not settings.people:
        raise PeopleOff()


def _working_copy(source: ImageInput, loaded: LoadedImage, found: list[Face], settings: Settings) -> LoadedImage:
    """``loaded``, or a larger decode of ``source`` when a face needs more pixels than it has."""
    full_w, full_h = loaded.original_size
    have = loaded.width / full_w
    need = max((min(1.0, EMBED_SIDE / max(f.box[2], f.box[3])) for f in found), default=0.0)
    if need <= have * 1.01:
        return loaded
    side = math.ceil(max(full_w, full_h) * need)
    if loaded._again is not None:  # it knows its source (a file, a RAW, a video's keyframe): decoded again
        return loaded._again(side)
    if isinstance(source, LoadedImage):
        if source.path is None:
            return loaded  # decoded pixels only: they are all there is
        source = source.path
    if hasattr(source, "seek"):
        source.seek(0)
    return load_image(source, max_side=side, settings=settings)


def _prepare(source: ImageInput, detector: str | None, min_score: float, min_size: int, settings: Settings):
    """Detection and alignment of one image: (loaded, detector name, faces, chips, dlib points)."""
    loaded = load_image(source, max_side=MAX_SIDE, settings=settings)
    found = detect.faces(loaded, model=detector, min_score=min_score, min_size=min_size, settings=settings)
    return prepare_found(source, loaded, found.faces, found.model, settings)


def prepare_found(source: ImageInput, loaded: LoadedImage, found: list[Face], detector: str, settings: Settings):
    """Alignment of faces found already (by analyze's faces step, or regions read from XMP):
    (loaded, detector name, faces, chips, dlib points), what ``embed_prepared`` takes."""
    work = _working_copy(source, loaded, found, settings)
    scale = work.width / work.original_size[0]
    boxes = [(x * scale, y * scale, (x + w) * scale, (y + h) * scale) for x, y, w, h in (f.box for f in found)]
    chips, points = dlib_face.align(work.array(), boxes) if boxes else (_NO_CHIPS, np.zeros((0, 5, 2), np.float32))
    return loaded, detector, found, chips, points / scale


def embed_prepared(prepared: list[tuple], settings: Settings) -> list[FaceEmbeddingsResult]:
    """Embed the faces of several prepared images in one call (worker processes share it)."""
    chips = [p[3] for p in prepared]
    _check_on(settings)
    vectors = dlib_face.embed(np.concatenate(chips) if chips else _NO_CHIPS, settings)
    out, at = [], 0
    for loaded, name, found, chip, points in prepared:
        out.append(_result(loaded, name, found, chip, points, vectors[at:at + len(chip)]))
        at += len(chip)
    return out


def _result(loaded: LoadedImage, detector: str, found: list[Face], chips: np.ndarray, points: np.ndarray,
            vectors: np.ndarray) -> FaceEmbeddingsResult:
    out = []
    for face, chip, pts, vec in zip(found, chips, points, vectors):
        q = assess(float(max(face.box[2], face.box[3])), chip, face.landmarks)
        out.append(FaceEmbedding(
            **face.model_dump(), embedding=[round(float(v), 6) for v in vec],
            quality=FaceQuality(score=q.score, usable=q.usable, size=q.size, sharpness=q.sharpness, yaw=q.yaw,
                                pitch=q.pitch, reasons=q.reasons),
            alignment=[(round(float(x), 1), round(float(y), 1)) for x, y in pts]))
    return FaceEmbeddingsResult(image=ImageInfo.of(loaded), detector=detector, model=dlib_face.NAME, faces=out)


def _check(detector: str | None, min_score: float, min_size: int, settings: Settings) -> None:
    """Everything that is wrong for every image, before any decoding."""
    _check_on(settings)
    detect.check_options(min_score, min_size)
    detect.resolve_model(detector, settings)


def face_embeddings_many(images: Iterable[ImageInput], *, detector: str | None = None, min_score: float = 0.9,
                         min_size: int = 20, batch: int = 16, settings: Settings | None = None,
                         ) -> Iterator[tuple[Any, FaceEmbeddingsResult | Failure]]:
    """Embed the faces of many images, yielding (input, result or Failure) in input order. The
    faces of ``batch`` images at a time go to one embedding call (spread over
    ``settings.threads`` worker processes); a bad image yields a Failure and the rest go on."""
    settings = settings or get_settings()
    _check(detector, min_score, min_size, settings)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise InvalidArgument(f"batch must be a whole number of images >= 1, got {batch!r}")
    pending = []
    for source in [*images, _END]:
        if source is not _END:
            try:
                pending.append((source, _prepare(source, detector, min_score, min_size, settings)))
            except InvalidImage as e:  # anything else (a missing model) stops the batch
                pending.append((source, Failure(source=e.source, error=e.reason, kind="InvalidImage")))
            if len(pending) < batch:
                continue
        done = iter(embed_prepared([p for _src, p in pending if not isinstance(p, Failure)], settings))
        for src, p in pending:
            yield src, p if isinstance(p, Failure) else next(done)
        pending = []


def face_embeddings(image: ImageInput, *, detector: str | None = None, min_score: float = 0.9, min_size: int = 20,
                    settings: Settings | None = None) -> FaceEmbeddingsResult:
    """Find the faces in ``image`` and embed each one; faces in the detector's order (most
    confident first). An image without faces gives an empty ``faces`` list."""
    settings = settings or get_settings()
    _check(detector, min_score, min_size, settings)
    return embed_prepared([_prepare(image, detector, min_score, min_size, settings)], settings)[0]
