/*
 * port.h - switch ports, the port-type vtable and the registry of types.
 *
 * A port is one place frames enter and leave the datapath: a tap device, a
 * tunnel, or (in tests) a dummy that records what it is given.  Each port
 * type is a const struct port_ops in its own file, registered by name with
 * port_type_register() at start-up; the registry knows no type by itself,
 * so adding one means one new file and one registration line.  A class of
 * several types (the tunnels: one per encapsulation and payload) registers
 * one port_ops per type, with what tells them apart in ops->cls.
 *
 * A port type is of one layer.  L2 ports (tap) carry Ethernet frames and
 * belong to the switch: they learn and are flooded to.  L3 ports (tun, the
 * IP tunnels) carry bare IPv4 and IPv6 packets and belong to the router
 * (router.h): they never see a frame of the switch, nor it a packet of
 * theirs.  Only L3 ports have addresses.
 *
 * Ports count everything they do in struct port_stats.  A frame that is not
 * delivered is always counted under exactly one drop reason, never lost
 * silently.
 *
 * A port lives on one datapath (port->dp, dp.h), which reads a port with an
 * fd through recv_batch when it is readable.  A port without one (a tunnel,
 * whose packets arrive on a socket shared with other ports) hands what it
 * receives to dp_input() itself, and watches its own descriptors with
 * dp_watch().
 *
 * Captures see a port through struct port_hook, which the datapath calls
 * but does not implement (the daemon's capture module does).  The datapath
 * hands each batch it receives from a port to port_capture(), sends through
 * port_send(), which shows the batch first, and dp_port_del() tells the
 * hook the port is going.  A
 * tunnel type (ops->outer) also hands port_capture_outer() every datagram it
 * sends or receives on the underlay, with the addresses the kernel puts in
 * the outer headers.  A port without a capture has hook NULL: capture costs
 * it one branch per batch.  A capture's link type follows ops->layer:
 * Ethernet for L2 ports, raw IP for L3 ports and for the underlay.
 */
#ifndef PORT_H
#define PORT_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <time.h>

#include "gso.h"
#include "ip.h"
#include "offload.h"
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
	DROP_SPLIT_HORIZON,	/* split-horizon port to split-horizon port */
	DROP_BAD_VERSION,	/* IP version neither 4 nor 6 */
	DROP_TRUNCATED,		/* shorter than its IP header or length */
	DROP_BAD_LENGTH,	/* IPv4 header or total length impossible */
	DROP_BAD_CHECKSUM,	/* IPv4 header (or ICMP to us) checksum */
	DROP_BAD_ADDRESS,	/* martian source or destination */
	DROP_MULTICAST,		/* multicast or broadcast: not routed */
	DROP_TTL_EXCEEDED,	/* TTL or hop limit ran out */
	DROP_NO_ROUTE,		/* no route, or its gateway unresolved */
	DROP_REJECT,		/* matched a reject route */
	DROP_LOCAL,		/* to the router, and nothing it answers */
	DROP_BAD_OFFLOAD,	/* offload state (vnet header) impossible to honour */
	DROP_MAC_LIMIT,		/* a new source MAC beyond the port's mac-limit */
	DROP_LOCKED,		/* locked port: source MAC not static on it */
	DROP_MOVE_REFUSED,	/* tunnel frame claiming a MAC live on a local port */
	DROP_BAD_INNER_SOURCE,	/* L3 tunnel: inner source not in allowed-ips */
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
	uint64_t	rx_gso;		/* super-frames received whole */
	uint64_t	tx_gso;		/* super-frames sent whole */
	uint64_t	tx_segmented;	/* super-frames segmented for the port */
	uint64_t	drops[DROP__MAX];
};

/*
 * The settings of struct port_config beyond name and type; a port type
 * lists in port_ops.settings those it reads, and any other given is refused
 * (port_check_config()).  port_setting_names[] has the word of each.
 */
#define PORT_SET_MTU		0x01
#define PORT_SET_REMOTE		0x02
#define PORT_SET_LOCAL		0x04
#define PORT_SET_DSTPORT	0x08
#define PORT_SET_VNI		0x10	/* key, as a VXLAN VNI */
#define PORT_SET_KEY		0x20	/* key, as a GRE key */
#define PORT_SET_SPLIT_HORIZON	0x40
#define PORT_SET_ADDRESS	0x80	/* addr4, addr6 (L3 ports) */
#define PORT_SET_PATH		0x100	/* a socket to listen on */
#define PORT_SET_CONNECT	0x200	/* a socket to connect to (in path) */
#define PORT_SET_GROUP		0x400	/* the group of a socket we make */
#define PORT_SET_MIN_MTU	0x800	/* floor of a tunnel's path MTU */
#define PORT_SET_PRIVATE_KEY	0x1000	/* a key file (wireguard) */
#define PORT_SET_LISTEN_PORT	0x2000	/* our UDP port (wireguard) */
#define PORT_SET_VIA		0x4000	/* a tunnel carried by an L3 port */
#define PORT_SET_REMOTE_PORT	0x8000	/* the remote's UDP source ports */
#define PORT_SET_ALLOWED_IPS	0x10000	/* inner sources an L3 tunnel takes */
#define PORT_SET__COUNT		17

/* "mtu", "remote", ... in bit order, as "port add" takes them. */
extern const char *const port_setting_names[PORT_SET__COUNT];

enum port_split_horizon {
	PORT_SH_DEFAULT,	/* the type's: on for tunnels, off for taps */
	PORT_SH_ON,
	PORT_SH_OFF,
};

#define PORT_ALLOWED_MAX	64	/* allowed-ips of an L3 tunnel */

/*
 * What "port add NAME type T [options]" asked for, already parsed; zero
 * means "not given" throughout.
 */
struct port_config {
	char			 name[IFNAMSIZ];
	const char		*type;
	unsigned		 given;		/* PORT_SET_* given */
	int			 mtu;		/* 0: the type's default */
	enum port_split_horizon	 split_horizon;
	/* Tunnels.  ss_family is AF_UNSPEC for an address not given. */
	struct sockaddr_storage	 remote;
	struct sockaddr_storage	 local;
	uint16_t		 dstport;	/* 0: the encapsulation's */
	bool			 has_key;
	uint32_t		 key;		/* VNI or GRE key */
	/* L3 ports: the router's addresses on them; family 0: none. */
	struct ip_prefix	 addr4;
	struct ip_prefix	 addr6;
	/* Socket ports: where, which way, and for whom. */
	char			 path[108];	/* sun_path; "" when not given */
	bool			 connect;	/* path is the peer's, not ours */
	bool			 has_group;
	unsigned		 group;		/* gid */
	/* Tunnels: the path MTU believed whatever ICMP says; 0: none. */
	int			 min_mtu;
	/* WireGuard: the private key's file, the UDP port to listen on. */
	char			 key_path[256];
	uint16_t		 listen_port;
	/* Tunnels: the L3 port that carries the outer packets ("" none). */
	char			 via[IFNAMSIZ];
	/* Tunnels: the source ports the remote sends from, inclusive. */
	uint16_t		 remote_port_min;
	uint16_t		 remote_port_max;
	/* L3 tunnels: the inner sources taken from the remote. */
	struct ip_prefix	 allowed[PORT_ALLOWED_MAX];
	unsigned		 n_allowed;
};

enum port_layer {
	PORT_L2,		/* Ethernet frames, switched */
	PORT_L3,		/* IP packets, routed */
};

struct dp;
struct dp_watch;
struct port;
struct pkt_pool;

enum port_dir {
	PORT_DIR_RX,		/* from the port into the switch */
	PORT_DIR_TX,		/* from the switch out of the port */
};

/*
 * One underlay datagram of a tunnel port.  The kernel builds its IP header
 * (and UDP header when proto is IPPROTO_UDP) from the socket addresses, so
 * a capture synthesizes them from src and dst; what follows them is hdr
 * (the tunnel header, if apart: hlen may be 0) and then data.  src and dst
 * are both sockaddr_in or both sockaddr_in6; a wildcard local address is
 * passed as it is bound (0.0.0.0 or ::).
 */
struct port_outer {
	const struct sockaddr	*src;
	const struct sockaddr	*dst;
	uint8_t			 proto;	/* IPPROTO_UDP, IPPROTO_GRE, ... */
	const uint8_t		*hdr;
	size_t			 hlen;
	const uint8_t		*data;
	size_t			 len;
};

struct port_hook {
	/* A batch received (before forwarding) or to be sent (before send_batch). */
	void	(*frames)(struct port_hook *, struct port *, enum port_dir,
		    const struct pkt_batch *);
	/* One datagram on a tunnel port's underlay. */
	void	(*outer)(struct port_hook *, struct port *, enum port_dir,
		    const struct port_outer *);
	/* The port is being deleted; the hook must let go of it. */
	void	(*gone)(struct port_hook *, struct port *);
};

struct port_ops {
	const char	*type;
	enum port_layer	 layer;
	/* Opens the device; on failure returns an errno and fills err. */
	int		 (*open)(struct port *, const struct port_config *,
			    char *err, size_t errlen);
	void		 (*close)(struct port *);
	/*
	 * Reads up to PKT_BATCH_MAX frames into b with buffers from pool.
	 * Returns the count (0 when the device has nothing more); a read
	 * that fails other than with EAGAIN leaves its errno in rx_error.
	 */
	unsigned	 (*recv_batch)(struct port *, struct pkt_pool *,
			    struct pkt_batch *b);
	/* Sends every packet of b, counting tx or a drop; frees nothing. */
	void		 (*send_batch)(struct port *, struct pkt_batch *b);
	/*
	 * "up", "down", ...: a short word for show.  "gone" is the word of
	 * a port whose device was deleted under it: port add of its name
	 * replaces it (dp_port_add()).
	 */
	const char	*(*state)(const struct port *);
	/* Optional: why the state is what it is ("device deleted"), or NULL. */
	const char	*(*state_why)(const struct port *);
	/* Optional: a line of what port show tells of the device, or NULL. */
	const char	*(*detail)(const struct port *);
	/* Optional: called once a second. */
	void		 (*tick)(struct port *, time_t now);
	/* Optional: dp->ofl changed; apply it and update port->takes. */
	void		 (*set_offloads)(struct port *);
	/*
	 * Optional: the owner's loop is busy polling (spinning true, once per
	 * turn of the spin) or has stopped (false, once).  A port whose peer
	 * can be told not to notify (a vhost-user guest) reads its input here
	 * while the loop spins, and asks for notifications again when it
	 * stops.  Returns the frames it read: traffic that prolongs the spin.
	 */
	unsigned	 (*poll)(struct port *, bool spinning, time_t now);
	unsigned	 settings;	/* PORT_SET_* it accepts */
	bool		 split_horizon;	/* its default */
	/* Calls port_capture_outer() for its underlay datagrams. */
	bool		 outer;
	/* The class's own: what tells apart the types one file registers. */
	const void	*cls;
};

/*
 * A port that carries another's traffic (a tunnel "via" an L3 port) is
 * used by it: the user links a struct port_user on the carrier with
 * port_use().  dp_port_del() of the carrier unlinks every user and calls
 * its gone() first, so no user keeps a pointer to a port that is freed;
 * the control plane refuses to delete a port that has users.
 */
struct port_user {
	struct port		*port;		/* the user, for messages */
	struct port		*used;		/* the carrier; NULL: none */
	void			 (*gone)(struct port_user *);
	LIST_ENTRY(port_user)	 entry;
};

struct port {
	char			 name[IFNAMSIZ];
	const struct port_ops	*ops;
	int			 fd;		/* -1 when the type has none */
	int			 mtu;
	unsigned		 index;		/* stable number, 1-based */
	int			 rx_error;	/* see recv_batch */
	struct ip_prefix	 addr4;		/* the router's, on L3 ports */
	struct ip_prefix	 addr6;
	struct port_stats	 stats;
	/*
	 * A frame from a split-horizon port is never sent out of another
	 * split-horizon port: tunnels in a full mesh do not loop.
	 */
	bool			 split_horizon;
	unsigned		 takes;		/* PORT_TAKES_*, offload.h */
	struct pkt_batch	 txq;		/* frames gathered for output */
	void			*priv;		/* the type's own state */
	struct dp		*dp;		/* NULL for a port alone (tests) */
	struct port_hook	*hook;		/* captures; NULL when none */
	/*
	 * What it was added with (type pointing at ops->type), kept so the
	 * control plane can write the port back ("vswctl save") and tell
	 * whether a reloaded config changes it.
	 */
	struct port_config	 cfg;
	/* The ports carried by this one (struct port_user). */
	LIST_HEAD(, port_user)	 users;
	/* The datapath's watch of fd, and its record of failed reads. */
	struct dp_watch		*watch;
	unsigned		 error_run;	/* events with errors only */
	bool			 warned;	/* once per bad spell */
	TAILQ_ENTRY(port)	 entry;
	/*
	 * Port security, what the switch checks of the frames the port
	 * brings ("port set"); all zero, the default, checks nothing.
	 */
	struct port_sec {
		bool		 no_learning;	/* learns no source MAC */
		bool		 locked;	/* only static FDB sources send */
		unsigned	 mac_limit;	/* learned entries; 0: any */
	}			 sec;
};

/*
 * The registry.  0, or EEXIST for another type of that name, ENOSPC when
 * full; registering the same ops again does nothing.
 */
int			 port_type_register(const struct port_ops *);
const struct port_ops	*port_ops_find(const char *type);
/* recv_batch of a type whose frames do not come through an fd. */
unsigned		 port_recv_none(struct port *, struct pkt_pool *,
			    struct pkt_batch *);
/* Comma-separated list of known types, for error messages. */
const char		*port_type_names(void);
/* Fills err from fmt and returns error, so that a type's open returns it. */
int			 port_err(char *err, size_t errlen, int error,
			    const char *fmt, ...)
			    __attribute__((format(printf, 4, 5)));
/*
 * Whether the kernel takes name for an interface; name is NUL-terminated
 * or size bytes long: 0, or EINVAL with a message that quotes it.
 */
int			 port_name_check(const char *name, size_t size,
			    char *err, size_t errlen);
/*
 * What every type shares of the config: settings the type does not take
 * and addresses on an L2 port are refused.  0, or EINVAL with a message.
 */
int			 port_check_config(const struct port_ops *,
			    const struct port_config *, char *err,
			    size_t errlen);

/* Links u (u->port, u->gone set) on used, or unlinks it (NULL: none). */
static inline void
port_use(struct port *used, struct port_user *u)
{
	u->used = used;
	LIST_INSERT_HEAD(&used->users, u, entry);
}

static inline void
port_unuse(struct port_user *u)
{
	if (u->used == NULL)
		return;
	LIST_REMOVE(u, entry);
	u->used = NULL;
}

static inline void
port_drop(struct port *p, enum drop_reason why)
{
	p->stats.drops[why]++;
}

static inline bool
port_is_l3(const struct port *p)
{
	return p->ops->layer == PORT_L3;
}

/*
 * Whether the port's frames come from across an underlay (a tunnel): the
 * switch does not let such a frame take a MAC a local port sent from just
 * now (switch.h).
 */
static inline bool
port_is_remote(const struct port *p)
{
	return p->ops->outer;
}

/* How the offload code (inet.h) parses the port's frames. */
static inline enum inet_link
port_link(const struct port *p)
{
	return port_is_l3(p) ? INET_L3 : INET_L2;
}

/* The longest frame p stands for on the wire: a segment of a super-frame. */
static inline uint32_t
port_wire_len(const struct port *port, const struct pkt *p)
{
	if (p->vnet.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return p->len;
	return gso_wire_len(p, port_link(port));
}

static inline void
port_capture(struct port *p, enum port_dir dir, const struct pkt_batch *b)
{
	if (p->hook != NULL && b->count > 0)
		p->hook->frames(p->hook, p, dir, b);
}

/*
 * The PORT_TAKES_* a frame needs of a port to go out as it is: the GSO type
 * of a super-frame (PORT_TAKES_NEVER for one no port takes: UFO, unknown)
 * and CSUM for a checksum still owed.
 */
#define PORT_TAKES_NEVER	0x80000000u

static inline unsigned
port_needs(const struct pkt *p)
{
	unsigned	need = 0;

	switch (p->vnet.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		need = PORT_TAKES_TSO4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		need = PORT_TAKES_TSO6;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		need = PORT_TAKES_USO;
		break;
	default:
		need = PORT_TAKES_NEVER;
		break;
	}
	if (p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		need |= PORT_TAKES_CSUM;
	return need;
}

/*
 * Whether the frame owes work the port does not take.  An ordinary frame
 * (the common case) costs one test of two bytes.
 */
static inline bool
port_owes(const struct port *port, const struct pkt *p)
{
	if (__builtin_expect(((p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) |
	    p->vnet.gso_type) == 0, 1))
		return false;
	return (port_needs(p) & ~port->takes) != 0;
}

/*
 * Sends b out of the port, shown first to its captures.  Frames that owe
 * what the port does not take are finished in software first (port-send.c):
 * checksums completed in place, super-frames segmented into dp->pool
 * buffers, in order.  b's frames stay the caller's.
 */
void	port_send(struct port *, struct pkt_batch *b);

static inline void
port_capture_outer(struct port *p, enum port_dir dir,
    const struct port_outer *o)
{
	if (p->hook != NULL)
		p->hook->outer(p->hook, p, dir, o);
}

/* What a frame may carry beyond the MTU: an Ethernet header and one tag. */
#define PORT_L2_OVERHEAD	18

/* Whether a frame or packet fits the port's MTU (else DROP_TOO_BIG). */
static inline bool
port_frame_fits(const struct port *p, uint32_t len)
{
	return len <= (uint32_t)p->mtu + (port_is_l3(p) ? 0 : PORT_L2_OVERHEAD);
}

#endif
