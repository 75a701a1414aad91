/*
 * gso.h - software segmentation and checksum offload.
 *
 * A frame from a vnet_hdr tap may still owe work that a NIC would do: its
 * p->vnet says so.  Before such a frame leaves through a port that cannot
 * take it as it is (a plain tap, a tunnel, a capture), the datapath calls
 *
 *	gso_csum()	for NEEDS_CSUM without GSO: finishes the checksum in
 *			place, as the kernel's skb_checksum_help() would;
 *	gso_start()	for a TCP (TSO4/TSO6) or UDP (USO) super-frame, then
 *	gso_next()	until gso_done(): cuts it into frames of gso_size
 *			payload bytes each, in buffers from a pool, as many
 *			per call as fit the output batch.
 *
 * Every segment is a complete frame with full checksums and an all-zero
 * vnet header: the Ethernet header and tags and the IP and TCP/UDP headers
 * copied from the super-frame, then per segment the IPv4 total length,
 * ID (+1 per segment) and header checksum or the IPv6 payload length; TCP
 * sequence numbers advance, CWR stays on the first segment only and FIN and
 * PSH on the last (Linux's tcp_gso_segment() rules); the UDP length is set.
 * The IP length fields of the super-frame are not trusted: lengths come
 * from the frame length.  A packet of an L3 port is segmented as INET_L3
 * (inet.h): it starts at its IP header, and so do its segments.  UFO (GSO_UDP, IP fragmentation) is refused.
 *
 * Everything in the vnet header is checked before a byte is written: a bad
 * header is an errno return the caller counts as a drop.  No allocation
 * happens here beyond pkt_alloc().
 */
#ifndef GSO_H
#define GSO_H

#include <stdbool.h>
#include <stdint.h>

#include "inet.h"
#include "pkt.h"

/* USO: Linux 6.2 uapi, missing from older headers. */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4	5
#endif

/* Upper bound on segments per super-frame: 64 KiB at gso_size 64. */
#define GSO_MAX_SEGS	1024

struct gso_iter {
	const struct pkt	*src;
	struct inet_hdrs	 h;
	uint32_t		 payload;	/* bytes after the headers */
	uint32_t		 off;		/* next payload byte to send */
	uint16_t		 mss;		/* payload bytes per segment */
	uint16_t		 seg;		/* segments made so far */
	uint16_t		 nsegs;
};

/*
 * Completes the checksum p->vnet asks for and clears NEEDS_CSUM.  0, or
 * EINVAL when csum_start/csum_offset do not fit the frame.
 */
int	gso_csum(struct pkt *p);

/*
 * Checks super-frame src and prepares to segment it.  0; EINVAL for a bad
 * vnet header or headers that do not match its gso_type; EOPNOTSUPP for UFO
 * or an unknown gso_type; EPROTONOSUPPORT for headers inet_parse() does not
 * know.  src must stay untouched until the last gso_next().
 */
int	gso_start(struct gso_iter *, const struct pkt *src, enum inet_link);

/*
 * Appends segments to out until it holds PKT_BATCH_MAX or none are left.
 * 0; ENOBUFS when the pool ran dry (what is in out is good, gso_left() says
 * how many were not made); EMSGSIZE when a segment does not fit the pool's
 * buffers (nothing made).
 */
int	gso_next(struct gso_iter *, struct pkt_pool *, struct pkt_batch *out);

/*
 * The length of the longest frame super-frame p stands for on the wire: its
 * headers and gso_size payload bytes, for the MTU check of a port that
 * takes it whole, and for the router's MTU decisions.  p->len for a frame
 * without GSO or with headers inet_parse() does not know.
 */
uint32_t	gso_wire_len(const struct pkt *p, enum inet_link);

static inline bool
gso_done(const struct gso_iter *it)
{
	return it->seg == it->nsegs;
}

static inline unsigned
gso_left(const struct gso_iter *it)
{
	return (unsigned)(it->nsegs - it->seg);
}

#endif
