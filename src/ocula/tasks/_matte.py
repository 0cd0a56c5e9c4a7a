"""The subject's alpha matte, shared by cutout, crop and product. Not a task itself.

1. U²-Net-p (backends/u2net.py) gives a 320x320 saliency probability.
2. Refinement to a soft alpha at full resolution with a colour guided filter (He, Sun & Tang
   2013), run the "fast" way (He & Sun 2015): the filter's linear coefficients are computed on
   a working copy at most ``WORK_SIDE`` pixels long from the thresholded mask, then upsampled
   and applied to the full-resolution pixels, band by band. Edges follow the full-resolution
   image while the cost and memory stay those of the working copy plus one band.
   bench/cutout.py measured the alternatives on the synthetic set (tests/cutout_synth.py):
   the guided filter cuts the alpha error in the edge band by ~10 % against the thresholded
   mask (its input) at ~40 ms per photo; pymatting's closed-form matting with a trimap from
   the mask cuts it by ~20 % but takes 0.4 s at 0.8 MP, grows with the band's area (seconds
   at 12 MP), and needs numba. The guided filter is the default; ``refine="none"`` keeps the
   network's mask, upsampled.
3. Quality flags from the probability map: the subject's share of the frame, the edge
   uncertainty (the share of the not-background pixels the network is unsure about) and
   whether there is a clear subject at all. Without one the alpha is fully opaque: callers
   keep the original rather than hand back an empty cut-out.

An input that is already transparent keeps its own alpha: when at least ``CUT_OUT`` of it is
see-through it is taken as the matte as it is (no network run); otherwise the network's matte
is combined with it (the smaller alpha wins).
"""

from __future__ import annotations

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


def _rows(src: np.ndarray, size: tuple[int, int], y0: int, y1: int) -> np.ndarray:
    """Rows y0..y1 of ``src`` resized bilinearly to ``size`` (w, h), without resizing the rest
    (the same sample positions as cv2.resize: pixel centres aligned)."""
    import cv2

    w, h = size
    sx, sy = src.shape[1] / w, src.shape[0] / h
    m = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, (y0 + 0.5) * sy - 0.5]], np.float64)
    return cv2.warpAffine(src, m, (w, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def _to_alpha(q: np.ndarray) -> np.ndarray:
    # the last 3 % at either end is filter ringing: snap it, so the background is exactly 0
    return np.clip((q - 0.03) * (255.0 / 0.94) + 0.5, 0, 255).astype(np.uint8)


def _apply(coef: np.ndarray | None, mask_low: np.ndarray, rgb: np.ndarray, refine: str) -> np.ndarray:
    """Full-resolution alpha from the working-copy coefficients (or mask), band by band."""
    h, w = rgb.shape[:2]
    alpha = np.empty((h, w), np.uint8)
    for y0 in range(0, h, BAND_ROWS):
        y1 = min(h, y0 + BAND_ROWS)
        if refine == "none":
            alpha[y0:y1] = _to_alpha(_rows(mask_low, (w, h), y0, y1))
            continue
        ab = _rows(coef, (w, h), y0, y1)
        band = rgb[y0:y1].astype(np.float32)
        band *= 1.0 / 255.0
        q = ab[..., 3]
        for c in range(3):
            q += ab[..., c] * band[..., c]
        alpha[y0:y1] = _to_alpha(q)
    return alpha


def bounding_box(alpha: np.ndarray, threshold: int = 128) -> tuple[int, int, int, int] | None:
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


def matte(loaded: LoadedImage, settings: Settings, refine: str = "guided") -> Matte:
    """The subject's alpha at the loaded image's size, with quality flags."""
    import cv2

    from ..backends import configure_threads, u2net

    given = _input_alpha(loaded)
    if given is not None and float((given < 8).mean()) >= CUT_OUT:
        share = float(given.mean()) / 255.0
        return Matte(given, "input alpha", "none", round(share, 4), 0.0, share > 0, bounding_box(given),
                     warnings=["the photo is already transparent: its own alpha is the cut-out"])

    rgb = np.asarray(loaded.image)
    h, w = rgb.shape[:2]
    configure_threads(settings.threads)
    s = min(1.0, WORK_SIDE / max(h, w))
    work = rgb if s == 1.0 else cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                                           interpolation=cv2.INTER_AREA)
    prob = u2net.load(settings.threads)(work)
    uncertainty, clear, warnings = flags(prob)
    if not clear:
        alpha = np.full((h, w), 255, np.uint8)
        if given is not None:
            alpha = given.copy()
        return Matte(alpha, u2net.MODEL, refine, round(float(alpha.mean()) / 255.0, 4), uncertainty, False,
                     None, prob, warnings)

    wh, ww = work.shape[:2]
    soft = cv2.resize(prob, (ww, wh), interpolation=cv2.INTER_LINEAR)
    mask = soft if refine == "none" else (soft > 0.5).astype(np.float32)
    coef = None
    if refine == "guided":
        r = max(2, round(RADIUS * max(wh, ww) / WORK_SIDE))
        coef = guided_coefficients(work.astype(np.float32) * (1.0 / 255.0), mask, r, EPS)
    alpha = _apply(coef, mask, rgb, refine)
    if given is not None:
        np.minimum(alpha, given, out=alpha)
    return Matte(alpha, u2net.MODEL, refine, round(float(alpha.mean()) / 255.0, 4), uncertainty, True,
                 bounding_box(alpha), prob, warnings)


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
    pixels, so no old background shows as a fringe. The fill is made on a copy at most
    WORK_SIDE long and sampled only where it is needed."""
    import cv2

    ys, xs = np.nonzero((alpha > 0) & (alpha < SOLID))
    if ys.size == 0 or not (alpha >= SOLID).any():
        return rgb
    h, w = alpha.shape
    s = min(1.0, WORK_SIDE / max(h, w))
    sw, sh = max(1, round(w * s)), max(1, round(h * s))
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    solid = cv2.resize((alpha >= SOLID).astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST) > 0
    if not solid.any():
        return rgb
    fill = fill_colours(small, solid)
    fill[solid] = small[solid]
    # bilinear samples of the small fill at the band's pixel centres
    mx = ((xs.astype(np.float32) + 0.5) * (sw / w) - 0.5).reshape(-1, 1)
    my = ((ys.astype(np.float32) + 0.5) * (sh / h) - 0.5).reshape(-1, 1)
    values = cv2.remap(fill, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).reshape(-1, 3)
    out = rgb.copy()
    out[ys, xs] = np.clip(values + 0.5, 0, 255).astype(np.uint8)
    return out
