"""vswitchd as a daemon: detaching, pidfile, signals, command-line errors."""

import os
import signal
import time

from vswlab import sh, wait_until


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_daemonizes_with_pidfile_and_stops_on_sigterm(lab, tmp_path):
    s = lab.netns("S")
    sock, pidfile = tmp_path / "sock", tmp_path / "vswitchd.pid"
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
