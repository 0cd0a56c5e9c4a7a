"""ocula search: words in English and Chinese, words printed in images, search by example,
filters, fusion. One small collection is indexed once for the module (classify + OCR)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from ocula._textset import render_lines
from ocula.errors import InvalidArgument
from ocula import Index
from ocula.tasks.search import RRF_K, rrf

PHOTOS = ("chelsea", "coffee", "rocket", "flower", "astronaut", "china")
EN_WORD, ZH_WORD = "PARKING", "图书馆"


@pytest.fixture(scope="module")
def collection(tmp_path_factory, samples) -> tuple[Path, Index]:
    root = tmp_path_factory.mktemp("search")
    photos = root / "photos"
    (photos / "trip").mkdir(parents=True)
    for name in PHOTOS:  # small copies keep decoding and OCR fast
        im = Image.open(samples / f"{name}.jpg").convert("RGB")
        im.thumbnail((320, 320))
        im.save(photos / f"{name}.jpg", quality=90)
    render_lines([EN_WORD], size=48).save(photos / "trip" / "sign_en.png")
    render_lines([ZH_WORD], size=48).save(photos / "trip" / "sign_zh.png")
    coffee = Image.open(samples / "coffee.jpg").convert("RGB")
    w, h = coffee.size
    coffee.crop((int(w * .15), int(h * .1), int(w * .75), int(h * .85))).save(root / "coffee_crop.jpg")
    ix = Index(root / "index.db")
    report = ix.add([photos], steps=["classify", "ocr"])
    assert report.analysed == len(PHOTOS) + 2 and not report.failed
    return root, ix


def _names(result) -> list[str]:
    return [Path(h.path).stem for h in result.hits]


@pytest.mark.parametrize("query", ["cat", "猫", "a cat sleeping", "小猫"])
def test_cat_queries_find_chelsea_first(collection, query):
    _, ix = collection
    res = ix.search(query, top_k=3)
    assert _names(res)[0] == "chelsea", (query, [(h.path, h.ranks) for h in res.hits])


def test_coffee_in_chinese(collection):
    _, ix = collection
    assert _names(ix.search("咖啡", top_k=3))[0] == "coffee"


@pytest.mark.parametrize("query,expected", [(EN_WORD.lower(), "sign_en"), (ZH_WORD, "sign_zh"),
                                            ("书馆", "sign_zh")])
def test_word_printed_in_image_ranks_it_first(collection, query, expected):
    _, ix = collection
    res = ix.search(query, top_k=3)
    assert _names(res)[0] == expected, [(h.path, h.ranks, h.text) for h in res.hits]
    assert "fts" in res.hits[0].ranks  # found by the words read in it, not only by meaning


def test_search_by_example_crop(collection):
    root, ix = collection
    res = ix.search_image(root / "coffee_crop.jpg", top_k=3)
    assert res.mode == "image" and _names(res)[0] == "coffee"
    assert res.hits[0].similarity > res.hits[1].similarity


def test_filters(collection):
    root, ix = collection
    text_only = ix.search("cat", has_text=True)
    assert set(_names(text_only)) == {"sign_en", "sign_zh"} and text_only.total == 2
    trip = ix.search("coffee", folder=root / "photos" / "trip")
    assert set(_names(trip)) <= {"sign_en", "sign_zh"}
    assert ix.search("cat", after="2999-01-01").hits == []
    assert len(ix.search("cat", before="2999").hits) == len(PHOTOS) + 2
    with pytest.raises(InvalidArgument, match="date like"):
        ix.search("cat", after="yesterday")
    with pytest.raises(InvalidArgument, match="good, acceptable|poor, acceptable, good"):
        ix.search("cat", min_quality="great")
    with pytest.raises(InvalidArgument, match="top_k"):
        ix.search("cat", top_k=0)
    with pytest.raises(InvalidArgument, match="words"):
        ix.search("   ")


def test_rrf_formula():
    fused = rrf({"text": [1, 2, 3], "fts": [2]})
    assert [i for i, _, _ in fused] == [2, 1, 3]
    assert fused[0][1] == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert fused[0][2] == {"text": 2, "fts": 1}


def test_cli_paths_and_json(collection):
    from ocula.cli import app

    root, ix = collection
    runner = CliRunner()
    r = runner.invoke(app, ["search", "猫", "--db", str(ix.path), "--paths", "-k", "3"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 3 and Path(lines[0]).stem == "chelsea"
    r = runner.invoke(app, ["search", "--image", str(root / "coffee_crop.jpg"), "--db", str(ix.path), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["mode"] == "image" and Path(data["hits"][0]["path"]).stem == "coffee"
    r = runner.invoke(app, ["search", "--db", str(ix.path)])
    assert r.exit_code == 2
    r = runner.invoke(app, ["search", "cat", "--db", str(root / "missing.db")])
    assert r.exit_code != 0


def test_vector_file_rebuilt_when_stamp_disagrees(collection):
    _, ix = collection
    from ocula.index.store import Store

    store = Store(ix.path)
    with store.transaction():
        store.bump_generation("text")  # as if a run had committed and died before saving the file
    store.close()
    assert _names(ix.search("猫", top_k=1)) == ["chelsea"]
    store = Store(ix.path)
    assert store.get_meta("vectors.text.saved") == store.get_meta("vectors.text.gen")
    store.close()
    vec = Path(f"{ix.path}.image.vec")
    assert vec.exists()
    vec.write_bytes(vec.read_bytes()[:-100])  # a file cut short (a crash mid-write elsewhere)
    from ocula.index import vectorfiles

    vectorfiles.forget_loaded()  # as in a new process: the file is read again
    assert _names(ix.search_image(root_photo(ix, "coffee"), top_k=1)) == ["coffee"]


def root_photo(ix: Index, name: str) -> Path:
    return ix.path.parent / "photos" / f"{name}.jpg"
