# vswitch - userspace virtual switch and tunnel router.
#
#   make                 vswitchd/vswitchd and tools/vswctl
#   make check           install test packages, build, run unit, integration and sanitizer tests
#   make demo            install packages, build, run a two-endpoint lab and clean up
#   make bench           vswitchd beside the kernel on the same namespace shapes
#   make bench-peers     vswitchd beside other switches and tunnels (../shared/bench/peers.sh)
#   make profile         where the daemon's time goes on the 64-byte paths (perf)
#   make bench-vm        a QEMU guest's throughput on each VM backend
#   make mac-bench       the MAC table micro-benchmark (lookups/s, bytes/entry)
#   make fuzz            every fuzz target for FUZZ_SECS seconds (clang, libFuzzer)
#   make install         PREFIX=/usr/local DESTDIR=
#   make install-docs    only the manual pages and vswctl's bash completion
#
# SAN=1 builds with AddressSanitizer and UBSan into $(BUILD) (default build/asan).
# DEV=1 turns warnings into errors, as make check does for every build; a
# plain make does not, so another compiler's new warning stops nobody.

PREFIX	?= /usr/local
DESTDIR	?=
MANDIR	?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# systemd reads units from /usr/local/lib/systemd/system too; udev does not
# read rules below /usr/local, hence /etc.
SYSTEMDUNITDIR	?= $(PREFIX)/lib/systemd/system
UDEVRULESDIR	?= /etc/udev/rules.d
CC	?= cc
CFLAGS	?= -O2 -g
PYTHON	?= /usr/bin/python3

SAN	?= 0
DEV	?= 0
ifeq ($(SAN),1)
BUILD	?= build/asan
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(SAN),fuzz)
BUILD	?= build/fuzz
CC	:= clang
SANFLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
else
BUILD	?= build/release
SANFLAGS =
endif

PKGS		:= libevent libpcap libcap-ng jansson libseccomp libsystemd libsodium libb2
PKG_CFLAGS	:= $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	:= $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS	:= $(shell pkg-config --libs cmocka 2>/dev/null)
CTL_LIBS	:= $(shell pkg-config --libs jansson libsodium 2>/dev/null)

WARNFLAGS	:= -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
		   -Wpointer-arith -Wwrite-strings -Wformat=2 -Wundef
ifeq ($(DEV),1)
WARNFLAGS	+= -Werror
endif

ALL_CFLAGS	= -std=c11 -D_GNU_SOURCE $(WARNFLAGS) -I. -pthread \
		  $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS	= -pthread $(SANFLAGS) $(LDFLAGS)

DP_SRCS		:= $(wildcard datapath/*.c tunnel/*.c)
CAP_SRCS	:= $(wildcard capture/*.c)
DAEMON_SRCS	:= $(wildcard vswitchd/*.c)
CTL_SRCS	:= $(wildcard tools/*.c)
UNIT_SRCS	:= $(wildcard tests/unit/test-*.c)

DP_OBJS		:= $(DP_SRCS:%.c=$(BUILD)/obj/%.o)
CAP_OBJS	:= $(CAP_SRCS:%.c=$(BUILD)/obj/%.o)
DAEMON_OBJS	:= $(DAEMON_SRCS:%.c=$(BUILD)/obj/%.o)
CTL_OBJS	:= $(CTL_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BINS	:= $(BUILD)/bench/mac-bench
FUZZ_SRCS	:= $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BINS	:= $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
# Everything of the daemon but its main(), for the fuzz targets.
DAEMON_LIB_OBJS	:= $(filter-out $(BUILD)/obj/vswitchd/vswitchd.o,$(DAEMON_OBJS))
# The list of port types, for unit tests that add ports by type name.
TYPES_OBJS	:= $(BUILD)/obj/vswitchd/port-types.o

FUZZ_SECS ?= 60

.PHONY: all bins unit bench-bins fuzz fuzz-bins install install-docs uninstall check demo \
	bench bench-peers bench-vm mac-bench profile deps clean
.DELETE_ON_ERROR:
.SECONDARY:

ifeq ($(SAN),1)
all: bins unit bench-bins
else
all: vswitchd/vswitchd tools/vswctl
endif

bins: $(BUILD)/vswitchd $(BUILD)/vswctl
unit: $(UNIT_BINS)
bench-bins: $(BENCH_BINS)
fuzz-bins: $(FUZZ_BINS)

vswitchd/vswitchd: $(BUILD)/vswitchd
	cp $< $@
tools/vswctl: $(BUILD)/vswctl
	cp $< $@

$(BUILD)/vswitchd: $(DAEMON_OBJS) $(CAP_OBJS) $(DP_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/vswctl: $(CTL_OBJS) $(BUILD)/obj/vswitchd/ctl-proto.o \
    $(BUILD)/obj/vswitchd/file-atomic.o $(BUILD)/obj/tunnel/wg-key.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CTL_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TYPES_OBJS) $(CAP_OBJS) $(DP_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(DP_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(DAEMON_LIB_OBJS) $(CAP_OBJS) \
    $(DP_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

# vswctl's reply parser, from tools/, for its fuzz target.
$(BUILD)/fuzz/fuzz-vswctl-reply: $(BUILD)/obj/tools/vswctl-reply.o
# The seccomp filter's test runs the daemon's own filter.
$(BUILD)/tests/test-sandbox: $(BUILD)/obj/vswitchd/sandbox.o

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

install: vswitchd/vswitchd tools/vswctl install-docs
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 vswitchd/vswitchd $(DESTDIR)$(PREFIX)/sbin/vswitchd
	install -m 0755 tools/vswctl $(DESTDIR)$(PREFIX)/bin/vswctl
	install -m 0755 tools/vswitch-ifup $(DESTDIR)$(PREFIX)/sbin/vswitch-ifup
	install -m 0755 tools/vswitch-ifdown $(DESTDIR)$(PREFIX)/sbin/vswitch-ifdown
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(UDEVRULESDIR)
	sed 's|@sbindir@|$(PREFIX)/sbin|g' vswitchd/vswitchd.service \
	    > $(DESTDIR)$(SYSTEMDUNITDIR)/vswitchd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/vswitchd.service
	install -m 0644 vswitchd/60-vswitch-tun.rules \
	    $(DESTDIR)$(UDEVRULESDIR)/60-vswitch-tun.rules
	# The daemon's user, and its access to /dev/net/tun until udev next
	# applies the rule; a package (DESTDIR set) does both in its scripts.
	if [ -z "$(DESTDIR)" ] && ! id -u vswitch >/dev/null 2>&1; then \
		useradd --system --user-group --no-create-home \
		    --home-dir /nonexistent --shell /usr/sbin/nologin vswitch; \
	fi
	if [ -z "$(DESTDIR)" ] && [ -c /dev/net/tun ]; then \
		chgrp vswitch /dev/net/tun && chmod g+rw /dev/net/tun; \
	fi

# The manual pages and vswctl's bash completion: nothing to build, so
# tests/integration/test_manpages.py installs them alone into a DESTDIR.
install-docs:
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 vswitchd/vswitchd.8 tools/vswctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 tools/vswctl.bash-completion $(DESTDIR)$(BASHCOMPDIR)/vswctl

uninstall:
	rm -f $(DESTDIR)$(MANDIR)/man8/vswitchd.8 $(DESTDIR)$(MANDIR)/man8/vswctl.8 \
	    $(DESTDIR)$(BASHCOMPDIR)/vswctl
	rm -f $(DESTDIR)$(PREFIX)/sbin/vswitchd $(DESTDIR)$(PREFIX)/bin/vswctl \
	    $(DESTDIR)$(PREFIX)/sbin/vswitch-ifup \
	    $(DESTDIR)$(PREFIX)/sbin/vswitch-ifdown \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/vswitchd.service \
	    $(DESTDIR)$(UDEVRULESDIR)/60-vswitch-tun.rules

deps:
	sh tests/deps.sh

check: deps
	sh tests/check-layers.sh
	$(MAKE) DEV=1 all
	$(MAKE) DEV=1 SAN=0 unit bench-bins
	$(MAKE) DEV=1 SAN=1 all
	$(MAKE) DEV=1 SAN=fuzz fuzz-bins
	sh tests/check.sh

# Each fuzz target for FUZZ_SECS seconds; see tests/fuzz/run.sh.
fuzz:
	$(MAKE) SAN=fuzz fuzz-bins
	for f in build/fuzz/fuzz/fuzz-*; do \
		sh tests/fuzz/run.sh build/fuzz $${f##*/} $(FUZZ_SECS) || exit 1; \
	done

demo:
	sh tests/deps.sh demo
	$(MAKE) all
	sh tools/demo.sh

bench:
	sh tests/deps.sh bench
	$(MAKE) all
	$(MAKE) SAN=0 bench-bins
	sh tests/bench/bench.sh

# The shared peer benchmark with vswitchd as two more of its systems (one
# switch, two hosts over VXLAN), measured in the same run as the peers named
# in PEERS, then its figures as ratios to the kernel's of the run.  Results:
# RESDIR (peers-STAMP.txt, .tsv); see README, Benchmarks.
PEERS_DIR	?= ../shared/bench
PEERS		?= bridge vxlan ovs_tso ovs_vxlan vde fastd tinc vswitch vswitch_vxlan
PEERS_ARGS	?= -r 3 -t 5
RESDIR		?= $(CURDIR)/build/bench
bench-peers:
	sh tests/deps.sh peers
	$(MAKE) all
	mkdir -p $(RESDIR)
	VSW=$(CURDIR) RESDIR=$(RESDIR) bash $(PEERS_DIR)/peers.sh $(PEERS_ARGS) \
	    -x $(PEERS_DIR)/vswitch.sh $(PEERS)
	@echo
	sh tests/bench/peers-ratios.sh "$$(ls -t $(RESDIR)/peers-*.tsv | head -n 1)"

# Cycles, system calls and wake-ups per frame, and the top symbols, of
# tap->tap, tap->VXLAN->tap and tun->ipip->tun at 64 bytes: see the script.
profile:
	sh tests/deps.sh profile
	$(MAKE) all
	sh tests/bench/profile.sh

# A QEMU guest's throughput on each VM backend (software emulation).
bench-vm:
	sh tests/deps.sh check
	$(MAKE) all
	$(PYTHON) tests/bench/vm-bench.py

mac-bench:
	$(MAKE) SAN=0 bench-bins
	build/release/bench/mac-bench

clean:
	rm -rf build vswitchd/vswitchd tools/vswctl

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/*/*/*.d)
