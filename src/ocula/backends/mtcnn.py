"""MTCNN face detector (Zhang et al. 2016): boxes, scores and 5 landmarks.

The weights are the P-/R-/O-Net state dicts that ship inside the ``facenet-pytorch`` wheel.
That package cannot be imported here (its ``__init__`` pulls in torchvision, which does not
load beside the CPU torch), so the three networks are redefined below with the same layer
names, the state dicts are read straight from the package folder, and the cascade follows
``facenet_pytorch/models/utils/detect_face.py`` with a numpy NMS in place of torchvision's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..digest import sha256_file
from ..errors import ModelUnavailable

PACKAGE = "facenet-pytorch"
PACKAGE_VERSION = "2.6.0"
INSTALL = f"pip install --no-deps {PACKAGE}=={PACKAGE_VERSION}"
MISSING = f"{PACKAGE} (which carries the MTCNN weights) is not installed"
# facenet-pytorch 2.6.0, data/<name>.pt
WEIGHTS: dict[str, str] = {
    "pnet": "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
    "rnet": "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
    "onet": "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
}
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
THRESHOLDS = (0.6, 0.7, 0.7)
FACTOR = 0.709
_BATCH = 512  # R-/O-Net crops per forward pass, bounds memory on busy images


def weights_dir() -> Path | None:
    """The folder holding pnet.pt/rnet.pt/onet.pt, or None when facenet-pytorch is absent.

    find_spec locates a top-level package without executing its ``__init__``.
    """
    from ..models.resolve import package_dir

    root = package_dir("facenet_pytorch")
    if root is None:
        return None
    data = root / "data"
    return data if all((data / f"{name}.pt").is_file() for name in WEIGHTS) else None


def is_available() -> bool:
    return weights_dir() is not None


@lru_cache(maxsize=1)
def _net_classes() -> tuple[type, type, type]:
    """P-, R- and O-Net, named layer for layer as in facenet_pytorch/models/mtcnn.py."""
    import torch
    from torch import nn

    class PNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
            self.prelu1 = nn.PReLU(10)
            self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
            self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
            self.prelu2 = nn.PReLU(16)
            self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
            self.prelu3 = nn.PReLU(32)
            self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)
            self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)

        def forward(self, x):
            x = self.prelu1(self.conv1(x))
            x = self.pool1(x)
            x = self.prelu2(self.conv2(x))
            x = self.prelu3(self.conv3(x))
            return self.conv4_2(x), torch.softmax(self.conv4_1(x), dim=1)

    class RNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
            self.prelu1 = nn.PReLU(28)
            self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
            self.prelu2 = nn.PReLU(48)
            self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
            self.prelu3 = nn.PReLU(64)
            self.dense4 = nn.Linear(576, 128)
            self.prelu4 = nn.PReLU(128)
            self.dense5_1 = nn.Linear(128, 2)
            self.dense5_2 = nn.Linear(128, 4)

        def forward(self, x):
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.pool2(self.prelu2(self.conv2(x)))
            x = self.prelu3(self.conv3(x))
            # the weights were converted from Caffe, which flattens W-major
            x = x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)
            x = self.prelu4(self.dense4(x))
            return self.dense5_2(x), torch.softmax(self.dense5_1(x), dim=1)

    class ONet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
            self.prelu1 = nn.PReLU(32)
            self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
            self.prelu2 = nn.PReLU(64)
            self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
            self.prelu3 = nn.PReLU(64)
            self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
            self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
            self.prelu4 = nn.PReLU(128)
            self.dense5 = nn.Linear(1152, 256)
            self.prelu5 = nn.PReLU(256)
            self.dense6_1 = nn.Linear(256, 2)
            self.dense6_2 = nn.Linear(256, 4)
            self.dense6_3 = nn.Linear(256, 10)

        def forward(self, x):
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.pool2(self.prelu2(self.conv2(x)))
            x = self.pool3(self.prelu3(self.conv3(x)))
            x = self.prelu4(self.conv4(x))
            x = x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)
            x = self.prelu5(self.dense5(x))
            return self.dense6_2(x), self.dense6_3(x), torch.softmax(self.dense6_1(x), dim=1)

    return PNet, RNet, ONet


def load_nets(device: str = "cpu", *, verify: bool = True) -> tuple[Any, Any, Any]:
    """Build P-, R-, O-Net and load the packaged weights strictly (every key must match)."""
    import torch

    folder = weights_dir()
    if folder is None:
        raise ModelUnavailable("mtcnn", f"{PACKAGE} (which carries the MTCNN weights) is not installed",
                               INSTALL)
    nets = []
    for cls, name in zip(_net_classes(), WEIGHTS):
        path = folder / f"{name}.pt"
        if verify and sha256_file(path) != WEIGHTS[name]:
            raise ModelUnavailable("mtcnn", f"{path} does not match the {PACKAGE} {PACKAGE_VERSION} weights",
                                   f"pip install --force-reinstall --no-deps {PACKAGE}=={PACKAGE_VERSION}")
        net = cls()
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state, strict=True)
        except (RuntimeError, OSError, ValueError) as e:
            raise ModelUnavailable("mtcnn", f"{path} could not be loaded ({e})",
                                   f"pip install --force-reinstall --no-deps {PACKAGE}=={PACKAGE_VERSION}") from None
        # channels-last runs these narrow convolutions ~1.5-4x faster on CPU
        nets.append(net.to(device, memory_format=torch.channels_last).eval().requires_grad_(False))
    return tuple(nets)


# --- the P-Net -> R-Net -> O-Net cascade ---------------------------------------------

def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, method: str = "union",
        plus_one: bool = False) -> np.ndarray:
    """Greedy non-maximum suppression; indices kept, best score first.

    ``union`` is IoU (torchvision's rule, with ``plus_one=False``); ``min`` divides the overlap
    by the smaller box, which MTCNN's last stage uses to drop a box nested in a face.
    """
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    x1, y1, x2, y2 = (boxes[:, i].astype(np.float64) for i in range(4))
    one = 1.0 if plus_one else 0.0
    area = np.maximum(x2 - x1 + one, 0) * np.maximum(y2 - y1 + one, 0)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + one)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + one)
        inter = w * h
        if method == "min":
            overlap = inter / np.maximum(np.minimum(area[i], area[rest]), 1e-12)
        else:
            overlap = inter / np.maximum(area[i] + area[rest] - inter, 1e-12)
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.int64)


def _rerec(b: np.ndarray) -> np.ndarray:
    """Make boxes square around their centre (side = the longer side)."""
    w = b[:, 2] - b[:, 0]
    h = b[:, 3] - b[:, 1]
    side = np.maximum(w, h)
    b[:, 0] = b[:, 0] + w * 0.5 - side * 0.5
    b[:, 1] = b[:, 1] + h * 0.5 - side * 0.5
    b[:, 2] = b[:, 0] + side
    b[:, 3] = b[:, 1] + side
    return b


def _bbreg(b: np.ndarray, reg: np.ndarray) -> np.ndarray:
    w = b[:, 2] - b[:, 0] + 1
    h = b[:, 3] - b[:, 1] + 1
    b[:, 0] += reg[:, 0] * w
    b[:, 1] += reg[:, 1] * h
    b[:, 2] += reg[:, 2] * w
    b[:, 3] += reg[:, 3] * h
    return b


def _integral(rgb: np.ndarray) -> np.ndarray:
    """Summed-area table with a zero first row/column: any box sum in four look-ups."""
    h, w = rgb.shape[:2]
    dtype = np.int32 if 255 * h * w < 2**31 else np.int64  # exact either way; int32 is faster
    table = np.zeros((h + 1, w + 1, 3), dtype)
    np.cumsum(rgb, axis=0, dtype=dtype, out=table[1:, 1:])
    np.cumsum(table[1:, 1:], axis=1, out=table[1:, 1:])
    return table


def _bins(start: np.ndarray, length: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges of adaptive average pooling (torch's ``mode="area"``): floor/ceil of i*len/size."""
    i = np.arange(size)
    lo = start[:, None] + (i * length[:, None]) // size
    hi = start[:, None] + ((i + 1) * length[:, None] + size - 1) // size
    return lo, hi


def _area_resize(table: np.ndarray, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray,
                 out_h: int, out_w: int) -> np.ndarray:
    """Regions [y0:y1, x0:x1] of the image resized to out_h x out_w by area averaging, as
    (N, out_h, out_w, 3) float32 scaled to [-1, 1]. Same numbers as torch's interpolate(area),
    but in one vectorised gather instead of one small (and badly threaded) call per crop."""
    ylo, yhi = _bins(y0, y1 - y0, out_h)
    xlo, xhi = _bins(x0, x1 - x0, out_w)
    r0, r1 = ylo[:, :, None], yhi[:, :, None]
    c0, c1 = xlo[:, None, :], xhi[:, None, :]
    sums = (table[r1, c1].astype(np.float64) - table[r0, c1] - table[r1, c0] + table[r0, c0])
    area = ((r1 - r0) * (c1 - c0)).astype(np.float64)[..., None]
    return ((sums / area - 127.5) * 0.0078125).astype(np.float32)


def _level(table: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """The whole image area-resized to out_h x out_w, as (1, out_h, out_w, 3) in [-1, 1].

    Separable (rows, then columns) look-ups in the summed-area table: the same numbers as
    torch's interpolate(area) and quicker than it on CPU."""
    zero = np.zeros(1, np.int64)
    (r0, r1), (c0, c1) = _bins(zero, np.array([table.shape[0] - 1]), out_h), _bins(zero, np.array([table.shape[1] - 1]), out_w)
    r0, r1, c0, c1 = r0[0], r1[0], c0[0], c1[0]
    rows = table[r1] - table[r0]
    sums = (rows[:, c1] - rows[:, c0]).astype(np.float32)
    area = ((r1 - r0)[:, None] * (c1 - c0)[None, :]).astype(np.float32)
    return ((sums / area[:, :, None] - 127.5) * 0.0078125)[None]


def _tensor(nhwc: np.ndarray, device: str):
    """NHWC array -> NCHW tensor in channels-last memory, without a copy on CPU."""
    import torch

    return torch.from_numpy(nhwc).permute(0, 3, 1, 2).to(device)


def _crops(table: np.ndarray, boxes: np.ndarray, size: int, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut each box out of the image (clipped, 1-based as in the reference) and resize to size²."""
    b = np.trunc(boxes[:, :4]).astype(np.int64)
    x0 = np.maximum(b[:, 0], 1) - 1
    y0 = np.maximum(b[:, 1], 1) - 1
    x1 = np.minimum(b[:, 2], w)
    y1 = np.minimum(b[:, 3], h)
    ok = (x1 > x0) & (y1 > y0)
    return ok, _area_resize(table, x0[ok], y0[ok], x1[ok], y1[ok], size, size)


def _run_batched(net, data: np.ndarray, device: str) -> tuple[np.ndarray, ...]:
    import torch

    outs = [net(_tensor(data[i:i + _BATCH], device)) for i in range(0, len(data), _BATCH)]
    return tuple(torch.cat(v).float().cpu().numpy() for v in zip(*outs))


@dataclass
class Detections:
    boxes: np.ndarray    # (N, 4) x1, y1, x2, y2 in the input array's pixels
    scores: np.ndarray   # (N,)
    points: np.ndarray   # (N, 5, 2) x, y in LANDMARK_NAMES order


class MTCNN:
    """The three networks plus the cascade that joins them; one image at a time."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.pnet, self.rnet, self.onet = load_nets(device)

    def detect(self, rgb: np.ndarray, min_face: float = 20.0,
               thresholds: tuple[float, float, float] = THRESHOLDS, factor: float = FACTOR) -> Detections:
        """Faces in an HxWx3 uint8 RGB array."""
        import torch

        empty = Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))
        h, w = rgb.shape[:2]
        if min(h, w) < 12:
            return empty
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
        table = _integral(rgb)
        with torch.inference_mode():
            # stage 1: P-Net over a pyramid; a 12 px window at scale s sees a 12/s px face
            m = 12.0 / min_face
            scales = []
            side = min(h, w) * m
            s = m
            while side >= 12:
                scales.append(s)
                s *= factor
                side *= factor
            cands = []
            for s in scales:
                reg, prob = self.pnet(_tensor(_level(table, int(h * s + 1), int(w * s + 1)), self.device))
                prob = prob[0, 1].float().cpu().numpy()
                reg = reg[0].float().cpu().numpy()
                yy, xx = np.nonzero(prob >= thresholds[0])
                if yy.size == 0:
                    continue
                # float32 as in the reference, so that floor() lands on the same pixel
                gx, gy, fs = xx.astype(np.float32), yy.astype(np.float32), np.float32(s)
                q1x = np.floor((2 * gx + 1) / fs)
                q1y = np.floor((2 * gy + 1) / fs)
                q2x = np.floor((2 * gx + 12) / fs)
                q2y = np.floor((2 * gy + 12) / fs)
                c = np.stack([q1x, q1y, q2x, q2y, prob[yy, xx], *reg[:, yy, xx]], axis=1).astype(np.float32)
                cands.append(c[nms(c[:, :4], c[:, 4], 0.5)])
            if not cands:
                return empty
            boxes = np.concatenate(cands)
            boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
            bw = boxes[:, 2] - boxes[:, 0]
            bh = boxes[:, 3] - boxes[:, 1]
            boxes = np.stack([boxes[:, 0] + boxes[:, 5] * bw, boxes[:, 1] + boxes[:, 6] * bh,
                              boxes[:, 2] + boxes[:, 7] * bw, boxes[:, 3] + boxes[:, 8] * bh,
                              boxes[:, 4]], axis=1)
            boxes = _rerec(boxes)

            # stage 2: R-Net refines and rejects on 24x24 crops
            ok, data = _crops(table, boxes, 24, w, h)
            boxes = boxes[ok]
            if len(boxes) == 0:
                return empty
            reg, prob = _run_batched(self.rnet, data, self.device)
            keep = prob[:, 1] > thresholds[1]
            boxes = np.concatenate([boxes[keep, :4], prob[keep, 1:2]], axis=1)
            reg = reg[keep]
            pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
            boxes = _rerec(_bbreg(boxes[pick], reg[pick]))

            # stage 3: O-Net on 48x48 crops gives the final score, box and landmarks
            ok, data = _crops(table, boxes, 48, w, h)
            boxes = boxes[ok]
            if len(boxes) == 0:
                return empty
            reg, pts, prob = _run_batched(self.onet, data, self.device)
        keep = prob[:, 1] > thresholds[2]
        boxes = np.concatenate([boxes[keep, :4], prob[keep, 1:2]], axis=1)
        reg, pts = reg[keep], pts[keep]
        bw = boxes[:, 2:3] - boxes[:, 0:1] + 1
        bh = boxes[:, 3:4] - boxes[:, 1:2] + 1
        px = bw * pts[:, :5] + boxes[:, 0:1] - 1
        py = bh * pts[:, 5:] + boxes[:, 1:2] - 1
        points = np.stack([px, py], axis=2)
        boxes = _bbreg(boxes, reg)
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7, method="min", plus_one=True)
        boxes, points = boxes[pick], points[pick]
        return Detections(boxes[:, :4].astype(np.float32), boxes[:, 4].astype(np.float32),
                          points.astype(np.float32))


def detect_faces(rgb: np.ndarray, min_face: float, settings: Any):
    """(box x0,y0,x1,y1, score, 5 landmarks) per face of at least ``min_face`` px in ``rgb``."""
    from . import cached_model, configure_threads

    detector = cached_model(("faces", "mtcnn", settings.device), lambda: MTCNN(settings.device))
    configure_threads(settings.threads)
    det = detector.detect(rgb, min_face=min_face)
    return [(tuple(map(float, b)), float(s), p) for b, s, p in zip(det.boxes, det.scores, det.points)]
