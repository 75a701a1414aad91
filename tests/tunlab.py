"""Hosts joined by an underlay, for the tunnel tests.

A host is a namespace with underlay addresses (198.18.0.N/24 and
fd00:5657::N/64) and, unless it is a kernel host, its own vswitchd.  Each
host's endpoint is a namespace on a tap of that host's daemon, addressed
198.19.0.N/24.  Underlay links are veth pairs, or a Linux bridge in an
underlay namespace when more than two hosts share one segment.
"""

import json

from vswlab import ping, sh, wait_until

UNDERLAY_MTU = 1600     # room for any encapsulation around 1500-byte frames


class Host:
    def __init__(self, lab, n, daemon=True):
        self.lab = lab
        self.n = n
        self.ns = lab.netns(f"H{n}")
        self.addr = f"198.18.0.{n}"
        self.addr6 = f"fd00:5657::{n}"
        self.ifs = []
        self.daemon = lab.daemon(self.ns) if daemon else None

    def start(self, *args):
        """Starts the host's daemon later, with arguments."""
        self.daemon = self.lab.daemon(self.ns, *args)

    def ul(self, v6):
        return self.addr6 if v6 else self.addr

    def add_link(self, ifname, mtu):
        ns = self.ns
        ns.run("ip", "link", "set", ifname, "mtu", mtu)
        ns.run("ip", "addr", "add", f"{self.addr}/24", "dev", ifname)
        # nodad: a tentative address cannot be bound to
        ns.run("ip", "addr", "add", f"{self.addr6}/64", "dev", ifname, "nodad")
        ns.run("ip", "link", "set", ifname, "up")
        self.ifs.append(ifname)

    def ctl(self, *args, **kw):
        return self.daemon.ctl(*args, **kw)


def link(lab, h1, h2, mtu=UNDERLAY_MTU):
    """A veth between two hosts."""
    i1, i2 = lab.name(f"u{h1.n}{h2.n}"), lab.name(f"u{h2.n}{h1.n}")
    h1.ns.run("ip", "link", "add", i1, "type", "veth", "peer", "name", i2,
              "netns", h2.ns.name)
    h1.add_link(i1, mtu)
    h2.add_link(i2, mtu)


def segment(lab, hosts, mtu=UNDERLAY_MTU):
    """One Linux bridge in an underlay namespace, a veth to each host."""
    u = lab.netns("U")
    br = lab.name("ubr")
    u.run("ip", "link", "add", br, "type", "bridge")
    u.run("ip", "link", "set", br, "mtu", mtu, "up")
    for h in hosts:
        hi, ui = lab.name(f"u{h.n}"), lab.name(f"b{h.n}")
        h.ns.run("ip", "link", "add", hi, "type", "veth", "peer", "name", ui,
                 "netns", u.name)
        u.run("ip", "link", "set", ui, "mtu", mtu, "master", br, "up")
        h.add_link(hi, mtu)
    return u


def endpoint(lab, host, mtu=None):
    """Tap tN on the host's daemon, moved into namespace EN as 198.19.0.N."""
    return lab.endpoint(host.daemon, lab.name(f"t{host.n}"), f"E{host.n}",
                        f"198.19.0.{host.n}/24", mtu=mtu)


def tunnel(host, name, encap, remote, v6=False, local=True, **opts):
    """Adds a tunnel port to remote (a Host) with options as keywords."""
    args = ["port", "add", name, "type", encap, "remote", remote.ul(v6)]
    if local:
        args += ["local", host.ul(v6)]
    for k, v in opts.items():
        args += [k.replace("_", "-"), str(v)]
    return host.ctl(*args)


def two_hosts(lab, encap, v6=False, mtu=UNDERLAY_MTU, endpoint_mtu=None, **opts):
    """H1 and H2 on a veth, each with an endpoint and a tunnel port "tun"
    to the other: H1's with local set, H2's without."""
    h1, h2 = Host(lab, 1), Host(lab, 2)
    link(lab, h1, h2, mtu=mtu)
    e1, e2 = endpoint(lab, h1, endpoint_mtu), endpoint(lab, h2, endpoint_mtu)
    tun = lab.name("tun")
    tunnel(h1, tun, encap, h2, v6=v6, **opts)
    tunnel(h2, tun, encap, h1, v6=v6, local=False, **opts)
    return h1, h2, e1, e2, tun


def iperf3(lab, client, server, seconds=2):
    """Bytes a TCP iperf3 run from client to server delivered."""
    proc = lab.popen(server, "iperf3", "-s", "-1", "-B", server.addr)
    wait_until(lambda: "LISTEN" in server.run("ss", "-ltn").stdout,
               timeout=20, what="iperf3 server")
    res = client.run("iperf3", "-c", server.addr, "-t", seconds, "--json",
                     timeout=120)
    proc.wait(timeout=30)
    return json.loads(res.stdout)["end"]["sum_received"]["bytes"]


def fdb_port(host, mac):
    """The port the host's switch learned mac on, or None."""
    for e in host.ctl("fdb", "show", json_out=True)["fdb"]:
        if e["mac"] == mac:
            return e["port"]
    return None


def endpoints(host, port=None):
    args = ["stats"] + ([port] if port else [])
    return host.ctl(*args, json_out=True)["endpoints"]


def connected(src, dst):
    """Pings until the first reply, so ARP and learning are done."""
    wait_until(lambda: ping(src, dst.addr, count=1, check=False).returncode == 0,
               timeout=30, interval=0.2, what=f"ping {src.name} -> {dst.addr}")


# Two routers over a veth underlay, for the L3 tunnel and wireguard tests:
#
#   ns A  198.19.1.1 [tunA  H1  port1] === underlay === [port2  H2  tunB] 198.19.2.1  ns B
#
# the underlay IPv4 or IPv6 (UNDER), each router routing the far subnet
# (IPv4 and IPv6) into its port.
UNDER = {"4": ("198.18.0.1", "198.18.0.2", 24), "6": ("fd00:5657::1", "fd00:5657::2", 64)}


class Routers:
    pass


def router_pair(lab, under, daemon_args=()):
    """Namespaces H1 and H2 on a veth underlay (UNDER[under]), each with a
    daemon: h1, h2, d1, d2 and under, the two underlay addresses."""
    h = Routers()
    ua, ub, plen = UNDER[under]
    h.h1, h.h2 = lab.netns("H1"), lab.netns("H2")
    v1, v2 = lab.name("v1"), lab.name("v2")
    sh("ip", "link", "add", v1, "netns", h.h1.name, "type", "veth", "peer", "name", v2,
       "netns", h.h2.name)
    for ns, dev, addr in ((h.h1, v1, ua), (h.h2, v2, ub)):
        ns.run("ip", "addr", "add", f"{addr}/{plen}", "dev", dev, *(("nodad",) if under == "6" else ()))
        ns.run("ip", "link", "set", dev, "up")
    h.under = (ua, ub)
    h.d1, h.d2 = lab.daemon(h.h1, *daemon_args), lab.daemon(h.h2, *daemon_args)
    return h


def router_endpoints(lab, h, port1, port2):
    """Endpoints h.a behind h.d1 and h.b behind h.d2 (tun ports), and the
    routes of each router to the far subnets through port1 and port2."""
    h.a = lab.tun_endpoint(h.d1, lab.name("tA"), "A", "198.19.1.1/24", "198.19.1.254/24",
                           "fd00:5657:1::1/64", "fd00:5657:1::fe/64")
    h.b = lab.tun_endpoint(h.d2, lab.name("tB"), "B", "198.19.2.1/24", "198.19.2.254/24",
                           "fd00:5657:2::1/64", "fd00:5657:2::fe/64")
    for d, port, far in ((h.d1, port1, "2"), (h.d2, port2, "1")):
        d.ctl("route", "add", f"198.19.{far}.0/24", "dev", port)
        d.ctl("route", "add", f"fd00:5657:{far}::/64", "dev", port)
