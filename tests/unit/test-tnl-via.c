/*
 * test-tnl-via.c - a VXLAN port carried by an L3 port (tnl-via.h), and
 * the router's local UDP listeners it relies on (rtr-udp.c).
 *
 *     d0 (dummy, L2) -[switch]- vx (vxlan via c0) ~~ c0 (dummy-l3)
 *                                                   198.19.250.1/30
 *                                                   fd00:5657:250::1/64
 *                                                   c1 (dummy-l3) 198.19.251.1/30
 *
 * What vx sends is what c0 records: whole outer IPv4 or IPv6 datagrams.
 * What c0 "receives" is injected with rtr_input() as the router gets it.
 * No sockets: runs without root.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "datapath/csum.h"
#include "datapath/dp.h"
#include "datapath/port-dummy.h"
#include "datapath/router.h"
#include "tunnel/port-tunnel.h"
#include "tunnel/tnl.h"
#include "tunnel/tnl-addr.h"
#include "vswitchd/port-types.h"

#define NOW	1000
#define VNI	42

static const uint8_t	X[6] = { 0x02, 0, 0, 0, 0, 0x0a };	/* remote */

struct fixture {
	struct dp	*dp;
	struct port	*d0, *vx, *c0, *c1;
};

static struct port *
add(struct fixture *f, struct port_config *c)
{
	struct port	*port;
	char		 err[256] = "";

	if (dp_port_add(f->dp, c, &port, err, sizeof(err)) != 0)
		fail_msg("%s: %s", c->name, err);
	return port;
}

static void
vxlan_config(struct port_config *c, const char *name, const char *remote,
    const char *local, const char *via)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->name, name);
	c->type = "vxlan";
	c->given = PORT_SET_REMOTE | PORT_SET_VNI;
	assert_int_equal(tnl_addr_parse(remote, &c->remote), 0);
	if (local != NULL) {
		c->given |= PORT_SET_LOCAL;
		assert_int_equal(tnl_addr_parse(local, &c->local), 0);
	}
	c->has_key = true;
	c->key = VNI;
	if (via != NULL) {
		c->given |= PORT_SET_VIA;
		strcpy(c->via, via);
	}
}

static int
setup(void **state)
{
	static struct fixture	f;
	struct port_config	c;

	memset(&f, 0, sizeof(f));
	if (port_types_init() != 0 || (f.dp = dp_create()) == NULL)
		return -1;
	memset(&c, 0, sizeof(c));
	strcpy(c.name, "d0");
	c.type = "dummy";
	f.d0 = add(&f, &c);
	strcpy(c.name, "c0");
	c.type = "dummy-l3";
	c.addr4 = (struct ip_prefix){ AF_INET, 30, { 198, 19, 250, 1 } };
	c.addr6 = (struct ip_prefix){ AF_INET6, 64,
	    { 0xfd, 0, 0x56, 0x57, 0x02, 0x50, [15] = 1 } };
	f.c0 = add(&f, &c);
	strcpy(c.name, "c1");
	c.addr4 = (struct ip_prefix){ AF_INET, 30, { 198, 19, 251, 1 } };
	c.addr6 = (struct ip_prefix){ 0 };
	f.c1 = add(&f, &c);
	vxlan_config(&c, "vx", "198.19.250.2", "198.19.250.1", "c0");
	f.vx = add(&f, &c);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	dp_destroy(f->dp);
	return 0;
}

/* A broadcast frame from src of len bytes (an IPv4 packet with tos). */
static size_t
frame(uint8_t *b, size_t len, const uint8_t *src, uint8_t tos)
{
	memset(b, 0, len);
	memset(b, 0xff, 6);
	memcpy(b + 6, src, 6);
	be16_put(b + 12, 0x0800);
	b[14] = 0x45;
	b[15] = tos;
	for (size_t i = 34; i < len; i++)
		b[i] = (uint8_t)i;
	return len;
}

static void
from_switch(struct fixture *f, const uint8_t *b, size_t len)
{
	struct pkt_batch	 batch;
	struct pkt		*p;

	pkt_batch_init(&batch);
	assert_non_null(p = pkt_alloc(f->dp->pool));
	memcpy(p->data, b, len);
	p->len = (uint32_t)len;
	pkt_batch_add(&batch, p);
	dp_input(f->dp, f->d0, &batch, NOW);
}

static void
to_router(struct fixture *f, struct port *in, const uint8_t *b, size_t len)
{
	struct pkt_batch	 batch;
	struct pkt		*p;

	pkt_batch_init(&batch);
	assert_non_null(p = pkt_alloc(f->dp->pool));
	memcpy(p->data, b, len);
	p->len = (uint32_t)len;
	pkt_batch_add(&batch, p);
	dp_input(f->dp, in, &batch, NOW);
	assert_int_equal(batch.count, 0);
}

static void
test_send_builds_what_linux_vxlan_sends(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 b[200], copy[200];
	const uint8_t	*o;
	size_t		 len, n = frame(b, 100, X, 0xb9);	/* ECN: ECT(1) */

	memcpy(copy, b, n);
	from_switch(f, b, n);
	assert_int_equal(port_dummy_sent_count(f->c0), 1);
	assert_non_null(o = port_dummy_sent(f->c0, 0, &len));
	assert_int_equal(len, 20 + 8 + 8 + n);
	assert_int_equal(o[0], 0x45);
	assert_int_equal(o[1], 0x01);			/* ECN copied, DSCP not */
	assert_int_equal(be16_get(o + 2), len);
	assert_int_equal(be16_get(o + 6), 0);		/* DF clear */
	assert_int_equal(o[8], 64);
	assert_int_equal(o[9], IPPROTO_UDP);
	assert_int_equal(ip_sum(o, 20, 0), 0xffff);
	assert_memory_equal(o + 12, ((uint8_t[]){ 198, 19, 250, 1 }), 4);
	assert_memory_equal(o + 16, ((uint8_t[]){ 198, 19, 250, 2 }), 4);
	assert_in_range(be16_get(o + 20), 32768, 60999);
	assert_int_equal(be16_get(o + 22), 4789);
	assert_int_equal(be16_get(o + 24), 8 + 8 + n);
	assert_int_equal(be16_get(o + 26), 0);		/* no checksum */
	assert_memory_equal(o + 28, ((uint8_t[]){ 0x08, 0, 0, 0, 0, 0,
	    VNI, 0 }), 8);
	assert_memory_equal(o + 36, copy, n);
	assert_int_equal(f->vx->stats.tx_packets, 1);

	/* One flow, one source port; CE leaves as ECT(0). */
	frame(b, 100, X, 0x03);
	from_switch(f, b, n);
	assert_non_null(o = port_dummy_sent(f->c0, 1, &len));
	assert_int_equal(o[1], 0x02);
	assert_int_equal(be16_get(o + 20), be16_get(port_dummy_sent(f->c0, 0,
	    &len) + 20));
	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
}

static void
test_too_big_for_the_carrier(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 b[1600];

	assert_int_equal(f->vx->mtu, 1500 - 50);
	/* The switch checks vx's MTU; a carrier that shrank, vx itself. */
	f->c0->mtu = 1000;
	from_switch(f, b, frame(b, 1000, X, 0));
	assert_int_equal(port_dummy_sent_count(f->c0), 0);
	assert_int_equal(f->vx->stats.drops[DROP_TOO_BIG], 1);
	dp_tick(f->dp, NOW + 1);
	assert_int_equal(f->vx->mtu, 1000 - 50);
}

/* A datagram src:sport -> dst:dport of the VXLAN frame in, IPv4. */
static size_t
datagram(uint8_t *o, const char *src, const char *dst, uint16_t dport,
    const uint8_t *inner, size_t n, bool csum)
{
	size_t	len = 20 + 8 + 8 + n;

	memset(o, 0, 36);
	o[0] = 0x45;
	be16_put(o + 2, (uint16_t)len);
	o[8] = 64;
	o[9] = IPPROTO_UDP;
	inet_pton(AF_INET, src, o + 12);
	inet_pton(AF_INET, dst, o + 16);
	be16_put(o + 10, ip_csum(o, 20));
	be16_put(o + 20, 40000);
	be16_put(o + 22, dport);
	be16_put(o + 24, (uint16_t)(len - 20));
	o[28] = 0x08;
	o[34] = VNI;
	memcpy(o + 36, inner, n);
	if (csum) {
		uint64_t sum = csum_pseudo(o, 4, IPPROTO_UDP,
		    (uint32_t)(len - 20));
		uint16_t c = (uint16_t)~csum_fold(csum_add(sum, o + 20,
		    len - 20));

		csum_put(o + 26, c);
	}
	return len;
}

static void
test_receive_from_the_carrier(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 inner[100], o[200];
	const uint8_t	*got;
	size_t		 n = frame(inner, 100, X, 0), len;

	to_router(f, f->c0, o, datagram(o, "198.19.250.2", "198.19.250.1",
	    4789, inner, n, false));
	assert_int_equal(f->vx->stats.rx_packets, 1);
	assert_int_equal(port_dummy_sent_count(f->d0), 1);
	assert_non_null(got = port_dummy_sent(f->d0, 0, &len));
	assert_int_equal(len, n);
	assert_memory_equal(got, inner, n);
	assert_int_equal(f->c0->stats.drops[DROP_LOCAL], 0);

	/* With a UDP checksum, right and wrong. */
	len = datagram(o, "198.19.250.2", "198.19.250.1", 4789, inner, n, true);
	to_router(f, f->c0, o, len);
	assert_int_equal(f->vx->stats.rx_packets, 2);
	o[len - 1] ^= 1;
	to_router(f, f->c0, o, len);
	assert_int_equal(f->vx->stats.rx_packets, 2);
	assert_int_equal(f->c0->stats.drops[DROP_BAD_CHECKSUM], 1);
	/* A UDP length beyond the packet. */
	len = datagram(o, "198.19.250.2", "198.19.250.1", 4789, inner, n, false);
	be16_put(o + 24, (uint16_t)(len - 19));
	to_router(f, f->c0, o, len);
	assert_int_equal(f->c0->stats.drops[DROP_BAD_LENGTH], 1);
	assert_int_equal(f->vx->stats.rx_packets, 2);
	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
}

/* Sets the IPv4 fragment field of datagram o and its header checksum. */
static void
set_frag(uint8_t *o, uint16_t frag)
{
	be16_put(o + 6, frag);
	be16_put(o + 10, 0);
	be16_put(o + 10, ip_csum(o, 20));
}

/*
 * Outer fragments are never parsed as whole datagrams (a first fragment's
 * UDP length and checksum cover bytes it does not have, a later one has
 * no UDP header at all), nor are datagrams too short for a UDP header or
 * whose UDP length is below one: none reaches the tunnel, nothing leaks.
 */
static void
test_outer_fragments_and_runts(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 inner[100], o[200];
	size_t		 n = frame(inner, 100, X, 0), len;

	/* A first fragment (MF), then a last one (offset, no MF). */
	len = datagram(o, "198.19.250.2", "198.19.250.1", 4789, inner, n,
	    false);
	set_frag(o, 0x2000);
	to_router(f, f->c0, o, len);
	len = datagram(o, "198.19.250.2", "198.19.250.1", 4789, inner, n,
	    false);
	set_frag(o, 0x0001);
	to_router(f, f->c0, o, len);
	assert_int_equal(f->vx->stats.rx_packets, 0);
	/* Only 4 bytes of UDP header. */
	len = datagram(o, "198.19.250.2", "198.19.250.1", 4789, inner, n,
	    false);
	be16_put(o + 2, 24);
	be16_put(o + 10, 0);
	be16_put(o + 10, ip_csum(o, 20));
	to_router(f, f->c0, o, 24);
	assert_int_equal(f->vx->stats.rx_packets, 0);
	/* A UDP length below the UDP header's. */
	len = datagram(o, "198.19.250.2", "198.19.250.1", 4789, inner, n,
	    false);
	be16_put(o + 24, 7);
	to_router(f, f->c0, o, len);
	assert_int_equal(f->c0->stats.drops[DROP_BAD_LENGTH], 1);
	assert_int_equal(f->vx->stats.rx_packets, 0);
	/* A UDP length of just the VXLAN header: too short for a frame. */
	len = datagram(o, "198.19.250.2", "198.19.250.1", 4789, inner, n,
	    false);
	be16_put(o + 24, 16);
	to_router(f, f->c0, o, len);
	assert_int_equal(port_dummy_sent_count(f->d0), 0);
	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
}

static void
test_what_is_not_the_tunnels_is_the_routers(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 inner[100], o[200];
	size_t		 n = frame(inner, 100, X, 0);

	/* Another port, another UDP port: answered, Port Unreachable. */
	to_router(f, f->c1, o, datagram(o, "198.19.251.2", "198.19.250.1",
	    4789, inner, n, false));
	to_router(f, f->c0, o, datagram(o, "198.19.250.2", "198.19.250.1",
	    4790, inner, n, false));
	assert_int_equal(f->vx->stats.rx_packets, 0);
	assert_int_equal(port_dummy_sent_count(f->c1), 1);
	assert_int_equal(port_dummy_sent_count(f->c0), 1);
	assert_int_equal(port_dummy_sent(f->c0, 0, &n)[20], 3);	/* unreach */
	/* Another remote: the endpoint's, not the router's. */
	to_router(f, f->c0, o, datagram(o, "198.19.250.3", "198.19.250.1",
	    4789, inner, 100, false));
	assert_int_equal(f->vx->stats.rx_packets, 0);
	assert_int_equal(port_dummy_sent_count(f->c0), 1);
}

static void
test_ipv6_outer_headers(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 c;
	struct port		*vx6;
	uint8_t			 b[200];
	const uint8_t		*o;
	size_t			 len, n = frame(b, 100, X, 0);

	vxlan_config(&c, "vx6", "fd00:5657:250::2", "fd00:5657:250::1", "c0");
	c.key = VNI + 1;
	vx6 = add(f, &c);
	assert_int_equal(vx6->mtu, 1500 - 70);
	from_switch(f, b, n);		/* flooded to vx and vx6 */
	assert_int_equal(port_dummy_sent_count(f->c0), 2);
	for (unsigned i = 0; i < 2; i++) {
		o = port_dummy_sent(f->c0, i, &len);
		if (o[0] >> 4 == 6)
			break;
	}
	assert_int_equal(o[0], 0x60);
	assert_int_equal(len, 40 + 8 + 8 + n);
	assert_int_equal(be16_get(o + 4), 8 + 8 + n);
	assert_int_equal(o[6], IPPROTO_UDP);
	assert_int_equal(o[7], 64);
	assert_int_equal(be16_get(o + 42), 4789);
	assert_int_not_equal(be16_get(o + 46), 0);
	assert_int_equal(ip6_csum(o + 8, o + 24, IPPROTO_UDP, o + 40,
	    len - 40), 0);
	/* And back: the router checks the checksum and hands it over. */
	{
		uint8_t	r[300];

		memcpy(r, o, len);
		memcpy(r + 8, o + 24, 16);
		memcpy(r + 24, o + 8, 16);
		to_router(f, f->c0, r, len);
		assert_int_equal(vx6->stats.rx_packets, 1);
	}
}

static void
test_carrier_errors_and_deletion(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 c;
	struct port		*c0;
	char			 err[256] = "";
	uint8_t			 b[200];

	vxlan_config(&c, "vy", "198.19.250.2", "198.19.250.1", "nope");
	assert_int_not_equal(dp_port_add(f->dp, &c, NULL, err, sizeof(err)),
	    0);
	assert_string_equal(err, "via nope: no such port");
	strcpy(c.via, "d0");
	assert_int_not_equal(dp_port_add(f->dp, &c, NULL, err, sizeof(err)),
	    0);
	assert_non_null(strstr(err, "via d0: it is not an L3 port"));
	vxlan_config(&c, "vy", "198.19.250.2", NULL, "c0");
	assert_int_not_equal(dp_port_add(f->dp, &c, NULL, err, sizeof(err)),
	    0);
	assert_non_null(strstr(err, "needs 'local ADDR'"));
	vxlan_config(&c, "vy", "198.19.250.2", "198.19.250.5", "c0");
	assert_int_not_equal(dp_port_add(f->dp, &c, NULL, err, sizeof(err)),
	    0);
	assert_non_null(strstr(err, "is not an address of the router"));

	/* The carrier goes: vx is down and counts what it is given. */
	assert_false(LIST_EMPTY(&f->c0->users));
	dp_port_del(f->dp, f->c0);
	assert_string_equal(f->vx->ops->state(f->vx), "down");
	from_switch(f, b, frame(b, 100, X, 0));
	assert_int_equal(f->vx->stats.drops[DROP_LINK_DOWN], 1);
	/* A port of that name comes back: vx is carried by it at its tick. */
	memset(&c, 0, sizeof(c));
	strcpy(c.name, "c0");
	c.type = "dummy-l3";
	c.addr4 = (struct ip_prefix){ AF_INET, 30, { 198, 19, 250, 1 } };
	c0 = add(f, &c);
	dp_tick(f->dp, NOW + 1);
	assert_string_equal(f->vx->ops->state(f->vx), "up");
	from_switch(f, b, frame(b, 100, X, 0));
	assert_int_equal(port_dummy_sent_count(c0), 1);
	/* Its tunnel goes first, then it goes with nothing left to tell. */
	dp_port_del(f->dp, f->vx);
	f->vx = NULL;
	assert_true(LIST_EMPTY(&c0->users));
}

/* An L3 tunnel may be carried too: the router's packets, inside UDP. */
static void
test_ipip_via_a_port(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 c;
	struct port		*ii;
	struct pkt_batch	 b;
	struct pkt		*p;
	const uint8_t		*o;
	size_t			 len;

	vxlan_config(&c, "ii", "198.19.250.2", "198.19.250.1", "c0");
	c.type = "ipip";
	c.given &= ~(unsigned)PORT_SET_VNI;
	c.has_key = false;
	ii = add(f, &c);
	pkt_batch_init(&b);
	assert_non_null(p = pkt_alloc(f->dp->pool));
	p->len = (uint32_t)frame(p->data, 100, X, 0);
	/* The IPv4 packet inside the frame, as the router queues it. */
	pkt_pull(p, 14);
	pkt_batch_add(&b, p);
	port_send(ii, &b);
	pkt_batch_free(&b);
	assert_int_equal(port_dummy_sent_count(f->c0), 1);
	assert_non_null(o = port_dummy_sent(f->c0, 0, &len));
	assert_int_equal(len, 20 + 8 + 86);
	assert_int_equal(o[9], IPPROTO_UDP);
	assert_int_equal(be16_get(o + 22), tnl_ipip.port);
	assert_int_equal(o[28], 0x45);
	assert_int_equal(ii->mtu, 1500 - 28);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_send_builds_what_linux_vxlan_sends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big_for_the_carrier,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_from_the_carrier,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_outer_fragments_and_runts,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_what_is_not_the_tunnels_is_the_routers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_outer_headers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_carrier_errors_and_deletion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipip_via_a_port, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
