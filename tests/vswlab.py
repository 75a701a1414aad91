"""The test lab: namespaces, daemons and helpers for vswitch tests.

Every test that takes `lab` gets a private set of network namespaces and
interfaces, all named with a per-test random prefix, and runs once against
each build (release and sanitizer).  The lab's finalizer kills the daemons it
started (by PID), fails the test if a sanitizer reported anything, and deletes
every namespace and link it made, also when the test failed.
"""

import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# VSW_BUILD: another build tree (make BUILD=DIR/release ...), so that two
# people can test one checkout without sharing objects.
BUILD_ROOT = ROOT / os.environ.get("VSW_BUILD", "build")
BUILDS = {
    "release": BUILD_ROOT / "release",
    "asan": BUILD_ROOT / "asan",
}
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=99",
}
# The last one is the daemon's seccomp report (vswitchd/sandbox.c): a system
# call its filter lacks, found by a test rather than in production.
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "vswitchd: seccomp:")


def _daemon_user():
    try:
        return pwd.getpwnam("vswitch")
    except KeyError:
        return None


# The user a daemon started as root becomes (vswitchd/privs.h): 'vswitch',
# which tests/deps.sh creates, else None (it stays root).
DAEMON_USER = _daemon_user()


def c_define(header, name):
    """The integer value of `#define NAME VALUE` in HEADER (a path relative
    to the source tree), so that tests follow the C constants they depend
    on instead of copying them."""
    text = (ROOT / header).read_text()
    m = re.search(rf"^[ \t]*#[ \t]*define[ \t]+{re.escape(name)}[ \t]+"
                  r"\(?(\d+)[uUlL]*\)?[ \t]*(?:/[*/].*)?$", text, re.MULTILINE)
    if m is None:
        raise AssertionError(f"no '#define {name} NUMBER' in {header}")
    return int(m.group(1))


def sh(*cmd, check=True, timeout=60, input=None, env=None):
    """Runs a command, returns CompletedProcess with text output."""
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                         timeout=timeout, input=input, env=env)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({res.returncode}):\n"
                             f"{res.stdout}\n{res.stderr}")
    return res


class Netns:
    def __init__(self, name):
        self.name = name

    def run(self, *cmd, **kw):
        return sh("ip", "netns", "exec", self.name, *cmd, **kw)

    def popen(self, *cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.name, *map(str, cmd)], **kw)


class Daemon:
    """One vswitchd started by the lab; ctl() runs vswctl against it."""

    def __init__(self, lab, ns, extra_args=()):
        self.lab = lab
        self.ns = ns
        self.dir = lab.rundir()
        self.sock = self.dir / "sock"
        self.log = self.dir / "log"
        env = dict(os.environ, **SANITIZER_ENV)
        cmd = [lab.vswitchd, "--foreground", "--socket", self.sock,
               "--log-level", "debug", *extra_args]
        if ns is not None:
            cmd = ["ip", "netns", "exec", ns.name, *cmd]
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen([str(c) for c in cmd], stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env)
        # Started means answering: the socket is bound before privileges
        # are dropped, the loop answers only after.
        deadline = time.time() + 10
        while not (self.sock.exists() and self.answers()):
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError(f"vswitchd did not start:\n{self.log_text()}")
            time.sleep(0.05)

    def answers(self):
        return subprocess.run([str(self.lab.vswctl), "--socket", str(self.sock), "help"],
                              capture_output=True, timeout=10).returncode == 0

    def log_text(self):
        self.logf.flush()
        return self.log.read_text(errors="replace")

    def ctl(self, *args, json_out=False, check=True):
        cmd = [self.lab.vswctl, "--socket", self.sock]
        if json_out:
            cmd.append("--json")
        cmd += args
        if self.ns is not None:
            cmd = ["ip", "netns", "exec", self.ns.name, *cmd]
        res = sh(*cmd, check=check, env=dict(os.environ, **SANITIZER_ENV))
        self.lab.check_sanitizer(res.stderr, "vswctl " + " ".join(map(str, args)))
        if json_out and res.returncode == 0:
            return json.loads(res.stdout)
        return res

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stops the daemon; returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"vswitchd ignored signal {sig}:\n{self.log_text()}")
        self.logf.close()
        self.lab.check_sanitizer(self.log.read_text(errors="replace"), "vswitchd")
        # A thread that blocks every signal (a capture writer) cannot run
        # the seccomp report: the kernel kills the process with SIGSYS.
        if self.proc.returncode == -signal.SIGSYS:
            raise AssertionError("vswitchd: killed by SIGSYS: a system call its "
                                 f"seccomp filter lacks:\n{self.log_text()}")
        return self.proc.returncode


class Lab:
    def __init__(self, build, tmp):
        bdir = BUILDS[build]
        self.vswitchd = bdir / "vswitchd"
        self.vswctl = bdir / "vswctl"
        for b in (self.vswitchd, self.vswctl):
            if not b.exists():
                raise AssertionError(f"{b} is missing: run 'make check' (it builds both variants)")
        self.build = build
        self.tmp = tmp
        self.prefix = "vt" + secrets.token_hex(2)   # 6 chars: room for IFNAMSIZ
        self.namespaces = []
        self.daemons = []
        self.procs = []
        self.rundirs = []

    def rundir(self):
        """A directory the daemon's user owns, as systemd's /run/vswitchd:
        for what the daemon removes or rewrites once it has dropped root
        (its socket, pidfile, saved config)."""
        d = Path(tempfile.mkdtemp(prefix="vsw-", dir="/tmp"))
        if DAEMON_USER is not None:
            os.chown(d, DAEMON_USER.pw_uid, DAEMON_USER.pw_gid)
        d.chmod(0o755)
        self.rundirs.append(d)
        return d

    def name(self, suffix):
        n = self.prefix + suffix
        assert len(n) < 16, n
        return n

    def netns(self, suffix):
        ns = Netns(self.name(suffix))
        sh("ip", "netns", "add", ns.name)
        self.namespaces.append(ns)
        ns.run("ip", "link", "set", "lo", "up")
        return ns

    def daemon(self, ns, *extra_args):
        d = Daemon(self, ns, extra_args)
        self.daemons.append(d)
        return d

    def popen(self, ns, *cmd, **kw):
        p = ns.popen(*cmd, **kw)
        self.procs.append(p)
        return p

    def check_sanitizer(self, text, who):
        for mark in SANITIZER_MARKS:
            if mark in text:
                raise AssertionError(f"{who}: sanitizer report:\n{text}")

    def move_port(self, daemon, port, suffix):
        """Moves the device of the daemon's PORT into a new namespace."""
        ep = self.netns(suffix)
        src = ["ip", "-n", daemon.ns.name] if daemon.ns else ["ip"]
        sh(*src, "link", "set", port, "netns", ep.name)
        return ep

    def endpoint(self, daemon, port, suffix, addr, mtu=None):
        """Adds tap PORT to the daemon and moves it into a new endpoint
        namespace, addressed ADDR (with prefix length), IPv6 off so that
        only the test's own traffic crosses the switch."""
        args = ["port", "add", port, "type", "tap"]
        if mtu:
            args += ["mtu", str(mtu)]
        daemon.ctl(*args)
        ep = self.move_port(daemon, port, suffix)
        ep.run("sysctl", "-qw", f"net.ipv6.conf.{port}.disable_ipv6=1")
        ep.run("ip", "addr", "add", addr, "dev", port)
        ep.run("ip", "link", "set", port, "up")
        ep.port = port
        ep.addr = addr.split("/")[0]
        ep.mac = json.loads(ep.run("ip", "-j", "link", "show", port).stdout)[0]["address"]
        return ep

    def tun_endpoint(self, daemon, port, suffix, addr, router, addr6=None,
                     router6=None, mtu=None):
        """Adds tun PORT to the daemon with the router's own address ROUTER
        (and ROUTER6) on it, moves the device into a new endpoint namespace,
        gives it ADDR (and ADDR6, else IPv6 off) and routes everything else
        via the router.  Addresses carry their prefix length."""
        args = ["port", "add", port, "type", "tun", "address", router]
        if router6:
            args += ["address", router6]
        if mtu:
            args += ["mtu", str(mtu)]
        daemon.ctl(*args)
        ep = self.move_port(daemon, port, suffix)
        if not addr6:
            ep.run("sysctl", "-qw", f"net.ipv6.conf.{port}.disable_ipv6=1")
        ep.run("ip", "addr", "add", addr, "dev", port)
        if addr6:
            ep.run("ip", "-6", "addr", "add", addr6, "dev", port, "nodad")
        ep.run("ip", "link", "set", port, "up")
        ep.run("ip", "route", "add", "default", "via", router.split("/")[0])
        if addr6:
            ep.run("ip", "-6", "route", "add", "default", "via", router6.split("/")[0])
        ep.port = port
        ep.addr = addr.split("/")[0]
        ep.addr6 = addr6.split("/")[0] if addr6 else None
        ep.router = router.split("/")[0]
        ep.router6 = router6.split("/")[0] if router6 else None
        return ep

    def cleanup(self):
        errors = []
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for d in self.daemons:
            try:
                d.stop()
            except AssertionError as e:
                errors.append(str(e))
        for d in self.rundirs:
            shutil.rmtree(d, ignore_errors=True)
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "pids", ns.name], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns.name], capture_output=True)
        links = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True)
        for link in json.loads(links.stdout or "[]"):
            if link["ifname"].startswith(self.prefix):
                subprocess.run(["ip", "link", "del", link["ifname"]], capture_output=True)
        if errors:
            raise AssertionError("\n".join(errors))


def two_endpoints(lab):
    """A daemon in namespace S with taps tA and tB, moved into namespaces A
    (198.19.0.1) and B (198.19.0.2): (daemon, endpoint A, endpoint B)."""
    s = lab.netns("S")
    d = lab.daemon(s)
    a = lab.endpoint(d, lab.name("tA"), "A", "198.19.0.1/24")
    b = lab.endpoint(d, lab.name("tB"), "B", "198.19.0.2/24")
    return d, a, b


def ping(src, dst_addr, count=3, check=True, extra=()):
    return src.run("ping", "-c", count, "-i", "0.2", "-W", "2", *extra, dst_addr,
                   check=check, timeout=30)


def router_stats(daemon):
    """The router's counters from `vswctl --json router show`."""
    return daemon.ctl("router", "show", json_out=True)["stats"]


def routes(daemon, *args):
    """`vswctl --json route show [ARGS]` as a list of route dicts."""
    return daemon.ctl("route", "show", *args, json_out=True)["routes"]


def port_stats(daemon, port):
    """The stats object of one port from `vswctl --json stats PORT`."""
    data = daemon.ctl("stats", port, json_out=True)
    return find_port(data, port)


def find_port(data, port):
    for p in data["ports"]:
        if p["name"] == port:
            return p
    raise AssertionError(f"port {port} not in {data}")


def raw_send(ns, ifname, frames, count=1):
    """Sends raw Ethernet frames (bytes) out of ifname inside ns."""
    code = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n"
        f"s.bind(({ifname!r},0))\n"
        f"frames={[f.hex() for f in frames]!r}\n"
        f"for _ in range({count}):\n"
        "  for f in frames: s.send(bytes.fromhex(f))\n"
    )
    ns.run("/usr/bin/python3", "-c", code)


def wait_until(pred, timeout=10, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def connect_unix(path, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(str(path))
    return s


def fdb_entries(daemon, *args):
    """`vswctl --json fdb show [ARGS]` as a list of entry dicts."""
    return daemon.ctl("fdb", "show", *args, json_out=True)["fdb"]


def mac_bytes(mac):
    return bytes.fromhex(mac.replace(":", ""))


def eth_frame(dst, src, ethertype=0x88B5, payload=b"vswitch-test", vlan=None):
    """An Ethernet frame (bytes); 0x88B5 is the IEEE local experimental type."""
    hdr = mac_bytes(dst) + mac_bytes(src)
    if vlan is not None:
        hdr += (0x8100).to_bytes(2, "big") + vlan.to_bytes(2, "big")
    frame = hdr + ethertype.to_bytes(2, "big") + payload
    return frame.ljust(60, b"\0")
