/*
 * switch.h - the L2 switch: MAC learning and the forwarding decision, one
 * of the datapath's two forwarding functions (dp.h).
 *
 * struct sw holds the MAC table and the switch's counters; the ports, the
 * pool and the output queues are the datapath's.  Input is per batch:
 * sw_input() learns each frame's source, decides where it goes, queues it
 * on each output port (dp_enqueue()) and flushes every queue once per
 * batch (dp_flush()).  A flooded frame is on several ports' queues;
 * send_batch() only reads it, and the input batch is freed after the flush.
 *
 * Rules: known unicast goes to one port; unknown unicast, broadcast and
 * multicast flood to every port but the ingress one; nothing ever goes back
 * out of its ingress port; a frame whose destination was learned on the
 * ingress port is dropped (DROP_SAME_PORT).  Split horizon: nothing that
 * came in on a split-horizon port (tunnels, by default) goes out of another
 * one; a flood skips them and known unicast is dropped (DROP_SPLIT_HORIZON).
 *
 * The VLAN in the MAC table key is the frame's 802.1Q VID, 0 when untagged:
 * VLANs are carried through and learned independently.
 *
 * Port security (struct port_sec, "port set"): a port with learning off
 * forwards without learning; one with a mac-limit drops frames from new
 * source MACs once it holds that many learned entries (DROP_MAC_LIMIT); a
 * locked port forwards only frames whose source has a static entry on it
 * (DROP_LOCKED), and learns nothing.  Frames from remote ports (tunnels:
 * port_is_remote()) may not move a MAC a local port sent from within
 * MAC_MOVE_HOLD seconds: the entry stays and the frame, which claims a
 * host that is live elsewhere, is dropped (DROP_MOVE_REFUSED, and the MAC
 * table's move_refused), as forged frames from the underlay would
 * otherwise black-hole local hosts.
 *
 * L3 ports are not the switch's: the datapath hands what they receive to
 * the router (router.h), and flooding skips them.
 *
 * A capture on a port sees each batch received from it before forwarding
 * and each batch handed to it before send_batch() (port_capture()), so tx
 * shows what the switch sent, before the port's own drops (too_big, ...).
 */
#ifndef SWITCH_H
#define SWITCH_H

#include <stdint.h>
#include <time.h>

#include "dp.h"
#include "mac-table.h"
#include "pkt.h"
#include "port.h"

struct sw {
	struct mac_table	*macs;
	uint64_t		 unicast;	/* frames sent to one port */
	uint64_t		 flooded;	/* frames flooded */
};

enum sw_verdict {
	SW_DROP,	/* see *why */
	SW_UNICAST,	/* to *out */
	SW_FLOOD,
};

/* The datapath creates and destroys its switch; NULL with errno set. */
struct sw	*sw_create(void);
void		 sw_destroy(struct sw *);
/* A port is going: forget what was learned on it. */
void		 sw_port_del(struct dp *, struct port *);

/* Forwards one batch from an L2 port and frees it. */
void		 sw_input(struct dp *, struct port *in, struct pkt_batch *,
		    time_t now);
/* Learns from and classifies one frame (exposed for unit tests). */
enum sw_verdict	 sw_decide(struct dp *, struct port *in, const struct pkt *,
		    time_t now, struct port **out, enum drop_reason *why);
/* Once a second: ages the MAC table. */
void		 sw_tick(struct dp *, time_t now);

#endif
