"""QEMU guests on the switch: a tap QEMU holds (system port, by hand and by
the vswitch-ifup/ifdown scripts), a Unix stream socket (no tap at all), and
a guest reaching another host over a VXLAN tunnel.

    ns S: vswitchd                                    ns E
      system port vmN <-- tap fd --> QEMU (ns S)        tap tN 198.19.8.1/24
      or stream port  <-- unix socket --> QEMU          (an endpoint on a
                                 guest eth0 198.19.8.10/24  tap port)

    two hosts:   guest --stream-- vswitchd H1 == VXLAN over veth == vswitchd H2 -- E2

The guest runs under software emulation (tests/vmlab.py): each test boots
one or two guests of about 10 s each, every wait is bounded.
"""

import os
import subprocess

import pytest

from tunlab import Host, endpoint, link, tunnel
from vmlab import (EP_ADDR, GUEST_ADDR, Guest, guest_ready, pings_both_ways,
                   switch_with_endpoint, virtio_nic)
from vswlab import ROOT, find_port, wait_until

GUEST_MAC = "52:54:00:56:53:10"


def test_guest_on_a_tap_qemu_holds_as_a_system_port(lab, guest_image):
    """The README's first recipe, and libvirt's managed='no' tap: the tap is
    made first, the switch attaches to its kernel side, QEMU opens it."""
    s, d, ep = switch_with_endpoint(lab)
    tap = lab.name("vm")
    s.run("ip", "tuntap", "add", "dev", tap, "mode", "tap")
    s.run("ip", "link", "set", tap, "up")
    d.ctl("port", "add", tap, "type", "system")
    g = Guest(guest_image, lab, ns=s)
    g.start(["-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no",
             *virtio_nic("n0", GUEST_MAC)], kernel_args=[f"vsw.ip={GUEST_ADDR}/24"])
    guest_ready(g, EP_ADDR)
    pings_both_ways(g, ep)
    port = find_port(d.ctl("port", "show", json_out=True), tap)
    assert port["type"] == "system" and port["state"] == "up"
    assert port["rx_packets"] > 0 and port["tx_packets"] > 0
    assert GUEST_MAC in d.ctl("fdb", "show").stdout


def test_guest_plugged_in_by_the_ifup_scripts(lab, guest_image, monkeypatch):
    s, d, ep = switch_with_endpoint(lab)
    tap = lab.name("vm")
    # What QEMU's scripts run: the daemon's socket, this build's vswctl.
    monkeypatch.setenv("VSWCTL_SOCKET", str(d.sock))
    monkeypatch.setenv("VSWCTL", str(lab.vswctl))
    up, down = ROOT / "tools" / "vswitch-ifup", ROOT / "tools" / "vswitch-ifdown"
    g = Guest(guest_image, lab, ns=s)
    g.start(["-netdev", f"tap,id=n0,ifname={tap},script={up},downscript={down}",
             *virtio_nic("n0", GUEST_MAC)], kernel_args=[f"vsw.ip={GUEST_ADDR}/24"])
    guest_ready(g, EP_ADDR)
    pings_both_ways(g, ep)
    assert find_port(d.ctl("port", "show", json_out=True), tap)["type"] == "system"
    g.stop()
    # QEMU ran the down script before it let go of the tap.
    wait_until(lambda: tap not in [p["name"] for p in
                                   d.ctl("port", "show", json_out=True)["ports"]],
               timeout=20, what="the port to go with the guest")
    assert d.alive()


def test_guest_on_a_stream_socket_and_its_restart(lab, guest_image, tmp_path):
    s, d, ep = switch_with_endpoint(lab)
    sock = lab.rundir() / "vm.sock"       # the daemon removes it as its user
    port = lab.name("vs")
    d.ctl("port", "add", port, "type", "stream", "path", sock)
    assert oct(os.stat(sock).st_mode & 0o777) == "0o660"
    netdev = ["-netdev", f"stream,id=n0,server=off,addr.type=unix,addr.path={sock}",
              *virtio_nic("n0", GUEST_MAC)]
    g = Guest(guest_image, lab, ns=s)
    g.start(netdev, kernel_args=[f"vsw.ip={GUEST_ADDR}/24"])
    guest_ready(g, EP_ADDR)
    pings_both_ways(g, ep)
    assert find_port(d.ctl("port", "show", json_out=True), port)["state"] == "connected"

    # The guest goes away and a new one comes: the port takes it.
    g.stop()
    wait_until(lambda: find_port(d.ctl("port", "show", json_out=True), port)["state"]
               != "connected", timeout=20, what="the port to see the guest go")
    g2 = Guest(guest_image, lab, ns=s, name="vm2")
    g2.start(netdev, kernel_args=[f"vsw.ip={GUEST_ADDR}/24"])
    guest_ready(g2, EP_ADDR)
    pings_both_ways(g2, ep)
    assert d.alive()


def test_guest_reaches_another_host_over_vxlan(lab, guest_image, tmp_path):
    h1, h2 = Host(lab, 1), Host(lab, 2)
    link(lab, h1, h2)
    tunnel(h1, "vx", "vxlan", h2)
    tunnel(h2, "vx", "vxlan", h1)
    e2 = endpoint(lab, h2)                          # 198.19.0.2 behind H2
    sock = lab.rundir() / "vm.sock"       # the daemon removes it as its user
    h1.ctl("port", "add", lab.name("vs"), "type", "stream", "path", sock)
    g = Guest(guest_image, lab, ns=h1.ns)
    g.start(["-netdev", f"stream,id=n0,server=off,addr.type=unix,addr.path={sock}",
             *virtio_nic("n0", GUEST_MAC)], kernel_args=["vsw.ip=198.19.0.10/24"])
    guest_ready(g, e2.addr)
    pings_both_ways(g, e2, guest_addr="198.19.0.10")
    assert h2.ctl("fdb", "show").stdout.count(GUEST_MAC) == 1


def test_the_vm_recipes_are_tested():
    """Every QEMU command line in the README's VM section uses an option
    these tests use (a recipe that was never run is a bug report)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Virtual machines", 1)[1].split("\n## ", 1)[0]
    for netdev in ("-netdev tap,id=n0,ifname=vm0,script=no,downscript=no",
                   "script=/usr/local/sbin/vswitch-ifup",
                   "-netdev stream,id=n0,server=off,addr.type=unix"):
        assert netdev in section, netdev
    subprocess.run(["sh", "-n", ROOT / "tools" / "vswitch-ifup"], check=True)
    subprocess.run(["sh", "-n", ROOT / "tools" / "vswitch-ifdown"], check=True)
