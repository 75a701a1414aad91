"""Routed traffic between two hosts over ipip and gre tunnels.

    ns A                 ns H1: vswitchd                 ns H2: vswitchd                ns B
    198.19.1.1    tunA [198.19.1.254   t1] === UDP === [t2   198.19.2.254] tunB    198.19.2.1
    fd00:5657:1::1       [fd00:5657:1::fe ]   veth     [ fd00:5657:2::fe  ]        fd00:5657:2::1
                          198.18.0.1/24  ------------  198.18.0.2/24
                          fd00:5657::1/64              fd00:5657::2/64

Each host is a namespace with one vswitchd: a tun port whose device is moved
into the endpoint's namespace, and a tunnel port (ipip: IP in UDP; gre: GRE
in UDP) to the other host over the veth underlay, IPv4 or IPv6.  Each router
routes the far subnet (IPv4 and IPv6) into its tunnel.
"""

import json
import re
import struct

import pytest

from tunlab import router_endpoints, router_pair
from vswlab import ping, port_stats, router_stats, wait_until

VARIANTS = [("ipip", "4", None), ("ipip", "6", None), ("gre", "4", None), ("gre", "6", 42)]
IDS = [f"{k}-v{u}" + ("-key" if key else "") for k, u, key in VARIANTS]


def two_hosts(lab, kind, under, key):
    h = router_pair(lab, under)
    h.kind, h.key = kind, key
    ua, ub = h.under
    h.t1, h.t2 = lab.name("t1"), lab.name("t2")
    extra = ["key", str(key)] if key is not None else []
    h.d1.ctl("port", "add", h.t1, "type", kind, "remote", ub, "local", ua, *extra)
    h.d2.ctl("port", "add", h.t2, "type", kind, "remote", ua, *extra)
    router_endpoints(lab, h, h.t1, h.t2)
    return h


@pytest.fixture(params=VARIANTS, ids=IDS)
def hosts(lab, request):
    return two_hosts(lab, *request.param)


def test_ping_and_iperf3_across_the_tunnel(lab, hosts):
    h = hosts
    res = ping(h.a, h.b.addr, count=3)
    assert "ttl=62" in res.stdout                # two routers on the way
    ping(h.a, h.b.addr6, count=3)
    ping(h.b, h.a.addr, count=2)
    assert port_stats(h.d1, h.t1)["tx_packets"] >= 6
    assert port_stats(h.d2, h.t2)["rx_packets"] >= 6

    server = lab.popen(h.b, "iperf3", "-s", "-1", "-B", h.b.addr)
    wait_until(lambda: "LISTEN" in h.b.run("ss", "-ltn").stdout, what="iperf3 server")
    res = h.a.run("iperf3", "-c", h.b.addr, "-t", "2", "--json", timeout=90)
    end = json.loads(res.stdout)["end"]
    assert end["sum_received"]["bytes"] > 1_000_000, end
    server.wait(timeout=15)
    # TCP found the tunnel's MTU through the routers' Fragmentation Needed.
    assert router_stats(h.d1)["icmp_frag_needed"] >= 1


def hops(out):
    return re.findall(r"^\s*\d+\s+(\S+)", out, re.M)


def test_traceroute_shows_both_routers(lab, hosts):
    h = hosts
    # One probe at a time (-N 1): B's kernel rate-limits its Port
    # Unreachables, and probes sent together, being different flows, may
    # leave a tunnel from different source ports and arrive out of order.
    out = h.a.run("traceroute", "-n", "-N", "1", "-q", "1", "-w", "2", h.b.addr, timeout=90).stdout
    # H2's tunnel port has no address: its errors come from its first
    # address, tunB's.
    assert hops(out) == ["198.19.1.254", "198.19.2.254", h.b.addr], out
    out = h.a.run("traceroute", "-6", "-n", "-N", "1", "-q", "1", "-w", "2", h.b.addr6, timeout=90).stdout
    assert hops(out) == ["fd00:5657:1::fe", "fd00:5657:2::fe", h.b.addr6], out


def test_df_above_the_tunnel_mtu_gets_frag_needed(lab, hosts):
    h = hosts
    [t1] = h.d1.ctl("port", "show", h.t1, json_out=True)["ports"]
    mtu = t1["mtu"]
    outer = (28 if ":" not in h.under[0] else 48) + {"ipip": 0, "gre": 4}[h.kind]
    assert mtu == 1500 - outer - (4 if h.key else 0)
    res = ping(h.a, h.b.addr, count=1, check=False, extra=("-M", "do", "-s", str(mtu - 27)))
    assert f"mtu = {mtu}" in res.stdout, res.stdout
    res = ping(h.a, h.b.addr6, count=1, check=False, extra=("-M", "do", "-s", str(mtu - 47)))
    assert f"mtu={mtu}" in res.stdout, res.stdout
    ping(h.a, h.b.addr, count=1, extra=("-M", "do", "-s", str(mtu - 28)))


def endpoint_drops(daemon):
    """The drop counters of the daemon's one tunnel endpoint."""
    [ep] = daemon.ctl("stats", json_out=True)["endpoints"]
    return ep["drops"]


def udp_from(ns, family, src, dst, port, payload, count=1):
    """Sends UDP datagrams from SRC (any port) to DST:PORT inside NS."""
    code = (
        "import socket\n"
        f"s = socket.socket({family}, socket.SOCK_DGRAM)\n"
        f"s.bind(({src!r}, 0))\n"
        f"for _ in range({count}): s.sendto(bytes.fromhex({payload.hex()!r}), ({dst!r}, {port}))\n"
    )
    ns.run("/usr/bin/python3", "-c", code)


@pytest.mark.parametrize("under", ["4", "6"])
def test_wire_safety_source_key_and_header_checks(lab, under):
    h = two_hosts(lab, "gre", under, 42)
    ua, ub = h.under
    fam = "socket.AF_INET" if under == "4" else "socket.AF_INET6"
    stranger = "198.18.0.3" if under == "4" else "fd00:5657::3"
    v2 = lab.name("v2")
    # Deprecated, so H2's own tunnel keeps its source address.
    h.h2.run("ip", "addr", "add", stranger + ("/24" if under == "4" else "/64"), "dev", v2,
             *(("nodad", "preferred_lft", "0") if under == "6" else ()))
    inner = bytes.fromhex("4500001c0001000040010000c6130201c6130101") + bytes(8)

    def gre(flags, proto=0x0800, key=None):
        return struct.pack("!HH", flags, proto) + (struct.pack("!I", key) if key is not None else b"")

    before = endpoint_drops(h.d1)
    udp_from(h.h2, fam, stranger, ua, 4754, gre(0x2000, key=42) + inner, count=4)
    udp_from(h.h2, fam, ub, ua, 4754, gre(0x2000, key=7) + inner, count=3)     # wrong key
    udp_from(h.h2, fam, ub, ua, 4754, gre(0) + inner, count=2)                 # no key
    udp_from(h.h2, fam, ub, ua, 4754, gre(0x2001, key=42) + inner, count=5)    # version 1
    udp_from(h.h2, fam, ub, ua, 4754, gre(0x2000, 0x6558, key=42) + inner, count=1)  # Ethernet
    udp_from(h.h2, fam, ub, ua, 4754, b"\x20", count=1)                        # runt
    want = {"wrong_source": 4, "unknown_key": 6, "bad_version": 5, "truncated": 1}
    wait_until(lambda: all(endpoint_drops(h.d1)[r] - before[r] >= n
                           for r, n in want.items()), what="drops counted")
    after = endpoint_drops(h.d1)
    assert {r: after[r] - before[r] for r in want} == want
    assert port_stats(h.d1, h.t1)["rx_packets"] == 0
    assert router_stats(h.d1)["forwarded"] == 0
    ping(h.a, h.b.addr, count=2)                 # and the tunnel still works


def lone_host(lab):
    """A namespace with an underlay address (a veth pair going nowhere),
    so tunnels can be opened towards 198.18.0.0/24, and a daemon."""
    s = lab.netns("H")
    v, peer = lab.name("u0"), lab.name("u1")
    s.run("ip", "link", "add", v, "type", "veth", "peer", "name", peer)
    s.run("ip", "addr", "add", "198.18.0.9/24", "dev", v)
    s.run("ip", "addr", "add", "fd00:5657::9/64", "dev", v, "nodad")
    s.run("ip", "link", "set", v, "up")
    s.run("ip", "link", "set", peer, "up")
    return s, lab.daemon(s)


BAD_TUNNEL_COMMANDS = [
    (["port", "add", "x0", "type", "ipip"], "remote"),
    (["port", "add", "x0", "type", "ipip", "remote", "bogus"], "bogus"),
    (["port", "add", "x0", "type", "ipip", "remote", "198.18.0.2/24"], "198.18.0.2/24"),
    (["port", "add", "x0", "type", "ipip", "remote", "198.18.0.2", "key", "5"], "key"),
    (["port", "add", "x0", "type", "gre", "remote", "198.18.0.2", "key", "-5"], "-5"),
    (["port", "add", "x0", "type", "gre", "remote", "198.18.0.2", "dstport", "70000"], "70000"),
    (["port", "add", "x0", "type", "gre", "remote", "198.18.0.2", "local", "fd00:5657::1"],
     "same family"),
    (["port", "add", "x0", "type", "gre", "remote", "198.18.0.2", "local", "198.18.99.1"],
     "198.18.99.1"),
    (["port", "add", "x0", "type", "tun", "remote", "198.18.0.2"], "remote"),
    (["port", "add", "x0", "type", "gre", "remote", "198.18.0.1"], "already tunnels"),
]


@pytest.mark.parametrize("args,quoted", BAD_TUNNEL_COMMANDS,
                         ids=[" ".join(a) for a, _ in BAD_TUNNEL_COMMANDS])
def test_bad_tunnel_ports_are_refused(lab, args, quoted):
    s, d = lone_host(lab)
    d.ctl("port", "add", lab.name("g0"), "type", "gre", "remote", "198.18.0.1")
    res = d.ctl(*args, check=False)
    assert res.returncode != 0
    assert res.stderr.startswith("vswctl: ") and quoted in res.stderr, res.stderr
    assert [p["name"] for p in d.ctl("port", "show", json_out=True)["ports"]] == [lab.name("g0")]
    assert d.alive()


def test_tunnels_share_one_socket(lab):
    s, d = lone_host(lab)
    for i in range(3):
        d.ctl("port", "add", lab.name(f"g{i}"), "type", "gre", "remote", f"198.18.0.{10 + i}")
    # Ethernet and IP to the same remote: the GRE protocol type tells them apart.
    d.ctl("port", "add", lab.name("e0"), "type", "gretap", "remote", "198.18.0.10")
    socks = s.run("ss", "-Hulnp").stdout
    assert socks.count(":4754") == 1, socks
    [ep] = d.ctl("stats", json_out=True)["endpoints"]
    assert (ep["encap"], ep["ports"]) == ("gre", 4)
    for name in ("g0", "g1", "e0"):
        d.ctl("port", "del", lab.name(name))
    assert s.run("ss", "-Hulnp").stdout.count(":4754") == 1
    d.ctl("port", "del", lab.name("g2"))
    assert ":4754" not in s.run("ss", "-Hulnp").stdout
