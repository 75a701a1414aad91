/*
 * test-gso.c - the Internet checksum, checksum completion and software
 * segmentation (TSO4, TSO6, USO) with VLAN tags, TCP and IP options; every
 * segment is verified by the independent checker in frames.h.  Bad vnet
 * headers and malformed frames must be refused before anything is made.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "datapath/csum.h"
#include "datapath/gso.h"
#include "frames.h"
#include "rng.h"

static uint8_t	payload[70000];

static int
setup(void **state)
{
	(void)state;
	rng_fill(payload, sizeof(payload));
	return 0;
}

/* A super-frame in a large buffer, TSO-style: partial checksum, vnet set. */
static struct pkt *
superframe(struct pkt_pool *large, const struct fspec *s, uint16_t mss)
{
	struct pkt	*p = pkt_alloc(large);
	struct fpos	 pos = fspec_pos(s);

	assert_non_null(p);
	p->len = (uint32_t)frame_build(p->data, s);
	frame_make_partial(p->data, p->len, s);
	p->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->vnet.gso_type = s->udp ? VIRTIO_NET_HDR_GSO_UDP_L4 :
	    s->ipv == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	if (!s->udp && (s->flags & F_TCP_CWR))
		p->vnet.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	p->vnet.gso_size = mss;
	p->vnet.hdr_len = (uint16_t)pos.hlen;
	p->vnet.csum_start = (uint16_t)pos.l4;
	p->vnet.csum_offset = s->udp ? 6 : 16;
	return p;
}

/*
 * Segments src completely, a batch at a time, checks every segment against
 * s and the rules (lengths, IDs, sequence numbers, flags, payload bytes),
 * and returns how many there were.
 */
static unsigned
segment_and_check(struct pkt *src, const struct fspec *s, uint16_t mss,
    struct pkt_pool *pool)
{
	struct gso_iter		 it;
	struct pkt_batch	 out;
	struct fpos		 pos = fspec_pos(s);
	size_t			 off = 0, total = s->paylen;
	unsigned		 n = 0, nsegs;

	assert_int_equal(gso_start(&it, src, INET_L2), 0);
	nsegs = total == 0 ? 1 : (unsigned)((total + mss - 1) / mss);
	assert_int_equal(gso_left(&it), nsegs);
	while (!gso_done(&it)) {
		pkt_batch_init(&out);
		assert_int_equal(gso_next(&it, pool, &out), 0);
		assert_true(out.count > 0);
		for (unsigned i = 0; i < out.count; i++, n++) {
			struct pkt *p = out.pkts[i];
			const uint8_t *ip = p->data + pos.l3;
			const uint8_t *l4 = p->data + pos.l4;
			size_t want = total - off < mss ? total - off : mss;

			assert_int_equal(check_frame(p->data, p->len, s), want);
			assert_memory_equal(p->data + pos.hlen,
			    s->payload + off, want);
			/* Headers other than the fixed-up fields are copied. */
			assert_memory_equal(p->data, src->data, pos.l3);
			assert_int_equal(p->vnet.flags, 0);
			assert_int_equal(p->vnet.gso_type, 0);
			if (s->ipv == 4)
				assert_int_equal(f_get16(ip + 4),
				    (uint16_t)(s->id + n));
			if (!s->udp) {
				uint8_t want_flags = s->flags;
				if (n > 0)
					want_flags &= (uint8_t)~F_TCP_CWR;
				if (n + 1 < nsegs)
					want_flags &= (uint8_t)~(F_TCP_FIN |
					    F_TCP_PSH);
				assert_int_equal(l4[13], want_flags);
				assert_int_equal(f_get32(l4 + 4),
				    (uint32_t)(s->seq + off));
				assert_memory_equal(l4 + 20, s->opt,
				    s->optlen);
			}
			off += want;
		}
		pkt_batch_free(&out);
	}
	assert_int_equal(off, total);
	assert_int_equal(n, nsegs);
	return n;
}

/* A folded sum as the two bytes csum_put() would store, read big-endian. */
static uint16_t
stored(uint16_t folded)
{
	uint8_t	b[2];

	csum_put(b, folded);
	return f_get16(b);
}

static void
test_csum_matches_reference(void **state)
{
	(void)state;
	for (unsigned i = 0; i < 2000; i++) {
		size_t start = rng(64), len = rng(3000);
		uint64_t sum = csum_add(0, payload + start, len);
		assert_int_equal(stored(csum_fold(sum)),
		    ref_fold(ref_sum(0, payload + start, len)));
		/* Continuing over an even first piece gives the same sum. */
		size_t cut = rng((uint32_t)len / 2 + 1) * 2;
		sum = csum_add(csum_add(0, payload + start, cut),
		    payload + start + cut, len - cut);
		assert_int_equal(stored(csum_fold(sum)),
		    ref_fold(ref_sum(0, payload + start, len)));
	}
	assert_int_equal(csum_fold(csum_add(0, "", 0)), 0);
}

static void
test_csum_complete(void **state)
{
	struct pkt_pool	*pool = pkt_pool_create(2, PKT_DATA_ROOM);
	struct fspec	 s = fspec_tcp(4, payload, 1001);
	struct pkt	*p = pkt_alloc(pool);
	struct fpos	 pos;

	(void)state;
	s.ntags = 1;
	s.tpid[0] = 0x8100;
	s.vid[0] = 7;
	pos = fspec_pos(&s);
	p->len = (uint32_t)frame_build(p->data, &s);
	frame_make_partial(p->data, p->len, &s);
	p->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->vnet.csum_start = (uint16_t)pos.l4;
	p->vnet.csum_offset = 16;
	assert_int_equal(gso_csum(p), 0);
	check_frame(p->data, p->len, &s);
	assert_int_equal(p->vnet.flags, 0);
	/* Nothing asked: nothing done. */
	p->data[pos.l4 + 16] ^= 0xff;
	uint8_t flipped = p->data[pos.l4 + 16];
	assert_int_equal(gso_csum(p), 0);
	assert_int_equal(p->data[pos.l4 + 16], flipped);

	/* IPv6 UDP whose sum comes to zero: written as 0xffff. */
	s = fspec_tcp(6, payload, 64);
	s.udp = true;
	uint8_t data[64];
	memcpy(data, payload, sizeof(data));
	s.payload = data;
	pos = fspec_pos(&s);
	p->len = (uint32_t)frame_build(p->data, &s);
	frame_make_partial(p->data, p->len, &s);
	{
		/* Pick the last two payload bytes so the sum is 0xffff. */
		uint32_t rest;
		p->data[p->len - 2] = p->data[p->len - 1] = 0;
		rest = ref_fold(ref_sum(0, p->data + pos.l4, p->len - pos.l4));
		f_put16(p->data + p->len - 2, (uint16_t)(0xffff - rest));
	}
	p->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->vnet.csum_start = (uint16_t)pos.l4;
	p->vnet.csum_offset = 6;
	assert_int_equal(gso_csum(p), 0);
	assert_int_equal(f_get16(p->data + pos.l4 + 6), 0xffff);
	memcpy(data + 62, p->data + p->len - 2, 2);
	check_frame(p->data, p->len, &s);
	pkt_free(p);
	pkt_pool_destroy(pool);
}

static void
test_csum_bad_offsets(void **state)
{
	struct pkt_pool	*pool = pkt_pool_create(1, 256);
	struct pkt	*p = pkt_alloc(pool);
	uint8_t		 before[100];

	(void)state;
	p->len = 100;
	memcpy(p->data, payload, 100);
	memcpy(before, p->data, 100);
	p->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	const uint16_t bad[][2] = { { 99, 0 }, { 100, 0 }, { 60, 39 },
	    { 0, 99 }, { 65535, 65535 }, { 98, 1 } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p->vnet.csum_start = bad[i][0];
		p->vnet.csum_offset = bad[i][1];
		assert_int_equal(gso_csum(p), EINVAL);
		assert_memory_equal(p->data, before, 100);
		assert_int_equal(p->vnet.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	}
	/* The last two bytes are the last field that fits. */
	p->vnet.csum_start = 60;
	p->vnet.csum_offset = 38;
	assert_int_equal(gso_csum(p), 0);
	pkt_free(p);
	pkt_pool_destroy(pool);
}

static void
test_tso4_flags_and_odd_last_segment(void **state)
{
	struct pkt_pool	*large = pkt_pool_create(1, PKT_GSO_DATA_ROOM);
	struct pkt_pool	*pool = pkt_pool_create(64, PKT_DATA_ROOM);
	struct fspec	 s = fspec_tcp(4, payload, 4001);
	struct pkt	*p;

	(void)state;
	s.flags = F_TCP_ACK | F_TCP_PSH | F_TCP_FIN | F_TCP_CWR | F_TCP_ECE;
	s.id = 0xfffe;			/* the ID wraps */
	s.seq = 0xfffff000;		/* and so does the sequence number */
	p = superframe(large, &s, 1000);
	assert_int_equal(segment_and_check(p, &s, 1000, pool), 5);
	pkt_free(p);
	assert_int_equal(pkt_pool_avail(pool), 64);
	pkt_pool_destroy(pool);
	pkt_pool_destroy(large);
}

static void
test_tso6_two_tags_and_options(void **state)
{
	struct pkt_pool	*large = pkt_pool_create(1, PKT_GSO_DATA_ROOM);
	struct pkt_pool	*pool = pkt_pool_create(64, PKT_DATA_ROOM);
	struct fspec	 s = fspec_tcp(6, payload, 1448 * 20);
	struct pkt	*p;

	(void)state;
	s.ntags = 2;
	s.tpid[0] = 0x88a8;
	s.vid[0] = 100;
	s.tpid[1] = 0x8100;
	s.vid[1] = 200;
	s.tclass = 0x28;
	s.label = 0xabcde;
	/* NOP, NOP, timestamps. */
	memcpy(s.opt, "\x01\x01\x08\x0a\x00\x01\x02\x03\x04\x05\x06\x07", 12);
	s.optlen = 12;
	p = superframe(large, &s, 1448);
	assert_int_equal(segment_and_check(p, &s, 1448, pool), 20);
	pkt_free(p);
	pkt_pool_destroy(pool);
	pkt_pool_destroy(large);
}

static void
test_ipv4_options_copied(void **state)
{
	struct pkt_pool	*large = pkt_pool_create(1, PKT_GSO_DATA_ROOM);
	struct pkt_pool	*pool = pkt_pool_create(64, PKT_DATA_ROOM);
	struct fspec	 s = fspec_tcp(4, payload, 3000);
	struct pkt	*p;

	(void)state;
	memcpy(s.ipopt, "\x94\x04\x00\x00", 4);	/* router alert */
	s.ipoptlen = 4;
	p = superframe(large, &s, 1400);
	assert_int_equal(segment_and_check(p, &s, 1400, pool), 3);
	pkt_free(p);
	pkt_pool_destroy(pool);
	pkt_pool_destroy(large);
}

static void
test_uso4_and_uso6(void **state)
{
	struct pkt_pool	*large = pkt_pool_create(1, PKT_GSO_DATA_ROOM);
	struct pkt_pool	*pool = pkt_pool_create(64, PKT_DATA_ROOM);

	(void)state;
	for (unsigned ipv = 4; ipv <= 6; ipv += 2) {
		struct fspec s = fspec_tcp(ipv, payload, 9000 + ipv);
		struct pkt *p;

		s.udp = true;
		s.ntags = 1;
		s.tpid[0] = 0x8100;
		s.vid[0] = 42;
		p = superframe(large, &s, 1472);
		assert_int_equal(segment_and_check(p, &s, 1472, pool), 7);
		pkt_free(p);
	}
	pkt_pool_destroy(pool);
	pkt_pool_destroy(large);
}

/* A UDP segment whose checksum comes to zero is sent as 0xffff. */
static void
test_uso_zero_checksum(void **state)
{
	struct pkt_pool		*large = pkt_pool_create(1, PKT_GSO_DATA_ROOM);
	struct pkt_pool		*pool = pkt_pool_create(4, PKT_DATA_ROOM);
	struct fspec		 s = fspec_tcp(4, NULL, 128);
	uint8_t			 data[128];
	struct gso_iter		 it;
	struct pkt_batch	 out;
	struct pkt		*p, *seg;
	struct fpos		 pos;
	uint16_t		 fold;

	(void)state;
	memcpy(data, payload, sizeof(data));
	s.payload = data;
	s.udp = true;
	pos = fspec_pos(&s);

	/* Segment once, then pick the first slice's last two bytes. */
	data[62] = data[63] = 0;
	p = superframe(large, &s, 64);
	pkt_batch_init(&out);
	assert_int_equal(gso_start(&it, p, INET_L2), 0);
	assert_int_equal(gso_next(&it, pool, &out), 0);
	seg = out.pkts[0];
	seg->data[pos.l4 + 6] = seg->data[pos.l4 + 7] = 0;
	fold = ref_fold(ref_sum(ref_pseudo(seg->data + pos.l3, 4, 17,
	    seg->len - (uint32_t)pos.l4), seg->data + pos.l4,
	    seg->len - pos.l4));
	f_put16(data + 62, (uint16_t)(0xffff - fold));
	pkt_batch_free(&out);
	pkt_free(p);

	p = superframe(large, &s, 64);
	assert_int_equal(gso_start(&it, p, INET_L2), 0);
	assert_int_equal(gso_next(&it, pool, &out), 0);
	assert_int_equal(out.count, 2);
	assert_int_equal(f_get16(out.pkts[0]->data + pos.l4 + 6), 0xffff);
	for (unsigned i = 0; i < 2; i++)
		check_frame(out.pkts[i]->data, out.pkts[i]->len, &s);
	pkt_batch_free(&out);
	pkt_free(p);
	pkt_pool_destroy(pool);
	pkt_pool_destroy(large);
}

static void
test_one_segment_and_empty_payload(void **state)
{
	struct pkt_pool	*large = pkt_pool_create(1, PKT_GSO_DATA_ROOM);
	struct pkt_pool	*pool = pkt_pool_create(8, PKT_DATA_ROOM);
	size_t		 lens[] = { 0, 1, 1447, 1448 };

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct fspec s = fspec_tcp(4, payload, lens[i]);
		struct pkt *p;

		s.flags = F_TCP_ACK | F_TCP_PSH | F_TCP_FIN | F_TCP_CWR;
		p = superframe(large, &s, 1448);
		assert_int_equal(segment_and_check(p, &s, 1448, pool), 1);
		pkt_free(p);
	}
	pkt_pool_destroy(pool);
	pkt_pool_destroy(large);
}

/* More segments than a batch: gso_next() is called until done. */
static void
test_many_segments_across_batches(void **state)
{
	struct pkt_pool	*large = pkt_pool_create(1, PKT_GSO_DATA_ROOM);
	struct pkt_pool	*pool = pkt_pool_create(PKT_BATCH_MAX, PKT_DATA_ROOM);
	struct fspec	 s = fspec_tcp(4, payload, 65535 - 40);
	struct pkt	*p;

	(void)state;
	p = superframe(large, &s, 100);
	assert_int_equal(segment_and_check(p, &s, 100, pool), 655);

	/* The largest IPv6 payload, at gso_size 64: GSO_MAX_SEGS segments. */
	pkt_free(p);
	s = fspec_tcp(6, payload, (GSO_MAX_SEGS - 1) * 64 + 1);
	p = superframe(large, &s, 64);
	assert_int_equal(segment_and_check(p, &s, 64, pool), GSO_MAX_SEGS);
	pkt_free(p);
	pkt_pool_destroy(pool);
	pkt_pool_destroy(large);
}

static void
test_pool_runs_dry(void **state)
{
	struct pkt_pool		*large = pkt_pool_create(1, PKT_GSO_DATA_ROOM);
	struct pkt_pool		*pool = pkt_pool_create(3, PKT_DATA_ROOM);
	struct pkt_pool		*small = pkt_pool_create(3, 600);
	struct fspec		 s = fspec_tcp(6, payload, 10000);
	struct gso_iter		 it;
	struct pkt_batch	 out;
	struct pkt		*p;

	(void)state;
	p = superframe(large, &s, 1000);
	assert_int_equal(gso_start(&it, p, INET_L2), 0);
	pkt_batch_init(&out);
	assert_int_equal(gso_next(&it, pool, &out), ENOBUFS);
	assert_int_equal(out.count, 3);
	assert_int_equal(gso_left(&it), 7);
	for (unsigned i = 0; i < out.count; i++)
		check_frame(out.pkts[i]->data, out.pkts[i]->len, &s);
	pkt_batch_free(&out);

	/* A segment larger than the pool's buffers: nothing is made. */
	assert_int_equal(gso_start(&it, p, INET_L2), 0);
	assert_int_equal(gso_next(&it, small, &out), EMSGSIZE);
	assert_int_equal(out.count, 0);
	assert_int_equal(pkt_pool_avail(small), 3);

	/* A full output batch: nothing is made, nothing is lost. */
	assert_int_equal(gso_start(&it, p, INET_L2), 0);
	for (unsigned i = 0; i < PKT_BATCH_MAX; i++)
		pkt_batch_add(&out, p);
	assert_int_equal(gso_next(&it, pool, &out), 0);
	assert_int_equal(out.count, PKT_BATCH_MAX);
	assert_int_equal(gso_left(&it), 10);
	pkt_free(p);
	pkt_pool_destroy(small);
	pkt_pool_destroy(pool);
	pkt_pool_destroy(large);
}

enum mutation {
	M_GSO_SIZE_0, M_HDR_LEN, M_CSUM_START, M_CSUM_OFFSET, M_TYPE_V6,
	M_UFO, M_UNKNOWN_TYPE, M_NONE, M_ECN_UDP, M_TRUNCATED, M_MF,
	M_FRAG_OFFSET, M_ARP, M_THREE_TAGS, M_TOO_MANY_SEGS, M_IP_LEN,
	M_DOFF_SHORT, M_DOFF_LONG, M_IHL_SHORT, M_IPV6_EXT, M_VERSION,
	M__COUNT
};

static const int mutation_error[M__COUNT] = {
	[M_GSO_SIZE_0] = EINVAL, [M_HDR_LEN] = EINVAL,
	[M_CSUM_START] = EINVAL, [M_CSUM_OFFSET] = EINVAL,
	[M_TYPE_V6] = EINVAL, [M_UFO] = EOPNOTSUPP,
	[M_UNKNOWN_TYPE] = EOPNOTSUPP, [M_NONE] = EINVAL,
	[M_ECN_UDP] = EINVAL, [M_TRUNCATED] = EINVAL, [M_MF] = EINVAL,
	[M_FRAG_OFFSET] = EPROTONOSUPPORT, [M_ARP] = EPROTONOSUPPORT,
	[M_THREE_TAGS] = EPROTONOSUPPORT, [M_TOO_MANY_SEGS] = EINVAL,
	[M_IP_LEN] = EINVAL, [M_DOFF_SHORT] = EINVAL, [M_DOFF_LONG] = EINVAL,
	[M_IHL_SHORT] = EINVAL, [M_IPV6_EXT] = EPROTONOSUPPORT,
	[M_VERSION] = EINVAL,
};

static void
test_bad_headers_refused(void **state)
{
	struct pkt_pool	*large = pkt_pool_create(1, PKT_GSO_DATA_ROOM);
	struct gso_iter	 it;

	(void)state;
	for (int m = 0; m < M__COUNT; m++) {
		struct fspec s = fspec_tcp(m == M_IPV6_EXT ? 6 : 4, payload,
		    m == M_TOO_MANY_SEGS ? 2000 : 3000);
		struct pkt *p;
		uint8_t *ip, *l4;
		struct fpos pos;

		if (m == M_THREE_TAGS) {
			s.ntags = 2;
			s.tpid[0] = s.tpid[1] = 0x8100;
		}
		if (m == M_ECN_UDP)
			s.udp = true;
		p = superframe(large, &s, 1000);
		pos = fspec_pos(&s);
		ip = p->data + pos.l3;
		l4 = p->data + pos.l4;
		switch (m) {
		case M_GSO_SIZE_0:	p->vnet.gso_size = 0; break;
		case M_HDR_LEN:		p->vnet.hdr_len = (uint16_t)(p->len + 1);
					break;
		case M_CSUM_START:	p->vnet.csum_start++; break;
		case M_CSUM_OFFSET:	p->vnet.csum_offset = 6; break;
		case M_TYPE_V6:		p->vnet.gso_type =
					    VIRTIO_NET_HDR_GSO_TCPV6; break;
		case M_UFO:		p->vnet.gso_type =
					    VIRTIO_NET_HDR_GSO_UDP; break;
		case M_UNKNOWN_TYPE:	p->vnet.gso_type = 7; break;
		case M_NONE:		p->vnet.gso_type = 0; break;
		case M_ECN_UDP:		p->vnet.gso_type |=
					    VIRTIO_NET_HDR_GSO_ECN; break;
		case M_TRUNCATED:	p->len = (uint32_t)pos.l4 + 10;
					p->vnet.hdr_len = 0; break;
		case M_MF:		ip[6] |= 0x20; break;
		case M_FRAG_OFFSET:	ip[7] = 1; break;
		case M_ARP:		f_put16(p->data + 12, 0x0806); break;
		case M_THREE_TAGS:	f_put16(p->data + 20, 0x8100); break;
		case M_TOO_MANY_SEGS:	p->vnet.gso_size = 1; break;
		case M_IP_LEN:		p->vnet.gso_size = 65535 - 20; break;
		case M_DOFF_SHORT:	l4[12] = 4 << 4; break;
		case M_DOFF_LONG:	p->len = (uint32_t)pos.l4 + 24;
					l4[12] = 15 << 4; break;
		case M_IHL_SHORT:	ip[0] = 0x44; break;
		case M_IPV6_EXT:	ip[6] = 0; break;	/* hop-by-hop */
		case M_VERSION:		ip[0] = 0x65; break;
		}
		uint8_t before[128];
		memcpy(before, p->data, sizeof(before));
		int error = gso_start(&it, p, INET_L2);
		if (error != mutation_error[m])
			fail_msg("mutation %d: gso_start() returned %d, not %d",
			    m, error, mutation_error[m]);
		assert_memory_equal(p->data, before, sizeof(before));
		pkt_free(p);
	}
	pkt_pool_destroy(large);
}

/*
 * Random bytes in the headers and random vnet fields: gso_start() may
 * refuse, and whatever it accepts must segment within bounds (the
 * sanitizer build checks every access) into frames of the promised size.
 */
static void
test_random_headers_never_crash(void **state)
{
	struct pkt_pool	*large = pkt_pool_create(1, PKT_GSO_DATA_ROOM);
	struct pkt_pool	*pool = pkt_pool_create(PKT_BATCH_MAX, PKT_DATA_ROOM);
	unsigned	 accepted = 0;

	(void)state;
	for (unsigned round = 0; round < 20000; round++) {
		struct fspec s = fspec_tcp(rng(2) ? 4 : 6, payload, rng(5000));
		struct pkt *p;
		struct gso_iter it;
		struct pkt_batch out;

		s.udp = rng(4) == 0;
		s.ntags = rng(3);
		s.tpid[0] = s.tpid[1] = 0x8100;
		p = superframe(large, &s, (uint16_t)(1 + rng(2000)));
		for (unsigned k = rng(4); k > 0; k--)
			p->data[rng(100)] = (uint8_t)rng(256);
		if (rng(4) == 0)
			p->len = rng(p->len + 1);
		if (rng(4) == 0)
			memcpy(&p->vnet, payload + rng(1000), sizeof(p->vnet));
		if (gso_start(&it, p, INET_L2) == 0) {
			accepted++;
			while (!gso_done(&it)) {
				pkt_batch_init(&out);
				int error = gso_next(&it, pool, &out);
				for (unsigned i = 0; i < out.count; i++)
					assert_true(out.pkts[i]->len <=
					    it.h.hlen + it.mss);
				pkt_batch_free(&out);
				if (error != 0)
					break;
			}
		}
		pkt_free(p);
	}
	assert_true(accepted > 1000);
	assert_int_equal(pkt_pool_avail(pool), PKT_BATCH_MAX);
	pkt_pool_destroy(pool);
	pkt_pool_destroy(large);
}

/* Strips the Ethernet header of an untagged frame: a tun's packet. */
static void
to_l3(struct pkt *p)
{
	assert_non_null(pkt_pull(p, 14));
	if (p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		p->vnet.csum_start -= 14;
	if (p->vnet.hdr_len != 0)
		p->vnet.hdr_len -= 14;
}

/*
 * A super-frame of an L3 port starts at its IP header, and so do its
 * segments: each, with the Ethernet header put back in front, is the
 * segment the same frame with one makes (TSO4 with IP options, TSO6, USO).
 * The Ethernet parse of the same bytes is refused.
 */
static void
test_l3_segments(void **state)
{
	struct pkt_pool		*large = pkt_pool_create(2, PKT_GSO_DATA_ROOM);
	struct pkt_pool		*pool = pkt_pool_create(2 * PKT_BATCH_MAX,
				    PKT_DATA_ROOM);
	static uint8_t		 frame[PKT_GSO_DATA_ROOM];
	struct gso_iter		 it, it2;
	struct pkt_batch	 out, out2;
	struct fspec		 s;
	struct pkt		*p, *l2;

	(void)state;
	for (int kind = 0; kind < 4; kind++) {
		s = fspec_tcp(kind == 1 ? 6 : 4, payload, 20000 + 7);
		s.flags |= F_TCP_PSH;
		if (kind == 0) {
			s.ipoptlen = 4;
			s.ipopt[0] = 0x94;	/* router alert */
			s.ipopt[1] = 4;
		}
		s.udp = kind >= 2;
		if (kind == 3)
			s.ipv = 6;
		l2 = superframe(large, &s, 1400);
		p = superframe(large, &s, 1400);
		to_l3(p);
		assert_int_equal(gso_wire_len(p, INET_L3),
		    fspec_pos(&s).hlen - 14 + 1400);
		assert_int_equal(gso_wire_len(l2, INET_L2),
		    fspec_pos(&s).hlen + 1400);
		assert_int_not_equal(gso_start(&it, p, INET_L2), 0);
		assert_int_equal(gso_start(&it, p, INET_L3), 0);
		assert_int_equal(gso_start(&it2, l2, INET_L2), 0);
		assert_int_equal(gso_left(&it), 15);
		while (!gso_done(&it)) {
			pkt_batch_init(&out);
			pkt_batch_init(&out2);
			assert_int_equal(gso_next(&it, pool, &out), 0);
			assert_int_equal(gso_next(&it2, pool, &out2), 0);
			assert_int_equal(out.count, out2.count);
			for (unsigned i = 0; i < out.count; i++) {
				struct pkt *q = out.pkts[i];

				assert_int_equal(q->len + 14,
				    out2.pkts[i]->len);
				assert_memory_equal(q->data,
				    out2.pkts[i]->data + 14, q->len);
				memcpy(frame, l2->data, 14);
				memcpy(frame + 14, q->data, q->len);
				check_frame(frame, q->len + 14, &s);
				assert_int_equal(q->vnet.gso_type, 0);
			}
			pkt_batch_free(&out);
			pkt_batch_free(&out2);
		}
		pkt_free(p);
		pkt_free(l2);
	}
	assert_int_equal(pkt_pool_avail(pool), 2 * PKT_BATCH_MAX);
	pkt_pool_destroy(pool);
	pkt_pool_destroy(large);
}

/* Checksum completion counts csum_start from wherever the packet starts. */
static void
test_l3_csum(void **state)
{
	struct pkt_pool	*large = pkt_pool_create(1, PKT_GSO_DATA_ROOM);
	static uint8_t	 frame[2000];
	struct fspec	 s = fspec_tcp(6, payload, 1000);
	struct pkt	*p;

	(void)state;
	p = superframe(large, &s, 1400);
	p->vnet.gso_type = 0;
	p->vnet.gso_size = 0;
	memcpy(frame, p->data, 14);
	to_l3(p);
	assert_int_equal(gso_wire_len(p, INET_L3), p->len);
	assert_int_equal(gso_csum(p), 0);
	memcpy(frame + 14, p->data, p->len);
	assert_int_equal(check_frame(frame, p->len + 14, &s), 1000);
	pkt_free(p);
	pkt_pool_destroy(large);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_matches_reference),
		cmocka_unit_test(test_csum_complete),
		cmocka_unit_test(test_csum_bad_offsets),
		cmocka_unit_test(test_tso4_flags_and_odd_last_segment),
		cmocka_unit_test(test_tso6_two_tags_and_options),
		cmocka_unit_test(test_ipv4_options_copied),
		cmocka_unit_test(test_uso4_and_uso6),
		cmocka_unit_test(test_uso_zero_checksum),
		cmocka_unit_test(test_one_segment_and_empty_payload),
		cmocka_unit_test(test_many_segments_across_batches),
		cmocka_unit_test(test_pool_runs_dry),
		cmocka_unit_test(test_bad_headers_refused),
		cmocka_unit_test(test_random_headers_never_crash),
		cmocka_unit_test(test_l3_segments),
		cmocka_unit_test(test_l3_csum),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
