"""NSFW moderation with NudeNet 320n: a score per body-part class and an unsafe flag.

Moderation reports; it never alters the image. ``unsafe`` is set when any explicit class
(exposed genitalia, female breasts, buttocks or anus) scores at or above ``threshold``; the
other classes (covered parts, faces, feet, belly, armpits, male breasts) are context.
Needs the optional extra ``ocula[moderation]`` (NudeNet's licence is AGPL-3.0).
"""

from __future__ import annotations

from ..config import Settings, get_settings
from ..errors import InvalidArgument
from ..image import ImageInput, load_image
from ..results import Detection, ImageInfo, ModerationResult

# The network sees 320x320; the loader's draft decode keeps at least this much.
MAX_SIDE = 320


def moderate(image: ImageInput, *, threshold: float = 0.5, settings: Settings | None = None) -> ModerationResult:
    """Score the image for nudity; ``unsafe`` when an explicit class reaches ``threshold``."""
    from ..backends import nudenet

    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise InvalidArgument(f"threshold must be a number in (0, 1], got {threshold!r}")
    nudenet.require()  # before decoding: a missing extra is the first thing to say
    settings = settings or get_settings()
    loaded = load_image(image, max_side=MAX_SIDE, settings=settings)
    rgb = loaded.array(MAX_SIDE)
    scores, raw = nudenet.detect(rgb, settings.threads)

    # boxes come back in the pixels of the reduced copy; report them on the original image
    h, w = rgb.shape[:2]
    ow, oh = loaded.original_size
    sx, sy = ow / w, oh / h
    detections = []
    for d in raw:
        x, y, bw, bh = d.box
        x0, y0 = max(0, round(x * sx)), max(0, round(y * sy))
        x1, y1 = min(ow, round((x + bw) * sx)), min(oh, round((y + bh) * sy))
        if x1 > x0 and y1 > y0:
            detections.append(Detection(label=d.label, score=round(d.score, 4), box=(x0, y0, x1 - x0, y1 - y0)))

    return ModerationResult(
        image=ImageInfo.of(loaded),
        model=nudenet.MODEL,
        scores={k: round(v, 4) for k, v in scores.items()},
        unsafe=any(scores[label] >= threshold for label in nudenet.EXPLICIT),
        threshold=float(threshold),
        detections=detections,
    )
