#!/bin/sh
# peers-ratios.sh PEERS.tsv - the figures of one ../shared/bench/peers.sh run
# as ratios to the kernel of the same run, as make bench reports its own.
#
# The kernel of a system is the Linux bridge (bridge) for a one-switch system
# and the kernel's vxlan (vxlan) for a two-host one (peers.sh records an
# underlay MTU, "ul=", for those); the L2 flood is also given as a ratio to
# VDE2's (vde), the userspace switch the issue's table compares it with.
# Figures are the medians of the reps; a ratio is "-" when the baseline is
# not in the run.  make bench-peers runs it on the run it just made.
set -eu
export LC_ALL=C

if [ $# != 1 ] || [ ! -r "$1" ]; then
	echo "usage: peers-ratios.sh PEERS.tsv" >&2
	exit 2
fi

awk -F'\t' '
function med(k,   n, i, j, t, a) {
	n = cnt[k]; if (!n) return ""
	for (i = 1; i <= n; i++) a[i] = val[k, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
# cell(SYSTEM, FIGURE, FORMAT, BASE): the median, its ratio to BASE in parentheses
function cell(s, m, fmt, base,   v, b) {
	v = med(s SUBSEP m); if (v == "") return "-"
	b = base == "" || base == s ? "" : med(base SUBSEP m)
	return sprintf(fmt, v) (b != "" && b > 0 ? sprintf(" (%.2f)", v / b) : "")
}
{ if (!($1 in seen)) { seen[$1] = 1; order[++ns] = $1 } }
$3 == 0 { info[$1, $2] = $4; if ($2 == "note") set[$1] = 1; next }
$4 == "NA" || $4 == "" { next }
{ k = $1 SUBSEP $2; cnt[k]++; val[k, cnt[k]] = $4 + 0 }
END {
	print "(x.xx) = the system / its kernel in this run: bridge for one switch, vxlan for two hosts"
	f = "%-14s %-7s %-15s %-15s %-15s %-9s %-15s %s\n"
	printf f, "system", "kernel", "TCP Gbit/s", "UDP64 rx kpps", "L2 flood kpps", "L2 / vde", "ping us", "sockperf us"
	vde = med("vde" SUBSEP "l2_rx_kpps")
	for (i = 1; i <= ns; i++) {
		s = order[i]
		if ((s, "error") in info) { printf "%-14s FAILED: %s\n", s, info[s, "error"]; continue }
		base = info[s, "mtu"] ~ /ul=/ ? "vxlan" : "bridge"
		if (!(base in set)) base = ""
		# (no ">" inside printf: awk would take it for a redirection)
		l2 = med(s SUBSEP "l2_rx_kpps")
		l2vde = l2 != "" && vde > 0 ? sprintf("%.2f", l2 / vde) : "-"
		kernel = s == base ? "-" : (base == "" ? "none" : base)
		printf f, s, kernel, cell(s, "tcp_gbps", "%.2f", base), cell(s, "udp_rx_kpps", "%.0f", base),
		    cell(s, "l2_rx_kpps", "%.0f", base), l2vde,
		    cell(s, "ping_us", "%.0f", base), cell(s, "sp_rtt_us", "%.0f", base)
	}
	print "> 1 is better for TCP, UDP and L2, worse for ping and sockperf."
}' "$1"
