/*
 * cap-outer.h - the outer headers of a tunnel datagram, rebuilt for capture.
 *
 * A tunnel port sends and receives through a kernel socket, so the outer IP
 * header (RFC 791, RFC 8200) and UDP header (RFC 768) never pass through
 * the datapath.  For a capture they are synthesized from the addresses the
 * tunnel hands over (struct port_outer): IPv4 with DF set, TTL 64, id 0 and
 * a valid header checksum; IPv6 with hop limit 64; UDP with both ports, its
 * length and a valid checksum (RFC 768, RFC 8200 section 8.1; RFC 1071
 * arithmetic).  Fields the kernel chose on the wire (TTL, id, DSCP, flow
 * label) may differ; what a user checks - addresses, ports, the tunnel
 * header and the inner frame - is what was sent or received.
 */
#ifndef CAP_OUTER_H
#define CAP_OUTER_H

#include <stddef.h>
#include <stdint.h>

#include "datapath/port.h"

#define CAP_IP4_HLEN		20
#define CAP_IP6_HLEN		40
#define CAP_UDP_HLEN		8
#define CAP_IP_TTL		64
#define CAP_IP4_DF		0x4000
#define CAP_IP_MAXPACKET	65535	/* the 16-bit length fields */

/*
 * Writes the headers, then o->hdr and o->data, into buf.  Returns the packet's
 * length, or 0 when it cannot be represented: addresses of two families or
 * of neither IPv4 nor IPv6, or a packet longer than size or than the
 * length fields hold.
 */
size_t	cap_outer_build(const struct port_outer *o, uint8_t *buf, size_t size);

#endif
