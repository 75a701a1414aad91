"""vswctl's bash completion against a running daemon.

    ns S: vswitchd with taps tp0, tp1  <-- vswctl help / --json show --  bash

bash sources tools/vswctl.bash-completion and calls its function with
COMP_WORDS and COMP_CWORD set as readline would; the daemon is the lab's,
found through VSWCTL_SOCKET, and vswctl the build's, first in PATH.
"""

import os

import pytest

from vswlab import ROOT, sh

SCRIPT = ROOT / "tools" / "vswctl.bash-completion"


@pytest.fixture
def complete(lab):
    s = lab.netns("S")
    d = lab.daemon(s)
    ports = [lab.name("tp0"), lab.name("tp1")]
    for p in ports:
        d.ctl("port", "add", p, "type", "tap")
    env = dict(os.environ, VSWCTL_SOCKET=str(d.sock),
               PATH=f"{lab.vswctl.parent}:{os.environ['PATH']}")

    def run(*words):
        """What completing the last of WORDS offers, sorted."""
        script = (f"source {SCRIPT}\n"
                  "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
                  "_vswctl\n"
                  "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
        out = sh("bash", "-c", script, "bash", *words, env=env).stdout
        return sorted(w for w in out.split("\n") if w)

    run.ports = ports
    run.daemon = d
    return run


def test_objects_come_from_help(complete):
    objects = complete("vswctl", "")
    for o in ("show", "port", "fdb", "route", "router", "offload", "busy-poll",
              "stats", "capture", "help"):
        assert o in objects
    assert complete("vswctl", "ro") == ["route", "router"]
    assert complete("vswctl", "--js") == ["--json"]


def test_verbs_of_an_object(complete):
    verbs = complete("vswctl", "port", "")
    assert {"show", "add", "del"} <= set(verbs)
    assert complete("vswctl", "fdb", "fl") == ["flush"]
    # A prefix of the object works as vswctl takes it.
    assert complete("vswctl", "busy", "s") == ["set", "show"]


def test_port_names_from_the_daemon(complete):
    assert complete("vswctl", "port", "del", "") == complete.ports
    assert complete("vswctl", "stats", "") == complete.ports
    assert complete("vswctl", "fdb", "show", "dev", "") == complete.ports
    # A port added since is offered at once: asked at completion time.
    new = complete.daemon.lab.name("tp2")
    complete.daemon.ctl("port", "add", new, "type", "tap")
    assert new in complete("vswctl", "po", "sh", "")


def test_keywords_and_types_of_port_add(complete):
    assert "vxlan" in complete("vswctl", "port", "add", "x", "type", "")
    words = complete("vswctl", "port", "add", "x", "type", "vxlan", "")
    assert {"remote", "local", "dstport", "vni", "mtu"} <= set(words)
    assert "type" not in words      # already given
    # A new port's name is not completed from the existing ones.
    assert not set(complete("vswctl", "port", "add", "")) & set(complete.ports)


def test_values_the_usage_spells_out(complete):
    assert complete("vswctl", "capture", "start", complete.ports[0], "direction", "") == \
        ["both", "rx", "tx"]
    assert complete("vswctl", "port", "add", "x", "type", "tap", "split-horizon", "") == \
        ["off", "on"]
    assert "-" in complete("vswctl", "capture", complete.ports[0], "-w", "")


def test_socket_option_is_followed(complete, tmp_path):
    other = ["vswctl", "--socket", str(tmp_path / "none"), ""]
    assert complete(*other) == []   # no daemon there: nothing to offer
    assert "port" in complete("vswctl", "--socket", str(complete.daemon.sock), "")


def test_verbs_of_two_words_and_vswctl_own(complete):
    """wireguard: "peer add"/"peer del" from the daemon's usage lines, and
    genkey/pubkey, which vswctl runs itself."""
    assert complete("vswctl", "wireguard", "") == ["genkey", "peer", "pubkey", "show"]
    assert complete("vswctl", "wi", "pe", "") == ["add", "del"]
    assert complete("vswctl", "wireguard", "genkey", "") == []
    assert complete("vswctl", "wireguard", "peer", "add", "") == complete.ports
    assert complete("vswctl", "wireguard", "show", "") == complete.ports
    words = complete("vswctl", "wireguard", "peer", "add", complete.ports[0], "KEY", "")
    assert {"endpoint", "allowed-ips", "preshared-key", "persistent-keepalive"} <= set(words)
    assert "add" not in words and "peer" not in words
    # A verb whose one line goes on in keywords is no verb of two words.
    assert complete("vswctl", "fdb", "set", "") == ["ageing", "max"]
    assert {"address", "icmp-rate", "icmp-burst"} <= set(complete("vswctl", "router", "set", ""))
