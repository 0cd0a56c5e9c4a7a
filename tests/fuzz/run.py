"""`make fuzz`: coverage-guided fuzzing of the image loader and analyze (tests/fuzz/targets.py).

Atheris (libFuzzer for Python) drives it when installed (the ``fuzz`` extra): Pillow's plugins
and ocula's loader are instrumented, so inputs that reach new code are kept and mutated further.
Without Atheris, a plain random-mutation loop over the same seeds runs instead (no coverage).

    python tests/fuzz/run.py --seconds 600          # make fuzz
    python tests/fuzz/run.py --seconds 90           # make fuzz-ci (.ci/run)

The seed corpus is written to .fuzz/seeds (sample photos in every format, tests/fuzz/corpus.py)
and what the fuzzer learns goes to .fuzz/corpus. A crash, a hang (over --timeout seconds for
one input) or an input that needs more than the memory contract (1.5 GiB) stops the run with
a non-zero exit and leaves the input in tests/fuzz/crashes/: commit it, and
tests/test_fuzz_corpus.py replays it from then on, fixed or failing.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CRASHES = HERE / "crashes"
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT / "src")]


def _instrumented():
    import atheris

    with atheris.instrument_imports(include=["PIL", "ocula.image", "ocula.tasks.colors", "ocula.tasks.quality",
                                             "ocula.tasks.metadata"]):
        from PIL import (BmpImagePlugin, GifImagePlugin, Image, JpegImagePlugin, MpoImagePlugin,  # noqa: F401
                         PngImagePlugin, TiffImagePlugin, WebPImagePlugin)
        import ocula.image  # noqa: F401
        import ocula.tasks.colors  # noqa: F401
        import ocula.tasks.metadata  # noqa: F401
        import ocula.tasks.quality  # noqa: F401
    return atheris


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=600, help="how long to fuzz")
    ap.add_argument("--timeout", type=int, default=20, help="seconds one input may take before it is a hang")
    ap.add_argument("--work", default=str(ROOT / ".fuzz"), help="seeds and the learnt corpus go here")
    args, rest = ap.parse_known_args()
    work = Path(args.work)
    try:
        atheris = _instrumented()  # first: only modules imported after this are instrumented
    except ImportError:
        atheris = None
    import corpus
    import targets

    n = corpus.write(work / "seeds")
    (work / "corpus").mkdir(parents=True, exist_ok=True)
    CRASHES.mkdir(exist_ok=True)
    print(f"fuzz: {n} seed files in {work / 'seeds'}, {args.seconds} s", flush=True)
    if atheris is None:
        return _random_mutation(work, args.seconds)

    targets.settings()  # load once, outside the timed inputs
    libfuzzer = [sys.argv[0], str(work / "corpus"), str(work / "seeds"), str(CRASHES),
                 f"-max_total_time={args.seconds}", f"-timeout={args.timeout}", "-rss_limit_mb=1536",
                 "-max_len=131072", f"-artifact_prefix={CRASHES}{os.sep}", "-print_final_stats=1", *rest]
    atheris.Setup(libfuzzer, targets.one_input)
    atheris.Fuzz()  # exits the process: 0 when the time is up, non-zero with the crashing input saved
    return 0


def _random_mutation(work: Path, seconds: int) -> int:
    """The fallback without Atheris: random edits of the seeds (hostile.mutate), no coverage."""
    import hashlib
    import traceback

    import targets
    from hostile import mutate

    print("fuzz: atheris is not installed (pip install 'ocula[fuzz]'); random mutation only", flush=True)
    seeds = [p.read_bytes() for p in sorted((work / "seeds").iterdir())]
    rnd = random.Random(int(time.time()))
    end, runs = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        data = rnd.choice(seeds)
        for _ in range(rnd.randint(1, 4)):
            data = mutate(data, rnd) if len(data) > 9 else data
        runs += 1
        try:
            targets.one_input(data)
        except Exception:
            path = CRASHES / f"crash-{hashlib.sha1(data).hexdigest()}"
            path.write_bytes(data)
            traceback.print_exc()
            print(f"fuzz: crash after {runs} inputs, saved to {path}", flush=True)
            return 1
    print(f"fuzz: {runs} inputs, no crash", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
