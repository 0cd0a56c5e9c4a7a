"""Caption models on transformers: BLIP and Florence-2 write one English sentence about a
picture. The captioner writer (writing/captioner.py) turns that sentence and the facts into
text for each purpose.

Models come from the catalogue (``blip-base``, ``florence-2-base``: hub repos at pinned
revisions, fetched by ``ocula models pull``) or from a local folder (``file:/path`` or a
path) holding a ``save_pretrained`` model and processor. Only native transformers classes
are used (never trust_remote_code), and the PIL image processors, so torchvision is not
needed. Nothing is downloaded here: a model missing from the cache is ModelUnavailable.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Settings, get_settings
from ..errors import ModelUnavailable
from . import cached_model, configure_threads, import_transformers

if TYPE_CHECKING:
    from PIL import Image

FAMILIES = {"blip": "BlipForConditionalGeneration", "florence2": "Florence2ForConditionalGeneration"}
# new tokens per length; Florence-2 also picks its task by length
MAX_NEW_TOKENS = {"blip": {"short": 20, "medium": 30, "long": 40},
                  "florence2": {"short": 24, "medium": 64, "long": 128}}
FLORENCE_TASKS = {"short": "<CAPTION>", "medium": "<DETAILED_CAPTION>", "long": "<MORE_DETAILED_CAPTION>"}
INPUT_MAX_SIDE = 1024  # both processors resize to <= 768; a smaller copy is cheaper to hand over


@dataclass
class Caption:
    text: str
    tokens: int          # new tokens generated
    score: float         # geometric mean token probability of the chosen sequence, 0..1
    model: str


def resolve_source(name: str, settings: Settings) -> tuple[str, Path]:
    """(display name, local folder) for a catalogue name, ``file:PATH`` or a folder path.
    Raises UnknownModel / ModelUnavailable with the fix."""
    from ..models.resolve import local_model

    return local_model(name, "caption", settings, hint="point --model at a folder written by save_pretrained")


def _family(name: str, path: Path) -> str:
    from ..models.resolve import model_type

    return model_type(name, path, FAMILIES, "a captioner")


class Captioner:
    """A loaded captioning model and its processor. Thread-safe: generation is serialised
    (torch models are not re-entrant while generating)."""

    def __init__(self, name: str, path: Path, settings: Settings):
        import torch

        transformers = import_transformers()
        configure_threads(settings.threads)
        self.name = name
        self.family = _family(name, path)
        self.device = settings.device
        cls = getattr(transformers, FAMILIES[self.family])
        try:
            # backend="pil": the torchvision processors are the default in transformers 5,
            # and torchvision does not import beside the CPU torch here
            self.processor = transformers.AutoProcessor.from_pretrained(path, local_files_only=True, backend="pil")
            self.model = cls.from_pretrained(path, local_files_only=True).to(self.device).eval()
        except (OSError, ValueError, KeyError) as e:
            raise ModelUnavailable(name, f"could not load from {path}: {str(e).splitlines()[0]}",
                                   f"ocula models pull {name}" if "/" not in name else None) from None
        self._torch = torch
        self._lock = threading.Lock()

    def caption(self, image: "Image.Image", *, length: str = "medium", max_new_tokens: int | None = None,
                num_beams: int = 3) -> Caption:
        torch = self._torch
        max_new = max_new_tokens or MAX_NEW_TOKENS[self.family][length]
        if self.family == "florence2":
            inputs = self.processor(text=FLORENCE_TASKS[length], images=image, return_tensors="pt")
        else:
            inputs = self.processor(images=image, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        with self._lock, torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=max_new, num_beams=num_beams, do_sample=False,
                                      early_stopping=num_beams > 1, output_scores=True,
                                      return_dict_in_generate=True)
        seq = out.sequences[0]
        if num_beams > 1 and getattr(out, "sequences_scores", None) is not None:
            logp = float(out.sequences_scores[0])  # length-normalised log probability
        else:
            trans = self.model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
            logp = float(trans[0].mean()) if trans.numel() else 0.0
        text = self.processor.batch_decode(seq[None], skip_special_tokens=True)[0]
        # the first position is the decoder's start token (BLIP: [DEC], Florence-2: </s>)
        return Caption(text=clean_caption(text), tokens=int(seq.shape[-1]) - 1,
                       score=float(min(1.0, max(0.0, torch.tensor(logp).exp().item()))), model=self.name)


def load_captioner(name: str | None = None, settings: Settings | None = None) -> Captioner:
    """The captioner ``name`` (default: settings.captioner), loaded once per process."""
    settings = settings or get_settings()
    name = name or settings.captioner
    display, path = resolve_source(name, settings)
    return cached_model(("captioner", str(path.resolve()), settings.device),
                        lambda: Captioner(display, path, settings))


# BLIP's training captions leave these artefacts ("arafed cat"); they are not words
_ARTEFACTS = re.compile(r"\b(?:ar+af+e?d?|araf+e|arafly|arafe)\b\s*", re.I)


def clean_caption(text: str) -> str:
    text = _ARTEFACTS.sub("", text)
    text = re.sub(r"\s+", " ", text).strip(" .,;")
    text = re.sub(r"^(?:there is|there are|this is)\s+", "", text, flags=re.I)
    text = re.sub(r"^(?:the image shows|the image is|in this image,?|in this picture,?)\s+", "", text, flags=re.I)
    return text
