"""iperf3 runs, and what the offload tests check of them and of captures."""

import json
import subprocess

from vswlab import sh, wait_until

MSS = 1448      # bytes per TCP segment at MTU 1500, for retransmission bounds


def iperf3(lab, client, server, addr, *args, seconds=2):
    """iperf3 -J from client to server at addr: its JSON."""
    proc = lab.popen(server, "iperf3", "-s", "-1", "-B", addr,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: ":5201" in server.run("ss", "-ltnH").stdout,
               timeout=20, what="iperf3 server")
    res = client.run("iperf3", "-c", addr, "-t", seconds, "-J", *args,
                     timeout=120)
    proc.wait(timeout=30)
    return json.loads(res.stdout)


def check_tcp(out, min_bytes=1_000_000, retransmit_share=0.05):
    """Delivered, and few retransmits: a broken checksum or a reordering
    path shows as a storm of them, since the receiving kernel drops what
    does not verify."""
    end = out["end"]
    sent, received = end["sum_sent"], end["sum_received"]["bytes"]
    assert received > min_bytes, end
    assert received >= sent["bytes"] * 0.9, end
    segments = sent["bytes"] / MSS
    assert sent["retransmits"] <= max(20, segments * retransmit_share), sent


def check_wire_capture(daemon, pcap, max_len):
    """Once the daemon's captures are done, the capture in pcap is what a
    wire carries, read by tshark with checksum checking on: at least 1000
    packets, none longer than max_len, 500 of them data (not only ACKs), no
    bad IP or TCP checksum, no expert complaint about a checksum or a
    length, and nearly all TCP checksums verified good (not unchecked)."""
    wait_until(lambda: all(c["state"] != "running" for c in daemon.ctl(
        "capture", "show", json_out=True)["captures"]), what="capture done")
    res = sh("tshark", "-r", pcap, "-o", "tcp.check_checksum:TRUE",
             "-o", "ip.check_checksum:TRUE", "-T", "fields", "-e", "frame.len",
             "-e", "ip.checksum.status", "-e", "tcp.checksum.status",
             "-e", "_ws.expert.message")
    rows = [line.split("\t") for line in res.stdout.splitlines() if line.strip()]
    assert len(rows) >= 1000, len(rows)
    for f in rows:
        assert int(f[0]) <= max_len, f
        # 1 = good, 2 = unverified: never 0 (bad).
        assert f[1] in ("", "1", "2") and f[2] in ("", "1", "2"), f
        expert = f[3].lower() if len(f) > 3 else ""
        assert "checksum" not in expert and "length" not in expert, f
    assert sum(f[2] == "1" for f in rows) >= len(rows) * 0.9
    assert sum(int(f[0]) > 1000 for f in rows) >= 500
