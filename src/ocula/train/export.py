"""ONNX export of backbone + head, and int8 quantization with onnxruntime.

The exported graph takes the classify task's input, (N, 3, 224, 224) float32 scaled
(pixel - 127) / 128, and returns logits (N, K); the batch dimension is dynamic.
The legacy TorchScript exporter is used (``dynamo=False``): it exports this network in a few
seconds with no extra dependency beyond ``onnx``.

int8: static QDQ quantization, weights int8 per channel, activations uint8 calibrated on
training images. Measured on a 2-core AMD EPYC (AVX512-VNNI): 2.2x the fp32 ONNX speed.
Dynamic quantization (``quantize_dynamic``) was slower than fp32 (ConvInteger has no fast
kernel), so it is not used.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependency

OPSET = 17
INPUT, OUTPUT = "image", "logits"


def classifier_module(backbone: Any, W: np.ndarray, b: np.ndarray) -> Any:
    """torch module: pooled, L2-normalised backbone features -> linear head (logits)."""
    import torch

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone
            self.head = torch.nn.Linear(W.shape[1], W.shape[0])
            with torch.no_grad():
                self.head.weight.copy_(torch.from_numpy(W))
                self.head.bias.copy_(torch.from_numpy(b))

        def forward(self, x):
            f = self.backbone.extract_features(x).mean(dim=(2, 3))
            return self.head(torch.nn.functional.normalize(f, dim=1))

    return Classifier().eval()


def export_onnx(module: Any, path: Path, opset: int = OPSET) -> None:
    import torch

    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError:
        raise MissingDependency("onnx", "pip install 'ocula[train]'  (or: pip install onnx)") from None
    x = torch.zeros(2, 3, 224, 224)
    tmp = path.with_suffix(".tmp.onnx")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval().to(memory_format=torch.contiguous_format), (x,), str(tmp),
                          input_names=[INPUT], output_names=[OUTPUT], opset_version=opset,
                          dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}}, dynamo=False)
    os.replace(tmp, path)


def quantize_int8(fp32: Path, out: Path, calibration: np.ndarray) -> None:
    """Static QDQ int8 (per-channel weights) calibrated on ``calibration`` (N, 3, 224, 224)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(calibration[i:i + 8] for i in range(0, len(calibration), 8))

        def get_next(self):
            batch = next(self.it, None)
            return None if batch is None else {INPUT: np.ascontiguousarray(batch, np.float32)}

    pre = out.with_suffix(".pre.onnx")
    tmp = out.with_suffix(".tmp.onnx")
    try:
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(tmp), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        os.replace(tmp, out)
    finally:
        for p in (pre, tmp):
            p.unlink(missing_ok=True)
        # the calibrator leaves its augmented model next to the working directory
        Path("augmented_model.onnx").unlink(missing_ok=True)


def session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    from ..backends import ort_options

    return ort.InferenceSession(str(path), ort_options(threads), providers=["CPUExecutionProvider"])


def run_logits(sess: Any, x: np.ndarray, batch_size: int = 32) -> np.ndarray:
    out = [sess.run([OUTPUT], {INPUT: np.ascontiguousarray(x[s:s + batch_size], np.float32)})[0]
           for s in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
