"""QEMU guests for the VM backend tests.

A Guest is one qemu-system-x86_64 under software emulation (TCG: KVM is not
to be relied on here) booting the small image that tests/vm/build-guest.sh
makes: Debian's kernel and a busybox initramfs whose /init (tests/vm/init)
configures every virtio-net NIC from the kernel command line and then serves
commands on the serial console.

The console is QEMU's stdio: a reader thread copies everything the guest
prints into console.log in the guest's directory and into a buffer, so the
boot is never missed and a failure can quote it.  run() writes one request
line and waits for the answer framed by markers that carry a fresh token and
the exit status; the guest kills a command that outlives its timeout, so the
channel stays usable.

Every wait is bounded.  A guest started with a lab is killed (by its PID) by
the lab's finalizer like any process the lab started, also when the test
failed; any other guest is stopped when Python exits.
"""

import atexit
import base64
import math
import re
import secrets
import shlex
import subprocess
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from vswlab import ROOT, ping, sh, wait_until

CACHE = ROOT / "build" / "vm"
BUILD_SCRIPT = ROOT / "tests" / "vm" / "build-guest.sh"
QEMU = "qemu-system-x86_64"
READY = b"vsw-guest-ready"
GUEST_ERROR = "vsw-guest: error:"
REPLY_SLACK = 30        # seconds beyond a command's own timeout, for a loaded host
MAX_REQUEST = 4000      # a request is one line of the guest tty's 4095-byte buffer


# Guests that no lab looks after still die with the Python that started them
# (unless it is killed outright).
_running = weakref.WeakSet()


@atexit.register
def _stop_all():
    for g in list(_running):
        g.stop()


@dataclass(frozen=True)
class GuestImage:
    kernel: Path
    initrd: Path


def build_image(cache=CACHE, timeout=1800):
    """Builds (or finds in CACHE) the guest image; the first build installs
    QEMU and downloads the kernel, so it may take minutes."""
    sh("sh", BUILD_SCRIPT, cache, timeout=timeout)
    cache = Path(cache)
    # The uncompressed kernel boots through PVH in half the time.
    kernel = cache / "vmlinux"
    if not kernel.exists():
        kernel = cache / "vmlinuz"
    return GuestImage(kernel, cache / "initramfs.cpio.gz")


# The guest tests' one subnet: a tap endpoint of the switch, and a guest.
EP_ADDR = "198.19.8.1"
GUEST_ADDR = "198.19.8.10"


def switch_with_endpoint(lab):
    """A namespace S with a daemon and a tap endpoint E at EP_ADDR/24:
    (S, daemon, endpoint)."""
    s = lab.netns("S")
    d = lab.daemon(s)
    ep = lab.endpoint(d, lab.name("t1"), "E", f"{EP_ADDR}/24")
    return s, d, ep


def guest_ready(g, peer, timeout=120):
    """Waits for g's boot and its first ping to peer."""
    g.wait_booted(timeout=timeout)
    wait_until(lambda: g.run(f"ping -c 1 -W 1 {peer}")[0] == 0, timeout=60,
               interval=0.5, what=f"{g.name}'s first ping to {peer}")


def pings_both_ways(g, ep, guest_addr=GUEST_ADDR):
    """Small and near-MTU pings from the guest to ep and back, unfragmented."""
    for size in (56, 1400):
        rc, out = g.run(f"ping -c 3 -W 2 -s {size} {ep.addr}")
        assert rc == 0 and "3 packets received" in out, out
        ping(ep, guest_addr, extra=("-s", size, "-M", "do"))


def virtio_nic(netdev, mac, *opts):
    """The -device arguments of a virtio-net NIC on NETDEV.  romfile= skips
    the iPXE boot ROM, which the guest never uses."""
    return ["-device", ",".join(["virtio-net-pci", f"netdev={netdev}",
                                 f"mac={mac}", "romfile=", *opts])]


def vhost_user_nic(sock, mac, index=0, server=False, reconnect=None):
    """The -chardev, -netdev and -device arguments of a vhost-user NIC on
    the Unix socket SOCK (the guest needs shared_mem=True).  By default QEMU
    connects to a switch that listens; SERVER=True makes QEMU listen
    (server=on,wait=off) for a switch that connects, as vswitchd's
    "connect" ports do.  RECONNECT (seconds) makes a connecting QEMU retry
    after the switch went away.  INDEX keeps the ids of several NICs apart.

    vectors=0 (legacy INTx instead of MSI-X): QEMU 7.2 under TCG crashes
    (SIGSEGV in msix_set_vector_notifiers, from vhost_net_start) when the
    guest driver starts a vhost-user NIC that has MSI-X vectors; with KVM
    the vectors go through irqfds and do not take that path."""
    chardev = [f"socket,id=vc{index}", f"path={sock}"]
    if server:
        chardev += ["server=on", "wait=off"]
    if reconnect is not None:
        chardev.append(f"reconnect={reconnect}")
    return ["-chardev", ",".join(chardev),
            "-netdev", f"vhost-user,id=vn{index},chardev=vc{index}",
            *virtio_nic(f"vn{index}", mac, "vectors=0")]


class Guest:
    """One QEMU guest.  LAB (optional) kills it on cleanup and gives its
    directory; NS (a vswlab.Netns) is where QEMU runs, and so where its tap
    or socket backends live."""

    def __init__(self, image, lab=None, ns=None, name="vm"):
        self.image = image
        self.lab = lab
        self.ns = ns
        self.name = name
        parent = lab.tmp if lab is not None else None
        self.dir = Path(tempfile.mkdtemp(prefix=f"vm-{name}-", dir=parent))
        self.console_log = self.dir / "console.log"
        self.qemu_log = self.dir / "qemu.log"
        self.proc = None
        self.started = None
        self.booted = False
        self._buf = bytearray()
        self._eof = False
        self._cond = threading.Condition()
        self._reader = None
        self._lock = threading.Lock()       # one request at a time
        self._boot_from = 0                 # console offset of the current boot

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, netdev_args=(), mem="256M", shared_mem=False,
              kernel_args=(), qemu_args=(), can_reboot=False):
        """Launches QEMU.  NETDEV_ARGS are the caller's -netdev/-device (and
        -chardev) arguments; KERNEL_ARGS are added to the kernel command line
        (vsw.ip=, vsw.mtu=... : see tests/vm/init).  SHARED_MEM backs guest
        RAM with a shared memfd, as vhost-user needs.  CAN_REBOOT leaves out
        -no-reboot, so that a guest's reboot (reboot()) resets the machine
        instead of ending QEMU; a guest whose init died then reboots too."""
        assert self.proc is None, "guest already started"
        append = " ".join(["console=ttyS0", "quiet", "panic=-1", *kernel_args])
        cmd = [QEMU, "-accel", "tcg", "-smp", "1", "-m", mem,
               "-nodefaults", "-nographic", "-serial", "stdio", "-monitor", "none",
               *([] if can_reboot else ["-no-reboot"]),
               "-kernel", self.image.kernel, "-initrd", self.image.initrd,
               "-append", append]
        if shared_mem:
            cmd += ["-object", f"memory-backend-memfd,id=mem,size={mem},share=on",
                    "-numa", "node,memdev=mem"]
        cmd += [*netdev_args, *qemu_args]
        if self.ns is not None:
            # ip netns exec execs QEMU in place: the PID is QEMU's.
            cmd = ["ip", "netns", "exec", self.ns.name, *cmd]
        self.cmdline = [str(c) for c in cmd]
        self._qemu_logf = open(self.qemu_log, "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.cmdline, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._qemu_logf)
        if self.lab is not None:
            self.lab.procs.append(self.proc)
        _running.add(self)
        self._reader = threading.Thread(target=self._read_console,
                                        name=f"console-{self.name}", daemon=True)
        self._reader.start()
        return self

    def _read_console(self):
        with open(self.console_log, "wb") as log:
            while True:
                try:
                    chunk = self.proc.stdout.read1(65536)
                except (OSError, ValueError):
                    chunk = b""
                if chunk:
                    log.write(chunk)
                    log.flush()
                with self._cond:
                    if chunk:
                        self._buf += chunk
                    else:
                        self._eof = True
                    self._cond.notify_all()
                if not chunk:
                    return

    def _wait_for(self, found, deadline):
        """Waits until FOUND(buffer) is true, QEMU's console closes or the
        deadline passes; returns FOUND's last result."""
        with self._cond:
            while True:
                res = found(self._buf)
                if res or self._eof:
                    return res
                left = deadline - time.monotonic()
                if left <= 0:
                    return res
                self._cond.wait(min(left, 1.0))

    def console(self):
        with self._cond:
            return self._buf.decode(errors="replace")

    def _fail(self, what):
        if self._eof:
            try:        # a closed console: let QEMU's exit status show
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                pass
        tail = "\n".join(self.console().splitlines()[-40:])
        status = self.proc.poll() if self.proc else None
        qemu = self.qemu_log.read_text(errors="replace") if self.qemu_log.exists() else ""
        raise AssertionError(f"guest {self.name}: {what}"
                             f"{'' if status is None else f' (QEMU exited {status})'}\n"
                             f"--- console (last lines of {self.console_log}):\n{tail}\n"
                             f"--- QEMU stderr:\n{qemu}")

    def wait_booted(self, timeout=120):
        """Waits for the guest's ready line; returns the seconds since start."""
        assert self.proc is not None, "guest not started"
        deadline = time.monotonic() + timeout
        if not self._wait_for(lambda b: READY in b[self._boot_from:], deadline):
            self._fail("console closed before the guest was ready" if self._eof
                       else f"not ready within {timeout} s")
        if GUEST_ERROR in self.console():
            self._fail("reported an error while booting")
        self.booted = True
        return time.monotonic() - self.started

    def run(self, cmd, timeout=30, check=False):
        """Runs CMD (a shell script string, or an argv list) in the guest;
        returns (exit status, stdout and stderr).  The guest kills it after
        TIMEOUT seconds (status 137); a guest that does not answer fails."""
        if not self.booted:
            self.wait_booted()
        script = cmd if isinstance(cmd, str) else shlex.join(map(str, cmd))
        token = secrets.token_hex(8)
        secs = max(1, math.ceil(timeout))
        req = f"vsw-cmd {token} {secs} {base64.b64encode(script.encode()).decode()}\n"
        assert len(req) < MAX_REQUEST, f"command too long for the console: {len(req)} bytes"
        reply = re.compile(rb"<<<vsw-begin " + token.encode() + rb">>>\r?\n(.*?)\r?\n"
                           rb"<<<vsw-end " + token.encode() + rb" rc=(\d+)>>>", re.S)
        with self._lock:
            with self._cond:
                start = len(self._buf)
            try:
                self.proc.stdin.write(req.encode())
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                self._fail(f"console closed; cannot run {script!r}")
            m = self._wait_for(lambda b: reply.search(b, start),
                               time.monotonic() + secs + REPLY_SLACK)
        if not m:
            self._fail(f"no answer to {script!r} within {secs + REPLY_SLACK} s")
        rc, out = int(m.group(2)), m.group(1).decode(errors="replace")
        if check and rc != 0:
            raise AssertionError(f"guest {self.name}: {script!r} failed ({rc}):\n{out}")
        return rc, out

    def reboot(self, timeout=120):
        """Reboots the guest from its console (reboot -f: the kernel resets
        the machine, as a guest's own reboot does; the guest must have been
        started with can_reboot=True) and waits until it is ready again;
        returns the seconds that took."""
        assert self.booted, "guest not booted"
        # The request never gets an answer: the machine resets under it.
        req = f"vsw-cmd {secrets.token_hex(8)} 30 {base64.b64encode(b'reboot -f').decode()}\n"
        with self._lock:
            with self._cond:
                self._boot_from = len(self._buf)
            self.booted = False
            started = time.monotonic()
            try:
                self.proc.stdin.write(req.encode())
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                self._fail("console closed; cannot reboot")
        self.wait_booted(timeout)
        return time.monotonic() - started

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """Stops QEMU (SIGTERM, then SIGKILL); returns its exit status."""
        if self.proc is None:
            return None
        _running.discard(self)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        for f in (self.proc.stdin, self._qemu_logf):
            try:
                f.close()
            except OSError:
                pass
        self._reader.join(timeout)
        self.booted = False
        return self.proc.returncode
