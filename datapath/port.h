/*
 * port.h - switch ports and the port-type vtable.
 *
 * A port is one place frames enter and leave the switch: a tap device, a
 * tunnel, or (in tests) a dummy that records what it is given.  Each port
 * type is a const struct port_ops; adding a type means one new file and one
 * line in port_types[] (port.c).
 *
 * Ports count everything they do in struct port_stats.  A frame that is not
 * delivered is always counted under exactly one drop reason, never lost
 * silently.
 */
#ifndef PORT_H
#define PORT_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "pkt.h"

enum drop_reason {
	DROP_RUNT,		/* shorter than an Ethernet header */
	DROP_BAD_SRC_MAC,	/* multicast/broadcast or all-zero source */
	DROP_SAME_PORT,		/* destination was learned on the ingress port */
	DROP_NO_BUFFER,		/* packet pool empty */
	DROP_TOO_BIG,		/* larger than the egress port can carry */
	DROP_TX_FULL,		/* device or socket queue full (EAGAIN) */
	DROP_TX_ERROR,		/* any other send error */
	DROP_LINK_DOWN,		/* device is down (EIO on a tap) */
	DROP__MAX
};

/* Names as printed by "vswctl stats" and used as JSON keys. */
extern const char *const drop_reason_names[DROP__MAX];

struct port_stats {
	uint64_t	rx_packets;
	uint64_t	rx_bytes;
	uint64_t	tx_packets;
	uint64_t	tx_bytes;
	uint64_t	rx_errors;	/* read errors from the device */
	uint64_t	tx_errors;	/* write errors to the device */
	uint64_t	drops[DROP__MAX];
};

/* What "port add NAME type T [options]" asked for, already parsed. */
struct port_config {
	char		 name[IFNAMSIZ];
	const char	*type;
	int		 mtu;		/* 0: the type's default */
};

struct port;

struct port_ops {
	const char	*type;
	/* Opens the device; on failure returns an errno and fills err. */
	int		 (*open)(struct port *, const struct port_config *,
			    char *err, size_t errlen);
	void		 (*close)(struct port *);
	/*
	 * Reads up to PKT_BATCH_MAX frames into b with buffers from pool.
	 * Returns the count (0 when the device has nothing more).
	 */
	unsigned	 (*recv_batch)(struct port *, struct pkt_pool *,
			    struct pkt_batch *b);
	/* Sends every packet of b, counting tx or a drop; frees nothing. */
	void		 (*send_batch)(struct port *, struct pkt_batch *b);
	/* "up", "down", ...: a short word for show. */
	const char	*(*state)(const struct port *);
};

struct port {
	char			 name[IFNAMSIZ];
	const struct port_ops	*ops;
	int			 fd;		/* -1 when the type has none */
	int			 mtu;
	unsigned		 index;		/* stable number, 1-based */
	struct port_stats	 stats;
	struct pkt_batch	 txq;		/* frames gathered for output */
	void			*priv;		/* the type's own state */
	TAILQ_ENTRY(port)	 entry;
};

const struct port_ops	*port_ops_find(const char *type);
/* Comma-separated list of known types, for error messages. */
const char		*port_type_names(void);

static inline void
port_drop(struct port *p, enum drop_reason why)
{
	p->stats.drops[why]++;
}

/* What a frame may carry beyond the MTU: an Ethernet header and one tag. */
#define PORT_L2_OVERHEAD	18

/* Whether a frame of len bytes fits the port's MTU (else DROP_TOO_BIG). */
static inline bool
port_frame_fits(const struct port *p, uint32_t len)
{
	return len <= (uint32_t)p->mtu + PORT_L2_OVERHEAD;
}

extern const struct port_ops port_tap_ops;
extern const struct port_ops port_dummy_ops;

#endif
