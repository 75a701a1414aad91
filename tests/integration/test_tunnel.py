"""L2 tunnels between two hosts: VXLAN and GRE-in-UDP, IPv4 and IPv6 underlays.

    ns E1 (198.19.0.1)                                          ns E2 (198.19.0.2)
      t1 <-fd-> [ vswitchd in H1: t1, tun ]                 [ vswitchd in H2: tun, t2 ] <-fd-> t2
                              H1 198.18.0.1  ==== veth ====  198.18.0.2 H2
                                 fd00:5657::1   MTU 1600     fd00:5657::2

Each host runs its own vswitchd with a tap (moved into its endpoint
namespace) and a tunnel port to the other host.
"""

import pytest

from tunlab import (Host, connected, endpoint, endpoints, fdb_port, iperf3, link,
                    tunnel, two_hosts)
from vswlab import find_port, ping, port_stats, wait_until

CASES = [
    # encap, IPv6 underlay, options
    ("vxlan", False, {"vni": 42}),
    ("vxlan", True, {"vni": 4242}),
    ("gretap", False, {"key": 7}),
    ("gretap", True, {}),
]
IDS = [f"{e}-{'ipv6' if v6 else 'ipv4'}{'-' + str(o) if o else ''}" for e, v6, o in CASES]


@pytest.mark.parametrize("encap,v6,opts", CASES, ids=IDS)
def test_ping_and_iperf3_across(lab, encap, v6, opts):
    h1, h2, e1, e2, tun = two_hosts(lab, encap, v6, **opts)
    connected(e1, e2)
    ping(e1, e2.addr, count=5)
    ping(e2, e1.addr, count=5)
    received = iperf3(lab, e1, e2)
    assert received > 1_000_000
    received = iperf3(lab, e2, e1)
    assert received > 1_000_000
    # The TCP stream went through the tunnel, in and out of both ports.
    for h in (h1, h2):
        st = port_stats(h.daemon, tun)
        assert st["rx_bytes"] > 1_000_000 and st["tx_bytes"] > 1_000_000
        assert st["drops"]["too_big"] == 0
        [ep] = endpoints(h, tun)
        assert ep["encap"] == ("vxlan" if encap == "vxlan" else "gre")
        assert ep["rx_packets"] >= st["rx_packets"]
        assert sum(ep["drops"].values()) == 0


@pytest.mark.parametrize("encap,v6,opts", CASES[:3], ids=IDS[:3])
def test_remote_macs_learned_on_the_tunnel(lab, encap, v6, opts):
    h1, h2, e1, e2, tun = two_hosts(lab, encap, v6, **opts)
    connected(e1, e2)
    assert fdb_port(h1, e2.mac) == tun and fdb_port(h1, e1.mac) == e1.port
    assert fdb_port(h2, e1.mac) == tun and fdb_port(h2, e2.mac) == e2.port


def test_show_port_show_and_json(lab):
    h1, h2, e1, e2, tun = two_hosts(lab, "vxlan", vni=42)
    connected(e1, e2)
    p = find_port(h1.ctl("show", json_out=True), tun)
    assert p["type"] == "vxlan" and p["split_horizon"] is True
    offloads = p["tunnel"].pop("offloads")
    assert p["tunnel"] == {"encap": "vxlan", "remote": "198.18.0.2",
                           "local": "198.18.0.1", "dstport": 4789, "vni": 42,
                           "overhead": 50, "underlay_mtu": 1600,
                           "inner_mtu": 1550, "path_mtu": 1600,
                           "kernel_mtu": 1600, "min_mtu": 0,
                           "fragmented": 0, "icmp_errors": 0}
    assert (offloads["udp_gso"], offloads["udp_gro"], offloads["tcp_gro"]) == \
        ("on", True, True)
    assert p["mtu"] == 1550
    p2 = find_port(h2.ctl("port", "show", json_out=True), tun)
    assert p2["tunnel"]["local"] is None and p2["rx_packets"] > 0

    show = h1.ctl("show").stdout
    assert "remote 198.18.0.2 local 198.18.0.1 dstport 4789 vni 42" in show
    assert "overhead 50, underlay mtu 1600, inner mtu 1550" in show
    pshow = h2.ctl("port", "show", tun).stdout
    assert "remote 198.18.0.1 local any dstport 4789 vni 42" in pshow

    stats = h1.ctl("stats", json_out=True)
    [ep] = stats["endpoints"]
    assert (ep["encap"], ep["local"], ep["port"], ep["ports"]) == \
        ("vxlan", "198.18.0.1", 4789, 1)
    assert set(ep["drops"]) == {"wrong_source", "unknown_key", "truncated",
                                "bad_flags", "bad_version", "bad_checksum",
                                "bad_proto", "too_big", "no_buffer",
                                "bad_gro", "wrong_source_port"}
    assert "split_horizon" in find_port(stats, tun)["drops"]
    assert h1.ctl("stats", e1.port, json_out=True)["endpoints"] == []
    text = h1.ctl("stats", tun).stdout
    assert "endpoint vxlan 198.18.0.1:4789 (1 port)" in text
    assert "wrong_source 0" in text


def test_gretap_key_shown_and_absent(lab):
    h1, h2 = Host(lab, 1), Host(lab, 2)
    link(lab, h1, h2)
    tunnel(h1, lab.name("g1"), "gretap", h2, v6=True, key=99)
    tunnel(h1, lab.name("g2"), "gretap", h2, v6=True)
    ports = {p["name"]: p for p in h1.ctl("port", "show", json_out=True)["ports"]}
    assert ports[lab.name("g1")]["tunnel"]["key"] == 99
    assert ports[lab.name("g2")]["tunnel"]["key"] is None
    # 40 IPv6 + 8 UDP + 8 GRE with key (4 without) + 14 Ethernet.
    assert ports[lab.name("g1")]["tunnel"]["overhead"] == 70
    assert ports[lab.name("g2")]["tunnel"]["overhead"] == 66
    [ep] = endpoints(h1)
    assert (ep["encap"], ep["local"], ep["port"], ep["ports"]) == \
        ("gre", "fd00:5657::1", 4754, 2)
    text = h1.ctl("port", "show").stdout
    assert "dstport 4754 key 99 split-horizon on" in text
    assert "dstport 4754 split-horizon on" in text


def test_frames_too_big_for_the_underlay_are_dropped_and_counted(lab):
    h1, h2, e1, e2, tun = two_hosts(lab, "vxlan", mtu=1500)
    p = find_port(h1.ctl("show", json_out=True), tun)
    assert (p["tunnel"]["overhead"], p["tunnel"]["inner_mtu"]) == (50, 1450)
    connected(e1, e2)
    # 1422 bytes of ICMP payload + 28 = an inner IP packet of 1450: fits.
    ping(e1, e2.addr, count=2, extra=("-s", "1422", "-M", "do"))
    before = port_stats(h1.daemon, tun)["drops"]["too_big"]
    res = ping(e1, e2.addr, count=3, check=False, extra=("-s", "1423", "-M", "do"))
    assert res.returncode != 0
    assert port_stats(h1.daemon, tun)["drops"]["too_big"] >= before + 3
    # A bigger underlay MTU is noticed within a tick or two.
    for h in (h1, h2):
        h.ns.run("ip", "link", "set", h.ifs[0], "mtu", "1600")
    # Each daemon ticks on its own second: the reply needs H2's tunnel too.
    for h in (h1, h2):
        wait_until(lambda: find_port(h.ctl("show", json_out=True), tun)["mtu"] == 1550,
                   what="inner MTU 1550")
    ping(e1, e2.addr, count=2, extra=("-s", "1472", "-M", "do"))


def test_tunnel_from_the_config_file(lab, tmp_path):
    # The underlay comes first: the daemon opens the tunnel at start-up.
    h1, h2 = Host(lab, 1, daemon=False), Host(lab, 2)
    link(lab, h1, h2)
    tun = lab.name("tun")
    conf = tmp_path / "h1.conf"
    conf.write_text(f"port add {lab.name('t1')} type tap\n"
                    f"port add {tun} type gretap remote {h2.addr6} key 5\n")
    h1.start("--config", conf)
    tunnel(h2, tun, "gretap", h1, v6=True, key=5)
    e1 = lab.netns("E1")
    h1.ns.run("ip", "link", "set", lab.name("t1"), "netns", e1.name)
    e1.run("ip", "addr", "add", "198.19.0.1/24", "dev", lab.name("t1"))
    e1.run("ip", "link", "set", lab.name("t1"), "up")
    e1.addr = "198.19.0.1"
    e2 = endpoint(lab, h2)
    connected(e2, e1)
    assert fdb_port(h1, e2.mac) == tun


def test_port_del_closes_the_shared_socket_with_the_last_port(lab):
    h1, h2 = Host(lab, 1), Host(lab, 2)
    link(lab, h1, h2)
    a, b = lab.name("va"), lab.name("vb")
    tunnel(h1, a, "vxlan", h2, vni=1)
    tunnel(h1, b, "vxlan", h2, vni=2)

    def bound():
        return ":4789 " in h1.ns.run("ss", "-Hulnp").stdout

    assert bound() and len(endpoints(h1)) == 1 and endpoints(h1)[0]["ports"] == 2
    h1.ctl("port", "del", a)
    assert bound() and endpoints(h1)[0]["ports"] == 1
    h1.ctl("port", "del", b)
    assert not bound() and endpoints(h1) == []


BAD = [
    (["type", "vxlan"], "a vxlan port needs 'remote ADDR'"),
    (["type", "vxlan", "remote", "198.18.0.300"], "'198.18.0.300'"),
    (["type", "vxlan", "remote", "198.18.0.2", "local", "fd00:5657::1"],
     "local fd00:5657::1 and remote 198.18.0.2 are not of the same family"),
    (["type", "vxlan", "remote", "239.1.1.1"], "remote 239.1.1.1 is not a unicast"),
    (["type", "vxlan", "remote", "198.18.0.2", "vni", "16777216"], "'16777216'"),
    (["type", "vxlan", "remote", "198.18.0.2", "key", "5"],
     "a vxlan port takes no 'key' (it takes remote, local, dstport, vni, split-horizon, "
     "min-mtu, via, remote-port)"),
    (["type", "gretap", "remote", "198.18.0.2", "vni", "5"], "a gretap port takes no 'vni'"),
    (["type", "gretap", "remote", "198.18.0.2", "key", "4294967296"], "'4294967296'"),
    (["type", "vxlan", "remote", "198.18.0.2", "mtu", "1400"], "a vxlan port takes no 'mtu'"),
    (["type", "tap", "remote", "198.18.0.2"], "a tap port takes no 'remote'"),
    (["type", "vxlan", "remote", "198.18.0.2", "dstport", "0"], "'0'"),
    (["type", "vxlan", "remote", "198.18.0.2", "dstport", "65536"], "'65536'"),
    (["type", "vxlan", "remote", "198.18.0.2", "split-horizon", "maybe"], "'maybe'"),
    (["type", "vxlan", "remote", "198.18.0.2", "vni", "42"],
     "port PORTA already tunnels to 198.18.0.2 vni 42"),
    (["type", "gretap", "remote", "198.18.0.2", "dstport", "4789"],
     "0.0.0.0:4789 already carries vxlan"),
    (["type", "vxlan", "remote", "198.18.0.3", "local", "198.18.0.1"],
     "198.18.0.1:4789"),
]


@pytest.mark.parametrize("args,msg", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_tunnel_options_are_refused(lab, args, msg):
    h1, h2 = Host(lab, 1), Host(lab, 2)
    link(lab, h1, h2)
    porta = lab.name("ok")
    h1.ctl("port", "add", porta, "type", "vxlan", "remote", h2.addr, "vni", "42")
    res = h1.ctl("port", "add", lab.name("bad"), *args, check=False)
    assert res.returncode != 0 and res.stdout == ""
    assert msg.replace("PORTA", porta) in res.stderr, res.stderr
    assert h1.daemon.alive()
    assert [p["name"] for p in h1.ctl("port", "show", json_out=True)["ports"]] == [porta]
    [ep] = endpoints(h1)
    assert ep["ports"] == 1
