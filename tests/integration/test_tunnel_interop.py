"""vswitchd against the Linux kernel's vxlan driver, and what tshark sees.

    ns E1 (198.19.0.1)                                     ns E2 (198.19.0.2)
      t1 <-fd-> [ vswitchd in H1: t1, vx ]                   k2 (veth)
                  H1 198.18.0.1 ==== veth underlay ====  H2 198.18.0.2
                                                          vx2 (kernel vxlan, VNI 42)
                                                          + Linux bridge + k2 peer

The kernel host sends through a veth, which hands the receiving side TCP
and UDP checksums still to be filled in (checksum offload); the kernel on
the other end accepts them, but vswitchd, like any program reading a UDP
socket, gets the bytes as they are.  So the kernel host computes its
checksums itself (tx checksum offload off on its underlay), as it does on
any real NIC path.  See README, "Tunnels with the kernel's vxlan".

For tshark, both hosts run vswitchd and H2 captures its underlay.
"""

import json

import pytest

from tunlab import (Host, connected, endpoint, fdb_port, iperf3, link, tunnel,
                    two_hosts)
from vswlab import ping, port_stats, sh, wait_until

VNI = 42


def kernel_vxlan_host(lab, h, remote, v6):
    """H's endpoint E<n> on a veth, bridged to a kernel vxlan to remote."""
    vx, br, k = lab.name(f"vx{h.n}"), lab.name(f"br{h.n}"), lab.name(f"k{h.n}")
    e = lab.netns(f"E{h.n}")
    h.ns.run("ip", "link", "add", vx, "type", "vxlan", "id", VNI,
             "remote", remote.ul(v6), "local", h.ul(v6), "dstport", 4789)
    h.ns.run("ip", "link", "add", br, "type", "bridge")
    h.ns.run("ip", "link", "add", k + "h", "type", "veth", "peer", "name", k,
             "netns", e.name)
    for dev in (vx, k + "h"):
        h.ns.run("ip", "link", "set", dev, "master", br)
    for dev in (vx, br, k + "h"):
        h.ns.run("ip", "link", "set", dev, "up")
    h.ns.run("ethtool", "-K", h.ifs[0], "tx", "off")
    e.run("sysctl", "-qw", f"net.ipv6.conf.{k}.disable_ipv6=1")
    e.run("ip", "addr", "add", f"198.19.0.{h.n}/24", "dev", k)
    e.run("ip", "link", "set", k, "up")
    e.port, e.addr = k, f"198.19.0.{h.n}"
    e.mac = json.loads(e.run("ip", "-j", "link", "show", k).stdout)[0]["address"]
    return e


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_kernel_vxlan_interop_both_ways(lab, v6):
    h1, h2 = Host(lab, 1), Host(lab, 2, daemon=False)
    link(lab, h1, h2)
    e1 = endpoint(lab, h1)
    e2 = kernel_vxlan_host(lab, h2, h1, v6)
    vx = lab.name("vx")
    tunnel(h1, vx, "vxlan", h2, v6=v6, vni=VNI)

    connected(e1, e2)                       # vswitchd side first
    ping(e2, e1.addr, count=5)              # kernel side first
    ping(e1, e2.addr, count=5)
    assert iperf3(lab, e1, e2) > 1_000_000
    assert iperf3(lab, e2, e1) > 1_000_000
    assert fdb_port(h1, e2.mac) == vx
    st = port_stats(h1.daemon, vx)
    assert st["rx_packets"] > 100 and st["tx_packets"] > 100
    [ep] = h1.ctl("stats", vx, json_out=True)["endpoints"]
    assert sum(ep["drops"].values()) == 0
    # The kernel learned E1 behind vswitchd's address.
    fdb = h2.ns.run("bridge", "fdb", "show", "dev", lab.name("vx2")).stdout
    assert f"{e1.mac} dst {h1.ul(v6)}" in fdb


def capture(lab, host, port, pings, src, dst, tmp_path):
    """Packets on host's underlay while src pings dst, as a pcap file."""
    pcap = tmp_path / "ul.pcap"
    log = tmp_path / "tcpdump.log"
    with open(log, "w") as f:
        proc = lab.popen(host.ns, "tcpdump", "-Z", "root", "-U", "-n", "-i",
                         host.ifs[0], "-w", pcap, "-c", 2 * pings, "udp", "port",
                         port, stdout=f, stderr=f)
    wait_until(lambda: "listening on" in log.read_text(), timeout=20,
               what="tcpdump to start")
    ping(src, dst.addr, count=pings)
    proc.wait(timeout=30)
    return pcap


TRACEROUTE_GUESS = "Expert Info (Chat/Sequence): Possible traceroute"


def tshark(pcap, *args):
    return sh("tshark", "-r", pcap, *args, timeout=120).stdout


TSHARK_CASES = [
    # encap, port, options, protocol chain, fields checked
    ("vxlan", 4789, {"vni": VNI},
     "eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data",
     {"vxlan.vni": "42", "vxlan.flags": "0x0800", "udp.checksum": "0x0000",
      "udp.dstport": "4789"}),
    ("gretap", 4754, {"key": 7},
     "eth:ethertype:ip:udp:gre:eth:ethertype:ip:icmp:data",
     {"gre.key": "0x00000007", "gre.proto": "0x6558", "gre.flags_and_version": "0x2000",
      "udp.checksum": "0x0000", "udp.dstport": "4754"}),
]


@pytest.mark.parametrize("encap,port,opts,chain,fields", TSHARK_CASES,
                         ids=[c[0] for c in TSHARK_CASES])
def test_tshark_decodes_what_vswitchd_sends(lab, tmp_path, encap, port, opts, chain, fields):
    h1, h2, e1, e2, tun = two_hosts(lab, encap, **opts)
    # Zero outer UDP checksums over IPv4, unless UDP GSO needs them
    # (test_offload_tunnel.py covers GSO).
    for h in (h1, h2):
        h.ctl("offload", "set", "udp-gso", "off")
    connected(e1, e2)
    pcap = capture(lab, h2, port, 5, e1, e2, tmp_path)

    # GRE-in-UDP has its own port (RFC 8086); say it anyway, so that the
    # check does not depend on the tshark version's port table.
    decode = ("-d", "udp.port==4754,gre")
    names = list(fields)
    out = tshark(pcap, *decode, "-T", "fields", "-e", "frame.protocols",
                 "-e", "_ws.expert", "-e", "_ws.malformed", "-e", "udp.srcport",
                 *[a for n in names for a in ("-e", n)])
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) == 10, out
    for row in rows:
        assert row[0] == chain, row
        # No expert info, not malformed.  Wireshark guesses "traceroute"
        # from a UDP source port in 33435..33464 alone, and the source port
        # is the inner flow's hash: that guess says nothing of the packet.
        assert row[1] == "" or (row[1].startswith(TRACEROUTE_GUESS) and
                                33434 <= int(row[3]) <= 33534), row
        assert row[2] == "", row
        assert dict(zip(names, row[4:])) == fields, row
    verbose = "\n".join(line for line in tshark(pcap, *decode, "-V").splitlines()
                        if TRACEROUTE_GUESS not in line)
    assert "Malformed" not in verbose and "Expert Info" not in verbose
    inner = tshark(pcap, *decode, "-T", "fields", "-e", "eth.src")
    assert e1.mac in inner and e2.mac in inner
    assert port_stats(h2.daemon, tun)["rx_packets"] >= 5
