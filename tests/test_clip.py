"""CLIP / SigLIP embedder on tiny randomly initialised models built from the real configs and
saved with save_pretrained, loaded through get_clip like a downloaded model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("transformers")

from ocula.backends import clear_models
from ocula.backends.clip import ClipEmbedder, get_clip, load_clip
from ocula.config import get_settings
from ocula.errors import ModelUnavailable, UnknownModel

WORDS = ["a", "photo", "of", "cat", "dog", "cup", "coffee", "sofa", "on", "the", "rocket", "red"]


def write_clip_tokenizer(folder) -> None:
    """A tiny byte-level BPE vocabulary in CLIP's format (``</w>`` marks a word end)."""
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in sorted(set("".join(WORDS))):
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault(ch + "</w>", len(vocab))
    merges = []
    for w in WORDS:  # merge each word left to right into one token
        parts = list(w[:-1]) + [w[-1] + "</w>"]
        while len(parts) > 1:
            a, b = parts[0], parts[1]
            merges.append(f"{a} {b}")
            vocab.setdefault(a + b, len(vocab))
            parts = [a + b] + parts[2:]
    merges = list(dict.fromkeys(merges))
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    import torch
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

    folder = tmp_path_factory.mktemp("tiny-clip")
    write_clip_tokenizer(folder)
    tok = CLIPTokenizer.from_pretrained(folder)  # reads vocab.json + merges.txt
    tok.save_pretrained(folder)
    text = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=16,
                bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    vision = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                  image_size=30, patch_size=2)
    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=32)).eval()
    model.save_pretrained(folder)
    CLIPImageProcessorPil(size={"shortest_edge": 30}, crop_size={"height": 30, "width": 30}).save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def _fresh_models():
    clear_models()
    yield
    clear_models()


def settings_with(clip_model: str):
    return get_settings().model_copy(update={"clip_model": clip_model, "threads": 2})


@pytest.fixture(scope="module")
def photos(samples):
    return [Image.open(samples / f"{n}.jpg").convert("RGB") for n in ("chelsea", "coffee", "rocket")]


def test_tiny_clip_embeds_images_and_texts(tiny_clip, photos):
    clip = get_clip(settings_with(str(tiny_clip)))
    assert isinstance(clip, ClipEmbedder) and clip.family == "clip" and clip.dim == 32
    assert clip.key == f"clip:{tiny_clip}"
    img = clip.embed_images(photos)
    txt = clip.embed_texts(["a photo of a cat", "a cup of coffee", "a red rocket", "dog"])
    assert img.shape == (3, 32) and txt.shape == (4, 32)
    assert img.dtype == np.float32 and txt.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(img, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(txt, axis=1), 1.0, atol=1e-5)
    # different inputs give different vectors (the model is random, not constant)
    assert np.abs(img[0] - img[1]).max() > 1e-4 and np.abs(txt[0] - txt[2]).max() > 1e-4
    # deterministic, and a batch equals one at a time
    np.testing.assert_allclose(clip.embed_images(photos), img, atol=1e-5)
    np.testing.assert_allclose(clip.embed_images([photos[1]])[0], img[1], atol=1e-5)
    np.testing.assert_allclose(clip.embed_texts(["a red rocket"])[0], txt[2], atol=1e-5)
    assert clip.embed_images([]).shape == (0, 32)
    # grey and RGBA images are converted
    assert clip.embed_images([photos[0].convert("L"), photos[0].convert("RGBA")]).shape == (2, 32)


def test_similarity_matches_the_model_logits(tiny_clip, photos):
    """Our cosine equals CLIPModel's own image-text logits divided by its temperature."""
    import torch
    from transformers import CLIPModel

    clip = load_clip(str(tiny_clip), settings_with(str(tiny_clip)))
    texts = ["a photo of a cat", "a cup of coffee"]
    sims = clip.similarity(photos, texts)
    assert sims.shape == (3, 2) and np.all(np.abs(sims) <= 1.0 + 1e-5)
    model = CLIPModel.from_pretrained(tiny_clip).eval()
    pixels = clip.image_processor(images=photos, return_tensors="pt")["pixel_values"]
    assert tuple(pixels.shape) == (3, 3, 30, 30)
    enc = clip.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], pixel_values=pixels)
        want = (out.logits_per_image / model.logit_scale.exp()).numpy()
    np.testing.assert_allclose(sims, want, atol=1e-4)


def test_model_is_cached_per_process(tiny_clip):
    s = settings_with(str(tiny_clip))
    assert get_clip(s) is get_clip(s)


def test_off_auto_and_unknown(tiny_clip):
    from ocula.backends.clip import AUTO_ORDER
    from ocula.models import status

    assert get_clip(settings_with("off")) is None
    with pytest.raises(UnknownModel):
        get_clip(settings_with("no-such-clip"))
    if any(status(name).usable for name in AUTO_ORDER):
        pytest.skip("a catalogue CLIP model is downloaded here: auto would load it")
    # no catalogue CLIP model downloaded: auto means no CLIP, a name says how to get it
    assert get_clip(settings_with("auto")) is None
    with pytest.raises(ModelUnavailable, match="models pull clip-vit-b32"):
        get_clip(settings_with("clip-vit-b32"))


def test_folder_that_is_not_an_embedder(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelUnavailable, match="not an image-text embedder"):
        get_clip(settings_with(str(tmp_path)))
    with pytest.raises(ModelUnavailable, match="config.json missing"):
        get_clip(settings_with("file:" + str(tmp_path / "nowhere")))


@pytest.fixture(scope="module")
def tiny_siglip(tmp_path_factory):
    """SigLIP with a word-level fast tokenizer (the real one needs sentencepiece)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, SiglipConfig, SiglipImageProcessorPil, SiglipModel

    folder = tmp_path_factory.mktemp("tiny-siglip")
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="</s>",
                                  unk_token="<unk>", model_max_length=16)
    tok.save_pretrained(folder)
    torch.manual_seed(0)
    config = SiglipConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=16, pad_token_id=0, eos_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                           image_size=30, patch_size=2))
    SiglipModel(config).eval().save_pretrained(folder)
    SiglipImageProcessorPil(size={"height": 30, "width": 30}).save_pretrained(folder)
    return folder


def test_tiny_siglip(tiny_siglip, photos):
    import torch
    from transformers import SiglipModel

    clip = get_clip(settings_with(str(tiny_siglip)))
    assert clip.family == "siglip" and clip.dim == 32
    img = clip.embed_images(photos)
    txt = clip.embed_texts(["a photo of a cat", "coffee cup"])
    assert img.shape == (3, 32) and txt.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(img, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(clip.embed_texts(["coffee cup"])[0], txt[1], atol=1e-5)
    np.testing.assert_allclose(clip.embed_images(photos[2:])[0], img[2], atol=1e-5)
    # cosine equals SigLIP's logits with its scale and bias taken off
    model = SiglipModel.from_pretrained(tiny_siglip).eval()
    pixels = clip.image_processor(images=photos, return_tensors="pt")["pixel_values"]
    ids = clip.tokenizer(["a photo of a cat", "coffee cup"], padding="max_length", max_length=16,
                         return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        out = model(input_ids=ids, pixel_values=pixels)
        want = ((out.logits_per_image - model.logit_bias) / model.logit_scale.exp()).numpy()
    np.testing.assert_allclose(img @ txt.T, want, atol=1e-4)
