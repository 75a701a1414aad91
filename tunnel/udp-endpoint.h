/*
 * udp-endpoint.h - the UDP sockets tunnels share, and demultiplexing.
 *
 * An endpoint is one UDP socket bound to a local address (or the wildcard
 * of one family) and port, and speaks one encapsulation (struct tnl_proto).
 * Every tunnel port on that address and port binds to the same endpoint
 * with its own key: remote address, VNI or GRE key (or none), and payload
 * (Ethernet or IP).  The first bind opens the endpoint, the last unbind
 * closes it; a bind with another encapsulation, or a key already bound, is
 * refused.  L2 ports (vxlan, gretap) and L3 ports alike bind here.
 *
 * The endpoints of a datapath live in its extension slot (dp.h), created
 * with the first tunnel port (udp_eps_get()).  Receiving: each socket is
 * watched through the datapath (dp_watch()), which calls back on readiness.  The endpoint
 * reads up to PKT_BATCH_MAX datagrams with one recvmmsg() into pool
 * buffers, checks each one's source, parses its header and pulls it off,
 * then hands each binding the batch of payloads it got, through its rx
 * function, which owns them from then on (it must free them).  A datagram
 * that fits no binding is freed and counted on the endpoint under one
 * tnl_drop reason, in this order: wrong_source (no binding has that remote:
 * its bytes are not even parsed), header errors, unknown_key (the remote's
 * bindings have other keys or payloads), wrong_source_port (the binding
 * takes only a range of the remote's UDP source ports, remote-port, and the
 * datagram came from another: forged, as the source address is easy to
 * forge but a sender with fixed source ports only sends from those).
 *
 * A binding may name its port: a capture of that port's underlay is shown
 * each datagram sorted to it, whole, from its source to the endpoint's
 * local address (the wildcard if the endpoint is bound to it), before the
 * binding sees it.  That costs one branch per datagram when there is none.
 * Datagrams that fit no binding belong to no port and are not shown.
 *
 * UDP GRO (udp-gro, udp_eps_set_gro()): the kernel may coalesce datagrams
 * of one sender into one read of up to 64 KiB (equal sizes, the last may be
 * shorter) and say the size in a UDP_GRO control message, so one recvmmsg()
 * brings up to PKT_BATCH_MAX such reads.  They are read into buffers of the
 * large pool and each datagram is copied out into an MTU-sized buffer (one
 * that does not fit is dropped as too_big, as it would be without GRO),
 * then goes the way of any other, in batches of at most PKT_BATCH_MAX.  A read
 * that says a size of 0 is dropped as bad_gro.
 *
 * ICMP: the socket ignores "fragmentation needed" and "packet too big"
 * (IP_PMTUDISC_OMIT): one quoting the endpoint's port would otherwise lower
 * the kernel's path MTU to the address it names (tnl-tx.h says how the
 * sending side weighs it).  Being unconnected, without IP_RECVERR, the
 * socket is told of no other ICMP error.
 *
 * An endpoint of tunnels carried by an L3 port (udp_ep_config.via) has no
 * socket: the router hands it the datagrams that arrive on that port for
 * its address and port (router.h, rtr_udp_listen()), and it demultiplexes
 * them as it would a socket's.  It is another endpoint than a socket's of
 * the same address and port, and its fd is -1.
 *
 * Lookup costs a hash of the source address and a walk of that remote's
 * bindings, usually one.  Only configured remotes are in the table, so a
 * sender cannot grow it or aim collisions into it.
 */
#ifndef UDP_ENDPOINT_H
#define UDP_ENDPOINT_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "datapath/pkt.h"

#include "tnl.h"

struct dp;
struct port;
struct udp_eps;			/* the endpoints of one datapath */
struct udp_ep;
struct udp_ep_bind;

/* Takes a batch of payloads (owning them) for the binding's arg. */
typedef void	(*udp_ep_rx_fn)(void *arg, struct pkt_batch *, time_t now);

struct udp_ep_config {
	const struct tnl_proto	*proto;
	struct sockaddr_storage	 local;		/* port set; may be wildcard */
	struct sockaddr_storage	 remote;	/* port ignored */
	bool			 has_key;
	uint32_t		 key;
	enum tnl_payload	 payload;
	udp_ep_rx_fn		 rx;
	void			*arg;
	const char		*name;		/* for messages; kept */
	struct port		*port;		/* for captures; may be NULL */
	const char		*via;		/* the L3 port; NULL: none */
	/* The remote's source ports, inclusive; max 0: any. */
	uint16_t		 sport_min;
	uint16_t		 sport_max;
};

struct udp_ep_stats {
	uint64_t	rx_packets;	/* datagrams, before any check */
	uint64_t	rx_bytes;
	uint64_t	rx_errors;	/* failed reads */
	uint64_t	gro_reads;	/* reads of several datagrams (UDP_GRO) */
	uint64_t	gro_datagrams;	/* the datagrams in them */
	uint64_t	drops[TNL_DROP__MAX];
};

struct udp_ep_info {
	const struct tnl_proto	*proto;
	struct sockaddr_storage	 local;
	const char		*via;		/* "": a socket */
	unsigned		 binds;
	bool			 gro;		/* UDP_GRO on the socket */
	struct udp_ep_stats	 stats;
};

/*
 * Basics.  The endpoints of dp, created on first use (NULL with errno
 * set); udp_eps_find() creates none (NULL: no tunnel port yet).  Datagrams
 * are read into buffers of dp->pool, or of dp->large (of PKT_GSO_DATA_ROOM)
 * when UDP GRO is on.  They go with the datapath, after its ports.
 */
struct udp_eps		*udp_eps_get(struct dp *);
struct udp_eps		*udp_eps_find(const struct dp *);
/* Turns UDP GRO on or off on every endpoint, now and as they open. */
void			 udp_eps_set_gro(struct udp_eps *, bool on);

/* 0 and *bp, or an errno with a message in err that quotes the value. */
int			 udp_ep_bind(struct udp_eps *,
			    const struct udp_ep_config *,
			    struct udp_ep_bind **bp, char *err, size_t errlen);
void			 udp_ep_unbind(struct udp_ep_bind *);
const struct udp_ep	*udp_ep_of(const struct udp_ep_bind *);

/* Walks the endpoints in the order they opened: start with NULL. */
const struct udp_ep	*udp_eps_next(const struct udp_eps *,
			    const struct udp_ep *);
void			 udp_ep_get_info(const struct udp_ep *,
			    struct udp_ep_info *);

/* The socket, as the owner is asked to watch it. */
int			 udp_ep_fd(const struct udp_ep *);
/*
 * What a read does with the datagrams it got, apart from the socket so that
 * a test or fuzz target can feed it bytes: pkts[i] holds a whole datagram
 * (no more than PKT_BATCH_MAX) from from[i]; each is counted, sorted to its
 * binding or dropped, and every binding then gets its batch.
 */
void			 udp_ep_deliver(struct udp_ep *, struct pkt **pkts,
			    const struct sockaddr_storage *from, unsigned n,
			    time_t now);
/*
 * The same for reads that may be coalesced: seg[i] is the datagram size
 * the UDP_GRO control message of pkts[i] said, or UDP_EP_WHOLE when there
 * was none.  n is at most PKT_BATCH_MAX; the datagrams are any number.
 */
#define UDP_EP_WHOLE	(-1)
void			 udp_ep_deliver_gro(struct udp_ep *, struct pkt **pkts,
			    const int *seg, const struct sockaddr_storage *from,
			    unsigned n, time_t now);
/*
 * The datagram size the UDP_GRO control message of a read says, as seg[i]
 * above: UDP_EP_WHOLE when there is none, 0 (a read to drop) when it is
 * negative.  Any reader of UDP GRO (the wireguard port too) asks here.
 */
int			 udp_ep_gro_size(struct msghdr *);
/*
 * A read as the socket's would make it, with the kernel played by the
 * caller (a fuzz target): reads[i] is one datagram (or coalesced read) of
 * len bytes, with its control messages (a UDP_GRO one says a datagram
 * size), from its sender.  Each is put in the endpoint's buffers as
 * recvmmsg() would: cut to the buffer with MSG_TRUNC, control cut to its
 * room (MSG_CTRUNC), and then goes the way of a real read's.  Returns how
 * many of the n were taken: fewer when the pool runs short (no more than
 * PKT_BATCH_MAX).
 */
struct udp_ep_kread {
	const uint8_t		*data;
	size_t			 len;
	const void		*control;
	size_t			 controllen;
	struct sockaddr_storage	 from;
};
unsigned		 udp_ep_read_from(struct udp_ep *,
			    const struct udp_ep_kread *reads, unsigned n,
			    time_t now);

#endif
