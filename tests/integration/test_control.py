"""The control socket and vswctl: bad input, garbage, slow and silent clients.

    ns A --- tapA [ vswitchd in ns S ] tapB --- ns B
                        |
                  control socket  <-- vswctl, garbage writers, stalled clients
"""

import os
import socket
import struct
import time

import pytest

from vswlab import (c_define, connect_unix, eth_frame, fdb_entries, ping, raw_send, sh,
                    two_endpoints)

MAGIC = 0x56535731


def frame(payload, magic=MAGIC, length=None):
    n = len(payload) if length is None else length
    return struct.pack("!II", magic, n) + payload


BAD_COMMANDS = [
    (["port", "add"], "usage"),
    (["port", "add", "x0", "type", "warp"], "warp"),
    (["port", "add", "x0", "type", "tap", "mtu", "huge"], "huge"),
    (["port", "add", "x0", "type", "tap", "mtu", "20"], "20"),
    (["port", "add", "name-far-too-long-for-linux", "type", "tap"], "name-far-too-long"),
    (["port", "del", "nosuch0"], "nosuch0"),
    (["fdb", "add", "zz:00", "dev", "PORTA"], "zz:00"),
    (["fdb", "add", "02:00:00:00:00:01", "dev", "nosuch0"], "nosuch0"),
    (["fdb", "add", "02:00:00:00:00:01", "dev", "PORTA", "vlan", "4096"], "4096"),
    (["fdb", "add", "01:00:5e:00:00:01", "dev", "PORTA"], "01:00:5e:00:00:01"),
    (["fdb", "del", "02:00:00:00:00:77"], "02:00:00:00:00:77"),
    (["fdb", "set", "ageing", "-1"], "-1"),
    (["fdb", "set", "max", "0"], "0"),
    (["fdb", "show", "dev", "nosuch0"], "nosuch0"),
    (["stats", "nosuch0"], "nosuch0"),
    (["frobnicate"], "frobnicate"),
    (["port", "explode"], "explode"),
    (["offload", "set", "warp-drive", "on"], "warp-drive"),
    (["offload", "set", "tap-tso", "maybe"], "maybe"),
    (["offload", "set", "tap-tso"], "usage"),
    (["offload", "set", "tap-tso", "off", "udp-gro"], "udp-gro"),
    (["busy-poll", "set", "1001"], "1001"),
    (["busy-poll", "set", "-5"], "-5"),
    (["busy-poll", "set", "fast"], "fast"),
    (["busy-poll", "set"], "usage"),
]


@pytest.mark.parametrize("args,quoted", BAD_COMMANDS,
                         ids=[" ".join(a) for a, _ in BAD_COMMANDS])
def test_bad_input_fails_with_a_message(lab, args, quoted):
    s = lab.netns("S")
    d = lab.daemon(s)
    porta = lab.name("tA")
    d.ctl("port", "add", porta, "type", "tap")
    args = [porta if a == "PORTA" else a for a in args]
    res = d.ctl(*args, check=False)
    assert res.returncode != 0
    assert res.stderr.startswith("vswctl: ") and quoted in res.stderr, res.stderr
    assert res.stdout == ""
    assert d.alive()
    assert [p["name"] for p in d.ctl("port", "show", json_out=True)["ports"]] == [porta]


def test_port_already_exists(lab):
    s = lab.netns("S")
    d = lab.daemon(s)
    tap = lab.name("tA")
    d.ctl("port", "add", tap, "type", "tap")
    res = d.ctl("port", "add", tap, "type", "tap", check=False)
    assert res.returncode != 0 and "already exists" in res.stderr and tap in res.stderr


def test_daemon_not_running(lab, tmp_path):
    sock = tmp_path / "nobody.sock"
    res = sh(lab.vswctl, "--socket", sock, "show", check=False)
    assert res.returncode != 0
    assert "vswctl: " in res.stderr and str(sock) in res.stderr


def test_socket_from_environment(lab):
    s = lab.netns("S")
    d = lab.daemon(s)
    res = s.run(lab.vswctl, "show", env=dict(os.environ, VSWCTL_SOCKET=str(d.sock)))
    assert res.returncode == 0


def test_second_daemon_on_same_socket_is_refused(lab):
    s = lab.netns("S")
    d = lab.daemon(s)
    res = s.run(lab.vswitchd, "--foreground", "--socket", d.sock, check=False, timeout=10)
    assert res.returncode != 0
    assert d.alive() and d.ctl("show").returncode == 0


GARBAGE = [
    os.urandom(100_000),
    b"\x00\x01",                                   # truncated header
    frame(b"", length=0xFFFFFFFF),                  # absurd length
    frame(b"x" * 10, length=1 << 20),               # over the request limit
    frame(b'{"argv": ["show"]}', magic=0xDEADBEEF),  # wrong magic / version
    frame(b"{not json"),
    frame(b'{"argv": "show"}'),
    frame(b'{"argv": [1, 2]}'),
    frame(b'{"argv": []}'),
    frame(b"[]"),
    frame(b'{"argv": ["port", "add", "\\u0000", "type", "tap"]}'),
    frame(b'{"argv": ["show"]'[:9], length=17),    # half a message, then close
]


def test_daemon_survives_garbage_on_control_socket(lab):
    d, a, b = two_endpoints(lab)
    ping(a, b.addr, count=1)
    for g in GARBAGE:
        c = connect_unix(d.sock)
        try:
            c.sendall(g)
            c.shutdown(socket.SHUT_WR)
            c.settimeout(5)
            while c.recv(65536):
                pass
        except OSError:
            pass        # the daemon may close on us; that is allowed
        c.close()
        assert d.alive(), d.log_text()
    assert d.ctl("show").returncode == 0
    ping(a, b.addr, count=2)


def test_valid_raw_request_gets_a_framed_reply(lab):
    s = lab.netns("S")
    d = lab.daemon(s)
    c = connect_unix(d.sock)
    c.sendall(frame(b'{"argv": ["show"], "json": true}'))
    hdr = c.recv(8, socket.MSG_WAITALL)
    magic, n = struct.unpack("!II", hdr)
    assert magic == MAGIC and 0 < n < 1 << 24
    body = c.recv(n, socket.MSG_WAITALL)
    assert b'"ok": true' in body.replace(b'"ok":true', b'"ok": true')


def test_silent_and_slow_clients_do_not_stall_forwarding(lab):
    d, a, b = two_endpoints(lab)
    # Fill the table so replies are large.
    raw_send(a, a.port, [eth_frame("ff:ff:ff:ff:ff:ff", f"02:56:53:00:02:{i:02x}")
                         for i in range(200)])
    silent = [connect_unix(d.sock) for _ in range(8)]
    for c in silent[:4]:
        c.sendall(struct.pack("!I", MAGIC))      # half a header, then nothing
    # Readers that ask for a lot and never read the answer.
    hogs = []
    for _ in range(4):
        c = connect_unix(d.sock)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        for _ in range(50):
            c.sendall(frame(b'{"argv": ["fdb", "show"], "json": true}'))
        hogs.append(c)
    t0 = time.time()
    ping(a, b.addr, count=5)
    assert d.ctl("show").returncode == 0
    assert len(fdb_entries(d)) >= 200
    assert time.time() - t0 < 20
    for c in silent + hogs:
        c.close()
    assert d.alive()


OFFLOAD_NAMES = {"csum", "tso4", "tso6", "uso"}
ARP_LEN, PING_LEN = 42, 98      # the frames of one ping: ARP, ICMP echo (56 bytes)


def check_port_counters(p):
    """One port of `stats` after one ping across the switch: the ARP and
    the echo each way, and nothing lost."""
    assert p["rx_packets"] >= 2 and p["tx_packets"] >= 2, p
    assert p["rx_bytes"] >= ARP_LEN + PING_LEN, p
    assert p["tx_bytes"] >= ARP_LEN + PING_LEN, p
    assert (p["rx_errors"], p["tx_errors"]) == (0, 0), p
    assert "same_port" in p["drops"] and "link_down" in p["drops"], p
    assert not any(p["drops"].values()), p["drops"]


def test_json_output_is_one_document(lab):
    """Each --json answer is one JSON document (ctl() loads the whole
    stdout) and says what the switch holds after one ping from A to B."""
    d, a, b = two_endpoints(lab)
    ping(a, b.addr, count=1)
    fdb_max = c_define("datapath/mac-table.h", "MAC_MAX_DEFAULT")
    fdb_ageing = c_define("datapath/mac-table.h", "MAC_AGEING_DEFAULT")

    # show: both taps, in the order they were added, moved out of the
    # daemon's namespace; the fdb summary with the two learned MACs.
    show = d.ctl("show", json_out=True)
    assert set(show) == {"ports", "fdb"}, show
    assert [p["name"] for p in show["ports"]] == [a.port, b.port], show
    assert [p["index"] for p in show["ports"]] == [1, 2], show
    for p in show["ports"]:
        assert (p["type"], p["layer"], p["state"], p["mtu"]) == ("tap", "l2", "netns", 1500), p
        assert p["split_horizon"] is False and p["addresses"] == [], p
        assert set(p["offloads"]) <= OFFLOAD_NAMES, p
        assert "tunnel" not in p, p
    fdb = show["fdb"]
    assert (fdb["entries"], fdb["static"], fdb["max"], fdb["ageing"]) == \
        (2, 0, fdb_max, fdb_ageing), fdb
    assert fdb["learned"] >= 2, fdb
    assert (fdb["moves"], fdb["evictions"], fdb["expired"], fdb["learn_failed"]) == \
        (0, 0, 0, 0), fdb

    # port show: what show lists, plus the packet counters.
    ports = d.ctl("port", "show", json_out=True)
    assert set(ports) == {"ports"}, ports
    assert [p["name"] for p in ports["ports"]] == [a.port, b.port], ports
    for p, q in zip(ports["ports"], show["ports"]):
        assert {k: v for k, v in p.items() if k not in ("rx_packets", "tx_packets")} == q
        assert p["rx_packets"] >= 2 and p["tx_packets"] >= 2, p

    # fdb show: each endpoint's MAC, learned on its own port, untagged.
    entries = d.ctl("fdb", "show", json_out=True)["fdb"]
    assert {e["mac"]: e["port"] for e in entries} == {a.mac: a.port, b.mac: b.port}, entries
    for e in entries:
        assert e["vlan"] == 0 and e["static"] is False, e
        assert isinstance(e["age"], int) and 0 <= e["age"] < fdb_ageing, e

    # stats: counters of both ports, the switch and the fdb; no endpoints
    # (no tunnel port).
    stats = d.ctl("stats", json_out=True)
    assert set(stats) == {"ports", "endpoints", "switch", "fdb"}, stats
    assert [p["name"] for p in stats["ports"]] == [a.port, b.port], stats
    for p, q in zip(stats["ports"], ports["ports"]):
        check_port_counters(p)
        # Read after port show: the same counters, never fewer.
        assert p["rx_packets"] >= q["rx_packets"] and p["tx_packets"] >= q["tx_packets"]
    assert stats["endpoints"] == [], stats
    # The ARP request is flooded; its reply and the echo and its reply are
    # unicast to a learned MAC.
    assert stats["switch"]["unicast"] >= 3 and stats["switch"]["flooded"] >= 1, stats
    assert stats["fdb"] == {**show["fdb"], "learned": stats["fdb"]["learned"]}, stats
    assert stats["fdb"]["learned"] >= fdb["learned"], stats

    # stats PORT: that port only, the switch-wide objects as before.
    one = d.ctl("stats", a.port, json_out=True)
    assert set(one) == {"ports", "endpoints", "switch", "fdb"}, one
    assert [p["name"] for p in one["ports"]] == [a.port], one
    check_port_counters(one["ports"][0])
    assert one["ports"][0]["rx_packets"] >= stats["ports"][0]["rx_packets"], one
    assert one["endpoints"] == [], one
    assert one["switch"]["unicast"] >= stats["switch"]["unicast"], one


def test_human_output_lists_ports_and_entries(lab):
    d, a, b = two_endpoints(lab)
    ping(a, b.addr, count=1)
    show = d.ctl("show").stdout
    assert a.port in show and b.port in show and "tap" in show
    fdb = d.ctl("fdb", "show").stdout
    assert a.mac in fdb and b.mac in fdb
    stats = d.ctl("stats", a.port).stdout
    assert "same_port" in stats and "rx" in stats


def test_bare_object_and_prefixes(lab):
    d, a, b = two_endpoints(lab)
    assert d.ctl("port").stdout == d.ctl("port", "show").stdout
    assert d.ctl("po", "sh").stdout == d.ctl("port", "show").stdout
    assert d.ctl("help").returncode == 0 and "fdb add" in d.ctl("help").stdout


def cpu_seconds(pid):
    """utime + stime of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_busy_poll_setting(lab):
    d, a, b = two_endpoints(lab)
    assert d.ctl("busy-poll", json_out=True) == {"busy_poll_us": 50}
    assert d.ctl("busy-poll").stdout == "busy-poll 50 us\n"
    d.ctl("busy-poll", "set", "0")
    assert d.ctl("busy-poll", "show").stdout == "busy-poll off\n"
    ping(a, "198.19.0.2")
    d.ctl("busy-poll", "set", "1000")
    res = d.ctl("busy-poll", "set", "1000000", check=False)
    assert res.returncode != 0 and "1000000" in res.stderr
    assert d.ctl("busy-poll", json_out=True) == {"busy_poll_us": 1000}
    # Forwarding works while spinning, and the spin ends with the traffic:
    # an idle daemon sleeps.
    ping(a, "198.19.0.2", count=20, extra=("-i", "0.01"))
    time.sleep(0.5)
    t0 = cpu_seconds(d.proc.pid)
    time.sleep(2)
    assert cpu_seconds(d.proc.pid) - t0 < 0.5
    assert d.alive()


def test_offload_switches(lab):
    d = lab.daemon(lab.netns("S"))
    names = ["tap-csum", "tap-tso", "tap-uso", "tcp-gro", "udp-gso", "udp-gro"]
    assert d.ctl("offload", json_out=True) == {"offloads": {n: True for n in names}}
    d.ctl("offload", "set", "tap-tso", "off", "udp-gro", "off")
    got = d.ctl("offload", "show", json_out=True)["offloads"]
    assert got == {n: n not in ("tap-tso", "udp-gro") for n in names}
    text = d.ctl("offload").stdout.splitlines()
    assert "tap-tso    off" in text and "tap-csum   on" in text
    # A bad pair in a list applies none of it.
    res = d.ctl("offload", "set", "tap-csum", "off", "bogus", "on", check=False)
    assert res.returncode != 0 and "bogus" in res.stderr
    assert d.ctl("offload", json_out=True)["offloads"]["tap-csum"] is True
    d.ctl("offload", "set", "tap-tso", "on", "udp-gro", "on")
    assert d.ctl("offload", json_out=True) == {"offloads": {n: True for n in names}}
    assert d.alive()
