"""The memory contract (README "Limits"): on the default settings, no image step takes more than
1.5 GiB, whatever the input the limits accept. Checked by running the worst inputs found so far
(extreme aspect ratios, a JPEG whose header lies, 81-100 MP images in a few hundred kB, full-size
alpha and 16-bit) through every default analyze step, and through the full-resolution load the
editing tasks use, in a child process whose heap is capped with setrlimit(RLIMIT_DATA): an
allocation over the contract fails there instead of being measured afterwards."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import pytest

from hostile import worst_inputs

pytestmark = pytest.mark.slow

CONTRACT = int(1.5 * 2**30)  # bytes of heap (anonymous, writable memory) per process

CHILD = r"""
import json, sys
import numpy as np
import ocula
from ocula.backends import rapidocr
from ocula.errors import InvalidImage
from ocula.image import load_image

report = {}
for path in sys.argv[1:]:
    name = path.rsplit("/", 1)[-1]
    try:
        a = ocula.analyze(path)  # every default step, the image decoded once
        full = load_image(path)  # the full-resolution path of upscale, denoise, watermark ...
        report[name] = f"analysed {a.image.width}x{a.image.height}, full size {full.size}"
        del a, full
    except InvalidImage as e:
        report[name] = f"refused: {e.reason}"
    except MemoryError as e:
        report[name] = f"MEMORY: {e}"
# the OCR engine itself on a 1 px strip (the task skips such strips; the backend must be bounded too)
try:
    rapidocr.read(np.full((1, 2560, 3), 200, np.uint8), threads=2)
    report["rapidocr 2560x1"] = "read"
except Exception as e:
    report["rapidocr 2560x1"] = f"MEMORY: {type(e).__name__}: {e}"
# VmHWM, this process's own peak: ru_maxrss carries over the RSS of the process that forked it
# (pytest's, over a gigabyte late in a full run) across exec
report["maxrss_mb"] = next(int(line.split()[1]) for line in open("/proc/self/status")
                           if line.startswith("VmHWM:")) // 1024
print(json.dumps(report))
"""


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_DATA, (CONTRACT, CONTRACT))


@pytest.mark.parametrize("name", list(worst_inputs()))
def test_worst_inputs_stay_within_the_memory_contract(tmp_path, name):
    """One input per child: the contract is per image (models included); a batch gives memory
    back between images but its heap fragments, which a cap on it would measure as noise."""
    p = tmp_path / name
    p.write_bytes(worst_inputs()[name])
    proc = subprocess.run([sys.executable, "-c", CHILD, str(p)], capture_output=True, text=True, timeout=600,
                          preexec_fn=_cap)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    print(name, json.dumps(report))
    over = {k: v for k, v in report.items() if isinstance(v, str) and "MEMORY" in v}
    assert not over, over
    assert report["maxrss_mb"] * 2**20 <= CONTRACT, report
    assert report[name].startswith("analysed "), report
