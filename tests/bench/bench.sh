#!/bin/sh
# bench.sh - vswitchd beside the kernel on the same namespace shapes.
#
# Shapes, each built once for each system:
#
# "single", one switch:
#     ns a                      ns s                       ns b
#     198.19.0.1/24 ---- Linux bridge (veth pairs) ---- 198.19.0.2/24
#     198.19.0.1/24 ---- vswitchd   (2 tap ports)  ---- 198.19.0.2/24
#
# "vxlan", two hosts joined by a VXLAN tunnel (VNI 42) over a veth underlay:
#     ns a          ns h1 198.18.0.1/24      ns h2 198.18.0.2/24        ns b
#     .0.1 --veth-- bridge + kernel vxlan ==== kernel vxlan + bridge --veth-- .0.2
#     .0.1 --tap--- vswitchd (tap, vxlan) ==== vswitchd (vxlan, tap) --tap--- .0.2
#   underlay MTU 1600, endpoints 1500, so nothing is too big for the tunnel.
#
# "routed", two subnets behind two routers joined over the same underlay:
#     ns a          ns h1                       ns h2                      ns b
#     198.19.1.1 -- IP forwarding ---- veth ---- IP forwarding -- 198.19.2.1 (veth)
#     198.19.1.1 -- vswitchd (tun) == ipip ==== vswitchd (tun) -- 198.19.2.1 (tun)
#   each router's near subnet is .254 on its tun port or veth.
#
# "vhost", a vhost-user port with DPDK's testpmd (virtio_user) as the guest,
# beside a tap port, both sending into a tap endpoint: see shape_vhost.
#
# "wg", the routed shape over WireGuard instead of ipip, and "wgvxlan", the
# vxlan shape inside WireGuard (VXLAN between 198.19.9.1 and .2 carried by
# WireGuard): their baseline is Debian's wireguard-go (a userspace WireGuard
# on a tun device) with the kernel forwarding or bridging, not a kernel
# WireGuard (this kernel has none); see shape_wg and shape_wgvxlan below.
#
# vswitchd creates its taps and tuns in its own namespace (s, h1, h2); they
# are then moved into a and b, where they get their address, the daemon
# keeping its file descriptors.
#
# Systems: the kernel's equivalent and vswitchd in one or more offload
# variants, each in its own namespaces, all set up before measuring:
#   on              every offload switch on (the default configuration)
#   off             every switch off (vswctl offload set NAME off ...)
#   NAME[,NAME...]  those switches off, the others on (e.g. tap-tso)
# NAME is one of: tap-csum tap-tso tap-uso tcp-gro udp-gso udp-gro.  Each
# shape has its own default list (the switches on its path); VARIANTS
# replaces it for every shape.  Variants are applied right after the daemons
# start (vswctl offload set).
#
# Measured from a to b, REPS times, the systems taking turns (the first system
# goes first in odd reps, last in even ones, so slow drifts of the machine
# fall on all):
#   TCP1, TCP4  iperf3 with 1 and with 4 streams (-P 4), DUR s, receiver Gbit/s
#   UDP64       iperf3 -u -l 64 -b 0, DUR s, packets received per second
#   L2 flood    trafgen floods 64-byte UDP frames (60 B + FCS, to b's MAC)
#               out of a's interface for DUR s, as ../shared/bench/peers.sh
#               does: frames per second counted in b's rx_packets over
#               trafgen's run time (shapes where a and b share a link;
#               "n/a" without trafgen, from netsniff-ng)
#   ping        ping -c PING_N -i 0.01, average RTT, in each placement
#   sockperf    sockperf ping-pong, 64-byte UDP messages, SP_DUR s,
#               RTT = 2 x its average latency ("n/a" without sockperf), in
#               each placement
#   CPU s/GB    over the two TCP runs: CPU seconds (utime+stime from
#               /proc/PID/stat, summed over the system's daemons; "host":
#               the whole machine's busy time from /proc/stat) divided by the
#               gigabytes (1e9 bytes) the iperf3 servers received
#   RSS         the largest daemon's VmRSS right after setup (idle, before
#               any traffic) and its VmHWM at the end (peak)
# Placements: the latency tests (ping, sockperf) run once in each of
# PLACEMENTS, the system's processes pinned with taskset, so that a figure
# does not depend on where the scheduler happened to put them.  CPU_A and
# CPU_B are the first two CPUs this script may use:
#   same    every daemon and both endpoints on CPU_A
#   split   every daemon on CPU_B, both endpoints on CPU_A (in the two-host
#           shapes both daemons share CPU_B: every hop between a daemon and
#           an endpoint crosses CPUs, the one between the daemons does not)
#   free    unpinned: the scheduler's choice, as the throughput tests run
# Pinned are the daemons (every thread, by PID), ping and the sockperf
# client in a, the sockperf server in b.  A kernel system has no daemon:
# its endpoints are pinned alike and its forwarding runs in softirq where
# the kernel raises it, so its same and split figures measure one
# placement twice.  wireguard-go, a baseline's daemon, is pinned as one.
# Each figure printed is the median of the reps; a vswitchd row gives its
# ratio to the kernel's row of the same run (and the same placement) in
# parentheses.  This is a benchmark, not a test:
# it asserts nothing about speed, and exits non-zero only if a system could
# not be set up or measured.
#
# Usage (root, after make):  sh tests/bench/bench.sh
#   REPS=3 DUR=5 PING_N=200 SP_DUR=3  repetitions, seconds per iperf3 (and
#                            trafgen) run, pings per run, seconds per sockperf run
#   PLACEMENTS="same split free"  CPU placements of the latency tests
#   SHAPES="single system vxlan routed wg wgvxlan vhost"  shapes to run, in order
#   VARIANTS="on off ..."    vswitchd variants for every shape (default: each
#                            shape's own list, see shape_NAME)
#   FAST=1                   a smoke run: REPS=1 DUR=1 PING_N=20 SP_DUR=1
#                            VARIANTS=on, unless given
#   RESULTS=DIR              where the TSV files go (default build/bench)
#   KEEP=1                   keep the work directory (logs, iperf3 JSON)
#   VSWITCHD=... VSWCTL=...  binaries (default: the ones built in this tree)
#   MAC_BENCH=...            the MAC table micro-benchmark run at the end
#                            (tests/bench/mac-bench.c; MAC_BENCH= skips it)
# Output: the tables on stdout, and in RESULTS bench-STAMP.tsv (one line per
# system and shape: medians and ratios, header line first) and
# bench-STAMP.raw.tsv (every measurement: shape, system, variant, figure,
# rep, value).
#
# Adding a shape NAME means defining three things (see "single" below):
#   shape_NAME               prints "KERNEL-LABEL|one line describing the
#                            shape|default variants"
#   setup_NAME_kernel TAG    builds the kernel baseline
#   setup_NAME_vswitchd TAG  builds the same topology around vswitchd
# A setup function names its namespaces "$P-TAG-x" (ns_add) and its interfaces
# "$P$TAG..." (at most 15 characters; TAG is at most 3), starts daemons with
# vsw_start, and ends with sys_set to say where the endpoints are.  Offload
# variants, measurement, clean-up and the table are shared.
#
# Only addresses from 198.18.0.0/15, only names with this run's prefix, and
# only processes this script started (killed by PID) are touched.

# POSIX sh plus "local" (dash, bash, busybox sh).
# shellcheck disable=SC3043
set -u
export LC_ALL=C

FAST=${FAST:-0}
if [ "$FAST" = 1 ]; then
	REPS=${REPS:-1} DUR=${DUR:-1} PING_N=${PING_N:-20} SP_DUR=${SP_DUR:-1}
	VARIANTS=${VARIANTS:-on}
fi
REPS=${REPS:-3}
DUR=${DUR:-5}
PING_N=${PING_N:-200}
SP_DUR=${SP_DUR:-3}
PLACEMENTS=${PLACEMENTS:-same split free}
SHAPES=${SHAPES:-single system vxlan routed wg wgvxlan vhost}
VARIANTS=${VARIANTS:-}
KEEP=${KEEP:-0}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RESULTS=${RESULTS:-$ROOT/build/bench}
VSWITCHD=${VSWITCHD:-$ROOT/vswitchd/vswitchd}
VSWCTL=${VSWCTL:-$ROOT/tools/vswctl}
MAC_BENCH=${MAC_BENCH-$ROOT/build/release/bench/mac-bench}
HZ=$(getconf CLK_TCK)
P=vb$$			# run prefix: "vb" + pid (<= 7 digits) leaves 6 characters
IP_A=198.19.0.1
IP_B=198.19.0.2
OFFLOADS="tap-csum tap-tso tap-uso tcp-gro udp-gso udp-gro"
SP_PORT=11111
CPUS=""			# the CPUs this script may use (a taskset list): "free"
CPU_A="" CPU_B=""	# the first two of them (see Placements above)
EP_CPUS=""		# where the endpoint commands of the current placement run

W=""			# work directory
STAMP=""		# this run's date, in the TSV file names
NETNS_LIST=""		# namespaces of the current shape
PID_LIST=""		# processes started for the current shape

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "bench: $*"; exit 1; }

# ------------------------------------------------------------ clean-up

# alive PID: the process exists and is not a zombie (our children stay
# zombies until reaped, so their PIDs cannot be reused meanwhile)
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	[ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

# kill_pids PID...: SIGTERM, SIGKILL after 3 s, then reap
kill_pids() {
	local p i left
	for p; do kill "$p" 2>/dev/null; done
	i=0
	while [ $i -lt 30 ]; do
		left=""
		for p; do alive "$p" && left="$left $p"; done
		[ -z "$left" ] && break
		sleep 0.1; i=$((i + 1))
	done
	for p in $left; do kill -9 "$p" 2>/dev/null; done
	for p; do wait "$p" 2>/dev/null; done
	return 0
}

teardown() {
	local n
	# shellcheck disable=SC2086
	[ -n "$PID_LIST" ] && kill_pids $PID_LIST
	for n in $NETNS_LIST; do ip netns del "$n" 2>/dev/null; done
	# anything of ours that ended up in the root namespace
	for n in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$P"); do
		ip link del "$n" 2>/dev/null
	done
	PID_LIST="" NETNS_LIST=""
}

on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	case $rc in 130|143) log "interrupted, cleaning up" ;; esac
	teardown
	if [ -n "$W" ]; then
		if [ "$KEEP" = 1 ] || [ $rc -eq 1 ]; then log "work directory kept: $W"; else rm -rf "$W"; fi
	fi
	exit $rc
}

# ------------------------------------------------------------ building blocks

# ns_add NAME...: namespaces with lo up and br_netfilter off (it is built into
# the kernel and on in every new namespace; the bridge baseline is pure L2)
ns_add() {
	local n
	for n; do
		ip netns add "$n" || return 1
		NETNS_LIST="$NETNS_LIST $n"
		ip -n "$n" link set lo up || return 1
		ip netns exec "$n" sh -c 'for f in /proc/sys/net/bridge/bridge-nf-call-*; do
			[ -w "$f" ] && echo 0 > "$f"; done; :'
	done
}

# veth NS1 IF1 NS2 IF2: a veth pair created directly in its namespaces
veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
}

# ep_up NS IF IP: address and bring up an endpoint interface
ep_up() {
	ip -n "$1" link set "$2" mtu 1500 &&
	ip -n "$1" addr add "$3/24" dev "$2" &&
	ip -n "$1" link set "$2" up
}

# vsw_start TAG NS [NAME]: run vswitchd in NS with its socket in $W/TAG, or
# in $W/TAG/NAME when a shape has several (vsw TAG/NAME talks to that one);
# every daemon of TAG is listed in $W/TAG/pid
vsw_start() {
	local d="$W/$1${3:+/$3}" pid i
	mkdir -p "$d"
	ip netns exec "$2" "$VSWITCHD" --foreground --socket "$d/sock" >"$d/vswitchd.log" 2>&1 &
	pid=$!
	PID_LIST="$PID_LIST $pid"
	echo "$pid" >> "$W/$1/pid"
	echo "$1${3:+/$3}" >> "$W/$1/socks"
	i=0
	while [ ! -S "$d/sock" ]; do
		alive "$pid" && [ $i -lt 100 ] || { log "vswitchd did not start:"; cat "$d/vswitchd.log" >&2; return 1; }
		sleep 0.05; i=$((i + 1))
	done
}

# vsw TAG[/NAME] ARGS...: vswctl against that daemon
vsw() {
	local t=$1; shift
	"$VSWCTL" --socket "$W/$t/sock" "$@"
}

# sys_set TAG NS_A NS_B IF_B IP_B NOTE: the endpoints of TAG's system
# (traffic goes from NS_A to IP_B on IF_B in NS_B); the daemons, if any,
# are in $W/TAG/pid
sys_set() {
	printf '%s %s %s %s\n' "$2" "$3" "$4" "$5" > "$W/$1/sys"
	printf '%s\n' "$6" > "$W/$1/note"
}

# ------------------------------------------------------------ shape "single"

shape_single() {
	echo "bridge|one switch: a (198.19.0.1) -- switch in ns s -- b (198.19.0.2), MTU 1500|on off tap-tso tap-csum"
}

setup_single_kernel() {
	local t=$1 a=$P-$1-a s=$P-$1-s b=$P-$1-b
	ns_add "$a" "$s" "$b" || return 1
	veth "$a" "$P${t}A" "$s" "$P${t}As" && veth "$b" "$P${t}B" "$s" "$P${t}Bs" || return 1
	ip -n "$s" link add "$P${t}br" type bridge || return 1
	ip -n "$s" link set "$P${t}As" master "$P${t}br" && ip -n "$s" link set "$P${t}Bs" master "$P${t}br" &&
	ip -n "$s" link set "$P${t}As" up && ip -n "$s" link set "$P${t}Bs" up &&
	ip -n "$s" link set "$P${t}br" up || return 1
	ep_up "$a" "$P${t}A" $IP_A && ep_up "$b" "$P${t}B" $IP_B || return 1
	sys_set "$t" "$a" "$b" "$P${t}B" $IP_B "veth pairs + Linux bridge (br_netfilter off)"
}

setup_single_vswitchd() {
	local t=$1 a=$P-$1-a s=$P-$1-s b=$P-$1-b
	ns_add "$a" "$s" "$b" || return 1
	vsw_start "$t" "$s" || return 1
	vsw "$t" port add "$P${t}A" type tap && vsw "$t" port add "$P${t}B" type tap || return 1
	ip -n "$s" link set "$P${t}A" netns "$a" && ip -n "$s" link set "$P${t}B" netns "$b" || return 1
	ep_up "$a" "$P${t}A" $IP_A && ep_up "$b" "$P${t}B" $IP_B || return 1
	sys_set "$t" "$a" "$b" "$P${t}B" $IP_B "vswitchd, 2 tap ports moved into a and b"
}

# ----------------------------------------------------------- shape "system"
#
# The same switch between two veth pairs, their near ends attached as system
# ports (AF_PACKET), as containers are: beside the Linux bridge on the same
# veths.

shape_system() {
	echo "bridge|one switch over veths: a (198.19.0.1) -- veth -- switch in ns s -- veth -- b (198.19.0.2), MTU 1500|on off"
}

setup_system_kernel() {
	setup_single_kernel "$1"
}

setup_system_vswitchd() {
	local t=$1 a=$P-$1-a s=$P-$1-s b=$P-$1-b
	ns_add "$a" "$s" "$b" || return 1
	veth "$a" "$P${t}A" "$s" "$P${t}As" && veth "$b" "$P${t}B" "$s" "$P${t}Bs" || return 1
	ip -n "$s" link set "$P${t}As" up && ip -n "$s" link set "$P${t}Bs" up || return 1
	vsw_start "$t" "$s" || return 1
	vsw "$t" port add "$P${t}As" type system && vsw "$t" port add "$P${t}Bs" type system || return 1
	ep_up "$a" "$P${t}A" $IP_A && ep_up "$b" "$P${t}B" $IP_B || return 1
	sys_set "$t" "$a" "$b" "$P${t}B" $IP_B "vswitchd, 2 system ports on the veths' near ends"
}

# ------------------------------------------------------------ shape "vxlan"

VNI=42
UL_MTU=1600

shape_vxlan() {
	echo "vxlan|two hosts: a -- h1 (198.18.0.1) == VXLAN VNI $VNI over veth, MTU $UL_MTU == h2 (198.18.0.2) -- b, endpoints MTU 1500|on off tap-tso tcp-gro udp-gso udp-gro"
}

# underlay TAG H1 H2: the veth between the hosts, addressed, MTU UL_MTU
underlay() {
	local t=$1
	veth "$2" "$P${t}u1" "$3" "$P${t}u2" || return 1
	ip -n "$2" link set "$P${t}u1" mtu $UL_MTU && ip -n "$3" link set "$P${t}u2" mtu $UL_MTU &&
	ip -n "$2" addr add 198.18.0.1/24 dev "$P${t}u1" && ip -n "$3" addr add 198.18.0.2/24 dev "$P${t}u2" &&
	ip -n "$2" link set "$P${t}u1" up && ip -n "$3" link set "$P${t}u2" up
}

# kernel_vtep TAG N HOST EP_NS EP_IF LOCAL REMOTE: vxlan + bridge + veth to the endpoint
kernel_vtep() {
	local t=$1 n=$2 h=$3
	veth "$4" "$5" "$h" "$P${t}e$n" || return 1
	ip -n "$h" link add "$P${t}x$n" type vxlan id $VNI remote "$7" local "$6" dstport 4789 &&
	ip -n "$h" link add "$P${t}br$n" type bridge &&
	ip -n "$h" link set "$P${t}x$n" master "$P${t}br$n" && ip -n "$h" link set "$P${t}e$n" master "$P${t}br$n" &&
	ip -n "$h" link set "$P${t}x$n" up && ip -n "$h" link set "$P${t}e$n" up &&
	ip -n "$h" link set "$P${t}br$n" up
}

setup_vxlan_kernel() {
	local t=$1 a=$P-$1-a h1=$P-$1-1 h2=$P-$1-2 b=$P-$1-b
	ns_add "$a" "$h1" "$h2" "$b" && underlay "$t" "$h1" "$h2" || return 1
	kernel_vtep "$t" 1 "$h1" "$a" "$P${t}A" 198.18.0.1 198.18.0.2 &&
	kernel_vtep "$t" 2 "$h2" "$b" "$P${t}B" 198.18.0.2 198.18.0.1 || return 1
	ep_up "$a" "$P${t}A" $IP_A && ep_up "$b" "$P${t}B" $IP_B || return 1
	sys_set "$t" "$a" "$b" "$P${t}B" $IP_B "kernel vxlan id $VNI dstport 4789 + bridge + veth per host"
}

setup_vxlan_vswitchd() {
	local t=$1 a=$P-$1-a h1=$P-$1-1 h2=$P-$1-2 b=$P-$1-b
	ns_add "$a" "$h1" "$h2" "$b" && underlay "$t" "$h1" "$h2" || return 1
	vsw_start "$t" "$h1" h1 && vsw_start "$t" "$h2" h2 || return 1
	vsw "$t/h1" port add "$P${t}A" type tap && vsw "$t/h2" port add "$P${t}B" type tap &&
	vsw "$t/h1" port add "$P${t}x" type vxlan remote 198.18.0.2 local 198.18.0.1 vni $VNI &&
	vsw "$t/h2" port add "$P${t}x" type vxlan remote 198.18.0.1 local 198.18.0.2 vni $VNI || return 1
	ip -n "$h1" link set "$P${t}A" netns "$a" && ip -n "$h2" link set "$P${t}B" netns "$b" || return 1
	ep_up "$a" "$P${t}A" $IP_A && ep_up "$b" "$P${t}B" $IP_B || return 1
	sys_set "$t" "$a" "$b" "$P${t}B" $IP_B "vswitchd x2 (tap + vxlan port each), VXLAN over the veth underlay"
}

# ------------------------------------------------------------ shape "routed"

shape_routed() {
	echo "kernel-fwd|two routers: a (198.19.1.1) -- h1 == underlay, MTU $UL_MTU == h2 -- b (198.19.2.1), endpoints MTU 1500|on off"
}

# routed_ends TAG NS_A NS_B IF_A IF_B: endpoint addresses and default routes
routed_ends() {
	ep_up "$2" "$4" 198.19.1.1 && ep_up "$3" "$5" 198.19.2.1 &&
	ip -n "$2" route add default via 198.19.1.254 &&
	ip -n "$3" route add default via 198.19.2.254
}

setup_routed_kernel() {
	local t=$1 a=$P-$1-a h1=$P-$1-1 h2=$P-$1-2 b=$P-$1-b n
	ns_add "$a" "$h1" "$h2" "$b" && underlay "$t" "$h1" "$h2" || return 1
	veth "$a" "$P${t}A" "$h1" "$P${t}Ar" && veth "$b" "$P${t}B" "$h2" "$P${t}Br" || return 1
	for n in "$h1" "$h2"; do ip netns exec "$n" sysctl -qw net.ipv4.ip_forward=1 || return 1; done
	ep_up "$h1" "$P${t}Ar" 198.19.1.254 && ep_up "$h2" "$P${t}Br" 198.19.2.254 &&
	ip -n "$h1" route add 198.19.2.0/24 via 198.18.0.2 &&
	ip -n "$h2" route add 198.19.1.0/24 via 198.18.0.1 || return 1
	routed_ends "$t" "$a" "$b" "$P${t}A" "$P${t}B" || return 1
	sys_set "$t" "$a" "$b" "$P${t}B" 198.19.2.1 "veth pairs, kernel IP forwarding in h1 and h2"
}

setup_routed_vswitchd() {
	local t=$1 a=$P-$1-a h1=$P-$1-1 h2=$P-$1-2 b=$P-$1-b
	ns_add "$a" "$h1" "$h2" "$b" && underlay "$t" "$h1" "$h2" || return 1
	vsw_start "$t" "$h1" h1 && vsw_start "$t" "$h2" h2 || return 1
	vsw "$t/h1" port add "$P${t}A" type tun address 198.19.1.254/24 &&
	vsw "$t/h2" port add "$P${t}B" type tun address 198.19.2.254/24 &&
	vsw "$t/h1" port add "$P${t}i" type ipip remote 198.18.0.2 local 198.18.0.1 &&
	vsw "$t/h2" port add "$P${t}i" type ipip remote 198.18.0.1 local 198.18.0.2 &&
	vsw "$t/h1" route add 198.19.2.0/24 dev "$P${t}i" &&
	vsw "$t/h2" route add 198.19.1.0/24 dev "$P${t}i" || return 1
	ip -n "$h1" link set "$P${t}A" netns "$a" && ip -n "$h2" link set "$P${t}B" netns "$b" || return 1
	routed_ends "$t" "$a" "$b" "$P${t}A" "$P${t}B" || return 1
	sys_set "$t" "$a" "$b" "$P${t}B" 198.19.2.1 "vswitchd x2 (tun + ipip port each, routes), ipip over the veth underlay"
}

# ------------------------------------------------------------ shape "wg"
#
# The routed shape with the two routers joined by WireGuard: vswitchd's
# wireguard ports on one side, Debian's wireguard-go (a tun device, kernel
# forwarding) on the other, the baseline of the ratios.  Tunnel MTU 1500,
# so that the endpoints' 1500-byte packets go through whole (underlay 1600
# >= 1500 + 60).  wireguard-go is a daemon of the baseline: its CPU time is
# in the "vsw s/GB" column of its row, and its RSS.

WG_PORT=51820

shape_wg() {
	echo "wireguard-go|two routers joined by WireGuard: a (198.19.1.1) -- h1 == WireGuard over veth, MTU $UL_MTU == h2 -- b (198.19.2.1), tunnel MTU 1500|on off"
}

# wg_keys TAG: private keys k1 k2 and public keys p1 p2 in $W/TAG, the
# private ones mode 0600 and owned by the user vswitchd becomes (it opens
# them itself after dropping root)
wg_keys() {
	local d=$W/$1 n
	chmod o+x "$W" "$d" || return 1		# the key files' directory, for the daemon's user
	for n in 1 2; do
		(umask 077; wg genkey > "$d/k$n") && wg pubkey < "$d/k$n" > "$d/p$n" || return 1
		if id -u vswitch > /dev/null 2>&1; then chown vswitch: "$d/k$n" || return 1; fi
	done
}

# wggo_start TAG NS IF N PEER_N PEER_ADDR ALLOWED: wireguard-go device IF
# in NS with key kN, peer pPEER_N at PEER_ADDR; listed in $W/TAG/pid
wggo_start() {
	local t=$1 ns=$2 dev=$3 i=0 pid
	WG_PROCESS_FOREGROUND=1 ip netns exec "$ns" wireguard-go -f "$dev" > "$W/$t/$dev.log" 2>&1 &
	pid=$!
	PID_LIST="$PID_LIST $pid"
	echo "$pid" >> "$W/$t/pid"
	until [ -S "/var/run/wireguard/$dev.sock" ]; do
		alive "$pid" && [ $i -lt 100 ] || { log "wireguard-go did not start:"; cat "$W/$t/$dev.log" >&2; return 1; }
		sleep 0.05; i=$((i + 1))
	done
	ip netns exec "$ns" wg set "$dev" private-key "$W/$t/k$4" listen-port $WG_PORT \
	    peer "$(cat "$W/$t/p$5")" endpoint "$6:$WG_PORT" allowed-ips "$7" &&
	ip -n "$ns" link set "$dev" mtu 1500 up
}

setup_wg_kernel() {
	local t=$1 a=$P-$1-a h1=$P-$1-1 h2=$P-$1-2 b=$P-$1-b n
	ns_add "$a" "$h1" "$h2" "$b" && underlay "$t" "$h1" "$h2" && wg_keys "$t" || return 1
	veth "$a" "$P${t}A" "$h1" "$P${t}Ar" && veth "$b" "$P${t}B" "$h2" "$P${t}Br" || return 1
	for n in "$h1" "$h2"; do ip netns exec "$n" sysctl -qw net.ipv4.ip_forward=1 || return 1; done
	ep_up "$h1" "$P${t}Ar" 198.19.1.254 && ep_up "$h2" "$P${t}Br" 198.19.2.254 || return 1
	wggo_start "$t" "$h1" "$P${t}w1" 1 2 198.18.0.2 198.19.2.0/24 &&
	wggo_start "$t" "$h2" "$P${t}w2" 2 1 198.18.0.1 198.19.1.0/24 || return 1
	ip -n "$h1" route add 198.19.2.0/24 dev "$P${t}w1" &&
	ip -n "$h2" route add 198.19.1.0/24 dev "$P${t}w2" || return 1
	routed_ends "$t" "$a" "$b" "$P${t}A" "$P${t}B" || return 1
	sys_set "$t" "$a" "$b" "$P${t}B" 198.19.2.1 "wireguard-go $(wireguard-go --version | awk '{ print $2; exit }') x2 (tun), kernel IP forwarding in h1 and h2"
}

setup_wg_vswitchd() {
	local t=$1 a=$P-$1-a h1=$P-$1-1 h2=$P-$1-2 b=$P-$1-b
	ns_add "$a" "$h1" "$h2" "$b" && underlay "$t" "$h1" "$h2" && wg_keys "$t" || return 1
	vsw_start "$t" "$h1" h1 && vsw_start "$t" "$h2" h2 || return 1
	vsw "$t/h1" port add "$P${t}A" type tun address 198.19.1.254/24 &&
	vsw "$t/h2" port add "$P${t}B" type tun address 198.19.2.254/24 &&
	vsw "$t/h1" port add "$P${t}w" type wireguard private-key "$W/$t/k1" listen-port $WG_PORT mtu 1500 &&
	vsw "$t/h2" port add "$P${t}w" type wireguard private-key "$W/$t/k2" listen-port $WG_PORT mtu 1500 &&
	vsw "$t/h1" wireguard peer add "$P${t}w" "$(cat "$W/$t/p2")" endpoint 198.18.0.2:$WG_PORT allowed-ips 198.19.2.0/24 &&
	vsw "$t/h2" wireguard peer add "$P${t}w" "$(cat "$W/$t/p1")" endpoint 198.18.0.1:$WG_PORT allowed-ips 198.19.1.0/24 &&
	vsw "$t/h1" route add 198.19.2.0/24 dev "$P${t}w" &&
	vsw "$t/h2" route add 198.19.1.0/24 dev "$P${t}w" || return 1
	ip -n "$h1" link set "$P${t}A" netns "$a" && ip -n "$h2" link set "$P${t}B" netns "$b" || return 1
	routed_ends "$t" "$a" "$b" "$P${t}A" "$P${t}B" || return 1
	sys_set "$t" "$a" "$b" "$P${t}B" 198.19.2.1 "vswitchd x2 (tun + wireguard port each, routes), WireGuard over the veth underlay"
}

# ------------------------------------------------------------ shape "wgvxlan"
#
# L2 inside WireGuard: the vxlan shape with the VXLAN tunnel carried by a
# WireGuard tunnel between 198.19.9.1 and 198.19.9.2.  Baseline: the
# kernel's vxlan + bridge over wireguard-go's tun; vswitchd: a vxlan port
# "via" its wireguard port.  Endpoints MTU 1500, so the WireGuard tunnel
# carries 1550 and the underlay 1610: its MTU is 1700 here.

WGX_UL_MTU=1700

shape_wgvxlan() {
	echo "wireguard-go|two hosts: a -- h1 == VXLAN VNI $VNI (198.19.9.1 -> .2) inside WireGuard over veth, MTU $WGX_UL_MTU == h2 -- b, endpoints MTU 1500|on off"
}

wgx_underlay() {
	local t=$1
	underlay "$@" &&
	ip -n "$2" link set "$P${t}u1" mtu $WGX_UL_MTU && ip -n "$3" link set "$P${t}u2" mtu $WGX_UL_MTU
}

setup_wgvxlan_kernel() {
	local t=$1 a=$P-$1-a h1=$P-$1-1 h2=$P-$1-2 b=$P-$1-b
	ns_add "$a" "$h1" "$h2" "$b" && wgx_underlay "$t" "$h1" "$h2" && wg_keys "$t" || return 1
	wggo_start "$t" "$h1" "$P${t}w1" 1 2 198.18.0.2 198.19.9.2/32 &&
	wggo_start "$t" "$h2" "$P${t}w2" 2 1 198.18.0.1 198.19.9.1/32 || return 1
	ip -n "$h1" link set "$P${t}w1" mtu 1550 && ip -n "$h2" link set "$P${t}w2" mtu 1550 &&
	ip -n "$h1" addr add 198.19.9.1/24 dev "$P${t}w1" && ip -n "$h2" addr add 198.19.9.2/24 dev "$P${t}w2" || return 1
	kernel_vtep "$t" 1 "$h1" "$a" "$P${t}A" 198.19.9.1 198.19.9.2 &&
	kernel_vtep "$t" 2 "$h2" "$b" "$P${t}B" 198.19.9.2 198.19.9.1 || return 1
	ep_up "$a" "$P${t}A" $IP_A && ep_up "$b" "$P${t}B" $IP_B || return 1
	sys_set "$t" "$a" "$b" "$P${t}B" $IP_B "kernel vxlan id $VNI + bridge + veth per host, over wireguard-go x2 (tun, MTU 1550)"
}

setup_wgvxlan_vswitchd() {
	local t=$1 a=$P-$1-a h1=$P-$1-1 h2=$P-$1-2 b=$P-$1-b
	ns_add "$a" "$h1" "$h2" "$b" && wgx_underlay "$t" "$h1" "$h2" && wg_keys "$t" || return 1
	vsw_start "$t" "$h1" h1 && vsw_start "$t" "$h2" h2 || return 1
	vsw "$t/h1" port add "$P${t}w" type wireguard private-key "$W/$t/k1" listen-port $WG_PORT address 198.19.9.1/24 mtu 1550 &&
	vsw "$t/h2" port add "$P${t}w" type wireguard private-key "$W/$t/k2" listen-port $WG_PORT address 198.19.9.2/24 mtu 1550 &&
	vsw "$t/h1" wireguard peer add "$P${t}w" "$(cat "$W/$t/p2")" endpoint 198.18.0.2:$WG_PORT allowed-ips 198.19.9.2/32 &&
	vsw "$t/h2" wireguard peer add "$P${t}w" "$(cat "$W/$t/p1")" endpoint 198.18.0.1:$WG_PORT allowed-ips 198.19.9.1/32 &&
	vsw "$t/h1" port add "$P${t}x" type vxlan remote 198.19.9.2 local 198.19.9.1 vni $VNI via "$P${t}w" &&
	vsw "$t/h2" port add "$P${t}x" type vxlan remote 198.19.9.1 local 198.19.9.2 vni $VNI via "$P${t}w" &&
	vsw "$t/h1" port add "$P${t}A" type tap && vsw "$t/h2" port add "$P${t}B" type tap || return 1
	ip -n "$h1" link set "$P${t}A" netns "$a" && ip -n "$h2" link set "$P${t}B" netns "$b" || return 1
	ep_up "$a" "$P${t}A" $IP_A && ep_up "$b" "$P${t}B" $IP_B || return 1
	sys_set "$t" "$a" "$b" "$P${t}B" $IP_B "vswitchd x2 (tap, wireguard port, vxlan port via it), over the veth underlay"
}

# ------------------------------------------------------------ shape "vhost"
#
# The vhost-user port measured without a VM (an emulated guest measures the
# emulator): DPDK's testpmd plays the guest, its virtio_user driver on the
# port's socket (--no-huge: EAL then backs its memory with a memfd, which
# it shares with the switch as QEMU shares guest RAM).  Beside it, in the
# same daemon and taking turns, the same testpmd with its af_packet driver
# on a tap port's interface and on a veth whose near end is a system port
# (both in ns a): the same generator and receiver, the frames entering and
# leaving by a tap or a packet socket instead.
#     testpmd (virtio_user) == SOCKET + memfd ==> vswitchd (ns s) <-tap-> b
#     testpmd (af_packet) in a --tap----------> vswitchd (ns s) <-tap-> b
#     testpmd (af_packet) in a --veth-- system port vswitchd  <-tap-> b
# Guest to switch: testpmd txonly sends LEN-byte frames to the tap endpoint
# b (unicast to b's MAC, which the switch has learnt), and to a sink, a
# "dummy" port (a static MAC entry; it copies each frame into a ring and
# counts it), which leaves out the tap write on the way out: the receiving
# port's own rate.  Counted: what reaches b's interface, or the sink.
# Switch to guest: testpmd txonly on b's interface sends to the guest's MAC
# (a static entry on each port), testpmd rxonly takes them on the vhost-user
# port, and on a's tap or veth (af_packet) for the tap and system ports: a
# receiver spinning on a core in every system, as the guest's does.
# Counted: what the switch sent out of the port (tx_packets, tx_bytes).
# Figures: per second over DUR s after 1 s of warm-up, at 64 and 1500 bytes,
# and vswitchd's CPU time per frame it took in (ns, utime + stime over the
# same seconds / the input port's rx_packets; steadier than rates on a busy
# machine, and blind to where frames were dropped).  Rings of 1024 entries
# (virtio_user's queue_size), so a receiver preempted for a moment does not
# drop at once.  FAST=1 (a smoke run) measures the system port, and the
# way back, at 64 B only.  (x.xx) = this port's
# figure / the tap port's.  TSO super-frames: testpmd's csum engine sends
# one 64 KB TCP frame read from a pcap again and again out of virtio_user,
# asking for segmentation (tso set 1448), and the port takes each whole
# into b's tap (vh_tso_run); the tap and system ports have no such
# generator here (testpmd's af_packet driver sends no super-frames), so
# that figure is the vhost-user port's alone.  testpmd busy-polls: with
# a receiver and a sender (switch to guest), two CPUs spin beside the
# switch, so on a 2-CPU machine that direction measures the machine first.
# Its own tables, its figures in RAW only (the summary's columns are
# iperf3's).

VH_MAC=02:00:00:00:76:01
VH_SINK_MAC=02:00:00:00:76:0d
VH_TAP_MAC=02:00:00:00:76:0a
VH_SYS_MAC=02:00:00:00:76:0e

shape_vhost() {
	echo "tap port|vhost-user port vs tap and system ports, testpmd frames both ways between it and a tap endpoint, 64 B and 1500 B|on"
}

vh_setup() {
	local t=vh s=$P-vh-s a=$P-vh-a b=$P-vh-b d=$W/vh/sockdir n
	ns_add "$s" "$a" "$b" || return 1
	veth "$a" "${P}vhE" "$s" "${P}vhS" || return 1
	vsw_start "$t" "$s" || return 1
	# The daemon makes its socket after dropping root: a directory of its user's.
	mkdir -p "$d" && chmod o+x "$W" "$W/$t" || return 1
	if id -u vswitch > /dev/null 2>&1; then chown vswitch: "$d" || return 1; fi
	ip -n "$s" link set "${P}vhS" up && ip -n "$a" link set "${P}vhE" up || return 1
	vsw "$t" port add "${P}vhU" type vhost-user path "$d/vh.sock" &&
	vsw "$t" port add "${P}vhA" type tap && vsw "$t" port add "${P}vhB" type tap &&
	vsw "$t" port add "${P}vhS" type system &&
	vsw "$t" port add "${P}vhD" type dummy && vsw "$t" fdb add $VH_SINK_MAC dev "${P}vhD" &&
	vsw "$t" fdb add $VH_MAC dev "${P}vhU" && vsw "$t" fdb add $VH_TAP_MAC dev "${P}vhA" &&
	vsw "$t" fdb add $VH_SYS_MAC dev "${P}vhS" || return 1
	ip -n "$s" link set "${P}vhA" netns "$a" && ip -n "$s" link set "${P}vhB" netns "$b" || return 1
	for n in a/vhA a/vhE b/vhB s/vhS; do
		ip netns exec "$P-vh-${n%/*}" sysctl -qw "net.ipv6.conf.$P${n#*/}.disable_ipv6=1" || return 1
	done
	ip -n "$a" link set "${P}vhA" up && ep_up "$b" "${P}vhB" $IP_B || return 1
	# b's MAC into the switch's table (its ARP request), so frames to it are not flooded
	ip netns exec "$b" ping -c 1 -W 1 198.19.0.9 > /dev/null 2>&1
	ip -n "$b" -j link show "${P}vhB" | jq -r '.[0].address' > "$W/$t/bmac"
	vsw "$t" fdb show | grep -qi "$(cat "$W/$t/bmac")" || { log "b's MAC not learnt"; return 1; }
}

# vh_counter TO FIELD: the counter (packets, bytes) of what reached TO: b's
# interface, or what the switch sent out of the sink, vhost-user, tap or
# system port
vh_counter() {
	local port
	case $1 in
	b)	ip netns exec "$P-vh-b" cat "/sys/class/net/${P}vhB/statistics/rx_$2"; return ;;
	sink)	port=${P}vhD ;;
	vhost)	port=${P}vhU ;;
	tap)	port=${P}vhA ;;
	system)	port=${P}vhS ;;
	esac
	vsw vh --json stats "$port" | jq ".ports[0].tx_$2"
}

# vh_taken FROM: frames the switch took in from FROM's port (rx_packets)
vh_taken() {
	local port=${P}vhU
	case $1 in tap) port=${P}vhA ;; system) port=${P}vhS ;; b) port=${P}vhB ;; esac
	vsw vh --json stats "$port" | jq ".ports[0].rx_packets"
}

# vh_testpmd END MODE NAME [ARGS...]: testpmd in MODE (txonly, rxonly) on
# END (vhost: virtio_user on the port's socket; tap: af_packet on a's tap;
# system: af_packet on a's veth; b: af_packet on b's tap), its PID in
# VH_PID.  A receiver's forwarding core is lcore 0, a sender's lcore 1.
vh_testpmd() {
	local end=$1 mode=$2 name=$3 ns vdev lc="-l 0-1"
	shift 3
	case $end in
	vhost)	ns=$P-vh-s vdev="net_virtio_user0,path=$W/vh/sockdir/vh.sock,queues=1,queue_size=1024,mac=$VH_MAC" ;;
	tap)	ns=$P-vh-a vdev="net_af_packet0,iface=${P}vhA" ;;
	system)	ns=$P-vh-a vdev="net_af_packet0,iface=${P}vhE" ;;
	b)	ns=$P-vh-b vdev="net_af_packet0,iface=${P}vhB" ;;
	esac
	[ "$mode" = rxonly ] && lc="-l 0-1 --main-lcore 1"
	# shellcheck disable=SC2086
	ip netns exec "$ns" dpdk-testpmd $lc --no-huge -m 128 --no-pci \
	    --file-prefix="$P$name" --vdev="$vdev" -- --forward-mode="$mode" \
	    --nb-cores=1 --total-num-mbufs=16384 --stats-period 1 "$@" \
	    < /dev/null > "$W/vh/testpmd-$name.log" 2>&1 &
	VH_PID=$!
	PID_LIST="$PID_LIST $VH_PID"
}

# vh_run FROM TO LEN REP: testpmd sends LEN-byte frames from FROM (vhost,
# tap, system, b) to TO (b, sink; or vhost, tap, system from b) for DUR s;
# records SYS DIR-ppsLEN, DIR-gbpsLEN and DIR-cpunsLEN, SYS being the port
# measured and DIR "b" or "sink" (to b, to the sink) or "from-b"
vh_run() {
	local from=$1 to=$2 len=$3 r=$4 name="$1-$2-$3.$4" peer sys dir rx="" pid p0 p1 b0 b1 c0 c1 t0 t1 i=0
	case $to in
	b)	peer=$(cat "$W/vh/bmac") ;;
	sink)	peer=$VH_SINK_MAC ;;
	vhost)	peer=$VH_MAC ;;
	tap)	peer=$VH_TAP_MAC ;;
	system)	peer=$VH_SYS_MAC ;;
	esac
	if [ "$from" = b ]; then sys=$to dir=from-b; else sys=$from dir=$to; fi
	# Every receiver spins alike: the guest's testpmd rxonly, and for
	# the tap and system ports one on a's interface (af_packet), so that
	# each system leaves the switch the same CPU.
	if [ "$from" = b ]; then
		vh_testpmd "$to" rxonly "rx-$name"
		rx=$VH_PID
	fi
	if [ "$to" = vhost ]; then
		while [ "$(vsw vh --json port show 2>/dev/null | jq -r --arg n "${P}vhU" '.ports[] | select(.name == $n) | .state' 2>/dev/null)" != up ]; do
			alive "$rx" && [ $i -lt 200 ] || { log "vhost: testpmd (rxonly) did not start:"; tail -n 20 "$W/vh/testpmd-rx-$name.log" >&2; kill_pids "$rx"; return 1; }
			sleep 0.05; i=$((i + 1))
		done
		i=0
	elif [ -n "$rx" ]; then
		while ! grep -q "start packet forwarding" "$W/vh/testpmd-rx-$name.log" 2>/dev/null; do
			alive "$rx" && [ $i -lt 200 ] || { log "vhost: testpmd (rxonly) did not start:"; tail -n 20 "$W/vh/testpmd-rx-$name.log" >&2; kill_pids "$rx"; return 1; }
			sleep 0.05; i=$((i + 1))
		done
		i=0
	fi
	vh_testpmd "$from" txonly "$name" --txpkts="$len" --eth-peer=0,"$peer"
	pid=$VH_PID
	# started when the counter moves
	p0=$(vh_counter "$to" packets)
	while [ "$(vh_counter "$to" packets)" -lt $((p0 + 1000)) ]; do
		alive "$pid" && [ $i -lt 200 ] || { log "vhost: testpmd ($from to $to) sends nothing:"; tail -n 20 "$W/vh/testpmd-$name.log" >&2; kill_pids "$pid" $rx; return 1; }
		sleep 0.05; i=$((i + 1))
	done
	sleep 1
	p0=$(vh_counter "$to" packets); b0=$(vh_counter "$to" bytes); c0=$(cpu_ticks vh); t0=$(vh_taken "$from")
	sleep "$DUR"
	p1=$(vh_counter "$to" packets); b1=$(vh_counter "$to" bytes); c1=$(cpu_ticks vh); t1=$(vh_taken "$from")
	kill_pids "$pid" $rx
	rm -rf "/var/run/dpdk/$P$name" "/var/run/dpdk/${P}rx-$name"
	rec "$sys" "$dir-pps$len" "$r" "$(awk -v n=$((p1 - p0)) -v d="$DUR" 'BEGIN { printf "%.0f", n / d }')"
	rec "$sys" "$dir-gbps$len" "$r" "$(awk -v n=$((b1 - b0)) -v d="$DUR" 'BEGIN { printf "%.3f", n * 8 / d / 1e9 }')"
	[ $((t1 - t0)) -gt 0 ] &&
	    rec "$sys" "$dir-cpuns$len" "$r" "$(awk -v c=$((c1 - c0)) -v n=$((t1 - t0)) -v hz="$HZ" 'BEGIN { printf "%.0f", c / hz * 1e9 / n }')"
	log "  vhost rep $r: from $from to $to, $len B: $(( (p1 - p0) / DUR )) frames/s"
}

# vh_tso_pcap FILE: a pcap of one 63798-byte TCP/IPv4 frame (198.19.0.1 to
# .2, port 5001 to 5201, zero payload) for testpmd to send again and again
vh_tso_pcap() {
	{
		echo "d4 c3 b2 a1 02 00 04 00 00 00 00 00 00 00 00 00 00 00 04 00 01 00 00 00"
		echo "00 00 00 00 00 00 00 00 36 f9 00 00 36 f9 00 00"
		echo "ff ff ff ff ff ff 02 00 00 00 76 01 08 00"
		echo "45 00 f9 28 00 01 40 00 40 06 b5 a4 c6 13 00 01 c6 13 00 02"
		echo "13 89 14 51 00 00 00 01 00 00 00 00 50 18 ff ff 00 00 00 00"
	} | awk '{ for (i = 1; i <= NF; i++) printf "%c", index("0123456789abcdef", substr($i, 1, 1)) * 16 + index("0123456789abcdef", substr($i, 2, 1)) - 17 }' > "$1"
	head -c 63744 /dev/zero >> "$1"
}

# vh_tso_run REP: testpmd's csum engine sends the pcap's super-frame out of
# virtio_user asking for TCP segmentation (tso set 1448), so each crosses
# the vhost-user port whole, GSO type TCPV4, into b's tap for DUR s;
# records vhost b-gbpsTSO and b-cpunsTSO (per super-frame)
vh_tso_run() {
	local r=$1 name="tso.$1" pid p0 p1 b0 b1 c0 c1 t0 t1 i=0
	[ -s "$W/vh/tso.pcap" ] || vh_tso_pcap "$W/vh/tso.pcap"
	printf '%s\n' "port stop all" "csum set tcp hw 1" "tso set 1448 1" "port start all" \
	    "set fwd csum" "start" > "$W/vh/tso.cmds"
	rm -f "$W/vh/tso.fifo" && mkfifo "$W/vh/tso.fifo" || return 1
	# interactive, its commands from the file, stdin a pipe held open
	ip netns exec "$P-vh-s" dpdk-testpmd -l 0-1 --no-huge -m 512 --no-pci \
	    --file-prefix="$P$name" --vdev="net_pcap0,rx_pcap=$W/vh/tso.pcap,infinite_rx=1" \
	    --vdev="net_virtio_user0,path=$W/vh/sockdir/vh.sock,queues=1,queue_size=1024,mac=$VH_MAC" \
	    -- -i --cmdline-file="$W/vh/tso.cmds" --eth-peer=0,"$(cat "$W/vh/bmac")" \
	    --eth-peer=1,"$(cat "$W/vh/bmac")" --mbuf-size=65535 --total-num-mbufs=3000 \
	    < "$W/vh/tso.fifo" > "$W/vh/testpmd-$name.log" 2>&1 &
	pid=$!
	PID_LIST="$PID_LIST $pid"
	exec 9> "$W/vh/tso.fifo"
	p0=$(vh_counter b packets)
	while [ "$(vh_counter b packets)" -lt $((p0 + 100)) ]; do
		alive "$pid" && [ $i -lt 400 ] || { log "vhost: testpmd (TSO) sends nothing:"; tail -n 20 "$W/vh/testpmd-$name.log" >&2; exec 9>&-; kill_pids "$pid"; return 1; }
		sleep 0.05; i=$((i + 1))
	done
	sleep 1
	p0=$(vh_counter b packets); b0=$(vh_counter b bytes); c0=$(cpu_ticks vh); t0=$(vh_taken vhost)
	sleep "$DUR"
	p1=$(vh_counter b packets); b1=$(vh_counter b bytes); c1=$(cpu_ticks vh); t1=$(vh_taken vhost)
	exec 9>&-
	kill_pids "$pid"
	rm -rf "/var/run/dpdk/$P$name"
	rec vhost b-gbpsTSO "$r" "$(awk -v n=$((b1 - b0)) -v d="$DUR" 'BEGIN { printf "%.3f", n * 8 / d / 1e9 }')"
	[ $((t1 - t0)) -gt 0 ] &&
	    rec vhost b-cpunsTSO "$r" "$(awk -v c=$((c1 - c0)) -v n=$((t1 - t0)) -v hz="$HZ" 'BEGIN { printf "%.0f", c / hz * 1e9 / n }')"
	log "  vhost rep $r: TSO super-frames from vhost to b: $(( (p1 - p0) / DUR )) frames/s"
}

# vh_table: the medians of results.tsv as the vhost tables
vh_table() {
	awk -F'\t' '
	function med(k,   n, i, j, t, a) {
		n = cnt[k]; if (!n) return ""
		for (i = 1; i <= n; i++) a[i] = val[k, i]
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	# cell(SYS, FIG, SCALE, FMT): the median, and its ratio to the tap port
	function cell(sys, fig, scale, fmt,   v, kv, c) {
		v = med(sys SUBSEP fig); kv = med("tap" SUBSEP fig)
		if (v == "") return "-"
		c = sprintf(fmt, v / scale)
		if (sys != "tap" && kv > 0) c = c sprintf(" (%.2f)", v / kv)
		return c
	}
	function table(n, figs, scales, fmts,   s, j, sys, name, line) {
		split(figs, fg, " "); split(scales, sc, " "); split(fmts, fm, " ")
		for (s = 1; s <= 3; s++) {
			sys = s == 1 ? "tap" : s == 2 ? "system" : "vhost"
			name = sys == "tap" ? "tap port" : sys == "system" ? "system port" : "vhost-user port"
			line = sprintf("%-17s", name)
			for (j = 1; j <= n; j++) line = line sprintf(" %-19s", cell(sys, fg[j], sc[j], fm[j]))
			print line
		}
	}
	$4 != "" { k = $1 SUBSEP $2; cnt[k]++; val[k, cnt[k]] = $4 + 0 }
	END {
		printf "%-17s %-19s %-19s %-19s %-19s\n", "guest to switch", "to b: 64 B Mpps", "1500 B Gbit/s", "to sink: 64 B Mpps", "1500 B Gbit/s"
		table(4, "b-pps64 b-gbps1500 sink-pps64 sink-gbps1500", "1e6 1 1e6 1", "%.3f %.2f %.3f %.2f")
		print ""
		printf "%-17s %-19s %-19s\n", "switch to guest", "from b: 64 B Mpps", "1500 B Gbit/s"
		table(2, "from-b-pps64 from-b-gbps1500", "1e6 1", "%.3f %.2f")
		print ""
		printf "%-17s %-19s %-19s %-19s %-19s\n", "CPU ns/frame", "to b: 64 B", "to sink: 64 B", "from b: 64 B", "to b: 1500 B"
		table(4, "b-cpuns64 sink-cpuns64 from-b-cpuns64 b-cpuns1500", "1 1 1 1", "%.0f %.0f %.0f %.0f")
		v = med("vhost" SUBSEP "b-gbpsTSO"); c = med("vhost" SUBSEP "b-cpunsTSO")
		if (v != "")
			printf "\nTSO super-frames (63798 B, testpmd csum engine, tso 1448) vhost-user port to b: %.2f Gbit/s, %s ns CPU per super-frame; the tap and system ports: not measured (testpmd'"'"'s af_packet driver sends no super-frames)\n", v, c == "" ? "-" : sprintf("%.0f", c)
	}' "$W/results.tsv"
}

# run_vhost: set up, measure the three ports in turns, print, tear down
run_vhost() {
	local r=1 order f len rc=0
	mkdir -p "$W/vh"
	: > "$W/results.tsv"
	log "vhost: setting up"
	if ! vh_setup > "$W/vh/setup.log" 2>&1; then
		log "vhost: setup failed:"; sed 's/^/    /' "$W/vh/setup.log" "$W/vh/vswitchd.log" >&2
		teardown
		return 1
	fi
	while [ $r -le "$REPS" ]; do
		if [ $((r % 2)) = 1 ]; then order="tap system vhost"; else order="vhost system tap"; fi
		vh_tso_run "$r" || rc=1
		for f in $order; do
			for len in 64 1500; do
				# a smoke run: the system port and the way back at 64 B only
				if [ "$FAST" = 1 ] && [ "$len" != 64 ]; then
					[ "$f" = system ] && continue
					vh_run "$f" b "$len" "$r" && vh_run "$f" sink "$len" "$r" || rc=1
					continue
				fi
				vh_run "$f" b "$len" "$r" && vh_run "$f" sink "$len" "$r" &&
				    vh_run b "$f" "$len" "$r" || rc=1
			done
		done
		r=$((r + 1))
	done
	for f in $(cat "$W/vh/pid"); do
		alive "$f" || { log "vhost: vswitchd (pid $f) exited during the run"; rc=1; }
	done
	echo
	echo "shape \"vhost\": $(shape_vhost | cut -d'|' -f2); $(dpkg-query -W -f='DPDK ${Version}' dpdk-dev 2>/dev/null || echo DPDK)"
	vh_table
	awk -F'\t' '{ print "vhost\tvswitchd " ($1 == "vhost" ? "vhost-user" : $1) "\ton\t" $2 "\t" $3 "\t" $4 }' \
	    "$W/results.tsv" >> "$RAW"
	teardown
	mkdir -p "$W/vhost" && mv "$W/vh" "$W/results.tsv" "$W/vhost/"
	return $rc
}

# ------------------------------------------------------------ offload variants

# variant_check VARIANT: on, off, or switch names joined by commas
variant_check() {
	local n
	case $1 in on|off) return 0 ;; ''|,*|*,|*,,*) return 1 ;; esac
	for n in $(echo "$1" | tr ',' ' '); do
		case " $OFFLOADS " in *" $n "*) ;; *) return 1 ;; esac
	done
}

# variant_label VARIANT: the row's name in the table
variant_label() {
	case $1 in
	on)	echo "vswitchd" ;;
	off)	echo "vswitchd all off" ;;
	*)	echo "vswitchd $1 off" ;;
	esac
}

# variant_args VARIANT: the "NAME off" pairs for vswctl offload set
variant_args() {
	local n
	case $1 in
	on)	;;
	off)	for n in $OFFLOADS; do printf '%s off ' "$n"; done ;;
	*)	for n in $(echo "$1" | tr ',' ' '); do printf '%s off ' "$n"; done ;;
	esac
}

# set_variant TAG VARIANT: apply it to every daemon of TAG
set_variant() {
	local t=$1 args s
	args=$(variant_args "$2")
	[ -n "$args" ] || return 0
	for s in $(cat "$W/$t/socks"); do
		# shellcheck disable=SC2086
		vsw "$s" offload set $args || return 1
		echo "$s offloads: $(vsw "$s" offload show | tr -s '\n ' '  ')"
	done
}

# ------------------------------------------------------------ measurement

# cpu_ticks TAG: utime+stime of TAG's daemons (all threads), empty if none
cpu_ticks() {
	local f=$W/$1/pid p
	[ -s "$f" ] || return 0
	for p in $(cat "$f"); do sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null; done |
		awk '{ s += $12 + $13 } END { print s + 0 }'
}

# host_ticks: the whole machine's busy time (user nice system irq softirq steal)
host_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# rss_kb TAG FIELD: the largest FIELD (VmRSS, VmHWM) among TAG's daemons, in kB
rss_kb() {
	local p
	for p in $(cat "$W/$1/pid"); do
		awk -v f="$2:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null
	done | sort -n | tail -n 1
}

# rx_packets NS IF: the interface's receive counter
rx_packets() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets" 2>/dev/null; }

# rec TAG METRIC REP VALUE  (REP 0: once per system, not per rep)
rec() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$W/results.tsv"; }

# jqv FILE FILTER: one number from iperf3 JSON, NA if the run failed
jqv() {
	local v
	v=$(jq -r "if .end.sum_received then ($2) else \"NA\" end" "$1" 2>/dev/null) || v=NA
	echo "${v:-NA}"
}

# prepare TAG: iperf3 and sockperf servers in NS_B, connectivity, warm-up
prepare() {
	local t=$1 nsa nsb ifb ipb i
	read -r nsa nsb ifb ipb < "$W/$t/sys"
	ip netns exec "$nsb" iperf3 -s -p 5201 > "$W/$t/iperf3-server.log" 2>&1 &
	PID_LIST="$PID_LIST $!"
	i=0
	until ip netns exec "$nsb" ss -Hltn 'sport = :5201' | grep -q .; do
		[ $i -lt 50 ] || { log "iperf3 server did not start"; return 1; }
		sleep 0.1; i=$((i + 1))
	done
	if command -v sockperf > /dev/null; then
		ip netns exec "$nsb" sockperf sr -i "$ipb" -p $SP_PORT > "$W/$t/sockperf-server.log" 2>&1 &
		PID_LIST="$PID_LIST $!"
		echo $! > "$W/$t/sp_pid"	# an endpoint: place pins it
		i=0
		until ip netns exec "$nsb" ss -Hlun "sport = :$SP_PORT" | grep -q .; do
			[ $i -lt 50 ] || break
			sleep 0.1; i=$((i + 1))
		done
		if [ $i -lt 50 ]; then : > "$W/$t/sockperf"; else log "sockperf server did not start: n/a"; fi
	fi
	i=0
	until ip netns exec "$nsa" ping -c 1 -W 1 "$ipb" > /dev/null 2>&1; do
		[ $i -lt 10 ] || { log "no connectivity from $nsa to $ipb"; return 1; }
		i=$((i + 1))
	done
	echo "$ipb answered after $i lost pings"
	ip netns exec "$nsa" ping -q -c 20 -i 0.01 "$ipb" > /dev/null 2>&1
	l2_prepare "$t"
	sleep 1
}

# route_field NS DST WORD: what follows WORD in NS's route to DST (dev, src, via)
route_field() {
	ip -n "$1" -o route get "$2" 2>/dev/null |
		awk -v w="$3" '{ for (i = 1; i < NF; i++) if ($i == w) { print $(i + 1); exit } }'
}

# l2_prepare TAG: where a reaches b over one link (no next hop, Ethernet at
# both ends), trafgen's configuration for the L2 flood with peers.sh's frame
# (UDP to port 9, 18 bytes of payload: 60 bytes without the FCS), and
# $W/TAG/l2 naming a's interface
l2_prepare() {
	local t=$1 nsa nsb ifb ipb ifa
	command -v trafgen > /dev/null || return 0
	read -r nsa nsb ifb ipb < "$W/$t/sys"
	[ -z "$(route_field "$nsa" "$ipb" via)" ] || return 0
	ifa=$(route_field "$nsa" "$ipb" dev)
	[ -n "$ifa" ] &&
	[ "$(ip netns exec "$nsa" cat "/sys/class/net/$ifa/type")" = 1 ] &&
	[ "$(ip netns exec "$nsb" cat "/sys/class/net/$ifb/type")" = 1 ] || return 0
	printf '{\n  eth(da=%s, sa=%s, type=0x0800),\n  ipv4(saddr=%s, daddr=%s, ttl=64, proto=17, df),\n  udp(sport=9999, dport=9),\n  fill(0x41, 18)\n}\n' \
	    "$(ip netns exec "$nsb" cat "/sys/class/net/$ifb/address")" \
	    "$(ip netns exec "$nsa" cat "/sys/class/net/$ifa/address")" \
	    "$(route_field "$nsa" "$ipb" src)" "$ipb" > "$W/$t/trafgen.cfg"
	echo "$ifa" > "$W/$t/l2"
	echo "L2 flood out of $ifa: $(tr -d '\n' < "$W/$t/trafgen.cfg")"
}

# tcp_run TAG REP NAME STREAMS: one iperf3 TCP run; records NAME (Gbit/s)
# and NAME_retr, adds "bytes daemon-ticks host-ticks" to $W/TAG/tcp.REP and
# prints the rate
tcp_run() {
	local t=$1 r=$2 j=$W/$1/$3.$2.json nsa nsb ifb ipb c0 c1 h0 h1 v
	read -r nsa nsb ifb ipb < "$W/$t/sys"
	c0=$(cpu_ticks "$t"); h0=$(host_ticks)
	timeout --foreground $((DUR + 20)) ip netns exec "$nsa" \
	    iperf3 -c "$ipb" -p 5201 -P "$4" -t "$DUR" -J > "$j" 2>&1
	c1=$(cpu_ticks "$t"); h1=$(host_ticks)
	v=$(jqv "$j" '.end.sum_received.bits_per_second / 1e9')
	rec "$t" "$3" "$r" "$v"
	rec "$t" "${3}_retr" "$r" "$(jqv "$j" '.end.sum_sent.retransmits')"
	[ "$v" != NA ] &&
		echo "$(jqv "$j" '.end.sum_received.bytes') $((${c1:-0} - ${c0:-0})) $((h1 - h0))" >> "$W/$t/tcp.$r"
	echo "$v"
}

# measure TAG REP: every figure once
measure() {
	local t=$1 r=$2 nsa nsb ifb ipb j v tcp1 tcp4 udp l2=- rtt="" sp="" rx0 rx1 pl daemons="" rc=0
	read -r nsa nsb ifb ipb < "$W/$t/sys"
	[ -s "$W/$t/pid" ] && daemons=1
	command -v trafgen > /dev/null || l2=n/a

	tcp1=$(tcp_run "$t" "$r" tcp1 1)
	sleep 0.5
	tcp4=$(tcp_run "$t" "$r" tcp4 4)
	# CPU per GB over both TCP runs
	[ -s "$W/$t/tcp.$r" ] && awk -v hz="$HZ" -v d="$daemons" '
		{ b += $1; c += $2; h += $3 }
		END { if (b > 0) { if (d) printf "cpu_s_gb %.4f\n", c / hz / (b / 1e9)
			printf "host_s_gb %.4f\n", h / hz / (b / 1e9) } }' "$W/$t/tcp.$r" |
		while read -r j v; do rec "$t" "$j" "$r" "$v"; done
	sleep 0.5

	j=$W/$t/udp.$r.json
	rx0=$(rx_packets "$nsb" "$ifb")
	timeout --foreground $((DUR + 20)) ip netns exec "$nsa" \
	    iperf3 -c "$ipb" -p 5201 -u -l 64 -b 0 -t "$DUR" -J > "$j" 2>&1
	rx1=$(rx_packets "$nsb" "$ifb")
	# iperf3 counts "packets" as sent; received = packets - lost
	udp=$(jqv "$j" '(.end.sum_received.packets - .end.sum_received.lost_packets) / .end.sum_received.seconds / 1000')
	rec "$t" udp "$r" "$udp"
	rec "$t" udp_loss "$r" "$(jqv "$j" '.end.sum_received.lost_percent')"
	# what reached b's interface, whether or not iperf3 had the CPU to read it
	if [ -n "$rx0" ] && [ -n "$rx1" ]; then
		rec "$t" udp_if "$r" "$(jqv "$j" "$((rx1 - rx0)) / .end.sum_sent.seconds / 1000")"
	fi
	sleep 0.5

	if [ -s "$W/$t/l2" ]; then
		l2=$(l2_flood "$t" "$r")
		sleep 0.5
	fi

	for pl in $PLACEMENTS; do
		place "$t" "$pl" || { rc=1; continue; }
		j=$W/$t/ping-$pl.$r.txt
		ip netns exec "$nsa" taskset -c "$EP_CPUS" \
		    ping -q -c "$PING_N" -i 0.01 -W 1 "$ipb" > "$j" 2>&1
		v=$(awk -F'[/ ]' '/^rtt/ { printf "%.1f", $8 * 1000 }' "$j")
		rec "$t" "ping_$pl" "$r" "${v:-NA}"
		rtt="$rtt $pl ${v:-NA}"

		[ -e "$W/$t/sockperf" ] || continue
		j=$W/$t/sockperf-$pl.$r.txt
		timeout --foreground $((SP_DUR + 20)) ip netns exec "$nsa" taskset -c "$EP_CPUS" \
		    sockperf pp -i "$ipb" -p $SP_PORT -m 64 -t "$SP_DUR" > "$j" 2>&1
		# sockperf reports half the round trip
		v=$(awk 'match($0, /avg-latency=[0-9.]+/) {
			printf "%.1f", 2 * substr($0, RSTART + 12, RLENGTH - 12); exit }' "$j")
		rec "$t" "sp_$pl" "$r" "${v:-NA}"
		sp="$sp $pl ${v:-NA}"
	done
	# the next rep's throughput tests run unpinned
	place "$t" free || rc=1

	log "  $(cat "$W/$t/name") rep $r: $(echo "$tcp1 $tcp4 $udp $l2" |
		awk 'function f(x, fm) { return x ~ /^[0-9.]+$/ ? sprintf(fm, x) : x }
		{ printf "TCP %s / %s Gbit/s (1 / 4 streams), UDP64 %s kpps, L2 flood %s kpps",
		  f($1, "%.2f"), f($2, "%.2f"), f($3, "%.0f"), f($4, "%.0f") }'); ping us:${rtt:- -}; sockperf us:${sp:- n/a}"
	return $rc
}

# place TAG PLACEMENT: pin TAG's daemons (every thread) and its sockperf
# server, and set EP_CPUS for the endpoint commands started in a (see
# Placements at the top); what each process got goes to $W/TAG/place.log
place() {
	local t=$1 dm ep p
	case $2 in
	same)	dm=$CPU_A ep=$CPU_A ;;
	split)	dm=$CPU_B ep=$CPU_A ;;
	free)	dm=$CPUS ep=$CPUS ;;
	esac
	EP_CPUS=$ep
	for p in $(cat "$W/$t/pid" 2>/dev/null); do
		taskset -a -p -c "$dm" "$p" > /dev/null || { log "taskset -a -p -c $dm $p failed"; return 1; }
		echo "$2: daemon $(taskset -p -c "$p")" >> "$W/$t/place.log"
	done
	for p in $(cat "$W/$t/sp_pid" 2>/dev/null); do
		taskset -p -c "$ep" "$p" > /dev/null || { log "taskset -p -c $ep $p failed"; return 1; }
		echo "$2: sockperf server $(taskset -p -c "$p")" >> "$W/$t/place.log"
	done
	echo "$2: ping and sockperf client on $ep" >> "$W/$t/place.log"
}

# l2_flood TAG REP: trafgen's flood out of a's interface for DUR s, as
# peers.sh runs it; records l2 (kpps reaching b's interface, rx_packets)
# and l2_tx (offered: a's tx_packets + tx_dropped, which counts what the
# tap dropped), both over trafgen's own run time; prints l2
l2_flood() {
	local t=$1 r=$2 nsa nsb ifb ipb ifa sa sb rx0 rx1 tx0 tx1 d v
	read -r nsa nsb ifb ipb < "$W/$t/sys"
	read -r ifa < "$W/$t/l2"
	sa=/sys/class/net/$ifa/statistics sb=/sys/class/net/$ifb/statistics
	rx0=$(ip netns exec "$nsb" cat "$sb/rx_packets")
	tx0=$(ip netns exec "$nsa" cat "$sa/tx_packets" "$sa/tx_dropped" | awk '{ s += $1 } END { print s }')
	ip netns exec "$nsa" timeout -s INT "$DUR" \
	    trafgen -i "$W/$t/trafgen.cfg" -o "$ifa" -P 1 --no-sock-mem -Q > "$W/$t/trafgen.$r.log" 2>&1
	sleep 0.5
	rx1=$(ip netns exec "$nsb" cat "$sb/rx_packets")
	tx1=$(ip netns exec "$nsa" cat "$sa/tx_packets" "$sa/tx_dropped" | awk '{ s += $1 } END { print s }')
	# "N sec, M usec on CPUn (P packets)": the time trafgen sent for
	d=$(tr -d '\r' < "$W/$t/trafgen.$r.log" | awk '/usec on CPU/ { d = $1 + $3 / 1e6 } END { print d }')
	d=${d:-$DUR}
	v=$(awk -v p=$((rx1 - rx0)) -v d="$d" 'BEGIN { if (d > 0) printf "%.1f", p / d / 1000; else print "NA" }')
	rec "$t" l2 "$r" "$v"
	rec "$t" l2_tx "$r" "$(awk -v p=$((tx1 - tx0)) -v d="$d" 'BEGIN { if (d > 0) printf "%.1f", p / d / 1000; else print "NA" }')"
	echo "$v"
}

# ------------------------------------------------------------ table

# table SHAPE: medians per system, ratios to the kernel (tag k); the table on
# stdout, one line per system added to the summary TSV
table() {
	local t nosp="" nol2=""
	command -v sockperf > /dev/null || nosp=1
	command -v trafgen > /dev/null || nol2=1
	echo
	echo "shape \"$1\": $(shape_"$1" | cut -d'|' -f2)"
	for t in $(cat "$W/systems"); do
		printf '%s\t%s\t%s\t%s\n' "$t" "$(cat "$W/$t/name")" \
		    "$(cat "$W/$t/variant" 2>/dev/null || echo -)" "$([ -e "$W/$t/ok" ] && echo 1)"
	done > "$W/systems.tsv"
	awk -F'\t' -v shape="$1" -v sumf="$SUMMARY" -v nosp="$nosp" -v nol2="$nol2" -v pls="$PLACEMENTS" '
	function med(k,   n, i, j, t, a) {
		n = cnt[k]; if (!n) return ""
		for (i = 1; i <= n; i++) a[i] = val[k, i]
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function num(x, fmt) { return x == "" ? "-" : sprintf(fmt, x) }
	function tsv(x) { return x == "" ? "NA" : x }
	# cell(I, FIGURE, FORMAT, RATIO): system I s median of FIGURE, with its
	# ratio to the kernel s in parentheses if RATIO; sets V and R for the TSV
	function cell(i, fig, fmt, ratio,   t, kv, c) {
		t = tag[i]
		V = ok[i] ? med(t SUBSEP fig) : ""; kv = med("k" SUBSEP fig)
		R = (t != "k" && V != "" && kv != "" && kv > 0) ? sprintf("%.2f", V / kv) : ""
		c = num(V, fmt) (R != "" && ratio ? " (" R ")" : "")
		if (V == "" && ((fig ~ /^sp_/ && nosp) || (fig == "l2" && nol2))) c = "n/a"
		return c
	}
	FNR == NR { ns++; tag[ns] = $1; name[ns] = $2; variant[ns] = $3; ok[ns] = $4; next }
	$4 == "NA" || $4 == "" { next }
	{ k = $1 SUBSEP $2; cnt[k]++; val[k, cnt[k]] = $4 + 0; if ($3 > reps) reps = $3 }
	END {
		nm = split("tcp1 tcp4 udp l2 host_s_gb cpu_s_gb", m, " ")
		split("%.2f %.2f %.0f %.0f %.2f %.2f", fm, " ")
		f = "%-21s %-13s %-13s %-13s %-13s %-13s %-13s %s\n"
		printf f, "system", "TCP1 Gbit/s", "TCP4 Gbit/s", "UDP64 kpps", "L2 64B kpps",
		    "host s/GB", "vsw s/GB", "RSS idle/peak MiB"
		for (i = 1; i <= ns; i++) {
			if (!ok[i]) { printf "%-21s setup failed, not measured\n", name[i]; continue }
			for (j = 1; j <= nm; j++) c[j] = cell(i, m[j], fm[j], j <= 5)
			ri = med(tag[i] SUBSEP "rss_idle_kib"); rp = med(tag[i] SUBSEP "rss_peak_kib")
			ri = ri == "" ? "-" : sprintf("%.1f", ri / 1024)
			rp = rp == "" ? "-" : sprintf("%.1f", rp / 1024)
			rss = ri == "-" && rp == "-" ? "-" : ri "/" rp
			printf f, name[i], c[1], c[2], c[3], c[4], c[5], c[6], rss
		}
		# the latency tests, a column per placement
		np = split(pls, pl, " ")
		printf "%-21s", "latency, us"
		for (p = 1; p <= np; p++) printf " %-15s", "ping " pl[p]
		for (p = 1; p <= np; p++) printf " %-15s", "sockperf " pl[p]
		printf "\n"
		for (i = 1; i <= ns; i++) {
			if (!ok[i]) continue
			printf "%-21s", name[i]
			for (p = 1; p <= np; p++) printf " %-15s", cell(i, "ping_" pl[p], "%.0f", 1)
			for (p = 1; p <= np; p++) printf " %-15s", cell(i, "sp_" pl[p], "%.0f", 1)
			printf "\n"
		}
		# the summary TSV: the columns of its header line in main
		split("tcp1 tcp4 udp ping_free sp_free host_s_gb cpu_s_gb udp_if", m1, " ")
		split("l2 ping_same ping_split sp_same sp_split", m2, " ")
		for (i = 1; i <= ns; i++) {
			t = tag[i]
			line = ""; rl = ""
			for (j = 1; j <= 8; j++) { cell(i, m1[j], "%s", 0); line = line "\t" tsv(V); if (j <= 6) rl = rl "\t" tsv(R) }
			ri = ok[i] ? med(t SUBSEP "rss_idle_kib") : ""; rp = ok[i] ? med(t SUBSEP "rss_peak_kib") : ""
			if (ri != "") ri = sprintf("%.1f", ri / 1024)
			if (rp != "") rp = sprintf("%.1f", rp / 1024)
			more = ""; mr = ""
			for (j = 1; j <= 5; j++) { cell(i, m2[j], "%s", 0); more = more "\t" tsv(V); mr = mr "\t" tsv(R) }
			split(more, a, "\t"); split(mr, b, "\t")
			sys = t == "k" ? name[i] : "vswitchd"
			print shape "\t" sys "\t" variant[i] line "\t" tsv(ri) "\t" tsv(rp) rl "\t" (ok[i] ? reps : 0) \
			    "\t" a[2] "\t" b[2] "\t" a[3] "\t" a[4] "\t" a[5] "\t" a[6] "\t" b[3] "\t" b[4] "\t" b[5] "\t" b[6] >> sumf
		}
	}' "$W/systems.tsv" "$W/results.tsv"
	# how each system was built (the variants differ only in their offloads)
	for t in $(cat "$W/systems"); do
		if [ ! -e "$W/$t/ok" ]; then
			echo "$(cat "$W/$t/name"): setup failed, not measured"
		elif [ "$t" = k ] || [ "$(cat "$W/$t/variant")" = on ]; then
			echo "$(cat "$W/$t/name"): $(cat "$W/$t/note")"
		fi
	done
}

# ------------------------------------------------------------ main

# setup_system SHAPE TAG: build TAG's system, apply its variant, start servers
setup_system() {
	local t=$2
	if [ "$t" = k ]; then
		setup_"$1"_kernel "$t" && prepare "$t"
		return
	fi
	setup_"$1"_vswitchd "$t" && set_variant "$t" "$(cat "$W/$t/variant")" || return 1
	rec "$t" rss_idle_kib 0 "$(rss_kb "$t" VmRSS)"
	prepare "$t"
}

# shape_variants SHAPE: VARIANTS, or the shape's own list
shape_variants() {
	if [ -n "$VARIANTS" ]; then echo "$VARIANTS"; else shape_"$1" | cut -d'|' -f3; fi
}

# run_shape SHAPE: set up every system, measure them in turns, print, tear down
run_shape() {
	local shape=$1 t r order ok="" pid kb f v i=1 rc=0
	mkdir -p "$W/k"
	shape_"$shape" | cut -d'|' -f1 > "$W/k/name"
	echo k > "$W/systems"
	for v in $(shape_variants "$shape"); do
		mkdir -p "$W/v$i"
		variant_label "$v" > "$W/v$i/name"
		echo "$v" > "$W/v$i/variant"
		echo "v$i" >> "$W/systems"
		i=$((i + 1))
	done
	: > "$W/results.tsv"
	for t in $(cat "$W/systems"); do
		log "$shape: setting up $(cat "$W/$t/name")"
		if setup_system "$shape" "$t" > "$W/$t/setup.log" 2>&1; then
			ok="$ok $t"; : > "$W/$t/ok"
		else
			log "$shape: $(cat "$W/$t/name") setup failed:"; sed 's/^/    /' "$W/$t/setup.log" >&2
			for f in "$W/$t/vswitchd.log" "$W/$t"/*/vswitchd.log; do
				[ -s "$f" ] && sed 's/^/    vswitchd: /' "$f" >&2
			done
			rc=1
		fi
	done
	r=1
	while [ $r -le "$REPS" ]; do
		if [ $((r % 2)) = 1 ]; then order=$ok; else order=$(echo $ok | awk '{for (i = NF; i; i--) printf "%s ", $i}'); fi
		for t in $order; do measure "$t" $r || rc=1; done
		r=$((r + 1))
	done
	for t in $ok; do
		[ -s "$W/$t/pid" ] || continue
		for pid in $(cat "$W/$t/pid"); do
			alive "$pid" && continue
			log "$shape: $(cat "$W/$t/name") (pid $pid) exited during the run"; rc=1
		done
		kb=$(rss_kb "$t" VmHWM)
		[ -n "$kb" ] && rec "$t" rss_peak_kib 0 "$kb"
	done
	table "$shape"
	awk -F'\t' -v s="$shape" 'FNR == NR { sys[$1] = $1 == "k" ? $2 : "vswitchd"; var[$1] = $3; next }
		{ print s "\t" sys[$1] "\t" var[$1] "\t" $2 "\t" $3 "\t" $4 }' "$W/systems.tsv" "$W/results.tsv" >> "$RAW"
	teardown
	mkdir -p "$W/$shape"
	for t in $(cat "$W/systems"); do mv "$W/$t" "$W/$shape/"; done
	mv "$W/results.tsv" "$W/systems" "$W/systems.tsv" "$W/$shape/"
	return $rc
}

main() {
	local f shape v n=0 secs rc=0
	[ "$(id -u)" = 0 ] || die "must run as root (namespaces, taps)"
	for f in ip iperf3 jq ping ss taskset timeout; do
		command -v $f > /dev/null || die "missing $f (sh tests/deps.sh bench)"
	done
	# the placements' CPUs: the first two this script may run on
	CPUS=$(taskset -p -c $$ | sed 's/.*: *//')
	# shellcheck disable=SC2046
	set -- $(echo "$CPUS" | tr ',' '\n' | awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2); c++) print c }')
	CPU_A=${1:-0} CPU_B=${2:-}
	[ -n "$PLACEMENTS" ] || die "PLACEMENTS is empty (same split free)"
	for v in $PLACEMENTS; do
		case $v in
		same|free)	;;
		split)		[ -n "$CPU_B" ] || die "placement split needs two CPUs, this script may use $CPUS" ;;
		*)		die "unknown placement '$v' (same split free)" ;;
		esac
	done
	for f in "$VSWITCHD" "$VSWCTL"; do
		[ -x "$f" ] || die "missing $f (run make first)"
	done
	for shape in $SHAPES; do
		command -v "shape_$shape" > /dev/null || die "unknown shape '$shape' (known: single system vxlan routed wg wgvxlan vhost)"
		[ "$shape" != vhost ] || command -v dpdk-testpmd > /dev/null ||
		    die "shape vhost needs dpdk-testpmd (sh tests/deps.sh bench: dpdk-dev)"
		for v in $(shape_variants "$shape"); do
			variant_check "$v" || die "unknown variant '$v' (on, off, or NAME[,NAME...] among: $OFFLOADS)"
			n=$((n + 1))
		done
		n=$((n + 1))
	done
	W=$(mktemp -d /tmp/vswitch-bench.XXXXXX) || die "mktemp failed"
	trap on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	STAMP=$(date +%Y%m%d-%H%M%S)
	mkdir -p "$RESULTS" || die "cannot create $RESULTS"
	SUMMARY=$RESULTS/bench-$STAMP.tsv RAW=$RESULTS/bench-$STAMP.raw.tsv
	printf 'shape\tsystem\tvariant\ttcp1_gbps\ttcp4_gbps\tudp64_kpps\tping_us\tsockperf_us\thost_cpu_s_per_gb\tvsw_cpu_s_per_gb\tudp64_if_kpps\trss_idle_mib\trss_peak_mib\ttcp1_ratio\ttcp4_ratio\tudp64_ratio\tping_ratio\tsockperf_ratio\thost_cpu_ratio\treps\tl2flood_kpps\tl2flood_ratio\tping_same_us\tping_split_us\tsockperf_same_us\tsockperf_split_us\tping_same_ratio\tping_split_ratio\tsockperf_same_ratio\tsockperf_split_ratio\n' > "$SUMMARY"
	printf 'shape\tsystem\tvariant\tfigure\trep\tvalue\n' > "$RAW"
	# per system and rep: 3 iperf3 runs, the L2 flood, in each placement the
	# pings and sockperf (+ its 0.4 s warm-up), pauses
	secs=$(awk -v n=$n -v r="$REPS" -v d="$DUR" -v p="$PING_N" -v s="$SP_DUR" -v np="$(echo $PLACEMENTS | wc -w)" \
	    'BEGIN { printf "%.0f", n * (r * (4 * d + np * (p / 100 + s + 0.5) + 4) + 3) }')

	echo "vswitch bench, $(date '+%Y-%m-%d %H:%M %Z')"
	echo "machine: $(nproc) cpus, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
	    "kernel $(uname -r), $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")"
	echo "tree: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown);" \
	    "$(iperf3 --version | head -1 | cut -d' ' -f1-2);" \
	    "$(if command -v sockperf > /dev/null; then sockperf --version 2>&1 | awk '/version/ { print "sockperf", $NF; exit }'; else echo "sockperf not installed (n/a)"; fi)"
	echo "REPS=$REPS DUR=${DUR} s PING_N=$PING_N SP_DUR=${SP_DUR} s; $n systems in SHAPES=\"$SHAPES\", about $((secs / 60 + 1)) min"
	echo "latency placements (PLACEMENTS=\"$PLACEMENTS\"): same = daemons and endpoints on CPU $CPU_A;" \
	    "split = daemons on CPU ${CPU_B:-?}, endpoints on CPU $CPU_A; free = unpinned (CPUs $CPUS)"
	echo "Figures are medians of the reps of this run, systems taking turns, on a shared"
	echo "machine: compare rows of one run, not runs.  (x.xx) = vswitchd / kernel."
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	for shape in $SHAPES; do
		if [ "$shape" = vhost ]; then run_vhost || rc=1; else run_shape "$shape" || rc=1; fi
	done
	cat <<'EOT'

TCP1, TCP4: iperf3, 1 and 4 streams (-P 4), receiver Gbit/s.  UDP64: iperf3 -u -l 64 -b 0,
packets received by the iperf3 server per second (sent - lost; the TSV also has what reached
b's interface).  L2 64B: trafgen's flood of 64-byte frames out of a's interface, thousands per
second reaching b's (as ../shared/bench/peers.sh; "-": a and b are not on one link).
latency, by CPU placement: ping -i 0.01 average RTT; sockperf UDP ping-pong, 64 B, RTT = 2 x
average latency; ratios to the kernel in the same placement (its endpoints pinned alike; it
has no daemon, so its "same" and "split" are one placement measured twice).
host s/GB: the whole machine's busy CPU seconds (iperf3 and the kernel included) per GB
received over both TCP runs; vsw s/GB: the same for vswitchd's daemons alone (utime+stime),
in a wireguard-go row for its two wireguard-go processes.
RSS: the largest daemon's VmRSS after setup, before traffic / its VmHWM at the end.
(x.xx): vswitchd's median / the kernel's in this run; > 1 is better for TCP, UDP and L2,
worse for the others.  vsw s/GB and RSS have no ratio: the kernel has no daemon (host s/GB
is the CPU figure to compare).
Variants: "NAME off" = that offload switch off (vswctl offload set NAME off), the rest on.
EOT
	echo "results: $SUMMARY (medians, ratios), $RAW (every rep)"
	if [ -n "$MAC_BENCH" ]; then
		echo
		if [ -x "$MAC_BENCH" ]; then
			"$MAC_BENCH" || rc=1
		else
			log "missing $MAC_BENCH (make bench-bins)"; rc=1
		fi
	fi
	echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	return $rc
}

main "$@"
