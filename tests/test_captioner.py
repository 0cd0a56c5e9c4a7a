"""Captioner writer on tiny randomly initialised BLIP and Florence-2 models built from the
real transformers config classes, saved with save_pretrained and loaded back through the
captioner's own loading code (``file:`` model source). The words are random; what is
checked is the real path: processor -> generate -> decode -> Draft, and the errors."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers", reason="the captioner needs transformers (pip install transformers)")

from ocula.backends import clear_models
from ocula.config import Settings
from ocula.errors import ModelUnavailable, UnknownModel
from ocula.image import load_image
from ocula.results import Analysis, Color, ColorsResult, FacesResult, ImageInfo, Label, OCRResult
from ocula.writing import validate
from ocula.writing.base import DescribeRequest, WriterError, WriterUnavailable
from ocula.writing.captioner import CaptionerWriter, caption_draft, clean_caption, Caption, load_captioner

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
# neutral words only: a random caption must not name an animal or a person the facts lack
WORDS = ["soft", "brown", "blanket", "sofa", "resting", "near", "window", "light", "small", "warm",
         "room", "striped", "pattern", "on", "the", "a", "with", "grey", "cushion", "quiet"]


def build_blip(folder: Path) -> Path:
    import torch
    from transformers import BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipProcessor
    from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"] + WORDS
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = BertTokenizer(str(folder / "vocab.txt"), bos_token="[DEC]")
    dec = tok.convert_tokens_to_ids("[DEC]")
    config = BlipConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=64, bos_token_id=dec, pad_token_id=0,
                         sep_token_id=3, eos_token_id=3),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=32, image_text_hidden_size=32)
    torch.manual_seed(0)
    BlipForConditionalGeneration(config).save_pretrained(folder)
    BlipProcessor(image_processor=BlipImageProcessorPil(size={"height": 32, "width": 32}),
                  tokenizer=tok).save_pretrained(folder)
    return folder


def build_florence2(folder: Path) -> Path:
    import torch
    from transformers import BartTokenizer, Florence2Config, Florence2ForConditionalGeneration, Florence2Processor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    folder.mkdir(parents=True, exist_ok=True)
    tokens = ["<s>", "<pad>", "</s>", "<unk>"] + ["\u0120" + w for w in WORDS] + list("abcdefghijklmnopqrstuvwxyz")
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tok = BartTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"),
                        extra_special_tokens={"image_token": "<image>"})
    side = 64  # two stages of stride 4 and 2: an 8x8 grid of image tokens, plus one temporal token
    vision = dict(depths=[1, 1], patch_size=[7, 3], patch_stride=[4, 2], patch_padding=[3, 1],
                  patch_prenorm=[False, True], embed_dim=[16, 32], num_heads=[2, 2], num_groups=[2, 2],
                  window_size=2, projection_dim=32, max_temporal_embeddings=4, max_position_embeddings=16)
    text = dict(model_type="bart", vocab_size=len(tok), d_model=32, encoder_layers=1, decoder_layers=1,
                encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                max_position_embeddings=256, bos_token_id=0, pad_token_id=1, eos_token_id=2,
                decoder_start_token_id=2, forced_eos_token_id=2)
    torch.manual_seed(0)
    config = Florence2Config(vision_config=vision, text_config=text, image_token_id=tok.image_token_id)
    Florence2ForConditionalGeneration(config).save_pretrained(folder)
    image_processor = CLIPImageProcessorPil(size={"height": side, "width": side},
                                            crop_size={"height": side, "width": side}, do_center_crop=False)
    image_processor.image_seq_length = (side // 8) ** 2 + 1
    Florence2Processor(image_processor=image_processor, tokenizer=tok).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def blip_dir(tmp_path_factory) -> Path:
    return build_blip(tmp_path_factory.mktemp("tiny-blip"))


@pytest.fixture(scope="module")
def florence_dir(tmp_path_factory) -> Path:
    import transformers

    if not hasattr(transformers, "Florence2ForConditionalGeneration"):
        pytest.skip(f"transformers {transformers.__version__} has no native Florence-2 classes (needs >= 4.56)")
    return build_florence2(tmp_path_factory.mktemp("tiny-florence2"))


@pytest.fixture(scope="module")
def chelsea():
    return load_image(SAMPLES / "chelsea.jpg")


def facts_for(loaded, ocr: str = "") -> Analysis:
    im = ImageInfo.of(loaded)
    return Analysis(
        image=im, classifier="efficientnet-lite0",
        labels=[Label(index=281, name="tabby cat", name_zh="虎斑猫", category="animal", score=0.6)],
        faces=FacesResult(image=im, model="haar", faces=[]),
        text=OCRResult(image=im, engine="rapidocr", text=ocr),
        colors=ColorsResult(image=im, brightness=0.4, colorfulness=20, colors=[
            Color(hex="#8a6d55", rgb=(138, 109, 85), fraction=0.5, name="brown", name_zh="棕色")]))


# --- loading and generation -------------------------------------------------------------

def test_blip_generates_within_max_tokens(blip_dir, chelsea):
    settings = Settings()
    cap = load_captioner(f"file:{blip_dir}", settings)
    assert cap.family == "blip"
    assert load_captioner(f"file:{blip_dir}", settings) is cap  # loaded once per process
    for n in (1, 4, 9):
        out = cap.caption(chelsea.image, max_new_tokens=n, num_beams=2)
        assert isinstance(out.text, str) and 1 <= out.tokens <= n
        assert 0 < out.score <= 1
    greedy = cap.caption(chelsea.image, max_new_tokens=6, num_beams=1)
    assert greedy.tokens <= 6 and 0 < greedy.score <= 1
    words = set(out.text.split())
    assert words <= set(WORDS), out.text  # decoded through the real tokenizer, specials dropped


def test_no_torchvision_needed(blip_dir):
    load_captioner(str(blip_dir), Settings())  # a plain folder path works too
    assert importlib.util.find_spec("torchvision") is None or "torchvision" not in sys.modules


def test_florence2_generates_within_max_tokens(florence_dir, chelsea):
    cap = load_captioner(f"file:{florence_dir}", Settings())
    assert cap.family == "florence2"
    for length in ("short", "long"):  # <CAPTION> and <MORE_DETAILED_CAPTION>
        out = cap.caption(chelsea.image, length=length, max_new_tokens=5, num_beams=2)
        assert isinstance(out.text, str) and 1 <= out.tokens <= 5


@pytest.mark.parametrize("purpose", ["alt", "caption", "product", "social", "news", "tags"])
def test_writer_drafts_every_purpose(blip_dir, chelsea, purpose):
    facts = facts_for(chelsea, ocr="SALE")
    w = CaptionerWriter(Settings(), model=f"file:{blip_dir}", max_new_tokens=8, num_beams=2)
    req = DescribeRequest(purpose=purpose, length="long")
    draft = w.write(facts, req, chelsea)
    assert validate.check_draft(draft, facts, req) == []
    assert draft.text and 0 < draft.confidence <= 1
    if purpose == "alt":
        assert len(draft.text) <= 125 and '"SALE"' in draft.text
    if purpose == "product":
        assert draft.title and 3 <= len(draft.bullets) <= 5
    if purpose == "social":
        assert draft.hashtags and all(h.startswith("#") for h in draft.hashtags)
    if purpose == "news":
        assert "[WHERE]" in draft.text
    if purpose == "tags":
        assert len(draft.tags) >= 3 and "tabby cat" in draft.tags


def test_florence2_writer(florence_dir, chelsea):
    draft = CaptionerWriter(Settings(), model=f"file:{florence_dir}", max_new_tokens=8, num_beams=2).write(
        facts_for(chelsea), DescribeRequest(purpose="caption", length="short"), chelsea)
    assert draft.text.endswith(".")


def test_chinese_and_missing_image_are_writer_errors(blip_dir, chelsea):
    w = CaptionerWriter(Settings(), model=f"file:{blip_dir}")
    with pytest.raises(WriterError, match="English only") as e:
        w.write(facts_for(chelsea), DescribeRequest(language="zh"), chelsea)
    assert not isinstance(e.value, WriterUnavailable)  # describe() falls back to builtin
    with pytest.raises(WriterError, match="needs the image"):
        w.write(facts_for(chelsea), DescribeRequest(), None)


def test_describe_with_captioner_and_zh_fallback(blip_dir):
    from ocula.tasks.describe import describe

    settings = Settings(captioner=f"file:{blip_dir}")
    desc = describe(SAMPLES / "chelsea.jpg", writer="captioner", length="short", steps=["colors"],
                    settings=settings)
    assert desc.writer == "captioner" and desc.text
    zh = describe(SAMPLES / "chelsea.jpg", writer="captioner", language="zh", steps=["colors"], settings=settings)
    assert zh.writer == "builtin" and "English only" in zh.warnings[0]


# --- what a captioned draft may say -----------------------------------------------------

def test_contradicting_caption_is_rejected(chelsea):
    facts = facts_for(chelsea)
    draft = caption_draft(Caption(text="a dog sitting on a couch", tokens=6, score=0.5, model="x"), facts,
                          DescribeRequest(purpose="alt"))
    assert validate.check_animals(draft, facts)  # the writer raises WriterError on this -> builtin


def test_caption_cleaning_and_alt_trim(chelsea):
    assert clean_caption("arafed cat laying on a blanket .") == "cat laying on a blanket"
    assert clean_caption("there is a cat on a sofa") == "a cat on a sofa"
    long = Caption(text="a cat " + "on a very long striped blanket " * 8, tokens=40, score=0.4, model="x")
    d = caption_draft(long, facts_for(chelsea), DescribeRequest(purpose="alt"))
    assert len(d.text) <= 125 and d.text.endswith(".") and not d.text.endswith(" .")
    tags = caption_draft(Caption(text="a cat on a sofa", tokens=5, score=0.4, model="x"), facts_for(chelsea),
                         DescribeRequest(purpose="tags", length="short")).tags
    assert tags[0] == "cat"


def test_news_who_comes_only_from_named_people():
    from ocula.results import Analysis, Face, FacesResult, ImageInfo, NamedPerson

    im = ImageInfo(source="p.jpg", width=800, height=600)
    faces = [Face(box=(100, 100, 120, 150), score=0.99), Face(box=(500, 100, 120, 150), score=0.99)]
    facts = Analysis(image=im, faces=FacesResult(image=im, model="mtcnn", faces=faces))
    cap = Caption(text="two men standing at a podium", tokens=6, score=0.5, model="x")
    news = DescribeRequest(purpose="news")
    assert caption_draft(cap, facts, news).text == "[WHO] — two men standing at a podium at [WHERE]."
    facts.people = [NamedPerson(name="Barack Obama", person=1, box=faces[0].box, distance=0.3)]
    d = caption_draft(cap, facts, news)
    assert d.text == "Barack Obama and [WHO] — two men standing at a podium at [WHERE]."
    assert validate.check_draft(d, facts, news) == []


# --- unavailable models -----------------------------------------------------------------

def test_hub_model_not_downloaded(monkeypatch, tmp_path):
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    settings = Settings(offline=True)
    with pytest.raises(ModelUnavailable) as e:
        load_captioner("blip-base", settings)
    assert "not" in e.value.reason and "ocula models pull blip-base" in str(e.value)
    with pytest.raises(WriterUnavailable, match="ocula models pull blip-base"):
        CaptionerWriter(settings)  # known before any image is read
    from ocula.tasks.describe import describe, describe_many

    with pytest.raises(WriterUnavailable, match="blip-base.* is not usable"):
        describe(SAMPLES / "coffee.jpg", writer="captioner", steps=["colors"], settings=settings)
    (_, desc), = describe_many([SAMPLES / "coffee.jpg"], writer="captioner", steps=["colors"], settings=settings)
    assert desc.writer == "builtin" and "ocula models pull blip-base" in desc.warnings[0]


def test_unknown_and_wrong_models(tmp_path):
    with pytest.raises(UnknownModel, match="blip-base"):
        load_captioner("blip-huge", Settings())
    with pytest.raises(ModelUnavailable, match="config.json missing"):
        load_captioner(f"file:{tmp_path}", Settings())
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(ModelUnavailable, match="not a captioner"):
        load_captioner(f"file:{tmp_path}", Settings())


def teardown_module(module):
    clear_models()
