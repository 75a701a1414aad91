"""Routed traffic between two hosts over vswitchd's wireguard ports.

    ns A                 ns H1: vswitchd                      ns H2: vswitchd                 ns B
    198.19.1.1    tunA [198.19.1.254   wg1] ==== WireGuard ==== [wg2   198.19.2.254] tunB    198.19.2.1
    fd00:5657:1::1       [fd00:5657:1::fe   ]   UDP 51820, veth  [ fd00:5657:2::fe  ]        fd00:5657:2::1
                          198.18.0.1/24  -------------------------  198.18.0.2/24
                          fd00:5657::1/64                           fd00:5657::2/64

Each host is a namespace with one vswitchd: a tun port into the endpoint's
namespace and a wireguard port whose one peer is the other host (endpoint
over the IPv4 or IPv6 underlay, allowed IPs the far subnets).  Each router
routes the far subnets into its wireguard port.
"""

import hashlib
import json
import os
import subprocess
import time

import pytest

from tunlab import router_endpoints, router_pair
from vswlab import DAEMON_USER, ping, port_stats, wait_until

WG_PORT = 51820


def genkey(lab, mode=0o600):
    """A private key file the daemon's user owns (mode MODE) and its public key."""
    priv = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout
    pub = subprocess.run(["wg", "pubkey"], input=priv, capture_output=True, text=True,
                         check=True).stdout.strip()
    d = lab.rundir()
    path = d / "key"
    path.write_text(priv)
    if DAEMON_USER is not None:
        os.chown(path, DAEMON_USER.pw_uid, DAEMON_USER.pw_gid)
    path.chmod(mode)
    return str(path), pub


def endpoint_str(addr, port=WG_PORT):
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def two_hosts(lab, under, peer_key_of_h1=None, daemon_args=()):
    """Two hosts as drawn above.  PEER_KEY_OF_H1: the key H2 believes H1
    has (default: H1's real one)."""
    h = router_pair(lab, under, daemon_args)
    ua, ub = h.under
    h.w1, h.w2 = lab.name("w1"), lab.name("w2")
    (k1, h.pub1), (k2, h.pub2) = genkey(lab), genkey(lab)
    h.d1.ctl("port", "add", h.w1, "type", "wireguard", "private-key", k1,
             "listen-port", str(WG_PORT))
    h.d2.ctl("port", "add", h.w2, "type", "wireguard", "private-key", k2,
             "listen-port", str(WG_PORT))
    h.d1.ctl("wireguard", "peer", "add", h.w1, h.pub2, "endpoint", endpoint_str(ub),
             "allowed-ips", "198.19.2.0/24,fd00:5657:2::/64")
    h.d2.ctl("wireguard", "peer", "add", h.w2, peer_key_of_h1 or h.pub1,
             "endpoint", endpoint_str(ua), "allowed-ips", "198.19.1.0/24,fd00:5657:1::/64")
    router_endpoints(lab, h, h.w1, h.w2)
    return h


def wg_show(daemon, port):
    [p] = daemon.ctl("wireguard", "show", port, json_out=True)["ports"]
    return p


@pytest.mark.parametrize("under", ["4", "6"])
def test_ping_both_ways_after_a_handshake(lab, under):
    h = two_hosts(lab, under)
    res = ping(h.a, h.b.addr, count=3)
    assert "ttl=62" in res.stdout                # two routers on the way
    ping(h.a, h.b.addr6, count=3)
    ping(h.b, h.a.addr, count=2)
    ping(h.b, h.a.addr6, count=2)
    for d, w, pub in ((h.d1, h.w1, h.pub2), (h.d2, h.w2, h.pub1)):
        p = wg_show(d, w)
        assert p["listen_port"] == WG_PORT
        [peer] = p["peers"]
        assert peer["public_key"] == pub
        assert peer["handshakes"] >= 1, p
        assert peer["latest_handshake"] > 0
        assert peer["rx_bytes"] > 0 and peer["tx_bytes"] > 0
        assert not any(p["drops"].values()), p["drops"]
    assert port_stats(h.d1, h.w1)["tx_packets"] >= 10
    assert port_stats(h.d2, h.w2)["rx_packets"] >= 10
    [w1] = h.d1.ctl("port", "show", h.w1, json_out=True)["ports"]
    assert w1["mtu"] == 1420
    # Without the peer nothing is routed to it; the port goes cleanly.
    h.d1.ctl("wireguard", "peer", "del", h.w1, h.pub2)
    assert ping(h.a, h.b.addr, count=1, check=False).returncode != 0
    assert wg_show(h.d1, h.w1)["drops"]["no_peer"] >= 1
    h.d1.ctl("port", "del", h.w1)
    assert h.d1.alive()


def test_iperf3_tcp_through_wireguard(lab):
    h = two_hosts(lab, "4")
    ping(h.a, h.b.addr, count=1)
    server = lab.popen(h.b, "iperf3", "-s", "-1", "-B", h.b.addr)
    wait_until(lambda: "LISTEN" in h.b.run("ss", "-ltn").stdout, what="iperf3 server")
    res = h.a.run("iperf3", "-c", h.b.addr, "-t", "3", "--json", timeout=90)
    end = json.loads(res.stdout)["end"]
    assert end["sum_received"]["bytes"] > 1_000_000, end
    server.wait(timeout=15)
    drops = wg_show(h.d2, h.w2)["drops"]
    assert drops["bad_data"] == 0 and drops["replayed_data"] == 0, drops
    # The tunnel offloads stay on: equal-sized sealed segments leave in
    # UDP_SEGMENT sends, arrive in coalesced reads, and TCP is coalesced
    # again after opening.
    tx, rx = wg_show(h.d1, h.w1)["offloads"], wg_show(h.d2, h.w2)["offloads"]
    assert tx["udp_gso"] == "on" and tx["gso_segs"] > 2 * tx["gso_msgs"] > 0, tx
    assert rx["gro_datagrams"] > 2 * rx["gro_reads"] > 0, rx
    assert rx["tcp_gro_segments"] > 2 * rx["tcp_gro_superframes"] > 0, rx
    assert "offloads: udp-gso on" in h.d1.ctl("wireguard", "show", h.w1).stdout


def test_offloads_off_send_and_read_datagram_by_datagram(lab):
    h = two_hosts(lab, "4")
    for d in (h.d1, h.d2):
        for o in ("udp-gso", "udp-gro", "tcp-gro"):
            d.ctl("offload", "set", o, "off")
    ping(h.a, h.b.addr, count=1)
    server = lab.popen(h.b, "iperf3", "-s", "-1", "-B", h.b.addr)
    wait_until(lambda: "LISTEN" in h.b.run("ss", "-ltn").stdout, what="iperf3 server")
    res = h.a.run("iperf3", "-c", h.b.addr, "-t", "2", "--json", timeout=90)
    assert json.loads(res.stdout)["end"]["sum_received"]["bytes"] > 100_000
    server.wait(timeout=15)
    tx, rx = wg_show(h.d1, h.w1)["offloads"], wg_show(h.d2, h.w2)["offloads"]
    assert tx["udp_gso"] == "off" and tx["gso_msgs"] == 0, tx
    assert rx["gro_reads"] == 0 and rx["tcp_gro_superframes"] == 0, rx


def test_inner_source_outside_allowed_ips_is_dropped(lab):
    h = two_hosts(lab, "4")
    ping(h.a, h.b.addr, count=1)
    # A second address on A, outside what H2 allows H1 to send from; H1's
    # router forwards it all the same (it checks no source).
    h.a.run("ip", "addr", "add", "198.19.3.1/24", "dev", h.a.port)
    res = ping(h.a, h.b.addr, count=3, check=False, extra=("-I", "198.19.3.1"))
    assert res.returncode != 0
    p = wg_show(h.d2, h.w2)
    assert p["drops"]["bad_inner_source"] >= 3, p["drops"]
    # Forwarding is unaffected.
    ping(h.a, h.b.addr, count=1)


def test_wrong_peer_key_completes_no_handshake(lab):
    _, stranger = genkey(lab)
    h = two_hosts(lab, "4", peer_key_of_h1=stranger)
    res = ping(h.a, h.b.addr, count=2, check=False)
    assert res.returncode != 0
    wait_until(lambda: wg_show(h.d2, h.w2)["drops"]["bad_handshake"] >= 1,
               what="bad_handshake counted")
    for d, w in ((h.d1, h.w1), (h.d2, h.w2)):
        [peer] = wg_show(d, w)["peers"]
        assert peer["handshakes"] == 0 and peer["latest_handshake"] == 0, peer


def test_key_file_open_to_others_is_refused(lab):
    ns = lab.netns("H1")
    d = lab.daemon(ns)
    key, _ = genkey(lab, mode=0o644)
    res = d.ctl("port", "add", lab.name("w1"), "type", "wireguard", "private-key", key,
                check=False)
    assert res.returncode != 0
    assert f"key file {key} is mode 0644" in res.stderr, res.stderr
    os.chmod(key, 0o600)
    d.ctl("port", "add", lab.name("w1"), "type", "wireguard", "private-key", key)
    assert wg_show(d, lab.name("w1"))["listen_port"] != 0


def test_sessions_rekey_under_traffic_without_loss(lab):
    # Short timers (vswitchd --wg-rekey-after): rekey every 3 s, reject
    # after 4.5 s, so an 8 s ping crosses several rekeys.
    h = two_hosts(lab, "4", daemon_args=("--wg-rekey-after", "3"))
    res = ping(h.a, h.b.addr, count=40)
    assert " 0% packet loss" in res.stdout, res.stdout
    [peer] = wg_show(h.d1, h.w1)["peers"]
    assert peer["handshakes"] >= 2, peer
    for d, w in ((h.d1, h.w1), (h.d2, h.w2)):
        drops = wg_show(d, w)["drops"]
        assert not any(drops.values()), drops


def test_endpoint_roams_to_the_source_of_authenticated_data(lab):
    h = two_hosts(lab, "4")
    ping(h.a, h.b.addr, count=1)
    v1 = lab.name("v1")
    # H1 moves to another underlay address; H2 was told the old one.
    h.h1.run("ip", "addr", "del", "198.18.0.1/24", "dev", v1)
    h.h1.run("ip", "addr", "add", "198.18.0.3/24", "dev", v1)
    ping(h.a, h.b.addr, count=3)
    [peer] = wg_show(h.d2, h.w2)["peers"]
    assert peer["endpoint"] == "198.18.0.3:51820", peer
    ping(h.b, h.a.addr, count=2)


FLOOD = """
import hashlib, os, socket, sys, time
pub, dst, secs = bytes.fromhex(sys.argv[1]), sys.argv[2], float(sys.argv[3])
key = hashlib.blake2s(b"mac1----" + pub).digest()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
sent = cookies = 0
end = time.time() + secs
while time.time() < end:
    for _ in range(50):
        msg = bytes([1, 0, 0, 0]) + os.urandom(112)
        msg += hashlib.blake2s(msg, key=key, digest_size=16).digest() + bytes(16)
        s.sendto(msg, (dst, 51820))
        sent += 1
    try:
        while True:
            r = s.recv(2048)
            cookies += len(r) == 64 and r[0] == 3
    except BlockingIOError:
        pass
    time.sleep(0.01)
print(sent, cookies)
"""


def test_initiation_flood_gets_cookie_replies_and_peers_still_connect(lab):
    import base64
    h = two_hosts(lab, "4")
    pub2 = base64.b64decode(h.pub2).hex()
    # Initiations with a valid mac1 (anyone who knows H2's public key can
    # make one) and nothing valid behind it, a few thousand a second.
    flood = lab.popen(h.h1, "/usr/bin/python3", "-c", FLOOD, pub2, "198.18.0.2", "9",
                      stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    # H1's real initiation meets the load: a cookie reply, then mac2.
    wait_until(lambda: ping(h.a, h.b.addr, count=1, check=False).returncode == 0,
               timeout=20, what="a handshake under load")
    out, _ = flood.communicate(timeout=30)
    sent, cookies = map(int, out.split())
    drops = wg_show(h.d2, h.w2)["drops"]
    assert drops["under_load"] >= 1, drops
    assert cookies >= 1, (sent, cookies, drops)
    assert drops["bad_handshake"] >= 1, drops
    assert wg_show(h.d1, h.w1)["drops"]["bad_cookie"] == 0
    [peer] = wg_show(h.d2, h.w2)["peers"]
    assert peer["handshakes"] >= 1
