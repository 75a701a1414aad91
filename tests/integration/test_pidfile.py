"""The pidfile (vswitchd/pidfile.c): opened as root at start-up, so never
followed through a symlink, and locked for the daemon's life so that a
second daemon given the same file refuses to start.

    run dir (owned by the daemon's user, as /run/vswitchd)
      pid  --flock-->  daemon 1
           <--refused-- daemon 2 ("locked by pid N")
"""

import os

from vswlab import sh


def start(lab, run, pidfile, sock="sock"):
    return sh(lab.vswitchd, "--foreground", "--socket", run / sock,
              "--pidfile", pidfile, check=False, timeout=20)


def test_second_daemon_with_the_same_pidfile_refuses(lab):
    s = lab.netns("S")
    run = lab.rundir()
    pidfile = run / "vswitchd.pid"
    d = lab.daemon(s, "--pidfile", pidfile)
    assert pidfile.read_text() == f"{d.proc.pid}\n"
    # Another socket, so only the pidfile stands in its way.
    res = start(lab, run, pidfile, sock="sock2")
    assert res.returncode != 0
    assert f"locked by pid {d.proc.pid}" in res.stderr, res.stderr
    assert pidfile.read_text() == f"{d.proc.pid}\n"     # untouched
    assert d.alive()
    assert d.stop() == 0
    assert not pidfile.exists()


def test_symlink_at_the_pidfile_is_not_followed(lab):
    run = lab.rundir()
    target = run / "precious"
    target.write_text("precious\n")
    pidfile = run / "vswitchd.pid"
    pidfile.symlink_to(target)
    res = start(lab, run, pidfile)
    assert res.returncode != 0 and "symbolic link" in res.stderr, res.stderr
    assert target.read_text() == "precious\n"
    assert pidfile.is_symlink()
    assert not (run / "sock").exists()      # refused before anything else


def test_hard_link_or_non_file_at_the_pidfile_is_refused(lab):
    run = lab.rundir()
    target = run / "precious"
    target.write_text("precious\n")
    os.link(target, run / "vswitchd.pid")
    res = start(lab, run, run / "vswitchd.pid")
    assert res.returncode != 0 and "one link" in res.stderr, res.stderr
    assert target.read_text() == "precious\n"
    os.mkfifo(run / "fifo.pid")
    res = start(lab, run, run / "fifo.pid")
    assert res.returncode != 0 and "regular file" in res.stderr, res.stderr


def test_stale_pidfile_is_taken_over(lab):
    """A daemon that died (kill -9) leaves its pidfile but not its lock."""
    s = lab.netns("S")
    run = lab.rundir()
    pidfile = run / "vswitchd.pid"
    pidfile.write_text("4194303\n")
    d = lab.daemon(s, "--pidfile", pidfile)
    assert pidfile.read_text() == f"{d.proc.pid}\n"
