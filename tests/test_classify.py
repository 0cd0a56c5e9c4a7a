"""classify on the real EfficientNet-Lite0 weights and the sample photos."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocula.config import load_settings
from ocula.errors import InvalidArgument, UnknownModel
from ocula.results import Category
from ocula.tasks.classify import (CATEGORIES, CLASSIFIERS, check_labels, classify, classify_batch,
                                  imagenet_labels)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
NAMES = ["chelsea", "coffee", "rocket", "china", "flower"]
CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO, CUP = 967, 968
ROCKETS = {657, 744, 812}  # missile, projectile, space shuttle


@pytest.fixture(scope="module")
def results():
    """One batched pass over the samples, shared by the tests below."""
    res = classify_batch([SAMPLES / f"{n}.jpg" for n in NAMES], top_k=5)
    return dict(zip(NAMES, res))


def test_chelsea_is_a_cat(results):
    r = results["chelsea"]
    top = r.labels[0]
    assert top.index in CATS
    assert top.category == "animal"
    assert "猫" in top.name_zh
    assert "cat" in top.name
    assert r.model == "efficientnet-lite0"
    assert r.image.source.endswith("chelsea.jpg") and (r.image.width, r.image.height) == (451, 300)
    # all of the top three are cats: the model is sure of the family if not the kind
    assert sum(lab.score for lab in r.labels if lab.index in CATS) > 0.8


def test_coffee_is_espresso(results):
    labels = results["coffee"].labels[:3]
    by_index = {lab.index: lab for lab in labels}
    assert ESPRESSO in by_index or CUP in by_index
    assert any("咖啡" in lab.name_zh for lab in labels)
    assert labels[0].index == ESPRESSO and labels[0].score > 0.5
    assert labels[0].name == "espresso" and labels[0].category == "food"


def test_rocket(results):
    top3 = {lab.index for lab in results["rocket"].labels[:3]}
    assert top3 & ROCKETS
    assert results["rocket"].labels[0].name_zh == "导弹"


def test_other_samples(results):
    assert results["flower"].labels[0].name == "daisy"
    assert results["flower"].labels[0].category == "plant"
    assert results["china"].labels[0].category == "building"


def test_scores_are_sorted_probabilities(results):
    for r in results.values():
        scores = [lab.score for lab in r.labels]
        assert scores == sorted(scores, reverse=True)
        assert all(0 <= s <= 1 for s in scores)
        assert sum(scores) <= 1 + 1e-6
        assert len({lab.index for lab in r.labels}) == len(r.labels) == 5


def test_all_classes_sum_to_one():
    r = classify(SAMPLES / "coffee.jpg", top_k=1000)
    assert len(r.labels) == 1000
    assert sorted(lab.index for lab in r.labels) == list(range(1000))
    assert sum(lab.score for lab in r.labels) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("bad", [0, -1, 1001, True, 2.5, "5"])
def test_top_k_bounds(bad):
    with pytest.raises(InvalidArgument, match="1 to 1000"):
        classify(SAMPLES / "chelsea.jpg", top_k=bad)


def test_top_k_one():
    r = classify(SAMPLES / "chelsea.jpg", top_k=1)
    assert len(r.labels) == 1 and r.labels[0].index in CATS


def test_unknown_model_lists_valid_names():
    with pytest.raises(UnknownModel) as err:
        classify(SAMPLES / "chelsea.jpg", model="resnet-9000")
    msg = str(err.value)
    assert "resnet-9000" in msg and "efficientnet-lite0" in msg
    assert err.value.valid == sorted(CLASSIFIERS)


def test_model_from_settings():
    settings = load_settings(env={}, classifier="no-such-classifier")
    with pytest.raises(UnknownModel, match="efficientnet-lite0"):
        classify(SAMPLES / "chelsea.jpg", settings=settings)
    ok = classify(SAMPLES / "chelsea.jpg", top_k=1, settings=load_settings(env={}, classifier="EfficientNet-Lite0"))
    assert ok.model == "efficientnet-lite0"


def test_batch_equals_single(results):
    for name in ("chelsea", "rocket"):
        single = classify(SAMPLES / f"{name}.jpg", top_k=5)
        batched = results[name]
        assert [lab.index for lab in single.labels] == [lab.index for lab in batched.labels]
        for a, b in zip(single.labels, batched.labels):
            assert a.score == pytest.approx(b.score, abs=1e-4)


def test_empty_batch():
    assert classify_batch([], top_k=3) == []


def test_pil_numpy_bytes_agree():
    path = SAMPLES / "chelsea.jpg"
    data = path.read_bytes()
    pil = Image.open(path).convert("RGB")
    tops = [classify(src, top_k=1).labels[0] for src in (data, pil, np.asarray(pil), io.BytesIO(data))]
    assert len({lab.index for lab in tops}) == 1
    # a 451 px JPEG is not draft-reduced for MAX_SIDE, so every route sees the same pixels
    assert max(lab.score for lab in tops) - min(lab.score for lab in tops) < 1e-4


def test_grey_and_rgba_inputs():
    grey = Image.open(SAMPLES / "coins.jpg")
    assert grey.mode == "L"
    r = classify(grey, top_k=3)
    assert len(r.labels) == 3 and r.image.mode == "L"
    rgba = Image.open(SAMPLES / "chelsea.jpg").convert("RGBA")
    assert classify(rgba, top_k=1).labels[0].index in CATS


def test_labels_file_integrity():
    labels = imagenet_labels()
    assert len(labels) == 1000
    assert check_labels(labels) == []
    assert set(CATEGORIES) == set(Category.__args__)
    assert labels[0] == {"en": "tench", "zh": "丁鲷", "category": "animal"}
    assert labels[281]["en"] == "tabby cat" and labels[281]["zh"] == "虎斑猫"
    assert labels[207]["zh"] == "金毛寻回犬"
    assert labels[ESPRESSO]["zh"] == "浓缩咖啡"
    assert labels[999]["en"] == "toilet paper"
    # 0-397 are animals in ImageNet's index order; the three people and the scenes at the end
    assert all(lab["category"] == "animal" for lab in labels[:398])
    assert "animal" not in {lab["category"] for lab in labels[398:]}
    assert [labels[i]["category"] for i in (981, 982, 983)] == ["person"] * 3
    assert {labels[i]["category"] for i in (970, 972, 973, 974, 975, 976, 977, 978, 979, 980)} == {"scene"}


def test_check_labels_finds_problems():
    bad = [dict(lab) for lab in imagenet_labels()]
    bad[3]["category"] = "weapon"
    bad[4]["zh"] = "shark"
    bad[5]["en"] = " "
    bad[6]["en"] = bad[7]["en"]
    problems = check_labels(bad[:999])
    text = "\n".join(problems)
    assert "999 entries" in text
    assert "3: category 'weapon'" in text
    assert "4: Chinese name 'shark'" in text
    assert "5: empty English name" in text
    assert "already used" in text


def test_features_are_normalised_and_meaningful():
    from ocula.backends import efficientnet

    imgs = [Image.open(SAMPLES / f"{n}.jpg").convert("RGB") for n in ("chelsea", "coffee")]
    imgs.append(imgs[0].transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    feats = efficientnet.features(imgs)
    assert feats.shape == (3, 1280) and feats.dtype == np.float32
    assert np.allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)
    sim = feats @ feats.T
    assert sim[0, 2] > 0.8 > sim[0, 1]  # the mirrored cat is near the cat, far from the coffee
    logits, feats2 = efficientnet.forward(imgs[:1])
    assert logits.shape == (1, 1000) and np.allclose(feats2[0], feats[0], atol=1e-5)


def test_unusable_device_is_a_clear_error():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    from ocula.errors import ModelUnavailable

    with pytest.raises(ModelUnavailable, match="OCULA_DEVICE=cpu"):
        classify(SAMPLES / "chelsea.jpg", settings=load_settings(env={}, device="cuda"))


def test_onnxruntime_graph_matches_torch(tmp_path):
    """The CPU path runs an ONNX export of the packaged weights: same logits and features as torch."""
    import numpy as np
    from PIL import Image

    from ocula.backends import efficientnet
    from ocula.config import load_settings

    settings = load_settings(env={"OCULA_HOME": str(tmp_path)})
    images = [Image.open(SAMPLES / f"{n}.jpg").convert("RGB") for n in ("chelsea", "coffee", "rocket")]
    logits, feats = efficientnet.forward(images, settings=settings)
    assert (tmp_path / "cache" / f"{efficientnet.NAME}-v{efficientnet.ONNX_VERSION}.onnx").is_file()
    t_logits, t_feats = efficientnet.forward_torch(images, settings=settings)
    assert np.abs(logits - t_logits).max() < 1e-3 and np.abs(feats - t_feats).max() < 1e-4
    assert (np.argsort(-logits, 1)[:, :5] == np.argsort(-t_logits, 1)[:, :5]).all()
    assert np.allclose(np.linalg.norm(feats, axis=1), 1, atol=1e-5)
