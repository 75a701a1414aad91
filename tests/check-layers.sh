#!/bin/sh
# check-layers.sh - fails when a lower layer includes a higher one.
#
#   vswitchd/  the daemon and control plane: may include every layer below
#   capture/   captures:            datapath/ only
#   tunnel/    the encapsulations:  datapath/ only
#   datapath/  the forwarding plane: none of the others
#   tools/     vswctl: vswitchd/ctl-proto.h (the wire protocol),
#              vswitchd/file-atomic.h (vswctl save FILE) and
#              tunnel/wg-key.h (vswctl wireguard genkey|pubkey) only
#
# A layer's own headers are included without a folder ("port.h"), others
# with one ("datapath/port.h"), so a folder in an #include names the layer.
set -eu
cd "$(dirname "$0")/.."

bad=0
check() {	# check LAYER FORBIDDEN-FOLDER...
	layer=$1
	shift
	for dir in "$@"; do
		hits=$(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]+\"$dir/" \
		    "$layer"/*.c "$layer"/*.h 2>/dev/null || true)
		if [ -n "$hits" ]; then
			echo "check-layers: $layer/ must not include $dir/:" >&2
			echo "$hits" >&2
			bad=1
		fi
	done
}

check datapath tunnel capture vswitchd tools
check tunnel capture vswitchd tools
check capture tunnel vswitchd tools
for f in tools/*.c; do
	grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"(datapath|tunnel|capture)/' "$f" |
	    grep -vE 'tunnel/wg-key.h' >&2 && bad=1
	grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"vswitchd/' "$f" |
	    grep -vE 'vswitchd/(ctl-proto|file-atomic).h' >&2 && bad=1
done
# Within a layer, a header may not reach up by a relative path either.
if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"\.\./' \
    datapath/* tunnel/* capture/* vswitchd/* tools/* >&2; then
	bad=1
fi
[ "$bad" = 0 ] && echo "check-layers: datapath < tunnel, capture < vswitchd: ok"
exit "$bad"
