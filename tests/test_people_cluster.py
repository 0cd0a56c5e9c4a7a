"""Grouping faces into people: the matrix search against brute force, the decision rules,
incremental runs, clustering, and what a person said (name, merge, "not this person")
surviving later runs. Synthetic vectors shaped like dlib's, plus real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from ocula.people import cluster as C
from ocula.people.cluster import MIN_FACES, NOBODY, THRESHOLD, Gallery

FACES = Path(__file__).parent / "data" / "faces"
SAMPLES = Path(__file__).parent.parent / "samples"


def people(n_people: int, per: int, seed: int = 0, spread: float = 0.025, apart: float = 0.047):
    """Synthetic embeddings with dlib's geometry: faces of one person ~0.4 apart, of two
    people ~0.85 (measured on the development photos: 0.25-0.48 and 0.59-0.9)."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(0, 0.09, C.DIM)
    centres = mean + rng.normal(0, apart, (n_people, C.DIM))
    who = np.repeat(np.arange(n_people), per)
    return (centres[who] + rng.normal(0, spread, (len(who), C.DIM))).astype(np.float32), who, centres


def brute(gallery: Gallery, queries: np.ndarray):
    """Nearest face per person by brute force: {person: distance} per query."""
    out = []
    for q in queries:
        d = np.linalg.norm(gallery.vectors - q, axis=1)
        per = {}
        for p in np.unique(gallery.person[gallery.person >= 0]):
            per[int(p)] = float(d[gallery.person == p].min())
        out.append(per)
    return out


def test_matrix_search_matches_brute_force(monkeypatch):
    vecs, who, centres = people(40, 6, seed=1)
    g = Gallery.build(np.arange(len(vecs)), vecs, who)
    queries, qwho, _ = people(40, 2, seed=1)  # same centres (same seed), new faces
    queries = queries + np.random.default_rng(9).normal(0, 0.01, queries.shape).astype(np.float32)
    monkeypatch.setattr(C, "_CHUNK_FLOATS", 500)  # many blocks
    near = C.nearest_people(g, queries)
    ref = brute(g, queries)
    for i, per in enumerate(ref):
        best = min(per, key=per.get)
        assert near.person[i] == best == qwho[i]
        assert abs(near.distance[i] - per[best]) < 1e-4
        centroid = vecs[who == best].mean(axis=0)
        assert abs(near.centroid_distance[i] - np.linalg.norm(queries[i] - centroid)) < 1e-4
    # far from everyone: the nearest centroid's person is still reported, with its real distance
    far = np.full((1, C.DIM), 0.5, np.float32)
    n = C.nearest_people(g, far)
    assert n.person[0] >= 0 and abs(n.distance[0] - ref_far(g, far[0], n.person[0])) < 1e-4
    assert C.decide(n)[0] == NOBODY


def ref_far(g: Gallery, q: np.ndarray, p: int) -> float:
    return float(np.linalg.norm(g.vectors[g.person == p] - q, axis=1).min())


def test_doubtful_faces_stay_unknown():
    base = np.zeros(C.DIM, np.float32)
    e = np.eye(C.DIM, dtype=np.float32)
    # person 0 around +x, person 1 around +y; the query sits between them
    vecs = np.stack([base + 0.2 * e[0], base + 0.21 * e[0], base + 0.2 * e[1], base + 0.21 * e[1]])
    g = Gallery.build([1, 2, 3, 4], vecs, [0, 0, 1, 1])
    between = (0.2 * e[0] + 0.2 * e[1]) / 2
    near = C.nearest_people(g, between[None])
    assert near.runner_up[0] >= 0 and abs(near.runner_up_distance[0] - near.distance[0]) < C.MARGIN
    assert C.decide(near)[0] == NOBODY  # as near to two people: no name
    clear = 0.2 * e[0] + 0.05 * e[2]
    assert C.decide(C.nearest_people(g, clear[None]))[0] == 0
    too_far = 0.2 * e[0] + 0.6 * e[2]  # 0.6 from person 0: over the threshold
    assert C.decide(C.nearest_people(g, too_far[None]))[0] == NOBODY


def test_a_stray_member_cannot_pull_strangers_in():
    vecs, who, _ = people(2, 10, seed=3)
    stranger, _, _ = people(1, 1, seed=77)
    # a wrong face of the stranger got into person 0 earlier
    g = Gallery.build(np.arange(21), np.concatenate([vecs, stranger]), np.r_[who, 0])
    other_photo = stranger + np.random.default_rng(5).normal(0, 0.012, stranger.shape).astype(np.float32)
    near = C.nearest_people(g, other_photo)
    assert near.person[0] == 0 and near.distance[0] < THRESHOLD
    assert near.centroid_distance[0] > THRESHOLD
    assert C.decide(near)[0] == NOBODY


def test_update_assigns_known_people_and_forms_new_ones_only_from_enough_faces():
    vecs, who, _ = people(6, 8, seed=4)
    known = who < 3
    g = Gallery.build(np.arange(known.sum()), vecs[known], who[known])
    # new run: two faces of each known person, and 6 faces of person 3, 2 of person 4
    new_vecs, new_who, _ = people(6, 8, seed=4)
    pick = np.r_[np.flatnonzero(new_who == 0)[:2], np.flatnonzero(new_who == 1)[:2],
                 np.flatnonzero(new_who == 2)[:2], np.flatnonzero(new_who == 3)[:6],
                 np.flatnonzero(new_who == 4)[:MIN_FACES - 1]]
    rng = np.random.default_rng(8)
    q = new_vecs[pick] + rng.normal(0, 0.01, (len(pick), C.DIM)).astype(np.float32)  # other photos
    u = C.update(g, q)
    truth = new_who[pick]
    assert (u.person[truth < 3] == truth[truth < 3]).all()
    assert np.isfinite(u.distance[truth < 3]).all() and (u.distance[truth < 3] <= THRESHOLD).all()
    assert len(u.new_people) == 1 and u.new_people[0] == 3  # next free id
    assert (u.person[truth == 3] == 3).all()
    assert (u.person[truth == 4] == NOBODY).all()  # below MIN_FACES: no person yet

    # a later run brings one more face of person 4: with the two stored unknowns it makes three
    g2 = C.add(g, np.arange(100, 100 + len(pick)), q, np.ones(len(pick), bool), u)
    assert (g2.person[-2:] == NOBODY).all()
    one_more = new_vecs[np.flatnonzero(new_who == 4)[MIN_FACES - 1:MIN_FACES]]
    u2 = C.update(g2, one_more)
    assert u2.new_people == [4] and u2.person[0] == 4
    assert sorted(u2.joined) == list(g2.ids[-2:]) and set(u2.joined.values()) == {4}
    # unusable faces are never grouped, however near
    u3 = C.update(g2, new_vecs[new_who == 0][:1], usable=[False])
    assert u3.person[0] == NOBODY and np.isnan(u3.distance[0])


def test_constraints_survive_update_and_recluster():
    vecs, who, _ = people(4, 6, seed=6)
    ids = np.arange(100, 124)
    g = Gallery.build(ids, vecs, np.full(24, NOBODY))
    first = C.recluster(g)
    assert len(set(first[first >= 0])) == 4
    g = Gallery.build(ids, vecs, first)
    p_a = int(first[0])                   # person 0's cluster
    p_b = int(first[who == 1][0])

    # name one face (locks it), say another face is "not this person", merge two people
    g = C.name_face(g, [100], p_a)
    g = C.split(g, [101], p_a)
    assert g.person[1] == NOBODY and (101, p_a) in g.rejected and p_a in g.confirmed
    g = C.merge(g, p_a, p_b)
    assert (g.person[who == 1] == p_a).all() and p_b not in g.confirmed

    again = C.recluster(g)
    assert again[0] == p_a                                  # locked face stays
    assert (again[who == 1] == p_a).all()                   # the merge is kept
    assert again[1] != p_a                                  # "not this person" holds
    # "not this person" also rules the person out when that stored face is searched again
    near = C.nearest_people(g, g.vectors[1:2], query_ids=g.ids[1:2])
    assert near.person[0] != p_a

    # naming the rejected face for that person after all withdraws the rejection
    g2 = C.name_face(g, [101], p_a)
    assert (101, p_a) not in g2.rejected and g2.locked[1]


def test_recluster_keeps_ids_of_unconfirmed_people_where_it_can():
    vecs, who, _ = people(3, 5, seed=2)
    g = Gallery.build(np.arange(15), vecs, who + 10)
    again = C.recluster(g)
    assert (again == who + 10).all()


def test_clustering_methods_agree_on_clear_people():
    pytest.importorskip("dlib")
    vecs, who, _ = people(5, 5, seed=11)
    for method in ("dbscan", "chinese-whispers"):
        labels = C.cluster(vecs, method=method)
        assert len(set(labels)) == 5
        for p in range(5):
            assert len(set(labels[who == p])) == 1
    with pytest.raises(ValueError, match="dbscan"):
        C.cluster(vecs, method="kmeans")
    assert (C.cluster(vecs[:2]) == NOBODY).all()


def test_gallery_checks_its_shapes():
    with pytest.raises(ValueError, match="vectors"):
        Gallery(np.arange(2), np.zeros((3, C.DIM), np.float32), np.zeros(2, np.int64), np.ones(2, bool),
                np.zeros(2, bool))
    g = Gallery.empty()
    assert g.next_person() == 0
    u = C.update(g, np.zeros((0, C.DIM)))
    assert len(u.person) == 0
    with pytest.raises(KeyError, match="no stored face with id 7"):
        C.name_face(g, [7], 0)


def test_real_photos_group_by_person():
    """Real dlib embeddings of altered copies of the test photos: a first run forms people
    from three or more faces, a second run recognises new copies."""
    pytest.importorskip("dlib")
    from ocula.config import load_settings
    from ocula.tasks.face_embeddings import face_embeddings_many

    sources = {"obama": [FACES / "obama_small.jpg", FACES / "obama2.jpg"],
               "miranda": [FACES / "lin-manuel-miranda.jpg"], "collins": [SAMPLES / "astronaut.jpg"],
               "hopper": [SAMPLES / "grace_hopper.jpg"]}

    def variants(path: Path, kinds):
        im = Image.open(path).convert("RGB")
        out = {"flip": im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "half": im.resize((im.width // 2, im.height // 2)),
               "dark": ImageEnhance.Brightness(im).enhance(0.6), "rot": im.rotate(12, expand=True, fillcolor="grey"),
               "orig": im}
        return [out[k] for k in kinds]

    def run(kinds):
        images, truth = [], []
        for name, paths in sources.items():
            for p in paths:
                for v in variants(p, kinds):
                    images.append(v)
                    truth.append(name)
        results = [r for _src, r in face_embeddings_many(images, settings=load_settings(threads=1))]
        vecs = np.concatenate([r.vectors()[:1] for r in results])
        return vecs, np.array(truth)

    vecs, truth = run(["orig", "flip", "half"])
    u = C.update(Gallery.empty(), vecs)
    assert (u.person >= 0).all() and len(u.new_people) == 4
    for name in sources:
        assert len(set(u.person[truth == name])) == 1
    g = C.add(Gallery.empty(), np.arange(len(vecs)), vecs, np.ones(len(vecs), bool), u)
    new, new_truth = run(["dark", "rot"])
    u2 = C.update(g, new)
    assert not u2.new_people
    label = {name: u.person[truth == name][0] for name in sources}
    assert all(u2.person[i] == label[t] for i, t in enumerate(new_truth))


def test_a_query_whose_only_person_is_ruled_out_is_unknown():
    """ "Not this person" for the only person near: no candidate is left, the face is unknown."""
    rng = np.random.default_rng(3)
    v = rng.normal(size=(3, C.DIM)).astype(np.float32)
    g = C.Gallery.build([1, 2, 3], v, person=[7, 7, -1], rejected=[(3, 7)])
    near = C.nearest_people(g, v[2:], query_ids=np.array([3]))
    assert near.person.tolist() == [C.NOBODY] and np.isinf(near.distance).all()
    assert C.decide(near).tolist() == [C.NOBODY]
