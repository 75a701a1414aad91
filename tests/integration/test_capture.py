"""Packet captures: files, streams to tcpdump, filters, limits and the rule
that the daemon writes only where the client could.

    ns A (198.19.0.1)        ns S: vswitchd            ns B (198.19.0.2)
      tapA  <--- fd --->  [ tapA  switch  tapB ]  <--- fd --->  tapB
                                  |
                   capture on tapA or tapB --> a descriptor vswctl passed:
                   a file it opened, or its stdout piped to tcpdump
"""

import json
import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from test_tunnel_router import two_hosts as routed_hosts  # the L3 tunnel set-up
from tunlab import connected, two_hosts
from vswlab import (SANITIZER_ENV, c_define, eth_frame, ping, port_stats, raw_send, sh,
                    two_endpoints, wait_until)

MAGIC = 0x56535731
NOBODY = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"]
CAPTURE_MAX = 8


def captures(d):
    return d.ctl("capture", "show", json_out=True)["captures"]


def vswctl(d, *args):
    """The vswctl command line for daemon d, outside any namespace: the
    control socket is a path, the taps are reached through the daemon."""
    return [str(d.lab.vswctl), "--socket", str(d.sock), *map(str, args)]


def env():
    return dict(os.environ, **SANITIZER_ENV)


def tcpdump_read(path, *filter_args):
    """(packet lines, stderr) of tcpdump -r; stderr names the link type."""
    res = sh("tcpdump", "-nn", "-r", path, *filter_args)
    return [l for l in res.stdout.splitlines() if l.strip()], res.stderr


def tshark_fields(path, *fields, opts=()):
    args = ["tshark", "-r", path, *opts, "-T", "fields"]
    for f in fields:
        args += ["-e", f]
    res = sh(*args)
    return [l.split("\t") for l in res.stdout.splitlines() if l.strip()]


def stream(lab, d, port, *args, stdout=subprocess.PIPE):
    """vswctl capture PORT -w - ARGS, started and running; its Popen."""
    proc = subprocess.Popen(vswctl(d, "capture", port, "-w", "-", *args), stdout=stdout,
                            stderr=subprocess.PIPE, text=True, env=env())
    lab.procs.append(proc)
    wait_running(d)
    return proc


def wait_running(d, n=1):
    wait_until(lambda: len([c for c in captures(d) if c["state"] == "running"]) >= n,
               what=f"{n} running capture(s)")


def test_capture_ping_to_file(lab, tmp_path):
    d, a, b = two_endpoints(lab)
    icmp, rx = tmp_path / "icmp.pcap", tmp_path / "rx.pcap"
    out = d.ctl("capture", "start", a.port, "-w", icmp, "filter", "icmp").stdout
    assert "link-type EN10MB" in out and a.port in out
    d.ctl("capture", "start", a.port, "-w", rx, "direction", "rx")
    ping(a, b.addr, count=3)          # the first one needs ARP
    ended = d.ctl("--json", "capture", "stop", a.port).stdout
    ended = json.loads(ended)["captures"]
    assert sorted(c["reason"] for c in ended) == ["stopped", "stopped"]
    assert captures(d) == []

    lines, err = tcpdump_read(icmp)
    assert "link-type EN10MB (Ethernet)" in err
    assert len(lines) == 6, lines
    assert sum("ICMP echo request" in l for l in lines) == 3
    assert sum("ICMP echo reply" in l for l in lines) == 3
    protos = tshark_fields(icmp, "frame.protocols", "ip.src", "ip.dst")
    assert all(p[0] == "eth:ethertype:ip:icmp:data" for p in protos), protos
    assert {(p[1], p[2]) for p in protos} == {(a.addr, b.addr), (b.addr, a.addr)}

    # Unfiltered and rx only: the ARP the filter left out, no replies.
    lines, _ = tcpdump_read(rx)
    assert any("ARP, Request who-has " + b.addr in l for l in lines), lines
    assert sum("ICMP echo request" in l for l in lines) == 3
    assert not any("ICMP echo reply" in l for l in lines)


def test_stream_to_tcpdump_through_a_pipe(lab, tmp_path):
    d, a, b = two_endpoints(lab)
    cmd = " ".join(vswctl(d, "capture", a.port, "-w", "-", "filter", "'icmp'",
                          "count", "4"))
    err = tmp_path / "vswctl.err"
    pipeline = subprocess.Popen(["sh", "-c", f"{cmd} 2>{err} | tcpdump -nn -r -"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env())
    lab.procs.append(pipeline)
    wait_running(d)
    ping(a, b.addr, count=3)
    out, tcpdump_err = pipeline.communicate(timeout=30)
    assert pipeline.returncode == 0, (out, tcpdump_err, err.read_text())
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) == 4 and all("ICMP echo" in l for l in lines), lines
    assert "link-type EN10MB" in tcpdump_err
    text = err.read_text()
    lab.check_sanitizer(text, "vswctl")
    assert "ended (count): 4 packets written, 0 dropped" in text, text
    assert captures(d) == []


def test_stream_ends_on_interrupt(lab, tmp_path):
    d, a, b = two_endpoints(lab)
    path = tmp_path / "stream.pcap"
    with open(path, "wb") as f:
        proc = stream(lab, d, a.port, "filter", "icmp", stdout=f)
    ping(a, b.addr, count=2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    lab.check_sanitizer(err, "vswctl")
    assert proc.returncode == 0, err
    assert "ended (interrupted): 4 packets written" in err, err
    lines, _ = tcpdump_read(path)
    assert len(lines) == 4
    assert captures(d) == []


def test_file_is_flushed_while_capturing(lab, tmp_path):
    d, a, b = two_endpoints(lab)
    path = tmp_path / "live.pcap"
    d.ctl("capture", "start", b.port, "-w", path, "filter", "icmp")
    ping(a, b.addr, count=3)
    # No stop: the writer flushes on its own at least once a second.
    wait_until(lambda: len(tcpdump_read(path)[0]) == 6, timeout=5,
               what="packets in the file while the capture runs")
    assert captures(d)[0]["written"] == 6


def test_bad_filter_is_refused_and_nothing_starts(lab, tmp_path):
    d, a, b = two_endpoints(lab)
    path = tmp_path / "never.pcap"
    res = d.ctl("capture", "start", a.port, "-w", path, "filter", "tcp port",
                check=False)
    assert res.returncode != 0
    assert "bad filter 'tcp port'" in res.stderr and "syntax error" in res.stderr, res.stderr
    assert res.stdout == ""
    assert not path.exists()
    assert captures(d) == []
    # An existing file is left as it was.
    path.write_bytes(b"precious")
    d.ctl("capture", "start", a.port, "-w", path, "filter", "icmp and", check=False)
    assert path.read_bytes() == b"precious"


def test_slow_reader_does_not_stall_forwarding(lab):
    d, a, b = two_endpoints(lab)
    # Nobody reads this pipe: it and the capture's ring fill up.
    proc = stream(lab, d, a.port)
    junk = eth_frame("ff:ff:ff:ff:ff:ff", a.mac, payload=b"x" * 1400)
    rx = port_stats(d, a.port)["rx_packets"]
    raw_send(a, a.port, [junk], count=5000)         # 7 MB, where the tap keeps up
    ping(a, b.addr, count=5)
    received = port_stats(d, a.port)["rx_packets"] - rx
    cap = captures(d)[0]
    assert cap["state"] == "running"
    assert received > 1000 and cap["matched"] >= received
    assert cap["dropped"] > 0
    assert cap["written"] + cap["dropped"] <= cap["matched"]
    res = d.ctl("capture", "stop", str(cap["id"]))
    assert "ended (stopped)" in res.stdout
    proc.wait(timeout=20)
    assert proc.returncode == 0
    ping(a, b.addr, count=2)


def public_socket(d):
    """A second name for the daemon's socket that other users can reach;
    the socket itself becomes 0666 for the test."""
    pub = Path(tempfile.mkdtemp(prefix="vsw-pub-", dir="/tmp"))
    pub.chmod(0o755)
    os.link(d.sock, pub / "sock")
    os.chmod(d.sock, 0o666)
    return pub


def raw_request(sock, argv, fds=(), nfds=None):
    """One request by hand, with descriptors; returns the reply object."""
    body = json.dumps({"argv": argv, "fds": len(fds) if nfds is None else nfds}).encode()
    frame = struct.pack("!II", MAGIC, len(body)) + body
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(10)
        c.connect(str(sock))
        if fds:
            socket.send_fds(c, [frame[:1]], list(fds))
            c.sendall(frame[1:])
        else:
            c.sendall(frame)
        magic, n = struct.unpack("!II", c.recv(8, socket.MSG_WAITALL))
        assert magic == MAGIC
        return json.loads(c.recv(n, socket.MSG_WAITALL))


def test_client_cannot_make_the_daemon_write_where_it_could_not(lab):
    d, a, b = two_endpoints(lab)
    pub = public_socket(d)
    try:
        secret = pub / "secret.pcap"          # root's, in root's directory
        secret.write_bytes(b"precious")
        secret.chmod(0o644)
        sock = pub / "sock"

        def as_nobody(*args):
            res = sh(*NOBODY, lab.vswctl, "--socket", sock, *args, check=False, env=env())
            lab.check_sanitizer(res.stderr, "vswctl as nobody")
            return res

        # vswctl opens the output as the user who runs it: refused here.
        res = as_nobody("capture", "start", a.port, "-w", secret)
        assert res.returncode != 0
        assert f"cannot open '{secret}' for writing: Permission denied" in res.stderr
        res = as_nobody("capture", "start", a.port, "-w", pub / "new.pcap")
        assert res.returncode != 0 and "Permission denied" in res.stderr
        assert not (pub / "new.pcap").exists()

        # A file nobody may write: still no capture for an unprivileged
        # client, and the file vswctl created for it is removed again.
        own = Path(tempfile.mktemp(prefix="vsw-nobody-", suffix=".pcap", dir="/tmp"))
        res = as_nobody("capture", "start", a.port, "-w", own)
        assert res.returncode != 0 and "permission denied" in res.stderr, res.stderr
        assert not own.exists()
        assert as_nobody("capture", "show").returncode == 0

        # By hand, without a descriptor: the daemon does not open the path.
        for target in (secret, pub / "made-by-daemon.pcap"):
            reply = raw_request(d.sock, ["capture", "start", a.port, "-w", str(target)])
            assert not reply["ok"] and "no descriptor came with" in reply["error"]
        assert not (pub / "made-by-daemon.pcap").exists()
        # A descriptor open only for reading is no way to write either.
        fd = os.open(secret, os.O_RDONLY)
        try:
            reply = raw_request(d.sock, ["capture", "start", a.port, "-w", str(secret)], [fd])
        finally:
            os.close(fd)
        assert not reply["ok"] and "not open for writing" in reply["error"], reply
        # Announcing a descriptor that never came.
        reply = raw_request(d.sock, ["capture", "start", a.port, "-w", "x"], nfds=1)
        assert not reply["ok"] and "1 descriptor but 0 arrived" in reply["error"]
        # A command that takes none refuses one.
        fd = os.open("/dev/null", os.O_WRONLY)
        try:
            reply = raw_request(d.sock, ["show"], [fd])
        finally:
            os.close(fd)
        assert not reply["ok"] and "takes no descriptor" in reply["error"]
        assert secret.read_bytes() == b"precious"
        assert captures(d) == []
    finally:
        for p in pub.iterdir():
            p.unlink()
        pub.rmdir()
    ping(a, b.addr, count=1)


BAD_OPTIONS = [
    (["nosuch0", "-w", "F"], "unknown port 'nosuch0'"),
    (["PORTA"], "usage: capture start"),
    (["PORTA", "-w", "F", "direction", "sideways"], "'sideways'"),
    (["PORTA", "-w", "F", "layer", "middle"], "'middle'"),
    (["PORTA", "-w", "F", "layer", "outer"], "has no outer layer"),
    (["PORTA", "-w", "F", "snaplen", "0"], "snaplen '0'"),
    (["PORTA", "-w", "F", "count", "-3"], "count '-3'"),
    (["PORTA", "-w", "F", "max-size", "100"], "max-size '100'"),
    (["PORTA", "-w", "F", "max-size", "1x"], "max-size '1x'"),
    (["PORTA", "-w", "F", "colour", "red"], "unknown option 'colour'"),
    (["PORTA", "-w", "F", "filter"], "option 'filter' needs a value"),
]


@pytest.mark.parametrize("args,quoted", BAD_OPTIONS,
                         ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_bad_capture_options(lab, tmp_path, args, quoted):
    s = lab.netns("S")
    d = lab.daemon(s)
    porta = lab.name("tA")
    d.ctl("port", "add", porta, "type", "tap")
    out = tmp_path / "out.pcap"
    args = [porta if x == "PORTA" else out if x == "F" else x for x in args]
    res = d.ctl("capture", "start", *args, check=False)
    assert res.returncode != 0
    assert res.stderr.startswith("vswctl: ") and quoted in res.stderr, res.stderr
    assert not out.exists()
    assert captures(d) == [] and d.alive()


def test_unwritable_file(lab, tmp_path):
    d, a, b = two_endpoints(lab)
    res = d.ctl("capture", "start", a.port, "-w", tmp_path / "no" / "such" / "dir.pcap",
                check=False)
    assert res.returncode != 0
    assert "cannot open" in res.stderr and "No such file or directory" in res.stderr


def test_too_many_captures(lab):
    d, a, b = two_endpoints(lab)
    for i in range(CAPTURE_MAX):
        d.ctl("capture", "start", a.port if i % 2 else b.port, "-w", "/dev/null")
    res = d.ctl("capture", "start", a.port, "-w", "/dev/null", check=False)
    assert res.returncode != 0
    assert f"too many captures ({CAPTURE_MAX}, the maximum)" in res.stderr
    show = d.ctl("capture", "show", json_out=True)
    assert show["max"] == CAPTURE_MAX and len(show["captures"]) == CAPTURE_MAX
    ping(a, b.addr, count=2)
    ended = json.loads(d.ctl("--json", "capture", "stop", a.port).stdout)["captures"]
    assert len(ended) == CAPTURE_MAX // 2
    assert all(c["port"] == a.port and c["written"] >= 4 for c in ended)
    d.ctl("capture", "stop", b.port)
    assert captures(d) == []
    d.ctl("capture", "start", a.port, "-w", "/dev/null")


def test_stop_errors(lab):
    d, a, b = two_endpoints(lab)
    for arg, msg in (("99", "no capture or port '99'"),
                     (a.port, f"no capture running on port '{a.port}'"),
                     ("nosuch0", "no capture or port 'nosuch0'")):
        res = d.ctl("capture", "stop", arg, check=False)
        assert res.returncode != 0 and msg in res.stderr, res.stderr


def test_count_and_max_size_end_the_capture(lab, tmp_path):
    d, a, b = two_endpoints(lab)
    counted, sized = tmp_path / "count.pcap", tmp_path / "size.pcap"
    d.ctl("capture", "start", a.port, "-w", counted, "filter", "icmp", "count", "2")
    d.ctl("capture", "start", b.port, "-w", sized, "filter", "icmp",
          "max-size", "1k", "snaplen", "300")
    ping(a, b.addr, count=5, extra=("-s", "400"))
    wait_until(lambda: captures(d) == [], what="both captures to end themselves")
    assert len(tcpdump_read(counted)[0]) == 2
    size = sized.stat().st_size
    assert size <= 1024
    # Records of 16 + 300 bytes after a 24-byte header: 3 fit in 1 KiB.
    assert len(tcpdump_read(sized)[0]) == 3 and size == 24 + 3 * 316
    log = d.log_text()
    assert "ended (count)" in log and "ended (max-size)" in log


def test_deleting_the_port_ends_its_capture(lab, tmp_path):
    d, a, b = two_endpoints(lab)
    path = tmp_path / "b.pcap"
    d.ctl("capture", "start", b.port, "-w", path, "filter", "icmp")
    ping(a, b.addr, count=2)
    d.ctl("port", "del", b.port)
    wait_until(lambda: captures(d) == [], what="the capture to close")
    assert len(tcpdump_read(path)[0]) == 4
    assert "ended (port deleted)" in d.log_text()


def test_shutdown_completes_the_file(lab, tmp_path):
    d, a, b = two_endpoints(lab)
    path = tmp_path / "a.pcap"
    d.ctl("capture", "start", a.port, "-w", path, "filter", "icmp")
    ping(a, b.addr, count=3)
    assert d.stop() == 0
    assert len(tcpdump_read(path)[0]) == 6


def test_capture_verbs_and_json(lab, tmp_path):
    d, a, b = two_endpoints(lab)
    path = tmp_path / "a.pcap"
    start = d.ctl("capture", a.port, "-w", path, "direction", "tx", json_out=True)
    assert start["port"] == a.port and start["direction"] == "tx"
    assert start["link_type"] == "EN10MB" and start["layer"] == "inner"
    assert start["output"] == str(path) and start["state"] == "running"
    ping(a, b.addr, count=1)
    # The writer counts what it has drained, which may be under way between
    # the two requests: they agree once its figures hold still.
    deadline = time.monotonic() + 10
    while True:
        plain, show = d.ctl("capture").stdout, d.ctl("capture", "show").stdout
        if plain == show or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert plain == show
    text = d.ctl("capture", "show").stdout
    assert a.port in text and str(path) in text and "running" in text
    ended = d.ctl("capture", "stop", str(start["id"]), json_out=True)["captures"]
    assert [c["id"] for c in ended] == [start["id"]]
    assert ended[0]["written"] >= 1 and ended[0]["reason"] == "stopped"
    assert "capture start PORT -w FILE|-" in d.ctl("help").stdout


def open_fds(d):
    return len(os.listdir(f"/proc/{d.proc.pid}/fd"))


def test_descriptors_are_closed_whatever_happens(lab, tmp_path):
    d, a, b = two_endpoints(lab)
    base = open_fds(d)
    # More descriptors than a request may carry: refused, all closed.
    body = json.dumps({"argv": ["show"], "fds": 6}).encode()
    frame = struct.pack("!II", MAGIC, len(body)) + body
    fds = [os.open("/dev/null", os.O_WRONLY) for _ in range(6)]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(10)
        c.connect(str(d.sock))
        # One message: the daemon may hang up as soon as it sees them.
        assert socket.send_fds(c, [frame], fds) == len(frame)
        magic, n = struct.unpack("!II", c.recv(8, socket.MSG_WAITALL))
        reply = json.loads(c.recv(n, socket.MSG_WAITALL))
        assert not reply["ok"] and "too many descriptors" in reply["error"]
        try:                                        # and disconnected
            assert c.recv(1) == b""
        except ConnectionResetError:
            pass                                    # unread bytes: a reset
    for fd in fds:
        os.close(fd)
    # Started and stopped, refused, ended by count, sent to a closed client.
    d.ctl("capture", "start", a.port, "-w", tmp_path / "x.pcap")
    d.ctl("capture", "stop", a.port)
    d.ctl("capture", "start", a.port, "-w", tmp_path / "y.pcap", "filter", "ip and",
          check=False)
    d.ctl("capture", "start", a.port, "-w", tmp_path / "z.pcap", "count", "1")
    ping(a, b.addr, count=1)
    fd = os.open(tmp_path / "w.pcap", os.O_WRONLY | os.O_CREAT)
    try:
        reply = raw_request(d.sock, ["capture", "start", a.port, "-w", "-"], [fd])
    finally:
        os.close(fd)
    assert reply["ok"] and reply["more"]           # then the client went away
    wait_until(lambda: captures(d) == [], what="every capture to close")
    wait_until(lambda: open_fds(d) == base, what="the daemon's descriptors back to "
               f"{base}")
    assert d.alive()


def test_follower_outlives_the_idle_timeout_and_its_end_ends_the_capture(lab):
    d, a, b = two_endpoints(lab)
    proc = stream(lab, d, a.port)
    time.sleep(c_define("vswitchd/control.h", "CONTROL_IDLE_SECS") + 1)
    assert proc.poll() is None
    assert captures(d)[0]["state"] == "running"
    proc.kill()
    proc.wait()
    wait_until(lambda: captures(d) == [], what="the capture to end with its client")
    assert "ended (interrupted)" in d.log_text()


def test_failed_writes_end_the_capture_with_an_error(lab):
    d, a, b = two_endpoints(lab)
    with open("/dev/full", "wb") as full:
        res = subprocess.run(vswctl(d, "capture", a.port, "-w", "-"), stdout=full,
                             stderr=subprocess.PIPE, text=True, timeout=30, env=env())
    lab.check_sanitizer(res.stderr, "vswctl")
    assert res.returncode == 1
    assert "cannot write: No space left on device" in res.stderr, res.stderr
    d.ctl("capture", "start", a.port, "-w", "/dev/full")
    wait_until(lambda: captures(d) == [], what="the capture to end")
    assert "cannot write to /dev/full: No space left on device" in d.log_text()


def test_no_pcap_on_a_terminal(lab):
    d, a, b = two_endpoints(lab)
    master, slave = os.openpty()
    try:
        res = subprocess.run(vswctl(d, "capture", a.port, "-w", "-"), stdout=slave,
                             stderr=subprocess.PIPE, text=True, timeout=30, env=env())
    finally:
        os.close(slave)
        os.close(master)
    assert res.returncode == 1 and "not writing capture data to a terminal" in res.stderr
    assert captures(d) == []


TUNNEL_CASES = [
    # encap, IPv6 underlay, options, protocol chain, tshark fields checked
    ("vxlan", False, {"vni": 42}, "raw:ip:udp:vxlan:eth:ethertype:ip:icmp:data",
     {"udp.dstport": "4789", "vxlan.vni": "42", "ip.checksum.status": "1",
      "udp.checksum.status": "1"}),
    ("gretap", True, {"key": 7}, "raw:ipv6:udp:gre:eth:ethertype:ip:icmp:data",
     {"udp.dstport": "4754", "gre.key": "0x00000007", "udp.checksum.status": "1"}),
]


@pytest.mark.parametrize("encap,v6,opts,chain,fields", TUNNEL_CASES,
                         ids=[c[0] for c in TUNNEL_CASES])
def test_tunnel_underlay_capture_decodes(lab, tmp_path, encap, v6, opts, chain, fields):
    """
      E1 -- tap -- [ vswitchd H1: tun ] == underlay == [ vswitchd H2: tun ] -- tap -- E2
                         |
           capture on tun, layer outer (the datagrams) and inner (the frames)
    """
    h1, h2, e1, e2, tun = two_hosts(lab, encap, v6, **opts)
    connected(e1, e2)
    outer, inner = tmp_path / "outer.pcap", tmp_path / "inner.pcap"
    start = h1.ctl("capture", "start", tun, "-w", outer, "layer", "outer",
                   "filter", "udp", json_out=True)
    assert start["link_type"] == "RAW" and start["layer"] == "outer"
    assert h1.ctl("capture", "start", tun, "-w", inner, "filter", "icmp",
                  json_out=True)["link_type"] == "EN10MB"
    ping(e1, e2.addr, count=3)
    h1.ctl("capture", "stop", tun)

    ip = "ipv6" if v6 else "ip"
    names = ["frame.protocols", f"{ip}.src", f"{ip}.dst", *fields]
    rows = tshark_fields(outer, *names, opts=("-o", "ip.check_checksum:TRUE", "-o",
                                              "udp.check_checksum:TRUE", "-Y", "icmp"))
    assert len(rows) == 6, rows
    here, there = h1.ul(v6), h2.ul(v6)
    # The first address is the outer one; IPv4 lists the inner one too.
    outer_addrs = sorted((r[1].split(",")[0], r[2].split(",")[0]) for r in rows)
    assert outer_addrs == sorted([(there, here)] * 3 + [(here, there)] * 3)
    for r in rows:
        assert r[0] == chain, r
        assert {f: v.split(",")[0] for f, v in zip(fields, r[3:])} == fields, r
    # The inner frames are the same pings, as Ethernet.
    rows = tshark_fields(inner, "frame.protocols", "ip.src", "ip.dst")
    assert len(rows) == 6 and all(r[0] == "eth:ethertype:ip:icmp:data" for r in rows)


def test_tun_port_capture_is_raw_ip(lab, tmp_path):
    """
      ns A 198.19.1.1 -- tunA [ vswitchd: router ] tunB -- ns B 198.19.2.1
                          |
          capture on tunA: bare IP packets (link type RAW)
    """
    r = lab.netns("R")
    d = lab.daemon(r)
    a = lab.tun_endpoint(d, lab.name("tA"), "A", "198.19.1.1/24", "198.19.1.254/24")
    b = lab.tun_endpoint(d, lab.name("tB"), "B", "198.19.2.1/24", "198.19.2.254/24")
    path = tmp_path / "tun.pcap"
    # The filter is compiled for raw IP: there is no Ethernet header.
    res = d.ctl("capture", "start", a.port, "-w", path, "filter", "ether host 02:00:00:00:00:01",
                check=False)
    assert res.returncode != 0 and "ethernet addresses supported only on" in res.stderr
    start = d.ctl("capture", "start", a.port, "-w", path, "filter", "icmp", json_out=True)
    assert start["link_type"] == "RAW"
    ping(a, b.addr, count=3)            # forwarded: in and out of tunA
    ping(a, a.router, count=1)          # answered by the router itself
    d.ctl("capture", "stop", a.port)
    lines, err = tcpdump_read(path)
    assert "link-type RAW (Raw IP)" in err
    assert len(lines) == 8, lines
    assert sum(f"IP {a.addr} > {b.addr}: ICMP echo request" in l for l in lines) == 3
    assert sum(f"IP {b.addr} > {a.addr}: ICMP echo reply" in l for l in lines) == 3
    assert sum(f"IP {a.router} > {a.addr}: ICMP echo reply" in l for l in lines) == 1
    protos = tshark_fields(path, "frame.protocols")
    assert all(p == ["raw:ip:icmp:data"] for p in protos), protos

L3_TUNNEL_CASES = [
    # kind, underlay, key, decode-as, protocol chain of the outer packets
    ("gre", "4", 42, (), "raw:ip:udp:gre:ip:icmp:data"),
    ("ipip", "6", None, ("-d", "udp.port==5555,ip"), "raw:ipv6:udp:ip:icmp:data"),
]


@pytest.mark.parametrize("kind,under,key,decode,chain", L3_TUNNEL_CASES,
                         ids=[f"{c[0]}-v{c[1]}" for c in L3_TUNNEL_CASES])
def test_l3_tunnel_underlay_capture(lab, tmp_path, kind, under, key, decode, chain):
    h = routed_hosts(lab, kind, under, key)
    outer, inner = tmp_path / "outer.pcap", tmp_path / "inner.pcap"
    h.d1.ctl("capture", "start", h.t1, "-w", outer, "layer", "outer")
    assert h.d1.ctl("capture", "start", h.t1, "-w", inner, "filter", "icmp",
                    json_out=True)["link_type"] == "RAW"
    ping(h.a, h.b.addr, count=3)
    h.d1.ctl("capture", "stop", h.t1)
    rows = tshark_fields(outer, "frame.protocols", "udp.srcport", "udp.dstport",
                         opts=(*decode, "-Y", "icmp"))
    assert len(rows) == 6 and all(r[0] == chain for r in rows), rows
    rows = tshark_fields(inner, "frame.protocols", "ip.src", "ip.dst")
    assert sorted((r[1], r[2]) for r in rows) == \
        sorted([(h.a.addr, h.b.addr)] * 3 + [(h.b.addr, h.a.addr)] * 3)
    assert all(r[0] == "raw:ip:icmp:data" for r in rows)
