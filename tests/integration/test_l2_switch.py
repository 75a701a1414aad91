"""The L2 switch on tap ports: forwarding, learning, ageing, flooding.

    ns A (198.19.0.1)          ns S: vswitchd           ns B (198.19.0.2)
      tapA  <---- fd ---->  [ tapA  switch  tapB ]  <---- fd ---->  tapB

The daemon creates the taps in S; each is then moved into its endpoint
namespace, where it is addressed and brought up.  The daemon's fd keeps
working across the move.
"""

import json
import time

from vswlab import (eth_frame, fdb_entries, ping, port_stats, raw_send, sh,
                    wait_until)


def switch_with(lab, n=2):
    s = lab.netns("S")
    d = lab.daemon(s)
    eps = [lab.endpoint(d, lab.name(f"t{c}"), c, f"198.19.0.{i + 1}/24")
           for i, c in enumerate("ABCDEFGH"[:n])]
    return d, eps


def test_ping_both_ways(lab):
    d, (a, b) = switch_with(lab)
    ping(a, b.addr)
    ping(b, a.addr)
    assert port_stats(d, a.port)["rx_packets"] >= 3
    assert port_stats(d, b.port)["tx_packets"] >= 3


def test_iperf3_tcp(lab):
    d, (a, b) = switch_with(lab)
    server = lab.popen(b, "iperf3", "-s", "-1", "-B", b.addr)
    wait_until(lambda: "LISTEN" in b.run("ss", "-ltn").stdout, what="iperf3 server")
    res = a.run("iperf3", "-c", b.addr, "-t", "2", "--json", timeout=60)
    result = json.loads(res.stdout)
    received = result["end"]["sum_received"]["bytes"]
    assert received > 1_000_000, result["end"]
    server.wait(timeout=10)
    assert port_stats(d, a.port)["rx_bytes"] >= received


def test_fdb_learns_each_endpoint_on_its_port(lab):
    d, (a, b) = switch_with(lab)
    ping(a, b.addr, count=1)
    entries = {e["mac"]: e for e in fdb_entries(d)}
    assert entries[a.mac]["port"] == a.port
    assert entries[b.mac]["port"] == b.port
    assert entries[a.mac]["vlan"] == 0
    assert [e["mac"] for e in fdb_entries(d, "dev", b.port)] == [b.mac]


def test_fdb_entries_age_out(lab):
    d, (a, b) = switch_with(lab)
    d.ctl("fdb", "set", "ageing", "2")
    ping(a, b.addr, count=1)
    assert {a.mac, b.mac} <= {e["mac"] for e in fdb_entries(d)}
    wait_until(lambda: not fdb_entries(d), timeout=8, what="entries to age out")


def test_unknown_unicast_floods_known_unicast_does_not(lab):
    d, (a, b, c) = switch_with(lab, 3)
    ping(a, b.addr, count=1)            # learns A and B
    n = 50
    before = {e.port: port_stats(d, e.port)["tx_packets"] for e in (b, c)}
    raw_send(a, a.port, [eth_frame(b.mac, a.mac)], count=n)
    wait_until(lambda: port_stats(d, b.port)["tx_packets"] >= before[b.port] + n,
               what="known unicast delivered to B")
    assert port_stats(d, c.port)["tx_packets"] == before[c.port]

    unknown = "02:56:53:00:00:99"
    raw_send(a, a.port, [eth_frame(unknown, a.mac)], count=n)
    wait_until(lambda: port_stats(d, c.port)["tx_packets"] >= before[c.port] + n,
               what="unknown unicast flooded to C")
    assert port_stats(d, b.port)["tx_packets"] >= before[b.port] + 2 * n
    assert port_stats(d, a.port)["tx_packets"] < n   # never back out of ingress


def test_broadcast_floods_to_all_but_ingress(lab):
    d, (a, b, c) = switch_with(lab, 3)
    before = {e.port: port_stats(d, e.port)["tx_packets"] for e in (a, b, c)}
    raw_send(a, a.port, [eth_frame("ff:ff:ff:ff:ff:ff", a.mac)], count=20)
    for e in (b, c):
        wait_until(lambda e=e: port_stats(d, e.port)["tx_packets"] >= before[e.port] + 20,
                   what=f"broadcast at {e.port}")
    assert port_stats(d, a.port)["tx_packets"] == before[a.port]


def test_frame_to_mac_on_ingress_port_is_dropped(lab):
    d, (a, b) = switch_with(lab)
    behind_a = "02:56:53:00:00:0a"      # a host "behind" A, learned on A
    raw_send(a, a.port, [eth_frame("ff:ff:ff:ff:ff:ff", behind_a)])
    wait_until(lambda: any(e["mac"] == behind_a for e in fdb_entries(d)), what="learning")
    before = port_stats(d, b.port)["tx_packets"]
    raw_send(a, a.port, [eth_frame(behind_a, a.mac)], count=10)
    wait_until(lambda: port_stats(d, a.port)["drops"]["same_port"] >= 10, what="same_port drops")
    assert port_stats(d, b.port)["tx_packets"] == before


def test_bad_source_mac_is_dropped_and_not_learned(lab):
    d, (a, b) = switch_with(lab)
    frames = [eth_frame("ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01"),
              eth_frame("ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00")]
    raw_send(a, a.port, frames, count=5)
    wait_until(lambda: port_stats(d, a.port)["drops"]["bad_src_mac"] >= 10, what="drops")
    assert all(e["mac"] not in ("01:00:5e:00:00:01", "00:00:00:00:00:00")
               for e in fdb_entries(d))


def test_mac_moves_to_the_port_it_is_seen_on(lab):
    d, (a, b) = switch_with(lab)
    roaming = "02:56:53:00:00:0b"
    raw_send(a, a.port, [eth_frame("ff:ff:ff:ff:ff:ff", roaming)])
    wait_until(lambda: [e["port"] for e in fdb_entries(d) if e["mac"] == roaming] == [a.port],
               what="learned on A")
    raw_send(b, b.port, [eth_frame("ff:ff:ff:ff:ff:ff", roaming)])
    wait_until(lambda: [e["port"] for e in fdb_entries(d) if e["mac"] == roaming] == [b.port],
               what="moved to B")


def test_vlan_tagged_frames_learned_per_vlan(lab):
    d, (a, b) = switch_with(lab)
    mac = "02:56:53:00:00:0c"
    raw_send(a, a.port, [eth_frame("ff:ff:ff:ff:ff:ff", mac, vlan=10)])
    raw_send(b, b.port, [eth_frame("ff:ff:ff:ff:ff:ff", mac, vlan=20)])
    want = {(10, a.port), (20, b.port)}
    wait_until(lambda: {(e["vlan"], e["port"]) for e in fdb_entries(d)
                        if e["mac"] == mac} == want, what="per-VLAN entries")


def test_static_entry_steers_and_never_ages(lab):
    d, (a, b, c) = switch_with(lab, 3)
    static = "02:56:53:00:00:0d"
    d.ctl("fdb", "set", "ageing", "1")
    d.ctl("fdb", "add", static, "dev", c.port)
    before = {e.port: port_stats(d, e.port)["tx_packets"] for e in (b, c)}
    raw_send(a, a.port, [eth_frame(static, a.mac)], count=10)
    wait_until(lambda: port_stats(d, c.port)["tx_packets"] >= before[c.port] + 10,
               what="delivery to the static port")
    assert port_stats(d, b.port)["tx_packets"] == before[b.port]
    time.sleep(2.5)
    [entry] = [e for e in fdb_entries(d) if e["mac"] == static]
    assert entry["age"] == "static" and entry["port"] == c.port
    d.ctl("fdb", "del", static)
    assert all(e["mac"] != static for e in fdb_entries(d))


def test_full_table_replaces_oldest_and_counts(lab):
    d, (a, b) = switch_with(lab)
    d.ctl("fdb", "set", "max", "4")
    macs = [f"02:56:53:00:01:{i:02x}" for i in range(10)]
    for m in macs:
        raw_send(a, a.port, [eth_frame("ff:ff:ff:ff:ff:ff", m)])
    wait_until(lambda: d.ctl("show", json_out=True)["fdb"]["evictions"] >= 6,
               what="evictions counted")
    entries = [e["mac"] for e in fdb_entries(d)]
    assert len(entries) == 4
    assert macs[-1] in entries and macs[0] not in entries


def test_fdb_flush_by_port(lab):
    d, (a, b) = switch_with(lab)
    ping(a, b.addr, count=1)
    d.ctl("fdb", "flush", "dev", a.port)
    assert [e["port"] for e in fdb_entries(d)] == [b.port]
    d.ctl("fdb", "flush")
    assert fdb_entries(d) == []


def test_port_del_removes_the_tap(lab):
    d, (a, b) = switch_with(lab)
    d.ctl("port", "del", a.port)
    assert a.run("ip", "link", "show", a.port, check=False).returncode != 0
    assert [p["name"] for p in d.ctl("port", "show", json_out=True)["ports"]] == [b.port]


def test_attaches_to_an_existing_persistent_tap(lab):
    s = lab.netns("S")
    tap = lab.name("pt")
    s.run("ip", "tuntap", "add", "dev", tap, "mode", "tap")
    d = lab.daemon(s)
    d.ctl("port", "add", tap, "type", "tap")
    d.ctl("port", "del", tap)
    s.run("ip", "link", "show", tap)     # persistent: still there, as we found it
    assert d.stop() == 0
    s.run("ip", "link", "show", tap)


def test_sigterm_removes_created_ports_and_socket(lab):
    d, (a, b) = switch_with(lab)
    assert d.stop() == 0
    assert not d.sock.exists()
    for e in (a, b):
        assert e.run("ip", "link", "show", e.port, check=False).returncode != 0


def test_config_file_runs_commands_at_start(lab, tmp_path):
    s = lab.netns("S")
    tap = lab.name("cf")
    conf = tmp_path / "vswitchd.conf"
    conf.write_text(f"# lab switch\nport add {tap} type tap mtu 1400\n\nfdb set ageing 42\n")
    d = lab.daemon(s, "--config", conf)
    show = d.ctl("show", json_out=True)
    [port] = show["ports"]
    assert (port["name"], port["type"], port["mtu"]) == (tap, "tap", 1400)
    assert show["fdb"]["ageing"] == 42
    assert "mtu 1400" in s.run("ip", "link", "show", tap).stdout


def test_bad_config_file_is_refused(lab, tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("fdb set ageing soon\n")
    res = sh(lab.vswitchd, "--foreground", "--socket", tmp_path / "sock",
             "--config", conf, check=False, timeout=10)
    assert res.returncode != 0
    assert f"{conf}:1" in res.stderr and "soon" in res.stderr


def test_tap_deleted_under_the_daemon_is_dropped_from_the_loop(lab):
    d, (a, b, c) = switch_with(lab, 3)
    a.run("ip", "link", "del", a.port)
    wait_until(lambda: "its device is gone" in d.log_text(), what="the warning")
    ping(b, c.addr, count=3)
    time.sleep(1.5)             # a tick: the dead port stays unwatched
    assert d.log_text().count(f"port {a.port}: its device is gone") == 1
    assert "every read fails" not in d.log_text()
    d.ctl("port", "del", a.port)
    assert [p["name"] for p in d.ctl("port", "show", json_out=True)["ports"]] == [b.port, c.port]
