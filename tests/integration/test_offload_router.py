"""Offloads on the routed path: tun ports with vnet headers, super-frames
through the router, segmentation before ipip/gre, TCP GRO at their ingress.

    ns A                 ns H1: vswitchd                 ns H2: vswitchd                ns B
    198.19.1.1    tunA [198.19.1.254   t1] === UDP === [t2   198.19.2.254] tunB    198.19.2.1
    fd00:5657:1::1       [fd00:5657:1::fe ]   veth     [ fd00:5657:2::fe  ]        fd00:5657:2::1
                          198.18.0.1/24  ------------  198.18.0.2/24

iperf3 TCP (IPv4 and IPv6) and UDP from A to B over ipip and gre, with every
offload on and every one off.  The receiving kernel checks every checksum;
the test checks that the transfers ended, that TCP did not retransmit much,
and from the counters that super-frames were used when on (A's kernel hands
H1 super-frames, H1 segments them for the tunnel, H2 coalesces them and
hands B's kernel super-frames) and never when off.

One hop: a single router with two tun ports, which passes the super-frames
it reads from one tun whole to the other.
"""

import pytest

from iperflab import check_tcp, check_wire_capture, iperf3
from vswlab import ping, port_stats, router_stats, sh

OFFLOADS = ("tap-csum", "tap-tso", "tap-uso", "tcp-gro", "udp-gso", "udp-gro")


def set_offloads(daemon, on):
    args = [x for o in OFFLOADS for x in (o, "on" if on else "off")]
    daemon.ctl("offload", "set", *args)


def two_routers(lab, kind):
    h1, h2 = lab.netns("H1"), lab.netns("H2")
    v1, v2 = lab.name("v1"), lab.name("v2")
    sh("ip", "link", "add", v1, "netns", h1.name, "type", "veth", "peer",
       "name", v2, "netns", h2.name)
    for ns, dev, addr in ((h1, v1, "198.18.0.1"), (h2, v2, "198.18.0.2")):
        ns.run("ip", "addr", "add", f"{addr}/24", "dev", dev)
        ns.run("ip", "link", "set", dev, "up")
    d1, d2 = lab.daemon(h1), lab.daemon(h2)
    t1, t2 = lab.name("t1"), lab.name("t2")
    d1.ctl("port", "add", t1, "type", kind, "remote", "198.18.0.2",
           "local", "198.18.0.1")
    d2.ctl("port", "add", t2, "type", kind, "remote", "198.18.0.1")
    a = lab.tun_endpoint(d1, lab.name("tA"), "A", "198.19.1.1/24",
                         "198.19.1.254/24", "fd00:5657:1::1/64",
                         "fd00:5657:1::fe/64")
    b = lab.tun_endpoint(d2, lab.name("tB"), "B", "198.19.2.1/24",
                         "198.19.2.254/24", "fd00:5657:2::1/64",
                         "fd00:5657:2::fe/64")
    for d, t, far in ((d1, t1, "2"), (d2, t2, "1")):
        d.ctl("route", "add", f"198.19.{far}.0/24", "dev", t)
        d.ctl("route", "add", f"fd00:5657:{far}::/64", "dev", t)
    return d1, d2, t1, t2, a, b




def check_udp(out):
    assert out["end"]["sum"]["packets"] > 1000
    assert out["end"]["sum"]["lost_percent"] < 20


def takes(daemon, port):
    [p] = daemon.ctl("port", "show", port, json_out=True)["ports"]
    return p


def no_bad_drops(*daemons):
    for d in daemons:
        for p in d.ctl("stats", json_out=True)["ports"]:
            assert p["drops"]["bad_offload"] == 0, p["name"]
            assert p["drops"]["no_buffer"] == 0, p["name"]


@pytest.mark.parametrize("on", [True, False], ids=["all-on", "all-off"])
@pytest.mark.parametrize("kind", ["ipip", "gre"])
def test_iperf3_routed_over_a_tunnel(lab, kind, on):
    d1, d2, t1, t2, a, b = two_routers(lab, kind)
    for d in (d1, d2):
        set_offloads(d, on)
    ping(a, b.addr, count=2)
    ping(a, b.addr6, count=2)

    check_tcp(iperf3(lab, a, b, b.addr))
    check_tcp(iperf3(lab, a, b, b.addr6))
    check_udp(iperf3(lab, a, b, b.addr, "-u", "-b", "100M", "-l", "1400"))
    # TCP found the tunnel's MTU by its segments' size, super-frames or not.
    assert router_stats(d1)["icmp_frag_needed"] >= 1

    s_a, s_t1 = port_stats(d1, a.port), port_stats(d1, t1)
    s_b = port_stats(d2, b.port)
    [tun2] = d2.ctl("port", "show", t2, json_out=True)["ports"]
    gro = tun2["tunnel"]["offloads"]
    assert gro["tcp_gro"] is on
    if on:
        assert s_a["rx_gso"] > 0            # A's kernel sent super-frames
        assert s_t1["tx_segmented"] > 0     # cut for the tunnel
        assert gro["gro_superframes"] > 0   # coalesced again at H2
        assert s_b["tx_gso"] > 0            # and handed to B's kernel whole
    else:
        assert s_a["rx_gso"] == 0 and s_t1["tx_segmented"] == 0
        assert gro["gro_superframes"] == 0 and s_b["tx_gso"] == 0
    no_bad_drops(d1, d2)


@pytest.mark.parametrize("on", [True, False], ids=["all-on", "all-off"])
def test_one_router_two_tuns(lab, on):
    h = lab.netns("R")
    d = lab.daemon(h)
    set_offloads(d, on)
    a = lab.tun_endpoint(d, lab.name("tA"), "A", "198.19.1.1/24",
                         "198.19.1.254/24", "fd00:5657:1::1/64",
                         "fd00:5657:1::fe/64")
    b = lab.tun_endpoint(d, lab.name("tB"), "B", "198.19.2.1/24",
                         "198.19.2.254/24", "fd00:5657:2::1/64",
                         "fd00:5657:2::fe/64")
    res = ping(a, b.addr, count=2)
    assert "ttl=63" in res.stdout
    check_tcp(iperf3(lab, a, b, b.addr))
    check_tcp(iperf3(lab, a, b, b.addr6))
    check_udp(iperf3(lab, a, b, b.addr, "-u", "-b", "100M", "-l", "1400"))
    s_a, s_b = port_stats(d, a.port), port_stats(d, b.port)
    if on:
        assert "tso4" in takes(d, a.port)["offloads"]
        assert s_a["rx_gso"] > 0 and s_b["tx_gso"] > 0
        assert s_b["tx_segmented"] == 0     # whole from tun to tun
    else:
        assert s_a["rx_gso"] == 0 and s_b["tx_gso"] == 0
    assert router_stats(d)["icmp_frag_needed"] == 0
    no_bad_drops(d)


def test_capture_on_a_tun_records_the_wire(lab, tmp_path):
    """A capture on a tun port during TCP with offloads on holds raw IP
    segments, not super-frames: tshark finds no bad checksum or length,
    and no packet is longer than the MTU."""
    h = lab.netns("R")
    d = lab.daemon(h)
    a = lab.tun_endpoint(d, lab.name("tA"), "A", "198.19.1.1/24",
                         "198.19.1.254/24")
    b = lab.tun_endpoint(d, lab.name("tB"), "B", "198.19.2.1/24",
                         "198.19.2.254/24")
    pcap = tmp_path / "tun.pcap"
    d.ctl("capture", "start", a.port, "-w", pcap, "count", "3000")
    check_tcp(iperf3(lab, a, b, b.addr, seconds=1))
    assert port_stats(d, a.port)["rx_gso"] > 0
    check_wire_capture(d, pcap, max_len=1500)
