"""What the image-writing tasks share: checking the output before the work, finishing a result
(watermarking, saving it safely, signing it: the one place every task marks its outputs, through
``provenance.marking``) and measuring peak memory. Not a task itself."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from PIL import Image

from ..output import check_output, output_icc, save_image


def precheck_output(output: str | os.PathLike | None, loaded: Any, overwrite: bool, *, action: str = "edited",
                    sign: bool = False, watermark: str | None = None) -> None:
    """Fail before the work, not after it, when the output path cannot be used or the output
    cannot carry the watermark or signature asked for."""
    if output is not None:
        check_output(output, [loaded.path], overwrite=overwrite)
    if sign and output is None:
        from ..errors import InvalidArgument

        raise InvalidArgument("a signature (sign=True) covers a file: give output= as well")
    if sign or watermark is not None:
        from ..provenance import precheck

        precheck(output if output is not None else "output.png", size=None, actions=[action], sign=sign,
                 watermark=watermark)


def software_exif(action: str) -> bytes:
    """An EXIF block holding only Software = "ocula 0.1.0 (upscaled)": what was done, which
    ``ocula sign`` records as the manifest's actions when it is not told. Nothing from the
    input's EXIF (camera, GPS) is carried over."""
    from ..provenance import software_tag

    exif = Image.Exif()
    exif[0x0131] = software_tag([action])
    return exif.tobytes()


def finish(result: Any, pil: Image.Image, loaded: Any, *, output: str | os.PathLike | None,
           overwrite: bool, quality: int | None, action: str, sign: bool = False, watermark: str | None = None,
           settings: Any = None) -> Any:
    """Attach the image to ``result`` (watermarked when ``watermark`` is given: the pixels are
    marked before they are encoded) and write it when ``output`` is given, then sign it."""
    from ..config import get_settings

    settings = settings or get_settings()
    if watermark is not None:
        from ..provenance import precheck
        from ..provenance.marking import embed_in_image

        precheck(output if output is not None else "output.png", size=pil.size, actions=[action],
                 watermark=watermark)
        pil = embed_in_image(pil, watermark, threads=settings.threads)
    result._pil = pil
    result._icc = output_icc(loaded.icc_profile)
    result._exif = software_exif(action)
    if output is not None:
        saved = save_image(pil, output, inputs=[loaded.path], overwrite=overwrite, quality=quality,
                           icc_profile=result._icc, exif=result._exif)
        result.output = str(saved.path)
        result.notes.extend(saved.notes)
        if sign or watermark is not None:
            from ..provenance.marking import seal

            result.provenance = seal(saved.path, actions=[action], sign=sign, watermark=watermark,
                                     settings=settings, ingredient=loaded.path)
    return result


def with_alpha(rgb: Image.Image, alpha: Image.Image | None) -> Image.Image:
    if alpha is None:
        return rgb
    out = rgb.convert("RGBA")
    out.putalpha(alpha.resize(rgb.size, Image.Resampling.LANCZOS) if alpha.size != rgb.size else alpha)
    return out


class PeakMemory:
    """Peak resident memory of this process above its level at the start, in MiB.

    Native runtimes (ncnn, onnxruntime, torch) allocate outside Python's allocator, where
    tracemalloc cannot see, so the resident set size is sampled from a thread every 5 ms;
    ``sample()`` may be called at known high points (after each tile) too.
    """

    INTERVAL = 0.005

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self._stop = threading.Event()
        self.start = self.peak = self._rss()
        self._thread = threading.Thread(target=self._run, name="ocula-peak-memory", daemon=True)

    def _rss(self) -> int:
        return self._proc.memory_info().rss

    def sample(self) -> None:
        self.peak = max(self.peak, self._rss())

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            self.sample()

    def __enter__(self) -> "PeakMemory":
        self._t0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
        self.seconds = time.perf_counter() - self._t0

    @property
    def mib(self) -> float:
        return max(0, self.peak - self.start) / 2**20
