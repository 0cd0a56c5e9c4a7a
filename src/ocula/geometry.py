"""Rectangles in pixels, (x0, y0, x1, y1): joining the regions a step looks at again in
detail (text in backends/rapidocr.py, small faces in tasks/faces.py) and their overlap."""

from __future__ import annotations

Rect = tuple[float, float, float, float]


def merge_overlapping(rects: list[Rect]) -> list[Rect]:
    """Overlapping rectangles joined, repeatedly, until none overlap: nothing is looked at twice."""
    rects = sorted(rects)
    changed = True
    while changed:
        changed, out = False, []
        for r in rects:
            for i, o in enumerate(out):
                if r[0] <= o[2] and o[0] <= r[2] and r[1] <= o[3] and o[1] <= r[3]:
                    out[i] = (min(r[0], o[0]), min(r[1], o[1]), max(r[2], o[2]), max(r[3], o[3]))
                    changed = True
                    break
            else:
                out.append(r)
        rects = out
    return rects


def overlap(a: Rect, b: Rect) -> float:
    """Intersection over union of two rectangles (0 when they do not touch)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
