from __future__ import annotations

import importlib.util
import time

import numpy as np
import pytest
from PIL import Image

from ocula.backends import nudenet as backend
from ocula.errors import InvalidArgument, MissingDependency
from ocula.tasks.moderate import moderate

needs_nudenet = pytest.mark.skipif(importlib.util.find_spec("nudenet") is None,
                                   reason="nudenet is not installed (pip install 'ocula[moderation]')")

SAMPLES = ["chelsea", "coffee", "astronaut", "rocket", "china", "flower", "coins", "text", "grace_hopper"]
# NudeNet's FACE_FEMALE box on astronaut.jpg (512x512), x, y, w, h
ASTRONAUT_FACE = (173, 83, 101, 96)


def _iou(a, b) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@needs_nudenet
def test_samples_are_safe(samples):
    timings = []
    for name in SAMPLES:
        t0 = time.perf_counter()
        res = moderate(samples / f"{name}.jpg")
        timings.append(time.perf_counter() - t0)
        assert res.unsafe is False, (name, res.scores)
        assert res.model == "nudenet-320n" and res.threshold == 0.5
        assert set(res.scores) == set(backend.LABELS) and len(res.scores) == 18
        assert all(0 <= v <= 1 for v in res.scores.values())
        assert max(res.scores[k] for k in backend.EXPLICIT) < 0.5
    print(f"\nmoderate: {1000 * float(np.median(timings[1:])):.0f} ms/image (median, after the first)")


@needs_nudenet
def test_faces_are_found_in_image_coordinates(samples):
    res = moderate(samples / "astronaut.jpg")
    assert res.scores["FACE_FEMALE"] > 0.6
    face = next(d for d in res.detections if d.label == "FACE_FEMALE")
    assert _iou(face.box, ASTRONAUT_FACE) > 0.8

    # the same photo at twice the size: boxes are in the full image's pixels
    big = Image.open(samples / "astronaut.jpg").resize((1024, 1024), Image.Resampling.BICUBIC)
    res2 = moderate(big)
    assert (res2.image.width, res2.image.height) == (1024, 1024)
    face2 = next(d for d in res2.detections if d.label == "FACE_FEMALE")
    assert _iou(face2.box, tuple(2 * v for v in ASTRONAUT_FACE)) > 0.8


@needs_nudenet
def test_matches_nudenet_detector(samples):
    """Same box as NudeNet's own NudeDetector on the file (it differs only in resizing and in its
    red/blue swap, so the box agrees closely and the score only roughly)."""
    from nudenet import NudeDetector

    theirs = [d for d in NudeDetector().detect(str(samples / "grace_hopper.jpg")) if d["class"] == "FACE_FEMALE"]
    ours = [d for d in moderate(samples / "grace_hopper.jpg").detections if d.label == "FACE_FEMALE"]
    assert theirs and ours
    assert _iou(tuple(theirs[0]["box"]), ours[0].box) > 0.85


@needs_nudenet
def test_labels_match_the_package():
    import nudenet.nudenet as nn

    assert tuple(getattr(nn, "__labels")) == backend.LABELS


@needs_nudenet
def test_threshold_decides_unsafe(samples):
    res = moderate(samples / "astronaut.jpg", threshold=0.001)  # every image is "unsafe" this low
    assert res.unsafe is True
    assert moderate(samples / "astronaut.jpg", threshold=1).unsafe is False


@pytest.mark.parametrize("threshold", [0, -0.1, 1.5, "0.5", True, float("nan")])
def test_threshold_bounds(threshold):
    with pytest.raises(InvalidArgument, match=r"\(0, 1\]"):
        moderate(np.zeros((32, 32, 3), np.uint8), threshold=threshold)


def test_missing_nudenet_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec

    def fake(name, *args, **kwargs):
        return None if name == "nudenet" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    with pytest.raises(MissingDependency) as err:
        moderate(np.zeros((32, 32, 3), np.uint8))
    msg = str(err.value)
    assert "AGPL-3.0" in msg and "pip install 'ocula[moderation]'" in msg
