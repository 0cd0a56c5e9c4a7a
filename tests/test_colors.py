from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ocula.errors import InvalidArgument
from ocula.image import load_image
from ocula.tasks import colors as colors_mod
from ocula.tasks.colors import color_name, colors

ZH = {"黑色", "白色", "灰色", "红色", "酒红色", "橙色", "黄色", "金色", "橄榄色", "绿色", "蓝绿色", "青色",
      "蓝色", "藏青色", "紫色", "粉色", "棕色", "米色"}


def _check_palette(res, count):
    assert 1 <= len(res.colors) <= count
    fractions = [c.fraction for c in res.colors]
    assert sum(fractions) == pytest.approx(1.0, abs=0.01)
    assert fractions == sorted(fractions, reverse=True)
    names = [c.name for c in res.colors]
    assert len(names) == len(set(names)), "clusters with the same name are merged"
    for c in res.colors:
        assert c.hex == "#{:02x}{:02x}{:02x}".format(*c.rgb)
        assert c.name_zh in ZH


def test_chelsea_is_a_brown_tabby_on_grey(samples):
    res = colors(samples / "chelsea.jpg")
    _check_palette(res, 5)
    names = [c.name for c in res.colors]
    assert names[0] in ("brown", "orange")
    assert "grey" in names
    assert not res.is_grayscale
    assert 0.35 < res.brightness < 0.6
    assert res.image.width == 451 and res.image.height == 300  # original size, not the 160 px copy


def test_coins_is_greyscale(samples):
    res = colors(samples / "coins.jpg")
    _check_palette(res, 5)
    assert res.is_grayscale
    assert res.colorfulness < 1
    assert {c.name for c in res.colors} <= {"black", "grey", "white"}


def test_coffee_has_a_light_cup_and_warm_colours(samples):
    names = [c.name for c in colors(samples / "coffee.jpg", count=8).colors]
    assert {"white", "beige"} & set(names)  # the cup (warm light makes it beige-white)
    assert {"red", "orange", "brown", "maroon"} & set(names)


def test_colourfulness_orders_images(samples):
    flower = colors(samples / "flower.jpg")
    chelsea = colors(samples / "chelsea.jpg")
    coins = colors(samples / "coins.jpg")
    assert flower.colorfulness > chelsea.colorfulness > coins.colorfulness


def test_same_image_same_palette(samples):
    a = colors(samples / "flower.jpg", count=8)
    b = colors((samples / "flower.jpg").read_bytes(), count=8)
    assert a.colors == b.colors
    assert a == colors(samples / "flower.jpg", count=8)


def test_two_flat_colours():
    arr = np.zeros((100, 200, 3), np.uint8)
    arr[:, :100] = (220, 20, 30)
    arr[:, 100:] = (30, 80, 220)
    res = colors(arr, count=4)  # only two distinct colours: k-means++ stops seeding
    assert sorted(c.name for c in res.colors) == ["blue", "red"]
    assert [c.fraction for c in res.colors] == pytest.approx([0.5, 0.5], abs=0.02)
    assert {c.rgb for c in res.colors} == {(220, 20, 30), (30, 80, 220)}
    assert res.colorfulness > 50


def test_black_white_extremes():
    white = colors(np.full((50, 50, 3), 255, np.uint8))
    assert [c.name for c in white.colors] == ["white"] and white.brightness == pytest.approx(1.0)
    assert white.is_grayscale
    black = colors(np.zeros((50, 50, 3), np.uint8), count=16)
    assert [(c.name, c.name_zh, c.fraction) for c in black.colors] == [("black", "黑色", 1.0)]
    assert black.brightness == 0.0


@pytest.mark.parametrize("rgb,name", [
    ((255, 0, 0), "red"), ((0, 160, 0), "green"), ((0, 0, 255), "blue"), ((255, 230, 0), "yellow"),
    ((255, 140, 0), "orange"), ((128, 0, 128), "purple"), ((255, 192, 203), "pink"), ((139, 69, 19), "brown"),
    ((245, 245, 220), "beige"), ((0, 0, 128), "navy"), ((128, 0, 0), "maroon"), ((128, 128, 0), "olive"),
    ((0, 128, 128), "teal"), ((128, 128, 128), "grey"), ((10, 10, 10), "black"), ((250, 250, 250), "white"),
    ((2, 70, 75), "teal"),  # dark teal: plain Lab distance called it grey
])
def test_colour_names(rgb, name):
    assert color_name(rgb)[0] == name


def test_chinese_names():
    assert color_name((255, 0, 0)) == ("red", "红色")
    assert color_name((128, 128, 128)) == ("grey", "灰色")


@pytest.mark.parametrize("count", [0, 17, -1, 2.5, True, "5"])
def test_count_bounds(count):
    with pytest.raises(InvalidArgument, match="1 to 16"):
        colors(np.zeros((8, 8, 3), np.uint8), count=count)


def test_count_one_and_small_copy(samples):
    res = colors(samples / "china.jpg", count=1)
    assert len(res.colors) == 1 and res.colors[0].fraction == 1.0
    # the work is done on a small copy whatever the input size
    big = Image.open(samples / "china.jpg").resize((2000, 1334))
    assert max(load_image(big).resized(colors_mod.MAX_SIDE).size) == colors_mod.MAX_SIDE
    assert colors(big).colors[0].name == colors(samples / "china.jpg").colors[0].name
