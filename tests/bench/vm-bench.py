#!/usr/bin/python3
"""vm-bench.py - a QEMU guest's TCP throughput to an endpoint, per backend.

    guest eth0 198.19.8.10 --backend-- vswitchd (ns S) --tap-- ns E 198.19.8.1

Backends: "system" (a tap QEMU holds, attached as a system port),
"stream" (QEMU -netdev stream on the port's Unix socket) and "vhost-user"
(the guest's rings in its shared memory, read and written by the switch).  The guest runs
under software emulation (-accel tcg), which dominates every figure: they
compare the backends with each other, not with anything else.  The guest
sends BYTES with busybox dd | nc, a sink in E counts them; each figure is
the median of REPS runs, the backends taking turns.

Usage (root, after make):  /usr/bin/python3 tests/bench/vm-bench.py
    REPS=3 MIB=64  repetitions, MiB per run
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vmlab import Guest, build_image, vhost_user_nic, virtio_nic  # noqa: E402
from vswlab import Lab, wait_until  # noqa: E402

REPS = int(os.environ.get("REPS", "3"))
MIB = int(os.environ.get("MIB", "64"))
EP, GUEST = "198.19.8.1", "198.19.8.10"
SINK = ("import socket, sys, time\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind((sys.argv[1], 5001)); s.listen(1); print('listening', flush=True)\n"
        "c, _ = s.accept(); want = int(sys.argv[2]); n = 0; t0 = None\n"
        "while n < want:\n"
        "    b = c.recv(1 << 16)\n"
        "    if not b: break\n"
        "    t0 = t0 or time.monotonic(); n += len(b)\n"
        "print(n, time.monotonic() - t0, flush=True); c.close()\n")


def backend(lab, image, d, s, kind, tmp):
    """A booted guest on the daemon by backend KIND."""
    g = Guest(image, lab, ns=s, name=kind)
    if kind == "system":
        tap = lab.name("vm")
        s.run("ip", "tuntap", "add", "dev", tap, "mode", "tap")
        s.run("ip", "link", "set", tap, "up")
        d.ctl("port", "add", tap, "type", "system")
        netdev = f"tap,id=n0,ifname={tap},script=no,downscript=no"
    elif kind == "vhost-user":
        sock = lab.rundir() / "vm.sock"     # the daemon makes it as its user
        d.ctl("port", "add", lab.name("vh"), "type", "vhost-user", "path", sock)
        netdev = None
    else:
        sock = lab.rundir() / "vm.sock"     # the daemon makes it as its user
        d.ctl("port", "add", lab.name("vs"), "type", "stream", "path", sock)
        netdev = f"stream,id=n0,server=off,addr.type=unix,addr.path={sock}"
    if netdev is None:
        g.start(vhost_user_nic(sock, "52:54:00:56:53:20"), shared_mem=True,
                kernel_args=[f"vsw.ip={GUEST}/24"])
    else:
        g.start(["-netdev", netdev, *virtio_nic("n0", "52:54:00:56:53:20")],
                kernel_args=[f"vsw.ip={GUEST}/24"])
    g.wait_booted(timeout=120)
    wait_until(lambda: g.run(f"ping -c 1 -W 1 {EP}")[0] == 0, timeout=60,
               interval=0.5, what="the guest's first ping")
    return g


def measure(lab, ep, g):
    """Mbit/s of one run from the guest to the sink in EP."""
    want = MIB << 20
    sink = lab.popen(ep, "/usr/bin/python3", "-c", SINK, EP, str(want),
                     stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().startswith("listening")
    rc, out = g.run(f"dd if=/dev/zero bs=65536 count={MIB * 16} 2>/dev/null | "
                    f"nc {EP} 5001 >/dev/null", timeout=600)
    n, secs = sink.stdout.readline().split()
    sink.wait(timeout=30)
    assert int(n) >= want, (n, out)
    return int(n) * 8 / float(secs) / 1e6


def main():
    image = build_image()
    tmp = tempfile.mkdtemp(prefix="vswitch-vm-bench.")
    lab = Lab("release", Path(tmp))
    figures = {"system": [], "stream": [], "vhost-user": []}
    try:
        for rep in range(REPS):
            kinds = list(figures) if rep % 2 == 0 else list(reversed(figures))
            for kind in kinds:
                s = lab.netns(f"S{kind[:2]}{rep}")
                d = lab.daemon(s)
                ep = lab.endpoint(d, lab.name(f"t{kind[:2]}{rep}"), f"E{kind[:2]}{rep}",
                                  f"{EP}/24")
                g = backend(lab, image, d, s, kind, tempfile.mkdtemp(dir=tmp))
                mbps = measure(lab, ep, g)
                figures[kind].append(mbps)
                print(f"[{time.strftime('%H:%M:%S')}] rep {rep + 1} {kind}: "
                      f"{mbps:.0f} Mbit/s", flush=True)
                g.stop()
                d.stop()
    finally:
        lab.cleanup()
    print(f"\nguest to endpoint, TCP, {MIB} MiB per run, median of {REPS} "
          f"(software emulation: compare the rows, nothing else)")
    base = statistics.median(figures["system"])
    for kind, v in figures.items():
        m = statistics.median(v)
        print(f"{kind:10s} {m:8.0f} Mbit/s  ({m / base:.2f} of system)")


if __name__ == "__main__":
    main()
