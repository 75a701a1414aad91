/*
 * ip-frag.c - IPv4 fragmentation (RFC 791 section 3.2, RFC 1812 4.2.2.7).
 *
 * The first fragment keeps the whole header; later ones carry only the
 * options whose copied flag is set.  Every fragment but the last carries a
 * multiple of 8 data bytes and MF; the last keeps the MF of the packet (it
 * may itself be a fragment), and offsets continue from the packet's own.
 * The number of fragments is worked out first, so that a short pool drops
 * the packet whole instead of sending a datagram that cannot be reassembled.
 */
#include <string.h>

#include "router.h"

/* The options of a later fragment: the copied ones, padded; its length. */
static unsigned
copied_options(const uint8_t *h, unsigned hlen, uint8_t *out)
{
	unsigned	i = IP4_HLEN, n = 0, olen;

	while (i < hlen && h[i] != 0) {
		if (h[i] == 1) {		/* NOP: not copied */
			i++;
			continue;
		}
		if (i + 1 >= hlen || (olen = h[i + 1]) < 2 || i + olen > hlen)
			break;			/* malformed: copy no more */
		if (h[i] & 0x80) {
			memcpy(out + n, h + i, olen);
			n += olen;
		}
		i += olen;
	}
	while (n % 4 != 0)
		out[n++] = 0;			/* end of options list */
	return IP4_HLEN + n;
}

unsigned
ip4_fragment(struct pkt_pool *pool, const struct pkt *p, unsigned mtu,
    void (*emit)(struct pkt *, void *), void *arg)
{
	const uint8_t	*h = p->data;
	unsigned	 hlen = (h[IP4_OFF_VHL] & 0x0f) * 4u, hlen2, n, off;
	unsigned	 total = be16_get(h + IP4_OFF_LEN), data = total - hlen;
	unsigned	 first, later, size, hl;
	uint16_t	 frag = be16_get(h + IP4_OFF_FRAG);
	uint8_t		 opts[40], *f;
	struct pkt	*fp;

	hlen2 = copied_options(h, hlen, opts);
	/*
	 * An MTU that cannot carry the header and 8 data bytes would wrap
	 * mtu - hlen around to a fragment as large as the packet: none then.
	 * (Ports refuse such MTUs; this holds whatever a caller passes.)
	 */
	if (mtu < hlen + 8 || mtu < hlen2 + 8 || total < hlen)
		return 0;
	first = (mtu - hlen) & ~7u;
	later = (mtu - hlen2) & ~7u;
	n = data <= first ? 1 : 1 + (data - first + later - 1) / later;
	if (pkt_pool_avail(pool) < n)
		return 0;

	for (off = 0; off < data; off += size) {
		hl = off == 0 ? hlen : hlen2;
		size = off == 0 ? first : later;
		if (size > data - off)
			size = data - off;
		fp = pkt_alloc(pool);
		f = fp->data;
		memcpy(f, h, IP4_HLEN);
		if (off == 0)
			memcpy(f + IP4_HLEN, h + IP4_HLEN, hlen - IP4_HLEN);
		else
			memcpy(f + IP4_HLEN, opts, hlen2 - IP4_HLEN);
		memcpy(f + hl, h + hlen + off, size);
		f[IP4_OFF_VHL] = (uint8_t)(0x40 | hl / 4);
		be16_put(f + IP4_OFF_LEN, (uint16_t)(hl + size));
		be16_put(f + IP4_OFF_FRAG, (uint16_t)((frag & ~IP4_OFFMASK &
		    ~IP4_MF) | ((frag & IP4_OFFMASK) + off / 8) |
		    (off + size < data ? IP4_MF : frag & IP4_MF)));
		be16_put(f + IP4_OFF_CSUM, 0);
		be16_put(f + IP4_OFF_CSUM, ip_csum(f, hl));
		fp->len = hl + size;
		emit(fp, arg);
	}
	return n;
}
