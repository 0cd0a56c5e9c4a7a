"""Privacy: remove metadata (EXIF with GPS, XMP, IPTC, comments, thumbnails, C2PA manifests)
while keeping what the picture needs to look right: its colour profile and orientation.

Wherever it can, this edits the file's container, not its pixels:

- JPEG: segments are copied byte for byte except APP1 (EXIF, XMP), APP13 (IPTC /
  Photoshop), APP11 (JUMBF: C2PA), the other application segments that carry camera or
  editor data (APP3-APP12, APP15), APP2 segments other than the ICC profile (MPF), JFIF
  extension thumbnails, comments, and anything after the end-of-image marker (the extra
  frames of MPO files, phone vendors' trailers). The compressed image data is untouched.
  APP0 JFIF, APP2 ICC_PROFILE and APP14 Adobe (which says how to read the colour channels)
  are kept.
- PNG: only the chunks that describe the pixels are kept (IHDR, PLTE, IDAT, IEND,
  transparency, colour space and profile, physical size, animation); text chunks (where XMP
  and other profiles live), eXIf, tIME, caBX (C2PA) and private chunks go.
- WebP: only image, alpha, animation and ICCP chunks are kept; EXIF and XMP go, and the
  VP8X flags are updated to match.

EXIF is also where the orientation lives. When it is not 1, dropping it would turn the
picture on its side, so the rotation is applied to the pixels first: losslessly through
``jpegtran -perfect`` when that program is installed and the image's size allows, else by
decoding and re-encoding (JPEG with the original quantisation tables and chroma
subsampling, which keeps quality and size close to the original; WebP lossless when the
original was; PNG is lossless anyway). The result says which happened.

Other formats (TIFF, GIF, BMP, HEIC, AVIF) are decoded and written again without metadata.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

from ..config import Settings, get_settings
from ..errors import InvalidArgument, InvalidImage
from ..image import ImageInput, LoadedImage, load_image
from ..output import image_format, write_atomic
from ..results import ImageInfo, StripResult
from ._edit import PeakMemory

MAX_SIDE: int | None = 64  # only the header is needed; a small draft decode validates the file
ORIENTATION = 0x0112
_ROTATE = {2: ["-flip", "horizontal"], 3: ["-rotate", "180"], 4: ["-flip", "vertical"], 5: ["-transpose"],
           6: ["-rotate", "90"], 7: ["-transverse"], 8: ["-rotate", "270"]}


@dataclass
class _Report:
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    orientation: int | None = None

    def add(self, what: str) -> None:
        if what not in self.removed:
            self.removed.append(what)


# --- describing what is removed -------------------------------------------------------

def _describe_exif(payload: bytes, report: _Report) -> None:
    """Summarise an EXIF block (TIFF structure) in words, and note its orientation."""
    exif = Image.Exif()
    try:
        exif.load(payload)
    except Exception:  # a broken EXIF block is still removed, just not itemised
        report.add(f"EXIF ({len(payload)} bytes, unreadable)")
        return
    n = len(exif)
    details = []
    for tag, name in ((0x010F, "make"), (0x0110, "model"), (0x0131, "software"), (0x013B, "artist"),
                      (0x8298, "copyright")):
        if exif.get(tag):
            details.append(name)
    sub = {}
    try:
        sub = exif.get_ifd(0x8769)
    except Exception:
        pass
    n += len(sub)
    if 0x9003 in sub or 0x0132 in exif:
        details.append("date taken")
    if 0xA431 in sub or 0xA435 in sub:
        details.append("serial numbers")
    report.add(f"EXIF: {n} tags" + (f" ({', '.join(details)})" if details else ""))
    try:
        gps = exif.get_ifd(0x8825)
    except Exception:
        gps = {}
    if gps:
        report.add(f"GPS position ({len(gps)} GPS tags)")
    o = exif.get(ORIENTATION)
    if isinstance(o, int) and o != 1 and 1 <= o <= 8:
        report.orientation = o


# where photo managers keep who is in a photo (regions.py reads and writes them)
_PEOPLE_XMP = (b"metadataworkinggroup.com/schemas/regions", b"ns.microsoft.com/photo/1.2/t/Region",
               b"PersonInImage")


def _describe_xmp(packet: bytes, label: str, report: _Report) -> None:
    report.add(label)
    if any(mark in packet for mark in _PEOPLE_XMP):
        report.add("face regions and names of the people pictured (XMP)")


def _icc_name(icc: bytes) -> str:
    try:
        from PIL import ImageCms

        desc = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
        return f"ICC colour profile ({desc}, {len(icc)} bytes)"
    except Exception:
        return f"ICC colour profile ({len(icc)} bytes)"


# --- JPEG -----------------------------------------------------------------------------

def _jpeg_segments(data: bytes, name: str) -> tuple[list[tuple[int, int, int]], int]:
    """(marker, start, end) of every segment up to and including EOI, and the EOI end offset.
    Entropy-coded data after SOS belongs to the SOS segment."""
    if data[:2] != b"\xff\xd8":
        raise InvalidImage(name, "not a JPEG file (no start-of-image marker)")
    segs = [(0xD8, 0, 2)]
    pos, n = 2, len(data)
    while pos < n:
        if data[pos] != 0xFF:
            raise InvalidImage(name, f"corrupt JPEG structure at byte {pos}")
        while pos + 1 < n and data[pos + 1] == 0xFF:  # fill bytes
            pos += 1
        if pos + 1 >= n:
            break
        marker = data[pos + 1]
        if marker == 0xD9:
            segs.append((marker, pos, pos + 2))
            return segs, pos + 2
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            segs.append((marker, pos, pos + 2))
            pos += 2
            continue
        if pos + 4 > n:
            break
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        end = pos + 2 + length
        if length < 2 or end > n:
            raise InvalidImage(name, f"corrupt JPEG segment 0x{marker:02X} at byte {pos}")
        if marker == 0xDA:  # scan: run to the next marker that is not a stuffed byte or restart
            i = end
            while True:
                i = data.find(b"\xff", i)
                if i < 0 or i + 1 >= n:
                    raise InvalidImage(name, "truncated JPEG: the image data has no end marker")
                nxt = data[i + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
                    i += 1 if nxt == 0xFF else 2
                    continue
                break
            end = i
        segs.append((marker, pos, end))
        pos = end
    raise InvalidImage(name, "truncated JPEG: no end-of-image marker")


def _jfif_without_thumbnail(seg: bytes) -> bytes:
    # APP0 JFIF: FFE0 len 'JFIF\0' ver(2) units(1) xd(2) yd(2) tw(1) th(1) thumbnail
    if len(seg) >= 18 and (seg[16] or seg[17]):
        body = seg[4:16] + b"\x00\x00"
        return b"\xff\xe0" + struct.pack(">H", len(body) + 2) + body
    return seg


def _strip_jpeg(data: bytes, name: str, report: _Report) -> bytes:
    segs, eoi_end = _jpeg_segments(data, name)
    out = bytearray()
    icc_chunks: list[bytes] = []
    for marker, start, end in segs:
        seg = data[start:end]
        payload = seg[4:] if end - start >= 4 and marker not in (0xD8, 0xD9, 0x01) and not 0xD0 <= marker <= 0xD7 else b""
        if marker == 0xE0:
            if payload.startswith(b"JFIF\x00"):
                new = _jfif_without_thumbnail(seg)
                if new != seg:
                    report.add("JFIF thumbnail")
                out += new
            else:
                report.add("JFIF extension (thumbnail)" if payload.startswith(b"JFXX\x00")
                           else f"APP0 {payload[:4].decode('latin-1', 'replace').strip()} segment")
            continue
        if marker == 0xE1:
            if payload.startswith(b"Exif\x00\x00"):
                _describe_exif(payload[6:], report)
            elif payload.startswith(b"http://ns.adobe.com/xap/1.0/\x00"):
                _describe_xmp(payload, f"XMP packet ({len(payload)} bytes)", report)
            elif payload.startswith(b"http://ns.adobe.com/xmp/extension/\x00"):
                _describe_xmp(payload, "extended XMP", report)
            else:
                report.add("APP1 segment")
            continue
        if marker == 0xE2:
            if payload.startswith(b"ICC_PROFILE\x00"):
                icc_chunks.append(payload[14:])
                out += seg
            elif payload.startswith(b"MPF\x00"):
                report.add("multi-picture index (MPF)")
            else:
                report.add("APP2 segment (FlashPix or vendor data)")
            continue
        if marker == 0xED:
            report.add(f"IPTC / Photoshop data ({len(payload)} bytes)")
            continue
        if marker == 0xEB:
            report.add("JUMBF (C2PA content credentials)" if b"jumb" in payload[:64] or b"c2pa" in payload[:128]
                       else "APP11 segment")
            continue
        if marker == 0xEE:
            if payload.startswith(b"Adobe"):
                report.kept.append("Adobe colour-transform marker")
                out += seg
            else:
                report.add("APP14 segment")
            continue
        if 0xE3 <= marker <= 0xEF:
            label = payload[:12].split(b"\x00")[0].decode("latin-1", "replace").strip() or f"APP{marker - 0xE0}"
            report.add(f"APP{marker - 0xE0} {label} data")
            continue
        if marker == 0xFE:
            report.add(f"JPEG comment ({len(payload)} bytes)")
            continue
        out += seg
    if icc_chunks:
        report.kept.insert(0, _icc_name(b"".join(icc_chunks)))
    trailing = len(data) - eoi_end
    if trailing > 0:
        report.add(f"{trailing} bytes after the end of the image (extra frames or vendor trailer)")
    return bytes(out)


def _jpegtran() -> str | None:
    return shutil.which("jpegtran")


def _jpeg_lossless_rotate(data: bytes, orientation: int) -> bytes | None:
    """The image turned upright by jpegtran -perfect, or None when that cannot be lossless."""
    exe = _jpegtran()
    if exe is None:
        return None
    with tempfile.TemporaryDirectory(prefix="ocula-strip-") as tmp:
        src, dst = Path(tmp) / "in.jpg", Path(tmp) / "out.jpg"
        src.write_bytes(data)
        cmd = [exe, "-copy", "icc", "-perfect", *_ROTATE[orientation], "-outfile", str(dst), str(src)]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            return None
        if done.returncode != 0 or not dst.is_file():
            return None  # -perfect refuses when partial MCU blocks at the edges would be lost
        return dst.read_bytes()


def _reencode_upright(data: bytes, fmt: str, report: _Report) -> bytes:
    """Decode, apply the EXIF orientation, encode again without metadata (keeping the profile)."""
    from PIL import JpegImagePlugin

    src = Image.open(io.BytesIO(data))
    src.load()
    icc = src.info.get("icc_profile")
    params: dict = {}
    if icc:
        params["icc_profile"] = icc
    upright = ImageOps.exif_transpose(src) or src
    if fmt == "JPEG":
        params["qtables"] = src.quantization
        sampling = JpegImagePlugin.get_sampling(src)
        if sampling >= 0:
            params["subsampling"] = sampling
        params["optimize"] = True
        why = ("its size is not a whole number of JPEG blocks, so jpegtran could not turn it losslessly"
               if _jpegtran() else "install jpegtran (libjpeg-turbo-progs) for a lossless rotation")
        report.notes.append("the JPEG was decoded and re-encoded to turn it upright (lossy, with its original "
                            f"quantisation tables): {why}")
    elif fmt == "WEBP":
        lossless = _webp_lossless(data)
        params.update(lossless=True) if lossless else params.update(quality=95)
        if not lossless:
            report.notes.append("the WebP was re-encoded at quality 95 to turn it upright (lossy)")
    buf = io.BytesIO()
    upright.save(buf, format=fmt, **params)
    return buf.getvalue()


# --- PNG ------------------------------------------------------------------------------

_PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB",
             b"cICP", b"mDCv", b"cLLi", b"bKGD", b"hIST", b"pHYs", b"sPLT", b"acTL", b"fcTL", b"fdAT"}


def _strip_png(data: bytes, name: str, report: _Report) -> bytes:
    sig = b"\x89PNG\r\n\x1a\n"
    if not data.startswith(sig):
        raise InvalidImage(name, "not a PNG file")
    out = bytearray(sig)
    pos = 8
    while pos + 12 <= len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        ctype = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise InvalidImage(name, f"truncated PNG chunk {ctype!r}")
        body = data[pos + 8:pos + 8 + length]
        if ctype in _PNG_KEEP:
            out += data[pos:end]
            if ctype == b"iCCP":
                try:
                    icc = zlib.decompress(body[body.index(b"\x00") + 2:])
                    report.kept.append(_icc_name(icc))
                except (ValueError, zlib.error):
                    report.kept.append("ICC colour profile")
        elif ctype == b"eXIf":
            _describe_exif(body, report)
        elif ctype in (b"tEXt", b"zTXt", b"iTXt"):
            key = body.split(b"\x00", 1)[0].decode("latin-1", "replace")
            if key == "XML:com.adobe.xmp":
                _describe_xmp(body, f"XMP packet ({length} bytes)", report)
            elif key.lower().startswith("raw profile type"):
                report.add(f"{key[17:].upper() or 'raw'} profile in a text chunk")
            else:
                report.add(f"text '{key}'")
        elif ctype == b"tIME":
            report.add("modification time")
        elif ctype == b"caBX":
            report.add("C2PA content credentials")
        else:
            report.add(f"{ctype.decode('latin-1', 'replace')} chunk")
        pos = end
        if ctype == b"IEND":
            break
    if pos < len(data):
        report.add(f"{len(data) - pos} bytes after the end of the image")
    return bytes(out)


# --- WebP -----------------------------------------------------------------------------

_WEBP_KEEP = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}


def _webp_lossless(data: bytes) -> bool:
    """Whether the (first) image in a WebP file is VP8L, i.e. losslessly coded."""
    pos = 12
    while pos + 8 <= len(data):
        fourcc = data[pos:pos + 4]
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if fourcc in (b"VP8 ", b"VP8L"):
            return fourcc == b"VP8L"
        if fourcc == b"ANMF":  # frame header is 16 bytes, then the frame's own chunks
            pos += 8 + 16
            continue
        pos += 8 + size + (size & 1)
    return False


def _strip_webp(data: bytes, name: str, report: _Report) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise InvalidImage(name, "not a WebP file")
    chunks: list[bytes] = []
    pos, end_all = 12, min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    while pos + 8 <= end_all:
        fourcc = data[pos:pos + 4]
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        end = pos + 8 + size + (size & 1)
        if pos + 8 + size > len(data):
            raise InvalidImage(name, f"truncated WebP chunk {fourcc!r}")
        body = data[pos + 8:pos + 8 + size]
        if fourcc in _WEBP_KEEP:
            chunks.append(data[pos:min(end, len(data))])
            if fourcc == b"ICCP":
                report.kept.append(_icc_name(body))
        elif fourcc == b"EXIF":
            payload = body[6:] if body.startswith(b"Exif\x00\x00") else body
            _describe_exif(payload, report)
        elif fourcc == b"XMP ":
            _describe_xmp(body, f"XMP packet ({size} bytes)", report)
        else:
            report.add(f"{fourcc.decode('latin-1', 'replace').strip()} chunk")
        pos = end
    if len(data) > end_all:
        report.add(f"{len(data) - end_all} bytes after the end of the image")
    out = bytearray()
    for c in chunks:
        if c[:4] == b"VP8X":
            c = bytearray(c)
            c[8] &= ~(0x08 | 0x04) & 0xFF  # EXIF and XMP flags
            c = bytes(c)
        out += c
    return b"RIFF" + struct.pack("<I", 4 + len(out)) + b"WEBP" + bytes(out)


# --- other formats --------------------------------------------------------------------

_INFO_KEEP = ("transparency", "duration", "loop", "background", "disposal", "dpi")


def _clean(frame: Image.Image) -> Image.Image:
    """A copy that carries no metadata Pillow could write back (XMP, comments, EXIF, tags)."""
    img = frame.copy()
    img.info = {k: v for k, v in frame.info.items() if k in _INFO_KEEP}
    return img


def _reencode_other(data: bytes, fmt: str, report: _Report, name: str) -> bytes:
    from PIL import ImageSequence

    src = Image.open(io.BytesIO(data))
    exif = src.getexif()
    if exif:
        _describe_exif(exif.tobytes(), report)
    labels = {"xmp": "XMP packet", "XML:com.adobe.xmp": "XMP packet", "photoshop": "Photoshop / IPTC data",
              "iptc": "IPTC data", "comment": "comment"}
    for key, label in labels.items():
        if src.info.get(key):
            report.add(label)
    tags = getattr(src, "tag_v2", None)
    if tags is not None:
        for tag, label in ((700, "XMP packet"), (33723, "IPTC data"), (34377, "Photoshop / IPTC data"),
                           (270, "image description"), (305, "software"), (315, "artist"), (306, "date")):
            if tag in tags:
                report.add(label)
    icc = src.info.get("icc_profile")
    params: dict = {"icc_profile": icc} if icc else {}
    if fmt == "TIFF":
        params["compression"] = "tiff_adobe_deflate"
    elif fmt in ("HEIF", "AVIF"):
        params["quality"] = 90
        report.notes.append(f"{fmt} was re-encoded at quality 90 (lossy)")
    if icc:
        report.kept.append(_icc_name(icc))
    frames = getattr(src, "n_frames", 1)
    buf = io.BytesIO()
    if frames > 1 and fmt in ("GIF", "TIFF"):
        seq = [_clean(f) for f in ImageSequence.Iterator(src)]
        seq[0].save(buf, format=fmt, save_all=True, append_images=seq[1:], **params)
    else:
        upright = ImageOps.exif_transpose(src) or src
        _clean(upright).save(buf, format=fmt, **params)
    return buf.getvalue()


# --- the task -------------------------------------------------------------------------

def _adopt(report: _Report, orientation: object) -> None:
    if report.orientation is None and isinstance(orientation, int) and 2 <= orientation <= 8:
        report.orientation = orientation


def _read_bytes(image: ImageInput, loaded: LoadedImage, settings: Settings) -> bytes:
    if isinstance(image, LoadedImage):
        if loaded.path is None:
            raise InvalidArgument("strip works on files: pass the path or the bytes of the image")
        image = loaded.path
    if isinstance(image, (str, os.PathLike)):
        with open(Path(image).expanduser(), "rb") as fh:
            return fh.read(settings.max_bytes + 1)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    if hasattr(image, "read"):
        if hasattr(image, "seek"):
            image.seek(0)
        return image.read(settings.max_bytes + 1)
    raise InvalidArgument("strip works on files: pass the path or the bytes of the image, not a decoded "
                          f"{type(image).__name__} (which has no metadata left to strip)")


def strip(image: ImageInput, *, output: str | os.PathLike, overwrite: bool = False, sign: bool = False,
          watermark: str | None = None, settings: Settings | None = None) -> StripResult:
    """Write a copy of ``image`` to ``output`` without EXIF/GPS/XMP/IPTC/comments, upright,
    with its colour profile. The output keeps the input's format. ``watermark``/``sign``: mark
    the written copy (its pixels are then written again, with the same JPEG tables)."""
    settings = settings or get_settings()
    if isinstance(image, (Image.Image,)) or type(image).__name__ == "ndarray":
        raise InvalidArgument("strip works on files: pass the path or the bytes of the image, not decoded pixels")
    loaded = load_image(image, max_side=MAX_SIDE, settings=settings)
    data = _read_bytes(image, loaded, settings)
    fmt = loaded.format or ""
    fmt = "JPEG" if fmt == "MPO" else fmt
    out_fmt = image_format(output)
    if out_fmt != fmt:
        suffix = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "GIF": ".gif", "BMP": ".bmp",
                  "HEIF": ".heic", "AVIF": ".avif"}.get(fmt, "")
        raise InvalidArgument(f"strip keeps the format: the input is {fmt}, so name the output with a "
                              f"{suffix or 'matching'} suffix (not {Path(output).suffix or 'none'})")
    if sign or watermark is not None:
        from ..provenance import precheck

        precheck(output, size=loaded.original_size, actions=["metadata-stripped"], sign=sign, watermark=watermark)
    report = _Report()
    # the loader's reading of the orientation (EXIF, or XMP tiff:Orientation where EXIF has none)
    # is what every viewer of ocula's outputs would see: bake exactly that in
    loaded_orientation = loaded.exif.get(ORIENTATION) if loaded.exif else None
    reencoded = False
    quality = None
    with PeakMemory() as mem:
        if fmt == "JPEG":
            stripped = _strip_jpeg(data, loaded.source, report)
            _adopt(report, loaded_orientation)
            if report.orientation:
                rotated = _jpeg_lossless_rotate(stripped, report.orientation)
                if rotated is not None:
                    stripped = _strip_jpeg(rotated, loaded.source, _Report())
                    report.notes.append("turned upright losslessly with jpegtran")
                else:
                    stripped = _strip_jpeg(_reencode_upright(data, "JPEG", report), loaded.source, _Report())
                    reencoded, quality = True, "original quantisation tables and chroma subsampling"
        elif fmt == "PNG":
            stripped = _strip_png(data, loaded.source, report)
            _adopt(report, loaded_orientation)
            if report.orientation:
                stripped = _strip_png(_reencode_upright(data, "PNG", report), loaded.source, _Report())
                reencoded = True
                report.notes.append("the PNG was decoded and written again to turn it upright (lossless)")
        elif fmt == "WEBP":
            stripped = _strip_webp(data, loaded.source, report)
            _adopt(report, loaded_orientation)
            if report.orientation:
                stripped = _strip_webp(_reencode_upright(data, "WEBP", report), loaded.source, _Report())
                reencoded = True
        else:
            stripped = _reencode_other(data, fmt, report, loaded.source)
            reencoded = True
        path = write_atomic(output, lambda fh: fh.write(stripped), inputs=[loaded.path], overwrite=overwrite)
    if reencoded and fmt not in ("JPEG", "PNG", "WEBP"):
        report.notes.append(f"{fmt} files are rewritten without metadata rather than edited in place")
    width, height = loaded.original_size  # as displayed: orientation applied
    result = StripResult(image=ImageInfo.of(loaded), output=str(path), width=width, height=height,
                         seconds=round(mem.seconds, 3), removed=report.removed, kept=report.kept,
                         orientation_applied=report.orientation, reencoded=reencoded, quality=quality,
                         bytes_before=len(data), bytes_after=len(stripped), notes=report.notes)
    if sign or watermark is not None:
        from ..provenance.marking import mark_output

        result.provenance = mark_output(path, actions=["metadata-stripped"], sign=sign, watermark=watermark,
                                        ingredient=loaded.path, settings=settings)
    return result
