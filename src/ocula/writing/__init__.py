"""Writers turn facts into text: ocula's own (builtin, captioner) and the catalogue's "write"
models (``ocula models list --task write``: llm, vlm), each naming its class. ``get_writer(name)``
builds one, loading its module lazily so that the builtin writer works without httpx or
transformers installed.

- builtin   offline, from facts (writing/builtin/)
- llm       OpenAI-compatible chat server, sees the facts (writing/llm.py)
- vlm       the same with a vision model, also sees the picture (writing/llm.py)
- captioner a BLIP / Florence-2 caption model (backends/captioner.py) + the facts (writing/captioner.py)

This layer sits between the tasks and the backends: it never imports a task or a shell.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from ..errors import InvalidArgument
from ..models import catalog
from ..vocabulary import LANGUAGES, LENGTHS, PURPOSES, TONES
from .base import DescribeRequest, Draft, Writer, WriterError, WriterUnavailable

# writers that are ocula's own code; the rest are the catalogue's "write" models (llm, vlm: servers)
_OWN = {"builtin": "ocula.writing.builtin:BuiltinWriter", "captioner": "ocula.writing.captioner:CaptionerWriter"}
WRITERS: tuple[str, ...] = ("builtin", *catalog.names("write"), "captioner")

__all__ = ["WRITERS", "PURPOSES", "LANGUAGES", "LENGTHS", "TONES", "get_writer", "DescribeRequest", "Draft",
           "Writer", "WriterError", "WriterUnavailable"]


def get_writer(name: str, settings: Any = None, **options: Any) -> Writer:
    """A writer by name. ``options`` go to the writer (``url``, ``model`` for llm/vlm/captioner;
    None values are dropped). Unknown names raise InvalidArgument listing the valid ones."""
    key = (name or "builtin").strip().lower()
    if key not in WRITERS:
        raise InvalidArgument(f"unknown writer {name!r}; choose one of: {', '.join(WRITERS)}")
    try:
        if key in _OWN:
            module, _, attr = _OWN[key].partition(":")
            cls = getattr(importlib.import_module(module), attr)
        else:
            cls = catalog.load_backend(catalog.get_spec(key, "write"))
    except ImportError as e:
        if e.name and not e.name.startswith("ocula"):
            raise WriterUnavailable(f"the {key} writer needs the package {e.name!r}: pip install {e.name}") from None
        raise
    # each writer takes the options it understands (the captioner has a model but no url)
    accepted = inspect.signature(cls.__init__).parameters
    options = {k: v for k, v in options.items() if v is not None and k in accepted}
    return cls(settings, **options)
