"""The control plane of WireGuard ports: keys, peers, show, save.

    ns S: vswitchd --config DIR/vswitchd.conf --autosave [--ro-socket R]
      wg0  type wireguard private-key DIR/wg0.key listen-port 51820
           peers P1 (endpoint 198.18.0.2:51820, psk), P2 ([fd00:5657::2]:51821)
      tp0  type tap (not wireguard)

No peer answers here: this is the command line, show and the saved file
(tests/integration/test_wireguard*.py carry traffic).  Keys are made by
`wg genkey` and `vswctl wireguard genkey`; the private key and the
preshared key must appear in nothing the daemon prints or saves.
"""

import base64
import os
import pwd
import re
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from vswlab import c_define, sh, wait_until


def wg(*args, input=None):
    return sh("wg", *args, input=input).stdout


def vswctl(lab, *args, input=None, check=True):
    return sh(lab.vswctl, *args, input=input, check=check)


@pytest.fixture
def state_dir(lab, request):
    """A directory the daemon's user owns: key files and the config."""
    d = Path(tempfile.mkdtemp(prefix=f"{lab.prefix}-wg-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(d, ignore_errors=True))
    pw = pwd.getpwnam("vswitch")        # tests/deps.sh creates it
    os.chown(d, pw.pw_uid, pw.pw_gid)
    return d


def key_file(d, name, key):
    """KEY in D/NAME, mode 0600, owned by the daemon's user."""
    p = d / name
    p.write_text(key + "\n")
    p.chmod(0o600)
    pw = pwd.getpwnam("vswitch")
    os.chown(p, pw.pw_uid, pw.pw_gid)
    return p


class Keys:
    def __init__(self, d):
        self.priv = wg("genkey").strip()
        self.pub = wg("pubkey", input=self.priv + "\n").strip()
        self.psk = wg("genpsk").strip()
        self.priv_file = key_file(d, "wg0.key", self.priv)
        self.psk_file = key_file(d, "p1.psk", self.psk)
        self.p1 = wg("pubkey", input=wg("genkey")).strip()
        self.p2 = wg("pubkey", input=wg("genkey")).strip()


def wg_port(lab, d, keys):
    port = lab.name("wg0")
    d.ctl("port", "add", port, "type", "wireguard", "private-key", keys.priv_file,
          "listen-port", "51820")
    return port


def add_peers(d, port, keys):
    d.ctl("wireguard", "peer", "add", port, keys.p1, "endpoint", "198.18.0.2:51820",
          "allowed-ips", "198.19.2.0/24,fd00:5657:2::/64", "preshared-key", keys.psk_file,
          "persistent-keepalive", "25")
    d.ctl("wireguard", "peer", "add", port, keys.p2, "endpoint", "[fd00:5657::2]:51821",
          "allowed-ips", "198.19.3.0/24")


def configured(shown):
    """What of `wireguard --json show` the configuration decides (not the
    counters: a peer with an endpoint and a keepalive starts handshakes)."""
    return [(p["name"], p["public_key"], p["listen_port"],
             [{k: v for k, v in peer.items() if k not in ("rx_bytes", "tx_bytes")}
              for peer in p["peers"]]) for p in shown["ports"]]


def test_genkey_and_pubkey_are_wgs(lab):
    for _ in range(5):
        ours = vswctl(lab, "wireguard", "genkey").stdout
        assert len(ours) == 45 and ours.endswith("\n")
        raw = base64.b64decode(ours[:-1], validate=True)
        assert len(raw) == 32 and raw[0] & 7 == 0 and raw[31] & 0xc0 == 0x40
        assert vswctl(lab, "wireguard", "pubkey", input=ours).stdout == \
            wg("pubkey", input=ours)
        theirs = wg("genkey")
        assert vswctl(lab, "wireguard", "pubkey", input=theirs).stdout == \
            wg("pubkey", input=theirs)
        # Without the newline, and with trailing blanks, as wg takes it.
        assert vswctl(lab, "wireguard", "pubkey", input=theirs.strip()).stdout == \
            wg("pubkey", input=theirs)
        assert vswctl(lab, "wireguard", "pubkey", input=theirs.strip() + " \n\n").stdout == \
            wg("pubkey", input=theirs)
    for bad in ("", "not a key\n", "A" * 43 + "\n", wg("genkey").strip() + "x\n",
                "!" * 44 + "\n"):
        res = vswctl(lab, "wireguard", "pubkey", input=bad, check=False)
        assert res.returncode == 1 and not res.stdout, bad
        assert "no private key" in res.stderr, res.stderr
    res = vswctl(lab, "wireguard", "genkey", "x", check=False)
    assert res.returncode == 1 and not res.stdout
    assert "usage: wireguard genkey (no arguments: 'x' is one too many)" in res.stderr


def test_peer_commands_refuse_bad_values(lab, state_dir):
    s = lab.netns("S")
    ro = lab.rundir() / "ro.sock"
    d = lab.daemon(s, "--ro-socket", ro)
    keys = Keys(state_dir)
    port = wg_port(lab, d, keys)
    tap = lab.name("tp0")
    d.ctl("port", "add", tap, "type", "tap")
    many = ",".join(f"198.19.{i // 256}.{i % 256}/32"
                    for i in range(c_define("tunnel/port-wg.h", "WG_ALLOWED_MAX") + 1))
    add = ("wireguard", "peer", "add")
    cases = [
        (add + (port, "bm90IGEga2V5"), "invalid public key 'bm90IGEga2V5'"),
        (add + (port, keys.p1 + "x"), f"invalid public key '{keys.p1}x'"),
        (add + (port, keys.p1, "endpoint", "198.18.0.2"), "invalid endpoint '198.18.0.2'"),
        (add + (port, keys.p1, "endpoint", "fd00:5657::2:51820"),
         "invalid endpoint 'fd00:5657::2:51820'"),
        (add + (port, keys.p1, "endpoint", "198.18.0.2:65536"),
         "invalid endpoint '198.18.0.2:65536'"),
        (add + (port, keys.p1, "endpoint", "[198.18.0.2]:1"),
         "invalid endpoint '[198.18.0.2]:1'"),
        (add + (port, keys.p1, "endpoint", "host.example:1"),
         "invalid endpoint 'host.example:1'"),
        (add + (lab.name("no"), keys.p1), f"unknown port '{lab.name('no')}'"),
        (add + (tap, keys.p1), f"port '{tap}' is a tap port, not wireguard"),
        (add + (port, keys.p1, "allowed-ips", "198.19.2.0/24", "allowed-ips", "198.19.4.0/24"),
         "option 'allowed-ips' given twice"),
        (add + (port, keys.p1, "allowed-ips", "198.19.2.0/24,198.19.2.1/24"),
         "allowed-ips '198.19.2.1/24' given twice"),
        (add + (port, keys.p1, "allowed-ips", "198.19.2.0/33"),
         "invalid allowed-ips '198.19.2.0/33'"),
        (add + (port, keys.p1, "allowed-ips", many), "too many allowed-ips (at most 256)"),
        (add + (port, keys.p1, "persistent-keepalive", "65536"),
         "invalid persistent-keepalive '65536' (expected 0..65535)"),
        (add + (port, keys.p1, "listen-port", "1"), "unknown option 'listen-port'"),
        (add + (port, keys.p1, "endpoint"), "option 'endpoint' needs a value"),
        (add + (port, keys.pub), None),        # its own key: the port says why
        (("wireguard", "peer", "del", port, keys.p2), None),     # no such peer
        (("wireguard", "peer", "del", tap, keys.p2), f"port '{tap}' is a tap port"),
        (("wireguard", "show", tap), f"port '{tap}' is a tap port, not wireguard"),
        (("wireguard", "peer"), "'wireguard peer' needs a verb (add, del)"),
        (("wireguard", "peer", "x"), "unknown verb 'x' for 'wireguard peer' (add, del)"),
    ]
    for args, message in cases:
        res = d.ctl(*args, check=False)
        assert res.returncode == 1 and not res.stdout, (args, res.stdout)
        if message is not None:
            assert message in res.stderr, (args, res.stderr)
        else:
            assert res.stderr.strip(), args
    # Nothing of that made a peer.
    assert d.ctl("wireguard", "show", json_out=True)["ports"][0]["peers"] == []

    # Prefixes work as elsewhere; a peer add replaces (wg set semantics).
    d.ctl("wi", "pe", "a", port, keys.p1, "allowed-ips", "198.19.2.0/24,198.19.5.0/24")
    d.ctl("wireguard", "peer", "add", port, keys.p1, "allowed-ips", "198.19.6.1/24")
    peers = d.ctl("wireguard", "show", port, json_out=True)["ports"][0]["peers"]
    assert [(p["public_key"], p["allowed_ips"]) for p in peers] == \
        [(keys.p1, ["198.19.6.0/24"])]

    # The read-only socket shows but does not change.
    res = sh(lab.vswctl, "--socket", ro, "wireguard", "show", check=False)
    assert res.returncode == 0 and keys.p1 in res.stdout, res.stderr
    for args in (add + (port, keys.p2), ("wireguard", "peer", "del", port, keys.p1)):
        res = sh(lab.vswctl, "--socket", ro, *args, check=False)
        assert res.returncode == 1
        assert f"is read-only: '{' '.join(args[:3])}' changes the configuration" \
            in res.stderr, res.stderr
    d.ctl("wireguard", "peer", "del", port, keys.p1)
    assert d.ctl("wireguard", "show", json_out=True)["ports"][0]["peers"] == []


def test_show_says_what_wg_says_and_never_a_key(lab, state_dir):
    s = lab.netns("S")
    d = lab.daemon(s)
    keys = Keys(state_dir)
    port = wg_port(lab, d, keys)
    add_peers(d, port, keys)
    text = d.ctl("wireguard", "show").stdout
    data = d.ctl("wireguard", "show", json_out=True)
    saved = d.ctl("save", "-").stdout
    everything = text + str(data) + saved + d.ctl("show").stdout + \
        d.ctl("port", "show", port).stdout + str(d.ctl("show", json_out=True)) + \
        d.log_text()
    for secret in (keys.priv, keys.psk):
        assert secret not in everything
        # Nor its bytes in another spelling (hex, base64 without padding).
        raw = base64.b64decode(secret)
        assert raw.hex() not in everything and secret.rstrip("=") not in everything

    assert text.startswith(f"interface: {port}\n  public key: {keys.pub}\n"
                           "  listening port: 51820\n"), text
    # P1's keepalive has the port start a handshake at once: bytes sent.
    assert re.search(rf"\npeer: {re.escape(keys.p1)}\n  preshared key: \(hidden\)\n"
                     r"  endpoint: 198\.18\.0\.2:51820\n"
                     r"  allowed ips: 198\.19\.2\.0/24, fd00:5657:2::/64\n"
                     r"  latest handshake: \(none\)\n"
                     r"  transfer: 0 B received, \d+ B sent\n"
                     r"  persistent keepalive: every 25 seconds\n", text), text
    assert (f"\npeer: {keys.p2}\n  endpoint: [fd00:5657::2]:51821\n"
            "  allowed ips: 198.19.3.0/24\n") in text, text

    (p,) = data["ports"]
    assert p["name"] == port and p["public_key"] == keys.pub and p["listen_port"] == 51820
    assert p["under_load"] is False
    # Every reason, each 0 so far.
    assert len(p["drops"]) >= 10 and set(p["drops"].values()) == {0}
    p1, p2 = p["peers"]
    assert p1.pop("tx_bytes") >= 0
    assert p1 == {"public_key": keys.p1, "preshared_key": True,
                  "endpoint": "198.18.0.2:51820",
                  "allowed_ips": ["198.19.2.0/24", "fd00:5657:2::/64"],
                  "latest_handshake": 0, "rx_bytes": 0,
                  "persistent_keepalive": 25, "handshakes": 0}
    assert p2["preshared_key"] is False and p2["endpoint"] == "[fd00:5657::2]:51821"
    assert p2["persistent_keepalive"] == 0
    # show of one port, and of none when there is no wireguard port.
    assert d.ctl("wireguard", "show", port, json_out=True)["ports"][0]["name"] == port
    d.ctl("port", "del", port)
    assert d.ctl("wireguard", "show", json_out=True) == {"ports": []}
    assert d.ctl("wireguard").stdout == ""


def test_save_and_restart_restore_the_peers(lab, state_dir):
    s = lab.netns("S")
    conf = state_dir / "vswitchd.conf"
    args = ("--config", conf, "--autosave")
    d = lab.daemon(s, *args)
    keys = Keys(state_dir)
    port = wg_port(lab, d, keys)
    add_peers(d, port, keys)
    before = d.ctl("save", "-").stdout
    lines = before.split("\n")
    port_line = next(i for i, l in enumerate(lines) if l.startswith(f"port add {port} "))
    assert lines[port_line + 1:port_line + 3] == [
        f"wireguard peer add {port} {keys.p1} endpoint 198.18.0.2:51820 "
        f"allowed-ips 198.19.2.0/24,fd00:5657:2::/64 preshared-key {keys.psk_file} "
        "persistent-keepalive 25",
        f"wireguard peer add {port} {keys.p2} endpoint [fd00:5657::2]:51821 "
        "allowed-ips 198.19.3.0/24",
    ], before
    assert conf.read_text() == before
    shown = d.ctl("wireguard", "show", json_out=True)

    d.stop(sig=signal.SIGKILL)
    d2 = lab.daemon(s, *args)
    assert d2.ctl("save", "-").stdout == before
    assert configured(d2.ctl("wireguard", "show", json_out=True)) == configured(shown)

    # peer del: gone from show and from the file autosave writes.
    d2.ctl("wireguard", "peer", "del", port, keys.p1)
    assert keys.p1 not in d2.ctl("wireguard", "show").stdout
    assert keys.p1 not in conf.read_text() and keys.p2 in conf.read_text()

    # A reload converges on the file: P1 back, P2 gone.
    text = before.replace(lines[port_line + 2] + "\n", "")
    conf.write_text(text)
    n = d2.log_text().count("reloaded")
    d2.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: d2.log_text().count("reloaded") > n, what="reloaded")
    peers = d2.ctl("wireguard", "show", json_out=True)["ports"][0]["peers"]
    assert [p["public_key"] for p in peers] == [keys.p1]
    assert d2.ctl("save", "-").stdout == text


@pytest.mark.parametrize("lines, message", [
    ("wireguard peer add {no} {p1}",
     "unknown port '{no}' (the file adds no port of that name)"),
    ("port add {port} type wireguard private-key {key}\nwireguard peer del {port} {p1}",
     "'wireguard peer del' is no configuration command"),
    ("port add {port} type wireguard private-key {key}\n"
     "wireguard peer add {port} {p1} endpoint 198.18.0.2",
     "invalid endpoint '198.18.0.2'"),
])
def test_a_bad_peer_line_stops_the_start(lab, state_dir, lines, message):
    keys = Keys(state_dir)
    names = dict(no=lab.name("no"), port=lab.name("wg0"), key=keys.priv_file, p1=keys.p1)
    conf = state_dir / "bad.conf"
    conf.write_text("# comment\n" + lines.format(**names) + "\n")
    s = lab.netns("S")
    res = s.run(lab.vswitchd, "--foreground", "--socket", state_dir / "sock",
                "--config", conf, check=False, timeout=10)
    assert res.returncode != 0
    assert message.format(**names) in res.stderr, res.stderr


def test_rekey_after_option(lab, tmp_path):
    for bad in ("0", "121", "x", "-1", ""):
        res = sh(lab.vswitchd, "--foreground", "--socket", tmp_path / "s",
                 "--wg-rekey-after", bad, check=False, timeout=10)
        assert res.returncode == 1
        assert f"invalid --wg-rekey-after '{bad}'" in res.stderr, res.stderr
    d = lab.daemon(lab.netns("S"), "--wg-rekey-after", "5")
    assert d.alive()
