/*
 * test-ip-frag.c - the IPv4 fragmenter at the edges of its MTU: an MTU
 * that cannot carry the header and 8 data bytes yields no fragment at all
 * (mtu - hlen once wrapped around to a "fragment" as large as the packet),
 * and every fragment it does emit fits the MTU.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "datapath/router.h"

struct emitted {
	unsigned	n;
	unsigned	max_len;
};

static void
emit(struct pkt *p, void *arg)
{
	struct emitted	*e = arg;

	e->n++;
	if (p->len > e->max_len)
		e->max_len = p->len;
	pkt_free(p);
}

/* A 1000-byte IPv4 packet with hlen bytes of header (copied options). */
static void
packet(struct pkt *p, unsigned hlen)
{
	memset(p->data, 0, 1000);
	p->data[IP4_OFF_VHL] = (uint8_t)(0x40 | hlen / 4);
	for (unsigned i = IP4_HLEN; i + 4 <= hlen; i += 4) {
		p->data[i] = 0x82;		/* copied, 4 bytes */
		p->data[i + 1] = 4;
	}
	be16_put(p->data + IP4_OFF_LEN, 1000);
	p->data[IP4_OFF_TTL] = 64;
	p->data[IP4_OFF_PROTO] = 17;
	be16_put(p->data + IP4_OFF_CSUM, ip_csum(p->data, hlen));
	p->len = 1000;
}

static void
test_mtu_below_the_header_yields_nothing(void **state)
{
	struct pkt_pool	*pool = pkt_pool_create(64, PKT_DATA_ROOM);
	struct pkt	*p = pkt_alloc(pool);
	struct emitted	 e = { 0, 0 };

	(void)state;
	packet(p, 60);
	/* Each is less than the 60-byte header plus 8 bytes of data. */
	for (unsigned mtu = 0; mtu < 68; mtu++) {
		assert_int_equal(ip4_fragment(pool, p, mtu, emit, &e), 0);
		assert_int_equal(e.n, 0);
	}
	packet(p, 20);
	for (unsigned mtu = 0; mtu < 28; mtu++)
		assert_int_equal(ip4_fragment(pool, p, mtu, emit, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(pkt_pool_avail(pool), 63);
	pkt_free(p);
	pkt_pool_destroy(pool);
}

static void
test_every_fragment_fits(void **state)
{
	struct pkt_pool	*pool = pkt_pool_create(256, PKT_DATA_ROOM);
	struct pkt	*p = pkt_alloc(pool);
	struct emitted	 e;
	unsigned	 n;

	(void)state;
	for (unsigned hlen = 20; hlen <= 60; hlen += 20) {
		packet(p, hlen);
		for (unsigned mtu = hlen + 8; mtu <= 1000; mtu += 7) {
			e = (struct emitted){ 0, 0 };
			n = ip4_fragment(pool, p, mtu, emit, &e);
			assert_int_not_equal(n, 0);
			assert_int_equal(n, e.n);
			assert_true(e.max_len <= mtu);
		}
	}
	pkt_free(p);
	pkt_pool_destroy(pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mtu_below_the_header_yields_nothing),
		cmocka_unit_test(test_every_fragment_fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
