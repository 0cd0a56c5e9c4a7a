"""The model catalogue: every model ocula knows, as data (``ModelSpec``), and whether it is
usable right now."""

from .catalog import CATALOG, choose, default_model, get_spec, list_specs, load_backend, names
from .spec import ModelFile, ModelSpec, ModelStatus
from .resolve import status, require, package_file, pull

__all__ = ["CATALOG", "ModelFile", "ModelSpec", "ModelStatus", "get_spec", "list_specs", "names", "choose",
           "load_backend", "default_model", "status", "require", "package_file", "pull"]
