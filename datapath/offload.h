/*
 * offload.h - the offload switches of a datapath, and what a port takes.
 *
 * Each switch is on by default and can be turned off at run time
 * ("vswctl offload set NAME off"), so a user can rule an offload out when
 * chasing a problem and a benchmark can show what each one is worth.  A
 * switch only allows: a port uses an offload when the switch is on and the
 * kernel (probed when the port opens) lets it.
 *
 *	tap-csum	taps and tuns exchange frames whose TCP/UDP checksum
 *			is still owed (IFF_VNET_HDR, TUN_F_CSUM)
 *	tap-tso		taps and tuns exchange TCP super-frames
 *			(TUN_F_TSO4/TSO6); needs tap-csum
 *	tap-uso		taps and tuns exchange UDP super-frames
 *			(TUN_F_USO4/USO6), on kernels that have them; needs
 *			tap-csum
 *	tcp-gro		TCP segments received from a tunnel, L2 or L3, are
 *			coalesced into super-frames (gro.h) for ports that
 *			take them
 *	udp-gso		tunnels send runs of equal-sized datagrams with one
 *			UDP_SEGMENT message
 *	udp-gro		tunnel sockets receive coalesced datagrams (UDP_GRO)
 *
 * What a port can take as it is, it says in port->takes (PORT_TAKES_*).  A
 * frame owing work the output port does not take is finished in software
 * on the way out (gso.h): its checksum completed, a super-frame segmented.
 */
#ifndef OFFLOAD_H
#define OFFLOAD_H

#include <stdbool.h>

enum offload {
	OFL_TAP_CSUM,
	OFL_TAP_TSO,
	OFL_TAP_USO,
	OFL_TCP_GRO,
	OFL_UDP_GSO,
	OFL_UDP_GRO,
	OFL__MAX
};

struct offload_cfg {
	bool	on[OFL__MAX];
};

/* "tap-csum", ...: as vswctl names them. */
extern const char *const offload_names[OFL__MAX];

/* Every switch on. */
void	offload_cfg_init(struct offload_cfg *);
/* The switch of that name, or -1. */
int	offload_find(const char *name);

/* What a port takes from the switch as it is (port->takes). */
#define PORT_TAKES_CSUM	0x01	/* VIRTIO_NET_HDR_F_NEEDS_CSUM frames */
#define PORT_TAKES_TSO4	0x02	/* VIRTIO_NET_HDR_GSO_TCPV4 super-frames */
#define PORT_TAKES_TSO6	0x04	/* VIRTIO_NET_HDR_GSO_TCPV6 */
#define PORT_TAKES_USO	0x08	/* VIRTIO_NET_HDR_GSO_UDP_L4 */

#endif
