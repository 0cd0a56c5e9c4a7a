"""ocula dupes: exact copies by content hash, near copies (resized, recompressed, cropped)
by perceptual hash AND image embedding, grouped by union-find."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from ocula.errors import InvalidArgument
from ocula import Index
from ocula.index.phash import dhash, hamming, hamming_matrix


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, samples) -> Index:
    root = tmp_path_factory.mktemp("dupes")
    photos = root / "photos"
    photos.mkdir()
    for name in ("chelsea", "coffee", "rocket", "astronaut", "grace_hopper", "coins"):
        im = Image.open(samples / f"{name}.jpg").convert("RGB")
        im.thumbnail((480, 480))
        im.save(photos / f"{name}.jpg", quality=92)
    cat = Image.open(photos / "chelsea.jpg")
    cat.resize((cat.width // 2, cat.height // 2), Image.Resampling.LANCZOS).save(photos / "chelsea-half.jpg", quality=70)
    shutil.copy(photos / "chelsea.jpg", photos / "chelsea-copy.jpg")
    rocket = Image.open(photos / "rocket.jpg")
    w, h = rocket.size
    rocket.crop((int(w * .04), int(h * .04), int(w * .96), int(h * .96))).save(photos / "rocket-crop.jpg", quality=85)
    ix = Index(root / "dupes.db")
    ix.add(photos, steps=["classify"])
    return ix


def _groups(result) -> list[set[str]]:
    return [{Path(p).name for p in g.paths} for g in result.groups]


def test_groups_half_size_copy_and_crop(indexed):
    res = indexed.dupes()
    groups = _groups(res)
    assert {"chelsea.jpg", "chelsea-copy.jpg", "chelsea-half.jpg"} in groups
    assert {"rocket.jpg", "rocket-crop.jpg"} in groups
    # two different women's portraits, and everything else, stay apart
    assert len(groups) == 2, groups
    assert res.images == 9


def test_exact_only_with_zero_threshold(indexed):
    res = indexed.dupes(threshold=0, min_similarity=1.01 - 0.01)
    exact = [g for g in res.groups if g.kind == "exact"]
    assert [set(Path(p).name for p in g.paths) for g in exact] == [{"chelsea.jpg", "chelsea-copy.jpg"}]


def test_bad_arguments(indexed):
    with pytest.raises(InvalidArgument, match="threshold"):
        indexed.dupes(threshold=65)
    with pytest.raises(InvalidArgument, match="min_similarity"):
        indexed.dupes(min_similarity=2)


def test_cli_dupes(indexed):
    from ocula.cli import app

    r = CliRunner().invoke(app, ["dupes", "--db", str(indexed.path), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert any({Path(p).name for p in g["paths"]} >= {"chelsea.jpg", "chelsea-half.jpg"} for g in data["groups"])
    r = CliRunner().invoke(app, ["dupes", "--db", str(indexed.path)])
    assert "chelsea-half.jpg" in r.stdout


def test_dhash_properties(samples):
    im = Image.open(samples / "chelsea.jpg")
    h = dhash(im)
    assert hamming(h, dhash(im.resize((im.width // 3, im.height // 3)))) <= 3
    assert hamming(h, dhash(Image.open(samples / "coffee.jpg"))) > 16
    assert hamming(h, h) == 0
    m = hamming_matrix(np.array([h, 0]), np.array([h, -1]))
    assert m.tolist() == [[0, hamming(h, -1)], [hamming(0, h), 64]]
