"""Who may use the control socket, and how much of it.

    root ----------+
    operator (in --socket-group) --- main socket (0600 / 0660) --+
    anyone -------- --ro-socket (0666 / 0660): read-only only ---+-- vswitchd in ns S
    one user holding many connections: refused past its share, root still served

Each test that needs other users makes a throwaway group and user (named
with the lab's prefix) and removes them afterwards; clients run as them
through setpriv.
"""

import grp
import json
import os
import pwd
import re
import signal
import socket
import stat
import struct
import subprocess
import textwrap
import time

import pytest

from vswlab import DAEMON_USER, c_define, connect_unix, sh, wait_until

MAGIC = 0x56535731
HDR = "vswitchd/control.h"
MAX_CLIENTS = c_define(HDR, "CONTROL_MAX_CLIENTS")
ROOT_SLOTS = c_define(HDR, "CONTROL_ROOT_SLOTS")
PER_UID = c_define(HDR, "CONTROL_MAX_PER_UID")
FIRST_SECS = c_define(HDR, "CONTROL_FIRST_SECS")
IDLE_SECS = c_define(HDR, "CONTROL_IDLE_SECS")
REFUSE_LOG_SECS = c_define(HDR, "CONTROL_REFUSE_LOG_SECS")


def frame(obj):
    body = json.dumps(obj).encode()
    return struct.pack("!II", MAGIC, len(body)) + body


def read_reply(c):
    hdr = c.recv(8, socket.MSG_WAITALL)
    magic, n = struct.unpack("!II", hdr)
    assert magic == MAGIC
    return json.loads(c.recv(n, socket.MSG_WAITALL))


class Account:
    """A throwaway group, and a user in it, removed by cleanup()."""

    def __init__(self, lab):
        self.group = lab.name("g")
        self.user = lab.name("u")
        sh("groupadd", "--system", self.group)
        sh("useradd", "--system", "--no-create-home", "--no-user-group", "--gid",
           "nogroup", "--groups", self.group, "--shell", "/usr/sbin/nologin", self.user)
        self.uid = pwd.getpwnam(self.user).pw_uid
        self.gid = grp.getgrnam(self.group).gr_gid

    def cleanup(self):
        # --force: a daemon or client of a failed test may still run as the
        # user; the lab's cleanup, which runs after this, kills it by PID.
        subprocess.run(["userdel", "--force", self.user], capture_output=True)
        subprocess.run(["groupdel", self.group], capture_output=True)


@pytest.fixture
def account(lab):
    a = Account(lab)
    yield a
    a.cleanup()


def as_user(user, *cmd, **kw):
    """Runs cmd as user with its groups (setpriv --init-groups)."""
    return sh("setpriv", "--reuid", user, "--regid", "nogroup", "--init-groups", *cmd,
              check=False, **kw)


def vswctl_as(lab, user, sock, *args):
    res = as_user(user, lab.vswctl, "--socket", sock, *args)
    lab.check_sanitizer(res.stderr, f"vswctl as {user}")
    return res


def test_default_socket_is_only_for_root_and_the_daemons_user(lab, account):
    d = lab.daemon(lab.netns("S"))
    st = d.sock.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    # Given to the user it runs as, so that user can connect too.
    assert st.st_uid == (DAEMON_USER.pw_uid if DAEMON_USER else 0)
    res = vswctl_as(lab, account.user, d.sock, "show")
    assert res.returncode != 0 and "Permission denied" in res.stderr


def test_socket_group_gives_operators_every_command(lab, account):
    d = lab.daemon(lab.netns("S"), "--socket-group", account.group)
    st = d.sock.stat()
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == account.gid
    assert vswctl_as(lab, account.user, d.sock, "busy-poll", "set", "17").returncode == 0
    assert d.ctl("busy-poll", "show", json_out=True)["busy_poll_us"] == 17
    # Outside the group: no way in.
    res = vswctl_as(lab, "nobody", d.sock, "show")
    assert res.returncode != 0 and "Permission denied" in res.stderr
    # Let in by hand, an outsider may still only read: the daemon checks.
    os.chmod(d.sock, 0o666)
    assert vswctl_as(lab, "nobody", d.sock, "show").returncode == 0
    res = vswctl_as(lab, "nobody", d.sock, "busy-poll", "set", "5")
    assert res.returncode != 0
    assert f"uid 65534 (not root, the daemon's user or in group '{account.group}') is " \
        "read-only: 'busy-poll set' changes the configuration" in res.stderr, res.stderr


def test_unknown_socket_group_is_refused(lab, tmp_path):
    res = sh(lab.vswitchd, "--foreground", "--socket", tmp_path / "s", "--socket-group",
             "no-such-group-h2", check=False, timeout=10)
    assert res.returncode != 0 and "no-such-group-h2" in res.stderr, res.stderr
    res = sh(lab.vswitchd, "--foreground", "--socket", tmp_path / "s", "--ro-socket-group",
             "x", check=False, timeout=10)
    assert res.returncode != 0 and "--ro-socket" in res.stderr, res.stderr


def test_ro_socket_serves_reads_and_refuses_changes(lab, account):
    ro = lab.rundir() / "ro.sock"
    d = lab.daemon(lab.netns("S"), "--ro-socket", ro)
    tap = lab.name("ro")
    d.ctl("port", "add", tap, "type", "tap")
    assert stat.S_IMODE(ro.stat().st_mode) == 0o666
    for args in (["show"], ["stats"], ["fdb", "show"], ["route", "show"], ["router", "show"],
                 ["offload", "show"], ["busy-poll", "show"], ["capture", "show"],
                 ["port", "show"], ["help"]):
        res = vswctl_as(lab, "nobody", ro, *args)
        assert res.returncode == 0, (args, res.stderr)
    assert tap in vswctl_as(lab, "nobody", ro, "show").stdout
    # Every command that is not read-only, as nobody and as root alike.
    for args in (["port", "add", lab.name("r2"), "type", "tap"], ["port", "del", tap],
                 ["fdb", "flush"], ["fdb", "set", "ageing", "5"], ["route", "flush"],
                 ["router", "set", "icmp-rate", "5"], ["offload", "set", "tap-tso", "off"],
                 ["busy-poll", "set", "5"], ["capture", "stop", tap]):
        for res in (vswctl_as(lab, "nobody", ro, *args),
                    sh(lab.vswctl, "--socket", ro, *args, check=False)):
            assert res.returncode != 0, args
            assert f"control socket {ro} is read-only: '{args[0]} {args[1]}' changes the " \
                "configuration" in res.stderr, res.stderr
    assert [p["name"] for p in d.ctl("port", "show", json_out=True)["ports"]] == [tap]
    # The read-only flags in the command table: what the socket serves.
    for cmd in d.ctl("help", json_out=True)["commands"]:
        assert cmd["readonly"] == (cmd["command"] in {
            "show", "stats", "help", "port show", "fdb show", "route show", "router show",
            "offload show", "busy-poll show", "capture show", "wireguard show"}), cmd
    # Both sockets go at exit.
    assert d.stop() == 0
    assert not ro.exists() and not d.sock.exists()


def test_ro_socket_group(lab, account):
    ro = lab.rundir() / "ro.sock"
    lab.daemon(lab.netns("S"), "--ro-socket", ro, "--ro-socket-group", account.group)
    st = ro.stat()
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == account.gid
    assert vswctl_as(lab, account.user, ro, "show").returncode == 0
    res = vswctl_as(lab, account.user, ro, "busy-poll", "set", "5")
    assert res.returncode != 0 and "is read-only" in res.stderr
    res = vswctl_as(lab, "nobody", ro, "show")
    assert res.returncode != 0 and "Permission denied" in res.stderr


def test_who_changed_what_is_logged(lab):
    d = lab.daemon(lab.netns("S"))
    tap = lab.name("lg")
    with connect_unix(d.sock) as c:
        for argv in (["port", "add", tap, "type", "tap"], ["show"],
                     ["fdb", "set", "ageing", "bad\nline"], ["busy-poll", "set", "9"]):
            c.sendall(frame({"argv": argv}))
            read_reply(c)
    log = d.log_text()
    me = os.getpid()
    assert f"control: uid 0 pid {me}: port add {tap} type tap\n" in log, log
    assert f"control: uid 0 pid {me}: busy-poll set 9\n" in log, log
    # Neither a read-only command nor a failed one is a change.
    assert not re.search(r"control: uid \d+ pid \d+: (show|fdb set)", log), log
    # vswctl's own pid, through SO_PEERCRED.
    d.ctl("busy-poll", "set", "8")
    assert re.search(r"control: uid 0 pid (\d+): busy-poll set 8\n", d.log_text())


def test_a_changes_log_line_cannot_be_forged(lab):
    d = lab.daemon(lab.netns("S"))
    # A stream port's path is free text: quoted, control characters escaped.
    forged = "vswitchd: control: uid 0 pid 1: port del x"
    path = f"{lab.rundir()}/a\n{forged}"
    with connect_unix(d.sock) as c:
        c.sendall(frame({"argv": ["port", "add", lab.name("fg"), "type", "stream", "path",
                                  path]}))
        reply = read_reply(c)
        assert reply["ok"], reply
    log = d.log_text()
    assert f"path '{path.replace(chr(10), chr(92) + 'x0a')}'\n" in log, log
    assert f"\n{forged}" not in log and f"\nvswitchd: {forged}" not in log, log


HOLDER = textwrap.dedent("""
    import json, socket, struct, sys
    path, n = sys.argv[1], int(sys.argv[2])
    req = json.dumps({"argv": ["help"]}).encode()
    req = struct.pack("!II", 0x56535731, len(req)) + req
    held, refused, messages = [], 0, set()
    for _ in range(n):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(10)
        c.connect(path)
        try:
            c.sendall(req)
        except OSError:
            pass                # refused already: its reply is there to read
        try:
            hdr = c.recv(8, socket.MSG_WAITALL)
            body = json.loads(c.recv(struct.unpack("!II", hdr)[1], socket.MSG_WAITALL))
        except (OSError, struct.error, ValueError):
            refused += 1
            continue
        if body["ok"]:
            held.append(c)      # served once: idle from now on, and kept
        else:
            refused += 1
            messages.add(body["error"])
            c.close()
    print(json.dumps({"held": len(held), "refused": refused,
                      "messages": sorted(messages)}), flush=True)
    sys.stdin.read()            # hold them until the test lets go
""")


def hold_connections(lab, user, sock, n):
    """Opens n connections to sock as user, each served once and then left
    idle; returns (the process holding them, its tally)."""
    p = subprocess.Popen(["setpriv", "--reuid", user, "--regid", "nogroup", "--init-groups",
                          "/usr/bin/python3", "-c", HOLDER, str(sock), str(n)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lab.procs.append(p)
    line = p.stdout.readline()
    assert line, "holder died"
    return p, json.loads(line)


def test_one_user_cannot_lock_root_out(lab, account):
    ro = lab.rundir() / "ro.sock"
    d = lab.daemon(lab.netns("S"), "--ro-socket", ro)
    t0 = time.time()
    p, tally = hold_connections(lab, "nobody", ro, MAX_CLIENTS)
    assert tally["held"] == PER_UID, tally
    assert tally["refused"] == MAX_CLIENTS - PER_UID, tally
    assert tally["messages"] == [f"too many clients of uid 65534 ({PER_UID}, at most "
                                 f"{PER_UID}), try again later"], tally
    # vswctl of that user says why, whether or not its request got out first.
    for _ in range(5):
        r = sh("setpriv", "--reuid", "nobody", "--regid", "nogroup", "--init-groups",
               lab.vswctl, "--socket", ro, "show", check=False)
        assert r.returncode != 0 and "too many clients of uid 65534" in r.stderr, r
    # Root is served at once, on either socket, and so is another user.
    for sock in (d.sock, ro):
        start = time.time()
        assert sh(lab.vswctl, "--socket", sock, "show").returncode == 0
        assert time.time() - start < 2
    p2, tally2 = hold_connections(lab, account.user, ro, 4)
    assert tally2["held"] == 4, tally2
    assert time.time() - t0 < IDLE_SECS - 2, "too slow to test while they are held"
    p.stdin.close()
    p2.stdin.close()
    p.wait(10)
    p2.wait(10)


def test_root_slots_stay_free_when_users_fill_the_rest(lab):
    """Once only root's reserve is left, other users are refused (however
    few connections they hold) and root may still use every slot."""
    ro = lab.rundir() / "ro.sock"
    d = lab.daemon(lab.netns("S"), "--ro-socket", ro)
    # Root takes all but the reserve and two, then nobody asks for four.
    root_held = []
    for _ in range(MAX_CLIENTS - ROOT_SLOTS - 2):
        c = connect_unix(d.sock)
        c.sendall(frame({"argv": ["help"]}))
        assert read_reply(c)["ok"]
        root_held.append(c)
    p, tally = hold_connections(lab, "nobody", ro, 4)
    assert tally["held"] == 2 and tally["refused"] == 2, tally
    assert "the last %d slots are root's" % ROOT_SLOTS in tally["messages"][0], tally
    # Root still gets the reserve, up to the total.
    for _ in range(ROOT_SLOTS):
        c = connect_unix(d.sock)
        c.sendall(frame({"argv": ["help"]}))
        assert read_reply(c)["ok"]
        root_held.append(c)
    c = connect_unix(d.sock)
    try:
        c.sendall(frame({"argv": ["help"]}))
    except BrokenPipeError:
        pass                    # refused before we asked: the reason is there to read
    reply = read_reply(c)
    assert not reply["ok"] and "too many clients" in reply["error"], reply
    c.close()
    p.stdin.close()
    p.wait(10)
    for c in root_held:
        c.close()
    wait_until(lambda: d.ctl("show", check=False).returncode == 0, what="served again")


def test_refusals_are_logged_at_a_bounded_rate(lab):
    ro = lab.rundir() / "ro.sock"
    d = lab.daemon(lab.netns("S"), "--ro-socket", ro)
    n = 1000
    p, tally = hold_connections(lab, "nobody", ro, PER_UID + n)
    assert tally["held"] == PER_UID and tally["refused"] == n, tally
    assert d.ctl("show").returncode == 0
    # One line for the first, then one line with the count per window.
    pattern = re.compile(r"control: (\d+) more clients? refused in the last")
    wait_until(lambda: pattern.search(d.log_text()), timeout=REFUSE_LOG_SECS + 5,
               what="the summary of refusals")
    log = d.log_text()
    lines = [l for l in log.splitlines() if "refus" in l]
    assert len(lines) <= 3, lines
    firsts = [l for l in lines if "refusing a client of uid 65534 pid " in l]
    assert len(firsts) == 1, lines
    assert 1 + sum(int(m) for m in pattern.findall(log)) == n, lines
    p.stdin.close()
    p.wait(10)


def test_first_request_has_a_short_deadline(lab):
    d = lab.daemon(lab.netns("S"))
    silent = connect_unix(d.sock, timeout=IDLE_SECS + 5)
    half = connect_unix(d.sock, timeout=IDLE_SECS + 5)
    half.sendall(struct.pack("!I", MAGIC))     # half a header, then nothing
    served = connect_unix(d.sock, timeout=IDLE_SECS + 5)
    served.sendall(frame({"argv": ["help"]}))
    assert read_reply(served)["ok"]
    t0 = time.time()
    assert silent.recv(1) == b""                # closed by the daemon
    assert half.recv(1) == b""
    took = time.time() - t0
    assert took <= FIRST_SECS + 1.5, took
    # A client that was served has the longer idle time.
    time.sleep(FIRST_SECS + 0.5)
    served.sendall(frame({"argv": ["show"]}))
    assert read_reply(served)["ok"]
    for c in (silent, half, served):
        c.close()
    assert "sent no complete request within" in d.log_text()


def test_socket_removed_at_exit_as_another_user(lab, account):
    """Hole 4: with --user, the socket's directory was root's and the socket
    stayed behind.  A directory the daemon makes is the user's now."""
    s = lab.netns("S")
    base = lab.rundir()
    os.chown(base, 0, 0)                        # root's, as /run is
    sock = base / "vswitchd" / "vswitchd.sock"
    proc = lab.popen(s, lab.vswitchd, "--foreground", "--socket", sock, "--user",
                     account.user, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_until(lambda: sock.exists() and sh(lab.vswctl, "--socket", sock, "help",
                                            check=False).returncode == 0,
               what="daemon answering")
    owners = (sock.parent.stat().st_uid, sock.stat().st_uid)
    # The daemon's own user may connect, and change things.
    res = vswctl_as(lab, account.user, sock, "busy-poll", "set", "3")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    assert not sock.exists(), out
    assert "cannot remove" not in out and "left behind" not in out, out
    assert owners == (account.uid, account.uid)
    assert res.returncode == 0, res.stderr


def test_socket_in_a_directory_the_user_cannot_write_is_warned_about(lab, account):
    s = lab.netns("S")
    base = lab.rundir()
    os.chown(base, 0, 0)
    sock = base / "vswitchd.sock"              # in root's existing directory
    proc = lab.popen(s, lab.vswitchd, "--foreground", "--socket", sock, "--user",
                     account.user, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_until(lambda: sock.exists() and sh(lab.vswctl, "--socket", sock, "help",
                                            check=False).returncode == 0,
               what="daemon answering")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert f"{sock} will be left behind at exit: uid {account.uid} may not remove it " \
        f"from {base}" in out, out
    # The next start takes the stale socket over.
    proc = lab.popen(s, lab.vswitchd, "--foreground", "--socket", sock,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_until(lambda: sh(lab.vswctl, "--socket", sock, "help", check=False).returncode == 0,
               what="second daemon answering")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert "removing stale socket" in out, out
