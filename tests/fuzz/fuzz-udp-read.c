/*
 * fuzz-udp-read.c - libFuzzer target for what an endpoint makes of a read:
 * udp_ep_read_from() plays the kernel's recvmmsg() into the endpoint's own
 * buffers, so datagrams cut to the buffer (MSG_TRUNC), control messages of
 * any shape (a UDP_GRO one, a malformed one, one cut short: MSG_CTRUNC)
 * and datagrams up to and past the buffer's size all reach the code a real
 * read runs.
 *
 *   dummy fz --[dp]-- vx  vxlan VNI 42 to 127.0.0.2      endpoint *:4789
 *                  -- gk  gretap key 7 to 127.0.0.2      endpoint *:4754
 *
 * The input: [1 byte: UDP GRO on (bit 0)] and then records
 *	[1 byte: endpoint (bit 0), source (bits 1-2), long (bit 3),
 *	 GRO message (bit 4)]
 *	[2 bytes: length L] [1 byte: control length C]
 *	[2 bytes: a UDP_GRO datagram size, with bit 4; else C control bytes]
 *	[L bytes, or what is left]
 * A long datagram is 2L + 1 bytes (up to 128 KiB, past even a large
 * buffer), its bytes repeated from what the record gives.  The reads of an
 * endpoint go in batches of up to PKT_BATCH_MAX.  Then every datagram must
 * be counted once (dropped for a reason or received by a port), at least
 * one per read, exactly one per read without GRO, and no buffer may be
 * lost, of either pool.  Runs in a network namespace of its own (run.sh).
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datapath/switch.h"
#include "vswitchd/port-types.h"
#include "tunnel/tnl-addr.h"
#include "tunnel/udp-endpoint.h"

#ifndef UDP_GRO
#define UDP_GRO		104
#endif

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NTUNNELS	2
#define LONG_MAX_LEN	(2 * 65535 + 1)
#define CONTROL_MAX	255

static struct dp		*dp;
static struct port		*dummy, *tunnels[NTUNNELS];
static struct udp_ep		*eps[2];	/* vxlan, gre */
static struct sockaddr_storage	 sources[4];
static uint8_t			 longs[2][PKT_BATCH_MAX][LONG_MAX_LEN];
static uint8_t			 controls[2][PKT_BATCH_MAX][CONTROL_MAX];

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
add(const char *name, const char *type, uint32_t key, struct port **pp)
{
	struct port_config	c = { .type = type, .has_key = true,
				    .key = key };
	char			err[256];

	snprintf(c.name, sizeof(c.name), "%s", name);
	if (tnl_addr_parse("127.0.0.2", &c.remote) != 0 ||
	    dp_port_add(dp, &c, pp, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz-udp-read: %s: %s\n", name, err);
		abort();
	}
}

static void
setup(void)
{
	static const struct io_hooks	hooks = { .watch = fake_watch,
					    .unwatch = fake_unwatch };
	struct port_config		c = { .name = "fz", .type = "dummy" };
	const char			*src[] = { "127.0.0.2", "127.0.0.3",
					    "127.0.0.9", "127.0.0.2" };
	char				err[256];

	lo_up();
	if (port_types_init() != 0 || (dp = dp_create()) == NULL ||
	    dp_set_io(dp, &hooks) != 0 ||
	    dp_port_add(dp, &c, &dummy, err, sizeof(err)) != 0)
		abort();
	add("vx", "vxlan", 42, &tunnels[0]);
	add("gk", "gretap", 7, &tunnels[1]);
	for (int i = 0; i < 4; i++)
		tnl_addr_parse(src[i], &sources[i]);
	mac_table_set_max(dp->sw->macs, 16);
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

static unsigned
deliver(int e, const struct udp_ep_kread *reads, unsigned *n)
{
	unsigned	taken = 0;

	if (*n > 0 && (taken = udp_ep_read_from(eps[e], reads, *n,
	    1000)) != *n)
		abort();	/* the pools are full between batches */
	*n = 0;
	return taken;
}

/* A UDP_GRO control message saying size, as the kernel writes it. */
static size_t
gro_cmsg(uint8_t *buf, int size)
{
	struct cmsghdr	cm = {
		.cmsg_len = CMSG_LEN(sizeof(size)),
		.cmsg_level = SOL_UDP,
		.cmsg_type = UDP_GRO,
	};

	memcpy(buf, &cm, sizeof(cm));
	memcpy(buf + CMSG_LEN(0), &size, sizeof(size));
	return CMSG_SPACE(sizeof(size));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct udp_ep_kread	 reads[2][PKT_BATCH_MAX];
	unsigned		 n[2] = { 0, 0 };
	uint64_t		 read, before, counted, taken = 0;
	bool			 gro;

	if (dp == NULL)
		setup();
	if (len < 1)
		return 0;
	gro = data[0] & 1;
	udp_eps_set_gro(udp_eps_find(dp), gro);
	data++;
	len--;
	tally(&read, &before);
	while (len >= 4) {
		int			 e = data[0] & 1, head = data[0];
		struct udp_ep_kread	*r = &reads[e][n[e]];
		size_t			 dlen, clen;

		r->from = sources[head >> 1 & 3];
		dlen = (size_t)data[1] << 8 | data[2];
		clen = data[3];
		data += 4;
		len -= 4;
		if (head & 0x10) {
			if (len < 2)
				break;
			clen = gro_cmsg(controls[e][n[e]],
			    data[0] << 8 | data[1]);
			data += 2;
			len -= 2;
		} else {
			if (clen > len)
				clen = len;
			memcpy(controls[e][n[e]], data, clen);
			data += clen;
			len -= clen;
		}
		r->control = controls[e][n[e]];
		r->controllen = clen;
		if (head & 0x08) {
			size_t	give = dlen < len ? dlen : len;
			uint8_t	*b = longs[e][n[e]];

			dlen = 2 * dlen + 1;
			for (size_t i = 0; i < dlen; i++)
				b[i] = give > 0 ? data[i % give] : 0;
			r->data = b;
			r->len = dlen;
			dlen = give;
		} else {
			if (dlen > len)
				dlen = len;
			r->data = data;
			r->len = dlen;
		}
		data += dlen;
		len -= dlen;
		if (++n[e] == PKT_BATCH_MAX)
			taken += deliver(e, reads[e], &n[e]);
	}
	taken += deliver(0, reads[0], &n[0]);
	taken += deliver(1, reads[1], &n[1]);
	tally(&read, &counted);
	if (read != counted)
		abort();	/* a datagram counted twice or not at all */
	if (counted - before < taken || (!gro && counted - before != taken))
		abort();	/* a read lost */
	if (pkt_pool_avail(dp->pool) != DP_POOL_SIZE ||
	    pkt_pool_avail(dp->large) != DP_LARGE_POOL_SIZE)
		abort();	/* a packet leaked */
	return 0;
}
