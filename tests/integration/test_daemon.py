"""vswitchd as a daemon: detaching, pidfile, signals, command-line errors."""

import os
import signal
import time

from vswlab import DAEMON_USER, sh, wait_until


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_daemonizes_with_pidfile_and_stops_on_sigterm(lab):
    s = lab.netns("S")
    # In a directory its user may write, as /run/vswitchd: it removes both.
    run = lab.rundir()
    sock, pidfile = run / "sock", run / "vswitchd.pid"
    tap = lab.name("dm")
    # Without --foreground the parent returns once the daemon serves.
    s.run(lab.vswitchd, "--socket", sock, "--pidfile", pidfile, timeout=20)
    pid = int(pidfile.read_text())
    try:
        assert pid_alive(pid)
        s.run(lab.vswctl, "--socket", sock, "port", "add", tap, "type", "tap")
        assert "UP" in s.run("ip", "link", "show", tap).stdout
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not pid_alive(pid), what="daemon exit")
    assert not sock.exists() and not pidfile.exists()
    assert s.run("ip", "link", "show", tap, check=False).returncode != 0


def test_sigint_shuts_down_cleanly(lab):
    s = lab.netns("S")
    d = lab.daemon(s)
    d.ctl("port", "add", lab.name("si"), "type", "tap")
    assert d.stop(signal.SIGINT) == 0
    assert not d.sock.exists()
    assert s.run("ip", "link", "show", lab.name("si"), check=False).returncode != 0


def test_command_line_errors(lab, tmp_path):
    for args, quoted in ((["--log-level", "chatty"], "chatty"),
                         (["--frobnicate"], "frobnicate"),
                         (["extra-argument"], "extra-argument")):
        res = sh(lab.vswitchd, "--foreground", "--socket", tmp_path / "s", *args,
                 check=False, timeout=10)
        assert res.returncode != 0 and quoted in res.stderr, res.stderr
    assert sh(lab.vswitchd, "--help").stdout.startswith("usage")
    assert sh(lab.vswitchd, "--version").stdout.strip()
    assert "usage" in sh(lab.vswctl, check=False).stderr


CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW = 10, 12, 13
KEPT = (1 << CAP_NET_BIND_SERVICE) | (1 << CAP_NET_ADMIN) | (1 << CAP_NET_RAW)


def proc_status(pid):
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


def underlay(ns):
    """A route to 198.18.7.0/24, so a tunnel to .7 has a way out."""
    ns.run("ip", "link", "set", "lo", "up")
    ns.run("ip", "addr", "add", "198.18.7.1/24", "dev", "lo")


def test_drops_capabilities_but_still_adds_ports(lab):
    s = lab.netns("S")
    underlay(s)
    d = lab.daemon(s)
    st = proc_status(daemon_pid(d))
    for key in ("CapEff", "CapPrm"):
        assert int(st[key][0], 16) == KEPT, (key, st[key])
    # Becoming its user clears the bounding set entirely; staying root
    # keeps the three there.
    assert int(st["CapBnd"][0], 16) & ~KEPT == 0, st["CapBnd"]
    assert int(st["CapInh"][0], 16) == 0 and int(st["CapAmb"][0], 16) == 0
    uid = DAEMON_USER.pw_uid if DAEMON_USER is not None else 0
    assert st["Uid"] == [str(uid)] * 4
    # What it kept is what ports need: a tap, and a tunnel socket.
    d.ctl("port", "add", lab.name("cp"), "type", "tap", "mtu", "1400")
    d.ctl("port", "add", lab.name("cx"), "type", "vxlan", "remote", "198.18.7.7")
    assert "mtu 1400" in s.run("ip", "link", "show", lab.name("cp")).stdout
    assert "CAP_NET_ADMIN" in d.log_text()


def test_keep_privileges_keeps_them(lab):
    d = lab.daemon(lab.netns("S"), "--keep-privileges")
    st = proc_status(daemon_pid(d))
    assert int(st["CapEff"][0], 16) & ~KEPT != 0


def test_runs_as_another_user(lab, tmp_path):
    s = lab.netns("S")
    underlay(s)
    rundir = tmp_path / "run"
    rundir.mkdir()
    os.chmod(rundir, 0o777)
    sock = rundir / "sock"
    proc = lab.popen(s, lab.vswitchd, "--foreground", "--socket", sock,
                     "--user", "nobody")
    # Answering means started: privileges are dropped before the loop runs.
    wait_until(lambda: sock.exists() and sh(lab.vswctl, "--socket", sock, "help",
                                            check=False).returncode == 0,
               what="daemon answering")
    st = proc_status(child_pid(proc.pid))
    assert st["Uid"] == ["65534"] * 4 and st["Gid"][0] == "65534"
    assert int(st["CapEff"][0], 16) == KEPT
    s.run(lab.vswctl, "--socket", sock, "port", "add", lab.name("ux"), "type",
          "vxlan", "remote", "198.18.7.7")
    proc.terminate()
    assert proc.wait(10) == 0
    assert not sock.exists()


def test_unknown_user_is_refused(lab, tmp_path):
    res = sh(lab.vswitchd, "--foreground", "--socket", tmp_path / "s",
             "--user", "no-such-user-here", check=False, timeout=10)
    assert res.returncode != 0 and "no-such-user-here" in res.stderr


def child_pid(pid):
    """The process ip netns exec became (it execs, so the same pid)."""
    return pid


def daemon_pid(d):
    return child_pid(d.proc.pid)
