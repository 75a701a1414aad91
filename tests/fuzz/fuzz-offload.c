/*
 * fuzz-offload.c - libFuzzer target for segmentation and coalescing.
 *
 * The first byte picks the path:
 *   even: [struct virtio_net_hdr][frame] - checksum completion when the
 *         vnet header asks for no GSO, else segmentation; every segment
 *         made must parse and carry checksums that verify;
 *   odd:  up to PKT_BATCH_MAX records [flags][2 bytes length][frame], one
 *         batch for gro_batch(); flag bit 0 first fixes the frame's IPv4
 *         header and TCP checksums so merges are reachable.  Every super-
 *         frame made must be accepted by gso_start() and segment back into
 *         frames whose checksums verify.
 * Bit 1 of the first byte makes the frames bare IP packets, as an L3
 * port's (INET_L3), instead of Ethernet frames.
 * After each input every buffer must be back in its pool.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/csum.h"
#include "datapath/gro.h"
#include "datapath/gso.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define POOL_SIZE	(2 * PKT_BATCH_MAX)
#define LARGE_SIZE	(PKT_BATCH_MAX + 1)

static struct pkt_pool	*pool, *large;
static enum inet_link	 fuzz_link;

/* Zero when the segment's IPv4 header and L4 checksums verify. */
static int
segment_bad(const struct pkt *p, const struct gso_iter *it)
{
	struct inet_hdrs	 h;
	const uint8_t		*ip;
	uint32_t		 l4len;

	if (inet_parse(p->data, p->len, fuzz_link, &h) != 0 ||
	    p->len > (uint32_t)it->h.hlen + it->mss || h.hlen != it->h.hlen)
		return 1;
	ip = p->data + h.l3;
	l4len = p->len - h.l4;
	if (h.ipv == 4 && (h.iplen != p->len - h.l3 ||
	    csum_verify(csum_add(0, ip, (size_t)(h.l4 - h.l3))) != 0))
		return 1;
	if (h.ipv == 6 && h.iplen != p->len - h.l3)
		return 1;
	return csum_verify(csum_add(csum_pseudo(ip, h.ipv, h.proto, l4len),
	    p->data + h.l4, l4len)) != 0;
}

static void
segment_all(const struct pkt *src)
{
	struct gso_iter		it;
	struct pkt_batch	out;
	int			error;

	if (gso_start(&it, src, fuzz_link) != 0)
		return;
	do {
		pkt_batch_init(&out);
		error = gso_next(&it, pool, &out);
		for (unsigned i = 0; i < out.count; i++) {
			if (segment_bad(out.pkts[i], &it))
				abort();
		}
		pkt_batch_free(&out);
	} while (error == 0 && !gso_done(&it));
	if (error == ENOBUFS)
		abort();	/* the pool was full and each batch is freed */
}

static void
fuzz_gso(const uint8_t *data, size_t len)
{
	struct pkt	*p;

	if (len < sizeof(p->vnet) || (p = pkt_alloc(large)) == NULL)
		return;
	memcpy(&p->vnet, data, sizeof(p->vnet));
	data += sizeof(p->vnet);
	len -= sizeof(p->vnet);
	if (len > pkt_tailroom(p))
		len = pkt_tailroom(p);
	memcpy(p->data, data, len);
	p->len = (uint32_t)len;
	if (p->vnet.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		gso_csum(p);
	else
		segment_all(p);
	pkt_free(p);
}

static void
fix_checksums(struct pkt *p)
{
	struct inet_hdrs	 h;
	uint8_t			*ip, *field;
	uint32_t		 l4len;

	if (inet_parse(p->data, p->len, fuzz_link, &h) != 0)
		return;
	ip = p->data + h.l3;
	l4len = p->len - h.l4;
	if (h.ipv == 4) {
		ip[IPV4_OFF_CSUM] = ip[IPV4_OFF_CSUM + 1] = 0;
		csum_put(ip + IPV4_OFF_CSUM, (uint16_t)~csum_fold(csum_add(0,
		    ip, (size_t)(h.l4 - h.l3))));
	}
	field = p->data + h.l4 +
	    (h.proto == INET_PROTO_TCP ? TCP_OFF_CSUM : UDP_OFF_CSUM);
	field[0] = field[1] = 0;
	csum_put(field, (uint16_t)~csum_fold(csum_add(csum_pseudo(ip, h.ipv,
	    h.proto, l4len), p->data + h.l4, l4len)));
}

static void
fuzz_gro(const uint8_t *data, size_t len)
{
	struct pkt_batch	 b;
	struct gro_stats	 st = { 0 };
	struct pkt		*p;
	unsigned		 in;

	pkt_batch_init(&b);
	while (len >= 3 && b.count < PKT_BATCH_MAX) {
		uint8_t flags = data[0];
		size_t n = (size_t)data[1] << 8 | data[2];

		data += 3;
		len -= 3;
		if (n > len)
			n = len;
		if ((p = pkt_alloc(pool)) == NULL)
			abort();
		if (n > pkt_tailroom(p))
			n = pkt_tailroom(p);
		memcpy(p->data, data, n);
		p->len = (uint32_t)n;
		data += n;
		len -= n;
		if (flags & 1)
			fix_checksums(p);
		pkt_batch_add(&b, p);
	}
	in = b.count;
	gro_batch(&b, fuzz_link, large, &st);
	if (b.count > in || b.count + st.segments - st.superframes != in)
		abort();
	for (unsigned i = 0; i < b.count; i++) {
		if (b.pkts[i]->vnet.gso_type == VIRTIO_NET_HDR_GSO_NONE)
			continue;
		struct gso_iter it;
		if (gso_start(&it, b.pkts[i], fuzz_link) != 0)
			abort();
		segment_all(b.pkts[i]);
	}
	pkt_batch_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (pool == NULL) {
		pool = pkt_pool_create(POOL_SIZE, PKT_DATA_ROOM);
		large = pkt_pool_create(LARGE_SIZE, PKT_GSO_DATA_ROOM);
		if (pool == NULL || large == NULL)
			abort();
	}
	if (len < 1)
		return 0;
	fuzz_link = data[0] & 2 ? INET_L3 : INET_L2;
	if (data[0] & 1)
		fuzz_gro(data + 1, len - 1);
	else
		fuzz_gso(data + 1, len - 1);
	if (pkt_pool_avail(pool) != POOL_SIZE ||
	    pkt_pool_avail(large) != LARGE_SIZE)
		abort();	/* a buffer leaked */
	return 0;
}
