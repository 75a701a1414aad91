"""Runs the C unit tests (cmocka), from the release and the sanitizer build."""

import os
import subprocess

import pytest

from vswlab import BUILDS, ROOT, SANITIZER_ENV

UNIT_NAMES = sorted(p.stem for p in (ROOT / "tests" / "unit").glob("test-*.c"))


def test_unit_tests_exist():
    assert UNIT_NAMES, "no C unit tests found under tests/unit"


@pytest.mark.parametrize("build", list(BUILDS))
@pytest.mark.parametrize("name", UNIT_NAMES)
def test_unit(build, name):
    binary = BUILDS[build] / "tests" / name
    assert binary.exists(), f"{binary} not built: run 'make check'"
    res = subprocess.run([binary], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, **SANITIZER_ENV))
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "[  PASSED  ]" in out and "FAILED" not in out, out
