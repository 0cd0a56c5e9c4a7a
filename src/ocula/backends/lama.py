"""LaMa large-mask inpainting (Suvorov et al. 2022), the ONNX export ``Carve/LaMa-ONNX``.

The graph has a fixed 512 x 512 input: ``image`` 1x3x512x512 RGB floats in 0..1 and
``mask`` 1x1x512x512 (1 = fill); it returns 1x3x512x512 RGB in 0..255. The input names are
read from the session rather than assumed, by their channel count. A region around the
mask (with context on every side) is resized to 512, filled, resized back, and only the
masked pixels are replaced, so the rest of the image keeps its exact pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import MissingDependency, ModelUnavailable
from . import cached_model, ort_options

CATALOG_NAME = "lama"
FILE = "lama_fp32.onnx"
SIZE = 512
CONTEXT = 1.0  # context around the mask's bounding box, as a share of its larger side


@dataclass
class LaMa:
    session: Any
    image_input: str
    mask_input: str
    output: str

    def fill(self, rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 and HxW bool (True = fill) -> HxWx3 uint8 with the masked pixels filled."""
        import cv2

        h, w = mask.shape
        ys, xs = np.nonzero(mask)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        side = max(y1 - y0, x1 - x0)
        side = int(min(max(side * (1 + 2 * CONTEXT), 256), max(h, w)))
        cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
        top = int(np.clip(cy - side // 2, 0, max(0, h - side)))
        left = int(np.clip(cx - side // 2, 0, max(0, w - side)))
        bottom, right = min(h, top + side), min(w, left + side)
        crop = rgb[top:bottom, left:right]
        cmask = mask[top:bottom, left:right]
        ch, cw = cmask.shape

        interp = cv2.INTER_AREA if max(ch, cw) > SIZE else cv2.INTER_CUBIC
        x = cv2.resize(crop, (SIZE, SIZE), interpolation=interp).astype(np.float32) / 255.0
        m = cv2.resize(cmask.astype(np.uint8), (SIZE, SIZE), interpolation=cv2.INTER_NEAREST)
        m = cv2.dilate(m, np.ones((3, 3), np.uint8))  # resizing can shave a masked edge off
        feed = {self.image_input: x.transpose(2, 0, 1)[None],
                self.mask_input: m.astype(np.float32)[None, None]}
        y = self.session.run([self.output], feed)[0][0].transpose(1, 2, 0)
        y = cv2.resize(np.clip(y, 0, 255).astype(np.float32), (cw, ch), interpolation=cv2.INTER_CUBIC)

        out = rgb.copy()
        region = out[top:bottom, left:right]
        region[cmask] = np.clip(y[cmask] + 0.5, 0, 255).astype(np.uint8)
        return out


def model_path(settings: Settings) -> Path:
    """lama_fp32.onnx in the local Hugging Face cache, or ModelUnavailable naming the pull command."""
    from ..models import require

    folder = require(CATALOG_NAME, "inpaint", settings)
    path = folder / FILE
    if not path.is_file():
        raise ModelUnavailable(CATALOG_NAME, f"{path} is missing", f"`ocula models pull {CATALOG_NAME}`")
    return path


def load(settings: Settings, path: Path | None = None) -> LaMa:
    """The LaMa session (once per process). ``path``: an ONNX file to use instead of the hub copy."""
    path = path or model_path(settings)
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingDependency("onnxruntime", "run `pip install onnxruntime`") from None

    def factory() -> LaMa:
        try:
            sess = ort.InferenceSession(str(path), sess_options=ort_options(settings.threads), providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for bad files
            raise ModelUnavailable(CATALOG_NAME, f"onnxruntime could not load {path} ({e})",
                                   f"`ocula models pull {CATALOG_NAME}` to fetch a fresh copy") from None
        inputs = sess.get_inputs()
        by_channels = {(i.shape[1] if len(i.shape) == 4 else None): i.name for i in inputs}
        if len(inputs) != 2 or 3 not in by_channels or 1 not in by_channels:
            raise ModelUnavailable(CATALOG_NAME, f"{path.name} does not look like LaMa: inputs "
                                   f"{[(i.name, i.shape) for i in inputs]}", None)
        return LaMa(sess, by_channels[3], by_channels[1], sess.get_outputs()[0].name)

    return cached_model(("lama", str(path), settings.threads), factory)
