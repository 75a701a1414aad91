/*
 * test-l3-gso.c - the router with super-frames (a tun's TSO, or coalesced
 * at an IP tunnel's ingress), on dummy L3 ports:
 *
 *	p1 198.19.0.254/24, fd00:5657::fe/64	(the senders, 198.19.0.1)
 *	p2 198.19.2.254/24, MTU 1500, takes nothing
 *	p3 198.19.3.254/24, MTU 1500, takes csum tso4 tso6; fd00:5657::80/128
 *	p4 198.19.4.254/24, MTU 1000, takes csum tso4 tso6
 *
 * A super-frame goes whole to a port that takes it, TTL or hop limit
 * decremented and the IPv4 header checksum right; it is segmented for one
 * that does not; the egress MTU is met by its segments, never by the
 * super-frame, and it is never IP-fragmented; errors about it carry no
 * offload state and quote its first segment's length.
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
#include "frames.h"
#include "rng.h"

#define TAKES_ALL	(PORT_TAKES_CSUM | PORT_TAKES_TSO4 | PORT_TAKES_TSO6)

struct fixture {
	struct dp	*dp;
	struct port	*p1, *p2, *p3, *p4;
};

static uint8_t	payload[70000];
static uint8_t	frame[PKT_GSO_DATA_ROOM];

static struct port *
add_port(struct dp *dp, const char *name, uint8_t net, int mtu,
    unsigned takes)
{
	struct port_config	c = { .type = "dummy-l3", .mtu = mtu };
	struct port		*port;
	char			 err[128];

	snprintf(c.name, sizeof(c.name), "%s", name);
	c.addr4 = (struct ip_prefix){ AF_INET, 24, { 198, 19, net, 254 } };
	if (net == 0)
		c.addr6 = (struct ip_prefix){ AF_INET6, 64,
		    { 0xfd, 0, 0x56, 0x57, [15] = 0xfe } };
	if (dp_port_add(dp, &c, &port, err, sizeof(err)) != 0 ||
	    port_dummy_set_takes(port, takes) != 0)
		return NULL;
	return port;
}

static int
setup(void **state)
{
	static struct fixture	f;
	struct rt_route		r = { .type = RT_UNICAST };

	rng_fill(payload, sizeof(payload));
	memset(&f, 0, sizeof(f));
	if ((f.dp = dp_create()) == NULL ||
	    (f.p1 = add_port(f.dp, "p1", 0, 1500, 0)) == NULL ||
	    (f.p2 = add_port(f.dp, "p2", 2, 1500, 0)) == NULL ||
	    (f.p3 = add_port(f.dp, "p3", 3, 1500, TAKES_ALL)) == NULL ||
	    (f.p4 = add_port(f.dp, "p4", 4, 1000, TAKES_ALL)) == NULL)
		return -1;
	r.port = f.p3;
	r.dst = (struct ip_prefix){ AF_INET6, 128,
	    { 0xfd, 0, 0x56, 0x57, [15] = 0x80 } };
	if (rt_add(rtr_table(f.dp->rtr, AF_INET6), &r) != 0)
		return -1;
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
	assert_int_equal(pkt_pool_avail(f->dp->large), DP_LARGE_POOL_SIZE);
	dp_destroy(f->dp);
	return 0;
}

static int
clear(void **state)
{
	struct fixture	*f = *state;
	struct port	*ports[] = { f->p1, f->p2, f->p3, f->p4 };

	for (unsigned i = 0; i < 4; i++) {
		port_dummy_clear(ports[i]);
		memset(&ports[i]->stats, 0, sizeof(ports[i]->stats));
	}
	memset(&f->dp->rtr->stats, 0, sizeof(f->dp->rtr->stats));
	rtr_set_icmp_limit(f->dp->rtr, 1000, 1000);
	return 0;
}

/*
 * A TCP super-frame to 198.19.net.128 (IPv4) or fd00:5657::80 as a tun
 * hands it over: bare IP, partial checksum, csum_start from the IP header.
 */
static struct pkt *
superframe(struct fixture *f, const struct fspec *s, uint8_t net,
    uint16_t mss)
{
	struct pkt	*p = pkt_alloc(f->dp->large);
	struct fpos	 pos = fspec_pos(s);
	uint8_t		*ip;

	assert_non_null(p);
	p->len = (uint32_t)frame_build(p->data, s);
	ip = p->data + pos.l3;
	if (s->ipv == 4) {
		ip[18] = net;
		be16_put(ip + IPV4_OFF_CSUM, 0);
		be16_put(ip + IPV4_OFF_CSUM, ip_csum(ip, 20 + s->ipoptlen));
	}
	frame_make_partial(p->data, p->len, s);
	assert_non_null(pkt_pull(p, 14));
	p->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->vnet.gso_type = s->ipv == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 :
	    VIRTIO_NET_HDR_GSO_TCPV6;
	p->vnet.gso_size = mss;
	p->vnet.hdr_len = (uint16_t)(pos.hlen - 14);
	p->vnet.csum_start = (uint16_t)(pos.l4 - 14);
	p->vnet.csum_offset = 16;
	return p;
}

static void
inject(struct fixture *f, struct pkt *p)
{
	struct pkt_batch	b;

	pkt_batch_init(&b);
	pkt_batch_add(&b, p);
	rtr_input(f->dp, f->p1, &b);
	assert_int_equal(b.count, 0);
}

/* Sent packet i of port as an Ethernet frame for frames.h's checker. */
static size_t
sent_frame(struct port *port, unsigned i)
{
	const uint8_t	*b;
	size_t		 len;

	assert_non_null(b = port_dummy_sent(port, i, &len));
	memset(frame, 0, 14);
	memcpy(frame + 14, b, len);
	return len + 14;
}

/* Whole to a port that takes it: TTL one less, IPv4 checksum right. */
static void
test_whole_to_a_taking_port(void **state)
{
	struct fixture			*f = *state;
	struct fspec			 s4 = fspec_tcp(4, payload, 30000);
	struct fspec			 s6 = fspec_tcp(6, payload, 30000);
	const struct virtio_net_hdr	*vh;
	struct fpos			 pos = fspec_pos(&s4);
	size_t				 len;

	inject(f, superframe(f, &s4, 3, 1448));
	inject(f, superframe(f, &s6, 0, 1428));
	assert_int_equal(port_dummy_sent_count(f->p3), 2);
	assert_int_equal(f->dp->rtr->stats.forwarded, 2);

	len = sent_frame(f->p3, 0);
	assert_int_equal(len, pos.hlen + 30000);
	assert_int_equal(frame[pos.l3 + IPV4_OFF_TTL], 63);
	assert_int_equal(ip_sum(frame + pos.l3, IPV4_HLEN, 0), 0xffff);
	assert_memory_equal(frame + pos.hlen, payload, 30000);
	vh = port_dummy_sent_vnet(f->p3, 0);
	assert_int_equal(vh->gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh->gso_size, 1448);
	assert_int_equal(vh->csum_start, pos.l4 - 14);

	pos = fspec_pos(&s6);
	len = sent_frame(f->p3, 1);
	assert_int_equal(len, pos.hlen + 30000);
	assert_int_equal(frame[pos.l3 + IPV6_OFF_HOPS], 63);
	vh = port_dummy_sent_vnet(f->p3, 1);
	assert_int_equal(vh->gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(vh->gso_size, 1428);
	assert_int_equal(f->p3->stats.tx_segmented, 0);
}

/* Segmented for a port that takes nothing: every segment complete. */
static void
test_segmented_for_a_plain_port(void **state)
{
	struct fixture	*f = *state;
	struct fspec	 s = fspec_tcp(4, payload, 10000);
	struct fpos	 pos = fspec_pos(&s);
	unsigned	 n = (10000 + 1447) / 1448;
	size_t		 len, off = 0;

	s.flags |= F_TCP_PSH;
	inject(f, superframe(f, &s, 2, 1448));
	assert_int_equal(port_dummy_sent_count(f->p2), n);
	assert_int_equal(f->p2->stats.tx_segmented, 1);
	for (unsigned i = 0; i < n; i++) {
		len = sent_frame(f->p2, i);
		assert_true(len - 14 <= 1500);
		assert_int_equal(port_dummy_sent_vnet(f->p2, i)->gso_type, 0);
		assert_int_equal(frame[pos.l3 + IPV4_OFF_TTL], 63);
		assert_int_equal(frame[pos.l3 + 18], 2);
		assert_int_equal(be16_get(frame + pos.l3 + IPV4_OFF_ID),
		    (uint16_t)(s.id + i));
		assert_int_equal(check_frame(frame, len, &s),
		    i + 1 < n ? 1448 : 10000 - 1448 * (n - 1));
		assert_memory_equal(frame + pos.hlen, payload + off,
		    len - pos.hlen);
		assert_int_equal(frame[pos.l4 + 13] & F_TCP_PSH,
		    i + 1 < n ? 0 : F_TCP_PSH);
		off += len - pos.hlen;
	}
	assert_int_equal(off, 10000);
}

/*
 * p4's MTU is 1000: a super-frame of 1448-byte segments does not fit, with
 * DF it is answered with Fragmentation Needed quoting its first segment's
 * length, without DF it is dropped, never fragmented; one of 900-byte
 * segments passes whole although it is 20 KB long.
 */
static void
test_mtu_by_segment_size(void **state)
{
	struct fixture	*f = *state;
	struct fspec	 s = fspec_tcp(4, payload, 20000);
	struct fpos	 pos = fspec_pos(&s);
	const uint8_t	*e;
	size_t		 len;

	inject(f, superframe(f, &s, 4, 1448));
	assert_int_equal(port_dummy_sent_count(f->p4), 0);
	assert_int_equal(f->p4->stats.drops[DROP_TOO_BIG], 1);
	assert_int_equal(f->dp->rtr->stats.icmp_frag_needed, 1);
	assert_int_equal(port_dummy_sent_count(f->p1), 1);
	assert_int_equal(port_dummy_sent_vnet(f->p1, 0)->gso_type, 0);
	assert_int_equal(port_dummy_sent_vnet(f->p1, 0)->flags, 0);
	assert_non_null(e = port_dummy_sent(f->p1, 0, &len));
	assert_int_equal(e[IP4_HLEN], ICMP_UNREACH);
	assert_int_equal(e[IP4_HLEN + 1], ICMP_UNREACH_NEEDFRAG);
	assert_int_equal(be16_get(e + IP4_HLEN + 6), 1000);
	assert_int_equal(ip_sum(e + IP4_HLEN, len - IP4_HLEN, 0), 0xffff);
	/* The quote: the first segment's IP header, checksum and all. */
	assert_int_equal(be16_get(e + IP4_HLEN + 8 + IPV4_OFF_LEN),
	    pos.hlen - 14 + 1448);
	assert_int_equal(ip_sum(e + IP4_HLEN + 8, IPV4_HLEN, 0), 0xffff);

	s.df = false;
	inject(f, superframe(f, &s, 4, 1448));
	assert_int_equal(f->p4->stats.drops[DROP_TOO_BIG], 2);
	assert_int_equal(f->dp->rtr->stats.fragmented, 0);
	assert_int_equal(port_dummy_sent_count(f->p1), 1);

	inject(f, superframe(f, &s, 4, 900));
	assert_int_equal(port_dummy_sent_count(f->p4), 1);
	assert_int_equal(sent_frame(f->p4, 0), pos.hlen + 20000);
	assert_int_equal(port_dummy_sent_vnet(f->p4, 0)->gso_size, 900);
}

/* IPv6: Packet Too Big by segment size as well. */
static void
test_ipv6_too_big_by_segment_size(void **state)
{
	struct fixture	*f = *state;
	struct fspec	 s = fspec_tcp(6, payload, 20000);
	struct rt_route	 r = { .type = RT_UNICAST, .port = f->p4 };

	r.dst = (struct ip_prefix){ AF_INET6, 128,
	    { 0xfd, 0, 0x56, 0x57, [15] = 0x80 } };
	assert_int_equal(rt_del(rtr_table(f->dp->rtr, AF_INET6), r.dst.addr,
	    128, -1), 0);
	assert_int_equal(rt_add(rtr_table(f->dp->rtr, AF_INET6), &r), 0);
	inject(f, superframe(f, &s, 0, 1200));
	assert_int_equal(f->p4->stats.drops[DROP_TOO_BIG], 1);
	assert_int_equal(f->dp->rtr->stats.icmp_frag_needed, 1);
	inject(f, superframe(f, &s, 0, 900));
	assert_int_equal(port_dummy_sent_count(f->p4), 1);
	assert_int_equal(port_dummy_sent_vnet(f->p4, 0)->gso_type,
	    VIRTIO_NET_HDR_GSO_TCPV6);

	r.port = f->p3;
	rt_del(rtr_table(f->dp->rtr, AF_INET6), r.dst.addr, 128, -1);
	assert_int_equal(rt_add(rtr_table(f->dp->rtr, AF_INET6), &r), 0);
}

/* TTL 1: Time Exceeded, an ordinary packet; a bad vnet header: a drop. */
static void
test_ttl_and_bad_offload(void **state)
{
	struct fixture	*f = *state;
	struct fspec	 s = fspec_tcp(4, payload, 5000);
	struct pkt	*p;

	s.ttl = 1;
	inject(f, superframe(f, &s, 3, 1448));
	assert_int_equal(f->p1->stats.drops[DROP_TTL_EXCEEDED], 1);
	assert_int_equal(port_dummy_sent_count(f->p1), 1);
	assert_int_equal(port_dummy_sent_vnet(f->p1, 0)->gso_type, 0);
	assert_int_equal(port_dummy_sent_count(f->p3), 0);

	s.ttl = 64;
	p = superframe(f, &s, 3, 1448);
	p->vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	inject(f, p);
	p = superframe(f, &s, 3, 1448);
	p->vnet.csum_start = 3;
	inject(f, p);
	assert_int_equal(f->p1->stats.drops[DROP_BAD_OFFLOAD], 2);
	assert_int_equal(port_dummy_sent_count(f->p3), 0);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, clear, NULL)

int
main(void)
{
	if (port_types_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		T(test_whole_to_a_taking_port),
		T(test_segmented_for_a_plain_port),
		T(test_mtu_by_segment_size),
		T(test_ipv6_too_big_by_segment_size),
		T(test_ttl_and_bad_offload),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
