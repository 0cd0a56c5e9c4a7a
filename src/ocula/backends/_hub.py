"""What the transformers backends of detection and questions share: finding the folder of a
catalogue model (or a save_pretrained folder), checking its family, and loading its parts
with the PIL image processors (torchvision does not import beside the CPU torch here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from ..config import Settings
from ..errors import ModelUnavailable


def resolve(name: str, task: str, families: Iterable[str], what: str, settings: Settings) -> tuple[str, Path, str]:
    """(display name, local folder, model_type) of a catalogue name, ``file:PATH`` or a folder.
    Raises UnknownModel / ModelUnavailable naming `ocula models pull NAME`."""
    from ..models.resolve import local_model, model_type

    display, path = local_model(name, task, settings, hint="point --model at a folder written by save_pretrained")
    return display, path, model_type(display, path, families, what)


def load_parts(name: str, path: Path, settings: Settings, model_class: str, processor_class: str) -> tuple[Any, Any]:
    """(model in eval mode on the device, processor), or one ModelUnavailable line."""
    from . import configure_threads, import_transformers

    transformers = import_transformers()
    configure_threads(settings.threads)
    try:
        # a *Pil class is the PIL processor itself; a composite processor is told to pick it
        pil = {} if processor_class.endswith("Pil") else {"backend": "pil"}
        processor = getattr(transformers, processor_class).from_pretrained(path, local_files_only=True, **pil)
        model = getattr(transformers, model_class).from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError) as e:
        raise ModelUnavailable(name, f"could not load from {path}: {str(e).splitlines()[0]}",
                               f"`ocula models pull {name}`" if "/" not in name else None) from None
    return model.to(settings.device).eval(), processor


def boxes_xywh(xyxy: Any, size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Corner boxes (x0, y0, x1, y1) in pixels -> (x, y, w, h) whole pixels clipped to the image."""
    w, h = size
    out = []
    for x0, y0, x1, y1 in (list(map(float, b)) for b in xyxy):
        x0, y0 = max(0, int(round(x0))), max(0, int(round(y0)))
        x1, y1 = min(w, int(round(x1))), min(h, int(round(y1)))
        out.append((x0, y0, max(0, x1 - x0), max(0, y1 - y0)))
    return out
