"""QEMU guests on vhost-user ports: the guest's virtio-net rings in its own
memory, which QEMU shares with vswitchd (a memfd), no kernel in between.

    ns S: vswitchd                                         ns E
      vhost-user port vh <-- SOCKET + shared memory --> QEMU (ns S)   tap t1 198.19.8.1/24
                                   guest eth0 198.19.8.10/24          (an endpoint on a
                                                                       tap port)

"path SOCKET": the daemon listens, QEMU connects (a plain -chardev socket).
"connect SOCKET": QEMU listens (server=on) and the daemon connects, and
connects again when either side comes back.

The guests run under software emulation (tests/vmlab.py), about 10 s a
boot; the tests reuse a guest across steps (reboot, captures, counters)
rather than boot one per step.  Every wait is bounded.
"""

import json
import os
import re
import socket

import pytest

from vmlab import (EP_ADDR, GUEST_ADDR, Guest, guest_ready, pings_both_ways,
                   switch_with_endpoint, vhost_user_nic)
from vswlab import DAEMON_USER, ROOT, find_port, port_stats, sh, wait_until

GUEST2_ADDR = "198.19.8.11"
GUEST_MAC = "52:54:00:56:53:20"
GUEST2_MAC = "52:54:00:56:53:21"
MEM = "256M"

release_only = pytest.mark.parametrize("lab", ["release"], indirect=True)


def port_info(d, port):
    return find_port(d.ctl("port", "show", json_out=True), port)


def vhost_port(lab, d, suffix="vh"):
    """A listening vhost-user port; (port name, socket path)."""
    sock = lab.rundir() / "vm.sock"       # the daemon removes it as its user
    port = lab.name(suffix)
    d.ctl("port", "add", port, "type", "vhost-user", "path", sock)
    assert sock.is_socket()
    return port, sock


def vhost_guest(lab, s, sock, name="vm", mac=GUEST_MAC, addr=GUEST_ADDR, **kw):
    g = Guest(lab.image, lab, ns=s, name=name)
    g.start(vhost_user_nic(sock, mac, **kw), mem=MEM, shared_mem=True,
            kernel_args=[f"vsw.ip={addr}/24"], can_reboot=True)
    return g


def running_state(d, port):
    """The port's state with a guest's rings running ("up"; "connected" is
    QEMU there without running rings), and no complaint."""
    info = port_info(d, port)
    assert info["type"] == "vhost-user", info
    assert info["state"] == "up", info
    assert "state_why" not in info, info
    return info["state"]


def capture_sees_ping(d, port, g, ep, tmp_path):
    """A capture on the vhost-user port sees the guest's pings both ways."""
    pcap = tmp_path / f"{port}.pcap"
    d.ctl("capture", "start", port, "-w", pcap, "filter", "icmp")
    rc, out = g.run(f"ping -c 2 -W 2 {ep.addr}")
    assert rc == 0, out
    d.ctl("capture", "stop", port)
    res = sh("tcpdump", "-nn", "-r", pcap)
    lines = [l for l in res.stdout.splitlines() if l.strip()]
    req = [l for l in lines if f"{GUEST_ADDR} > {ep.addr}: ICMP echo request" in l]
    rep = [l for l in lines if f"{ep.addr} > {GUEST_ADDR}: ICMP echo reply" in l]
    assert len(req) == 2 and len(rep) == 2, lines


def test_guest_on_vhost_user_pings_reboots_and_comes_back(lab, guest_image, tmp_path):
    """One port through a guest's life: it boots and pings the endpoint,
    counters and captures see it, it reboots (rings reset), its QEMU is
    killed and another QEMU takes the same socket."""
    lab.image = guest_image
    s, d, ep = switch_with_endpoint(lab)
    port, sock = vhost_port(lab, d)
    idle = port_info(d, port)
    assert idle["type"] == "vhost-user" and idle["rx_packets"] == 0, idle

    g = vhost_guest(lab, s, sock)
    guest_ready(g, EP_ADDR)
    before = port_stats(d, port)
    pings_both_ways(g, ep)
    up = running_state(d, port)
    after = port_stats(d, port)
    # 2 x (3 requests + 3 replies) each way went through the port.
    assert after["rx_packets"] - before["rx_packets"] >= 12, (before, after)
    assert after["tx_packets"] - before["tx_packets"] >= 12, (before, after)
    assert after["rx_bytes"] - before["rx_bytes"] > 6 * 1400, (before, after)
    assert GUEST_MAC in d.ctl("fdb", "show").stdout
    capture_sees_ping(d, port, g, ep, tmp_path)

    # The guest reboots: its driver resets the device, the rings start over.
    secs = g.reboot()
    print(f"\n{g.name}: rebooted in {secs:.1f} s")
    wait_until(lambda: g.run(f"ping -c 1 -W 1 {EP_ADDR}")[0] == 0, timeout=60,
               interval=0.5, what="a ping after the reboot")
    pings_both_ways(g, ep)
    assert running_state(d, port) == up

    # QEMU dies without a word; the port lets go and waits for the next.
    g.proc.kill()
    g.stop()
    wait_until(lambda: port_info(d, port)["state"] != up, timeout=20,
               what="the port to see QEMU go")
    assert sock.exists()
    g2 = vhost_guest(lab, s, sock, name="vm2")
    guest_ready(g2, EP_ADDR)
    pings_both_ways(g2, ep)
    assert running_state(d, port) == up
    g2.stop()
    wait_until(lambda: port_info(d, port)["state"] != up, timeout=20,
               what="the port to see QEMU stop")
    assert d.alive()
    # As the stream port's: QEMU in the socket's group may connect.
    assert oct(os.stat(sock).st_mode & 0o777) == "0o660"
    d.ctl("port", "del", port)
    assert not sock.exists()


@release_only
def test_two_guests_on_two_vhost_user_ports(lab, guest_image):
    lab.image = guest_image
    s, d, ep = switch_with_endpoint(lab)
    pa, sa = vhost_port(lab, d, "va")
    pb, sb = vhost_port(lab, d, "vb")
    # Both boot at once: one guest's boot time for the two.
    ga = vhost_guest(lab, s, sa, name="vma")
    gb = vhost_guest(lab, s, sb, name="vmb", mac=GUEST2_MAC, addr=GUEST2_ADDR, index=1)
    ga.wait_booted(timeout=180)
    gb.wait_booted(timeout=180)
    wait_until(lambda: ga.run(f"ping -c 1 -W 1 {GUEST2_ADDR}")[0] == 0, timeout=60,
               interval=0.5, what="guest a's first ping to guest b")
    for size in (56, 1400):
        rc, out = ga.run(f"ping -c 3 -W 2 -s {size} {GUEST2_ADDR}")
        assert rc == 0 and "3 packets received" in out, out
        rc, out = gb.run(f"ping -c 3 -W 2 -s {size} {GUEST_ADDR}")
        assert rc == 0 and "3 packets received" in out, out
    rc, out = gb.run(f"ping -c 2 -W 2 {EP_ADDR}")
    assert rc == 0, out
    for p in (pa, pb):
        st = port_stats(d, p)
        assert st["rx_packets"] >= 12 and st["tx_packets"] >= 12, st
    fdb = d.ctl("fdb", "show").stdout
    assert GUEST_MAC in fdb and GUEST2_MAC in fdb
    assert d.alive()


def qemu_listens(lab, s, sock, name="vm"):
    """A guest whose QEMU listens on sock (server=on) for the daemon."""
    g = Guest(lab.image, lab, ns=s, name=name)
    g.start(vhost_user_nic(sock, GUEST_MAC, server=True), mem=MEM, shared_mem=True,
            kernel_args=[f"vsw.ip={GUEST_ADDR}/24"])
    wait_until(lambda: sock.exists() or not g.alive(), timeout=20,
               what="QEMU's socket")
    assert g.alive(), g.qemu_log.read_text()
    # QEMU's socket, as the daemon's user may connect to it.
    if DAEMON_USER is not None:
        os.chown(sock, DAEMON_USER.pw_uid, DAEMON_USER.pw_gid)
    return g


def veth_endpoint(lab, s):
    """An endpoint on a veth whose near end is a system port: unlike a
    tap, it outlives the daemon."""
    ep = lab.netns("E")
    near, far = lab.name("ve"), lab.name("vf")
    sh("ip", "link", "add", near, "netns", s.name, "type", "veth",
       "peer", "name", far, "netns", ep.name)
    s.run("ip", "link", "set", near, "up")
    ep.run("sysctl", "-qw", f"net.ipv6.conf.{far}.disable_ipv6=1")
    ep.run("ip", "addr", "add", f"{EP_ADDR}/24", "dev", far)
    ep.run("ip", "link", "set", far, "up")
    ep.addr = EP_ADDR
    return ep, near


def test_connect_mode_survives_a_vswitchd_restart(lab, guest_image):
    """connect SOCKET, as Open vSwitch recommends: QEMU listens, so the
    switch can die and come back under a running guest."""
    lab.image = guest_image
    s = lab.netns("S")
    ep, near = veth_endpoint(lab, s)
    sock = lab.rundir() / "qemu.sock"
    port = lab.name("vh")
    conf = lab.rundir() / "vswitchd.conf"
    conf.write_text(f"port add {near} type system\n"
                    f"port add {port} type vhost-user connect {sock}\n")
    conf.chmod(0o644)
    g = qemu_listens(lab, s, sock)
    d = lab.daemon(s, "--config", conf)
    guest_ready(g, EP_ADDR)
    pings_both_ways(g, ep)
    up = running_state(d, port)

    # Killed outright: no goodbye to QEMU, which keeps the guest running.
    d.stop(sig=9)
    rc, _ = g.run(f"ping -c 1 -W 1 {EP_ADDR}")
    assert rc != 0
    d2 = lab.daemon(s, "--config", conf)
    wait_until(lambda: g.run(f"ping -c 1 -W 1 {EP_ADDR}")[0] == 0, timeout=60,
               interval=0.5, what="a ping through the restarted daemon")
    pings_both_ways(g, ep)
    assert running_state(d2, port) == up
    assert g.alive()
    # And a clean stop too: the daemon lets go, QEMU waits for it.
    d2.stop()
    d3 = lab.daemon(s, "--config", conf)
    wait_until(lambda: g.run(f"ping -c 1 -W 1 {EP_ADDR}")[0] == 0, timeout=60,
               interval=0.5, what="a ping after a clean restart")
    assert running_state(d3, port) == up

    # QEMU dies and another listens on the same path: the daemon comes back.
    g.proc.kill()
    g.stop()
    sock.unlink()
    wait_until(lambda: port_info(d3, port)["state"] != up, timeout=20,
               what="the port to see QEMU go")
    g2 = qemu_listens(lab, s, sock, name="vm2")
    guest_ready(g2, EP_ADDR)
    pings_both_ways(g2, ep)
    assert running_state(d3, port) == up
    d3.ctl("port", "del", port)
    assert sock.exists()        # QEMU's socket: not the daemon's to remove
    assert g2.alive()


@release_only
def test_guest_memory_not_shared_is_an_error_in_port_show(lab, guest_image):
    """Guest RAM that QEMU does not share is the known trap, two ways, two
    guests booting at once: plain -m (QEMU 7.2 then sends no memory table
    at all and falls back on its own virtio, so only the missing table
    tells), and a memfd without share=on (QEMU sends it, but the guest
    writes its private copy: the switch would read rings that never move).
    The port must say so, not sit there "connected"."""
    lab.image = guest_image
    s, d, ep = switch_with_endpoint(lab)
    guests = {}
    for i, memory in enumerate(("plain", "memfd-private")):
        port, sock = vhost_port(lab, d, f"v{i}")
        qemu_args = []
        if memory == "memfd-private":
            qemu_args = ["-object", f"memory-backend-memfd,id=mem,size={MEM},share=off",
                         "-numa", "node,memdev=mem"]
        g = Guest(lab.image, lab, ns=s, name=memory)
        g.start(vhost_user_nic(sock, GUEST_MAC), mem=MEM, shared_mem=False,
                kernel_args=[f"vsw.ip={GUEST_ADDR}/24"], qemu_args=qemu_args)
        guests[port] = g

    def complaint(port):
        why = port_info(d, port).get("state_why", "")
        return "share" in why and why
    failed = []
    for port, g in guests.items():
        # The guest's driver starts the device while it boots.
        g.wait_booted(timeout=120)
        rc, _ = g.run(f"ping -c 1 -W 1 {EP_ADDR}")
        assert rc != 0
        try:
            wait_until(lambda: complaint(port), timeout=20, interval=0.5,
                       what=f"port show to say why {port} ({g.name}) cannot run")
        except AssertionError as e:
            failed.append(f"{e}: {port_info(d, port)}")
            continue
        info = port_info(d, port)
        assert info["state"] != "up", info
        shown = d.ctl("port", "show").stdout
        assert complaint(port) in shown, shown
        # Said once, not once a kick.
        assert d.log_text().count(complaint(port)) <= 2
    assert not failed, "\n".join(failed)
    assert d.alive()


def qmp(path, *commands, timeout=30):
    """Runs QMP COMMANDS ((name, arguments) pairs) on QEMU's socket PATH;
    fails on the first error.  Events in between are skipped."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(timeout)
        c.connect(str(path))
        f = c.makefile("rw")

        def reply():
            while True:
                msg = json.loads(f.readline())
                if "event" not in msg:
                    return msg

        assert "QMP" in json.loads(f.readline())
        for name, args in (("qmp_capabilities", {}), *commands):
            f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
            f.flush()
            r = reply()
            assert "return" in r, (name, r)


def regions(d, port):
    """How many regions of guest memory the port has mapped (port show)."""
    m = re.search(r"guest memory: (\d+) of", port_info(d, port).get("detail", ""))
    return int(m.group(1)) if m else 0


@release_only
def test_memory_hotplug_reaches_the_port(lab, guest_image):
    """A DIMM plugged into a running guest (a shared memfd backend and a
    pc-dimm, through QMP) reaches the port as one more region of guest
    memory (ADD_MEM_REG): port show counts it, the rings go on, the guest
    still pings."""
    lab.image = guest_image
    s, d, ep = switch_with_endpoint(lab)
    port, sock = vhost_port(lab, d)
    monitor = lab.rundir() / "qmp.sock"
    g = Guest(lab.image, lab, ns=s, name="vm")
    g.start(vhost_user_nic(sock, GUEST_MAC), mem=MEM, shared_mem=True,
            kernel_args=[f"vsw.ip={GUEST_ADDR}/24"],
            qemu_args=["-m", f"{MEM},slots=4,maxmem=1G",
                       "-qmp", f"unix:{monitor},server=on,wait=off"])
    guest_ready(g, EP_ADDR)
    before = regions(d, port)
    assert before >= 1, port_info(d, port)
    qmp(monitor, ("object-add", {"qom-type": "memory-backend-memfd", "id": "hp1",
                                 "size": 128 << 20, "share": True}),
        ("device_add", {"driver": "pc-dimm", "id": "dimm1", "memdev": "hp1"}))
    wait_until(lambda: regions(d, port) == before + 1, timeout=30, interval=0.5,
               what=f"{port} to map the plugged DIMM")
    info = port_info(d, port)
    assert info["state"] == "up", info
    pings_both_ways(g, ep)
    assert d.alive()


def test_the_readme_vhost_recipe_is_the_tested_one():
    """The README's vhost-user QEMU lines use the options these tests boot
    guests with (vmlab.vhost_user_nic, Guest.start(shared_mem=True))."""
    text = (ROOT / "README.md").read_text()
    section = text.split("**vhost-user: the guest's rings in shared memory.**", 1)[1]
    section = section.split("\n## ", 1)[0]
    nic = " ".join(vhost_user_nic("/run/vswitchd/vm0.sock", GUEST_MAC, server=True))
    for opt in ("memory-backend-memfd,id=mem,size=", "share=on", "-numa node,memdev=mem",
                "-netdev vhost-user,id=", "type vhost-user path", "server=on,wait=off",
                "<access mode='shared'/>", "type='vhostuser'"):
        assert opt in section, opt
    for opt in ("-netdev vhost-user,id=", "server=on,wait=off", "virtio-net-pci,netdev="):
        assert opt in nic, opt
