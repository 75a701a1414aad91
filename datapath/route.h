/*
 * route.h - a routing table: longest-prefix match, metrics, gateways.
 *
 * One table per address family.  Prefixes live in a path-compressed binary
 * trie (after WireGuard's allowedips): every node holds a prefix, a node
 * with no routes is a glue node that exists only to branch and always has
 * two children, and a lookup walks down from the root comparing at most the
 * node's prefix, so it costs O(address bits) whatever the table size.  The
 * deepest node on the path that has routes wins; its routes are kept sorted
 * by metric and the first (lowest metric) is used.  Two routes may share a
 * prefix only with different metrics (EEXIST otherwise).
 *
 * A route goes out of a port, is a reject route (packets get Destination
 * Unreachable), or names only a gateway: the gateway is then looked up in
 * the same table, recursively (at most RT_MAX_DEPTH steps, so a loop ends
 * unresolved), the way the kernel finds the device of a "via" route.  The
 * result is cached in the route and revalidated by a generation number that
 * every change to the table bumps, so the forwarding path resolves once per
 * change, not once per packet.  A route with both a port and a gateway goes
 * out of that port (the gateway is only recorded: on a point-to-point L3
 * port there is no neighbour to address).
 *
 * Ports are opaque pointers here.  Nothing on the lookup path allocates;
 * add and delete allocate and free nodes (control plane only).
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "ip.h"

#define RT_MAX_DEFAULT	65536	/* routes per table */
#define RT_MAX_DEPTH	8	/* gateway resolution steps */

enum rt_type {
	RT_UNICAST,		/* out of port, or towards gw */
	RT_REJECT,		/* Destination Unreachable */
};

struct rt_route {
	struct rt_route	*next;		/* same prefix, higher metric */
	struct ip_prefix dst;		/* host bits clear */
	enum rt_type	 type;
	void		*port;		/* NULL: reject, or resolved via gw */
	bool		 has_gw;
	uint8_t		 gw[16];
	uint32_t	 metric;
	uint64_t	 use;		/* packets forwarded by this route */
	void		*via_port;	/* gateway resolution cache */
	uint64_t	 via_gen;
	unsigned	 ref;		/* set by rt_count_refs() */
};

struct rt_table;

/* Basics.  max 0 means RT_MAX_DEFAULT; NULL with errno on failure. */
struct rt_table	*rt_table_create(int family, unsigned max);
void		 rt_table_destroy(struct rt_table *);
unsigned	 rt_table_count(const struct rt_table *);

/*
 * Adds a copy of r (its dst, type, port, gateway and metric).  Returns 0,
 * EINVAL (bad length, host bits set, no port nor gateway), EEXIST (same
 * prefix and metric), ENOSPC (table full), ENETUNREACH (gateway-only route
 * whose gateway does not resolve now) or ENOMEM.
 */
int		 rt_add(struct rt_table *, const struct rt_route *r);
/*
 * The same without ENETUNREACH: for a saved table being restored, whose
 * gateways may resolve only once later lines ran, or not yet at all (a
 * route stays when the route to its gateway goes).
 */
int		 rt_add_unresolved(struct rt_table *, const struct rt_route *r);
/* Deletes the route of that prefix and metric (-1: the lowest); ENOENT. */
int		 rt_del(struct rt_table *, const uint8_t *addr, unsigned plen,
		    int64_t metric);
/* Deletes every route out of port (NULL: every route); returns how many. */
unsigned	 rt_flush(struct rt_table *, void *port);

/* The route in use for addr (longest prefix, lowest metric), or NULL. */
struct rt_route	*rt_lookup(const struct rt_table *, const uint8_t *addr);
/* The port a unicast route sends out of, or NULL while unresolved. */
void		*rt_nexthop(struct rt_table *, struct rt_route *);

/*
 * Visits every route in (address, prefix length, metric) order.  The
 * table must not change during the walk.
 */
void		 rt_walk(const struct rt_table *,
		    void (*)(struct rt_route *, void *), void *arg);
/* Sets each route's ref: how many gateway-only routes resolve through it. */
void		 rt_count_refs(struct rt_table *);

#endif
