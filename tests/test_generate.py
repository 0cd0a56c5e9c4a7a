"""`ocula generate` end to end on tiny, randomly initialised diffusers models.

The UNet, VAE, CLIP text encoder and ControlNet are the real diffusers/transformers classes
built from tiny configs (the ones diffusers' own tests use), with a byte-level CLIP tokenizer
made here from a local vocabulary: nothing is downloaded. Their output is noise; the tests
check what ocula promises about it (files, metadata, determinism, kept pixels, refusals).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("diffusers", reason="the generate extra is not installed (pip install 'ocula[generate]')")

from typer.testing import CliRunner  # noqa: E402

OCULA = Path(sys.executable).parent / "ocula"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's byte -> printable character table (GPT-2 byte-level BPE)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    extra = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + extra)
            extra += 1
    return dict(zip(bs, map(chr, cs)))


def build_tiny_models(root: Path) -> dict[str, Path]:
    import torch
    from diffusers import (AutoencoderKL, ControlNetModel, DDIMScheduler, StableDiffusionInpaintPipeline,
                           StableDiffusionPipeline, UNet2DConditionModel)
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    chars = list(_bytes_to_unicode().values())
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in chars:
        vocab.setdefault(c, len(vocab))
    for c in chars:
        vocab.setdefault(c + "</w>", len(vocab))
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)

    def parts(in_channels: int) -> dict:
        torch.manual_seed(0)
        unet = UNet2DConditionModel(block_out_channels=(4, 8), layers_per_block=1, sample_size=32,
                                    in_channels=in_channels, out_channels=4,
                                    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=8,
                                    norm_num_groups=2)
        torch.manual_seed(0)
        vae = AutoencoderKL(block_out_channels=[4, 8], in_channels=3, out_channels=3,
                            down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                            latent_channels=4, norm_num_groups=2, sample_size=256)  # VAE tiles above this
        torch.manual_seed(0)
        text_encoder = CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=1, hidden_size=8,
                                                    intermediate_size=16, layer_norm_eps=1e-5,
                                                    num_attention_heads=2, num_hidden_layers=2, pad_token_id=1,
                                                    vocab_size=1000))
        scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                  clip_sample=False, set_alpha_to_one=False, steps_offset=1)
        return dict(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler,
                    safety_checker=None, feature_extractor=None, requires_safety_checker=False)

    paths = {"sd": root / "tiny-sd", "inpaint": root / "tiny-inpaint", "controlnet": root / "tiny-controlnet"}
    StableDiffusionPipeline(**parts(4)).save_pretrained(paths["sd"])
    StableDiffusionInpaintPipeline(**parts(9)).save_pretrained(paths["inpaint"])
    torch.manual_seed(0)
    ControlNetModel(block_out_channels=(4, 8), layers_per_block=1, in_channels=4,
                    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), cross_attention_dim=8,
                    conditioning_embedding_out_channels=(16, 32), norm_num_groups=2).save_pretrained(paths["controlnet"])
    return paths


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    return build_tiny_models(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="module")
def cli():
    from ocula.cli import app

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args])

    return invoke


def _ok(res) -> None:
    assert res.exit_code == 0, f"exit {res.exit_code}: {res.output}\n{res.exception!r}"


def _pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


@pytest.fixture(scope="module")
def init_and_mask(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("inputs")
    init = Image.open(SAMPLES / "chelsea.jpg").convert("RGB").resize((96, 64))
    init.save(d / "init.png")
    mask = Image.new("L", (96, 64), 0)
    mask.paste(255, (24, 16, 72, 48))
    mask.save(d / "mask.png")
    Image.new("L", (32, 32), 255).save(d / "small-mask.png")
    return d / "init.png", d / "mask.png"


def test_text_to_image_is_deterministic_and_carries_its_recipe(tiny, cli, tmp_path):
    args = ["generate", "a red apple", "--model", tiny["sd"], "--steps", "2", "--size", "64x64", "--seed", "7",
            "-o", tmp_path]
    _ok(cli(*args))
    _ok(cli(*args))
    files = sorted(tmp_path.glob("*.png"))
    assert [f.name for f in files] == ["0001-a-red-apple-s7.png", "0002-a-red-apple-s7.png"]
    a, b = _pixels(files[0]), _pixels(files[1])
    assert a.shape == (64, 64, 3)
    assert np.array_equal(a, b), "same seed and settings must give the same pixels"
    assert a.std() > 1, "the image should not be blank"
    with Image.open(files[0]) as im:
        text = dict(im.text)
    assert text["prompt"] == "a red apple" and text["seed"] == "7" and text["steps"] == "2"
    assert text["size"] == "64x64" and text["guidance"] == "7.5" and text["software"].startswith("ocula ")
    assert json.loads(text["parameters"])["model"] == str(tiny["sd"])


def test_seeds_count_up_and_differ(tiny, cli, tmp_path):
    res = cli("generate", "a red apple", "--model", tiny["sd"], "--steps", "1", "--size", "64x64", "--seed", "3",
              "-n", "2", "-o", tmp_path, "--json", "--safety", "off")
    _ok(res)
    data = json.loads(res.stdout)
    assert [i["seed"] for i in data["images"]] == [3, 4]
    a, b = (_pixels(i["path"]) for i in data["images"])
    assert not np.array_equal(a, b)


def test_no_metadata_and_jpeg_exif(tiny, cli, tmp_path):
    from ocula.tasks.generate import read_recipe

    _ok(cli("generate", "plain", "--model", tiny["sd"], "--steps", "1", "--size", "64x64", "--seed", "1",
            "--no-metadata", "--safety", "off", "-o", tmp_path / "a"))
    (png,) = (tmp_path / "a").glob("*.png")
    with Image.open(png) as im:
        assert not getattr(im, "text", {})
    _ok(cli("generate", "a blue pear", "--negative", "blurry", "--model", tiny["sd"], "--steps", "1",
            "--size", "64x64", "--seed", "5", "--format", "jpg", "--safety", "off", "-o", tmp_path / "b"))
    (jpg,) = (tmp_path / "b").glob("*.jpg")
    assert jpg.name == "0001-a-blue-pear-s5.jpg"
    with Image.open(jpg) as im:
        assert im.getexif()[0x010E] == "a blue pear"
    recipe = read_recipe(jpg)
    assert recipe["seed"] == "5" and recipe["negative_prompt"] == "blurry"


def test_image_to_image(tiny, cli, tmp_path, init_and_mask):
    init, _ = init_and_mask
    res = cli("generate", "a cat", "--model", tiny["sd"], "--steps", "2", "--init-image", init, "--strength", "0.5",
              "--seed", "1", "-o", tmp_path, "--json", "--safety", "off")
    _ok(res)
    data = json.loads(res.stdout)
    assert data["mode"] == "img2img" and data["strength"] == 0.5
    out = _pixels(data["images"][0]["path"])
    assert out.shape == (64, 96, 3)  # the init image's size when --size is not given
    assert json.loads(Image.open(data["images"][0]["path"]).text["parameters"])["strength"] == "0.5"


@pytest.mark.parametrize("which", ["inpaint", "sd"])
def test_inpainting_keeps_unmasked_pixels(tiny, cli, tmp_path, init_and_mask, which):
    init, mask = init_and_mask
    res = cli("generate", "a dog", "--model", tiny[which], "--steps", "2", "--init-image", init, "--mask", mask,
              "--seed", "2", "-o", tmp_path, "--json", "--safety", "off")
    _ok(res)
    data = json.loads(res.stdout)
    assert data["mode"] == "inpaint"
    out = _pixels(data["images"][0]["path"]).astype(int)
    src = _pixels(init).astype(int)
    m = _pixels(mask)[..., 0] > 127
    assert np.abs(out[~m] - src[~m]).max() <= 1, "pixels outside the mask must be kept"
    assert np.abs(out[m] - src[m]).mean() > 5, "the masked area should be repainted"


def test_raw_pipeline_changes_unmasked_pixels(tiny, init_and_mask):
    """Why ocula pastes the input back: the VAE round trip alters every pixel."""
    import torch
    from diffusers import AutoPipelineForInpainting

    init, mask = init_and_mask
    pipe = AutoPipelineForInpainting.from_pretrained(str(tiny["inpaint"]), safety_checker=None)
    pipe.set_progress_bar_config(disable=True)
    raw = pipe("a dog", image=Image.open(init), mask_image=Image.open(mask), width=96, height=64,
               num_inference_steps=2, generator=torch.Generator().manual_seed(2)).images[0]
    m = _pixels(mask)[..., 0] > 127
    assert np.abs(np.asarray(raw).astype(int)[~m] - _pixels(init).astype(int)[~m]).mean() > 5


@pytest.mark.parametrize("kind", ["canny", "scribble"])
def test_controlnet(tiny, cli, tmp_path, kind):
    res = cli("generate", "a cat", "--model", tiny["sd"], "--control", kind, "--control-image",
              SAMPLES / "chelsea.jpg", "--control-model", tiny["controlnet"], "--steps", "2", "--size", "64x64",
              "--seed", "4", "-o", tmp_path, "--json", "--safety", "off")
    _ok(res)
    data = json.loads(res.stdout)
    assert data["mode"] == "control" and data["control"] == kind
    assert _pixels(data["images"][0]["path"]).shape == (64, 64, 3)


def test_control_maps():
    from ocula.tasks.control import control_map

    photo = Image.open(SAMPLES / "chelsea.jpg")
    canny = np.asarray(control_map(photo, "canny", (256, 192)))[..., 0]
    scribble = np.asarray(control_map(photo, "scribble", (256, 192)))[..., 0]
    assert canny.shape == (192, 256) and set(np.unique(canny)) <= {0, 255}
    assert 0.01 < (canny > 0).mean() < 0.5
    assert (scribble > 0).mean() > (canny > 0).mean()  # thick strokes
    sketch = Image.new("RGB", (128, 128), "white")
    sketch.paste((0, 0, 0), (20, 60, 108, 66))  # one dark stroke on paper
    s = np.asarray(control_map(sketch, "scribble", (128, 128)))[..., 0]
    assert s[63, 64] == 255 and s[10, 10] == 0


@pytest.mark.parametrize("args, message", [
    (["--size", "65x64"], "multiples of 8"),
    (["--size", "4096x512"], "64..2048"),
    (["--size", "big"], "WIDTHxHEIGHT"),
    (["--init-image", "INIT", "--strength", "0"], "(0, 1]"),
    (["--init-image", "INIT", "--strength", "1.5"], "(0, 1]"),
    (["--strength", "0.5"], "--init-image"),
    (["--mask", "MASK"], "needs --init-image"),
    (["--init-image", "INIT", "--mask", "SMALL"], "same size"),
    (["--control", "canny"], "--control-image"),
    (["--control", "depth", "--control-image", "INIT"], "canny or scribble"),
    (["--safety", "maybe"], "flag, blur, block, off"),
    (["--dtype", "float16", "--device", "cpu"], "float16 does not run on the CPU"),
])
def test_bad_options_are_refused_clearly(tiny, cli, tmp_path, init_and_mask, args, message):
    init, mask = init_and_mask
    swap = {"INIT": str(init), "MASK": str(mask), "SMALL": str(mask.parent / "small-mask.png")}
    res = cli("generate", "a cat", "--model", tiny["sd"], "--steps", "1", "-o", tmp_path,
              *[swap.get(a, a) for a in args])
    assert res.exit_code != 0
    assert message in str(res.exception), str(res.exception)
    assert not list(tmp_path.glob("*.png"))


def test_offline_without_weights_names_the_pull_command(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "OCULA_HOME": str(tmp_path / "home")}
    p = subprocess.run([str(OCULA), "generate", "a cat", "-o", str(tmp_path / "out")], capture_output=True,
                       text=True, timeout=120, env=env)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "ocula models pull sd-turbo" in lines[0]


def test_safety_blocklist_flag_block_blur(tiny, cli, tmp_path):
    common = ["--model", tiny["sd"], "--steps", "1", "--size", "64x64", "--seed", "9", "--json"]
    res = cli("generate", "a naked statue", *common, "--safety", "block", "-o", tmp_path / "block")
    _ok(res)
    img = json.loads(res.stdout)["images"][0]
    assert img["path"] is None and img["safety"]["action"] == "blocked" and img["safety"]["prompt_terms"] == ["naked"]
    assert not list((tmp_path / "block").glob("*.png"))

    res = cli("generate", "a naked statue", *common, "-o", tmp_path / "flag")  # default: flag
    _ok(res)
    img = json.loads(res.stdout)["images"][0]
    assert img["safety"]["action"] == "flagged" and Path(img["path"]).exists()
    assert Image.open(img["path"]).text["safety"] == "flagged"

    words = tmp_path / "words.txt"
    words.write_text("# my list\napple\n")
    res = cli("generate", "an apple", *common, "--safety", "blur", "--blocklist", words, "-o", tmp_path / "blur")
    _ok(res)
    img = json.loads(res.stdout)["images"][0]
    assert img["safety"]["action"] == "blurred"
    plain = cli("generate", "an apple", *common, "--safety", "off", "-o", tmp_path / "off")
    sharp = _pixels(json.loads(plain.stdout)["images"][0]["path"]).astype(float)
    blurred = _pixels(img["path"]).astype(float)
    assert np.abs(np.diff(blurred, axis=1)).mean() < 0.5 * np.abs(np.diff(sharp, axis=1)).mean()


def test_batch_from_yaml_is_resumable_with_contact_sheet(tiny, cli, tmp_path, init_and_mask):
    init, _ = init_and_mask
    batch = tmp_path / "prompts.yaml"
    batch.write_text(
        "defaults:\n  steps: 1\n  size: 64x64\n"
        "prompts:\n"
        "  - a red apple\n"
        "  - {prompt: 'a green <pear> & \"fig\"', seed: 11, n: 2}\n"
        f"  - {{prompt: a cat, init_image: {init.name}, strength: 1.0, steps: 2}}\n".replace(
            init.name, str(init)))
    out = tmp_path / "out"
    res = cli("generate", "--from", batch, "--model", tiny["sd"], "--safety", "off", "-o", out, "--json")
    _ok(res)
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == ["0001-a-red-apple-s0.png", "0002-a-green-pear-fig-s11.png", "0003-a-green-pear-fig-s12.png",
                     "0004-a-cat-s3.png"]
    page = (out / "index.html").read_text()
    for n in names:
        assert f'src="{n}"' in page and f'href="{n}"' in page  # relative links
    assert 'alt="a green &lt;pear&gt; &amp; &quot;fig&quot;"' in page
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}

    # rerun: everything is kept; then one changed setting remakes only that image
    res = cli("generate", "--from", batch, "--model", tiny["sd"], "--safety", "off", "-o", out, "--json")
    _ok(res)
    assert all(i["skipped"] for r in json.loads(res.stdout)["results"] for i in r["images"])
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")} == stamps
    jsonl = tmp_path / "prompts.jsonl"
    jsonl.write_text('{"prompt": "a red apple", "steps": 1, "size": "64x64"}\n'
                     '{"prompt": "a red apple", "steps": 2, "size": "64x64", "seed": 5}\n')
    res = cli("generate", "--from", jsonl, "--model", tiny["sd"], "--safety", "off", "-o", out, "--json")
    _ok(res)
    first, second = (r["images"][0] for r in json.loads(res.stdout)["results"])
    assert first["skipped"] and first["path"].endswith("0001-a-red-apple-s0.png")
    assert not second["skipped"] and second["path"].endswith("0002-a-red-apple-s5.png")


def test_api_progress_and_cancel(tiny, tmp_path):
    from ocula.tasks.generate import Cancelled, generate

    calls = []
    res = generate(["one", "two"], model=tiny["sd"], steps=3, size="64x64", seed=0, safety="off",
                   progress=lambda *a: calls.append(a))
    assert calls == [(s, 3, i, 2) for i in (1, 2) for s in (1, 2, 3)]
    assert res.seeds == [0, 1] and res.paths == [] and len(res.pils) == 2
    with pytest.raises(Cancelled):
        generate("three", model=tiny["sd"], steps=3, size="64x64", seed=0, safety="off", out_dir=tmp_path,
                 cancel=lambda: True)
    assert not list(tmp_path.glob("*.png"))


def test_watermark_and_sign_keep_the_recipe(tiny, cli, tmp_path):
    res = cli("generate", "a red apple", "--model", tiny["sd"], "--steps", "1", "--size", "256x256", "--seed", "7",
              "--watermark", "ocula", "--sign", "--safety", "off", "-o", tmp_path, "--json")
    _ok(res)
    img = json.loads(res.stdout)["images"][0]
    prov = img["provenance"]
    assert prov["watermarked"] and prov["signed"]
    assert Image.open(img["path"]).text["prompt"] == "a red apple"
    from ocula.tasks.verify import verify

    report = verify(img["path"])
    text = json.dumps(report.model_dump(mode="json"))
    assert "trainedAlgorithmicMedia" in text


def test_output_moderation_decides_and_missing_extra_is_said(tiny, tmp_path, monkeypatch):
    """The output scorer's verdict drives --safety; without the extra the result says so."""
    from ocula.errors import MissingDependency
    from ocula.results import ImageInfo, ModerationResult
    from ocula.tasks import moderate as mod
    from ocula.tasks.generate import generate

    def unsafe(image, *, threshold, settings=None):
        return ModerationResult(image=ImageInfo(source="<generated>", width=64, height=64), model="stub",
                                scores={"FEMALE_BREAST_EXPOSED": 0.9}, unsafe=True, threshold=threshold)

    monkeypatch.setattr(mod, "moderate", unsafe)
    res = generate("a vase", model=tiny["sd"], steps=1, size="64x64", seed=0, safety="block", out_dir=tmp_path)
    s = res.images[0].safety
    assert s.image_unsafe and s.action == "blocked" and res.images[0].path is None
    assert not list(tmp_path.glob("*.png"))

    def missing(image, *, threshold, settings=None):
        raise MissingDependency("NudeNet", "pip install 'ocula[moderation]'")

    monkeypatch.setattr(mod, "moderate", missing)
    res = generate("a vase", model=tiny["sd"], steps=1, size="64x64", seed=0, out_dir=tmp_path)
    assert res.images[0].path and res.images[0].safety.image_unsafe is None
    assert any("moderation extra is not installed" in n for n in res.notes)
