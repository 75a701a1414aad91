/*
 * fuzz-tap-vnet.c - libFuzzer target for the tap receive path with vnet
 * headers: what a tap's kernel may put in front of a frame.
 *
 * The input is [struct virtio_net_hdr][frame], as one readv() of a tap
 * brings them.  tap_vnet_check() decides as tap_recv_batch() does; what it
 * accepts must keep its promises (a checksum field inside the frame, a
 * super-frame that owes its sums and has a segment size, nothing left set
 * on an ordinary frame) and then goes where a tap's frames go: into the
 * switch on a dummy port that takes every offload, flooded to one that
 * takes none (segmented and checksummed in software, port-send.c) and to
 * one that takes them all (handed on whole).  The first byte of the header
 * also picks, by its low bit, whether the second dummy port takes
 * checksums only.  After each input every buffer is back in its pool.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/dp.h"
#include "datapath/port-dummy.h"
#include "datapath/tap-vnet.h"
#include "vswitchd/port-types.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NPORTS		3
#define TAKES_ALL	(PORT_TAKES_CSUM | PORT_TAKES_TSO4 | PORT_TAKES_TSO6 | \
			    PORT_TAKES_USO)

static struct dp	*dp;
static struct port	*ports[NPORTS];

static void
setup(void)
{
	struct port_config	 c = { .type = "dummy" };
	char			 err[128];

	if (port_types_init() != 0 || (dp = dp_create()) == NULL)
		abort();
	for (int i = 0; i < NPORTS; i++) {
		snprintf(c.name, sizeof(c.name), "fz%d", i);
		if (dp_port_add(dp, &c, &ports[i], err, sizeof(err)) != 0)
			abort();
	}
	if (port_dummy_set_takes(ports[0], TAKES_ALL) != 0 ||
	    port_dummy_set_takes(ports[2], TAKES_ALL) != 0)
		abort();
}

/* What an accepted header must say, whatever came in. */
static void
check_accepted(const struct virtio_net_hdr *h, uint32_t len)
{
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		static const struct virtio_net_hdr zero;

		if (memcmp(h, &zero, sizeof(zero)) != 0)
			abort();
		return;
	}
	if (h->flags != VIRTIO_NET_HDR_F_NEEDS_CSUM ||
	    (uint32_t)h->csum_start + h->csum_offset + 2 > len)
		abort();
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE && h->gso_size == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr	 h;
	struct pkt_batch	 b;
	struct pkt		*p;
	size_t			 len;

	if (dp == NULL)
		setup();
	if (size < sizeof(h) + 1)
		return 0;
	memcpy(&h, data, sizeof(h));
	len = size - sizeof(h);
	if (len > PKT_GSO_DATA_ROOM)
		len = PKT_GSO_DATA_ROOM;
	if (!tap_vnet_check(&h, (uint32_t)len))
		return 0;
	check_accepted(&h, (uint32_t)len);

	if (port_dummy_set_takes(ports[1], data[0] & 1 ? PORT_TAKES_CSUM : 0)
	    != 0)
		abort();
	/* A tap that may get super-frames reads into the large pool. */
	if ((p = pkt_alloc(len > PKT_DATA_ROOM ? dp->large : dp->pool)) ==
	    NULL)
		abort();
	memcpy(p->data, data + sizeof(h), len);
	p->len = (uint32_t)len;
	p->vnet = h;
	pkt_batch_init(&b);
	pkt_batch_add(&b, p);
	dp_input(dp, ports[0], &b, 1);
	for (int i = 0; i < NPORTS; i++)
		port_dummy_clear(ports[i]);
	if (pkt_pool_avail(dp->pool) != DP_POOL_SIZE ||
	    pkt_pool_avail(dp->large) != DP_LARGE_POOL_SIZE)
		abort();
	return 0;
}
