/*
 * tap-vnet.h - the virtio_net_hdr side of tap ports: which offloads a tap
 * is given (TUNSETOFFLOAD) and what a header read from one may say.
 *
 * A tap opened with IFF_VNET_HDR carries struct virtio_net_hdr (10 bytes,
 * TUNSETVNETHDRSZ) in front of every frame, both ways.  What the kernel may
 * hand us is set by TUNSETOFFLOAD, from the switches of offload.h: the
 * same set is what the port takes (port->takes) from the switch, so a
 * switch turned off stops super-frames in both directions.  The kernel
 * accepts any valid header on write whatever TUNSETOFFLOAD says; the
 * switch simply no longer sends it any.
 */
#ifndef TAP_VNET_H
#define TAP_VNET_H

#include <stdbool.h>

#include "port.h"

/* USO: Linux 6.2 uapi, missing from older headers. */
#ifndef TUN_F_USO4
#define TUN_F_USO4	0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6	0x40
#endif

struct tap_vnet {
	bool	on;		/* IFF_VNET_HDR */
	bool	no_uso;		/* the kernel refused TUN_F_USO4/6 */
};

/*
 * Asks the kernel for the offloads dp->ofl allows and returns the
 * PORT_TAKES_* it agreed to; 0 (everything off) without a vnet header or
 * when even checksums are refused.
 */
unsigned	tap_vnet_offload(int fd, struct tap_vnet *,
		    const struct offload_cfg *);
/*
 * Whether the header the kernel wrote in front of a frame of len bytes is
 * one the switch can honour: a known GSO type with a segment size, and a
 * checksum field inside the frame.  Clears what it does not use
 * (DATA_VALID), so an ordinary frame's header is all zero.
 */
bool		tap_vnet_check(struct virtio_net_hdr *, uint32_t len);

#endif
