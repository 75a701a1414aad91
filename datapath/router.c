/*
 * router.c - the router's state: tables, own addresses, ICMP limits.
 */
#include <sys/random.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router.h"
#include "dp.h"

struct rtr *
rtr_create(void)
{
	struct rtr	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->rt4 = rt_table_create(AF_INET, 0)) == NULL ||
	    (r->rt6 = rt_table_create(AF_INET6, 0)) == NULL) {
		rtr_destroy(r);
		return NULL;
	}
	rtr_set_icmp_limit(r, RTR_ICMP_RATE_DEFAULT, RTR_ICMP_BURST_DEFAULT);
	/* Keyed, so a flooder cannot pick addresses that share a set. */
	if (getrandom(&r->icmp_seed, sizeof(r->icmp_seed), GRND_NONBLOCK) !=
	    sizeof(r->icmp_seed))
		r->icmp_seed = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)r;
	return r;
}

void
rtr_destroy(struct rtr *r)
{
	if (r == NULL)
		return;
	rt_table_destroy(r->rt4);
	rt_table_destroy(r->rt6);
	free(r);
}

struct rt_table *
rtr_table(struct rtr *r, int family)
{
	return family == AF_INET6 ? r->rt6 : r->rt4;
}

void
rtr_set_icmp_limit(struct rtr *r, unsigned rate, unsigned burst)
{
	r->icmp_rate = rate;
	r->icmp_burst = burst;
	r->icmp_tokens = (uint64_t)burst * 1000;
	/* Every source starts again with a full bucket of the new size. */
	memset(r->icmp_src, 0, sizeof(r->icmp_src));
}

static int
cmp4(const void *a, const void *b)
{
	return memcmp(a, b, 4);
}

static int
cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

bool
rtr_is_local(const struct rtr *r, int family, const uint8_t *addr)
{
	if (family == AF_INET)
		return bsearch(addr, r->local4, r->nlocal4, 4, cmp4) != NULL;
	return bsearch(addr, r->local6, r->nlocal6, 16, cmp16) != NULL;
}

static void
add_local(struct rtr *r, const struct ip_prefix *a)
{
	if (a->family == AF_INET && r->nlocal4 < RTR_MAX_LOCAL)
		memcpy(r->local4[r->nlocal4++], a->addr, 4);
	else if (a->family == AF_INET6 && r->nlocal6 < RTR_MAX_LOCAL)
		memcpy(r->local6[r->nlocal6++], a->addr, 16);
}

/* Rebuilds the sorted address sets and the fallback error sources. */
static void
rtr_refresh_local(struct dp *dp)
{
	struct rtr	*r = dp->rtr;
	struct port	*port;

	r->nlocal4 = r->nlocal6 = 0;
	memset(&r->fallback4, 0, sizeof(r->fallback4));
	memset(&r->fallback6, 0, sizeof(r->fallback6));
	add_local(r, &r->addr4);
	add_local(r, &r->addr6);
	TAILQ_FOREACH(port, &dp->ports, entry) {
		add_local(r, &port->addr4);
		add_local(r, &port->addr6);
		if (r->fallback4.family == 0)
			r->fallback4 = port->addr4;
		if (r->fallback6.family == 0)
			r->fallback6 = port->addr6;
	}
	qsort(r->local4, r->nlocal4, 4, cmp4);
	qsort(r->local6, r->nlocal6, 16, cmp16);
}

/* The connected route of an address: its prefix out of port. */
static int
connected_route(struct rtr *r, struct port *port, const struct ip_prefix *a,
    bool add)
{
	struct rt_route	route = { .type = RT_UNICAST, .port = port };

	if (a->family == 0 || a->len == ip_max_plen(a->family))
		return 0;
	route.dst = *a;
	ip_prefix_mask(route.dst.addr, ip_addr_len(a->family), a->len);
	if (add)
		return rt_add(rtr_table(r, a->family), &route);
	return rt_del(rtr_table(r, a->family), route.dst.addr, a->len, 0);
}

int
rtr_port_add(struct dp *dp, struct port *port)
{
	int	error;

	if ((error = connected_route(dp->rtr, port, &port->addr4, true)) != 0)
		return error;
	if ((error = connected_route(dp->rtr, port, &port->addr6, true)) != 0) {
		connected_route(dp->rtr, port, &port->addr4, false);
		return error;
	}
	rtr_refresh_local(dp);
	return 0;
}

void
rtr_port_del(struct dp *dp, struct port *port)
{
	rt_flush(dp->rtr->rt4, port);
	rt_flush(dp->rtr->rt6, port);
	memset(&port->addr4, 0, sizeof(port->addr4));
	memset(&port->addr6, 0, sizeof(port->addr6));
	rtr_refresh_local(dp);
}

void
rtr_set_address(struct dp *dp, const struct ip_prefix *a)
{
	struct rtr	*r = dp->rtr;

	if (a->family == AF_INET)
		r->addr4 = *a;
	else if (a->family == AF_INET6)
		r->addr6 = *a;
	else {
		memset(&r->addr4, 0, sizeof(r->addr4));
		memset(&r->addr6, 0, sizeof(r->addr6));
	}
	rtr_refresh_local(dp);
}
