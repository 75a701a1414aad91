/*
 * test-route.c - the routing table: longest match and metric order against
 * a brute-force reference, deletion, gateways, limits and walk order.
 *
 * The random tests draw prefixes around a few "hot" addresses so that many
 * of them nest and share bits (the cases a trie gets wrong), look up
 * addresses near those prefixes and fully random ones, and compare each
 * answer with a linear scan over every route added.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "datapath/route.h"

#include "rng.h"

#define NROUTES		3000
#define NLOOKUPS	20000

struct ref {
	struct ip_prefix	dst;
	uint32_t		metric;
	uintptr_t		port;
	bool			live;
};

static struct ref	refs[NROUTES];
static unsigned		nrefs;

/* An address that shares a random number of leading bits with base. */
static void
near_addr(uint8_t *a, const uint8_t *base, unsigned len)
{
	unsigned	keep = rng(8 * len + 1);
	uint8_t		r[16];

	rng_fill(r, len);
	for (unsigned i = 0; i < 8 * len; i++) {
		unsigned bit = 7 - i % 8;
		const uint8_t *src = i < keep ? base : r;

		a[i / 8] = (uint8_t)((a[i / 8] & ~(1u << bit)) |
		    (src[i / 8] & (1u << bit)));
	}
}

static const struct ref *
brute_lookup(const uint8_t *addr, unsigned len)
{
	const struct ref	*best = NULL;

	(void)len;
	for (unsigned i = 0; i < nrefs; i++) {
		const struct ref *r = &refs[i];

		if (!r->live || !ip_prefix_match(r->dst.addr, addr, r->dst.len))
			continue;
		if (best == NULL || r->dst.len > best->dst.len ||
		    (r->dst.len == best->dst.len && r->metric < best->metric))
			best = r;
	}
	return best;
}

static void
check_lookups(struct rt_table *t, unsigned len, const uint8_t hot[][16],
    unsigned nhot)
{
	uint8_t	addr[16] = { 0 };

	for (int i = 0; i < NLOOKUPS; i++) {
		const struct ref	*want;
		const struct rt_route	*got;

		if (i % 4 == 0)
			rng_fill(addr, len);
		else if (i % 4 == 1 && nrefs > 0)
			near_addr(addr, refs[rng(nrefs)].dst.addr, len);
		else
			near_addr(addr, hot[rng(nhot)], len);
		want = brute_lookup(addr, len);
		got = rt_lookup(t, addr);
		if (want == NULL) {
			assert_null(got);
			continue;
		}
		assert_non_null(got);
		assert_int_equal(got->dst.len, want->dst.len);
		assert_memory_equal(got->dst.addr, want->dst.addr, len);
		assert_int_equal(got->metric, want->metric);
		assert_ptr_equal(got->port, (void *)want->port);
	}
}

struct walk_check {
	const struct rt_route	*prev;
	unsigned		 n;
};

/* Each route must sort after the one before: address, length, metric. */
static void
walk_sorted(struct rt_route *r, void *arg)
{
	struct walk_check	*w = arg;
	const struct rt_route	*p = w->prev;
	int			 c;

	w->n++;
	w->prev = r;
	if (p == NULL)
		return;
	c = memcmp(p->dst.addr, r->dst.addr, ip_addr_len(r->dst.family));
	assert_true(c < 0 || (c == 0 && (p->dst.len < r->dst.len ||
	    (p->dst.len == r->dst.len && p->metric < r->metric))));
}

static void
random_table(int family)
{
	unsigned		 len = ip_addr_len(family), live = 0;
	unsigned		 maxbits = ip_max_plen(family);
	uint8_t			 hot[8][16];
	struct rt_table		*t;
	struct walk_check	 walk = { NULL, 0 };

	nrefs = 0;
	for (int i = 0; i < 8; i++)
		rng_fill(hot[i], len);
	assert_non_null(t = rt_table_create(family, 0));

	while (nrefs < NROUTES) {
		struct ref	*r = &refs[nrefs];
		struct rt_route	 route = { .type = RT_UNICAST };
		int		 error;

		memset(r, 0, sizeof(*r));
		r->dst.family = (uint8_t)family;
		r->dst.len = (uint8_t)(rng(4) == 0 ? rng(maxbits + 1) :
		    maxbits / 4 + rng(maxbits - maxbits / 4 + 1));
		near_addr(r->dst.addr, hot[rng(8)], len);
		ip_prefix_mask(r->dst.addr, len, r->dst.len);
		r->metric = rng(4);
		r->port = 1 + rng(16);
		route.dst = r->dst;
		route.metric = r->metric;
		route.port = (void *)r->port;
		error = rt_add(t, &route);
		r->live = true;
		for (unsigned i = 0; i < nrefs; i++) {
			if (refs[i].live && refs[i].dst.len == r->dst.len &&
			    refs[i].metric == r->metric &&
			    memcmp(refs[i].dst.addr, r->dst.addr, len) == 0) {
				r->live = false;	/* same prefix, metric */
				break;
			}
		}
		if (!r->live) {
			assert_int_equal(error, EEXIST);
			continue;
		}
		assert_int_equal(error, 0);
		nrefs++;
		live++;
	}
	assert_int_equal(rt_table_count(t), live);
	check_lookups(t, len, (const uint8_t (*)[16])hot, 8);
	rt_walk(t, walk_sorted, &walk);
	assert_int_equal(walk.n, live);

	/* Delete two thirds, by exact metric or by "the lowest". */
	for (unsigned i = 0; i < nrefs; i++) {
		struct ref	*r = &refs[i];

		if (!r->live || rng(3) == 0)
			continue;
		if (rng(2) == 0) {
			assert_int_equal(rt_del(t, r->dst.addr, r->dst.len,
			    r->metric), 0);
			r->live = false;
		} else {
			struct ref	*low = r;

			for (unsigned j = 0; j < nrefs; j++)
				if (refs[j].live && refs[j].dst.len ==
				    r->dst.len && memcmp(refs[j].dst.addr,
				    r->dst.addr, len) == 0 &&
				    refs[j].metric < low->metric)
					low = &refs[j];
			assert_int_equal(rt_del(t, r->dst.addr, r->dst.len,
			    -1), 0);
			low->live = false;
		}
		live--;
		assert_int_equal(rt_table_count(t), live);
	}
	check_lookups(t, len, (const uint8_t (*)[16])hot, 8);

	/* And the rest: the trie must come back empty. */
	for (unsigned i = 0; i < nrefs; i++) {
		if (!refs[i].live)
			continue;
		assert_int_equal(rt_del(t, refs[i].dst.addr, refs[i].dst.len,
		    refs[i].metric), 0);
		refs[i].live = false;
	}
	assert_int_equal(rt_table_count(t), 0);
	check_lookups(t, len, (const uint8_t (*)[16])hot, 8);
	rt_table_destroy(t);
}

static void
test_random_ipv4(void **state)
{
	(void)state;
	random_table(AF_INET);
}

static void
test_random_ipv6(void **state)
{
	(void)state;
	random_table(AF_INET6);
}

static struct rt_route
route4(const char *prefix, unsigned plen, void *port, uint32_t metric)
{
	struct rt_route	r = { .type = RT_UNICAST, .port = port,
	    .metric = metric };

	r.dst.family = AF_INET;
	r.dst.len = (uint8_t)plen;
	assert_int_equal(inet_pton(AF_INET, prefix, r.dst.addr), 1);
	return r;
}

static struct rt_route
via4(const char *prefix, unsigned plen, const char *gw)
{
	struct rt_route	r = route4(prefix, plen, NULL, 0);

	r.has_gw = true;
	assert_int_equal(inet_pton(AF_INET, gw, r.gw), 1);
	return r;
}

static struct rt_route *
lookup4(struct rt_table *t, const char *addr)
{
	uint8_t	a[4];

	assert_int_equal(inet_pton(AF_INET, addr, a), 1);
	return rt_lookup(t, a);
}

static void
add4(struct rt_table *t, struct rt_route r, int want)
{
	assert_int_equal(rt_add(t, &r), want);
}

#define P1	((void *)1)
#define P2	((void *)2)
#define P3	((void *)3)

static void
test_metric_order(void **state)
{
	struct rt_table	*t;
	uint8_t		 net[4] = { 198, 19, 2, 0 };

	(void)state;
	assert_non_null(t = rt_table_create(AF_INET, 0));
	add4(t, route4("198.19.2.0", 24, P1, 10), 0);
	add4(t, route4("198.19.2.0", 24, P2, 5), 0);
	add4(t, route4("198.19.2.0", 24, P3, 20), 0);
	add4(t, route4("198.19.2.0", 24, P3, 5), EEXIST);
	assert_ptr_equal(lookup4(t, "198.19.2.9")->port, P2);
	assert_int_equal(rt_del(t, net, 24, 5), 0);
	assert_ptr_equal(lookup4(t, "198.19.2.9")->port, P1);
	assert_int_equal(rt_del(t, net, 24, 7), ENOENT);
	assert_int_equal(rt_del(t, net, 24, -1), 0);	/* metric 10 */
	assert_int_equal(lookup4(t, "198.19.2.9")->metric, 20);
	assert_int_equal(rt_table_count(t), 1);
	rt_table_destroy(t);
}

static void
test_longest_match_and_default(void **state)
{
	struct rt_table	*t;
	struct rt_route	 reject = route4("198.19.9.0", 24, NULL, 0);

	(void)state;
	assert_non_null(t = rt_table_create(AF_INET, 0));
	assert_null(lookup4(t, "198.19.1.1"));
	add4(t, route4("0.0.0.0", 0, P1, 0), 0);
	add4(t, route4("198.19.0.0", 16, P2, 0), 0);
	add4(t, route4("198.19.1.0", 24, P3, 0), 0);
	add4(t, route4("198.19.1.77", 32, P1, 0), 0);
	reject.type = RT_REJECT;
	add4(t, reject, 0);
	assert_ptr_equal(lookup4(t, "203.0.113.1")->port, P1);
	assert_ptr_equal(lookup4(t, "198.19.200.1")->port, P2);
	assert_ptr_equal(lookup4(t, "198.19.1.76")->port, P3);
	assert_ptr_equal(lookup4(t, "198.19.1.77")->port, P1);
	assert_int_equal(lookup4(t, "198.19.9.1")->type, RT_REJECT);
	assert_null(rt_nexthop(t, lookup4(t, "198.19.9.1")));
	rt_table_destroy(t);
}

static void
test_bad_routes_and_full_table(void **state)
{
	struct rt_table	*t;
	struct rt_route	 r;

	(void)state;
	assert_non_null(t = rt_table_create(AF_INET, 3));
	add4(t, route4("198.19.1.1", 24, P1, 0), EINVAL);	/* host bits */
	add4(t, route4("198.19.1.0", 33, P1, 0), EINVAL);
	add4(t, route4("198.19.1.0", 24, NULL, 0), EINVAL);	/* no way out */
	r = route4("198.19.1.0", 24, P1, 0);
	r.dst.family = AF_INET6;
	add4(t, r, EINVAL);
	add4(t, route4("198.19.1.0", 24, P1, 0), 0);
	add4(t, route4("198.19.2.0", 24, P1, 0), 0);
	add4(t, route4("198.19.3.0", 24, P1, 0), 0);
	add4(t, route4("198.19.4.0", 24, P1, 0), ENOSPC);
	assert_int_equal(rt_table_count(t), 3);
	assert_null(rt_table_create(AF_UNIX, 0));
	rt_table_destroy(t);
}

static void
test_gateway_resolves_recursively(void **state)
{
	struct rt_table	*t;
	uint8_t		 net[4] = { 198, 19, 2, 0 }, dflt[4] = { 0 };

	(void)state;
	assert_non_null(t = rt_table_create(AF_INET, 0));
	add4(t, via4("10.0.0.0", 8, "198.19.2.7"), ENETUNREACH);
	add4(t, route4("198.19.2.0", 24, P2, 0), 0);
	add4(t, via4("10.0.0.0", 8, "198.19.2.7"), 0);
	add4(t, via4("172.16.0.0", 12, "10.1.2.3"), 0);
	assert_ptr_equal(rt_nexthop(t, lookup4(t, "172.16.5.5")), P2);
	assert_ptr_equal(rt_nexthop(t, lookup4(t, "10.9.9.9")), P2);
	rt_count_refs(t);
	assert_int_equal(lookup4(t, "198.19.2.7")->ref, 1);
	assert_int_equal(lookup4(t, "10.1.2.3")->ref, 1);
	assert_int_equal(lookup4(t, "172.16.0.1")->ref, 0);

	/* The gateway's route goes: both chains are unresolved at once. */
	assert_int_equal(rt_del(t, net, 24, -1), 0);
	assert_null(rt_nexthop(t, lookup4(t, "172.16.5.5")));
	assert_null(rt_nexthop(t, lookup4(t, "10.9.9.9")));
	add4(t, route4("198.19.2.0", 24, P3, 0), 0);
	assert_ptr_equal(rt_nexthop(t, lookup4(t, "172.16.5.5")), P3);

	/* A gateway that resolves through its own route is a loop. */
	add4(t, route4("0.0.0.0", 0, P1, 0), 0);
	add4(t, via4("192.0.2.0", 24, "192.0.2.1"), 0);
	assert_null(rt_nexthop(t, lookup4(t, "192.0.2.9")));
	assert_int_equal(rt_del(t, dflt, 0, -1), 0);
	rt_table_destroy(t);
}

static void
collect(struct rt_route *r, void *arg)
{
	char	*buf = arg, a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, r->dst.addr, a, sizeof(a));
	snprintf(buf + strlen(buf), 512 - strlen(buf), "%s/%u:%u ", a,
	    r->dst.len, r->metric);
}

static void
test_walk_order_and_flush(void **state)
{
	struct rt_table	*t;
	char		 buf[512] = "";

	(void)state;
	assert_non_null(t = rt_table_create(AF_INET, 0));
	add4(t, route4("198.19.2.0", 24, P2, 0), 0);
	add4(t, route4("0.0.0.0", 0, P1, 0), 0);
	add4(t, route4("198.19.1.0", 24, P1, 7), 0);
	add4(t, route4("198.19.0.0", 16, P2, 0), 0);
	add4(t, route4("198.19.1.0", 24, P2, 3), 0);
	add4(t, route4("198.18.0.1", 32, P1, 0), 0);
	rt_walk(t, collect, buf);
	assert_string_equal(buf, "0.0.0.0/0:0 198.18.0.1/32:0 "
	    "198.19.0.0/16:0 198.19.1.0/24:3 198.19.1.0/24:7 "
	    "198.19.2.0/24:0 ");
	assert_int_equal(rt_flush(t, P1), 3);
	buf[0] = '\0';
	rt_walk(t, collect, buf);
	assert_string_equal(buf, "198.19.0.0/16:0 198.19.1.0/24:3 "
	    "198.19.2.0/24:0 ");
	assert_int_equal(rt_flush(t, NULL), 3);
	assert_int_equal(rt_table_count(t), 0);
	assert_null(lookup4(t, "198.19.1.1"));
	rt_table_destroy(t);
}

/* More routes out of one port than rt_flush() collects in one round. */
static void
test_flush_many(void **state)
{
	struct rt_table	*t;
	char		 a[INET_ADDRSTRLEN];

	(void)state;
	assert_non_null(t = rt_table_create(AF_INET, 0));
	for (int i = 0; i < 300; i++) {
		snprintf(a, sizeof(a), "198.19.%d.0", i % 256);
		add4(t, route4(a, 24, i % 2 ? P1 : P2, (uint32_t)(i / 256)),
		    0);
	}
	assert_int_equal(rt_flush(t, P1), 150);
	assert_int_equal(rt_table_count(t), 150);
	assert_ptr_equal(lookup4(t, "198.19.4.1")->port, P2);
	rt_table_destroy(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_ipv4),
		cmocka_unit_test(test_random_ipv6),
		cmocka_unit_test(test_metric_order),
		cmocka_unit_test(test_longest_match_and_default),
		cmocka_unit_test(test_bad_routes_and_full_table),
		cmocka_unit_test(test_gateway_resolves_recursively),
		cmocka_unit_test(test_walk_order_and_flush),
		cmocka_unit_test(test_flush_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
