"""RT-DETR (transformers) detects the 80 COCO classes: boxes, labels, scores.

The catalogue's ``rtdetr-r50`` (PekingU/rtdetr_r50vd, Apache-2.0) or any save_pretrained
folder of an RT-DETR / RT-DETRv2 detector. Labels come from the model's own ``id2label``;
Chinese names of the COCO classes are ocula's (``COCO_ZH``)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, NamedTuple

from . import cached_model
from ._hub import boxes_xywh, load_parts, resolve
from ..config import Settings, get_settings

if TYPE_CHECKING:
    from PIL import Image

FAMILIES = {"rt_detr": "RTDetrForObjectDetection", "rt_detr_v2": "RTDetrV2ForObjectDetection"}
DEFAULT_MIN_SCORE = 0.5  # RT-DETR's scores are sigmoid class probabilities; 0.5 is its usual cut

COCO_ZH = {
    "person": "人", "bicycle": "自行车", "car": "汽车", "motorcycle": "摩托车", "airplane": "飞机", "bus": "公交车",
    "train": "火车", "truck": "卡车", "boat": "船", "traffic light": "红绿灯", "fire hydrant": "消防栓",
    "stop sign": "停车标志", "parking meter": "停车计时器", "bench": "长椅", "bird": "鸟", "cat": "猫", "dog": "狗",
    "horse": "马", "sheep": "羊", "cow": "牛", "elephant": "大象", "bear": "熊", "zebra": "斑马", "giraffe": "长颈鹿",
    "backpack": "背包", "umbrella": "雨伞", "handbag": "手提包", "tie": "领带", "suitcase": "行李箱", "frisbee": "飞盘",
    "skis": "滑雪板", "snowboard": "单板滑雪板", "sports ball": "球", "kite": "风筝", "baseball bat": "棒球棒",
    "baseball glove": "棒球手套", "skateboard": "滑板", "surfboard": "冲浪板", "tennis racket": "网球拍",
    "bottle": "瓶子", "wine glass": "酒杯", "cup": "杯子", "fork": "叉子", "knife": "刀", "spoon": "勺子", "bowl": "碗",
    "banana": "香蕉", "apple": "苹果", "sandwich": "三明治", "orange": "橙子", "broccoli": "西兰花", "carrot": "胡萝卜",
    "hot dog": "热狗", "pizza": "披萨", "donut": "甜甜圈", "cake": "蛋糕", "chair": "椅子", "couch": "沙发",
    "potted plant": "盆栽", "bed": "床", "dining table": "餐桌", "toilet": "马桶", "tv": "电视", "laptop": "笔记本电脑",
    "mouse": "鼠标", "remote": "遥控器", "keyboard": "键盘", "cell phone": "手机", "microwave": "微波炉", "oven": "烤箱",
    "toaster": "烤面包机", "sink": "水槽", "refrigerator": "冰箱", "book": "书", "clock": "钟", "vase": "花瓶",
    "scissors": "剪刀", "teddy bear": "泰迪熊", "hair drier": "吹风机", "toothbrush": "牙刷",
}


class Box(NamedTuple):
    label: str
    score: float
    box: tuple[int, int, int, int]  # x, y, w, h in pixels of the image given


class Detector:
    """A loaded RT-DETR model and its image processor. Thread-safe (one forward pass at a time)."""

    def __init__(self, name: str, path, family: str, settings: Settings):
        import torch

        self.name = name
        self.device = settings.device
        self.model, self.processor = load_parts(name, path, settings, FAMILIES[family], "RTDetrImageProcessorPil")
        self.labels = {int(k): str(v) for k, v in self.model.config.id2label.items()}
        self._torch = torch
        self._lock = threading.Lock()

    def detect(self, images: "list[Image.Image]", min_score: float = DEFAULT_MIN_SCORE) -> list[list[Box]]:
        """Boxes per image, best first."""
        if not images:
            return []
        rgb = [im.convert("RGB") if im.mode != "RGB" else im for im in images]
        inputs = self.processor(images=rgb, return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device)
        with self._lock, self._torch.inference_mode():
            out = self.model(pixel_values=pixels)
        sizes = [(im.height, im.width) for im in rgb]
        found = self.processor.post_process_object_detection(out, threshold=min_score, target_sizes=sizes)
        results = []
        for im, f in zip(rgb, found):
            boxes = boxes_xywh(f["boxes"].tolist(), im.size)
            items = [Box(self.labels.get(int(lab), str(int(lab))), float(s), b)
                     for s, lab, b in zip(f["scores"].tolist(), f["labels"].tolist(), boxes) if b[2] and b[3]]
            results.append(sorted(items, key=lambda b: -b.score))
        return results


def load(name: str, settings: Settings | None = None) -> Detector:
    settings = settings or get_settings()
    display, path, family = resolve(name, "detect", FAMILIES, "a COCO detector", settings)
    return cached_model(("rtdetr", str(path.resolve()), settings.device),
                        lambda: Detector(display, path, family, settings))
