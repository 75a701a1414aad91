/*
 * dp.h - the datapath: the object that owns what forwarding runs on.
 *
 * One struct dp holds the packet pools, the ports (added by type name from
 * the registry, port.h), the offload switches, the file descriptors to
 * watch and the one-second tick.  Two forwarding functions run over it:
 * the L2 switch (switch.h) for frames from L2 ports and the router
 * (router.h) for packets from L3 ports.  dp_input() hands a received batch
 * to the one of its port's layer.
 *
 * Output: a forwarding function queues each packet on its egress port with
 * dp_enqueue() and calls dp_flush() at the end of its batch, which sends
 * every queue that got something, once, in the order they first did.  An
 * L3 port's queue owns its packets (the router moves each to one port and
 * they are freed once sent); an L2 port's queue borrows them (the switch
 * may queue a flooded frame on many ports and frees its input batch after
 * dp_flush()).
 *
 * I/O: every descriptor, a tap's and a tunnel socket alike, is watched
 * through dp_watch(): the datapath hands each to the owner's event loop
 * through struct io_hooks (io.h), now or once dp_set_io() is called, so
 * ports may be added before the loop exists.  A port with an fd is watched
 * by dp_port_add() itself; a port type with other descriptors (a shared
 * socket, a listening socket) watches them with dp_watch().  A port whose
 * reads keep failing is paused until the next tick; one whose device is
 * gone (EBADFD) is not read again.
 *
 * Events: what a port wants the operator to know (its device is gone, UDP
 * GSO was refused) is pushed to the owner through dp_set_events() as it
 * happens, once, never polled for.
 *
 * Extensions: a layer above (the tunnels' shared UDP endpoints) keeps its
 * per-datapath state in a slot that dp_ext() creates on first use and
 * dp_destroy() destroys after the last port, so the datapath needs to know
 * nothing of it.
 *
 * The datapath knows nothing of event loops, the control socket or JSON.
 */
#ifndef DP_H
#define DP_H

#include <sys/queue.h>
#include <stdbool.h>
#include <time.h>

#include "io.h"
#include "offload.h"
#include "pkt.h"
#include "port.h"

#define DP_POOL_SIZE		1024
#define DP_LARGE_POOL_SIZE	256	/* super-frames, PKT_GSO_DATA_ROOM */
#define DP_MAX_PORTS		256
#define DP_INPUT_BATCHES	4	/* batches drained per readiness event */
#define DP_EXT_MAX		4
/* Readiness events in a row that brought only errors before a pause. */
#define DP_ERROR_RUN		64

TAILQ_HEAD(port_list, port);
struct dp_watch;
struct rtr;
struct sw;

/* What a port tells its owner (dp_port_event()); error is an errno or 0. */
enum port_event {
	PORT_EV_GONE,		/* the device was deleted: never read again */
	PORT_EV_READS_FAILING,	/* every read fails: read once a second */
	PORT_EV_GSO_FALLBACK,	/* UDP GSO refused: a datagram per message */
};

struct dp_events {
	void	 (*port)(void *ctx, struct port *, enum port_event, int error);
	/* Anything else a port type has to say, once, as a sentence. */
	void	 (*note)(void *ctx, struct port *, const char *msg);
	void	*ctx;
};

/* Per-datapath state of a layer above, created on first dp_ext(). */
struct dp_ext_class {
	const char	*name;
	void		*(*create)(struct dp *);	/* NULL: errno set */
	void		 (*destroy)(void *);
};

struct dp {
	struct port_list	 ports;
	unsigned		 nports;
	unsigned		 next_index;
	struct pkt_pool		*pool;
	struct pkt_pool		*large;		/* super-frames */
	struct offload_cfg	 ofl;		/* the offload switches */
	struct sw		*sw;		/* the L2 switch */
	struct rtr		*rtr;		/* the router */

	struct io_hooks		 io;		/* a copy; has_io: a loop */
	bool			 has_io;
	LIST_HEAD(, dp_watch)	 watches;
	const struct dp_events	*events;	/* NULL: nobody listens */

	struct {
		const struct dp_ext_class *cls;
		void			  *data;
	}			 ext[DP_EXT_MAX];

	/* Ports with packets queued in this batch, each once. */
	unsigned		 ntx;
	struct port		*tx[DP_MAX_PORTS];
};

/* Basics.  NULL with errno set. */
struct dp	*dp_create(void);
void		 dp_destroy(struct dp *);

/*
 * Ports.  dp_port_add() validates what the datapath owns (the name, the
 * type, the port count) and opens the port: 0 and the port, or an errno
 * with a message in err that quotes the bad value.  A port of that name
 * whose device is gone (dp_port_gone()) does not block the name: once the
 * new port is open, it replaces the old one, which is deleted.
 */
int		 dp_port_add(struct dp *, const struct port_config *,
		    struct port **, char *err, size_t errlen);
void		 dp_port_del(struct dp *, struct port *);
struct port	*dp_port_find(const struct dp *, const char *name);
/* Whether the port's device was deleted under it (its state is "gone"). */
bool		 dp_port_gone(const struct port *);
/*
 * A port type that opened its device anew (a tap whose device came back)
 * swaps fd in for port->fd: the old one is no longer watched (the caller
 * closes it), the new one is.  0 or an errno (fd is set all the same).
 */
int		 dp_port_set_fd(struct port *, int fd);

/*
 * Input.  dp_port_read() drains up to DP_INPUT_BATCHES batches from a port
 * with an fd: 0, or the errno of a read that failed before anything was
 * read (EBADFD: the device is gone).  dp_input() forwards one batch a port
 * received, by its layer, and frees it.
 */
int		 dp_port_read(struct dp *, struct port *, time_t now);
void		 dp_input(struct dp *, struct port *in, struct pkt_batch *,
		    time_t now);

/*
 * Output.  dp_enqueue() puts p on out's queue until dp_flush(); a full
 * queue is sent at once.
 */
static inline void	dp_enqueue(struct dp *, struct port *out,
			    struct pkt *p);
void		 dp_flush(struct dp *);
/* Sends out's queue now (dp_enqueue() on a full one). */
void		 dp_send(struct port *out);

/* Turns an offload switch on or off and tells every port. */
void		 dp_set_offload(struct dp *, enum offload, bool on);
/* Once a second: ages the MAC table, ticks the ports, resumes paused reads. */
void		 dp_tick(struct dp *, time_t now);
/*
 * Busy polling: the owner calls dp_poll(dp, true, now) on each turn of a
 * spin of its loop and dp_poll(dp, false, now) once when the spin ends;
 * each port with ops->poll reads what it has then.  Frames read.
 */
unsigned	 dp_poll(struct dp *, bool spinning, time_t now);

/*
 * I/O.  dp_set_io() hands every watched descriptor to io, now and as they
 * come (NULL: unwatches them all); 0 or an errno.  dp_watch() asks for
 * input(arg, now) whenever fd is readable: 0 and *w, or an errno.
 */
int		 dp_set_io(struct dp *, const struct io_hooks *);
int		 dp_watch(struct dp *, int fd, io_input_fn input, void *arg,
		    struct dp_watch **w);
/* The same for writability (a sender's queue to drain): until unwatched. */
int		 dp_watch_out(struct dp *, int fd, io_input_fn output,
		    void *arg, struct dp_watch **w);
void		 dp_unwatch(struct dp *, struct dp_watch *);

void		 dp_set_events(struct dp *, const struct dp_events *);
/* Tells the owner about port (which must be on a datapath). */
void		 dp_port_event(struct port *, enum port_event, int error);
void		 dp_port_note(struct port *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* The layer's state, created on first use: NULL with errno set. */
void		*dp_ext(struct dp *, const struct dp_ext_class *);
/* The same, never created: NULL when there is none yet. */
void		*dp_ext_find(const struct dp *, const struct dp_ext_class *);

/*
 * A port is listed in dp->tx once, when its queue goes from empty to one
 * packet; a queue sent early gets its next packet at once, so it is never
 * empty while listed.
 */
static inline void
dp_enqueue(struct dp *dp, struct port *out, struct pkt *p)
{
	if (out->txq.count == PKT_BATCH_MAX)
		dp_send(out);
	else if (out->txq.count == 0)
		dp->tx[dp->ntx++] = out;
	pkt_batch_add(&out->txq, p);
}

#endif
