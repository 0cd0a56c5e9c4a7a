"""Synthetic ground truth for background removal: product-like objects with a known alpha
matte, composited onto real backgrounds. Used by tests/test_cutout.py and bench/cutout.py.

Objects are of two kinds, and in both the alpha is the truth by construction:
- cut from the sample photos with a mask made here (a colour threshold for the dahlia and a
  coin, two ellipses drawn around the coffee cup and saucer), shrunk a few pixels so the
  mask stays inside the object: whatever it keeps *is* the object, no old background leaks in;
- rendered (a mug, a bottle, a box, a ring with a hole, a tasselled pompom whose thin fibres
  give fractional alpha like hair): shapes drawn at 4x and averaged down, so edges carry the
  exact partial coverage, and surfaces filled with texture from real photos.

Backgrounds are regions of the sample photos (wood table, paper with writing, foliage, bokeh,
coins, sky, fur) and one plain studio sweep. Composites are saved as JPEG (quality 90) and
read back, so the model sees camera-like compression.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SS = 4  # supersampling of rendered shapes


@dataclass
class Sample:
    name: str
    rgb: np.ndarray     # HxWx3 uint8, the composite as a camera would deliver it
    alpha: np.ndarray   # HxW float32 in [0, 1], the truth


def _photo(name: str) -> Image.Image:
    return Image.open(SAMPLES / name).convert("RGB")


def _cover(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    return ImageOps.fit(img, size, Image.Resampling.BICUBIC)


# --- backgrounds -----------------------------------------------------------------------

def _tiled(img: Image.Image, n: int) -> Image.Image:
    """``n`` mirrored copies side by side: a narrow strip becomes a wider surface."""
    out = Image.new("RGB", (img.width * n, img.height))
    for i in range(n):
        out.paste(ImageOps.mirror(img) if i % 2 else img, (i * img.width, 0))
    return out


def backgrounds(size: tuple[int, int]) -> dict[str, Image.Image]:
    w, h = size
    coffee = _photo("coffee.jpg")
    wood = _tiled(coffee.crop((485, 0, 600, 400)), 4)
    grad = np.linspace(200, 150, h, dtype=np.float32)[:, None, None] * np.ones((1, w, 3), np.float32)
    noise = np.random.default_rng(1).normal(0, 3, (h, w, 1)).astype(np.float32)
    studio = Image.fromarray(np.clip(grad + noise, 0, 255).astype(np.uint8))
    return {
        "wood": _cover(wood, size),
        "paper": _cover(_photo("text.jpg"), size),
        "foliage": _cover(_photo("china.jpg").crop((440, 170, 640, 427)), size).filter(ImageFilter.GaussianBlur(2)),
        "bokeh": _cover(_photo("flower.jpg").crop((0, 0, 170, 427)), size),
        "coins": _cover(_photo("coins.jpg"), size),
        "sky": _cover(_photo("rocket.jpg").crop((0, 0, 330, 220)), size),
        "fur": _cover(_photo("chelsea.jpg").crop((150, 0, 330, 60)), size),
        "studio": studio,
    }


# --- objects cut from photos -------------------------------------------------------------

def _largest(mask: np.ndarray) -> np.ndarray:
    """The largest connected part that does not touch the frame."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    h, w = mask.shape
    x, y, bw, bh, area = (stats[:, i] for i in range(5))
    inside = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    inside[0] = False
    return labels == int(np.argmax(np.where(inside, area, -1)))


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    import cv2

    m = mask.astype(np.uint8)
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    out = np.zeros_like(m)
    cv2.drawContours(out, contours, -1, 1, thickness=cv2.FILLED)
    return out.astype(bool)


def _shrink(mask: np.ndarray, px: int) -> np.ndarray:
    import cv2

    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.erode(mask.astype(np.uint8), k).astype(bool)


def _soft(mask: np.ndarray, sigma: float = 0.7) -> np.ndarray:
    """A hard mask with a narrow anti-aliased rim, like a lens renders an edge."""
    import cv2

    return np.clip(cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma), 0, 1)


def _cut_dahlia() -> tuple[Image.Image, np.ndarray]:
    import cv2

    img = _photo("flower.jpg")
    a = np.asarray(img).astype(np.int16)
    orange = (a[..., 0] - a[..., 2] > 60) & (a[..., 0] > 120)
    orange = cv2.morphologyEx(orange.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    mask = _shrink(_fill_holes(_largest(orange)), 2)
    return img, _soft(mask)


def _cut_coin() -> tuple[Image.Image, np.ndarray]:
    import cv2

    img = _photo("coins.jpg")
    g = np.asarray(img.convert("L"))
    _, bright = cv2.threshold(g, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    coin = _largest(bright).astype(np.uint8)
    hull = cv2.convexHull(cv2.findNonZero(coin))  # a coin is convex: dark relief does not bite into it
    mask = np.zeros_like(coin)
    cv2.fillPoly(mask, [hull], 1)
    mask = _shrink(mask, 2)
    ys, xs = np.nonzero(mask)
    box = (xs.min() - 8, ys.min() - 8, xs.max() + 9, ys.max() + 9)
    return img.crop(box), _soft(mask[box[1]:box[3], box[0]:box[2]])


def _cut_coffee() -> tuple[Image.Image, np.ndarray]:
    """Cup and saucer of coffee.jpg inside two ellipses drawn by eye (600x400 pixels), shrunk
    6 px so no table is kept."""
    img = _photo("coffee.jpg")
    m = Image.new("L", img.size, 0)
    d = ImageDraw.Draw(m)
    d.ellipse((78, 72, 478, 384), fill=255)     # saucer
    d.ellipse((174, 20, 402, 204), fill=255)    # cup rim
    mask = _shrink(np.asarray(m) > 127, 6)
    return img, _soft(mask)


# --- rendered objects -----------------------------------------------------------------

def _texture(name: str, box: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray:
    return np.asarray(_cover(_photo(name).crop(box), size)).astype(np.float32)


def _shade(size: tuple[int, int], lo: float = 0.55, hi: float = 1.15) -> np.ndarray:
    """Cylinder-like horizontal shading."""
    w, h = size
    x = np.linspace(-1, 1, w, dtype=np.float32)
    s = lo + (hi - lo) * np.sqrt(np.clip(1 - (x - 0.3) ** 2 / 1.7, 0, 1))
    return np.broadcast_to(s[None, :, None], (h, w, 1))


def _render(size: tuple[int, int], draw) -> np.ndarray:
    """Alpha of shapes drawn by ``draw(ImageDraw, scale)`` at SS x and averaged down."""
    w, h = size
    m = Image.new("L", (w * SS, h * SS), 0)
    draw(ImageDraw.Draw(m), SS)
    return np.asarray(m.resize(size, Image.Resampling.BOX)).astype(np.float32) / 255.0


def _mug(size=(520, 460)) -> tuple[np.ndarray, np.ndarray]:
    def draw(d, s):
        d.ellipse((300 * s, 130 * s, 500 * s, 340 * s), fill=255)
        d.ellipse((350 * s, 180 * s, 450 * s, 290 * s), fill=0)   # the handle's hole
        d.rounded_rectangle((40 * s, 40 * s, 380 * s, 440 * s), radius=30 * s, fill=255)

    alpha = _render(size, draw)
    colour = np.array([40, 90, 170], np.float32)  # a blue glazed mug
    tex = _texture("coins.jpg", (0, 0, 380, 300), size) / 255.0
    rgb = colour * (0.85 + 0.3 * tex) * _shade(size)
    return np.clip(rgb, 0, 255), alpha


def _bottle(size=(260, 640)) -> tuple[np.ndarray, np.ndarray]:
    def draw(d, s):
        d.rounded_rectangle((20 * s, 220 * s, 240 * s, 630 * s), radius=40 * s, fill=255)
        d.polygon([(20 * s, 260 * s), (95 * s, 120 * s), (165 * s, 120 * s), (240 * s, 260 * s)], fill=255)
        d.rectangle((95 * s, 40 * s, 165 * s, 130 * s), fill=255)
        d.rounded_rectangle((88 * s, 10 * s, 172 * s, 60 * s), radius=8 * s, fill=255)

    alpha = _render(size, draw)
    glass = np.array([60, 130, 70], np.float32) * _shade(size, 0.5, 1.3)
    label = _texture("text.jpg", (0, 0, 300, 172), size)
    rgb = glass.copy()
    rgb[330:520] = label[330:520] * _shade(size, 0.75, 1.05)[330:520]
    return np.clip(rgb, 0, 255), alpha


def _box(size=(560, 520)) -> tuple[np.ndarray, np.ndarray]:
    front = [(40, 170), (330, 230), (330, 500), (40, 430)]
    side = [(330, 230), (520, 150), (520, 400), (330, 500)]
    top = [(40, 170), (240, 90), (520, 150), (330, 230)]

    def draw(d, s):
        for poly in (front, side, top):
            d.polygon([(x * s, y * s) for x, y in poly], fill=255)

    alpha = _render(size, draw)
    tex = _texture("china.jpg", (0, 0, 400, 300), size)
    rgb = np.zeros(size[::-1] + (3,), np.float32)
    for poly, light in ((front, 1.0), (side, 0.7), (top, 1.2)):
        face = np.asarray(_render(size, lambda d, s, p=poly: d.polygon([(x * s, y * s) for x, y in p], fill=255))) > 0
        rgb[face] = tex[face] * light
    return np.clip(rgb, 0, 255), alpha


def _ring(size=(560, 560)) -> tuple[np.ndarray, np.ndarray]:
    """A headphone-like ring: the hole shows the background and must not be kept."""
    def draw(d, s):
        d.ellipse((20 * s, 20 * s, 540 * s, 540 * s), fill=255)
        d.ellipse((150 * s, 150 * s, 410 * s, 410 * s), fill=0)

    alpha = _render(size, draw)
    tex = _texture("astronaut.jpg", (180, 160, 330, 330), size)  # the orange suit
    return np.clip(tex * _shade(size, 0.6, 1.1), 0, 255), alpha


def _pompom(size=(520, 520)) -> tuple[np.ndarray, np.ndarray]:
    """A woolly ball with fibres 1-3 px wide reaching out: fractional alpha, like hair."""
    rng = np.random.default_rng(7)

    def draw(d, s):
        cx = cy = 260
        d.ellipse(((cx - 170) * s, (cy - 170) * s, (cx + 170) * s, (cy + 170) * s), fill=255)
        for _ in range(420):
            ang = rng.uniform(0, 2 * np.pi)
            r0, r1 = 150, 170 + rng.uniform(20, 85)
            bend = rng.uniform(-0.12, 0.12)
            p0 = (cx + r0 * np.cos(ang), cy + r0 * np.sin(ang))
            p1 = (cx + r1 * np.cos(ang + bend), cy + r1 * np.sin(ang + bend))
            d.line([(p0[0] * s, p0[1] * s), (p1[0] * s, p1[1] * s)], fill=255, width=int(rng.uniform(1, 3) * s))

    alpha = _render(size, draw)
    wool = np.array([235, 225, 205], np.float32)
    tex = _texture("chelsea.jpg", (150, 0, 330, 120), size) / 255.0
    rgb = wool * (0.75 + 0.35 * tex)
    return np.clip(rgb, 0, 255), alpha


# --- composites -------------------------------------------------------------------------

def _object_layers() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, cut in (("dahlia", _cut_dahlia), ("coin", _cut_coin), ("coffee", _cut_coffee)):
        img, alpha = cut()
        ys, xs = np.nonzero(alpha > 0)
        box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        out[name] = (np.asarray(img.crop(box)).astype(np.float32), alpha[box[1]:box[3], box[0]:box[2]])
    for name, make in (("mug", _mug), ("bottle", _bottle), ("box", _box), ("ring", _ring), ("pompom", _pompom)):
        out[name] = make()
    return out


# (object, background, object height as a share of the frame, centre x, centre y)
PLAN = [
    ("coffee", "wood", 0.80, 0.50, 0.52), ("dahlia", "paper", 0.62, 0.45, 0.50),
    ("coin", "foliage", 0.55, 0.55, 0.48), ("mug", "wood", 0.60, 0.48, 0.55),
    ("bottle", "studio", 0.78, 0.50, 0.50), ("box", "sky", 0.58, 0.52, 0.56),
    ("ring", "paper", 0.65, 0.50, 0.50), ("pompom", "bokeh", 0.60, 0.50, 0.50),
    ("mug", "coins", 0.55, 0.40, 0.50), ("dahlia", "fur", 0.55, 0.60, 0.45),
    ("bottle", "foliage", 0.70, 0.35, 0.52), ("pompom", "studio", 0.55, 0.55, 0.55),
]


def _place(obj_rgb: np.ndarray, obj_a: np.ndarray, size: tuple[int, int], height: float, cx: float,
           cy: float) -> tuple[np.ndarray, np.ndarray]:
    """The object scaled to ``height`` x frame height and centred at (cx, cy), as full-frame
    premultiplied colour and alpha."""
    import cv2

    w, h = size
    s = height * h / obj_a.shape[0]
    ow, oh = max(1, round(obj_a.shape[1] * s)), max(1, round(obj_a.shape[0] * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    pre = cv2.resize(obj_rgb * obj_a[..., None], (ow, oh), interpolation=interp)  # premultiplied: no fringes
    a = np.clip(cv2.resize(obj_a, (ow, oh), interpolation=interp), 0, 1)
    pre = np.clip(pre, 0, 255 * a[..., None])
    x0, y0 = round(cx * w - ow / 2), round(cy * h - oh / 2)
    full_pre = np.zeros((h, w, 3), np.float32)
    full_a = np.zeros((h, w), np.float32)
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    dx1, dy1 = min(w, x0 + ow), min(h, y0 + oh)
    full_pre[dy0:dy1, dx0:dx1] = pre[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0]
    full_a[dy0:dy1, dx0:dx1] = a[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0]
    return full_pre, full_a


def composite(obj_rgb: np.ndarray, obj_a: np.ndarray, background: Image.Image, height: float = 0.6,
              cx: float = 0.5, cy: float = 0.5, quality: int = 90) -> tuple[np.ndarray, np.ndarray]:
    pre, a = _place(obj_rgb, obj_a, background.size, height, cx, cy)
    bg = np.asarray(background).astype(np.float32)
    rgb = np.clip(pre + bg * (1 - a[..., None]) + 0.5, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")), a


def synthetic_set(size: tuple[int, int] = (1024, 768), limit: int | None = None) -> list[Sample]:
    """The evaluation set: every PLAN entry composited at ``size``."""
    objects = _object_layers()
    bgs = backgrounds(size)
    out = []
    for name, bg, height, cx, cy in PLAN[:limit]:
        rgb, a = composite(*objects[name], bgs[bg], height, cx, cy)
        out.append(Sample(f"{name}-on-{bg}", rgb, a))
    return out


def object_layer(name: str) -> tuple[np.ndarray, np.ndarray]:
    return _object_layers()[name]
