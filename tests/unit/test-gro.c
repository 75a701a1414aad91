/*
 * test-gro.c - coalescing TCP segments: what merges, what must not (flags,
 * options, gaps, overlaps, differing IP fields, IP options, fragments, bad
 * checksums), VLAN tags and IPv6, running out of large buffers, and a
 * round trip: random super-frames segmented by gso.c and coalesced again
 * come back byte for byte with the same vnet header.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "datapath/gro.h"
#include "datapath/gso.h"
#include "frames.h"
#include "rng.h"

#define SEQ0	1000000u

static uint8_t		 payload[80000];
static uint8_t		 want[PKT_GSO_DATA_ROOM];
static struct pkt_pool	*pool, *large;
static struct gro_stats	 st;

static int
setup(void **state)
{
	(void)state;
	rng_fill(payload, sizeof(payload));
	return 0;
}

static int
before_each(void **state)
{
	(void)state;
	pool = pkt_pool_create(PKT_BATCH_MAX * 2, PKT_DATA_ROOM);
	large = pkt_pool_create(PKT_BATCH_MAX, PKT_GSO_DATA_ROOM);
	memset(&st, 0, sizeof(st));
	return 0;
}

static int
after_each(void **state)
{
	(void)state;
	pkt_pool_destroy(pool);
	pkt_pool_destroy(large);
	return 0;
}

/* Segment i of a stream: payload and sequence number follow the offset. */
static struct fspec
at(struct fspec s, size_t off, size_t len, unsigned i)
{
	s.seq = SEQ0 + (uint32_t)off;
	s.payload = payload + off;
	s.paylen = len;
	s.id = (uint16_t)(s.id + i);
	return s;
}

static void
add(struct pkt_batch *b, const struct fspec *s)
{
	struct pkt	*p = pkt_alloc(pool);

	assert_non_null(p);
	p->len = (uint32_t)frame_build(p->data, s);
	pkt_batch_add(b, p);
}

static void
add_at(struct pkt_batch *b, struct fspec s, size_t off, size_t len,
    unsigned i)
{
	struct fspec	t = at(s, off, len, i);

	add(b, &t);
}

/* n segments of len bytes each (the last one last_len) from offset 0. */
static void
add_stream(struct pkt_batch *b, const struct fspec *s, unsigned n,
    size_t len, size_t last_len)
{
	for (unsigned i = 0; i < n; i++)
		add_at(b, *s, i * len, i + 1 < n ? len : last_len, i);
}

/* p is s exactly as it was sent, and carries no offload state. */
static void
expect_same(const struct pkt *p, const struct fspec *s)
{
	size_t	len = frame_build(want, s);

	assert_int_equal(p->len, len);
	assert_memory_equal(p->data, want, len);
	assert_int_equal(p->vnet.flags, 0);
	assert_int_equal(p->vnet.gso_type, 0);
}

static void
expect_same_at(const struct pkt *p, struct fspec s, size_t off, size_t len,
    unsigned i)
{
	struct fspec	t = at(s, off, len, i);

	expect_same(p, &t);
}

/*
 * p is the super-frame of first (its headers) with total payload bytes and
 * flags, gso_size mss: partial checksum, vnet header ready for a tap.
 */
static void
expect_super(const struct pkt *p, struct fspec first, size_t total,
    uint8_t flags, uint16_t mss)
{
	struct fpos	pos = fspec_pos(&first);
	size_t		len;

	first.paylen = total;
	first.flags = flags;
	len = frame_build(want, &first);
	frame_make_partial(want, len, &first);
	assert_int_equal(p->len, len);
	assert_memory_equal(p->data, want, len);
	assert_int_equal(p->vnet.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(p->vnet.gso_type, (first.ipv == 4 ?
	    VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6) |
	    (flags & F_TCP_CWR ? VIRTIO_NET_HDR_GSO_ECN : 0));
	assert_int_equal(p->vnet.gso_size, mss);
	assert_int_equal(p->vnet.hdr_len, pos.hlen);
	assert_int_equal(p->vnet.csum_start, pos.l4);
	assert_int_equal(p->vnet.csum_offset, 16);
}

static void
done(struct pkt_batch *b)
{
	pkt_batch_free(b);
	assert_int_equal(pkt_pool_avail(pool), PKT_BATCH_MAX * 2);
	assert_int_equal(pkt_pool_avail(large), PKT_BATCH_MAX);
}

static void
test_merges_a_run(void **state)
{
	struct fspec		s = fspec_tcp(4, payload, 0);
	struct pkt_batch	b;

	(void)state;
	pkt_batch_init(&b);
	add_stream(&b, &s, 4, 1000, 1000);
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 1);
	expect_super(b.pkts[0], at(s, 0, 0, 0), 4000, F_TCP_ACK, 1000);
	assert_int_equal(st.superframes, 1);
	assert_int_equal(st.segments, 4);
	done(&b);
}

static void
test_odd_final_segment_ends_run(void **state)
{
	struct fspec		s = fspec_tcp(4, payload, 0);
	struct pkt_batch	b;

	(void)state;
	pkt_batch_init(&b);
	add_stream(&b, &s, 3, 1000, 537);
	add_at(&b, s, 2537, 1000, 3);
	add_at(&b, s, 3537, 1000, 4);
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 2);
	expect_super(b.pkts[0], at(s, 0, 0, 0), 2537, F_TCP_ACK, 1000);
	expect_super(b.pkts[1], at(s, 2537, 0, 3), 2000, F_TCP_ACK, 1000);
	done(&b);
}

/* A bigger segment after a smaller first one cannot join its run. */
static void
test_larger_segment_starts_new_run(void **state)
{
	struct fspec		s = fspec_tcp(6, payload, 0);
	struct pkt_batch	b;

	(void)state;
	pkt_batch_init(&b);
	add_at(&b, s, 0, 500, 0);
	add_at(&b, s, 500, 1000, 1);
	add_at(&b, s, 1500, 1000, 2);
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 2);
	expect_same_at(b.pkts[0], s, 0, 500, 0);
	expect_super(b.pkts[1], at(s, 500, 0, 1), 2000, F_TCP_ACK, 1000);
	done(&b);
}

static void
test_psh_ends_run(void **state)
{
	struct fspec		s = fspec_tcp(4, payload, 0), t;
	struct pkt_batch	b;

	(void)state;
	pkt_batch_init(&b);
	add_at(&b, s, 0, 1000, 0);
	t = at(s, 1000, 1000, 1);
	t.flags |= F_TCP_PSH;
	add(&b, &t);
	add_at(&b, s, 2000, 1000, 2);
	add_at(&b, s, 3000, 1000, 3);
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 2);
	expect_super(b.pkts[0], at(s, 0, 0, 0), 2000, F_TCP_ACK | F_TCP_PSH,
	    1000);
	expect_super(b.pkts[1], at(s, 2000, 0, 2), 2000, F_TCP_ACK, 1000);
	done(&b);
}

/* FIN, SYN, RST and URG never merge, and end the run before them. */
static void
test_fin_syn_rst_urg_never_merge(void **state)
{
	const uint8_t	flags[] = { F_TCP_FIN, F_TCP_SYN, F_TCP_RST, F_TCP_URG };

	(void)state;
	for (size_t k = 0; k < sizeof(flags); k++) {
		struct fspec s = fspec_tcp(4, payload, 0), t;
		struct pkt_batch b;

		pkt_batch_init(&b);
		add_stream(&b, &s, 2, 1000, 1000);
		t = at(s, 2000, 1000, 2);
		t.flags |= flags[k];
		add(&b, &t);
		add_at(&b, s, 3000, 1000, 3);
		gro_batch(&b, INET_L2, large, &st);
		assert_int_equal(b.count, 3);
		expect_super(b.pkts[0], at(s, 0, 0, 0), 2000, F_TCP_ACK,
		    1000);
		expect_same(b.pkts[1], &t);
		expect_same_at(b.pkts[2], s, 3000, 1000, 3);
		done(&b);
	}
}

static void
test_cwr_only_first(void **state)
{
	struct fspec		s = fspec_tcp(4, payload, 0), t;
	struct pkt_batch	b;

	(void)state;
	pkt_batch_init(&b);
	t = at(s, 0, 1000, 0);
	t.flags |= F_TCP_CWR | F_TCP_ECE;
	add(&b, &t);
	t = at(s, 1000, 1000, 1);
	t.flags |= F_TCP_ECE;
	add(&b, &t);
	t = at(s, 2000, 1000, 2);
	t.flags |= F_TCP_ECE | F_TCP_CWR;	/* CWR again: no */
	add(&b, &t);
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 2);
	expect_super(b.pkts[0], at(s, 0, 0, 0), 2000,
	    F_TCP_ACK | F_TCP_CWR | F_TCP_ECE, 1000);
	expect_same(b.pkts[1], &t);
	done(&b);
}

/* Gaps, reordering, retransmits and overlaps: nothing merges. */
static void
test_out_of_order_and_overlap_not_merged(void **state)
{
	struct fspec		s = fspec_tcp(4, payload, 0), seg[6];
	struct pkt_batch	b;

	(void)state;
	seg[0] = at(s, 0, 1000, 0);
	seg[1] = at(s, 2000, 1000, 1);		/* gap */
	seg[2] = at(s, 1000, 1000, 2);		/* late */
	seg[3] = at(s, 1000, 1000, 3);		/* retransmit */
	seg[4] = at(s, 1500, 1000, 4);		/* overlap */
	seg[5] = at(s, 0, 1000, 5);		/* older */
	pkt_batch_init(&b);
	for (int i = 0; i < 6; i++)
		add(&b, &seg[i]);
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 6);
	for (int i = 0; i < 6; i++)
		expect_same(b.pkts[i], &seg[i]);
	assert_int_equal(st.superframes, 0);
	done(&b);
}

enum differ {
	D_TTL, D_TOS, D_DF, D_ID_JUMP, D_ID_SAME_NO_DF, D_ACK, D_WIN,
	D_OPT, D_OPTLEN, D_ECE, D_NO_ACK, D_V6_HOPS, D_V6_TCLASS, D_V6_LABEL,
	D__COUNT
};

/* Two in-order segments that differ in one field stay apart. */
static void
test_differing_fields_not_merged(void **state)
{
	(void)state;
	for (int d = 0; d < D__COUNT; d++) {
		struct fspec s = fspec_tcp(d >= D_V6_HOPS ? 6 : 4, payload, 0);
		struct fspec a, c;
		struct pkt_batch b;

		memcpy(s.opt, "\x01\x01\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x02",
		    12);
		s.optlen = 12;
		if (d == D_ID_SAME_NO_DF)
			s.df = false;
		a = at(s, 0, 1000, 0);
		c = at(s, 1000, 1000, 1);
		switch (d) {
		case D_TTL:		c.ttl--; break;
		case D_TOS:		c.tos = 0x02; break;	/* ECN CE */
		case D_DF:		c.df = false; break;
		case D_ID_JUMP:		c.id++; break;
		case D_ID_SAME_NO_DF:	c.id = a.id; break;
		case D_ACK:		c.ack++; break;
		case D_WIN:		c.win++; break;
		case D_OPT:		c.opt[7]++; break;	/* TSval */
		case D_OPTLEN:		c.optlen = 0; break;
		case D_ECE:		c.flags |= F_TCP_ECE; break;
		case D_NO_ACK:		a.flags = c.flags = 0; break;
		case D_V6_HOPS:		c.hops--; break;
		case D_V6_TCLASS:	c.tclass = 0x20; break;
		case D_V6_LABEL:	c.label = 1; break;
		}
		pkt_batch_init(&b);
		add(&b, &a);
		add(&b, &c);
		gro_batch(&b, INET_L2, large, &st);
		if (b.count != 2)
			fail_msg("difference %d was merged", d);
		expect_same(b.pkts[0], &a);
		expect_same(b.pkts[1], &c);
		done(&b);
	}
}

/* With DF the ID may stay the same throughout (Linux accepts both). */
static void
test_fixed_id_with_df(void **state)
{
	struct fspec		s = fspec_tcp(4, payload, 0), t;
	struct pkt_batch	b;

	(void)state;
	pkt_batch_init(&b);
	for (unsigned i = 0; i < 3; i++) {
		t = at(s, i * 1000, 1000, 0);
		add(&b, &t);
	}
	t = at(s, 3000, 1000, 4);			/* then it moves */
	add(&b, &t);
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 2);
	expect_super(b.pkts[0], at(s, 0, 0, 0), 3000, F_TCP_ACK, 1000);
	expect_same(b.pkts[1], &t);
	done(&b);
}

static void
test_ip_options_fragments_not_merged(void **state)
{
	struct fspec		s = fspec_tcp(4, payload, 0), seg[5];
	struct pkt_batch	b;

	(void)state;
	seg[0] = at(s, 0, 1000, 0);
	seg[1] = at(s, 1000, 1000, 1);
	memcpy(seg[1].ipopt, "\x01\x01\x01\x00", 4);
	seg[1].ipoptlen = 4;
	seg[2] = at(s, 2000, 1000, 2);		/* the same options */
	memcpy(seg[2].ipopt, seg[1].ipopt, 4);
	seg[2].ipoptlen = 4;
	seg[3] = at(s, 3000, 1000, 3);
	seg[3].mf = true;
	seg[3].df = false;
	seg[4] = at(s, 4000, 1000, 4);
	pkt_batch_init(&b);
	for (int i = 0; i < 5; i++)
		add(&b, &seg[i]);
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 5);
	for (int i = 0; i < 5; i++)
		expect_same(b.pkts[i], &seg[i]);
	done(&b);
}

static void
test_bad_checksum_passed_through(void **state)
{
	struct fspec		s = fspec_tcp(6, payload, 0);
	struct pkt_batch	b;

	(void)state;
	pkt_batch_init(&b);
	add_stream(&b, &s, 5, 1000, 1000);
	b.pkts[1]->data[b.pkts[1]->len - 1] ^= 1;	/* payload corrupt */
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 3);
	expect_same_at(b.pkts[0], s, 0, 1000, 0);
	assert_int_equal(b.pkts[1]->vnet.flags, 0);
	assert_int_equal(b.pkts[1]->len, fspec_pos(&s).hlen + 1000);
	expect_super(b.pkts[2], at(s, 2000, 0, 2), 3000, F_TCP_ACK, 1000);
	assert_int_equal(st.bad_csum, 1);

	/* A bad IPv4 header checksum too. */
	pkt_batch_free(&b);
	s = fspec_tcp(4, payload, 0);
	add_stream(&b, &s, 2, 1000, 1000);
	b.pkts[1]->data[14 + 10] ^= 0x40;
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 2);
	assert_int_equal(st.bad_csum, 2);
	done(&b);
}

static void
test_flows_interleaved_keep_order(void **state)
{
	struct fspec		a = fspec_tcp(4, payload, 0);
	struct fspec		c = fspec_tcp(6, payload, 0);
	struct fspec		v = fspec_tcp(4, payload, 0);
	struct fspec		udp = fspec_tcp(4, payload, 300);
	struct pkt_batch	b;

	(void)state;
	a.ntags = 1;
	a.tpid[0] = 0x8100;
	a.vid[0] = 10;
	c.ntags = 1;
	c.tpid[0] = 0x8100;
	c.vid[0] = 10;
	v.ntags = 1;		/* flow a's 5-tuple on another VLAN */
	v.tpid[0] = 0x8100;
	v.vid[0] = 11;
	udp.udp = true;
	pkt_batch_init(&b);
	for (unsigned i = 0; i < 3; i++) {
		add_at(&b, a, i * 1448, 1448, i);
		if (i == 1)
			add(&b, &udp);
		add_at(&b, c, i * 1200, 1200, i);
		add_at(&b, v, i * 1000, 1000, i);
	}
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 4);
	expect_super(b.pkts[0], at(a, 0, 0, 0), 3 * 1448, F_TCP_ACK, 1448);
	expect_super(b.pkts[1], at(c, 0, 0, 0), 3 * 1200, F_TCP_ACK, 1200);
	expect_super(b.pkts[2], at(v, 0, 0, 0), 3 * 1000, F_TCP_ACK, 1000);
	expect_same(b.pkts[3], &udp);
	assert_int_equal(st.superframes, 3);
	assert_int_equal(st.segments, 9);
	done(&b);
}

/* Pure ACKs, non-TCP frames and frames with offload state pass through. */
static void
test_others_pass_through(void **state)
{
	struct fspec		s = fspec_tcp(4, payload, 0), ack;
	struct pkt_batch	b;
	struct pkt		*arp;

	(void)state;
	pkt_batch_init(&b);
	ack = at(s, 0, 0, 0);
	add(&b, &ack);
	add_at(&b, s, 0, 1000, 1);
	add_at(&b, s, 1000, 1000, 2);
	b.pkts[2]->vnet.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	arp = pkt_alloc(pool);
	memset(arp->data, 0xff, 60);
	f_put16(arp->data + 12, 0x0806);
	arp->len = 60;
	pkt_batch_add(&b, arp);
	arp = pkt_alloc(pool);
	arp->len = 3;				/* a runt */
	pkt_batch_add(&b, arp);
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 5);
	expect_same(b.pkts[0], &ack);
	expect_same_at(b.pkts[1], s, 0, 1000, 1);
	assert_int_equal(b.pkts[3]->len, 60);
	assert_int_equal(b.pkts[4]->len, 3);
	assert_int_equal(st.superframes, 0);
	done(&b);
}

/* No large buffer: nothing merges, nothing is lost. */
static void
test_large_pool_empty(void **state)
{
	struct fspec		s = fspec_tcp(4, payload, 0);
	struct pkt_batch	b, hold;

	(void)state;
	pkt_batch_init(&hold);
	while (pkt_pool_avail(large) > 0)
		pkt_batch_add(&hold, pkt_alloc(large));
	pkt_batch_init(&b);
	add_stream(&b, &s, 4, 1000, 1000);
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 4);
	for (unsigned i = 0; i < 4; i++)
		expect_same_at(b.pkts[i], s, i * 1000, 1000,
		    i);
	assert_true(st.no_buffer > 0);
	pkt_batch_free(&hold);
	done(&b);
}

/* 64 KiB of IP at most: a longer run is cut in two. */
static void
test_size_limit(void **state)
{
	struct fspec		s = fspec_tcp(4, payload, 0);
	struct pkt_batch	b;

	(void)state;
	pkt_batch_init(&b);
	add_stream(&b, &s, 8, 9000, 2500);	/* jumbo segments */
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 2);
	/*
	 * 20 + 20 + 7 * 9000 fits in 65535; 2500 more would not, though the
	 * frame would still fit a large buffer.
	 */
	expect_super(b.pkts[0], at(s, 0, 0, 0), 7 * 9000, F_TCP_ACK, 9000);
	expect_same_at(b.pkts[1], s, 7 * 9000, 2500, 7);
	done(&b);
}

/*
 * The round trip: a random TCP super-frame (IPv4 or IPv6, 0-2 tags, random
 * options, ECN, PSH, DF, ID and sequence numbers near their wrap) is cut by
 * gso.c, every segment checked, and gro.c must give back the same bytes and
 * vnet header.  A super-frame of one segment comes back as that segment.
 */
static void
test_roundtrip(void **state)
{
	(void)state;
	for (unsigned round = 0; round < 3000; round++) {
		struct fspec s = fspec_tcp(rng(2) ? 4 : 6, payload, 0);
		struct pkt *src = pkt_alloc(large);
		struct gso_iter it;
		struct pkt_batch b;
		struct fpos pos;
		uint16_t mss;
		unsigned nsegs;

		s.ntags = rng(3);
		s.tpid[0] = rng(2) ? 0x8100 : 0x88a8;
		s.tpid[1] = 0x8100;
		s.vid[0] = (uint16_t)rng(4096);
		s.vid[1] = (uint16_t)rng(4096);
		s.optlen = 4 * rng(11);
		for (unsigned i = 0; i < s.optlen; i++)
			s.opt[i] = (uint8_t)rng(256);
		s.flags = F_TCP_ACK | (rng(2) ? F_TCP_PSH : 0) |
		    (rng(4) ? 0 : F_TCP_CWR) | (rng(4) ? 0 : F_TCP_ECE);
		s.df = rng(2);
		s.id = (uint16_t)(0xfff0 + rng(32));
		s.seq = 0xffff0000u + rng(1u << 17);
		s.ack = rng(UINT32_MAX);
		s.win = (uint16_t)rng(65536);
		s.tos = (uint8_t)rng(256);
		s.ttl = (uint8_t)rng(256);
		s.tclass = (uint8_t)rng(256);
		s.label = rng(1 << 20);
		s.hops = (uint8_t)rng(256);
		pos = fspec_pos(&s);
		/* Keep to one batch of segments and 64 KiB of IP. */
		s.paylen = rng(65535 - (pos.hlen - pos.l3) + 1);
		mss = (uint16_t)((s.paylen + PKT_BATCH_MAX - 1) /
		    PKT_BATCH_MAX + rng(3000));
		if (mss == 0)
			mss = 1;
		if (pos.hlen + mss > PKT_DATA_ROOM)
			mss = (uint16_t)(PKT_DATA_ROOM - pos.hlen);
		s.payload = payload + rng(1000);

		src->len = (uint32_t)frame_build(src->data, &s);
		frame_make_partial(src->data, src->len, &s);
		src->vnet = (struct virtio_net_hdr){
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			.gso_type = (uint8_t)((s.ipv == 4 ?
			    VIRTIO_NET_HDR_GSO_TCPV4 :
			    VIRTIO_NET_HDR_GSO_TCPV6) |
			    (s.flags & F_TCP_CWR ? VIRTIO_NET_HDR_GSO_ECN : 0)),
			.hdr_len = (uint16_t)pos.hlen, .gso_size = mss,
			.csum_start = (uint16_t)pos.l4, .csum_offset = 16,
		};
		nsegs = s.paylen == 0 ? 1 :
		    (unsigned)((s.paylen + mss - 1) / mss);
		assert_true(nsegs <= PKT_BATCH_MAX);

		pkt_batch_init(&b);
		assert_int_equal(gso_start(&it, src, INET_L2), 0);
		assert_int_equal(gso_next(&it, pool, &b), 0);
		assert_true(gso_done(&it));
		assert_int_equal(b.count, nsegs);
		for (unsigned i = 0; i < b.count; i++)
			check_frame(b.pkts[i]->data, b.pkts[i]->len, &s);

		gro_batch(&b, INET_L2, large, &st);
		assert_int_equal(b.count, 1);
		if (nsegs == 1) {
			/* As sent, checksum completed. */
			assert_int_equal(b.pkts[0]->len, src->len);
			assert_memory_equal(b.pkts[0]->data, src->data,
			    pos.l4 + 16);
			assert_int_equal(b.pkts[0]->vnet.flags, 0);
		} else {
			assert_int_equal(b.pkts[0]->len, src->len);
			assert_memory_equal(b.pkts[0]->data, src->data,
			    src->len);
			assert_memory_equal(&b.pkts[0]->vnet, &src->vnet,
			    sizeof(src->vnet));
		}
		pkt_free(src);
		done(&b);
	}
}

/*
 * Bare IP packets (an L3 port's) coalesce as INET_L3: two flows of IPv4
 * and IPv6 segments interleaved make one super-frame each, whose headers,
 * payload and vnet header are those of the Ethernet case without the
 * Ethernet header, and which gso.c cuts back into the packets sent.
 */
static void
test_l3_packets(void **state)
{
	struct fspec		 s4 = fspec_tcp(4, payload, 0);
	struct fspec		 s6 = fspec_tcp(6, payload, 0);
	struct pkt_batch	 b, segs;
	struct gso_iter		 it;

	(void)state;
	pkt_batch_init(&b);
	for (unsigned i = 0; i < 6; i++) {
		add_at(&b, i % 2 ? s6 : s4, (i / 2) * 1200, 1200, i / 2);
		assert_non_null(pkt_pull(b.pkts[i], 14));
	}
	/* As Ethernet frames they are not IP: nothing merges. */
	gro_batch(&b, INET_L2, large, &st);
	assert_int_equal(b.count, 6);
	gro_batch(&b, INET_L3, large, &st);
	assert_int_equal(b.count, 2);
	assert_int_equal(st.superframes, 2);
	for (unsigned i = 0; i < 2; i++) {
		struct pkt *p = b.pkts[i];
		struct fspec first = at(i ? s6 : s4, 0, 0, 0);
		struct fpos pos = fspec_pos(&first);

		/* expect_super() on the frame with its Ethernet header. */
		assert_non_null(pkt_push(p, 14));
		p->vnet.csum_start += 14;
		p->vnet.hdr_len += 14;
		frame_build(want, &first);
		memcpy(p->data, want, 14);
		expect_super(p, first, 3600, F_TCP_ACK, 1200);
		assert_non_null(pkt_pull(p, 14));
		p->vnet.csum_start -= 14;
		p->vnet.hdr_len -= 14;
		assert_int_equal(gso_wire_len(p, INET_L3),
		    pos.hlen - 14 + 1200);

		pkt_batch_init(&segs);
		assert_int_equal(gso_start(&it, p, INET_L3), 0);
		assert_int_equal(gso_next(&it, pool, &segs), 0);
		assert_int_equal(segs.count, 3);
		for (unsigned j = 0; j < 3; j++) {
			struct fspec t = at(first, j * 1200, 1200, j);
			size_t len = frame_build(want, &t);

			assert_int_equal(segs.pkts[j]->len + 14, len);
			assert_memory_equal(segs.pkts[j]->data, want + 14,
			    len - 14);
		}
		pkt_batch_free(&segs);
	}
	done(&b);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, before_each, after_each)
	const struct CMUnitTest tests[] = {
		T(test_merges_a_run),
		T(test_odd_final_segment_ends_run),
		T(test_larger_segment_starts_new_run),
		T(test_psh_ends_run),
		T(test_fin_syn_rst_urg_never_merge),
		T(test_cwr_only_first),
		T(test_out_of_order_and_overlap_not_merged),
		T(test_differing_fields_not_merged),
		T(test_fixed_id_with_df),
		T(test_ip_options_fragments_not_merged),
		T(test_bad_checksum_passed_through),
		T(test_flows_interleaved_keep_order),
		T(test_others_pass_through),
		T(test_large_pool_empty),
		T(test_size_limit),
		T(test_roundtrip),
		T(test_l3_packets),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
