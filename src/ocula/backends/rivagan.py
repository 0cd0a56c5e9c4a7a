"""RivaGAN (Zhang et al. 2019): a neural invisible watermark of 32 bits, as the encoder and
decoder ONNX models that ship inside the ``invisible-watermark`` package. The scheme around
them (resizing, residuals, payload coding) is ``ocula.provenance.watermark``; this module only
loads and runs the networks, on onnxruntime.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependency
from . import cached_model, ort_options

def _session(which: str, threads: int) -> Any:
    def load() -> Any:
        spec = importlib.util.find_spec("imwatermark")
        if spec is None or not spec.submodule_search_locations:
            raise MissingDependency("invisible-watermark (rivaGan models)", "pip install invisible-watermark")
        path = Path(list(spec.submodule_search_locations)[0]) / f"rivagan_{which}.onnx"
        if not path.is_file():
            raise MissingDependency(f"the rivaGan {which} model ({path.name})",
                                    "reinstall it: pip install --force-reinstall invisible-watermark")
        import onnxruntime as ort

        return ort.InferenceSession(str(path), ort_options(threads), providers=["CPUExecutionProvider"])

    return cached_model(("rivagan", which, threads), load)


def _frame(rgb_small: np.ndarray) -> np.ndarray:
    bgr = rgb_small[..., ::-1].astype(np.float32) / 127.5 - 1.0  # the models were trained on BGR
    return np.ascontiguousarray(bgr.transpose(2, 0, 1)[None, :, None])  # N, C, T=1, H, W


def encode(rgb_small: np.ndarray, bits: np.ndarray, threads: int) -> np.ndarray:
    """The (square) RGB frame carrying ``bits``, as float RGB 0..255."""
    out = _session("encoder", threads).run(None, {"frame": _frame(rgb_small), "data": bits.astype(np.float32)[None]})[0]
    return (np.clip(out[0, :, 0], -1, 1).transpose(1, 2, 0)[..., ::-1] + 1.0) * 127.5


def decode(rgb_small: np.ndarray, threads: int) -> np.ndarray:
    """The decoder's logits for the 32 bits of a (square) RGB frame."""
    return _session("decoder", threads).run(None, {"frame": _frame(rgb_small)})[0][0]
