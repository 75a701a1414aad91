"""Holes found by probing, each closed and kept closed (issue 12: holes 2,
5, 6, 7 and 9; hole 8 is tests/unit/test-icmp-rate.c).

    ns A (198.19.0.1)        ns S: vswitchd            ns B (198.19.0.2)
      tA  <--- fd --->  [ tA  switch  tB ]  <--- fd --->  tB

    host H1 (198.18.0.1) == veth == host H2 (198.18.0.2), a tunnel each
"""

import fcntl
import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tunlab import UNDERLAY_MTU, Host, connected, endpoint, link, tunnel, two_hosts
from vswlab import (SANITIZER_ENV, Daemon, find_port, ping, port_stats, sh,
                    two_endpoints, wait_until)


def env():
    return dict(os.environ, **SANITIZER_ENV)


def vswctl(d, *args):
    return [str(d.lab.vswctl), "--socket", str(d.sock), *map(str, args)]


def captures(d):
    return d.ctl("capture", "show", json_out=True)["captures"]


def restart(lab, old):
    """A new daemon on old's socket and directory, as after a crash."""
    rundir = lab.rundir
    lab.rundir = lambda: old.dir
    try:
        d = Daemon(lab, old.ns)
    finally:
        lab.rundir = rundir
    lab.daemons.append(d)
    return d


def tunnel_json(host, name):
    return find_port(host.ctl("show", json_out=True), name)["tunnel"]


def port_json(d, name):
    for p in d.ctl("show", json_out=True)["ports"]:
        if p["name"] == name:
            return p
    raise AssertionError(f"no port {name}")


# -- hole 2: capture -w follows no link, truncates only with --force --------

def test_capture_w_does_not_follow_a_symlink(lab, tmp_path):
    d, a, b = two_endpoints(lab)
    # Root's file, and a directory another user may write (mode 1777).
    secret = tmp_path / "root-only"
    secret.write_bytes(b"precious root data")
    secret.chmod(0o600)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    link = shared / "cap.pcap"
    os.symlink(secret, link)        # planted by that user

    for extra in ([], ["--force"]):
        res = d.ctl("capture", "start", a.port, "-w", link, *extra, check=False)
        assert res.returncode != 0
        assert f"'{link}' is a symbolic link" in res.stderr, res.stderr
    assert secret.read_bytes() == b"precious root data"
    assert link.is_symlink() and captures(d) == []


def test_capture_w_creates_0600_and_never_truncates_unasked(lab, tmp_path):
    d, a, b = two_endpoints(lab)
    new = tmp_path / "new.pcap"
    os.umask(0o022)
    d.ctl("capture", "start", a.port, "-w", new)
    d.ctl("capture", "stop", a.port)
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert new.read_bytes()[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")

    old = tmp_path / "old.pcap"
    old.write_bytes(b"an earlier capture")
    res = d.ctl("capture", "start", a.port, "-w", old, check=False)
    assert res.returncode != 0
    assert f"'{old}' exists: add --force to overwrite it" in res.stderr
    assert old.read_bytes() == b"an earlier capture"

    # With --force: emptied and written afresh, pcap from byte 0.
    d.ctl("capture", "start", a.port, "-w", old, "--force", "filter", "icmp")
    ping(a, b.addr, count=1)
    d.ctl("capture", "stop", a.port)
    data = old.read_bytes()
    assert b"an earlier" not in data and data[:4] == new.read_bytes()[:4]

    # A hard link could be anybody's file: not even with --force.
    other = tmp_path / "other"
    other.write_bytes(b"x")
    os.link(other, tmp_path / "alias.pcap")
    res = d.ctl("capture", "start", a.port, "-w", tmp_path / "alias.pcap",
                "--force", check=False)
    assert res.returncode != 0 and "hard links" in res.stderr
    assert other.read_bytes() == b"x"
    # A FIFO someone made is refused at once, not waited on for a reader.
    fifo = tmp_path / "fifo.pcap"
    os.mkfifo(fifo)
    res = d.ctl("capture", "start", a.port, "-w", fifo, check=False)
    assert res.returncode != 0 and "exists: add --force" in res.stderr
    # A character device is written, nothing to truncate.
    d.ctl("capture", "start", a.port, "-w", "/dev/null")
    assert "--force" in d.ctl("help").stdout


# -- hole 9: the client's file status flags are left alone ------------------

def test_capture_leaves_the_clients_stdout_blocking(lab):
    d, a, b = two_endpoints(lab)
    r, w = os.pipe()
    try:
        proc = subprocess.Popen(vswctl(d, "capture", a.port, "-w", "-"), stdout=w,
                                stderr=subprocess.PIPE, env=env())
        lab.procs.append(proc)
        wait_until(lambda: len(captures(d)) == 1, what="the capture to run")
        ping(a, b.addr, count=1)
        # Our copy of the write end is the same open file description.
        assert not fcntl.fcntl(w, fcntl.F_GETFL) & os.O_NONBLOCK
        # A daemon that dies mid-capture has nothing to put back.
        d.stop(signal.SIGKILL)
        proc.wait(timeout=20)
        assert not fcntl.fcntl(w, fcntl.F_GETFL) & os.O_NONBLOCK
        os.set_blocking(r, False)
        assert os.read(r, 4) in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")
    finally:
        os.close(r)
        os.close(w)


# -- hole 5: a deleted tap is "gone", replaceable, and comes back -----------

def test_deleted_tap_is_gone_and_does_not_block_its_name(lab):
    d, a, b = two_endpoints(lab)
    a.run("ip", "link", "del", a.port)          # the VM's namespace lost it
    wait_until(lambda: port_json(d, a.port)["state"] == "gone",
               what="the port to show gone")
    p = port_json(d, a.port)
    assert p["state_why"] == "its device was deleted"
    assert "gone: its device was deleted" in d.ctl("show").stdout
    time.sleep(1.5)                             # a tick or two: no more lines
    assert d.log_text().count(f"port {a.port}: its device is gone") == 1

    # The name is free to add again: the port is replaced.
    d.ctl("port", "add", a.port, "type", "tap")
    assert port_json(d, a.port)["state"] == "up"
    assert len([p for p in d.ctl("show", json_out=True)["ports"]
                if p["name"] == a.port]) == 1
    a2 = lab.move_port(d, a.port, "A2")
    a2.run("ip", "addr", "add", "198.19.0.1/24", "dev", a.port)
    a2.run("ip", "link", "set", a.port, "up")
    ping(a2, b.addr, count=2)


def test_tap_made_again_is_attached_by_itself(lab):
    s = lab.netns("S")
    d = lab.daemon(s)
    tap = lab.name("tP")
    s.run("ip", "tuntap", "add", "dev", tap, "mode", "tap")
    d.ctl("port", "add", tap, "type", "tap")
    s.run("ip", "link", "del", tap)
    wait_until(lambda: port_json(d, tap)["state"] == "gone", what="gone")
    s.run("ip", "tuntap", "add", "dev", tap, "mode", "tap")
    wait_until(lambda: port_json(d, tap)["state"] == "up",
               what="the port to attach to the new device")
    assert "state_why" not in port_json(d, tap)
    assert f"a tap device of its name is back" in d.log_text()
    # Attached for real: the kernel says a reader holds it.
    flags = s.run("ip", "-j", "link", "show", tap).stdout
    assert "NO-CARRIER" not in json.loads(flags)[0]["flags"]
    d.ctl("port", "del", tap)
    s.run("ip", "link", "show", tap)            # persistent: still there


# -- hole 5: a tunnel whose local address went away is "down" ---------------

def test_tunnel_down_while_its_local_address_is_gone(lab):
    h1, h2, e1, e2, tun = two_hosts(lab, "vxlan")
    connected(e1, e2)
    assert port_json(h1.daemon, tun)["state"] == "up"
    ul = h1.ifs[0]
    h1.ns.run("ip", "addr", "del", f"{h1.addr}/24", "dev", ul)
    wait_until(lambda: port_json(h1.daemon, tun)["state"] == "down",
               what="the tunnel to show down")
    assert port_json(h1.daemon, tun)["state_why"] == \
        f"local address {h1.addr} is gone"
    # The other end, on the wildcard address, depends on none.
    assert port_json(h2.daemon, tun)["state"] == "up"
    h1.ns.run("ip", "addr", "add", f"{h1.addr}/24", "dev", ul)
    wait_until(lambda: port_json(h1.daemon, tun)["state"] == "up",
               what="the tunnel to come back up")
    connected(e1, e2)
    log = h1.daemon.log_text()
    assert log.count(f"local address {h1.addr} is gone") == 1
    assert log.count(f"local address {h1.addr} is back") == 1


def test_tunnel_added_before_its_local_address_comes_up(lab):
    """At boot the daemon starts before the network is configured: a saved
    tunnel whose local address is not there yet is added down, with the
    reason (its endpoint bound with IP_FREEBIND), and comes up by itself
    when the address appears; frames meanwhile are link_down drops."""
    h1, h2 = Host(lab, 1), Host(lab, 2)
    link(lab, h1, h2)
    ul = h1.ifs[0]
    h1.ns.run("ip", "addr", "del", f"{h1.addr}/24", "dev", ul)
    e1, e2 = endpoint(lab, h1), endpoint(lab, h2)
    tun = lab.name("tun")
    tunnel(h1, tun, "vxlan", h2)
    tunnel(h2, tun, "vxlan", h1, local=False)
    p = port_json(h1.daemon, tun)
    assert (p["state"], p["state_why"]) == \
        ("down", f"local address {h1.addr} is not on this host")
    ping(e1, e2.addr, count=2, check=False)
    assert port_stats(h1.daemon, tun)["drops"]["link_down"] > 0
    assert f"port add {tun} type vxlan remote {h2.addr} local {h1.addr}" in \
        h1.ctl("save", "-").stdout.splitlines()
    h1.ns.run("ip", "addr", "add", f"{h1.addr}/24", "dev", ul)
    wait_until(lambda: port_json(h1.daemon, tun)["state"] == "up",
               what="the tunnel to come up")
    assert "state_why" not in port_json(h1.daemon, tun)
    connected(e1, e2)
    assert tunnel_json(h1, tun)["underlay_mtu"] == UNDERLAY_MTU
    log = h1.daemon.log_text()
    assert log.count(f"local address {h1.addr} is not on this host: down "
                     "until it is") == 1, log
    assert log.count(f"local address {h1.addr} is here now: up") == 1, log
    assert log.count(f"can send to {h2.addr}:4789 now: up") == 1, log


def test_tunnel_added_before_its_route(lab):
    """The same for a remote with no route yet: down with the kernel's
    reason, up once the route is there."""
    h1, h2 = Host(lab, 1), Host(lab, 2)
    link(lab, h1, h2)
    e1, e2 = endpoint(lab, h1), endpoint(lab, h2)
    far1, far2 = "198.18.7.1", "198.18.7.2"
    h2.ns.run("ip", "addr", "add", f"{far2}/32", "dev", h2.ifs[0])
    tun = lab.name("tun")
    h1.ctl("port", "add", tun, "type", "vxlan", "remote", far2)
    h2.ctl("port", "add", tun, "type", "vxlan", "remote", h1.addr, "local", far2)
    p = port_json(h1.daemon, tun)
    assert (p["state"], p["state_why"]) == \
        ("down", f"cannot reach {far2}:4789: Network is unreachable")
    assert tunnel_json(h1, tun)["underlay_mtu"] == 1500
    h1.ns.run("ip", "route", "add", f"{far2}/32", "via", h2.addr)
    wait_until(lambda: port_json(h1.daemon, tun)["state"] == "up",
               what="the tunnel to come up")
    connected(e1, e2)
    assert tunnel_json(h1, tun)["underlay_mtu"] == UNDERLAY_MTU
    # A port that cannot send is still refused for what no network fixes.
    res = h1.ctl("port", "add", lab.name("bad"), "type", "vxlan", "remote",
                 h2.addr, "local", "fd00:5657::1", check=False)
    assert res.returncode != 0 and "not of the same family" in res.stderr


# -- hole 6: a crash leaves no persistent tap with offloads on --------------

def tap_offloads(ns, tap):
    feats = ns.run("ethtool", "-k", tap).stdout
    return {l.split(":")[0].strip(): l.split(":")[1].split()[0]
            for l in feats.splitlines()[1:] if ":" in l}


def test_crash_leaves_persistent_tap_offloads_restored_at_start(lab):
    s = lab.netns("S")
    d = lab.daemon(s)
    tap = lab.name("tP")
    s.run("ip", "tuntap", "add", "dev", tap, "mode", "tap")
    assert tap_offloads(s, tap)["tcp-segmentation-offload"] == "off"
    d.ctl("port", "add", tap, "type", "tap")
    assert tap_offloads(s, tap)["tcp-segmentation-offload"] == "on"
    assert (d.dir / "sock.taps").exists()
    d.stop(signal.SIGKILL)
    assert tap_offloads(s, tap)["tcp-segmentation-offload"] == "on"

    # The next start on that socket puts it back, before any port is added.
    d2 = restart(lab, d)
    feats = tap_offloads(s, tap)
    assert feats["tcp-segmentation-offload"] == "off", feats
    assert feats["tx-checksumming"] == "off", feats
    assert "left by a run that did not exit cleanly" in d2.log_text()
    s.run("ip", "link", "show", tap)            # still there, not ours
    assert not (d.dir / "sock.taps").exists()


def test_clean_exit_leaves_no_record(lab):
    s = lab.netns("S")
    d = lab.daemon(s)
    tap = lab.name("tP")
    s.run("ip", "tuntap", "add", "dev", tap, "mode", "tap")
    d.ctl("port", "add", tap, "type", "tap")
    assert tap in (d.dir / "sock.taps").read_text()
    d.ctl("port", "del", tap)
    assert not (d.dir / "sock.taps").exists()
    assert tap_offloads(s, tap)["tcp-segmentation-offload"] == "off"


# -- hole 7: an L3 tunnel MTU below the IPv4 minimum is refused -------------

def test_l3_tunnel_over_a_tiny_path_is_refused(lab):
    h1, h2, e1, e2, tun = two_hosts(lab, "vxlan")
    h1.ns.run("ip", "route", "replace", f"{h2.addr}/32", "dev", h1.ifs[0],
              "mtu", "lock", "80")
    res = h1.ctl("port", "add", lab.name("gr"), "type", "gre", "remote", h2.addr,
                 "local", h1.addr, "address", "198.19.9.1/24", check=False)
    assert res.returncode != 0
    assert "leaves an inner MTU of" in res.stderr and "below 68" in res.stderr, \
        res.stderr
    assert h1.daemon.alive()
