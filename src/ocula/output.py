"""Writing files safely: every file ocula writes goes through here.

- The file appears whole or not at all: it is written to a temporary file in the target
  folder, synced, and then linked (no overwrite) or renamed (overwrite) into place.
  ``write_atomic`` writes a user's output (an image: never over an input, nor over an existing
  file unless asked); ``replacing`` / ``replace_file`` write ocula's own files (sidecars,
  reports, manifests, vector files, checkpoints), replacing the previous version in one step.
- An input file is never overwritten, even with ``overwrite=True`` (compared by resolved
  path and by inode, so hard links and ``./a.jpg`` vs ``a.jpg`` are caught).
- An existing output is kept unless ``overwrite=True``.
- The format follows the output's suffix; JPEG cannot hold transparency, so RGBA is
  flattened on white there (and the caller is told).
- Colour: ocula converts images with a non-sRGB profile to sRGB when it loads them, so the
  written pixels are sRGB and say so; an sRGB profile that came in goes out unchanged.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

from PIL import Image

from .errors import DiskFull, InvalidArgument, OculaError, is_disk_full

# suffix -> Pillow format name for the formats ocula writes
WRITE_FORMATS: dict[str, str] = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".webp": "WEBP",
    ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP", ".gif": "GIF", ".avif": "AVIF", ".heic": "HEIF",
    ".heif": "HEIF",
}
# default output suffix when the input's own format is a poor container for a new image
_DEFAULT_SUFFIX = {".gif": ".png", ".bmp": ".png", ".dib": ".png", ".mpo": ".jpg"}
JPEG_QUALITY = 95
PNG_FAST_PIXELS = 4_000_000  # above this a PNG is written at zlib level 3 (a 12 MP one 3x faster)


class OutputExists(OculaError):
    """The output file exists and overwriting was not asked for."""


@dataclass
class Saved:
    path: Path
    format: str
    notes: list[str] = field(default_factory=list)


def image_format(path: str | os.PathLike) -> str:
    """Pillow format for an output path, by suffix; an unknown suffix lists the valid ones."""
    suffix = Path(path).suffix.lower()
    fmt = WRITE_FORMATS.get(suffix)
    if fmt is None:
        valid = ", ".join(sorted({s for s in WRITE_FORMATS if s not in (".jpe", ".jfif", ".heif", ".tiff", ".jpeg")}))
        raise InvalidArgument(f"cannot tell the image format of output {str(path)!r} from its suffix "
                              f"{suffix or '(none)'}; use one of {valid}")
    return fmt


def default_output(source: str | os.PathLike, tag: str, suffix: str | None = None,
                   folder: str | os.PathLike | None = None) -> Path:
    """A path next to ``source`` (or in ``folder``) that does not exist yet:
    photo.jpg -> photo.<tag>.jpg, then photo.<tag>-2.jpg, ..."""
    src = Path(source)
    if suffix is None:
        suffix = _DEFAULT_SUFFIX.get(src.suffix.lower(), src.suffix or ".png")
    base = Path(folder) if folder is not None else src.parent
    stem = f"{src.stem}.{tag}" if tag else src.stem
    candidate = base / f"{stem}{suffix}"
    n = 2
    while candidate.exists() or candidate.is_symlink():
        candidate = base / f"{stem}-{n}{suffix}"
        n += 1
    return candidate


def plan_outputs(inputs: list[Path], out: str | os.PathLike | None, tag: str, *, batch: bool,
                 keep_suffix: bool = False, overwrite: bool = False, suffix: str | None = None) -> dict[Path, Path]:
    """Output path for each input: ``out`` is a file for one input, a folder for several
    (created when missing), or next to each input when not given. Checked before any work.
    ``keep_suffix``: default names keep the input's suffix even for GIF/BMP (for byte-level edits);
    ``suffix``: the suffix of every name ocula makes (e.g. ".png" for cut-outs), whatever the input's."""
    plan: dict[Path, Path] = {}

    def suffix_of(p: Path) -> str:
        if suffix is not None:
            return suffix
        if keep_suffix and p.suffix:
            return p.suffix
        return _DEFAULT_SUFFIX.get(p.suffix.lower(), p.suffix or ".png")

    if out is None:
        for p in inputs:
            plan[p] = default_output(p, tag, suffix_of(p))
    elif batch or Path(out).expanduser().is_dir():  # an existing folder works for one input too
        folder = Path(out).expanduser()
        if folder.exists() and not folder.is_dir():
            raise InvalidArgument(f"with several inputs -o must be a folder; {folder} is a file")
        folder.mkdir(parents=True, exist_ok=True)
        taken: set[Path] = set()
        for p in inputs:
            target = folder / f"{p.stem}{suffix_of(p)}"
            if target in taken or _same_file(target, p) or (target.exists() and not overwrite):
                target = default_output(p, tag, suffix_of(p), folder)
                while target in taken:
                    target = target.with_name(f"{target.stem}-x{target.suffix}")
            taken.add(target)
            plan[p] = target
    else:
        if len(inputs) != 1:
            raise InvalidArgument("several inputs need -o to be a folder")
        plan[inputs[0]] = Path(out).expanduser()
    for src, dst in plan.items():
        check_output(dst, [src], overwrite=overwrite)
    return plan


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output(path: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (), *,
                 overwrite: bool = False, image: bool = True) -> Path:
    """Validate an output path before doing the work: format known (``image``), not an input,
    not existing."""
    p = Path(path).expanduser()
    if image:
        image_format(p)
    for src in inputs:
        if src is not None and _same_file(p, Path(src)):
            raise InvalidArgument(f"output {p} is the input file; ocula never overwrites its inputs — "
                                  "choose another -o path")
    if p.is_dir():
        raise InvalidArgument(f"output {p} is a folder; give a file name such as {p / 'out.png'}")
    if (p.exists() or p.is_symlink()) and not overwrite:
        raise OutputExists(f"{p} already exists; choose another -o path or pass --overwrite")
    return p


@contextmanager
def _naming_a_full_disk(path: Path) -> Iterator[None]:
    """A full disk (or quota) met while writing ``path`` becomes one DiskFull line naming the file
    and its disk; the temporary file is removed by the caller, what was at ``path`` is kept."""
    try:
        yield
    except OSError as e:
        if is_disk_full(e):
            raise DiskFull(str(path)) from None
        raise


def _temp_beside(path: Path, suffix: str = ".tmp") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    return Path(tmp)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def replacing(path: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; when the block ends without an error the
    file is synced and moved onto ``path`` in one step (readers see the old file or the new one,
    never half of one). An existing file keeps its permissions. ``suffix``: for writers that
    go by the file name (.onnx, .npz)."""
    path = Path(path)
    with _naming_a_full_disk(path):
        tmp = _temp_beside(path, suffix)
    try:
        with _naming_a_full_disk(path):
            yield tmp
            _fsync(tmp)
        if path.exists():
            shutil.copymode(path, tmp)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def replace_file(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write one of ocula's own files (a sidecar, a report) atomically, replacing what was there."""
    with replacing(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def write_atomic(path: str | os.PathLike, write: Callable[[IO[bytes]], None], *,
                 inputs: Iterable[str | os.PathLike | None] = (), overwrite: bool = False,
                 image: bool = True) -> Path:
    """Write an output through ``write(fh)`` into a temp file, then move it into place: never
    onto an input, and onto an existing file only with ``overwrite``. ``image=False`` for a
    user's outputs that are not images (a listing's JSON and CSV): no check of the suffix."""
    inputs = list(inputs)
    p = check_output(path, inputs, overwrite=overwrite, image=image)
    with _naming_a_full_disk(p):
        tmp = _temp_beside(p)
    try:
        with _naming_a_full_disk(p), open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        if overwrite:
            check_output(p, inputs, overwrite=True, image=image)
            os.replace(tmp, p)
        else:
            try:
                os.link(tmp, p)  # fails if p appeared meanwhile: never clobbers
            except FileExistsError:
                raise OutputExists(f"{p} already exists; choose another -o path or pass --overwrite") from None
            except OSError:  # filesystems without hard links
                check_output(p, inputs, overwrite=False, image=image)
                os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
    return p


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def output_icc(icc_profile: bytes | None) -> bytes | None:
    """The profile to embed for pixels that came through ``load_image``.

    load_image converts non-sRGB profiles to sRGB, so such images go out tagged sRGB; an
    sRGB profile (or one Pillow cannot parse, which load_image left alone) is kept as is.
    """
    if not icc_profile:
        return None
    try:
        from PIL import ImageCms

        from .image import icc_profile as parse

        if parse(icc_profile)[1]:
            return icc_profile
        return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    except Exception:
        return icc_profile


def save_image(img: Image.Image, path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike | None] = (),
               overwrite: bool = False, quality: int | None = None, icc_profile: bytes | None = None,
               exif: bytes | None = None) -> Saved:
    """Encode ``img`` by the suffix of ``path`` and write it safely (see the module docstring)."""
    fmt = image_format(path)
    notes: list[str] = []
    if quality is not None and not 1 <= quality <= 100:
        raise InvalidArgument(f"quality must be 1..100, not {quality}")
    if fmt == "HEIF" or fmt == "AVIF":
        _ensure_codec(fmt)
    if fmt in ("JPEG", "BMP") and img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        if rgba.getchannel("A").getextrema() != (255, 255):
            notes.append(f"{fmt} has no transparency: the image was flattened on white")
        flat = Image.new("RGB", img.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    params: dict = {}
    if icc_profile:
        params["icc_profile"] = icc_profile
    if exif:
        params["exif"] = exif
    if fmt == "JPEG":
        q = quality or JPEG_QUALITY
        # 4:4:4 keeps the colour detail an upscale or restore just produced
        params.update(quality=q, subsampling=0 if q >= 90 else 2, optimize=True)
    elif fmt in ("WEBP", "AVIF", "HEIF"):
        params.update(quality=quality or 90)
        if fmt == "WEBP":
            params["method"] = 4
    elif fmt == "TIFF":
        params["compression"] = "tiff_adobe_deflate"
    elif fmt == "PNG":
        # zlib level 6 took 8.8 s for a 12 MP RGBA cut-out, level 3 2.7 s for 12 % more bytes
        params["compress_level"] = 3 if img.width * img.height > PNG_FAST_PIXELS else 6

    def write(fh: IO[bytes]) -> None:
        img.save(fh, format=fmt, **params)

    p = write_atomic(path, write, inputs=inputs, overwrite=overwrite)
    return Saved(p, fmt, notes)


def _ensure_codec(fmt: str) -> None:
    if fmt == "HEIF":
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
        except ImportError:
            raise InvalidArgument("writing HEIC needs pillow-heif: `pip install pillow-heif`") from None
    elif fmt == "AVIF":
        from PIL import features

        if not features.check("avif"):
            raise InvalidArgument("this Pillow cannot write AVIF; use .png or .webp, or upgrade Pillow (>= 11.3)")
