"""The router on tun ports: forwarding, ICMP errors, the routing table.

    ns A                           ns R: vswitchd                         ns B
    198.19.1.1/24        [ tunA 198.19.1.254/24   tunB 198.19.2.254/24 ]   198.19.2.1/24
    fd00:5657:1::1/64 -- [      fd00:5657:1::fe/64     fd00:5657:2::fe/64 ] -- fd00:5657:2::1/64
        tunA  <---- fd ---->                                  <---- fd ---->  tunB

The daemon creates both tun devices in R; each is moved into its endpoint
namespace, which addresses it and routes everything else via the router's
address on that link.  The router's addresses add the connected routes
198.19.1.0/24 dev tunA and 198.19.2.0/24 dev tunB (and the IPv6 ones).
"""

import json
import re
import time

import pytest

from vswlab import ping, port_stats, raw_send, router_stats, routes, wait_until

scapy = pytest.importorskip("scapy.all")
IP, IPv6, ICMP, UDP = scapy.IP, scapy.IPv6, scapy.ICMP, scapy.UDP


def router_with(lab, mtu_b=None, v6=True):
    r = lab.netns("R")
    d = lab.daemon(r)
    a = lab.tun_endpoint(d, lab.name("tA"), "A", "198.19.1.1/24", "198.19.1.254/24",
                         *(("fd00:5657:1::1/64", "fd00:5657:1::fe/64") if v6 else ()))
    b = lab.tun_endpoint(d, lab.name("tB"), "B", "198.19.2.1/24", "198.19.2.254/24",
                         *(("fd00:5657:2::1/64", "fd00:5657:2::fe/64") if v6 else ()),
                         mtu=mtu_b)
    return d, a, b


def icmp_reply(ns, packet):
    """Sends PACKET (scapy expression) from NS; returns the reply's source
    and the type and code of its ICMP or ICMPv6 layer, or None."""
    code = ("import json\nfrom scapy.all import *\nconf.verb = 0\n"
            f"r = sr1({packet}, timeout=5)\n"
            "l = r.getlayer(1) if r else None\n"
            "print(json.dumps(l and [r.src, l.type, l.code]))\n")
    return json.loads(ns.run("/usr/bin/python3", "-c", code, timeout=60).stdout)


def route_of(daemon, dst, *args):
    [r] = [r for r in routes(daemon, *args) if r["destination"] == dst]
    return r


def test_ping_across_subnets_decrements_ttl(lab):
    d, a, b = router_with(lab)
    res = ping(a, b.addr, count=5)
    assert "ttl=63" in res.stdout            # B's 64, less one hop
    assert route_of(d, "198.19.2.0")["use"] == 5   # the requests
    assert route_of(d, "198.19.1.0")["use"] == 5   # the replies
    ping(b, a.addr, count=2)
    assert route_of(d, "198.19.2.0")["use"] == 7
    assert router_stats(d)["forwarded"] == 14


def test_ping6_across_subnets(lab):
    d, a, b = router_with(lab)
    res = ping(a, b.addr6, count=3)
    assert "ttl=63" in res.stdout
    assert route_of(d, "fd00:5657:2::", "-6")["use"] == 3


def test_router_answers_echo_on_its_addresses(lab):
    d, a, b = router_with(lab)
    assert "ttl=64" in ping(a, a.router, count=2).stdout
    ping(a, b.router, count=1)               # any of its addresses
    ping(a, a.router6, count=1)
    assert router_stats(d)["echo_replies"] == 4


def hops(out):
    return re.findall(r"^\s*\d+\s+(\S+)", out, re.M)


def test_traceroute_shows_the_router(lab):
    d, a, b = router_with(lab)
    out = a.run("traceroute", "-n", "-N", "1", "-q", "1", "-w", "2", b.addr, timeout=60).stdout
    assert hops(out) == [a.router, b.addr], out
    out = a.run("traceroute", "-6", "-n", "-N", "1", "-q", "1", "-w", "2", b.addr6, timeout=60).stdout
    assert hops(out) == [a.router6, b.addr6], out
    assert router_stats(d)["icmp_time_exceeded"] == 2


def test_df_above_mtu_gets_frag_needed_with_the_mtu(lab):
    d, a, b = router_with(lab, mtu_b=1400)
    res = ping(a, b.addr, count=1, check=False, extra=("-M", "do", "-s", "1400"))
    assert res.returncode != 0
    assert f"From {a.router}" in res.stdout and "mtu = 1400" in res.stdout, res.stdout
    res = ping(a, b.addr6, count=1, check=False, extra=("-M", "do", "-s", "1400"))
    assert res.returncode != 0
    assert "Packet too big" in res.stdout and "mtu=1400" in res.stdout, res.stdout
    assert router_stats(d)["icmp_frag_needed"] == 2
    assert port_stats(d, b.port)["drops"]["too_big"] == 2
    ping(a, b.addr, count=1, extra=("-M", "do", "-s", "1372"))     # exactly 1400


def test_packets_without_df_are_fragmented(lab):
    d, a, b = router_with(lab, mtu_b=1280, v6=False)
    ping(a, b.addr, count=3, extra=("-M", "dont", "-s", "1472"))  # 1500 bytes in
    st = router_stats(d)
    assert st["fragmented"] == 3 and st["fragments"] == 6
    assert st["icmp_frag_needed"] == 0


def test_missing_and_reject_routes_give_unreachable(lab):
    d, a, b = router_with(lab)
    res = ping(a, "198.19.3.1", count=1, check=False)
    assert f"From {a.router}" in res.stdout and "Net Unreachable" in res.stdout, res.stdout
    d.ctl("route", "add", "198.19.2.0/25", "reject")
    res = ping(a, "198.19.2.1", count=1, check=False)
    assert "Host Unreachable" in res.stdout, res.stdout
    ping(a, "198.19.2.254", count=1)            # outside the /25: still routed
    res = ping(a, "fd00:5657:3::1", count=1, check=False)
    assert "No route" in res.stdout, res.stdout
    d.ctl("route", "add", "fd00:5657:2::/64", "reject", "metric", "1")
    d.ctl("route", "del", "fd00:5657:2::/64", "metric", "0")
    res = ping(a, b.addr6, count=1, check=False)
    assert "Destination unreachable" in res.stdout, res.stdout
    # RFC 4443 code 6, "reject route to destination" (iputils has no name for it)
    assert icmp_reply(a, f"IPv6(dst='{b.addr6}')/ICMPv6EchoRequest()") == [a.router6, 1, 6]
    st = port_stats(d, a.port)["drops"]
    assert st["no_route"] == 2 and st["reject"] == 3
    assert router_stats(d)["icmp_unreachable"] == 5


ROUTE_TABLE = """\
IP routing table
Destination     Gateway         Genmask         Flags Metric Ref    Use Iface
10.0.0.0        198.19.2.7      255.0.0.0       UG    0      0        0 {b}
172.16.0.0      0.0.0.0         255.240.0.0     U     5      0        0 {a}
172.16.0.0      0.0.0.0         255.240.0.0     U     9      0        0 {b}
192.0.2.0       -               255.255.255.0   !     0      -        0 -
198.19.1.0      0.0.0.0         255.255.255.0   U     0      0        0 {a}
198.19.2.0      0.0.0.0         255.255.255.0   U     0      1        4 {b}
198.19.2.9      198.19.2.1      255.255.255.255 UGH   0      0        0 {b}
"""


def test_route_show_prints_a_kernel_style_table(lab):
    d, a, b = router_with(lab, v6=False)
    d.ctl("route", "add", "10.0.0.0/8", "via", "198.19.2.7")
    d.ctl("route", "add", "172.16.0.0/12", "dev", b.port, "metric", "9")
    d.ctl("route", "add", "172.16.0.0/12", "dev", a.port, "metric", "5")
    d.ctl("route", "add", "192.0.2.0/24", "reject")
    d.ctl("route", "add", "198.19.2.9/32", "dev", b.port, "via", "198.19.2.1")
    ping(a, b.addr, count=4)
    # The replies' route (198.19.1.0/24) counts too: show it as Use 4 but
    # compare B's side first, which only the requests use.
    want = ROUTE_TABLE.format(a=a.port, b=b.port).replace(
        f"U     0      0        0 {a.port}\n198.19.2.0",
        f"U     0      0        4 {a.port}\n198.19.2.0")
    assert d.ctl("route", "show").stdout == want
    js = d.ctl("route", "show", json_out=True)
    assert js["family"] == "inet" and len(js["routes"]) == 7
    r = route_of(d, "10.0.0.0")
    assert (r["gateway"], r["flags"], r["iface"], r["genmask"]) == \
        ("198.19.2.7", "UG", b.port, "255.0.0.0")
    assert d.ctl("route", "show", "-6").stdout.splitlines()[1].split() == \
        ["Destination", "Next", "Hop", "Flag", "Met", "Ref", "Use", "If"]


def test_longest_match_and_metric_order_steer_packets(lab):
    d, a, b = router_with(lab, v6=False)
    # A second, worse route to B's subnet, back out of A: unused while the
    # connected route (metric 0) is there.
    d.ctl("route", "add", "198.19.2.0/24", "dev", a.port, "metric", "10")
    ping(a, b.addr, count=2)
    assert [r["use"] for r in routes(d) if r["destination"] == "198.19.2.0"] == [2, 0]
    d.ctl("route", "del", "198.19.2.0/24", "metric", "0")
    ping(a, b.addr, count=1, check=False)
    assert [r["use"] for r in routes(d) if r["destination"] == "198.19.2.0"] == [1]
    # A more specific route wins over the /24.
    d.ctl("route", "add", "198.19.2.1/32", "dev", b.port)
    ping(a, b.addr, count=2)
    assert route_of(d, "198.19.2.1")["use"] == 2


def test_gateway_routes_follow_the_table(lab):
    d, a, b = router_with(lab, v6=False)
    d.ctl("route", "add", "198.19.20.0/24", "via", "198.19.2.1")
    d.ctl("route", "add", "198.19.30.0/24", "via", "198.19.20.5")   # recursive
    assert route_of(d, "198.19.30.0")["iface"] == b.port
    assert route_of(d, "198.19.20.0")["ref"] == 1
    d.ctl("route", "del", "198.19.2.0/24")
    r = route_of(d, "198.19.30.0")
    assert r["flags"] == "G" and r["iface"] is None
    res = ping(a, "198.19.30.1", count=1, check=False)
    assert "Net Unreachable" in res.stdout, res.stdout


MALFORMED = [
    ("bad_version", lambda ok: b"\x55" + ok[1:]),
    ("truncated", lambda ok: ok[:12]),
    ("bad_length", lambda ok: b"\x44" + ok[1:]),                   # IHL 4
    ("bad_checksum", lambda ok: ok[:10] + b"\x12\x34" + ok[12:]),
    ("truncated", lambda ok: ok[:-8]),                             # shorter than total length
    ("bad_length", lambda ok: bytes(IP(src="198.19.1.1", dst="198.19.2.1", len=16) / ICMP())),
    ("truncated", lambda ok: bytes(IPv6(src="fd00:5657:1::1", dst="fd00:5657:2::1") /
                                   ICMP())[:30]),
    ("bad_address", lambda ok: bytes(IP(src="127.0.0.1", dst="198.19.2.1") / ICMP())),
    ("multicast", lambda ok: bytes(IP(src="198.19.1.1", dst="224.0.0.9") / UDP())),
]


def test_malformed_packets_are_counted_and_dropped(lab):
    d, a, b = router_with(lab, v6=False)
    ok = bytes(IP(src=a.addr, dst=b.addr) / ICMP() / (b"x" * 32))
    before = port_stats(d, a.port)["drops"]
    rx_b = port_stats(d, b.port)["tx_packets"]
    want = {}
    for reason, make in MALFORMED:
        raw_send(a, a.port, [make(ok)], count=3)
        want[reason] = want.get(reason, 0) + 3
    wait_until(lambda: all(port_stats(d, a.port)["drops"][r] - before[r] >= n
                           for r, n in want.items()), what="drops counted")
    after = port_stats(d, a.port)["drops"]
    got = {r: after[r] - before[r] for r in want}
    assert got.pop("multicast") >= want.pop("multicast")     # and the kernel's IGMP
    assert got == want
    assert port_stats(d, b.port)["tx_packets"] == rx_b       # none got through
    raw_send(a, a.port, [ok], count=3)                       # the good one does
    wait_until(lambda: port_stats(d, b.port)["tx_packets"] >= rx_b + 3, what="forwarding")
    assert d.alive()
    ping(a, b.addr, count=1)


def test_icmp_errors_are_rate_limited(lab):
    d, a, b = router_with(lab, v6=False)
    d.ctl("router", "set", "icmp-burst", "5")
    d.ctl("router", "set", "icmp-rate", "0")                 # no refill: exactly the burst
    expiring = bytes(IP(src=a.addr, dst=b.addr, ttl=1) / UDP(dport=33434))
    raw_send(a, a.port, [expiring], count=50)
    wait_until(lambda: port_stats(d, a.port)["drops"]["ttl_exceeded"] >= 50,
               what="expired packets counted")
    st = router_stats(d)
    assert st["icmp_time_exceeded"] == 5 and st["icmp_ratelimited"] == 45
    d.ctl("router", "set", "icmp-rate", "1000")
    time.sleep(0.2)
    res = ping(a, b.addr, count=1, check=False, extra=("-t", "1"))
    assert "Time to live exceeded" in res.stdout, res.stdout


def test_router_address_is_the_errors_source_on_a_port_without_one(lab):
    r = lab.netns("R")
    d = lab.daemon(r)
    port = lab.name("tA")
    d.ctl("port", "add", port, "type", "tun")
    d.ctl("route", "add", "198.19.1.0/24", "dev", port)
    a = lab.move_port(d, port, "A")
    a.run("sysctl", "-qw", f"net.ipv6.conf.{port}.disable_ipv6=1")
    a.run("ip", "addr", "add", "198.19.1.1/24", "dev", port)
    a.run("ip", "link", "set", port, "up")
    a.run("ip", "route", "add", "default", "dev", port)
    res = ping(a, "198.19.3.1", count=1, check=False)
    assert "Unreachable" not in res.stdout                # no address: silence
    assert router_stats(d)["icmp_no_source"] == 1
    d.ctl("router", "set", "address", "198.19.0.254")
    res = ping(a, "198.19.3.1", count=1, check=False)
    assert "From 198.19.0.254" in res.stdout and "Net Unreachable" in res.stdout, res.stdout
    assert d.ctl("router", "show", json_out=True)["address4"] == "198.19.0.254"
    ping(a, "198.19.0.254", count=1)                       # and it answers


def test_port_del_removes_its_routes(lab):
    d, a, b = router_with(lab, v6=False)
    d.ctl("route", "add", "198.19.20.0/24", "dev", b.port)
    d.ctl("port", "del", b.port)
    assert [r["destination"] for r in routes(d)] == ["198.19.1.0"]
    res = ping(a, b.addr, count=1, check=False)
    assert "Net Unreachable" in res.stdout


BAD_ROUTE_COMMANDS = [
    (["route", "add", "198.19.300.0/24", "dev", "PA"], "198.19.300.0/24"),
    (["route", "add", "198.19.5.1/24", "dev", "PA"], "198.19.5.1/24"),
    (["route", "add", "198.19.5.0/33", "dev", "PA"], "198.19.5.0/33"),
    (["route", "add", "198.19.5.0/24", "dev", "nosuch0"], "nosuch0"),
    (["route", "add", "198.19.5.0/24", "dev", "TAP"], "TAP"),
    (["route", "add", "198.19.5.0/24", "via", "203.0.113.1"], "203.0.113.1"),
    (["route", "add", "198.19.5.0/24", "via", "fd00:5657::1"], "fd00:5657::1"),
    (["route", "add", "198.19.5.0/24", "dev", "PA", "metric", "-1"], "-1"),
    (["route", "add", "198.19.5.0/24"], "usage"),
    (["route", "add", "198.19.5.0/24", "metric", "3"], "198.19.5.0/24"),
    (["route", "add", "198.19.1.0/24", "dev", "PA"], "198.19.1.0/24"),   # exists
    (["route", "del", "198.19.9.0/24"], "198.19.9.0/24"),
    (["route", "del", "198.19.1.0/24", "metric", "7"], "7"),
    (["route", "show", "-5"], "-5"),
    (["router", "set", "address", "198.19.0.1/24"], "198.19.0.1/24"),
    (["router", "set", "icmp-burst", "0"], "0"),
    (["router", "set", "loudness", "11"], "loudness"),
    (["port", "add", "x0", "type", "tun", "address", "bogus"], "bogus"),
    (["port", "add", "x0", "type", "tap", "address", "198.19.7.1/24"], "tap"),
    (["fdb", "add", "02:00:00:00:00:01", "dev", "PA"], "PA"),
]


@pytest.mark.parametrize("args,quoted", BAD_ROUTE_COMMANDS,
                         ids=[" ".join(a) for a, _ in BAD_ROUTE_COMMANDS])
def test_bad_route_commands_fail_with_a_message(lab, args, quoted):
    r = lab.netns("R")
    d = lab.daemon(r)
    pa, tap = lab.name("tA"), lab.name("tp")
    d.ctl("port", "add", pa, "type", "tun", "address", "198.19.1.254/24")
    d.ctl("port", "add", tap, "type", "tap")
    subst = {"PA": pa, "TAP": tap}
    args = [subst.get(x, x) for x in args]
    quoted = subst.get(quoted, quoted)
    before = d.ctl("route", "show").stdout
    res = d.ctl(*args, check=False)
    assert res.returncode != 0
    assert res.stderr.startswith("vswctl: ") and quoted in res.stderr, res.stderr
    assert d.alive()
    assert d.ctl("route", "show").stdout == before
