/*
 * udp-endpoint.c - shared tunnel sockets: open, bind, receive, demultiplex.
 *
 * Datagrams are read TNL_HDR_MAX bytes before each buffer's data, so that
 * once the header is pulled the payload starts at or before the usual
 * offset and a full-size inner frame still fits the buffer.  A binding's
 * payloads are gathered in its rxq and handed over once per batch, after
 * the whole batch is sorted: a binding appears at most once in active[],
 * and an rxq never holds more than a batch.  Datagrams split out of
 * coalesced reads are gathered in chunk[] and delivered a batch at a time.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datapath/dp.h"
#include "datapath/port.h"
#include "datapath/router.h"

#include "tnl-addr.h"
#include "udp-endpoint.h"

#define UDP_EP_BUCKETS	64		/* remotes hash, a power of two */
#define UDP_EP_ROUNDS	4		/* batches read per readiness event */
#define UDP_EP_RCVBUF	(4 << 20)	/* bursts of full-size frames */
#define UDP_EP_SLACK	TNL_HDR_MAX

#ifndef UDP_GRO
#define UDP_GRO		104
#endif

/* A UDP_GRO control message. */
union udp_ep_cmsg {
	char		buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr	align;
};

struct udp_ep_bind {
	struct udp_ep			*ep;
	struct udp_ep_remote		*remote;
	bool				 has_key;
	uint32_t			 key;
	enum tnl_payload		 payload;
	udp_ep_rx_fn			 rx;
	void				*arg;
	const char			*name;
	struct port			*port;		/* captures, or NULL */
	uint16_t			 sport_min;	/* max 0: any */
	uint16_t			 sport_max;
	struct pkt_batch		 rxq;
	LIST_ENTRY(udp_ep_bind)		 entry;
};

/* One remote address and the bindings that have it. */
struct udp_ep_remote {
	struct sockaddr_storage		 addr;
	LIST_HEAD(, udp_ep_bind)	 binds;
	LIST_ENTRY(udp_ep_remote)	 entry;
};

struct udp_ep {
	struct udp_eps			*eps;
	const struct tnl_proto		*proto;
	struct sockaddr_storage		 local;
	int				 fd;		/* -1: carried by via */
	char				 via[IFNAMSIZ];	/* "": a socket */
	struct rtr_udp_sink		 sink;		/* with via */
	bool				 gro;		/* UDP_GRO is on */
	struct dp_watch			*watch;
	unsigned			 nbinds;
	struct udp_ep_stats		 stats;
	LIST_HEAD(, udp_ep_remote)	 remotes[UDP_EP_BUCKETS];
	unsigned			 nactive;
	struct udp_ep_bind		*active[PKT_BATCH_MAX];
	/* recvmmsg() state, kept here to stay off the stack. */
	struct mmsghdr			 msgs[PKT_BATCH_MAX];
	struct iovec			 iov[PKT_BATCH_MAX];
	struct sockaddr_storage		 from[PKT_BATCH_MAX];
	struct pkt			*pkts[PKT_BATCH_MAX];
	union udp_ep_cmsg		 cmsg[PKT_BATCH_MAX];
	int				 seg[PKT_BATCH_MAX];
	/* Datagrams split out of coalesced reads, to be delivered. */
	unsigned			 nchunk;
	struct pkt			*chunk[PKT_BATCH_MAX];
	struct sockaddr_storage		 chunk_from[PKT_BATCH_MAX];
	TAILQ_ENTRY(udp_ep)		 entry;
};

static void	udp_ep_input(void *, time_t);

struct udp_eps {
	struct dp			*dp;
	struct pkt_pool			*pool;
	struct pkt_pool			*large;
	bool				 gro;
	uint32_t			 seed;
	TAILQ_HEAD(, udp_ep)		 eps;
};

static void *
udp_eps_create(struct dp *dp)
{
	struct udp_eps	*eps;

	if ((eps = calloc(1, sizeof(*eps))) == NULL)
		return NULL;
	eps->dp = dp;
	eps->pool = dp->pool;
	eps->large = dp->large;
	eps->gro = dp->ofl.on[OFL_UDP_GRO];
	eps->seed = arc4random();
	TAILQ_INIT(&eps->eps);
	return eps;
}

/* Every binding is gone with the ports, so every endpoint is closed. */
static void
udp_eps_destroy(void *eps)
{
	free(eps);
}

static const struct dp_ext_class udp_eps_class = {
	.name		= "udp-endpoints",
	.create		= udp_eps_create,
	.destroy	= udp_eps_destroy,
};

struct udp_eps *
udp_eps_get(struct dp *dp)
{
	return dp_ext(dp, &udp_eps_class);
}

struct udp_eps *
udp_eps_find(const struct dp *dp)
{
	return dp_ext_find(dp, &udp_eps_class);
}

/*
 * Bigger than the default (about 200 KiB, a hundred-odd full-size
 * datagrams) so that a burst at line rate does not overflow while the loop
 * is busy elsewhere; best effort: FORCE passes net.core.rmem_max, with
 * CAP_NET_ADMIN only.
 */
static void
udp_ep_rcvbuf(int fd)
{
	int	size = UDP_EP_RCVBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
	    sizeof(size)) == -1)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/*
 * The endpoint sends nothing, but the kernel takes an ICMP "fragmentation
 * needed" or "packet too big" quoting its address and port as news of the
 * path to whatever address the ICMP names, and lowers the path MTU of
 * every socket to it for ten minutes: anyone can forge one.  OMIT makes
 * the kernel ignore those that reach this socket.
 */
static int
udp_ep_pmtudisc(int fd, int family)
{
	int	v;

	if (family == AF_INET6) {
		v = IPV6_PMTUDISC_OMIT;
		return setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v,
		    sizeof(v)) == -1 ? errno : 0;
	}
	v = IP_PMTUDISC_OMIT;
	return setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v)) ==
	    -1 ? errno : 0;
}

/* Without UDP_GRO (an old kernel) the endpoint reads datagram by datagram. */
static void
udp_ep_set_gro(struct udp_ep *ep, bool on)
{
	int	v = on;

	if (setsockopt(ep->fd, SOL_UDP, UDP_GRO, &v, sizeof(v)) == -1)
		on = false;
	ep->gro = on;
}

void
udp_eps_set_gro(struct udp_eps *eps, bool on)
{
	struct udp_ep	*ep;

	eps->gro = on;
	TAILQ_FOREACH(ep, &eps->eps, entry)
		if (ep->fd >= 0 && ep->gro != on)
			udp_ep_set_gro(ep, on);
}

/* The router hands the endpoint what its via port brought. */
static void
udp_ep_sink_rx(void *arg, struct pkt **pkts,
    const struct sockaddr_storage *from, unsigned n, time_t now)
{
	udp_ep_deliver(arg, pkts, from, n, now);
}

/*
 * An endpoint of a tunnel carried by an L3 port has no socket: the router
 * gives it the datagrams that arrive on that port for its address and port
 * (rtr-udp.c), so it is no host address and binds nothing.
 */
static struct udp_ep *
udp_ep_open_via(struct udp_eps *eps, const struct tnl_proto *proto,
    const struct sockaddr_storage *local, const char *via, char *err,
    size_t errlen)
{
	struct udp_ep	*ep;
	char		 a[TNL_ADDR_STRLEN];
	int		 error;

	if ((ep = calloc(1, sizeof(*ep))) == NULL) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	ep->eps = eps;
	ep->proto = proto;
	ep->local = *local;
	ep->fd = -1;
	snprintf(ep->via, sizeof(ep->via), "%s", via);
	for (int i = 0; i < UDP_EP_BUCKETS; i++)
		LIST_INIT(&ep->remotes[i]);
	snprintf(ep->sink.port, sizeof(ep->sink.port), "%s", via);
	ep->sink.local = *local;
	ep->sink.rx = udp_ep_sink_rx;
	ep->sink.arg = ep;
	if ((error = rtr_udp_listen(eps->dp, &ep->sink)) != 0) {
		snprintf(err, errlen, "cannot listen on %s via %s: %s",
		    tnl_addr_str(local, true, a), via, strerror(error));
		free(ep);
		errno = error;
		return NULL;
	}
	TAILQ_INSERT_TAIL(&eps->eps, ep, entry);
	return ep;
}

static struct udp_ep *
udp_ep_open(struct udp_eps *eps, const struct tnl_proto *proto,
    const struct sockaddr_storage *local, char *err, size_t errlen)
{
	struct udp_ep	*ep;
	char		 a[TNL_ADDR_STRLEN];
	int		 on = 1, error;

	if ((ep = calloc(1, sizeof(*ep))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ep->eps = eps;
	ep->proto = proto;
	ep->local = *local;
	for (int i = 0; i < UDP_EP_BUCKETS; i++)
		LIST_INIT(&ep->remotes[i]);
	tnl_addr_str(local, true, a);
	ep->fd = socket(local->ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (ep->fd == -1) {
		error = errno;
		snprintf(err, errlen, "cannot open a socket for %s: %s", a,
		    strerror(error));
		goto free_ep;
	}
	/* [::]:4789 and 0.0.0.0:4789 are two endpoints, not one. */
	if (local->ss_family == AF_INET6 && setsockopt(ep->fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1) {
		error = errno;
		snprintf(err, errlen, "%s: IPV6_V6ONLY: %s", a, strerror(error));
		goto close_fd;
	}
	if ((error = udp_ep_pmtudisc(ep->fd, local->ss_family)) != 0) {
		snprintf(err, errlen, "%s: cannot ignore forged ICMP "
		    "(IP_PMTUDISC_OMIT): %s", a, strerror(error));
		goto close_fd;
	}
	udp_ep_rcvbuf(ep->fd);
	/*
	 * An address the network has not configured yet (at boot) binds all
	 * the same, and receives once it is there (tnl-local.h).  IP_FREEBIND
	 * is also IPv6 sockets' (IPV6_FREEBIND only names it).
	 */
	if (!tnl_addr_is_any(local) && setsockopt(ep->fd, IPPROTO_IP,
	    IP_FREEBIND, &on, sizeof(on)) == -1) {
		error = errno;
		snprintf(err, errlen, "%s: IP_FREEBIND: %s", a, strerror(error));
		goto close_fd;
	}
	if (bind(ep->fd, (const struct sockaddr *)local,
	    tnl_addr_len(local)) == -1) {
		error = errno;
		if (error == EADDRNOTAVAIL)
			snprintf(err, errlen, "local address %s is not on this "
			    "host", tnl_addr_str(local, false, a));
		else
			snprintf(err, errlen, "cannot bind %s: %s", a,
			    strerror(error));
		goto close_fd;
	}
	if (eps->gro)
		udp_ep_set_gro(ep, true);
	if ((error = dp_watch(eps->dp, ep->fd, udp_ep_input, ep,
	    &ep->watch)) != 0) {
		snprintf(err, errlen, "cannot watch %s: %s", a,
		    strerror(error));
		goto close_fd;
	}
	TAILQ_INSERT_TAIL(&eps->eps, ep, entry);
	return ep;

close_fd:
	close(ep->fd);
free_ep:
	free(ep);
	errno = error;
	return NULL;
}

static void
udp_ep_close(struct udp_ep *ep)
{
	if (ep->fd >= 0) {
		dp_unwatch(ep->eps->dp, ep->watch);
		close(ep->fd);
	} else
		rtr_udp_unlisten(ep->eps->dp, &ep->sink);
	TAILQ_REMOVE(&ep->eps->eps, ep, entry);
	free(ep);
}

static struct udp_ep *
udp_ep_find(const struct udp_eps *eps, const struct sockaddr_storage *local,
    const char *via)
{
	struct udp_ep	*ep;

	TAILQ_FOREACH(ep, &eps->eps, entry)
		if (tnl_addr_equal(&ep->local, local) &&
		    tnl_addr_port(&ep->local) == tnl_addr_port(local) &&
		    strcmp(ep->via, via) == 0)
			return ep;
	return NULL;
}

static struct udp_ep_remote *
udp_ep_remote_find(const struct udp_ep *ep, const struct sockaddr_storage *a)
{
	struct udp_ep_remote	*r;
	uint32_t		 h = tnl_addr_hash(a, ep->eps->seed);

	LIST_FOREACH(r, &ep->remotes[h & (UDP_EP_BUCKETS - 1)], entry)
		if (tnl_addr_equal(&r->addr, a))
			return r;
	return NULL;
}

static bool
udp_ep_bind_matches(const struct udp_ep_bind *b, bool has_key, uint32_t key,
    enum tnl_payload payload)
{
	return b->payload == payload && b->has_key == has_key &&
	    (!has_key || b->key == key);
}

/* Finds or makes the remote; refuses a key that is bound already. */
static int
udp_ep_remote_get(struct udp_ep *ep, const struct udp_ep_config *cfg,
    struct udp_ep_remote **rp, char *err, size_t errlen)
{
	struct udp_ep_remote	*r;
	struct udp_ep_bind	*b;
	char			 a[TNL_ADDR_STRLEN], k[32] = "";
	uint32_t		 h;

	if ((r = udp_ep_remote_find(ep, &cfg->remote)) != NULL) {
		LIST_FOREACH(b, &r->binds, entry) {
			if (!udp_ep_bind_matches(b, cfg->has_key, cfg->key,
			    cfg->payload))
				continue;
			if (cfg->has_key)
				snprintf(k, sizeof(k), " %s %u",
				    ep->proto->key_name, cfg->key);
			snprintf(err, errlen, "port %s already tunnels to %s%s",
			    b->name, tnl_addr_str(&cfg->remote, false, a), k);
			return EEXIST;
		}
		*rp = r;
		return 0;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	r->addr = cfg->remote;
	LIST_INIT(&r->binds);
	h = tnl_addr_hash(&r->addr, ep->eps->seed);
	LIST_INSERT_HEAD(&ep->remotes[h & (UDP_EP_BUCKETS - 1)], r, entry);
	*rp = r;
	return 0;
}

int
udp_ep_bind(struct udp_eps *eps, const struct udp_ep_config *cfg,
    struct udp_ep_bind **bp, char *err, size_t errlen)
{
	struct udp_ep		*ep;
	struct udp_ep_remote	*r;
	struct udp_ep_bind	*b;
	char			 a[TNL_ADDR_STRLEN];
	const char		*via = cfg->via != NULL ? cfg->via : "";
	bool			 opened = false;
	int			 error;

	if ((ep = udp_ep_find(eps, &cfg->local, via)) != NULL &&
	    ep->proto != cfg->proto) {
		snprintf(err, errlen, "%s already carries %s",
		    tnl_addr_str(&cfg->local, true, a), ep->proto->name);
		return EADDRINUSE;
	}
	if (ep == NULL) {
		if (via[0] != '\0')
			ep = udp_ep_open_via(eps, cfg->proto, &cfg->local,
			    via, err, errlen);
		else
			ep = udp_ep_open(eps, cfg->proto, &cfg->local, err,
			    errlen);
		if (ep == NULL)
			return errno;
		opened = true;
	}
	if ((error = udp_ep_remote_get(ep, cfg, &r, err, errlen)) != 0)
		goto close_ep;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		snprintf(err, errlen, "out of memory");
		error = ENOMEM;
		goto put_remote;
	}
	b->ep = ep;
	b->remote = r;
	b->has_key = cfg->has_key;
	b->key = cfg->key;
	b->payload = cfg->payload;
	b->rx = cfg->rx;
	b->arg = cfg->arg;
	b->name = cfg->name;
	b->port = cfg->port;
	b->sport_min = cfg->sport_min;
	b->sport_max = cfg->sport_max;
	LIST_INSERT_HEAD(&r->binds, b, entry);
	ep->nbinds++;
	*bp = b;
	return 0;

put_remote:
	if (LIST_EMPTY(&r->binds)) {
		LIST_REMOVE(r, entry);
		free(r);
	}
close_ep:
	if (opened)
		udp_ep_close(ep);
	return error;
}

void
udp_ep_unbind(struct udp_ep_bind *b)
{
	struct udp_ep		*ep = b->ep;
	struct udp_ep_remote	*r = b->remote;

	LIST_REMOVE(b, entry);
	free(b);
	if (LIST_EMPTY(&r->binds)) {
		LIST_REMOVE(r, entry);
		free(r);
	}
	if (--ep->nbinds == 0)
		udp_ep_close(ep);
}

const struct udp_ep *
udp_ep_of(const struct udp_ep_bind *b)
{
	return b->ep;
}

const struct udp_ep *
udp_eps_next(const struct udp_eps *eps, const struct udp_ep *ep)
{
	return ep == NULL ? TAILQ_FIRST(&eps->eps) : TAILQ_NEXT(ep, entry);
}

void
udp_ep_get_info(const struct udp_ep *ep, struct udp_ep_info *info)
{
	info->proto = ep->proto;
	info->local = ep->local;
	info->via = ep->via;
	info->binds = ep->nbinds;
	info->gro = ep->gro;
	info->stats = ep->stats;
}

int
udp_ep_fd(const struct udp_ep *ep)
{
	return ep->fd;
}

/* Sorts one datagram to its binding's rxq, or counts and frees it. */
static void
udp_ep_demux(struct udp_ep *ep, struct pkt *p,
    const struct sockaddr_storage *from)
{
	const struct udp_ep_remote	*r;
	struct udp_ep_bind		*b;
	struct tnl_rx			 rx;

	ep->stats.rx_packets++;
	ep->stats.rx_bytes += p->len;
	if ((r = udp_ep_remote_find(ep, from)) == NULL) {
		rx.drop = TNL_DROP_WRONG_SOURCE;
		goto drop;
	}
	if (ep->proto->parse(p->data, p->len, &rx) == -1)
		goto drop;
	LIST_FOREACH(b, &r->binds, entry)
		if (udp_ep_bind_matches(b, rx.has_key, rx.key, rx.payload))
			break;
	if (b == NULL) {
		rx.drop = TNL_DROP_UNKNOWN_KEY;
		goto drop;
	}
	if (b->sport_max != 0 && (tnl_addr_port(from) < b->sport_min ||
	    tnl_addr_port(from) > b->sport_max)) {
		rx.drop = TNL_DROP_WRONG_SOURCE_PORT;
		goto drop;
	}
	if (b->port != NULL && b->port->hook != NULL)
		port_capture_outer(b->port, PORT_DIR_RX, &(struct port_outer){
		    .src = (const struct sockaddr *)from,
		    .dst = (const struct sockaddr *)&ep->local,
		    .proto = IPPROTO_UDP,
		    .data = p->data,
		    .len = p->len,
		});
	pkt_pull(p, rx.hlen);
	if (b->rxq.count == 0)
		ep->active[ep->nactive++] = b;
	pkt_batch_add(&b->rxq, p);
	return;

drop:
	ep->stats.drops[rx.drop]++;
	pkt_free(p);
}

void
udp_ep_deliver(struct udp_ep *ep, struct pkt **pkts,
    const struct sockaddr_storage *from, unsigned n, time_t now)
{
	for (unsigned i = 0; i < n; i++)
		udp_ep_demux(ep, pkts[i], &from[i]);
	for (unsigned i = 0; i < ep->nactive; i++) {
		struct udp_ep_bind *b = ep->active[i];

		b->rx(b->arg, &b->rxq, now);
		pkt_batch_init(&b->rxq);
	}
	ep->nactive = 0;
}

/* Adds one datagram to the chunk, delivering a full one. */
static void
udp_ep_chunk_add(struct udp_ep *ep, struct pkt *p,
    const struct sockaddr_storage *from, time_t now)
{
	ep->chunk[ep->nchunk] = p;
	ep->chunk_from[ep->nchunk] = *from;
	if (++ep->nchunk == PKT_BATCH_MAX) {
		udp_ep_deliver(ep, ep->chunk, ep->chunk_from, ep->nchunk, now);
		ep->nchunk = 0;
	}
}

/* Counts a datagram that never reaches demultiplexing. */
static void
udp_ep_lost(struct udp_ep *ep, size_t len, enum tnl_drop why)
{
	ep->stats.rx_packets++;
	ep->stats.rx_bytes += len;
	ep->stats.drops[why]++;
}

/*
 * Copies len bytes at off of p into an MTU-sized buffer: no large buffer
 * leaves the endpoint, so none is held where frames wait (the router's
 * queue for an unresolved neighbour) and the large pool cannot run dry.
 */
static void
udp_ep_copy(struct udp_ep *ep, const struct pkt *p, uint32_t off,
    uint32_t len, const struct sockaddr_storage *from, time_t now)
{
	struct pkt	*q;

	if ((q = pkt_alloc(ep->eps->pool)) == NULL) {
		udp_ep_lost(ep, len, TNL_DROP_NO_BUFFER);
		return;
	}
	q->data -= UDP_EP_SLACK;
	if (len > pkt_tailroom(q)) {
		udp_ep_lost(ep, len, TNL_DROP_TOO_BIG);
		pkt_free(q);
		return;
	}
	memcpy(q->data, p->data + off, len);
	q->len = len;
	udp_ep_chunk_add(ep, q, from, now);
}

void
udp_ep_deliver_gro(struct udp_ep *ep, struct pkt **pkts, const int *seg,
    const struct sockaddr_storage *from, unsigned n, time_t now)
{
	for (unsigned i = 0; i < n; i++) {
		struct pkt	*p = pkts[i];
		uint32_t	 len;

		if (seg[i] < 0 || (uint32_t)seg[i] >= p->len) {
			if (p->pool == ep->eps->pool) {
				udp_ep_chunk_add(ep, p, &from[i], now);
				continue;
			}
			udp_ep_copy(ep, p, 0, p->len, &from[i], now);
		} else if (seg[i] == 0)
			udp_ep_lost(ep, p->len, TNL_DROP_BAD_GRO);
		else {
			ep->stats.gro_reads++;
			for (uint32_t off = 0; off < p->len; off += len) {
				len = p->len - off < (uint32_t)seg[i] ?
				    p->len - off : (uint32_t)seg[i];
				ep->stats.gro_datagrams++;
				udp_ep_copy(ep, p, off, len, &from[i], now);
			}
		}
		pkt_free(p);
	}
	if (ep->nchunk > 0)
		udp_ep_deliver(ep, ep->chunk, ep->chunk_from, ep->nchunk, now);
	ep->nchunk = 0;
}

/*
 * A message must lie inside msg_controllen: CMSG_FIRSTHDR() checks only
 * that a header fits, and a read whose control was cut (MSG_CTRUNC) may
 * end inside one.
 */
int
udp_ep_gro_size(struct msghdr *mh)
{
	struct cmsghdr	*cm;
	size_t		 off;
	int		 seg;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		off = (size_t)((char *)cm - (char *)mh->msg_control);
		if (cm->cmsg_level != SOL_UDP || cm->cmsg_type != UDP_GRO ||
		    cm->cmsg_len < CMSG_LEN(sizeof(seg)) ||
		    off + CMSG_LEN(sizeof(seg)) > mh->msg_controllen)
			continue;
		memcpy(&seg, CMSG_DATA(cm), sizeof(seg));
		return seg < 0 ? 0 : seg;
	}
	return UDP_EP_WHOLE;
}

/*
 * Buffers for a recvmmsg(): how many reads it may make (0 when the pool is
 * empty).  With UDP GRO each may hold up to 64 KiB of datagrams: large
 * buffers then.
 */
static unsigned
udp_ep_prepare(struct udp_ep *ep)
{
	struct pkt_pool	*pool = ep->gro ? ep->eps->large : ep->eps->pool;
	struct pkt	*p;
	unsigned	 want;

	for (want = 0; want < PKT_BATCH_MAX; want++) {
		if ((p = pkt_alloc(pool)) == NULL)
			break;
		ep->pkts[want] = p;
		ep->iov[want].iov_base = p->data - UDP_EP_SLACK;
		ep->iov[want].iov_len = pkt_tailroom(p) + UDP_EP_SLACK;
		ep->msgs[want].msg_hdr = (struct msghdr){
			.msg_name = &ep->from[want],
			.msg_namelen = sizeof(ep->from[want]),
			.msg_iov = &ep->iov[want],
			.msg_iovlen = 1,
		};
		if (ep->gro) {
			ep->msgs[want].msg_hdr.msg_control = ep->cmsg[want].buf;
			ep->msgs[want].msg_hdr.msg_controllen =
			    sizeof(ep->cmsg[want].buf);
		}
	}
	if (want == 0)
		ep->stats.drops[TNL_DROP_NO_BUFFER]++;
	return want;
}

/* What n reads of the want prepared brought: counted and delivered. */
static void
udp_ep_received(struct udp_ep *ep, unsigned n, unsigned want, time_t now)
{
	struct pkt	*p;
	unsigned	 k = 0;

	/* Datagrams cut to the buffer go; the others close ranks. */
	for (unsigned i = 0; i < n; i++) {
		p = ep->pkts[i];
		p->data -= UDP_EP_SLACK;
		p->len = ep->msgs[i].msg_len;
		if (ep->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			udp_ep_lost(ep, p->len, TNL_DROP_TOO_BIG);
			pkt_free(p);
			continue;
		}
		ep->seg[k] = ep->gro ? udp_ep_gro_size(&ep->msgs[i].msg_hdr) :
		    UDP_EP_WHOLE;
		if (k != i) {
			ep->pkts[k] = p;
			ep->from[k] = ep->from[i];
		}
		k++;
	}
	for (unsigned i = n; i < want; i++)
		pkt_free(ep->pkts[i]);
	if (ep->gro)
		udp_ep_deliver_gro(ep, ep->pkts, ep->seg, ep->from, k, now);
	else
		udp_ep_deliver(ep, ep->pkts, ep->from, k, now);
}

/* One recvmmsg(): returns how many reads it made. */
static unsigned
udp_ep_read(struct udp_ep *ep, time_t now)
{
	unsigned	want;
	int		n;

	if ((want = udp_ep_prepare(ep)) == 0)
		return 0;
	do
		n = recvmmsg(ep->fd, ep->msgs, want, MSG_DONTWAIT, NULL);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno != EAGAIN)
			ep->stats.rx_errors++;
		n = 0;
	}
	udp_ep_received(ep, (unsigned)n, want, now);
	return (unsigned)n;
}

/* What recvmmsg() does with one datagram, as far as the endpoint sees it. */
static void
udp_ep_kernel_copy(struct mmsghdr *m, const struct udp_ep_kread *r)
{
	struct msghdr	*mh = &m->msg_hdr;
	size_t		 room = mh->msg_iov[0].iov_len;
	size_t		 clen = mh->msg_controllen;

	mh->msg_flags = 0;
	m->msg_len = (unsigned)(r->len < room ? r->len : room);
	memcpy(mh->msg_iov[0].iov_base, r->data, m->msg_len);
	if (r->len > room)
		mh->msg_flags |= MSG_TRUNC;
	if (r->controllen > clen)
		mh->msg_flags |= MSG_CTRUNC;
	else
		clen = r->controllen;
	if (clen > 0)
		memcpy(mh->msg_control, r->control, clen);
	mh->msg_controllen = clen;
	memcpy(mh->msg_name, &r->from, sizeof(r->from));
	mh->msg_namelen = sizeof(r->from);
}

unsigned
udp_ep_read_from(struct udp_ep *ep, const struct udp_ep_kread *reads,
    unsigned n, time_t now)
{
	unsigned	want;

	if ((want = udp_ep_prepare(ep)) == 0)
		return 0;
	if (n > want)
		n = want;
	for (unsigned i = 0; i < n; i++)
		udp_ep_kernel_copy(&ep->msgs[i], &reads[i]);
	udp_ep_received(ep, n, want, now);
	return n;
}

/* A short batch means the socket (or the pool) is drained. */
static void
udp_ep_input(void *arg, time_t now)
{
	struct udp_ep	*ep = arg;

	for (int i = 0; i < UDP_EP_ROUNDS; i++)
		if (udp_ep_read(ep, now) < PKT_BATCH_MAX)
			break;
}
