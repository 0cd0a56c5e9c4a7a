"""denoise, inpaint and restore on the sample photos and degraded copies of them."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from ocula.config import load_settings
from ocula.errors import InvalidArgument, ModelUnavailable
from ocula.tasks.denoise import denoise
from ocula.tasks.inpaint import inpaint
from ocula.tasks.restore import restore


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


@pytest.fixture(scope="module")
def cat(samples) -> np.ndarray:
    im = Image.open(samples / "chelsea.jpg").convert("RGB")
    im.thumbnail((320, 320))
    return np.asarray(im)


# --- denoise ----------------------------------------------------------------------------

@pytest.mark.parametrize("sigma", [10, 20])
def test_denoise_removes_measured_noise(cat, sigma, tmp_path):
    rng = np.random.default_rng(sigma)
    noisy = np.clip(cat + rng.normal(0, sigma, cat.shape), 0, 255).astype(np.uint8)
    out = tmp_path / "clean.png"
    res = denoise(noisy, output=out)
    clean = np.asarray(Image.open(out).convert("RGB"))
    # the estimate sees grey-level noise: about 0.7 x the per-channel sigma (measured 6.9 / 13.5)
    assert 0.55 * sigma < res.noise_before < 0.8 * sigma
    assert res.noise_after < 0.4 * res.noise_before
    assert res.h == pytest.approx(0.8 * res.noise_before, rel=0.02) and not res.skipped
    assert _psnr(clean, cat) > _psnr(noisy, cat) + 3.5  # measured +4.7 (sigma 10), +7.4 (sigma 20)


def test_denoise_leaves_a_clean_photo_alone_unless_told(samples):
    res = denoise(samples / "chelsea.jpg")
    assert res.skipped and res.noise_before < 2.0
    assert np.array_equal(np.asarray(res.pil), np.asarray(Image.open(samples / "chelsea.jpg").convert("RGB")))
    forced = denoise(samples / "chelsea.jpg", h=3.0)
    assert not forced.skipped and forced.h == 3.0
    with pytest.raises(InvalidArgument, match="strength"):
        denoise(samples / "chelsea.jpg", strength=0)


# --- inpaint ----------------------------------------------------------------------------

def test_inpaint_box_fills_from_surroundings_and_keeps_the_rest(samples):
    img = np.asarray(Image.open(samples / "rocket.jpg").convert("RGB"))
    # paint a bright magenta blemish on a smooth area of the sky, then remove it
    damaged = img.copy()
    x, y, w, h = 40, 40, 24, 16
    damaged[y:y + h, x:x + w] = (255, 0, 255)
    for method in ("telea", "ns"):
        res = inpaint(damaged, box=(x, y, w, h), method=method)
        out = np.asarray(res.pil)
        grown = np.zeros(img.shape[:2], bool)
        grown[y - 2:y + h + 2, x - 2:x + w + 2] = True
        assert np.array_equal(out[~grown], damaged[~grown])  # nothing outside the (grown) mask changes
        region = out[y:y + h, x:x + w].astype(int)
        truth = img[y:y + h, x:x + w].astype(int)
        assert np.abs(region - truth).mean() < 12  # the sky comes back, not magenta (which is ~150 off)
        assert res.filled_pixels == grown.sum() - 4 or res.filled_pixels > w * h  # round corners of the dilation
        assert res.region[:2] == (x - 2, y - 2)


def test_inpaint_with_a_mask_file(samples, tmp_path):
    img = Image.open(samples / "coins.jpg").convert("RGB")
    mask = Image.new("L", img.size, 0)
    mask.paste(255, (100, 100, 130, 110))
    mpath = tmp_path / "mask.png"
    mask.save(mpath)
    out = tmp_path / "out.jpg"
    res = inpaint(samples / "coins.jpg", mask=mpath, grow=0, output=out)
    assert res.filled_pixels == 300 and out.exists() and res.output == str(out)
    # a 0/1 label mask and an RGBA mask with painted strokes mean the same region
    label = np.zeros((img.height, img.width), np.uint8)
    label[100:110, 100:130] = 1
    assert inpaint(img, mask=label, grow=0).filled_pixels == 300
    strokes = np.zeros((img.height, img.width, 4), np.uint8)
    strokes[100:110, 100:130] = (0, 0, 0, 255)  # black paint on a transparent layer
    spath = tmp_path / "strokes.png"
    Image.fromarray(strokes, "RGBA").save(spath)
    assert inpaint(img, mask=spath, grow=0).filled_pixels == 300


@pytest.mark.parametrize("kwargs,match", [
    ({"box": "10,10,5000,5"}, "reaches outside the 384x303 image"),
    ({"box": "-1,0,5,5"}, "reaches outside"),
    ({"box": "10,10,0,5"}, "width and height must be positive"),
    ({"box": "10,10,five,5"}, "not four whole numbers"),
    ({"box": "1,2,3"}, "four whole numbers"),
    ({}, "exactly one of a mask"),
    ({"box": "1,2,3,4", "mask": np.ones((303, 384), bool)}, "exactly one of a mask"),
    ({"mask": np.ones((10, 10), bool)}, "the mask is 10x10 but the image is 384x303"),
    ({"mask": np.zeros((303, 384), bool)}, "selects no pixels"),
    ({"mask": np.ones((303, 384), bool)}, "covers the whole image"),
    ({"box": "1,2,3,4", "method": "magic"}, "choose one of: telea, ns, lama"),
])
def test_inpaint_bad_masks_and_boxes(samples, kwargs, match):
    with pytest.raises(InvalidArgument, match=match):
        inpaint(samples / "coins.jpg", **kwargs)


def test_inpaint_unreadable_mask_file(samples, tmp_path):
    bad = tmp_path / "mask.png"
    bad.write_text("not an image")
    with pytest.raises(InvalidArgument, match="mask could not be read"):
        inpaint(samples / "coins.jpg", mask=bad)


def test_lama_offline_names_the_pull_command(samples):
    settings = load_settings(env={"OCULA_OFFLINE": "1", "OCULA_HOME": os.environ["OCULA_HOME"]})
    with pytest.raises(ModelUnavailable, match="ocula models pull lama"):
        inpaint(samples / "coins.jpg", box="10,10,20,20", method="lama", settings=settings)


# --- restore ----------------------------------------------------------------------------

def test_restore_brightens_an_underexposed_photo(cat):
    dark = (cat.astype(np.float32) * 0.3).astype(np.uint8)  # tones squeezed into 0..56
    res = restore(dark)
    assert {s.name for s in res.steps if s.applied} >= {"contrast"}
    assert res.before["exposure"] < 0.2 and 0.3 < res.after["exposure"] < 0.65
    assert _psnr(np.asarray(res.pil), cat) > _psnr(dark, cat) + 5


def test_restore_exposure_curve_on_a_full_range_dark_photo(samples):
    img = np.asarray(Image.open(samples / "coffee.jpg").convert("RGB")).astype(np.float32)
    dark = (255 * (img / 255) ** 3.0).astype(np.uint8)  # still spans the range, but mostly shadows
    res = restore(dark)
    exposure = next(s for s in res.steps if s.name == "exposure")
    assert exposure.applied and exposure.params["gamma"] < 0.6
    assert res.before["exposure"] < 0.22 and 0.3 < res.after["exposure"] < 0.6  # gamma floor 0.4: 0.35
    assert _psnr(np.asarray(res.pil), img.astype(np.uint8)) > _psnr(dark, img.astype(np.uint8)) + 5


def test_restore_stretches_a_faded_photo(samples):
    img = np.asarray(Image.open(samples / "china.jpg").convert("RGB")).astype(np.float32)
    faded = (img * 0.45 + 80).astype(np.uint8)
    res = restore(faded)
    contrast = next(s for s in res.steps if s.name == "contrast")
    assert contrast.applied and res.after["contrast"] > 1.8 * res.before["contrast"]


def test_restore_white_balance_removes_a_cast(samples):
    grey = np.asarray(Image.open(samples / "coins.jpg").convert("RGB")).astype(np.float32)
    cast = np.clip(grey * np.array([1.25, 1.0, 0.8]), 0, 255).astype(np.uint8)
    for method in ("grey-world", "percentile"):
        res = restore(cast, steps=["white_balance"], white_balance=method)
        out = np.asarray(res.pil).astype(np.float64)
        means = out.reshape(-1, 3).mean(0)
        assert res.before["cast"] > 0.15, method
        # grey-world equalises the means exactly; the white patch equalises the brightest tones,
        # which the cast partly clipped in red (measured: cast 0.49 -> 0.14)
        limit = 0.05 if method == "grey-world" else 0.4 * res.before["cast"]
        assert res.after["cast"] < limit, method
        assert np.ptp(means) < 0.5 * np.ptp(cast.reshape(-1, 3).mean(0)), method


def test_restore_leaves_a_good_photo_alone(samples):
    res = restore(samples / "china.jpg")
    assert not any(s.applied for s in res.steps)
    assert np.array_equal(np.asarray(res.pil), np.asarray(Image.open(samples / "china.jpg").convert("RGB")))
    assert {s.name for s in res.steps} == {"exposure", "white_balance", "contrast", "clahe"}


def test_restore_bad_options(samples):
    with pytest.raises(InvalidArgument, match="unknown restore step 'sharpen'"):
        restore(samples / "china.jpg", steps="exposure,sharpen")
    with pytest.raises(InvalidArgument, match="grey-world, percentile"):
        restore(samples / "china.jpg", steps="wb", white_balance="magic")


def test_edits_never_overwrite_their_input(samples, tmp_path):
    src = tmp_path / "in.png"
    Image.open(samples / "coins.jpg").save(src)
    before = src.read_bytes()
    for call in (lambda: denoise(src, output=src), lambda: restore(src, output=src, overwrite=True),
                 lambda: inpaint(src, box="1,1,5,5", output=src, overwrite=True)):
        with pytest.raises(InvalidArgument, match="never overwrites its inputs"):
            call()
    assert src.read_bytes() == before


def test_output_plans_for_one_and_several_inputs(tmp_path):
    from ocula.output import OutputExists, plan_outputs

    a, b = tmp_path / "a.jpg", tmp_path / "b.gif"
    for p in (a, b):
        Image.new("RGB", (4, 4)).save(p)
    # defaults sit next to the input, tagged, GIF becomes PNG, and never replace a file
    plan = plan_outputs([a, b], None, "restored", batch=True)
    assert plan == {a: tmp_path / "a.restored.jpg", b: tmp_path / "b.restored.png"}
    (tmp_path / "a.restored.jpg").write_bytes(b"x")
    assert plan_outputs([a], None, "restored", batch=False)[a] == tmp_path / "a.restored-2.jpg"
    assert plan_outputs([b], None, "stripped", batch=False, keep_suffix=True)[b] == tmp_path / "b.stripped.gif"
    # several inputs: -o is a folder, created when missing; a taken name gets the tag
    out = tmp_path / "out"
    (out).mkdir()
    (out / "a.jpg").write_bytes(b"x")
    plan = plan_outputs([a, b], out, "restored", batch=True)
    assert plan == {a: out / "a.restored.jpg", b: out / "b.png"}
    # one input and an existing folder: the file goes inside it
    assert plan_outputs([b], out, "restored", batch=False)[b] == out / "b.png"
    with pytest.raises(InvalidArgument, match="must be a folder"):
        plan_outputs([a, b], a, "restored", batch=True)
    with pytest.raises(OutputExists):
        plan_outputs([a], out / "a.jpg", "restored", batch=False)
