"""Tunnels that cannot be hijacked, and port security: issue 13.

    ns E1 --- t1 [ vswitchd in H1: t1, tun ]  == veth ==  [ H2: vswitchd (tun, t2) ] --- E2
                      198.18.0.1                           198.18.0.2
                                                           + scapy, forging as H2

H2 is the configured remote, so datagrams from its address pass the source
address check: whatever scapy sends from there is what an attacker on the
underlay can send.  Each attack must be dropped and counted under its own
reason while the endpoints keep talking:

- remote-port: datagrams from H2's address but another UDP source port
  (wrong_source_port, on the endpoint);
- a forged frame carrying E1's MAC from the tunnel while E1 is talking:
  E1's entry stays on its tap (move_refused); once E1 is silent for the
  hold (5 s) a frame from the tunnel does move it, as a VM migration must;
- port security on a tap: learning off, mac-limit (mac_limit), locked
  (locked), and their save, reload and restart;
- allowed-ips on an ipip port: a forged inner source (bad_inner_source).
"""

import json
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tunlab import Host, connected, endpoint, fdb_port, link, tunnel, two_hosts
from vswlab import (eth_frame, fdb_entries, find_port, ping, port_stats, raw_send,
                    two_endpoints, wait_until)

COUNT = 10
VXLAN = 4789
MOVE_HOLD = 5           # MAC_MOVE_HOLD, datapath/mac-table.h

SCAPY = r"""
import sys
from scapy.all import IP, UDP, Ether, Raw, conf, send
from scapy.layers.vxlan import VXLAN
conf.verb = 0
src, dst, sport, count, mac = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
inner = Ether(dst="ff:ff:ff:ff:ff:ff", src=mac, type=0x88b5) / Raw(b"forged" * 8)
send([IP(src=src, dst=dst) / UDP(sport=sport, dport=4789) / VXLAN(vni=1) / inner] * count)
"""


def forge_vxlan(h2, h1, sport, mac, count=COUNT):
    """From H2's namespace, as H2's address: VXLAN datagrams from UDP
    source port sport carrying a broadcast from mac."""
    h2.ns.run("/usr/bin/python3", "-c", SCAPY, h2.addr, h1.addr, sport, count, mac,
              timeout=120)


def endpoint_drops(host, port):
    [ep] = host.ctl("stats", port, json_out=True)["endpoints"]
    return ep["drops"]


def fdb_counters(host):
    return host.ctl("stats", json_out=True)["fdb"]


def sender_ports(host, remote, dport):
    out = host.ns.run("ss", "-uanH", "dst", f"{remote}:{dport}").stdout
    return sorted(int(ln.split()[3].rsplit(":", 1)[1]) for ln in out.splitlines())


def test_remote_port_drops_other_source_ports(lab):
    pytest.importorskip("scapy.all")
    h1, h2 = Host(lab, 1), Host(lab, 2)
    link(lab, h1, h2)
    # H2's vswitchd sends from ephemeral ports: narrow the range it picks from.
    h2.ns.run("sysctl", "-qw", "net.ipv4.ip_local_port_range=41000 41999")
    e1, e2 = endpoint(lab, h1), endpoint(lab, h2)
    tun = lab.name("tun")
    tunnel(h1, tun, "vxlan", h2, remote_port="41000-41999")
    tunnel(h2, tun, "vxlan", h1, local=False)
    connected(e1, e2)
    ports = sender_ports(h2, h1.addr, VXLAN)
    assert ports and all(41000 <= p <= 41999 for p in ports), ports
    assert f"port add {tun} type vxlan remote {h2.addr} local {h1.addr} " \
        "remote-port 41000-41999" in h1.ctl("save", "-").stdout.splitlines()

    forged = "02:56:53:00:0e:01"
    before = endpoint_drops(h1, tun)["wrong_source_port"]
    rx = port_stats(h1.daemon, tun)["rx_packets"]
    forge_vxlan(h2, h1, 40000, forged)
    wait_until(lambda: endpoint_drops(h1, tun)["wrong_source_port"] >= before + COUNT,
               timeout=20, what="wrong_source_port counted")
    assert endpoint_drops(h1, tun)["wrong_source_port"] == before + COUNT
    assert fdb_port(h1, forged) is None
    # Nothing of them reached the port (its rx may count ARP refreshes only).
    assert port_stats(h1.daemon, tun)["rx_packets"] < rx + COUNT
    assert f"wrong_source_port {before + COUNT}" in h1.ctl("stats", tun).stdout
    ping(e1, e2.addr, count=5, extra=("-q",))
    ping(e2, e1.addr, count=5, extra=("-q",))
    # A port in the range gets in: the check narrows what a forger must
    # guess, it authenticates nothing.
    forge_vxlan(h2, h1, 41500, forged, count=1)
    wait_until(lambda: fdb_port(h1, forged) == tun, timeout=20, what="in-range frame")
    assert endpoint_drops(h1, tun)["wrong_source_port"] == before + COUNT

    # A port of another type takes no remote-port.
    res = h1.ctl("port", "add", lab.name("tp"), "type", "tap", "remote-port", "5",
                 check=False)
    assert res.returncode != 0 and "takes no 'remote-port'" in res.stderr


def test_forged_local_mac_is_refused_then_a_real_move_completes(lab):
    pytest.importorskip("scapy.all")
    h1, h2, e1, e2, tun = two_hosts(lab, "vxlan")
    connected(e1, e2)
    assert fdb_port(h1, e1.mac) == e1.port
    before = port_stats(h1.daemon, tun)["drops"]["move_refused"]
    refused = fdb_counters(h1)["move_refused"]
    moves = fdb_counters(h1)["moves"]

    # E1 talks all along; a forger on the underlay claims its MAC.
    pinger = lab.popen(e1, "ping", "-c", "60", "-i", "0.2", "-W", "2", e2.addr,
                       stdout=subprocess.PIPE, text=True)
    try:
        forge_vxlan(h2, h1, 40000, e1.mac)
        wait_until(lambda: port_stats(h1.daemon, tun)["drops"]["move_refused"]
                   >= before + COUNT, timeout=20, what="move_refused counted")
        assert port_stats(h1.daemon, tun)["drops"]["move_refused"] == before + COUNT
        assert fdb_counters(h1)["move_refused"] == refused + COUNT
        assert fdb_counters(h1)["moves"] == moves
        # The entry stayed: E1 is still reachable from the far side.
        assert fdb_port(h1, e1.mac) == e1.port
        ping(e2, e1.addr, count=3)
        text = h1.ctl("stats", tun).stdout
        assert f"move_refused {before + COUNT}" in text
        assert [e for e in h1.ctl("fdb", "show", json_out=True)["fdb"]
                if e["mac"] == e1.mac][0]["port"] == e1.port
        assert "move_refused" in h1.ctl("show", json_out=True)["fdb"]
    finally:
        pinger.terminate()
        pinger.wait(timeout=10)

    # E1 silent for longer than the hold: the MAC moves (a migrated VM).
    # E1's kernel may still probe its neighbour once or twice after the
    # pings (each frame starts the hold again), so the remote's frame is
    # sent again until E1 has been silent long enough.
    time.sleep(MOVE_HOLD + 1.5)
    deadline = time.time() + 40
    while True:
        forge_vxlan(h2, h1, 40000, e1.mac, count=1)
        time.sleep(0.3)
        if fdb_port(h1, e1.mac) == tun:
            break
        assert time.time() < deadline, "the real move never completed"
        time.sleep(1)
    assert fdb_counters(h1)["moves"] == moves + 1
    assert fdb_counters(h1)["move_refused"] >= refused + COUNT
    # E1 speaks again: a local port takes its MAC back at once.
    ping(e1, e2.addr, count=2)
    assert fdb_port(h1, e1.mac) == e1.port


def security(d, port):
    return find_port(d.ctl("port", "show", port, json_out=True), port)["security"]


def frames_from(macs):
    return [eth_frame("ff:ff:ff:ff:ff:ff", m) for m in macs]


def test_learning_off_forwards_without_learning(lab):
    d, a, b = two_endpoints(lab)
    s = security(d, a.port)
    assert (s["learning"], s["mac_limit"], s["locked"]) == (True, 0, False)
    d.ctl("port", "set", a.port, "learning", "off")
    # What the tap's kernel sent before it was moved was learned.
    d.ctl("fdb", "flush", "dev", a.port)
    ping(a, b.addr, count=3)
    ping(b, a.addr, count=2)
    macs = {e["mac"]: e["port"] for e in fdb_entries(d)}
    assert a.mac not in macs and macs[b.mac] == b.port
    s = security(d, a.port)
    assert (s["learning"], s["learned"]) == (False, 0)
    assert "security learning off mac-limit 0 locked off (0 learned)" in \
        d.ctl("port", "show", a.port).stdout
    drops = port_stats(d, a.port)["drops"]
    assert drops["mac_limit"] == 0 and drops["locked"] == 0
    # On again: learned from the next frame.
    d.ctl("port", "set", a.port, "learning", "on")
    ping(a, b.addr, count=1)
    assert any(e["mac"] == a.mac and e["port"] == a.port for e in fdb_entries(d))


def test_mac_limit_drops_new_sources(lab):
    d, a, b = two_endpoints(lab)
    ping(a, b.addr, count=2)            # a.mac learned: 1 of 2
    d.ctl("port", "set", a.port, "mac-limit", "2")
    new = [f"02:56:53:00:0d:{i:02x}" for i in range(1, 6)]
    raw_send(a, a.port, frames_from(new))
    wait_until(lambda: port_stats(d, a.port)["drops"]["mac_limit"] >= 4,
               what="mac_limit drops")
    assert port_stats(d, a.port)["drops"]["mac_limit"] == 4
    mine = sorted(e["mac"] for e in fdb_entries(d) if e["port"] == a.port)
    assert mine == sorted([a.mac, new[0]])
    assert security(d, a.port)["learned"] == 2
    # Known sources still send.
    ping(a, b.addr, count=3)
    raw_send(a, a.port, frames_from(new[:1]))
    assert port_stats(d, a.port)["drops"]["mac_limit"] == 4
    # Bad values are refused with the range.
    res = d.ctl("port", "set", a.port, "mac-limit", "-1", check=False)
    assert res.returncode != 0 and "mac-limit" in res.stderr
    # 0 is no limit.
    d.ctl("port", "set", a.port, "mac-limit", "0")
    raw_send(a, a.port, frames_from(new[1:]))
    wait_until(lambda: len([e for e in fdb_entries(d) if e["port"] == a.port]) == 6,
               what="learning without a limit")


def test_locked_port_forwards_static_sources_only(lab):
    d, a, b = two_endpoints(lab)
    d.ctl("port", "set", a.port, "locked", "on")
    d.ctl("fdb", "flush", "dev", a.port)
    res = ping(a, b.addr, count=2, check=False)
    assert res.returncode != 0
    locked = port_stats(d, a.port)["drops"]["locked"]
    assert locked >= 2                  # ARP requests at least
    assert all(e["mac"] != a.mac for e in fdb_entries(d))
    d.ctl("fdb", "add", a.mac, "dev", a.port)
    a.run("ip", "neigh", "flush", "all")        # its ARP for B had failed
    ping(a, b.addr, count=3)
    raw_send(a, a.port, frames_from(["02:56:53:00:0c:01"]), count=3)
    wait_until(lambda: port_stats(d, a.port)["drops"]["locked"] >= locked + 3,
               what="locked drops")
    assert all(e["mac"] != "02:56:53:00:0c:01" for e in fdb_entries(d))
    assert security(d, a.port)["locked"] is True
    # Unlocked: learned again.
    d.ctl("port", "set", a.port, "locked", "off")
    raw_send(a, a.port, frames_from(["02:56:53:00:0c:01"]))
    wait_until(lambda: any(e["mac"] == "02:56:53:00:0c:01" for e in fdb_entries(d)),
               what="learned once unlocked")


def test_port_set_checks(lab):
    d, a, b = two_endpoints(lab)
    for args, msg in [
        (("learning", "maybe"), "invalid learning 'maybe' (expected on or off)"),
        (("locked", "1"), "invalid locked '1' (expected on or off)"),
        (("colour", "red"), "unknown option 'colour'"),
        (("learning",), "usage"),
    ]:
        res = d.ctl("port", "set", a.port, *args, check=False)
        assert res.returncode != 0 and msg in res.stderr, (args, res.stderr)
    # A bad value changes nothing of the rest of the line.
    res = d.ctl("port", "set", a.port, "mac-limit", "3", "locked", "x", check=False)
    assert res.returncode != 0
    assert security(d, a.port)["mac_limit"] == 0
    # min-mtu is still a tunnel's only.
    res = d.ctl("port", "set", a.port, "min-mtu", "1400", check=False)
    assert res.returncode != 0 and "only tunnels take min-mtu" in res.stderr


@pytest.fixture
def state_dir(lab, request):
    """A directory the daemon, once it is the vswitch user, can read."""
    d = Path(tempfile.mkdtemp(prefix=f"{lab.prefix}-sec-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(d, ignore_errors=True))
    pw = pwd.getpwnam("vswitch")
    os.chown(d, pw.pw_uid, pw.pw_gid)
    return d


def reload(d, what):
    n = d.log_text().count(what)
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: d.log_text().count(what) > n, what=what)


def test_port_security_saved_reloaded_and_restored(lab, state_dir):
    s = lab.netns("S")
    conf = state_dir / "vswitchd.conf"
    a, b = lab.name("tA"), lab.name("tB")
    conf.write_text(f"port add {a} type tap\nport add {b} type tap\n")
    d = lab.daemon(s, "--config", conf)
    d.ctl("port", "set", a, "learning", "off", "mac-limit", "5", "locked", "on")
    d.ctl("port", "set", b, "mac-limit", "7")
    text = d.ctl("save", "-").stdout
    lines = text.splitlines()
    assert f"port set {a} learning off mac-limit 5 locked on" in lines
    assert f"port set {b} mac-limit 7" in lines
    # After the ports that they name.
    assert lines.index(f"port set {a} learning off mac-limit 5 locked on") > \
        lines.index(f"port add {b} type tap")
    d.ctl("save")
    assert conf.read_text() == text

    # A reload of the same file keeps them (and the ports).
    reload(d, "reloaded")
    assert d.ctl("save", "-").stdout == text
    assert security(d, a)["locked"] is True and security(d, b)["mac_limit"] == 7

    # A file without a's line: a goes back to the defaults, b keeps its.
    conf.write_text(f"port add {a} type tap\nport add {b} type tap\n"
                    f"port set {b} mac-limit 7\n")
    reload(d, "reloaded")
    sec = security(d, a)
    assert (sec["learning"], sec["mac_limit"], sec["locked"]) == (True, 0, False)
    assert security(d, b)["mac_limit"] == 7
    assert f"port set {a}" not in d.ctl("save", "-").stdout

    # A restart from the saved text restores it exactly.
    conf.write_text(text)
    d.stop()
    d2 = lab.daemon(s, "--config", conf)
    assert d2.ctl("save", "-").stdout == text
    sec = security(d2, a)
    assert (sec["learning"], sec["mac_limit"], sec["locked"]) == (False, 5, True)


def ipv4_packet(src, dst):
    """An ICMP echo request, checksums right."""
    def csum(b):
        s = sum(struct.unpack(f"!{len(b) // 2}H", b))
        s = (s & 0xffff) + (s >> 16)
        s = (s & 0xffff) + (s >> 16)
        return ~s & 0xffff
    icmp = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"allowed?"
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + icmp


def ipv6_packet(src, dst):
    """A bare IPv6 header with no next header (59)."""
    return struct.pack("!IHBB16s16s", 6 << 28, 0, 59, 64,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst))


def udp_from(ns, src, dst, port, payload, count):
    code = (
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        f"s.bind(({src!r}, 0))\n"
        f"for _ in range({count}): s.sendto(bytes.fromhex({payload.hex()!r}), ({dst!r}, {port}))\n"
    )
    ns.run("/usr/bin/python3", "-c", code)


def test_allowed_ips_on_ipip_drops_forged_inner_sources(lab):
    h1, h2 = Host(lab, 1), Host(lab, 2)
    link(lab, h1, h2)
    t1, t2 = lab.name("t1"), lab.name("t2")
    allowed = "198.19.2.0/24,fd00:5657:2::/64"
    h1.ctl("port", "add", t1, "type", "ipip", "remote", h2.addr, "local", h1.addr,
           "allowed-ips", allowed)
    h2.ctl("port", "add", t2, "type", "ipip", "remote", h1.addr)
    a = lab.tun_endpoint(h1.daemon, lab.name("tA"), "A", "198.19.1.1/24",
                         "198.19.1.254/24", "fd00:5657:1::1/64", "fd00:5657:1::fe/64")
    b = lab.tun_endpoint(h2.daemon, lab.name("tB"), "B", "198.19.2.1/24",
                         "198.19.2.254/24", "fd00:5657:2::1/64", "fd00:5657:2::fe/64")
    for d, t, far in ((h1.daemon, t1, "2"), (h2.daemon, t2, "1")):
        d.ctl("route", "add", f"198.19.{far}.0/24", "dev", t)
        d.ctl("route", "add", f"fd00:5657:{far}::/64", "dev", t)
    assert f"port add {t1} type ipip remote {h2.addr} local {h1.addr} " \
        f"allowed-ips {allowed}" in h1.ctl("save", "-").stdout.splitlines()
    # B's real sources are allowed, both families; A's replies go out freely.
    ping(b, a.addr, count=3)
    ping(b, a.addr6, count=2)
    ping(a, b.addr, count=2)
    assert port_stats(h1.daemon, t1)["drops"]["bad_inner_source"] == 0

    # Forged inner sources from H2's address (as anyone could send them).
    udp_from(h2.ns, h2.addr, h1.addr, 5555, ipv4_packet("198.19.9.9", a.addr), COUNT)
    udp_from(h2.ns, h2.addr, h1.addr, 5555,
             ipv6_packet("fd00:5657:9::1", a.addr6), COUNT)
    wait_until(lambda: port_stats(h1.daemon, t1)["drops"]["bad_inner_source"]
               >= 2 * COUNT, timeout=20, what="bad_inner_source counted")
    assert port_stats(h1.daemon, t1)["drops"]["bad_inner_source"] == 2 * COUNT
    ping(b, a.addr, count=3)
    # H2's side has no allowed-ips: it takes anything, as before.
    assert port_stats(h2.daemon, t2)["drops"]["bad_inner_source"] == 0

    # An L2 tunnel takes no allowed-ips.
    res = h1.ctl("port", "add", lab.name("vx"), "type", "vxlan", "remote", h2.addr,
                 "allowed-ips", "198.19.2.0/24", check=False)
    assert res.returncode != 0 and "takes no 'allowed-ips'" in res.stderr
