"""Persistent configuration: vswctl save, --autosave, restarts, SIGHUP.

    ns S: vswitchd --config DIR/vswitchd.conf --autosave
      every kind of state: ports of each type with their options (tap, tun,
      system on a veth, stream, vxlan, gretap, ipip, gre, dummy), addresses,
      routes (dev, via, reject, metric, IPv6), static FDB entries, and the
      FDB, router, offload and busy-poll settings

The saved text is the contract: "save -" before a kill -9 and after the
restart must be the same, byte for byte, and the file autosave wrote must
be that text too.  A reload (SIGHUP) converges on the file: unchanged ports
keep their device and counters, a bad file changes nothing.
"""

import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from vswlab import ping, port_stats, sh, wait_until


@pytest.fixture
def state_dir(lab, request):
    """A directory the daemon, once it is the vswitch user, can write and
    make sockets in (a stream port's), outside pytest's root-only tree."""
    d = Path(tempfile.mkdtemp(prefix=f"{lab.prefix}-cfg-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(d, ignore_errors=True))
    pw = pwd.getpwnam("vswitch")        # tests/deps.sh creates it
    os.chown(d, pw.pw_uid, pw.pw_gid)
    return d


def save_text(d):
    return d.ctl("save", "-").stdout


def underlay(lab, s):
    """A veth in S with the underlay address the tunnels bind to, and a
    second one for the system port."""
    a, b = lab.name("u0"), lab.name("u1")
    s.run("ip", "link", "add", a, "type", "veth", "peer", "name", b)
    s.run("ip", "addr", "add", "198.18.0.1/24", "dev", a)
    s.run("ip", "-6", "addr", "add", "fd00:5657::1/64", "dev", a, "nodad")
    for dev in (a, b):
        s.run("ip", "link", "set", dev, "up")
    return a, b


def configure_everything(lab, d, state, sys_dev):
    t = lab.name
    cmds = [
        ("busy-poll", "set", "25"),
        ("offload", "set", "tap-tso", "off", "udp-gro", "off"),
        ("fdb", "set", "ageing", "120"),
        ("fdb", "set", "max", "4096"),
        ("router", "set", "icmp-rate", "200"),
        ("router", "set", "icmp-burst", "20"),
        ("router", "set", "address", "198.19.99.1"),
        ("router", "set", "address", "fd00:5657:99::1"),
        ("port", "add", t("tp"), "type", "tap", "mtu", "1400"),
        ("port", "add", t("tn"), "type", "tun", "mtu", "1300",
         "address", "198.19.1.1/24", "address", "fd00:5657:1::1/64"),
        ("port", "add", sys_dev, "type", "system"),
        ("port", "add", t("st"), "type", "stream", "path", str(state / "vm.sock")),
        ("port", "add", t("vx"), "type", "vxlan", "remote", "198.18.0.2",
         "local", "198.18.0.1", "vni", "42", "dstport", "4790",
         "split-horizon", "off"),
        ("port", "add", t("gt"), "type", "gretap", "remote", "fd00:5657::2",
         "key", "7"),
        ("port", "add", t("ii"), "type", "ipip", "remote", "198.18.0.3",
         "address", "198.19.2.1/30"),
        ("port", "add", t("gr"), "type", "gre", "remote", "198.18.0.4",
         "key", "9", "address", "198.19.3.1/30"),
        ("port", "add", t("dm"), "type", "dummy"),
        ("route", "add", "198.19.10.0/24", "dev", t("ii")),
        ("route", "add", "198.19.11.0/24", "via", "198.19.1.2", "metric", "10"),
        ("route", "add", "198.19.12.0/24", "reject"),
        ("route", "add", "default", "via", "198.19.3.2"),
        ("route", "add", "fd00:5657:20::/48", "dev", t("tn")),
        ("fdb", "add", "02:00:00:00:00:01", "dev", t("tp")),
        ("fdb", "add", "02:00:00:00:00:02", "dev", t("vx"), "vlan", "12"),
    ]
    for c in cmds:
        d.ctl(*c)
    return cmds


def test_kill9_and_restart_restore_exactly_what_was_saved(lab, state_dir):
    s = lab.netns("S")
    _, sys_dev = underlay(lab, s)
    conf = state_dir / "vswitchd.conf"
    args = ("--config", conf, "--autosave")
    d = lab.daemon(s, *args)
    assert "no such file yet" in d.log_text()
    configure_everything(lab, d, state_dir, sys_dev)
    before = save_text(d)
    # Every kind of line is there, and the file is what save prints.
    for word in ("busy-poll set 25", "tap-tso off", "fdb set ageing 120",
                 "router set address fd00:5657:99::1", "type system",
                 "type stream path", "vni 42", "dstport 4790",
                 "split-horizon off", "key 7", "address 198.19.2.1/30",
                 "route add 198.19.11.0/24 via 198.19.1.2 metric 10",
                 "route add 198.19.12.0/24 reject", "route add 0.0.0.0/0 via",
                 "route add fd00:5657:20::/48 dev",
                 "fdb add 02:00:00:00:00:02 dev " + lab.name("vx") + " vlan 12"):
        assert word in before, (word, before)
    # The connected routes belong to their ports' address lines.
    assert "route add 198.19.1.0/24" not in before
    assert conf.read_text() == before
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600

    d.stop(sig=signal.SIGKILL)
    d2 = lab.daemon(s, *args)
    assert save_text(d2) == before
    names = {p["name"]: p for p in d2.ctl("port", "show", json_out=True)["ports"]}
    assert names[lab.name("tp")]["mtu"] == 1400
    assert lab.name("tp") in s.run("ip", "link", "show").stdout
    assert conf.read_text() == before


def test_save_to_a_file_is_written_by_vswctl_atomically(lab, tmp_path):
    s = lab.netns("S")
    d = lab.daemon(s)
    d.ctl("port", "add", lab.name("tp"), "type", "tap")
    out = tmp_path / "saved.conf"
    out.write_text("old\n")
    keep = tmp_path / "old-link"
    os.link(out, keep)                  # sees the old inode if replaced
    res = d.ctl("save", out)
    assert res.stdout.strip() == f"saved to {out}"
    assert out.read_text() == save_text(d)
    assert keep.read_text() == "old\n"  # renamed over, never rewritten in place
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # No file of the daemon's own: it says what to do instead.
    res = d.ctl("save", check=False)
    assert res.returncode != 0 and "started without --config" in res.stderr
    res = d.ctl("save", tmp_path / "no" / "such" / "dir.conf", check=False)
    assert res.returncode != 0 and "no/such/dir.conf" in res.stderr


def test_a_full_disk_keeps_the_old_file(lab, state_dir):
    """Autosave into a file system with room for one save only: the save
    that does not fit leaves the last good file whole, the change itself
    succeeds, and the failure is logged once, not once a change."""
    mnt = state_dir / "small"
    mnt.mkdir()
    sh("mount", "-t", "tmpfs", "-o", "size=8k,mode=0777", "tmpfs", mnt)
    try:
        conf = mnt / "vswitchd.conf"
        s = lab.netns("S")
        d = lab.daemon(s, "--config", conf, "--autosave")
        d.ctl("port", "add", lab.name("tp"), "type", "tap")
        good = conf.read_text()
        assert lab.name("tp") in good
        filler = mnt / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1k", "count=64"],
                       capture_output=True)
        for i in range(3):
            d.ctl("fdb", "set", "ageing", str(100 + i))
        assert conf.read_text() == good
        assert d.log_text().count("is not saved until a save succeeds") == 1
        assert [p.name for p in mnt.iterdir()] == ["vswitchd.conf", "filler"] or \
            sorted(p.name for p in mnt.iterdir()) == ["filler", "vswitchd.conf"]
        filler.unlink()
        d.ctl("fdb", "set", "ageing", "200")
        assert "fdb set ageing 200" in conf.read_text()
        assert "saved again" in d.log_text()
        d.stop()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def reload(d, what):
    n = d.log_text().count(what)
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: d.log_text().count(what) > n, what=what)


def test_sighup_applies_the_difference(lab, state_dir):
    s = lab.netns("S")
    conf = state_dir / "vswitchd.conf"
    a, b, c = lab.name("tA"), lab.name("tB"), lab.name("tC")
    conf.write_text(f"# two endpoints\nport add {a} type tap\nport add {b} type tap\n"
                    f"fdb set ageing 42\nbusy-poll set 10\n")
    d = lab.daemon(s, "--config", conf)
    ea = lab.move_port(d, a, "A")
    eb = lab.move_port(d, b, "B")
    for ep, port, addr in ((ea, a, "198.19.0.1/24"), (eb, b, "198.19.0.2/24")):
        ep.run("ip", "addr", "add", addr, "dev", port)
        ep.run("ip", "link", "set", port, "up")
    ping(ea, "198.19.0.2", count=2)
    rx = port_stats(d, a)["rx_packets"]
    assert rx > 0
    ifindex = ea.run("cat", f"/sys/class/net/{a}/ifindex").stdout

    # A keeps its line, B's changes, C is new, ageing goes, busy-poll changes.
    conf.write_text(f"port add {a} type tap\nport add {b} type tap mtu 1400\n"
                    f"port add {c} type tap\nbusy-poll set 20\n")
    reload(d, "reloaded")
    text = save_text(d)
    assert f"port add {a} type tap\n" in text
    assert f"port add {b} type tap mtu 1400\n" in text
    assert f"port add {c} type tap\n" in text
    assert "fdb set ageing 300" in text        # back to the default
    assert "busy-poll set 20" in text
    # A kept its device (still in A's namespace) and its counters.
    assert ea.run("cat", f"/sys/class/net/{a}/ifindex").stdout == ifindex
    assert port_stats(d, a)["rx_packets"] >= rx
    assert f"port {b}: its line changed, making it again" in d.log_text()
    assert f"removing port {a}" not in d.log_text()

    # A file that does not parse changes nothing and names its line.
    before = save_text(d)
    conf.write_text(f"port add {a} type tap\nfdb set ageing 'soon\n")
    reload(d, "reload failed")
    assert f"{conf}:2: unterminated quote" in d.log_text()
    assert save_text(d) == before
    # Nor does one that names a port it does not add: said before running.
    conf.write_text(f"port add {a} type tap\nbusy-poll set 30\n"
                    f"route add 198.19.50.0/24 dev {lab.name('nope')}\n")
    reload(d, "reload failed")
    assert f"{conf}:3: unknown port '{lab.name('nope')}'" in d.log_text()
    assert save_text(d) == before
    # Nor one that fails while it runs (the kernel refuses the MTU): the
    # ports it would have removed are still the same devices.
    ifindexes = {p: s.run("cat", f"/sys/class/net/{p}/ifindex").stdout for p in (b, c)}
    conf.write_text(f"port add {a} type tap\nbusy-poll set 30\n"
                    f"port add {lab.name('tX')} type tap mtu 70000\n")
    reload(d, "reload failed")
    assert f"{conf}:3: " in d.log_text()
    assert save_text(d) == before
    assert ea.run("cat", f"/sys/class/net/{a}/ifindex").stdout == ifindex
    for p, i in ifindexes.items():
        assert s.run("cat", f"/sys/class/net/{p}/ifindex").stdout == i
    assert lab.name("tX") not in s.run("ip", "link", "show").stdout


def test_reload_keeps_the_settings_it_does_not_change(lab, state_dir):
    """A reload of the same file touches nothing: a small FDB is not reset
    to the default size and back (which would drop learned MACs)."""
    s = lab.netns("S")
    conf = state_dir / "vswitchd.conf"
    a, b = lab.name("tA"), lab.name("tB")
    conf.write_text(f"fdb set max 16\nport add {a} type tap\nport add {b} type tap\n")
    d = lab.daemon(s, "--config", conf)
    for port, suffix, addr in ((a, "A", "198.19.0.1/24"), (b, "B", "198.19.0.2/24")):
        ep = lab.move_port(d, port, suffix)
        ep.run("ip", "addr", "add", addr, "dev", port)
        ep.run("ip", "link", "set", port, "up")
        if suffix == "A":
            ea = ep
    ping(ea, "198.19.0.2", count=2)
    def entries():
        # Not their age, which may tick over between the two reads.
        return [(e["mac"], e["vlan"], e["port"]) for e in
                d.ctl("fdb", "show", json_out=True)["fdb"]]

    learned = entries()
    assert len(learned) >= 2
    reload(d, "reloaded")
    assert entries() == learned
    assert "fdb max set to 8192" not in d.log_text()


@pytest.mark.parametrize("line, message", [
    ("port del x", "'port del' is no configuration command"),
    ("capture start x -w -", "'capture start' is no configuration command"),
    ("port add a type tap\nport add a type tun", "port 'a' is added on line 3 already"),
    ("port add a type tap mtu", "option 'mtu' needs a value"),
    ("fdb set ageing 'soon", "unterminated quote"),
])
def test_a_bad_file_stops_the_start(lab, tmp_path, line, message):
    conf = tmp_path / "bad.conf"
    conf.write_text("# comment\n\n" + line + "\n")
    res = sh(lab.vswitchd, "--foreground", "--socket", tmp_path / "sock",
             "--config", conf, check=False, timeout=10)
    assert res.returncode != 0
    assert f"{conf}:3" in res.stderr or f"{conf}:4" in res.stderr, res.stderr
    assert message in res.stderr, res.stderr


def test_autosave_reaches_a_directory_its_user_cannot(lab, tmp_path):
    """The daemon opens the file's directory before it gives up root, so
    a directory under root-only parents (pytest's tree here) still works
    once it runs as the vswitch user, if the directory itself is that
    user's."""
    conf_dir = tmp_path / "state"
    conf_dir.mkdir(mode=0o700)
    pw = pwd.getpwnam("vswitch")        # tests/deps.sh creates it
    os.chown(conf_dir, pw.pw_uid, pw.pw_gid)
    conf = conf_dir / "vswitchd.conf"
    d = lab.daemon(lab.netns("S"), "--config", conf, "--autosave")
    assert "started, as vswitch" in d.log_text()
    d.ctl("port", "add", lab.name("tp"), "type", "tap")
    assert f"port add {lab.name('tp')} type tap" in conf.read_text()
    assert conf.stat().st_uid == pw.pw_uid
    # A file of root's, 0600, that the daemon cannot read: a reload says so.
    os.chown(conf, 0, 0)
    reload(d, "reload failed")
    assert f"{conf}: Permission denied" in d.log_text()


def test_autosave_needs_a_file(lab, tmp_path):
    res = sh(lab.vswitchd, "--foreground", "--socket", tmp_path / "sock",
             "--autosave", check=False, timeout=10)
    assert res.returncode != 0 and "--autosave needs --config" in res.stderr
