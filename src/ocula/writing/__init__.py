"""Writers turn facts into text. ``get_writer(name)`` builds one by name; modules load lazily
so that the builtin writer works without httpx or transformers installed.

- builtin   offline, from facts (writing/builtin.py)
- llm       OpenAI-compatible chat server, sees the facts (writing/llm.py)
- vlm       the same with a vision model, also sees the picture (writing/llm.py)
- captioner transformers BLIP / Florence-2 captioning model (writing/captioner.py)
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from ..errors import InvalidArgument
from ..vocabulary import LANGUAGES, LENGTHS, PURPOSES, TONES
from .base import DescribeRequest, Draft, Writer, WriterError, WriterUnavailable

# name -> (module, class); the class is built as cls(settings, **options)
WRITERS: dict[str, tuple[str, str]] = {
    "builtin": ("ocula.writing.builtin", "BuiltinWriter"),
    "llm": ("ocula.writing.llm", "LLMWriter"),
    "vlm": ("ocula.writing.llm", "VLMWriter"),
    "captioner": ("ocula.writing.captioner", "CaptionerWriter"),
}

__all__ = ["WRITERS", "PURPOSES", "LANGUAGES", "LENGTHS", "TONES", "get_writer", "DescribeRequest", "Draft",
           "Writer", "WriterError", "WriterUnavailable"]


def get_writer(name: str, settings: Any = None, **options: Any) -> Writer:
    """A writer by name. ``options`` go to the writer (``url``, ``model`` for llm/vlm/captioner;
    None values are dropped). Unknown names raise InvalidArgument listing the valid ones."""
    key = (name or "builtin").strip().lower()
    if key not in WRITERS:
        raise InvalidArgument(f"unknown writer {name!r}; choose one of: {', '.join(WRITERS)}")
    module_name, cls_name = WRITERS[key]
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        if e.name and not e.name.startswith("ocula"):
            raise WriterUnavailable(f"the {key} writer needs the package {e.name!r}: pip install {e.name}") from None
        raise WriterUnavailable(f"the {key} writer is not available in this installation ({e})") from None
    cls = getattr(module, cls_name)
    # each writer takes the options it understands (the captioner has a model but no url)
    accepted = inspect.signature(cls.__init__).parameters
    options = {k: v for k, v in options.items() if v is not None and k in accepted}
    return cls(settings, **options)
