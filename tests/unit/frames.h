/*
 * frames.h - building and checking TCP/UDP frames for the offload tests.
 *
 * Written apart from datapath/: the checksum here is the textbook RFC 1071
 * loop over big-endian 16-bit words with a 32-bit accumulator, and the
 * checker walks the headers itself, so a segment that passes check_frame()
 * was verified by code that shares nothing with the code under test.
 * Include after <cmocka.h>.
 */
#ifndef FRAMES_H
#define FRAMES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define F_TCP_FIN	0x01
#define F_TCP_SYN	0x02
#define F_TCP_RST	0x04
#define F_TCP_PSH	0x08
#define F_TCP_ACK	0x10
#define F_TCP_URG	0x20
#define F_TCP_ECE	0x40
#define F_TCP_CWR	0x80

struct fspec {
	unsigned	 ipv;		/* 4 or 6 */
	unsigned	 ntags;
	uint16_t	 tpid[2], vid[2];
	bool		 udp;
	uint8_t		 flow;		/* varies MACs, addresses and ports */
	/* IPv4 */
	uint16_t	 id;
	bool		 df, mf;
	uint16_t	 fragoff;
	uint8_t		 tos, ttl;
	uint8_t		 ipopt[40];
	unsigned	 ipoptlen;	/* multiple of 4 */
	/* IPv6 */
	uint8_t		 tclass, hops;
	uint32_t	 label;
	/* TCP */
	uint8_t		 flags;
	uint32_t	 seq, ack;
	uint16_t	 win;
	uint8_t		 opt[40];
	unsigned	 optlen;	/* multiple of 4 */
	const uint8_t	*payload;
	size_t		 paylen;
};

static inline struct fspec
fspec_tcp(unsigned ipv, const uint8_t *payload, size_t paylen)
{
	return (struct fspec){
		.ipv = ipv, .df = true, .ttl = 64, .hops = 64, .id = 0x1234,
		.flags = F_TCP_ACK, .seq = 1000000, .ack = 777, .win = 512,
		.payload = payload, .paylen = paylen,
	};
}

static inline void
f_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
f_put32(uint8_t *p, uint32_t v)
{
	f_put16(p, (uint16_t)(v >> 16));
	f_put16(p + 2, (uint16_t)v);
}

static inline uint16_t
f_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
f_get32(const uint8_t *p)
{
	return (uint32_t)f_get16(p) << 16 | f_get16(p + 2);
}

/* RFC 1071 as written: the sum of big-endian words, odd byte padded. */
static inline uint32_t
ref_sum(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static inline uint16_t
ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The pseudo-header laid out as bytes, then summed. */
static inline uint32_t
ref_pseudo(const uint8_t *ip, unsigned ipv, uint8_t proto, uint32_t l4len)
{
	uint8_t	ph[40];
	size_t	n;

	if (ipv == 4) {
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = proto;
		f_put16(ph + 10, (uint16_t)l4len);
		n = 12;
	} else {
		memcpy(ph, ip + 8, 32);
		f_put32(ph + 32, l4len);
		memset(ph + 36, 0, 3);
		ph[39] = proto;
		n = 40;
	}
	return ref_sum(0, ph, n);
}

/* Where the headers are, as frame_build() lays them out. */
struct fpos {
	size_t	l3, l4, hlen;
};

static inline struct fpos
fspec_pos(const struct fspec *s)
{
	struct fpos	p;

	p.l3 = 14 + 4 * s->ntags;
	p.l4 = p.l3 + (s->ipv == 4 ? 20 + s->ipoptlen : 40);
	p.hlen = p.l4 + (s->udp ? 8 : 20 + s->optlen);
	return p;
}

/* Writes the frame with full, correct checksums; returns its length. */
static inline size_t
frame_build(uint8_t *f, const struct fspec *s)
{
	struct fpos	 pos = fspec_pos(s);
	uint8_t		*ip = f + pos.l3, *l4 = f + pos.l4;
	size_t		 len = pos.hlen + s->paylen, l4len = len - pos.l4;
	uint8_t		 proto = s->udp ? 17 : 6;
	size_t		 off = 12;

	memcpy(f, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x02", 6);
	f[5] = (uint8_t)(0x10 + s->flow);
	for (unsigned i = 0; i < s->ntags; i++, off += 4) {
		f_put16(f + off, s->tpid[i]);
		f_put16(f + off + 2, s->vid[i]);
	}
	f_put16(f + off, s->ipv == 4 ? 0x0800 : 0x86dd);

	if (s->ipv == 4) {
		size_t ihl = 20 + s->ipoptlen;
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		ip[1] = s->tos;
		f_put16(ip + 2, (uint16_t)(len - pos.l3));
		f_put16(ip + 4, s->id);
		f_put16(ip + 6, (uint16_t)((s->df ? 0x4000 : 0) |
		    (s->mf ? 0x2000 : 0) | s->fragoff));
		ip[8] = s->ttl;
		ip[9] = proto;
		ip[10] = ip[11] = 0;
		memcpy(ip + 12, "\xc6\x13\x00\x01\xc6\x13\x00\x80", 8);
		ip[15] = (uint8_t)(1 + s->flow);
		memcpy(ip + 20, s->ipopt, s->ipoptlen);
		f_put16(ip + 10, (uint16_t)~ref_fold(ref_sum(0, ip, ihl)));
	} else {
		f_put32(ip, 6u << 28 | (uint32_t)s->tclass << 20 |
		    (s->label & 0xfffff));
		f_put16(ip + 4, (uint16_t)(len - pos.l3 - 40));
		ip[6] = proto;
		ip[7] = s->hops;
		memcpy(ip + 8, "\xfd\x00\x56\x57\x00\x00\x00\x00"
		    "\x00\x00\x00\x00\x00\x00\x00\x01", 16);
		memcpy(ip + 24, ip + 8, 16);
		ip[39] = 0x80;
		ip[23] = (uint8_t)(1 + s->flow);
	}

	f_put16(l4, (uint16_t)(40000 + s->flow));
	f_put16(l4 + 2, 5201);
	if (s->udp) {
		f_put16(l4 + 4, (uint16_t)l4len);
		l4[6] = l4[7] = 0;
	} else {
		f_put32(l4 + 4, s->seq);
		f_put32(l4 + 8, s->ack);
		l4[12] = (uint8_t)((20 + s->optlen) / 4 << 4);
		l4[13] = s->flags;
		f_put16(l4 + 14, s->win);
		l4[16] = l4[17] = 0;
		f_put16(l4 + 18, 0);
		memcpy(l4 + 20, s->opt, s->optlen);
	}
	memcpy(f + pos.hlen, s->payload, s->paylen);
	{
		uint16_t c = (uint16_t)~ref_fold(ref_sum(ref_pseudo(ip, s->ipv,
		    proto, (uint32_t)l4len), l4, l4len));
		if (s->udp && c == 0)
			c = 0xffff;
		f_put16(l4 + (s->udp ? 6 : 16), c);
	}
	return len;
}

/* Replaces the L4 checksum by the pseudo-header sum, as a TSO sender does. */
static inline void
frame_make_partial(uint8_t *f, size_t len, const struct fspec *s)
{
	struct fpos	 pos = fspec_pos(s);
	uint8_t		*field = f + pos.l4 + (s->udp ? 6 : 16);

	f_put16(field, ref_fold(ref_pseudo(f + pos.l3, s->ipv,
	    s->udp ? 17 : 6, (uint32_t)(len - pos.l4))));
}

/*
 * Checks one frame shaped like s (same header layout): IP length fields
 * match the frame length, the IPv4 header checksum and the TCP/UDP checksum
 * verify.  Returns the payload length.
 */
static inline size_t
check_frame(const uint8_t *f, size_t len, const struct fspec *s)
{
	struct fpos	 pos = fspec_pos(s);
	const uint8_t	*ip = f + pos.l3, *l4 = f + pos.l4;
	size_t		 l4len;

	assert_true(len >= pos.hlen);
	l4len = len - pos.l4;
	if (s->ipv == 4) {
		assert_int_equal(f_get16(ip + 2), len - pos.l3);
		assert_int_equal(ref_fold(ref_sum(0, ip, 20 + s->ipoptlen)),
		    0xffff);
	} else
		assert_int_equal(f_get16(ip + 4), len - pos.l3 - 40);
	if (s->udp) {
		assert_int_equal(f_get16(l4 + 4), l4len);
		assert_int_not_equal(f_get16(l4 + 6), 0);
	}
	assert_int_equal(ref_fold(ref_sum(ref_pseudo(ip, s->ipv,
	    s->udp ? 17 : 6, (uint32_t)l4len), l4, l4len)), 0xffff);
	return len - pos.hlen;
}

#endif
