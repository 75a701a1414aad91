"""The benchmarks run and report what they promise; no speed is asserted.

The MAC table micro-benchmark (tests/bench/mac-bench.c) runs in both builds:
a row per size with the table's memory per entry and positive rates.  The
namespace benchmark (tests/bench/bench.sh) makes one short run of its
"single" shape: the Linux bridge and one offload variant of vswitchd are set
up, measured (the latency tests in each CPU placement), tabulated, written
to the TSV files and torn down.  The ratios `make bench-peers` prints
(tests/bench/peers-ratios.sh) are checked on a made-up run.  `make
mac-bench` and `make bench` print real figures."""

import csv
import os
import re
import shutil
import subprocess
import tempfile
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
    tap-tso off, the latency tests in the three CPU placements (the
    processes pinned as they say); about 50 s."""
    results = tmp_path / "results"
    env = dict(os.environ, FAST="1", SHAPES="single", VARIANTS="tap-tso", KEEP="1",
               MAC_BENCH="", RESULTS=str(results),
               VSWITCHD=str(BUILDS["release"] / "vswitchd"),
               VSWCTL=str(BUILDS["release"] / "vswctl"))
    proc = subprocess.Popen(["sh", ROOT / "tests" / "bench" / "bench.sh"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=240)
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
        sockperf = shutil.which("sockperf") is not None
        trafgen = shutil.which("trafgen") is not None
        # the L2 flood beside UDP64, with its ratio
        header = next(l for l in out.splitlines() if l.startswith("system "))
        assert "L2 64B kpps" in header, header
        vsw_row = next(l for l in out.splitlines() if l.startswith("vswitchd tap-tso off"))
        cells = re.findall(r"(\S+(?: \([\d.]+\))?)", vsw_row[len("vswitchd tap-tso off"):])
        assert re.fullmatch(r"[\d.]+ \([\d.]+\)", cells[3]) if trafgen else cells[3] == "n/a", cells
        # the latency table: a column per placement and test, ratios on vswitchd's
        lat = out.split("\nlatency, us", 1)[1].splitlines()
        assert lat[0].split() == ["ping", "same", "ping", "split", "ping", "free",
                                  "sockperf", "same", "sockperf", "split", "sockperf", "free"], lat[0]
        assert re.fullmatch(r"bridge(?: +\d+){3}(?: +(?:\d+|n/a)){3}", lat[1].rstrip()), lat[1]
        m = re.fullmatch(r"vswitchd tap-tso off((?: +\d+ \([\d.]+\)){3})((?: +\d+ \([\d.]+\)){3}| +n/a +n/a +n/a)",
                         lat[2].rstrip())
        assert m and (sockperf == ("(" in m.group(2))), lat[2]

        # the summary TSV: medians of every figure, ratios, RSS
        [summary] = [p for p in results.glob("bench-*.tsv") if not p.name.endswith(".raw.tsv")]
        rows = list(csv.DictReader(summary.open(), delimiter="\t"))
        assert [(r["shape"], r["system"], r["variant"]) for r in rows] == \
            [("single", "bridge", "-"), ("single", "vswitchd", "tap-tso")], rows
        for r in rows:
            assert r["reps"] == "1"
            for key in ("tcp1_gbps", "tcp4_gbps", "udp64_kpps", "ping_us", "host_cpu_s_per_gb",
                        "ping_same_us", "ping_split_us"):
                assert float(r[key]) > 0, (key, r)
            for key in ("sockperf_us", "sockperf_same_us", "sockperf_split_us"):
                assert (float(r[key]) > 0) if sockperf else r[key] == "NA", (key, r)
            assert (float(r["l2flood_kpps"]) > 0) if trafgen else r["l2flood_kpps"] == "NA", r
        kernel, vsw = rows
        assert kernel["vsw_cpu_s_per_gb"] == kernel["rss_idle_mib"] == kernel["tcp1_ratio"] == "NA"
        assert float(vsw["vsw_cpu_s_per_gb"]) > 0
        assert 0 < float(vsw["rss_idle_mib"]) <= float(vsw["rss_peak_mib"])
        assert float(vsw["tcp1_ratio"]) == pytest.approx(
            float(vsw["tcp1_gbps"]) / float(kernel["tcp1_gbps"]), abs=0.01)
        # each placement's ratio is to the kernel in the same placement
        pairs = [("ping_same", "ping_same_us"), ("ping_split", "ping_split_us"),
                 ("ping", "ping_us")]
        if sockperf:
            pairs += [("sockperf_same", "sockperf_same_us"), ("sockperf_split", "sockperf_split_us")]
        if trafgen:
            pairs += [("l2flood", "l2flood_kpps")]
        for ratio, key in pairs:
            assert float(vsw[ratio + "_ratio"]) == pytest.approx(
                float(vsw[key]) / float(kernel[key]), abs=0.01), (ratio, vsw, kernel)

        # the raw TSV: every figure of the rep
        [raw] = results.glob("bench-*.raw.tsv")
        figures = {(r["system"], r["figure"]) for r in csv.DictReader(raw.open(), delimiter="\t")}
        for f in ("tcp1", "tcp4", "udp", "host_s_gb", "ping_same", "ping_split", "ping_free") + \
                (("sp_same", "sp_split", "sp_free") if sockperf else ()) + \
                (("l2", "l2_tx") if trafgen else ()):
            assert ("bridge", f) in figures and ("vswitchd", f) in figures, figures
        assert ("vswitchd", "cpu_s_gb") in figures and ("vswitchd", "rss_peak_kib") in figures

        # the variant reached the daemon: tap-tso off, the other switches on
        assert work, err
        log = open(os.path.join(work, "single", "v1", "setup.log")).read()
        assert re.search(r"offloads: .*tap-tso off", log), log
        assert re.search(r"offloads: .*tap-csum on", log), log
        assert re.search(r"offloads: .*tcp-gro on", log), log

        # the placements pinned the daemon (all its threads) and the sockperf
        # server where they say; the kernel's row has no daemon to pin
        cpus = re.search(r"same = daemons and endpoints on CPU (\d+); "
                         r"split = daemons on CPU (\d+), endpoints on CPU (\d+)", out)
        assert cpus and cpus.group(1) == cpus.group(3) != cpus.group(2), out
        a, b = cpus.group(1), cpus.group(2)
        place = open(os.path.join(work, "single", "v1", "place.log")).read()
        assert re.search(rf"^same: daemon pid \d+'s current affinity list: {a}$", place, re.M), place
        assert re.search(rf"^split: daemon pid \d+'s current affinity list: {b}$", place, re.M), place
        assert re.search(r"^free: daemon pid \d+'s current affinity list: \d+[-,]\d+", place, re.M), place
        assert re.search(rf"^split: ping and sockperf client on {a}$", place, re.M), place
        if sockperf:
            assert re.search(rf"^split: sockperf server pid \d+'s current affinity list: {a}$",
                             place, re.M), place
        kplace = open(os.path.join(work, "single", "k", "place.log")).read()
        assert "daemon" not in kplace and f"same: ping and sockperf client on {a}" in kplace, kplace
    finally:
        if work and work.startswith("/tmp/vswitch-bench."):
            shutil.rmtree(work, ignore_errors=True)


def test_bench_placements_checked(tmp_path):
    """An unknown placement stops the run before anything is set up."""
    env = dict(os.environ, FAST="1", SHAPES="single", PLACEMENTS="same elsewhere",
               MAC_BENCH="", RESULTS=str(tmp_path),
               VSWITCHD=str(BUILDS["release"] / "vswitchd"),
               VSWCTL=str(BUILDS["release"] / "vswctl"))
    res = subprocess.run(["sh", ROOT / "tests" / "bench" / "bench.sh"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "unknown placement 'elsewhere' (same split free)" in res.stderr
    assert res.stdout == "" and list(tmp_path.iterdir()) == []


def test_bench_system_shape_smoke(tmp_path):
    """FAST=1 on the "system" shape: the bridge and vswitchd on the same
    veths, their near ends attached as system ports; measured (latency
    unpinned only: the placements are test_bench_script_smoke's), cleaned up."""
    results = tmp_path / "results"
    env = dict(os.environ, FAST="1", SHAPES="system", VARIANTS="on", PLACEMENTS="free",
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
    wireguard-go processes gone with their sockets; latency unpinned only;
    about 40 s."""
    results = tmp_path / "results"
    env = dict(os.environ, FAST="1", SHAPES="wg wgvxlan", VARIANTS="on", PLACEMENTS="free",
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


def test_peers_ratios():
    """tests/bench/peers-ratios.sh turns a peers.sh run's TSV into medians
    and ratios to the kernel of the run: the bridge for one-switch systems,
    the kernel's vxlan for two-host ones (those with an underlay MTU), the
    L2 flood also to VDE2's; a failed system says so."""
    rows = []
    def system(name, mtu, reps):
        rows.extend([(name, "note", "0", name + " setup"), (name, "mtu", "0", mtu)])
        for r, figures in enumerate(reps, 1):
            rows.extend((name, k, str(r), str(v)) for k, v in figures.items())
    def rep(tcp, udp, l2, ping, sp):
        return dict(tcp_gbps=tcp, udp_rx_kpps=udp, l2_rx_kpps=l2, ping_us=ping, sp_rtt_us=sp, sw_cpu="NA")
    system("bridge", "ep=1500", [rep(10, 180, 600, 40, 30), rep(12, 200, 700, 50, 30),
                                 rep(11, 190, 650, 45, 32)])
    system("vxlan", "ep=1500,ul=1600", [rep(8, 100, 300, 80, 40)])
    system("vde", "ep=1500", [rep(1, 50, 130, 120, 70)])
    system("vswitch", "ep=1500", [rep(5.5, 95, 260, 90, 45), rep(5, 90, 270, 100, 60),
                                  rep(6, 99, 250, 95, 50)])
    system("vswitch_vxlan", "ep=1500,ul=1600", [rep(4, 50, 150, 160, 60)])
    rows.append(("tinc", "error", "0", "setup failed: no tincd"))
    with tempfile.NamedTemporaryFile("w", suffix=".tsv") as f:
        f.write("".join("\t".join(r) + "\n" for r in rows))
        f.flush()
        res = subprocess.run(["sh", ROOT / "tests" / "bench" / "peers-ratios.sh", f.name],
                             capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    lines = {l.split()[0]: l.split() for l in res.stdout.splitlines() if l.strip()}
    # medians: the bridge 11 190 650 45 30, vswitch 5.5 95 260 95 50
    assert lines["bridge"][:7] == ["bridge", "-", "11.00", "190", "650", "5.00", "45"], lines["bridge"]
    assert " ".join(lines["vswitch"]) == \
        "vswitch bridge 5.50 (0.50) 95 (0.50) 260 (0.40) 2.00 95 (2.11) 50 (1.67)", lines["vswitch"]
    assert " ".join(lines["vswitch_vxlan"]) == \
        "vswitch_vxlan vxlan 4.00 (0.50) 50 (0.50) 150 (0.50) 1.15 160 (2.00) 60 (1.50)"
    assert " ".join(lines["tinc"]) == "tinc FAILED: setup failed: no tincd"
    res = subprocess.run(["sh", ROOT / "tests" / "bench" / "peers-ratios.sh"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 2 and "usage: peers-ratios.sh PEERS.tsv" in res.stderr
