"""What contains the running daemon: its own user, three capabilities,
NO_NEW_PRIVS, a seccomp filter (vswitchd/privs.c, vswitchd/sandbox.c), and
sd_notify for systemd (vswitchd/service.c).

    test ──vswctl──> [vswitchd: uid vswitch, CAP_NET_{ADMIN,RAW,BIND_SERVICE},
                      NoNewPrivs 1, Seccomp 2]  in namespace S

The lab's finalizer fails any test whose daemon log has a seccomp report, so
every test of the suite also checks that the filter lets the feature
through; the filter's refusals are tested on a forked child in
tests/unit/test-sandbox.c.
"""

import os
import signal
import socket
import subprocess

import pytest

from vswlab import DAEMON_USER, sh, wait_until

CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW = 10, 12, 13
KEPT = (1 << CAP_NET_BIND_SERVICE) | (1 << CAP_NET_ADMIN) | (1 << CAP_NET_RAW)


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return fields


def assert_contained(pid, uid):
    st = proc_status(pid)
    assert st["Uid"] == [str(uid)] * 4, st["Uid"]
    assert st["NoNewPrivs"] == ["1"]
    assert st["Seccomp"] == ["2"]          # filter mode
    assert int(st["CapEff"][0], 16) == KEPT, st["CapEff"]
    assert int(st["CapPrm"][0], 16) == KEPT, st["CapPrm"]
    for key in ("CapInh", "CapAmb"):
        assert int(st[key][0], 16) == 0, (key, st[key])
    assert int(st["CapBnd"][0], 16) & ~KEPT == 0, st["CapBnd"]


def require_user():
    if DAEMON_USER is None:
        pytest.fail("no 'vswitch' user: tests/deps.sh check creates it")


def test_runs_as_vswitch_with_three_capabilities_and_seccomp(lab):
    require_user()
    s = lab.netns("S")
    d = lab.daemon(s)
    assert_contained(d.proc.pid, DAEMON_USER.pw_uid)
    assert "started, as vswitch" in d.log_text()
    # Contained, and still does its job: a tap needs CAP_NET_ADMIN and
    # /dev/net/tun, ioctls the filter lets through by request.
    d.ctl("port", "add", lab.name("ct"), "type", "tap", "mtu", "1400")
    assert "mtu 1400" in s.run("ip", "link", "show", lab.name("ct")).stdout
    assert d.stop() == 0


def test_user_root_opts_out_of_the_user_only(lab):
    s = lab.netns("S")
    d = lab.daemon(s, "--user", "root")
    st = proc_status(d.proc.pid)
    assert st["Uid"] == ["0"] * 4
    assert st["NoNewPrivs"] == ["1"] and st["Seccomp"] == ["2"]
    assert int(st["CapEff"][0], 16) == KEPT
    assert int(st["CapBnd"][0], 16) == KEPT


def notify_socket(path):
    """A datagram socket standing for systemd's $NOTIFY_SOCKET."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    os.chmod(path, 0o666)
    s.settimeout(15)
    return s


def test_started_by_systemd_as_its_user(lab):
    """As vswitchd.service starts it: User=vswitch with the three
    capabilities ambient, Type=notify.  It sheds the ambient set, keeps the
    three, enters the filter, and tells the notify socket READY=1 once it
    answers and STOPPING=1 when it stops."""
    require_user()
    s = lab.netns("S")
    run = lab.rundir()
    sock = run / "vswitchd.sock"
    ns = notify_socket(run / "notify")
    caps = "+net_admin,+net_raw,+net_bind_service"
    proc = lab.popen(s, "setpriv", "--reuid", DAEMON_USER.pw_uid, "--regid",
                     DAEMON_USER.pw_gid, "--clear-groups", "--inh-caps", caps,
                     "--ambient-caps", caps, "--bounding-set", "-all," + caps,
                     lab.vswitchd, "--foreground", "--socket", sock,
                     env=dict(os.environ, NOTIFY_SOCKET=str(run / "notify")),
                     stdout=open(run / "log", "w"), stderr=subprocess.STDOUT)
    try:
        msg = ns.recv(4096).decode()
        assert "READY=1" in msg, msg
        # Ready means answering.
        s.run(lab.vswctl, "--socket", sock, "port", "add", lab.name("sy"),
              "type", "tap")
        assert_contained(proc.pid, DAEMON_USER.pw_uid)
        proc.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in ns.recv(4096).decode()
        assert proc.wait(20) == 0
    finally:
        ns.close()
    log = (run / "log").read_text()
    lab.check_sanitizer(log, "vswitchd")
    assert "started, as vswitch" in log, log
    assert not sock.exists()


def test_a_name_it_cannot_become_is_refused_when_started_unprivileged(lab):
    require_user()
    run = lab.rundir()
    res = sh("setpriv", "--reuid", DAEMON_USER.pw_uid, "--regid",
             DAEMON_USER.pw_gid, "--clear-groups", lab.vswitchd, "--foreground",
             "--socket", run / "sock", "--user", "nobody", check=False,
             timeout=20)
    assert res.returncode != 0 and "cannot become user 'nobody'" in res.stderr, res.stderr


def answers(lab, sock):
    return sock.exists() and sh(lab.vswctl, "--socket", sock, "help",
                                check=False).returncode == 0


def test_raises_the_descriptor_limit(lab):
    """Each tunnel port holds five descriptors: the soft limit is raised to
    the hard one at start-up."""
    s = lab.netns("S")
    sock = lab.rundir() / "sock"
    proc = lab.popen(s, "prlimit", "--nofile=256:8192", lab.vswitchd,
                     "--foreground", "--socket", sock)
    wait_until(lambda: answers(lab, sock), what="daemon answering")
    with open(f"/proc/{proc.pid}/limits") as f:
        line = next(l for l in f if l.startswith("Max open files"))
    assert line.split()[3:5] == ["8192", "8192"], line
    proc.terminate()
    assert proc.wait(20) == 0
