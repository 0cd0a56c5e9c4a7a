"""Test data made here (nothing downloaded): DNG files written with tifffile (a DNG is a TIFF with
DNG tags: a Bayer mosaic made from a sample photo, with or without an embedded JPEG preview) and
videos encoded with PyAV (libx264 frames made from the sample photos)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

# XYZ -> linear sRGB: the camera of these DNGs "sees" linear sRGB, so LibRaw's colour pipeline
# gives back the photo's own colours
_XYZ_TO_SRGB = [3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570]


def _srational(values: list[float]) -> list[int]:
    out: list[int] = []
    for v in values:
        out += [int(round(v * 10000)), 10000]
    return out


def make_dng(path: Path, picture: Path, size: tuple[int, int] = (640, 426), *, preview: tuple[int, int] | None = None,
             orientation: int = 1, make: str = "ocula", model: str = "test camera",
             datetime: str | None = "2024:05:12 15:20:00") -> Path:
    """A DNG of ``picture`` at ``size`` (12-bit RGGB mosaic, uncompressed), with a small RGB
    thumbnail in IFD0, and, when ``preview`` is given, a baseline JPEG preview of that size in a
    SubIFD (compression 7), as cameras and Adobe's converter write them."""
    import tifffile

    w, h = size
    with Image.open(picture) as im:
        rgb = im.convert("RGB")
    img = np.asarray(rgb.resize((w, h)), np.float32) / 255
    lin = np.where(img <= 0.04045, img / 12.92, ((img + 0.055) / 1.055) ** 2.4)
    cfa = np.empty((h, w), np.uint16)
    cfa[0::2, 0::2] = lin[0::2, 0::2, 0] * 4095
    cfa[0::2, 1::2] = lin[0::2, 1::2, 1] * 4095
    cfa[1::2, 0::2] = lin[1::2, 0::2, 1] * 4095
    cfa[1::2, 1::2] = lin[1::2, 1::2, 2] * 4095
    dng_tags = [(50706, "B", 4, (1, 4, 0, 0), True), (50707, "B", 4, (1, 1, 0, 0), True),
                (50708, "s", 0, f"{make} {model}", True), (50721, "2i", 9, _srational(_XYZ_TO_SRGB), True),
                (50778, "H", 1, 21, True), (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True),
                (271, "s", 0, make, True), (272, "s", 0, model, True), (274, "H", 1, orientation, True)]
    if datetime:
        dng_tags.append((306, "s", 0, datetime, True))
    cfa_tags = [(33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True),
                (50714, "I", 1, 0, True), (50717, "I", 1, 4095, True)]
    thumb = np.asarray(rgb.resize((max(1, w // 8), max(1, h // 8))))
    with tifffile.TiffWriter(path) as tw:
        tw.write(thumb, photometric="rgb", subfiletype=1, subifds=2 if preview else 1, extratags=dng_tags,
                 metadata=None)
        tw.write(cfa, photometric=32803, subfiletype=0, extratags=cfa_tags)
        if preview:  # a placeholder directory whose strip becomes the JPEG below
            tw.write(np.zeros((1, 1, 3), np.uint8), photometric="rgb", subfiletype=1)
    if preview:
        buf = io.BytesIO()
        rgb.resize(preview).save(buf, "JPEG", quality=90)
        jpeg = buf.getvalue()
        with open(path, "ab") as f:
            offset = f.seek(0, 2)
            f.write(jpeg)
        with tifffile.TiffFile(path, mode="r+b") as tf:
            tf.filehandle.seek(tf.pages[0].subifds[1])
            page = tifffile.TiffPage(tf, index=(0, 1))
            for code, value in ((273, offset), (279, len(jpeg)), (259, 7), (262, 6), (256, preview[0]),
                                (257, preview[1]), (278, preview[1])):
                page.tags[code].overwrite(value)
    return path


def make_video(path: Path, pictures: list[Path], *, size: tuple[int, int] = (320, 240), fps: int = 10,
               seconds_each: float = 2.0, gop: int | None = None, rotation: int | None = None,
               metadata: dict[str, str] | None = None, codec: str = "libx264", faststart: bool = False) -> Path:
    """A video showing each picture for ``seconds_each`` (a slow pan, so frames differ), encoded
    here with PyAV. ``gop``: frames between key frames (default: the encoder's, which also puts one
    at each cut); ``rotation``: a display matrix (degrees counterclockwise), as phones write;
    ``faststart``: the index of frames (moov) before the data, as streaming sites want it."""
    import av

    w, h = size
    frames = [np.asarray(Image.open(p).convert("RGB").resize((w + 64, h))) for p in pictures]
    with av.open(str(path), "w", options={"movflags": "faststart"} if faststart else None) as c:
        for k, v in (metadata or {}).items():
            c.metadata[k] = v
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
            s.options = {"preset": "veryfast", "crf": "23", **({"g": str(gop), "keyint_min": str(gop),
                                                                "sc_threshold": "0"} if gop else {})}
        if rotation is not None:
            s.set_display_rotation(rotation)
        n = int(round(seconds_each * fps))
        for arr in frames:
            for i in range(n):
                x = int(64 * i / max(1, n - 1))
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr[:, x:x + w]), format="rgb24")
                for packet in s.encode(frame):
                    c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    return path
