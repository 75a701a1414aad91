"""The stream port type: a guest on a Unix stream socket, as QEMU's
-netdev stream speaks it (each frame behind its 4-byte big-endian length).

    this test (plays QEMU)            ns S: vswitchd                 ns A
    Guest 198.19.0.42  == SOCKET ==  [ vm (stream)  switch  tA ]  <-- fd -->  tA 198.19.0.1
                                                             tB ]  <-- fd -->  tB 198.19.0.2 (ns B)

The guest runs in the test's own namespace: a Unix socket in the file system
is reached from any network namespace.  With "path SOCKET" the daemon makes
the socket and the guest connects (QEMU server=off); with "connect SOCKET"
the test listens and the daemon connects (QEMU server=on).
"""

import grp
import os
import shutil
import socket
import stat
import struct
import tempfile
import time
from pathlib import Path

import pytest
from scapy.all import ARP, ICMP, IP, Ether, Raw

from vswlab import DAEMON_USER, eth_frame, ping, port_stats, raw_send, wait_until

GUEST_MAC = "02:56:53:00:00:42"
GUEST_IP = "198.19.0.42"


@pytest.fixture
def sockdir():
    """A short directory for sockets: sun_path holds 107 characters, and
    pytest's tmp_path can be longer than that."""
    d = Path(tempfile.mkdtemp(prefix="vsw-", dir="/tmp"))
    # The daemon makes and removes sockets here as its own user.
    if DAEMON_USER is not None:
        os.chown(d, DAEMON_USER.pw_uid, DAEMON_USER.pw_gid)
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Guest:
    """One connection speaking the stream framing, with an address: it
    answers ARP for GUEST_IP while it waits for what it wants."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(5)
        self.buf = b""

    @classmethod
    def connect(cls, path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(path))
        return cls(s)

    def send(self, frame):
        self.sock.sendall(struct.pack(">I", len(frame)) + bytes(frame))

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("the switch closed the connection")
            self.buf += data

    def recv(self, timeout=5):
        deadline = time.time() + timeout
        self._fill(4, deadline)
        (n,) = struct.unpack(">I", self.buf[:4])
        assert 14 <= n <= 1518, f"frame length {n} from the switch"
        self._fill(4 + n, deadline)
        frame, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return Ether(frame)

    def wait_for(self, pred, timeout=10, what="a frame"):
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"no {what} at the guest")
            try:
                f = self.recv(left)
            except socket.timeout:
                continue
            if pred(f):
                return f
            if ARP in f and f[ARP].op == 1 and f[ARP].pdst == GUEST_IP:
                self.send(Ether(dst=f[ARP].hwsrc, src=GUEST_MAC) /
                          ARP(op=2, hwsrc=GUEST_MAC, psrc=GUEST_IP,
                              hwdst=f[ARP].hwsrc, pdst=f[ARP].psrc))

    def closed(self, timeout=5):
        """Whether the switch closes the connection (EOF, or a reset)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
        except socket.timeout:
            return False
        return True

    def close(self):
        self.sock.close()

    def resolve(self, ep):
        """ARP for the endpoint: its MAC, as it answered."""
        self.send(Ether(dst="ff:ff:ff:ff:ff:ff", src=GUEST_MAC) /
                  ARP(op=1, hwsrc=GUEST_MAC, psrc=GUEST_IP, pdst=ep.addr))
        reply = self.wait_for(lambda f: ARP in f and f[ARP].op == 2 and
                              f[ARP].psrc == ep.addr, what="ARP reply")
        assert reply[Ether].dst == GUEST_MAC
        return reply[ARP].hwsrc

    def ping(self, ep, mac, seq=1):
        """An echo request to the endpoint, and its reply."""
        self.send(Ether(dst=mac, src=GUEST_MAC) /
                  IP(src=GUEST_IP, dst=ep.addr) /
                  ICMP(type=8, id=0x4242, seq=seq) / Raw(b"stream" * 10))
        reply = self.wait_for(lambda f: ICMP in f and f[ICMP].type == 0 and
                              f[ICMP].seq == seq, what="echo reply")
        assert reply[IP].src == ep.addr and reply[IP].dst == GUEST_IP
        assert bytes(reply[Raw]) == b"stream" * 10

    def talks_to(self, ep, seq=1):
        mac = self.resolve(ep)
        assert mac == ep.mac
        self.ping(ep, mac, seq)


def port_state(d, port):
    [p] = [p for p in d.ctl("port", "show", json_out=True)["ports"]
           if p["name"] == port]
    return p["state"]


def stream_switch(lab, sockdir, *daemon_args, taps=1):
    """A daemon in ns S with tap endpoints and a stream port "vm" on
    sockdir/vm.sock: (daemon, endpoints, port, path)."""
    s = lab.netns("S")
    d = lab.daemon(s, *daemon_args)
    eps = [lab.endpoint(d, lab.name(f"t{c}"), c, f"198.19.0.{i + 1}/24")
           for i, c in enumerate("AB"[:taps])]
    port, path = lab.name("vm"), sockdir / "vm.sock"
    d.ctl("port", "add", port, "type", "stream", "path", path)
    return d, eps, port, path


def test_guest_talks_to_an_endpoint(lab, sockdir):
    d, (a,), port, path = stream_switch(lab, sockdir)
    assert port_state(d, port) == "listening"
    g = Guest.connect(path)
    wait_until(lambda: port_state(d, port) == "connected", what="connected")
    g.talks_to(a)
    for seq in range(2, 6):
        g.ping(a, a.mac, seq)
    st = port_stats(d, port)
    assert st["rx_packets"] >= 6 and st["tx_packets"] >= 6
    fdb = {e["mac"]: e["port"] for e in d.ctl("fdb", "show", json_out=True)["fdb"]}
    assert fdb[GUEST_MAC] == port and fdb[a.mac] == a.port
    assert "peer connected on" in d.log_text()
    g.close()


def test_socket_file_mode_and_removal(lab, sockdir):
    d, _, port, path = stream_switch(lab, sockdir)
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    d.ctl("port", "del", port)
    assert not path.exists()

    # A stale socket (a daemon that died) is replaced; a live one is not.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()
    if DAEMON_USER is not None:     # left by the daemon's user
        os.chown(path, DAEMON_USER.pw_uid, DAEMON_USER.pw_gid)
    d.ctl("port", "add", port, "type", "stream", "path", path)
    res = d.ctl("port", "add", lab.name("v2"), "type", "stream", "path", path,
                check=False)
    assert res.returncode != 0 and f"'{path}' is in use" in res.stderr
    res = d.ctl("port", "add", lab.name("v2"), "type", "stream", check=False)
    assert res.returncode != 0 and "needs a socket" in res.stderr
    res = d.ctl("port", "add", lab.name("v2"), "type", "stream", "path",
                "rel.sock", check=False)
    assert res.returncode != 0 and "'rel.sock' is not absolute" in res.stderr
    res = d.ctl("port", "add", lab.name("v2"), "type", "stream", "path",
                sockdir / "v2.sock", "mtu", "9217", check=False)
    assert res.returncode != 0 and "invalid mtu 9217" in res.stderr
    assert d.stop() == 0
    assert not path.exists()        # removed at exit too


def other_group():
    """A group the daemon is not in (not root's), by name and number."""
    for g in grp.getgrall():
        if g.gr_gid != 0:
            return g.gr_name, g.gr_gid
    pytest.skip("no group but root on this system")


@pytest.mark.parametrize("by", ["name", "number"])
def test_socket_group(lab, sockdir, by):
    # Giving a file to a group the daemon is not in takes CAP_CHOWN, which
    # the daemon drops after start-up: this daemon keeps its privileges.
    name, gid = other_group()
    s = lab.netns("S")
    d = lab.daemon(s, "--keep-privileges")
    path = sockdir / "vm.sock"
    d.ctl("port", "add", lab.name("vm"), "type", "stream", "path", path,
          "group", name if by == "name" else str(gid))
    st = os.lstat(path)
    assert st.st_gid == gid and stat.S_IMODE(st.st_mode) == 0o660
    res = d.ctl("port", "add", lab.name("v2"), "type", "stream", "connect",
                path, "group", str(gid), check=False)
    assert res.returncode != 0 and "'group' is for a socket" in res.stderr


def test_bad_input_is_counted_and_survived(lab, sockdir):
    d, (a,), port, path = stream_switch(lab, sockdir)

    def stats():
        return port_stats(d, port)

    # Lengths no frame has, and one more than the MTU allows: each closes
    # the connection, after the good frame before it went through.
    hello = eth_frame("ff:ff:ff:ff:ff:ff", GUEST_MAC)
    for n in (0, 0xFFFFFFFF, 1500 + 18 + 1, 70000):
        g = Guest.connect(path)
        g.send(hello)
        g.sock.sendall(struct.pack(">I", n) + b"\xaa" * 64)
        assert g.closed(), f"length {n} did not close the connection"
        g.close()
    wait_until(lambda: stats()["rx_packets"] >= 4, what="the good frames")
    assert stats()["drops"]["bad_length"] == 3
    assert stats()["drops"]["too_big"] == 1

    # A frame cut short by the end of the stream.
    g = Guest.connect(path)
    g.sock.sendall(struct.pack(">I", 100) + b"\x01" * 40)
    g.close()
    wait_until(lambda: stats()["drops"]["truncated"] == 1, what="truncated")

    # A client that connects and says nothing holds the port; one more
    # while it does is refused and counted.
    silent = Guest.connect(path)
    wait_until(lambda: port_state(d, port) == "connected", what="connected")
    extra = Guest.connect(path)
    assert extra.closed()
    extra.close()
    wait_until(lambda: stats()["rx_errors"] == 1, what="the refusal counted")
    silent.close()
    wait_until(lambda: port_state(d, port) == "listening", what="listening")

    assert d.alive()
    log = d.log_text()
    assert "closed the connection: frame length 4294967295" in log
    assert "frame length 1519 is more than mtu 1500" in log
    assert "refused a second connection" in log
    # And it still serves a guest.
    g = Guest.connect(path)
    g.talks_to(a)
    g.close()
    assert stats()["drops"]["bad_length"] == 3


def test_guest_restart(lab, sockdir):
    d, (a,), port, path = stream_switch(lab, sockdir)
    for i in range(3):
        g = Guest.connect(path)
        g.talks_to(a, seq=i + 1)
        g.close()
        wait_until(lambda: port_state(d, port) == "listening", what="listening")
    log = d.log_text()
    assert log.count("peer connected on") == 3
    assert log.count("peer disconnected; listening again") == 3


def test_slow_guest_loses_only_its_own_frames(lab, sockdir):
    """A guest that never reads: broadcasts to it fill the socket and the
    port's queue, then are dropped as tx_full; A and B go on talking."""
    d, (a, b), port, path = stream_switch(lab, sockdir, taps=2)
    g = Guest.connect(path)
    wait_until(lambda: port_state(d, port) == "connected", what="connected")
    flood = eth_frame("ff:ff:ff:ff:ff:ff", a.mac, payload=b"x" * 1400)
    raw_send(a, a.port, [flood], count=2000)
    wait_until(lambda: port_stats(d, port)["drops"]["tx_full"] > 0, what="tx_full")
    ping(a, b.addr)
    ping(b, a.addr)
    assert port_stats(d, b.port)["drops"]["tx_full"] == 0
    assert d.alive()
    # It reads at last: what it gets is whole frames, then it is served.
    g.sock.settimeout(2)
    got = 0
    try:
        while True:
            f = g.recv(timeout=2)
            got += 1
            if ARP in f or ICMP in f:
                continue
    except socket.timeout:
        pass
    assert got > 0
    g.talks_to(a)
    g.close()


def test_connect_to_a_listening_qemu(lab, sockdir):
    """connect SOCKET: the daemon is the client, and comes back whenever
    the listener does."""
    s = lab.netns("S")
    d = lab.daemon(s)
    a = lab.endpoint(d, lab.name("tA"), "A", "198.19.0.1/24")
    path, port = sockdir / "qemu.sock", lab.name("vm")

    def listen():
        l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        l.bind(str(path))
        # QEMU's socket, as the daemon's user may connect to it.
        if DAEMON_USER is not None:
            os.chown(path, DAEMON_USER.pw_uid, DAEMON_USER.pw_gid)
        l.listen(1)
        l.settimeout(5)
        return l

    # Added before QEMU listens: it tries every second.
    d.ctl("port", "add", port, "type", "stream", "connect", path)
    assert port_state(d, port) == "connecting"
    l = listen()
    conn, _ = l.accept()
    g = Guest(conn)
    wait_until(lambda: port_state(d, port) == "connected", what="connected")
    g.talks_to(a)

    # QEMU restarts: a new socket at the same path.
    g.close()
    l.close()
    path.unlink()
    wait_until(lambda: port_state(d, port) == "connecting", what="connecting")
    l = listen()
    conn, _ = l.accept()
    g = Guest(conn)
    g.talks_to(a, seq=2)
    assert d.log_text().count("cannot connect to") >= 1
    d.ctl("port", "del", port)
    assert g.closed()
    assert path.exists()        # QEMU's socket: not ours to remove
    g.close()
    l.close()
