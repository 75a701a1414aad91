/*
 * fuzz-tunnel.c - libFuzzer target for the tunnel receive path.
 *
 *   dummy fz --[dp]-- vx  vxlan VNI 42 to 127.0.0.2      endpoint *:4789
 *                  -- gk  gretap key 7 to 127.0.0.2      endpoint *:4754
 *                  -- gn  gretap, no key, to 127.0.0.3   (the same one)
 *
 * The input is a sequence of records
 *	[1 byte: endpoint (bit 0), source (bits 1-2), coalesced (bit 3)]
 *	[2 bytes: datagram size, if coalesced] [2 bytes: length] [bytes]
 * handed to udp_ep_deliver_gro() in batches, as if read from the sockets
 * (a coalesced read, in a large buffer, as with UDP_GRO), from 127.0.0.2,
 * .3 or a stranger; the bytes are also given to each parser and to the
 * flow hash.  Then every datagram must be counted once (dropped for a
 * reason or received by a port): a coalesced read of len bytes holds
 * len / size of them rounded up (one if size is 0, or not less than len);
 * no buffer may be lost, of either pool, and every learned MAC must be on
 * a port.  Runs in a network namespace of its own (run.sh), where it
 * brings lo up for the ports' sockets.
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

#include "datapath/switch.h"
#include "vswitchd/port-types.h"
#include "tunnel/tnl-addr.h"
#include "tunnel/tnl-tx.h"
#include "tunnel/udp-endpoint.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NTUNNELS	3

static struct dp		*dp;
static struct port		*dummy, *tunnels[NTUNNELS];
static struct udp_ep		*eps[2];	/* vxlan, gre */
static struct sockaddr_storage	 sources[4];

/* The event loop is not needed: the hook just remembers the endpoints. */
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
add(const char *name, const char *type, const char *remote, bool has_key,
    uint32_t key, struct port **pp)
{
	struct port_config	c = { .type = type, .has_key = has_key,
				    .key = key };
	char			err[256];

	snprintf(c.name, sizeof(c.name), "%s", name);
	if (tnl_addr_parse(remote, &c.remote) != 0 ||
	    dp_port_add(dp, &c, pp, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz-tunnel: %s: %s\n", name, err);
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
	if (port_types_init() != 0 || (dp = dp_create()) == NULL || dp_set_io(dp, &hooks) != 0 ||
	    dp_port_add(dp, &c, &dummy, err, sizeof(err)) != 0)
		abort();
	add("vx", "vxlan", "127.0.0.2", true, 42, &tunnels[0]);
	add("gk", "gretap", "127.0.0.2", true, 7, &tunnels[1]);
	add("gn", "gretap", "127.0.0.3", false, 0, &tunnels[2]);
	for (int i = 0; i < 4; i++)
		tnl_addr_parse(src[i], &sources[i]);
	mac_table_set_max(dp->sw->macs, 16);
}

/* Datagrams the endpoints read, and those dropped or taken by a port. */
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
check_table(void)
{
	const struct mac_entry	*e;
	unsigned		 cursor = 0;

	while ((e = mac_table_next(dp->sw->macs, &cursor)) != NULL) {
		if (e->port == dummy)
			continue;
		if (e->port != tunnels[0] && e->port != tunnels[1] &&
		    e->port != tunnels[2])
			abort();
	}
}

static void
deliver(int e, struct pkt **pkts, const int *seg,
    struct sockaddr_storage *from, unsigned *n)
{
	if (*n > 0)
		udp_ep_deliver_gro(eps[e], pkts, seg, from, *n, 1000);
	*n = 0;
}

/* The datagrams a read of len bytes holds. */
static uint64_t
datagrams(size_t len, int seg)
{
	if (seg <= 0 || (size_t)seg >= len)
		return 1;
	return (len + (size_t)seg - 1) / (size_t)seg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pkt		*pkts[2][PKT_BATCH_MAX], *p;
	int			 seg[2][PKT_BATCH_MAX];
	struct sockaddr_storage	 from[2][PKT_BATCH_MAX];
	unsigned		 n[2] = { 0, 0 };
	uint64_t		 read, before, counted, sent = 0;
	struct tnl_rx		 rx;

	if (dp == NULL)
		setup();
	tally(&read, &before);
	while (len >= 3) {
		int	e = data[0] & 1, gro = data[0] & 8, sz = UDP_EP_WHOLE;
		size_t	dlen;

		from[e][n[e]] = sources[data[0] >> 1 & 3];
		data++;
		len--;
		if (gro) {
			if (len < 4)
				break;
			sz = data[0] << 8 | data[1];
			data += 2;
			len -= 2;
		}
		dlen = (size_t)data[0] << 8 | data[1];
		data += 2;
		len -= 2;
		if (dlen > len)
			dlen = len;
		if ((p = pkt_alloc(gro ? dp->large : dp->pool)) == NULL)
			abort();
		if (dlen > pkt_tailroom(p))
			dlen = pkt_tailroom(p);
		memcpy(p->data, data, dlen);
		p->len = (uint32_t)dlen;
		tnl_vxlan.parse(data, dlen, &rx);
		tnl_gre.parse(data, dlen, &rx);
		tnl_flow_hash(data, dlen, TNL_PAYLOAD_ETH);
		tnl_flow_hash(data, dlen, TNL_PAYLOAD_IP);
		data += dlen;
		len -= dlen;
		seg[e][n[e]] = sz;
		pkts[e][n[e]++] = p;
		sent += datagrams(dlen, sz);
		if (n[e] == PKT_BATCH_MAX)
			deliver(e, pkts[e], seg[e], from[e], &n[e]);
	}
	deliver(0, pkts[0], seg[0], from[0], &n[0]);
	deliver(1, pkts[1], seg[1], from[1], &n[1]);
	tally(&read, &counted);
	if (counted - before != sent || read != counted)
		abort();	/* a datagram counted twice or not at all */
	check_table();
	if (pkt_pool_avail(dp->pool) != DP_POOL_SIZE ||
	    pkt_pool_avail(dp->large) != DP_LARGE_POOL_SIZE)
		abort();	/* a packet leaked */
	return 0;
}
