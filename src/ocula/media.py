"""Camera files that are not plain images: RAW photos (LibRaw, via ``rawpy``) and videos (FFmpeg,
via PyAV ``av``). Both libraries are imported on first use; without them a RAW file or a video is
one line naming the package to install.

RAW. ``load_raw`` returns the same ``LoadedImage`` as any photo:
- fast path: the JPEG preview the camera embedded (most cameras store one the size of the sensor;
  some, like older Sony and Nikon bodies, one of about 1600 px), decoded at the size the caller
  needs (JPEG DCT scaling), when its longer side is at least what the caller asked for (or 90 % of
  the sensor's);
- otherwise, or with ``raw_decode = "demosaic"``: LibRaw demosaics the sensor data with the
  camera's white balance (at half size when that is still large enough: 4x less work).
- EXIF is read from the RAW file itself: its TIFF structure for TIFF-based formats (DNG, NEF,
  CR2, ARW, PEF, SRW, ORF, RW2: Pillow's EXIF reader, headers only), else the preview JPEG's own
  EXIF (RAF), then the fields LibRaw parses for every format it knows fill what is still missing
  (time, ISO, shutter, aperture, focal length, lens, artist); exiftool, when installed, is asked
  only when the camera's make is still unknown (CR3). Orientation comes from LibRaw.

Video. ``sample_video`` picks keyframes: only key frames are decoded (the decoder skips the
others), a key frame is kept when the scene changed since the last kept one or ``video_every``
seconds have passed; where key frames are sparser than that, frames between them are decoded
too. At most ``video_max_frames`` per video, within ``video_timeout`` seconds of decoding: a
corrupt or truncated video is one line (or, when some frames were read, the frames and a
warning), never a hang. A keyframe is a ``LoadedImage`` whose EXIF carries the video's
recording time, camera and GPS position (from the container's metadata), so every step reads
them as it reads a photo's.

A keyframe in the index is keyed ``VIDEO#t=SECONDS`` (``frame_key``; W3C media fragment syntax).
"""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image

from .config import Settings, get_settings
from .errors import InvalidImage, MissingDependency
from .image import RAW_SUFFIXES, LoadedImage

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm"}
RAW_FIX = "pip install 'ocula[media]' (or: pip install rawpy)"
VIDEO_FIX = "pip install 'ocula[media]' (or: pip install av)"

# the head of a RAW file read for its EXIF directories (more only when one lies further on)
_HEAD = 4 * 2**20
# how far a preview may fall short of the sensor and still count as full size (crop margins)
_FULL_PREVIEW = 0.9
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
# TIFF-based RAW formats whose header has a magic of its own (ORF, RW2): same structure after it
_OTHER_MAGIC = {b"IIRO": b"II*\x00", b"IIRS": b"II*\x00", b"MMOR": b"MM\x00*", b"IIU\x00": b"II*\x00"}
_VIDEO_BRANDS = (b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"qt  ", b"M4V ",
                 b"M4VH", b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"dash", b"MSNV", b"XAVC", b"mmp4")


# -- what a file is --------------------------------------------------------------------------

def _suffix(src: Any) -> str | None:
    if isinstance(src, (str, os.PathLike)):
        return Path(src).suffix.lower()
    return None


def sniff_raw(head: bytes) -> bool:
    """Whether the first bytes of a file are a RAW format that has a signature of its own (CR2,
    CR3, RAF, ORF, RW2) or a DNG (its DNGVersion tag in the first directory). NEF, ARW and other
    plain-TIFF RAW files are known by their suffix only."""
    if head[8:11] == b"CR\x02" or head[4:12] == b"ftypcrx " or head.startswith(b"FUJIFILMCCD-RAW"):
        return True
    if head[:4] in _OTHER_MAGIC:
        return True
    return head[:4] in _TIFF_MAGIC and 50706 in _ifd0_tags(head)


def _ifd0_tags(head: bytes) -> set[int]:
    """Tag numbers of a TIFF's first directory, when it lies within ``head``."""
    import struct

    order = "<" if head[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack(order + "I", head[4:8])
        (count,) = struct.unpack(order + "H", head[offset:offset + 2])
        return {struct.unpack(order + "H", head[offset + 2 + 12 * i: offset + 4 + 12 * i])[0]
                for i in range(min(count, 400)) if offset + 14 + 12 * i <= len(head)}
    except struct.error:
        return set()


def is_raw(src: Any, head: bytes = b"") -> bool:
    """A RAW camera file: by its suffix when it has a path, else by its first bytes."""
    suffix = _suffix(src)
    if suffix:
        return suffix in RAW_SUFFIXES
    return sniff_raw(head)


def sniff_video(head: bytes) -> str | None:
    """The container of a video from its first bytes (MP4, MOV, MKV, WEBM), or None."""
    if head[4:8] == b"ftyp" and head[8:12] in _VIDEO_BRANDS:
        return "MOV" if head[8:12] == b"qt  " else "MP4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free") and head[:4] != b"\x00\x00\x00\x00":
        return "MOV"  # QuickTime files from old cameras start with an atom other than ftyp
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska or WebM
        return "WEBM" if b"webm" in head[:64] else "MKV"
    return None


def is_video(src: Any) -> bool:
    """A video: by its suffix when ``src`` is a path, else by its first bytes (bytes, file objects)."""
    suffix = _suffix(src)
    if suffix is not None:
        return suffix in VIDEO_SUFFIXES
    if isinstance(src, (bytes, bytearray, memoryview)):
        return sniff_video(bytes(src[:64])) is not None
    if hasattr(src, "read") and hasattr(src, "seek") and hasattr(src, "tell"):
        try:
            pos = src.tell()
            head = src.read(64)
            src.seek(pos)
        except (OSError, ValueError):
            return False
        return isinstance(head, bytes) and sniff_video(head) is not None
    return False


# -- RAW --------------------------------------------------------------------------------------

def _rawpy() -> Any:
    try:
        import rawpy
    except ImportError:
        raise MissingDependency("rawpy (reads RAW camera files through LibRaw)", RAW_FIX) from None
    return rawpy


def _raw_format(name: str, head: bytes) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in RAW_SUFFIXES:
        return suffix[1:].upper()
    if head[8:11] == b"CR\x02":
        return "CR2"
    if head[4:12] == b"ftypcrx ":
        return "CR3"
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "RAF"
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return "ORF"
    if head[:4] == b"IIU\x00":
        return "RW2"
    return "DNG"


def load_raw(fh: IO[bytes], name: str, path: Path | None, nbytes: int | None, max_side: int | None,
             settings: Settings | None = None) -> LoadedImage:
    """A RAW file as a ``LoadedImage``: its embedded preview when large enough, else demosaiced.
    See the module docstring. Raises InvalidImage (one line) for anything LibRaw cannot read."""
    settings = settings or get_settings()
    rawpy = _rawpy()
    # a file is opened by LibRaw itself, which reads only what it needs (the preview is a few MB of
    # a 25-80 MB file); the head holds the TIFF directories the EXIF is read from
    data = fh.read(_HEAD if path is not None else -1)
    fmt = _raw_format(name, data[:64])
    try:
        raw = rawpy.imread(str(path) if path is not None else io.BytesIO(data))
    except rawpy.LibRawFileUnsupportedError:
        raise InvalidImage(name, f"unsupported RAW file: LibRaw {_libraw_version()} cannot read this {fmt} "
                                 "(a camera newer than the library, or not a RAW file)") from None
    except (rawpy.LibRawError, OSError, ValueError) as e:
        raise InvalidImage(name, f"corrupt or truncated {fmt} file ({_short(e)})") from None
    with raw:
        try:
            return _decode_raw(raw, data, fh, fmt, name, path, nbytes, max_side, settings)
        except (rawpy.LibRawError, OSError, ValueError, SyntaxError) as e:  # the pixel data is damaged
            raise InvalidImage(name, f"corrupt or truncated {fmt} file ({_short(e)})") from None
        except MemoryError:
            raise InvalidImage(name, "not enough memory to decode this RAW file") from None


def _libraw_version() -> str:
    import rawpy

    return ".".join(map(str, rawpy.libraw_version))


def _short(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _decode_raw(raw: Any, data: bytes, fh: IO[bytes], fmt: str, name: str, path: Path | None, nbytes: int | None,
                max_side: int | None, settings: Settings) -> LoadedImage:
    sizes = raw.sizes
    flip = sizes.flip
    w, h = (sizes.height, sizes.width) if flip in (5, 6) else (sizes.width, sizes.height)
    if w <= 0 or h <= 0:
        raise InvalidImage(name, f"{fmt} file has no image data")
    if w * h > settings.max_pixels:
        raise InvalidImage(name, f"{w}x{h} is {w * h / 1e6:.3g} megapixels, over the limit of "
                                 f"{settings.max_pixels / 1e6:.3g} (OCULA_MAX_PIXELS); not decoded")
    mode = settings.raw_decode
    preview, preview_exif = (None, None) if mode == "demosaic" else _preview(raw, max_side)
    used = None
    if preview is not None:
        long_side = max(preview[1])
        if mode == "preview" or long_side >= min(max_side or math.inf, _FULL_PREVIEW * max(w, h)):
            used = f"preview {preview[1][0]}x{preview[1][1]}"
    if used is not None:
        img = _flipped(preview[0], flip)
    else:
        # half size: each 2x2 block of the sensor is one pixel (no interpolation, 4x less work)
        half = max_side is not None and max(w, h) // 2 >= max_side
        rgb = raw.postprocess(use_camera_wb=True, output_bps=8, half_size=half)
        img = Image.fromarray(rgb)
        used = "demosaiced at half size" if half else "demosaiced"
    if max_side and max(img.size) > max_side * 2:
        from .image import _reduce

        img = _reduce(img, max_side)
    exif = raw_exif(data, raw, preview_exif, path, fh=fh, unpacked=used.startswith("demosaiced"))
    return LoadedImage(img.convert("RGB") if img.mode != "RGB" else img, name, fmt, (w, h), "RAW", exif=exif,
                       path=path, byte_size=nbytes, raw=used)


def _preview(raw: Any, max_side: int | None) -> tuple[tuple[Image.Image, tuple[int, int]] | None, Any]:
    """((the embedded preview decoded at about ``max_side``, its full size), its own EXIF) or (None, None)."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawError, ValueError):  # no preview, or one LibRaw cannot hand out
        return None, None
    if thumb.format == rawpy.ThumbFormat.BITMAP:
        img = Image.fromarray(np.ascontiguousarray(thumb.data[..., :3]) if thumb.data.ndim == 3 else thumb.data)
        return (img, img.size), None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(thumb.data))
            size = im.size
            if max_side and max(size) > max_side:
                s = max_side / max(size)
                im.draft("RGB", (math.ceil(size[0] * s), math.ceil(size[1] * s)))
            try:
                exif = im.getexif()
            except Exception:  # a broken EXIF block in the preview costs only its EXIF
                exif = None
            im.load()
            icc = im.info.get("icc_profile")
    except (OSError, ValueError, SyntaxError):  # a damaged preview: demosaic instead
        return None, None
    from .image import _apply_icc, _to_rgb

    rgb, _ = _to_rgb(_apply_icc(im, icc) if icc else im)
    return (rgb, size), exif


_FLIPS = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90, 6: Image.Transpose.ROTATE_270}


def _flipped(img: Image.Image, flip: int) -> Image.Image:
    """The preview turned upright: LibRaw's flip (0, 3, 5, 6) from the RAW's orientation; previews
    are stored as the sensor saw them (their own orientation tag, if any, is not applied too)."""
    return img.transpose(_FLIPS[flip]) if flip in _FLIPS else img


# EXIF tags filled from LibRaw when the file's own EXIF lacks them
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
# IFD0 tags worth keeping: camera, software, people's text, time (Orientation is not: pixels are upright)
_DESCRIPTIVE = {0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298, 0xC614}
_ARTIST, _MAKE = 0x013B, 0x010F
_EXPOSURE, _FNUMBER, _ISO, _DT_ORIGINAL, _FOCAL, _LENS_MAKE, _LENS_MODEL = (0x829A, 0x829D, 0x8827, 0x9003,
                                                                          0x920A, 0xA433, 0xA434)


def raw_exif(data: bytes, raw: Any, preview_exif: Any, path: Path | None = None, *, fh: IO[bytes] | None = None,
             unpacked: bool = False) -> Image.Exif:
    """The RAW file's EXIF (see the module docstring for the order of sources). ``data``: the
    file's first bytes (all of it when ``fh`` is None); ``unpacked``: LibRaw has read the sensor
    data already (asking rawpy for its parsed fields makes it do so: 0.15 s for 24 MP)."""
    exif = _tiff_exif(data, fh)
    if not _has_make(exif) and preview_exif:
        exif = preview_exif
    if exif is None:
        exif = Image.Exif()
    if not _has_make(exif) and path is not None:
        _from_exiftool(exif, path)
    if unpacked or not (_has_make(exif) and _has_time(exif)):
        _fill_from_libraw(exif, raw)
    return _compact(exif)


def _compact(exif: Image.Exif) -> Image.Exif:
    """The descriptive tags only: a RAW file's EXIF object holds the whole file and its structure
    (strip offsets, colour matrices, maker notes), which the LoadedImage must not keep alive."""
    out = Image.Exif()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for tag, value in dict(exif).items():
            if tag in _DESCRIPTIVE:
                out[tag] = value
        for ifd in (_EXIF_IFD, _GPS_IFD):
            try:
                values = exif.get_ifd(ifd)
            except Exception:  # a broken pointer: that directory is lost, not the others
                continue
            set_ifd(out, ifd, {k: v for k, v in values.items()
                               if not (isinstance(v, bytes) and len(v) > 256) and k != 0x927C})
    return out


def set_ifd(exif: Image.Exif, tag: int, values: dict[int, Any]) -> None:
    """Add ``values`` to the EXIF or GPS directory of an EXIF object made here (no file behind it):
    the directory is held as a dict, and its pointer in IFD0 too, so ``bool(exif)``, ``get_ifd``
    and ``tobytes`` all see it."""
    ifd = exif.get_ifd(tag)
    ifd.update(values)
    if ifd:
        exif[tag] = ifd


def _has_time(exif: Image.Exif) -> bool:
    try:
        return bool(exif.get_ifd(_EXIF_IFD).get(_DT_ORIGINAL))  # what the capture time is read from
    except Exception:
        return False


def _has_make(exif: Any) -> bool:
    try:
        return bool(exif) and bool(exif.get(_MAKE))
    except Exception:
        return False


def _tiff_exif(data: bytes, fh: IO[bytes] | None = None) -> Image.Exif | None:
    """IFD0 and its EXIF and GPS directories of a TIFF-based RAW (Pillow; no pixel is read).
    ``data``: the head of the file; the whole file is read from ``fh`` only when a directory
    lies beyond it."""
    magic = data[:4]
    if magic not in _TIFF_MAGIC and magic not in _OTHER_MAGIC:
        return None
    exif = _exif_of(data)
    if exif is not None and fh is not None and len(data) == _HEAD:
        far = [exif.get(tag) for tag in (_EXIF_IFD, _GPS_IFD)]
        if any(isinstance(off, int) and off + 2 > len(data) for off in far):
            fh.seek(0)
            exif = _exif_of(fh.read())
    return exif


def _exif_of(data: bytes) -> Image.Exif | None:
    if data[:4] in _OTHER_MAGIC:  # the offsets are the same; only the signature differs
        data = _OTHER_MAGIC[data[:4]] + data[4:]
    exif = Image.Exif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exif.load(data)
            dict(exif)
    except Exception:  # an unreadable directory: the other sources still count
        return None
    return exif if len(exif) else None


def _fill_from_libraw(exif: Image.Exif, raw: Any) -> None:
    try:
        other, lens = raw.other, raw.lens
    except Exception:  # an older rawpy without these fields
        return
    sub = dict(exif.get_ifd(_EXIF_IFD))
    new: dict[int, Any] = {}
    if not sub.get(_DT_ORIGINAL) and other.timestamp.timestamp() > 0:
        new[_DT_ORIGINAL] = other.timestamp.strftime("%Y:%m:%d %H:%M:%S")
    for tag, value in ((_ISO, other.iso_speed), (_EXPOSURE, other.shutter_speed), (_FNUMBER, other.aperture),
                       (_FOCAL, other.focal_length), (_LENS_MODEL, lens.model), (_LENS_MAKE, lens.make)):
        if value and tag not in sub:
            new[tag] = int(value) if tag == _ISO else value
    if new:
        set_ifd(exif, _EXIF_IFD, new)
    if other.artist and not exif.get(_ARTIST):
        exif[_ARTIST] = other.artist


# exiftool names -> (directory, tag) for the fields the metadata step reads
_EXIFTOOL_TAGS = {"Make": (0, 0x010F), "Model": (0, 0x0110), "Software": (0, 0x0131), "Artist": (0, 0x013B),
                  "Copyright": (0, 0x8298), "ImageDescription": (0, 0x010E),
                  "DateTimeOriginal": (_EXIF_IFD, _DT_ORIGINAL), "OffsetTimeOriginal": (_EXIF_IFD, 0x9011),
                  "ISO": (_EXIF_IFD, _ISO), "ExposureTime": (_EXIF_IFD, _EXPOSURE), "FNumber": (_EXIF_IFD, _FNUMBER),
                  "FocalLength": (_EXIF_IFD, _FOCAL), "LensModel": (_EXIF_IFD, _LENS_MODEL),
                  "LensMake": (_EXIF_IFD, _LENS_MAKE)}


def _from_exiftool(exif: Image.Exif, path: Path, timeout: float = 20.0) -> bool:
    """Fields read by exiftool (when installed) for RAW formats that are not TIFF inside (CR3)."""
    import json

    tool = shutil.which("exiftool")
    if tool is None:
        return False
    names = [*_EXIFTOOL_TAGS, "GPSLatitude", "GPSLongitude", "GPSAltitude"]
    try:
        r = subprocess.run([tool, "-j", "-n", "-fast", *(f"-{n}" for n in names), str(path)],
                           capture_output=True, text=True, timeout=timeout)
        found = json.loads(r.stdout or "[]")[0] if r.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return False
    sub: dict[int, Any] = {}
    for key, (ifd, tag) in _EXIFTOOL_TAGS.items():
        if key in found and str(found[key]).strip():
            value = found[key]
            if key == "DateTimeOriginal":
                value = str(value)
            (sub if ifd else exif)[tag] = value
    set_ifd(exif, _EXIF_IFD, sub)
    lat, lon = found.get("GPSLatitude"), found.get("GPSLongitude")
    if isinstance(lat, (int, float)) and isinstance(lon, (int, float)):
        set_ifd(exif, _GPS_IFD, gps_ifd(lat, lon, found.get("GPSAltitude")))
    return bool(found)


def gps_ifd(lat: float, lon: float, alt: float | None = None) -> dict[int, Any]:
    """A GPS directory as EXIF writes it (references and unsigned degrees)."""
    from PIL.TiffImagePlugin import IFDRational

    out: dict[int, Any] = {1: "S" if lat < 0 else "N", 2: _dms(abs(lat)), 3: "W" if lon < 0 else "E",
                           4: _dms(abs(lon))}
    if isinstance(alt, (int, float)):
        out[5], out[6] = (1 if alt < 0 else 0), IFDRational(round(abs(alt) * 100), 100)
    return out


def _dms(value: float) -> tuple:
    from PIL.TiffImagePlugin import IFDRational

    d = int(value)
    m = int((value - d) * 60)
    s = (value - d - m / 60) * 3600
    return IFDRational(d, 1), IFDRational(m, 1), IFDRational(round(s * 10000), 10000)


# -- video --------------------------------------------------------------------------------------

def _av() -> Any:
    try:
        import av
    except ImportError:
        raise MissingDependency("PyAV (reads videos through FFmpeg)", VIDEO_FIX) from None
    av.logging.set_level(av.logging.PANIC)  # a damaged file is our one line, not FFmpeg's stderr
    return av


SCENE_CHANGE = 0.12   # mean absolute difference (0..1) of 16x9 colour thumbnails that is a new scene
MIN_SCENE_GAP = 1.0   # seconds: a flash or a fast pan does not make a keyframe per frame


@dataclass
class Frame:
    at: float                    # seconds from the start
    scene: bool                  # kept because the scene changed (else: first, or time passed)
    image: LoadedImage


@dataclass
class Sampled:
    """What ``sample_video`` read: the container's facts and the keyframes chosen."""

    format: str                  # MP4, MOV, MKV, WEBM
    width: int                   # as displayed (rotation applied)
    height: int
    duration: float | None
    fps: float | None
    codec: str | None
    frame_count: int | None
    rotation: int
    metadata: dict[str, str]
    frames: list[Frame] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0         # decoding time


def frame_key(video: str, at: float) -> str:
    """How a keyframe is named in the index and in results: ``/videos/clip.mp4#t=83.400``."""
    return f"{video}#t={at:.3f}"


_KEY = re.compile(r"^(.*)#t=(\d+(?:\.\d+)?)$", re.S)


def split_frame_key(key: str) -> tuple[str, float] | None:
    """(video path, seconds) of a ``frame_key``, or None when ``key`` is not one."""
    m = _KEY.match(key)
    return (m.group(1), float(m.group(2))) if m else None


def frame_of(path: str) -> tuple[str, float] | None:
    """(video, seconds) when a stored path is a keyframe of a video (no file of that name, a video
    before ``#t=``), else None: the path is a file."""
    key = split_frame_key(path)
    return key if key is not None and not os.path.exists(path) and is_video(key[0]) else None


def clock(seconds: float) -> str:
    """01:23, or 1:02:03 past an hour."""
    s = max(0, int(seconds))
    h, m, s = s // 3600, s // 60 % 60, s % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _open_video(src: Any, name: str, settings: Settings) -> tuple[Any, Any]:
    """(container, the file object to close or None)."""
    from .image import _open_bytes

    av = _av()
    fh, path, _ = _open_bytes(src, name, settings)  # existence, emptiness and byte limits, as for images
    target: Any = fh
    if path is not None:
        fh.close()
        fh, target = None, str(path)
    try:
        # bounded probing: a file that is not a video is answered after a few MB, not a full read
        container = av.open(target, "r", options={"probesize": "10000000", "analyzeduration": "10000000"})
    except av.error.FFmpegError as e:
        if fh is not None:
            fh.close()
        raise InvalidImage(name, _video_problem(e, name)) from None
    if not container.streams.video:
        container.close()
        if fh is not None:
            fh.close()
        raise InvalidImage(name, "has no video stream")
    return container, fh


def _video_problem(e: BaseException, name: str) -> str:
    msg = _short(e)
    low = msg.lower()
    kind = (Path(name).suffix[1:].upper() or "video")
    if "moov atom not found" in low:
        return f"truncated or unfinished {kind}: the index of its frames (moov) is missing"
    if "invalid data" in low or "end of file" in low:
        return f"not a readable video ({msg}); the file may be truncated or not a video"
    return f"corrupt {kind} data ({msg})"


def _decoded(container: Any, stream: Any, name: str, warnings: list[str]) -> Any:
    """Frames of ``stream``, packet by packet: a damaged packet costs its frames and one warning,
    not the frames decoded before it (a truncated file's last packet is one)."""
    av = _av()
    bad = 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError as e:
                bad += 1
                if bad == 1:
                    warnings.append(f"damaged data skipped: {_video_problem(e, name)}")
                if bad > 100:  # nothing but damage: stop here
                    return
                continue
            yield from frames
    except av.error.FFmpegError as e:  # the container itself cannot be read further
        warnings.append(f"the video could not be read to its end: {_video_problem(e, name)}")


def _seconds(frame: Any, stream: Any, index: int, fps: float | None) -> float:
    if frame.time is not None:
        return max(0.0, float(frame.time) - float(stream.start_time * stream.time_base if stream.start_time else 0))
    return index / fps if fps else float(index)


def _metadata(container: Any, stream: Any) -> dict[str, str]:
    meta = {str(k).lower(): str(v) for k, v in (container.metadata or {}).items()}
    meta.update({str(k).lower(): str(v) for k, v in (stream.metadata or {}).items() if str(k).lower() not in meta})
    return meta


def sample_video(src: Any, *, max_side: int | None = None, settings: Settings | None = None,
                 name: str | None = None) -> Sampled:
    """The keyframes of a video (see the module docstring), each at most ``max_side`` on its longer
    side. Raises InvalidImage (one line) when nothing can be read."""
    settings = settings or get_settings()
    name = name or (str(src) if isinstance(src, (str, os.PathLike)) else f"<{type(src).__name__}>")
    t0 = time.monotonic()
    deadline = t0 + settings.video_timeout
    container, fh = _open_video(src, name, settings)
    try:
        out = _scan(container, name, max_side, settings, deadline)
        if out.frames and time.monotonic() < deadline:
            _fill_gaps(container, out, name, max_side, settings, deadline)
    finally:
        container.close()
        if fh is not None:
            fh.close()
    if not out.frames:
        problem = out.warnings[0] if out.warnings else "no frame could be decoded"
        raise InvalidImage(name, problem)
    out.frames.sort(key=lambda f: f.at)
    exif = _video_exif(out.metadata)
    for f in out.frames:
        f.image.exif = exif
        _again_from(src, f.at, settings, f.image)
    out.seconds = round(time.monotonic() - t0, 3)
    return out


def _every(settings: Settings, duration: float | None) -> float:
    """Seconds between periodic keyframes: the setting, stretched so a long video stays within budget."""
    every = settings.video_every
    if duration:
        every = max(every, duration / max(1, settings.video_max_frames))
    return every


def _scan(container: Any, name: str, max_side: int | None, settings: Settings, deadline: float) -> Sampled:
    stream = container.streams.video[0]
    cc = stream.codec_context
    fps = float(stream.average_rate) if stream.average_rate else None
    duration = (float(stream.duration * stream.time_base) if stream.duration else
                (container.duration / 1e6 if container.duration else None))
    fmt = (container.format.name or "").split(",")[0].upper()
    fmt = {"MATROSKA": "MKV", "MOV": Path(name).suffix[1:].upper() or "MP4"}.get(fmt, fmt) or "video"
    if fmt == "MKV" and Path(name).suffix.lower() == ".webm":
        fmt = "WEBM"
    out = Sampled(format=fmt, width=cc.width, height=cc.height, duration=round(duration, 3) if duration else None,
                  fps=round(fps, 3) if fps else None, codec=cc.name, frame_count=stream.frames or None, rotation=0,
                  metadata=_metadata(container, stream))
    stream.thread_type = "SLICE"  # frame threads lose the frames they hold when a later packet is damaged
    cc.skip_frame = "NONKEY"   # decode key frames only: a minute of 1080p costs a few frames' work
    every = _every(settings, duration)
    budget = settings.video_max_frames
    last_sig: np.ndarray | None = None
    last_at = -math.inf
    for i, frame in enumerate(_decoded(container, stream, name, out.warnings)):
        if time.monotonic() > deadline:
            out.warnings.append(f"decoding stopped after {settings.video_timeout:g} s (OCULA_VIDEO_TIMEOUT); "
                                f"keyframes up to {clock(last_at if last_at > 0 else 0)} only")
            break
        at = _seconds(frame, stream, i, fps)
        sig = frame.to_ndarray(width=16, height=9, format="rgb24").astype(np.float32) / 255.0
        if last_sig is None:
            keep, scene = True, False
        else:
            gap = at - last_at
            changed = float(np.abs(sig - last_sig).mean()) >= SCENE_CHANGE
            # a scene change may spend the budget only while the periodic frames still to come fit
            room = budget - len(out.frames) - 1 - (max(0.0, (duration or at) - at) / every)
            scene = changed and gap >= MIN_SCENE_GAP and room >= 0
            keep = scene or gap >= every - 1e-6
        if not keep:
            continue
        out.rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
        out.frames.append(Frame(at=round(at, 3), scene=scene, image=_frame_image(frame, name, at, fmt,
                                                                                 max_side, out.rotation)))
        last_sig, last_at = sig, at
        if len(out.frames) >= budget:
            break
    if out.rotation in (90, 270):
        out.width, out.height = out.height, out.width
    return out


def _fill_gaps(container: Any, out: Sampled, name: str, max_side: int | None, settings: Settings,
               deadline: float) -> None:
    """Frames between key frames that are further apart than ``video_every`` (one key frame per
    10 s, or only one at the start): seek to the key frame before each missing time and decode on."""
    av = _av()
    duration = out.duration or (out.frames[-1].at if out.frames else 0.0)
    every = _every(settings, duration)
    kept = sorted(f.at for f in out.frames)
    targets: list[float] = []
    for a, b in zip(kept, kept[1:] + [duration + every]):
        t = a + every
        while t < b - every / 2 and t < duration - 0.5:
            targets.append(round(t, 3))
            t += every
    targets = targets[: max(0, settings.video_max_frames - len(out.frames))]
    if not targets:
        return
    stream = container.streams.video[0]
    stream.codec_context.skip_frame = "DEFAULT"
    fps = out.fps
    for target in targets:
        if time.monotonic() > deadline:
            out.warnings.append(f"decoding stopped after {settings.video_timeout:g} s (OCULA_VIDEO_TIMEOUT)")
            return
        start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        try:
            container.seek(int((target + start) / stream.time_base), stream=stream, backward=True)
        except av.error.FFmpegError as e:  # an index too damaged to seek in: the key frames must do
            out.warnings.append(f"could not seek in the video: {_video_problem(e, name)}")
            return
        for i, frame in enumerate(_decoded(container, stream, name, out.warnings)):
            at = _seconds(frame, stream, i, fps)
            if at + (0.5 / fps if fps else 0.02) >= target or time.monotonic() > deadline:
                if all(abs(f.at - at) > 0.25 for f in out.frames):
                    out.frames.append(Frame(at=round(at, 3), scene=False,
                                            image=_frame_image(frame, name, at, out.format, max_side,
                                                               out.rotation)))
                break


def _again_from(src: Any, at: float, settings: Settings, image: LoadedImage) -> LoadedImage:
    """A keyframe decoded reduced learns to decode itself again larger (``LoadedImage.detail``:
    OCR reading small text, faces cut at full detail), when its video is a file."""
    if isinstance(src, (str, os.PathLike)) and max(image.size) < max(image.original_size):
        image._again = lambda side: video_frame(src, at, max_side=side, settings=settings)
    return image


def _frame_image(frame: Any, name: str, at: float, fmt: str, max_side: int | None, rotation: int) -> LoadedImage:
    w, h = frame.width, frame.height
    scale = min(1.0, max_side / max(w, h)) if max_side else 1.0
    size = (max(2, round(w * scale)), max(2, round(h * scale)))
    img = frame.to_image(width=size[0], height=size[1]) if scale < 1 else frame.to_image()
    if rotation in (90, 180, 270):
        img = img.rotate(rotation, expand=True)  # the display matrix turns the picture counterclockwise
    ow, oh = (h, w) if rotation in (90, 270) else (w, h)
    return LoadedImage(img.convert("RGB"), frame_key(name, at), f"{fmt} frame", (ow, oh), "RGB")


_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?")
_ZONED = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?$")


def _video_exif(meta: dict[str, str]) -> Image.Exif:
    """The container's recording facts as the EXIF a photo would carry: camera, time (with its
    offset: a QuickTime creation date carries the local one, ``creation_time`` is UTC), GPS."""
    exif = Image.Exif()
    make = meta.get("com.apple.quicktime.make") or meta.get("make") or meta.get("com.android.manufacturer")
    model = meta.get("com.apple.quicktime.model") or meta.get("model") or meta.get("com.android.model")
    if make:
        exif[_MAKE] = make
    if model:
        exif[0x0110] = model
    sub: dict[int, Any] = {}
    for key in ("com.apple.quicktime.creationdate", "creation_time", "date"):
        m = _ZONED.match(meta.get(key, "").strip())
        if m:
            y, mo, d, hh, mi, ss, zone = m.groups()
            sub[_DT_ORIGINAL] = f"{y}:{mo}:{d} {hh}:{mi}:{ss}"
            if zone:
                z = "+00:00" if zone == "Z" else (zone if ":" in zone else f"{zone[:3]}:{zone[3:]}")
                sub[0x9011] = z
            break
    set_ifd(exif, _EXIF_IFD, sub)
    where = meta.get("com.apple.quicktime.location.iso6709") or meta.get("location") or meta.get("location-eng")
    m = _ISO6709.match((where or "").strip())
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0.0, 0.0):
            set_ifd(exif, _GPS_IFD, gps_ifd(lat, lon, float(m.group(3)) if m.group(3) else None))
    return exif


def video_frame(src: Any, at: float, *, max_side: int | None = None, settings: Settings | None = None,
                name: str | None = None) -> LoadedImage:
    """The frame shown at ``at`` seconds (thumbnails of search hits, re-embedding a keyframe)."""
    settings = settings or get_settings()
    name = name or str(src)
    av = _av()
    container, fh = _open_video(src, name, settings)
    deadline = time.monotonic() + settings.video_timeout
    try:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"  # frame threads lose the frames they hold when a later packet is damaged
        fps = float(stream.average_rate) if stream.average_rate else None
        start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        container.seek(int((at + start) / stream.time_base), stream=stream, backward=True)
        rotation, chosen, problems = 0, None, []
        for i, frame in enumerate(_decoded(container, stream, name, problems)):
            chosen = frame
            rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
            if _seconds(frame, stream, i, fps) + (0.5 / fps if fps else 0.02) >= at or time.monotonic() > deadline:
                break
        if chosen is None:
            raise InvalidImage(name, problems[0] if problems else f"no frame at {clock(at)}")
        return _again_from(src, at, settings, _frame_image(chosen, name, at, "video", max_side, rotation))
    except av.error.FFmpegError as e:
        raise InvalidImage(name, _video_problem(e, name)) from None
    finally:
        container.close()
        if fh is not None:
            fh.close()


def load_media(path: str, *, max_side: int | None = None, settings: Settings | None = None) -> LoadedImage:
    """A stored path as pixels: an image file (``load_image``), or a keyframe key (``frame_key``)
    whose video is decoded at that time."""
    from .image import load_image

    key = frame_of(path)
    if key is not None:
        return video_frame(key[0], key[1], max_side=max_side, settings=settings)
    return load_image(path, max_side=max_side, settings=settings)
