/*
 * tap-vnet.c - TUNSETOFFLOAD and the checks on headers read from a tap.
 */
#include <sys/ioctl.h>
#include <errno.h>
#include <string.h>

#include <linux/if_tun.h>

#include "tap-vnet.h"

/* The TUN_F_* for the switches; TSO and USO ride on the checksum. */
static unsigned
tap_vnet_want(const struct tap_vnet *v, const struct offload_cfg *ofl)
{
	unsigned	f;

	if (ofl == NULL || !ofl->on[OFL_TAP_CSUM])
		return 0;
	f = TUN_F_CSUM;
	if (ofl->on[OFL_TAP_TSO])
		f |= TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	if (ofl->on[OFL_TAP_USO] && !v->no_uso)
		f |= TUN_F_USO4 | TUN_F_USO6;
	return f;
}

static unsigned
tap_vnet_takes(unsigned f)
{
	return (f & TUN_F_CSUM ? PORT_TAKES_CSUM : 0) |
	    (f & TUN_F_TSO4 ? PORT_TAKES_TSO4 : 0) |
	    (f & TUN_F_TSO6 ? PORT_TAKES_TSO6 : 0) |
	    (f & TUN_F_USO4 ? PORT_TAKES_USO : 0);
}

unsigned
tap_vnet_offload(int fd, struct tap_vnet *v, const struct offload_cfg *ofl)
{
	unsigned	f;

	/*
	 * Without a vnet header nothing may be on: a persistent tap another
	 * run left with offloads would hand us super-frames regardless.
	 */
	if (!v->on) {
		ioctl(fd, TUNSETOFFLOAD, 0);
		return 0;
	}
	f = tap_vnet_want(v, ofl);
	if (ioctl(fd, TUNSETOFFLOAD, f) == 0)
		return tap_vnet_takes(f);
	/* A kernel before 6.2 knows no USO: remember, and go without. */
	if (errno == EINVAL && (f & TUN_F_USO4)) {
		v->no_uso = true;
		f &= ~(unsigned)(TUN_F_USO4 | TUN_F_USO6);
		if (ioctl(fd, TUNSETOFFLOAD, f) == 0)
			return tap_vnet_takes(f);
	}
	/* Nothing then: the kernel finishes every frame itself. */
	ioctl(fd, TUNSETOFFLOAD, 0);
	return 0;
}

bool
tap_vnet_check(struct virtio_net_hdr *h, uint32_t len)
{
	uint8_t	type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE)
			return false;	/* a super-frame always owes its sums */
		memset(h, 0, sizeof(*h));
		return true;
	}
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	if ((uint32_t)h->csum_start + h->csum_offset + 2 > len)
		return false;
	switch (type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return h->gso_type == VIRTIO_NET_HDR_GSO_NONE;
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return h->gso_size != 0;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		return h->gso_size != 0 && type == h->gso_type;
	default:
		return false;
	}
}
