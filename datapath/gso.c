/*
 * gso.c - software segmentation and checksum offload.
 *
 * gso_start() does every check, so gso_next() only copies and fixes up
 * headers.  Each segment is the super-frame's headers followed by its slice
 * of the payload; its checksum is computed afresh over the pseudo-header,
 * the L4 header and the slice, so whatever partial sum the super-frame
 * carried does not matter.
 */
#include <errno.h>

#include "csum.h"
#include "gso.h"

int
gso_csum(struct pkt *p)
{
	uint32_t	start = p->vnet.csum_start, field;
	uint16_t	v;

	if (!(p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	field = start + p->vnet.csum_offset;
	if (field + 2 > p->len)
		return EINVAL;
	/* As skb_checksum_help(): 0 would mean "no checksum" to UDP. */
	v = (uint16_t)~csum_fold(csum_add(0, p->data + start, p->len - start));
	csum_put(p->data + field, v != 0 ? v : 0xffff);
	p->vnet.flags &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
	return 0;
}

/* The protocols a gso_type allows; EOPNOTSUPP for UFO and unknown types. */
static int
gso_type_check(uint8_t gso_type, const struct inet_hdrs *h)
{
	uint8_t	type = gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool	ecn = (gso_type & VIRTIO_NET_HDR_GSO_ECN) != 0;

	switch (type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return h->ipv == 4 && h->proto == INET_PROTO_TCP ? 0 : EINVAL;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return h->ipv == 6 && h->proto == INET_PROTO_TCP ? 0 : EINVAL;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		return h->proto == INET_PROTO_UDP && !ecn ? 0 : EINVAL;
	case VIRTIO_NET_HDR_GSO_NONE:
		return EINVAL;
	default:
		return EOPNOTSUPP;
	}
}

int
gso_start(struct gso_iter *it, const struct pkt *src, enum inet_link link)
{
	const struct virtio_net_hdr	*vh = &src->vnet;
	struct inet_hdrs		*h = &it->h;
	uint32_t			 iphdr, l4off;
	int				 error;

	if ((vh->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN) ==
	    VIRTIO_NET_HDR_GSO_UDP)
		return EOPNOTSUPP;
	if (vh->gso_size == 0 || vh->hdr_len > src->len)
		return EINVAL;
	if ((error = inet_parse(src->data, src->len, link, h)) != 0)
		return error;
	if (h->frag)
		return EINVAL;
	if ((error = gso_type_check(vh->gso_type, h)) != 0)
		return error;
	l4off = h->proto == INET_PROTO_TCP ? TCP_OFF_CSUM : UDP_OFF_CSUM;
	if ((vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (vh->csum_start != h->l4 || vh->csum_offset != l4off))
		return EINVAL;

	/* Each segment's IP length field must hold its headers and slice. */
	iphdr = (uint32_t)(h->hlen - h->l3) - (h->ipv == 6 ? IPV6_HLEN : 0);
	if (iphdr + vh->gso_size > UINT16_MAX)
		return EINVAL;

	it->src = src;
	it->mss = vh->gso_size;
	it->payload = src->len - h->hlen;
	it->off = 0;
	it->seg = 0;
	if (it->payload > (uint32_t)GSO_MAX_SEGS * it->mss)
		return EINVAL;
	it->nsegs = it->payload == 0 ? 1 :
	    (uint16_t)((it->payload + it->mss - 1) / it->mss);
	return 0;
}

uint32_t
gso_wire_len(const struct pkt *p, enum inet_link link)
{
	struct inet_hdrs	h;
	uint32_t		seg;

	if (p->vnet.gso_type == VIRTIO_NET_HDR_GSO_NONE ||
	    inet_parse(p->data, p->len, link, &h) != 0)
		return p->len;
	seg = (uint32_t)h.hlen + p->vnet.gso_size;
	return seg < p->len ? seg : p->len;
}

/* The IP header of a segment of len bytes, number seg. */
static void
gso_fix_ip(const struct gso_iter *it, uint8_t *f, uint32_t len)
{
	uint8_t		*ip = f + it->h.l3;
	const uint8_t	*sip = it->src->data + it->h.l3;
	size_t		 ihl;

	if (it->h.ipv == 6) {
		be16_put(ip + IPV6_OFF_PLEN,
		    (uint16_t)(len - it->h.l3 - IPV6_HLEN));
		return;
	}
	ihl = (size_t)(ip[0] & 0xf) * 4;
	be16_put(ip + IPV4_OFF_LEN, (uint16_t)(len - it->h.l3));
	be16_put(ip + IPV4_OFF_ID,
	    (uint16_t)(be16_get(sip + IPV4_OFF_ID) + it->seg));
	ip[IPV4_OFF_CSUM] = ip[IPV4_OFF_CSUM + 1] = 0;
	csum_put(ip + IPV4_OFF_CSUM, (uint16_t)~csum_fold(csum_add(0, ip, ihl)));
}

/* The TCP or UDP header and checksum of that segment. */
static void
gso_fix_l4(const struct gso_iter *it, uint8_t *f, uint32_t len)
{
	uint8_t		*l4 = f + it->h.l4;
	const uint8_t	*sl4 = it->src->data + it->h.l4;
	uint32_t	 l4len = len - it->h.l4;
	uint8_t		*field;
	uint16_t	 v;

	if (it->h.proto == INET_PROTO_TCP) {
		be32_put(l4 + TCP_OFF_SEQ,
		    be32_get(sl4 + TCP_OFF_SEQ) + it->off);
		if (it->seg > 0)
			l4[TCP_OFF_FLAGS] &= (uint8_t)~TCP_CWR;
		if (it->seg + 1 < it->nsegs)
			l4[TCP_OFF_FLAGS] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		field = l4 + TCP_OFF_CSUM;
	} else {
		be16_put(l4 + UDP_OFF_LEN, (uint16_t)l4len);
		field = l4 + UDP_OFF_CSUM;
	}
	field[0] = field[1] = 0;
	v = (uint16_t)~csum_fold(csum_add(csum_pseudo(f + it->h.l3,
	    it->h.ipv, it->h.proto, l4len), l4, l4len));
	if (v == 0 && it->h.proto == INET_PROTO_UDP)
		v = 0xffff;
	csum_put(field, v);
}

int
gso_next(struct gso_iter *it, struct pkt_pool *pool, struct pkt_batch *out)
{
	const uint8_t	*s = it->src->data;
	uint32_t	 hlen = it->h.hlen, chunk;
	struct pkt	*p;

	if (hlen + (it->payload < it->mss ? it->payload : it->mss) >
	    pkt_pool_data_room(pool))
		return EMSGSIZE;
	while (out->count < PKT_BATCH_MAX && !gso_done(it)) {
		if ((p = pkt_alloc(pool)) == NULL)
			return ENOBUFS;
		chunk = it->payload - it->off;
		if (chunk > it->mss)
			chunk = it->mss;
		memcpy(p->data, s, hlen);
		memcpy(p->data + hlen, s + hlen + it->off, chunk);
		p->len = hlen + chunk;
		gso_fix_ip(it, p->data, p->len);
		gso_fix_l4(it, p->data, p->len);
		it->off += chunk;
		it->seg++;
		pkt_batch_add(out, p);
	}
	return 0;
}
