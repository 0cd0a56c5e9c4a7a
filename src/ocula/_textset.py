"""Rendered text images with known ground truth, for the OCR tests and bench/ocr.py.

One renderer shared by both, so that the test bounds and the benchmark numbers measure the
same thing. It lives in the package (private module) because tests/ and bench/ are not
importable from each other. Needs only Pillow and two system fonts:
DejaVuSans (Debian ``fonts-dejavu-core``) and WenQuanYi Micro Hei (``fonts-wqy-microhei``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FONT_PACKAGES = {LATIN_FONT: "fonts-dejavu-core", CJK_FONT: "fonts-wqy-microhei"}

# Ground-truth lines. Everyday sentences, numbers, dates and punctuation; the Chinese ones
# use full-width punctuation as printed Chinese does.
ENGLISH = [
    "The quick brown fox jumps over 13 lazy dogs",
    "Invoice 2026-11-23 total 42.50",
    "Please keep this door closed at all times",
    "Meeting room B is on the second floor",
    "Open Monday to Friday from 9 am to 6 pm",
    "Order number 58213 shipped on March 4",
    "Call 555-0199 for customer support",
    "Fresh bread and coffee served daily",
    "Exit only, no entry for vehicles",
    "Temperature 21.5 C, humidity 40 percent",
    "Every morning the river looked different",
    "Parking for guests is behind the building",
]
CHINESE = [
    "欢迎使用图像识别工具",
    "今天天气很好，我们去公园散步",
    "请保持安静，谢谢合作",
    "会议将在下午三点开始",
    "本店营业时间为早上九点到晚上十点",
    "禁止吸烟",
    "出口在左边，请注意安全",
    "北京是中国的首都",
    "这本书的价格是四十二元",
    "春天来了，花园里开满了鲜花",
    "学习使人进步",
    "火车将于十分钟后到站",
]
MIXED = [
    "订单号 58213 已发货",
    "请访问 www.example.com 了解更多",
    "营业时间 9:00-18:00",
]


@dataclass(frozen=True)
class TextSample:
    text: str
    language: str  # en, zh or mixed
    image: Image.Image


def has_cjk(text: str) -> bool:
    return any(_is_cjk(ch) for ch in text)


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2FFFF or 0xF900 <= o <= 0xFAFF


def missing_fonts() -> list[str]:
    """The Debian packages whose font files are absent (empty when rendering works)."""
    return sorted({pkg for path, pkg in FONT_PACKAGES.items() if not path.is_file()})


@lru_cache(maxsize=16)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    if not path.is_file():
        raise FileNotFoundError(f"font {path} is missing; install it with "
                                f"`apt-get install -y {FONT_PACKAGES.get(path, 'the font package')}`")
    return ImageFont.truetype(str(path), size)


def render_lines(lines: list[str], *, size: int = 36, margin: int = 40, spacing: float = 0.8,
                 width: int | None = None, ink: int = 20, paper: int = 255) -> Image.Image:
    """Black-on-white RGB image with one text line per entry, left-aligned.

    Lines with any CJK character use WenQuanYi Micro Hei (it has Latin glyphs too),
    others DejaVuSans. ``spacing`` is the gap between lines as a share of ``size``.
    """
    fonts = [_font(CJK_FONT if has_cjk(t) else LATIN_FONT, size) for t in lines]
    boxes = [f.getbbox(t) if t else (0, 0, 0, 0) for f, t in zip(fonts, lines)]
    line_h = max([b[3] - b[1] for b in boxes] + [size])
    gap = round(size * spacing)
    text_w = max([b[2] for b in boxes] + [1])
    w = width or text_w + 2 * margin
    h = 2 * margin + len(lines) * line_h + max(0, len(lines) - 1) * gap
    img = Image.new("RGB", (w, h), (paper,) * 3)
    draw = ImageDraw.Draw(img)
    y = margin
    for f, t, b in zip(fonts, lines, boxes):
        draw.text((margin, y - b[1]), t, font=f, fill=(ink,) * 3)
        y += line_h + gap
    return img


def text_samples(size: int = 36) -> list[TextSample]:
    """One single-line image per ground-truth line (English, Chinese, mixed)."""
    out = []
    for lang, group in (("en", ENGLISH), ("zh", CHINESE), ("mixed", MIXED)):
        out.extend(TextSample(t, lang, render_lines([t], size=size)) for t in group)
    return out


def degrade(img: Image.Image, seed: int = 0) -> Image.Image:
    """A camera-like copy: tinted paper, a small tilt (up to 3 degrees), blur, sensor noise and
    JPEG compression (quality 55-75). Deterministic for a seed."""
    import io

    import numpy as np
    from PIL import ImageFilter

    rng = np.random.default_rng(seed)
    tint = np.array([rng.uniform(0.85, 1.0), rng.uniform(0.82, 0.97), rng.uniform(0.75, 0.95)])
    arr = np.asarray(img, dtype=np.float32) * tint
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    paper = tuple(int(255 * t) for t in tint)
    out = out.rotate(float(rng.uniform(-3, 3)), resample=Image.Resampling.BICUBIC, expand=True, fillcolor=paper)
    out = out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 1.1))))
    arr = np.asarray(out, dtype=np.float32) + rng.normal(0, 6, (out.height, out.width, 1))
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=int(rng.integers(55, 76)))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def normalize(text: str) -> str:
    """Form used to score OCR: NFKC (full-width ，：→ ASCII), single spaces, and no spaces
    next to a CJK character ("订单号 58213" = "订单号58213": engines differ, so do typesetters)."""
    t = " ".join(unicodedata.normalize("NFKC", text).split())
    return "".join(c for i, c in enumerate(t)
                   if not (c == " " and 0 < i < len(t) - 1 and (_is_cjk(t[i - 1]) or _is_cjk(t[i + 1]))))


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: edit distance over the reference length, after ``normalize``."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return float(bool(hyp))
    return levenshtein(ref, hyp) / len(ref)
