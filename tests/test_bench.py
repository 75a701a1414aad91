"""The benchmarks run and report what they promise; no speed is asserted.

The MAC table micro-benchmark (tests/bench/mac-bench.c) runs in both builds:
a row per size with the table's memory per entry and positive rates.  The
namespace benchmark (tests/bench/bench.sh) makes one short run of its
"single" shape: the Linux bridge and one offload variant of vswitchd are set
up, measured, tabulated, written to the TSV files and torn down.  `make
mac-bench` and `make bench` print real figures."""

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from vswlab import BUILDS, ROOT, SANITIZER_ENV


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


def ours(prefix):
    """Namespaces and root-namespace links whose names start with prefix."""
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names = [l.split()[0] for l in ns.splitlines() if l.strip()]
    names += [l.split(": ")[1].split("@")[0] for l in links.splitlines()]
    return [n for n in names if n.startswith(prefix)]


def test_bench_script_smoke(tmp_path):
    """FAST=1: one rep of one second per figure, bridge and vswitchd with
    tap-tso off; about 20 s."""
    results = tmp_path / "results"
    env = dict(os.environ, FAST="1", SHAPES="single", VARIANTS="tap-tso", KEEP="1",
               MAC_BENCH="", RESULTS=str(results),
               VSWITCHD=str(BUILDS["release"] / "vswitchd"),
               VSWCTL=str(BUILDS["release"] / "vswctl"))
    proc = subprocess.Popen(["sh", ROOT / "tests" / "bench" / "bench.sh"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()  # its EXIT trap does not run: clean up after it below
        out, err = proc.communicate()
    prefix = f"vb{proc.pid}"
    leftovers = ours(prefix)
    for n in leftovers:
        subprocess.run(["ip", "netns", "del", n], capture_output=True)
        subprocess.run(["ip", "link", "del", n], capture_output=True)
    kept = re.search(r"work directory kept: (\S+)", err)
    work = kept.group(1) if kept else None
    try:
        assert proc.returncode == 0, out + err
        assert leftovers == [], "not cleaned up: " + " ".join(leftovers)

        # the table: a row per system, ratios on vswitchd's
        assert 'shape "single"' in out, out
        assert re.search(r"^bridge +\d", out, re.M), out
        assert re.search(r"^vswitchd tap-tso off +[\d.]+ \([\d.]+\)", out, re.M), out

        # the summary TSV: medians of every figure, ratios, RSS
        [summary] = [p for p in results.glob("bench-*.tsv") if not p.name.endswith(".raw.tsv")]
        rows = list(csv.DictReader(summary.open(), delimiter="\t"))
        assert [(r["shape"], r["system"], r["variant"]) for r in rows] == \
            [("single", "bridge", "-"), ("single", "vswitchd", "tap-tso")], rows
        sockperf = shutil.which("sockperf") is not None
        for r in rows:
            assert r["reps"] == "1"
            for key in ("tcp1_gbps", "tcp4_gbps", "udp64_kpps", "ping_us", "host_cpu_s_per_gb"):
                assert float(r[key]) > 0, (key, r)
            assert (float(r["sockperf_us"]) > 0) if sockperf else r["sockperf_us"] == "NA", r
        kernel, vsw = rows
        assert kernel["vsw_cpu_s_per_gb"] == kernel["rss_idle_mib"] == kernel["tcp1_ratio"] == "NA"
        assert float(vsw["vsw_cpu_s_per_gb"]) > 0
        assert 0 < float(vsw["rss_idle_mib"]) <= float(vsw["rss_peak_mib"])
        assert float(vsw["tcp1_ratio"]) == pytest.approx(
            float(vsw["tcp1_gbps"]) / float(kernel["tcp1_gbps"]), abs=0.01)

        # the raw TSV: every figure of the rep
        [raw] = results.glob("bench-*.raw.tsv")
        figures = {(r["system"], r["figure"]) for r in csv.DictReader(raw.open(), delimiter="\t")}
        for f in ("tcp1", "tcp4", "udp", "ping", "host_s_gb"):
            assert ("bridge", f) in figures and ("vswitchd", f) in figures, figures
        assert ("vswitchd", "cpu_s_gb") in figures and ("vswitchd", "rss_peak_kib") in figures

        # the variant reached the daemon: tap-tso off, the other switches on
        assert work, err
        log = open(os.path.join(work, "single", "v1", "setup.log")).read()
        assert re.search(r"offloads: .*tap-tso off", log), log
        assert re.search(r"offloads: .*tap-csum on", log), log
        assert re.search(r"offloads: .*tcp-gro on", log), log
    finally:
        if work and work.startswith("/tmp/vswitch-bench."):
            shutil.rmtree(work, ignore_errors=True)


def test_bench_system_shape_smoke(tmp_path):
    """FAST=1 on the "system" shape: the bridge and vswitchd on the same
    veths, their near ends attached as system ports; measured, cleaned up."""
    results = tmp_path / "results"
    env = dict(os.environ, FAST="1", SHAPES="system", VARIANTS="on",
               MAC_BENCH="", RESULTS=str(results),
               VSWITCHD=str(BUILDS["release"] / "vswitchd"),
               VSWCTL=str(BUILDS["release"] / "vswctl"))
    proc = subprocess.Popen(["sh", ROOT / "tests" / "bench" / "bench.sh"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    leftovers = ours(f"vb{proc.pid}")
    for n in leftovers:
        subprocess.run(["ip", "netns", "del", n], capture_output=True)
        subprocess.run(["ip", "link", "del", n], capture_output=True)
    assert proc.returncode == 0, out + err
    assert leftovers == [], "not cleaned up: " + " ".join(leftovers)
    assert 'shape "system"' in out, out
    [summary] = [p for p in results.glob("bench-*.tsv") if not p.name.endswith(".raw.tsv")]
    rows = list(csv.DictReader(summary.open(), delimiter="\t"))
    assert [(r["shape"], r["system"]) for r in rows] == \
        [("system", "bridge"), ("system", "vswitchd")], rows
    for r in rows:
        for key in ("tcp1_gbps", "udp64_kpps", "ping_us"):
            assert float(r[key]) > 0, (key, r)


def test_bench_wireguard_shapes_smoke(tmp_path):
    """FAST=1 on the WireGuard shapes: wireguard-go and vswitchd, routed
    (wg) and VXLAN inside WireGuard (wgvxlan); measured, cleaned up, the
    wireguard-go processes gone with their sockets; about 40 s."""
    results = tmp_path / "results"
    env = dict(os.environ, FAST="1", SHAPES="wg wgvxlan", VARIANTS="on",
               MAC_BENCH="", RESULTS=str(results),
               VSWITCHD=str(BUILDS["release"] / "vswitchd"),
               VSWCTL=str(BUILDS["release"] / "vswctl"))
    proc = subprocess.Popen(["sh", ROOT / "tests" / "bench" / "bench.sh"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    prefix = f"vb{proc.pid}"
    leftovers = ours(prefix)
    for n in leftovers:
        subprocess.run(["ip", "netns", "del", n], capture_output=True)
        subprocess.run(["ip", "link", "del", n], capture_output=True)
    wg_socks = [p.name for p in Path("/var/run/wireguard").glob(f"{prefix}*")]
    assert proc.returncode == 0, out + err
    assert leftovers == [] and wg_socks == [], "not cleaned up: " + " ".join(leftovers + wg_socks)
    [summary] = [p for p in results.glob("bench-*.tsv") if not p.name.endswith(".raw.tsv")]
    rows = list(csv.DictReader(summary.open(), delimiter="\t"))
    assert [(r["shape"], r["system"]) for r in rows] == \
        [("wg", "wireguard-go"), ("wg", "vswitchd"),
         ("wgvxlan", "wireguard-go"), ("wgvxlan", "vswitchd")], rows
    for r in rows:
        for key in ("tcp1_gbps", "tcp4_gbps", "udp64_kpps", "ping_us", "vsw_cpu_s_per_gb"):
            assert float(r[key]) > 0, (key, r)
    for r in rows[1::2]:
        assert float(r["tcp1_ratio"]) > 0, r


def test_bench_vhost_shape_smoke(tmp_path):
    """FAST=1 on the "vhost" shape: DPDK's testpmd as the guest of a
    vhost-user port (virtio_user, --no-huge) and on a tap beside it, both
    sending into a tap endpoint; measured, tabulated, cleaned up, no testpmd
    left running; about 30 s."""
    results = tmp_path / "results"
    env = dict(os.environ, FAST="1", SHAPES="vhost", MAC_BENCH="", RESULTS=str(results),
               VSWITCHD=str(BUILDS["release"] / "vswitchd"),
               VSWCTL=str(BUILDS["release"] / "vswctl"))
    proc = subprocess.Popen(["sh", ROOT / "tests" / "bench" / "bench.sh"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    prefix = f"vb{proc.pid}"
    leftovers = ours(prefix)
    for n in leftovers:
        subprocess.run(["ip", "netns", "del", n], capture_output=True)
        subprocess.run(["ip", "link", "del", n], capture_output=True)
    testpmds = []
    for c in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if f"--file-prefix={prefix}".encode() in c.read_bytes():
                testpmds.append(c.parent.name)
        except OSError:
            pass
    assert proc.returncode == 0, out + err
    assert leftovers == [] and testpmds == [], "not cleaned up: " + " ".join(leftovers + testpmds)
    assert list(Path("/var/run/dpdk").glob(f"{prefix}*")) == []
    assert 'shape "vhost"' in out, out
    table = out.split('shape "vhost"', 1)[1]
    for row in ("tap port", "vhost-user port"):
        line = next(l for l in table.splitlines() if l.startswith(row))
        figures = re.findall(r"(?<![(\d.])\d+\.\d+(?![\d)])", line[len(row):])
        assert len(figures) == 4 and all(float(v) > 0 for v in figures), line
    [raw] = list(results.glob("bench-*.raw.tsv"))
    rows = [r for r in csv.DictReader(raw.open(), delimiter="\t") if r["shape"] == "vhost"]
    got = {(r["system"], r["figure"]) for r in rows if float(r["value"]) > 0}
    for system in ("vswitchd tap", "vswitchd vhost-user"):
        for figure in ("b-pps64", "b-gbps1500", "sink-pps64", "sink-gbps1500"):
            assert (system, figure) in got, (system, figure, rows)
