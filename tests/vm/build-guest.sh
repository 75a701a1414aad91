#!/bin/sh
# build-guest.sh [CACHE_DIR] - build the small Linux guest that the VM tests
# boot under QEMU: CACHE_DIR/vmlinuz and CACHE_DIR/initramfs.cpio.gz, and
# CACHE_DIR/vmlinux when the kernel has a PVH entry point.
#
# vmlinux is the kernel that vmlinuz carries, uncompressed: QEMU boots it
# straight through its PVH entry, which saves decompressing xz under
# software emulation, half of the boot time (tests/vmlab.py prefers it).
#
# The kernel is Debian's current linux-image-*-amd64; the initramfs is
# busybox-static, the virtio-net modules (virtio_net is a module in that
# kernel) and tests/vm/init, which configures the NICs from the kernel
# command line and serves commands on the serial console (see init).
#
# Idempotent: when both outputs exist and are newer than this script and
# init, it only checks that the packages are installed.  The kernel package
# stays in CACHE_DIR/deb, so a rebuild downloads nothing unless Debian has
# moved to a newer kernel.  Concurrent runs serialise on CACHE_DIR/lock.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-$here/../../build/vm}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# In load order: each needs only those before it.
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
failover net_failover virtio_net"

die() { echo "build-guest.sh: $*" >&2; exit 1; }

le() {		# le FILE OFFSET SIZE: the little-endian unsigned integer there
	od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' '
}

unpack_vmlinux() {	# unpack_vmlinux BZIMAGE OUT: the xz payload of a bzImage
	# The x86 boot protocol: the setup code is 1 + setup_sects (0x1f1)
	# sectors, and the payload starts payload_offset (0x248) after it.
	setup=$(le "$1" $((0x1f1)) 1)
	payload=$(le "$1" $((0x248)) 4)
	[ -n "$setup" ] && [ -n "$payload" ] || return 1
	[ "$setup" -ne 0 ] || setup=4
	tail -c +$(((setup + 1) * 512 + payload + 1)) "$1" |
	    xz -dc --single-stream >"$2" 2>/dev/null || return 1
	[ "$(head -c 4 "$2" | od -An -c | tr -d ' ')" = 177ELF ]
}

# Packages: what a build needs and what running the guest needs.
missing=""
for p in qemu-system-x86 busybox-static xz-utils; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
	    missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || die "missing packages:$missing (run as root to install them)"
	echo "build-guest.sh: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

fresh() {	# fresh FILE: FILE exists and is newer than this script and init
	[ -s "$1" ] && [ -n "$(find "$1" -newer "$here/build-guest.sh" -newer "$here/init")" ]
}

exec 9>"$cache/lock"
flock -w 1200 9 || die "timed out waiting for $cache/lock"
if fresh "$cache/vmlinuz" && fresh "$cache/initramfs.cpio.gz"; then
	exit 0
fi

# The kernel package that linux-image-amd64 depends on, e.g. linux-image-6.1.0-57-amd64.
kpkg() { apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1; }
pkg=$(kpkg)
if [ -z "$pkg" ]; then
	apt-get update -qq
	pkg=$(kpkg)
fi
[ -n "$pkg" ] || die "cannot tell which package linux-image-amd64 depends on"

mkdir -p "$cache/deb"
deb=$(find "$cache/deb" -name "${pkg}_*.deb" | head -n 1)
if [ -z "$deb" ]; then
	echo "build-guest.sh: downloading $pkg" >&2
	rm -f "$cache/deb/"*.deb
	(cd "$cache/deb" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
	    (cd "$cache/deb" && apt-get download "$pkg") || die "cannot download $pkg"
	deb=$(find "$cache/deb" -name "${pkg}_*.deb" | head -n 1)
	[ -n "$deb" ] || die "apt-get download $pkg left no .deb"
fi

work=$(mktemp -d "$cache/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/kernel"
set -- "$work"/kernel/boot/vmlinuz-*
[ -f "$1" ] || die "no boot/vmlinuz-* in $deb"
kver=${1##*/vmlinuz-}
mdir=$work/kernel/lib/modules/$kver

root=$work/root
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" \
    "$root/run" "$root/etc" "$root/lib/modules"
cp /bin/busybox "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init" "$root/bin/busybox"
# The kernel opens /dev/console for init before anything is mounted.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

: >"$root/lib/modules/order"
for m in $modules; do
	f=$(find "$mdir" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -n 1)
	if [ -z "$f" ]; then
		# Built in: nothing to load.
		grep -q "/$m.ko\$" "$mdir/modules.builtin" 2>/dev/null ||
		    die "module $m is neither in $pkg nor built in"
		continue
	fi
	case $f in
	*.xz)	xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
	*.zst)	die "$f: zstd modules are not supported" ;;
	*)	cp "$f" "$root/lib/modules/$m.ko" ;;
	esac
	echo "$m" >>"$root/lib/modules/order"
done

(cd "$root" && find . | sort | busybox cpio -o -H newc 2>/dev/null) |
    gzip -6 >"$work/initramfs.cpio.gz"
cp "$1" "$work/vmlinuz"
echo "$kver" >"$work/kernel-version"
rm -f "$work/vmlinux"
if grep -q '^CONFIG_PVH=y' "$work/kernel/boot/config-$kver" 2>/dev/null; then
	unpack_vmlinux "$work/vmlinuz" "$work/vmlinux" ||
	    { echo "build-guest.sh: cannot unpack vmlinux; guests boot vmlinuz" >&2; rm -f "$work/vmlinux"; }
fi
# Outputs land whole: a killed build leaves the old ones or none.
mv "$work/kernel-version" "$cache/kernel-version"
rm -f "$cache/vmlinux"
[ ! -f "$work/vmlinux" ] || mv "$work/vmlinux" "$cache/vmlinux"
mv "$work/vmlinuz" "$cache/vmlinuz"
mv "$work/initramfs.cpio.gz" "$cache/initramfs.cpio.gz"
echo "build-guest.sh: built $cache/vmlinuz ($kver) and initramfs.cpio.gz" >&2
