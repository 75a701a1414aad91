/*
 * test-port-tap.c - the tap port type against real tap devices.
 *
 *   test  --AF_PACKET socket--  [tap vswutN]  --fd--  port (struct port)
 *
 * A packet socket bound to the interface stands for the kernel side: what
 * it sends, the port receives, and the other way round.  Needs root (or
 * CAP_NET_ADMIN) and /dev/net/tun; every test is skipped otherwise.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>

#include "datapath/port-tap.h"

/* Unique per test and per process, so parallel runs do not collide. */
static void
tap_name(char name[IFNAMSIZ])
{
	static unsigned	n;

	snprintf(name, IFNAMSIZ, "vswut%u.%u", (unsigned)getpid() % 100000,
	    n++);
}

/*
 * Skips the test only in an unprivileged run.  As root (make check) a
 * missing /dev/net/tun fails it: a root run must never pass by skipping.
 */
static void
require_tun(void)
{
	int	fd;

	if (geteuid() != 0)
		skip();
	if ((fd = open("/dev/net/tun", O_RDWR)) == -1)
		fail_msg("running as root, but cannot open /dev/net/tun: %s",
		    strerror(errno));
	close(fd);
}

static int
packet_socket(unsigned ifindex)
{
	struct sockaddr_ll	sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)ifindex,
	};
	int			s;

	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

static void
set_up(const char *name, bool up)
{
	struct ifreq	ifr = { 0 };
	int		s = socket(AF_INET, SOCK_DGRAM, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags = up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

static bool
is_up(const char *name)
{
	struct ifreq	ifr = { 0 };
	int		s = socket(AF_INET, SOCK_DGRAM, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	close(s);
	return ifr.ifr_flags & IFF_UP;
}

/* A test frame: broadcast from 02:76:73:77:00:id, ethertype 0x88b5. */
static size_t
test_frame(uint8_t *buf, size_t len, uint8_t id)
{
	static const uint8_t hdr[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0x02, 0x76, 0x73, 0x77, 0x00, 0x00, 0x88, 0xb5 };

	memcpy(buf, hdr, sizeof(hdr));
	buf[11] = id;
	for (size_t i = sizeof(hdr); i < len; i++)
		buf[i] = (uint8_t)(i ^ id);
	return len;
}

static bool
is_test_frame(const uint8_t *buf, size_t len, uint8_t id)
{
	uint8_t	want[2048];

	if (len < 14 || len > sizeof(want))
		return false;
	test_frame(want, len, id);
	return memcmp(buf, want, len) == 0;
}

static int
open_port(struct port *port, const char *name, int mtu, char *err,
    size_t errlen)
{
	struct port_config	cfg = { .type = "tap", .mtu = mtu };

	memset(port, 0, sizeof(*port));
	snprintf(port->name, sizeof(port->name), "%s", name);
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	port->ops = &port_tap_ops;
	port->fd = -1;
	return port->ops->open(port, &cfg, err, errlen);
}

static void
test_create_receive_send(void **state)
{
	struct port		 port;
	struct pkt_pool		*pool = pkt_pool_create(64, PKT_DATA_ROOM);
	struct pkt_batch	 b;
	char			 name[IFNAMSIZ], err[256];
	uint8_t			 buf[2048];
	bool			 found = false;
	int			 s;

	(void)state;
	require_tun();
	tap_name(name);
	assert_int_equal(open_port(&port, name, 1400, err, sizeof(err)), 0);
	assert_true(port.fd >= 0);
	assert_int_equal(port.mtu, 1400);
	assert_string_equal(port.ops->state(&port), "up");
	assert_true(if_nametoindex(name) != 0);
	s = packet_socket(if_nametoindex(name));

	/* Kernel to port.  IPv6 may chatter too: look for our frame. */
	assert_int_equal(send(s, buf, test_frame(buf, 100, 1), 0), 100);
	for (int tries = 0; !found && tries < 100; tries++) {
		pkt_batch_init(&b);
		port.ops->recv_batch(&port, pool, &b);
		for (unsigned i = 0; i < b.count; i++)
			found |= is_test_frame(b.pkts[i]->data, b.pkts[i]->len, 1);
		pkt_batch_free(&b);
		if (!found)
			usleep(10000);
	}
	assert_true(found);
	assert_true(port.stats.rx_packets >= 1);
	assert_true(port.stats.rx_bytes >= 100);
	assert_int_equal(port.stats.rx_errors, 0);

	/* Port to kernel, and a frame over the MTU that is not sent. */
	pkt_batch_init(&b);
	struct pkt *p = pkt_alloc(pool);
	p->len = (uint32_t)test_frame(p->data, 1418, 2);
	pkt_batch_add(&b, p);
	p = pkt_alloc(pool);
	p->len = (uint32_t)test_frame(p->data, 1419, 3);
	pkt_batch_add(&b, p);
	port.ops->send_batch(&port, &b);
	pkt_batch_free(&b);
	assert_int_equal(port.stats.tx_packets, 1);
	assert_int_equal(port.stats.tx_bytes, 1418);
	assert_int_equal(port.stats.drops[DROP_TOO_BIG], 1);

	found = false;
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	while (!found && poll(&pfd, 1, 1000) == 1) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);
		assert_true(n > 0);
		found = is_test_frame(buf, (size_t)n, 2);
	}
	assert_true(found);

	close(s);
	port.ops->close(&port);
	assert_int_equal(if_nametoindex(name), 0);	/* created: gone */
	assert_int_equal(pkt_pool_avail(pool), 64);
	pkt_pool_destroy(pool);
}

/*
 * The vnet header goes in the headroom for one write(); a frame with less
 * room than the header (pushed to the start of its buffer) goes by
 * writev() instead, and one with just enough room by write(): both arrive
 * whole.
 */
static void
test_send_without_headroom(void **state)
{
	struct port		 port;
	struct pkt_pool		*pool = pkt_pool_create(8, PKT_DATA_ROOM);
	struct pkt_batch	 b;
	struct pkt		*p;
	char			 name[IFNAMSIZ], err[256];
	uint8_t			 buf[2048];
	unsigned		 seen = 0;
	int			 s;

	(void)state;
	require_tun();
	tap_name(name);
	assert_int_equal(open_port(&port, name, 0, err, sizeof(err)), 0);
	s = packet_socket(if_nametoindex(name));
	pkt_batch_init(&b);
	p = pkt_alloc(pool);
	p->data = p->buf + 3;
	p->len = (uint32_t)test_frame(p->data, 200, 4);
	pkt_batch_add(&b, p);
	p = pkt_alloc(pool);
	p->data = p->buf + sizeof(struct virtio_net_hdr);
	p->len = (uint32_t)test_frame(p->data, 300, 5);
	pkt_batch_add(&b, p);
	port.ops->send_batch(&port, &b);
	pkt_batch_free(&b);
	assert_int_equal(port.stats.tx_packets, 2);
	assert_int_equal(port.stats.tx_bytes, 500);

	struct pollfd pfd = { .fd = s, .events = POLLIN };
	while (seen != 3 && poll(&pfd, 1, 1000) == 1) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);
		assert_true(n > 0);
		seen |= is_test_frame(buf, (size_t)n, 4) ? 1 : 0;
		seen |= is_test_frame(buf, (size_t)n, 5) ? 2 : 0;
	}
	assert_int_equal(seen, 3);
	close(s);
	port.ops->close(&port);
	assert_int_equal(pkt_pool_avail(pool), 8);
	pkt_pool_destroy(pool);
}

static void
test_link_down_and_no_buffer(void **state)
{
	struct port		 port;
	struct pkt_pool		*pool = pkt_pool_create(3, PKT_DATA_ROOM);
	struct pkt_batch	 b;
	struct pkt		*hold;
	char			 name[IFNAMSIZ], err[256];

	(void)state;
	require_tun();
	tap_name(name);
	assert_int_equal(open_port(&port, name, 0, err, sizeof(err)), 0);
	assert_int_equal(port.mtu, 1500);

	set_up(name, false);
	assert_string_equal(port.ops->state(&port), "down");
	pkt_batch_init(&b);
	for (int i = 0; i < 3; i++) {
		struct pkt *p = pkt_alloc(pool);
		p->len = (uint32_t)test_frame(p->data, 60, 4);
		pkt_batch_add(&b, p);
	}
	port.ops->send_batch(&port, &b);
	assert_int_equal(port.stats.drops[DROP_LINK_DOWN], 3);
	assert_int_equal(port.stats.tx_packets, 0);
	assert_int_equal(port.stats.tx_errors, 0);

	/* Pool empty: counted once, nothing read. */
	hold = b.pkts[0];
	b.count = 0;
	pkt_free(b.pkts[1]);
	pkt_free(b.pkts[2]);
	struct pkt *h1 = pkt_alloc(pool), *h2 = pkt_alloc(pool);
	assert_int_equal(port.ops->recv_batch(&port, pool, &b), 0);
	assert_int_equal(port.stats.drops[DROP_NO_BUFFER], 1);
	pkt_free(hold);
	pkt_free(h1);
	pkt_free(h2);

	/* Nothing to read is not an error. */
	assert_int_equal(port.ops->recv_batch(&port, pool, &b), 0);
	assert_int_equal(port.stats.rx_errors, 0);

	port.ops->close(&port);
	pkt_pool_destroy(pool);
}

static void
test_attach_to_persistent_tap(void **state)
{
	struct port	 port;
	struct ifreq	 ifr = { 0 };
	char		 name[IFNAMSIZ], err[256];
	int		 fd;

	(void)state;
	require_tun();
	tap_name(name);
	fd = open("/dev/net/tun", O_RDWR);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);

	/* Still attached elsewhere: refused. */
	assert_int_equal(open_port(&port, name, 0, err, sizeof(err)), EBUSY);
	assert_non_null(strstr(err, "in use"));
	close(fd);

	assert_false(is_up(name));
	assert_int_equal(open_port(&port, name, 0, err, sizeof(err)), 0);
	assert_true(is_up(name));
	port.ops->close(&port);
	/* Left as found: there, and down. */
	assert_true(if_nametoindex(name) != 0);
	assert_false(is_up(name));

	fd = open("/dev/net/tun", O_RDWR);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 0), 0);
	close(fd);
	assert_int_equal(if_nametoindex(name), 0);
}

static int
run(const char *fmt, ...)
{
	char	cmd[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* The integration tests' normal case: the tap moved to another netns. */
static void
test_moved_to_another_netns(void **state)
{
	struct port		 port;
	struct pkt_pool		*pool = pkt_pool_create(1, PKT_DATA_ROOM);
	struct pkt_batch	 b;
	char			 name[IFNAMSIZ], err[256];

	(void)state;
	require_tun();
	/* Root by now (require_tun()), so a missing ip fails, never skips. */
	if (run("ip -V >/dev/null 2>&1") != 0)
		fail_msg("running as root, but 'ip -V' failed: is iproute2 "
		    "installed?");
	tap_name(name);
	assert_int_equal(run("ip netns add %s", name), 0);
	assert_int_equal(open_port(&port, name, 0, err, sizeof(err)), 0);
	assert_int_equal(run("ip link set %s netns %s", name, name), 0);
	assert_string_equal(port.ops->state(&port), "netns");

	/* The fd still carries frames: up there, sent; down, link_down. */
	assert_int_equal(run("ip -n %s link set %s up", name, name), 0);
	pkt_batch_init(&b);
	struct pkt *p = pkt_alloc(pool);
	p->len = (uint32_t)test_frame(p->data, 60, 5);
	pkt_batch_add(&b, p);
	port.ops->send_batch(&port, &b);
	assert_int_equal(port.stats.tx_packets, 1);
	assert_int_equal(run("ip -n %s link set %s down", name, name), 0);
	port.ops->send_batch(&port, &b);
	assert_int_equal(port.stats.drops[DROP_LINK_DOWN], 1);
	pkt_batch_free(&b);

	port.ops->close(&port);
	assert_true(run("ip -n %s link show %s >/dev/null 2>&1", name,
	    name) != 0);
	run("ip netns del %s", name);
	pkt_pool_destroy(pool);
}

static void
test_refuses_what_is_not_a_tap(void **state)
{
	struct port	port;
	char		err[256];

	(void)state;
	require_tun();
	assert_int_equal(open_port(&port, "lo", 0, err, sizeof(err)), EINVAL);
	assert_string_equal(err, "lo: exists and is not a tap device");
	assert_int_equal(port.fd, -1);

	assert_int_equal(open_port(&port, "vswut-mtu", 67, err, sizeof(err)),
	    EINVAL);
	assert_non_null(strstr(err, "invalid mtu 67"));
	assert_int_equal(if_nametoindex("vswut-mtu"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_receive_send),
		cmocka_unit_test(test_send_without_headroom),
		cmocka_unit_test(test_link_down_and_no_buffer),
		cmocka_unit_test(test_attach_to_persistent_tap),
		cmocka_unit_test(test_moved_to_another_netns),
		cmocka_unit_test(test_refuses_what_is_not_a_tap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
