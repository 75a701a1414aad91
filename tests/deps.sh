#!/bin/sh
# deps.sh [check|demo|bench|peers|profile] - install the Debian packages a target needs.
# Installs only what is missing, so a second run costs one dpkg query.
set -eu

build="gcc clang make pkg-config libevent-dev libpcap-dev libcap-ng-dev libjansson-dev
       libseccomp-dev libsystemd-dev libsodium-dev libb2-dev"
run="iproute2 iputils-ping procps"
check="libcmocka-dev python3 python3-pytest python3-scapy iperf3 jq tcpdump tshark ethtool traceroute util-linux
       systemd passwd mandoc bash
       qemu-system-x86 busybox-static xz-utils wireguard-go wireguard-tools python3-cryptography nftables
       dpdk-dev"
bench="iperf3 jq sockperf netsniff-ng wireguard-go wireguard-tools dpdk-dev"
# ../shared/bench/peers.sh and the systems it compares (make bench-peers);
# peers.sh starts its own private instances in its namespaces, not the
# services these packages install
peers="bash iperf3 iputils-ping sockperf netsniff-ng jq ethtool
       openvswitch-switch vde2 tinc openvpn fastd n2n"
# tests/bench/profile.sh (make profile): perf on the daemons under a load
profile="iperf3 jq linux-perf"

case "${1:-check}" in
check)	want="$build $run $check" ;;
demo)	want="$build $run" ;;
bench)	want="$build $run $bench" ;;
peers)	want="$build $run $peers" ;;
profile) want="$build $run $profile" ;;
*)	echo "usage: deps.sh [check|demo|bench|peers|profile]" >&2; exit 2 ;;
esac

# The tests run the daemon as it runs installed: as the vswitch system user,
# which it becomes by itself when that user exists (see vswitchd(8)).
if [ "${1:-check}" = check ] && [ "$(id -u)" = 0 ] && ! id -u vswitch >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin vswitch
fi
# That user opens /dev/net/tun for each tap; where it is root's 0600 (no
# udev rules in a container) give its group access, as make install's rule.
if [ "${1:-check}" = check ] && [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] &&
    ! su -s /bin/sh -c 'test -r /dev/net/tun -a -w /dev/net/tun' vswitch; then
	chgrp vswitch /dev/net/tun
	chmod g+rw /dev/net/tun
fi

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
