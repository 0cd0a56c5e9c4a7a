"""Image augmentation with Pillow and numpy (torchvision does not import beside our torch).

Each function takes a numpy Generator so that a seed fixes every random choice. Targets are
soft (one row per image, summing to 1) so that mixup and cutmix share the training code.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image, ImageEnhance

AUGMENTS = ("none", "standard", "mixup", "cutmix")


def standard(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Random resized crop (60-100 % of the area), horizontal flip, colour jitter."""
    img = img.convert("RGB")
    w, h = img.size
    for _ in range(10):
        area = w * h * rng.uniform(0.6, 1.0)
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        cw, ch = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
        if 0 < cw <= w and 0 < ch <= h:
            x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            img = img.crop((x, y, x + cw, y + ch)).resize((w, h), Image.Resampling.BILINEAR)
            break
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        img = enhancer(img).enhance(float(rng.uniform(0.7, 1.3)))
    return img


def _same_size(a: Image.Image, b: Image.Image) -> Image.Image:
    return b.convert("RGB").resize(a.size, Image.Resampling.BILINEAR) if b.size != a.size else b.convert("RGB")


def mixup(a: Image.Image, b: Image.Image, lam: float) -> Image.Image:
    """lam * a + (1 - lam) * b, pixel by pixel."""
    return Image.blend(_same_size(a, b), a.convert("RGB"), lam)


def cutmix(a: Image.Image, b: Image.Image, lam: float, rng: np.random.Generator) -> tuple[Image.Image, float]:
    """A box of b pasted into a; returns the image and the share of a actually kept."""
    a = a.convert("RGB")
    b = _same_size(a, b)
    w, h = a.size
    cut = math.sqrt(1 - lam)
    cw, ch = int(w * cut), int(h * cut)
    cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
    x0, y0, x1, y1 = max(cx - cw // 2, 0), max(cy - ch // 2, 0), min(cx + cw // 2, w), min(cy + ch // 2, h)
    out = a.copy()
    if x1 > x0 and y1 > y0:
        out.paste(b.crop((x0, y0, x1, y1)), (x0, y0))
    return out, 1 - (x1 - x0) * (y1 - y0) / (w * h)


def views(images: Sequence[Image.Image], labels: np.ndarray, n_classes: int, kind: str,
          rng: np.random.Generator) -> tuple[list[Image.Image], np.ndarray]:
    """One augmented view of every image with its soft target. mixup/cutmix pair each image
    with a random other one (lambda ~ Beta(0.4, 0.4) / Beta(1, 1)) after a standard augment."""
    onehot = np.eye(n_classes, dtype=np.float32)[labels]
    if kind == "none":
        return [im.convert("RGB") for im in images], onehot
    out = [standard(im, rng) for im in images]
    if kind == "standard":
        return out, onehot
    partner = rng.permutation(len(out))
    targets = np.empty_like(onehot)
    mixed = []
    for i, j in enumerate(partner):
        if kind == "mixup":
            lam = float(rng.beta(0.4, 0.4))
            mixed.append(mixup(out[i], out[j], lam))
        else:
            img, lam = cutmix(out[i], out[j], float(rng.beta(1.0, 1.0)), rng)
            mixed.append(img)
        targets[i] = lam * onehot[i] + (1 - lam) * onehot[j]
    return mixed, targets
