"""VXLAN carried by an L3 port of the router ("via"), and a Linux vxlan over it.

Two vswitchd, the overlay inside an ipip tunnel:

    ns A                ns H1: vswitchd                    ns H2: vswitchd               ns B
    198.19.1.1/24  tA - [vx1 via i1]                       [vx2 via i2] - tB   198.19.1.2/24
                         i1 198.19.250.1/30 == ipip/UDP == i2 198.19.250.2/30
                         198.18.0.1/24 ------- veth -------- 198.18.0.2/24

vx1 and vx2 are VXLAN tunnels between the routers' addresses on the ipip
ports: vswitchd builds their outer IP and UDP headers and hands them to
the ipip port, which carries them to the other host, whose router gives
them to its VXLAN port instead of answering them.

Against Linux: one vswitchd whose tun port's device is in namespace B; B
runs a kernel vxlan device over that tun (the same overlay seen from the
kernel's side), with the endpoint address on the vxlan device itself:

    ns A                ns H1: vswitchd                        ns B (Linux)
    198.19.3.1/24  tA - [vx1 via tv] -- tv 198.19.250.1/30 == tv 198.19.250.2/30 - vx0 198.19.3.2/24
"""

import json
import signal

import pytest

from vswlab import ping, port_stats, sh, wait_until

VNI = 42
VX = "raw:ip:udp:vxlan:eth:ethertype:"   # a datagram on a tun, as tshark names it
# Wireshark guesses traceroute from a UDP source port in 33434..33534 alone;
# the source port is a flow hash (as test_tunnel_interop.py says).
TRACEROUTE_GUESS = "Expert Info (Chat/Sequence): Possible traceroute"


def clean(row):
    """No expert info but that guess, on a datagram whose port invites it."""
    return row["_ws.expert"] == "" or (row["_ws.expert"].startswith(TRACEROUTE_GUESS) and
                                       33434 <= int(row["udp.srcport"]) <= 33534)
IPIP_OVERHEAD = 28          # outer IPv4 + UDP of the ipip port
VXLAN_OVERHEAD = 50         # outer IPv4 + UDP + VXLAN + inner Ethernet


class Hosts:
    pass


def host_lines(lab, n, other):
    """The port lines of host N (1 or 2): ipip, then vxlan via it."""
    i, vx = lab.name(f"i{n}"), lab.name(f"vx{n}")
    return [
        ("port", "add", i, "type", "ipip", "remote", f"198.18.0.{other}",
         "address", f"198.19.250.{n}/30"),
        ("port", "add", vx, "type", "vxlan", "remote", f"198.19.250.{other}",
         "local", f"198.19.250.{n}", "vni", str(VNI), "via", i),
    ]


def two_hosts(lab, config=None):
    h = Hosts()
    h.h1, h.h2 = lab.netns("H1"), lab.netns("H2")
    v1, v2 = lab.name("v1"), lab.name("v2")
    sh("ip", "link", "add", v1, "netns", h.h1.name, "type", "veth", "peer", "name", v2,
       "netns", h.h2.name)
    for ns, dev, addr in ((h.h1, v1, "198.18.0.1"), (h.h2, v2, "198.18.0.2")):
        ns.run("ip", "addr", "add", f"{addr}/24", "dev", dev)
        ns.run("ip", "link", "set", dev, "up")
    if config is not None:
        config.write_text("".join(" ".join(c) + "\n" for c in host_lines(lab, 1, 2)))
        h.d1 = lab.daemon(h.h1, "--config", config)
    else:
        h.d1 = lab.daemon(h.h1)
        for c in host_lines(lab, 1, 2):
            h.d1.ctl(*c)
    h.d2 = lab.daemon(h.h2)
    for c in host_lines(lab, 2, 1):
        h.d2.ctl(*c)
    h.i1, h.i2 = lab.name("i1"), lab.name("i2")
    h.vx1, h.vx2 = lab.name("vx1"), lab.name("vx2")
    h.a = lab.endpoint(h.d1, lab.name("tA"), "A", "198.19.1.1/24")
    h.b = lab.endpoint(h.d2, lab.name("tB"), "B", "198.19.1.2/24")
    # No path MTU discovery inside a bridged overlay: the endpoints are
    # told the tunnel's MTU, as they would be with a Linux vxlan.
    mtu = port_mtu(h.d1, h.vx1)
    for ep in (h.a, h.b):
        ep.run("ip", "link", "set", ep.port, "mtu", str(mtu))
    return h


def port_show(d, port):
    [p] = d.ctl("port", "show", port, json_out=True)["ports"]
    return p


def port_mtu(d, port):
    return port_show(d, port)["mtu"]


def iperf3(lab, client, server):
    srv = lab.popen(server, "iperf3", "-s", "-1", "-B", server.addr)
    wait_until(lambda: "LISTEN" in server.run("ss", "-ltn").stdout, what="iperf3 server")
    res = client.run("iperf3", "-c", server.addr, "-t", "2", "--json", timeout=90)
    srv.wait(timeout=15)
    return json.loads(res.stdout)["end"]["sum_received"]["bytes"]


def test_vxlan_via_ipip_between_two_vswitchd(lab):
    h = two_hosts(lab)
    # The tunnel's MTU is its carrier's less its own overhead.
    assert port_mtu(h.d1, h.i1) == 1500 - IPIP_OVERHEAD
    assert port_mtu(h.d1, h.vx1) == 1500 - IPIP_OVERHEAD - VXLAN_OVERHEAD
    tun = port_show(h.d1, h.vx1)["tunnel"]
    assert tun["via"] == h.i1 and tun["local"] == "198.19.250.1"
    assert port_show(h.d1, h.vx1)["state"] == "up"
    text = h.d1.ctl("show").stdout + h.d1.ctl("stats").stdout
    assert f"via {h.i1} vni {VNI}" in text and f"endpoint vxlan 198.19.250.1:4789 via {h.i1}" in text

    ping(h.a, h.b.addr, count=3)
    ping(h.b, h.a.addr, count=3)
    assert iperf3(lab, h.a, h.b) > 1_000_000
    assert iperf3(lab, h.b, h.a) > 1_000_000
    # Every frame went inside the ipip port, none to the router's own
    # answers: nothing was dropped as local, no endpoint drop.
    for d, vx, i in ((h.d1, h.vx1, h.i1), (h.d2, h.vx2, h.i2)):
        st, ist = port_stats(d, vx), port_stats(d, i)
        assert st["rx_packets"] > 1000 and st["tx_packets"] > 1000, st
        assert ist["rx_packets"] >= st["rx_packets"], ist
        assert ist["tx_packets"] >= st["tx_packets"], ist
        assert ist["drops"]["local"] == 0, ist
        assert sum(st["drops"].values()) == 0, st
        [ep] = [e for e in d.ctl("stats", json_out=True)["endpoints"] if e.get("via")]
        assert ep["via"] == i and sum(ep["drops"].values()) == 0, ep


def test_capture_of_the_tunnel_shows_outer_datagrams(lab, tmp_path):
    h = two_hosts(lab)
    pcap = tmp_path / "outer.pcap"
    h.d1.ctl("capture", "start", h.vx1, "-w", pcap, "layer", "outer", "filter", "udp")
    ping(h.a, h.b.addr, count=3)
    h.d1.ctl("capture", "stop", h.vx1)
    out = sh("tshark", "-r", pcap, "-T", "fields", "-e", "ip.src", "-e", "ip.dst",
             "-e", "udp.dstport", "-e", "vxlan.vni", "-e", "icmp.type").stdout
    # The first address is the outer one.
    rows = {tuple(c.split(",")[0] for c in l.split("\t")) for l in out.splitlines()}
    assert ("198.19.250.1", "198.19.250.2", "4789", "42", "8") in rows, out
    assert ("198.19.250.2", "198.19.250.1", "4789", "42", "0") in rows, out


def test_via_errors(lab):
    h = two_hosts(lab)
    base = ["port", "add", lab.name("vx9"), "type", "vxlan", "remote", "198.19.250.2",
            "vni", "7"]

    def refused(*args):
        res = h.d1.ctl(*base, *args, check=False)
        assert res.returncode != 0, res.stdout
        return res.stderr

    nope = lab.name("nope")
    assert f"via {nope}: no such port" in refused("local", "198.19.250.1", "via", nope)
    err = refused("local", "198.19.250.1", "via", h.a.port)
    assert f"via {h.a.port}: it is not an L3 port" in err and "tap" in err
    assert "needs 'local ADDR'" in refused("via", h.i1)
    assert "198.19.250.9 is not an address of the router" in \
        refused("local", "198.19.250.9", "via", h.i1)
    assert "min-mtu does not apply" in refused("local", "198.19.250.1", "via", h.i1,
                                               "min-mtu", "1280")
    # A tunnel carried via another carried one would be a loop waiting.
    err = refused("local", "198.19.250.1", "via", h.vx1)
    assert "not an L3 port" in err
    # The carrier stays while it carries.
    res = h.d1.ctl("port", "del", h.i1, check=False)
    assert res.returncode != 0
    assert f"port {h.i1} carries {h.vx1}: delete it first" in res.stderr
    ping(h.a, h.b.addr, count=1)
    # Without its tunnel it goes.
    h.d1.ctl("port", "del", h.vx1)
    h.d1.ctl("port", "del", h.i1)
    assert h.d1.alive()


def test_carrier_made_again_by_a_reload_and_saved_first(lab, tmp_path):
    conf = lab.rundir() / "vswitchd.conf"
    h = two_hosts(lab, config=conf)
    ping(h.a, h.b.addr, count=2)
    # i1's line changes: the reload makes it again (a new port, a higher
    # index); vx1 goes down with the old one and is carried by the new.
    lines = host_lines(lab, 1, 2)
    text = h.d1.ctl("save", "-").stdout
    assert text.index(f"port add {h.i1} ") < text.index(f"port add {h.vx1} ")
    new = [lines[0] + ("min-mtu", "1280"), lines[1]]
    tap = f"port add {h.a.port} type tap\n"
    conf.write_text("".join(" ".join(c) + "\n" for c in new) + tap)
    n = h.d1.log_text().count("reloaded")
    h.d1.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: h.d1.log_text().count("reloaded") > n, what="reload")
    assert f"port {h.i1}: its line changed, making it again" in h.d1.log_text()
    wait_until(lambda: port_show(h.d1, h.vx1)["state"] == "up", timeout=5,
               what="vx1 carried again")
    ping(h.a, h.b.addr, count=2)
    ping(h.b, h.a.addr, count=2)
    # Saved, the carrier comes before its tunnel though its index is higher.
    save_text = h.d1.ctl("save", "-").stdout
    assert save_text.index(f"port add {h.i1} ") < save_text.index(f"port add {h.vx1} ")
    assert f" via {h.i1}" in save_text
    # And that text loads in a daemon of its own.
    fresh = lab.netns("F")
    fresh.run("ip", "link", "add", "u0", "type", "veth", "peer", "name", "u1")
    fresh.run("ip", "addr", "add", "198.18.0.1/24", "dev", "u0")
    for dev in ("u0", "u1"):
        fresh.run("ip", "link", "set", dev, "up")
    conf2 = lab.rundir() / "fresh.conf"
    conf2.write_text(save_text)
    d3 = lab.daemon(fresh, "--config", conf2)
    tun = port_show(d3, h.vx1)["tunnel"]
    assert tun["via"] == h.i1


# --- against the Linux kernel's vxlan --------------------------------------


def linux_host(lab):
    h = Hosts()
    h.h1 = lab.netns("H1")
    h.d1 = lab.daemon(h.h1)
    h.tv, h.vx1 = lab.name("tv"), lab.name("vx1")
    # The tun's far side is B: its address .2, the router's .1.
    h.b = lab.tun_endpoint(h.d1, h.tv, "B", "198.19.250.2/30", "198.19.250.1/30")
    h.d1.ctl("port", "add", h.vx1, "type", "vxlan", "remote", "198.19.250.2",
             "local", "198.19.250.1", "vni", str(VNI), "via", h.tv)
    h.vx0 = lab.name("vx0")
    h.b.run("ip", "link", "add", h.vx0, "type", "vxlan", "id", str(VNI), "remote",
            "198.19.250.1", "local", "198.19.250.2", "dstport", "4789", "dev", h.tv)
    h.b.run("sysctl", "-qw", f"net.ipv6.conf.{h.vx0}.disable_ipv6=1")
    h.b.run("ip", "addr", "add", "198.19.3.2/24", "dev", h.vx0)
    h.b.run("ip", "link", "set", h.vx0, "up")
    h.b.addr = "198.19.3.2"
    h.a = lab.endpoint(h.d1, lab.name("tA"), "A", "198.19.3.1/24")
    h.mtu = port_mtu(h.d1, h.vx1)
    h.a.run("ip", "link", "set", h.a.port, "mtu", str(h.mtu))
    return h


def test_linux_vxlan_over_the_same_l3_port(lab, tmp_path):
    h = linux_host(lab)
    kmtu = json.loads(h.b.run("ip", "-j", "link", "show", h.vx0).stdout)[0]["mtu"]
    assert h.mtu == kmtu == 1450            # both: the tun's 1500 less 50
    pcap = tmp_path / "tv.pcap"
    log = tmp_path / "tcpdump.log"
    with open(log, "w") as f:
        dump = lab.popen(h.b, "tcpdump", "-Z", "root", "-U", "-n", "-i", h.tv, "-w", pcap,
                         "-c", "20", "udp", "port", "4789", stdout=f, stderr=f)
    wait_until(lambda: "listening on" in log.read_text(), timeout=20, what="tcpdump")
    ping(h.b, h.a.addr, count=5)            # the kernel's side first
    ping(h.a, h.b.addr, count=5)
    dump.wait(timeout=30)
    assert iperf3(lab, h.a, h.b) > 1_000_000
    assert iperf3(lab, h.b, h.a) > 1_000_000
    st = port_stats(h.d1, h.vx1)
    assert st["rx_packets"] > 100 and st["tx_packets"] > 100, st
    assert port_stats(h.d1, h.tv)["drops"]["local"] == 0

    # tshark decodes both sides' datagrams clean, and ours carry what the
    # kernel's do: TTL 64, DF clear, an ephemeral source port.  The UDP
    # checksum is zero over IPv4 as vswitchd's other tunnels send it (RFC
    # 7348 5: SHOULD be zero); this kernel's vxlan computes one unless told
    # "noudpcsum", and either is taken by both sides.
    fields = ["ip.src", "ip.ttl", "ip.flags.df", "ip.checksum.status", "udp.checksum",
              "udp.srcport", "udp.dstport", "vxlan.vni", "vxlan.flags", "frame.protocols",
              "_ws.expert", "_ws.malformed"]
    out = sh("tshark", "-r", pcap, "-o", "ip.check_checksum:TRUE", "-T", "fields",
             *[a for f in fields for a in ("-e", f)]).stdout
    # The outer header's value first: IPv4 fields list the inner one too.
    rows = [dict(zip(fields, (c.split(",")[0] for c in l.split("\t"))))
            for l in out.splitlines()]
    assert len(rows) == 20, out
    by_src = {"198.19.250.1": [], "198.19.250.2": []}
    for r in rows:
        by_src[r["ip.src"]].append(r)
        assert r["frame.protocols"] in (VX + "ip:icmp:data", VX + "arp"), r
        assert clean(r) and r["_ws.malformed"] == "", r
        assert r["ip.checksum.status"] == "1", r       # good
        assert 32768 <= int(r["udp.srcport"]) <= 60999, r
        assert r["udp.dstport"] == "4789" and r["vxlan.vni"] == str(VNI), r
    assert by_src["198.19.250.1"] and by_src["198.19.250.2"], out
    assert {r["udp.checksum"] for r in by_src["198.19.250.1"]} == {"0x0000"}
    for key in ("ip.ttl", "ip.flags.df", "vxlan.flags"):
        assert {r[key] for r in by_src["198.19.250.1"]} == \
            {r[key] for r in by_src["198.19.250.2"]}, key
    assert by_src["198.19.250.1"][0]["ip.ttl"] == "64"
    verbose = "\n".join(line for line in sh("tshark", "-r", pcap, "-V").stdout.splitlines()
                        if TRACEROUTE_GUESS not in line)
    assert "Malformed" not in verbose and "Expert Info" not in verbose


def test_linux_vxlan_over_ipv6_on_the_same_l3_port(lab, tmp_path):
    """The same over IPv6 outer headers: the tun carries IPv6 between the
    router (fd00:5657:250::1) and B (::2), the overlay stays IPv4."""
    h1 = lab.netns("H1")
    d = lab.daemon(h1)
    tv, vx1, vx0 = lab.name("tv"), lab.name("vx1"), lab.name("vx0")
    b = lab.tun_endpoint(d, tv, "B", "198.19.250.2/30", "198.19.250.1/30",
                         "fd00:5657:250::2/64", "fd00:5657:250::1/64")
    d.ctl("port", "add", vx1, "type", "vxlan", "remote", "fd00:5657:250::2",
          "local", "fd00:5657:250::1", "vni", str(VNI), "via", tv)
    b.run("ip", "link", "add", vx0, "type", "vxlan", "id", str(VNI), "remote",
          "fd00:5657:250::1", "local", "fd00:5657:250::2", "dstport", "4789", "dev", tv)
    b.run("sysctl", "-qw", f"net.ipv6.conf.{vx0}.disable_ipv6=1")
    b.run("ip", "addr", "add", "198.19.3.2/24", "dev", vx0)
    b.run("ip", "link", "set", vx0, "up")
    b.addr = "198.19.3.2"
    a = lab.endpoint(d, lab.name("tA"), "A", "198.19.3.1/24")
    mtu = port_mtu(d, vx1)
    kmtu = json.loads(b.run("ip", "-j", "link", "show", vx0).stdout)[0]["mtu"]
    assert mtu == kmtu == 1430              # the tun's 1500 less 70
    a.run("ip", "link", "set", a.port, "mtu", str(mtu))

    pcap = tmp_path / "tv6.pcap"
    log = tmp_path / "tcpdump.log"
    with open(log, "w") as f:
        dump = lab.popen(b, "tcpdump", "-Z", "root", "-U", "-n", "-i", tv, "-w", pcap,
                         "-c", "10", "udp", "port", "4789", stdout=f, stderr=f)
    wait_until(lambda: "listening on" in log.read_text(), timeout=20, what="tcpdump")
    ping(b, a.addr, count=3)
    ping(a, b.addr, count=3)
    dump.wait(timeout=30)
    assert iperf3(lab, a, b) > 1_000_000
    assert iperf3(lab, b, a) > 1_000_000

    fields = ["ipv6.src", "ipv6.hlim", "ipv6.flow", "ipv6.tclass", "udp.checksum.status",
              "udp.srcport", "frame.protocols", "_ws.expert", "_ws.malformed"]
    out = sh("tshark", "-r", pcap, "-o", "udp.check_checksum:TRUE", "-T", "fields",
             *[x for f in fields for x in ("-e", f)]).stdout
    rows = [dict(zip(fields, l.split("\t"))) for l in out.splitlines()]
    ours = [r for r in rows if r["ipv6.src"] == "fd00:5657:250::1"]
    assert len(rows) == 10 and ours, out
    for r in ours:
        # The UDP checksum is computed over IPv6, and right.
        assert r["udp.checksum.status"] == "1", r
        assert r["ipv6.hlim"] == "64" and int(r["ipv6.flow"], 16) == 0, r
        assert 32768 <= int(r["udp.srcport"]) <= 60999, r
    for r in rows:
        assert r["frame.protocols"].startswith("raw:ipv6:udp:vxlan:eth:ethertype:"), r
        assert r["_ws.malformed"] == "", r
        # The kernel's own leave B with the checksum still to finish (the
        # tun takes checksum offload), which tshark calls bad: only ours
        # must be clean.
        assert clean(r) or r not in ours, r


# --- inside WireGuard ------------------------------------------------------


def wireguard_hosts(lab):
    """As two_hosts(), with wireguard ports (198.19.251.1/24 and .2/24,
    each the other's one peer) carrying the VXLAN instead of ipip:
    (daemons, wireguard ports, vxlan ports, endpoint A, endpoint B), the
    first three by host number."""
    from test_wireguard_port import endpoint_str, genkey

    h = Hosts()
    h.h1, h.h2 = lab.netns("H1"), lab.netns("H2")
    v1, v2 = lab.name("v1"), lab.name("v2")
    sh("ip", "link", "add", v1, "netns", h.h1.name, "type", "veth", "peer", "name", v2,
       "netns", h.h2.name)
    for ns, dev, addr in ((h.h1, v1, "198.18.0.1"), (h.h2, v2, "198.18.0.2")):
        ns.run("ip", "addr", "add", f"{addr}/24", "dev", dev)
        ns.run("ip", "link", "set", dev, "up")
    d = {1: lab.daemon(h.h1), 2: lab.daemon(h.h2)}
    keys = {1: genkey(lab), 2: genkey(lab)}
    w = {n: lab.name(f"w{n}") for n in (1, 2)}
    vx = {n: lab.name(f"vx{n}") for n in (1, 2)}
    for n, o in ((1, 2), (2, 1)):
        d[n].ctl("port", "add", w[n], "type", "wireguard", "private-key", keys[n][0],
                 "listen-port", "51820", "address", f"198.19.251.{n}/24")
        d[n].ctl("wireguard", "peer", "add", w[n], keys[o][1], "endpoint",
                 endpoint_str(f"198.18.0.{o}"), "allowed-ips", f"198.19.251.{o}/32")
        d[n].ctl("port", "add", vx[n], "type", "vxlan", "remote", f"198.19.251.{o}",
                 "local", f"198.19.251.{n}", "vni", str(VNI), "via", w[n])
    a = lab.endpoint(d[1], lab.name("tA"), "A", "198.19.1.1/24")
    b = lab.endpoint(d[2], lab.name("tB"), "B", "198.19.1.2/24")
    for ep in (a, b):
        ep.run("ip", "link", "set", ep.port, "mtu", str(port_mtu(d[1], vx[1])))
    return d, w, vx, a, b


def test_vxlan_via_wireguard_between_two_vswitchd(lab):
    d, w, vx, a, b = wireguard_hosts(lab)
    assert port_mtu(d[1], w[1]) == 1420
    assert port_mtu(d[1], vx[1]) == 1420 - VXLAN_OVERHEAD
    ping(a, b.addr, count=3)
    ping(b, a.addr, count=3)
    assert iperf3(lab, a, b) > 1_000_000
    assert iperf3(lab, b, a) > 1_000_000
    for n in (1, 2):
        st, wst = port_stats(d[n], vx[n]), port_stats(d[n], w[n])
        assert st["rx_packets"] > 1000 and st["tx_packets"] > 1000, st
        assert wst["drops"]["local"] == 0 and sum(st["drops"].values()) == 0, (st, wst)
        [p] = d[n].ctl("wireguard", "show", w[n], json_out=True)["ports"]
        assert not any(p["drops"].values()), p["drops"]
