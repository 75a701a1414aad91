"""A short run of every fuzz target (libFuzzer, ASan + UBSan): a crash,
sanitizer report, leak or timeout fails the test.  `make fuzz` runs longer."""

import subprocess

import pytest

from vswlab import BUILD_ROOT, ROOT

FUZZ_BUILD = BUILD_ROOT / "fuzz"
TARGETS = sorted(p.stem for p in (ROOT / "tests" / "fuzz").glob("fuzz-*.c"))
SECONDS = 10


def test_fuzz_targets_exist():
    assert TARGETS, "no fuzz targets under tests/fuzz"


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz(target):
    binary = FUZZ_BUILD / "fuzz" / target
    assert binary.exists(), f"{binary} not built: run 'make check'"
    res = subprocess.run(["sh", ROOT / "tests" / "fuzz" / "run.sh", FUZZ_BUILD, target,
                          str(SECONDS)], capture_output=True, text=True,
                         timeout=SECONDS * 6 + 60)
    tail = res.stderr[-4000:]
    assert res.returncode == 0, tail
    assert "Done " in res.stderr, tail
