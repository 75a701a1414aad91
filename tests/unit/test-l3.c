/*
 * test-l3.c - the router's forwarding decisions, on dummy L3 ports.
 *
 *     p1 198.19.1.254/24 -[router]- p2 198.19.2.254/24, MTU 576
 *
 * Packets are injected with rtr_input() as if received on p1; each port
 * records what it was asked to send.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "datapath/port-dummy.h"
#include "datapath/router.h"
#include "datapath/switch.h"
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
	c.addr4 = (struct ip_prefix){ AF_INET, 24, { 198, 19, 1, 254 } };
	if (dp_port_add(f.dp, &c, &f.p1, err, sizeof(err)) != 0)
		return -1;
	strcpy(c.name, "p2");
	c.mtu = 576;
	c.addr4 = (struct ip_prefix){ AF_INET, 24, { 198, 19, 2, 254 } };
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

/* An IPv4 packet of len bytes, 198.19.1.1 -> dst, ICMP echo, with opts. */
static size_t
ip4(uint8_t *b, size_t len, const char *dst, uint8_t ttl, uint16_t frag,
    const uint8_t *opts, size_t optlen)
{
	size_t	hlen = IP4_HLEN + optlen;

	memset(b, 0, len);
	b[0] = (uint8_t)(0x40 | hlen / 4);
	be16_put(b + IP4_OFF_LEN, (uint16_t)len);
	be16_put(b + IP4_OFF_ID, 0x1234);
	be16_put(b + IP4_OFF_FRAG, frag);
	b[IP4_OFF_TTL] = ttl;
	b[IP4_OFF_PROTO] = IPPROTO_ICMP;
	inet_pton(AF_INET, "198.19.1.1", b + IP4_OFF_SRC);
	inet_pton(AF_INET, dst, b + IP4_OFF_DST);
	if (optlen > 0)
		memcpy(b + IP4_HLEN, opts, optlen);
	be16_put(b + IP4_OFF_CSUM, ip_csum(b, hlen));
	b[hlen] = ICMP_ECHO;
	for (size_t i = hlen + 8; i < len; i++)
		b[i] = (uint8_t)(i * 7);
	be16_put(b + hlen + 2, ip_csum(b + hlen, len - hlen));
	return len;
}

static void
inject(struct fixture *f, const uint8_t *b, size_t len)
{
	struct pkt_batch	 batch;
	struct pkt		*p;

	pkt_batch_init(&batch);
	assert_non_null(p = pkt_alloc(f->dp->pool));
	memcpy(p->data, b, len);
	p->len = (uint32_t)len;
	pkt_batch_add(&batch, p);
	rtr_input(f->dp, f->p1, &batch);
	assert_int_equal(batch.count, 0);
}

static const uint8_t *
sent(struct port *port, unsigned i, size_t *len)
{
	const uint8_t	*b = port_dummy_sent(port, i, len);

	assert_non_null(b);
	return b;
}

static void
test_forward_decrements_ttl_with_incremental_checksum(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 b[100];
	const uint8_t	*out;
	size_t		 len;

	/* Every TTL, so the carry cases of RFC 1624 come up. */
	for (unsigned ttl = 2; ttl <= 255; ttl++) {
		ip4(b, sizeof(b), "198.19.2.1", (uint8_t)ttl, IP4_DF, NULL, 0);
		inject(f, b, sizeof(b));
		out = sent(f->p2, ttl - 2, &len);
		assert_int_equal(len, sizeof(b));
		assert_int_equal(out[IP4_OFF_TTL], ttl - 1);
		assert_int_equal(ip_sum(out, IP4_HLEN, 0), 0xffff);
		assert_memory_equal(out + IP4_HLEN, b + IP4_HLEN,
		    sizeof(b) - IP4_HLEN);
	}
	assert_int_equal(f->dp->rtr->stats.forwarded, 254);
	assert_int_equal(port_dummy_sent_count(f->p1), 0);
}

/* Checks an ICMP error at p1: from 198.19.1.254, type, code, word 4..7. */
static void
check_error(struct fixture *f, uint8_t type, uint8_t code, uint32_t info,
    const uint8_t *orig)
{
	const uint8_t	*e, *icmp;
	uint8_t		 src[4] = { 198, 19, 1, 254 }, dst[4] = { 198, 19, 1, 1 };
	size_t		 len;

	assert_int_equal(port_dummy_sent_count(f->p1), 1);
	e = sent(f->p1, 0, &len);
	icmp = e + IP4_HLEN;
	assert_int_equal(ip_sum(e, IP4_HLEN, 0), 0xffff);
	assert_int_equal(ip_sum(icmp, len - IP4_HLEN, 0), 0xffff);
	assert_memory_equal(e + IP4_OFF_SRC, src, 4);
	assert_memory_equal(e + IP4_OFF_DST, dst, 4);
	assert_int_equal(icmp[0], type);
	assert_int_equal(icmp[1], code);
	assert_int_equal((uint32_t)(icmp[4] << 24 | icmp[5] << 16 |
	    icmp[6] << 8 | icmp[7]), info);
	assert_true(len <= 576);
	assert_memory_equal(icmp + 8, orig, len - IP4_HLEN - 8);
	port_dummy_clear(f->p1);
}

static void
test_icmp_errors(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 b[1000], err[100];

	ip4(b, 84, "198.19.2.1", 1, 0, NULL, 0);
	inject(f, b, 84);
	check_error(f, ICMP_TIMXCEED, 0, 0, b);

	ip4(b, 84, "203.0.113.1", 64, 0, NULL, 0);
	inject(f, b, 84);
	check_error(f, ICMP_UNREACH, ICMP_UNREACH_NET, 0, b);

	ip4(b, 1000, "198.19.2.1", 64, IP4_DF, NULL, 0);
	inject(f, b, 1000);
	check_error(f, ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG, 576, b);
	assert_int_equal(f->p2->stats.drops[DROP_TOO_BIG], 1);

	/* Never an error about an error. */
	memcpy(err, b, sizeof(err));
	ip4(err, sizeof(err), "198.19.2.1", 1, 0, NULL, 0);
	err[IP4_HLEN] = ICMP_UNREACH;
	inject(f, err, sizeof(err));
	assert_int_equal(port_dummy_sent_count(f->p1), 0);
	assert_int_equal(f->p1->stats.drops[DROP_TTL_EXCEEDED], 2);
	assert_int_equal(f->p1->stats.drops[DROP_NO_ROUTE], 1);
}

static void
test_fragmentation_keeps_copied_options(void **state)
{
	struct fixture	*f = *state;
	/* Copied (0x82, 8 bytes), then not copied (record route, 7), NOP. */
	uint8_t		 opts[20] = { 0x82, 8, 1, 2, 3, 4, 5, 6,
			    7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	uint8_t		 b[1500], data[1500];
	const uint8_t	*fr;
	size_t		 len, got = 0, hlen;
	unsigned	 n, off, frag;

	ip4(b, sizeof(b), "198.19.2.1", 64, 0, opts, sizeof(opts));
	inject(f, b, sizeof(b));
	n = port_dummy_sent_count(f->p2);
	assert_int_equal(n, 3);
	assert_int_equal(f->dp->rtr->stats.fragments, 3);
	for (unsigned i = 0; i < n; i++) {
		fr = sent(f->p2, i, &len);
		hlen = (fr[0] & 0x0f) * 4u;
		frag = be16_get(fr + IP4_OFF_FRAG);
		off = (frag & IP4_OFFMASK) * 8u;
		assert_true(len <= 576);
		assert_int_equal(be16_get(fr + IP4_OFF_LEN), len);
		assert_int_equal(ip_sum(fr, hlen, 0), 0xffff);
		assert_int_equal(fr[IP4_OFF_TTL], 63);
		assert_int_equal(be16_get(fr + IP4_OFF_ID), 0x1234);
		assert_int_equal(!!(frag & IP4_MF), i + 1 < n);
		if (i == 0)
			assert_memory_equal(fr + IP4_HLEN, opts, sizeof(opts));
		else {
			assert_int_equal(hlen, IP4_HLEN + 8);
			assert_memory_equal(fr + IP4_HLEN, opts, 8);
		}
		if (i + 1 < n)
			assert_int_equal((len - hlen) % 8, 0);
		assert_int_equal(off, got);
		memcpy(data + off, fr + hlen, len - hlen);
		got += len - hlen;
	}
	assert_int_equal(got, sizeof(b) - IP4_HLEN - sizeof(opts));
	assert_memory_equal(data, b + IP4_HLEN + sizeof(opts), got);
}

static void
test_malformed_are_counted(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 b[84], bad[84];

	ip4(b, sizeof(b), "198.19.2.1", 64, 0, NULL, 0);
	memcpy(bad, b, sizeof(b));
	bad[0] = 0x35;
	inject(f, bad, sizeof(bad));
	inject(f, b, 19);
	bad[0] = 0x44;
	inject(f, bad, sizeof(bad));
	memcpy(bad, b, sizeof(b));
	bad[IP4_OFF_CSUM] ^= 1;
	inject(f, bad, sizeof(bad));
	inject(f, b, 60);
	assert_int_equal(f->p1->stats.drops[DROP_BAD_VERSION], 1);
	assert_int_equal(f->p1->stats.drops[DROP_TRUNCATED], 2);
	assert_int_equal(f->p1->stats.drops[DROP_BAD_LENGTH], 1);
	assert_int_equal(f->p1->stats.drops[DROP_BAD_CHECKSUM], 1);
	assert_int_equal(port_dummy_sent_count(f->p2), 0);
	assert_int_equal(port_dummy_sent_count(f->p1), 0);
}

static void
test_ipv6_hop_limit_and_packet_too_big(void **state)
{
	struct fixture	*f = *state;
	struct rt_route	 r = { .type = RT_UNICAST };
	uint8_t		 b[1000] = { 0x60 }, src[16] = { 0xfd, 0, 0x56, 0x57,
			    0, 1, [15] = 1 };
	const uint8_t	*e;
	size_t		 len;

	r.dst = (struct ip_prefix){ AF_INET6, 64, { 0xfd, 0, 0x56, 0x57, 0,
	    1 } };
	r.port = f->p1;
	assert_int_equal(rt_add(f->dp->rtr->rt6, &r), 0);
	be16_put(b + IP6_OFF_PLEN, 100 - IP6_HLEN);
	b[IP6_OFF_NXT] = 59;			/* no next header */
	b[IP6_OFF_HLIM] = 9;
	memcpy(b + IP6_OFF_SRC, src, 16);
	memcpy(b + IP6_OFF_DST, f->p2->addr6.addr, 16);
	b[IP6_OFF_DST + 15] = 1;
	inject(f, b, 100);
	e = sent(f->p2, 0, &len);
	assert_int_equal(len, 100);
	assert_int_equal(e[IP6_OFF_HLIM], 8);

	be16_put(b + IP6_OFF_PLEN, 1000 - IP6_HLEN);
	inject(f, b, 1000);
	e = sent(f->p1, 0, &len);		/* from p2's IPv6 address */
	assert_int_equal(e[IP6_OFF_NXT], IPPROTO_ICMPV6);
	assert_memory_equal(e + IP6_OFF_SRC, f->p2->addr6.addr, 16);
	assert_memory_equal(e + IP6_OFF_DST, src, 16);
	assert_int_equal(e[IP6_HLEN], ICMP6_PACKET_TOO_BIG);
	assert_int_equal(be16_get(e + IP6_HLEN + 6), 576);
	assert_int_equal(ip6_csum(e + IP6_OFF_SRC, e + IP6_OFF_DST,
	    IPPROTO_ICMPV6, e + IP6_HLEN, len - IP6_HLEN), 0);
}

/* A capture hook that counts the packets it is shown, per port. */
struct hook_log {
	struct port_hook	hook;
	unsigned		n[2][3];	/* [dir][port number] */
};

static void
log_frames(struct port_hook *h, struct port *port, enum port_dir dir,
    const struct pkt_batch *b)
{
	((struct hook_log *)h)->n[dir][port->name[1] - '0'] += b->count;
}

static void
log_outer(struct port_hook *h, struct port *port, enum port_dir dir,
    const struct port_outer *o)
{
	(void)h;
	(void)port;
	(void)dir;
	(void)o;
	fail_msg("a dummy port has no underlay");
}

static void
log_gone(struct port_hook *h, struct port *port)
{
	(void)h;
	port->hook = NULL;
}

/* Captures see what the router takes in and sends, its own packets too. */
static void
test_captures_see_routed_packets(void **state)
{
	struct fixture	*f = *state;
	struct hook_log	 log = { .hook = { log_frames, log_outer, log_gone } };
	uint8_t		 b[100];

	f->p1->hook = f->p2->hook = &log.hook;
	ip4(b, sizeof(b), "198.19.2.1", 64, IP4_DF, NULL, 0);
	inject(f, b, sizeof(b));			/* forwarded to p2 */
	assert_int_equal(log.n[PORT_DIR_RX][1], 1);
	assert_int_equal(log.n[PORT_DIR_TX][2], 1);
	ip4(b, sizeof(b), "198.19.2.1", 1, IP4_DF, NULL, 0);
	inject(f, b, sizeof(b));			/* time exceeded */
	ip4(b, sizeof(b), "198.19.1.254", 64, IP4_DF, NULL, 0);
	inject(f, b, sizeof(b));			/* echo reply */
	assert_int_equal(log.n[PORT_DIR_RX][1], 3);
	assert_int_equal(log.n[PORT_DIR_TX][1], 2);
	assert_int_equal(port_dummy_sent_count(f->p1), 2);
	assert_int_equal(log.n[PORT_DIR_TX][2], 1);
	assert_int_equal(log.n[PORT_DIR_RX][2], 0);
	f->p1->hook = f->p2->hook = NULL;
}

int
main(void)
{
	if (port_types_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_captures_see_routed_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_forward_decrements_ttl_with_incremental_checksum,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_fragmentation_keeps_copied_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_are_counted,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_ipv6_hop_limit_and_packet_too_big, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
