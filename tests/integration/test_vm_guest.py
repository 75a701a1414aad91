"""The VM test guest itself: boot, the console command channel, a tap NIC.

    ns G                                       QEMU (runs in ns G)
      tap gt  198.19.7.1/24  <---- tap fd ---->  eth0 198.19.7.10/24 (virtio-net)
                                                 ttyS0 <-- stdio --> vmlab.Guest.run()

No daemon here: these tests check the guest that the VM backend tests stand
on, so they run against one build only.
"""

import time

import pytest

from vmlab import Guest, virtio_nic
from vswlab import ping, wait_until

pytestmark = pytest.mark.parametrize("lab", ["release"], indirect=True)

NS_ADDR = "198.19.7.1"
GUEST_ADDR = "198.19.7.10"
GUEST_MAC = "52:54:00:56:53:0a"


def tap_namespace(lab):
    """Namespace G with a tap for QEMU to open, addressed NS_ADDR."""
    ns = lab.netns("G")
    tap = lab.name("gt")
    ns.run("ip", "tuntap", "add", "dev", tap, "mode", "tap")
    ns.run("sysctl", "-qw", f"net.ipv6.conf.{tap}.disable_ipv6=1")
    ns.run("ip", "addr", "add", f"{NS_ADDR}/24", "dev", tap)
    ns.run("ip", "link", "set", tap, "up")
    return ns, tap


def test_guest_and_namespace_ping_over_tap(lab, guest_image):
    ns, tap = tap_namespace(lab)
    g = Guest(guest_image, lab, ns=ns)
    g.start(["-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no",
             *virtio_nic("n0", GUEST_MAC)],
            kernel_args=[f"vsw.ip={GUEST_ADDR}/24"])
    boot = g.wait_booted(timeout=120)

    def guest_pings():
        return g.run(f"ping -c 1 -W 1 {NS_ADDR}")[0] == 0
    wait_until(guest_pings, timeout=30, interval=0.5, what="the guest's first ping")
    print(f"\nguest {g.name}: ready {boot:.1f} s after start, "
          f"first ping {time.monotonic() - g.started:.1f} s after start")

    rc, out = g.run("ip -o link show eth0")
    assert rc == 0 and GUEST_MAC in out, out
    for size in (56, 1400):
        rc, out = g.run(f"ping -c 3 -W 2 -s {size} {NS_ADDR}")
        assert rc == 0 and "3 packets received" in out, out
        ping(ns, GUEST_ADDR, extra=("-s", size, "-M", "do"))

    rc, out = g.run("ping -c 1 -W 1 198.19.7.99")
    assert rc != 0, out
    assert g.run("exit 3") == (3, "")
    assert g.stop() is not None
    assert not g.alive()


def test_command_channel_on_a_shared_memory_guest(lab, guest_image):
    g = Guest(guest_image, lab)
    g.start(shared_mem=True)
    g.wait_booted(timeout=120)
    # The output comes back exactly, stderr included, and so does the status.
    assert g.run("printf 'a\\nb'; echo ' c' >&2") == (0, "a\nb c\n")
    assert g.run(["echo", "it's", "$HOME"]) == (0, "it's $HOME\n")
    assert g.run("false") == (1, "")
    assert g.run("no-such-command")[0] == 127
    # A command that outlives its timeout is killed and the channel goes on.
    assert g.run("echo started; sleep 60", timeout=2) == (137, "started\n")
    assert g.run("echo still here") == (0, "still here\n")
    assert g.run("ls /sys/class/net") == (0, "lo\n")
    # Guest RAM is a shared memfd mapping, which vhost-user would map too.
    assert 256 << 20 in shared_memfd_sizes(g.pid)


def shared_memfd_sizes(pid):
    """The sizes of the process's shared mappings of QEMU's memfd backends."""
    sizes = []
    for line in open(f"/proc/{pid}/maps"):
        f = line.split()
        if len(f) >= 6 and f[1].endswith("s") and "/memfd:memory-backend-memfd" in f[5]:
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            sizes.append(hi - lo)
    return sizes
