/*
 * fuzz-router.c - libFuzzer target for the L3 forwarding path.
 *
 * Three dummy L3 ports with addresses (one with a small MTU, so packets
 * get fragmented or answered with Fragmentation Needed), a gateway route, a
 * reject route and IPv6 routes.  The input is records (fuzz-records.h)
 * whose first byte picks the ingress port, each fed through rtr_input() as
 * a batch of one.  With bit 7 of that byte set, the packet's first 10 bytes
 * are its vnet header (offload state, as a tun with offloads hands over);
 * fz1 takes checksums and TSO, the others nothing, so super-frames go out
 * whole or segmented.  UDP to fz0's addresses on port 4789 goes to a
 * listener (rtr-udp.c, as a tunnel carried by fz0 has), which frees what it
 * gets.  Every packet must be consumed exactly once: at the end the pool
 * is full again.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/port-dummy.h"
#include "datapath/router.h"
#include "datapath/switch.h"
#include "vswitchd/port-types.h"

#include "fuzz-records.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NPORTS	3

static struct dp	*dp;
static struct port	*ports[NPORTS];
static struct rtr_udp_sink sinks[2];

static void
sink_rx(void *arg, struct pkt **pkts, const struct sockaddr_storage *from,
    unsigned n, time_t now)
{
	(void)arg;
	(void)from;
	(void)now;
	for (unsigned i = 0; i < n; i++)
		pkt_free(pkts[i]);
}

static void
listen_udp(struct rtr_udp_sink *s, const struct ip_prefix *a)
{
	strcpy(s->port, "fz0");
	s->local.ss_family = a->family;
	if (a->family == AF_INET) {
		memcpy(&((struct sockaddr_in *)&s->local)->sin_addr, a->addr, 4);
		((struct sockaddr_in *)&s->local)->sin_port = htons(4789);
	} else {
		memcpy(&((struct sockaddr_in6 *)&s->local)->sin6_addr, a->addr,
		    16);
		((struct sockaddr_in6 *)&s->local)->sin6_port = htons(4789);
	}
	s->rx = sink_rx;
	if (rtr_udp_listen(dp, s) != 0)
		abort();
}

static void
route(int family, const uint8_t *dst, unsigned plen, struct port *port,
    const uint8_t *gw, enum rt_type type)
{
	struct rt_route	r = { .type = type, .port = port };

	r.dst.family = (uint8_t)family;
	r.dst.len = (uint8_t)plen;
	memcpy(r.dst.addr, dst, ip_addr_len(family));
	if (gw != NULL) {
		r.has_gw = true;
		memcpy(r.gw, gw, ip_addr_len(family));
	}
	if (rt_add(rtr_table(dp->rtr, family), &r) != 0)
		abort();
}

static void
setup(void)
{
	static const uint8_t	dflt[16], net10[4] = { 10 }, gw[4] = { 198,
				    19, 2, 7 }, rej[4] = { 192, 0, 2 },
				    v6[16] = { 0xfd, 0, 0x56, 0x57 };
	struct port_config	c = { .type = "dummy-l3" };
	char			err[128];

	if (port_types_init() != 0 || (dp = dp_create()) == NULL)
		abort();
	for (int i = 0; i < NPORTS; i++) {
		snprintf(c.name, sizeof(c.name), "fz%d", i);
		c.mtu = i == 2 ? 576 : 1500;
		c.addr4 = (struct ip_prefix){ AF_INET, 24,
		    { 198, 19, (uint8_t)(i + 1), 254 } };
		c.addr6 = (struct ip_prefix){ AF_INET6, 64,
		    { 0xfd, 0, 0x56, 0x57, 0, (uint8_t)(i + 1), [15] = 1 } };
		if (dp_port_add(dp, &c, &ports[i], err, sizeof(err)) != 0)
			abort();
	}
	if (port_dummy_set_takes(ports[1], PORT_TAKES_CSUM |
	    PORT_TAKES_TSO4 | PORT_TAKES_TSO6) != 0)
		abort();
	route(AF_INET, dflt, 0, ports[2], NULL, RT_UNICAST);
	route(AF_INET, net10, 8, NULL, gw, RT_UNICAST);
	route(AF_INET, rej, 24, NULL, NULL, RT_REJECT);
	route(AF_INET6, v6, 32, ports[2], NULL, RT_UNICAST);
	rtr_set_icmp_limit(dp->rtr, 1000000, 1000000);
	listen_udp(&sinks[0], &ports[0]->addr4);
	listen_udp(&sinks[1], &ports[0]->addr6);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pkt_batch	 b;
	struct pkt		*p;
	int			 head;

	if (dp == NULL)
		setup();
	while ((head = fuzz_next_record(&data, &len, dp->pool, &p)) != -1) {
		if ((head & 0x80) && p->len >= sizeof(p->vnet)) {
			memcpy(&p->vnet, p->data, sizeof(p->vnet));
			pkt_pull(p, sizeof(p->vnet));
		}
		pkt_batch_init(&b);
		pkt_batch_add(&b, p);
		rtr_input(dp, ports[head % NPORTS], &b);
	}
	if (pkt_pool_avail(dp->pool) != DP_POOL_SIZE)
		abort();	/* a packet leaked */
	return 0;
}
