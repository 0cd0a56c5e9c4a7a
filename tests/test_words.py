"""Words drive recognition: zero-shot labels (CLIP/SigLIP + the multilingual text tower),
COCO and open-vocabulary detection (RT-DETR, OWLv2), redact/inpaint --find, questions (a VLM
on a local stand-in server, BLIP VQA, the facts) and Chinese prompts for generate. Every hub
model is a tiny random model of the real class, loaded through the real CLI."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

pytest.importorskip("transformers")

from ocula.backends import clear_models  # noqa: E402
from ocula.config import get_settings  # noqa: E402
from ocula.errors import InvalidArgument, ModelUnavailable, OculaError  # noqa: E402
from test_clip import tiny_clip, tiny_siglip  # noqa: E402,F401 (fixtures)
from test_describe_llm import FakeLLM  # noqa: E402
from words_models import build_blip_vqa, build_multilingual_text, build_owlv2, build_rtdetr  # noqa: E402

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("words-models")
    return {"rtdetr": build_rtdetr(root / "rtdetr"), "owlv2": build_owlv2(root / "owlv2"),
            "vqa": build_blip_vqa(root / "vqa"), "mclip": build_multilingual_text(root / "mclip")}


@pytest.fixture
def env(monkeypatch):
    """Set OCULA_* variables for this test; settings and loaded models start fresh."""
    def set_(**values):
        for k, v in values.items():
            monkeypatch.setenv(f"OCULA_{k.upper()}", str(v))
        get_settings.cache_clear()
        clear_models()
    monkeypatch.setenv("OCULA_THREADS", "2")
    yield set_
    get_settings.cache_clear()
    clear_models()


@pytest.fixture(scope="module")
def cli():
    from ocula.cli import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def closed_port() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/v1"


# --- zero-shot labels -----------------------------------------------------------------------

def test_label_lists_are_checked():
    from ocula.tasks._zeroshot import parse_labels

    assert parse_labels("kitchen, beach ,猫、receipt, Kitchen") == ["kitchen", "beach", "猫", "receipt"]
    for bad, message in [("", "no labels"), (" , ,", "no labels"), ("!!!, ???", "no letters"),
                         (",".join(f"w{i}" for i in range(1001)), "at most 1000"), ("x" * 101, "characters")]:
        with pytest.raises(InvalidArgument, match=message):
            parse_labels(bad)
    assert len(parse_labels([f"w{i}" for i in range(1000)])) == 1000


def test_labels_file(tmp_path):
    from ocula.tasks._zeroshot import parse_labels

    f = tmp_path / "tags.txt"
    f.write_text("# my tags\nreceipt\nbeach, kitchen\n\n", encoding="utf-8")
    assert parse_labels(None, f) == ["receipt", "beach", "kitchen"]
    with pytest.raises(InvalidArgument, match="could not be read"):
        parse_labels(None, tmp_path / "missing.txt")
    f.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InvalidArgument, match="not UTF-8"):
        parse_labels(None, f)


def test_none_of_these_is_calibrated():
    from ocula.tasks._zeroshot import NONE_COSINE, probabilities

    cos = np.array([[0.31, 0.18, 0.17], [0.15, 0.14, 0.16]])
    p, none = probabilities(cos, 100.0, None)
    np.testing.assert_allclose(p.sum(axis=1) + none, 1.0)
    assert none[0] < 0.01 and none[1] > 0.9 and p[0].argmax() == 0
    # SigLIP: its own sigmoid (scale, bias) decides whether anything matches
    p, none = probabilities(np.array([[0.2, -0.1]]), 10.0, -5.0)
    assert none[0] == pytest.approx(1 - 1 / (1 + np.exp(-(10 * 0.2 - 5))))
    assert 0 < NONE_COSINE < 0.3


def test_classify_labels_through_the_cli(tiny_clip, env, cli, samples):
    env(clip_model=tiny_clip)
    r = cli("classify", samples / "chelsea.jpg", "--labels", "cat, dog, sofa", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {lab["name"] for lab in out["labels"]} == {"cat", "dog", "sofa"}
    assert out["none_score"] is not None
    assert sum(lab["score"] for lab in out["labels"]) + out["none_score"] == pytest.approx(1, abs=1e-4)
    assert [lab["score"] for lab in out["labels"]] == sorted((lab["score"] for lab in out["labels"]), reverse=True)
    r = cli("classify", samples / "chelsea.jpg", "--labels", "cat, dog")
    assert r.exit_code == 0 and "(none of these)" in r.stdout


def test_label_vectors_are_embedded_once(tiny_clip, env, samples, monkeypatch):
    from ocula.tasks import _zeroshot
    from ocula.tasks.classify import classify_batch

    env(clip_model=tiny_clip)
    _zeroshot.clear_cache()
    calls = []
    from ocula.backends.clip import ClipEmbedder

    real = ClipEmbedder.embed_texts
    monkeypatch.setattr(ClipEmbedder, "embed_texts", lambda self, t: calls.append(len(t)) or real(self, t))
    for _ in range(3):
        classify_batch([samples / "chelsea.jpg", samples / "coffee.jpg"], labels=["cat", "cup"])
    assert calls == [2 * len(_zeroshot.TEMPLATES["en"])]


def test_chinese_labels_never_reach_an_english_tower(tiny_clip, models, env, cli, samples):
    env(clip_model=tiny_clip, clip_text_model="clip-multilingual-text")
    r = cli("classify", samples / "chelsea.jpg", "--labels", "猫, dog")
    assert r.exit_code == 1
    assert "reads English only" in r.output and "ocula models pull clip-multilingual-text" in r.output
    env(clip_model=tiny_clip, clip_text_model=models["mclip"])
    r = cli("classify", samples / "chelsea.jpg", "--labels", "猫, 狗, kitchen", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert "+" in out["model"] and {lab["name"] for lab in out["labels"]} == {"猫", "狗", "kitchen"}
    assert [lab["name_zh"] for lab in out["labels"] if lab["name"] == "猫"] == ["猫"]


def test_multilingual_tower_matches_its_parts(models, env):
    """Our pooling + dense equals the DistilBERT model's mean token vector through the saved linear map."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from ocula.backends import mclip

    env()
    tower = mclip.load(str(models["mclip"]), get_settings())
    got = tower.embed_texts(["一张猫的照片。", "a photo of a cat."])
    tok = AutoTokenizer.from_pretrained(models["mclip"])
    bert = AutoModel.from_pretrained(models["mclip"]).eval()
    w = torch.load(models["mclip"] / "2_Dense" / "pytorch_model.bin", weights_only=True)["linear.weight"]
    enc = tok(["一张猫的照片。", "a photo of a cat."], padding=True, return_tensors="pt")
    with torch.inference_mode():
        h = bert(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).float()
        want = ((h * m).sum(1) / m.sum(1)) @ w.T
    want = (want / want.norm(dim=1, keepdim=True)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_siglip_labels_and_missing_clip(tiny_siglip, env, cli, samples):
    env(clip_model=tiny_siglip)
    r = cli("classify", samples / "coffee.jpg", "--labels", "coffee, cup, rocket", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["labels"][0]["name"] in ("coffee", "cup", "rocket")
    env(clip_model="off")
    r = cli("classify", samples / "coffee.jpg", "--labels", "cat, dog")
    assert r.exit_code == 1 and "ocula models pull clip-vit-b32" in r.output


def test_analyze_with_labels(tiny_clip, env, samples):
    from ocula.tasks.analyze import analyze

    env(clip_model=tiny_clip)
    a = analyze(samples / "chelsea.jpg", steps=["labels", "colors"], labels=["cat", "sofa"])
    assert {lab.name for lab in a.labels} == {"cat", "sofa"} and a.colors is not None


# --- detection -------------------------------------------------------------------------------

def test_detect_coco_through_the_cli(models, env, cli, samples, tmp_path):
    env(detector=models["rtdetr"])
    out_png = tmp_path / "boxes.png"
    r = cli("detect", samples / "coffee.jpg", "--min-score", "0", "--annotate", out_png, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    w, h = res["image"]["width"], res["image"]["height"]
    assert res["objects"] and res["find"] == [] and res["annotated"] == str(out_png)
    for o in res["objects"]:
        x, y, bw, bh = o["box"]
        assert o["label"] in ("person", "dog", "cat", "cup") and 0 <= x and 0 <= y and x + bw <= w and y + bh <= h
    assert sum(res["counts"].values()) == len(res["objects"])
    assert res["summary"].startswith(f"{max(res['counts'].values())} ")
    drawn = Image.open(out_png)
    assert drawn.size == (w, h) and np.abs(np.asarray(drawn, np.int16) -
                                           np.asarray(Image.open(samples / "coffee.jpg"), np.int16)).max() > 100
    r = cli("detect", samples / "coffee.jpg", "--min-score", "0.99")
    assert r.exit_code == 0 and "nothing found" in r.stdout
    r = cli("detect", samples / "coffee.jpg", "--annotate", out_png)
    assert r.exit_code == 1 and "exists" in r.output  # never over an existing file


def test_counts_read_as_words():
    from ocula.tasks.detect import summarize

    assert summarize({"person": 3, "dog": 2, "bus": 1}, {"person": "人", "dog": "狗", "bus": "公交车"}) == \
        ("3 people, 2 dogs, 1 bus", "三个人、两只狗、一辆公交车")


def test_find_words_through_the_cli(models, env, cli, samples):
    env(finder=models["owlv2"])
    r = cli("detect", samples / "coffee.jpg", "--find", "cup, red rocket", "--min-score", "0.3", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["find"] == ["cup", "red rocket"] and res["objects"]
    assert all(o["label"] in res["find"] and res["find"][o["query"]] == o["label"] for o in res["objects"])
    for bad, message in [("the, of", "names no thing"), ("猫", "English only"), (", ,", "is empty")]:
        r = cli("detect", samples / "coffee.jpg", "--find", bad)
        assert r.exit_code == 1 and message in r.output, (bad, r.output)


def test_missing_detectors_say_how_to_get_them(env, cli, samples):
    env()
    r = cli("detect", samples / "coffee.jpg", "--find", "cup")
    assert r.exit_code == 1 and "ocula models pull owlv2-base" in r.output
    r = cli("detect", samples / "coffee.jpg")
    assert r.exit_code == 1 and "ocula models pull rtdetr-r50" in r.output


def test_detected_objects_join_the_facts(models, env, samples):
    from ocula.tasks.describe import describe
    from ocula.writing.llm import facts_json

    env(detector=models["rtdetr"])
    d = describe(samples / "coffee.jpg", steps=["labels", "objects"])
    assert d.facts.objects is not None and d.facts.objects.model
    assert json.loads(facts_json(d.facts)).get("objects") == d.facts.objects.counts


def test_redact_and_inpaint_take_regions_from_words(models, env, cli, samples, tmp_path):
    env(finder=models["owlv2"])
    out = tmp_path / "redacted.png"
    r = cli("redact", samples / "coffee.jpg", "--find", "cup", "--min-score", "0.3", "--method", "fill", "-o", out,
            "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["regions"] and res["find"] == ["cup"]
    src = np.asarray(Image.open(samples / "coffee.jpg").convert("RGB"))
    got = np.asarray(Image.open(out).convert("RGB"))
    inside = np.zeros(src.shape[:2], bool)
    for x, y, w, h in res["regions"]:
        inside[y:y + h, x:x + w] = True
    assert (got[inside] == 0).all() and (got[~inside] == src[~inside]).all()
    r = cli("redact", samples / "coffee.jpg", "--find", "the")
    assert r.exit_code == 1 and "names no thing" in r.output
    out2 = tmp_path / "filled.png"
    r = cli("inpaint", samples / "coffee.jpg", "--find", "cup", "-o", out2, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["filled_pixels"] > 0 and out2.exists()
    r = cli("inpaint", samples / "coffee.jpg", "--find", "cup", "--box", "1,1,5,5")
    assert r.exit_code == 1 and "exactly one" in r.output


# --- questions -------------------------------------------------------------------------------

def test_ask_a_vlm_grounded_in_the_facts(env, cli, samples):
    server = FakeLLM()
    server.script = [{"content": "A tabby cat lies on a blanket."}]
    try:
        env(llm_url=server.url, vlm_model="test-vlm")
        r = cli("ask", samples / "chelsea.jpg", "What animal is this?", "--steps", "labels,faces", "--json")
        assert r.exit_code == 0, r.output
        res = json.loads(r.stdout)
        assert res["answer"] == "A tabby cat lies on a blanket." and res["source"] == "vlm"
        assert res["model"] == "test-vlm" and res["grounded"]
        body = server.requests[0]["body"]
        user = body["messages"][1]["content"]
        assert "What animal is this?" in user[0]["text"] and '"faces":0' in user[0]["text"]
        assert user[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
        assert "response_format" not in body
    finally:
        server.close()


def test_ask_without_a_vlm_uses_the_facts_or_says_what_to_configure(env, cli, samples):
    env(llm_url=closed_port(), vqa_model="blip-vqa-base")
    r = cli("ask", samples / "chelsea.jpg", "How many people are in this photo?", "--steps", "faces")
    assert r.exit_code == 0, r.output
    assert "0 faces were found" in r.stdout and "from the facts" in r.stdout
    r = cli("ask", samples / "chelsea.jpg", "照片里有几个人？", "--steps", "faces")
    assert r.exit_code == 0 and "0张脸" in r.stdout
    r = cli("ask", samples / "chelsea.jpg", "Is the cat happy?", "--steps", "faces")
    assert r.exit_code == 1
    assert "OCULA_VLM_MODEL" in r.output and "ocula models pull blip-vqa-base" in r.output
    r = cli("ask", samples / "chelsea.jpg", "What is it?", "--model", "vlm", "--steps", "faces")
    assert r.exit_code == 1 and "no LLM server" in r.output


def test_ask_a_hub_vqa_model(models, env, cli, samples):
    env(llm_url=closed_port(), vqa_model=models["vqa"])
    r = cli("ask", samples / "chelsea.jpg", "what is it?", "--steps", "colors", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["source"] == "vqa" and res["model"] == str(models["vqa"]) and res["answer"]
    assert any(w.startswith("vlm:") for w in res["warnings"])
    r = cli("ask", samples / "chelsea.jpg", "这是什么？", "--model", "vqa", "--steps", "colors")
    assert r.exit_code == 1 and "English questions only" in r.output


@pytest.mark.parametrize("question, message", [("x" * 102_400, "keep it under 2000"), ("   ", "needs a question"),
                                                ("?!", "has no words")])
def test_bad_questions(cli, samples, question, message):
    r = cli("ask", samples / "chelsea.jpg", question)
    assert r.exit_code == 1 and message in r.output


def test_ask_from_python_over_metadata(env, samples):
    from ocula.tasks.ask import ask

    env(llm_url=closed_port())
    a = ask(samples / "chelsea.jpg", question="When was this taken?", model="facts", steps=["metadata"])
    assert a.source == "facts" and "no capture time" in a.answer


# --- generate: words in other languages ------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory):
    pytest.importorskip("diffusers")
    from test_generate import build_tiny_models

    return build_tiny_models(tmp_path_factory.mktemp("tiny-sd"))["sd"]


def test_chinese_prompts_are_translated_or_refused(env, tiny_sd, tmp_path):
    from ocula.tasks.generate import _Plan, _prompt_words, generate

    server = FakeLLM()
    server.script = [{"content": "a red apple on a wooden table"}]
    try:
        env(llm_url=server.url, llm_model="test-llm")
        res = generate(["木桌上的红苹果", "a blue sky"], model=tiny_sd, denoising_steps=1, size="64x64", seed=0,
                       out_dir=tmp_path / "out")
        assert [im.prompt for im in res.images] == ["a red apple on a wooden table", "a blue sky"]
        assert all(Path(p).is_file() for p in res.paths) and "translated" in res.notes[0]
        assert "木桌上的红苹果" in res.notes[0]
        assert len(server.requests) == 1 and "木桌上的红苹果" in server.requests[0]["body"]["messages"][1]["content"]

        def plan(prompt: str) -> _Plan:
            return _Plan(prompts=[prompt], mode="text2img", suffix=".png", wanted=None, strength=None)

        server.script = [{"content": "a cat, sitting on a windowsill, soft morning light, photograph"}]
        p = plan("cat")
        _prompt_words(p, model=tiny_sd, enhance_prompt=True, llm_url=None, llm_model=None, settings=get_settings())
        assert p.prompts[0].startswith("a cat, sitting") and "expanded" in p.notes[0] and p.asked
        server.script = [{"content": "一只猫"}]  # a model that answers in Chinese is not used
        with pytest.raises(InvalidArgument, match="English prompt"):
            _prompt_words(plan("猫"), model=tiny_sd, enhance_prompt=False, llm_url=None, llm_model=None,
                          settings=get_settings())
    finally:
        server.close()


def test_chinese_prompt_without_an_llm_is_one_clear_line(env, tiny_sd, cli, tmp_path):
    env(llm_url=closed_port())
    r = cli("generate", "一只猫坐在窗台上", "--model", tiny_sd, "-o", tmp_path / "out")
    assert r.exit_code == 1
    message = str(r.exception)  # main() prints an OculaError as one line
    assert "reads English only" in message and "write the prompt in English" in message
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_index_stores_the_collections_own_tags(tiny_clip, env, samples, tmp_path, monkeypatch):
    from ocula.tasks import _zeroshot
    from ocula.tasks._zeroshot import ZeroShot
    from ocula.tasks.index import CUSTOM_MIN, CUSTOM_TOP, index
    from ocula.tasks.search import search

    env(clip_model=tiny_clip)
    # a random model's cosines sit near 0: move the "none of these" line below them so tags are kept
    monkeypatch.setattr(_zeroshot, "NONE_COSINE", -1.0)
    tags = tmp_path / "tags.txt"
    tags.write_text("cat\ncoffee\nrocket\nsofa\n", encoding="utf-8")
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea.jpg", "coffee.jpg", "rocket.jpg"):
        (photos / name).write_bytes((samples / name).read_bytes())
    db = tmp_path / "index.db"
    report = index([photos], db=db, steps=["colors"], labels_file=str(tags))
    assert report.analysed == 3
    words = ["cat", "coffee", "rocket", "sofa"]
    scorer = ZeroShot(None, words, get_settings())
    probs, none = scorer.scores([Image.open(photos / n).convert("RGB") for n in ("chelsea.jpg", "coffee.jpg",
                                                                                   "rocket.jpg")], words)
    stored = 0
    for name, p, nothing in zip(("chelsea.jpg", "coffee.jpg", "rocket.jpg"), probs, none):
        want = [words[j] for j in p.argsort()[::-1][:CUSTOM_TOP] if p[j] >= max(CUSTOM_MIN, nothing)]
        stored += len(want)
        for word in want:
            hits = search(word, db=db, top_k=3).hits
            hit = next(h for h in hits if h.path.endswith(name))
            assert word in hit.tags
        others = [w for w in words if w not in want and w not in ("cat", "coffee", "rocket")]
        hit = next(h for h in search("photo", db=db, top_k=3).hits if h.path.endswith(name))
        assert not [w for w in others if w in hit.tags]
    assert stored >= 3
    with pytest.raises(InvalidArgument, match="no letters"):
        index([photos], db=db, labels=["..."])


def test_detected_objects_are_searchable(models, env, samples, tmp_path):
    from ocula.tasks.index import index
    from ocula.tasks.search import search

    env(detector=models["rtdetr"])
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "coffee.jpg").write_bytes((samples / "coffee.jpg").read_bytes())
    db = tmp_path / "index.db"
    assert index([photos], db=db, steps=["objects"]).analysed == 1
    hit = search("photo", db=db).hits[0]
    from ocula.tasks.detect import detect

    found = detect(samples / "coffee.jpg")
    assert found.counts.get("cup")
    for o in found.objects:
        assert o.label in hit.tags or o.name_zh in hit.tags


def test_detected_objects_ground_the_writers_checks():
    from ocula.results import Analysis, DetectedObject, DetectResult, FacesResult, ImageInfo, Label
    from ocula.writing import validate
    from ocula.writing.base import DescribeRequest, Draft

    im = ImageInfo(source="x.jpg", width=640, height=480)
    facts = Analysis(image=im, classifier="efficientnet-lite0",
                     labels=[Label(index=281, name="tabby cat", name_zh="虎斑猫", category="animal", score=0.6)],
                     faces=FacesResult(image=im, model="mtcnn", faces=[]))
    draft = Draft(text="Two dogs and a person on a lawn.", confidence=0.5)
    request = DescribeRequest(purpose="caption")
    problems = validate.check_draft(draft, facts, request)
    assert any("dog" in p for p in problems) and any("people" in p for p in problems)
    facts.objects = DetectResult(image=im, model="rtdetr", min_score=0.5, counts={"dog": 2, "person": 1},
                                 objects=[DetectedObject(label="dog", name_zh="狗", score=0.9, box=(0, 0, 9, 9)),
                                          DetectedObject(label="dog", name_zh="狗", score=0.8, box=(9, 9, 9, 9)),
                                          DetectedObject(label="person", name_zh="人", score=0.7, box=(1, 1, 5, 5))])
    assert not [p for p in validate.check_draft(draft, facts, request) if "dog" in p or "people" in p]


def test_ask_and_detect_over_http(models, samples, tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from ocula.config import load_settings
    from ocula.serve.app import create_app
    from ocula.serve.config import ServeConfig

    server = FakeLLM()
    server.script = [{"content": "一只虎斑猫。"}]
    try:
        settings = load_settings(env={"OCULA_HOME": str(tmp_path / "home"), "OCULA_LLM_URL": server.url,
                                      "OCULA_DETECTOR": str(models["rtdetr"]), "OCULA_THREADS": "2"})
        app = create_app(ServeConfig(db=tmp_path / "index.db", settings=settings, access_log=False))
        files = {"image": ("cat.jpg", (samples / "chelsea.jpg").read_bytes(), "image/jpeg")}
        with TestClient(app) as client:
            r = client.post("/api/v1/ask", files=files, data={"question": "这是什么动物？", "steps": "colors"})
            assert r.status_code == 200, r.text
            assert r.json()["answer"] == "一只虎斑猫。" and r.json()["source"] == "vlm"
            r = client.post("/api/v1/ask", files=files, data={"question": "x" * 3000})
            assert r.status_code == 422
            r = client.post("/api/v1/detect", files=files)
            assert r.status_code == 200, r.text
            assert r.json()["counts"].get("cup")
            r = client.post("/api/v1/detect", files=files, data={"find": "猫"})
            assert r.status_code == 422 and "English only" in r.text
    finally:
        server.close()
