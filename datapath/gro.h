/*
 * gro.h - coalescing received TCP segments into super-frames (GRO).
 *
 * A tunnel hands the switch decapsulated frames one MTU at a time; a
 * vnet_hdr tap takes TCP super-frames of up to 64 KiB in one write.
 * gro_batch() merges, within one batch, consecutive in-order segments of
 * one TCP flow into a super-frame whose vnet header (NEEDS_CSUM, gso_type
 * TCPV4/TCPV6, gso_size, csum_start/offset, and the pseudo-header sum in the
 * TCP checksum field) lets the kernel take it as if it had done the GRO
 * itself.  The rules are Linux's tcp_gro_receive() and wireguard-go's:
 *
 *   - a flow is the Ethernet header (addresses and tags), the IP addresses
 *     and the TCP ports; only its newest run of segments can grow, so no
 *     segment ever moves ahead of another of its flow;
 *   - a segment joins the run if its sequence number is the next expected
 *     one (no gaps, no overlap), it carries payload and no more than the
 *     first segment's, and the run has not ended;
 *   - everything else in the headers must match the first segment: IPv4
 *     TOS, TTL and DF with the ID one more per segment (or, with DF, the
 *     same ID throughout); IPv6 traffic class, flow label and hop limit;
 *     TCP ACK number, window, header length and option bytes, and flags;
 *   - flags: ACK is required; FIN, SYN, RST and URG never merge; PSH may
 *     be on the last segment and ends the run; CWR only on the first;
 *   - a shorter-than-first segment ends the run; so does 64 KiB of IP;
 *   - IPv4 options, fragments, IPv6 extension headers, frames with a
 *     bad IPv4 header or TCP checksum (counted in bad_csum), and frames
 *     that already carry offload state are passed through untouched, and
 *     end their flow's run.
 *
 * Segments are checked against their checksums before merging because the
 * kernel does not verify a NEEDS_CSUM frame: a corrupt segment merged here
 * would be delivered.  A run of one segment is passed through as it came.
 *
 * A super-frame is built in a buffer from the large pool (PKT_GSO_DATA_ROOM)
 * when a second segment joins; the segments' buffers go back to their pool.
 * If the large pool is empty the segments pass through unmerged (counted in
 * no_buffer), so nothing is ever dropped here.
 *
 * The frames of a batch are all of one link (inet.h): Ethernet frames for
 * the switch, or, as INET_L3, bare IP packets for the router; a flow of
 * packets is then its addresses and ports alone.
 */
#ifndef GRO_H
#define GRO_H

#include <stdint.h>

#include "inet.h"
#include "pkt.h"

struct gro_stats {
	uint64_t	superframes;	/* super-frames made */
	uint64_t	segments;	/* segments that went into them */
	uint64_t	no_buffer;	/* merges skipped: large pool empty */
	uint64_t	bad_csum;	/* TCP segments with a bad checksum */
};

/*
 * Coalesces b in place: afterwards b holds, in the order of their first
 * segments, the super-frames and every frame that was not merged.  Buffers
 * of merged segments are freed.
 */
void	gro_batch(struct pkt_batch *b, enum inet_link,
	    struct pkt_pool *large, struct gro_stats *);

#endif
