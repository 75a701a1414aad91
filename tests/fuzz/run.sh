#!/bin/sh
# run.sh BUILD_DIR TARGET SECONDS - run one fuzz target in a network
# namespace of its own (the control target creates taps), starting from its
# seeds (tests/fuzz/seeds-NAME) and with its dictionary (tests/fuzz/NAME.dict)
# when they exist.  The corpus grows in BUILD_DIR/corpus/TARGET.
set -eu
build=$1 target=$2 secs=$3
here=$(dirname "$0")
name=${target#fuzz-}
corpus=$build/corpus/$target
mkdir -p "$corpus"
set -- -max_total_time="$secs" -timeout=10 "$corpus"
[ -d "$here/seeds-$name" ] && set -- "$@" "$here/seeds-$name"
[ -f "$here/$name.dict" ] && set -- -dict="$here/$name.dict" "$@"
exec unshare --net "$build/fuzz/$target" "$@"
