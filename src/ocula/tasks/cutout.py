"""cutout: the subject of a photo without its background, offline.

The alpha matte comes from ``_matte`` (U²-Net-p, refined to a soft alpha at full resolution
by a guided filter). The background is then, by ``background``:
- ``transparent`` (the default): an RGBA image (PNG/WebP keep it; JPEG is flattened on white);
- a colour: ``white``, ``#RRGGBB``, ``#RGB`` or a CSS colour name (``black``, ``ivory`` ...);
- ``blur``: the photo itself, strongly blurred (a portrait-mode look);
- a path to an image: that image, scaled to cover the frame.
``shadow`` adds a soft contact shadow under the subject; ``mask_only`` writes the matte itself
(white = subject) instead.

Edge colours: where the matte is partly transparent a pixel mixes subject and old background
(the brown of a table shows as a dark fringe on white), so those pixels take the colour of the
nearest pure subject pixels (``_matte.decontaminate``).

No clear subject (a landscape, a blank wall): the result says so in ``warnings``, ``clear_subject``
is false and the output is the original picture, never an empty cut-out.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageColor

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..image import ImageInput, LoadedImage, load_image
from ..results import CutoutResult, ImageInfo
from . import _matte
from ._edit import PeakMemory, finish, precheck_output

MAX_SIDE: int | None = None  # the cut-out keeps full resolution; the matte works on bounded copies
SHADOW_OPACITY = 0.45
BLUR_SIDE = 512  # the blurred background is made at this size and enlarged: it is a blur anyway
ACTION = "edited"  # C2PA has no "background removed"; edited is its word for a change to the pixels


def parse_background(value: str | None, allow_image: bool = True) -> tuple[str, object]:
    """("transparent", None) | ("color", (r, g, b)) | ("blur", None) | ("image", Path); one line
    naming the valid forms for anything else. ``allow_image=False`` (the server: no request
    names a file on it) refuses paths."""
    v = (value or "transparent").strip()
    low = v.lower()
    if low in ("transparent", "none", "alpha"):
        return "transparent", None
    if low == "blur":
        return "blur", None
    if v.startswith("#") or low.replace(" ", "").isalpha():
        try:
            return "color", ImageColor.getrgb(v)[:3]
        except ValueError:
            if v.startswith("#"):
                raise InvalidArgument(f"unknown colour {v!r}: write it as #RRGGBB or #RGB "
                                      "(hex digits 0-9, a-f), e.g. #ffffff") from None
    if not allow_image:
        raise InvalidArgument(f"unknown background {v!r}: use transparent, white, a colour (#RRGGBB or a name such "
                              "as black) or blur")
    path = Path(v).expanduser()
    if path.is_file():
        return "image", path
    raise InvalidArgument(f"unknown background {v!r}: use transparent, white, a colour (#RRGGBB or a name such as "
                          "black), blur, or the path of an image file")


def background_label(kind: str, value: object) -> str:
    if kind == "color":
        r, g, b = value  # type: ignore[misc]
        return f"#{r:02x}{g:02x}{b:02x}"
    if kind == "image":
        return f"image:{value}"
    return kind


def contact_shadow(alpha: np.ndarray, box: tuple[int, int, int, int]) -> Image.Image:
    """A soft shadow where the subject meets the ground: its silhouette flattened to a thin
    ellipse-like band under its lowest part, blurred. Mode L at the alpha's size."""
    import cv2

    h, w = alpha.shape
    x, y, bw, bh = box
    # work at a bounded size: a shadow is blurry, full resolution buys nothing
    s = min(1.0, 1024 / max(h, w))
    sw, sh = max(1, round(w * s)), max(1, round(h * s))
    small = cv2.resize(alpha, (sw, sh), interpolation=cv2.INTER_AREA)
    bx, by, bbw, bbh = (max(0, round(v * s)) for v in box)
    bbw, bbh = max(1, bbw), max(1, bbh)
    foot = small[by:by + bbh, bx:bx + bbw]
    flat_h = max(2, round(bbh * 0.08))
    flat = cv2.resize(foot, (bbw, flat_h), interpolation=cv2.INTER_AREA).astype(np.float32)
    shadow = np.zeros((sh, sw), np.float32)
    top = min(sh - 1, by + bbh - flat_h // 2)
    rows = min(flat_h, sh - top)
    shadow[top:top + rows, bx:bx + bbw] = flat[:rows]
    sigma = max(1.0, 0.04 * bbw)
    shadow = cv2.GaussianBlur(shadow, (0, 0), sigma)
    peak = float(shadow.max()) or 1.0
    shadow *= SHADOW_OPACITY * 255.0 / peak
    out = cv2.resize(shadow, (w, h), interpolation=cv2.INTER_LINEAR)
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "L")


def _background(kind: str, value: object, loaded: LoadedImage, settings: Settings) -> Image.Image | None:
    size = loaded.size
    if kind == "color":
        return Image.new("RGB", size, value)  # type: ignore[arg-type]
    if kind == "blur":
        from PIL import ImageFilter

        small = loaded.resized(BLUR_SIDE)
        blurred = small.filter(ImageFilter.GaussianBlur(max(small.size) / 40))
        return blurred.resize(size, Image.Resampling.BILINEAR)
    if kind == "image":
        from PIL import ImageOps

        bg = load_image(value, max_side=max(size), settings=settings)  # type: ignore[arg-type]
        return ImageOps.fit(bg.image, size, Image.Resampling.LANCZOS)
    return None


def compose(rgb: Image.Image, alpha: np.ndarray, background: Image.Image | None,
            shadow: Image.Image | None) -> Image.Image:
    """The subject (``rgb`` with ``alpha``) over ``background`` (None: transparent), with an
    optional shadow (mode L, darkening what lies under the subject)."""
    mask = Image.fromarray(alpha, "L")
    if background is None:
        out = rgb.convert("RGBA")
        out.putalpha(mask)
        if shadow is None:
            return out
        under = Image.new("RGBA", rgb.size, (0, 0, 0, 0))
        under.putalpha(shadow)
        return Image.alpha_composite(under, out)
    if shadow is not None:
        background = Image.composite(Image.new("RGB", rgb.size, (0, 0, 0)), background, shadow)
    return Image.composite(rgb, background, mask)


def cutout(image: ImageInput, *, background: str = "transparent", shadow: bool = False, mask_only: bool = False,
           refine: str = "guided", output: str | os.PathLike | None = None, overwrite: bool = False,
           quality: int | None = None, sign: bool = False, watermark: str | None = None,
           settings: Settings | None = None, background_files: bool = True) -> CutoutResult:
    """Remove the background of ``image``; write the result to ``output`` when given.

    ``background``: transparent (default), white, #RRGGBB, a colour name, blur, or an image
    path. ``shadow``: a soft contact shadow. ``mask_only``: the matte as a greyscale image.
    ``refine``: guided (default) or none (the network's mask, upsampled).
    ``background_files=False`` refuses a background given as a path (for servers).
    ``sign``/``watermark``: mark the output (see ``tasks._edit.finish``).
    """
    settings = settings or get_settings()
    kind, value = parse_background(background, background_files)
    if refine not in _matte.REFINES:
        raise InvalidArgument(f"unknown refine {refine!r}; choose one of: {', '.join(_matte.REFINES)}")
    loaded = load_image(image, max_side=MAX_SIDE, settings=settings)
    precheck_output(output, loaded, overwrite, action=ACTION, sign=sign, watermark=watermark)
    with PeakMemory() as mem:
        m = _matte.matte(loaded, settings, refine)
        notes: list[str] = []
        if mask_only:
            pil = Image.fromarray(m.alpha, "L")
        elif not m.clear:
            pil = loaded.image if loaded.alpha is None else compose(loaded.image, np.asarray(loaded.alpha), None, None)
        else:
            rgb = _matte.decontaminate(loaded.array(), m.alpha)
            shade = contact_shadow(m.alpha, m.box) if shadow and m.box else None
            pil = compose(Image.fromarray(rgb), m.alpha, _background(kind, value, loaded, settings), shade)
    if shadow and not m.clear and not mask_only:
        notes.append("no shadow: there is no clear subject to cast one")
    result = CutoutResult(
        image=ImageInfo.of(loaded), width=pil.width, height=pil.height, seconds=round(mem.seconds, 3),
        model=m.model, refine=m.refine, background="mask" if mask_only else background_label(kind, value),
        shadow=bool(shadow and m.clear and not mask_only), subject_share=m.subject_share,
        edge_uncertainty=m.edge_uncertainty, clear_subject=m.clear, subject_box=m.box,
        warnings=m.warnings, notes=notes)
    return finish(result, pil, loaded, output=output, overwrite=overwrite, quality=quality, action=ACTION,
                  sign=sign, watermark=watermark, settings=settings)
