/*
 * switch.h - the L2 switch: ports, MAC learning and the forwarding decision.
 *
 * One struct sw holds the ports, the MAC table and the packet pool.  Input is
 * per batch: sw_input() learns each frame's source, decides where it goes,
 * gathers frames per output port (port->txq) and flushes each port once per
 * batch.  A flooded frame is handed to several ports' queues; send_batch()
 * only reads it, and the input batch is freed after every queue is flushed.
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
 * L3 ports are not the switch's: sw_port_input() hands what they receive to
 * the router (router.h), which shares the pool and the output list, and
 * flooding skips them.
 *
 * A capture on a port sees each batch received from it before forwarding
 * and each batch handed to it before send_batch() (port_capture()), so tx
 * shows what the switch sent, before the port's own drops (too_big, ...).
 *
 * The switch knows nothing of events or the control socket: the daemon calls
 * sw_port_input() when a port's fd is readable and sw_tick() once a second,
 * and watches the sockets tunnel ports share through the hooks it gives
 * sw_set_io().  Frames from a tunnel reach sw_input() through port_env.
 */
#ifndef SWITCH_H
#define SWITCH_H

#include <sys/queue.h>
#include <time.h>

#include "io.h"
#include "mac-table.h"
#include "pkt.h"
#include "port.h"

struct rtr;
#define SW_POOL_SIZE		1024
#define SW_LARGE_POOL_SIZE	256	/* super-frames, PKT_GSO_DATA_ROOM */
#define SW_MAX_PORTS		256
#define SW_INPUT_BATCHES	4	/* batches drained per readiness event */

TAILQ_HEAD(port_list, port);

struct sw {
	struct port_list	 ports;
	unsigned		 nports;
	unsigned		 next_index;
	struct mac_table	*macs;
	struct rtr		*rtr;
	struct pkt_pool		*pool;
	struct pkt_pool		*large;		/* super-frames */
	struct offload_cfg	 ofl;		/* the offload switches */
	struct port_env		 env;		/* every port's */
	uint64_t		 unicast;	/* frames sent to one port */
	uint64_t		 flooded;	/* frames flooded */
	/* Ports with frames in txq during sw_input(), each once. */
	unsigned		 ntx;
	struct port		*tx[SW_MAX_PORTS];
};

enum sw_verdict {
	SW_DROP,	/* see *why */
	SW_UNICAST,	/* to *out */
	SW_FLOOD,
};

struct sw	*sw_create(void);
void		 sw_destroy(struct sw *);

/* Returns 0 and the new port, or an errno with a message in err. */
int		 sw_port_add(struct sw *, const struct port_config *,
		    struct port **, char *err, size_t errlen);
void		 sw_port_del(struct sw *, struct port *);
struct port	*sw_port_find(const struct sw *, const char *name);

/*
 * Drains up to SW_INPUT_BATCHES batches from a readable port.  Returns 0, or
 * the errno of a read that failed before anything was read: EBADFD means
 * the device is gone (a tap deleted under us) and will never read again.
 */
int		 sw_port_input(struct sw *, struct port *, time_t now);
/* Forwards one received batch and frees it. */
void		 sw_input(struct sw *, struct port *in, struct pkt_batch *,
		    time_t now);
/* Learns from and classifies one frame (exposed for unit tests). */
enum sw_verdict	 sw_decide(struct sw *, struct port *in, const struct pkt *,
		    time_t now, struct port **out, enum drop_reason *why);
/* Turns an offload switch on or off and tells every port. */
void		 sw_set_offload(struct sw *, enum offload, bool on);
/* Once a second: ages the MAC table and ticks the ports. */
void		 sw_tick(struct sw *, time_t now);
/*
 * Hands the switch's other sockets to the owner's event loop: those open
 * now and those opened later.  NULL unwatches them all.  0 or an errno.
 */
int		 sw_set_io(struct sw *, const struct io_hooks *);

#endif
