/*
 * wg-io.c - the sockets and the data path of a wireguard port.
 *
 * Receiving: each socket is watched through the datapath; a readiness event
 * reads up to WG_RX_ROUNDS batches with recvmmsg() into pool buffers (large
 * ones with UDP GRO, whose coalesced reads are cut into their datagrams,
 * each copied into a pool buffer as udp-endpoint.c does).  Data messages are
 * opened in place and the inner packet is pulled out of the buffer; the
 * packets of a read go to the router together, TCP GRO'd first when
 * tcp-gro is on.  Handshake messages go to wg-peer.c.
 *
 * Sending: each packet is routed to its peer by its destination (cryptokey
 * routing), sealed out of place into a pool buffer (the router's packet may
 * be shared) behind the 16-byte data header, so that each datagram is one
 * iovec, and queued on the socket of its endpoint's family.  A socket's
 * queue goes out with one sendmmsg(), runs of equal-sized datagrams to one
 * peer as one UDP_SEGMENT message when udp-gso is on (a kernel that
 * refuses it turns GSO off for the port, and the run goes datagram by
 * datagram).  Packets of a peer without a session are staged (wg-peer.c).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "datapath/be.h"
#include "datapath/dp.h"
#include "datapath/gro.h"
#include "datapath/ip.h"

#include "udp-endpoint.h"
#include "wg-port-int.h"

#ifndef UDP_GRO
#define UDP_GRO		104
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif

#define WG_RX_ROUNDS	4
#define WG_SOCKBUF	(4 << 20)

static socklen_t
wg_addr_len(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
}

static struct wg_sock *
wg_sock_of(struct wg_port *wp, int family)
{
	struct wg_sock	*s = &wp->socks[family == AF_INET6];

	return s->fd == -1 ? NULL : s;
}

static void
wg_capture(struct wg_port *wp, enum port_dir dir,
    const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
    const uint8_t *data, size_t len)
{
	port_capture_outer(wp->port, dir, &(struct port_outer){
	    .src = (const struct sockaddr *)src,
	    .dst = (const struct sockaddr *)dst,
	    .proto = IPPROTO_UDP,
	    .data = data,
	    .len = len,
	});
}

void
wg_send_one(struct wg_port *wp, const struct sockaddr_storage *dst,
    const uint8_t *msg, size_t len)
{
	struct wg_sock	*s = wg_sock_of(wp, dst->ss_family);
	ssize_t		 n;

	if (s == NULL)
		return;
	do
		n = sendto(s->fd, msg, len, 0, (const struct sockaddr *)dst,
		    wg_addr_len(dst));
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		wp->port->stats.tx_errors++;
		return;
	}
	if (wp->port->hook != NULL)
		wg_capture(wp, PORT_DIR_TX, &s->local, dst, msg, len);
}

/* Receiving. */

static void
wg_rx_flush(struct wg_port *wp, time_t now)
{
	struct port	*port = wp->port;
	struct dp	*dp = port->dp;

	if (wp->rxq.count == 0)
		return;
	for (unsigned i = 0; i < wp->rxq.count; i++) {
		port->stats.rx_packets++;
		port->stats.rx_bytes += wp->rxq.pkts[i]->len;
	}
	if (dp->ofl.on[OFL_TCP_GRO] && wp->rxq.count > 1)
		gro_batch(&wp->rxq, INET_L3, dp->large, &wp->gro);
	dp_input(dp, port, &wp->rxq, now);
	pkt_batch_init(&wp->rxq);
}

/* The inner packet's own length, within the plen bytes opened: 0 if none. */
static uint32_t
wg_inner_len(const uint8_t *ip, size_t plen)
{
	uint32_t	len;

	if (plen >= IP4_HLEN && ip_version(ip) == 4) {
		len = be16_get(ip + IP4_OFF_LEN);
		return len >= IP4_HLEN && len <= plen ? len : 0;
	}
	if (plen >= IP6_HLEN && ip_version(ip) == 6) {
		len = IP6_HLEN + be16_get(ip + IP6_OFF_PLEN);
		return len <= plen ? len : 0;
	}
	return 0;
}

static void
wg_data_input(struct wg_port *wp, struct pkt *p,
    const struct sockaddr_storage *from, uint64_t now, time_t now_s)
{
	struct wg_index		*ix = wg_index_find(wp, wg_msg_receiver(p->data));
	struct wg_session	*s;
	struct wg_peer		*peer;
	uint64_t		 counter;
	size_t			 plen, dlen = p->len;
	uint32_t		 len;
	enum wg_drop		 why;

	if (ix == NULL || (s = ix->sess) == NULL) {
		why = WG_DROP_UNKNOWN_INDEX;
		goto drop;
	}
	peer = ix->peer;
	if (!s->valid || now - s->created >= wg_timers.reject_after) {
		why = WG_DROP_EXPIRED;
		goto drop;
	}
	if (wg_data_open(&s->kp, p->data, p->len, &counter, &plen) != 0) {
		why = WG_DROP_BAD_DATA;
		goto drop;
	}
	if (!wg_replay_check(&s->replay, counter)) {
		why = WG_DROP_REPLAYED_DATA;
		goto drop;
	}
	wg_peer_received(peer, now, plen > 0, dlen, from);
	if (s == peer->next) {
		wg_peer_confirm(peer, s);
		if (peer->staged_count > 0)
			wg_send_staged(peer, now);
	}
	if (plen == 0) {		/* a keepalive */
		pkt_free(p);
		return;
	}
	pkt_pull(p, WG_DATA_HLEN);
	if ((len = wg_inner_len(p->data, plen)) == 0) {
		why = WG_DROP_BAD_INNER;
		goto drop;
	}
	p->len = len;
	if (wg_peer_route(wp, p->data, p->len, true) != peer) {
		why = WG_DROP_BAD_INNER_SOURCE;
		goto drop;
	}
	pkt_batch_add(&wp->rxq, p);
	if (wp->rxq.count == PKT_BATCH_MAX)
		wg_rx_flush(wp, now_s);
	return;

drop:
	wg_drop(wp, why);
	pkt_free(p);
}

/* One whole datagram in a pool buffer: taken, counted or freed. */
static void
wg_rx_one(struct wg_sock *s, struct pkt *p,
    const struct sockaddr_storage *from, uint64_t now, time_t now_s)
{
	struct wg_port	*wp = s->wp;

	if (wp->port->hook != NULL)
		wg_capture(wp, PORT_DIR_RX, from, &s->local, p->data, p->len);
	switch (wg_msg_classify(p->data, p->len)) {
	case WG_MSG_DATA:
		wg_data_input(wp, p, from, now, now_s);
		break;
	case WG_MSG_INIT:
	case WG_MSG_RESP:
	case WG_MSG_COOKIE:
		wg_handshake_input(wp, p, from, now);
		break;
	default:
		wg_drop(wp, WG_DROP_BAD_TYPE);
		pkt_free(p);
		break;
	}
}

/* Copies len bytes at off of a large buffer into a pool one. */
static void
wg_rx_copy(struct wg_sock *s, const struct pkt *p, uint32_t off, uint32_t len,
    const struct sockaddr_storage *from, uint64_t now, time_t now_s)
{
	struct port	*port = s->wp->port;
	struct pkt	*q;

	if ((q = pkt_alloc(port->dp->pool)) == NULL) {
		port_drop(port, DROP_NO_BUFFER);
		return;
	}
	if (len > pkt_tailroom(q)) {
		pkt_free(q);
		wg_drop(s->wp, WG_DROP_BAD_TYPE);
		return;
	}
	memcpy(q->data, p->data + off, len);
	q->len = len;
	wg_rx_one(s, q, from, now, now_s);
}

static unsigned
wg_rx_read(struct wg_sock *s, time_t now_s)
{
	struct wg_port	*wp = s->wp;
	struct dp	*dp = wp->port->dp;
	struct pkt_pool	*pool = s->gro ? dp->large : dp->pool;
	unsigned	 want;
	uint64_t	 now;
	int		 n;

	for (want = 0; want < PKT_BATCH_MAX; want++) {
		struct pkt	*p;

		if ((p = pkt_alloc(pool)) == NULL)
			break;
		s->rpkts[want] = p;
		s->riov[want].iov_base = p->data;
		s->riov[want].iov_len = pkt_tailroom(p);
		s->rmsgs[want].msg_hdr = (struct msghdr){
			.msg_name = &s->from[want],
			.msg_namelen = sizeof(s->from[want]),
			.msg_iov = &s->riov[want],
			.msg_iovlen = 1,
		};
		if (s->gro) {
			s->rmsgs[want].msg_hdr.msg_control = s->rcmsg[want].buf;
			s->rmsgs[want].msg_hdr.msg_controllen =
			    sizeof(s->rcmsg[want].buf);
		}
	}
	if (want == 0) {
		port_drop(wp->port, DROP_NO_BUFFER);
		return 0;
	}
	do
		n = recvmmsg(s->fd, s->rmsgs, want, MSG_DONTWAIT, NULL);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno != EAGAIN)
			wp->port->stats.rx_errors++;
		n = 0;
	}
	now = wg_now_ms();
	for (unsigned i = 0; i < (unsigned)n; i++) {
		struct pkt	*p = s->rpkts[i];
		int		 seg;

		p->len = s->rmsgs[i].msg_len;
		if (s->rmsgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			wg_drop(wp, WG_DROP_BAD_TYPE);
			pkt_free(p);
			continue;
		}
		seg = s->gro ? udp_ep_gro_size(&s->rmsgs[i].msg_hdr) :
		    UDP_EP_WHOLE;
		if (seg < 0 || (uint32_t)seg >= p->len) {
			if (p->pool == dp->pool) {
				wg_rx_one(s, p, &s->from[i], now, now_s);
				continue;
			}
			wg_rx_copy(s, p, 0, p->len, &s->from[i], now, now_s);
		} else if (seg == 0)
			wg_drop(wp, WG_DROP_BAD_TYPE);
		else {
			wp->gro_reads++;
			wp->gro_datagrams += (p->len + (uint32_t)seg - 1) /
			    (uint32_t)seg;
			for (uint32_t off = 0, len; off < p->len; off += len) {
				len = p->len - off < (uint32_t)seg ?
				    p->len - off : (uint32_t)seg;
				wg_rx_copy(s, p, off, len, &s->from[i], now,
				    now_s);
			}
		}
		pkt_free(p);
	}
	for (unsigned i = (unsigned)n; i < want; i++)
		pkt_free(s->rpkts[i]);
	wg_rx_flush(wp, now_s);
	return (unsigned)n;
}

static void
wg_input(void *arg, time_t now)
{
	struct wg_sock	*s = arg;

	for (int i = 0; i < WG_RX_ROUNDS; i++)
		if (wg_rx_read(s, now) < PKT_BATCH_MAX)
			break;
}

/* Sending. */

/* How many datagrams from k on, up to a GSO run's, go to k's peer. */
static unsigned
wg_tx_same_peer(const struct wg_sock *s, unsigned k)
{
	unsigned	e = k + 1;

	while (e < s->tcount && e - k < TNL_GSO_SEGS &&
	    s->tpeer[e] == s->tpeer[k])
		e++;
	return e - k;
}

/*
 * Makes the messages of s from datagram k on, as message m: with GSO, a
 * run as tnl-tx.c makes it, of datagrams to one peer.
 */
static void
wg_tx_build(struct wg_port *wp, struct wg_sock *s, unsigned m, unsigned k)
{
	uint32_t	max = TNL_GSO_BYTES - (s->family == AF_INET6 ?
			    IP6_HLEN : IP4_HLEN) - 8;
	unsigned	n = s->tcount, run;

	for (; k < n; k += run, m++) {
		struct msghdr	*mh = &s->tmsgs[m].msg_hdr;
		struct wg_peer	*peer = s->tpeer[k];

		run = wp->gso ? tnl_gso_run(&s->tlen[k], wg_tx_same_peer(s, k),
		    max) : 1;
		*mh = (struct msghdr){
			.msg_name = &peer->endpoint,
			.msg_namelen = wg_addr_len(&peer->endpoint),
			.msg_iov = &s->tiov[k],
			.msg_iovlen = run,
		};
		s->tfirst[m] = (uint8_t)k;
		s->tsegs[m] = (uint8_t)run;
		if (run > 1)
			tnl_gso_cmsg(mh, &s->tcmsg[m], (uint16_t)s->tlen[k]);
	}
	s->tnmsgs = m;
}

static void
wg_tx_sent(struct wg_port *wp, struct wg_sock *s, unsigned m, uint64_t now)
{
	struct port	*port = wp->port;

	if (s->tsegs[m] > 1) {
		wp->gso_msgs++;
		wp->gso_segs += s->tsegs[m];
	}
	for (unsigned k = s->tfirst[m], e = k + s->tsegs[m]; k < e; k++) {
		port->stats.tx_packets++;
		port->stats.tx_bytes += s->tinner[k];
		wg_peer_sent(s->tpeer[k], now, true, s->tpkts[k]->len);
		if (port->hook != NULL)
			wg_capture(wp, PORT_DIR_TX, &s->local,
			    &s->tpeer[k]->endpoint, s->tpkts[k]->data,
			    s->tpkts[k]->len);
	}
}

static void
wg_tx_drop(struct port *port, struct wg_sock *s, unsigned m,
    enum drop_reason why)
{
	for (unsigned n = s->tsegs[m]; n > 0; n--)
		port_drop(port, why);
}

/* A message that fails goes as tnl-tx.c's would (tnl_send_failure()). */
static void
wg_tx_flush(struct wg_port *wp, struct wg_sock *s, uint64_t now)
{
	struct port	*port = wp->port;
	unsigned	 i = 0;
	int		 sent, error;

	wg_tx_build(wp, s, 0, 0);
	while (i < s->tnmsgs) {
		sent = sendmmsg(s->fd, &s->tmsgs[i], s->tnmsgs - i, 0);
		if (sent > 0) {
			for (; sent > 0; sent--, i++)
				wg_tx_sent(wp, s, i, now);
			continue;
		}
		error = errno;
		switch (tnl_send_failure(error, s->tsegs[i])) {
		case TNL_SEND_AGAIN:
			continue;
		case TNL_SEND_FULL:
			for (; i < s->tnmsgs; i++)
				wg_tx_drop(port, s, i, DROP_TX_FULL);
			continue;
		case TNL_SEND_NO_GSO:
			wp->gso = false;
			wp->gso_failed = true;
			dp_port_event(port, PORT_EV_GSO_FALLBACK, error);
			wg_tx_build(wp, s, i, s->tfirst[i]);
			continue;
		case TNL_SEND_TOO_BIG:
			wg_tx_drop(port, s, i, DROP_TOO_BIG);
			break;
		case TNL_SEND_ERROR:
			wg_tx_drop(port, s, i, DROP_TX_ERROR);
			port->stats.tx_errors++;
			break;
		}
		i++;
	}
	for (unsigned k = 0; k < s->tcount; k++)
		pkt_free(s->tpkts[k]);
	s->tcount = 0;
}

/* Seals p for peer into a pool buffer queued on its endpoint's socket. */
static void
wg_tx_seal(struct wg_port *wp, struct wg_peer *peer, struct wg_session *sess,
    const struct pkt *p)
{
	struct port	*port = wp->port;
	struct wg_sock	*s = wg_sock_of(wp, peer->endpoint.ss_family);
	struct pkt	*q;
	size_t		 pad_max = (size_t)port->mtu > p->len ?
			    (size_t)port->mtu : p->len;
	unsigned	 k;

	if (s == NULL) {
		port_drop(port, DROP_TX_ERROR);
		return;
	}
	if ((q = pkt_alloc(port->dp->pool)) == NULL) {
		port_drop(port, DROP_NO_BUFFER);
		return;
	}
	if (WG_DATA_HLEN + p->len + WG_PAD + WG_TAG_LEN > pkt_tailroom(q)) {
		pkt_free(q);
		port_drop(port, DROP_TOO_BIG);
		return;
	}
	q->len = WG_DATA_HLEN + (uint32_t)wg_data_seal(&sess->kp,
	    sess->send_counter++, p->data, p->len, pad_max, q->data,
	    q->data + WG_DATA_HLEN);
	k = s->tcount++;
	s->tpkts[k] = q;
	s->tpeer[k] = peer;
	s->tinner[k] = p->len;
	s->tlen[k] = q->len;
	s->tiov[k].iov_base = q->data;
	s->tiov[k].iov_len = q->len;
}

void
wg_send_batch(struct port *port, struct pkt_batch *b)
{
	struct wg_port		*wp = port->priv;
	uint64_t		 now = wg_now_ms();

	for (unsigned i = 0; i < b->count; i++) {
		const struct pkt	*p = b->pkts[i];
		struct wg_peer		*peer;
		struct wg_session	*sess;

		if ((peer = wg_peer_route(wp, p->data, p->len, false)) ==
		    NULL) {
			wg_drop(wp, WG_DROP_NO_PEER);
			continue;
		}
		if (peer->endpoint.ss_family == AF_UNSPEC) {
			wg_drop(wp, WG_DROP_NO_ENDPOINT);
			continue;
		}
		if (!port_frame_fits(port, p->len)) {
			port_drop(port, DROP_TOO_BIG);
			continue;
		}
		if ((sess = wg_peer_tx_session(peer, now)) == NULL) {
			wg_peer_stage(peer, p, now);
			continue;
		}
		wg_tx_seal(wp, peer, sess, p);
	}
	for (unsigned f = 0; f < 2; f++)
		if (wp->socks[f].tcount > 0)
			wg_tx_flush(wp, &wp->socks[f], now);
}

void
wg_send_staged(struct wg_peer *peer, uint64_t now)
{
	struct wg_port	*wp = peer->wp;
	unsigned	 n = peer->staged_count;

	(void)now;
	while (n > 0) {
		pkt_batch_init(&wp->staged);
		for (; n > 0 && wp->staged.count < PKT_BATCH_MAX; n--) {
			pkt_batch_add(&wp->staged,
			    peer->staged[peer->staged_head]);
			peer->staged_head = (peer->staged_head + 1) %
			    WG_STAGED_MAX;
			peer->staged_count--;
			wp->staged_total--;
		}
		wg_send_batch(wp->port, &wp->staged);
		pkt_batch_free(&wp->staged);
	}
}

/* Sockets. */

static int
wg_sock_open(struct wg_port *wp, struct wg_sock *s, int family, uint16_t port,
    char *err, size_t errlen)
{
	struct sockaddr_storage	 a = { .ss_family = (sa_family_t)family };
	socklen_t		 len = sizeof(a);
	int			 on = 1, size = WG_SOCKBUF, v, error;

	s->wp = wp;
	s->family = family;
	if ((s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		error = errno;
		snprintf(err, errlen, "cannot open a UDP socket: %s",
		    strerror(error));
		return error;
	}
	if (family == AF_INET6) {
		((struct sockaddr_in6 *)&a)->sin6_port = htons(port);
		setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		v = IPV6_PMTUDISC_DONT;
		setsockopt(s->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v,
		    sizeof(v));
	} else {
		((struct sockaddr_in *)&a)->sin_port = htons(port);
		/* As the kernel's wireguard: the path fragments if it must. */
		v = IP_PMTUDISC_DONT;
		setsockopt(s->fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
	}
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
	    sizeof(size)) == -1)
		setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &size,
	    sizeof(size)) == -1)
		setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bind(s->fd, (struct sockaddr *)&a, wg_addr_len(&a)) == -1 ||
	    getsockname(s->fd, (struct sockaddr *)&s->local, &len) == -1) {
		error = errno;
		snprintf(err, errlen, "cannot bind UDP port %u (IPv%d): %s",
		    port, family == AF_INET6 ? 6 : 4, strerror(error));
		close(s->fd);
		s->fd = -1;
		return error;
	}
	return 0;
}

static void
wg_sock_close(struct wg_port *wp, struct wg_sock *s)
{
	if (s->fd == -1)
		return;
	if (s->watch != NULL)
		dp_unwatch(wp->port->dp, s->watch);
	s->watch = NULL;
	close(s->fd);
	s->fd = -1;
}

/*
 * IPv4 and IPv6 on one port: with port 0 the kernel picks the IPv4 one and
 * IPv6 must get the same, tried again a few times if it is taken.  A host
 * without IPv6 (no socket, no bind to ::) has an IPv4 socket only.
 */
int
wg_socks_open(struct wg_port *wp, uint16_t port, char *err, size_t errlen)
{
	int	error = 0;

	wp->socks[0].fd = wp->socks[1].fd = -1;
	for (int tries = 0; tries < 8; tries++) {
		if ((error = wg_sock_open(wp, &wp->socks[0], AF_INET, port, err,
		    errlen)) != 0)
			return error;
		wp->listen_port = ntohs(((struct sockaddr_in *)
		    &wp->socks[0].local)->sin_port);
		error = wg_sock_open(wp, &wp->socks[1], AF_INET6,
		    wp->listen_port, err, errlen);
		if (error != EADDRINUSE) {
			/* Any other failure: a host without IPv6. */
			if (error != 0 && errlen > 0)
				err[0] = '\0';
			error = 0;
			break;
		}
		wg_sock_close(wp, &wp->socks[0]);
		if (port != 0)
			return error;
	}
	if (error != 0)
		return error;
	for (int f = 0; f < 2; f++) {
		struct wg_sock	*s = &wp->socks[f];

		if (s->fd == -1)
			continue;
		if ((error = dp_watch(wp->port->dp, s->fd, wg_input, s,
		    &s->watch)) != 0) {
			snprintf(err, errlen, "cannot watch UDP port %u: %s",
			    wp->listen_port, strerror(error));
			wg_socks_close(wp);
			return error;
		}
	}
	return 0;
}

void
wg_socks_close(struct wg_port *wp)
{
	for (int f = 0; f < 2; f++)
		wg_sock_close(wp, &wp->socks[f]);
}

void
wg_socks_set_gro(struct wg_port *wp, bool on)
{
	for (int f = 0; f < 2; f++) {
		struct wg_sock	*s = &wp->socks[f];
		int		 v = on;

		if (s->fd == -1)
			continue;
		s->gro = on && setsockopt(s->fd, SOL_UDP, UDP_GRO, &v,
		    sizeof(v)) == 0;
		if (!on)
			setsockopt(s->fd, SOL_UDP, UDP_GRO, &v, sizeof(v));
	}
}

/* UDP_SEGMENT as a socket option exists where the control message does. */
bool
wg_socks_probe_gso(struct wg_port *wp)
{
	int	zero = 0;

	return setsockopt(wp->socks[0].fd, SOL_UDP, UDP_SEGMENT, &zero,
	    sizeof(zero)) == 0;
}
