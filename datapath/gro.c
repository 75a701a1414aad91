/*
 * gro.c - coalescing TCP segments.
 *
 * One pass over the batch.  Each TCP frame finds its flow's newest run by a
 * scan of the runs opened so far in this batch (at most PKT_BATCH_MAX, with
 * a hash compared first); a frame that cannot join starts a new run, which
 * takes its place in the output.  Output slots are never ahead of input
 * ones, so the batch is compacted in place.  Headers and the vnet header of
 * each super-frame are written once, at the end.
 */
#include <errno.h>

#include "csum.h"
#include "gro.h"
#include "inet.h"

struct gro_run {
	struct pkt	*p;		/* first segment, then the super-frame */
	unsigned	 slot;		/* its index in the output */
	uint32_t	 hash;
	uint32_t	 next_seq;
	uint16_t	 mss;		/* payload of the first segment */
	uint16_t	 nsegs;
	uint16_t	 next_id;	/* IPv4 ID the next segment must carry */
	struct inet_hdrs h;
	bool		 open;		/* may still grow */
	bool		 fixed_id;	/* IPv4 with DF and one ID throughout */
};

struct gro_seg {
	struct pkt	*p;
	struct inet_hdrs h;
	uint32_t	 hash;
	uint32_t	 payload;
	bool		 candidate;	/* may be merged at all */
};

static uint32_t
gro_hash(const uint8_t *f, const struct inet_hdrs *h)
{
	const uint8_t	*addr = f + h->l3 +
	    (h->ipv == 4 ? IPV4_OFF_SRC : IPV6_OFF_SRC);
	size_t		 alen = h->ipv == 4 ? 8 : 32;
	uint64_t	 x = be32_get(f + h->l4);

	for (size_t i = 0; i < alen; i += 4)
		x = (x ^ be32_get(addr + i)) * 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(x >> 32);
}

static bool
gro_same_flow(const struct gro_run *r, const struct gro_seg *s)
{
	const uint8_t	*a = r->p->data, *b = s->p->data;
	size_t		 off, alen;

	if (r->hash != s->hash || r->h.ipv != s->h.ipv ||
	    r->h.l3 != s->h.l3 || memcmp(a, b, r->h.l3) != 0)
		return false;
	off = r->h.ipv == 4 ? IPV4_OFF_SRC : IPV6_OFF_SRC;
	alen = r->h.ipv == 4 ? 8 : 32;
	return memcmp(a + r->h.l3 + off, b + s->h.l3 + off, alen) == 0 &&
	    memcmp(a + r->h.l4, b + s->h.l4, 4) == 0;
}

/* Whether s may be merged at all; counts bad checksums. */
static bool
gro_candidate(struct gro_seg *s, struct gro_stats *st)
{
	const uint8_t	*f = s->p->data, *ip = f + s->h.l3;
	const uint8_t	*tcp = f + s->h.l4;
	uint8_t		 flags = tcp[TCP_OFF_FLAGS];
	uint32_t	 l4len = s->p->len - s->h.l4;

	if (s->p->vnet.flags != 0 || s->p->vnet.gso_type != 0 || s->h.frag)
		return false;
	if (s->h.ipv == 4 && s->h.l4 - s->h.l3 != IPV4_HLEN)
		return false;
	/* Padding or a short frame: the IP length must be the frame's. */
	if (s->h.l3 + s->h.iplen != s->p->len || s->payload == 0)
		return false;
	if (!(flags & TCP_ACK) ||
	    (flags & (TCP_FIN | TCP_SYN | TCP_RST | TCP_URG)))
		return false;
	if ((s->h.ipv == 4 && csum_verify(csum_add(0, ip, IPV4_HLEN)) != 0) ||
	    csum_verify(csum_add(csum_pseudo(ip, s->h.ipv, INET_PROTO_TCP,
	    l4len), tcp, l4len)) != 0) {
		st->bad_csum++;
		return false;
	}
	return true;
}

/* Whether s continues run r: everything but lengths and PSH must agree. */
static bool
gro_can_append(const struct gro_run *r, const struct gro_seg *s,
    size_t room)
{
	const uint8_t	*a = r->p->data, *b = s->p->data;
	const uint8_t	*ia = a + r->h.l3, *ib = b + s->h.l3;
	const uint8_t	*ta = a + r->h.l4, *tb = b + s->h.l4;
	uint16_t	 id;

	if (!r->open || s->h.hlen != r->h.hlen || s->payload > r->mss ||
	    be32_get(tb + TCP_OFF_SEQ) != r->next_seq)
		return false;
	if (r->p->len + s->payload > room ||
	    r->h.iplen + s->payload - (r->h.ipv == 6 ? IPV6_HLEN : 0) >
	    UINT16_MAX)
		return false;
	if (r->h.ipv == 4) {
		if (ia[IPV4_OFF_TOS] != ib[IPV4_OFF_TOS] ||
		    ia[IPV4_OFF_TTL] != ib[IPV4_OFF_TTL] ||
		    ia[IPV4_OFF_FRAG] != ib[IPV4_OFF_FRAG])
			return false;
		id = be16_get(ib + IPV4_OFF_ID);
		if (r->nsegs == 1) {
			if (id != r->next_id && !((ia[IPV4_OFF_FRAG] << 8 &
			    IPV4_DF) && id == (uint16_t)(r->next_id - 1)))
				return false;
		} else if (id != r->next_id)
			return false;
	} else if (memcmp(ia, ib, 4) != 0 ||
	    ia[IPV6_OFF_HOPS] != ib[IPV6_OFF_HOPS])
		return false;
	/* ACK number, then header length, flags and window in one go. */
	if (memcmp(ta + TCP_OFF_ACK, tb + TCP_OFF_ACK, 4) != 0 ||
	    ta[TCP_OFF_DOFF] != tb[TCP_OFF_DOFF] ||
	    (ta[TCP_OFF_FLAGS] & (uint8_t)~TCP_CWR) !=
	    (tb[TCP_OFF_FLAGS] & (uint8_t)~TCP_PSH) ||
	    memcmp(ta + TCP_OFF_WIN, tb + TCP_OFF_WIN, 2) != 0)
		return false;
	return memcmp(ta + TCP_HLEN, tb + TCP_HLEN, r->h.hlen - r->h.l4 -
	    TCP_HLEN) == 0;
}

static void
gro_run_start(struct gro_run *r, const struct gro_seg *s, unsigned slot)
{
	const uint8_t	*ip = s->p->data + s->h.l3;
	const uint8_t	*tcp = s->p->data + s->h.l4;

	r->p = s->p;
	r->slot = slot;
	r->hash = s->hash;
	r->h = s->h;
	r->mss = (uint16_t)s->payload;
	r->nsegs = 1;
	r->next_seq = be32_get(tcp + TCP_OFF_SEQ) + s->payload;
	r->next_id = s->h.ipv == 4 ?
	    (uint16_t)(be16_get(ip + IPV4_OFF_ID) + 1) : 0;
	r->fixed_id = false;
	r->open = s->candidate && !(tcp[TCP_OFF_FLAGS] & TCP_PSH);
}

/* Moves s's payload into r; false (nothing changed) without a buffer. */
static bool
gro_append(struct gro_run *r, struct gro_seg *s, struct pkt_batch *b,
    struct pkt_pool *large, struct gro_stats *st)
{
	const uint8_t	*ip = s->p->data + s->h.l3;
	uint8_t		 flags = s->p->data[s->h.l4 + TCP_OFF_FLAGS];
	struct pkt	*q;

	if (r->nsegs == 1) {
		if ((q = pkt_alloc(large)) == NULL) {
			st->no_buffer++;
			return false;
		}
		memcpy(q->data, r->p->data, r->p->len);
		q->len = r->p->len;
		pkt_free(r->p);
		r->p = b->pkts[r->slot] = q;
		if (r->h.ipv == 4 && be16_get(ip + IPV4_OFF_ID) ==
		    (uint16_t)(r->next_id - 1)) {
			r->fixed_id = true;
			r->next_id--;
		}
	}
	memcpy(r->p->data + r->p->len, s->p->data + s->h.hlen, s->payload);
	r->p->len += s->payload;
	r->h.iplen += s->payload;
	r->next_seq += s->payload;
	if (!r->fixed_id)
		r->next_id++;
	r->nsegs++;
	if (flags & TCP_PSH) {
		r->p->data[r->h.l4 + TCP_OFF_FLAGS] |= TCP_PSH;
		r->open = false;
	}
	if (s->payload < r->mss)
		r->open = false;
	pkt_free(s->p);
	return true;
}

/* Lengths, checksums and the vnet header of a finished super-frame. */
static void
gro_finish(struct gro_run *r, struct gro_stats *st)
{
	uint8_t		*f = r->p->data, *ip = f + r->h.l3, *tcp = f + r->h.l4;
	uint32_t	 l4len = r->p->len - r->h.l4;
	struct virtio_net_hdr *vh = &r->p->vnet;

	if (r->h.ipv == 4) {
		be16_put(ip + IPV4_OFF_LEN, (uint16_t)r->h.iplen);
		ip[IPV4_OFF_CSUM] = ip[IPV4_OFF_CSUM + 1] = 0;
		csum_put(ip + IPV4_OFF_CSUM,
		    (uint16_t)~csum_fold(csum_add(0, ip, IPV4_HLEN)));
		vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	} else {
		be16_put(ip + IPV6_OFF_PLEN,
		    (uint16_t)(r->h.iplen - IPV6_HLEN));
		vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	}
	if (tcp[TCP_OFF_FLAGS] & TCP_CWR)
		vh->gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	csum_put(tcp + TCP_OFF_CSUM, csum_fold(csum_pseudo(ip, r->h.ipv,
	    INET_PROTO_TCP, l4len)));
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->hdr_len = r->h.hlen;
	vh->gso_size = r->mss;
	vh->csum_start = r->h.l4;
	vh->csum_offset = TCP_OFF_CSUM;
	st->superframes++;
	st->segments += r->nsegs;
}

void
gro_batch(struct pkt_batch *b, enum inet_link link, struct pkt_pool *large,
    struct gro_stats *st)
{
	struct gro_run	 runs[PKT_BATCH_MAX], *r;
	struct gro_seg	 s;
	unsigned	 nruns = 0, n = 0;
	size_t		 room = pkt_pool_data_room(large);

	for (unsigned i = 0; i < b->count; i++) {
		s.p = b->pkts[i];
		if (inet_parse(s.p->data, s.p->len, link, &s.h) != 0 ||
		    s.h.proto != INET_PROTO_TCP) {
			b->pkts[n++] = s.p;
			continue;
		}
		s.hash = gro_hash(s.p->data, &s.h);
		s.payload = s.p->len - s.h.hlen;
		s.candidate = gro_candidate(&s, st);

		r = NULL;
		for (unsigned j = nruns; j-- > 0;) {
			if (gro_same_flow(&runs[j], &s)) {
				r = &runs[j];
				break;
			}
		}
		if (r != NULL && s.candidate && gro_can_append(r, &s, room) &&
		    gro_append(r, &s, b, large, st))
			continue;
		gro_run_start(&runs[nruns++], &s, n);
		b->pkts[n++] = s.p;
	}
	b->count = n;
	for (unsigned j = 0; j < nruns; j++) {
		if (runs[j].nsegs > 1)
			gro_finish(&runs[j], st);
	}
}
