"""What ICMP from the underlay may do to a tunnel: issue 12, holes 1 and 10.

    ns E1 (198.19.0.1)                                    ns E2 (198.19.0.2)
      t1 <-fd-> [ vswitchd in H1: t1, tun ]       [ vswitchd in H2: tun, t2 ] <-fd-> t2
                             H1 198.18.0.1 ==== veth ==== 198.18.0.2 H2
                                             MTU 1500     (the forger, or a host
                                                           with no listener)

Hole 1: one forged ICMP "fragmentation needed" quoting the tunnel's
datagrams (MTU 552) made the kernel lower the path MTU to H2 for ten minutes,
and the tunnel dropped every full-size frame as too_big.  Now the tunnel's
MTU follows the underlay, not a path MTU an ICMP lowered: what the path MTU
says does not fit is sent fragmented (as the kernel's vxlan does), and
min-mtu is the floor below which the path MTU is not believed at all.

Hole 10: a host whose kernel answers the tunnel's datagrams with ICMP port
unreachable made the next send on that connected socket fail with
ECONNREFUSED, and the frame was lost as tx_error.  Now the send is tried
again and the error counted (icmp_errors), and no frame is lost.
"""

import pytest

from tunlab import Host, connected, endpoint, link, tunnel, two_hosts
from vswlab import find_port, ping, port_stats, wait_until

pytest.importorskip("scapy.all")

VXLAN = 4789


def tunnel_info(host, name):
    return find_port(host.ctl("show", json_out=True), name)["tunnel"]


def sender_ports(host, remote, dport):
    """The source ports of the host's sockets connected to remote:dport."""
    peer = f"[{remote}]" if ":" in remote else remote
    out = host.ns.run("ss", "-uanH", "dst", f"{peer}:{dport}").stdout
    # State, Recv-Q, Send-Q, local address:port, peer address:port.
    return sorted(int(ln.split()[3].rsplit(":", 1)[1]) for ln in out.splitlines())


def forge_frag_needed(ns, victim, peer, sports, mtu=552):
    """From ns, an ICMP fragmentation needed (IPv6: packet too big) to
    victim for each of its datagrams victim:sport -> peer:4789, as a router
    on the path would send it."""
    if ":" in victim:
        icmp = (f"IPv6(src={peer!r}, dst={victim!r})/ICMPv6PacketTooBig(mtu={mtu})"
                f"/IPv6(src={victim!r}, dst={peer!r}, plen=1460, hlim=63)")
    else:
        icmp = (f"IP(src={peer!r}, dst={victim!r})/ICMP(type=3, code=4, nexthopmtu={mtu})"
                f"/IP(src={victim!r}, dst={peer!r}, flags='DF', len=1500, ttl=63)")
    code = (
        "from scapy.all import ICMP, ICMPv6PacketTooBig, IP, IPv6, UDP, send\n"
        f"for sp in {sports!r}:\n"
        f"  send({icmp}/UDP(sport=sp, dport={VXLAN}, len=1460), verbose=0)\n"
    )
    ns.run("/usr/bin/python3", "-c", code)


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_forged_frag_needed_no_longer_drops_full_size_frames(lab, v6):
    # Over IPv6 the kernel takes no path MTU below 1280.
    overhead, forged = (70, 1280) if v6 else (50, 552)
    inner = 1500 - overhead
    h1, h2, e1, e2, tun = two_hosts(lab, "vxlan", v6=v6, mtu=1500,
                                    endpoint_mtu=inner)
    connected(e1, e2)
    # The ICMP payload that makes an inner IP packet of the inner MTU, the
    # largest the tunnel carries whole over a 1500 underlay.
    full = ("-s", str(inner - 28), "-M", "do")
    ping(e1, e2.addr, count=2, extra=full)
    ports = sender_ports(h1, h2.ul(v6), VXLAN)
    assert len(ports) == 4, ports
    # The sending sockets, and the receiving endpoint's own port too.
    forge_frag_needed(h2.ns, h1.ul(v6), h2.ul(v6), ports + [VXLAN], mtu=forged)
    # The forgery landed: the kernel believes it (for ten minutes).
    route = h1.ns.run("ip", "route", "get", h2.ul(v6)).stdout
    assert f"mtu {forged}" in route, route
    wait_until(lambda: tunnel_info(h1, tun)["kernel_mtu"] == forged, timeout=5,
               what=f"path MTU {forged} read by the tunnel")
    t = tunnel_info(h1, tun)
    assert (t["underlay_mtu"], t["inner_mtu"], t["path_mtu"]) == (1500, inner, forged)
    before = port_stats(h1.daemon, tun)
    frag_before = t["fragmented"]
    # Full-size frames still cross: the outer packets are fragmented.
    ping(e1, e2.addr, count=5, extra=full)
    after = port_stats(h1.daemon, tun)
    assert after["drops"]["too_big"] == before["drops"]["too_big"]
    assert after["drops"]["tx_error"] == 0 and after["tx_errors"] == 0
    assert tunnel_info(h1, tun)["fragmented"] >= frag_before + 5
    # Small frames go whole, as before.
    frag_before = tunnel_info(h1, tun)["fragmented"]
    ping(e1, e2.addr, count=3, extra=("-s", "400", "-M", "do"))
    assert tunnel_info(h1, tun)["fragmented"] == frag_before

    # A floor at the underlay's MTU: the path MTU the ICMP said is not
    # believed, full-size frames go whole again (DF set, PROBE).
    h1.ctl("port", "set", tun, "min-mtu", "1500")
    t = tunnel_info(h1, tun)
    assert (t["min_mtu"], t["path_mtu"], t["kernel_mtu"]) == (1500, 1500, forged)
    frag_before = t["fragmented"]
    ping(e1, e2.addr, count=3, extra=full)
    assert tunnel_info(h1, tun)["fragmented"] == frag_before
    assert port_stats(h1.daemon, tun)["drops"]["too_big"] == before["drops"]["too_big"]
    show = h1.ctl("port", "show", tun).stdout
    assert f"path mtu 1500 (kernel {forged}, min-mtu 1500)" in show
    # save writes what port set set.
    saved = h1.ctl("save", "-").stdout
    [line] = [ln for ln in saved.splitlines() if ln.startswith(f"port add {tun} ")]
    assert line.endswith(" min-mtu 1500"), line
    # 0 takes the floor away again, and save writes none.
    h1.ctl("port", "set", tun, "min-mtu", "0")
    assert tunnel_info(h1, tun)["path_mtu"] == forged
    assert "min-mtu" not in h1.ctl("save", "-").stdout


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_a_forgery_from_before_the_port_was_added_costs_no_mtu(lab, v6):
    """The kernel keeps a forged path MTU per remote for ten minutes, past
    the sockets it reached: a tunnel added again (a reload, a restart after
    kill -9) took it for the underlay's MTU and dropped full-size frames.
    Its underlay MTU is the route's now (its device), not the path MTU."""
    overhead, forged = (70, 1280) if v6 else (50, 552)
    inner = 1500 - overhead
    h1, h2, e1, e2, tun = two_hosts(lab, "vxlan", v6=v6, mtu=1500,
                                    endpoint_mtu=inner)
    connected(e1, e2)
    ports = sender_ports(h1, h2.ul(v6), VXLAN)
    forge_frag_needed(h2.ns, h1.ul(v6), h2.ul(v6), ports, mtu=forged)
    route = h1.ns.run("ip", "route", "get", h2.ul(v6)).stdout
    assert f"mtu {forged}" in route, route
    # The same tunnel, added again while the kernel still believes it.
    saved = h1.ctl("save", "-").stdout
    [line] = [ln for ln in saved.splitlines() if ln.startswith(f"port add {tun} ")]
    h1.ctl("port", "del", tun)
    h1.ctl(*line.split())
    t = tunnel_info(h1, tun)
    assert (t["underlay_mtu"], t["inner_mtu"], t["kernel_mtu"]) == (1500, inner, forged)
    assert find_port(h1.ctl("show", json_out=True), tun)["mtu"] == inner
    # Full-size frames cross, fragmented outside as the path MTU asks.
    connected(e1, e2)
    ping(e1, e2.addr, count=3, extra=("-s", str(inner - 28), "-M", "do"))
    st = port_stats(h1.daemon, tun)
    assert st["drops"]["too_big"] == 0 and st["tx_errors"] == 0, st
    assert tunnel_info(h1, tun)["fragmented"] >= 3


def test_the_ipv6_mtu_of_the_underlay_device_counts(lab):
    """A device's IPv6 MTU (net.ipv6.conf.DEV.mtu, or a router
    advertisement's) may be below its link MTU: over IPv6 the tunnel's
    underlay MTU is the lower of the two, as the kernel's own is."""
    h1, h2, e1, e2, tun = two_hosts(lab, "vxlan", v6=True, mtu=1500,
                                    endpoint_mtu=1430)
    route = h1.ns.run("ip", "-6", "route", "get", h2.ul(True)).stdout
    dev = route.split(" dev ")[1].split()[0]
    h1.ns.run("sysctl", "-qw", f"net.ipv6.conf.{dev}.mtu=1400")
    saved = h1.ctl("save", "-").stdout
    [line] = [ln for ln in saved.splitlines() if ln.startswith(f"port add {tun} ")]
    h1.ctl("port", "del", tun)
    h1.ctl(*line.split())
    t = tunnel_info(h1, tun)
    assert (t["underlay_mtu"], t["inner_mtu"]) == (1400, 1330), t


def test_frames_beyond_the_underlay_mtu_are_still_dropped(lab):
    """Fragmenting is for a path MTU below the underlay's: a frame larger
    than the underlay itself carries is dropped as before (too_big)."""
    h1, h2, e1, e2, tun = two_hosts(lab, "vxlan", mtu=1500)
    connected(e1, e2)
    before = port_stats(h1.daemon, tun)["drops"]["too_big"]
    res = ping(e1, e2.addr, count=3, check=False, extra=("-s", "1423", "-M", "do"))
    assert res.returncode != 0
    assert port_stats(h1.daemon, tun)["drops"]["too_big"] >= before + 3
    assert tunnel_info(h1, tun)["fragmented"] == 0


def test_min_mtu_option_and_its_checks(lab):
    h1, h2 = Host(lab, 1), Host(lab, 2)
    link(lab, h1, h2, mtu=1500)
    t4, t6, tap = lab.name("m4"), lab.name("m6"), lab.name("tp")
    tunnel(h1, t4, "vxlan", h2, min_mtu=1400)
    assert tunnel_info(h1, t4)["min_mtu"] == 1400
    assert f"port add {t4} type vxlan remote {h2.addr} local {h1.addr} min-mtu 1400" \
        in h1.ctl("save", "-").stdout.splitlines()
    # The floor depends on the family: 576 over IPv4, 1280 over IPv6.
    res = h1.ctl("port", "add", t6, "type", "gretap", "remote", h2.addr6,
                 "min-mtu", "1000", check=False)
    assert res.returncode != 0
    assert "invalid min-mtu '1000' over IPv6 (0 for none, or 1280 to 65535)" in res.stderr
    res = h1.ctl("port", "set", t4, "min-mtu", "100", check=False)
    assert "invalid min-mtu '100' over IPv4" in res.stderr
    assert tunnel_info(h1, t4)["min_mtu"] == 1400
    h1.ctl("port", "add", tap, "type", "tap")
    res = h1.ctl("port", "set", tap, "min-mtu", "1400", check=False)
    assert res.returncode != 0 and "only tunnels take min-mtu" in res.stderr
    res = h1.ctl("port", "add", lab.name("tq"), "type", "tap", "min-mtu", "1400",
                 check=False)
    assert res.returncode != 0 and "min-mtu" in res.stderr
    res = h1.ctl("port", "set", lab.name("nope"), "min-mtu", "1400", check=False)
    assert "unknown port" in res.stderr
    # A floor above the underlay's MTU: the port's MTU follows it.
    h1.ctl("port", "set", t4, "min-mtu", "9000")
    t = tunnel_info(h1, t4)
    assert (t["underlay_mtu"], t["inner_mtu"]) == (9000, 8950)


def udp_noports(ns):
    """Datagrams the namespace's kernel found no socket for."""
    lines = ns.run("cat", "/proc/net/snmp").stdout.splitlines()
    head, vals = [ln.split() for ln in lines if ln.startswith("Udp:")][:2]
    return int(vals[head.index("NoPorts")])


def test_icmp_port_unreachable_loses_no_frame(lab):
    """A tunnel to a host with no listener: its kernel answers every
    datagram with port unreachable, which the next send on that socket
    reported as ECONNREFUSED, losing that frame."""
    h1, h2 = Host(lab, 1), Host(lab, 2, daemon=False)
    link(lab, h1, h2)
    # An answer to every datagram, not one a second.
    h2.ns.run("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
    h2.ns.run("sysctl", "-qw", "net.ipv4.icmp_msgs_per_sec=100000")
    e1 = endpoint(lab, h1)
    tun = lab.name("tun")
    tunnel(h1, tun, "vxlan", h2)
    n = 40
    before = udp_noports(h2.ns)
    # Broadcast frames from E1, 20 ms apart so that each ICMP is back
    # before the next send; the switch floods each to the tunnel.
    code = (
        "import socket, time\n"
        "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
        f"s.bind(({e1.port!r}, 0))\n"
        "src = bytes.fromhex('020000000a01')\n"
        f"for i in range({n}):\n"
        "  s.send(b'\\xff' * 6 + src + b'\\x88\\xb5' + bytes([i]) * 50)\n"
        "  time.sleep(0.02)\n"
    )
    e1.run("/usr/bin/python3", "-c", code)
    def accounted():
        st = port_stats(h1.daemon, tun)
        return st["tx_packets"] + sum(st["drops"].values()) >= n
    wait_until(accounted, timeout=5, what=f"{n} frames sent or dropped")
    st = port_stats(h1.daemon, tun)
    assert st["tx_packets"] == n, st
    assert st["tx_errors"] == 0 and sum(st["drops"].values()) == 0, st
    # Every one reached H2 (and drew a port unreachable).
    wait_until(lambda: udp_noports(h2.ns) - before >= n, timeout=5,
               what="every datagram at H2")
    t = tunnel_info(h1, tun)
    assert t["icmp_errors"] > 0, t
    assert f"{t['icmp_errors']} icmp errors" in h1.ctl("show").stdout
    # It stays up and keeps sending: nothing was turned off by the errors.
    assert t["offloads"]["udp_gso"] == "on"
