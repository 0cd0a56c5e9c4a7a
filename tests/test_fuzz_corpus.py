"""The fuzz harness's inputs as tests: every seed (the sample photos in every format ocula reads)
decodes, and every input the fuzzer ever kept as a crash or hang (tests/fuzz/crashes/, committed
when found) now gives an image or one InvalidImage line, through the same target `make fuzz` runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parent / "fuzz"
sys.path.insert(0, str(FUZZ))

import corpus  # noqa: E402
import targets  # noqa: E402

CRASHES = sorted(p for p in (FUZZ / "crashes").glob("*") if p.is_file() and not p.name.startswith("."))


@pytest.mark.parametrize("name,data", list(corpus.seeds()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_seed_decodes(name, data):
    from ocula.image import load_image

    if name.endswith(".heic"):
        pytest.importorskip("pillow_heif")
    li = load_image(data, settings=targets.settings())
    assert li.image.mode == "RGB" and li.width > 0
    targets.one_input(data)


@pytest.mark.parametrize("path", CRASHES, ids=[p.name for p in CRASHES])
def test_fuzzer_findings_stay_fixed(path):
    targets.one_input(path.read_bytes())


def test_findings_folder_is_there():
    assert (FUZZ / "crashes").is_dir()  # where `make fuzz` leaves what it finds
