"""How much a face embedding can be trusted: size, sharpness and pose, each a score in 0..1.

Measured on the development photos (bench/people.py's data) by shrinking and blurring faces
and comparing each embedding with the one of the sharp, full-size face (distance; same-person
photos lie ~0.35-0.45 apart and the match threshold is 0.5):

- size (the face box's longer side in the full image): 70 px drifts < 0.17, 48 px 0.20-0.26,
  38 px 0.28-0.33, 25 px 0.44-0.54. The score ramps from 0 at 24 px to 1 at 64 px;
- sharpness (variance of the Laplacian over the face in the aligned 150 px chip, so the same
  scale for every face): a Gaussian blur of 1 % of the face size took it to 15-64 and drifted
  0.19-0.26; 2 % to 6-12 and 0.37-0.48. The score ramps on a log scale from 0 at 8 to 1 at 60;
- pose, from the five MTCNN landmarks in the frame of the eyes: yaw = nose offset / eye
  distance (frontal faces in the data: |yaw| <= 0.2; about 0.6 x tan(angle), so 0.35 is ~30
  degrees) and pitch = nose height / mouth height below the eyes (0.45-0.72 for level faces).
  Geometric rules, not measured (the data holds no turned faces): full score to 30 degrees of
  yaw, none beyond ~53.

The face's quality is the lowest of the three; it is usable for people at >= 0.5. Blurred
and tiny faces of different people drift towards each other, so unusable faces are kept out
of grouping rather than matched with a looser rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

USABLE = 0.5
_SIZE = (24.0, 64.0)
_SHARP = (8.0, 60.0)
_YAW = (0.35, 0.8)
_PITCH_OK = (0.35, 0.8)
_PITCH_MARGIN = 0.15
# the face inside a 150 px chip with 25 % padding, where sharpness is measured
_FACE = slice(30, 120)


@dataclass
class Quality:
    score: float
    usable: bool
    size: float
    sharpness: float
    yaw: float | None
    pitch: float | None
    reasons: list[str] = field(default_factory=list)


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


def sharpness(chip: np.ndarray) -> float:
    """Variance of the Laplacian over the face in a 150x150 RGB chip."""
    import cv2

    gray = cv2.cvtColor(np.ascontiguousarray(chip), cv2.COLOR_RGB2GRAY)[_FACE, _FACE].astype(np.float32)
    return float(cv2.Laplacian(gray, cv2.CV_32F).var())


def pose(landmarks: dict[str, tuple[float, float]] | None) -> tuple[float | None, float | None]:
    """(yaw, pitch) proxies from MTCNN's five points; None when there are none."""
    if not landmarks:
        return None, None
    le, re, nose = (np.asarray(landmarks[k], np.float64) for k in ("left_eye", "right_eye", "nose"))
    mouth = (np.asarray(landmarks["mouth_left"], np.float64) + np.asarray(landmarks["mouth_right"], np.float64)) / 2
    v = re - le
    dist = float(np.hypot(*v))
    if dist < 1e-6:
        return None, None
    c, s = v / dist
    rot = np.array([[c, s], [-s, c]])  # into the frame where the eyes are level, unit = eye distance
    mid = (le + re) / 2
    nx, ny = rot @ (nose - mid) / dist
    _mx, my = rot @ (mouth - mid) / dist
    pitch = float(ny / my) if my > 1e-6 else None
    return float(nx), pitch


def assess(size: float, chip: np.ndarray, landmarks: dict[str, tuple[float, float]] | None) -> Quality:
    """The quality of one face: ``size`` is its box's longer side in full-image pixels."""
    sharp = sharpness(chip)
    yaw, pitch = pose(landmarks)
    scores = {"small": _ramp(size, *_SIZE),
              "blurred": _ramp(math.log(max(sharp, 1e-6)), math.log(_SHARP[0]), math.log(_SHARP[1]))}
    if yaw is not None:
        scores["turned away"] = 1.0 - _ramp(abs(yaw), *_YAW)
    if pitch is not None:
        lo, hi = _PITCH_OK
        off = max(lo - pitch, pitch - hi, 0.0)
        scores["tilted"] = 1.0 - _ramp(off, 0.0, _PITCH_MARGIN)
    score = min(scores.values())
    reasons = []
    for what, value in scores.items():
        if value < USABLE:
            reasons.append({"small": f"small ({size:.0f} px)", "blurred": f"blurred (sharpness {sharp:.0f})"}.get(what, what))
    return Quality(score=round(score, 3), usable=score >= USABLE, size=round(size, 1), sharpness=round(sharp, 1),
                   yaw=None if yaw is None else round(yaw, 3), pitch=None if pitch is None else round(pitch, 3),
                   reasons=reasons)
