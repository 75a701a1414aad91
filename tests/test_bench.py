"""The MAC table micro-benchmark (tests/bench/mac-bench.c) runs in both builds
and reports what it promises: a row per size with the table's memory per entry
and positive rates.  No speed is asserted; `make mac-bench` prints real figures."""

import os
import subprocess

import pytest

from vswlab import BUILDS, SANITIZER_ENV


def run_bench(build, *args):
    binary = BUILDS[build] / "bench" / "mac-bench"
    assert binary.exists(), f"{binary} not built: run 'make check'"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, **SANITIZER_ENV))


@pytest.mark.parametrize("build", list(BUILDS))
def test_mac_bench_quick(build):
    res = run_bench(build, "--quick")
    assert res.returncode == 0, res.stdout + res.stderr
    rows = []
    for line in res.stdout.splitlines():
        fields = line.split()
        if len(fields) == 7 and fields[0].isdigit():
            rows.append([float(f) for f in fields])
    assert [int(r[0]) for r in rows] == [1024, 65536], res.stdout
    for entries, bytes_per_entry, *rates in rows:
        # A 48-byte slot and two 4-byte buckets per entry, plus small change.
        assert 56 <= bytes_per_entry <= 64, res.stdout
        assert all(r > 0 for r in rates), res.stdout


@pytest.mark.parametrize("build", list(BUILDS))
def test_mac_bench_usage(build):
    res = run_bench(build, "--bogus")
    assert res.returncode == 2
    assert "usage: mac-bench [--quick]" in res.stderr
