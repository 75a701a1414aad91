/*
 * tnl-tx.c - the sending half of a tunnel: flow hash, sockets, sendmmsg().
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "datapath/dp.h"
#include "datapath/ether.h"

#include "tnl-addr.h"
#include "tnl-route.h"
#include "tnl-tx.h"

/*
 * A burst of a batch per socket, up to 64 KiB GSO messages, must not find
 * the send buffer full while the device drains it (EAGAIN is a drop here):
 * the default (about 200 KiB) is a few such messages.
 */
#define TNL_TX_SNDBUF	(2 << 20)

#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif

#define IPV4_HLEN	20
#define IPV6_HLEN	40
#define UDP_HLEN	8

/* Sends of one message: the first may only report an earlier ICMP. */
#define TNL_TX_TRIES	3

/* murmur3's block mix and finalizer: cheap, and every input bit counts. */
static inline uint32_t
flow_mix(uint32_t h, uint32_t w)
{
	w *= 0xcc9e2d51u;
	w = w << 15 | w >> 17;
	w *= 0x1b873593u;
	h ^= w;
	h = h << 13 | h >> 19;
	return h * 5 + 0xe6546b64u;
}

static uint32_t
flow_mix_bytes(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i += 4)
		h = flow_mix(h, be32_get(p + i));
	return h;
}

/* Addresses, protocol and, unless it is a fragment, the ports. */
static uint32_t
flow_l3(uint32_t h, const uint8_t *ip, size_t len, uint16_t type)
{
	size_t	l4;
	uint8_t	proto;

	if (type == TNL_PROTO_IPV4 && len >= IPV4_HLEN) {
		h = flow_mix_bytes(h, ip + 12, 8);
		proto = ip[9];
		l4 = (size_t)(ip[0] & 0x0f) * 4;
		if (be16_get(ip + 6) & 0x3fff)
			return flow_mix(h, proto);
	} else if (type == TNL_PROTO_IPV6 && len >= IPV6_HLEN) {
		h = flow_mix_bytes(h, ip + 8, 32);
		proto = ip[6];
		l4 = IPV6_HLEN;
	} else
		return flow_mix(h, type);
	h = flow_mix(h, proto);
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	    proto == IPPROTO_SCTP || proto == IPPROTO_UDPLITE) &&
	    len >= l4 + 4)
		h = flow_mix(h, be32_get(ip + l4));
	return h;
}

uint32_t
tnl_flow_hash(const uint8_t *p, size_t len, enum tnl_payload payload)
{
	uint32_t	h = 0;
	uint16_t	type;
	size_t		off = 0;

	if (payload == TNL_PAYLOAD_ETH) {
		if (len < ETH_HLEN)
			return 0;
		h = flow_mix_bytes(h, p, 2 * ETH_ALEN);
		type = be16_get(p + ETH_OFF_TYPE);
		off = ETH_HLEN;
		while (eth_type_is_tag(type) && len >= off + ETH_TAG_LEN) {
			type = be16_get(p + off + 2);
			off += ETH_TAG_LEN;
		}
	} else {
		if (len == 0)
			return 0;
		type = p[0] >> 4 == 6 ? TNL_PROTO_IPV6 : TNL_PROTO_IPV4;
	}
	h = flow_l3(h, p + off, len - off, type);
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ h >> 16;
}

unsigned
tnl_gso_run(const uint32_t *len, unsigned n, uint32_t max_bytes)
{
	uint32_t	total;
	unsigned	k;

	if (n == 0)
		return 0;
	total = len[0];
	for (k = 1; k < n && k < TNL_GSO_SEGS; k++) {
		if (len[k] > len[0] || total + len[k] > max_bytes)
			break;
		total += len[k];
		if (len[k] < len[0])
			return k + 1;
	}
	return k;
}

void
tnl_gso_cmsg(struct msghdr *mh, union tnl_tx_cmsg *c, uint16_t size)
{
	struct cmsghdr	*cm;

	mh->msg_control = c->buf;
	mh->msg_controllen = sizeof(c->buf);
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(size));
	memcpy(CMSG_DATA(cm), &size, sizeof(size));
}

/*
 * sendmmsg() stops at the first message that fails.  A full socket buffer
 * fails every message after it, so the rest go without trying.  A GSO
 * message the kernel cannot take (tnl-tx.h: EIO, EINVAL, ENOPROTOOPT)
 * turns GSO off and goes again as single datagrams; a single datagram
 * failing so is an error.
 */
enum tnl_send_fail
tnl_send_failure(int error, unsigned segs)
{
	switch (error) {
	case EINTR:
		return TNL_SEND_AGAIN;
	case EAGAIN:
	case ENOBUFS:
		return TNL_SEND_FULL;
	case EIO:
	case EINVAL:
	case ENOPROTOOPT:
		return segs > 1 ? TNL_SEND_NO_GSO : TNL_SEND_ERROR;
	case EMSGSIZE:
		return TNL_SEND_TOO_BIG;
	default:
		return TNL_SEND_ERROR;
	}
}

/* Zero UDP checksums over IPv4, except while GSO needs them. */
static int
tnl_tx_nocheck(int fd, int family, bool nocheck)
{
	int	on = nocheck;

	if (family != AF_INET)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, &on, sizeof(on)) == -1)
		return errno;
	return 0;
}

/*
 * PROBE: DF, sized by the device and not by a path MTU someone may have
 * forged (tnl-tx.h); DONT: fragmented to the path MTU, for the datagrams
 * that path_mtu says need it.  IPv4 and IPv6 number them alike.
 */
static int
tnl_tx_pmtudisc(int fd, int family, bool frag)
{
	int	v;

	if (family == AF_INET) {
		v = frag ? IP_PMTUDISC_DONT : IP_PMTUDISC_PROBE;
		if (setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v,
		    sizeof(v)) == -1)
			return errno;
	} else {
		v = frag ? IPV6_PMTUDISC_DONT : IPV6_PMTUDISC_PROBE;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v,
		    sizeof(v)) == -1)
			return errno;
	}
	return 0;
}

static int
tnl_tx_sockopts(int fd, int family)
{
	int	zero = 0, size = TNL_TX_SNDBUF, error;

	if ((error = tnl_tx_nocheck(fd, family, true)) != 0 ||
	    (error = tnl_tx_pmtudisc(fd, family, false)) != 0)
		return error;
	/* FORCE passes net.core.wmem_max, with CAP_NET_ADMIN only. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size,
	    sizeof(size)) == -1)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	/* Nothing reads these sockets: queue as little as the kernel allows. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &zero, sizeof(zero));
	return 0;
}

static int
tnl_tx_socket(const struct sockaddr_storage *local,
    const struct sockaddr_storage *remote, int *fdp, char *err, size_t errlen)
{
	struct sockaddr_storage	src;
	char			a[TNL_ADDR_STRLEN];
	int			fd, error;

	fd = socket(remote->ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		error = errno;
		snprintf(err, errlen, "cannot open a socket: %s",
		    strerror(error));
		return error;
	}
	if ((error = tnl_tx_sockopts(fd, remote->ss_family)) != 0) {
		snprintf(err, errlen, "cannot set up a socket: %s",
		    strerror(error));
		goto close_fd;
	}
	if (local->ss_family != AF_UNSPEC) {
		src = *local;
		tnl_addr_set_port(&src, 0);
		if (bind(fd, (struct sockaddr *)&src, tnl_addr_len(&src)) ==
		    -1) {
			error = errno;
			tnl_addr_str(local, false, a);
			if (error == EADDRNOTAVAIL)
				snprintf(err, errlen, "local address %s is not "
				    "on this host", a);
			else
				snprintf(err, errlen, "cannot bind %s: %s", a,
				    strerror(error));
			goto close_fd;
		}
	}
	if (connect(fd, (const struct sockaddr *)remote,
	    tnl_addr_len(remote)) == -1) {
		error = errno;
		snprintf(err, errlen, "cannot reach %s: %s",
		    tnl_addr_str(remote, true, a), strerror(error));
		goto close_fd;
	}
	*fdp = fd;
	return 0;

close_fd:
	close(fd);
	return error;
}

int
tnl_tx_open(struct tnl_tx *tx, const struct sockaddr_storage *local,
    const struct sockaddr_storage *remote, char *err, size_t errlen)
{
	socklen_t	len;
	int		error;

	memset(tx, 0, sizeof(*tx));
	for (int i = 0; i < TNL_TX_SOCKS; i++)
		tx->fds[i] = -1;
	tx->family = remote->ss_family;
	tx->outer = (tx->family == AF_INET6 ? IPV6_HLEN : IPV4_HLEN) +
	    UDP_HLEN;
	tx->dst = *remote;
	for (int i = 0; i < TNL_TX_SOCKS; i++) {
		if ((error = tnl_tx_socket(local, remote, &tx->fds[i], err,
		    errlen)) != 0) {
			tnl_tx_close(tx);
			return error;
		}
		/* Connected: the kernel has picked the source address. */
		len = sizeof(tx->src[i]);
		if (getsockname(tx->fds[i], (struct sockaddr *)&tx->src[i],
		    &len) == -1)
			tx->src[i].ss_family = AF_UNSPEC;
	}
	/* Not a path MTU an ICMP taught the kernel before (tnl-route.h). */
	tx->seen_mtu = tnl_route_mtu(local, remote);
	tnl_tx_refresh(tx);
	return 0;
}

/* The port's owner is told once, not per packet. */
static void
tnl_tx_gso_fail(struct tnl_tx *tx, struct port *port, int error)
{
	tx->gso = TNL_GSO_FAILED;
	tx->gso_error = error;
	if (port != NULL)
		dp_port_event(port, PORT_EV_GSO_FALLBACK, error);
	for (int i = 0; i < TNL_TX_SOCKS; i++)
		tnl_tx_nocheck(tx->fds[i], tx->family, true);
}

/*
 * Probing: UDP_SEGMENT as a socket option (a default gso_size; 0 is none)
 * exists where the control message does.
 */
void
tnl_tx_set_gso(struct tnl_tx *tx, struct port *port, bool on)
{
	int	zero = 0, error;

	if (!on) {
		tx->gso = TNL_GSO_OFF;
		tx->gso_error = 0;
		for (int i = 0; i < TNL_TX_SOCKS; i++)
			tnl_tx_nocheck(tx->fds[i], tx->family, true);
		return;
	}
	/* Only a switch turned off and on again retries after a failure. */
	if (tx->gso != TNL_GSO_OFF)
		return;
	for (int i = 0; i < TNL_TX_SOCKS; i++) {
		if (setsockopt(tx->fds[i], SOL_UDP, UDP_SEGMENT, &zero,
		    sizeof(zero)) == -1)
			error = errno;
		else
			error = tnl_tx_nocheck(tx->fds[i], tx->family, false);
		if (error != 0) {
			tnl_tx_gso_fail(tx, port, error);
			return;
		}
	}
	tx->gso = TNL_GSO_ON;
	tx->gso_error = 0;
}

void
tnl_tx_close(struct tnl_tx *tx)
{
	for (int i = 0; i < TNL_TX_SOCKS; i++) {
		if (tx->fds[i] != -1)
			close(tx->fds[i]);
		tx->fds[i] = -1;
	}
}

static void
tnl_tx_set_mtus(struct tnl_tx *tx)
{
	tx->path_mtu = tx->kernel_mtu > tx->min_mtu ? tx->kernel_mtu :
	    tx->min_mtu;
	tx->link_mtu = tx->seen_mtu > tx->min_mtu ? tx->seen_mtu :
	    tx->min_mtu;
}

/* Every socket goes to the same remote: the first one speaks for all. */
void
tnl_tx_refresh(struct tnl_tx *tx)
{
	socklen_t	len = sizeof(int);
	int		mtu;

	if (tx->family == AF_INET6) {
		if (getsockopt(tx->fds[0], IPPROTO_IPV6, IPV6_MTU, &mtu,
		    &len) == -1)
			return;
	} else if (getsockopt(tx->fds[0], IPPROTO_IP, IP_MTU, &mtu, &len) ==
	    -1)
		return;
	if (mtu <= 0)
		return;
	tx->kernel_mtu = mtu;
	if (mtu > tx->seen_mtu)
		tx->seen_mtu = mtu;
	tnl_tx_set_mtus(tx);
}

int
tnl_tx_check_min_mtu(int family, int mtu, char *err, size_t errlen)
{
	int	low = family == AF_INET6 ? TNL_MIN_MTU_LOW6 : TNL_MIN_MTU_LOW;

	if (mtu == 0 || (mtu >= low && mtu <= TNL_MIN_MTU_HIGH))
		return 0;
	snprintf(err, errlen, "invalid min-mtu '%d' over IPv%d (0 for none, "
	    "or %d to %d)", mtu, family == AF_INET6 ? 6 : 4, low,
	    TNL_MIN_MTU_HIGH);
	return EINVAL;
}

void
tnl_tx_set_min_mtu(struct tnl_tx *tx, int mtu)
{
	tx->min_mtu = mtu;
	tnl_tx_set_mtus(tx);
}

/* Shows the datagrams of messages m to m + n - 1 on socket s to a capture. */
static void
tnl_tx_capture(const struct tnl_tx *tx, struct port *port, unsigned s,
    unsigned m, unsigned n)
{
	struct port_outer	o = {
		.src = (const struct sockaddr *)&tx->src[s],
		.dst = (const struct sockaddr *)&tx->dst,
		.proto = IPPROTO_UDP,
	};
	unsigned		from = tx->first[s][m];
	unsigned		to = tx->first[s][m + n - 1] + tx->segs[s][m + n - 1];

	for (unsigned k = from; k < to; k++) {
		const struct iovec	*iov = tx->iov[s][k];

		o.hdr = iov[0].iov_base;
		o.hlen = iov[0].iov_len;
		o.data = iov[1].iov_base;
		o.len = iov[1].iov_len;
		port_capture_outer(port, PORT_DIR_TX, &o);
	}
}

/*
 * Makes the messages of socket s from message m and datagram k on: runs of
 * datagrams with GSO, else one datagram each.
 */
static void
tnl_tx_build(struct tnl_tx *tx, unsigned s, unsigned m, unsigned k)
{
	uint32_t	max = TNL_GSO_BYTES - tx->outer;
	unsigned	n = tx->count[s], run;

	for (; k < n; k += run, m++) {
		struct msghdr	*mh = &tx->msgs[s][m].msg_hdr;

		/*
		 * A datagram to fragment is longer than any other: no run
		 * from a shorter one reaches it, and it goes alone.
		 */
		run = tx->gso == TNL_GSO_ON && !tx->frag[s][k] ?
		    tnl_gso_run(&tx->lens[s][k], n - k, max) : 1;
		*mh = (struct msghdr){
			.msg_iov = tx->iov[s][k],
			.msg_iovlen = 2 * run,
		};
		tx->first[s][m] = (uint8_t)k;
		tx->segs[s][m] = (uint8_t)run;
		tx->mfrag[s][m] = tx->frag[s][k];
		if (run > 1)
			tnl_gso_cmsg(mh, &tx->cmsg[s][m],
			    (uint16_t)tx->lens[s][k]);
	}
	tx->nmsgs[s] = m;
}

/* Counts the datagrams of message m of socket s as sent. */
static void
tnl_tx_sent(struct tnl_tx *tx, struct port *port, unsigned s, unsigned m)
{
	unsigned	k = tx->first[s][m], n = tx->segs[s][m];

	if (n > 1) {
		tx->gso_msgs++;
		tx->gso_segs += n;
	}
	if (tx->mfrag[s][m])
		tx->fragmented++;
	for (; n > 0; n--, k++) {
		port->stats.tx_packets++;
		port->stats.tx_bytes += tx->pkts[s][k]->len;
	}
}

static void
tnl_tx_drop(struct port *port, unsigned n, enum drop_reason why)
{
	for (; n > 0; n--)
		port_drop(port, why);
}

/*
 * The errors a connected socket keeps from an ICMP error and fails its next
 * send with: the ones that reach a socket without IP_RECVERR
 * (icmp_err_convert(), icmpv6_err_convert() in the kernel).
 */
static bool
tnl_tx_icmp_errno(int error)
{
	switch (error) {
	case ECONNREFUSED:	/* port unreachable */
	case ENOPROTOOPT:	/* protocol unreachable */
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENONET:
	case EACCES:		/* IPv6: administratively prohibited */
	case EPROTO:		/* parameter problem */
	case EMSGSIZE:		/* fragmentation needed, packet too big */
		return true;
	default:
		return false;
	}
}

/* How many messages of socket s from m on go alike: fragmented or not. */
static unsigned
tnl_tx_span(const struct tnl_tx *tx, unsigned s, unsigned m)
{
	unsigned	k = m + 1;

	while (k < tx->nmsgs[s] && tx->mfrag[s][k] == tx->mfrag[s][m])
		k++;
	return k - m;
}

/* Best effort: a socket left as it was sends the datagram whole (DF). */
static void
tnl_tx_frag_mode(struct tnl_tx *tx, unsigned s, bool frag)
{
	if (tx->frag_mode[s] != frag &&
	    tnl_tx_pmtudisc(tx->fds[s], tx->family, frag) == 0)
		tx->frag_mode[s] = frag;
}

/*
 * A message that fails is counted and skipped, or as tnl_send_failure()
 * says; but one that fails with an error an ICMP may have left (see
 * tnl-tx.h) is tried again first, up to TNL_TX_TRIES times.
 */
static void
tnl_tx_flush(struct tnl_tx *tx, struct port *port, unsigned s)
{
	unsigned	i = 0, n, segs, tries = 0;
	int		sent, error;

	while (i < (n = tx->nmsgs[s])) {
		tnl_tx_frag_mode(tx, s, tx->mfrag[s][i]);
		sent = sendmmsg(tx->fds[s], &tx->msgs[s][i],
		    tnl_tx_span(tx, s, i), 0);
		if (sent > 0 && port->hook != NULL)
			tnl_tx_capture(tx, port, s, i, (unsigned)sent);
		if (sent > 0) {
			/* What failed before was only an ICMP reported. */
			tx->icmp_errors += tries;
			tries = 0;
			for (; sent > 0; sent--, i++)
				tnl_tx_sent(tx, port, s, i);
			continue;
		}
		error = errno;
		if (tnl_tx_icmp_errno(error) && ++tries < TNL_TX_TRIES)
			continue;
		segs = tx->segs[s][i];
		switch (tnl_send_failure(error, segs)) {
		case TNL_SEND_AGAIN:
			continue;
		case TNL_SEND_FULL:
			for (; i < n; i++)
				tnl_tx_drop(port, tx->segs[s][i],
				    DROP_TX_FULL);
			tnl_tx_frag_mode(tx, s, false);
			return;
		case TNL_SEND_NO_GSO:
			tries = 0;
			tnl_tx_gso_fail(tx, port, error);
			tnl_tx_build(tx, s, i, tx->first[s][i]);
			continue;
		case TNL_SEND_ERROR:
			tnl_tx_drop(port, segs, DROP_TX_ERROR);
			port->stats.tx_errors++;
			break;
		case TNL_SEND_TOO_BIG:
			tnl_tx_drop(port, segs, DROP_TOO_BIG);
			tnl_tx_refresh(tx);
			break;
		}
		tries = 0;
		i++;
	}
	tnl_tx_frag_mode(tx, s, false);
}

void
tnl_tx_send(struct tnl_tx *tx, struct port *port, const struct pkt_batch *b,
    const uint8_t *hdr, size_t hlen, enum tnl_payload payload)
{
	size_t	room = 0, whole = 0;

	if ((size_t)tx->link_mtu > tx->outer + hlen)
		room = (size_t)tx->link_mtu - tx->outer - hlen;
	if ((size_t)tx->path_mtu > tx->outer + hlen)
		whole = (size_t)tx->path_mtu - tx->outer - hlen;
	memset(tx->count, 0, sizeof(tx->count));
	for (unsigned i = 0; i < b->count; i++) {
		const struct pkt	*p = b->pkts[i];
		unsigned		 s, k;

		if (p->len > room) {
			port_drop(port, DROP_TOO_BIG);
			continue;
		}
		s = tnl_flow_hash(p->data, p->len, payload) % TNL_TX_SOCKS;
		k = tx->count[s]++;
		tx->frag[s][k] = p->len > whole;
		tx->iov[s][k][0].iov_base = (void *)hdr;
		tx->iov[s][k][0].iov_len = hlen;
		tx->iov[s][k][1].iov_base = p->data;
		tx->iov[s][k][1].iov_len = p->len;
		tx->lens[s][k] = (uint32_t)(hlen + p->len);
		tx->pkts[s][k] = p;
	}
	for (unsigned s = 0; s < TNL_TX_SOCKS; s++) {
		if (tx->count[s] == 0)
			continue;
		tnl_tx_build(tx, s, 0, 0);
		tnl_tx_flush(tx, port, s);
	}
}
