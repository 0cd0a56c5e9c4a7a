"""Vector indexes: exact scans equal numpy, the IVF index finds the true neighbours, filters,
persistence, damaged files and rebuilds."""

from __future__ import annotations

import os

import numpy as np
import pytest

from ocula.errors import InvalidArgument
from ocula.index import vectors as V
from ocula.index.vectors import VectorIndexCorrupt, ids_stamp, open_vectors


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, dim: int, seed: int = 0, centres: int = 200) -> np.ndarray:
    """Random vectors around random centres: embeddings of real photos cluster like this."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim), dtype=np.float32)
    return unit(c[rng.integers(0, centres, n)] + 0.6 * rng.standard_normal((n, dim), dtype=np.float32))


def exact_top(x: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    s = x @ q
    order = np.argsort(-s, kind="stable")[:k]
    return ids[order], s[order]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    x = clustered(3000, 48, seed=1, centres=100)
    ids = rng.permutation(10_000)[:3000].astype(np.int64) * 3 + 1  # sparse, unordered ids
    return ids, x


@pytest.mark.parametrize("kind", ["flat", "int8"])
def test_exact_kinds_equal_numpy(data, kind):
    ids, x = data
    index = open_vectors(None, 48, kind=kind)
    index.add(ids, x)
    assert len(index) == 3000 and index.kind == kind
    rng = np.random.default_rng(2)
    for q in unit(rng.standard_normal((20, 48), dtype=np.float32)):
        got_ids, got_s = index.search(q, 10)
        want_ids, want_s = exact_top(x, ids, q, 10)
        assert got_ids.dtype == np.int64 and got_s.dtype == np.float32
        np.testing.assert_array_equal(got_ids, want_ids)
        np.testing.assert_allclose(got_s, want_s, rtol=1e-5, atol=1e-6)
    # a stored vector finds itself with similarity 1
    top_ids, top_s = index.search(x[7], 1)
    assert top_ids[0] == ids[7] and abs(top_s[0] - 1.0) < 1e-5


def test_ivf_recall_at_10_on_20k():
    x = clustered(20_000, 48, seed=3)
    ids = np.arange(20_000, dtype=np.int64) + 1_000_000
    index = open_vectors(None, 48, kind="ivf", threads=2)
    index.add(ids, x)
    assert index.kind == "ivf" and len(index) == 20_000
    rng = np.random.default_rng(4)
    queries = unit(x[rng.integers(0, 20_000, 100)] + 0.1 * rng.standard_normal((100, 48), dtype=np.float32))
    recall = []
    for q in queries:
        got, sims = index.search(q, 10)
        want, want_s = exact_top(x, ids, q, 10)
        recall.append(len(set(got.tolist()) & set(want.tolist())) / 10)
        # similarities are true cosines, best first
        assert np.all(np.diff(sims) <= 1e-6)
        np.testing.assert_allclose(sims[0], x[got[0] - 1_000_000] @ q, atol=1e-5)
    assert np.mean(recall) >= 0.95, np.mean(recall)


@pytest.mark.parametrize("kind", ["flat", "int8", "ivf"])
def test_filtered_search_returns_only_allowed(data, kind):
    ids, x = data
    index = open_vectors(None, 48, kind=kind, threads=2)
    index.add(ids, x)
    rng = np.random.default_rng(5)
    q = unit(rng.standard_normal((1, 48), dtype=np.float32))[0]
    for share in (0.005, 0.3, 0.9):
        allowed = rng.choice(ids, int(len(ids) * share), replace=False)
        got, _ = index.search(q, 10, allowed=allowed)
        assert set(got.tolist()) <= set(allowed.tolist())
        mask = np.isin(ids, allowed)
        want, _ = exact_top(x[mask], ids[mask], q, 10)
        if kind != "ivf":
            np.testing.assert_array_equal(got, want)
        else:
            assert len(got) == min(10, len(allowed))
            assert len(set(got.tolist()) & set(want.tolist())) >= 8
    # allowed ids the index does not hold, or none at all
    assert index.search(q, 5, allowed=np.array([-5, -6]))[0].size == 0
    assert index.search(q, 5, allowed=np.array([], dtype=np.int64))[0].size == 0


def test_ivf_large_allowed_share_filters_in_cells(monkeypatch):
    """Above SUBSET_EXACT_MAX allowed ids the IVF index filters inside its cells."""
    monkeypatch.setattr(V, "SUBSET_EXACT_MAX", 100)
    x = clustered(4000, 32, seed=6)
    ids = np.arange(4000, dtype=np.int64)
    index = open_vectors(None, 32, kind="ivf", threads=2)
    index.add(ids, x)
    allowed = ids[ids % 2 == 0]
    q = x[11]
    got, _ = index.search(q, 10, allowed=allowed)
    assert len(got) == 10 and np.all(got % 2 == 0)
    want, _ = exact_top(x[allowed], allowed, q, 10)
    assert len(set(got.tolist()) & set(want.tolist())) >= 8


@pytest.mark.parametrize("kind", ["flat", "int8", "ivf"])
def test_save_load_round_trip(tmp_path, data, kind):
    ids, x = data
    path = tmp_path / "db.image.vec"
    index = open_vectors(path, 48, kind=kind, threads=2)
    index.add(ids, x)
    index.save()
    assert not list(tmp_path.glob(".*tmp"))  # the temp file was renamed away
    again = open_vectors(path, 48, kind=kind, count=3000, stamp=ids_stamp(ids))
    assert not again.stale and again.problem is None
    assert again.kind == kind and len(again) == 3000 and again.stamp == index.stamp
    q = x[42]
    np.testing.assert_array_equal(again.search(q, 10)[0], index.search(q, 10)[0])
    np.testing.assert_allclose(again.search(q, 10)[1], index.search(q, 10)[1], atol=1e-6)


def test_stamp_is_order_independent_and_tracks_changes(data):
    ids, x = data
    assert ids_stamp(ids) == ids_stamp(ids[::-1]) != ids_stamp(ids[1:])
    index = open_vectors(None, 48, kind="flat")
    assert index.stamp == ids_stamp([]) == "0:0000000000000000"
    index.add(ids, x)
    assert index.stamp == ids_stamp(ids)
    index.add(ids[:10], x[10:20])  # replacing keeps the id set
    assert index.stamp == ids_stamp(ids) and len(index) == 3000
    index.remove(ids[:100])
    assert index.stamp == ids_stamp(ids[100:])


def damage(path, how: str) -> None:
    size = os.path.getsize(path)
    if how == "truncate":
        with open(path, "r+b") as fh:
            fh.truncate(size * 2 // 3)
    elif how == "flip":
        with open(path, "r+b") as fh:
            fh.seek(size // 3)
            b = fh.read(1)
            fh.seek(size // 3)
            fh.write(bytes([b[0] ^ 0xFF]))
    elif how == "garbage":
        path.write_bytes(b"not a vector file at all")


@pytest.mark.parametrize("kind", ["flat", "ivf"])
@pytest.mark.parametrize("how", ["truncate", "flip", "garbage"])
def test_damaged_file_is_detected_and_rebuild_repairs_it(tmp_path, data, kind, how):
    ids, x = data
    path = tmp_path / "db.image.vec"
    index = open_vectors(path, 48, kind=kind, threads=2)
    index.add(ids, x)
    index.save()
    damage(path, how)
    with pytest.raises(VectorIndexCorrupt):
        open_vectors(path, 48, kind=kind, strict=True)
    broken = open_vectors(path, 48, kind=kind, count=3000, threads=2)
    assert broken.stale and broken.problem and len(broken) == 0
    broken.rebuild(ids, x)  # from the authoritative copy in SQLite
    assert not broken.stale and len(broken) == 3000
    broken.save()
    fixed = open_vectors(path, 48, kind=kind, stamp=ids_stamp(ids))
    assert not fixed.stale
    np.testing.assert_array_equal(fixed.search(x[5], 3)[0], exact_top(x, ids, x[5], 3)[0])


def test_stale_file_is_detected(tmp_path, data):
    ids, x = data
    path = tmp_path / "db.text.vec"
    index = open_vectors(path, 48)
    index.add(ids[:2000], x[:2000])
    index.save()
    # SQLite committed more vectors after the last save (a crash between the two)
    later = open_vectors(path, 48, count=3000, stamp=ids_stamp(ids))
    assert later.stale and "3000" in later.problem
    assert open_vectors(path, 48, stamp=ids_stamp(ids[:2000])).stale is False
    # another model's vectors: wrong dimension
    assert open_vectors(path, 64).stale
    # a missing file is stale only when vectors are expected
    assert not open_vectors(tmp_path / "new.vec", 48).stale
    assert open_vectors(tmp_path / "new.vec", 48, count=5).stale


@pytest.mark.parametrize("kind", ["flat", "int8", "ivf"])
def test_remove_and_replace(data, kind):
    ids, x = data
    index = open_vectors(None, 48, kind=kind, threads=2)
    index.add(ids, x)
    gone = ids[:500]
    index.remove(np.concatenate([gone, [-1, -2]]))  # unknown ids are ignored
    assert len(index) == 2500
    for q in x[:20]:
        got, _ = index.search(q, 10)
        assert not set(got.tolist()) & set(gone.tolist())
    # re-adding an id replaces its vector
    index.add(ids[600:601], x[0:1])
    got, sims = index.search(x[0], 1)
    assert got[0] == ids[600] and sims[0] > 0.999
    assert len(index) == 2500


def test_auto_switches_to_ivf_above_threshold(tmp_path, monkeypatch):
    monkeypatch.setattr(V, "ANN_THRESHOLD", 1500)
    x = clustered(2000, 32, seed=8)
    ids = np.arange(2000, dtype=np.int64)
    path = tmp_path / "auto.vec"
    index = open_vectors(path, 32, threads=2)
    index.add(ids[:1000], x[:1000])
    assert index.kind == "flat"
    index.add(ids[1000:], x[1000:])
    assert index.kind == "ivf" and len(index) == 2000
    index.save()
    again = open_vectors(path, 32, stamp=ids_stamp(ids))
    assert again.kind == "ivf" and not again.stale
    assert again.search(x[1500], 1)[0][0] == 1500
    # a new auto index sized by count starts as the IVF index
    assert open_vectors(None, 32, count=5000).kind == "ivf"
    assert open_vectors(None, 32, count=10).kind == "flat"


def test_bad_arguments():
    with pytest.raises(InvalidArgument, match="flat"):
        open_vectors(None, 8, kind="annoy")
    index = open_vectors(None, 8)
    with pytest.raises(InvalidArgument):
        index.add(np.arange(3), np.zeros((3, 9), dtype=np.float32))
    with pytest.raises(InvalidArgument):
        index.add(np.arange(2), np.zeros((3, 8), dtype=np.float32))
    with pytest.raises(InvalidArgument):
        index.search(np.zeros(9, dtype=np.float32), 3)
    assert index.search(np.ones(8, dtype=np.float32), 3)[0].size == 0


def test_ivf_retrains_as_the_collection_grows(tmp_path):
    x = clustered(12_000, 32, seed=9)
    ids = np.arange(12_000, dtype=np.int64) * 2
    index = open_vectors(tmp_path / "grow.vec", 32, kind="ivf", threads=2)
    index.add(ids[:1000], x[:1000])
    first_cells = index._ann.cells
    for i in range(1000, 12_000, 1000):  # batches, as indexing adds them
        index.add(ids[i : i + 1000], x[i : i + 1000])
    assert index._ann.cells > first_cells and index._ann.trained_on >= 4000
    assert len(index) == 12_000 and index.stamp == ids_stamp(ids)
    index.save()
    again = open_vectors(tmp_path / "grow.vec", 32, stamp=ids_stamp(ids))
    assert not again.stale and again.kind == "ivf"
    recall = []
    for q in x[:50]:
        got, _ = again.search(q, 10)
        recall.append(len(set(got.tolist()) & set(exact_top(x, ids, q, 10)[0].tolist())) / 10)
    assert np.mean(recall) >= 0.95


def test_ivf_filter_with_large_ids():
    """ids beyond a bitmap's reach use faiss's hashed selector."""
    x = clustered(3000, 32, seed=10)
    ids = np.arange(3000, dtype=np.int64) + (1 << 40)
    index = open_vectors(None, 32, kind="ivf", threads=2)
    index.add(ids, x)
    allowed = ids[::2]
    got, _ = index.search(x[4], 10, allowed=allowed)
    assert len(got) == 10 and set(got.tolist()) <= set(allowed.tolist()) and got[0] == ids[4]
