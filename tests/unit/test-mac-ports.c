/*
 * test-mac-ports.c - the MAC table's per-port records: found by pointer
 * through deletions and growth, ranked by count, released at zero.  A long
 * random run against plain arrays.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "datapath/mac-ports.h"
#include "rng.h"

#define NPORTS	600

static char	ports[NPORTS];

static void
check_ranks(const struct mac_ports *ps, const unsigned *count)
{
	unsigned	live = 0, most = 0;

	for (unsigned p = 0; p < NPORTS; p++) {
		uint32_t rec = mac_ports_find(ps, &ports[p]);
		if (count[p] == 0) {
			assert_int_equal(rec, MAC_PORT_NONE);
			continue;
		}
		assert_int_not_equal(rec, MAC_PORT_NONE);
		assert_ptr_equal(ps->recs[rec].port, &ports[p]);
		assert_int_equal(ps->recs[rec].count, count[p]);
		assert_int_equal(ps->ranks[ps->recs[rec].rank], rec);
		live++;
		if (count[p] > most)
			most = count[p];
	}
	assert_int_equal(ps->n, live);
	for (uint32_t i = 1; i < ps->n; i++)
		assert_true(ps->recs[ps->ranks[i - 1]].count >=
		    ps->recs[ps->ranks[i]].count);
	if (live == 0)
		assert_int_equal(mac_ports_top(ps), MAC_PORT_NONE);
	else
		assert_int_equal(ps->recs[mac_ports_top(ps)].count, most);
}

static void
test_basics(void **state)
{
	struct mac_ports	ps;
	uint32_t		a, b;

	(void)state;
	assert_int_equal(mac_ports_init(&ps), 0);
	assert_int_equal(mac_ports_top(&ps), MAC_PORT_NONE);
	assert_int_equal(mac_ports_find(&ps, &ports[0]), MAC_PORT_NONE);
	a = mac_ports_get(&ps, &ports[0]);
	b = mac_ports_get(&ps, &ports[1]);
	assert_int_not_equal(a, b);
	assert_int_equal(mac_ports_get(&ps, &ports[0]), a);
	mac_ports_inc(&ps, a);
	mac_ports_inc(&ps, b);
	mac_ports_inc(&ps, b);
	assert_int_equal(mac_ports_top(&ps), b);
	mac_ports_dec(&ps, b);
	mac_ports_dec(&ps, b);
	assert_int_equal(mac_ports_top(&ps), a);
	assert_int_equal(mac_ports_find(&ps, &ports[1]), MAC_PORT_NONE);
	assert_int_equal(ps.n, 1);
	/* A released record is used again. */
	assert_int_equal(mac_ports_get(&ps, &ports[2]), b);
	/* A record at zero, not counted yet, while another is released. */
	mac_ports_dec(&ps, a);
	assert_int_equal(ps.n, 1);
	assert_int_equal(ps.ranks[0], b);
	assert_int_equal(ps.recs[b].rank, 0);
	assert_int_equal(mac_ports_find(&ps, &ports[0]), MAC_PORT_NONE);
	assert_int_equal(mac_ports_find(&ps, &ports[2]), b);
	assert_true(mac_ports_bytes(&ps) > 0);
	mac_ports_fini(&ps);
}



static void
test_random_against_counts(void **state)
{
	static unsigned		count[NPORTS];
	struct mac_ports	ps;

	(void)state;
	assert_int_equal(mac_ports_init(&ps), 0);
	for (unsigned op = 0; op < 300000; op++) {
		/* Few ports at first, so records come and go, then many. */
		unsigned p = rng(op < 100000 ? 20 : NPORTS);
		uint32_t rec;

		if (count[p] == 0 || rng(2) == 0) {
			rec = mac_ports_get(&ps, &ports[p]);
			assert_int_not_equal(rec, MAC_PORT_NONE);
			mac_ports_inc(&ps, rec);
			count[p]++;
		} else {
			rec = mac_ports_find(&ps, &ports[p]);
			mac_ports_dec(&ps, rec);
			count[p]--;
		}
		if (op % 997 == 0)
			check_ranks(&ps, count);
	}
	/* Take everything away again. */
	for (unsigned p = 0; p < NPORTS; p++) {
		while (count[p] > 0) {
			mac_ports_dec(&ps, mac_ports_find(&ps, &ports[p]));
			count[p]--;
		}
		if (p % 50 == 0)
			check_ranks(&ps, count);
	}
	check_ranks(&ps, count);
	mac_ports_fini(&ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basics),
		cmocka_unit_test(test_random_against_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
