/*
 * test-udp-endpoint.c - tunnel ports on a switch, over loopback sockets.
 *
 *     dummy d1 --[dp]-- vxlan vx  127.R.S.1:P  <== UDP ==>  127.R.S.2:P  peer
 *                                                           127.R.S.3    stranger
 *
 * The test is the remote host: its "peer" socket sends datagrams to the
 * switch's endpoint and receives what the vxlan port sends.  The event loop
 * is a fake set of io hooks that records what the switch asks to watch; the
 * test calls the recorded input function as the daemon would.  R, S and P
 * are random, so parallel runs do not collide.  No root needed.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "frames.h"

#include "datapath/port-dummy.h"
#include "datapath/switch.h"
#include "vswitchd/port-types.h"
#include "tunnel/port-tunnel.h"
#include "tunnel/tnl-addr.h"
#include "tunnel/tnl-tx.h"
#include "tunnel/udp-endpoint.h"

#ifndef UDP_GRO
#define UDP_GRO		104
#endif

#define NOW		1000
#define VNI		42
#define MAX_WATCH	8

static const uint8_t	BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t	X[6] = { 0x02, 0, 0, 0, 0, 0x0a };	/* remote */
static const uint8_t	L[6] = { 0x02, 0, 0, 0, 0, 0x0b };	/* local */

/* The fake event loop. */
struct watch {
	bool		 used;
	int		 fd;
	io_input_fn	 input;
	void		*arg;
};

struct fixture {
	struct dp		*dp;
	struct port		*d1, *vx;
	struct sockaddr_storage	 local, remote, stranger;
	uint16_t		 port;
	int			 peer, other;
	struct watch		 w[MAX_WATCH];
	unsigned		 watches, unwatches;
	/* What the ports told their owner (dp_port_event()). */
	unsigned		 gso_events;
	int			 gso_error;
};

static void
port_event(void *ctx, struct port *port, enum port_event ev, int error)
{
	struct fixture	*f = ctx;

	if (ev == PORT_EV_GSO_FALLBACK && port == f->vx) {
		f->gso_events++;
		f->gso_error = error;
	}
}

/* The link watch's netlink socket (a tunnel with a local address). */
static struct watch	netlink_watch;

static bool
is_netlink(int fd)
{
	int		domain;
	socklen_t	len = sizeof(domain);

	return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
	    domain == AF_NETLINK;
}

/* Endpoints are what these tests count: the link watch is left aside. */
static int
fake_watch(void *ctx, int fd, io_input_fn input, void *arg, void **handle)
{
	struct fixture	*f = ctx;

	if (is_netlink(fd)) {
		*handle = &netlink_watch;
		return 0;
	}
	for (int i = 0; i < MAX_WATCH; i++) {
		if (f->w[i].used)
			continue;
		f->w[i] = (struct watch){ true, fd, input, arg };
		*handle = &f->w[i];
		f->watches++;
		return 0;
	}
	return ENOSPC;
}

static void
fake_unwatch(void *ctx, void *handle)
{
	struct fixture	*f = ctx;
	struct watch	*w = handle;

	if (w == &netlink_watch)
		return;
	assert_true(w->used);
	w->used = false;
	f->unwatches++;
}

static unsigned
watching(const struct fixture *f)
{
	unsigned	n = 0;

	for (int i = 0; i < MAX_WATCH; i++)
		n += f->w[i].used;
	return n;
}

static void
addr(struct sockaddr_storage *ss, const char *s, uint16_t port)
{
	assert_int_equal(tnl_addr_parse(s, ss), 0);
	tnl_addr_set_port(ss, port);
}

static int
udp_socket(const struct sockaddr_storage *at)
{
	struct timeval	tv = { .tv_sec = 2 };
	int		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	/* A frame the switch failed to send fails the test, not hangs it. */
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	assert_int_equal(bind(s, (const struct sockaddr *)at,
	    sizeof(struct sockaddr_in)), 0);
	return s;
}

static int
add_tunnel(struct fixture *f, const char *name, const char *type,
    bool has_key, uint32_t key, struct port **pp, char *err, size_t errlen)
{
	struct port_config	cfg = { .type = type, .has_key = has_key,
				    .key = key, .dstport = f->port };

	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	cfg.remote = f->remote;
	cfg.local = f->local;
	return dp_port_add(f->dp, &cfg, pp, err, errlen);
}

static int
setup(void **state)
{
	static struct fixture	 f;
	static const struct io_hooks hooks = {
		.watch = fake_watch,
		.unwatch = fake_unwatch,
		.ctx = &f,
	};
	static const struct dp_events events = {
		.port = port_event,
		.ctx = &f,
	};
	struct port_config	 cfg = { .name = "d1", .type = "dummy" };
	char			 a[16], err[256];
	unsigned		 r, s;

	memset(&f, 0, sizeof(f));
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	r = 1 + (unsigned)random() % 250;
	s = 1 + (unsigned)random() % 250;
	f.port = (uint16_t)(20000 + random() % 40000);
	snprintf(a, sizeof(a), "127.%u.%u.1", r, s);
	addr(&f.local, a, f.port);
	snprintf(a, sizeof(a), "127.%u.%u.2", r, s);
	addr(&f.remote, a, f.port);
	snprintf(a, sizeof(a), "127.%u.%u.3", r, s);
	addr(&f.stranger, a, 0);

	if ((f.dp = dp_create()) == NULL)
		return -1;
	assert_int_equal(dp_set_io(f.dp, &hooks), 0);
	dp_set_events(f.dp, &events);
	assert_int_equal(dp_port_add(f.dp, &cfg, &f.d1, err, sizeof(err)), 0);
	if (add_tunnel(&f, "vx", "vxlan", true, VNI, &f.vx, err,
	    sizeof(err)) != 0)
		fail_msg("vxlan port: %s", err);
	f.peer = udp_socket(&f.remote);
	f.other = udp_socket(&f.stranger);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	close(f->peer);
	close(f->other);
	dp_destroy(f->dp);
	assert_int_equal(watching(f), 0);
	return 0;
}

/* A 64-byte frame dst, src, IPv4, UDP sport -> 53. */
static size_t
frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6],
    uint16_t sport)
{
	memset(buf, 0, 64);
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	memcpy(buf + 12, (uint8_t[]){ 0x08, 0x00, 0x45 }, 3);
	buf[23] = 17;
	buf[34] = (uint8_t)(sport >> 8);
	buf[35] = (uint8_t)sport;
	buf[37] = 53;
	return 64;
}

/* A VXLAN datagram carrying a frame from X. */
static size_t
vxlan_dgram(uint8_t *buf, uint32_t vni, const uint8_t dst[6])
{
	memcpy(buf, (uint8_t[]){ 0x08, 0, 0, 0, (uint8_t)(vni >> 16),
	    (uint8_t)(vni >> 8), (uint8_t)vni, 0 }, 8);
	return 8 + frame(buf + 8, dst, X, 1);
}

static void
send_from(struct fixture *f, int s, const void *buf, size_t len)
{
	assert_int_equal(sendto(s, buf, len, 0,
	    (const struct sockaddr *)&f->local, sizeof(struct sockaddr_in)),
	    (ssize_t)len);
}

/* Waits for the endpoint to be readable and runs its input, as the loop. */
static void
pump(struct fixture *f)
{
	struct watch	*w = NULL;

	for (int i = 0; i < MAX_WATCH; i++)
		if (f->w[i].used)
			w = &f->w[i];
	assert_non_null(w);
	struct pollfd	pfd = { .fd = w->fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	w->input(w->arg, NOW);
}

static struct udp_ep_stats
ep_stats(const struct fixture *f)
{
	struct udp_ep_info	info;

	udp_ep_get_info(udp_eps_next(udp_eps_find(f->dp), NULL), &info);
	return info.stats;
}

static void
inject(struct fixture *f, const uint8_t dst[6], const uint8_t src[6],
    uint16_t sport)
{
	struct pkt_batch	 b;
	struct pkt		*p = pkt_alloc(f->dp->pool);

	assert_non_null(p);
	p->len = (uint32_t)frame(p->data, dst, src, sport);
	pkt_batch_init(&b);
	pkt_batch_add(&b, p);
	sw_input(f->dp, f->d1, &b, NOW);
}

static void
test_receive_learn_and_forward(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 d[128];
	size_t		 len = vxlan_dgram(d, VNI, BCAST), got;
	const uint8_t	*out;

	send_from(f, f->peer, d, len);
	pump(f);
	assert_int_equal(port_dummy_sent_count(f->d1), 1);
	assert_non_null(out = port_dummy_sent(f->d1, 0, &got));
	assert_int_equal(got, len - 8);
	assert_memory_equal(out, d + 8, got);
	assert_int_equal(f->vx->stats.rx_packets, 1);
	assert_int_equal(f->vx->stats.rx_bytes, 64);
	assert_ptr_equal(mac_table_lookup(f->dp->sw->macs, X, 0, NOW), f->vx);
	assert_int_equal(ep_stats(f).rx_packets, 1);
	assert_int_equal(ep_stats(f).rx_bytes, len);
	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
}

static void
test_send_encapsulates(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_storage	 from;
	socklen_t		 fromlen = sizeof(from);
	uint8_t			 want[64], got[256];
	ssize_t			 n;

	inject(f, X, L, 7);			/* X unknown: flooded */
	n = recvfrom(f->peer, got, sizeof(got), 0, (struct sockaddr *)&from,
	    &fromlen);
	assert_int_equal(n, 8 + 64);
	assert_memory_equal(got, ((uint8_t[]){ 0x08, 0, 0, 0, 0, 0, VNI, 0 }),
	    8);
	frame(want, X, L, 7);
	assert_memory_equal(got + 8, want, 64);
	assert_true(tnl_addr_equal(&from, &f->local));
	assert_int_equal(f->vx->stats.tx_packets, 1);
	assert_int_equal(f->vx->stats.tx_bytes, 64);
	/* The path MTU (lo's, capped at 65535 for IPv4) less 20 IP + 8 UDP
	 * + 8 VXLAN + 14 Ethernet. */
	assert_int_equal(f->vx->mtu, 65535 - 50);
}

/* Every flow keeps its source port; 64 flows use all TNL_TX_SOCKS. */
static void
test_source_port_per_flow(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	uint16_t		 ports[64], distinct[TNL_TX_SOCKS];
	unsigned		 ndistinct = 0;
	uint8_t			 got[256];

	for (uint16_t i = 0; i < 128; i++) {
		inject(f, X, L, (uint16_t)(1000 + i % 64));
		fromlen = sizeof(from);
		assert_int_equal(recvfrom(f->peer, got, sizeof(got), 0,
		    (struct sockaddr *)&from, &fromlen), 72);
		if (i < 64) {
			ports[i] = tnl_addr_port(&from);
			continue;
		}
		assert_int_equal(tnl_addr_port(&from), ports[i % 64]);
	}
	for (int i = 0; i < 64; i++) {
		unsigned j;

		for (j = 0; j < ndistinct; j++)
			if (distinct[j] == ports[i])
				break;
		if (j == ndistinct) {
			assert_true(ndistinct < TNL_TX_SOCKS);
			distinct[ndistinct++] = ports[i];
		}
		assert_int_not_equal(ports[i], f->port);
	}
	assert_int_equal(ndistinct, TNL_TX_SOCKS);
}

static void
test_bad_datagrams_counted(void **state)
{
	struct fixture		*f = *state;
	struct udp_ep_stats	 st;
	static uint8_t		 big[12000];
	uint8_t			 d[128];
	size_t			 len = vxlan_dgram(d, VNI, BCAST);

	send_from(f, f->other, d, len);		/* wrong source */
	pump(f);
	vxlan_dgram(d, VNI + 1, BCAST);		/* unknown VNI */
	send_from(f, f->peer, d, len);
	send_from(f, f->peer, d, 7);		/* truncated */
	d[0] = 0;				/* I flag clear */
	send_from(f, f->peer, d, len);
	vxlan_dgram(d, VNI, BCAST);
	send_from(f, f->peer, d, 8 + 13);	/* inner runt */
	memcpy(big, d, len);
	send_from(f, f->peer, big, sizeof(big));	/* over a buffer */
	while (ep_stats(f).rx_packets < 6)
		pump(f);

	st = ep_stats(f);
	assert_int_equal(st.rx_packets, 6);
	assert_int_equal(st.drops[TNL_DROP_WRONG_SOURCE], 1);
	assert_int_equal(st.drops[TNL_DROP_UNKNOWN_KEY], 1);
	assert_int_equal(st.drops[TNL_DROP_TRUNCATED], 1);
	assert_int_equal(st.drops[TNL_DROP_BAD_FLAGS], 1);
	assert_int_equal(st.drops[TNL_DROP_TOO_BIG], 1);
	/* The runt reached the port and was dropped as a tap's would be. */
	assert_int_equal(f->vx->stats.rx_packets, 1);
	assert_int_equal(f->vx->stats.drops[DROP_RUNT], 1);
	assert_int_equal(port_dummy_sent_count(f->d1), 0);

	/* Good traffic still flows. */
	send_from(f, f->peer, d, len);
	pump(f);
	assert_int_equal(port_dummy_sent_count(f->d1), 1);
	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
}

/* remote-port: the remote's address from another source port is dropped. */
static void
test_remote_port_range(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 cfg = { .name = "vx", .type = "vxlan",
				    .given = PORT_SET_REMOTE_PORT, .has_key = true,
				    .key = VNI, .dstport = f->port };
	uint8_t			 d[128];
	size_t			 len = vxlan_dgram(d, VNI, BCAST);
	char			 err[256];

	cfg.remote = f->remote;
	cfg.local = f->local;
	/* The peer sends from f->port: just outside the range. */
	cfg.remote_port_min = (uint16_t)(f->port + 1);
	cfg.remote_port_max = (uint16_t)(f->port + 10);
	dp_port_del(f->dp, f->vx);
	if (dp_port_add(f->dp, &cfg, &f->vx, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	send_from(f, f->peer, d, len);
	pump(f);
	assert_int_equal(ep_stats(f).drops[TNL_DROP_WRONG_SOURCE_PORT], 1);
	assert_int_equal(f->vx->stats.rx_packets, 0);
	assert_int_equal(port_dummy_sent_count(f->d1), 0);

	cfg.remote_port_min = (uint16_t)(f->port - 1);
	cfg.remote_port_max = f->port;
	dp_port_del(f->dp, f->vx);
	if (dp_port_add(f->dp, &cfg, &f->vx, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	send_from(f, f->peer, d, len);
	pump(f);
	assert_int_equal(ep_stats(f).drops[TNL_DROP_WRONG_SOURCE_PORT], 0);
	assert_int_equal(port_dummy_sent_count(f->d1), 1);
	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
}

/* Random datagrams from the right source: each counted exactly once. */
static void
test_random_datagrams(void **state)
{
	struct fixture		*f = *state;
	struct udp_ep_stats	 st;
	uint8_t			 d[100];
	uint64_t		 dropped = 0;

	srandom(11);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 50; i++) {
			size_t len = (size_t)random() % sizeof(d);

			for (size_t j = 0; j < len; j++)
				d[j] = (uint8_t)random();
			if (i % 2 && len >= 8)
				memcpy(d, (uint8_t[]){ 0x08, 0, 0, 0, 0, 0,
				    VNI, 0 }, 8);
			send_from(f, f->peer, d, len);
		}
		while (ep_stats(f).rx_packets < (uint64_t)(round + 1) * 50)
			pump(f);
	}
	st = ep_stats(f);
	for (int i = 0; i < TNL_DROP__MAX; i++)
		dropped += st.drops[i];
	assert_int_equal(st.rx_packets, 1000);
	assert_int_equal(dropped + f->vx->stats.rx_packets, 1000);
	assert_true(f->vx->stats.rx_packets > 100);
	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
}

static void
test_ports_share_one_endpoint(void **state)
{
	struct fixture		*f = *state;
	struct udp_ep_info	 info;
	struct port		*vx2, *other;
	uint8_t			 d[128];
	char			 err[256];

	assert_int_equal(add_tunnel(f, "vx2", "vxlan", true, VNI + 1, &vx2,
	    err, sizeof(err)), 0);
	assert_int_equal(watching(f), 1);
	udp_ep_get_info(udp_eps_next(udp_eps_find(f->dp), NULL), &info);
	assert_int_equal(info.binds, 2);
	assert_null(udp_eps_next(udp_eps_find(f->dp),
	    udp_eps_next(udp_eps_find(f->dp), NULL)));

	/* Demultiplexed by VNI: X behind vx2 this time. */
	send_from(f, f->peer, d, vxlan_dgram(d, VNI + 1, BCAST));
	pump(f);
	assert_ptr_equal(mac_table_lookup(f->dp->sw->macs, X, 0, NOW), vx2);
	assert_int_equal(vx2->stats.rx_packets, 1);
	assert_int_equal(f->vx->stats.rx_packets, 0);

	/* The same remote and VNI twice, another encapsulation. */
	assert_int_equal(add_tunnel(f, "vx3", "vxlan", true, VNI, &other, err,
	    sizeof(err)), EEXIST);
	assert_non_null(strstr(err, "port vx already tunnels to 127."));
	assert_non_null(strstr(err, " vni 42"));
	assert_int_equal(add_tunnel(f, "gt", "gretap", false, 0, &other, err,
	    sizeof(err)), EADDRINUSE);
	assert_non_null(strstr(err, "already carries vxlan"));
	assert_int_equal(f->dp->nports, 3);

	/* The endpoint goes with its last port. */
	dp_port_del(f->dp, vx2);
	assert_int_equal(watching(f), 1);
	dp_port_del(f->dp, f->vx);
	assert_int_equal(watching(f), 0);
	assert_null(udp_eps_next(udp_eps_find(f->dp), NULL));
	assert_int_equal(f->unwatches, 1);
}

static void
test_config_errors(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 cfg = { .name = "bad", .type = "vxlan" };
	struct port		*port;
	char			 err[256];

	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    EINVAL);
	assert_string_equal(err, "a vxlan port needs 'remote ADDR'");

	addr(&cfg.remote, "224.0.0.1", 0);
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    EINVAL);
	assert_string_equal(err, "remote 224.0.0.1 is not a unicast address");

	addr(&cfg.remote, "127.0.0.2", 0);
	addr(&cfg.local, "::1", 0);
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    EINVAL);
	assert_string_equal(err, "local ::1 and remote 127.0.0.2 are not of "
	    "the same family");

	/*
	 * TEST-NET-1, not here: added all the same (it may come with the
	 * network), down until it is.
	 */
	addr(&cfg.local, "192.0.2.1", 0);
	cfg.dstport = f->port;
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    0);
	assert_string_equal(port->ops->state(port), "down");
	assert_string_equal(port->ops->state_why(port), "local address "
	    "192.0.2.1 is not on this host");
	dp_port_del(f->dp, port);

	cfg.local = f->local;
	cfg.has_key = true;
	cfg.key = 1u << 24;
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    EINVAL);
	assert_string_equal(err, "invalid vni '16777216' (0 to 16777215)");
	assert_int_equal(f->dp->nports, 2);
	assert_int_equal(watching(f), 1);
}

static void
test_io_hooks(void **state)
{
	struct fixture		*f = *state;
	const struct io_hooks	 hooks = {
	    .watch = fake_watch, .unwatch = fake_unwatch, .ctx = f,
	};
	struct tnl_port_info	 info;

	assert_int_equal(f->watches, 1);
	assert_int_equal(tnl_port_get_info(f->vx, &info), 0);
	assert_int_equal(f->w[0].fd, udp_ep_fd(info.ep));
	assert_int_equal(dp_set_io(f->dp, NULL), 0);
	assert_int_equal(watching(f), 0);
	assert_int_equal(dp_set_io(f->dp, &hooks), 0);
	assert_int_equal(watching(f), 1);
	assert_int_equal(f->watches, 2);
	assert_int_equal(tnl_port_get_info(f->d1, &info), EINVAL);
}

static void
test_info(void **state)
{
	struct fixture		*f = *state;
	struct tnl_port_info	 info;
	char			 a[TNL_ADDR_STRLEN], b[TNL_ADDR_STRLEN];

	assert_int_equal(tnl_port_get_info(f->vx, &info), 0);
	assert_string_equal(info.proto, "vxlan");
	assert_string_equal(info.key_name, "vni");
	assert_true(info.has_key);
	assert_int_equal(info.key, VNI);
	assert_int_equal(info.overhead, 50);
	assert_int_equal(info.underlay_mtu, f->vx->mtu + 50);
	assert_string_equal(tnl_addr_str(&info.remote, true, a),
	    tnl_addr_str(&f->remote, true, b));
	assert_true(f->vx->split_horizon);
	assert_string_equal(f->vx->ops->state(f->vx), "up");
	assert_int_equal(f->vx->fd, -1);
}

/* A capture hook that keeps the last underlay datagram it was shown. */
struct outer_log {
	struct port_hook	 hook;
	unsigned		 n[2];		/* per direction */
	unsigned		 frames;
	struct sockaddr_storage	 src, dst;
	uint8_t			 bytes[256];
	size_t			 len;
};

static void
log_frames(struct port_hook *h, struct port *port, enum port_dir dir,
    const struct pkt_batch *b)
{
	(void)port;
	(void)dir;
	((struct outer_log *)h)->frames += b->count;
}

static void
log_outer(struct port_hook *h, struct port *port, enum port_dir dir,
    const struct port_outer *o)
{
	struct outer_log	*log = (struct outer_log *)h;

	assert_string_equal(port->name, "vx");
	assert_int_equal(o->proto, IPPROTO_UDP);
	assert_true(o->hlen + o->len <= sizeof(log->bytes));
	log->n[dir]++;
	memcpy(&log->src, o->src, sizeof(struct sockaddr_in));
	memcpy(&log->dst, o->dst, sizeof(struct sockaddr_in));
	if (o->hlen > 0)		/* received datagrams come whole */
		memcpy(log->bytes, o->hdr, o->hlen);
	memcpy(log->bytes + o->hlen, o->data, o->len);
	log->len = o->hlen + o->len;
}

static void
log_gone(struct port_hook *h, struct port *port)
{
	(void)h;
	port->hook = NULL;
}

/* The datagrams on the wire, with the addresses the kernel used. */
static void
test_outer_capture_hook(void **state)
{
	struct fixture		*f = *state;
	struct outer_log	 log = { .hook = { log_frames, log_outer,
				    log_gone } };
	struct sockaddr_storage	 from;
	socklen_t		 fromlen = sizeof(from);
	uint8_t			 d[128], got[256];
	size_t			 len = vxlan_dgram(d, VNI, BCAST);
	ssize_t			 n;

	assert_true(f->vx->ops->outer);
	f->vx->hook = &log.hook;
	inject(f, X, L, 7);
	n = recvfrom(f->peer, got, sizeof(got), 0, (struct sockaddr *)&from,
	    &fromlen);
	assert_int_equal(log.n[PORT_DIR_TX], 1);
	assert_int_equal(log.frames, 1);
	assert_int_equal(log.len, (size_t)n);
	assert_memory_equal(log.bytes, got, (size_t)n);
	assert_true(tnl_addr_equal(&log.src, &from));
	assert_int_equal(tnl_addr_port(&log.src), tnl_addr_port(&from));
	assert_true(tnl_addr_equal(&log.dst, &f->remote));
	assert_int_equal(tnl_addr_port(&log.dst), f->port);

	send_from(f, f->peer, d, len);
	pump(f);
	assert_int_equal(log.n[PORT_DIR_RX], 1);
	assert_int_equal(log.len, len);
	assert_memory_equal(log.bytes, d, len);	/* whole, header and all */
	assert_true(tnl_addr_equal(&log.src, &f->remote));
	assert_true(tnl_addr_equal(&log.dst, &f->local));
	assert_int_equal(tnl_addr_port(&log.dst), f->port);

	/* What belongs to no port is shown to none. */
	send_from(f, f->other, d, len);
	pump(f);
	assert_int_equal(log.n[PORT_DIR_RX], 1);
	f->vx->hook = NULL;
	send_from(f, f->peer, d, len);
	pump(f);
	assert_int_equal(log.n[PORT_DIR_RX], 1);
}

/* The endpoint, as its io hook was given it. */
static struct udp_ep *
the_ep(const struct fixture *f)
{
	for (int i = 0; i < MAX_WATCH; i++)
		if (f->w[i].used)
			return f->w[i].arg;
	fail_msg("no endpoint watched");
	return NULL;
}

/* A sport whose flow leaves by another socket than sport's. */
static uint16_t
other_socket(uint16_t sport)
{
	uint8_t		a[64], b[64];
	uint32_t	h = tnl_flow_hash(a, frame(a, X, L, sport),
			    TNL_PAYLOAD_ETH) % TNL_TX_SOCKS;

	for (uint16_t p = (uint16_t)(sport + 1); ; p++)
		if (tnl_flow_hash(b, frame(b, X, L, p), TNL_PAYLOAD_ETH) %
		    TNL_TX_SOCKS != h)
			return p;
}

/* Frames of len[i] bytes, flow sport[i], tagged i in their last byte. */
static void
inject_batch(struct fixture *f, const uint16_t *sport, const uint32_t *len,
    unsigned n)
{
	struct pkt_batch	 b;

	pkt_batch_init(&b);
	for (unsigned i = 0; i < n; i++) {
		struct pkt *p = pkt_alloc(f->dp->pool);

		assert_non_null(p);
		memset(p->data, 0, len[i]);
		frame(p->data, X, L, sport[i]);
		p->len = len[i];
		p->data[len[i] - 1] = (uint8_t)i;
		pkt_batch_add(&b, p);
	}
	sw_input(f->dp, f->d1, &b, NOW);
}

/* Reads n datagrams off the peer: the tags of those from source port a. */
static unsigned
receive_tags(struct fixture *f, unsigned n, uint16_t *a, uint8_t *tags,
    const uint32_t *len)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	uint8_t			 got[2048];
	unsigned		 k = 0;
	ssize_t			 r;

	for (unsigned i = 0; i < n; i++) {
		fromlen = sizeof(from);
		r = recvfrom(f->peer, got, sizeof(got), 0,
		    (struct sockaddr *)&from, &fromlen);
		assert_true(r > 8);
		assert_int_equal((size_t)r, 8 + len[got[r - 1]]);
		if (*a == 0)
			*a = tnl_addr_port(&from);
		if (tnl_addr_port(&from) == *a)
			tags[k++] = got[r - 1];
	}
	assert_int_equal(recv(f->peer, got, sizeof(got), MSG_DONTWAIT), -1);
	return k;
}

/*
 * Two flows on two sockets, interleaved: one UDP_SEGMENT message each,
 * the shorter last frame of one included; the peer gets every datagram,
 * in order, and a capture sees each.
 */
static void
test_gso_sends_a_run_per_socket(void **state)
{
	struct fixture		*f = *state;
	struct outer_log	 log = { .hook = { log_frames, log_outer,
				    log_gone } };
	struct tnl_port_info	 info;
	uint16_t		 sport[20], a = 0;
	uint32_t		 len[20];
	uint8_t			 tags[20];
	unsigned		 k;

	for (unsigned i = 0; i < 20; i++) {
		sport[i] = i % 2 ? other_socket(7) : 7;
		len[i] = 200;
	}
	len[18] = 150;				/* the last of flow 7 */
	f->vx->hook = &log.hook;
	inject_batch(f, sport, len, 20);
	f->vx->hook = NULL;
	assert_int_equal(tnl_port_get_info(f->vx, &info), 0);
	assert_int_equal(info.gso, TNL_GSO_ON);
	assert_int_equal(info.gso_msgs, 2);
	assert_int_equal(info.gso_segs, 20);
	assert_int_equal(f->vx->stats.tx_packets, 20);
	assert_int_equal(f->vx->stats.tx_bytes, 19 * 200 + 150);
	assert_int_equal(log.n[PORT_DIR_TX], 20);

	k = receive_tags(f, 20, &a, tags, len);
	assert_int_equal(k, 10);
	for (unsigned i = 1; i < k; i++)
		assert_true(tags[i] == tags[i - 1] + 2);
}

/* The sender's sockets, found by their peer. */
static unsigned
sender_fds(const struct fixture *f, int *fds)
{
	struct sockaddr_storage	 peer;
	socklen_t		 len;
	unsigned		 n = 0;

	for (int fd = 3; fd < 1024 && n < TNL_TX_SOCKS; fd++) {
		len = sizeof(peer);
		if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0 &&
		    tnl_addr_equal(&peer, &f->remote) &&
		    tnl_addr_port(&peer) == f->port)
			fds[n++] = fd;
	}
	return n;
}

/*
 * The kernel refuses GSO on a socket without UDP checksums (EINVAL): the
 * sender falls back to single datagrams, loses none, and says why; off and
 * on again it tries again.
 */
static void
test_gso_falls_back(void **state)
{
	struct fixture		*f = *state;
	struct tnl_port_info	 info;
	int			 fds[TNL_TX_SOCKS], on = 1;
	uint16_t		 sport[10], a = 0;
	uint32_t		 len[10];
	uint8_t			 tags[10];

	assert_int_equal(sender_fds(f, fds), TNL_TX_SOCKS);
	for (unsigned i = 0; i < TNL_TX_SOCKS; i++)
		assert_int_equal(setsockopt(fds[i], SOL_SOCKET, SO_NO_CHECK,
		    &on, sizeof(on)), 0);
	for (unsigned i = 0; i < 10; i++) {
		sport[i] = 9;
		len[i] = 300;
	}
	inject_batch(f, sport, len, 10);
	assert_int_equal(tnl_port_get_info(f->vx, &info), 0);
	assert_int_equal(info.gso, TNL_GSO_FAILED);
	assert_int_equal(info.gso_error, EINVAL);
	assert_int_equal(info.gso_msgs, 0);
	/* Told once, for the daemon's log. */
	assert_int_equal(f->gso_events, 1);
	assert_int_equal(f->gso_error, EINVAL);
	assert_int_equal(f->vx->stats.tx_packets, 10);
	assert_int_equal(f->vx->stats.tx_errors, 0);
	assert_int_equal(f->vx->stats.drops[DROP_TX_ERROR], 0);
	assert_int_equal(receive_tags(f, 10, &a, tags, len), 10);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(tags[i], i);

	/* Any other switch leaves it fallen back; udp-gso off and on not. */
	dp_set_offload(f->dp, OFL_TCP_GRO, false);
	assert_int_equal(tnl_port_get_info(f->vx, &info), 0);
	assert_int_equal(info.gso, TNL_GSO_FAILED);
	dp_set_offload(f->dp, OFL_UDP_GSO, false);
	assert_int_equal(tnl_port_get_info(f->vx, &info), 0);
	assert_int_equal(info.gso, TNL_GSO_OFF);
	dp_set_offload(f->dp, OFL_UDP_GSO, true);
	assert_int_equal(tnl_port_get_info(f->vx, &info), 0);
	assert_int_equal(info.gso, TNL_GSO_ON);
	inject_batch(f, sport, len, 10);
	assert_int_equal(tnl_port_get_info(f->vx, &info), 0);
	assert_int_equal(info.gso_msgs, 1);
	assert_int_equal(info.gso_segs, 10);
	a = 0;
	assert_int_equal(receive_tags(f, 10, &a, tags, len), 10);
}

/* n VXLAN datagrams of 72 bytes as one UDP_SEGMENT send from the peer. */
static void
send_segmented(struct fixture *f, unsigned n)
{
	uint8_t		 buf[72 * 16];
	union {
		char		buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr	align;
	}		 c;
	struct iovec	 iov = { buf, 72 * n };
	struct msghdr	 mh = {
		.msg_name = &f->local,
		.msg_namelen = sizeof(struct sockaddr_in),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = c.buf,
		.msg_controllen = sizeof(c.buf),
	};
	struct cmsghdr	*cm = CMSG_FIRSTHDR(&mh);
	uint16_t	 size = 72;

	assert_true(n <= 16);
	for (unsigned i = 0; i < n; i++)
		vxlan_dgram(buf + 72 * i, VNI, BCAST);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(size));
	memcpy(CMSG_DATA(cm), &size, sizeof(size));
	assert_int_equal(sendmsg(f->peer, &mh, 0), (ssize_t)(72 * n));
}

/* The kernel hands a UDP_GRO socket the peer's GSO send whole. */
static void
test_gro_receive_splits(void **state)
{
	struct fixture		*f = *state;
	struct udp_ep_info	 info;
	struct udp_ep_stats	 st;

	udp_ep_get_info(the_ep(f), &info);
	assert_true(info.gro);
	send_segmented(f, 5);
	pump(f);
	st = ep_stats(f);
	assert_int_equal(st.gro_reads, 1);
	assert_int_equal(st.gro_datagrams, 5);
	assert_int_equal(st.rx_packets, 5);
	assert_int_equal(st.rx_bytes, 5 * 72);
	assert_int_equal(f->vx->stats.rx_packets, 5);
	assert_int_equal(port_dummy_sent_count(f->d1), 5);

	/* Off: the kernel splits them itself. */
	dp_set_offload(f->dp, OFL_UDP_GRO, false);
	udp_ep_get_info(the_ep(f), &info);
	assert_false(info.gro);
	send_segmented(f, 5);
	while (ep_stats(f).rx_packets < 10)
		pump(f);
	assert_int_equal(ep_stats(f).gro_reads, 1);
	assert_int_equal(port_dummy_sent_count(f->d1), 10);
	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
	assert_int_equal(pkt_pool_avail(f->dp->large), DP_LARGE_POOL_SIZE);
}

/* A coalesced read in a large buffer: n datagrams of 72 bytes, last 28. */
static struct pkt *
coalesced(struct fixture *f, unsigned n)
{
	struct pkt	*p = pkt_alloc(f->dp->large);

	assert_non_null(p);
	for (unsigned i = 0; i < n; i++)
		vxlan_dgram(p->data + 72 * i, VNI, BCAST);
	p->len = 72 * (n - 1) + 28;
	return p;
}

/* Splitting beyond a batch, a bad size, a whole one in a large buffer. */
static void
test_gro_deliver_splits(void **state)
{
	struct fixture		*f = *state;
	struct udp_ep		*ep = the_ep(f);
	struct sockaddr_storage	 from[2] = { f->remote, f->remote };
	struct udp_ep_stats	 st;
	struct pkt		*pkts[2];
	int			 seg[2];

	pkts[0] = coalesced(f, 101);
	seg[0] = 72;
	pkts[1] = coalesced(f, 1);
	pkts[1]->len = 72;
	seg[1] = UDP_EP_WHOLE;
	udp_ep_deliver_gro(ep, pkts, seg, from, 2, NOW);
	st = ep_stats(f);
	assert_int_equal(st.gro_reads, 1);
	assert_int_equal(st.gro_datagrams, 101);
	assert_int_equal(st.rx_packets, 102);
	assert_int_equal(st.rx_bytes, 100 * 72 + 28 + 72);
	assert_int_equal(f->vx->stats.rx_packets, 102);
	assert_int_equal(f->vx->stats.rx_bytes, 100 * 64 + 20 + 64);
	assert_int_equal(port_dummy_sent_count(f->d1), 102);

	pkts[0] = coalesced(f, 3);
	seg[0] = 0;
	udp_ep_deliver_gro(ep, pkts, seg, from, 1, NOW);
	st = ep_stats(f);
	assert_int_equal(st.drops[TNL_DROP_BAD_GRO], 1);
	assert_int_equal(st.rx_packets, 103);
	assert_int_equal(port_dummy_sent_count(f->d1), 102);
	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
	assert_int_equal(pkt_pool_avail(f->dp->large), DP_LARGE_POOL_SIZE);
}

/* UDP_GRO says a size; none, a cut one: whole; a negative one: drop. */
static void
test_gro_size(void **state)
{
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	}		 control;
	struct msghdr	 mh = {
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr	*cm = CMSG_FIRSTHDR(&mh);
	int		 size = 1400;

	(void)state;
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_GRO;
	cm->cmsg_len = CMSG_LEN(sizeof(size));
	memcpy(CMSG_DATA(cm), &size, sizeof(size));
	assert_int_equal(udp_ep_gro_size(&mh), 1400);
	size = -5;
	memcpy(CMSG_DATA(cm), &size, sizeof(size));
	assert_int_equal(udp_ep_gro_size(&mh), 0);
	mh.msg_controllen = CMSG_LEN(sizeof(size)) - 1;
	assert_int_equal(udp_ep_gro_size(&mh), UDP_EP_WHOLE);
	mh.msg_controllen = sizeof(control.buf);
	cm->cmsg_type = UDP_GRO + 1;
	assert_int_equal(udp_ep_gro_size(&mh), UDP_EP_WHOLE);
	mh.msg_controllen = 0;
	assert_int_equal(udp_ep_gro_size(&mh), UDP_EP_WHOLE);
}

/*
 * TCP segments from the tunnel are coalesced before the switch sees them:
 * four in-order segments of one flow make one super-frame.
 */
static void
test_tcp_gro_at_ingress(void **state)
{
	struct fixture		*f = *state;
	static uint8_t		 payload[4000];
	struct sockaddr_storage	 from[8];
	struct tnl_port_info	 info;
	struct fspec		 s = fspec_tcp(4, payload, 1000);
	struct pkt		*pkts[8];

	for (int round = 0; round < 2; round++) {
		for (unsigned i = 0; i < 4; i++) {
			struct pkt *p = pkt_alloc(f->dp->pool);

			assert_non_null(p);
			memcpy(p->data, (uint8_t[]){ 0x08, 0, 0, 0, 0, 0,
			    VNI, 0 }, 8);
			s.seq = 1000000 + 4000 * (unsigned)round + 1000 * i;
			s.payload = payload + 1000 * i;
			p->len = 8 + (uint32_t)frame_build(p->data + 8, &s);
			pkts[i] = p;
			from[i] = f->remote;
		}
		udp_ep_deliver(the_ep(f), pkts, from, 4, NOW);
		assert_int_equal(tnl_port_get_info(f->vx, &info), 0);
		assert_int_equal(f->vx->stats.rx_packets, 4 * (round + 1));
		assert_int_equal(info.gro.superframes, 1);
		assert_int_equal(info.gro.segments, 4);
		assert_int_equal(info.tcp_gro, round == 0);
		/* Off: the second round passes as it came. */
		dp_set_offload(f->dp, OFL_TCP_GRO, false);
	}
	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
	assert_int_equal(pkt_pool_avail(f->dp->large), DP_LARGE_POOL_SIZE);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	if (port_types_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		T(test_receive_learn_and_forward),
		T(test_send_encapsulates),
		T(test_source_port_per_flow),
		T(test_bad_datagrams_counted),
		T(test_remote_port_range),
		T(test_random_datagrams),
		T(test_ports_share_one_endpoint),
		T(test_config_errors),
		T(test_io_hooks),
		T(test_info),
		T(test_outer_capture_hook),
		T(test_gso_sends_a_run_per_socket),
		T(test_gso_falls_back),
		T(test_gro_receive_splits),
		T(test_gro_deliver_splits),
		cmocka_unit_test(test_gro_size),
		T(test_tcp_gro_at_ingress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
