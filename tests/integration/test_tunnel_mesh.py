"""Three hosts: a full mesh of tunnels that does not loop, and hub and spoke.

                 ns U: Linux bridge, the underlay segment 198.18.0.0/24
               /                    |                     \\
      H1 198.18.0.1          H2 198.18.0.2          H3 198.18.0.3
      vswitchd               vswitchd               vswitchd
        t1 -> E1 .0.1          t2 -> E2 .0.2          t3 -> E3 .0.3

Full mesh: every host has a tunnel to each other host (HnKm is host n's
tunnel to host m).  Hub and spoke: H1 has tunnels to H2 and H3, which only
have one to H1.
"""

import time

import pytest

from tunlab import Host, connected, endpoint, fdb_port, segment, tunnel
from vswlab import eth_frame, ping, port_stats, raw_send, wait_until


def three_hosts(lab):
    hosts = [Host(lab, n) for n in (1, 2, 3)]
    segment(lab, hosts)
    eps = [endpoint(lab, h) for h in hosts]
    return hosts, eps


def tun(lab, h, m):
    return lab.name(f"H{h.n}K{m.n}")


def tunnel_tx(lab, hosts):
    """tx_packets of every tunnel port of every host, by port name."""
    out = {}
    for h in hosts:
        for p in h.ctl("stats", json_out=True)["ports"]:
            if "K" in p["name"][len(lab.prefix):]:
                out[p["name"]] = p["tx_packets"]
    return out


@pytest.mark.parametrize("encap,v6", [("vxlan", False), ("gretap", True)],
                         ids=["vxlan-ipv4", "gretap-ipv6"])
def test_full_mesh_learns_and_does_not_loop(lab, encap, v6):
    hosts, eps = three_hosts(lab)
    opts = {"key": 5} if encap == "gretap" else {"vni": 5}
    for h in hosts:
        for m in hosts:
            if m is not h:
                tunnel(h, tun(lab, h, m), encap, m, v6=v6, **opts)
    for a in eps:
        for b in eps:
            if a is not b:
                connected(a, b)

    # Each host learned every remote endpoint on the tunnel to its host.
    for h, e in zip(hosts, eps):
        assert fdb_port(h, e.mac) == e.port
        for m, f in zip(hosts, eps):
            if m is not h:
                assert fdb_port(h, f.mac) == tun(lab, h, m)

    # A burst of broadcasts from E1: H1 sends each once down each tunnel,
    # H2 and H3 deliver it and send it down no tunnel of theirs.
    n = 200
    before = tunnel_tx(lab, hosts)
    taps_before = [port_stats(h.daemon, e.port)["tx_packets"] for h, e in zip(hosts, eps)]
    raw_send(eps[0], eps[0].port, [eth_frame("ff:ff:ff:ff:ff:ff", "02:56:53:00:0f:01")], count=n)
    for i in (1, 2):
        wait_until(lambda i=i: port_stats(hosts[i].daemon, eps[i].port)["tx_packets"]
                   >= taps_before[i] + n, timeout=30, what=f"broadcasts at E{i + 1}")
    time.sleep(1)
    after = tunnel_tx(lab, hosts)
    time.sleep(2)
    settled = tunnel_tx(lab, hosts)
    grew = {k: after[k] - before[k] for k in after}
    for m in hosts[1:]:
        assert grew[tun(lab, hosts[0], m)] >= n
    chatter = n // 10           # ARP or ND refreshes, nothing like n
    for h in hosts[1:]:
        for m in hosts:
            if m is not h:
                assert grew[tun(lab, h, m)] < chatter, grew
    assert all(settled[k] - after[k] < chatter for k in after), (after, settled)
    # The broadcast source moved nowhere: learned on E1's tap at H1 and
    # on the tunnel from H1 at H2 and H3.
    assert fdb_port(hosts[0], "02:56:53:00:0f:01") == eps[0].port
    for h in hosts[1:]:
        assert fdb_port(h, "02:56:53:00:0f:01") == tun(lab, h, hosts[0])


def test_hub_and_spoke_needs_split_horizon_off_at_the_hub(lab):
    (h1, h2, h3), (e1, e2, e3) = three_hosts(lab)
    for spoke in (h2, h3):
        tunnel(h1, tun(lab, h1, spoke), "vxlan", spoke, vni=9)
        tunnel(spoke, tun(lab, spoke, h1), "vxlan", h1, vni=9)
    connected(e1, e2)
    connected(e1, e3)
    # The hub learned both spokes' endpoints on their tunnels ...
    assert fdb_port(h1, e2.mac) == tun(lab, h1, h2)
    assert fdb_port(h1, e3.mac) == tun(lab, h1, h3)
    # ... but passes nothing from one spoke to the other.
    assert ping(e2, e3.addr, count=3, check=False).returncode != 0
    raw_send(e2, e2.port, [eth_frame(e3.mac, e2.mac)], count=10)
    wait_until(lambda: port_stats(h1.daemon, tun(lab, h1, h2))["drops"]["split_horizon"] >= 10,
               what="split_horizon drops at the hub")

    for spoke in (h2, h3):
        h1.ctl("port", "del", tun(lab, h1, spoke))
        tunnel(h1, tun(lab, h1, spoke), "vxlan", spoke, vni=9, split_horizon="off")
    assert all(p["split_horizon"] is False for p in h1.ctl("show", json_out=True)["ports"])
    connected(e2, e3)
    ping(e3, e2.addr, count=3)
