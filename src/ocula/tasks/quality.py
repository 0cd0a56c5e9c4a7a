"""Technical quality of a photo: sharpness, exposure, contrast, noise, BRISQUE, and a verdict.

Every measure is taken on a grey copy at most ``MAX_SIDE`` (1024) px long, so a 24 MP photo
and its 1024 px preview score alike (smaller images are measured at their own size: enlarging
them would only make them look soft). Resolution is judged from the original size.

Thresholds were calibrated on the sample photos and degraded copies of them (Gaussian blur
of radius 1 and up, brightness x0.3, contrast x0.3, added Gaussian noise of sigma 5..20,
a 200x150 copy); the values each sample gets are in the tests.
"""

from __future__ import annotations

import logging

import numpy as np
from PIL import Image

from ..config import Settings
from ..image import ImageInput, load_image
from ..results import ImageInfo, QualityResult

log = logging.getLogger(__name__)

MAX_SIDE = 1024
BRISQUE_SIDE = 768  # about the size of the LIVE images BRISQUE was trained on

# Issue thresholds (see the module docstring for how they were chosen).
BLURRY_RELATIVE = 0.05  # sharp samples: 0.14..0.93; Gaussian blur radius 1: 0.01..0.04
FLAT_CONTRAST = 0.02  # below this there is no detail to judge sharpness by
DARK_EXPOSURE = 0.20  # samples: 0.24 (night rocket) .. 0.57; brightness x0.3: 0.14
BRIGHT_EXPOSURE = 0.80
BRIGHT_CLIPPED = 0.20  # share of pure-white pixels
LOW_CONTRAST = 0.05  # samples: 0.09 (grey text) .. 0.32; contrast x0.3: 0.04
NOISY_SIGMA = 4.0  # clean samples: 0.3..1.7; added noise sigma 5/10/20 per channel: 3.8/7.0/13.5
LOW_RES_MEGAPIXELS = 0.1  # about 365x275
POOR_BRISQUE = 60.0  # samples: -1..27; blur radius 1.5: 49..67; noise sigma 20: 50
FAIR_BRISQUE = 40.0

_LAPLACE_NOISE = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


def noise_sigma(gray: np.ndarray) -> float:
    """Gaussian noise sigma of a grey image, in grey levels.

    Immerkaer (1996), "Fast noise variance estimation": the mask above cancels smooth image
    structure, leaving mostly noise; the mean absolute response times sqrt(pi/2)/6 is sigma.
    Edges also respond, so only the flatter half of the pixels (by Sobel gradient) is used,
    which keeps textured clean photos near 1 level while leaving the estimate of real noise
    within a few percent.
    """
    import cv2

    g = gray.astype(np.float64)
    if min(g.shape) < 3:
        return 0.0
    resp = np.abs(cv2.filter2D(g, -1, _LAPLACE_NOISE, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1])
    gx = cv2.Sobel(g, cv2.CV_64F, 1, 0)[1:-1, 1:-1]
    gy = cv2.Sobel(g, cv2.CV_64F, 0, 1)[1:-1, 1:-1]
    mag = gx * gx + gy * gy
    flat = mag <= np.median(mag)
    return float(np.sqrt(np.pi / 2) * resp[flat].mean() / 6.0)


def _brisque(loaded) -> float | None:
    try:
        from ..backends import brisque as backend

        img = loaded.resized(MAX_SIDE)
        w, h = img.size
        if max(w, h) > BRISQUE_SIDE:  # from the cached 1024 px copy: cheaper than from the original
            f = BRISQUE_SIDE / max(w, h)
            img = img.resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BILINEAR)
        value = backend.score(np.asarray(img))
    except Exception as e:  # the score is an extra: any failure leaves the other measures intact
        log.warning("BRISQUE unavailable for %s: %s: %s", loaded.source, type(e).__name__, e)
        return None
    return None if value is None else round(value, 2)


def quality(image: ImageInput, *, brisque: bool = True, settings: Settings | None = None) -> QualityResult:
    """Measure sharpness, exposure, contrast and noise; BRISQUE unless ``brisque=False``."""
    import cv2

    loaded = load_image(image, max_side=MAX_SIDE, settings=settings)
    gray = loaded.gray(MAX_SIDE)
    ow, oh = loaded.original_size
    megapixels = ow * oh / 1e6

    lap = cv2.Laplacian(gray, cv2.CV_64F)
    sharpness = float(lap.var())
    variance = float(gray.astype(np.float64).var())
    relative = sharpness / variance if variance > 0 else 0.0
    exposure = float(gray.mean()) / 255.0
    contrast = float(np.sqrt(variance)) / 255.0
    n = gray.size
    shadows = float(np.count_nonzero(gray <= 2)) / n
    highlights = float(np.count_nonzero(gray >= 253)) / n
    noise = noise_sigma(gray)
    score = _brisque(loaded) if brisque else None

    issues: list[str] = []
    if contrast >= FLAT_CONTRAST and relative < BLURRY_RELATIVE:
        issues.append("blurry")
    if exposure < DARK_EXPOSURE:
        issues.append("dark")
    if exposure > BRIGHT_EXPOSURE or highlights > BRIGHT_CLIPPED:
        issues.append("overexposed")
    if contrast < LOW_CONTRAST:
        issues.append("low contrast")
    if noise > NOISY_SIGMA:
        issues.append("noisy")
    if megapixels < LOW_RES_MEGAPIXELS:
        issues.append("low resolution")

    if "blurry" in issues or len(issues) >= 2 or (score is not None and score >= POOR_BRISQUE):
        verdict = "poor"
    elif issues or (score is not None and score >= FAIR_BRISQUE):
        verdict = "acceptable"
    else:
        verdict = "good"

    return QualityResult(
        image=ImageInfo.of(loaded),
        megapixels=round(megapixels, 3),
        sharpness=round(sharpness, 1),
        relative_sharpness=round(relative, 4),
        exposure=round(exposure, 4),
        shadows_clipped=round(shadows, 4),
        highlights_clipped=round(highlights, 4),
        contrast=round(contrast, 4),
        noise=round(noise, 2),
        brisque=score,
        verdict=verdict,
        issues=issues,
    )
