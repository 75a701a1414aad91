"""WireGuard hosts for the interop tests: vswitchd's wireguard port on host
A, Debian's wireguard-go on host B.

    ns EA               ns HA: vswitchd                     ns HB: wireguard-go
    198.19.1.1  tA [198.19.1.254  wgA 198.19.0.1] ==UDP==  wgB 198.19.0.2 (tun device)
    fd00:5657:1::1 [fd00:5657:1::fe   fd00:5657:10::1]      fd00:5657:10::2
                     198.18.0.1/24  ------ veth ------  198.18.0.2/24
                     fd00:5657::1/64                    fd00:5657::2/64

A's endpoint is a namespace behind the router (a tun port moved there, as
in test_tunnel_router.py); B's endpoint is wgB's own address.  Keys come
from `wg genkey`; vswitchd's key files belong to the daemon's user and are
mode 0600, as the port demands.

wireguard-go runs in the foreground as a child of the test (killed by PID)
and creates its tun device in HB; `wg` finds it by name through
/var/run/wireguard/NAME.sock, which is not per namespace: names carry the
lab's prefix, and the socket is removed when the process is gone.
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from vswlab import DAEMON_USER, sh, wait_until

UL = {"a": "198.18.0.1", "b": "198.18.0.2"}
UL6 = {"a": "fd00:5657::1", "b": "fd00:5657::2"}
WG_NET = {"a": "198.19.0.1", "b": "198.19.0.2"}
WG_NET6 = {"a": "fd00:5657:10::1", "b": "fd00:5657:10::2"}
PORT = 51820
WG_SOCK_DIR = Path("/var/run/wireguard")


def genkey():
    """(private, public) base64 keys from wireguard-tools."""
    priv = sh("wg", "genkey").stdout.strip()
    pub = sh("wg", "pubkey", input=priv + "\n").stdout.strip()
    return priv, pub


def key_file(path, key, daemon=False):
    """Writes KEY to PATH, mode 0600, owned by the daemon's user if DAEMON."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    if daemon and DAEMON_USER is not None:
        os.chown(path, DAEMON_USER.pw_uid, DAEMON_USER.pw_gid)
    return path


class WgGo:
    """One wireguard-go device NAME in namespace NS."""

    def __init__(self, lab, ns, name, tmp):
        self.lab, self.ns, self.name, self.tmp = lab, ns, name, Path(tmp)
        self.sock = WG_SOCK_DIR / f"{name}.sock"
        self.logpath = self.tmp / f"{name}.log"
        self.log = open(self.logpath, "w")
        env = dict(os.environ, WG_PROCESS_FOREGROUND="1", LOG_LEVEL="verbose")
        self.proc = ns.popen("wireguard-go", "-f", name, stdout=self.log,
                             stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 10
        while not (self.sock.exists() and self.answers()):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise AssertionError(f"wireguard-go did not start:\n{self.log_text()}")
            time.sleep(0.05)

    def answers(self):
        return subprocess.run(["wg", "show", self.name], capture_output=True).returncode == 0

    def log_text(self):
        self.log.flush()
        return self.logpath.read_text(errors="replace")

    def wg(self, *args, **kw):
        return self.ns.run("wg", *args, **kw)

    def set(self, *args):
        return self.wg("set", self.name, *args)

    def ip(self, *args):
        return self.ns.run("ip", *args)

    def dump(self):
        """`wg show NAME dump`: (interface dict, {public key: peer dict})."""
        lines = [l.split("\t") for l in self.wg("show", self.name, "dump").stdout.splitlines()]
        _, pub, port, _ = lines[0]          # the private key is not kept
        peers = {}
        for f in lines[1:]:
            peers[f[0]] = {
                "public_key": f[0],
                "preshared_key": f[1] != "(none)",
                "endpoint": None if f[2] == "(none)" else f[2],
                "allowed_ips": [] if f[3] == "(none)" else f[3].split(","),
                "latest_handshake": int(f[4]),
                "rx_bytes": int(f[5]),
                "tx_bytes": int(f[6]),
                "persistent_keepalive": 0 if f[7] == "off" else int(f[7]),
            }
        return {"public_key": pub, "listen_port": int(port)}, peers

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        # Killed (or crashed) wireguard-go leaves its socket behind.
        try:
            self.sock.unlink()
        except FileNotFoundError:
            pass


def wireguard_go(lab, request, ns, suffix, tmp):
    """A WgGo stopped by a finalizer, which runs before the lab's."""
    w = WgGo(lab, ns, lab.name(suffix), tmp)
    request.addfinalizer(w.stop)
    return w


def underlay(lab, ha, hb):
    """The veth between HA and HB, addressed: (A's end, B's end)."""
    ua, ub = lab.name("uA"), lab.name("uB")
    sh("ip", "link", "add", ua, "netns", ha.name, "type", "veth", "peer", "name", ub,
       "netns", hb.name)
    for ns, dev, h in ((ha, ua, "a"), (hb, ub, "b")):
        ns.run("ip", "addr", "add", f"{UL[h]}/24", "dev", dev)
        ns.run("ip", "addr", "add", f"{UL6[h]}/64", "dev", dev, "nodad")
        ns.run("ip", "link", "set", dev, "up")
    return ua, ub


class Pair:
    """Host A (vswitchd, wireguard port wgA, endpoint EA) and host B
    (wireguard-go wgB) as drawn above, peers of each other."""


def a_allowed():
    """What B lets A send from and routes to A."""
    return [f"{WG_NET['a']}/32", "198.19.1.0/24", f"{WG_NET6['a']}/128", "fd00:5657:1::/64"]


def b_allowed():
    """What A lets B send from and routes to B."""
    return [f"{WG_NET['b']}/32", f"{WG_NET6['b']}/128"]


def setup_b(p, lab, request, tmp, psk=None, suffix="wgB"):
    """wireguard-go on HB, peer of A, addressed; p.b is its WgGo."""
    p.b_priv, p.b_pub = genkey()
    p.b_keyf = key_file(Path(tmp) / "b.key", p.b_priv)
    b = p.b = wireguard_go(lab, request, p.hb, suffix, tmp)
    args = ["private-key", p.b_keyf, "listen-port", PORT, "peer", p.a_pub,
            "endpoint", f"{UL['a']}:{p.a_port}", "allowed-ips", ",".join(a_allowed())]
    if psk:
        args += ["preshared-key", key_file(Path(tmp) / "psk.b", psk)]
    b.set(*args)
    b.ip("addr", "add", f"{WG_NET['b']}/24", "dev", b.name)
    b.ip("-6", "addr", "add", f"{WG_NET6['b']}/64", "dev", b.name, "nodad")
    b.ip("link", "set", b.name, "up")
    b.ip("route", "add", "198.19.1.0/24", "dev", b.name)
    b.ip("-6", "route", "add", "fd00:5657:1::/64", "dev", b.name)
    p.hb.addr, p.hb.addr6 = WG_NET["b"], WG_NET6["b"]


def pair(lab, request, tmp, psk=False, daemon_args=()):
    """Sets up A and B; with psk, one preshared key on both sides.  Nothing
    has been sent yet: the test decides who speaks first."""
    p = Pair()
    p.lab, p.tmp = lab, Path(tmp)
    p.ha, p.hb = lab.netns("HA"), lab.netns("HB")
    p.ua, p.ub = underlay(lab, p.ha, p.hb)
    p.d = lab.daemon(p.ha, *daemon_args)
    p.wg = lab.name("wgA")
    p.a_priv, p.a_pub = genkey()
    rd = p.d.dir
    p.a_keyf = key_file(rd / "a.key", p.a_priv, daemon=True)
    p.psk = genkey()[0] if psk else None
    p.d.ctl("port", "add", p.wg, "type", "wireguard", "private-key", p.a_keyf,
            "listen-port", PORT, "address", f"{WG_NET['a']}/24",
            "address", f"{WG_NET6['a']}/64")
    p.a_port = PORT
    p.ea = lab.tun_endpoint(p.d, lab.name("tA"), "EA", "198.19.1.1/24", "198.19.1.254/24",
                            "fd00:5657:1::1/64", "fd00:5657:1::fe/64")
    setup_b(p, lab, request, tmp, psk=p.psk)
    add_peer_b(p)
    return p


def add_peer_b(p, endpoint=None, allowed=None):
    """`wireguard peer add` of B on A (with the preshared key if any)."""
    args = ["wireguard", "peer", "add", p.wg, p.b_pub,
            "endpoint", endpoint or f"{UL['b']}:{PORT}",
            "allowed-ips", ",".join(allowed or b_allowed())]
    if p.psk:
        args += ["preshared-key", key_file(p.d.dir / "psk.a", p.psk, daemon=True)]
    p.d.ctl(*args)


def wg_show(p):
    """A's port from `vswctl --json wireguard show PORT`."""
    data = p.d.ctl("wireguard", "show", p.wg, json_out=True)
    [port] = [x for x in data["ports"] if x["name"] == p.wg]
    return port


def a_peer(p, pub=None):
    """A's peer PUB (default B) from `vswctl --json wireguard show`."""
    pub = pub or p.b_pub
    [peer] = [x for x in wg_show(p)["peers"] if x["public_key"] == pub]
    return peer


def drops(p):
    return wg_show(p)["drops"]


def udp_send(ns, src, dst, sport, dport, payloads, recv_timeout=0):
    """Sends UDP datagrams (bytes) from SRC:SPORT to DST:DPORT inside NS
    (a plain socket: the kernel does the checksums); with recv_timeout,
    then collects what comes back to that socket until it stays quiet that
    long: a list of bytes."""
    code = (
        "import socket,sys,json\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
        "s.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,1<<22)\n"
        f"s.bind(({src!r},{sport}))\n"
        "msgs=[bytes.fromhex(l) for l in sys.stdin.read().split()]\n"
        f"for m in msgs: s.sendto(m,({dst!r},{dport}))\n"
        "got=[]\n"
        f"s.settimeout({recv_timeout!r})\n"
        f"while {bool(recv_timeout)!r}:\n"
        "  try: got.append(s.recv(4096).hex())\n"
        "  except socket.timeout: break\n"
        "print(json.dumps(got))\n"
    )
    res = ns.run("/usr/bin/python3", "-c", code, input="\n".join(m.hex() for m in payloads),
                 timeout=120)
    return [bytes.fromhex(h) for h in json.loads(res.stdout)]


def udp_spoof(ns, src, dst, sport, dport, payloads):
    """Sends UDP datagrams from SRC:SPORT to DST:DPORT inside NS through a
    raw socket, so SPORT may be a port another program holds (a replay
    "from" wireguard-go's own port).  UDP checksum 0: none, as IPv4 allows."""
    code = (
        "import socket,struct,sys\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_UDP)\n"
        f"s.bind(({src!r},0))\n"
        "for l in sys.stdin.read().split():\n"
        "  m=bytes.fromhex(l)\n"
        f"  s.sendto(struct.pack('!HHHH',{sport},{dport},8+len(m),0)+m,({dst!r},0))\n"
    )
    ns.run("/usr/bin/python3", "-c", code, input="\n".join(m.hex() for m in payloads),
           timeout=120)


class Capture:
    """tcpdump on an interface of NS into a pcap, started and stopped by
    the test (SIGINT, so that the file is complete)."""

    def __init__(self, lab, ns, ifname, path, bpf):
        self.path = Path(path)
        self.errpath = self.path.with_suffix(".log")
        self.err = open(self.errpath, "w")
        self.proc = lab.popen(ns, "tcpdump", "-Z", "root", "-U", "--immediate-mode", "-n", "-i", ifname,
                              "-w", self.path, *bpf.split(),
                              stdout=self.err, stderr=self.err)
        wait_until(lambda: "listening on" in self.errpath.read_text(), timeout=20,
                   what="tcpdump to start")

    def stop(self):
        time.sleep(0.3)
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=20)
        self.err.close()
        return self.packets()

    def packets(self):
        """UDP payloads with their IP/UDP addresses: [(src, sport, dst, dport, bytes)]."""
        from scapy.all import IP, UDP, rdpcap
        out = []
        for pkt in rdpcap(str(self.path)):
            if IP in pkt and UDP in pkt:
                out.append((pkt[IP].src, pkt[UDP].sport, pkt[IP].dst, pkt[UDP].dport,
                            bytes(pkt[UDP].payload)))
        return out


def msg_type(payload):
    return payload[0] if payload else None
