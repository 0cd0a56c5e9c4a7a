"""BRISQUE no-reference quality score (Mittal, Moorthy & Bovik 2012), on the model files of
the ``brisque`` package (0.2.x): ``models/svm.txt`` (an epsilon-SVR with an RBF kernel, in
libsvm's text format) and ``models/normalize.pickle`` (per-feature min/max).

The package itself is not called: on numpy >= 2.4 its ``score()`` fails, because some
features come out as 1-element arrays mixed with scalars in an object array, and importing
it pulls in scikit-image, requests and scipy.signal. The 36 features are computed here the
same way (same Gaussian window, zero padding, moment-matching fit, half-size second scale)
with OpenCV filters, which is much faster, and the SVR is evaluated in numpy. Tests check that
features and score match the package's own code on the same input.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass

import numpy as np

from . import cached_model

MODEL = "brisque"
_C = 1 / 255  # the package's stabiliser on 0..1 grey levels (the paper's C=1 on 0..255)


@dataclass(frozen=True)
class BrisqueModel:
    support_vectors: np.ndarray  # (n, 36), already in the scaled feature space
    coefs: np.ndarray  # (n,)
    rho: float
    gamma: float
    feat_min: np.ndarray
    feat_max: np.ndarray

    def predict(self, features: np.ndarray) -> float:
        """SVR value of raw (unscaled) features, as libsvm's svm_predict would return it."""
        x = -1 + 2.0 / (self.feat_max - self.feat_min) * (features - self.feat_min)
        d2 = ((self.support_vectors - x) ** 2).sum(axis=1)
        return float(self.coefs @ np.exp(-self.gamma * d2) - self.rho)


def _parse_svm(text: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    header: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines) and lines[i].strip() != "SV":
        key, _, value = lines[i].strip().partition(" ")
        header[key] = value
        i += 1
    if header.get("svm_type") != "epsilon_svr" or header.get("kernel_type") != "rbf":
        raise ValueError(f"expected an epsilon_svr with an rbf kernel, got {header.get('svm_type')}/"
                         f"{header.get('kernel_type')}")
    coefs, rows = [], []
    for line in lines[i + 1:]:
        parts = line.split()
        if not parts:
            continue
        coefs.append(float(parts[0]))
        row = np.zeros(36)
        for item in parts[1:]:
            k, v = item.split(":")
            row[int(k) - 1] = float(v)
        rows.append(row)
    return np.array(rows), np.array(coefs), float(header["rho"]), float(header["gamma"])


def _load() -> BrisqueModel:
    from ..models import package_file

    svm_path = package_file(MODEL, "models/svm.txt")
    norm_path = package_file(MODEL, "models/normalize.pickle")
    sv, coefs, rho, gamma = _parse_svm(svm_path.read_text())
    with open(norm_path, "rb") as fh:
        # a pickle of two lists from an installed package (catalogue pins its sha256)
        scale = pickle.load(fh)
    return BrisqueModel(sv, coefs, rho, gamma,
                        np.asarray(scale["min_"], dtype=np.float64), np.asarray(scale["max_"], dtype=np.float64))


def load_model() -> BrisqueModel:
    return cached_model((MODEL,), _load)


def _gaussian_window(n: int = 7, sigma: float = 7 / 6) -> np.ndarray:
    y, x = np.indices((n, n)) - n // 2
    k = np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2))
    return k / k.sum()


def mscn(gray: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients of a 0..1 float64 grey image."""
    import cv2

    k = _gaussian_window()
    # BORDER_CONSTANT = zero padding, like scipy.signal.convolve2d(mode="same"); k is symmetric
    mu = cv2.filter2D(gray, cv2.CV_64F, k, borderType=cv2.BORDER_CONSTANT)
    mu2 = cv2.filter2D(gray * gray, cv2.CV_64F, k, borderType=cv2.BORDER_CONSTANT)
    sigma = np.sqrt(np.abs(mu * mu - mu2))
    return (gray - mu) / (sigma + _C)


def _phi(alpha: float) -> float:
    return math.exp(2 * math.lgamma(2 / alpha) - math.lgamma(1 / alpha) - math.lgamma(3 / alpha))


def _solve_alpha(target: float) -> float:
    """alpha with phi(alpha) = target; phi rises monotonically from 0 to 0.75."""
    lo, hi = 0.05, 50.0
    if target <= _phi(lo):
        return lo
    if target >= _phi(hi):
        return hi
    for _ in range(80):  # bisection in log space: ~1e-12 relative
        mid = math.sqrt(lo * hi)
        if _phi(mid) < target:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def aggd_fit(x: np.ndarray) -> tuple[float, float, float, float]:
    """Asymmetric generalised Gaussian fit by moment matching: alpha, mean, sigma_l, sigma_r."""
    x = x.ravel()
    x2 = x * x
    neg = x < 0
    n_neg = int(neg.sum())
    n_pos = x.size - n_neg
    left = float(x2[neg].sum()) / n_neg if n_neg else 0.0
    right = float(x2[~neg].sum()) / n_pos if n_pos else 0.0
    r_hat = (float(np.abs(x).mean()) ** 2) / float(x2.mean())
    g = math.sqrt(left) / math.sqrt(right)
    big_r = r_hat * (g ** 3 + 1) * (g + 1) / (g ** 2 + 1) ** 2
    alpha = _solve_alpha(big_r)
    sl, sr = math.sqrt(left), math.sqrt(right)
    const = math.sqrt(math.gamma(1 / alpha) / math.gamma(3 / alpha))
    mean = (sr - sl) * const * (math.gamma(2 / alpha) / math.gamma(1 / alpha))
    return alpha, mean, sl, sr


def scale_features(gray: np.ndarray) -> list[float]:
    """The 18 features of one scale: MSCN shape + variance, then 4 neighbour products."""
    m = mscn(gray)
    alpha, _, sl, sr = aggd_fit(m)
    feats = [alpha, (sl ** 2 + sr ** 2) / 2]
    for p in (m[:, :-1] * m[:, 1:], m[:-1, :] * m[1:, :], m[:-1, :-1] * m[1:, 1:], m[1:, :-1] * m[:-1, 1:]):
        a, mean, l, r = aggd_fit(p)
        feats += [a, mean, l ** 2, r ** 2]
    return feats


def features(gray: np.ndarray) -> np.ndarray:
    """36 BRISQUE features of a 0..1 float64 grey image (full and half scale)."""
    import cv2

    half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)
    return np.array(scale_features(gray) + scale_features(half), dtype=np.float64)


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """0..1 luminance with scikit-image's rgb2gray weights (what the model was used with)."""
    return rgb.astype(np.float64) @ np.array([0.2125, 0.7154, 0.0721]) / 255.0


def score(rgb: np.ndarray) -> float | None:
    """BRISQUE of an HxWx3 uint8 RGB array: about 0 (pristine) .. 100 (badly distorted).

    None when the image has no texture to measure (a flat colour), where the fit is undefined.
    """
    gray = rgb_to_gray(rgb)
    if min(gray.shape) < 16 or float(gray.std()) < 1e-6:
        return None
    try:
        feats = features(gray)
    except (ZeroDivisionError, ValueError, OverflowError):
        return None
    if not np.all(np.isfinite(feats)):
        return None
    return load_model().predict(feats)
