#!/bin/sh
# check.sh - run every test: the C unit tests and the netns integration tests,
# each against the release build and the AddressSanitizer/UBSan build.
# One pytest run, so the output ends with one summary line.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "check.sh: the integration tests create network namespaces: run as root" >&2
	exit 1
fi
exec /usr/bin/python3 -m pytest -p no:cacheprovider -ra "$@" tests
