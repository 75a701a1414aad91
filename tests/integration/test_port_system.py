"""System ports: an existing device attached through a packet socket, as a
VM's vnetN or a container's veth end is.

    ns V (198.19.0.1)         ns S: vswitchd                    ns A (198.19.0.2)
      vV  ====== veth ======  vS  [ vS (system) <-switch-> tA (tap) ] <-- fd --> tA
                                     AF_PACKET, vnet hdr

V stands for the container: its kernel hands the veth TCP super-frames whose
checksums are still owed (ethtool -K on, the veth default), and vS's packet
socket reads them whole.  The switch passes them to the tap as they are, and
finishes them in software for what cannot take them (a capture, or every
port once tap-csum is off); A's kernel verifies every checksum, so a low
retransmit count, and a capture tshark finds clean, are the proof.
"""

import json
import re

import pytest

from iperflab import check_tcp, check_wire_capture, iperf3
from vswlab import ping, port_stats, wait_until

# Between a tap and a veth, as between taps: 1 retransmit in 200 segments.
TCP = {"min_bytes": 10_000_000, "retransmit_share": 1 / 200}
TAKES_ALL = ["csum", "tso4", "tso6"]


def container(lab, d, s):
    """A veth pair: vS in the daemon's namespace S, attached as a system
    port, and vV in a new namespace V at 198.19.0.1, with checksum and
    segmentation offloads on."""
    v = lab.netns("V")
    v.port, near = lab.name("vV"), lab.name("vS")
    s.run("ip", "link", "add", near, "type", "veth", "peer", "name", v.port,
          "netns", v.name)
    s.run("sysctl", "-qw", f"net.ipv6.conf.{near}.disable_ipv6=1")
    s.run("ip", "link", "set", near, "up")
    v.run("sysctl", "-qw", f"net.ipv6.conf.{v.port}.disable_ipv6=1")
    v.run("ip", "addr", "add", "198.19.0.1/24", "dev", v.port)
    v.run("ip", "link", "set", v.port, "up")
    for ns, dev in ((s, near), (v, v.port)):
        ns.run("ethtool", "-K", dev, "tx", "on", "sg", "on", "tso", "on")
    v.addr = "198.19.0.1"
    v.near = near
    d.ctl("port", "add", near, "type", "system")
    return v


def lab_system(lab):
    s = lab.netns("S")
    d = lab.daemon(s)
    v = container(lab, d, s)
    a = lab.endpoint(d, lab.name("tA"), "A", "198.19.0.2/24")
    wait_until(lambda: port(d, v.near)["state"] == "up", what="vS up")
    return d, s, v, a


def port(d, name):
    return [p for p in d.ctl("port", "show", json_out=True)["ports"]
            if p["name"] == name][0]


def promiscuity(s, dev):
    out = s.run("ip", "-d", "link", "show", dev).stdout
    return int(re.search(r"promiscuity (\d+)", out).group(1))


def csum_errors(ns):
    """The TCP segments ns's kernel dropped for a bad checksum."""
    lines = [l.split() for l in ns.run("cat", "/proc/net/snmp").stdout.splitlines()
             if l.startswith("Tcp:")]
    return int(lines[1][lines[0].index("InCsumErrors")])


def no_offload_drops(d, *ports):
    for p in ports:
        drops = port_stats(d, p)["drops"]
        assert drops["bad_offload"] == 0 and drops["too_big"] == 0, drops


def test_ping_both_ways(lab):
    d, s, v, a = lab_system(lab)
    p = port(d, v.near)
    assert (p["type"], p["layer"], p["mtu"]) == ("system", "l2", 1500), p
    assert p["offloads"] == TAKES_ALL
    for size in ("56", "1400"):
        ping(v, a.addr, extra=("-s", size))
        ping(a, v.addr, extra=("-s", size))
    st = port_stats(d, v.near)
    assert st["rx_packets"] >= 12 and st["tx_packets"] >= 12, st
    no_offload_drops(d, v.near, a.port)


@pytest.mark.parametrize("direction", ["from-veth", "to-veth"])
def test_tcp_with_checksum_offload(lab, direction):
    d, s, v, a = lab_system(lab)
    feats = v.run("ethtool", "-k", v.port).stdout
    assert "tx-checksumming: on" in feats
    if direction == "from-veth":
        check_tcp(iperf3(lab, v, a, a.addr), **TCP)
        assert port_stats(d, v.near)["rx_gso"] > 0
        assert port_stats(d, a.port)["tx_gso"] > 0
    else:
        check_tcp(iperf3(lab, a, v, v.addr), **TCP)
        assert port_stats(d, a.port)["rx_gso"] > 0
        assert port_stats(d, v.near)["tx_gso"] > 0
    # What retransmits there are come from elsewhere (a veth delivers on
    # the sender's CPU, so two CPUs may reorder): never a bad checksum.
    assert csum_errors(v) == 0 and csum_errors(a) == 0
    no_offload_drops(d, v.near, a.port)


@pytest.mark.parametrize("switch", ["tap-tso", "tap-csum"])
def test_tcp_with_an_offload_off(lab, switch):
    """The system port then takes less, and the switch finishes super-frames
    and checksums in software on the way to it and to the tap; what the veth
    hands over is the same."""
    d, s, v, a = lab_system(lab)
    d.ctl("offload", "set", switch, "off")
    assert port(d, v.near)["offloads"] == (["csum"] if switch == "tap-tso"
                                           else [])
    check_tcp(iperf3(lab, v, a, a.addr), **TCP)
    check_tcp(iperf3(lab, a, v, v.addr), **TCP)
    assert port_stats(d, v.near)["tx_gso"] == 0
    assert csum_errors(v) == 0 and csum_errors(a) == 0
    no_offload_drops(d, v.near, a.port)


def test_capture_is_clean(lab, tmp_path):
    """A capture on the system port during TCP with partial checksums holds
    finished segments: tshark, checking every checksum, finds none bad."""
    d, s, v, a = lab_system(lab)
    pcap = tmp_path / "tcp.pcap"
    d.ctl("capture", "start", v.near, "-w", pcap, "count", "3000")
    check_tcp(iperf3(lab, v, a, a.addr, seconds=1), **TCP)
    assert port_stats(d, v.near)["rx_gso"] > 0
    check_wire_capture(d, pcap, max_len=1500 + 18)


def test_state_follows_the_device_and_is_logged_once(lab):
    d, s, v, a = lab_system(lab)
    steps = [
        (s, v.near, "down", "down", "device is down"),
        (s, v.near, "up", "up", "device is up"),
        (v, v.port, "down", "no-link", "has no link"),
        (v, v.port, "up", "up", "device is up"),
    ]
    for ns, dev, how, state, said in steps:
        ns.run("ip", "link", "set", dev, how)
        wait_until(lambda: port(d, v.near)["state"] == state, what=state)
        wait_until(lambda: said in d.log_text(), what=f"'{said}' logged")
    wait_until(lambda: d.log_text().count(f"port {v.near}: ") >= 4,
               what="four notes")
    notes = re.findall(rf"port {v.near}: (.*)", d.log_text())
    # One note per change; a tick may never repeat one.
    assert notes == ["device is down", "device is up",
                     "device is up but has no link (no carrier)",
                     "device is up"], notes
    ping(v, a.addr)


def test_veth_deleted_and_created_again(lab):
    """The container restarts: its veth goes, and one of the same name comes
    back with a new ifindex.  The port attaches to it within a tick."""
    d, s, v, a = lab_system(lab)
    ping(v, a.addr, count=1)
    s.run("ip", "link", "del", v.near)
    wait_until(lambda: port(d, v.near)["state"] == "gone", what="gone")
    wait_until(lambda: "device is gone" in d.log_text(), what="gone logged")
    s.run("ip", "link", "add", v.near, "type", "veth", "peer", "name", v.port,
          "netns", v.name)
    s.run("sysctl", "-qw", f"net.ipv6.conf.{v.near}.disable_ipv6=1")
    s.run("ip", "link", "set", v.near, "up")
    v.run("sysctl", "-qw", f"net.ipv6.conf.{v.port}.disable_ipv6=1")
    v.run("ip", "addr", "add", "198.19.0.1/24", "dev", v.port)
    v.run("ip", "link", "set", v.port, "up")
    wait_until(lambda: port(d, v.near)["state"] == "up", what="back up")
    assert "device is back" in d.log_text()
    assert promiscuity(s, v.near) == 1
    ping(v, a.addr)
    ping(a, v.addr, extra=("-s", "1400"))
    assert d.alive()


def test_port_del_restores_promiscuity(lab):
    d, s, v, a = lab_system(lab)
    assert promiscuity(s, v.near) == 1
    d.ctl("port", "del", v.near)
    assert promiscuity(s, v.near) == 0
    # The device is someone else's: still there, still up.
    link = json.loads(s.run("ip", "-j", "link", "show", v.near).stdout)[0]
    assert "UP" in link["flags"]


def test_refused(lab):
    s = lab.netns("S")
    d = lab.daemon(s)
    res = d.ctl("port", "add", lab.name("none"), "type", "system", check=False)
    assert res.returncode != 0 and "no such device" in res.stderr, res.stderr
    res = d.ctl("port", "add", "lo", "type", "system", check=False)
    assert "not an Ethernet device" in res.stderr, res.stderr
    v = container(lab, d, s)
    res = d.ctl("port", "add", v.near, "type", "system", check=False)
    assert "already exists" in res.stderr, res.stderr
    d.ctl("port", "del", v.near)
    res = d.ctl("port", "add", v.near, "type", "system", "mtu", "1400",
                check=False)
    assert res.returncode != 0 and "mtu" in res.stderr, res.stderr
    assert promiscuity(s, v.near) == 0
