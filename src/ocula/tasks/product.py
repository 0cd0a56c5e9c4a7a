"""product: a marketplace listing from one photo of a product, in one step.

1. Cut out (``_matte``): the subject's alpha, edges recoloured from the subject (no fringe).
2. On pure white (RGB 255), centred in a ``size`` x ``size`` square with ``margin`` of white on
   every side (default 7 %: the product fills 86 % of the frame, over the 85 % Amazon asks).
   The subject is scaled to fit; when it is smaller than that it is enlarged with Real-ESRGAN
   (``upscale``; 2-4x, then Lanczos to the exact size), and a warning says when even 4x is
   not enough. White is forced wherever the matte is transparent, after every resampling,
   so the background is exactly 255.
3. Copy in each language (English and Chinese by default): ``describe`` purposes ``product``
   (title, bullets) and ``tags`` (keywords), written from facts gathered once (``_facts``):
   labels from the photo, text and faces from the product's region, colours from the
   product's own pixels (not the table's), sharpness and resolution from its region.
4. ``output``: the listing image (JPEG by its suffix, or PNG/WebP) and, next to it, the same
   name with ``.json`` holding this result. ``write_listing_csv`` writes a batch's
   ``listing.csv`` for a shop's spreadsheet import.

No clear subject: the whole photo is placed on the white square instead (nothing is cut),
with a warning; so is a photo that is already transparent, through its own alpha.
"""

from __future__ import annotations

import csv
import html
import io
import math
import os
import re
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..image import ImageInput, LoadedImage, load_image
from ..output import check_output, write_atomic
from ..results import Analysis, ImageInfo, ListingCopy, ProductResult
from . import _matte
from ._edit import PeakMemory, finish, precheck_output
from .crop import check_size, parse_margin

MAX_SIDE: int | None = None
DEFAULT_SIZE = 2000
DEFAULT_MARGIN = "7%"
ACTION = "edited"
LANGUAGES = ("en", "zh")
FACT_STEPS = ("ocr", "faces")  # on the product's region; labels, colours and quality apart (see _facts)
FACT_SIDE = 1024
EDGE_ALPHA = 16                  # matte level from which a pixel belongs to the subject's box
MAX_UPSCALE = 4
COLOR_PIXELS = 160 * 160         # subject pixels sampled for its colours (colors() works at 160 px)
CSV_COLUMNS = ("Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Published", "Status", "Image Src",
               "Image Alt Text", "Title (zh)", "Body (HTML) (zh)", "Tags (zh)", "Source", "Warnings")


def _languages(languages: Iterable[str]) -> tuple[str, ...]:
    from .describe import make_request

    if isinstance(languages, str):  # "en,zh" or "zh"
        languages = [part.strip() for part in languages.split(",") if part.strip()]
    out = tuple(dict.fromkeys(make_request("product", lang).language for lang in languages))
    if not out:
        raise InvalidArgument("give at least one language for the listing copy: en, zh")
    return out


def json_path(output: str | os.PathLike) -> Path:
    return Path(output).expanduser().with_suffix(".json")


def _enlarge(rgb: np.ndarray, alpha: np.ndarray, scale: float, upscale: bool, model: str, settings: Settings,
             warnings: list[str]) -> tuple[Image.Image, Image.Image, str | None]:
    """The subject (flattened on white) and its alpha, ``scale`` x larger."""
    h, w = alpha.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img, used = Image.fromarray(rgb), None
    if scale > 1.0 and upscale:
        from .upscale import upscale as super_resolve

        k = min(MAX_UPSCALE, max(2, math.ceil(scale)))
        img = super_resolve(rgb, scale=k, model=model, settings=settings).pil
        used = model
        if scale > MAX_UPSCALE:
            warnings.append(f"too small even after {MAX_UPSCALE}x upscaling: the product is {max(w, h)} px "
                            f"across and the listing needs {max(size)} px; the rest is plain resampling "
                            "(photograph it larger)")
    elif scale > 1.0:
        warnings.append(f"the product is {max(w, h)} px across, smaller than the {max(size)} px the listing needs; "
                        "enlarged with Lanczos (upscaling was switched off)")
    img = img.resize(size, Image.Resampling.LANCZOS) if img.size != size else img
    mask = Image.fromarray(alpha, "L")
    mask = mask.resize(size, Image.Resampling.LANCZOS) if mask.size != size else mask
    return img, mask, used


def _subject_colors(rgb: np.ndarray, alpha: np.ndarray, settings: Settings):
    """Dominant colours of the subject's own pixels (the white or the table does not count)."""
    from .colors import colors

    pixels = rgb[alpha >= _matte.SOLID]
    if len(pixels) < 16:
        pixels = rgb.reshape(-1, 3)
    step = max(1, len(pixels) // COLOR_PIXELS)
    pixels = pixels[::step]
    side = int(math.isqrt(len(pixels)))
    block = pixels[:side * side].reshape(side, side, 3)  # k-means ignores where the pixels were
    return colors(np.ascontiguousarray(block), settings=settings)


def _facts(loaded: LoadedImage, box: tuple[int, int, int, int], alpha: np.ndarray, listing: Image.Image,
           placed: tuple[int, int, float], settings: Settings) -> Analysis:
    """Facts for the copy. Labels from the whole photo (the classifier is surer of a cup on its
    table: espresso 95 % against 49 % on white); text and faces from the product's region at
    most FACT_SIDE long (text on the table is not the product's, and OCR of a 12 MP photo at
    2560 px cost more than everything else); colours from the product's own pixels (alpha >=
    95 %); sharpness and resolution from its region. Sizes and face boxes are the listing
    image's (``placed``: the region's offset and scale there)."""
    import cv2

    from .analyze import analyze
    from .classify import classify
    from .quality import quality

    x, y, w, h = box
    region = loaded.image.crop((x, y, x + w, y + h))
    s = min(1.0, FACT_SIDE / max(w, h))
    if s < 1:
        region = region.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BILINEAR,
                               reducing_gap=2.0)
    name = str(loaded.path or loaded.source)
    part = LoadedImage(region, name, loaded.format, (w, h), "RGB")  # original_size: the real pixels behind it
    facts = analyze(part, steps=FACT_STEPS, settings=settings)
    labels = classify(loaded, settings=settings)
    facts.labels, facts.classifier = labels.labels, labels.model
    small_alpha = cv2.resize(np.ascontiguousarray(alpha[y:y + h, x:x + w]), region.size, interpolation=cv2.INTER_AREA)
    facts.colors = _subject_colors(np.asarray(region), small_alpha, settings)
    facts.quality = quality(part, settings=settings)
    facts.image = ImageInfo.of(load_image(listing, name=name, settings=settings))
    facts.quality.image = facts.image
    if facts.faces is not None:
        ox, oy, k = placed
        for f in facts.faces.faces:  # region pixels -> listing pixels
            fx, fy, fw, fh = f.box
            f.box = (round(ox + fx * k), round(oy + fy * k), max(1, round(fw * k)), max(1, round(fh * k)))
            f.landmarks = None
        facts.faces.image = facts.image
    return facts


def _copy(facts: Analysis, languages: tuple[str, ...], writer: str, listing: Image.Image,
          settings: Settings, warnings: list[str]) -> dict[str, ListingCopy]:
    from .describe import describe

    out = {}
    for lang in languages:
        text = describe(listing, facts=facts, purpose="product", language=lang, writer=writer, settings=settings)
        tags = describe(listing, facts=facts, purpose="tags", language=lang, writer="builtin", settings=settings)
        warnings.extend(w for w in text.warnings if w not in warnings)
        title = text.title or (text.text.splitlines() or [""])[0]
        out[lang] = ListingCopy(language=lang, title=title, bullets=text.bullets, description=text.text,
                                keywords=tags.tags or text.tags, writer=text.writer, confidence=text.confidence)
    return out


def product(image: ImageInput, *, size: int = DEFAULT_SIZE, margin: str | float = DEFAULT_MARGIN,
            languages: Iterable[str] | str | None = None, upscale: bool = True,
            upscale_model: str = "realesrgan-x4plus", writer: str = "builtin",
            output: str | os.PathLike | None = None, overwrite: bool = False, quality: int | None = None,
            sign: bool = False, watermark: str | None = None, settings: Settings | None = None) -> ProductResult:
    """A square listing photo on white plus title, bullets and keywords in ``languages``.

    ``size``: side of the square in pixels; ``margin``: white on each side (7 %, or '7%');
    ``upscale``: enlarge a small product with Real-ESRGAN (``upscale_model``), else Lanczos;
    ``writer``: describe's writer for the title and bullets; ``languages``: of the copy (default
    en and zh). With ``output`` the image is written there (marked when ``sign``/``watermark``)
    and the result as JSON beside it (same name, ``.json``).
    """
    settings = settings or get_settings()
    check_size(size)
    m = parse_margin(margin)
    langs = _languages(LANGUAGES if languages is None else languages)
    if upscale:
        from .upscale import _check_model

        _check_model(upscale_model)
    loaded = load_image(image, max_side=MAX_SIDE, settings=settings)
    precheck_output(output, loaded, overwrite, action=ACTION, sign=sign, watermark=watermark)
    if output is not None:
        check_output(json_path(output), [loaded.path], overwrite=overwrite, image=False)
    warnings: list[str] = []
    notes: list[str] = []
    with PeakMemory() as mem:
        matte = _matte.matte(loaded, settings)
        warnings.extend(matte.warnings)
        rgb = loaded.array()
        alpha = matte.alpha
        box = _matte.bounding_box(alpha, EDGE_ALPHA) if matte.clear else None
        if box is None:
            box = (0, 0, loaded.width, loaded.height)
            alpha = np.asarray(loaded.alpha) if loaded.alpha is not None else np.full(alpha.shape, 255, np.uint8)
        x, y, w, h = box
        sub_rgb = np.ascontiguousarray(rgb[y:y + h, x:x + w])
        sub_a = np.ascontiguousarray(alpha[y:y + h, x:x + w])
        sub_rgb = _matte.decontaminate(sub_rgb, sub_a)
        a = sub_a[..., None].astype(np.float32) * (1 / 255)
        flat = (sub_rgb * a + 255.0 * (1 - a) + 0.5).astype(np.uint8)  # on white before any resampling
        inner = max(1, round(size * (1 - 2 * m)))
        scale = inner / max(w, h)
        img, mask, used = _enlarge(flat, sub_a, scale, upscale, upscale_model, settings, warnings)
        canvas = Image.new("RGB", (size, size), (255, 255, 255))
        ox, oy = (size - img.width) // 2, (size - img.height) // 2
        canvas.paste(img, (ox, oy), mask)  # white wherever the matte is transparent, whatever resampling did
        facts = _facts(loaded, box, alpha, canvas, (ox, oy, img.width / w), settings)
        listing = _copy(facts, langs, writer, canvas, settings, warnings)
    q = facts.quality
    if q is not None and "blurry" in q.issues:
        warnings.append(f"the product looks blurred (relative sharpness {q.relative_sharpness:.3f}); retake the photo "
                        "in focus")
    if used:
        notes.append(f"enlarged {scale:.2f}x with {used}")
    result = ProductResult(
        image=ImageInfo.of(loaded), width=size, height=size, seconds=round(mem.seconds, 3), size=size, margin=m,
        subject_box=(ox, oy, img.width, img.height), subject_share=matte.subject_share,
        edge_uncertainty=matte.edge_uncertainty, clear_subject=matte.clear, upscaled=used, listing=listing,
        warnings=warnings, notes=notes)
    finish(result, canvas, loaded, output=output, overwrite=overwrite, quality=quality, action=ACTION, sign=sign,
           watermark=watermark, settings=settings)
    if output is not None:
        result.json_output = str(json_path(result.output))
        data = result.model_dump_json(indent=2).encode()
        write_atomic(result.json_output, lambda fh: fh.write(data), inputs=[loaded.path], overwrite=overwrite,
                     image=False)
    return result


def handle(text: str, taken: set[str]) -> str:
    """A Shopify handle (lowercase letters, digits, hyphens), unique within ``taken``."""
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "product"
    out, n = base, 2
    while out in taken:
        out, n = f"{base}-{n}", n + 1
    taken.add(out)
    return out


def _body(copy: ListingCopy | None) -> str:
    if copy is None:
        return ""
    items = "".join(f"<li>{html.escape(b)}</li>" for b in copy.bullets)
    return f"<p>{html.escape(copy.title)}</p>" + (f"<ul>{items}</ul>" if items else "")


def listing_rows(results: Iterable[ProductResult]) -> list[dict[str, str]]:
    taken: set[str] = set()
    rows = []
    for r in results:
        en, zh = r.listing.get("en"), r.listing.get("zh")
        first = en or zh
        rows.append({
            "Handle": handle(Path(r.image.source).stem, taken),
            "Title": first.title if first else "", "Body (HTML)": _body(first),
            "Vendor": "", "Type": "", "Tags": ", ".join(first.keywords) if first else "",
            "Published": "FALSE", "Status": "draft",  # a person reads the copy before the shop shows it
            "Image Src": Path(r.output).name if r.output else "",
            "Image Alt Text": first.title if first else "",
            "Title (zh)": zh.title if zh and en else "", "Body (HTML) (zh)": _body(zh) if zh and en else "",
            "Tags (zh)": "、".join(zh.keywords) if zh and en else "",
            "Source": r.image.source, "Warnings": "; ".join(r.warnings),
        })
    return rows


def write_listing_csv(results: Iterable[ProductResult], path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """One row per product with Shopify's column names first (Handle, Title, Body (HTML), Tags,
    Image Src ...), then the Chinese copy and ocula's notes. UTF-8 with a byte-order mark, so
    spreadsheet programs show the Chinese; every product is a draft until a person checks it."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(listing_rows(results))
    data = buf.getvalue().encode("utf-8-sig")
    return write_atomic(path, lambda fh: fh.write(data), overwrite=overwrite, image=False)
