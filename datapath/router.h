/*
 * router.h - the L3 half of the datapath: IP forwarding between L3 ports.
 *
 * Packets from an L3 port (tun, ipip, gre) go to rtr_input() instead of the
 * L2 switch.  Each is validated (version, header length, checksum, total
 * length; a failure is counted under one drop reason of the ingress port),
 * looked up in the routing table of its family (route.h), has its TTL or hop
 * limit decremented (the IPv4 checksum updated incrementally, RFC 1624) and
 * is queued on the egress port.  What cannot be forwarded is answered with
 * an ICMP or ICMPv6 error where the RFCs allow one (icmp.c): Time Exceeded,
 * Destination Unreachable (no route: net / no route; reject route: host /
 * reject route), Fragmentation Needed or Packet Too Big with the egress MTU.
 * IPv4 packets without DF that exceed the egress MTU are fragmented.
 *
 * A packet may be a super-frame (p->vnet, gso.h) from a tun with offloads
 * or a tunnel's TCP GRO: its segments, not its length, meet the egress MTU,
 * it is never fragmented, and port_send() segments it for a port that does
 * not take it whole (l3-forward.c).
 *
 * The router's own addresses are those given to L3 ports ("address ADDR/LEN",
 * which also adds the connected route ADDR/LEN dev PORT, metric 0) and one
 * router-wide address per family.  Packets to them are answered locally:
 * echo requests get echo replies, UDP gets Port Unreachable (so traceroute
 * to the router ends), anything else is dropped as "local".  A layer above
 * may listen for UDP to one of these addresses and ports arriving on one L3
 * port (a tunnel carried "via" that port, rtr-udp.c): such datagrams go to
 * it instead, checked (UDP length, checksum) and stripped to their payload.
 * ICMP errors
 * come from the ingress port's address of the packet's family, else the
 * router-wide one, else the first port's address of that family.
 *
 * ICMP errors pass a token bucket (rate per second, burst) so the router
 * cannot be made to amplify a flood; echo replies are not limited (they are
 * never larger than the request).  The clock for it is read at most once per
 * batch, and only when a batch has an error to send.  Before the global
 * bucket, each error passes a bucket of the source it goes to (the burst
 * alike, 1/RTR_ICMP_SRC_SHARE of the rate), so that one flooder spends at
 * most that share of the global refill and another source still gets its
 * Packet Too Big.  The per-source buckets live in a small fixed table, sets
 * of RTR_ICMP_SRC_WAYS picked by a keyed hash of the address; a new source
 * takes the least recently used bucket of its set, full.  A flood from many
 * spoofed sources is what the global bucket is still there for.
 *
 * Like the switch, the router allocates nothing per packet: forwarded
 * packets move to the egress port's queue, fragments and errors come from the
 * switch's packet pool, and an L3 port's queue owns what is on it.
 */
#ifndef ROUTER_H
#define ROUTER_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <time.h>

#include "ip.h"
#include "pkt.h"
#include "port.h"
#include "route.h"

#define RTR_ICMP_RATE_DEFAULT	1000	/* errors per second */
#define RTR_ICMP_BURST_DEFAULT	50
#define RTR_MAX_LOCAL		260	/* addresses per family */
#define RTR_ICMP_SRC_SHARE	8	/* a source's part of the rate */
#define RTR_ICMP_SRC_SETS	32
#define RTR_ICMP_SRC_WAYS	4

/* The ICMP bucket of one source (the errors' destination). */
struct rtr_icmp_src {
	uint8_t		 family;	/* 0: free */
	uint8_t		 addr[16];
	uint64_t	 tokens;	/* 1/(1000 * RTR_ICMP_SRC_SHARE) */
	uint64_t	 last_ms;
};

struct dp;

/*
 * A listener for UDP to a router address and port that arrives on one L3
 * port, named (a port made again under that name keeps its listeners).
 * rx gets the payloads (owning them), each with its source address and
 * port in from[], at most PKT_BATCH_MAX at a time, once per batch routed.
 */
typedef void	(*rtr_udp_fn)(void *arg, struct pkt **pkts,
		    const struct sockaddr_storage *from, unsigned n,
		    time_t now);

struct rtr_udp_sink {
	char			 port[IFNAMSIZ];	/* the ingress port */
	struct sockaddr_storage	 local;		/* address and UDP port */
	rtr_udp_fn		 rx;
	void			*arg;
	/* The router's: what this batch brought. */
	unsigned		 n;
	struct pkt		*pkts[PKT_BATCH_MAX];
	struct sockaddr_storage	 from[PKT_BATCH_MAX];
	LIST_ENTRY(rtr_udp_sink) entry;
};

struct rtr_stats {
	uint64_t	forwarded;
	uint64_t	fragmented;	/* packets split */
	uint64_t	fragments;	/* fragments sent */
	uint64_t	local;		/* packets to the router's addresses */
	uint64_t	echo_replies;
	uint64_t	icmp_time_exceeded;
	uint64_t	icmp_unreachable;
	uint64_t	icmp_frag_needed;	/* and IPv6 Packet Too Big */
	uint64_t	icmp_ratelimited;	/* errors a bucket held back */
	uint64_t	icmp_no_source;	/* no address to send them from */
	uint64_t	icmp_no_route;	/* no route back to the source */
};

struct rtr {
	struct rt_table		*rt4;
	struct rt_table		*rt6;
	struct ip_prefix	 addr4;		/* router-wide, family 0: none */
	struct ip_prefix	 addr6;
	struct rtr_stats	 stats;
	uint16_t		 ip_id;		/* for the errors we originate */

	/* ICMP token bucket, in thousandths of a token. */
	unsigned		 icmp_rate;
	unsigned		 icmp_burst;
	uint64_t		 icmp_tokens;
	uint64_t		 icmp_last_ms;
	uint64_t		 batch_ms;	/* 0: not read in this batch */
	uint32_t		 icmp_seed;	/* of the per-source hash */
	struct rtr_icmp_src	 icmp_src[RTR_ICMP_SRC_SETS][RTR_ICMP_SRC_WAYS];

	/* Own addresses, sorted for bsearch; fallback error sources. */
	unsigned		 nlocal4, nlocal6;
	uint8_t			 local4[RTR_MAX_LOCAL][4];
	uint8_t			 local6[RTR_MAX_LOCAL][16];
	struct ip_prefix	 fallback4, fallback6;

	/* Local UDP listeners, and those with datagrams in this batch. */
	LIST_HEAD(, rtr_udp_sink) udp_sinks;
	unsigned		 nudp_active;
	struct rtr_udp_sink	*udp_active[2 * PKT_BATCH_MAX];	/* see rtr-udp.c */
	time_t			 now;		/* of the batch (dp_input()) */
};

struct rtr	*rtr_create(void);
void		 rtr_destroy(struct rtr *);
struct rt_table	*rtr_table(struct rtr *, int family);

/*
 * Configuration.  rtr_port_add() adds the connected routes of a new L3
 * port's addresses (0 or an errno from rt_add, with nothing added);
 * rtr_port_del() removes every route out of the port.  Both, and
 * rtr_set_address(), refresh the set of the router's own addresses.
 */
int		 rtr_port_add(struct dp *, struct port *);
void		 rtr_port_del(struct dp *, struct port *);
/* addr family 0 clears both router-wide addresses. */
void		 rtr_set_address(struct dp *, const struct ip_prefix *addr);
void		 rtr_set_icmp_limit(struct rtr *, unsigned rate,
		    unsigned burst);
bool		 rtr_is_local(const struct rtr *, int family,
		    const uint8_t *addr);

/*
 * Local UDP (rtr-udp.c).  rtr_udp_listen(): 0, or EADDRINUSE when a sink
 * of that port, address and UDP port listens already.  rtr_udp_unlisten()
 * frees what the sink holds.  rtr_udp_take() (l3-forward.c) is given each
 * UDP packet to a router address, its IP header of hlen bytes checked:
 * true when it consumed it (queued or dropped), false when no sink wants
 * it.  rtr_udp_flush() hands each sink its datagrams.
 */
int		 rtr_udp_listen(struct dp *, struct rtr_udp_sink *);
void		 rtr_udp_unlisten(struct dp *, struct rtr_udp_sink *);
bool		 rtr_udp_take(struct dp *, struct port *in, struct pkt *p,
		    unsigned hlen);
void		 rtr_udp_flush(struct dp *);

/*
 * Forwarding (l3-forward.c): routes one received batch and empties it,
 * each packet queued on its egress port (dp_enqueue()), answered (icmp.h)
 * or dropped.
 */
void		 rtr_input(struct dp *, struct port *in, struct pkt_batch *);

/*
 * IPv4 fragmentation (ip-frag.c): splits p (header valid, TTL already
 * set) into fragments of at most mtu bytes from pool, handing each to emit.
 * Returns the count, or 0 without emitting anything when the pool has too
 * few buffers.  p is left as it was.
 */
unsigned	 ip4_fragment(struct pkt_pool *, const struct pkt *p,
		    unsigned mtu, void (*emit)(struct pkt *, void *),
		    void *arg);

#endif
