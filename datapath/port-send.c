/*
 * port-send.c - port_send(): the one place where frames that owe offload
 * work meet ports that cannot take it.
 *
 * A batch whose frames owe nothing the port does not take goes to
 * send_batch() as it is: the scan costs one branch per frame.  Otherwise
 * the batch is rebuilt in order into out: frames the port takes as they
 * are, checksums completed in place (the result is valid for every port
 * the frame is queued on, so sharing is harmless), and super-frames cut
 * into segments from dp->pool.  out is flushed whenever it fills, and the
 * segments in it (marked in mine) are freed after send_batch() has written
 * them; the caller's frames stay the caller's.
 *
 * Drops are counted on the port: a vnet header gso.h refuses under
 * bad_offload (once per frame), segments the pool could not supply under
 * no_buffer (once per segment not made), and a segment larger than any
 * pool buffer under too_big.
 */
#include <errno.h>

#include "dp.h"
#include "gso.h"
#include "port.h"

_Static_assert(PKT_BATCH_MAX <= 64, "mine is a 64-bit mask of out");

struct port_out {
	struct pkt_batch	b;
	uint64_t		mine;	/* bit i: b.pkts[i] is a segment of ours */
};

static void
port_out_flush(struct port *port, struct port_out *o)
{
	if (o->b.count == 0)
		return;
	port->ops->send_batch(port, &o->b);
	for (unsigned i = 0; o->mine != 0; i++, o->mine >>= 1)
		if (o->mine & 1)
			pkt_free(o->b.pkts[i]);
	o->b.count = 0;
}

static void
port_out_add(struct port *port, struct port_out *o, struct pkt *p)
{
	if (o->b.count == PKT_BATCH_MAX)
		port_out_flush(port, o);
	pkt_batch_add(&o->b, p);
}

/* Marks out's entries from..count as segments made here. */
static void
port_out_mine(struct port_out *o, unsigned from)
{
	for (unsigned i = from; i < o->b.count; i++)
		o->mine |= (uint64_t)1 << i;
}

static void
port_segment(struct port *port, const struct pkt *p, struct port_out *o)
{
	struct pkt_pool	*pool = port->dp != NULL ? port->dp->pool : NULL;
	struct gso_iter	 it;
	unsigned	 from;
	int		 error;

	if (gso_start(&it, p, port_link(port)) != 0) {
		port_drop(port, DROP_BAD_OFFLOAD);
		return;
	}
	port->stats.tx_segmented++;
	while (!gso_done(&it)) {
		if (o->b.count == PKT_BATCH_MAX)
			port_out_flush(port, o);
		from = o->b.count;
		error = pool != NULL ? gso_next(&it, pool, &o->b) : ENOBUFS;
		port_out_mine(o, from);
		if (error == EMSGSIZE) {
			port_drop(port, DROP_TOO_BIG);
			return;
		}
		if (error == ENOBUFS) {
			/* Ours go back to the pool once sent: try again. */
			if (o->mine != 0) {
				port_out_flush(port, o);
				continue;
			}
			port->stats.drops[DROP_NO_BUFFER] += gso_left(&it);
			return;
		}
	}
}

static void
port_send_slow(struct port *port, struct pkt_batch *b, unsigned first)
{
	struct port_out	o = { .mine = 0 };

	pkt_batch_init(&o.b);
	for (unsigned i = 0; i < first; i++)
		pkt_batch_add(&o.b, b->pkts[i]);
	for (unsigned i = first; i < b->count; i++) {
		struct pkt *p = b->pkts[i];

		if (!port_owes(port, p))
			port_out_add(port, &o, p);
		else if (p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE)
			port_segment(port, p, &o);
		else if (gso_csum(p) != 0)
			port_drop(port, DROP_BAD_OFFLOAD);
		else
			port_out_add(port, &o, p);
	}
	port_out_flush(port, &o);
}

void
port_send(struct port *port, struct pkt_batch *b)
{
	port_capture(port, PORT_DIR_TX, b);
	for (unsigned i = 0; i < b->count; i++)
		if (port_owes(port, b->pkts[i])) {
			port_send_slow(port, b, i);
			return;
		}
	port->ops->send_batch(port, b);
}
