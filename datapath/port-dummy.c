/*
 * port-dummy.c - the "dummy" port type: records what it sends.
 *
 * The ring is allocated once at open, each slot big enough for the largest
 * frame a pool buffer can hold, so sending copies but never allocates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "port-dummy.h"

#define DUMMY_MTU_DEFAULT	1500
#define DUMMY_MTU_MAX		(PKT_DATA_ROOM - PORT_L2_OVERHEAD)

struct dummy_frame {
	size_t		len;
	uint8_t		data[PKT_DATA_ROOM];
};

struct dummy {
	unsigned		sent;	/* frames since open or clear */
	struct dummy_frame	ring[PORT_DUMMY_RING];
};

static int
dummy_open(struct port *port, const struct port_config *config, char *err,
    size_t errlen)
{
	if (config->mtu < 0 || config->mtu > DUMMY_MTU_MAX) {
		snprintf(err, errlen, "%s: invalid mtu %d (max %d)",
		    config->name, config->mtu, DUMMY_MTU_MAX);
		return EINVAL;
	}
	if ((port->priv = calloc(1, sizeof(struct dummy))) == NULL) {
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

		if (!port_frame_fits(port, p->len)) {
			port_drop(port, DROP_TOO_BIG);
			continue;
		}
		f = &d->ring[d->sent++ % PORT_DUMMY_RING];
		f->len = p->len;
		memcpy(f->data, p->data, p->len);
		port->stats.tx_packets++;
		port->stats.tx_bytes += p->len;
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

void
port_dummy_clear(struct port *port)
{
	struct dummy	*d = port->priv;

	d->sent = 0;
}
