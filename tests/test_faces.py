"""Face detection on the sample photos, with the real MTCNN weights and OpenCV's cascade."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocula.backends import mtcnn as mtcnn_backend
from ocula.config import load_settings
from ocula.errors import InvalidArgument, ModelUnavailable, UnknownModel
from ocula.image import load_image
from ocula.tasks import faces as faces_module
from ocula.tasks.faces import faces, resolve_model

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
needs_mtcnn = pytest.mark.skipif(not mtcnn_backend.is_available(),
                                 reason=f"MTCNN weights absent: {mtcnn_backend.INSTALL}")


@pytest.fixture(scope="module")
def astronaut():
    return faces(SAMPLES / "astronaut.jpg", model="mtcnn")


def _inside(face, width: int, height: int) -> bool:
    x, y, w, h = face.box
    return x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= width and y + h <= height


@needs_mtcnn
def test_state_dicts_load_strictly():
    import torch

    folder = mtcnn_backend.weights_dir()
    nets = mtcnn_backend.load_nets()  # strict=True inside, and sha256 checked
    for net, name in zip(nets, mtcnn_backend.WEIGHTS):
        state = torch.load(folder / f"{name}.pt", map_location="cpu", weights_only=True)
        assert set(net.state_dict()) == set(state)
        for key, value in state.items():
            assert torch.equal(net.state_dict()[key], value), key
    # found without running facenet_pytorch/__init__.py, which imports torchvision
    assert "facenet_pytorch" not in sys.modules


@needs_mtcnn
def test_astronaut_one_face_with_landmarks(astronaut):
    assert astronaut.model == "mtcnn"
    assert (astronaut.image.width, astronaut.image.height) == (512, 512)
    assert astronaut.count == 1
    face = astronaut.faces[0]
    x, y, w, h = face.box
    assert face.score > 0.99
    # her face: upper middle of the picture, about 90 x 115 px at (180, 59)
    assert 150 < x < 210 and 35 < y < 90
    assert 60 < w < 130 and 80 < h < 150
    cx, cy = x + w / 2, y + h / 2
    assert 0.35 * 512 < cx < 0.55 * 512 and cy < 0.35 * 512
    lm = face.landmarks
    assert set(lm) == {"left_eye", "right_eye", "nose", "mouth_left", "mouth_right"}
    for px, py in lm.values():
        assert x <= px <= x + w and y <= py <= y + h
    assert lm["left_eye"][0] < lm["nose"][0] < lm["right_eye"][0]
    assert lm["mouth_left"][0] < lm["mouth_right"][0]
    eyes_y = max(lm["left_eye"][1], lm["right_eye"][1])
    assert eyes_y < lm["nose"][1] < min(lm["mouth_left"][1], lm["mouth_right"][1])


@needs_mtcnn
def test_grace_hopper_one_face():
    result = faces(SAMPLES / "grace_hopper.jpg", model="mtcnn")
    assert result.count == 1
    x, y, w, h = result.faces[0].box
    assert _inside(result.faces[0], 512, 600)
    assert 100 < x + w / 2 < 400 and 150 < y + h / 2 < 350  # her face, above the uniform


@needs_mtcnn
@pytest.mark.parametrize("name", ["coffee", "rocket", "flower"])
def test_no_faces_mtcnn(name):
    assert faces(SAMPLES / f"{name}.jpg", model="mtcnn").count == 0


@needs_mtcnn
def test_cat_is_not_a_human_face():
    assert faces(SAMPLES / "chelsea.jpg", model="mtcnn").count == 0


@pytest.mark.parametrize("name", ["coffee", "rocket", "flower"])
def test_no_faces_haar(name):
    assert faces(SAMPLES / f"{name}.jpg", model="haar-frontalface").count == 0


def test_haar_finds_astronaut():
    result = faces(SAMPLES / "astronaut.jpg", model="haar-frontalface")
    assert result.model == "haar-frontalface"
    assert result.count >= 1
    best = result.faces[0]
    x, y, w, h = best.box
    assert best.landmarks is None and 0.9 <= best.score <= 1
    assert 150 < x + w / 2 < 300 and 60 < y + h / 2 < 180


@needs_mtcnn
def test_reduced_jpeg_decode_reports_full_size_coordinates(tmp_path, monkeypatch, astronaut):
    """A 2x upscaled JPEG decoded at half size (MAX_SIDE 512) gives the original's boxes x2."""
    big = Image.open(SAMPLES / "astronaut.jpg").resize((1024, 1024), Image.Resampling.BICUBIC)
    path = tmp_path / "astronaut_2x.jpg"
    big.save(path, quality=95)
    monkeypatch.setattr(faces_module, "MAX_SIDE", 512)
    loaded = load_image(path, max_side=512)
    assert loaded.image.size == (512, 512) and loaded.original_size == (1024, 1024)  # draft path taken
    result = faces(loaded, model="mtcnn")
    assert (result.image.width, result.image.height) == (1024, 1024)
    assert result.count == 1
    small, large = astronaut.faces[0], result.faces[0]
    for a, b in zip(small.box, large.box):
        assert abs(2 * a - b) <= 8
    for key, (ax, ay) in small.landmarks.items():
        bx, by = large.landmarks[key]
        assert abs(2 * ax - bx) <= 8 and abs(2 * ay - by) <= 8


@needs_mtcnn
def test_large_photo_detected_at_max_side(tmp_path, astronaut):
    """2000x1333 (the JPEG is resized to MAX_SIDE before detection): boxes come back in full size."""
    top = Image.open(SAMPLES / "astronaut.jpg").crop((0, 0, 512, 341))  # 3:2, her face included
    big = top.resize((2000, 1333), Image.Resampling.BICUBIC)
    path = tmp_path / "astronaut_2000.jpg"
    big.save(path, quality=92)
    result = faces(path, model="mtcnn")
    assert (result.image.width, result.image.height) == (2000, 1333)
    assert result.count == 1
    sx, sy = 2000 / 512, 1333 / 341
    x, y, w, h = astronaut.faces[0].box
    X, Y, W, H = result.faces[0].box
    assert abs(X + W / 2 - (x + w / 2) * sx) < 0.1 * W
    assert abs(Y + H / 2 - (y + h / 2) * sy) < 0.1 * H
    assert _inside(result.faces[0], 2000, 1333)


@needs_mtcnn
def test_boxes_are_clipped_to_the_image():
    # her face cut by the top edge: the part of the box above the image is clipped away
    arr = np.asarray(Image.open(SAMPLES / "astronaut.jpg"))[85:, 100:400]
    result = faces(arr, model="mtcnn", min_score=0.5)
    assert result.count == 1 and result.faces[0].box[1] == 0
    for face in result.faces:
        assert _inside(face, arr.shape[1], arr.shape[0])
        for px, py in face.landmarks.values():
            assert 0 <= px <= arr.shape[1] and 0 <= py <= arr.shape[0]


def test_bad_model_name():
    with pytest.raises(UnknownModel) as err:
        faces(SAMPLES / "astronaut.jpg", model="yolo-face")
    assert "mtcnn" in str(err.value) and "haar-frontalface" in str(err.value)


@pytest.mark.parametrize("kwargs", [{"min_score": 1.5}, {"min_score": -0.1}, {"min_size": 0},
                                    {"min_size": 2.5}])
def test_bad_options(kwargs):
    with pytest.raises(InvalidArgument):
        faces(SAMPLES / "astronaut.jpg", **kwargs)


def test_without_facenet_pytorch(monkeypatch):
    monkeypatch.setattr(mtcnn_backend, "weights_dir", lambda: None)
    settings = load_settings(env={})
    assert resolve_model(None, settings) == "haar-frontalface"
    with pytest.raises(ModelUnavailable) as err:
        faces(SAMPLES / "astronaut.jpg", model="mtcnn")
    assert "pip install --no-deps facenet-pytorch==2.6.0" in str(err.value)
    assert faces(SAMPLES / "astronaut.jpg", settings=settings).model == "haar-frontalface"


def test_setting_chooses_the_detector():
    settings = load_settings(env={"OCULA_FACE_DETECTOR": "haar-frontalface"})
    assert faces(SAMPLES / "astronaut.jpg", settings=settings).model == "haar-frontalface"
    if mtcnn_backend.is_available():
        assert resolve_model(None, load_settings(env={})) == "mtcnn"


@pytest.mark.parametrize("model", ["haar-frontalface", pytest.param("mtcnn", marks=needs_mtcnn)])
def test_tiny_and_blank_images_have_no_faces(model):
    assert faces(np.zeros((10, 10, 3), np.uint8), model=model).count == 0
    assert faces(np.full((300, 200), 128, np.uint8), model=model).count == 0
