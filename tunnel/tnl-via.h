/*
 * tnl-via.h - a tunnel carried by an L3 port of the router ("via PORT"):
 * VXLAN inside WireGuard, or over an ipip tunnel or a tun.
 *
 * Without via a tunnel's datagrams go through kernel UDP sockets
 * (tnl-tx.h); with it they never reach the kernel's stack: the outer IPv4
 * or IPv6 and UDP headers are built here and the datagram is handed to
 * the carrier's send path (port_send()), as the router would send a packet
 * out of that port, and what the carrier receives for the tunnel's local
 * address and port the router hands to the tunnel's endpoint (rtr-udp.c,
 * udp-endpoint.h) instead of answering it.
 *
 * The outer headers are those of a Linux "vxlan" device with its defaults
 * over that interface, byte for byte where it is deterministic: TTL (hop
 * limit) 64, DF clear and an IP ID counting up, ECN copied from an inner
 * untagged IPv4 or IPv6 packet as RFC 6040 (CE as ECT(0)), the rest of the
 * TOS 0, flow label 0, the UDP source port a hash of the inner flow scaled
 * into the ephemeral range 32768..60999 (udp_flow_src_port()), the UDP
 * checksum 0 over IPv4 and computed over IPv6.
 *
 * Shared frames: the switch queues one buffer on every port a frame is
 * flooded to, and L2 queues borrow, so the frame is never written to; each
 * datagram is built in a fresh pool buffer (outer headers, tunnel header,
 * then a copy of the frame), which the carrier may then encrypt or send,
 * and which is freed once it has.  A copy per frame costs less than the
 * carrier's own work on it (WireGuard seals it out of place again).
 *
 * The carrier: the tunnel is a user of it (struct port_user): while it is
 * used, "port del" of it is refused; deleted all the same (a reload that
 * makes it again, its device gone and replaced, shutdown), the tunnel goes
 * down, counts what it is given as link_down, and attaches to a port of
 * that name again at its next tick if one is there.  Its MTU is the
 * carrier's less the overhead, followed each tick.  A carrier must be L3
 * and may not itself be carried by another (no loops).
 */
#ifndef TNL_VIA_H
#define TNL_VIA_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "datapath/pkt.h"
#include "datapath/port.h"

#include "tnl.h"

#define TNL_VIA_SPORT_MIN	32768	/* Linux's ip_local_port_range */
#define TNL_VIA_SPORT_MAX	60999
#define TNL_VIA_TTL		64

struct tnl_via {
	char			 name[IFNAMSIZ];	/* the carrier's */
	struct port		*tunnel;
	struct port_user	 user;		/* .used: the carrier, or NULL */
	struct sockaddr_storage	 local;		/* outer source */
	struct sockaddr_storage	 remote;	/* outer destination and port */
	unsigned		 outer;		/* IP + UDP header bytes */
	int			 link_mtu;	/* the carrier's, last seen */
	uint16_t		 ip_id;
	char			 why_gone[IFNAMSIZ + 32];
	char			 why_down[IFNAMSIZ + 32];
};

/*
 * Attaches tunnel to the L3 port name, sending from local (which must be
 * an address of the router) to remote (with the destination port): 0, or
 * an errno and a message in err that names the port.
 */
int	tnl_via_open(struct tnl_via *, struct port *tunnel, const char *name,
	    const struct sockaddr_storage *local,
	    const struct sockaddr_storage *remote, char *err, size_t errlen);
void	tnl_via_close(struct tnl_via *);
/* Attaches again if the carrier went and a port of its name is back. */
void	tnl_via_tick(struct tnl_via *);
/* "up", or "down" (the carrier down or gone), and why (NULL when up). */
const char *tnl_via_state(const struct tnl_via *);
const char *tnl_via_why(const struct tnl_via *);
/*
 * Sends every payload of b behind hdr (hlen bytes) to the carrier,
 * counting tx or a drop on the tunnel; frees nothing of b.
 */
void	tnl_via_send(struct tnl_via *, const struct pkt_batch *b,
	    const uint8_t *hdr, size_t hlen, enum tnl_payload);

#endif
