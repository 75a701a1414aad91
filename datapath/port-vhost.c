/*
 * port-vhost.c - the "vhost-user" port type: a QEMU guest's virtio-net
 * device, its frames read from and written to the guest's rings in the
 * guest's memory, with no kernel in between.
 *
 *   port add vm0 type vhost-user path SOCKET     we listen, QEMU connects
 *   port add vm0 type vhost-user connect SOCKET  QEMU listens (server=on)
 *
 * The two ways to meet QEMU are those of the stream port, unix-sock.h's,
 * and take the same words: "connect" is what QEMU and Open vSwitch call
 * the back-end's client mode.  Connecting is tried again every second
 * (the tick) while QEMU is not there, so a port survives QEMU restarting
 * and QEMU's own reconnect survives the daemon restarting.  Listening,
 * one QEMU at a time is served; a second connection is closed and
 * counted in rx_errors.
 *
 * The protocol and guest memory are vhost-proto.c's, the rings virtq.c's.
 * This file moves frames:
 *
 * Transmit (guest to switch, ring 1): the kick eventfd is watched while
 * the ring runs; on a kick the ring is drained in batches of
 * PKT_BATCH_MAX, up to DP_INPUT_BATCHES per event, each chain copied out
 * of guest memory (its virtio_net_hdr into pkt->vnet, checked as a tap's
 * is, tap-vnet.h) into a dp->pool buffer, or a dp->large one for a
 * super-frame, and handed to dp_input(); each batch is given back as it
 * is done, the guest interrupted (if it asked) once for them all.  A frame
 * in one buffer, its header first, is copied with no cursor over segments;
 * the same on receive, when a frame fits a buffer's first segment.  Then
 * the guest is asked for a kick at the next index (EVENT_IDX); what it
 * made available meanwhile, or what the budget left, is taken by kicking
 * ourselves (a write to the kick eventfd), so nothing waits for a kick
 * that will not come.
 *
 * Busy polling (the daemon's busy-poll setting, dp_poll()): while the loop
 * spins after traffic, the guest is told not to kick at all (vq_no_kick():
 * NO_NOTIFY, or an avail_event it never crosses with EVENT_IDX) and the
 * transmit ring is drained on each turn of the spin, saving the guest a
 * VM exit per batch and us an eventfd read.  When the spin ends, kicks are
 * asked for again and the ring looked at once more: what the guest queued
 * while it did not kick is taken by a self-kick.
 *
 * Receive (switch to guest, ring 0): send_batch writes each frame behind
 * its header into the guest's receive buffers, as many as it takes with
 * MRG_RXBUF (num_buffers says how many), into one chain otherwise; a
 * frame the guest has no buffers for is dropped as tx_full, one larger
 * than a chain without MRG_RXBUF as too_big.  The guest is interrupted
 * once per batch at most, and only when it asked (vq_need_signal()).
 *
 * Offloads: the tap switches (offload.h) decide what is offered: checksums
 * (CSUM, GUEST_CSUM) with tap-csum, TSO both ways with tap-tso as well.
 * port->takes follows what the guest accepted (GUEST_*), so port_send()
 * finishes in software what it did not.
 *
 * A guest that breaks a ring (virtq.h) stops that ring only: the reason is
 * in state_why, counted once in rx_errors (transmit ring) or tx_errors
 * (receive ring), said once, and written to the ring's err eventfd so
 * QEMU reports it too.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp.h"
#include "port-vhost.h"
#include "tap-vnet.h"
#include "unix-sock.h"
#include "vhost-guard.h"
#include "vhost-proto.h"

#define VHOST_MTU_DEFAULT	1500
#define VHOST_MTU_MIN		68
#define VHOST_MTU_MAX		(PKT_DATA_ROOM - PORT_L2_OVERHEAD)
/* Receive buffers one frame may fill with MRG_RXBUF. */
#define VHOST_MRG_MAX		64

struct vhost_port {
	struct vhost_dev	 dev;		/* first: test-virtq.c reads it */
	struct port		*port;
	struct usock		 us;
	struct dp_watch		*cwatch;	/* the connection */
	struct dp_watch		*kwatch[VHOST_VRINGS];
	unsigned		 mem_wait;	/* ticks without a memory table */
	bool			 rx_kicked;	/* since the receive ring started */
	uint16_t		 rx_start;	/* its available index then */
	bool			 private_said;
	bool			 polling;	/* the guest told not to kick */
	uint64_t		 bad_counted;	/* of dev.bad_requests */
	char			 detail[160];
	struct vq_chain		 tx;
	struct vq_chain		 rx[VHOST_MRG_MAX];
};

/* The features the offload switches allow us to offer. */
static uint64_t
vhost_offer(const struct port *port)
{
	uint64_t	f = 0;

	if (port->dp == NULL || !port->dp->ofl.on[OFL_TAP_CSUM])
		return 0;
	f |= VHOST_BIT(VHOST_F_CSUM) | VHOST_BIT(VHOST_F_GUEST_CSUM);
	if (port->dp->ofl.on[OFL_TAP_TSO])
		f |= VHOST_BIT(VHOST_F_HOST_TSO4) |
		    VHOST_BIT(VHOST_F_HOST_TSO6) |
		    VHOST_BIT(VHOST_F_GUEST_TSO4) |
		    VHOST_BIT(VHOST_F_GUEST_TSO6);
	return f;
}

static void
vhost_update_takes(struct port *port)
{
	struct vhost_port	*vp = port->priv;
	const uint64_t		 f = vp->dev.features & vhost_offer(port);
	unsigned		 t = 0;

	if (f & VHOST_BIT(VHOST_F_GUEST_CSUM)) {
		t |= PORT_TAKES_CSUM;
		if (f & VHOST_BIT(VHOST_F_GUEST_TSO4))
			t |= PORT_TAKES_TSO4;
		if (f & VHOST_BIT(VHOST_F_GUEST_TSO6))
			t |= PORT_TAKES_TSO6;
	}
	port->takes = t;
}

static void	vhost_kick(void *, time_t);

/* The guest says it made receive buffers available (see vhost_tick()). */
static void
vhost_rx_kick(void *arg, time_t now)
{
	struct port		*port = arg;
	struct vhost_port	*vp = port->priv;
	uint64_t		 v;

	(void)now;
	(void)!read(vp->dev.vr[VHOST_RX].kickfd, &v, sizeof(v));
	vp->rx_kicked = true;
}

static void
vhost_self_kick(struct vhost_port *vp, unsigned i)
{
	uint64_t	one = 1;

	if (vp->dev.vr[i].kickfd != -1)
		(void)!write(vp->dev.vr[i].kickfd, &one, sizeof(one));
}

static void
vhost_hook_ring(void *arg, unsigned i, bool on)
{
	struct port		*port = arg;
	struct vhost_port	*vp = port->priv;
	struct vhost_vring	*vr = &vp->dev.vr[i];
	int			 error, fl;

	if (!on) {
		dp_unwatch(port->dp, vp->kwatch[i]);
		vp->kwatch[i] = NULL;
		return;
	}
	if (vr->kickfd == -1)
		return;
	if ((fl = fcntl(vr->kickfd, F_GETFL)) != -1 && !(fl & O_NONBLOCK))
		(void)fcntl(vr->kickfd, F_SETFL, fl | O_NONBLOCK);
	if ((error = dp_watch(port->dp, vr->kickfd, i == VHOST_RX ?
	    vhost_rx_kick : vhost_kick, port, &vp->kwatch[i])) != 0) {
		vp->kwatch[i] = NULL;
		dp_port_note(port, "cannot watch a ring's kick: %s",
		    strerror(error));
		return;
	}
	if (i == VHOST_RX) {
		/*
		 * Receive buffers are looked for when there is a frame; a
		 * kick only tells whether we see the guest's memory move.
		 */
		vp->rx_kicked = false;
		vp->rx_start = vq_avail_idx(&vr->q);
		vq_want_kick(&vr->q, false);
		return;
	}
	/* What the guest queued before the ring ran. */
	vp->polling = false;
	vq_want_kick(&vr->q, true);
	vhost_self_kick(vp, i);
}

static void
vhost_hook_features(void *arg)
{
	vhost_update_takes(arg);
}

static void
vhost_hook_note(void *arg, const char *msg)
{
	dp_port_note(arg, "%s", msg);
}

static void	vhost_hook_broken(void *, unsigned);

static const struct vhost_hooks vhost_hooks = {
	.ring		= vhost_hook_ring,
	.broken		= vhost_hook_broken,
	.features	= vhost_hook_features,
	.note		= vhost_hook_note,
};

/* Ring i was stopped by the guest (vhost_ring_broken()): counted once. */
static void
vhost_hook_broken(void *arg, unsigned i)
{
	struct port		*port = arg;
	struct vhost_port	*vp = port->priv;

	if (i == VHOST_TX)
		port->stats.rx_errors++;
	else
		port->stats.tx_errors++;
	dp_unwatch(port->dp, vp->kwatch[i]);
	vp->kwatch[i] = NULL;
}

/* One chain of the transmit ring into b, or counted as dropped. */
static void
vhost_tx_frame(struct port *port, struct pkt_batch *b)
{
	struct vhost_port	*vp = port->priv;
	const struct vq_chain	*c = &vp->tx;
	const unsigned		 hl = vp->dev.hdr_len;
	struct pkt_pool		*pool = port->dp->pool;
	struct pkt		*p;
	uint64_t		 flen;

	if (c->cut || c->len < hl) {
		port_drop(port, c->cut ? DROP_TOO_BIG : DROP_RUNT);
		return;
	}
	flen = c->len - hl;
	if (flen > pkt_pool_data_room(pool))
		pool = port->dp->large;
	if (flen > pkt_pool_data_room(pool)) {
		port_drop(port, DROP_TOO_BIG);
		return;
	}
	if ((p = pkt_alloc(pool)) == NULL) {
		port_drop(port, DROP_NO_BUFFER);
		return;
	}
	if (c->nseg == 1 && hl >= sizeof(p->vnet)) {
		/* Header and frame in one buffer, as most guests put them. */
		memcpy(&p->vnet, c->seg[0].iov_base, sizeof(p->vnet));
		memcpy(p->data, (const uint8_t *)c->seg[0].iov_base + hl, flen);
		p->len = (uint32_t)flen;
	} else {
		vq_copy_out(c, 0, &p->vnet, sizeof(p->vnet));
		p->len = (uint32_t)vq_copy_out(c, hl, p->data, flen);
	}
	port->stats.rx_packets++;
	port->stats.rx_bytes += p->len;
	if (!tap_vnet_check(&p->vnet, p->len)) {
		port_drop(port, DROP_BAD_OFFLOAD);
		pkt_free(p);
		return;
	}
	if (p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		port->stats.rx_gso++;
	} else if (!port_frame_fits(port, p->len)) {
		port_drop(port, DROP_TOO_BIG);
		pkt_free(p);
		return;
	}
	pkt_batch_add(b, p);
}

/*
 * A mapping lost to a shrunk file (vhost-guard.h) stops the rings before
 * the next batch reads zero pages, not at the next tick.
 */
static void
vhost_mem_news(struct vhost_dev *dev)
{
	const unsigned	n = vhost_guard_losses();

	if (n != dev->losses) {
		dev->losses = n;
		vhost_dev_check_mem(dev);
	}
}

/*
 * Drains the transmit ring, DP_INPUT_BATCHES at most: frames taken.  Each
 * batch is shown the guest as it is done, the guest interrupted once.
 */
static unsigned
vhost_tx_drain(struct port *port, time_t now)
{
	struct vhost_port	*vp = port->priv;
	struct vhost_dev	*dev = &vp->dev;
	struct virtq		*q = &dev->vr[VHOST_TX].q;
	struct pkt_batch	 b;
	unsigned		 taken = 0;
	int			 r = 0;

	vhost_mem_news(dev);
	for (unsigned n = 0; n < DP_INPUT_BATCHES; n++) {
		if (!vhost_ring_running(dev, VHOST_TX))
			break;
		pkt_batch_init(&b);
		while (b.count < PKT_BATCH_MAX &&
		    (r = vq_pop(q, false, &vp->tx)) == 1) {
			vhost_tx_frame(port, &b);
			vq_push(q, vp->tx.head, 0);
			taken++;
		}
		vq_publish(q);
		if (r == -1)
			vhost_ring_broken(&vp->dev, VHOST_TX);
		if (b.count > 0) {
			dp_input(port->dp, port, &b, now);
			pkt_batch_init(&b);
		}
		if (r != 1)
			break;
	}
	if (taken > 0)
		vhost_ring_signal(dev, VHOST_TX);
	return taken;
}

/* Drains the transmit ring on a kick; a guest polled is not asked for one. */
static void
vhost_tx(struct port *port, time_t now)
{
	struct vhost_port	*vp = port->priv;
	struct virtq		*q = &vp->dev.vr[VHOST_TX].q;

	vhost_tx_drain(port, now);
	if (!vhost_ring_running(&vp->dev, VHOST_TX) || vp->polling)
		return;
	vq_want_kick(q, true);
	if (vq_avail(q))
		vhost_self_kick(vp, VHOST_TX);
}

static unsigned
vhost_poll(struct port *port, bool spinning, time_t now)
{
	struct vhost_port	*vp = port->priv;
	struct virtq		*q = &vp->dev.vr[VHOST_TX].q;
	unsigned		 taken;

	if (!vhost_ring_running(&vp->dev, VHOST_TX)) {
		vp->polling = false;
		return 0;
	}
	if (!spinning) {
		if (vp->polling) {
			vp->polling = false;
			vq_want_kick(q, true);
			if (vq_avail(q))
				vhost_self_kick(vp, VHOST_TX);
		}
		return 0;
	}
	if (!vp->polling)
		vq_no_kick(q);
	vp->polling = true;
	if ((taken = vhost_tx_drain(port, now)) > 0 &&
	    vhost_ring_running(&vp->dev, VHOST_TX))
		vq_no_kick(q);		/* just behind what we took, again */
	return taken;
}

static void
vhost_kick(void *arg, time_t now)
{
	struct port		*port = arg;
	struct vhost_port	*vp = port->priv;
	uint64_t		 v;

	(void)!read(vp->dev.vr[VHOST_TX].kickfd, &v, sizeof(v));
	vhost_tx(port, now);
}

/* Writes len bytes into chains c[0..n) from *k, *s, *off on. */
struct vhost_cursor {
	unsigned	k, s;
	size_t		off;
	uint32_t	written[VHOST_MRG_MAX];
};

static void
vhost_fill(struct vq_chain *c, unsigned n, struct vhost_cursor *cur,
    const void *src, size_t len)
{
	const uint8_t	*from = src;
	size_t		 m;

	while (len > 0 && cur->k < n) {
		struct vq_chain *ch = &c[cur->k];

		if (cur->s >= ch->nseg) {
			cur->k++;
			cur->s = 0;
			cur->off = 0;
			continue;
		}
		m = ch->seg[cur->s].iov_len - cur->off;
		if (m > len)
			m = len;
		memcpy((uint8_t *)ch->seg[cur->s].iov_base + cur->off, from, m);
		cur->written[cur->k] += (uint32_t)m;
		from += m;
		len -= m;
		cur->off += m;
		if (cur->off == ch->seg[cur->s].iov_len) {
			cur->s++;
			cur->off = 0;
		}
	}
}

/*
 * One frame into the receive ring: 1 written, 0 no buffers, -1 the ring
 * broke, 2 too big for a buffer (dropped).
 */
static int
vhost_rx_frame(struct port *port, const struct pkt *p)
{
	struct vhost_port	*vp = port->priv;
	struct virtq		*q = &vp->dev.vr[VHOST_RX].q;
	const bool		 mrg = (vp->dev.features &
	    VHOST_BIT(VHOST_F_MRG_RXBUF)) != 0;
	const unsigned		 max = mrg ? VHOST_MRG_MAX : 1;
	const unsigned		 hl = vp->dev.hdr_len;
	const uint64_t		 need = hl + (uint64_t)p->len;
	struct vhost_cursor	 cur;
	struct {
		struct virtio_net_hdr	h;
		uint16_t		num_buffers;
	} __attribute__((packed))	 hdr;
	uint64_t		 room = 0;
	unsigned		 n = 0;
	int			 r;

	_Static_assert(sizeof(hdr) == 12, "virtio_net_hdr_mrg_rxbuf");
	hdr.h = p->vnet;
	hdr.num_buffers = 1;
	if ((r = vq_pop(q, true, &vp->rx[0])) != 1)
		return r;
	if (vp->rx[0].nseg > 0 && vp->rx[0].seg[0].iov_len >= need &&
	    hl <= sizeof(hdr)) {
		/* The frame fits the first segment: no cursor. */
		memcpy(vp->rx[0].seg[0].iov_base, &hdr, hl);
		memcpy((uint8_t *)vp->rx[0].seg[0].iov_base + hl, p->data,
		    p->len);
		vq_push(q, vp->rx[0].head, (uint32_t)need);
		return 1;
	}
	room = vp->rx[0].len;
	n = 1;
	while (room < need) {
		if (n == max) {
			vq_unpop(q, n);
			port_drop(port, DROP_TOO_BIG);
			return 2;
		}
		if ((r = vq_pop(q, true, &vp->rx[n])) != 1) {
			if (r == 0)
				vq_unpop(q, n);
			return r;
		}
		room += vp->rx[n].len;
		n++;
	}
	hdr.num_buffers = (uint16_t)(mrg ? n : 1);
	cur.k = cur.s = 0;
	cur.off = 0;
	memset(cur.written, 0, n * sizeof(cur.written[0]));
	vhost_fill(vp->rx, n, &cur, &hdr, hl);
	vhost_fill(vp->rx, n, &cur, p->data, p->len);
	for (unsigned i = 0; i < n; i++)
		vq_push(q, vp->rx[i].head, cur.written[i]);
	return 1;
}

static void
vhost_send_batch(struct port *port, struct pkt_batch *b)
{
	struct vhost_port	*vp = port->priv;
	struct vhost_dev	*dev = &vp->dev;
	struct pkt		*p;
	int			 r;

	vhost_mem_news(dev);
	if (!vhost_ring_running(dev, VHOST_RX)) {
		port->stats.drops[DROP_LINK_DOWN] += b->count;
		return;
	}
	for (unsigned i = 0; i < b->count; i++) {
		p = b->pkts[i];
		if (p->vnet.gso_type == VIRTIO_NET_HDR_GSO_NONE &&
		    !port_frame_fits(port, p->len)) {
			port_drop(port, DROP_TOO_BIG);
			continue;
		}
		if ((r = vhost_rx_frame(port, p)) == 2)
			continue;
		if (r == 0) {
			port->stats.drops[DROP_TX_FULL] += b->count - i;
			break;
		}
		if (r == -1) {
			port->stats.drops[DROP_TX_ERROR] += b->count - i;
			vhost_ring_broken(dev, VHOST_RX);
			break;
		}
		port->stats.tx_packets++;
		port->stats.tx_bytes += p->len;
		if (p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE)
			port->stats.tx_gso++;
	}
	vq_publish(&dev->vr[VHOST_RX].q);
	vhost_ring_signal(dev, VHOST_RX);
}

/* The connection ended: everything of it goes, the port waits for QEMU. */
static void
vhost_hangup(struct port *port)
{
	struct vhost_port	*vp = port->priv;

	vhost_dev_reset(&vp->dev);
	dp_unwatch(port->dp, vp->cwatch);
	vp->cwatch = NULL;
	if (vp->dev.fd != -1)
		close(vp->dev.fd);
	vp->dev.fd = -1;
	dp_port_note(port, "%s; %s", vp->dev.why, vp->us.connect ?
	    "reconnecting every second" : "listening again");
}

/* Requests refused for breaking the protocol count in rx_errors. */
static void
vhost_count_bad(struct port *port)
{
	struct vhost_port	*vp = port->priv;

	port->stats.rx_errors += vp->dev.bad_requests - vp->bad_counted;
	vp->bad_counted = vp->dev.bad_requests;
}

static void
vhost_readable(void *arg, time_t now)
{
	struct port		*port = arg;
	struct vhost_port	*vp = port->priv;
	int			 r;

	(void)now;
	r = vhost_dev_readable(&vp->dev);
	vhost_count_bad(port);
	if (r == -1)
		vhost_hangup(port);
}

static int
vhost_attach(struct port *port, int fd)
{
	struct vhost_port	*vp = port->priv;
	int			 error;

	vhost_dev_attach(&vp->dev, fd);
	vhost_update_takes(port);
	vp->mem_wait = 0;
	vp->rx_kicked = vp->private_said = false;
	if ((error = dp_watch(port->dp, fd, vhost_readable, port,
	    &vp->cwatch)) != 0) {
		vp->cwatch = NULL;
		vp->dev.fd = -1;
	}
	return error;
}

static bool
vhost_busy(const struct port *port)
{
	const struct vhost_port	*vp = port->priv;

	return vp->dev.fd != -1;
}

/* Shown by state_why until QEMU is there. */
static void
vhost_unreached(struct port *port, const char *why)
{
	struct vhost_port	*vp = port->priv;

	snprintf(vp->dev.why, sizeof(vp->dev.why), "%s", why);
}

static const struct usock_ops vhost_usock_ops = {
	.peer	= "QEMU",
	.attach	= vhost_attach,
	.busy	= vhost_busy,
	.failed	= vhost_unreached,
};

static int
vhost_check(const struct port_config *c, char *err, size_t errlen)
{
	if (c->mtu != 0 && (c->mtu < VHOST_MTU_MIN || c->mtu > VHOST_MTU_MAX))
		return port_err(err, errlen, EINVAL, "%s: invalid mtu %d "
		    "(%d to %d)", c->name, c->mtu, VHOST_MTU_MIN,
		    VHOST_MTU_MAX);
	return usock_check(c, "a vhost-user port", err, errlen);
}

static int
vhost_open(struct port *port, const struct port_config *c, char *err,
    size_t errlen)
{
	struct vhost_port	*vp;
	int			 error;

	if (port->dp == NULL)
		return port_err(err, errlen, EINVAL, "%s: a vhost-user port "
		    "needs a datapath to watch its sockets", c->name);
	if ((error = vhost_check(c, err, errlen)) != 0)
		return error;
	if ((vp = port->priv = calloc(1, sizeof(*vp))) == NULL)
		return port_err(err, errlen, ENOMEM, "%s: out of memory",
		    c->name);
	vp->port = port;
	vhost_dev_init(&vp->dev, vhost_offer(port), &vhost_hooks, port);
	port->fd = -1;
	port->mtu = c->mtu != 0 ? c->mtu : VHOST_MTU_DEFAULT;
	port->takes = 0;
	if ((error = usock_open(&vp->us, port, &vhost_usock_ops, c, err,
	    errlen)) != 0) {
		free(vp);
		port->priv = NULL;
		return error;
	}
	return 0;
}

static void
vhost_close(struct port *port)
{
	struct vhost_port	*vp = port->priv;

	vhost_dev_reset(&vp->dev);
	if (vp->dev.fd != -1) {
		dp_unwatch(port->dp, vp->cwatch);
		close(vp->dev.fd);
	}
	usock_close(&vp->us);
	free(vp);
	port->priv = NULL;
}

/*
 * Guest memory that QEMU does not share shows in two ways, neither an
 * error on the socket: QEMU starts the device and sends no memory table
 * (plain RAM), or sends one whose pages the guest never writes (a private
 * mapping, share=off): its receive ring does not move though it kicks.
 * Either is said in state_why, once; a ring that moves later clears it.
 */
static void
vhost_check_shared(struct port *port)
{
	struct vhost_port	*vp = port->priv;
	struct vhost_dev	*dev = &vp->dev;
	const struct virtq	*q = &dev->vr[VHOST_RX].q;
	bool			 moved;

	if (dev->want_mem && dev->mem.n == 0) {
		if (++vp->mem_wait >= 2 && !dev->mem_refused) {
			snprintf(dev->why, sizeof(dev->why), "guest memory is "
			    "not shared (use memory-backend-memfd,share=on): "
			    "QEMU started the device without a memory table");
			dev->mem_refused = true;
			dp_port_note(port, "%s", dev->why);
		}
	} else {
		vp->mem_wait = 0;
	}
	if (!vhost_ring_running(dev, VHOST_RX) || !vp->rx_kicked)
		return;
	moved = vq_avail_idx(q) != vp->rx_start || q->last_avail !=
	    vp->rx_start;
	if (!moved && !vp->private_said) {
		snprintf(dev->why, sizeof(dev->why), "guest memory is not "
		    "shared (use memory-backend-memfd,share=on): the guest "
		    "kicks its receive ring but it does not move in the memory "
		    "QEMU shared (share=off?)");
		dev->mem_refused = true;
		vp->private_said = true;
		dp_port_note(port, "%s", dev->why);
	} else if (moved && vp->private_said) {
		vp->private_said = false;
		dev->mem_refused = false;
		dev->why[0] = '\0';
	}
}

static void
vhost_tick(struct port *port, time_t now)
{
	struct vhost_port	*vp = port->priv;

	(void)now;
	if (vp->dev.fd != -1) {
		vhost_dev_check_mem(&vp->dev);
		vhost_check_shared(port);
	}
	usock_tick(&vp->us);
}

static const char *
vhost_state(const struct port *port)
{
	const struct vhost_port	*vp = port->priv;
	const struct vhost_dev	*dev = &vp->dev;

	if (dev->fd == -1)
		return "down";
	for (unsigned i = 0; i < VHOST_VRINGS; i++)
		if (dev->vr[i].q.err != VQ_OK)
			return "broken";
	if (dev->mem_refused)
		return "connected";
	if (vhost_ring_running(dev, VHOST_RX) &&
	    vhost_ring_running(dev, VHOST_TX))
		return "up";
	return "connected";
}

static const char *
vhost_state_why(const struct port *port)
{
	const struct vhost_port	*vp = port->priv;
	const struct vhost_dev	*dev = &vp->dev;

	if (dev->fd != -1 && !dev->mem_refused &&
	    strcmp(vhost_state(port), "broken") != 0)
		return NULL;
	if (dev->why[0] != '\0')
		return dev->why;
	return vp->us.connect ? "waiting for QEMU to listen" :
	    "waiting for QEMU to connect";
}

/* Guest memory as mapped: its regions (hot-plug adds some), the guarded. */
static const char *
vhost_detail(const struct port *port)
{
	struct vhost_port	*vp = port->priv;
	const struct vhost_dev	*dev = &vp->dev;
	uint64_t		 bytes = 0;
	unsigned		 guarded = 0;
	int			 n;

	if (dev->fd == -1)
		return NULL;
	for (unsigned i = 0; i < dev->mem.n; i++) {
		bytes += dev->mem.r[i].size;
		guarded += dev->map[i].unsealed;
	}
	n = snprintf(vp->detail, sizeof(vp->detail), "guest memory: %u of %u "
	    "regions, %llu MiB", dev->mem.n, VQ_REGIONS_MAX,
	    (unsigned long long)(bytes >> 20));
	if (guarded > 0 && n > 0 && (size_t)n < sizeof(vp->detail))
		n += snprintf(vp->detail + n, sizeof(vp->detail) - (size_t)n,
		    ", %u not sealed against shrinking (guarded)", guarded);
	if (dev->bad_requests > 0 && n > 0 && (size_t)n < sizeof(vp->detail))
		snprintf(vp->detail + n, sizeof(vp->detail) - (size_t)n,
		    "; %llu requests refused",
		    (unsigned long long)dev->bad_requests);
	return vp->detail;
}

static void
vhost_set_offloads(struct port *port)
{
	struct vhost_port	*vp = port->priv;

	/* What the next negotiation offers; this one keeps its own. */
	vp->dev.offer = (vp->dev.offer & ~(VHOST_BIT(VHOST_F_CSUM) |
	    VHOST_BIT(VHOST_F_GUEST_CSUM) | VHOST_BIT(VHOST_F_HOST_TSO4) |
	    VHOST_BIT(VHOST_F_HOST_TSO6) | VHOST_BIT(VHOST_F_GUEST_TSO4) |
	    VHOST_BIT(VHOST_F_GUEST_TSO6))) | vhost_offer(port);
	vhost_update_takes(port);
}

const struct port_ops port_vhost_ops = {
	.type		= "vhost-user",
	.layer		= PORT_L2,
	.open		= vhost_open,
	.close		= vhost_close,
	.recv_batch	= port_recv_none,
	.send_batch	= vhost_send_batch,
	.state		= vhost_state,
	.state_why	= vhost_state_why,
	.detail		= vhost_detail,
	.tick		= vhost_tick,
	.set_offloads	= vhost_set_offloads,
	.poll		= vhost_poll,
	.settings	= PORT_SET_MTU | PORT_SET_PATH | PORT_SET_CONNECT |
	    PORT_SET_SPLIT_HORIZON,
};
