"""Super-resolution: 2x, 3x or 4x larger images with detail a resampler cannot invent.

Models: ``realesrgan-x4plus`` (Real-ESRGAN for photos, the default), ``realesr-animevideov3``
(a ~30x faster, lighter network for drawings and quick previews), ``lanczos`` (plain
resampling, no model) and ``swin2sr-x4`` (a hub model on transformers; a folder holding a
saved Swin2SR model works too). The networks are 4x; 2x and 3x outputs are the 4x result
resampled down with Lanczos, which is sharper than running a 2x network on these weights.

Tiling keeps memory bounded whatever the image size: the input is cut into a grid of
nearly equal tiles of at most ``tile`` pixels, each run with ``tile_pad`` pixels of context
from its neighbours, and the overlapping outputs are cross-faded with linear weights that
add up to one, so no seam shows. Output rows are finished band by band, so beyond the
output itself only one band of tiles is held in floating point.

Transparency: the alpha channel is resized with Lanczos; before that, the colour under
transparent pixels (which the loader composited on white) is recovered and bled outwards
from the visible edge, so edges do not get a white halo.

Size limit: the output may not exceed ``settings.max_pixels`` (OCULA_MAX_PIXELS, 100 MP by
default), the same limit ocula applies when reading, so every image it writes it can read
back. A 4x upscale therefore takes inputs up to about 6 MP by default.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
from PIL import Image

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..image import ImageInput, load_image
from ..models import catalog
from ..results import ImageInfo, UpscaleResult
from ._edit import PeakMemory, finish, precheck_output, with_alpha

MAX_SIDE: int | None = None  # super-resolution needs every input pixel
LANCZOS = "lanczos"  # plain resampling: no model
# the catalogue's upscale models; each backend has load_engine(name, settings) -> Engine
MODELS: tuple[str, ...] = (*catalog.names("upscale"), LANCZOS)
SCALES = (2, 3, 4)
MIN_TILE = 16
# 128 px tiles keep x4plus under ~0.9 GB (192: 1.7 GB); 4 px of context per side is seamless
# once blended and costs 13 % more network work on interior tiles (10 px: 34 %); see bench/enhance.py
DEFAULT_TILE = 128
DEFAULT_TILE_PAD = 4

Progress = Callable[[int, int], None]


class Engine(Protocol):
    scale: int

    def __call__(self, tile: np.ndarray) -> np.ndarray: ...


def _engine(model: str, settings: Settings) -> Engine:
    if model in MODELS:
        return catalog.load_backend(catalog.get_spec(model, "upscale")).load_engine(model, settings)
    from ..backends import swin2sr  # a folder holding a saved Swin2SR model

    return swin2sr.load_engine(model, settings)


def _check_model(model: str) -> str:
    if model in MODELS:
        return model
    from ..backends.swin2sr import is_model_dir

    if os.path.isdir(os.path.expanduser(model)) and is_model_dir(os.path.expanduser(model)):
        return model
    raise InvalidArgument(f"unknown upscale model {model!r}; choose one of: {', '.join(MODELS)} "
                          "(or a folder holding a saved Swin2SR model)")


def _check_options(scale: int, tile: int, tile_pad: int) -> None:
    if isinstance(scale, bool) or scale not in SCALES:
        raise InvalidArgument(f"scale must be one of {', '.join(map(str, SCALES))}, not {scale!r}")
    if not isinstance(tile, int) or tile < 0 or 0 < tile < MIN_TILE:
        raise InvalidArgument(f"tile must be 0 (no tiling) or at least {MIN_TILE} pixels, not {tile!r}")
    if not isinstance(tile_pad, int) or tile_pad < 0:
        raise InvalidArgument(f"tile_pad must be 0 or more pixels, not {tile_pad!r}")
    if tile and tile_pad * 4 > tile:
        raise InvalidArgument(f"tile_pad {tile_pad} is too large for tile {tile}: the overlaps of a tile's two "
                              f"sides would meet; use tile >= {4 * tile_pad} or a smaller tile_pad")


def _splits(length: int, tile: int) -> list[int]:
    """Edges of nearly equal parts of at most ``tile`` (each part is at least tile/2 long,
    so the overlaps of its two sides never meet)."""
    n = max(1, math.ceil(length / tile))
    return [round(i * length / n) for i in range(n + 1)]


def _ramp(n_out: int, start_out: int, lo_edge: int | None, hi_edge: int | None, pad_out: int) -> np.ndarray:
    """Weights along one axis of a tile's output: 1 inside, a linear ramp across each overlap.

    ``lo_edge``/``hi_edge`` are the output coordinates of the boundaries with the previous
    and next tile (None at the image border). The neighbour's ramp is the complement, so
    weights sum to exactly 1 everywhere.
    """
    c = np.arange(n_out, dtype=np.float32) + (start_out + 0.5)
    w = np.ones(n_out, dtype=np.float32)
    if pad_out:
        if lo_edge is not None:
            w *= np.clip((c - (lo_edge - pad_out)) / (2 * pad_out), 0, 1)
        if hi_edge is not None:
            w *= np.clip(((hi_edge + pad_out) - c) / (2 * pad_out), 0, 1)
    return w


def _to_uint8(a: np.ndarray) -> np.ndarray:
    return np.clip(a + 0.5, 0, 255).astype(np.uint8)


def upscale_array(rgb: np.ndarray, engine: Engine, *, tile: int = DEFAULT_TILE, tile_pad: int = DEFAULT_TILE_PAD,
                  progress: Progress | None = None, memory: PeakMemory | None = None) -> tuple[np.ndarray, int]:
    """Run ``engine`` over an HxWx3 uint8 array, tiled and blended; returns (output, network calls)."""
    h, w = rgb.shape[:2]
    s = engine.scale
    if tile == 0 or (h <= tile and w <= tile):
        out = _to_uint8(engine(rgb))
        if progress:
            progress(1, 1)
        return out, 1

    ys, xs = _splits(h, tile), _splits(w, tile)
    pad = tile_pad
    total = (len(ys) - 1) * (len(xs) - 1)
    out = np.empty((h * s, w * s, 3), dtype=np.uint8)
    carry: np.ndarray | None = None  # weighted rows shared with the next band
    done = 0
    for i in range(len(ys) - 1):
        y0, y1 = ys[i], ys[i + 1]
        ey0, ey1 = max(0, y0 - pad), min(h, y1 + pad)
        band = np.zeros(((ey1 - ey0) * s, w * s, 3), dtype=np.float32)
        for j in range(len(xs) - 1):
            x0, x1 = xs[j], xs[j + 1]
            ex0, ex1 = max(0, x0 - pad), min(w, x1 + pad)
            res = engine(np.ascontiguousarray(rgb[ey0:ey1, ex0:ex1]))
            if res.shape[:2] != ((ey1 - ey0) * s, (ex1 - ex0) * s):
                raise RuntimeError(f"model returned {res.shape[1]}x{res.shape[0]} for a "
                                   f"{ex1 - ex0}x{ey1 - ey0} tile at scale {s}")
            wx = _ramp(res.shape[1], ex0 * s, x0 * s if j > 0 else None,
                       x1 * s if j < len(xs) - 2 else None, pad * s)
            res *= wx[None, :, None]  # in place: the engine returns a fresh array
            band[:, ex0 * s:ex1 * s] += res
            del res
            done += 1
            if memory is not None:
                memory.sample()
            if progress:
                progress(done, total)
        wy = _ramp(band.shape[0], ey0 * s, y0 * s if i > 0 else None,
                   y1 * s if i < len(ys) - 2 else None, pad * s)
        band *= wy[:, None, None]
        if carry is not None:
            band[:carry.shape[0]] += carry
        last = i == len(ys) - 2
        final = band.shape[0] if last else (y1 - pad - ey0) * s  # rows no later band touches
        done_rows = band[:final]
        done_rows += 0.5  # round, clip and convert in place: no band-sized temporaries
        np.clip(done_rows, 0, 255, out=done_rows)
        out[ey0 * s:ey0 * s + final] = done_rows  # the assignment truncates to uint8
        carry = None if last else band[final:].copy()
        del band, done_rows
    return out, total


def bleed_transparent(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Colours for transparent pixels, so a filter reaching across an edge does not pull in
    the white the loader composited them on.

    Visible pixels get their colour back (un-compositing from white); invisible ones (alpha
    below 8) get the colour of the nearest visible area, by push-pull: average the known
    colours down an image pyramid, then fill the holes on the way back up.
    """
    a = alpha.astype(np.float32) / 255.0
    known = alpha >= 8
    col = np.zeros(rgb.shape, np.float32)
    ak = a[known][:, None]
    col[known] = np.clip((rgb[known].astype(np.float32) - 255.0 * (1 - ak)) / ak, 0, 255)
    if known.all():
        return _to_uint8(col)
    if not known.any():
        return rgb
    from ._matte import fill_colours

    fill = fill_colours(col, known)
    fill[known] = col[known]
    return _to_uint8(fill)


def upscale(image: ImageInput, *, scale: int = 4, model: str = "realesrgan-x4plus", tile: int = DEFAULT_TILE,
            tile_pad: int = DEFAULT_TILE_PAD, output: str | os.PathLike | None = None, overwrite: bool = False,
            quality: int | None = None, sign: bool = False, watermark: str | None = None,
            progress: Progress | None = None, settings: Settings | None = None) -> UpscaleResult:
    """Enlarge ``image`` ``scale`` times (2, 3 or 4) with ``model``; write it to ``output`` if given.

    ``tile``: tile side in input pixels (0 = the whole image in one call: fastest, most memory);
    ``tile_pad``: context overlap per side. ``progress(done, total)`` is called after each tile.
    """
    settings = settings or get_settings()
    _check_options(scale, tile, tile_pad)
    model = _check_model(model)
    loaded = load_image(image, max_side=MAX_SIDE, settings=settings)
    w, h = loaded.size
    ow, oh = w * scale, h * scale
    if ow * oh > settings.max_pixels:
        raise InvalidArgument(
            f"{w}x{h} upscaled {scale}x would be {ow}x{oh} ({ow * oh / 1e6:.0f} MP), over the limit of "
            f"{settings.max_pixels / 1e6:.0f} MP (OCULA_MAX_PIXELS); use a smaller --scale, crop the image, "
            "or raise OCULA_MAX_PIXELS")
    precheck_output(output, loaded, overwrite, action="upscaled", sign=sign, watermark=watermark)

    alpha = loaded.alpha
    notes: list[str] = []
    with PeakMemory() as mem:
        rgb = np.asarray(loaded.image)
        if alpha is not None:
            rgb = bleed_transparent(rgb, np.asarray(alpha))
        if model == LANCZOS:
            big = Image.fromarray(rgb).resize((ow, oh), Image.Resampling.LANCZOS)
            calls = 0
            if progress:
                progress(1, 1)
        else:
            engine = _engine(model, settings)
            if scale > engine.scale:
                raise InvalidArgument(f"model {model} enlarges {engine.scale}x; scale {scale} is more than it can do")
            arr, calls = upscale_array(rgb, engine, tile=tile, tile_pad=tile_pad, progress=progress, memory=mem)
            big = Image.fromarray(arr)
            if scale != engine.scale:
                big = big.resize((ow, oh), Image.Resampling.LANCZOS, reducing_gap=3.0)
                notes.append(f"{engine.scale}x model output resampled to {scale}x")
        big = with_alpha(big, alpha)
    if alpha is not None:
        notes.append("transparency kept (alpha resized with Lanczos)")

    result = UpscaleResult(
        image=ImageInfo.of(loaded), width=ow, height=oh, seconds=round(mem.seconds, 3),
        model=model if not Path(os.path.expanduser(model)).is_dir() else f"swin2sr:{model}",
        scale=scale, tile=tile, tile_pad=tile_pad, tiles=calls, peak_memory_mb=round(mem.mib, 1),
        alpha=alpha is not None, notes=notes)
    return finish(result, big, loaded, output=output, overwrite=overwrite, quality=quality, action="upscaled",
                  sign=sign, watermark=watermark, settings=settings)
