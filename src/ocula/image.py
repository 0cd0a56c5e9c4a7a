"""Safe image loading, used by every task.

Any input (path, bytes, file object, PIL image, numpy array) becomes a ``LoadedImage``:
an RGB PIL image with EXIF orientation applied, plus what was learned on the way
(format, original size, alpha, EXIF). Limits on bytes and pixels are checked from the
header, before any pixel is decoded. Every failure is an ``InvalidImage`` naming the
input and the cause.
"""

from __future__ import annotations

import io
import logging
import math
import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Union

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .config import Settings, get_settings
from .errors import InvalidImage

ImageInput = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes], Image.Image, np.ndarray, "LoadedImage"]

# Formats ocula decodes. Anything else Pillow happens to know (PSD, EPS, ICO...) is refused
# with a clear message rather than half-supported.
SUPPORTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF", "AVIF"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".dib",
                  ".tif", ".tiff", ".heic", ".heif", ".avif", ".mpo"}
# RAW camera files LibRaw reads (decoded by media.load_raw): Canon, Nikon, Sony, Olympus/OM, Panasonic,
# Fujifilm, Pentax, Samsung, Leica, Hasselblad, Phase One, Sigma, Minolta, Kodak, Leaf/Mamiya, and DNG
RAW_SUFFIXES = {".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2", ".raf",
                ".pef", ".srw", ".rwl", ".3fr", ".fff", ".iiq", ".x3f", ".mrw", ".dcr", ".kdc", ".erf", ".mef",
                ".mos"}
IMAGE_SUFFIXES |= RAW_SUFFIXES

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, not grey pixels
_heif_registered = False
# A damaged file is answered by one InvalidImage line; Pillow's own log lines about it
# ("More samples per pixel than can be decoded") would otherwise reach stderr through
# logging's last-resort handler. Applications that configure logging still get them.
logging.getLogger("PIL").addHandler(logging.NullHandler())
# Likewise Pillow's warnings about a damaged file ("Corrupt EXIF data", "Truncated File Read")
# and about large images (ocula checks its own pixel limit, OCULA_MAX_PIXELS, from the header).
# Filtered once, for Pillow's modules only: warnings.catch_warnings() is not thread-safe (its
# exit restores a snapshot of the global filters), and ocula decodes on several threads.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL(\.|$)")
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
# Pillow's own bomb guard (an error above 2 x MAX_IMAGE_PIXELS) would refuse images ocula's
# limit allows; ocula refuses from the header, before any pixel is decoded.
_OPEN_LOCK = threading.Lock()


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
        except ImportError:  # HEIC simply stays unsupported
            pass
        _quiet_libtiff()
        _heif_registered = True


def _quiet_libtiff() -> None:
    """Stop libtiff printing its errors ("LZWDecode: Not enough data at scanline 0") on stderr:
    Pillow turns them into an exception already, which becomes this file's InvalidImage.
    Best effort: the libtiff that Pillow loaded is found in the process's memory map."""
    try:
        import ctypes

        from PIL import _imaging  # noqa: F401  (loads libtiff)

        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            libs = {ln.split()[-1] for ln in fh if "/libtiff" in ln}
        for lib in libs:
            handle = ctypes.CDLL(lib)
            handle.TIFFSetErrorHandler.restype = ctypes.c_void_p
            handle.TIFFSetErrorHandler.argtypes = [ctypes.c_void_p]
            handle.TIFFSetErrorHandler(None)
    except (OSError, AttributeError, ImportError):  # not Linux, or no libtiff: nothing to quiet
        pass


class DetailView:
    """An RGB image of ``size`` (``source`` resized to at most ``max_side``, never enlarged, as
    ``LoadedImage.resized`` makes it) read patch by patch: a patch is resized from its region of
    the source alone, with the same pixel mapping, so it equals that crop of the whole copy."""

    def __init__(self, source: Image.Image, max_side: int):
        w, h = source.size
        scale = max_side / max(w, h)
        self.source = source
        self.size = (w, h) if scale >= 1 else (max(1, round(w * scale)), max(1, round(h * scale)))
        self._fx, self._fy = w / self.size[0], h / self.size[1]

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.size[1], self.size[0], 3

    def patch(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """HxWx3 uint8 RGB of the rectangle [x0, x1) x [y0, y1) of the view (clipped to it)."""
        x0, y0 = max(0, int(x0)), max(0, int(y0))
        x1, y1 = min(self.size[0], int(x1)), min(self.size[1], int(y1))
        if x1 <= x0 or y1 <= y0:
            return np.zeros((max(0, y1 - y0), max(0, x1 - x0), 3), np.uint8)
        if self.size == self.source.size:
            return np.asarray(self.source.crop((x0, y0, x1, y1)))
        box = (x0 * self._fx, y0 * self._fy, x1 * self._fx, y1 * self._fy)
        return np.asarray(self.source.resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR, box=box,
                                             reducing_gap=2.0))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self.patch(0, 0, *self.size)
        return whole if dtype is None else whole.astype(dtype)


@dataclass
class LoadedImage:
    """A decoded image and what is known about it. ``image`` is always mode RGB."""

    image: Image.Image
    source: str
    format: str | None
    original_size: tuple[int, int]
    original_mode: str
    has_alpha: bool = False
    alpha: Image.Image | None = None
    frames: int = 1
    exif: Image.Exif | None = None
    icc_profile: bytes | None = None
    path: Path | None = None
    byte_size: int | None = None
    raw: str | None = None  # RAW files: what was decoded ("preview 6000x4000", "demosaiced at half size")
    _cache: dict = field(default_factory=dict, repr=False)
    # how to decode the source again at another size, when this copy was decoded reduced
    _again: Callable[[int], "LoadedImage"] | None = field(default=None, repr=False)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    @property
    def width(self) -> int:
        return self.image.size[0]

    @property
    def height(self) -> int:
        return self.image.size[1]

    def resized(self, max_side: int) -> Image.Image:
        """A copy whose longer side is at most ``max_side`` (cached; never upscaled)."""
        key = ("resized", max_side)
        if key not in self._cache:
            w, h = self.image.size
            scale = max_side / max(w, h)
            if scale >= 1:
                self._cache[key] = self.image
            else:
                size = (max(1, round(w * scale)), max(1, round(h * scale)))
                self._cache[key] = self.image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        return self._cache[key]

    def detail(self, max_side: int) -> Image.Image:
        """A copy at most ``max_side`` on its longer side with all the detail the source has at that
        size: when this image was decoded reduced (a JPEG draft) to less than that, the file is
        decoded again at ``max_side`` (cached, and shared with ``detail_view``). Steps that look
        closer where they found something (small text, small faces) read it through
        ``detail_view``; the rest share the one reduced decode."""
        have, full = max(self.size), max(self.original_size)
        if have >= min(max_side, full) or self._again is None:
            return self.resized(max_side)
        key = ("detail", max_side)
        if key not in self._cache:
            self._cache[key] = Image.fromarray(np.asarray(self.detail_view(max_side)))
        return self._cache[key]

    def detail_view(self, max_side: int) -> "DetailView":
        """What ``detail(max_side)`` shows, without making it whole: its patches are resized on
        demand from the decode it would be resized from. A step that reads a few regions (the
        text lines OCR found, the areas around small faces) pays for those regions only; the
        whole 2560 px copy of a 12 MP photo cost ~120 ms of resizing. One decode again serves
        every size asked for."""
        have, full = max(self.size), max(self.original_size)
        if have >= min(max_side, full) or self._again is None:
            return DetailView(self.image, max_side)
        want = min(max_side, full)
        source = next((im for key, im in self._cache.items() if key[0] == "again" and max(im.size) >= want), None)
        if source is None:
            source = self._again(max_side).image
            self._cache[("again", max_side)] = source
        return DetailView(source, max_side)

    def array(self, max_side: int | None = None) -> np.ndarray:
        """HxWx3 uint8 RGB array (cached)."""
        key = ("array", max_side)
        if key not in self._cache:
            img = self.image if max_side is None else self.resized(max_side)
            self._cache[key] = np.asarray(img)
        return self._cache[key]

    def gray(self, max_side: int | None = None) -> np.ndarray:
        """HxW uint8 luminance (cached)."""
        key = ("gray", max_side)
        if key not in self._cache:
            img = self.image if max_side is None else self.resized(max_side)
            self._cache[key] = np.asarray(img.convert("L"))
        return self._cache[key]

    def info(self) -> dict[str, Any]:
        return {
            "source": self.source, "format": self.format, "width": self.original_size[0],
            "height": self.original_size[1], "mode": self.original_mode, "has_alpha": self.has_alpha,
            "frames": self.frames, "bytes": self.byte_size, "raw": self.raw,
        }


def _describe_bytes(head: bytes) -> str:
    """A short guess at what a non-image file is, for the error message."""
    if not head.strip():
        return "it contains only whitespace or zero bytes"
    if head.startswith(b"%PDF"):
        return "it is a PDF document, not an image"
    if head.startswith(b"PK\x03\x04"):
        return "it is a ZIP archive (or an Office document), not an image"
    if head.lstrip().startswith((b"<svg", b"<?xml")) and b"<svg" in head:
        return "it is an SVG drawing; ocula reads raster images only"
    if head.lstrip()[:1] in (b"<",) and b"html" in head[:200].lower():
        return "it is an HTML page, not an image"
    from .media import sniff_video

    video = sniff_video(head)
    if video:
        return f"it is a video ({video}); ocula analyze and ocula index read videos (their keyframes)"
    try:
        head.decode("utf-8")
        return "it is a text file, not an image"
    except UnicodeDecodeError:
        return "its content is not a recognised image format"


def _source_name(src: Any) -> str:
    if isinstance(src, (str, os.PathLike)):
        return str(src)
    name = getattr(src, "name", None)
    if isinstance(name, str):
        return name
    return f"<{type(src).__name__}>"


def _missing(path: str) -> str:
    from .media import frame_of

    key = frame_of(path) if "#t=" in path else None
    if key is None or not os.path.isfile(key[0]):
        return "no such file"
    # a keyframe as the index names it: only the video is a file
    return (f"no such file: a frame of the video {key[0]} (the index's name for it); "
            f"ocula analyze {key[0]} reports its keyframes")


def _open_bytes(src: Any, name: str, settings: Settings) -> tuple[IO[bytes], Path | None, int | None]:
    """Resolve the input to a seekable binary stream, checking existence and byte limits."""
    if isinstance(src, (str, os.PathLike)):
        path = Path(src).expanduser()
        try:
            st = path.stat()
        except FileNotFoundError:
            raise InvalidImage(name, _missing(str(src))) from None
        except PermissionError:
            raise InvalidImage(name, "permission denied") from None
        except OSError as e:
            raise InvalidImage(name, f"cannot be read ({e.strerror or e})") from None
        if path.is_dir():
            raise InvalidImage(name, "is a folder, not an image file")
        if st.st_size == 0:
            raise InvalidImage(name, "empty file (0 bytes)")
        if st.st_size > settings.max_bytes:
            raise InvalidImage(name, f"file is {st.st_size / 2**20:.1f} MiB, over the limit of "
                                     f"{settings.max_bytes / 2**20:.0f} MiB (OCULA_MAX_BYTES)")
        try:
            fh = open(path, "rb")
        except PermissionError:
            raise InvalidImage(name, "permission denied") from None
        except OSError as e:
            raise InvalidImage(name, f"cannot be read ({e.strerror or e})") from None
        return fh, path, st.st_size
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif hasattr(src, "read"):
        try:
            data = src.read(settings.max_bytes + 1)
        except Exception as e:  # a broken stream is still the caller's input problem
            raise InvalidImage(name, f"could not read from the file object ({e})") from None
        if isinstance(data, str):
            raise InvalidImage(name, "file object is in text mode; open it with 'rb'")
    else:
        raise InvalidImage(name, f"unsupported input type {type(src).__name__}; pass a path, "
                                 "bytes, a binary file object, a PIL image or a numpy array")
    if len(data) == 0:
        raise InvalidImage(name, "empty input (0 bytes)")
    if len(data) > settings.max_bytes:
        raise InvalidImage(name, f"input is over the limit of {settings.max_bytes / 2**20:.0f} MiB "
                                 "(OCULA_MAX_BYTES)")
    return io.BytesIO(data), None, len(data)


# Full-size conversions run in bands of about this many pixels, so that a 100 MP image needs
# its decoded pixels and its RGB result, not three or four float and RGB copies beside them.
_BAND_PIXELS = 4_000_000
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")


def _bands(height: int, width: int) -> list[tuple[int, int]]:
    """(top, bottom) rows of the bands a full-size conversion works in."""
    step = max(1, _BAND_PIXELS // max(1, width))
    return [(y, min(height, y + step)) for y in range(0, height, step)]


def _eight_bit(img: Image.Image) -> Image.Image:
    """16-bit, 32-bit integer and float greyscale as 8-bit "L", scaled to the data's range."""
    arr = np.asarray(img)
    if img.mode == "F":
        finite = arr[np.isfinite(arr)] if arr.size else arr
        hi = float(finite.max()) if finite.size else 0.0  # an all-NaN image has no maximum
        scale, offset = (255.0 if hi <= 1.0 else 1.0), 0.5
    elif img.mode == "I":
        hi = int(arr.max()) if arr.size else 0
        scale, offset = (1 / 257.0 if hi > 255 else 1.0), 0.5  # 'I' often carries 16-bit data
    else:
        scale, offset = 1 / 257.0, 0.5
    out = np.empty(arr.shape[:2], np.uint8)
    for top, bottom in _bands(*out.shape):
        band = arr[top:bottom].astype(np.float32)
        if img.mode == "F":
            band = np.nan_to_num(band)
        out[top:bottom] = np.clip(band * scale + offset, 0, 255)
    return Image.fromarray(out, "L")


def _to_rgb(img: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Convert any Pillow mode to RGB (alpha composited on white), returning the alpha too."""
    mode = img.mode
    if mode in _SIXTEEN_BIT or mode in ("I", "F"):
        return _eight_bit(img).convert("RGB"), None
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("LA", "La", "PA", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        alpha = img.getchannel("A")
        if alpha.getextrema() == (255, 255):
            return img.convert("RGB"), None
        bg = Image.new("RGB", img.size, (255, 255, 255))
        w, h = img.size
        for top, bottom in _bands(h, w):  # band by band: no full-size RGB copy of the input
            box = (0, top, w, bottom)
            bg.paste(img.crop(box).convert("RGB"), box, alpha.crop(box))
        return bg, alpha
    if img.mode != "RGB":
        img = img.convert("RGB")  # L, 1, CMYK (Pillow undoes Adobe's inversion), YCbCr, LAB
    return img, None


def icc_profile(icc: bytes) -> tuple[Any, bool]:
    """(the parsed profile, whether it is an sRGB profile); raises when Pillow cannot parse it."""
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    return profile, "srgb" in (ImageCms.getProfileDescription(profile) or "").lower()


def _apply_icc(img: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert from an embedded colour profile to sRGB, so colours mean the same everywhere."""
    if not icc:
        return img
    try:
        from PIL import ImageCms

        src, srgb = icc_profile(icc)
        if srgb:
            return img
        if img.mode not in ("RGB", "CMYK", "L"):
            return img
        out_mode = "RGB"
        return ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"), outputMode=out_mode)
    except Exception:  # a broken profile must not make a readable image unreadable
        return img


def _from_array(arr: np.ndarray, name: str, settings: Settings) -> LoadedImage:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InvalidImage(name, f"array of shape {arr.shape} is not an image; expected HxW, HxWx3 (RGB) or HxWx4 (RGBA)")
    h, w = arr.shape[:2]
    if h == 0 or w == 0:
        raise InvalidImage(name, f"array of shape {arr.shape} has no pixels")
    if h * w > settings.max_pixels:
        raise InvalidImage(name, f"{w}x{h} is {w * h / 1e6:.3g} megapixels, over the limit of "
                                 f"{settings.max_pixels / 1e6:.3g} (OCULA_MAX_PIXELS)")
    if arr.dtype == np.uint8:
        a8 = arr
    elif arr.dtype == np.uint16:
        a8 = (arr.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif arr.dtype == np.bool_:
        a8 = arr.astype(np.uint8) * 255
    elif np.issubdtype(arr.dtype, np.floating):
        a = np.nan_to_num(arr.astype(np.float32))
        if a.size and float(a.max()) <= 1.0:
            a = a * 255.0
        a8 = np.clip(a + 0.5, 0, 255).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.integer):
        a8 = np.clip(arr, 0, 255).astype(np.uint8)
    else:
        raise InvalidImage(name, f"array dtype {arr.dtype} is not an image type")
    mode = "L" if a8.ndim == 2 else ("RGB" if a8.shape[2] == 3 else "RGBA")
    pil = Image.fromarray(np.ascontiguousarray(a8), mode)
    rgb, alpha = _to_rgb(pil)
    return LoadedImage(rgb, name, None, (w, h), f"array:{arr.dtype}", alpha is not None, alpha)


def _from_pil(img: Image.Image, name: str, settings: Settings) -> LoadedImage:
    w, h = img.size
    if w * h > settings.max_pixels:
        raise InvalidImage(name, f"{w}x{h} is {w * h / 1e6:.3g} megapixels, over the limit of "
                                 f"{settings.max_pixels / 1e6:.3g} (OCULA_MAX_PIXELS)")
    if w == 0 or h == 0:
        raise InvalidImage(name, "image has no pixels")
    try:
        img.load()
        exif = img.getexif()
        oriented = ImageOps.exif_transpose(img) or img
        rgb, alpha = _to_rgb(oriented)
    except (OSError, ValueError, SyntaxError) as e:
        raise InvalidImage(name, f"image could not be decoded ({e})") from None
    return LoadedImage(rgb, name, img.format, rgb.size, img.mode, alpha is not None, alpha,
                       exif=exif or None, icc_profile=img.info.get("icc_profile"))


def load_image(src: ImageInput, *, max_side: int | None = None, settings: Settings | None = None,
               name: str | None = None) -> LoadedImage:
    """Load any supported input as a ``LoadedImage``.

    ``max_side``: the caller needs at most this many pixels on the longer side. JPEGs are then
    decoded at a reduced scale (Pillow draft: 2-8x faster, far less memory); the result is
    still at least ``max_side`` on its longer side when the file is, never resized further here.
    Numpy arrays are taken as RGB(A) (convert OpenCV's BGR first).
    """
    if isinstance(src, LoadedImage):
        return src
    settings = settings or get_settings()
    name = name or _source_name(src)
    if isinstance(src, np.ndarray):
        return _from_array(src, name, settings)
    if isinstance(src, Image.Image):
        return _from_pil(src, name, settings)
    _register_heif()
    fh, path, nbytes = _open_bytes(src, name, settings)
    try:
        loaded = _decode(fh, name, path, nbytes, max_side, settings)
        if max(loaded.size) < max(loaded.original_size):
            source = path if path is not None else fh.getvalue()  # an in-memory stream holds the bytes
            loaded._again = lambda side: load_image(source, max_side=side, settings=settings, name=name)
    finally:
        fh.close()
    w, h = loaded.original_size
    if w * h > 4 * loaded.width * loaded.height and w * h > _BAND_PIXELS:
        from ._memory import trim

        trim()  # the full-size decode is gone: hand its memory back before the steps run
    return loaded


def open_unchecked(fh: IO[bytes]) -> Image.Image:
    """``Image.open`` without Pillow's own pixel limit (ocula applies its own from the header).
    The limit is a global of Pillow's: it is lifted and restored under a lock, so that threads
    opening images at once never leave it lifted."""
    with _OPEN_LOCK:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(fh)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _decode(fh: IO[bytes], name: str, path: Path | None, nbytes: int | None, max_side: int | None,
            settings: Settings) -> LoadedImage:
    head = fh.read(512)
    fh.seek(0)
    from . import media

    if media.is_raw(path, head):
        return media.load_raw(fh, name, path, nbytes, max_side, settings)  # LibRaw, before Pillow sees a TIFF
    fmt: str | None = None
    try:
        img = open_unchecked(fh)
        fmt = img.format
        return _decode_opened(img, fmt, name, path, nbytes, max_side, settings)
    except InvalidImage:
        raise
    except UnidentifiedImageError:
        raise InvalidImage(name, _describe_bytes(head)) from None
    except MemoryError:
        raise InvalidImage(name, "not enough memory to decode this image") from None
    except RecursionError:
        raise InvalidImage(name, f"corrupt {fmt or 'image'} data (structures nested too deeply)") from None
    except Exception as e:
        # Any decoder failure is this file's failure, never the caller's crash: Pillow's plugins
        # raise TypeError, KeyError, SyntaxError, struct.error ... on damaged frames and tags.
        raise InvalidImage(name, _decoder_problem(fmt, e)) from None


def _decoder_problem(fmt: str | None, e: Exception) -> str:
    msg = " ".join(str(e).split()) or type(e).__name__
    if fmt is None:
        return f"not a readable image ({msg})"
    if "truncated" in msg.lower() or isinstance(e, EOFError) or "premature" in msg.lower() \
            or "end of file" in msg.lower():
        return f"truncated {fmt} file: the data ends before the image does"
    if isinstance(e, KeyError):  # a lookup of an unknown code (compression, mode, tag)
        msg = f"unknown code {msg}"
    return f"corrupt {fmt} data ({msg})"


def _decode_opened(img: Image.Image, fmt: str | None, name: str, path: Path | None, nbytes: int | None,
                   max_side: int | None, settings: Settings) -> LoadedImage:
    if fmt not in SUPPORTED_FORMATS:
        raise InvalidImage(name, f"{fmt} images are not supported; use one of "
                                 "JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC, AVIF")
    w, h = img.size
    if w <= 0 or h <= 0:
        raise InvalidImage(name, f"header says the image is {w}x{h}")
    if w * h > settings.max_pixels:
        raise InvalidImage(name, f"{w}x{h} is {w * h / 1e6:.3g} megapixels, over the limit of "
                                 f"{settings.max_pixels / 1e6:.3g} (OCULA_MAX_PIXELS); not decoded")
    frames = getattr(img, "n_frames", 1) or 1  # TIFF: walks every frame's directory
    if frames > settings.max_frames:
        raise InvalidImage(name, f"{frames} frames, over the limit of {settings.max_frames}")
    original_mode = img.mode
    icc = img.info.get("icc_profile")
    try:
        exif = img.getexif()
    except Exception:  # broken EXIF should not cost the pixels
        exif = None
    if frames > 1:
        img.seek(0)  # GIF/TIFF/WebP animations: the first frame
    if max_side and fmt in ("JPEG", "MPO") and max(w, h) > max_side:
        # draft keeps at least the requested size in both axes, so ask for the aspect-true
        # size whose longer side is max_side (orientation swaps both sides alike)
        s = max_side / max(w, h)
        img.draft("RGB", (math.ceil(w * s), math.ceil(h * s)))
    img.load()
    # Formats without a reduced decode (PNG, TIFF, WebP, HEIC ...) are decoded whole (at most
    # max_pixels at 4 bytes a pixel); everything after works on a copy reduced to what the
    # caller needs, so colour conversions and every step's copies stay small. A JPEG's draft
    # is small already (within 4x of the size asked for, unless its aspect ratio or the 1/8
    # limit got in the way): a box filter on top would only make its pixels differ from those
    # of the same picture resized by the steps.
    if fmt not in ("JPEG", "MPO") or (max_side and max(img.size) >= 4 * max_side):
        img = _reduce(img, max_side)
    oriented = _orient(img, exif)
    if icc:
        oriented = _apply_icc(oriented, icc)
    rgb, alpha = _to_rgb(oriented)
    ow, oh = (h, w) if _swaps_axes(exif) else (w, h)  # header size, as displayed
    return LoadedImage(rgb, name, fmt, (ow, oh), original_mode, alpha is not None, alpha, frames,
                       exif or None, icc, path, nbytes)


def _reduce(img: Image.Image, max_side: int | None) -> Image.Image:
    """``img`` shrunk by a whole factor (box filter) while its longer side stays >= ``max_side``.

    Band by band: besides the decoded image only one band (about ``_BAND_PIXELS``) and the small
    result are in memory, whatever the mode needs on the way (RGBA is premultiplied, palettes
    expanded, 16 bits scaled to 8)."""
    factor = max(img.size) // max_side if max_side else 1
    if factor < 2:
        return img
    w, h = img.size
    rows = factor * max(1, _BAND_PIXELS // (w * factor))  # a whole number of output rows per band
    parts = [_reducible(img.crop((0, top, w, min(h, top + rows)))).reduce(factor) for top in range(0, h, rows)]
    out = Image.new(parts[0].mode, (parts[0].width, sum(p.height for p in parts)))
    y = 0
    for part in parts:
        out.paste(part, (0, y))
        y += part.height
    return out


def _reducible(img: Image.Image) -> Image.Image:
    """``img`` in a mode that ``Image.reduce`` averages correctly."""
    if img.mode == "1":
        return img.convert("L")
    if img.mode == "P":  # averaging palette indices would mix unrelated colours
        return img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode == "PA":
        return img.convert("RGBA")
    if img.mode in _SIXTEEN_BIT:  # no reduce() for these; a fixed scale to 8 bits, band by band alike
        return _eight_bit(img)
    return img


def _swaps_axes(exif: Image.Exif | None) -> bool:
    return bool(exif) and exif.get(0x0112) in (5, 6, 7, 8)


def _orient(img: Image.Image, exif: Image.Exif | None) -> Image.Image:
    if not exif or exif.get(0x0112, 1) == 1:
        return img
    return ImageOps.exif_transpose(img) or img


def iter_image_files(paths: list[str | os.PathLike], *, recursive: bool = True,
                     include_hidden: bool = False) -> list[Path]:
    """Expand files and folders into image files (folders: by suffix, sorted, loop-safe).

    Files named explicitly are kept whatever their suffix, so that the loader can say why a
    file is not an image; inside folders only image suffixes are taken.
    """
    out: list[Path] = []
    seen_dirs: set[tuple[int, int]] = set()
    for p in paths:
        path = Path(p).expanduser()
        if not path.is_dir():
            out.append(path)
            continue
        for root, dirs, files in os.walk(path, followlinks=True):
            try:
                st = os.stat(root)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen_dirs:  # symlink loop
                dirs[:] = []
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            dirs[:] = sorted(d for d in dirs if include_hidden or not d.startswith("."))
            if not recursive:
                dirs[:] = []
            for f in sorted(files):
                if not include_hidden and f.startswith("."):
                    continue
                if Path(f).suffix.lower() in IMAGE_SUFFIXES:
                    out.append(Path(root) / f)
    return out
