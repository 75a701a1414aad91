"""Tunnel offloads end to end: UDP GSO sends, UDP GRO receives, TCP GRO.

    ns E1 (198.19.0.1, fd00:5657:e::1)                  ns E2 (198.19.0.2, fd00:5657:e::2)
      t1 <-fd-> [ vswitchd H1: t1, tun ]             [ vswitchd H2: tun, t2 ] <-fd-> t2
                          H1 198.18.0.1  === veth ===  198.18.0.2 H2
                             fd00:5657::1  MTU 1600    fd00:5657::2

iperf3 TCP (IPv4 and IPv6 inside) and UDP from E1 to E2 with every offload
on, every one off, and each of udp-gso, udp-gro and tcp-gro off alone.  The
receiving kernel checks every checksum; the test checks the transfer ended,
that TCP did not retransmit much, and, from the counters, that each offload
that was on was used and each that was off was not.

Tunnel to tunnel: E1 -- H1 ==vxlan== H3 (hub, split-horizon off) ==vxlan==
H2 -- E2, all on one underlay bridge; H3 coalesces and segments again.

The GSO fallback is tested in tests/unit/test-udp-endpoint.c: this kernel
(6.18) checksums GSO segments in software for a device without checksum
offload ("ethtool -K tx off") instead of failing with EIO, so the test
provokes EINVAL instead (a socket without UDP checksums).
"""

import pytest

from iperflab import check_tcp, iperf3
from tunlab import Host, connected, endpoint, segment, tunnel, two_hosts
from vswlab import find_port

OFFLOADS = ("udp-gso", "udp-gro", "tcp-gro")
CONFIGS = {
    "all-on": {},
    "all-off": {o: "off" for o in OFFLOADS},
    "udp-gso-off": {"udp-gso": "off"},
    "udp-gro-off": {"udp-gro": "off"},
    "tcp-gro-off": {"tcp-gro": "off"},
}


def set_offloads(host, cfg):
    args = [x for kv in cfg.items() for x in kv]
    if args:
        host.ctl("offload", "set", *args)


def add_ipv6(ep, n):
    ep.run("sysctl", "-qw", f"net.ipv6.conf.{ep.port}.disable_ipv6=0")
    ep.run("ip", "-6", "addr", "add", f"fd00:5657:e::{n}/64", "dev", ep.port,
           "nodad")
    ep.addr6 = f"fd00:5657:e::{n}"




def offloads(host, port):
    return find_port(host.ctl("port", "show", json_out=True),
                     port)["tunnel"]["offloads"]


def gro_reads(host, port):
    [ep] = host.ctl("stats", port, json_out=True)["endpoints"]
    return ep["gro_reads"], ep["gro"]


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6-underlay"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_iperf3_across_a_vxlan_tunnel(lab, config, v6):
    cfg = CONFIGS[config]
    h1, h2, e1, e2, tun = two_hosts(lab, "vxlan", v6, vni=42)
    for h in (h1, h2):
        set_offloads(h, cfg)
    add_ipv6(e1, 1)
    add_ipv6(e2, 2)
    connected(e1, e2)

    check_tcp(iperf3(lab, e1, e2, e2.addr))
    check_tcp(iperf3(lab, e1, e2, e2.addr6))
    udp = iperf3(lab, e1, e2, e2.addr, "-u", "-b", "100M", "-l", "1400")
    assert udp["end"]["sum"]["packets"] > 1000
    assert udp["end"]["sum"]["lost_percent"] < 20

    on = {o: cfg.get(o, "on") == "on" for o in OFFLOADS}
    tx, rx = offloads(h1, tun), offloads(h2, tun)
    assert tx["udp_gso"] == ("on" if on["udp-gso"] else "off")
    assert (tx["gso_messages"] > 0) == on["udp-gso"]
    if on["udp-gso"]:
        assert tx["gso_datagrams"] >= 2 * tx["gso_messages"]
    reads, gro = gro_reads(h2, tun)
    assert gro == on["udp-gro"] and rx["udp_gro"] == on["udp-gro"]
    # The kernel keeps a GSO send whole up to a UDP_GRO socket.
    if on["udp-gro"] and on["udp-gso"]:
        assert reads > 0
    if not on["udp-gro"]:
        assert reads == 0
    assert rx["tcp_gro"] == on["tcp-gro"]
    assert (rx["gro_superframes"] > 0) == on["tcp-gro"]
    for h in (h1, h2):
        [ep] = h.ctl("stats", tun, json_out=True)["endpoints"]
        assert sum(ep["drops"].values()) == 0, ep["drops"]


def test_switching_offloads_at_run_time_is_shown(lab):
    h1, h2, e1, e2, tun = two_hosts(lab, "vxlan", vni=42)
    connected(e1, e2)
    text = h1.ctl("port", "show", tun).stdout
    assert "udp-gso on," in text and "udp-gro on;" in text
    assert "tcp-gro on," in text
    h1.ctl("offload", "set", "udp-gso", "off", "udp-gro", "off", "tcp-gro",
           "off")
    o = offloads(h1, tun)
    assert (o["udp_gso"], o["udp_gro"], o["tcp_gro"]) == ("off", False, False)
    assert gro_reads(h1, tun)[1] is False
    check_tcp(iperf3(lab, e2, e1, e1.addr))
    h1.ctl("offload", "set", "udp-gso", "on", "udp-gro", "on", "tcp-gro", "on")
    o = offloads(h1, tun)
    assert (o["udp_gso"], o["udp_gro"], o["tcp_gro"]) == ("on", True, True)
    check_tcp(iperf3(lab, e1, e2, e2.addr))
    assert offloads(h1, tun)["gso_messages"] > 0


def test_tunnel_to_tunnel_through_a_hub(lab):
    hosts = [Host(lab, n) for n in (1, 2, 3)]
    h1, h2, h3 = hosts
    segment(lab, hosts)
    e1, e2 = endpoint(lab, h1), endpoint(lab, h2)
    k1, k2 = lab.name("K1"), lab.name("K2")
    tunnel(h1, k1, "vxlan", h3)
    tunnel(h2, k2, "vxlan", h3)
    tunnel(h3, k1, "vxlan", h1, split_horizon="off")
    tunnel(h3, k2, "vxlan", h2, split_horizon="off")
    connected(e1, e2)

    check_tcp(iperf3(lab, e1, e2, e2.addr))
    udp = iperf3(lab, e1, e2, e2.addr, "-u", "-b", "100M", "-l", "1400")
    assert udp["end"]["sum"]["lost_percent"] < 20
    # The hub coalesced what came from H1 and sent it on to H2 with GSO.
    assert offloads(h3, k1)["gro_superframes"] > 0
    assert offloads(h3, k2)["gso_messages"] > 0
    assert gro_reads(h3, k1)[0] > 0
    for h in hosts:
        for p in h.ctl("stats", json_out=True)["ports"]:
            assert p["drops"]["too_big"] == 0, (h.n, p["name"])
            assert p["drops"]["bad_offload"] == 0, (h.n, p["name"])
