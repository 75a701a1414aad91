#!/bin/sh
# demo.sh - two endpoints ping each other through one vswitchd.
#
#     ns PREFIX-a                  ns PREFIX-s                  ns PREFIX-b
#     198.19.0.1/24 --tap PREFIXa-- vswitchd --tap PREFIXb-- 198.19.0.2/24
#
# vswitchd creates both taps in its own namespace; they are then moved into
# the endpoint namespaces, where they get their address, the daemon keeping
# its file descriptors.  Everything is removed at the end, also on failure or
# Ctrl-C: the daemon is stopped by PID with SIGTERM, the namespaces deleted.
# Exits non-zero if the ping fails.
#
# Usage (root, after make):  sh tools/demo.sh

# POSIX sh plus "local" (dash, bash, busybox sh).
# shellcheck disable=SC3043
set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VSWITCHD=${VSWITCHD:-$ROOT/vswitchd/vswitchd}
VSWCTL=${VSWCTL:-$ROOT/tools/vswctl}
P=vd$$			# prefix of every name made here
NS_A=$P-a NS_S=$P-s NS_B=$P-b
TAP_A=${P}a TAP_B=${P}b
IP_A=198.19.0.1 IP_B=198.19.0.2

DIR="" PID="" NETNS=""

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }

cleanup() {
	local rc=$? i n
	trap - EXIT INT TERM
	say "Cleaning up"
	if [ -n "$PID" ]; then
		kill -TERM "$PID" 2>/dev/null
		i=0
		while [ -d "/proc/$PID" ] && [ "$(sed 's/^.*) //' "/proc/$PID/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]; do
			[ $i -lt 50 ] || { echo "vswitchd did not stop on SIGTERM, sending SIGKILL"; kill -KILL "$PID"; break; }
			sleep 0.1; i=$((i + 1))
		done
		wait "$PID" 2>/dev/null
		echo "stopped vswitchd (pid $PID)"
		if [ $rc -ne 0 ] && [ -s "$DIR/vswitchd.log" ]; then
			echo "its log:"; sed 's/^/    /' "$DIR/vswitchd.log"
		fi
	fi
	for n in $NETNS; do ip netns del "$n" 2>/dev/null; done
	[ -n "$NETNS" ] && echo "deleted namespaces$NETNS"
	[ -n "$DIR" ] && rm -rf "$DIR"
	case $rc in
	0) echo "demo: OK" ;;
	130|143) echo "demo: interrupted" >&2 ;;
	*) echo "demo: FAILED" >&2 ;;
	esac
	exit $rc
}

ctl() {
	printf '$ vswctl %s\n' "$*"
	"$VSWCTL" --socket "$DIR/sock" "$@"
}

main() {
	local n i
	[ "$(id -u)" = 0 ] || fail "must run as root (namespaces, taps)"
	[ -x "$VSWITCHD" ] && [ -x "$VSWCTL" ] || fail "missing $VSWITCHD or $VSWCTL (run make first)"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	DIR=$(mktemp -d /tmp/vswitch-demo.XXXXXX) || fail "mktemp failed"

	say "Creating namespaces $NS_A (endpoint A), $NS_S (switch), $NS_B (endpoint B)"
	for n in "$NS_A" "$NS_S" "$NS_B"; do
		ip netns add "$n" || exit 1
		NETNS="$NETNS $n"
		ip -n "$n" link set lo up
	done

	say "Starting vswitchd in $NS_S (control socket $DIR/sock)"
	ip netns exec "$NS_S" "$VSWITCHD" --foreground --socket "$DIR/sock" > "$DIR/vswitchd.log" 2>&1 &
	PID=$!
	i=0
	until [ -S "$DIR/sock" ]; do
		[ $i -lt 100 ] && kill -0 "$PID" 2>/dev/null || fail "vswitchd did not start"
		sleep 0.05; i=$((i + 1))
	done
	echo "vswitchd is running, pid $PID"

	say "Adding two tap ports and moving them into the endpoints"
	ctl port add "$TAP_A" type tap || fail "could not add port $TAP_A"
	ctl port add "$TAP_B" type tap || fail "could not add port $TAP_B"
	ip -n "$NS_S" link set "$TAP_A" netns "$NS_A" || exit 1
	ip -n "$NS_S" link set "$TAP_B" netns "$NS_B" || exit 1
	ip -n "$NS_A" addr add $IP_A/24 dev "$TAP_A" && ip -n "$NS_A" link set "$TAP_A" up || exit 1
	ip -n "$NS_B" addr add $IP_B/24 dev "$TAP_B" && ip -n "$NS_B" link set "$TAP_B" up || exit 1
	echo "$TAP_A: $IP_A in $NS_A,  $TAP_B: $IP_B in $NS_B"
	ctl show || fail "vswctl show failed"

	say "Pinging $IP_B (B) from $NS_A (A), through the switch"
	ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 2 $IP_B || fail "ping from A to B failed"

	say "The switch has learned where both endpoints are"
	ctl fdb show || fail "vswctl fdb show failed"
}

main "$@"
