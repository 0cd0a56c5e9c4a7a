"""The subject's alpha matte, shared by cutout, crop and product. Not a task itself.

1. U²-Net-p (backends/u2net.py) gives a 320x320 saliency probability.
2. Refinement to a soft alpha at full resolution with a colour guided filter (He, Sun & Tang
   2013), run the "fast" way (He & Sun 2015): the filter's linear coefficients are computed on
   a working copy at most ``WORK_SIDE`` pixels long from the thresholded mask, then upsampled
   and applied to the full-resolution pixels, band by band. Edges follow the full-resolution
   image while the cost and memory stay those of the working copy plus one band.
   bench/cutout.py measured the alternatives on the synthetic set (tests/cutout_synth.py,
   12 composites at 0.8 MP): within 7 px of the true edge the guided filter leaves 0.85x the
   alpha error of the thresholded mask it starts from (0.75x that of the network's
   probability upsampled, which is what rembg returns) for ~50 ms; pymatting's closed-form
   matting with a trimap from the mask leaves 0.80x but takes 0.59 s per image, grows with the
   band's area (seconds at 12 MP) and needs numba. So the guided filter it is;
   ``refine="none"`` keeps the network's probability, upsampled.
3. Quality flags from the probability map: the subject's share of the frame, the edge
   uncertainty (the share of the not-background pixels the network is unsure about) and
   whether there is a clear subject at all. Without one the alpha is fully opaque: callers
   keep the original rather than hand back an empty cut-out.

An input that is already transparent keeps its own alpha: when at least ``CUT_OUT`` of it is
see-through it is taken as the matte as it is (no network run); otherwise the network's matte
is combined with it (the smaller alpha wins).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..config import Settings
from ..image import LoadedImage

WORK_SIDE = 1024          # guided-filter coefficients are computed at most this long
RADIUS = 4                # guided-filter radius at WORK_SIDE (scaled down with smaller copies)
EPS = 1e-4                # regularisation: small, so edges follow colour edges closely
BAND_ROWS = 256           # full-resolution rows refined at a time (memory bound)
CONFIDENT = 0.9           # probability above which a pixel surely belongs to the subject
MIN_SUBJECT = 0.005       # confident share of the frame below which there is no clear subject
MAX_UNCERTAINTY = 0.65    # edge uncertainty above which there is no clear subject
SOFT_EDGES = 0.35         # edge uncertainty worth a warning
CUT_OUT = 0.01            # see-through share from which an input counts as already cut out
REFINES = ("guided", "none")


@dataclass
class Matte:
    alpha: np.ndarray                      # HxW uint8 at the loaded image's size
    model: str                             # "u2netp" or "input alpha"
    refine: str
    subject_share: float                   # mean alpha: the subject's share of the frame
    edge_uncertainty: float
    clear: bool
    box: tuple[int, int, int, int] | None  # x, y, w, h around alpha >= 128
    probability: np.ndarray | None = None  # the network's 320x320 map (None for "input alpha")
    warnings: list[str] = field(default_factory=list)


def _box(x: np.ndarray, r: int) -> np.ndarray:
    import cv2

    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def guided_coefficients(guide: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Colour guided filter of ``p`` (HxW float32) by ``guide`` (HxWx3 float32, 0..1): its
    averaged linear coefficients as HxWx4 (a_r, a_g, a_b, b); the output is a . I + b."""
    ch = [np.ascontiguousarray(guide[..., c]) for c in range(3)]
    mean = [_box(c, r) for c in ch]
    mp = _box(p, r)
    cov = [_box(c * p, r) - m * mp for c, m in zip(ch, mean)]
    var = {}
    for i in range(3):
        for j in range(i, 3):
            var[i, j] = _box(ch[i] * ch[j], r) - mean[i] * mean[j] + (eps if i == j else 0.0)
    a, b, c, d, e, f = var[0, 0], var[0, 1], var[0, 2], var[1, 1], var[1, 2], var[2, 2]
    # inverse of the symmetric 3x3 covariance + eps, by cofactors, for every pixel at once
    i00, i01, i02 = d * f - e * e, c * e - b * f, b * e - c * d
    i11, i12, i22 = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * i00 + b * i01 + c * i02
    coef = np.empty(p.shape + (4,), np.float32)
    coef[..., 0] = (i00 * cov[0] + i01 * cov[1] + i02 * cov[2]) / det
    coef[..., 1] = (i01 * cov[0] + i11 * cov[1] + i12 * cov[2]) / det
    coef[..., 2] = (i02 * cov[0] + i12 * cov[1] + i22 * cov[2]) / det
    coef[..., 3] = mp - coef[..., 0] * mean[0] - coef[..., 1] * mean[1] - coef[..., 2] * mean[2]
    for k in range(4):
        coef[..., k] = _box(np.ascontiguousarray(coef[..., k]), r)
    return coef


def _sample(low: np.ndarray, scale: float, origin: tuple[int, int], offset: tuple[int, int],
            shape: tuple[int, int]) -> np.ndarray:
    """Bilinear samples of ``low`` (a block of the working copy whose first pixel is the
    copy's ``origin``) at the pixel centres of the full-resolution block at ``offset`` of
    ``shape`` (w, h); ``scale``: working-copy pixels per full-resolution pixel."""
    import cv2

    m = np.array([[scale, 0, (offset[0] + 0.5) * scale - 0.5 - origin[0]],
                  [0, scale, (offset[1] + 0.5) * scale - 0.5 - origin[1]]], np.float64)
    return cv2.warpAffine(low, m, shape, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def _to_alpha(q: np.ndarray) -> np.ndarray:
    # the last 3 % at either end is filter ringing: snap it, so the background is exactly 0
    return np.clip((q - 0.03) * (255.0 / 0.94) + 0.5, 0, 255).astype(np.uint8)


def _apply(low: np.ndarray, scale: float, origin: tuple[int, int], rgb: np.ndarray,
           block: tuple[int, int, int, int]) -> np.ndarray:
    """Full-resolution alpha inside ``block`` (x0, y0, x1, y1; zero outside) from the working
    copy's guided-filter coefficients (HxWx4) or mask (HxW), a band of rows at a time."""
    h, w = rgb.shape[:2]
    alpha = np.zeros((h, w), np.uint8)
    x0, y0, x1, y1 = block
    for b0 in range(y0, y1, BAND_ROWS):
        b1 = min(y1, b0 + BAND_ROWS)
        s = _sample(low, scale, origin, (x0, b0), (x1 - x0, b1 - b0))
        if low.ndim == 3:
            band = rgb[b0:b1, x0:x1].astype(np.float32)
            band *= 1.0 / 255.0
            q = s[..., 3]
            for c in range(3):
                q += s[..., c] * band[..., c]
            s = q
        alpha[b0:b1, x0:x1] = _to_alpha(s)
    return alpha


def _block(roi: tuple[int, int, int, int], work: tuple[int, int], scale: float,
           size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The full-resolution pixels whose centres fall inside the working copy's ``roi``
    (x0, y0, x1, y1); an edge of the copy stands for the image's edge."""
    (wx0, wy0, wx1, wy1), (ww, wh), (w, h) = roi, work, size
    x0 = 0 if wx0 == 0 else min(w, math.ceil((wx0 + 0.5) / scale - 0.5))
    y0 = 0 if wy0 == 0 else min(h, math.ceil((wy0 + 0.5) / scale - 0.5))
    x1 = w if wx1 == ww else max(x0, math.floor((wx1 - 0.5) / scale - 0.5) + 1)
    y1 = h if wy1 == wh else max(y0, math.floor((wy1 - 0.5) / scale - 0.5) + 1)
    return x0, y0, x1, y1


def bounding_box(alpha: np.ndarray, threshold: float = 128) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero((alpha >= threshold).any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero((alpha[rows[0]:rows[-1] + 1] >= threshold).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def flags(prob: np.ndarray) -> tuple[float, bool, list[str]]:
    """(edge uncertainty, clear subject, warnings) from the network's probability map."""
    confident = float((prob > CONFIDENT).mean())
    some = float((prob > 0.1).mean())
    unsure = float(((prob > 0.1) & (prob <= CONFIDENT)).mean())
    uncertainty = unsure / some if some > 0 else 1.0
    if confident < MIN_SUBJECT:
        return round(uncertainty, 4), False, ["no clear subject: nothing in the photo stands out from its "
                                              "background; the original is kept"]
    if uncertainty > MAX_UNCERTAINTY:
        return round(uncertainty, 4), False, [f"no clear subject: the model is unsure what is subject and what "
                                              f"is background (edge uncertainty {uncertainty:.2f}); the original "
                                              "is kept"]
    warn = []
    if uncertainty > SOFT_EDGES:
        warn.append(f"uncertain edges (edge uncertainty {uncertainty:.2f}): check the cut-out's outline")
    return round(uncertainty, 4), True, warn


def _input_alpha(loaded: LoadedImage) -> np.ndarray | None:
    if loaded.alpha is None:
        return None
    a = np.asarray(loaded.alpha)
    return a if a.shape == (loaded.height, loaded.width) else np.asarray(loaded.alpha.resize(loaded.size))


def _working_copy(loaded: LoadedImage) -> tuple[np.ndarray, float]:
    """The image reduced by a whole factor to at most WORK_SIDE (box average: fast and
    alias-free), and its scale (working pixels per full-resolution pixel)."""
    k = math.ceil(max(loaded.size) / WORK_SIDE)
    if k <= 1:
        return loaded.array(), 1.0
    return np.asarray(loaded.image.reduce(k)), 1.0 / k


def matte(loaded: LoadedImage, settings: Settings, refine: str = "guided") -> Matte:
    """The subject's alpha at the loaded image's size, with quality flags."""
    from ..backends import configure_threads, u2net

    given = _input_alpha(loaded)
    if given is not None and float((given < 8).mean()) >= CUT_OUT:
        share = float(given.mean()) / 255.0
        return Matte(given, "input alpha", "none", round(share, 4), 0.0, share > 0, bounding_box(given),
                     warnings=["the photo is already transparent: its own alpha is the cut-out"])

    configure_threads(settings.threads)
    work, scale = _working_copy(loaded)
    prob = u2net.load(settings.threads)(work)
    return from_probability(loaded, prob, refine, (work, scale))


def from_probability(loaded: LoadedImage, prob: np.ndarray, refine: str = "guided",
                     working: tuple[np.ndarray, float] | None = None) -> Matte:
    """The matte from the network's probability map (``matte`` without the network call)."""
    import cv2

    from ..backends.u2net import MODEL

    given = _input_alpha(loaded)
    rgb = loaded.array()
    h, w = rgb.shape[:2]
    work, scale = working or _working_copy(loaded)
    uncertainty, clear, warnings = flags(prob)
    if not clear:
        alpha = given.copy() if given is not None else np.full((h, w), 255, np.uint8)
        return Matte(alpha, MODEL, refine, round(float(alpha.mean()) / 255.0, 4), uncertainty, False, None, prob,
                     warnings)

    wh, ww = work.shape[:2]
    soft = cv2.resize(prob, (ww, wh), interpolation=cv2.INTER_LINEAR)
    mask = soft if refine == "none" else (soft > 0.5).astype(np.float32)
    # only the subject's surroundings need work: beyond the filter's reach the alpha is 0
    r = max(2, round(RADIUS * max(wh, ww) / WORK_SIDE))
    x, y, bw, bh = bounding_box(mask, 0.03)  # type: ignore[misc]  (clear: the mask is not empty)
    pad = 3 * r + 2
    roi = (max(0, x - pad), max(0, y - pad), min(ww, x + bw + pad), min(wh, y + bh + pad))
    low = mask[roi[1]:roi[3], roi[0]:roi[2]]
    if refine == "guided":
        guide = work[roi[1]:roi[3], roi[0]:roi[2]].astype(np.float32) * (1.0 / 255.0)
        low = guided_coefficients(guide, np.ascontiguousarray(low), r, EPS)
    block = _block(roi, (ww, wh), scale, (w, h))
    alpha = _apply(np.ascontiguousarray(low), scale, roi[:2], rgb, block)
    if given is not None:
        np.minimum(alpha, given, out=alpha)
    inner = bounding_box(alpha[block[1]:block[3], block[0]:block[2]])
    box = (inner[0] + block[0], inner[1] + block[1], inner[2], inner[3]) if inner else None
    return Matte(alpha, MODEL, refine, round(float(alpha.mean()) / 255.0, 4), uncertainty, True, box, prob, warnings)


def fill_colours(col: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Colours for every pixel from the ``known`` ones (HxW bool) by push-pull: average the
    known colours down an image pyramid, then fill the holes on the way back up. Known pixels
    get roughly their own colour back (callers that need it exact put it back)."""
    import cv2

    levels = [(col * known[..., None], known.astype(np.float32))]
    while min(levels[-1][1].shape) > 1:
        c, wgt = levels[-1]
        levels.append((cv2.pyrDown(c), cv2.pyrDown(wgt)))
    c, wgt = levels[-1]
    fill = c / np.maximum(wgt, 1e-6)[..., None]
    for c, wgt in reversed(levels[:-1]):
        est = cv2.pyrUp(fill, dstsize=(wgt.shape[1], wgt.shape[0]))
        fill = c + est * (1 - np.clip(wgt, 0, 1)[..., None])  # known colour over the coarser estimate
    return fill


SOLID = 242  # alpha from which a pixel's colour is the subject's own (~95 %)


def decontaminate(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``rgb`` with the partly transparent pixels recoloured from the nearest solid subject
    pixels, so no old background shows as a fringe. Only the subject's box is worked on; the
    fill is made on a copy of it at most WORK_SIDE long and sampled only where it is needed."""
    box = bounding_box(alpha, 1)
    if box is None:
        return rgb
    x, y, w, h = box
    sub = _decontaminate(rgb[y:y + h, x:x + w], alpha[y:y + h, x:x + w])
    if sub is None:
        return rgb
    out = rgb.copy()
    out[y:y + h, x:x + w] = sub
    return out


def _decontaminate(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray | None:
    import cv2

    ys, xs = np.nonzero((alpha > 0) & (alpha < SOLID))
    if ys.size == 0 or not (alpha >= SOLID).any():
        return None
    h, w = alpha.shape
    s = min(1.0, WORK_SIDE / max(h, w))
    sw, sh = max(1, round(w * s)), max(1, round(h * s))
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    solid = cv2.resize((alpha >= SOLID).astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST) > 0
    if not solid.any():
        return None
    fill = fill_colours(small, solid)
    fill[solid] = small[solid]
    # bilinear samples of the small fill at the band's pixel centres (remap wants < 32767 rows)
    n, cols = ys.size, 1024
    grid = (-(-n // cols), cols)
    mx = np.zeros(grid[0] * cols, np.float32)
    my = np.zeros_like(mx)
    mx[:n] = (xs + 0.5) * (sw / w) - 0.5
    my[:n] = (ys + 0.5) * (sh / h) - 0.5
    values = cv2.remap(fill, mx.reshape(grid), my.reshape(grid), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE).reshape(-1, 3)[:n]
    out = rgb.copy()
    out[ys, xs] = np.clip(values + 0.5, 0, 255).astype(np.uint8)
    return out
