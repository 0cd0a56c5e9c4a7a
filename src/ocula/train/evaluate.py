"""Evaluation report written into MODEL_DIR/report: accuracy, per-class precision / recall /
F1, confusion matrix (PNG drawn with Pillow, so no plotting dependency), the same in JSON,
an HTML page of misclassified images with thumbnails, and calibration (ECE).
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from ..output import replace_file

ECE_BINS = 15


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def ece(probs: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: |accuracy - confidence| averaged over equal-width
    confidence bins, weighted by the share of samples in each bin."""
    if len(y) == 0:
        return 0.0
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(total)


def metrics(y: np.ndarray, probs: np.ndarray, classes: Sequence[str]) -> dict:
    k = len(classes)
    pred = probs.argmax(axis=1)
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (y, pred), 1)
    per_class = []
    for c in range(k):
        tp = int(cm[c, c])
        p_den, r_den = int(cm[:, c].sum()), int(cm[c].sum())
        precision = tp / p_den if p_den else 0.0
        recall = tp / r_den if r_den else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append({"name": classes[c], "precision": precision, "recall": recall, "f1": f1, "support": r_den})
    supported = [p for p in per_class if p["support"]]
    return {
        "n": int(len(y)),
        "accuracy": float((pred == y).mean()) if len(y) else 0.0,
        "macro_f1": float(np.mean([p["f1"] for p in supported])) if supported else 0.0,
        "ece": ece(probs, y),
        "per_class": per_class,
        "confusion": cm.tolist(),
    }


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def confusion_png(cm: np.ndarray, classes: Sequence[str], path: Path) -> None:
    """Rows = true class, columns = predicted; cells shaded by row share, counts written in."""
    from PIL import Image, ImageDraw

    k = len(classes)
    cell = max(24, min(60, 720 // max(k, 1)))
    font = _font(max(10, cell // 3))
    names = [c if len(c) <= 18 else c[:17] + "…" for c in classes]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max(int(probe.textlength(n, font=font)) for n in names) + 12
    title_h = cell // 3 + 14
    top = title_h + label_w + 4
    left = label_w + 12
    title = "rows: true class, columns: predicted"
    width = max(left + k * cell + 10, int(probe.textlength(title, font=font)) + 12)
    img = Image.new("RGB", (width, top + k * cell + 10), "white")
    d = ImageDraw.Draw(img)
    d.text((4, 4), title, fill="black", font=font)
    rows = cm.sum(axis=1, keepdims=True).astype(np.float64)
    share = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    for i in range(k):
        d.text((4, top + i * cell + cell // 3), names[i], fill="black", font=font)
        # column names written vertically
        txt = Image.new("RGB", (label_w, cell), "white")
        ImageDraw.Draw(txt).text((2, cell // 3), names[i], fill="black", font=font)
        img.paste(txt.rotate(90, expand=True), (left + i * cell, title_h))
        for j in range(k):
            s = share[i, j]
            colour = (int(255 - 200 * s), int(255 - 120 * s), 255) if i == j else (255, int(255 - 200 * s), int(255 - 200 * s))
            x0, y0 = left + j * cell, top + i * cell
            d.rectangle((x0, y0, x0 + cell - 1, y0 + cell - 1), fill=colour, outline=(200, 200, 200))
            if cm[i, j]:
                t = str(int(cm[i, j]))
                tw = d.textlength(t, font=font)
                d.text((x0 + (cell - tw) / 2, y0 + cell // 3), t, fill="black", font=font)
    img.save(path, optimize=True)


def _thumb(path: str, side: int = 112) -> str | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((side, side))
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=80)
    except (OSError, ValueError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def misclassified_html(paths: Sequence[str], y: np.ndarray, probs: np.ndarray, classes: Sequence[str],
                       path: Path, summary: dict, limit: int = 300) -> int:
    """A self-contained page (thumbnails inlined) of the wrong predictions, most confident
    mistakes first. Returns how many images were wrong."""
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")]
    cards = []
    for i in wrong[:limit]:
        src = _thumb(paths[i])
        img = f'<img src="{src}" alt="">' if src else "<div class=na>no preview</div>"
        cards.append(
            f'<figure>{img}<figcaption><b>{html.escape(classes[pred[i]])}</b> {probs[i, pred[i]]:.0%}'
            f'<br>true: {html.escape(classes[y[i]])} ({probs[i, y[i]]:.0%})'
            f'<br><small>{html.escape(Path(paths[i]).name)}</small></figcaption></figure>')
    head = (f"accuracy {summary['accuracy']:.1%} on {summary['n']} validation images, "
            f"macro F1 {summary['macro_f1']:.3f}, ECE {summary['ece']:.3f}")
    more = f"<p>{len(wrong) - limit} more not shown.</p>" if len(wrong) > limit else ""
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Misclassified images</title>
<style>body{{font-family:sans-serif;margin:1.5em}}figure{{display:inline-block;width:150px;margin:6px;
vertical-align:top;font-size:13px}}img{{max-width:140px;max-height:140px;min-width:84px;image-rendering:pixelated;border:1px solid #ccc}}
.na{{width:112px;height:112px;background:#eee}}</style></head><body>
<h1>Misclassified: {len(wrong)} of {len(y)}</h1><p>{html.escape(head)}</p>
<p>Predicted class (confidence), true class (its probability). Most confident mistakes first.</p>
<p><img src="confusion.png" alt="confusion matrix" style="max-width:100%;max-height:none"></p>
{''.join(cards)}{more}</body></html>"""
    replace_file(path, page)
    return int(len(wrong))


def write_report(report_dir: Path, paths: Sequence[str], y: np.ndarray, probs: np.ndarray,
                 classes: Sequence[str], extra: dict | None = None) -> dict:
    """Write eval.json, confusion.png and misclassified.html; returns the metrics."""
    report_dir.mkdir(parents=True, exist_ok=True)
    m = metrics(y, probs, classes)
    m["classes"] = list(classes)
    confusion_png(np.array(m["confusion"]), classes, report_dir / "confusion.png")
    misclassified_html(paths, y, probs, classes, report_dir / "misclassified.html", m)
    m.update(extra or {})
    replace_file(report_dir / "eval.json", json.dumps(m, indent=2, ensure_ascii=False))
    return m
