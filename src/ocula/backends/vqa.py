"""BLIP visual question answering (transformers): a short English answer to a question about
an image. The catalogue's ``blip-vqa-base`` (Salesforce/blip-vqa-base, BSD-3-Clause) or a
save_pretrained folder of a BlipForQuestionAnswering model."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from . import cached_model
from ._hub import load_parts, resolve
from ..config import Settings, get_settings

if TYPE_CHECKING:
    from PIL import Image

FAMILIES = {"blip": "BlipForQuestionAnswering"}
MAX_NEW_TOKENS = 20


class Answerer:
    def __init__(self, name: str, path, family: str, settings: Settings):
        import torch

        self.name = name
        self.device = settings.device
        self.model, self.processor = load_parts(name, path, settings, FAMILIES[family], "BlipProcessor")
        self._torch = torch
        self._lock = threading.Lock()

    def answer(self, image: "Image.Image", question: str) -> str:
        rgb = image.convert("RGB") if image.mode != "RGB" else image
        inputs = self.processor(images=rgb, text=question, return_tensors="pt", truncation=True, max_length=64)
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        with self._lock, self._torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, num_beams=1, do_sample=False)
        return self.processor.batch_decode(out, skip_special_tokens=True)[0].strip()


def load(name: str, settings: Settings | None = None) -> Answerer:
    settings = settings or get_settings()
    display, path, family = resolve(name, "vqa", FAMILIES, "a question-answering model", settings)
    return cached_model(("vqa", str(path.resolve()), settings.device),
                        lambda: Answerer(display, path, family, settings))
