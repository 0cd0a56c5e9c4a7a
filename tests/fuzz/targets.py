"""What the fuzzer feeds: bytes -> the image loader -> analyze. Expected outcomes are a
decoded image or an ``InvalidImage`` (one line); anything else raised is a crash, and the
fuzzer keeps the input (tests/fuzz/crashes/ then replays it in tests/test_fuzz_corpus.py).

Settings are the defaults except a 4 MP pixel limit: a header claiming 100 MP would decode for
a second and tell the fuzzer nothing new (tests/test_limits.py checks the large inputs)."""

from __future__ import annotations

from functools import lru_cache

# analyze steps that run on every decoded input: pure-Python/numpy/OpenCV code over pixels and
# metadata, cheap enough for thousands of executions a minute (models are covered elsewhere)
STEPS = ("colors", "quality", "metadata")
MAX_PIXELS = 4_000_000


@lru_cache(maxsize=1)
def settings():
    from ocula.config import load_settings

    return load_settings(max_pixels=MAX_PIXELS)


def one_input(data: bytes) -> None:
    """Raise only for a real defect; return for an image or a clearly refused input."""
    from ocula.errors import InvalidImage
    from ocula.image import load_image
    from ocula.tasks.analyze import analyze

    s = settings()
    for max_side in (None, 64):
        try:
            loaded = load_image(data, max_side=max_side, settings=s)
        except InvalidImage as e:
            if not e.reason or "\n" in e.reason:
                raise AssertionError(f"InvalidImage reason is not one line: {e.reason!r}") from None
            return
        w, h = loaded.size
        if loaded.image.mode != "RGB" or w < 1 or h < 1:
            raise AssertionError(f"loader returned mode {loaded.image.mode} size {loaded.size}")
        if max_side and max(w, h) > 2 * max_side and max(loaded.original_size) > 2 * max_side \
                and loaded.format not in ("JPEG", "MPO"):  # JPEG drafts: at most 8x smaller
            raise AssertionError(f"asked for {max_side} px, got {loaded.size} of {loaded.original_size}")
        if loaded.alpha is not None and loaded.alpha.size != loaded.size:
            raise AssertionError(f"alpha {loaded.alpha.size} does not match the image {loaded.size}")
    try:
        analyze(data, steps=STEPS, settings=s)
    except InvalidImage:
        pass
