"""Soak: a minute of churn on switches and a router that forward all the
while, under the sanitizer build.

  ns A                        ns S1: D1 --config F --autosave
  tA  198.19.0.1/24 --fd--  [ tA                               ]
  tnA 198.19.1.1/24 --fd--  [ tnA 198.19.1.254/24  (router)    ]
      default via .254      [ tB                               ] --fd--  tB 198.19.0.2/24  (ns B)
                            [ tnR 198.19.2.254/24  (router)    ] --fd--  tnR 198.19.2.1/24  (ns R)
                            [ churned: taps x0-x5, tunnels     ]             lo 198.19.50.1/32
                            [ v0-v3, tuns n0-n1, routes, ...   ]             default via .254
                            [ vx  vxlan vni 42                 ]
                                 | u1 198.18.0.1/24
                                 | veth, MTU 1600
                                 | u2 198.18.0.2/24
                            [ vx  vxlan vni 42                 ]
                            [ tC                               ] --fd--  tC 198.19.0.3/24  (ns C)
                              ns S2: D2

A has a tap of D1's switch and a tun of D1's router; B a tap; R a tun; C a
tap of D2, whose switch D1's joins over VXLAN.  S1 and S2 run without IPv6
and the kernel there has no overlay address, so a port the churn leaves in
S1 receives nothing (checked before each is deleted): every frame the
switches and the router counted came in on a port that is still there at
the end, and their counters must add up exactly.

Traffic flows through the whole churn: pings A->B, A->C (tunnel), A->R
(routed), A->the router's own address, and A->two prefixes whose routes
come and go (R answers for one of them); iperf3 UDP A->C and B->A.  The
churn, from a fixed seed, first each kind once and then at random: taps,
tunnels (to D2 on a VNI it lacks, to ports where nothing listens, to nobody)
and tuns added and deleted; the FDB flushed; static entries, routes and
router settings changed; captures to files started and stopped (some end
by themselves: max-size, their port deleted); a streaming capture whose
vswctl is killed; control clients that vanish (before a header, mid-frame,
after a request) or idle; "save -" compared with the autosaved file; SIGHUP
reloads of that file as saved, with a port more or less, unparsable and
failing; frames the switch and the router must drop under a known reason.

At the end: forwarding works; the counters add up, each daemon's
(check_accounting):

    switch     sum over L2 ports of rx_packets (less what TCP GRO merged)
                 = unicast + flooded + the switch's drops on them
    router     sum over L3 ports of rx_packets
                 = forwarded + local + the router's drops on them
    endpoints  datagrams read = frames the tunnel ports received + drops

and what iperf3 lost is what a kernel queue or a port counted; the injected
frames are counted under their reasons; the file is what "save -" prints;
every capture file is whole; and both daemons stop on SIGTERM with status 0
and no sanitizer or leak report.
"""

import json
import os
import random
import re
import signal
import struct
import subprocess
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from vswlab import (SANITIZER_ENV, Lab, connect_unix, eth_frame, ping, raw_send,
                    wait_until)

CHURN_SECONDS = 50
SEED = 20261202
MAGIC = 0x56535731              # CTL_MAGIC, vswitchd/ctl-proto.h
UNDERLAY_MTU = 1600             # a 1500-byte frame and VXLAN's 50 bytes
CAPTURE_MAX_SIZE = 2 << 20      # 10 Mbit/s on vx fills it in about 2 s
LIVE_CAPTURES = 4               # of the daemon's 8: room for the stream

# What the switch does with a frame an L2 port received (switch.c): sends
# it to one port (unicast), floods it, or drops it, counted on the ingress
# port under one of these.
L2_SWITCH_DROPS = ("runt", "bad_src_mac", "same_port", "split_horizon")
# What the router does with a packet an L3 port received (l3-forward.c):
# forwards it, takes it (local: to one of its addresses), or drops it,
# counted on the ingress port under one of these.
L3_ROUTER_DROPS = ("truncated", "bad_length", "bad_checksum", "bad_address",
                   "multicast", "ttl_exceeded", "no_route", "reject",
                   "bad_version")
# Reasons a port counts both for frames it received and for frames it was
# to send (port-tap.c, port-send.c), which the counters cannot tell apart;
# the router also counts too_big on the egress port.  The accounting is
# exact for a port that receives only while they stay 0 on it: they do
# with the soak's traffic (frames of at most 1500 bytes, no super-frames).
# Not summed, and harmless: no_buffer (a frame the pool had no buffer for
# was never counted received; an ICMP error that could not be built leaves
# its packet counted under its own reason) and local (the router counts
# those packets as local as well).
RX_TX_DROPS = ("too_big", "bad_offload")
# What a port counts when it could not send (port-tap.c, tnl-tx.c).
TX_DROPS = ("too_big", "tx_full", "tx_error", "link_down", "no_buffer", "bad_offload")


@pytest.fixture(params=["asan"])
def lab(request, tmp_path):
    """The sanitizer build only: a soak is for what ASan, UBSan and LSan
    find, and the release build forwards in every other test."""
    l = Lab(request.param, tmp_path)
    request.addfinalizer(l.cleanup)
    return l


def no_ipv6(ns):
    """No RS, DAD or MLD from the devices the daemons create there."""
    for conf in ("all", "default"):
        ns.run("sysctl", "-qw", f"net.ipv6.conf.{conf}.disable_ipv6=1")


def tun_into(d, port, ep, addr, router):
    """Tun PORT of d, with the router's address ROUTER, moved into the
    existing namespace EP (lab.tun_endpoint makes a new one), addressed
    ADDR, default route via the router."""
    d.ctl("port", "add", port, "type", "tun", "address", router)
    d.ns.run("ip", "link", "set", port, "netns", ep.name)
    ep.run("sysctl", "-qw", f"net.ipv6.conf.{port}.disable_ipv6=1")
    ep.run("ip", "addr", "add", addr, "dev", port)
    ep.run("ip", "link", "set", port, "up")
    ep.run("ip", "route", "add", "default", "via", router.split("/")[0])


def topology(lab):
    """The lab of the picture, every path pinged once: a namespace of it all."""
    t = SimpleNamespace()
    n = lab.name
    t.s1, t.s2 = lab.netns("S1"), lab.netns("S2")
    no_ipv6(t.s1)
    no_ipv6(t.s2)
    u1, u2 = n("u1"), n("u2")
    t.s1.run("ip", "link", "add", u1, "type", "veth", "peer", "name", u2,
             "netns", t.s2.name)
    for ns, dev, addr in ((t.s1, u1, "198.18.0.1/24"), (t.s2, u2, "198.18.0.2/24")):
        ns.run("ip", "link", "set", dev, "mtu", UNDERLAY_MTU)
        ns.run("ip", "addr", "add", addr, "dev", dev)
        ns.run("ip", "link", "set", dev, "up")

    t.conf = lab.rundir() / "vswitchd.conf"    # where the daemon's user writes
    t.d1 = lab.daemon(t.s1, "--config", t.conf, "--autosave")
    t.d2 = lab.daemon(t.s2)
    t.vx = n("vx")
    t.d1.ctl("port", "add", t.vx, "type", "vxlan", "remote", "198.18.0.2",
             "local", "198.18.0.1", "vni", "42")
    t.d2.ctl("port", "add", t.vx, "type", "vxlan", "remote", "198.18.0.1",
             "local", "198.18.0.2", "vni", "42")
    t.a = lab.endpoint(t.d1, n("tA"), "A", "198.19.0.1/24")
    t.b = lab.endpoint(t.d1, n("tB"), "B", "198.19.0.2/24")
    t.c = lab.endpoint(t.d2, n("tC"), "C", "198.19.0.3/24")
    t.tna = n("tnA")
    tun_into(t.d1, t.tna, t.a, "198.19.1.1/24", "198.19.1.254/24")
    t.r = lab.tun_endpoint(t.d1, n("tnR"), "R", "198.19.2.1/24", "198.19.2.254/24")
    t.tnr = t.r.port
    # R answers for the prefix whose route the churn adds and deletes.
    t.r.run("ip", "addr", "add", "198.19.50.1/32", "dev", "lo")
    t.permanent = {t.a.port, t.b.port, t.vx, t.tna, t.tnr}
    for dst in (t.b.addr, t.c.addr, t.r.addr):
        wait_until(lambda: ping(t.a, dst, count=1, check=False).returncode == 0,
                   timeout=30, interval=0.2, what=f"ping A -> {dst}")
    return t


# -- traffic -----------------------------------------------------------------

class Traffic:
    """Flows for the whole churn, each ending by itself."""

    PINGS = [  # (name, destination, interval)
        ("A->B", "198.19.0.2", 0.02),
        ("A->C", "198.19.0.3", 0.02),
        ("A->R", "198.19.2.1", 0.02),
        ("A->router", "198.19.1.254", 0.1),
        ("A->churned route", "198.19.50.1", 0.1),
        ("A->churned reject", "198.19.51.1", 0.1),
    ]

    def __init__(self, lab, t, seconds):
        self.lab, self.t = lab, t
        self.seconds = seconds
        self.procs = {}

    def iperf_server(self, ns, addr):
        self.lab.popen(ns, "iperf3", "-s", "-1", "-B", addr,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: f"{addr}:5201" in ns.run("ss", "-ltnH").stdout,
                   timeout=20, what=f"iperf3 server on {addr}")

    def start(self):
        t, out = self.t, subprocess.PIPE
        self.iperf_server(t.c, t.c.addr)
        self.iperf_server(t.a, t.a.addr)
        # -c, not -w: given a deadline, ping stops at the first ICMP error.
        for name, dst, interval in self.PINGS:
            self.procs[name] = self.lab.popen(
                t.a, "ping", "-q", "-i", interval, "-c", int(self.seconds / interval),
                "-W", "1", dst, stdout=out, stderr=out, text=True)
        for name, src, dst, rate in (("iperf3 A->C", t.a, t.c, "10M"),
                                     ("iperf3 B->A", t.b, t.a, "5M")):
            self.procs[name] = self.lab.popen(
                src, "iperf3", "-c", dst.addr, "-u", "-b", rate, "-t",
                self.seconds - 1, "-J", stdout=out, stderr=out, text=True)

    def results(self):
        """{flow: (sent, received)} once every flow ended."""
        res = {}
        for name, p in self.procs.items():
            stdout, stderr = p.communicate(timeout=self.seconds + 30)
            if name.startswith("iperf3"):
                assert p.returncode == 0, (name, stdout, stderr)
                s = json.loads(stdout)["end"]["sum"]
                res[name] = (s["packets"], s["packets"] - s["lost_packets"])
            else:
                m = re.search(r"(\d+) packets transmitted, (\d+) received", stdout)
                assert m, (name, stdout, stderr)
                res[name] = (int(m.group(1)), int(m.group(2)))
        return res


def rcvbuf_drops(ns):
    """UDP datagrams the sockets of ns had no room for."""
    snmp = ns.run("cat", "/proc/net/snmp").stdout
    names, values = [l.split()[1:] for l in snmp.splitlines() if l.startswith("Udp:")]
    return int(dict(zip(names, values))["RcvbufErrors"])


def qdisc_drops(ns, dev):
    """Frames the queue of dev in ns had no room for."""
    return int(ns.run("cat", f"/sys/class/net/{dev}/statistics/tx_dropped").stdout)


# -- counters ----------------------------------------------------------------

def snapshot(d):
    """Ports (show and stats merged), stats, and the router's counters, at
    a moment when nothing moves: show and stats are two requests."""
    def counters():
        return (d.ctl("stats", json_out=True),
                d.ctl("router", "show", json_out=True)["stats"])

    deadline = time.time() + 20
    while time.time() < deadline:
        before = counters()
        show = d.ctl("show", json_out=True)
        time.sleep(0.2)
        if counters() == before:
            stats, router = before
            ports = {p["name"]: dict(p) for p in show["ports"]}
            for p in stats["ports"]:
                ports[p["name"]].update(p)
            return ports, stats, router
    raise AssertionError(f"the counters of {d.ns.name} never settled")


def input_frames(p):
    """Frames a port handed the switch or the router: what it received,
    less what a tunnel's TCP GRO merged (a super-frame is one frame to the
    switch; its segments were counted received one by one)."""
    gro = p.get("tunnel", {}).get("offloads", {})
    return p["rx_packets"] - gro.get("gro_segments", 0) + gro.get("gro_superframes", 0)


def check_accounting(d):
    """received = forwarded + dropped by reason: for the switch, the router
    and the tunnels' UDP endpoints of daemon d.  Returns the ports and the
    endpoints."""
    ports, stats, rtr = snapshot(d)
    for p in ports.values():
        if p["rx_packets"] > 0 or p["layer"] == "l3":
            for why in RX_TX_DROPS:
                assert p["drops"][why] == 0, (d.ns.name, p["name"], why, p)
    l2 = [p for p in ports.values() if p["layer"] == "l2"]
    received = sum(input_frames(p) for p in l2)
    sw = stats["switch"]
    dropped = sum(p["drops"][why] for p in l2 for why in L2_SWITCH_DROPS)
    assert received == sw["unicast"] + sw["flooded"] + dropped, \
        (d.ns.name, received, sw, dropped, l2)

    l3 = [p for p in ports.values() if p["layer"] == "l3"]
    received = sum(input_frames(p) for p in l3)
    dropped = sum(p["drops"][why] for p in l3 for why in L3_ROUTER_DROPS)
    # Every packet to the router was an echo request, answered: none was
    # dropped under a reason of L3_ROUTER_DROPS as well as counted local.
    assert rtr["local"] == rtr["echo_replies"], (d.ns.name, rtr)
    assert received == rtr["forwarded"] + rtr["local"] + dropped, \
        (d.ns.name, received, rtr, dropped, l3)

    # Each datagram an endpoint read went to its tunnel port or was dropped.
    eps = stats["endpoints"]
    datagrams = sum(e["rx_packets"] for e in eps)
    delivered = sum(p["rx_packets"] for p in ports.values() if "tunnel" in p)
    dropped = sum(sum(e["drops"].values()) for e in eps)
    assert datagrams == delivered + dropped, (d.ns.name, eps, ports)
    print(f"{d.ns.name}: switch {sw}, router {rtr}, endpoints {datagrams} = "
          f"{delivered} + {dropped}")
    return ports, eps


def tx_drops(ports, *names):
    return sum(ports[n]["drops"][why] for n in names for why in TX_DROPS)


# -- captures ----------------------------------------------------------------

def pcap_records(path):
    """The number of records of a whole pcap file."""
    data = path.read_bytes()
    assert data[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"), (path, data[:24])
    order = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    off, n = 24, 0
    while off < len(data):
        assert off + 16 <= len(data), (path, "a record header cut short")
        off += 16 + struct.unpack_from(order + "I", data, off + 8)[0]
        n += 1
    assert off == len(data), (path, "a record cut short")
    return n


# -- the churn ---------------------------------------------------------------

class Churn:
    def __init__(self, lab, t, tmp_path):
        self.lab, self.t, self.d = lab, t, t.d1
        self.rng = random.Random(SEED)
        self.tmp = tmp_path
        self.done = Counter()       # action -> times
        self.extras = {}            # churned port -> "tap", "tun" or its tunnel key
        self.tunnel_keys = set()    # (remote, dstport, type, key) in use
        self.routes = set()
        self.statics = set()
        self.files = []             # every capture file
        self.stopped = []           # (path, written) of the captures stopped
        self.idle = []              # clients that connected and wait
        self.stream = None
        self.streams_killed = 0
        self.injected = Counter()   # (port, drop reason) -> frames

    # ports

    def check_quiet(self, name):
        """A churned port received nothing, or the accounting at the end
        would miss its frames."""
        [p] = self.d.ctl("stats", name, json_out=True)["ports"]
        assert p["rx_packets"] == 0, (name, p)

    def free_name(self, prefix, count):
        free = [self.lab.name(f"{prefix}{i}") for i in range(count)
                if self.lab.name(f"{prefix}{i}") not in self.extras]
        return self.rng.choice(free) if free else None

    def add_tap(self, _=None):
        name = self.free_name("x", 6)
        if name is None:
            return self.del_port()
        args = ["port", "add", name, "type", "tap"]
        if self.rng.random() < 0.3:
            args += ["mtu", self.rng.choice(["1400", "9000"])]
        self.d.ctl(*args)
        self.extras[name] = "tap"

    TUNNELS = {  # D2 lacks the VNI; nothing listens there (port unreachable); nobody there
        "vni": ("vxlan", "198.18.0.2", "4789"),
        "port": ("vxlan", "198.18.0.2", "4790"),
        "nobody": ("vxlan", "198.18.0.9", "4789"),
        "gretap": ("gretap", "198.18.0.2", None),
    }

    def add_tunnel(self, how=None):
        name = self.free_name("v", 4)
        if name is None:
            return self.del_port()
        kind, remote, dstport = self.TUNNELS[how or self.rng.choice(sorted(self.TUNNELS))]
        key = self.rng.choice([k for k in range(100, 110)
                               if (remote, dstport, kind, k) not in self.tunnel_keys])
        args = ["port", "add", name, "type", kind, "remote", remote,
                "local", "198.18.0.1", "vni" if kind == "vxlan" else "key", key]
        if dstport:
            args += ["dstport", dstport]
        self.d.ctl(*args)
        self.extras[name] = (remote, dstport, kind, key)
        self.tunnel_keys.add(self.extras[name])

    def add_tun(self, _=None):
        name = self.free_name("n", 2)
        if name is None:
            return self.del_port()
        self.d.ctl("port", "add", name, "type", "tun", "address",
                   f"198.19.{60 + int(name[-1])}.254/24")
        self.extras[name] = "tun"

    def forget(self, name):
        self.tunnel_keys.discard(self.extras.pop(name))

    def del_port(self, _=None):
        if not self.extras:
            return self.add_tap()
        name = self.rng.choice(sorted(self.extras))
        self.check_quiet(name)
        self.d.ctl("port", "del", name)
        self.forget(name)

    # forwarding state

    def fdb_flush(self, how=None):
        how = how or self.rng.choice(["all", "dev", "d2"])
        if how == "all":
            self.d.ctl("fdb", "flush")
            self.statics.clear()
        elif how == "dev":
            self.d.ctl("fdb", "flush", "dev", self.t.a.port)
            self.statics.clear()        # they are all on A's port
        else:
            self.t.d2.ctl("fdb", "flush")

    def fdb_static(self, _=None):
        mac = f"02:00:5e:10:00:{self.rng.randrange(4):02x}"
        if mac in self.statics:
            self.d.ctl("fdb", "del", mac)
            self.statics.discard(mac)
        else:
            self.d.ctl("fdb", "add", mac, "dev", self.t.a.port)
            self.statics.add(mac)

    ROUTES = [  # TNR, TNA: the tun ports to R and A
        ("198.19.50.0/24", "dev", "TNR"),
        ("198.19.51.0/24", "reject"),
        ("198.19.52.0/24", "dev", "TNA", "metric", "5"),
        ("fd00:5657:52::/48", "dev", "TNR"),
    ]

    def route(self, _=None):
        r = self.rng.choice(self.ROUTES)
        if r in self.routes:
            self.d.ctl("route", "del", r[0], *(("metric", r[-1]) if "metric" in r else ()))
            self.routes.discard(r)
        else:
            ports = {"TNR": self.t.tnr, "TNA": self.t.tna}
            self.d.ctl("route", "add", *[ports.get(w, w) for w in r])
            self.routes.add(r)

    def router_set(self, _=None):
        self.d.ctl("router", "set", "icmp-rate", self.rng.choice([500, 1000, 2000]))

    # captures

    def running_captures(self):
        return [c for c in self.d.ctl("capture", "show", json_out=True)["captures"]
                if c["state"] == "running" and c["output"] != "-"]

    def stop_capture(self, c):
        res = self.d.ctl("capture", "stop", c["id"], json_out=True, check=False)
        if isinstance(res, dict):
            [end] = res["captures"]
            assert end["reason"] == "stopped", end
            self.stopped.append((Path(end["output"]), end["written"]))
        else:
            # It reached its max-size since "capture show": gone.
            assert f"no capture or port '{c['id']}'" in res.stderr, res.stderr

    def capture(self, how=None):
        running = self.running_captures()
        if how is None:
            how = "stop" if running and (len(running) >= LIVE_CAPTURES or
                                         self.rng.random() < 0.5) else "start"
        if how == "stop":
            if not running:
                self.capture("start")
                running = self.running_captures()
            for c in self.rng.sample(running, 1):
                self.stop_capture(c)
            return
        ports = [self.t.a.port, self.t.b.port, self.t.vx, self.t.tnr] + \
            [n for n, k in self.extras.items() if k == "tap"]
        port = self.rng.choice(ports)
        path = self.tmp / f"cap{len(self.files)}.pcap"
        args = ["capture", "start", port, "-w", path, "max-size", CAPTURE_MAX_SIZE]
        if port == self.t.vx and self.rng.random() < 0.5:
            args += ["layer", "outer"]
        if self.rng.random() < 0.3:
            args += ["filter", "icmp or arp", "snaplen", "96"]
        self.d.ctl(*args)
        self.files.append(path)

    def stream_capture(self, _=None):
        """A streaming capture whose vswctl is killed: the daemon ends it
        by itself."""
        if self.stream is None:
            self.stream = subprocess.Popen(
                [self.lab.vswctl, "--socket", self.d.sock, "capture", self.t.a.port, "-w", "-"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=dict(os.environ, **SANITIZER_ENV))
            self.lab.procs.append(self.stream)
            wait_until(lambda: self.streaming(), timeout=10, what="the stream to start")
            return
        self.stream.kill()
        self.stream.wait()
        self.stream = None
        self.streams_killed += 1
        wait_until(lambda: not self.streaming(), timeout=10, what="the stream's capture to end")

    def streaming(self):
        return [c for c in self.d.ctl("capture", "show", json_out=True)["captures"]
                if c["output"] == "-"]

    # control clients

    CLIENTS = ["gone", "half header", "half body", "no read", "idle", "close idle"]

    def client(self, how=None):
        how = how or self.rng.choice(self.CLIENTS)
        body = json.dumps({"argv": ["show"], "json": True}).encode()
        frame = struct.pack("!II", MAGIC, len(body)) + body
        if how == "close idle" or len(self.idle) >= 3:
            if self.idle:
                self.idle.pop(self.rng.randrange(len(self.idle))).close()
            return
        c = connect_unix(self.d.sock)
        if how == "half header":
            c.sendall(frame[:4])
        elif how == "half body":
            c.sendall(frame[:8 + len(body) // 2])
        elif how == "no read":          # the reply finds nobody
            c.sendall(frame)
        elif how == "idle":             # silent, mid-header, until closed
            c.sendall(frame[:6])
            self.idle.append(c)
            return
        c.close()

    # configuration

    def save(self, _=None):
        assert self.d.ctl("save", "-").stdout == self.t.conf.read_text()

    def sighup(self, what):
        n = self.d.log_text().count(what)
        self.d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self.d.log_text().count(what) > n, timeout=15, what=what)

    RELOADS = ["same", "add", "remove", "bad", "failing"]

    def reload(self, how=None):
        conf = self.t.conf
        text = conf.read_text()
        lines = text.splitlines(keepends=True)
        how = how or self.rng.choice(self.RELOADS)
        removed = self.d.log_text().count("removing port")
        name = None
        if how == "add":
            name = self.free_name("x", 6)
        elif how == "remove" and self.extras:
            name = self.rng.choice(sorted(self.extras))
        if how in ("add", "remove") and name is None:
            how = "same"
        if how == "add":
            # A port more, where save puts it: after the last port.
            last = max(i for i, l in enumerate(lines) if l.startswith("port add "))
            lines.insert(last + 1, f"port add {name} type tap\n")
            conf.write_text("".join(lines))
            self.sighup("reloaded")
            self.extras[name] = "tap"
        elif how == "remove":
            self.check_quiet(name)
            conf.write_text("".join(l for l in lines if not l.startswith(f"port add {name} ")))
            self.sighup("reloaded")
            self.forget(name)
            assert f"removing port {name} (not in the file)" in self.d.log_text()
            removed += 1
        elif how in ("bad", "failing"):
            # One that does not parse, one that fails while it runs: both
            # change nothing and name the line.  The good file goes back.
            before = self.d.ctl("save", "-").stdout
            lineno = len(lines) + 1
            if how == "bad":
                bad, why = "fdb set ageing 'soon\n", "unterminated quote"
            else:
                nope = self.lab.name("nope")
                bad, why = f"route add 198.19.99.0/24 dev {nope}\n", f"unknown port '{nope}'"
            conf.write_text(text + bad)
            self.sighup("reload failed")
            assert f"{conf}:{lineno}: {why}" in self.d.log_text()
            assert self.d.ctl("save", "-").stdout == before
            conf.write_text(text)
        else:
            self.sighup("reloaded")
        # No port went but the one the file dropped: the others kept their
        # devices and counters.
        assert self.d.log_text().count("removing port") == removed, how
        self.save()

    # frames that must be dropped, and where

    def inject(self, how=None):
        t = self.t
        how = how or self.rng.choice(["bad_src_mac", "same_port", "ttl_exceeded"])
        if how == "bad_src_mac":        # a multicast source
            raw_send(t.a, t.a.port, [eth_frame("ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:99")])
            self.injected[(t.a.port, how)] += 1
        elif how == "same_port":        # to its own source, learned on A's port just then
            mac = f"02:56:53:00:aa:{self.rng.randrange(8):02x}"
            raw_send(t.a, t.a.port, [eth_frame(mac, mac)])
            self.injected[(t.a.port, how)] += 1
        else:                           # TTL 1 into the router
            ping(t.a, t.r.addr, count=2, check=False, extra=("-t", "1", "-W", "1"))
            self.injected[(t.tna, how)] += 2

    ACTIONS = [  # (weight, method, variants tried once each first)
        (6, "add_tap", [None]), (3, "add_tunnel", sorted(TUNNELS)), (1, "add_tun", [None]),
        (8, "del_port", [None]), (3, "fdb_flush", ["all", "dev", "d2"]),
        (2, "fdb_static", [None]), (4, "route", [None]), (1, "router_set", [None]),
        (4, "capture", ["start", "stop"]), (1, "stream_capture", [None, None]),
        (5, "client", CLIENTS), (2, "save", [None]), (2, "reload", RELOADS),
        (3, "inject", ["bad_src_mac", "same_port", "ttl_exceeded"]),
    ]

    def act(self, action, how=None):
        getattr(self, action)(how)
        self.done[action] += 1
        assert self.d.alive() and self.t.d2.alive(), self.d.log_text()[-3000:]

    def run(self, seconds):
        deadline = time.time() + seconds
        # Each kind and variant once, in an order of the seed's, so that
        # even a slow machine goes through all of them.
        tour = [(a, how) for _, a, variants in self.ACTIONS for how in variants]
        self.rng.shuffle(tour)
        for action, how in tour:
            self.act(action, how)
        weights = [w for w, _, _ in self.ACTIONS]
        names = [a for _, a, _ in self.ACTIONS]
        while time.time() < deadline:
            self.act(self.rng.choices(names, weights)[0])
            time.sleep(self.rng.uniform(0, 0.05))

    def finish(self):
        for c in self.idle:
            c.close()
        if self.stream is not None:
            self.stream_capture()
        for c in self.running_captures():
            self.stop_capture(c)


def test_soak(lab, tmp_path):
    t = topology(lab)
    traffic = Traffic(lab, t, CHURN_SECONDS + 4)
    traffic.start()
    churn = Churn(lab, t, tmp_path)
    churn.run(CHURN_SECONDS)
    churn.finish()
    flows = traffic.results()
    print("churn:", dict(churn.done))
    print("flows:", flows)

    # The traffic went through the churn.
    for name in ("A->B", "A->C", "A->R", "A->router", "iperf3 A->C", "iperf3 B->A"):
        sent, received = flows[name]
        assert sent > 0 and received >= 0.9 * sent, (name, flows)

    # Forwarding works, through all three paths.
    for dst in (t.b.addr, t.c.addr, t.r.addr):
        ping(t.a, dst, count=3)
    ping(t.c, t.a.addr, count=2)

    # The counters add up, and what was injected is counted where it went.
    ports, _ = check_accounting(t.d1)
    ports2, eps2 = check_accounting(t.d2)
    for (port, why), n in churn.injected.items():
        assert ports[port]["drops"][why] == n, (port, why, n, ports[port]["drops"])
    assert set(ports) == t.permanent | set(churn.extras)
    # Nothing was lost silently: what iperf3 lost, a kernel queue, a
    # port's send or D2's endpoint counted (iperf3 may count a few of its
    # last datagrams as lost).
    ep_drops = sum(n for e in eps2 for why, n in e["drops"].items() if why != "unknown_key")
    for flow, seen in (
            ("iperf3 A->C", qdisc_drops(t.a, t.a.port) + tx_drops(ports, t.vx) + ep_drops +
             rcvbuf_drops(t.s2) + tx_drops(ports2, t.c.port) + rcvbuf_drops(t.c)),
            ("iperf3 B->A", qdisc_drops(t.b, t.b.port) + tx_drops(ports, t.a.port) +
             rcvbuf_drops(t.a))):
        sent, received = flows[flow]
        print(flow, "lost", sent - received, "counted", seen)
        assert sent - received <= seen + 10, (flow, sent - received, seen)

    # The autosaved file is the running configuration.
    assert t.d1.ctl("save", "-").stdout == t.conf.read_text()

    # Both stop cleanly: LeakSanitizer runs at exit, the lab reads the logs.
    assert t.d1.stop() == 0
    assert t.d2.stop() == 0
    # Every capture ended for a reason of the churn's, and wrote a whole
    # file; those stopped hold what the daemon said they did.
    log = t.d1.log.read_text()
    reasons = Counter(re.findall(r"capture \d+ on \S+ ended \(([^)]+)\)", log))
    print("captures ended:", dict(reasons))
    assert set(reasons) <= {"stopped", "interrupted", "max-size", "port deleted"}, reasons
    assert reasons["stopped"] == len(churn.stopped), reasons
    assert reasons["interrupted"] == churn.streams_killed, reasons
    assert "cannot write" not in log
    for path, written in churn.stopped:
        assert pcap_records(path) == written, path
    for path in churn.files:
        pcap_records(path)
        assert path.stat().st_size <= CAPTURE_MAX_SIZE, path
        path.unlink()       # tens of MB a run, kept by pytest otherwise
