"""Bad packets on the wire: crafted with scapy, counted, dropped, harmless.

    ns E1 --- t1 [ vswitchd in H1: t1, tun ]  == veth ==  H2: vswitchd (tun, t2) --- E2
                      198.18.0.1                          198.18.0.2
                                                          + scapy, sending as H2
                                                            or as 198.18.0.99

H2 is the configured remote, so packets from its address pass the source
check; scapy's raw socket also forges the stranger 198.18.0.99.  Each case
is sent COUNT times and must add exactly COUNT to its drop counter at H1
(good ones at least COUNT to the port's rx_packets), and the endpoints keep
pinging.
"""

import json
import re
import subprocess

import pytest

from tunlab import connected, two_hosts
from vswlab import ping, port_stats, wait_until

COUNT = 10
STRANGER = "198.18.0.99"

SCAPY = r"""
import json, random, sys
from scapy.all import IP, UDP, Ether, Raw, conf, send
from scapy.layers.l2 import GRE
from scapy.layers.vxlan import VXLAN
conf.verb = 0
dst, dport, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
inner = Ether(dst="ff:ff:ff:ff:ff:ff", src="02:56:53:00:0e:01", type=0x88b5) / Raw(b"x" * 46)
cases = json.loads(sys.argv[4])
random.seed(5)
for src, layers in cases:
    if layers == "random":
        pkts = [IP(src=src, dst=dst) / UDP(sport=40000, dport=dport) /
                Raw(bytes(random.getrandbits(8) for _ in range(random.randrange(0, 120))))
                for _ in range(count)]
    else:
        pkts = [IP(src=src, dst=dst) / UDP(sport=40000, dport=dport) / eval(layers)] * count
    send(pkts)
"""

# (name, source, payload as a scapy expression, counter, where)
VXLAN_CASES = [
    ("good", None, "VXLAN(vni=42) / inner", "rx_packets", "port"),
    ("wrong_source", STRANGER, "VXLAN(vni=42) / inner", "wrong_source", "endpoint"),
    ("unknown_vni", None, "VXLAN(vni=43) / inner", "unknown_key", "endpoint"),
    ("truncated", None, "Raw(bytes(VXLAN(vni=42))[:7])", "truncated", "endpoint"),
    ("bad_flags", None, "VXLAN(vni=42, flags=0) / inner", "bad_flags", "endpoint"),
    ("inner_runt", None, "VXLAN(vni=42) / Raw(b'0123456789')", "runt", "drops"),
    ("inner_bad_src", None,
     "VXLAN(vni=42) / Ether(src='01:00:5e:00:00:01') / Raw(b'x' * 46)", "bad_src_mac", "drops"),
]

GRE_CASES = [
    ("good", None, "GRE(key_present=1, key=7, proto=0x6558) / inner", "rx_packets", "port"),
    ("wrong_source", STRANGER, "GRE(key_present=1, key=7, proto=0x6558) / inner",
     "wrong_source", "endpoint"),
    ("unknown_key", None, "GRE(key_present=1, key=8, proto=0x6558) / inner",
     "unknown_key", "endpoint"),
    ("no_key", None, "GRE(proto=0x6558) / inner", "unknown_key", "endpoint"),
    ("bad_version", None, "GRE(version=1, key_present=1, key=7, proto=0x880b) / inner",
     "bad_version", "endpoint"),
    ("routing_bit", None, "GRE(routing_present=1, key_present=1, key=7, proto=0x6558) / inner",
     "bad_flags", "endpoint"),
    ("bad_checksum", None,
     "GRE(chksum_present=1, chksum=1, key_present=1, key=7, proto=0x6558) / inner",
     "bad_checksum", "endpoint"),
    ("bad_proto", None, "GRE(key_present=1, key=7, proto=0x8847) / inner",
     "bad_proto", "endpoint"),
    ("truncated", None, "Raw(bytes(GRE(key_present=1, key=7, proto=0x6558))[:6])",
     "truncated", "endpoint"),
    ("good_with_checksum", None,
     "GRE(chksum_present=1, key_present=1, key=7, proto=0x6558) / inner",
     "rx_packets", "port"),
]


def counter(h, tun, where, name):
    if where == "endpoint":
        [ep] = h.ctl("stats", tun, json_out=True)["endpoints"]
        return ep["drops"][name]
    st = port_stats(h.daemon, tun)
    return st[name] if where == "port" else st["drops"][name]


def scapy_send(host, dst, dport, cases, count=COUNT):
    host.ns.run("/usr/bin/python3", "-c", SCAPY, dst, dport, count,
                json.dumps(cases), timeout=120)


def lab_for(lab, encap, opts):
    h1, h2, e1, e2, tun = two_hosts(lab, encap, **opts)
    connected(e1, e2)
    return h1, h2, e1, e2, tun


@pytest.mark.parametrize("encap,dport,opts,cases", [
    ("vxlan", 4789, {"vni": 42}, VXLAN_CASES),
    ("gretap", 4754, {"key": 7}, GRE_CASES),
], ids=["vxlan", "gretap"])
def test_crafted_packets_counted_per_reason(lab, encap, dport, opts, cases):
    h1, h2, e1, e2, tun = lab_for(lab, encap, opts)
    for name, src, layers, what, where in cases:
        before = counter(h1, tun, where, what)
        scapy_send(h2, h1.addr, dport, [[src or h2.addr, layers]])
        wait_until(lambda: counter(h1, tun, where, what) >= before + COUNT,
                   timeout=20, what=f"{name}: {what} +{COUNT}")
        if where != "port":     # rx_packets also counts ARP refreshes
            assert counter(h1, tun, where, what) == before + COUNT, name
        assert h1.daemon.alive()
    # The crafted source MAC came in by the tunnel; the forged one never
    # made it into the table.
    macs = {e["mac"]: e["port"] for e in h1.ctl("fdb", "show", json_out=True)["fdb"]}
    assert macs.get("02:56:53:00:0e:01") == tun
    assert "01:00:5e:00:00:01" not in macs
    ping(e1, e2.addr, count=5, extra=("-q",))
    ping(e2, e1.addr, count=5, extra=("-q",))


@pytest.mark.parametrize("encap,dport,opts", [
    ("vxlan", 4789, {"vni": 42}),
    ("gretap", 4754, {"key": 7}),
], ids=["vxlan", "gretap"])
def test_random_datagrams_while_pinging(lab, encap, dport, opts):
    h1, h2, e1, e2, tun = lab_for(lab, encap, opts)

    def endpoint_stats():
        [ep] = h1.ctl("stats", tun, json_out=True)["endpoints"]
        return ep["rx_packets"], ep["drops"]

    seen0, drops0 = endpoint_stats()
    delivered0 = port_stats(h1.daemon, tun)["rx_packets"]
    pinger = lab.popen(e1, "ping", "-c", "30", "-i", "0.1", "-W", "2", e2.addr,
                       stdout=subprocess.PIPE, text=True)
    n = 500
    scapy_send(h2, h1.addr, dport, [[h2.addr, "random"], [STRANGER, "random"]], count=n)
    out, _ = pinger.communicate(timeout=60)
    assert pinger.returncode == 0, out
    received = int(re.search(r"(\d+) received", out).group(1))
    assert received >= 27, out
    wait_until(lambda: endpoint_stats()[0] >= seen0 + 2 * n, timeout=20,
               what="all datagrams read")
    seen, drops = endpoint_stats()
    delivered = port_stats(h1.daemon, tun)["rx_packets"] - delivered0
    # Each datagram counted once: delivered to the port or dropped for a reason.
    dropped = sum(drops.values()) - sum(drops0.values())
    assert dropped + delivered == seen - seen0
    assert drops["wrong_source"] - drops0["wrong_source"] == n
    assert h1.daemon.alive()
    ping(e1, e2.addr, count=3)
