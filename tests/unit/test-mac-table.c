/*
 * test-mac-table.c - the learning table: learning, moves, ageing, the LRU,
 * static entries, resizing, and a long random run against a brute-force
 * model of the same rules.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "datapath/mac-table.h"
#include "rng.h"

static int	port_storage[8];
#define P(n)	((void *)&port_storage[n])

/* A locally administered unicast MAC: 02:00:00:00:hi:lo. */
static const uint8_t *
M(unsigned n)
{
	static uint8_t	macs[4][6];
	static unsigned	next;
	uint8_t		*m = macs[next++ % 4];

	m[0] = 0x02;
	m[1] = 0;
	m[2] = (uint8_t)(n >> 24);
	m[3] = (uint8_t)(n >> 16);
	m[4] = (uint8_t)(n >> 8);
	m[5] = (uint8_t)n;
	return m;
}

static struct mac_table_stats
stats(const struct mac_table *t)
{
	struct mac_table_stats	st;

	mac_table_get_stats(t, &st);
	return st;
}

static void
test_learn_and_lookup(void **state)
{
	struct mac_table	*t = mac_table_create(16, 300);

	(void)state;
	assert_non_null(t);
	assert_int_equal(mac_table_max(t), 16);
	assert_int_equal(mac_table_ageing(t), 300);
	assert_null(mac_table_lookup(t, M(1), 0, 100));

	assert_int_equal(mac_table_learn(t, M(1), 0, P(1), 100), MAC_LEARN_NEW);
	assert_ptr_equal(mac_table_lookup(t, M(1), 0, 100), P(1));
	assert_null(mac_table_lookup(t, M(1), 1, 100));	/* other VLAN */
	assert_null(mac_table_lookup(t, M(2), 0, 100));
	assert_int_equal(stats(t).count, 1);
	assert_int_equal(stats(t).learned, 1);
	mac_table_destroy(t);
}

static void
test_ignores_multicast_broadcast_zero(void **state)
{
	struct mac_table	*t = mac_table_create(16, 300);
	const uint8_t		 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint8_t		 mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	const uint8_t		 zero[6] = { 0 };

	(void)state;
	assert_int_equal(mac_table_learn(t, bcast, 0, P(1), 1),
	    MAC_LEARN_IGNORED);
	assert_int_equal(mac_table_learn(t, mcast, 0, P(1), 1),
	    MAC_LEARN_IGNORED);
	assert_int_equal(mac_table_learn(t, zero, 0, P(1), 1),
	    MAC_LEARN_IGNORED);
	assert_int_equal(stats(t).count, 0);
	assert_int_equal(stats(t).learned, 0);
	assert_null(mac_table_lookup(t, bcast, 0, 1));
	mac_table_destroy(t);
}

static void
test_refresh_and_move(void **state)
{
	struct mac_table	*t = mac_table_create(16, 300);

	(void)state;
	mac_table_learn(t, M(1), 0, P(1), 100);
	assert_int_equal(mac_table_learn(t, M(1), 0, P(1), 100),
	    MAC_LEARN_REFRESHED);
	assert_int_equal(mac_table_learn(t, M(1), 0, P(1), 150),
	    MAC_LEARN_REFRESHED);
	assert_int_equal(mac_table_learn(t, M(1), 0, P(2), 160),
	    MAC_LEARN_MOVED);
	assert_ptr_equal(mac_table_lookup(t, M(1), 0, 160), P(2));

	struct mac_table_stats st = stats(t);
	assert_int_equal(st.count, 1);
	assert_int_equal(st.learned, 1);
	assert_int_equal(st.moves, 1);

	unsigned cursor = 0;
	const struct mac_entry *e = mac_table_next(t, &cursor);
	assert_non_null(e);
	assert_int_equal(e->seen, 160);
	assert_ptr_equal(e->port, P(2));
	assert_false(e->is_static);
	mac_table_destroy(t);
}

static void
test_ageing(void **state)
{
	struct mac_table	*t = mac_table_create(16, 10);

	(void)state;
	mac_table_learn(t, M(1), 0, P(1), 100);
	mac_table_learn(t, M(2), 0, P(1), 100);
	mac_table_learn(t, M(2), 0, P(1), 105);	/* refresh extends life */

	assert_ptr_equal(mac_table_lookup(t, M(1), 0, 109), P(1));
	assert_int_equal(mac_table_expire(t, 109), 0);

	/* Stale but not swept: invisible to lookup, still counted. */
	assert_null(mac_table_lookup(t, M(1), 0, 110));
	assert_ptr_equal(mac_table_lookup(t, M(2), 0, 110), P(1));
	assert_int_equal(stats(t).count, 2);

	assert_int_equal(mac_table_expire(t, 110), 1);
	assert_int_equal(stats(t).count, 1);
	assert_int_equal(stats(t).expired, 1);
	assert_int_equal(mac_table_expire(t, 114), 0);
	assert_int_equal(mac_table_expire(t, 115), 1);
	assert_int_equal(stats(t).count, 0);
	mac_table_destroy(t);
}

/* A stale entry is as good as gone: seeing it again elsewhere is no move. */
static void
test_stale_entry_relearned_as_new(void **state)
{
	struct mac_table	*t = mac_table_create(16, 10);

	(void)state;
	mac_table_learn(t, M(1), 0, P(1), 100);
	assert_int_equal(mac_table_learn(t, M(1), 0, P(2), 200),
	    MAC_LEARN_NEW);
	assert_ptr_equal(mac_table_lookup(t, M(1), 0, 200), P(2));
	assert_int_equal(stats(t).moves, 0);
	assert_int_equal(stats(t).expired, 1);
	assert_int_equal(stats(t).learned, 2);
	assert_int_equal(stats(t).count, 1);
	mac_table_destroy(t);
}

static void
test_full_replaces_oldest(void **state)
{
	struct mac_table	*t = mac_table_create(4, 300);

	(void)state;
	for (unsigned i = 0; i < 4; i++)
		mac_table_learn(t, M(i), 0, P(1), 100 + i);
	assert_int_equal(mac_table_learn(t, M(4), 0, P(1), 104),
	    MAC_LEARN_NEW);
	assert_null(mac_table_lookup(t, M(0), 0, 104));
	for (unsigned i = 1; i < 5; i++)
		assert_ptr_equal(mac_table_lookup(t, M(i), 0, 104), P(1));
	assert_int_equal(stats(t).count, 4);
	assert_int_equal(stats(t).evictions, 1);

	/* Ten newcomers within one second: the oldest go, in order. */
	for (unsigned i = 10; i < 20; i++)
		mac_table_learn(t, M(i), 0, P(1), 105);
	assert_int_equal(stats(t).evictions, 11);
	for (unsigned i = 10; i < 20; i++)
		assert_true((mac_table_lookup(t, M(i), 0, 105) != NULL) ==
		    (i >= 16));
	mac_table_destroy(t);
}

/*
 * When full, the victim is the oldest entry of the port holding the most,
 * not the oldest entry of the table.
 */
static void
test_full_evicts_from_biggest_port(void **state)
{
	struct mac_table	*t = mac_table_create(4, 300);

	(void)state;
	mac_table_learn(t, M(4), 0, P(2), 100);		/* oldest of all */
	for (unsigned i = 1; i <= 3; i++)
		mac_table_learn(t, M(i), 0, P(1), 100 + i);
	mac_table_learn(t, M(5), 0, P(3), 110);		/* P1 has 3 */
	assert_null(mac_table_lookup(t, M(1), 0, 110));
	mac_table_learn(t, M(6), 0, P(3), 111);		/* P1 has 2 */
	assert_null(mac_table_lookup(t, M(2), 0, 111));
	mac_table_learn(t, M(7), 0, P(3), 112);		/* now P3 has 2 */
	assert_null(mac_table_lookup(t, M(5), 0, 112));
	assert_ptr_equal(mac_table_lookup(t, M(3), 0, 112), P(1));
	assert_ptr_equal(mac_table_lookup(t, M(4), 0, 112), P(2));
	assert_ptr_equal(mac_table_lookup(t, M(6), 0, 112), P(3));
	assert_ptr_equal(mac_table_lookup(t, M(7), 0, 112), P(3));
	assert_int_equal(stats(t).evictions, 3);

	/* Static entries count for no port and are never the victim. */
	mac_table_del(t, M(7), 0);
	mac_table_add_static(t, M(8), 0, P(3));
	mac_table_learn(t, M(9), 0, P(1), 113);		/* ties: 1, 1, 1 */
	assert_ptr_equal(mac_table_lookup(t, M(8), 0, 113), P(3));
	assert_int_equal(stats(t).count, 4);
	mac_table_destroy(t);
}

static unsigned
entries_of(const struct mac_table *t, void *port)
{
	const struct mac_entry	*e;
	unsigned		 cursor = 0, n = 0;

	while ((e = mac_table_next(t, &cursor)) != NULL)
		n += e->port == port;
	return n;
}

/*
 * A flood of new source MACs from one port recycles that port's own
 * entries once it holds the most: ports holding fewer keep all of theirs,
 * a port holding more is cut down to the flooder's size and no further.
 */
static void
test_flood_from_one_port_is_fair(void **state)
{
	struct mac_table	*t = mac_table_create(100, 300);

	(void)state;
	for (unsigned p = 1; p <= 3; p++) {
		for (unsigned i = 0; i < 20; i++)
			mac_table_learn(t, M(p * 100 + i), 0, P(p), 100);
	}
	for (unsigned i = 0; i < 10000; i++)
		assert_int_equal(mac_table_learn(t, M(100000 + i), 0, P(4),
		    100 + i / 1000), MAC_LEARN_NEW);
	for (unsigned p = 1; p <= 3; p++) {
		for (unsigned i = 0; i < 20; i++)
			assert_ptr_equal(mac_table_lookup(t, M(p * 100 + i), 0,
			    110), P(p));
	}
	assert_int_equal(entries_of(t, P(4)), 40);
	for (unsigned i = 10000 - 40; i < 10000; i++)
		assert_ptr_equal(mac_table_lookup(t, M(100000 + i), 0, 110),
		    P(4));
	mac_table_destroy(t);

	t = mac_table_create(100, 300);
	for (unsigned i = 0; i < 60; i++)
		mac_table_learn(t, M(100 + i), 0, P(1), 100 + i);
	for (unsigned i = 0; i < 20; i++)
		mac_table_learn(t, M(200 + i), 0, P(2), 100);
	for (unsigned i = 0; i < 10000; i++)
		mac_table_learn(t, M(100000 + i), 0, P(3), 200);
	assert_int_equal(entries_of(t, P(2)), 20);
	assert_true(entries_of(t, P(1)) >= 39 && entries_of(t, P(1)) <= 40);
	assert_int_equal(entries_of(t, P(1)) + entries_of(t, P(3)), 80);
	/* P1 lost its oldest: what it kept is its newest. */
	for (unsigned i = 60 - 39; i < 60; i++)
		assert_ptr_equal(mac_table_lookup(t, M(100 + i), 0, 200), P(1));
	mac_table_destroy(t);
}

/* Hundreds of ports: per-port records grow, and go with a port's entries. */
static void
test_many_ports(void **state)
{
	static int		 many[1000];
	struct mac_table	*t = mac_table_create(8192, 300);

	(void)state;
	for (unsigned p = 0; p < 1000; p++) {
		for (unsigned i = 0; i < 5; i++)
			assert_int_equal(mac_table_learn(t, M(p * 8 + i), 0,
			    &many[p], 100), MAC_LEARN_NEW);
	}
	for (unsigned p = 0; p < 1000; p += 2)
		assert_int_equal(mac_table_flush(t, &many[p]), 5);
	/* Moves between ports keep counts right. */
	for (unsigned p = 1; p < 1000; p += 2)
		assert_int_equal(mac_table_learn(t, M(p * 8), 0,
		    &many[(p + 2) % 1000], 101), MAC_LEARN_MOVED);
	/* Fill up from a new port: every other port keeps what it has. */
	for (unsigned i = 0; i < 20000; i++)
		mac_table_learn(t, M(100000 + i), 0, &many[0], 102);
	assert_int_equal(stats(t).count, 8192);
	for (unsigned p = 1; p < 1000; p += 2) {
		for (unsigned i = 1; i < 5; i++)
			assert_ptr_equal(mac_table_lookup(t, M(p * 8 + i), 0,
			    102), &many[p]);
		assert_ptr_equal(mac_table_lookup(t, M(p * 8), 0, 102),
		    &many[(p + 2) % 1000]);
	}
	assert_int_equal(entries_of(t, &many[0]), 8192 - 500 * 5);
	assert_int_equal(mac_table_flush(t, &many[0]), 8192 - 2500);
	assert_int_equal(mac_table_expire(t, 102 + 300), 2500);
	assert_int_equal(stats(t).count, 0);
	mac_table_destroy(t);
}

static void
test_lru_follows_refresh(void **state)
{
	struct mac_table	*t = mac_table_create(3, 300);

	(void)state;
	mac_table_learn(t, M(0), 0, P(1), 100);
	mac_table_learn(t, M(1), 0, P(1), 101);
	mac_table_learn(t, M(2), 0, P(1), 102);
	mac_table_learn(t, M(0), 0, P(1), 103);	/* M(1) is now oldest */
	mac_table_learn(t, M(3), 0, P(1), 104);
	assert_null(mac_table_lookup(t, M(1), 0, 104));
	assert_non_null(mac_table_lookup(t, M(0), 0, 104));
	assert_non_null(mac_table_lookup(t, M(2), 0, 104));

	/* A move refreshes too. */
	mac_table_learn(t, M(2), 0, P(2), 105);	/* order: 0, 3, 2 */
	mac_table_learn(t, M(4), 0, P(1), 106);
	assert_null(mac_table_lookup(t, M(0), 0, 106));
	assert_non_null(mac_table_lookup(t, M(2), 0, 106));
	mac_table_destroy(t);
}

/*
 * Within one second a refresh does not touch the list (that is the point:
 * one list update per MAC per second), so ties go by first sight.
 */
static void
test_lru_resolution_is_one_second(void **state)
{
	struct mac_table	*t = mac_table_create(3, 300);

	(void)state;
	mac_table_learn(t, M(0), 0, P(1), 100);
	mac_table_learn(t, M(1), 0, P(1), 100);
	mac_table_learn(t, M(2), 0, P(1), 100);
	mac_table_learn(t, M(0), 0, P(1), 100);
	mac_table_learn(t, M(3), 0, P(1), 100);
	assert_null(mac_table_lookup(t, M(0), 0, 100));
	assert_non_null(mac_table_lookup(t, M(1), 0, 100));
	mac_table_destroy(t);
}

static void
test_static_entries(void **state)
{
	struct mac_table	*t = mac_table_create(2, 10);
	const uint8_t		 mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	const uint8_t		 zero[6] = { 0 };

	(void)state;
	assert_int_equal(mac_table_add_static(t, M(0), 0, P(1)), 0);
	assert_int_equal(stats(t).static_count, 1);

	/* Never ages, never moves by learning. */
	assert_int_equal(mac_table_expire(t, 1000000), 0);
	assert_ptr_equal(mac_table_lookup(t, M(0), 0, 1000000), P(1));
	assert_int_equal(mac_table_learn(t, M(0), 0, P(2), 1000000),
	    MAC_LEARN_STATIC);
	assert_ptr_equal(mac_table_lookup(t, M(0), 0, 1000000), P(1));

	/* Never evicted: learning churns through the one other slot. */
	for (unsigned i = 1; i < 10; i++)
		assert_int_equal(mac_table_learn(t, M(i), 0, P(2), 100 + i),
		    MAC_LEARN_NEW);
	assert_ptr_equal(mac_table_lookup(t, M(0), 0, 200), P(1));
	assert_int_equal(stats(t).evictions, 8);

	/* A static replaces the learned entry for its key, then fills up. */
	assert_int_equal(mac_table_add_static(t, M(9), 0, P(3)), 0);
	assert_int_equal(stats(t).count, 2);
	assert_int_equal(stats(t).static_count, 2);
	assert_ptr_equal(mac_table_lookup(t, M(9), 0, 109), P(3));
	assert_int_equal(mac_table_learn(t, M(20), 0, P(1), 110),
	    MAC_LEARN_FULL);
	assert_int_equal(stats(t).learn_failed, 1);
	assert_int_equal(mac_table_add_static(t, M(21), 0, P(1)), ENOSPC);

	/* Re-adding an existing static just repoints it. */
	assert_int_equal(mac_table_add_static(t, M(9), 0, P(4)), 0);
	assert_ptr_equal(mac_table_lookup(t, M(9), 0, 109), P(4));
	assert_int_equal(stats(t).count, 2);

	assert_int_equal(mac_table_add_static(t, mcast, 0, P(1)), EINVAL);
	assert_int_equal(mac_table_add_static(t, zero, 0, P(1)), EINVAL);
	assert_int_equal(mac_table_add_static(t, M(30), 0, NULL), EINVAL);
	assert_int_equal(mac_table_add_static(t, M(30), 4096, P(1)), EINVAL);
	mac_table_destroy(t);
}

static void
test_del_and_flush(void **state)
{
	struct mac_table	*t = mac_table_create(64, 300);

	(void)state;
	for (unsigned i = 0; i < 30; i++)
		mac_table_learn(t, M(i), 0, P(i % 3), 100);
	mac_table_add_static(t, M(100), 0, P(1));
	mac_table_add_static(t, M(101), 0, P(2));

	assert_int_equal(mac_table_del(t, M(0), 0), 0);
	assert_int_equal(mac_table_del(t, M(0), 0), ENOENT);
	assert_int_equal(mac_table_del(t, M(1), 7), ENOENT);
	assert_int_equal(mac_table_del(t, M(101), 0), 0);	/* static */
	assert_null(mac_table_lookup(t, M(0), 0, 100));
	assert_int_equal(stats(t).count, 30);

	/* Every other entry must still be found after deletes. */
	for (unsigned i = 1; i < 30; i++)
		assert_ptr_equal(mac_table_lookup(t, M(i), 0, 100), P(i % 3));

	assert_int_equal(mac_table_flush(t, P(1)), 11);	/* 10 + static */
	for (unsigned i = 1; i < 30; i++)
		assert_true((mac_table_lookup(t, M(i), 0, 100) == NULL) ==
		    (i % 3 == 1));
	assert_int_equal(stats(t).static_count, 0);
	assert_int_equal(mac_table_flush(t, NULL), 19);
	assert_int_equal(stats(t).count, 0);

	/* Slots come back: the table fills to max again. */
	for (unsigned i = 0; i < 64; i++)
		mac_table_learn(t, M(1000 + i), 0, P(1), 200);
	assert_int_equal(stats(t).count, 64);
	assert_int_equal(stats(t).evictions, 0);
	mac_table_destroy(t);
}

static void
test_set_max(void **state)
{
	struct mac_table	*t = mac_table_create(8, 300);

	(void)state;
	mac_table_add_static(t, M(100), 0, P(1));
	for (unsigned i = 0; i < 6; i++)
		mac_table_learn(t, M(i), 0, P(1), 100 + i);
	mac_table_learn(t, M(0), 0, P(1), 110);		/* now newest */

	assert_int_equal(mac_table_set_max(t, 0), EINVAL);
	assert_int_equal(mac_table_set_max(t, MAC_MAX_LIMIT + 1), EINVAL);
	assert_int_equal(mac_table_set_max(t, 3), 0);
	assert_int_equal(mac_table_max(t), 3);
	assert_int_equal(stats(t).count, 3);
	assert_int_equal(stats(t).evictions, 4);
	assert_non_null(mac_table_lookup(t, M(100), 0, 110));
	assert_non_null(mac_table_lookup(t, M(5), 0, 110));
	assert_non_null(mac_table_lookup(t, M(0), 0, 110));

	/* The LRU order survived the resize. */
	mac_table_learn(t, M(6), 0, P(1), 111);
	assert_null(mac_table_lookup(t, M(5), 0, 111));
	assert_non_null(mac_table_lookup(t, M(0), 0, 111));

	/* Statics alone may not exceed max. */
	mac_table_add_static(t, M(101), 0, P(1));
	mac_table_add_static(t, M(102), 0, P(1));
	assert_int_equal(mac_table_set_max(t, 2), EBUSY);
	assert_int_equal(mac_table_max(t), 3);
	assert_int_equal(stats(t).count, 3);

	/* Growing keeps everything and makes room. */
	assert_int_equal(mac_table_set_max(t, 1000), 0);
	for (unsigned i = 0; i < 997; i++)
		assert_int_equal(mac_table_learn(t, M(2000 + i), 5, P(2), 120),
		    MAC_LEARN_NEW);
	assert_int_equal(stats(t).count, 1000);
	for (unsigned i = 0; i < 997; i++)
		assert_ptr_equal(mac_table_lookup(t, M(2000 + i), 5, 120),
		    P(2));
	assert_int_equal(stats(t).static_count, 3);
	mac_table_destroy(t);
}

static void
test_set_ageing(void **state)
{
	struct mac_table	*t = mac_table_create(8, 300);

	(void)state;
	mac_table_set_ageing(t, 0);			/* never age */
	assert_int_equal(mac_table_ageing(t), 0);
	mac_table_learn(t, M(1), 0, P(1), 100);
	assert_ptr_equal(mac_table_lookup(t, M(1), 0, 100 + 1000000000), P(1));
	assert_int_equal(mac_table_expire(t, 100 + 1000000000), 0);

	/* A shorter time applies at once to lookups, and to the next sweep. */
	mac_table_set_ageing(t, 5);
	assert_ptr_equal(mac_table_lookup(t, M(1), 0, 104), P(1));
	assert_null(mac_table_lookup(t, M(1), 0, 105));
	assert_int_equal(mac_table_expire(t, 105), 1);
	mac_table_destroy(t);
}

static void
test_create_bounds(void **state)
{
	(void)state;
	errno = 0;
	assert_null(mac_table_create(0, 300));
	assert_int_equal(errno, EINVAL);
	assert_null(mac_table_create(MAC_MAX_LIMIT + 1, 300));
	struct mac_table *t = mac_table_create(MAC_MAX_LIMIT, 300);
	assert_non_null(t);
	mac_table_destroy(t);
	mac_table_destroy(NULL);
}

static void
test_iteration_visits_each_once(void **state)
{
	struct mac_table	*t = mac_table_create(256, 300);
	const struct mac_entry	*e;
	unsigned		 cursor = 0, n = 0;
	int			 visits[200] = { 0 };

	(void)state;
	for (unsigned i = 0; i < 150; i++)
		mac_table_learn(t, M(i), (uint16_t)(i % 4), P(1), 100);
	for (unsigned i = 150; i < 160; i++)
		mac_table_add_static(t, M(i), 0, P(2));
	for (unsigned i = 0; i < 150; i += 7)
		mac_table_del(t, M(i), (uint16_t)(i % 4));

	while ((e = mac_table_next(t, &cursor)) != NULL) {
		unsigned i = (unsigned)e->mac[4] << 8 | e->mac[5];
		assert_true(i < 160);
		assert_int_equal(e->is_static, i >= 150);
		assert_int_equal(e->vlan, i < 150 ? i % 4 : 0);
		visits[i]++;
		n++;
	}
	assert_int_equal(n, stats(t).count);
	for (unsigned i = 0; i < 160; i++)
		assert_int_equal(visits[i], i < 150 && i % 7 == 0 ? 0 : 1);
	assert_null(mac_table_next(t, &cursor));
	mac_table_destroy(t);
}

/*
 * The model: a plain array scanned for everything, with each learned
 * entry's LRU position as a sequence number taken whenever seen changes or
 * the entry moves to another port (the newest end of that port's list).
 */
struct model_entry {
	unsigned	mac;
	uint16_t	vlan;
	void		*port;
	time_t		seen;
	bool		is_static;
	uint64_t	order;
};

struct model {
	struct model_entry	e[1024];
	unsigned		n, max, ageing;
	uint64_t		seq;
	struct mac_table_stats	st;
};

static int
model_find(const struct model *m, unsigned mac, uint16_t vlan)
{
	for (unsigned i = 0; i < m->n; i++) {
		if (m->e[i].mac == mac && m->e[i].vlan == vlan)
			return (int)i;
	}
	return -1;
}

static bool
model_stale(const struct model *m, const struct model_entry *e, time_t now)
{
	return m->ageing != 0 && !e->is_static &&
	    now - e->seen >= (time_t)m->ageing;
}

static void
model_remove(struct model *m, int i)
{
	if (m->e[i].is_static)
		m->st.static_count--;
	m->st.count--;
	m->e[i] = m->e[--m->n];
}

static unsigned
port_no(const void *port)
{
	return (unsigned)((const int *)port - port_storage);
}

/* Whether the real table still holds (mac, vlan), stale or not. */
static bool
table_has(const struct mac_table *t, unsigned mac, uint16_t vlan)
{
	const struct mac_entry	*e;
	unsigned		 cursor = 0;

	while ((e = mac_table_next(t, &cursor)) != NULL) {
		if (((unsigned)e->mac[4] << 8 | e->mac[5]) == mac &&
		    e->vlan == vlan)
			return true;
	}
	return false;
}

/*
 * The fair rule leaves a choice between ports tied for the most learned
 * entries, so the model lists every allowed victim (the oldest entry of
 * each such port), checks that the table removed one of them, and follows.
 * Returns the model index of that victim, or -1 without learned entries.
 */
static int
model_victim(const struct model *m, const struct mac_table *t)
{
	unsigned	count[8] = { 0 }, most = 0;
	int		oldest[8];

	for (unsigned p = 0; p < 8; p++)
		oldest[p] = -1;
	for (unsigned i = 0; i < m->n; i++) {
		const struct model_entry *e = &m->e[i];
		unsigned p = port_no(e->port);
		if (e->is_static)
			continue;
		if (++count[p] > most)
			most = count[p];
		if (oldest[p] < 0 || e->order < m->e[oldest[p]].order)
			oldest[p] = (int)i;
	}
	if (most == 0)
		return -1;
	for (unsigned p = 0; p < 8; p++) {
		const struct model_entry *e;
		if (count[p] != most)
			continue;
		e = &m->e[oldest[p]];
		if (!table_has(t, e->mac, e->vlan))
			return oldest[p];
	}
	fail_msg("the table evicted none of the allowed victims");
	return -1;
}

static void
model_insert(struct model *m, unsigned mac, uint16_t vlan, void *port,
    time_t seen, bool is_static)
{
	m->e[m->n++] = (struct model_entry){ mac, vlan, port, seen, is_static,
	    ++m->seq };
	m->st.count++;
	if (is_static)
		m->st.static_count++;
}

/* Called after the table did the same; t resolves the eviction choice. */
static enum mac_learn_result
model_learn(struct model *m, const struct mac_table *t, unsigned mac,
    uint16_t vlan, void *port, time_t now)
{
	int	i = model_find(m, mac, vlan);

	if (i >= 0) {
		struct model_entry *e = &m->e[i];
		if (e->is_static)
			return MAC_LEARN_STATIC;
		if (model_stale(m, e, now)) {
			m->st.expired++;
			m->st.learned++;
			e->port = port;
			e->seen = now;
			e->order = ++m->seq;
			return MAC_LEARN_NEW;
		}
		if (now > e->seen) {
			e->seen = now;
			e->order = ++m->seq;
		}
		if (e->port != port) {
			/* The newest end of its new port's list. */
			e->port = port;
			e->order = ++m->seq;
			m->st.moves++;
			return MAC_LEARN_MOVED;
		}
		return MAC_LEARN_REFRESHED;
	}
	if (m->n >= m->max) {
		int v = model_victim(m, t);
		if (v < 0) {
			m->st.learn_failed++;
			return MAC_LEARN_FULL;
		}
		if (model_stale(m, &m->e[v], now))
			m->st.expired++;
		else
			m->st.evictions++;
		model_remove(m, v);
	}
	model_insert(m, mac, vlan, port, now, false);
	m->st.learned++;
	return MAC_LEARN_NEW;
}

static int
model_add_static(struct model *m, const struct mac_table *t, unsigned mac,
    uint16_t vlan, void *port)
{
	int	i = model_find(m, mac, vlan);

	if (i >= 0) {
		if (!m->e[i].is_static)
			m->st.static_count++;
		m->e[i].is_static = true;
		m->e[i].port = port;
		return 0;
	}
	if (m->n >= m->max) {
		int v = model_victim(m, t);
		if (v < 0)
			return ENOSPC;
		m->st.evictions++;
		model_remove(m, v);
	}
	model_insert(m, mac, vlan, port, 0, true);
	return 0;
}

static unsigned
model_expire(struct model *m, time_t now)
{
	unsigned	n = 0;

	for (int i = (int)m->n - 1; i >= 0; i--) {
		if (model_stale(m, &m->e[i], now)) {
			model_remove(m, i);
			m->st.expired++;
			n++;
		}
	}
	return n;
}

static int
model_set_max(struct model *m, const struct mac_table *t, unsigned max)
{
	if (max == m->max)
		return 0;
	if (m->st.static_count > max)
		return EBUSY;
	while (m->n > max) {
		model_remove(m, model_victim(m, t));
		m->st.evictions++;
	}
	m->max = max;
	return 0;
}

static void
assert_same(const struct mac_table *t, const struct model *m, time_t now)
{
	struct mac_table_stats	st = stats(t);
	const struct mac_entry	*e;
	unsigned		 cursor = 0, n = 0;

	assert_memory_equal(&st, &m->st, sizeof(st));
	while ((e = mac_table_next(t, &cursor)) != NULL) {
		unsigned mac = (unsigned)e->mac[4] << 8 | e->mac[5];
		int i = model_find(m, mac, e->vlan);
		assert_true(i >= 0);
		assert_ptr_equal(e->port, m->e[i].port);
		assert_int_equal(e->is_static, m->e[i].is_static);
		if (!e->is_static)
			assert_int_equal(e->seen, m->e[i].seen);
		assert_ptr_equal(mac_table_lookup(t, e->mac, e->vlan, now),
		    model_stale(m, &m->e[i], now) ? NULL : m->e[i].port);
		n++;
	}
	assert_int_equal(n, m->n);
}



static void
test_random_against_model(void **state)
{
	static struct model	 m;
	struct mac_table	*t;
	time_t			 now = 1000;
	const char		*seed = getenv("MAC_TEST_SEED");

	(void)state;
	rng_state = seed != NULL ? strtoull(seed, NULL, 0) : 0x5eed1234abcdULL;
	if (rng_state == 0)
		rng_state = 1;
	memset(&m, 0, sizeof(m));
	m.max = 64;
	m.ageing = 20;
	t = mac_table_create(m.max, m.ageing);

	for (unsigned op = 0; op < 400000; op++) {
		unsigned	mac = rng(160);
		uint16_t	vlan = (uint16_t)rng(3);
		void		*port = P(1 + rng(4));
		uint8_t		 mb[6];
		uint32_t	 r = rng(1000);

		memcpy(mb, M(mac), sizeof(mb));
		if (rng(8) == 0)
			now += rng(4);

		if (r < 600) {
			enum mac_learn_result got = mac_table_learn(t, mb, vlan,
			    port, now);
			assert_int_equal(got, model_learn(&m, t, mac, vlan, port,
			    now));
		} else if (r < 800) {
			int i = model_find(&m, mac, vlan);
			void *want = i >= 0 && !model_stale(&m, &m.e[i], now) ?
			    m.e[i].port : NULL;
			assert_ptr_equal(mac_table_lookup(t, mb, vlan, now),
			    want);
		} else if (r < 810) {
			int got = mac_table_add_static(t, mb, vlan, port);
			assert_int_equal(got, model_add_static(&m, t, mac, vlan,
			    port));
		} else if (r < 880) {
			int i = model_find(&m, mac, vlan);
			if (i >= 0)
				model_remove(&m, i);
			assert_int_equal(mac_table_del(t, mb, vlan),
			    i >= 0 ? 0 : ENOENT);
		} else if (r < 882) {
			unsigned n = 0;
			for (int i = (int)m.n - 1; i >= 0; i--) {
				if (m.e[i].port == port) {
					model_remove(&m, i);
					n++;
				}
			}
			assert_int_equal(mac_table_flush(t, port), n);
		} else if (r < 990) {
			assert_int_equal(mac_table_expire(t, now),
			    model_expire(&m, now));
		} else if (r < 994) {
			unsigned max = 1 + rng(120);
			int got = mac_table_set_max(t, max);
			assert_int_equal(got, model_set_max(&m, t, max));
			assert_int_equal(mac_table_max(t), m.max);
		} else if (r < 996) {
			/* Rarely "never age"; lowering it makes stale entries. */
			m.ageing = rng(4) == 0 ? 0 : 5 + rng(30);
			mac_table_set_ageing(t, m.ageing);
		} else {
			assert_same(t, &m, now);
		}
	}
	assert_same(t, &m, now);
	mac_table_destroy(t);
}

static const struct mac_learner	local_port, remote_port = { .remote = true };

/*
 * A MAC a local port sent from within MAC_MOVE_HOLD seconds is not taken by
 * a remote port: the entry stays, untouched, and the refusal is counted.
 */
static void
test_move_refused_while_live(void **state)
{
	struct mac_table	*t = mac_table_create(16, 300);
	const struct mac_entry	*e;

	(void)state;
	assert_int_equal(mac_table_learn_as(t, M(1), 0, P(1), &local_port,
	    100), MAC_LEARN_NEW);
	for (time_t now = 100; now < 100 + MAC_MOVE_HOLD; now++)
		assert_int_equal(mac_table_learn_as(t, M(1), 0, P(2),
		    &remote_port, now), MAC_LEARN_REFUSED);
	assert_ptr_equal(mac_table_lookup(t, M(1), 0, 104), P(1));
	e = mac_table_get(t, M(1), 0);
	assert_non_null(e);
	assert_int_equal(e->seen, 100);		/* forgeries keep nothing alive */
	assert_int_equal(stats(t).move_refused, MAC_MOVE_HOLD);
	assert_int_equal(stats(t).moves, 0);
	/* The local port speaks again: the hold starts over. */
	assert_int_equal(mac_table_learn_as(t, M(1), 0, P(1), &local_port,
	    103), MAC_LEARN_REFRESHED);
	assert_int_equal(mac_table_learn_as(t, M(1), 0, P(2), &remote_port,
	    103 + MAC_MOVE_HOLD - 1), MAC_LEARN_REFUSED);
	/* Silent that long: a real move (a migrated VM) completes. */
	assert_int_equal(mac_table_learn_as(t, M(1), 0, P(2), &remote_port,
	    103 + MAC_MOVE_HOLD), MAC_LEARN_MOVED);
	assert_ptr_equal(mac_table_lookup(t, M(1), 0, 110), P(2));
	assert_true(mac_table_get(t, M(1), 0)->remote);
	assert_int_equal(stats(t).moves, 1);
	mac_table_destroy(t);
}

/* Held are local entries against remote ports only. */
static void
test_move_hold_only_local_to_remote(void **state)
{
	struct mac_table	*t = mac_table_create(16, 300);

	(void)state;
	/* Local to local: moves at once (a cable moved). */
	mac_table_learn_as(t, M(1), 0, P(1), &local_port, 100);
	assert_int_equal(mac_table_learn_as(t, M(1), 0, P(2), &local_port,
	    100), MAC_LEARN_MOVED);
	/* Remote to local: a VM migrated here. */
	mac_table_learn_as(t, M(2), 0, P(3), &remote_port, 100);
	assert_int_equal(mac_table_learn_as(t, M(2), 0, P(1), &local_port,
	    100), MAC_LEARN_MOVED);
	assert_false(mac_table_get(t, M(2), 0)->remote);
	/* Remote to remote: tunnels to two hosts. */
	mac_table_learn_as(t, M(3), 0, P(3), &remote_port, 100);
	assert_int_equal(mac_table_learn_as(t, M(3), 0, P(4), &remote_port,
	    100), MAC_LEARN_MOVED);
	/* A stale local entry is gone: no hold. */
	mac_table_learn_as(t, M(4), 0, P(1), &local_port, 100);
	assert_int_equal(mac_table_learn_as(t, M(4), 0, P(4), &remote_port,
	    400), MAC_LEARN_NEW);
	/* Static entries never move, whoever asks. */
	assert_int_equal(mac_table_add_static(t, M(5), 0, P(1)), 0);
	assert_int_equal(mac_table_learn_as(t, M(5), 0, P(4), &remote_port,
	    100), MAC_LEARN_STATIC);
	/* Plain mac_table_learn() is a local port's. */
	mac_table_learn(t, M(6), 0, P(1), 100);
	assert_int_equal(mac_table_learn_as(t, M(6), 0, P(4), &remote_port,
	    101), MAC_LEARN_REFUSED);
	assert_int_equal(stats(t).move_refused, 1);
	mac_table_destroy(t);
}

/* A port at its limit learns nothing new and takes no MAC over. */
static void
test_port_limit(void **state)
{
	struct mac_table		*t = mac_table_create(16, 10);
	const struct mac_learner	 two = { .limit = 2 };

	(void)state;
	assert_int_equal(mac_table_learn_as(t, M(1), 0, P(1), &two, 100),
	    MAC_LEARN_NEW);
	assert_int_equal(mac_table_learn_as(t, M(2), 0, P(1), &two, 100),
	    MAC_LEARN_NEW);
	assert_int_equal(mac_table_port_count(t, P(1)), 2);
	assert_int_equal(mac_table_learn_as(t, M(3), 0, P(1), &two, 101),
	    MAC_LEARN_LIMIT);
	assert_null(mac_table_get(t, M(3), 0));
	/* Its own entries refresh; a VLAN is another entry. */
	assert_int_equal(mac_table_learn_as(t, M(1), 0, P(1), &two, 102),
	    MAC_LEARN_REFRESHED);
	assert_int_equal(mac_table_learn_as(t, M(1), 7, P(1), &two, 102),
	    MAC_LEARN_LIMIT);
	/* A MAC of another port stays there. */
	mac_table_learn(t, M(4), 0, P(2), 102);
	assert_int_equal(mac_table_learn_as(t, M(4), 0, P(1), &two, 103),
	    MAC_LEARN_LIMIT);
	assert_ptr_equal(mac_table_lookup(t, M(4), 0, 103), P(2));
	/* Its own stale entry is renewed, not refused. */
	assert_int_equal(mac_table_learn_as(t, M(2), 0, P(1), &two, 111),
	    MAC_LEARN_NEW);
	/* Once entries age out there is room again. */
	assert_int_equal(mac_table_expire(t, 113), 2);	/* M(1), M(4) */
	assert_int_equal(mac_table_port_count(t, P(1)), 1);
	assert_int_equal(mac_table_learn_as(t, M(3), 0, P(1), &two, 113),
	    MAC_LEARN_NEW);
	assert_int_equal(mac_table_port_count(t, P(1)), 2);
	/* Limit 0 is none. */
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(mac_table_learn_as(t, M(100 + i), 0, P(3),
		    &local_port, 113), MAC_LEARN_NEW);
	assert_int_equal(mac_table_port_count(t, P(3)), 8);
	assert_int_equal(mac_table_port_count(t, P(5)), 0);
	mac_table_destroy(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learn_and_lookup),
		cmocka_unit_test(test_ignores_multicast_broadcast_zero),
		cmocka_unit_test(test_refresh_and_move),
		cmocka_unit_test(test_ageing),
		cmocka_unit_test(test_stale_entry_relearned_as_new),
		cmocka_unit_test(test_full_replaces_oldest),
		cmocka_unit_test(test_full_evicts_from_biggest_port),
		cmocka_unit_test(test_flood_from_one_port_is_fair),
		cmocka_unit_test(test_many_ports),
		cmocka_unit_test(test_lru_follows_refresh),
		cmocka_unit_test(test_lru_resolution_is_one_second),
		cmocka_unit_test(test_static_entries),
		cmocka_unit_test(test_del_and_flush),
		cmocka_unit_test(test_set_max),
		cmocka_unit_test(test_set_ageing),
		cmocka_unit_test(test_create_bounds),
		cmocka_unit_test(test_iteration_visits_each_once),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_move_refused_while_live),
		cmocka_unit_test(test_move_hold_only_local_to_remote),
		cmocka_unit_test(test_port_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
