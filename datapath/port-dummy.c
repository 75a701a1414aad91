/*
 * port-dummy.c - the "dummy" port type: records what it sends.
 *
 * The ring is allocated at open, each slot big enough for the largest
 * frame an MTU-sized pool buffer can hold, so sending copies but never
 * allocates; a test that lets the port take super-frames gets slots of
 * PKT_GSO_DATA_ROOM then (port_dummy_set_takes()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "port-dummy.h"

#define DUMMY_MTU_DEFAULT	1500
#define DUMMY_MTU_MAX		(PKT_DATA_ROOM - PORT_L2_OVERHEAD)

struct dummy_frame {
	size_t			 len;
	struct virtio_net_hdr	 vnet;
	uint8_t			*data;
};

struct dummy {
	unsigned		sent;	/* frames since open or clear */
	size_t			room;	/* of each slot's data */
	uint8_t			*mem;
	struct dummy_frame	ring[PORT_DUMMY_RING];
};

static int
dummy_ring_alloc(struct dummy *d, size_t room)
{
	uint8_t	*mem;

	if ((mem = calloc(PORT_DUMMY_RING, room)) == NULL)
		return ENOMEM;
	free(d->mem);
	d->mem = mem;
	d->room = room;
	for (unsigned i = 0; i < PORT_DUMMY_RING; i++)
		d->ring[i].data = mem + i * room;
	d->sent = 0;
	return 0;
}

static int
dummy_open(struct port *port, const struct port_config *config, char *err,
    size_t errlen)
{
	if (config->mtu < 0 || config->mtu > DUMMY_MTU_MAX) {
		snprintf(err, errlen, "%s: invalid mtu %d (max %d)",
		    config->name, config->mtu, DUMMY_MTU_MAX);
		return EINVAL;
	}
	if ((port->priv = calloc(1, sizeof(struct dummy))) == NULL ||
	    dummy_ring_alloc(port->priv, PKT_DATA_ROOM) != 0) {
		free(port->priv);
		port->priv = NULL;
		snprintf(err, errlen, "%s: out of memory", config->name);
		return ENOMEM;
	}
	port->fd = -1;
	port->mtu = config->mtu != 0 ? config->mtu : DUMMY_MTU_DEFAULT;
	return 0;
}

static void
dummy_close(struct port *port)
{
	struct dummy	*d = port->priv;

	free(d->mem);
	free(port->priv);
	port->priv = NULL;
}

static void
dummy_send_batch(struct port *port, struct pkt_batch *b)
{
	struct dummy		*d = port->priv;
	struct dummy_frame	*f;

	for (unsigned i = 0; i < b->count; i++) {
		const struct pkt *p = b->pkts[i];
		bool gso = p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE;

		if (!port_frame_fits(port, gso ? port_wire_len(port, p) : p->len) ||
		    p->len > d->room) {
			port_drop(port, DROP_TOO_BIG);
			continue;
		}
		f = &d->ring[d->sent++ % PORT_DUMMY_RING];
		f->len = p->len;
		f->vnet = p->vnet;
		memcpy(f->data, p->data, p->len);
		port->stats.tx_packets++;
		port->stats.tx_bytes += p->len;
		port->stats.tx_gso += gso;
	}
}

static const char *
dummy_state(const struct port *port)
{
	(void)port;
	return "up";
}

const struct port_ops port_dummy_ops = {
	.type		= "dummy",
	.layer		= PORT_L2,
	.open		= dummy_open,
	.close		= dummy_close,
	.recv_batch	= port_recv_none,
	.send_batch	= dummy_send_batch,
	.state		= dummy_state,
	.settings	= PORT_SET_MTU | PORT_SET_SPLIT_HORIZON,
};

const struct port_ops port_dummy_l3_ops = {
	.type		= "dummy-l3",
	.layer		= PORT_L3,
	.open		= dummy_open,
	.close		= dummy_close,
	.recv_batch	= port_recv_none,
	.send_batch	= dummy_send_batch,
	.state		= dummy_state,
	.settings	= PORT_SET_MTU | PORT_SET_ADDRESS,
};

unsigned
port_dummy_sent_count(const struct port *port)
{
	const struct dummy	*d = port->priv;

	return d->sent;
}

const uint8_t *
port_dummy_sent(const struct port *port, unsigned i, size_t *len)
{
	const struct dummy		*d = port->priv;
	const struct dummy_frame	*f;

	if (i >= d->sent || d->sent - i > PORT_DUMMY_RING)
		return NULL;
	f = &d->ring[i % PORT_DUMMY_RING];
	if (len != NULL)
		*len = f->len;
	return f->data;
}

const struct virtio_net_hdr *
port_dummy_sent_vnet(const struct port *port, unsigned i)
{
	const struct dummy	*d = port->priv;

	if (i >= d->sent || d->sent - i > PORT_DUMMY_RING)
		return NULL;
	return &d->ring[i % PORT_DUMMY_RING].vnet;
}

int
port_dummy_set_takes(struct port *port, unsigned takes)
{
	struct dummy	*d = port->priv;
	size_t		 room = takes & (PORT_TAKES_TSO4 | PORT_TAKES_TSO6 |
	    PORT_TAKES_USO) ? PKT_GSO_DATA_ROOM : PKT_DATA_ROOM;
	int		 error;

	if (room != d->room && (error = dummy_ring_alloc(d, room)) != 0)
		return error;
	port->takes = takes;
	return 0;
}

void
port_dummy_clear(struct port *port)
{
	struct dummy	*d = port->priv;

	d->sent = 0;
}
