"""vswitchd's wireguard port against WireGuard as the world runs it:
Debian's wireguard-go and wireguard-tools on the other host (this kernel has
no WireGuard module).  The hosts are drawn in tests/wglab.py: A is vswitchd
(wireguard port wgA, 198.19.0.1, and an endpoint namespace EA behind its
router, 198.19.1.1), B is wireguard-go (wgB, 198.19.0.2, its own endpoint),
on a veth underlay 198.18.0.1 -- 198.18.0.2.

Both directions of the handshake, IPv4 and IPv6 inside, a preshared key,
roaming, rekeying under load, `wg show` against `vswctl wireguard show`;
then attacks on the underlay against vswitchd's port, each of which must be
dropped and counted under its own reason while traffic goes on; then VXLAN
inside WireGuard against a Linux vxlan device over wireguard-go.

Speeds are not asserted here (the sanitizer build and wireguard-go are both
slow): that data flowed, and how much, is.
"""

import base64
import ctypes
import hashlib
import json
import os
import subprocess

import pytest

from iperflab import iperf3
from vswlab import Lab, ping, sh, wait_until
from wglab import (PORT, UL, UL6, WG_NET, WG_NET6, Capture, Pair, a_allowed, a_peer,
                   b_allowed, drops, genkey, key_file, msg_type, pair, setup_b, udp_send,
                   udp_spoof, underlay, wg_show, wireguard_go)

INIT, RESP, COOKIE, DATA = 1, 2, 3, 4


def connected(src, dst_addr, timeout=30):
    """Pings until the first reply: the handshake is done."""
    wait_until(lambda: ping(src, dst_addr, count=1, check=False).returncode == 0,
               timeout=timeout, interval=0.2, what=f"ping {src.name} -> {dst_addr}")


def handshake_messages(msgs):
    """(type, source address) of the handshake messages of a capture."""
    return [(msg_type(m), src) for src, _, _, _, m in msgs if msg_type(m) in (INIT, RESP)]


def changed(before, after):
    """The drop counters that moved, and by how much."""
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def udp_counters(ns):
    """The namespace's UDP counters (/proc/net/snmp) by name."""
    lines = [l.split() for l in ns.run("cat", "/proc/net/snmp").stdout.splitlines()
             if l.startswith("Udp:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


def secret_free(p, text):
    """No private or preshared key in what the daemon says."""
    for secret in (p.a_priv, p.psk):
        if secret:
            assert secret not in text
            assert base64.b64decode(secret).hex() not in text.lower()


# ------------------------------------------------------------ the lab itself

@pytest.fixture
def plain_lab(request, tmp_path):
    l = Lab("release", tmp_path)
    request.addfinalizer(l.cleanup)
    return l


def test_lab_wireguard_go_both_sides(plain_lab, request, tmp_path):
    """The lab's B side and underlay, with wireguard-go as A too: what the
    other tests expect of wireguard-go holds without vswitchd."""
    lab = plain_lab
    p = Pair()
    p.ha, p.hb = lab.netns("HA"), lab.netns("HB")
    p.ua, p.ub = underlay(lab, p.ha, p.hb)
    p.a_priv, p.a_pub = genkey()
    p.a_port = PORT
    setup_b(p, lab, request, tmp_path)
    a = wireguard_go(lab, request, p.ha, "wgA", tmp_path)
    a.set("private-key", key_file(tmp_path / "a.key", p.a_priv), "listen-port", PORT,
          "peer", p.b_pub, "endpoint", f"{UL['b']}:{PORT}", "allowed-ips", ",".join(b_allowed()))
    a.ip("addr", "add", f"{WG_NET['a']}/24", "dev", a.name)
    a.ip("-6", "addr", "add", f"{WG_NET6['a']}/64", "dev", a.name, "nodad")
    a.ip("link", "set", a.name, "up")
    connected(p.ha, WG_NET["b"])
    ping(p.ha, WG_NET6["b"], count=2)
    _, peers = p.b.dump()
    assert peers[p.a_pub]["endpoint"] == f"{UL['a']}:{PORT}"
    assert peers[p.a_pub]["latest_handshake"] > 0
    p.hb.run("ip", "addr", "del", "198.18.0.2/24", "dev", p.ub)
    p.hb.run("ip", "addr", "add", "198.18.0.3/24", "dev", p.ub)
    # wireguard-go keeps sending from the address it last used until a
    # retry 15 s later; setting its peer's endpoint again forgets it.
    p.b.set("peer", p.a_pub, "endpoint", f"{UL['a']}:{PORT}")
    connected(p.hb, WG_NET["a"])
    _, peers = a.dump()
    assert peers[p.b_pub]["endpoint"] == f"198.18.0.3:{PORT}"


# ------------------------------------------------------------ interop

def test_keys_are_wg_compatible(lab):
    priv = sh(lab.vswctl, "wireguard", "genkey").stdout
    assert len(priv) == 45 and priv.endswith("\n") and len(base64.b64decode(priv)) == 32
    pub = sh(lab.vswctl, "wireguard", "pubkey", input=priv).stdout
    assert pub == sh("wg", "pubkey", input=priv).stdout
    wpriv, wpub = genkey()
    assert sh(lab.vswctl, "wireguard", "pubkey", input=wpriv + "\n").stdout == wpub + "\n"


def test_a_starts_ipv4_ipv6_ping_and_iperf3(lab, request, tmp_path):
    p = pair(lab, request, tmp_path)
    cap = Capture(lab, p.hb, p.ub, tmp_path / "hs.pcap", f"udp port {PORT}")
    connected(p.ea, p.hb.addr)                  # vswitchd's side first
    res = ping(p.ea, p.hb.addr, count=3)
    assert "ttl=63" in res.stdout               # A's router on the way
    ping(p.ea, p.hb.addr6, count=3)
    ping(p.hb, p.ea.addr, count=3)
    ping(p.hb, p.ea.addr6, count=3)
    ping(p.hb, WG_NET["a"], count=2)            # the port's own address
    hs = handshake_messages(cap.stop())
    assert hs[:2] == [(INIT, UL["a"]), (RESP, UL["b"])], hs

    peer = a_peer(p)
    assert peer["handshakes"] >= 1 and peer["latest_handshake"] > 0
    assert peer["endpoint"] == f"{UL['b']}:{PORT}"
    assert iperf3(lab, p.ea, p.hb, p.hb.addr, seconds=2)["end"]["sum_received"]["bytes"] > 1_000_000
    assert iperf3(lab, p.hb, p.ea, p.ea.addr, seconds=2)["end"]["sum_received"]["bytes"] > 1_000_000
    assert iperf3(lab, p.ea, p.hb, p.hb.addr6, seconds=1)["end"]["sum_received"]["bytes"] > 500_000
    after = drops(p)
    assert changed({}, after) == {}, after


def test_b_starts_with_preshared_key_and_wg_show_agrees(lab, request, tmp_path):
    p = pair(lab, request, tmp_path, psk=True)
    cap = Capture(lab, p.hb, p.ub, tmp_path / "hs.pcap", f"udp port {PORT}")
    connected(p.hb, p.ea.addr)                  # wireguard-go's side first
    ping(p.hb, p.ea.addr6, count=2)
    ping(p.ea, p.hb.addr, count=3)
    msgs = cap.stop()
    hs = handshake_messages(msgs)
    assert hs[:2] == [(INIT, UL["b"]), (RESP, UL["a"])], hs

    # wg show on B and vswctl wireguard show on A say the same.
    biface, bpeers = p.b.dump()
    port = wg_show(p)
    bp, ap = bpeers[p.a_pub], a_peer(p)
    assert list(bpeers) == [p.a_pub] and [x["public_key"] for x in port["peers"]] == [p.b_pub]
    assert port["public_key"] == p.a_pub and port["listen_port"] == PORT
    assert bp["endpoint"] == f"{UL['a']}:{port['listen_port']}"
    assert ap["endpoint"] == f"{UL['b']}:{biface['listen_port']}"
    assert ap["preshared_key"] is True and bp["preshared_key"] is True
    assert sorted(ap["allowed_ips"]) == sorted(b_allowed())
    assert sorted(bp["allowed_ips"]) == sorted(a_allowed())
    assert abs(ap["latest_handshake"] - bp["latest_handshake"]) <= 2, (ap, bp)
    assert ap["handshakes"] == 1
    # What one sent the other received, but for a keepalive in flight.
    assert ap["tx_bytes"] > 500 and ap["rx_bytes"] > 500
    assert abs(bp["rx_bytes"] - ap["tx_bytes"]) <= 256, (ap, bp)
    assert abs(ap["rx_bytes"] - bp["tx_bytes"]) <= 256, (ap, bp)
    text = p.d.ctl("wireguard", "show", p.wg).stdout
    for line in (f"interface: {p.wg}", f"public key: {p.a_pub}", f"listening port: {PORT}",
                 f"peer: {p.b_pub}", "preshared key: (hidden)",
                 f"endpoint: {UL['b']}:{PORT}", "latest handshake: "):
        assert line in text, text
    secret_free(p, text)
    secret_free(p, p.d.ctl("--json", "wireguard", "show").stdout)
    secret_free(p, p.d.ctl("--json", "port", "show", p.wg).stdout)

    # B's initiation, sent again: its timestamp is not newer.
    [init] = [m for src, _, _, _, m in msgs if msg_type(m) == INIT and src == UL["b"]][:1]
    before = drops(p)
    udp_spoof(p.hb, UL["b"], UL["a"], PORT, PORT, [init] * 3)
    wait_until(lambda: drops(p)["replayed_init"] - before["replayed_init"] >= 3,
               what="replayed initiations counted")
    assert changed(before, drops(p)) == {"replayed_init": 3}
    assert a_peer(p)["handshakes"] == 1
    ping(p.ea, p.hb.addr, count=2)


def test_roaming_follows_the_peer(lab, request, tmp_path):
    p = pair(lab, request, tmp_path)
    connected(p.ea, p.hb.addr)
    assert a_peer(p)["endpoint"] == f"{UL['b']}:{PORT}"
    # B's underlay address changes; B speaks first from the new one.
    p.hb.run("ip", "addr", "del", "198.18.0.2/24", "dev", p.ub)
    p.hb.run("ip", "addr", "add", "198.18.0.3/24", "dev", p.ub)
    # wireguard-go keeps sending from the address it last used until a
    # retry 15 s later; setting its peer's endpoint again forgets it.
    p.b.set("peer", p.a_pub, "endpoint", f"{UL['a']}:{PORT}")
    connected(p.hb, p.ea.addr)
    assert a_peer(p)["endpoint"] == f"198.18.0.3:{PORT}"
    assert f"endpoint: 198.18.0.3:{PORT}" in p.d.ctl("wireguard", "show", p.wg).stdout
    ping(p.ea, p.hb.addr, count=3)
    assert iperf3(lab, p.ea, p.hb, p.hb.addr, seconds=2)["end"]["sum_received"]["bytes"] > 1_000_000
    # And over to IPv6 underlay: B now sends to A's IPv6 address.
    p.b.set("peer", p.a_pub, "endpoint", f"[{UL6['a']}]:{PORT}")
    connected(p.hb, p.ea.addr)
    assert a_peer(p)["endpoint"] == f"[{UL6['b']}]:{PORT}"
    ping(p.ea, p.hb.addr6, count=3)
    assert changed({}, drops(p)) == {}


def test_rekey_under_load_does_not_stall(lab, request, tmp_path):
    p = pair(lab, request, tmp_path, daemon_args=("--wg-rekey-after", "5"))
    connected(p.ea, p.hb.addr)                  # A initiates: A rekeys
    h0 = a_peer(p)["handshakes"]
    srv_out = tmp_path / "iperf3-server.json"
    with open(srv_out, "w") as f:
        server = lab.popen(p.hb, "iperf3", "-s", "-1", "-B", p.hb.addr, "-J", "-i", 1,
                           stdout=f, stderr=subprocess.STDOUT)
        wait_until(lambda: ":5201" in p.hb.run("ss", "-ltnH").stdout, what="iperf3 server")
        out = json.loads(p.ea.run("iperf3", "-c", p.hb.addr, "-t", 15, "-i", 1, "-J",
                                  timeout=120).stdout)
        server.wait(timeout=30)
    sent = [i["sum"]["bytes"] for i in out["intervals"]]
    received = [i["sum"]["bytes"] for i in json.loads(srv_out.read_text())["intervals"]]
    assert len(sent) >= 14 and min(sent) > 0, sent
    assert len(received) >= 14 and min(received) > 0, received
    peer = a_peer(p)
    assert peer["handshakes"] >= h0 + 2, (h0, peer)
    _, bpeers = p.b.dump()
    bp = bpeers[p.a_pub]
    assert abs(bp["latest_handshake"] - peer["latest_handshake"]) <= 2
    # Counted alike on both sides: what A sent (batched, segmented) is what
    # B received, but for the datagrams B's kernel dropped because
    # wireguard-go, much slower than A, did not read its socket in time.
    lost = udp_counters(p.hb)["RcvbufErrors"]
    assert peer["tx_bytes"] > 10_000_000
    assert (peer["tx_bytes"] - lost * (1420 + 32) - 1024 <= bp["rx_bytes"]
            <= peer["tx_bytes"] + 1024), (peer, bp, lost)
    assert udp_counters(p.ha)["RcvbufErrors"] == 0
    assert bp["tx_bytes"] - 1024 <= peer["rx_bytes"] <= bp["tx_bytes"] + 1024, (peer, bp)
    d = drops(p)
    assert d["expired"] == 0 and d["staged_full"] == 0, d


# ------------------------------------------------------------ attacks

def test_replayed_and_forged_data_and_foreign_inner_source(lab, request, tmp_path):
    p = pair(lab, request, tmp_path)
    connected(p.ea, p.hb.addr)
    ub, ua = UL["b"], UL["a"]
    cap = Capture(lab, p.hb, p.ub, tmp_path / "d.pcap",
                  f"udp and src host {ub} and dst port {PORT}")
    # Large echo requests from B never reach A's port (dropped by nftables
    # on A): their counters are fresh when they are sent again below.
    p.ha.run("nft", "-f", "-", input=(
        "table inet vswtest {\n chain in {\n"
        "  type filter hook input priority 0; policy accept;\n"
        f"  ip saddr {ub} udp dport {PORT} udp length > 1000 drop\n }}\n}}\n"))
    ping(p.hb, p.ea.addr, count=3, check=False, extra=("-s", "1000"))
    p.ha.run("nft", "delete", "table", "inet", "vswtest")
    ping(p.hb, p.ea.addr, count=5)
    msgs = [m for _, _, _, _, m in cap.stop() if msg_type(m) == DATA]
    unseen = [m for m in msgs if len(m) > 1000]
    seen = [m for m in msgs if 32 < len(m) < 1000]
    assert len(unseen) == 3 and len(seen) >= 5, [len(m) for m in msgs]

    def send(ms):
        udp_spoof(p.hb, ub, ua, PORT, PORT, ms)

    def expect(before, want):
        wait_until(lambda: all(drops(p)[k] - before[k] >= n for k, n in want.items()),
                   what=f"drops {want}")
        assert changed(before, drops(p)) == want

    # Replayed: each delivered message once more.
    before = drops(p)
    send(seen)
    expect(before, {"replayed_data": len(seen)})
    # A bit flipped in the ciphertext of a message A has not seen, and in
    # the counter of one it has (now far ahead of the window): neither
    # opens, and neither moves the window, so the genuine ones still do.
    flipped = bytearray(unseen[0])
    flipped[len(flipped) // 2] ^= 0x10
    ahead = bytearray(seen[-1])
    ahead[8 + 5] ^= 0x01                       # counter + 2^40
    before, rx0 = drops(p), a_peer(p)["rx_bytes"]
    send([bytes(flipped), bytes(ahead)])
    expect(before, {"bad_data": 2})
    assert a_peer(p)["rx_bytes"] == rx0
    send(unseen)                               # genuine, late: accepted
    wait_until(lambda: a_peer(p)["rx_bytes"] >= rx0 + sum(len(m) - 32 for m in unseen),
               what="late genuine messages accepted")
    assert changed(before, drops(p)) == {"bad_data": 2}

    # An inner source B's allowed IPs on A do not hold.
    p.hb.run("ip", "addr", "add", "198.19.7.1/32", "dev", p.b.name)
    before = drops(p)
    res = ping(p.hb, p.ea.addr, count=3, check=False, extra=("-I", "198.19.7.1"))
    assert " 0 received" in res.stdout, res.stdout
    expect(before, {"bad_inner_source": 3})
    ping(p.ea, p.hb.addr, count=3)
    ping(p.hb, p.ea.addr, count=2)


def test_wrong_keys_never_complete_a_handshake(lab, request, tmp_path):
    p = pair(lab, request, tmp_path)
    connected(p.ea, p.hb.addr)
    before = drops(p)
    # C knows A's public key but A does not know C's; D has A's key wrong.
    strangers = []
    for n, (suffix, a_pub) in enumerate((("wgC", p.a_pub), ("wgD", genkey()[1]))):
        priv, pub = genkey()
        w = wireguard_go(lab, request, p.hb, suffix, tmp_path)
        w.set("private-key", key_file(tmp_path / f"{suffix}.key", priv),
              "listen-port", PORT + 1 + n, "peer", a_pub, "endpoint", f"{UL['a']}:{PORT}",
              "allowed-ips", f"198.19.{90 + n}.0/24", "persistent-keepalive", 1)
        w.ip("link", "set", w.name, "up")
        strangers.append((w, a_pub))
    wait_until(lambda: (drops(p)["bad_handshake"] - before["bad_handshake"] >= 1 and
                        drops(p)["bad_mac1"] - before["bad_mac1"] >= 1),
               timeout=20, what="initiations of C and D refused")
    got = changed(before, drops(p))
    assert set(got) == {"bad_handshake", "bad_mac1"}, got
    for w, a_pub in strangers:
        _, peers = w.dump()
        assert peers[a_pub]["latest_handshake"] == 0 and peers[a_pub]["rx_bytes"] == 0
    assert [x["public_key"] for x in wg_show(p)["peers"]] == [p.b_pub]
    ping(p.ea, p.hb.addr, count=3)


def blake2s(data, key=b"", size=32):
    return hashlib.blake2s(data, key=key, digest_size=size).digest()


def xchacha_open(key, nonce, sealed, aad):
    """libsodium's XChaCha20-Poly1305 (IETF) open: the plaintext or None."""
    so = ctypes.CDLL("libsodium.so.23")
    assert so.sodium_init() >= 0
    out = ctypes.create_string_buffer(len(sealed))
    outlen = ctypes.c_ulonglong()
    rc = so.crypto_aead_xchacha20poly1305_ietf_decrypt(
        out, ctypes.byref(outlen), None, sealed, ctypes.c_ulonglong(len(sealed)),
        aad, ctypes.c_ulonglong(len(aad)), nonce, key)
    return out.raw[:outlen.value] if rc == 0 else None


def test_initiation_flood_engages_cookies(lab, request, tmp_path):
    p = pair(lab, request, tmp_path)
    connected(p.ea, p.hb.addr)
    a_pub = base64.b64decode(p.a_pub)
    mac1_key = blake2s(b"mac1----" + a_pub)
    inits, mac1s = [], {}
    for i in range(3000):
        sender = (0x10000 + i).to_bytes(4, "little")
        body = bytes([INIT, 0, 0, 0]) + sender + os.urandom(108)
        mac1 = blake2s(body, key=mac1_key, size=16)
        inits.append(body + mac1 + bytes(16))
        mac1s[sender] = mac1
    before = drops(p)
    replies = udp_send(p.hb, UL["b"], UL["a"], 40000, PORT, inits, recv_timeout=1.0)
    cookies = [r for r in replies if msg_type(r) == COOKIE]
    assert cookies and len(cookies) == len(replies), [r[:1] for r in replies[:10]]
    # Each reply answers one of ours and opens with the key and the mac1
    # the protocol says: a real cookie, 16 bytes.
    cookie_key = blake2s(b"cookie--" + a_pub)
    for r in cookies[:20]:
        assert len(r) == 64 and r[1:4] == bytes(3)
        assert r[4:8] in mac1s
        cookie = xchacha_open(cookie_key, r[8:32], r[32:64], mac1s[r[4:8]])
        assert cookie is not None and len(cookie) == 16
    wait_until(lambda: drops(p)["under_load"] - before["under_load"] >= len(cookies),
               what="under_load counted")
    got = changed(before, drops(p))
    assert got["under_load"] >= len(cookies), got
    assert set(got) <= {"under_load", "bad_handshake"}, got
    assert sum(got.values()) <= len(inits)
    ping(p.ea, p.hb.addr, count=3)
    ping(p.hb, p.ea.addr, count=2)


# ------------------------------------------------------------ L2 inside WireGuard

VNI = 42
L2_MTU = 1370       # wg MTU 1420 less VXLAN's 50 bytes


def test_vxlan_via_wireguard_against_linux(lab, request, tmp_path):
    p = pair(lab, request, tmp_path)
    b, hb = p.b, p.hb
    # B: kernel vxlan over wgB, in a bridge with a veth to endpoint EB.
    vx, br, k = lab.name("vxB"), lab.name("brB"), lab.name("kB")
    eb = lab.netns("EB")
    hb.run("ip", "link", "add", vx, "type", "vxlan", "id", VNI, "remote", WG_NET["a"],
           "local", WG_NET["b"], "dstport", 4789)
    hb.run("ip", "link", "add", br, "type", "bridge")
    hb.run("ip", "link", "add", k + "h", "type", "veth", "peer", "name", k, "netns", eb.name)
    for dev in (vx, br, k + "h"):             # only the test's frames in the overlay
        hb.run("sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1")
    for dev in (vx, k + "h"):
        hb.run("ip", "link", "set", dev, "mtu", L2_MTU, "master", br)
    for dev in (vx, br, k + "h"):
        hb.run("ip", "link", "set", dev, "up")
    eb.run("sysctl", "-qw", f"net.ipv6.conf.{k}.disable_ipv6=1")
    eb.run("ip", "link", "set", k, "mtu", L2_MTU)
    eb.run("ip", "addr", "add", "198.19.5.2/24", "dev", k)
    eb.run("ip", "link", "set", k, "up")
    eb.addr = "198.19.5.2"
    # A: a VXLAN port through the wireguard port, and a tap endpoint.
    vxa = lab.name("vxA")
    p.d.ctl("port", "add", vxa, "type", "vxlan", "remote", WG_NET["b"], "local", WG_NET["a"],
            "vni", VNI, "via", p.wg)
    ea2 = lab.endpoint(p.d, lab.name("tL"), "EL", "198.19.5.1/24", mtu=L2_MTU)

    cap = Capture(lab, hb, b.name, tmp_path / "vx.pcap", "udp port 4789")
    connected(ea2, eb.addr)                     # vswitchd's side first
    ping(eb, ea2.addr, count=3)
    ping(ea2, eb.addr, count=3)
    cap.stop()
    assert iperf3(lab, ea2, eb, eb.addr, seconds=2)["end"]["sum_received"]["bytes"] > 1_000_000
    assert iperf3(lab, eb, ea2, ea2.addr, seconds=2)["end"]["sum_received"]["bytes"] > 1_000_000
    fdb = hb.run("bridge", "fdb", "show", "dev", vx).stdout
    assert f"{ea2.mac} dst {WG_NET['a']}" in fdb, fdb

    # tshark on wgB (raw IP: no link layer) decodes clean VXLAN.
    out = sh("tshark", "-r", tmp_path / "vx.pcap", "-T", "fields", "-e", "frame.protocols",
             "-e", "_ws.expert", "-e", "_ws.malformed", "-e", "ip.src", "-e", "vxlan.vni",
             "-e", "vxlan.flags", "-e", "eth.src", timeout=120).stdout
    rows = [line.split("\t") for line in out.splitlines() if line.strip()]
    assert len(rows) >= 12, out
    # The pings and their ARP, and what else the hosts' stacks say on the
    # overlay (an IGMP query of B's bridge): all VXLAN, all clean.
    for row in rows:
        assert row[0].startswith("raw:ip:udp:vxlan:eth:ethertype:"), row
        assert row[1] == "" and row[2] == "", row
        outer = row[3].split(",")[0]
        assert outer in (WG_NET["a"], WG_NET["b"]) and row[4] == str(VNI), row
        assert row[5] == "0x0800", row
    assert {r[3].split(",")[0] for r in rows} == {WG_NET["a"], WG_NET["b"]}
    assert sum(r[0].endswith(":ip:icmp:data") for r in rows) >= 12, out
    assert any(ea2.mac in r[6] for r in rows)
    assert changed({}, drops(p)) == {}
