"""analyze: every recognizer in one pass per image (decode once, share the resized copies)."""

from __future__ import annotations

import importlib
import importlib.util
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator

from ..config import Settings, get_settings
from ..errors import InvalidArgument, InvalidImage, OculaError
from ..image import ImageInput, LoadedImage, load_image
from ..results import Analysis, Failure, ImageInfo

STEPS = ("classify", "ocr", "faces", "colors", "quality", "metadata", "moderate")
# moderate needs the optional AGPL extra; it joins the defaults only when installed
OPTIONAL_STEPS = {"moderate": "nudenet"}


def default_steps() -> tuple[str, ...]:
    return tuple(s for s in STEPS
                 if s not in OPTIONAL_STEPS or importlib.util.find_spec(OPTIONAL_STEPS[s]) is not None)


# the names results give a step's output, accepted for the step itself ("labels" runs classify)
STEP_ALIASES = {"labels": "classify", "text": "ocr", "moderation": "moderate"}


def _check_steps(steps: Iterable[str] | None) -> tuple[str, ...]:
    if steps is None:
        return default_steps()
    steps = tuple(dict.fromkeys(STEP_ALIASES.get(s.strip(), s.strip()) for s in steps if s.strip()))
    bad = [s for s in steps if s not in STEPS]
    if bad:
        raise InvalidArgument(f"unknown analyze step(s) {bad}; choose from: {', '.join(STEPS)}")
    if not steps:
        raise InvalidArgument(f"no analyze steps given; choose from: {', '.join(STEPS)}")
    return steps


def _module(step: str):
    return importlib.import_module(f"ocula.tasks.{step}")


def decode_side(steps: Iterable[str]) -> int | None:
    """The largest side any requested step needs (None: full resolution)."""
    sides = [getattr(_module(s), "MAX_SIDE", None) for s in steps]
    return None if any(s is None for s in sides) else max(sides)


def analyze(image: ImageInput, *, steps: Iterable[str] | None = None, top_k: int = 5, gps: bool = False,
            settings: Settings | None = None) -> Analysis:
    """All facts about one image. Steps that cannot run (a missing model) become warnings;
    an unreadable image raises InvalidImage."""
    settings = settings or get_settings()
    steps = _check_steps(steps)
    loaded = load_image(image, max_side=decode_side(steps), settings=settings)
    return _analyze_loaded(loaded, steps, top_k, gps, settings)


def _analyze_loaded(loaded: LoadedImage, steps: tuple[str, ...], top_k: int, gps: bool,
                    settings: Settings) -> Analysis:
    out = Analysis(image=ImageInfo.of(loaded))
    for step in steps:
        t0 = time.perf_counter()
        try:
            _run_step(step, loaded, out, top_k, gps, settings)
        except InvalidImage:
            raise
        except OculaError as e:  # e.g. a model not installed: the other facts still count
            out.warnings.append(f"{step} skipped: {e}")
        out.timings[step] = round(time.perf_counter() - t0, 4)
    return out


def _run_step(step: str, loaded: LoadedImage, out: Analysis, top_k: int, gps: bool, settings: Settings) -> None:
    fn = getattr(_module(step), step)
    if step == "classify":
        res = fn(loaded, top_k=top_k, settings=settings)
        out.labels, out.classifier = res.labels, res.model
    elif step == "ocr":
        out.text = fn(loaded, settings=settings)
    elif step == "faces":
        out.faces = fn(loaded, settings=settings)
    elif step == "colors":
        out.colors = fn(loaded, settings=settings)
    elif step == "quality":
        out.quality = fn(loaded, settings=settings)
    elif step == "metadata":
        out.metadata = fn(loaded, gps=gps, settings=settings)
    elif step == "moderate":
        out.moderation = fn(loaded, settings=settings)


def analyze_many(images: list[ImageInput], *, steps: Iterable[str] | None = None, top_k: int = 5,
                 gps: bool = False, jobs: int | None = None, settings: Settings | None = None,
                 on_done: Callable[[str, Analysis | Failure], None] | None = None,
                 ) -> Iterator[Analysis | Failure]:
    """Analyse many images in input order. Decoding runs ``jobs`` images ahead in threads
    (Pillow releases the GIL); models run one image at a time on ``settings.threads``.
    A bad image yields a Failure and the batch goes on."""
    settings = settings or get_settings()
    steps = _check_steps(steps)
    side = decode_side(steps)
    jobs = max(1, jobs or settings.jobs)

    def decode(src: ImageInput) -> LoadedImage | Failure:
        try:
            return load_image(src, max_side=side, settings=settings)
        except InvalidImage as e:
            return Failure(source=e.source, error=e.reason, kind="InvalidImage")

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        ahead = jobs + 1
        pending = [pool.submit(decode, src) for src in images[:ahead]]
        nxt = ahead
        while pending:
            loaded = pending.pop(0).result()
            if nxt < len(images):
                pending.append(pool.submit(decode, images[nxt]))
                nxt += 1
            if isinstance(loaded, Failure):
                item: Analysis | Failure = loaded
            else:
                try:
                    item = _analyze_loaded(loaded, steps, top_k, gps, settings)
                except InvalidImage as e:
                    item = Failure(source=e.source, error=e.reason)
                except OculaError as e:
                    item = Failure(source=loaded.source, error=str(e), kind=type(e).__name__)
                loaded._cache.clear()
            if on_done:
                on_done(item.source if isinstance(item, Failure) else item.image.source, item)
            yield item

