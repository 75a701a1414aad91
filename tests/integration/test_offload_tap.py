"""Tap offloads end to end: vnet headers, TSO/USO super-frames, checksums
owed, the software fallback and captures of what the wire carries.

    ns A (198.19.0.1           ns S: vswitchd             ns B (198.19.0.2
          fd00:5657:6::1)   [ tA  <-switch->  tB ]              fd00:5657:6::2)
      tA  <--- fd + vnet hdr --->           <--- fd + vnet hdr --->  tB

With the offloads on, A's kernel hands the switch TCP super-frames of up to
64 KB (rx_gso) and the switch hands them to B's as they are (tx_gso).  With
tap-tso or tap-csum off the kernel segments and checksums before the switch
sees anything.  The receiving kernel verifies every checksum: a bad one is
a dropped segment, and TCP retransmits it, so a low retransmit count is the
proof of correctness here, beside the bytes delivered.
"""

import json
import subprocess

import pytest

from iperflab import check_tcp, check_wire_capture, iperf3
from tunlab import connected, two_hosts
from vswlab import port_stats, two_endpoints, wait_until

V6 = {"A": "fd00:5657:6::1", "B": "fd00:5657:6::2"}
TAKES_ALL = ["csum", "tso4", "tso6", "uso"]
# Between taps, TCP is held to 1 retransmit in 200 segments.
TAP_TCP = {"min_bytes": 10_000_000, "retransmit_share": 1 / 200}


def add_v6(ep, addr):
    ep.run("sysctl", "-qw", f"net.ipv6.conf.{ep.port}.disable_ipv6=0")
    ep.run("ip", "-6", "addr", "add", f"{addr}/64", "dev", ep.port, "nodad")
    ep.addr6 = addr


def lab_v6(lab):
    d, a, b = two_endpoints(lab)
    add_v6(a, V6["A"])
    add_v6(b, V6["B"])
    return d, a, b




def offloads(d, port):
    return [p for p in d.ctl("port", "show", json_out=True)["ports"]
            if p["name"] == port][0]["offloads"]


def no_offload_drops(d, *ports):
    for p in ports:
        drops = port_stats(d, p)["drops"]
        assert drops["bad_offload"] == 0 and drops["too_big"] == 0, drops


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_tcp_super_frames_between_taps(lab, family):
    d, a, b = lab_v6(lab)
    assert offloads(d, a.port) == TAKES_ALL and offloads(d, b.port) == TAKES_ALL
    assert "accepts csum tso4 tso6 uso" in d.ctl("show").stdout
    addr = b.addr if family == "ipv4" else b.addr6
    check_tcp(iperf3(lab, a, b, addr), **TAP_TCP)
    sa, sb = port_stats(d, a.port), port_stats(d, b.port)
    assert sa["rx_gso"] > 0 and sb["tx_gso"] > 0, (sa, sb)
    assert sb["tx_segmented"] == 0
    no_offload_drops(d, a.port, b.port)
    # The kernel side agrees: the taps do TSO.
    feats = a.run("ethtool", "-k", a.port).stdout
    assert "tcp-segmentation-offload: on" in feats


@pytest.mark.parametrize("switch", ["tap-tso", "tap-csum"])
@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_tcp_with_an_offload_off(lab, switch, family):
    d, a, b = lab_v6(lab)
    d.ctl("offload", "set", switch, "off")
    want = ["csum"] if switch == "tap-tso" else []
    if switch == "tap-tso":
        want.append("uso")
    assert offloads(d, a.port) == want
    addr = b.addr if family == "ipv4" else b.addr6
    check_tcp(iperf3(lab, a, b, addr), **TAP_TCP)
    sa = port_stats(d, a.port)
    assert sa["rx_gso"] == 0, sa
    no_offload_drops(d, a.port, b.port)
    # And back on at run time: super-frames again.
    d.ctl("offload", "set", switch, "on")
    assert offloads(d, a.port) == TAKES_ALL
    check_tcp(iperf3(lab, a, b, addr), **TAP_TCP)
    assert port_stats(d, a.port)["rx_gso"] > 0


def test_udp_iperf3_and_uso(lab):
    d, a, b = two_endpoints(lab)
    # A rate the sanitizer build keeps up with on a busy machine: a loss
    # here would be bad checksums, which the receiving kernel drops.
    end = iperf3(lab, a, b, b.addr, "-u", "-b", "50M", "-l", "1400")["end"]
    assert end["sum"]["lost_percent"] < 10, end["sum"]
    assert end["sum"]["bytes"] > 1_000_000, end["sum"]
    # UDP GSO from a socket (UDP_SEGMENT): USO super-frames to the switch.
    recv = lab.popen(b, "/usr/bin/python3", "-c", UDP_RECEIVER, b.addr,
                     stdout=subprocess.PIPE, text=True)
    wait_until(lambda: ":5301" in b.run("ss", "-lunH").stdout, what="receiver")
    a.run("/usr/bin/python3", "-c", UDP_GSO_SENDER, b.addr)
    got = json.loads(recv.communicate(timeout=30)[0])
    assert got["datagrams"] >= 200 * 40 * 0.98 and got["bad"] == 0, got
    assert port_stats(d, a.port)["rx_gso"] > 0
    no_offload_drops(d, a.port, b.port)


# 200 sends of 40 datagrams of 1200 bytes each, one UDP_SEGMENT send each.
UDP_GSO_SENDER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_UDP, 103, 1200)          # UDP_SEGMENT
for i in range(200):
    buf = b"".join(bytes([(i + k) % 256]) * 1200 for k in range(40))
    s.sendto(buf, (sys.argv[1], 5301))
    time.sleep(0.002)
s.sendto(b"end", (sys.argv[1], 5301))
"""

# Counts datagrams; each must be 1200 bytes of one repeated byte.
UDP_RECEIVER = r"""
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)      # SO_RCVBUFFORCE
s.bind((sys.argv[1], 5301))
s.settimeout(20)
n = bad = 0
while True:
    data = s.recv(65536)
    if data == b"end":
        break
    n += 1
    if len(data) != 1200 or data.count(data[:1]) != 1200:
        bad += 1
print(json.dumps({"datagrams": n, "bad": bad}))
"""


def test_fallback_segments_for_a_port_that_takes_none(lab):
    """Taps with offloads beside a VXLAN tunnel that takes none: the switch
    segments A's super-frames in software for the tunnel (tx_segmented),
    and TCP across still runs clean."""
    h1, h2, e1, e2, tun = two_hosts(lab, "vxlan")
    connected(e1, e2)
    check_tcp(iperf3(lab, e1, e2, e2.addr), **TAP_TCP)
    st = h1.ctl("stats", tun, json_out=True)
    tstats = [p for p in st["ports"] if p["name"] == tun][0]
    assert tstats["tx_segmented"] > 0, tstats
    assert tstats["drops"]["bad_offload"] == 0


def test_capture_records_the_wire(lab, tmp_path):
    """A capture during TCP with offloads on holds segments, not super-
    frames: tshark finds no bad checksum or length, and no frame is longer
    than the MTU allows."""
    d, a, b = two_endpoints(lab)
    pcap = tmp_path / "tcp.pcap"
    d.ctl("capture", "start", a.port, "-w", pcap, "count", "3000")
    check_tcp(iperf3(lab, a, b, b.addr, seconds=1), **TAP_TCP)
    assert port_stats(d, a.port)["rx_gso"] > 0
    check_wire_capture(d, pcap, max_len=1500 + 18)
