"""OWLv2 (transformers) finds what words describe: "red car", "person with umbrella".

The catalogue's ``owlv2-base`` (google/owlv2-base-patch16-ensemble, Apache-2.0) or a
save_pretrained folder of an OWLv2 / OWL-ViT detector. Its text tower is CLIP's English one:
the task refuses other scripts before this runs. Query embeddings are kept per query list, so
a batch asking the same words embeds them once."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from . import cached_model
from ._hub import boxes_xywh, load_parts, resolve
from ..config import Settings, get_settings
from .rtdetr import Box

if TYPE_CHECKING:
    from PIL import Image

FAMILIES = {"owlv2": ("Owlv2ForObjectDetection", "Owlv2ImageProcessorPil"),
            "owlvit": ("OwlViTForObjectDetection", "OwlViTImageProcessorPil")}
DEFAULT_MIN_SCORE = 0.2  # OWLv2's objectness-weighted scores run low; 0.1-0.3 is its useful range
NMS_IOU = 0.5


class Finder:
    """A loaded open-vocabulary detector, its image processor and tokenizer. Thread-safe."""

    def __init__(self, name: str, path, family: str, settings: Settings):
        import torch

        from . import import_transformers

        self.name = name
        self.device = settings.device
        model_cls, proc_cls = FAMILIES[family]
        self.model, self.image_processor = load_parts(name, path, settings, model_cls, proc_cls)
        self.tokenizer = import_transformers().AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.max_length = int(getattr(self.model.config.text_config, "max_position_embeddings", 16))
        self._torch = torch
        self._lock = threading.Lock()

    def find(self, images: "list[Image.Image]", queries: list[str],
             min_score: float = DEFAULT_MIN_SCORE) -> list[list[Box]]:
        """Boxes per image labelled with the query they match best, best first, overlapping
        boxes of one query merged (non-maximum suppression)."""
        torch = self._torch
        if not images:
            return []
        text = self.tokenizer(queries, padding="max_length", truncation=True, max_length=self.max_length,
                              return_tensors="pt")
        results = []
        for im in images:
            rgb = im.convert("RGB") if im.mode != "RGB" else im
            pixels = self.image_processor(images=rgb, return_tensors="pt")["pixel_values"].to(self.device)
            with self._lock, torch.inference_mode():
                out = self.model(input_ids=text["input_ids"].to(self.device),
                                 attention_mask=text["attention_mask"].to(self.device), pixel_values=pixels)
            # OWLv2 pads the image to a square before resizing: boxes are relative to that square
            side = max(rgb.size)
            found = self.image_processor.post_process_object_detection(
                out, threshold=min_score, target_sizes=torch.tensor([[side, side]]))[0]
            keep = _nms(found["boxes"], found["scores"], found["labels"], torch)
            boxes = boxes_xywh(found["boxes"][keep].tolist(), rgb.size)
            items = [Box(queries[int(lab)], float(s), b) for s, lab, b in
                     zip(found["scores"][keep].tolist(), found["labels"][keep].tolist(), boxes) if b[2] and b[3]]
            results.append(sorted(items, key=lambda b: -b.score))
        return results


def _nms(boxes, scores, labels, torch) -> list[int]:
    """Indices kept by greedy per-label non-maximum suppression at NMS_IOU (no torchvision)."""
    order = torch.argsort(scores, descending=True).tolist()
    kept: list[int] = []
    for i in order:
        bi = boxes[i]
        if all(int(labels[j]) != int(labels[i]) or _iou(bi, boxes[j]) < NMS_IOU for j in kept):
            kept.append(i)
    return kept


def _iou(a, b) -> float:
    x0, y0 = max(float(a[0]), float(b[0])), max(float(a[1]), float(b[1]))
    x1, y1 = min(float(a[2]), float(b[2])), min(float(a[3]), float(b[3]))
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    area = lambda r: max(0.0, float(r[2] - r[0])) * max(0.0, float(r[3] - r[1]))  # noqa: E731
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def load(name: str, settings: Settings | None = None) -> Finder:
    settings = settings or get_settings()
    display, path, family = resolve(name, "find", FAMILIES, "an open-vocabulary detector", settings)
    return cached_model(("owlv2", str(path.resolve()), settings.device),
                        lambda: Finder(display, path, family, settings))
