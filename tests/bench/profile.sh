#!/bin/sh
# profile.sh - where vswitchd's time goes on the 64-byte paths.
#
# Paths, each in its own namespaces (prefix "vp" + pid), built one at a time:
#   tap     a (198.19.0.1) -- tap -- vswitchd in s -- tap -- b (198.19.0.2)
#   vxlan   a -- tap -- vswitchd h1 == VXLAN over a veth underlay
#           (198.18.0.1 -- 198.18.0.2) == vswitchd h2 -- tap -- b
#   ipip    a (198.19.1.1) -- tun -- vswitchd h1 == ipip over the underlay
#           == vswitchd h2 -- tun -- b (198.19.2.1), routed
# Loads, from a to b: "flood" iperf3 -u -l 64 -b 0 (as fast as the sender
# goes) and "light" iperf3 -u -l 64 at LIGHT_PPS packets a second.
#
# Over DUR seconds of each load, on the path's daemons together (a path of
# two daemons costs both):
#   frames/s       frames the first daemon read from its ingress port
#                  (vswctl --json stats, rx_packets)
#   CPU ns/frame   perf stat task-clock / frames; cycles/frame is that
#                  times the CPU's nominal MHz (this virtual machine has no
#                  cycle counter; where perf counts cycles it is printed)
#   syscalls/frame perf stat raw_syscalls:sys_enter / frames, and by system
#                  call (syscalls:sys_enter_NAME) for those that occur
#   wakeups/frame  voluntary context switches (the daemon blocked and was
#                  woken: /proc/PID/status) / frames; epoll/frame: epoll_wait
#                  returns / frames
#   shares         perf record -F FREQ -g: the share of the daemons' samples
#                  in libevent (its own code), clock_gettime (with the vDSO),
#                  the MAC table, copies (memcpy and the kernel's
#                  copy_to/from_user), the kernel's tap read and write
#                  (tun_chr_read_iter / tun_chr_write_iter, with what they
#                  call), UDP send and receive (the tunnel socket), the
#                  scheduler (schedule(): switching the daemon out and in,
#                  with the time interrupts stay off meanwhile, which a
#                  timer-sampled profile charges to where they come back
#                  on), and the top symbols by their own samples.
# A benchmark, not a test: it asserts nothing about speed.
#
# Usage (root, after make):  sh tests/bench/profile.sh
#   PATHS="tap vxlan ipip"  LOADS="flood light"  DUR=5  LIGHT_PPS=10000
#   FREQ=999  TOP=8  KEEP=1 (keep the work directory: perf data, logs)
#   BUSYPOLL=USEC            vswctl busy-poll set USEC on every daemon
#   VSWITCHD=... VSWCTL=...  binaries (default: the ones built in this tree)
#
# Only addresses from 198.18.0.0/15, only names with this run's prefix, and
# only processes this script started (killed by PID) are touched.

# POSIX sh plus "local".
# shellcheck disable=SC3043
set -u
export LC_ALL=C

PATHS=${PATHS:-tap vxlan ipip}
LOADS=${LOADS:-flood light}
DUR=${DUR:-5}
LIGHT_PPS=${LIGHT_PPS:-10000}
FREQ=${FREQ:-999}
TOP=${TOP:-8}
KEEP=${KEEP:-0}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VSWITCHD=${VSWITCHD:-$ROOT/vswitchd/vswitchd}
VSWCTL=${VSWCTL:-$ROOT/tools/vswctl}
P=vp$$
MHZ=$(awk -F': ' '/^cpu MHz/ { printf "%d", $2; exit }' /proc/cpuinfo)
SYSCALLS="readv writev read write recvmmsg sendmmsg recvmsg sendmsg recvfrom
	sendto epoll_wait epoll_pwait sched_yield ioctl io_uring_enter"

W=""
NETNS_LIST=""
PID_LIST=""
DAEMONS=""		# the current path's daemon PIDs
SOCKS=""		# and their control sockets
SOCK1=""		# its first daemon's control socket
IN_PORT=""		# the port it reads the load from
DST=""			# the address the load goes to

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "profile: $*"; exit 1; }

alive() {
	[ -r "/proc/$1/stat" ] &&
	[ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

kill_pids() {
	local p i=0 left
	for p; do kill "$p" 2>/dev/null; done
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
	PID_LIST="" NETNS_LIST="" DAEMONS="" SOCKS=""
}

on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	teardown
	if [ -n "$W" ] && [ "$KEEP" != 1 ]; then rm -rf "$W"; else log "work directory: $W"; fi
	exit $rc
}

ns_add() {
	local n
	for n; do
		ip netns add "$n" || return 1
		NETNS_LIST="$NETNS_LIST $n"
		ip -n "$n" link set lo up || return 1
	done
}

ep_up() {
	ip -n "$1" addr add "$3/24" dev "$2" && ip -n "$1" link set "$2" up
}

# vsw_start NAME NS: a daemon with its socket in $W/NAME
vsw_start() {
	local d="$W/$1" pid i=0
	rm -rf "$d" && mkdir -p "$d" || return 1
	ip netns exec "$2" "$VSWITCHD" --foreground --socket "$d/sock" >"$d/log" 2>&1 &
	pid=$!
	PID_LIST="$PID_LIST $pid" DAEMONS="$DAEMONS $pid" SOCKS="$SOCKS $d/sock"
	while [ ! -S "$d/sock" ]; do
		alive "$pid" && [ $i -lt 100 ] || { cat "$d/log" >&2; return 1; }
		sleep 0.05; i=$((i + 1))
	done
}

vsw() {
	local n="$1"; shift
	"$VSWCTL" --socket "$W/$n/sock" "$@"
}

underlay() {
	ip link add "${P}u1" netns "$1" type veth peer name "${P}u2" netns "$2" &&
	ip -n "$1" addr add 198.18.0.1/24 dev "${P}u1" && ip -n "$2" addr add 198.18.0.2/24 dev "${P}u2" &&
	ip -n "$1" link set "${P}u1" mtu 1600 up && ip -n "$2" link set "${P}u2" mtu 1600 up
}

# static_neigh: a and b know each other's MAC for good, so that a flood that
# fills a tap's queue cannot starve the neighbour probes and stop the load
static_neigh() {
	local ma mb
	ma=$(ip -n "$P-a" -o link show "${P}A" | sed 's|.*link/ether \([^ ]*\).*|\1|') &&
	mb=$(ip -n "$P-b" -o link show "${P}B" | sed 's|.*link/ether \([^ ]*\).*|\1|') &&
	ip -n "$P-a" neigh replace 198.19.0.2 lladdr "$mb" dev "${P}A" nud permanent &&
	ip -n "$P-b" neigh replace 198.19.0.1 lladdr "$ma" dev "${P}B" nud permanent
}

setup_tap() {
	ns_add "$P-a" "$P-s" "$P-b" && vsw_start s "$P-s" || return 1
	vsw s port add "${P}A" type tap && vsw s port add "${P}B" type tap &&
	ip -n "$P-s" link set "${P}A" netns "$P-a" && ip -n "$P-s" link set "${P}B" netns "$P-b" &&
	ep_up "$P-a" "${P}A" 198.19.0.1 && ep_up "$P-b" "${P}B" 198.19.0.2 && static_neigh || return 1
	SOCK1=s IN_PORT=${P}A DST=198.19.0.2
}

setup_vxlan() {
	ns_add "$P-a" "$P-1" "$P-2" "$P-b" && underlay "$P-1" "$P-2" &&
	vsw_start h1 "$P-1" && vsw_start h2 "$P-2" || return 1
	vsw h1 port add "${P}A" type tap && vsw h2 port add "${P}B" type tap &&
	vsw h1 port add "${P}x" type vxlan remote 198.18.0.2 local 198.18.0.1 vni 42 &&
	vsw h2 port add "${P}x" type vxlan remote 198.18.0.1 local 198.18.0.2 vni 42 &&
	ip -n "$P-1" link set "${P}A" netns "$P-a" && ip -n "$P-2" link set "${P}B" netns "$P-b" &&
	ep_up "$P-a" "${P}A" 198.19.0.1 && ep_up "$P-b" "${P}B" 198.19.0.2 && static_neigh || return 1
	SOCK1=h1 IN_PORT=${P}A DST=198.19.0.2
}

setup_ipip() {
	ns_add "$P-a" "$P-1" "$P-2" "$P-b" && underlay "$P-1" "$P-2" &&
	vsw_start h1 "$P-1" && vsw_start h2 "$P-2" || return 1
	vsw h1 port add "${P}A" type tun address 198.19.1.254/24 &&
	vsw h2 port add "${P}B" type tun address 198.19.2.254/24 &&
	vsw h1 port add "${P}i" type ipip remote 198.18.0.2 local 198.18.0.1 &&
	vsw h2 port add "${P}i" type ipip remote 198.18.0.1 local 198.18.0.2 &&
	vsw h1 route add 198.19.2.0/24 dev "${P}i" && vsw h2 route add 198.19.1.0/24 dev "${P}i" &&
	ip -n "$P-1" link set "${P}A" netns "$P-a" && ip -n "$P-2" link set "${P}B" netns "$P-b" &&
	ep_up "$P-a" "${P}A" 198.19.1.1 && ep_up "$P-b" "${P}B" 198.19.2.1 &&
	ip -n "$P-a" route add default via 198.19.1.254 &&
	ip -n "$P-b" route add default via 198.19.2.254 || return 1
	SOCK1=h1 IN_PORT=${P}A DST=198.19.2.1
}

# the command that prints the frames the first daemon read
frames_cmd() {
	echo "'$VSWCTL' --socket '$W/$SOCK1/sock' --json stats | jq -r '.ports[] | select(.name == \"$IN_PORT\") | .rx_packets'"
}

# measure PATH LOAD: one row of the table, and the perf data kept in $W
measure() {
	local path="$1" load="$2" rate=0 cpid pids sc t
	[ "$load" = light ] && rate=$((LIGHT_PPS * 64 * 8))
	pids=$(echo "$DAEMONS" | sed 's/^ *//; s/ /,/g')
	ip netns exec "$P-a" iperf3 -c "$DST" -u -l 64 -b "$rate" -t $((3 * DUR + 10)) \
	    > "$W/iperf-$path-$load.log" 2>&1 &
	cpid=$!
	PID_LIST="$PID_LIST $cpid"
	sleep 1.5
	sc="raw_syscalls:sys_enter"
	for t in $SYSCALLS; do
		[ -d "/sys/kernel/tracing/events/syscalls/sys_enter_$t" ] &&
		    sc="$sc,syscalls:sys_enter_$t"
	done
	# Frames and switches in perf stat's own window: it counts while
	# this runs.
	cat > "$W/window.sh" <<-EOF
	count() { echo "\$($(frames_cmd)) \$(cat $(echo "$DAEMONS" | sed 's|[0-9][0-9]*|/proc/&/status|g') | awk '/^voluntary_ctxt/ { n += \$2 } END { print n }')"; }
	count; sleep $DUR; count
	EOF
	# Time and samples first, then system calls: counting each system
	# call costs the daemon time of its own.
	perf record -q --no-buildid -F "$FREQ" -g -p "$pids" -o "$W/perf-$path-$load.data" -- sleep $((DUR + 1)) \
	    > /dev/null 2>&1 &
	sleep 0.5
	perf stat -x, -e task-clock,context-switches,cycles -p "$pids" -o "$W/stat-$path-$load.csv" -- \
	    sh "$W/window.sh" > "$W/window-$path-$load"
	wait $!
	perf stat -x, -e "$sc" -p "$pids" -o "$W/sc-$path-$load.csv" -- \
	    sh "$W/window.sh" > "$W/scwindow-$path-$load"
	kill_pids $cpid
	# shellcheck disable=SC2046
	set -- $(cat "$W/window-$path-$load" "$W/scwindow-$path-$load")
	[ $# -eq 8 ] || return 1
	report "$path" "$load" $(($3 - $1)) $(($4 - $2)) $(($7 - $5))
}

# report PATH LOAD FRAMES VOLSWITCHES SCFRAMES: the second window (system
# calls) has its own frame count
report() {
	local d="$W/perf-$1-$2.data" frames="$3"
	[ "$frames" -gt 0 ] && [ "$5" -gt 0 ] || { echo "$1 $2: no frames forwarded"; return 1; }
	awk -F, -v path="$1" -v load="$2" -v fr="$frames" -v dur="$DUR" -v vol="$4" -v mhz="$MHZ" -v scfr="$5" '
	FNR == 1 { file++ }
	$1 ~ /^[0-9.]+$/ && file == 1 { v[$3] = $1 }
	$1 ~ /^[0-9.]+$/ && file == 2 {
		v[$3] = $1
		if ($3 ~ /^syscalls:sys_enter_/ && $1 > 0) {
			n = $3; sub(/^syscalls:sys_enter_/, "", n)
			by = by sprintf(" %s %.2f", n, $1 / scfr)
		}
	}
	END {
		ns = v["task-clock"] * 1e6 / fr	# task-clock is in ms
		cyc = v["cycles"] > 0 ? sprintf("%.0f", v["cycles"] / fr) : sprintf("~%.0f", ns * mhz / 1000)
		printf "%-6s %-6s %9.0f fr/s  CPU %6.0f ns/frame  cycles/frame %s  (%.0f%% of a CPU)\n",
		    path, load, fr / dur, ns, cyc, v["task-clock"] / dur / 10
		printf "    syscalls/frame %.2f:%s\n", v["raw_syscalls:sys_enter"] / scfr, by
		printf "    wakeups/frame %.3f  epoll returns/frame %.3f  context switches/frame %.3f\n",
		    vol / fr, (v["syscalls:sys_enter_epoll_wait"] + v["syscalls:sys_enter_epoll_pwait"]) / scfr,
		    v["context-switches"] / fr
	}' "$W/stat-$1-$2.csv" "$W/sc-$1-$2.csv"
	perf report -i "$d" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
	    awk '/^ *[0-9.]+%/' > "$W/self-$1-$2.txt"
	perf report -i "$d" --children --sort sym --stdio -g none 2>/dev/null |
	    awk '/^ *[0-9.]+%/' > "$W/children-$1-$2.txt"
	awk -v top="$TOP" '
	FNR == 1 { file++ }
	file == 1 {
		s = $1; sub(/%/, "", s)
		sym = $0; sub(/^.*\] /, "", sym); sub(/ +$/, "", sym)
		dso = $2
		if (dso ~ /libevent/) ev += s
		if (sym ~ /clock_gettime|vdso/ || dso ~ /vdso/) clk += s
		if (sym ~ /^mac_table_|^mac_find|^mac_bucket/) mac += s
		if (sym ~ /memcpy|memmove|copy_user|copy_to_iter|copy_from_iter|copyin|copyout|rep_mov/) cp += s
		if ($0 ~ /\[k\]/) kern += s
		if (++n <= top) tops = tops sprintf(" %s %.1f%%;", sym, s)
		next
	}
	{
		s = $1; sub(/%/, "", s)
		sym = $0; sub(/^.*\] /, "", sym); sub(/ +$/, "", sym)
		if (sym == "tun_chr_read_iter") tr = s
		if (sym == "tun_chr_write_iter") tw = s
		if (sym == "__x64_sys_sendmmsg" || sym == "__x64_sys_sendmsg") us += s
		if (sym == "__x64_sys_recvmmsg" || sym == "__x64_sys_recvmsg") ur += s
		if (sym == "schedule" || sym == "preempt_schedule_irq") sched += s
	}
	END {
		printf "    shares: kernel %.0f%%, context switches %.0f%%, tap read %.1f%%, tap write %.1f%%, UDP send %.1f%%, UDP recv %.1f%%, libevent %.1f%%, clock_gettime %.1f%%, MAC table %.1f%%, copies %.1f%%\n",
		    kern, sched, tr, tw, us, ur, ev, clk, mac, cp
		printf "    top:%s\n", tops
	}' "$W/self-$1-$2.txt" "$W/children-$1-$2.txt"
}

[ "$(id -u)" = 0 ] || die "run as root (namespaces, perf on the daemons)"
for c in perf iperf3 jq ip; do command -v $c > /dev/null || die "$c is missing (sh tests/deps.sh profile)"; done
[ -x "$VSWITCHD" ] && [ -x "$VSWCTL" ] || die "build first: $VSWITCHD, $VSWCTL"
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
W=$(mktemp -d /tmp/vsw-profile.XXXXXX) || die "no work directory"

echo "vswitchd profile, 64-byte UDP, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs at $MHZ MHz, DUR=$DUR s, light load $LIGHT_PPS pps"
echo "(path costs: summed over the path's daemons; frames: read by the first one)"
for path in $PATHS; do
	"setup_$path" || die "$path: setup failed"
	if [ -n "${BUSYPOLL:-}" ]; then
		for d in $SOCKS; do "$VSWCTL" --socket "$d" busy-poll set "$BUSYPOLL" > /dev/null || die "busy-poll set"; done
	fi
	ip netns exec "$P-b" iperf3 -s > "$W/iperf-server-$path.log" 2>&1 &
	PID_LIST="$PID_LIST $!"
	sleep 0.5
	for load in $LOADS; do
		measure "$path" "$load" || die "$path $load: no measurement"
	done
	teardown
done
