from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from ocula.backends import brisque as brisque_backend
from ocula.errors import ModelUnavailable
from ocula.tasks.quality import noise_sigma, quality


@pytest.fixture(scope="module")
def chelsea(samples) -> Image.Image:
    return Image.open(samples / "chelsea.jpg").convert("RGB")


@pytest.fixture(scope="module")
def original(chelsea):
    return quality(chelsea)


def _noisy(img: Image.Image, sigma: float, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    a = np.asarray(img, dtype=np.float64) + rng.normal(0, sigma, (img.height, img.width, 3))
    return Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("name", ["chelsea", "coffee", "flower", "coins", "astronaut", "rocket", "china",
                                  "grace_hopper"])
def test_clean_samples_are_good(samples, name):
    res = quality(samples / f"{name}.jpg")
    assert res.issues == [] and res.verdict == "good", res
    assert res.brisque is not None and res.brisque < 30
    assert res.noise < 2.5


def test_original_measures(original):
    assert original.megapixels == pytest.approx(451 * 300 / 1e6, abs=1e-3)
    assert original.sharpness > 200 and original.relative_sharpness > 0.2
    assert 0.4 < original.exposure < 0.55
    assert original.shadows_clipped < 0.01 and original.highlights_clipped < 0.01
    assert 0.1 < original.contrast < 0.2
    assert "blurry" not in original.issues


def test_blurred_copy_is_blurry(chelsea, original):
    res = quality(chelsea.filter(ImageFilter.GaussianBlur(2)))
    assert "blurry" in res.issues and res.verdict == "poor"
    assert res.sharpness < original.sharpness / 10
    assert res.brisque > original.brisque + 20


def test_darkened_copy_is_dark_not_blurry(chelsea):
    res = quality(ImageEnhance.Brightness(chelsea).enhance(0.3))
    assert "dark" in res.issues
    assert "blurry" not in res.issues  # less contrast, same detail: the relative measure holds
    assert res.exposure < 0.2


def test_brightened_copy_is_overexposed(chelsea):
    res = quality(ImageEnhance.Brightness(chelsea).enhance(2.0))
    assert "overexposed" in res.issues and res.highlights_clipped > 0.1


def test_low_contrast(chelsea):
    res = quality(ImageEnhance.Contrast(chelsea).enhance(0.3))
    assert "low contrast" in res.issues and "dark" not in res.issues


def test_noise_is_measured_and_flagged(chelsea, original):
    res = quality(_noisy(chelsea, 15))
    # 15 per channel, independent: about 15 * |(0.299, 0.587, 0.114)| = 10 in luminance
    assert res.noise == pytest.approx(10.0, rel=0.15)
    assert res.noise > 3 * original.noise
    assert "noisy" in res.issues
    assert res.brisque > original.brisque + 20


def test_noise_estimate_on_flat_grey():
    rng = np.random.default_rng(1)
    gray = np.clip(128 + rng.normal(0, 8, (300, 400)), 0, 255)
    assert noise_sigma(gray) == pytest.approx(8.0, rel=0.08)
    assert noise_sigma(np.full((50, 50), 77.0)) == 0.0


def test_small_copy_is_low_resolution(chelsea):
    res = quality(chelsea.resize((200, 150), Image.Resampling.LANCZOS))
    assert "low resolution" in res.issues and res.megapixels == pytest.approx(0.03)
    assert "blurry" not in res.issues


def test_megapixels_from_original_size(chelsea):
    big = chelsea.resize((2000, 1333), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=92)
    res = quality(buf.getvalue())
    assert res.megapixels == pytest.approx(2.666, abs=1e-3)
    assert (res.image.width, res.image.height) == (2000, 1333)
    # 4.4x enlarged from 451 px: soft at 1024 px, and said so
    assert "blurry" in res.issues


def test_flat_image_does_not_crash():
    res = quality(np.full((400, 600, 3), 90, np.uint8))
    assert res.brisque is None  # nothing to measure
    assert "low contrast" in res.issues and "blurry" not in res.issues
    assert res.noise == 0.0


def test_brisque_optional_and_failure_tolerant(chelsea, monkeypatch):
    assert quality(chelsea, brisque=False).brisque is None

    def broken():
        raise ModelUnavailable("brisque", "package 'brisque' is not installed", "pip install brisque")

    monkeypatch.setattr(brisque_backend, "load_model", broken)
    res = quality(chelsea)
    assert res.brisque is None and res.verdict == "good"


def test_brisque_matches_the_brisque_package(chelsea):
    """Our features and score equal the package's own code (its score() itself fails on numpy>=2.4,
    so its steps are called one by one and the features flattened)."""
    pytest.importorskip("skimage")
    pkg = pytest.importorskip("brisque")
    import cv2
    import skimage.color

    rgb = np.asarray(chelsea)
    ref = pkg.BRISQUE()
    gray = skimage.color.rgb2gray(rgb)
    half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)
    raw = np.concatenate([ref.calculate_brisque_features(gray, kernel_size=7, sigma=7 / 6),
                          ref.calculate_brisque_features(half, kernel_size=7, sigma=7 / 6)])
    theirs = np.array([float(np.ravel(f)[0]) for f in raw])
    ours = brisque_backend.features(brisque_backend.rgb_to_gray(rgb))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-8)
    assert brisque_backend.score(rgb) == pytest.approx(ref.calculate_image_quality_score(theirs), abs=1e-3)
