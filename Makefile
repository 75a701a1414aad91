# vswitch - userspace virtual switch and tunnel router.
#
#   make                 vswitchd/vswitchd and tools/vswctl
#   make check           install test packages, build, run unit, integration and sanitizer tests
#   make demo            install packages, build, run a two-endpoint lab and clean up
#   make bench           vswitchd beside the kernel on the same namespace shapes
#   make install         PREFIX=/usr/local DESTDIR=
#
# SAN=1 builds with AddressSanitizer and UBSan into $(BUILD) (default build/asan).

PREFIX	?= /usr/local
DESTDIR	?=
CC	?= cc
CFLAGS	?= -O2 -g
PYTHON	?= /usr/bin/python3

SAN	?= 0
ifeq ($(SAN),1)
BUILD	?= build/asan
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD	?= build/release
SANFLAGS =
endif

PKGS		:= libevent libpcap libcap-ng jansson
PKG_CFLAGS	:= $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	:= $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS	:= $(shell pkg-config --libs cmocka 2>/dev/null)
CTL_LIBS	:= $(shell pkg-config --libs jansson 2>/dev/null)

ALL_CFLAGS	= -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I. \
		  $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS	= $(SANFLAGS) $(LDFLAGS)

DP_SRCS		:= $(wildcard datapath/*.c tunnel/*.c)
DAEMON_SRCS	:= $(wildcard vswitchd/*.c)
CTL_SRCS	:= $(wildcard tools/*.c)
UNIT_SRCS	:= $(wildcard tests/unit/test-*.c)

DP_OBJS		:= $(DP_SRCS:%.c=$(BUILD)/obj/%.o)
DAEMON_OBJS	:= $(DAEMON_SRCS:%.c=$(BUILD)/obj/%.o)
CTL_OBJS	:= $(CTL_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all bins unit install uninstall check demo bench deps clean
.DELETE_ON_ERROR:
.SECONDARY:

ifeq ($(SAN),1)
all: bins unit
else
all: vswitchd/vswitchd tools/vswctl
endif

bins: $(BUILD)/vswitchd $(BUILD)/vswctl
unit: $(UNIT_BINS)

vswitchd/vswitchd: $(BUILD)/vswitchd
	cp $< $@
tools/vswctl: $(BUILD)/vswctl
	cp $< $@

$(BUILD)/vswitchd: $(DAEMON_OBJS) $(DP_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/vswctl: $(CTL_OBJS) $(BUILD)/obj/vswitchd/ctl-proto.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CTL_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(DP_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

install: vswitchd/vswitchd tools/vswctl
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 vswitchd/vswitchd $(DESTDIR)$(PREFIX)/sbin/vswitchd
	install -m 0755 tools/vswctl $(DESTDIR)$(PREFIX)/bin/vswctl

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/vswitchd $(DESTDIR)$(PREFIX)/bin/vswctl

deps:
	sh tests/deps.sh

check: deps
	$(MAKE) all
	$(MAKE) SAN=0 unit
	$(MAKE) SAN=1 all
	sh tests/check.sh

demo:
	sh tests/deps.sh demo
	$(MAKE) all
	sh tools/demo.sh

bench:
	sh tests/deps.sh bench
	$(MAKE) all
	sh tests/bench/bench.sh

clean:
	rm -rf build vswitchd/vswitchd tools/vswctl

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/*/*/*.d)
