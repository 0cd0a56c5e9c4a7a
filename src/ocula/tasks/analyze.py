"""analyze: every recognizer in one pass per image (decode once, share the resized copies)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import time
from typing import Any, Callable, Iterable, Iterator

from ..config import Settings, get_settings
from ..errors import InvalidArgument, InvalidImage, OculaError
from ..image import ImageInput, LoadedImage, load_image
from ..results import Analysis, Failure, ImageInfo
from . import registry
from ._pipeline import default_workers, ordered_map, worker_settings



def _table() -> dict[str, registry.Task]:
    return {t.name: t for t in registry.steps()}


def default_steps() -> tuple[str, ...]:
    """The steps analyze runs when none are named: every step whose optional package is installed
    (moderate needs the AGPL extra, so it joins only when that is present)."""
    return tuple(t.name for t in _table().values() if t.requires is None or _present(t.requires))


def _present(requires: str) -> bool:
    """A module that is installed, or ``model:TASK``: a usable catalogue model of that task
    (detect joins analyze only where a detector has been pulled)."""
    if requires.startswith("model:"):
        from ..models import catalog, status

        return any(status(s).usable for s in catalog.list_specs(requires[6:]))
    return importlib.util.find_spec(requires) is not None


def check_steps(steps: Iterable[str] | None) -> tuple[str, ...]:
    """Step names checked and de-duplicated; the names results give a step's output are accepted
    for the step itself ("labels" runs classify). None: the default steps."""
    if steps is None:
        return default_steps()
    table = _table()
    aliases = {t.step: t.name for t in table.values()}
    steps = tuple(dict.fromkeys(aliases.get(s.strip(), s.strip()) for s in steps if s.strip()))
    bad = [s for s in steps if s not in table]
    if bad:
        raise InvalidArgument(f"unknown analyze step(s) {bad}; choose from: {', '.join(table)}")
    if not steps:
        raise InvalidArgument(f"no analyze steps given; choose from: {', '.join(table)}")
    return steps


def decode_side(steps: Iterable[str]) -> int | None:
    """The largest side any requested step needs (None: full resolution)."""
    sides = [getattr(importlib.import_module(_table()[s].module_name), "MAX_SIDE", None) for s in steps]
    return None if any(s is None for s in sides) else max(sides)


def analyze(image: ImageInput, *, steps: Iterable[str] | None = None, top_k: int = 5, gps: bool = False,
            place: bool = False, labels: list[str] | None = None, labels_file: str | None = None,
            settings: Settings | None = None) -> Analysis:
    """All facts about one image. Steps that cannot run (a missing model) become warnings;
    an unreadable image raises InvalidImage. ``labels``/``labels_file``: classify scores these
    words (zero-shot) instead of ImageNet's classes."""
    settings = settings or get_settings()
    steps = check_steps(steps)
    options = _options(top_k, gps, place, labels, labels_file)
    from . import _video

    if _video.is_video(image):  # the facts of each keyframe
        return _video.analyze_video(image, steps, options, settings)
    loaded = load_image(image, max_side=decode_side(steps), settings=settings)
    return _analyze_loaded(loaded, steps, options, settings)


def _options(top_k: int, gps: bool, place: bool, labels: Any, labels_file: Any) -> dict[str, Any]:
    """The options steps take (each step gets those its entry function has); labels checked once."""
    options: dict[str, Any] = dict(top_k=top_k, gps=gps, place=place)
    if labels is not None or labels_file is not None:
        from ._zeroshot import parse_labels

        options["labels"] = parse_labels(labels, labels_file)
    return options


def _analyze_loaded(loaded: LoadedImage, steps: tuple[str, ...], options: dict[str, Any],
                    settings: Settings) -> Analysis:
    out = Analysis(image=ImageInfo.of(loaded))
    table = _table()
    for step in steps:
        t0 = time.perf_counter()
        try:
            _run_step(table[step], loaded, out, options, settings)
        except InvalidImage:
            raise
        except OculaError as e:  # e.g. a model not installed: the other facts still count
            out.warnings.append(f"{step} skipped: {e}")
        out.timings[step] = round(time.perf_counter() - t0, 4)
    return out


def _run_step(task: registry.Task, loaded: LoadedImage, out: Analysis, options: dict[str, Any],
              settings: Settings) -> None:
    """Run one step's entry function with the analyze options it takes (top_k, gps ...) and put
    its result where the Analysis keeps it."""
    fn = task.load()
    accepted = inspect.signature(fn).parameters
    result = fn(loaded, **{k: v for k, v in options.items() if k in accepted}, settings=settings)
    if task.step_fields:
        for field, attr in task.step_fields:
            setattr(out, field, getattr(result, attr))
    else:
        setattr(out, task.step, result)


def analyze_many(images: Iterable[ImageInput], *, steps: Iterable[str] | None = None, top_k: int = 5,
                 gps: bool = False, place: bool = False, labels: list[str] | None = None,
                 labels_file: str | None = None, jobs: int | None = None, settings: Settings | None = None,
                 on_done: Callable[[Any, Analysis | Failure], None] | None = None,
                 ) -> Iterator[tuple[Any, Analysis | Failure]]:
    """Analyse many images, yielding (input, Analysis or Failure) in input order, as
    ``describe_many`` does. ``jobs`` images are decoded and analysed at once (default: one per
    core), each worker's models on its share of ``settings.threads``; at most 2 x jobs images
    are held at a time. A bad image yields a Failure and the batch goes on."""
    settings = settings or get_settings()
    steps = check_steps(steps)
    options = _options(top_k, gps, place, labels, labels_file)
    side = decode_side(steps)
    workers = max(1, jobs) if jobs else default_workers(settings)
    per_worker = worker_settings(settings, workers)
    from . import _video

    def one(src: ImageInput) -> Analysis | Failure:
        if _video.is_video(src):  # keyframe by keyframe
            return _video.analyze_video_item(src, steps, options, per_worker)
        try:
            loaded = load_image(src, max_side=side, settings=per_worker)
        except InvalidImage as e:
            return Failure(source=e.source, error=e.reason, kind="InvalidImage")
        try:
            return _analyze_loaded(loaded, steps, options, per_worker)
        except InvalidImage as e:
            return Failure(source=e.source, error=e.reason)
        except OculaError as e:
            return Failure(source=loaded.source, error=str(e), kind=type(e).__name__)
        except Exception as e:  # a step's bug on one odd image must not end the batch
            return Failure(source=loaded.source, error=f"internal error ({type(e).__name__}: {e})",
                           kind=type(e).__name__)
        finally:
            loaded._cache.clear()

    for src, item in ordered_map(one, images, workers=workers):
        if on_done:
            on_done(src, item)
        yield src, item
