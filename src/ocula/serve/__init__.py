"""`ocula serve`: every capability over HTTP (FastAPI) and a web page.

Layers: ``config`` (what the operator sets), ``jobs`` (the bounded worker pool every
inference runs in), ``problems`` (errors as RFC 9457 problem details), ``inputs`` (images
from multipart, base64 JSON or, when enabled, a URL), ``limits`` (body size, API key, access
log), ``routes/`` (one module per capability group) and ``app`` (assembly).
FastAPI and uvicorn come with the ``serve`` extra; nothing here is imported by ``import ocula``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .config import ServeConfig


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "ServeConfig":
        from .config import ServeConfig

        return ServeConfig
    raise AttributeError(name)
