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
# vswitchd creates its taps and tuns in its own namespace (s, h1, h2); they
# are then moved into a and b, where they get their address, the daemon
# keeping its file descriptors.
#
# Measured from a to b, REPS times, the systems taking turns (the first system
# goes first in odd reps, last in even ones, so slow drifts of the machine
# fall on both):
#   TCP      iperf3, 1 stream, DUR s, receiver Gbit/s
#   UDP64    iperf3 -u -l 64 -b 0, DUR s, packets received per second
#   ping     ping -c PING_N -i 0.01, average RTT
# and the daemons' CPU (utime+stime from /proc/PID/stat, summed over the
# shape's daemons) during each figure and their peak RSS (VmHWM, the largest
# daemon's).  Each figure printed is the median of the reps.
# This is a benchmark, not a test: it asserts nothing about speed, and exits
# non-zero only if a system could not be set up or measured.
#
# Usage (root, after make):  sh tests/bench/bench.sh
#   REPS=3 DUR=5 PING_N=200  repetitions, seconds per iperf3 run, pings per rep
#   SHAPES="single vxlan routed"  shapes to run, in order
#   KEEP=1                   keep the work directory (logs, iperf3 JSON, raw TSV)
#   VSWITCHD=... VSWCTL=...  binaries (default: the ones built in this tree)
#   MAC_BENCH=...            the MAC table micro-benchmark run at the end
#                            (tests/bench/mac-bench.c; MAC_BENCH= skips it)
#
# Adding a shape NAME means defining three things (see "single" below):
#   shape_NAME               prints "KERNEL-LABEL|one line describing the shape"
#   setup_NAME_kernel TAG    builds the kernel baseline
#   setup_NAME_vswitchd TAG  builds the same topology around vswitchd
# A setup function names its namespaces "$P-TAG-x" (ns_add) and its interfaces
# "$P$TAG..." (at most 15 characters), starts daemons with vsw_start, and ends
# with sys_set to say where the endpoints are.  Measurement, clean-up and the
# table are shared.
#
# Only addresses from 198.18.0.0/15, only names with this run's prefix, and
# only processes this script started (killed by PID) are touched.

# POSIX sh plus "local" (dash, bash, busybox sh).
# shellcheck disable=SC3043
set -u
export LC_ALL=C

REPS=${REPS:-3}
DUR=${DUR:-5}
PING_N=${PING_N:-200}
SHAPES=${SHAPES:-single vxlan routed}
KEEP=${KEEP:-0}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VSWITCHD=${VSWITCHD:-$ROOT/vswitchd/vswitchd}
VSWCTL=${VSWCTL:-$ROOT/tools/vswctl}
MAC_BENCH=${MAC_BENCH-$ROOT/build/release/bench/mac-bench}
HZ=$(getconf CLK_TCK)
P=vb$$			# run prefix: "vb" + pid (<= 7 digits) leaves 6 characters
IP_A=198.19.0.1
IP_B=198.19.0.2

W=""			# work directory
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
	echo "bridge|one switch: a (198.19.0.1) -- switch in ns s -- b (198.19.0.2), MTU 1500"
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

# ------------------------------------------------------------ shape "vxlan"

VNI=42
UL_MTU=1600

shape_vxlan() {
	echo "vxlan|two hosts: a -- h1 (198.18.0.1) == VXLAN VNI $VNI over veth, MTU $UL_MTU == h2 (198.18.0.2) -- b, endpoints MTU 1500"
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
	echo "kernel-fwd|two routers: a (198.19.1.1) -- h1 == underlay, MTU $UL_MTU == h2 -- b (198.19.2.1), endpoints MTU 1500"
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

# ------------------------------------------------------------ measurement

# cpu_ticks TAG: utime+stime of TAG's daemons (all threads), empty if none
cpu_ticks() {
	local f=$W/$1/pid p
	[ -s "$f" ] || return 0
	for p in $(cat "$f"); do sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null; done |
		awk '{ s += $12 + $13 } END { print s + 0 }'
}

now_ns() { date +%s%N; }

# rx_packets NS IF: the interface's receive counter
rx_packets() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets" 2>/dev/null; }

# rec TAG METRIC REP VALUE
rec() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$W/results.tsv"; }

# jqv FILE FILTER: one number from iperf3 JSON, NA if the run failed
jqv() {
	local v
	v=$(jq -r "if .end.sum_received then ($2) else \"NA\" end" "$1" 2>/dev/null) || v=NA
	echo "${v:-NA}"
}

# cpu_rec TAG METRIC REP C0 T0: daemon CPU % of one core since C0/T0
cpu_rec() {
	local c1 t1
	[ -s "$W/$1/pid" ] || return 0
	c1=$(cpu_ticks "$1"); t1=$(now_ns)
	[ -n "$c1" ] && [ -n "$4" ] || return 0
	rec "$1" "cpu_$2" "$3" "$(awk -v c=$((c1 - $4)) -v hz="$HZ" -v ns=$((t1 - $5)) \
		'BEGIN { printf "%.0f", 100 * c / hz / (ns / 1e9) }')"
	echo $((c1 - $4)) >> "$W/$1/cpu_ticks"
	echo $((t1 - $5)) >> "$W/$1/cpu_ns"
}

# prepare TAG: iperf3 server in NS_B, connectivity, warm-up
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
	i=0
	until ip netns exec "$nsa" ping -c 1 -W 1 "$ipb" > /dev/null 2>&1; do
		[ $i -lt 10 ] || { log "no connectivity from $nsa to $ipb"; return 1; }
		i=$((i + 1))
	done
	ip netns exec "$nsa" ping -q -c 20 -i 0.01 "$ipb" > /dev/null 2>&1
	sleep 1
}

# measure TAG REP: every figure once
measure() {
	local t=$1 r=$2 nsa nsb ifb ipb j c0 t0 v tcp udp loss rtt rx0 rx1
	read -r nsa nsb ifb ipb < "$W/$t/sys"

	j=$W/$t/tcp.$r.json
	c0=$(cpu_ticks "$t"); t0=$(now_ns)
	timeout --foreground $((DUR + 20)) ip netns exec "$nsa" iperf3 -c "$ipb" -p 5201 -t "$DUR" -J > "$j" 2>&1
	cpu_rec "$t" tcp "$r" "$c0" "$t0"
	tcp=$(jqv "$j" '.end.sum_received.bits_per_second / 1e9')
	rec "$t" tcp "$r" "$tcp"
	sleep 0.5

	j=$W/$t/udp.$r.json
	rx0=$(rx_packets "$nsb" "$ifb")
	c0=$(cpu_ticks "$t"); t0=$(now_ns)
	timeout --foreground $((DUR + 20)) ip netns exec "$nsa" iperf3 -c "$ipb" -p 5201 -u -l 64 -b 0 -t "$DUR" -J > "$j" 2>&1
	cpu_rec "$t" udp "$r" "$c0" "$t0"
	rx1=$(rx_packets "$nsb" "$ifb")
	# iperf3 counts "packets" as sent; received = packets - lost
	udp=$(jqv "$j" '(.end.sum_received.packets - .end.sum_received.lost_packets) / .end.sum_received.seconds / 1000')
	rec "$t" udp "$r" "$udp"
	loss=$(jqv "$j" '.end.sum_received.lost_percent')
	rec "$t" udp_loss "$r" "$loss"
	# what reached b's interface, whether or not iperf3 had the CPU to read it
	if [ -n "$rx0" ] && [ -n "$rx1" ]; then
		rec "$t" udp_if "$r" "$(jqv "$j" "$((rx1 - rx0)) / .end.sum_sent.seconds / 1000")"
	fi
	sleep 0.5

	j=$W/$t/ping.$r.txt
	c0=$(cpu_ticks "$t"); t0=$(now_ns)
	ip netns exec "$nsa" ping -q -c "$PING_N" -i 0.01 -W 1 "$ipb" > "$j" 2>&1
	cpu_rec "$t" ping "$r" "$c0" "$t0"
	v=$(awk -F'[/ ]' '/^rtt/ { printf "%.1f", $8 * 1000 }' "$j")
	rtt=${v:-NA}
	rec "$t" ping "$r" "$rtt"

	log "  $(cat "$W/$t/name") rep $r: $(echo "$tcp $udp $loss $rtt" |
		awk 'function f(x, fm) { return x == "NA" ? x : sprintf(fm, x) }
		{ printf "TCP %s Gbit/s, UDP64 %s kpps (%s %% lost), ping %s us",
		  f($1, "%.2f"), f($2, "%.0f"), f($3, "%.0f"), f($4, "%.0f") }')"
}

# ------------------------------------------------------------ table

# table SHAPE: medians of the shape's two systems (tags k and v)
table() {
	local desc kname t n
	desc=$(shape_"$1" | cut -d'|' -f2)
	kname=$(cat "$W/k/name")
	echo
	echo "shape \"$1\": $desc"
	awk -F'\t' -v kname="$kname" '
	function med(k,   n, i, j, t, a) {
		n = cnt[k]; if (!n) return ""
		for (i = 1; i <= n; i++) a[i] = val[k, i]
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function num(x, fmt) { return x == "" ? "-" : sprintf(fmt, x) }
	$4 != "NA" && $4 != "" { k = $1 SUBSEP $2; cnt[k]++; val[k, cnt[k]] = $4 + 0 }
	END {
		f = "%-26s %10s %10s %17s %15s\n"
		printf f, "figure (median)", kname, "vswitchd", "vswitchd/" kname, "vswitchd CPU %"
		split("tcp udp udp_if ping", m, " ")
		split("TCP 1 stream, Gbit/s|UDP 64 B received, kpps|  at b'"'"'s interface, kpps|ping RTT avg, us", label, "|")
		split("%.2f %.0f %.0f %.0f", fmt, " ")
		for (i = 1; i <= 4; i++) {
			kv = med("k" SUBSEP m[i]); vv = med("v" SUBSEP m[i])
			ratio = (kv != "" && vv != "" && kv > 0) ? sprintf("%.2f", vv / kv) : "-"
			cpu = m[i] == "udp_if" ? "" : med("v" SUBSEP "cpu_" m[i])
			printf f, label[i], num(kv, fmt[i]), num(vv, fmt[i]), ratio, num(cpu, "%.0f")
		}
	}' "$W/results.tsv"
	awk -v hz="$HZ" '
		FILENAME ~ /cpu_ticks$/ { c += $1 } FILENAME ~ /cpu_ns$/ { ns += $1 }
		END { if (ns > 0) printf "vswitchd CPU (utime+stime): %.1f s over %.0f s of measurements (%.0f %% of one core)\n",
			c / hz, ns / 1e9, 100 * c / hz / (ns / 1e9) }' "$W/v/cpu_ticks" "$W/v/cpu_ns" 2>/dev/null
	[ -s "$W/v/hwm" ] && echo "vswitchd peak RSS (VmHWM, the largest daemon): $(cat "$W/v/hwm")"
	for t in k v; do
		if [ -e "$W/$t/ok" ]; then n=$(cat "$W/$t/note"); else n="setup failed, not measured"; fi
		echo "$(cat "$W/$t/name"): $n"
	done
}

# ------------------------------------------------------------ main

# run_shape SHAPE: set up both systems, measure them in turns, print, tear down
run_shape() {
	local shape=$1 t r order ok="" pid kb f rc=0
	command -v "shape_$shape" > /dev/null || { log "unknown shape '$shape'"; return 1; }
	mkdir -p "$W/k" "$W/v"
	shape_"$shape" | cut -d'|' -f1 > "$W/k/name"
	echo vswitchd > "$W/v/name"
	: > "$W/results.tsv"
	for t in k v; do
		log "$shape: setting up $(cat "$W/$t/name")"
		if [ $t = k ]; then setup_"$shape"_kernel $t; else setup_"$shape"_vswitchd $t; fi \
		    > "$W/$t/setup.log" 2>&1 && prepare $t >> "$W/$t/setup.log" 2>&1 && ok="$ok $t" && : > "$W/$t/ok" || {
			log "$shape: $(cat "$W/$t/name") setup failed:"; sed 's/^/    /' "$W/$t/setup.log" >&2
			for f in "$W/$t/vswitchd.log" "$W/$t"/*/vswitchd.log; do
				[ -s "$f" ] && sed 's/^/    vswitchd: /' "$f" >&2
			done
			rc=1
		}
	done
	r=1
	while [ $r -le "$REPS" ]; do
		if [ $((r % 2)) = 1 ]; then order=$ok; else order=$(echo $ok | awk '{for (i = NF; i; i--) printf "%s ", $i}'); fi
		for t in $order; do measure $t $r; done
		r=$((r + 1))
	done
	if [ -s "$W/v/pid" ] && [ -e "$W/v/ok" ]; then
		for pid in $(cat "$W/v/pid"); do
			if alive "$pid"; then
				awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status"
			else
				log "$shape: vswitchd (pid $pid) exited during the run"; rc=1
			fi
		done > "$W/v/hwm_kb"
		kb=$(sort -n "$W/v/hwm_kb" | tail -n 1)
		[ -n "$kb" ] && awk -v kb="$kb" 'BEGIN { printf "%.1f MiB\n", kb / 1024 }' > "$W/v/hwm"
	fi
	table "$shape"
	teardown
	mkdir -p "$W/$shape" && mv "$W/k" "$W/v" "$W/results.tsv" "$W/$shape/"
	return $rc
}

main() {
	local f shape rc=0
	[ "$(id -u)" = 0 ] || die "must run as root (namespaces, taps)"
	for f in ip iperf3 jq ping ss timeout; do
		command -v $f > /dev/null || die "missing $f (sh tests/deps.sh bench)"
	done
	for f in "$VSWITCHD" "$VSWCTL"; do
		[ -x "$f" ] || die "missing $f (run make first)"
	done
	W=$(mktemp -d /tmp/vswitch-bench.XXXXXX) || die "mktemp failed"
	trap on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	echo "vswitch bench, $(date '+%Y-%m-%d %H:%M'), $(uname -r), $(nproc) cpus, $(iperf3 --version | head -1)"
	echo "Figures are medians of REPS=$REPS reps (DUR=${DUR} s per iperf3 run, $PING_N pings) of the"
	echo "same run, systems taking turns, on a shared, noisy machine: compare columns, not runs."
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	for shape in $SHAPES; do
		run_shape "$shape" || rc=1
	done
	echo
	echo "TCP: iperf3 1 stream, receiver.  UDP 64 B: iperf3 -u -l 64 -b 0, received = sent - lost"
	echo "by the iperf3 server; \"at b's interface\": rx_packets of b's interface over the same run"
	echo "(frames the switch delivered, also those the server had no CPU left to read)."
	echo "ping: -i 0.01 average.  Ratio > 1 is better for TCP/UDP, worse for ping.  vswitchd CPU %:"
	echo "median over the reps of the daemon's CPU during that figure, in % of one core."
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
