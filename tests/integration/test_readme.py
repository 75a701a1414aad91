"""The README's recipes, run as written (tests/readmelab.py reads them).

Every fenced block of README.md is marked: a recipe runs here, in network
namespaces of its own, against the build under test; an output sample is
compared with what the recipe's last command printed; a synopsis is
compared with --help; the few blocks no test can run say why.  The tables
of commands, drop reasons and offload switches are compared with what the
daemon has.  A recipe that stops working, an output that drifts, a table
that misses something, or a new unmarked block fails the build.

    recipe on setup "host" / "daemon":          "two-hosts":
      ns H (the host: vswitchd, vswctl)          ns H1 --eth1 veth eth1-- ns H2
      + the namespaces the recipe makes          198.18.0.1/24     198.18.0.2/24
                                                 fd00:5657::1/64   fd00:5657::2/64
    "capture": ns H: vswitchd with tap0 (in ns e0, 198.19.0.1, pinging e1),
      tap1 (ns e1, 198.19.0.2), vx0 (to 198.18.0.2 in ns ul, over eth1) and
      tunA (198.19.1.254, ns ea pinging it); UDP to port 53 from e0.
    "daemon": "host" with vswitchd running.  "config-file": the block is a
      config file, and a daemon must start with it.  "tree": commands run in
      the source tree, on this build (VSW_BUILD).

The recipes find `vswitchd` and `vswctl` first in PATH: a shim that starts
this build's daemon (tests/readme_vswitchd.py) and a link to this build's
vswctl; VSWCTL_SOCKET points at the host's socket.
"""

import ipaddress
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

import readmelab
from readmelab import Names, blocks, commands, output_matches
from vswlab import ROOT, SANITIZER_ENV, Netns, sh, wait_until

BLOCKS = blocks()
RECIPES = sorted({n for b in BLOCKS if b.kind == "recipe" for n in b.name.split(",")})


class RecipeLab:
    """The namespaces, daemons and PATH a recipe runs with."""

    def __init__(self, lab, tmp, names):
        self.lab = lab
        self.tmp = Path(tmp)
        self.run_dir = lab.rundir()
        state_dir = lab.rundir()
        state_dir.chmod(0o700)
        self.names = Names(lab.prefix, names, tmp, self.run_dir, state_dir)
        self.hosts = {}
        self.logdir = self.tmp / "daemons"       # their logs and PIDs
        self.logdir.mkdir()
        self.bindir = self.tmp / "bin"
        self.bindir.mkdir()
        (self.bindir / "vswctl").symlink_to(lab.vswctl)
        shim = self.bindir / "vswitchd"
        shim.write_text("#!/bin/sh\nexec /usr/bin/python3 "
                        f"{ROOT / 'tests' / 'readme_vswitchd.py'} \"$@\"\n")
        shim.chmod(0o755)
        self.last_output = {}

    def host(self, n=1):
        if n not in self.hosts:
            self.hosts[n] = self.lab.netns(f"H{n}")
        return self.hosts[n]

    def env(self, n):
        return dict(os.environ, **SANITIZER_ENV,
                    PATH=f"{self.bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                    VSWCTL_SOCKET=str(self.run_dir / f"h{n}.sock"),
                    VSW_README_VSWITCHD=str(self.lab.vswitchd),
                    VSW_README_VSWCTL=str(self.lab.vswctl),
                    VSW_README_HOSTNS=self.host(n).name,
                    VSW_README_DIR=str(self.logdir),
                    VSW_BUILD=os.environ.get("VSW_BUILD", "build"),
                    # A pytest a recipe runs keeps out of this one's way.
                    PYTEST_ADDOPTS=f"-p no:cacheprovider --basetemp={self.tmp / 'pytest'}")

    def argv(self, n, text, in_tree=False):
        if in_tree:
            return ["sh", "-ec", text]
        return ["nsenter", f"--net=/run/netns/{self.host(n).name}", "sh", "-ec", text]

    def run(self, n, text, where, in_tree=False):
        """Runs one command line on host n; returns its stdout."""
        res = subprocess.run(self.argv(n, self.names.apply(text), in_tree),
                             capture_output=True, text=True, timeout=120,
                             env=self.env(n), cwd=ROOT if in_tree else self.tmp)
        self.lab.check_sanitizer(res.stderr, where)
        if res.returncode != 0:
            raise AssertionError(f"{where}: `{text}` failed ({res.returncode}):\n"
                                 f"{res.stdout}\n{res.stderr}\n{self.daemon_logs()}")
        return res.stdout

    def run_command(self, n, cmd, where, in_tree=False):
        text = self.names.apply(cmd.text)
        if cmd.until_ctrl_c:
            return self.interrupt(n, cmd, text, where)
        res = subprocess.run(self.argv(n, text, in_tree), capture_output=True,
                             text=True, timeout=120, env=self.env(n),
                             cwd=ROOT if in_tree else self.tmp)
        self.lab.check_sanitizer(res.stderr, where)
        out = res.stdout + res.stderr
        if cmd.fails is not None:
            assert res.returncode != 0, f"{where}: `{cmd.text}` should fail:\n{out}"
            assert cmd.fails in self.names.undo(out), \
                f"{where}: `{cmd.text}` should say {cmd.fails!r}:\n{out}"
        elif res.returncode != 0:
            raise AssertionError(f"{where}: `{cmd.text}` failed ({res.returncode}):\n"
                                 f"{out}\n{self.daemon_logs()}")
        return res.stdout

    def interrupt(self, n, cmd, text, where):
        """A command that runs until Ctrl-C: SIGINT to its process group,
        as a terminal sends it, once it has run a while; it must then end
        on its own, and a streaming capture must say how it ended."""
        proc = subprocess.Popen(self.argv(n, text), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env(n),
                                cwd=self.tmp, start_new_session=True)
        time.sleep(2)
        assert proc.poll() is None, f"{where}: `{cmd.text}` ended before Ctrl-C:\n" \
                                    f"{proc.communicate()}"
        os.killpg(proc.pid, signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"{where}: `{cmd.text}` did not end on Ctrl-C")
        self.lab.check_sanitizer(err, where)
        if "capture" in cmd.text and "-w -" in cmd.text:
            # The reader of a pipe gets the SIGINT too; when it is gone
            # before vswctl's request to finish arrives, the capture ends
            # on the closed pipe instead, as the README says.
            why = "interrupted|output closed" if "|" in cmd.text else "interrupted"
            assert re.search(rf"capture \d+ on \S+ ended \(({why})\)", err), \
                f"{where}: `{cmd.text}` ended without its summary ({why}):\n{err}"
        return out

    def daemon_logs(self):
        pids = self.logdir / "pids"
        if not pids.exists():
            return ""
        out = []
        for line in pids.read_text().split("\n"):
            if line:
                log = Path(line.split()[1])
                out.append(f"--- {log.name}:\n{log.read_text(errors='replace')[-3000:]}")
        return "\n".join(out)

    def stop(self):
        """Stops every daemon the recipes started (by PID), checks their
        logs, deletes the namespaces the recipes made."""
        errors = []
        pids = self.logdir / "pids"
        for line in (pids.read_text().split("\n") if pids.exists() else []):
            if not line:
                continue
            pid, log = int(line.split()[0]), Path(line.split()[1])
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                wait_until(lambda: not alive(pid), timeout=10, what=f"vswitchd {pid} to exit")
            except AssertionError as e:
                os.kill(pid, signal.SIGKILL)
                errors.append(str(e))
            try:
                self.lab.check_sanitizer(log.read_text(errors="replace"), f"vswitchd ({log})")
            except AssertionError as e:
                errors.append(str(e))
        listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
        for line in listing.stdout.split("\n"):
            name = line.split(" ")[0]
            if name.startswith(self.lab.prefix) and name not in \
                    [ns.name for ns in self.lab.namespaces]:
                subprocess.run(["ip", "netns", "del", name], capture_output=True)
        if errors:
            raise AssertionError("\n".join(errors))


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# --- setups: what a recipe finds when it starts --------------------------

def setup_host(rl, block):
    rl.host(1)


def setup_daemon(rl, block):
    rl.run(1, "vswitchd", f"{block.where()} (setup)")


def setup_two_hosts(rl, block):
    h1, h2 = rl.host(1), rl.host(2)
    ul = rl.names.name("eth1")
    h1.run("ip", "link", "add", ul, "type", "veth", "peer", "name", ul, "netns", h2.name)
    for n, h in ((1, h1), (2, h2)):
        h.run("ip", "addr", "add", f"198.18.0.{n}/24", "dev", ul)
        h.run("ip", "addr", "add", f"fd00:5657::{n}/64", "dev", ul, "nodad")
        h.run("ip", "link", "set", ul, "up")


CAPTURE_SETUP = """\
ip netns add ul
ip link add eth1 type veth peer name eth1 netns ul
ip addr add 198.18.0.1/24 dev eth1; ip link set eth1 up
ip -n ul addr add 198.18.0.2/24 dev eth1; ip -n ul link set eth1 up
vswitchd
vswctl port add tap0 type tap
vswctl port add tap1 type tap
vswctl port add vx0 type vxlan remote 198.18.0.2 local 198.18.0.1
vswctl port add tunA type tun address 198.19.1.254/24
ip netns add e0; ip link set tap0 netns e0
ip -n e0 addr add 198.19.0.1/24 dev tap0; ip -n e0 link set tap0 up
ip netns add e1; ip link set tap1 netns e1
ip -n e1 addr add 198.19.0.2/24 dev tap1; ip -n e1 link set tap1 up
ip netns add ea; ip link set tunA netns ea
ip -n ea addr add 198.19.1.1/24 dev tunA; ip -n ea link set tunA up
"""
CAPTURE_NAMES = ["ul", "eth1", "tap0", "tap1", "vx0", "tunA", "e0", "e1", "ea"]
UDP_53 = ("import socket,time\n"
          "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
          "while True:\n"
          "  s.sendto(b'q',('198.19.0.2',53)); time.sleep(0.05)\n")


def setup_capture(rl, block):
    for line in CAPTURE_SETUP.strip().split("\n"):
        rl.run(1, line, f"{block.where()} (setup)")
    ns = {n: Netns(rl.names.name(n)) for n in ("e0", "ea")}
    for cmd in (("ping", "-q", "-i", "0.2", "198.19.0.2"),
                ("ping", "-q", "-i", "0.5", "198.19.0.9"),     # ARP, flooded to vx0
                ("/usr/bin/python3", "-c", UDP_53)):
        rl.lab.popen(ns["e0"], *cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rl.lab.popen(ns["ea"], "ping", "-q", "-i", "0.2", "198.19.1.254",
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def setup_config_file(rl, block):
    """The block is a config file: written where its first comment line
    says, then a daemon starts with it and must come up."""
    first = block.text.split("\n")[0]
    assert first.startswith("# /"), f"{block.where()}: a config file names its path first"
    path = first[2:].strip()
    Path(rl.names.apply(path)).write_text(rl.names.apply(block.text) + "\n")
    rl.run(1, f"vswitchd --config {path}", block.where())
    rl.run(1, "vswctl show", block.where())


SETUPS = {
    "host": setup_host,
    "daemon": setup_daemon,
    "two-hosts": setup_two_hosts,
    "capture": setup_capture,
    "config-file": setup_config_file,
    "tree": setup_host,
}
EXTRA_NAMES = {"capture": CAPTURE_NAMES, "two-hosts": ["eth1"]}


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe(lab, tmp_path, recipe):
    parts = [b for b in BLOCKS if b.kind == "recipe" and b.belongs(recipe)]
    setup = parts[0].args[1] if len(parts[0].args) > 1 else "host"
    assert setup in SETUPS, f"{parts[0].where()}: unknown setup {setup!r}"
    names = []
    for b in parts:
        names += b.opts.get("names", "").split(",")
    names += EXTRA_NAMES.get(setup, [])
    rl = RecipeLab(lab, tmp_path, names)
    try:
        SETUPS[setup](rl, parts[0])
        outputs = {b.line: b for b in BLOCKS if b.kind == "output" and b.name == recipe}
        for b in BLOCKS:
            if b.kind == "recipe" and b.belongs(recipe) and setup != "config-file":
                n = int(b.opts.get("host", "1"))
                for cmd in commands(b):
                    if cmd.text.startswith("qemu-system-"):
                        continue    # the guest's options are elided: test_vm_backends.py
                    out = rl.run_command(n, cmd, f"README.md:{cmd.line}",
                                         in_tree=setup == "tree")
                    rl.last_output[recipe] = out
            elif b.line in outputs:
                actual = rl.names.undo(rl.last_output.get(recipe, ""))
                why = output_matches(b.text, actual, part="part" in b.args,
                                     any_numbers="any-numbers" in b.args)
                assert why is None, \
                    f"{b.where()}: the output sample differs: {why}\nthe output:\n{actual}"
    finally:
        rl.stop()


def test_every_block_is_marked():
    """A new block must say what it is: a recipe, an output, a synopsis, or
    why it cannot run."""
    unmarked = [b.where() for b in BLOCKS if not b.kind]
    assert not unmarked, f"blocks without a marker: {unmarked}"
    for b in BLOCKS:
        if b.kind == "not-run":
            assert len(b.args[0]) > 10, f"{b.where()}: say why it is not run"
        if b.kind == "output":
            assert b.name in RECIPES, f"{b.where()}: no recipe {b.name!r}"
    assert len([b for b in BLOCKS if b.kind == "not-run"]) <= 8, "keep them few"


def test_recipes_use_the_test_ranges():
    """Recipe addresses are in 198.18.0.0/15 or fd00:5657::/32, so that a
    reader's copy cannot clash with real networks."""
    v4 = ipaddress.ip_network("198.18.0.0/15")
    v6 = ipaddress.ip_network("fd00:5657::/32")
    for b in BLOCKS:
        if b.kind not in ("recipe", "output"):
            continue
        for m in re.finditer(r"(?<![\w.:])(\d+\.\d+\.\d+\.\d+|[0-9a-f]*:[0-9a-f:]*:[0-9a-f]*)"
                             r"(?:/\d+)?(?![\w.:])", b.text):
            try:
                a = ipaddress.ip_address(m.group(1))
            except ValueError:
                continue
            if a.is_unspecified or str(a).startswith("255."):
                continue
            assert a in (v4 if a.version == 4 else v6), f"{b.where()}: {a} is not a test address"


def help_options(program):
    out = sh(program, "--help").stdout
    return set(re.findall(r"(--[a-z][a-z-]*)", out)) - {"--help", "--version"}


@pytest.mark.parametrize("program", ["vswitchd", "vswctl"])
def test_synopsis_matches_help(lab, program):
    usage = [b for b in BLOCKS if b.kind == "usage" and b.name == program]
    assert len(usage) == 1, f"one `usage {program}` block"
    binary = lab.vswitchd if program == "vswitchd" else lab.vswctl
    want = help_options(binary)
    got = set(re.findall(r"(--[a-z][a-z-]*)", usage[0].text))
    assert got == want, f"{usage[0].where()}: {sorted(got)} but --help has {sorted(want)}"
    # The text around it says what each one does.
    text = readmelab.README.read_text()
    for opt in want:
        assert re.search(rf"`{opt}[` ]", text), f"the README does not explain {opt}"


def test_command_table_lists_every_command(lab):
    """Each command `vswctl help` lists has a row in the README's table."""
    d = lab.daemon(None)
    rows = [line.split("|")[1] for line in readmelab.README.read_text().split("\n")
            if line.startswith("| `")]
    for line in d.ctl("help").stdout.split("\n"):
        if not line.startswith("  "):
            continue
        words = line.split()
        name = [w for w in words[:2] if re.fullmatch(r"[a-z-]+", w)]
        assert any(all(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", r) for w in name)
                   for r in rows), f"no README table row for `{' '.join(name)}`"


def test_demo_script(lab):
    """`make demo` is deps, a build and tools/demo.sh: the script, run
    against this build."""
    res = sh("sh", ROOT / "tools" / "demo.sh", timeout=120,
             env=dict(os.environ, **SANITIZER_ENV, VSWITCHD=str(lab.vswitchd),
                      VSWCTL=str(lab.vswctl)))
    assert "demo: OK" in res.stdout, res.stdout


def readme_table(heading, stop="\n#"):
    """The first-column words of the tables under a README heading."""
    text = readmelab.README.read_text()
    section = text.split(heading, 1)[1].split(stop, 1)[0]
    return set(re.findall(r"^\| `([a-z_-]+)`", section, re.MULTILINE))


def test_drop_reason_tables_match_stats(lab):
    """The README's two tables of drop reasons list exactly the reasons
    `vswctl --json stats` counts, for ports and for tunnel endpoints."""
    s = lab.netns("S")
    d = lab.daemon(s)
    d.ctl("port", "add", lab.name("vx"), "type", "vxlan", "remote", "127.0.0.2",
          "local", "127.0.0.1")
    stats = d.ctl("stats", json_out=True)
    assert readme_table("### Drop reasons") == set(stats["ports"][0]["drops"])
    assert readme_table("### Endpoint counters") == set(stats["endpoints"][0]["drops"])


def test_offload_table_matches_offload_show(lab):
    d = lab.daemon(lab.netns("S"))
    switches = set(d.ctl("offload", "show", json_out=True)["offloads"])
    assert readme_table("### Offloads", "**Taps.**") == switches
