"""vswitchd/vswitchd.service, checked without a running systemd:
`systemd-analyze verify` must be clean and `systemd-analyze security` must
keep the exposure score the README reports (or better).

The unit names @sbindir@/vswitchd, which make install fills in; the checks
run on a copy pointing at the built daemon, since verify wants the binary
to exist.
"""

import re
import shlex
import shutil
import subprocess

import pytest

from vswlab import BUILDS, ROOT

UNIT = ROOT / "vswitchd" / "vswitchd.service"
# Measured with systemd 252 (Debian 12); README "Running as a service".
MAX_EXPOSURE = 2.1


@pytest.fixture
def unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze missing: tests/deps.sh check installs systemd")
    daemon = BUILDS["release"] / "vswitchd"
    assert daemon.exists(), f"{daemon} not built"
    text = UNIT.read_text().replace("@sbindir@", str(daemon.parent))
    path = tmp_path / "vswitchd.service"
    path.write_text(text)
    return path


def run(*args, cwd):
    return subprocess.run(["systemd-analyze", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_unit_verifies_clean(unit):
    # --man=no: the manual pages are checked where they are built, and an
    # uninstalled one is no fault of the unit.
    res = run("verify", "--man=no", unit.name, cwd=unit.parent)
    assert res.returncode == 0 and res.stdout + res.stderr == "", res.stdout + res.stderr


def test_exposure_score_stays_low(unit):
    res = run("security", "--offline=true", unit.name, cwd=unit.parent)
    assert res.returncode == 0, res.stdout + res.stderr
    m = re.search(r"Overall exposure level for vswitchd.service: ([0-9.]+)", res.stdout)
    assert m, res.stdout
    assert float(m.group(1)) <= MAX_EXPOSURE, res.stdout


def service(unit):
    """The [Service] section as {key: [values]}."""
    out, section = {}, None
    for line in unit.read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            k, _, v = line.partition("=")
            out.setdefault(k, []).append(v)
    return out


def test_unit_runs_the_daemon_as_documented(unit):
    s = service(unit)
    assert s["Type"] == ["notify"] and s["Restart"] == ["on-failure"]
    assert s["User"] == ["vswitch"]
    # The tap record beside the socket outlives the crash it is for: a
    # restart keeps the runtime directory (the default removes it).
    assert s["RuntimeDirectory"] == ["vswitchd"]
    assert s["RuntimeDirectoryPreserve"] == ["restart"]
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    # AF_PACKET: system ports; CAP_NET_RAW for the same.
    assert set(s["RestrictAddressFamilies"][0].split()) == {
        "AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"}
    caps = {"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE"}
    assert set(s["CapabilityBoundingSet"][0].split()) == caps
    assert set(s["AmbientCapabilities"][0].split()) == caps
    # Every option ExecStart gives is one the daemon takes.
    argv = shlex.split(s["ExecStart"][0])
    usage = subprocess.run([argv[0], "--help"], capture_output=True, text=True,
                           timeout=10).stdout
    for opt in argv[1:]:
        if opt.startswith("--"):
            assert opt in usage, f"ExecStart's {opt} is not in vswitchd --help"
    assert "--config" in argv and "--autosave" in argv and "--foreground" in argv
