/*
 * test-icmp-rate.c - the router's ICMP error limits: one flooder spends its
 * own bucket, not everybody's.
 *
 *   fd00:5657:1::a (flooder) \
 *                             p1 fd00:5657:1::fe/64 -[router]- p2 MTU 1280
 *   fd00:5657:1::b (victim)  /                         fd00:5657:2::fe/64
 *
 * Both sources send IPv6 packets larger than p2's MTU: each deserves a
 * Packet Too Big, sent back out of p1.  With one global bucket, the
 * flooder took every token and the victim got none.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "datapath/dp.h"
#include "datapath/port-dummy.h"
#include "datapath/router.h"
#include "vswitchd/port-types.h"

struct fixture {
	struct dp	*dp;
	struct port	*p1, *p2;
};

static int
setup(void **state)
{
	static struct fixture	f;
	struct port_config	c = { .type = "dummy-l3" };
	char			err[128];

	memset(&f, 0, sizeof(f));
	if ((f.dp = dp_create()) == NULL)
		return -1;
	strcpy(c.name, "p1");
	c.addr6 = (struct ip_prefix){ AF_INET6, 64,
	    { 0xfd, 0, 0x56, 0x57, 0, 1, [15] = 0xfe } };
	if (dp_port_add(f.dp, &c, &f.p1, err, sizeof(err)) != 0)
		return -1;
	strcpy(c.name, "p2");
	c.mtu = 1280;
	c.addr6 = (struct ip_prefix){ AF_INET6, 64,
	    { 0xfd, 0, 0x56, 0x57, 0, 2, [15] = 0xfe } };
	if (dp_port_add(f.dp, &c, &f.p2, err, sizeof(err)) != 0)
		return -1;
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
	dp_destroy(f->dp);
	return 0;
}

/* n packets of 1400 bytes from src to fd00:5657:2::1, as one batch per 64. */
static void
send_big(struct fixture *f, const char *src, unsigned n)
{
	struct pkt_batch	 b;
	struct pkt		*p;

	while (n > 0) {
		pkt_batch_init(&b);
		for (; n > 0 && b.count < PKT_BATCH_MAX; n--) {
			assert_non_null(p = pkt_alloc(f->dp->pool));
			memset(p->data, 0, 1400);
			p->data[0] = 0x60;
			be16_put(p->data + IP6_OFF_PLEN, 1400 - IP6_HLEN);
			p->data[IP6_OFF_NXT] = IPPROTO_UDP;
			p->data[IP6_OFF_HLIM] = 64;
			inet_pton(AF_INET6, src, p->data + IP6_OFF_SRC);
			inet_pton(AF_INET6, "fd00:5657:2::1",
			    p->data + IP6_OFF_DST);
			p->len = 1400;
			pkt_batch_add(&b, p);
		}
		rtr_input(f->dp, f->p1, &b);
	}
}

/* Packet Too Big errors p1 sent to dst since the last clear. */
static unsigned
too_big_to(struct fixture *f, const char *dst)
{
	uint8_t		 a[16];
	const uint8_t	*e;
	size_t		 len;
	unsigned	 n = 0;

	inet_pton(AF_INET6, dst, a);
	for (unsigned i = 0; i < port_dummy_sent_count(f->p1); i++) {
		assert_non_null(e = port_dummy_sent(f->p1, i, &len));
		if (len > IP6_HLEN && e[IP6_OFF_NXT] == IPPROTO_ICMPV6 &&
		    e[IP6_HLEN] == ICMP6_PACKET_TOO_BIG &&
		    memcmp(e + IP6_OFF_DST, a, 16) == 0)
			n++;
	}
	return n;
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec	ts = { 0, ms * 1000000 };

	nanosleep(&ts, NULL);
}

static void
test_a_flooder_does_not_silence_another_source(void **state)
{
	struct fixture	*f = *state;
	const char	*flooder = "fd00:5657:1::a", *victim = "fd00:5657:1::b";
	uint64_t	 held, sent;
	int64_t		 start = now_ms(), took;

	rtr_set_icmp_limit(f->dp->rtr, 1000, 50);
	/*
	 * The flooder's first burst takes what both buckets hold, and what
	 * its own refilled (an eighth of a token a millisecond) while the
	 * batches went through: a loaded machine takes milliseconds...
	 */
	send_big(f, flooder, 200);
	took = now_ms() - start + 1;
	sent = too_big_to(f, flooder);
	assert_in_range(sent, 50, 50 + (uint64_t)took / 8 + 1);
	assert_int_equal(f->dp->rtr->stats.icmp_ratelimited, 200 - sent);
	/*
	 * ...and then keeps flooding: the global bucket refills 1000 a
	 * second, the flooder's own only an eighth of that, so the flooder
	 * can no longer empty the global one and the victim's error passes.
	 */
	for (int round = 0; round < 5; round++) {
		int64_t	before, ms;

		sleep_ms(20);
		port_dummy_clear(f->p1);
		before = now_ms();
		send_big(f, flooder, 200);
		held = f->dp->rtr->stats.icmp_ratelimited;
		send_big(f, victim, 1);
		/* Its bucket refills from its last flood on: start is before. */
		ms = now_ms() - start + 1;
		start = before;
		assert_int_equal(too_big_to(f, victim), 1);
		assert_int_equal(f->dp->rtr->stats.icmp_ratelimited, held);
		/* At 125 a second, never the 1000 a second refilled. */
		assert_in_range(too_big_to(f, flooder), 0, (uint64_t)ms / 8 + 2);
	}
}

static void
test_the_global_limit_still_holds(void **state)
{
	struct fixture	*f = *state;
	char		 src[64];

	/* No refill: the global burst is all there is, whoever asks. */
	rtr_set_icmp_limit(f->dp->rtr, 0, 5);
	for (int i = 1; i <= 20; i++) {
		snprintf(src, sizeof(src), "fd00:5657:1::%x", i);
		send_big(f, src, 1);
	}
	assert_int_equal(port_dummy_sent_count(f->p1), 5);
	assert_int_equal(f->dp->rtr->stats.icmp_ratelimited, 15);
	/* One source alone gets the burst, as before. */
	rtr_set_icmp_limit(f->dp->rtr, 0, 5);
	port_dummy_clear(f->p1);
	send_big(f, "fd00:5657:1::99", 50);
	assert_int_equal(too_big_to(f, "fd00:5657:1::99"), 5);
}

static void
test_the_source_table_stays_bounded(void **state)
{
	struct fixture	*f = *state;
	char		 src[64];

	/* Far more sources than buckets: each new one takes a stale one. */
	rtr_set_icmp_limit(f->dp->rtr, 1000000, 1000);
	for (int i = 1; i <= 4 * RTR_ICMP_SRC_SETS * RTR_ICMP_SRC_WAYS; i++) {
		snprintf(src, sizeof(src), "fd00:5657:1::%x", i);
		send_big(f, src, 1);
	}
	assert_int_equal(f->dp->rtr->stats.icmp_frag_needed,
	    4 * RTR_ICMP_SRC_SETS * RTR_ICMP_SRC_WAYS);
	assert_int_equal(f->dp->rtr->stats.icmp_ratelimited, 0);
}

int
main(void)
{
	if (port_types_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_flooder_does_not_silence_another_source, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_the_global_limit_still_holds, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_the_source_table_stays_bounded, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
