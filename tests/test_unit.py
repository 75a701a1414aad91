"""Runs the C unit tests (cmocka), from the release and the sanitizer build."""

import os
import re
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
    # The plain report format, whatever CMOCKA_MESSAGE_OUTPUT the caller has:
    # skipped() parses it.
    res = subprocess.run([binary], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, **SANITIZER_ENV,
                                  CMOCKA_MESSAGE_OUTPUT="stdout"))
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "[  PASSED  ]" in out and "FAILED" not in out, out
    names = skipped(out)
    if not names:
        return
    # cmocka counts a skip() as a pass: never let one pass silently.  make
    # check runs as root, where every prerequisite is there, so a skip there
    # hides a test that did not run.
    msg = f"{name}: cmocka skipped {len(names)} test(s): {', '.join(names)}"
    if os.geteuid() == 0:
        pytest.fail(f"{msg} (running as root, where nothing may skip)\n{out}")
    pytest.skip(msg)


SKIPPED_RE = re.compile(r"^\[  SKIPPED \] (.+?)\s*$", re.MULTILINE)
SKIPPED_COUNT_RE = re.compile(r"^\[  SKIPPED \] (\d+) test\(s\), listed below:",
                              re.MULTILINE)


def skipped(out):
    """The names of the tests cmocka skipped, from its output: a
    "[  SKIPPED ] NAME" line as each runs, then a summary
    "[  SKIPPED ] N test(s), listed below:" that names them again."""
    names = []
    for m in SKIPPED_RE.finditer(out):
        n = m.group(1)
        if not SKIPPED_COUNT_RE.match(m.group(0)) and n not in names:
            names.append(n)
    counts = [int(c) for c in SKIPPED_COUNT_RE.findall(out)]
    if counts and max(counts) > len(names):      # a count without its names
        names += [f"<{max(counts) - len(names)} unnamed>"]
    return names
