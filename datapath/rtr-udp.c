/*
 * rtr-udp.c - UDP to the router's own addresses, for a layer that listens.
 *
 * The router answers what is addressed to it and drops the rest as
 * "local".  A tunnel carried by an L3 port (its outer datagrams routed in
 * and out of that port rather than through a kernel socket) needs the UDP
 * datagrams that arrive on that port for its local address and port: it
 * registers a struct rtr_udp_sink, and the router hands it those
 * datagrams instead, their UDP header checked and pulled, with the source
 * address and port.  The datapath knows nothing of what listens (STYLE 11).
 *
 * A sink names its port rather than pointing at it, so a port deleted and
 * made again keeps its sinks, and a sink never outlives a pointer.  Only
 * whole datagrams go to a sink: IPv4 fragments and super-frames go the way
 * they went before (answered or dropped as local).  Per packet this costs
 * nothing unless it is UDP to the router and some sink listens, then a
 * walk of the sinks (one per tunnel endpoint carried by an L3 port).
 *
 * Datagrams are gathered per sink while a batch is routed and handed over
 * once at its end (rtr_udp_flush()), so a sink sees batches as a socket's
 * reader would.  A sink's rx may forward what it got (a tunnel port's
 * input), which may route again: the active list is popped, never walked,
 * so that is safe, and it has room for two batches' sinks, the outer
 * batch's that wait and the inner's (a datagram beyond that is dropped as
 * no_buffer; tunnels carried via a port carry nothing themselves, so
 * routing nests once at most).
 */
#include <netinet/in.h>
#include <errno.h>
#include <string.h>

#include "be.h"
#include "csum.h"
#include "dp.h"
#include "gso.h"
#include "router.h"

#define UDP_HLEN	8
#define RTR_UDP_ACTIVE	(sizeof(((struct rtr *)0)->udp_active) / \
			    sizeof(((struct rtr *)0)->udp_active[0]))

static bool
sink_addr_is(const struct sockaddr_storage *a, int family,
    const uint8_t *addr, uint16_t port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)a;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)a;

	if (a->ss_family != family)
		return false;
	if (family == AF_INET)
		return be16_get((const uint8_t *)&sin->sin_port) == port &&
		    memcmp(&sin->sin_addr, addr, 4) == 0;
	return be16_get((const uint8_t *)&sin6->sin6_port) == port &&
	    memcmp(&sin6->sin6_addr, addr, 16) == 0;
}

static struct rtr_udp_sink *
sink_find(const struct rtr *r, const char *port, int family,
    const uint8_t *addr, uint16_t uport)
{
	struct rtr_udp_sink	*s;

	LIST_FOREACH(s, &r->udp_sinks, entry)
		if (sink_addr_is(&s->local, family, addr, uport) &&
		    strcmp(s->port, port) == 0)
			return s;
	return NULL;
}

int
rtr_udp_listen(struct dp *dp, struct rtr_udp_sink *s)
{
	struct rtr	*r = dp->rtr;
	const uint8_t	*addr;

	if (s->local.ss_family == AF_INET)
		addr = (const uint8_t *)&((struct sockaddr_in *)
		    &s->local)->sin_addr;
	else if (s->local.ss_family == AF_INET6)
		addr = (const uint8_t *)&((struct sockaddr_in6 *)
		    &s->local)->sin6_addr;
	else
		return EAFNOSUPPORT;
	if (sink_find(r, s->port, s->local.ss_family, addr,
	    be16_get((const uint8_t *)&((struct sockaddr_in *)
	    &s->local)->sin_port)) != NULL)
		return EADDRINUSE;
	s->n = 0;
	LIST_INSERT_HEAD(&r->udp_sinks, s, entry);
	return 0;
}

void
rtr_udp_unlisten(struct dp *dp, struct rtr_udp_sink *s)
{
	struct rtr	*r = dp->rtr;

	for (unsigned i = 0; i < r->nudp_active; i++)
		if (r->udp_active[i] == s) {
			r->udp_active[i] = r->udp_active[--r->nudp_active];
			break;
		}
	for (unsigned i = 0; i < s->n; i++)
		pkt_free(s->pkts[i]);
	s->n = 0;
	LIST_REMOVE(s, entry);
}

/* Verifies the UDP checksum of the datagram at udp, ulen bytes. */
static bool
udp_csum_ok(const struct pkt *p, const uint8_t *ip, const uint8_t *udp,
    unsigned ulen)
{
	unsigned	ver = ip_version(ip);
	uint64_t	sum;

	/* Checked, or owed, by the host that handed it to us (a tun). */
	if (p->vnet.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM |
	    VIRTIO_NET_HDR_F_DATA_VALID))
		return true;
	/* Zero: none over IPv4; never allowed over IPv6 (RFC 8200 8.1). */
	if (be16_get(udp + 6) == 0)
		return ver == 4;
	sum = csum_pseudo(ip, ver, IPPROTO_UDP, ulen);
	sum = csum_add(sum, udp, ulen);
	return csum_verify(sum) == 0;
}

static void
sink_deliver(struct rtr *r, struct rtr_udp_sink *s)
{
	unsigned	n = s->n;

	s->n = 0;
	s->rx(s->arg, s->pkts, s->from, n, r->now);
}

bool
rtr_udp_take(struct dp *dp, struct port *in, struct pkt *p, unsigned hlen)
{
	struct rtr		*r = dp->rtr;
	struct rtr_udp_sink	*s;
	struct sockaddr_storage	*from;
	const uint8_t		*ip = p->data, *udp = ip + hlen;
	bool			 v4 = ip_version(ip) == 4;
	int			 family = v4 ? AF_INET : AF_INET6;
	unsigned		 ulen;

	if (LIST_EMPTY(&r->udp_sinks) || p->len < hlen + UDP_HLEN ||
	    p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return false;
	if (v4 && (be16_get(ip + IP4_OFF_FRAG) & (IP4_MF | IP4_OFFMASK)))
		return false;
	if ((s = sink_find(r, in->name, family, ip + (v4 ? IP4_OFF_DST :
	    IP6_OFF_DST), be16_get(udp + 2))) == NULL)
		return false;

	r->stats.local++;
	ulen = be16_get(udp + 4);
	if (ulen < UDP_HLEN || ulen > p->len - hlen) {
		port_drop(in, DROP_BAD_LENGTH);
		goto free;
	}
	if (!udp_csum_ok(p, ip, udp, ulen)) {
		port_drop(in, DROP_BAD_CHECKSUM);
		goto free;
	}
	if (s->n == 0 && r->nudp_active == RTR_UDP_ACTIVE) {
		port_drop(in, DROP_NO_BUFFER);
		goto free;
	}
	from = &s->from[s->n];
	memset(from, 0, sizeof(*from));
	if (v4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)from;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, ip + IP4_OFF_SRC, 4);
		memcpy(&sin->sin_port, udp, 2);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)from;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, ip + IP6_OFF_SRC, 16);
		memcpy(&sin6->sin6_port, udp, 2);
	}
	p->len = hlen + ulen;
	/*
	 * A checksum the sender left to us (a kernel vxlan over a tun with
	 * offloads leaves the inner TCP's) is finished now: the layer above
	 * pulls headers of its own and keeps no offload state.
	 */
	if ((p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && gso_csum(p) != 0) {
		port_drop(in, DROP_BAD_OFFLOAD);
		goto free;
	}
	pkt_pull(p, hlen + UDP_HLEN);
	memset(&p->vnet, 0, sizeof(p->vnet));
	if (s->n == 0)
		r->udp_active[r->nudp_active++] = s;
	s->pkts[s->n++] = p;
	if (s->n == PKT_BATCH_MAX) {
		for (unsigned i = 0; i < r->nudp_active; i++)
			if (r->udp_active[i] == s) {
				r->udp_active[i] =
				    r->udp_active[--r->nudp_active];
				break;
			}
		sink_deliver(r, s);
	}
	return true;

free:
	pkt_free(p);
	return true;
}

void
rtr_udp_flush(struct dp *dp)
{
	struct rtr	*r = dp->rtr;

	while (r->nudp_active > 0)
		sink_deliver(r, r->udp_active[--r->nudp_active]);
}
