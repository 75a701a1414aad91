/*
 * fuzz-tunnel-l3.c - libFuzzer target for IP tunnels into the router:
 * ipip and L3 gre datagrams read by their endpoints, through the tunnel
 * ports (TCP GRO on) into the router, and out of a dummy port or back out
 * of a tunnel.
 *
 *   dummy-l3 fz0 198.19.1.254/24 --[router]-- ip  ipip to 127.0.0.2   *:5555
 *            (default route)                  gk  gre key 5 to .2     *:4754
 *                                             gn  gre to 127.0.0.3    (same)
 *   tunnel N's addresses: 198.19.N.254/24 and fd00:5657:0:N::1/64 (N = 2,
 *   3, 4), so each has a connected route
 *
 * The input is records as fuzz-records.h has them, whose first byte picks the
 * endpoint (bit 0: ipip or gre) and the source (bits 1-2: 127.0.0.2, .3,
 * a stranger, .2 again); each goes through udp_ep_read_from() as the
 * socket's read would bring it, in batches of up to PKT_BATCH_MAX per
 * endpoint.  What the router sends back out of a tunnel really goes, to
 * 127.0.0.2 or .3 where nothing listens: the kernel's port unreachable
 * reaches the tunnel's senders too.  Then every datagram must be counted
 * once (dropped by the endpoint for a reason or received by a port), and
 * every buffer of either pool be back.  Runs in a network namespace of its
 * own (run.sh), where it brings lo up.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datapath/dp.h"
#include "datapath/router.h"
#include "vswitchd/port-types.h"
#include "tunnel/tnl-addr.h"
#include "tunnel/udp-endpoint.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NTUNNELS	3

static struct dp		*dp;
static struct port		*dummy, *tunnels[NTUNNELS];
static struct udp_ep		*eps[2];	/* ipip, gre */
static struct sockaddr_storage	 sources[4];

static int
fake_watch(void *ctx, int fd, io_input_fn input, void *arg, void **handle)
{
	(void)ctx;
	(void)fd;
	(void)input;
	eps[eps[0] != NULL] = arg;
	*handle = arg;
	return 0;
}

static void
fake_unwatch(void *ctx, void *handle)
{
	(void)ctx;
	(void)handle;
}

static void
lo_up(void)
{
	struct ifreq	ifr = { .ifr_name = "lo" };
	int		s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s == -1 || ioctl(s, SIOCGIFFLAGS, &ifr) == -1)
		abort();
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1)
		abort();
	close(s);
}

static void
add(struct port_config *c, const char *name, struct port **pp)
{
	char	err[256];

	snprintf(c->name, sizeof(c->name), "%s", name);
	if (dp_port_add(dp, c, pp, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz-tunnel-l3: %s: %s\n", name, err);
		abort();
	}
}

static void
tunnel(const char *name, const char *type, const char *remote, bool has_key,
    uint8_t net, struct port **pp)
{
	struct port_config	c = { .type = type, .has_key = has_key,
				    .key = 5 };

	if (tnl_addr_parse(remote, &c.remote) != 0)
		abort();
	c.addr4 = (struct ip_prefix){ AF_INET, 24, { 198, 19, net, 254 } };
	c.addr6 = (struct ip_prefix){ AF_INET6, 64,
	    { 0xfd, 0, 0x56, 0x57, 0, net, [15] = 1 } };
	add(&c, name, pp);
}

static void
route(int family, const uint8_t *dst, unsigned plen, struct port *port)
{
	struct rt_route	r = { .type = RT_UNICAST, .port = port };

	r.dst.family = (uint8_t)family;
	r.dst.len = (uint8_t)plen;
	memcpy(r.dst.addr, dst, ip_addr_len(family));
	if (rt_add(rtr_table(dp->rtr, family), &r) != 0)
		abort();
}

static void
setup(void)
{
	static const struct io_hooks	hooks = { .watch = fake_watch,
					    .unwatch = fake_unwatch };
	static const uint8_t		dflt[16];
	struct port_config		c = { .type = "dummy-l3" };
	const char			*src[] = { "127.0.0.2", "127.0.0.3",
					    "127.0.0.9", "127.0.0.2" };

	lo_up();
	if (port_types_init() != 0 || (dp = dp_create()) == NULL ||
	    dp_set_io(dp, &hooks) != 0)
		abort();
	c.addr4 = (struct ip_prefix){ AF_INET, 24, { 198, 19, 1, 254 } };
	add(&c, "fz0", &dummy);
	tunnel("ip", "ipip", "127.0.0.2", false, 2, &tunnels[0]);
	tunnel("gk", "gre", "127.0.0.2", true, 3, &tunnels[1]);
	tunnel("gn", "gre", "127.0.0.3", false, 4, &tunnels[2]);
	route(AF_INET, dflt, 0, dummy);
	rtr_set_icmp_limit(dp->rtr, 1000000, 1000000);
	for (int i = 0; i < 4; i++)
		tnl_addr_parse(src[i], &sources[i]);
}

static void
tally(uint64_t *read, uint64_t *counted)
{
	struct udp_ep_info	info;

	*read = *counted = 0;
	for (int e = 0; e < 2; e++) {
		udp_ep_get_info(eps[e], &info);
		*read += info.stats.rx_packets;
		for (int i = 0; i < TNL_DROP__MAX; i++)
			*counted += info.stats.drops[i];
	}
	for (int t = 0; t < NTUNNELS; t++)
		*counted += tunnels[t]->stats.rx_packets;
}

static void
deliver(int e, struct udp_ep_kread *reads, unsigned *n)
{
	if (*n > 0 && udp_ep_read_from(eps[e], reads, *n, 1000) != *n)
		abort();	/* the pools are full between batches */
	*n = 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct udp_ep_kread	 reads[2][PKT_BATCH_MAX];
	unsigned		 n[2] = { 0, 0 };
	uint64_t		 read, before, counted, sent = 0;

	if (dp == NULL)
		setup();
	tally(&read, &before);
	/* The records of fuzz-records.h, read in place. */
	while (len >= 3) {
		int	e = data[0] & 1;
		size_t	dlen = (size_t)data[1] << 8 | data[2];

		reads[e][n[e]].from = sources[data[0] >> 1 & 3];
		data += 3;
		len -= 3;
		if (dlen > len)
			dlen = len;
		reads[e][n[e]].data = data;
		reads[e][n[e]].len = dlen;
		reads[e][n[e]].control = NULL;
		reads[e][n[e]].controllen = 0;
		data += dlen;
		len -= dlen;
		sent++;
		if (++n[e] == PKT_BATCH_MAX)
			deliver(e, reads[e], &n[e]);
	}
	deliver(0, reads[0], &n[0]);
	deliver(1, reads[1], &n[1]);
	tally(&read, &counted);
	if (read != counted || counted - before != sent)
		abort();	/* a datagram counted twice or not at all */
	if (pkt_pool_avail(dp->pool) != DP_POOL_SIZE ||
	    pkt_pool_avail(dp->large) != DP_LARGE_POOL_SIZE)
		abort();	/* a packet leaked */
	return 0;
}
