/*
 * l3-forward.c - IP forwarding: validate, look up, decrement, queue.
 *
 * Each packet of a batch is consumed exactly once: queued on an egress
 * port (which then owns it), answered locally, or counted under one drop
 * reason of the port it came in on (too_big on the egress port) and freed.
 * Queues are flushed once at the end of the batch, and earlier for a queue
 * that fills up (fragments and errors can add more than one packet per
 * input packet).
 *
 * A packet from a tun that takes offloads, or coalesced at a tunnel's
 * ingress, may be a super-frame (p->vnet, gso.h): it is checked once here,
 * forwarded like any packet, and port_send() hands it whole to a port that
 * takes it or segments it for one that does not.  Its size on the wire is
 * that of its segments, so that is what meets the egress MTU.  A super-frame
 * is never IP-fragmented: one whose segments do not fit is answered with
 * Fragmentation Needed (DF, and always for IPv6) or dropped as too_big.
 */
#include <netinet/in.h>
#include <string.h>

#include "dp.h"
#include "gso.h"
#include "icmp.h"
#include "router.h"

/* What l3_ip4() and l3_ip6() return once they have consumed the packet. */
#define L3_DONE		DROP__MAX

static void
l3_drop(struct port *port, struct pkt *p, enum drop_reason why)
{
	port_drop(port, why);
	pkt_free(p);
}

/* Sources and destinations no router forwards (RFC 1812 5.3.7). */
static bool
ip4_martian(const uint8_t *src, const uint8_t *dst)
{
	return src[0] == 0 || src[0] == 127 || src[0] >= 224 ||
	    dst[0] == 0 || dst[0] == 127;
}

static bool
ip6_is_multicast(const uint8_t *a)
{
	return a[0] == 0xff;
}

static bool
ip6_is_linklocal(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/* Unspecified (::) or loopback (::1). */
static bool
ip6_is_special(const uint8_t *a)
{
	static const uint8_t	zero[15];

	return memcmp(a, zero, 15) == 0 && a[15] <= 1;
}

/* Link-local addresses never leave their link (RFC 4291 2.5.6). */
static bool
ip6_martian(const uint8_t *src, const uint8_t *dst)
{
	return ip6_is_multicast(src) || ip6_is_special(src) ||
	    ip6_is_special(dst) || ip6_is_linklocal(src) ||
	    ip6_is_linklocal(dst);
}

struct frag_ctx {
	struct dp	*dp;
	struct port	*out;
};

static void
emit_fragment(struct pkt *p, void *arg)
{
	struct frag_ctx	*ctx = arg;

	dp_enqueue(ctx->dp, ctx->out, p);
}

/*
 * What p is on the egress link: its segments' size for a super-frame, in
 * *len, with false for offload state gso.h would refuse.
 */
static bool
l3_wire_len(const struct pkt *p, unsigned *len)
{
	struct gso_iter	it;

	*len = p->len;
	if (p->vnet.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return true;
	if (gso_start(&it, p, INET_L3) != 0)
		return false;
	*len = gso_wire_len(p, INET_L3);
	return true;
}

/*
 * The route for dst, its Use counted, or NULL after answering with
 * Destination Unreachable, with the drop reason in *why.
 */
static struct port *
l3_route(struct dp *dp, struct port *in, struct pkt *p, int family,
    const uint8_t *dst, enum drop_reason *why)
{
	struct rt_table	*t = rtr_table(dp->rtr, family);
	struct rt_route	*r = rt_lookup(t, dst);
	struct port	*out;
	bool		 v4 = family == AF_INET;

	if (r != NULL && r->type == RT_REJECT) {
		r->use++;
		icmp_error(dp, in, p, v4 ? ICMP_UNREACH : ICMP6_UNREACH,
		    v4 ? ICMP_UNREACH_HOST : ICMP6_UNREACH_REJECT, 0);
		*why = DROP_REJECT;
		return NULL;
	}
	if (r == NULL || (out = rt_nexthop(t, r)) == NULL) {
		icmp_error(dp, in, p, v4 ? ICMP_UNREACH : ICMP6_UNREACH,
		    v4 ? ICMP_UNREACH_NET : ICMP6_UNREACH_NOROUTE, 0);
		*why = DROP_NO_ROUTE;
		return NULL;
	}
	r->use++;
	return out;
}

static enum drop_reason
l3_ip4(struct dp *dp, struct port *in, struct pkt *p)
{
	uint8_t		*h = p->data;
	struct port	*out;
	struct frag_ctx	 ctx;
	enum drop_reason why;
	unsigned	 hlen, total, wire, n;
	uint16_t	 old;

	if (p->len < IP4_HLEN)
		return DROP_TRUNCATED;
	if ((hlen = (h[IP4_OFF_VHL] & 0x0f) * 4u) < IP4_HLEN)
		return DROP_BAD_LENGTH;
	if (p->len < hlen)
		return DROP_TRUNCATED;
	if (ip_sum(h, hlen, 0) != 0xffff)
		return DROP_BAD_CHECKSUM;
	if ((total = be16_get(h + IP4_OFF_LEN)) < hlen)
		return DROP_BAD_LENGTH;
	if (total > p->len)
		return DROP_TRUNCATED;
	p->len = total;		/* link-layer padding is not ours to send */
	if (!l3_wire_len(p, &wire))
		return DROP_BAD_OFFLOAD;

	if (h[IP4_OFF_DST] >= 224)
		return DROP_MULTICAST;
	if (ip4_martian(h + IP4_OFF_SRC, h + IP4_OFF_DST))
		return DROP_BAD_ADDRESS;
	if (rtr_is_local(dp->rtr, AF_INET, h + IP4_OFF_DST)) {
		if (h[IP4_OFF_PROTO] == IPPROTO_UDP &&
		    rtr_udp_take(dp, in, p, hlen))
			return L3_DONE;
		icmp_local(dp, in, p);
		return L3_DONE;
	}
	if ((out = l3_route(dp, in, p, AF_INET, h + IP4_OFF_DST, &why)) ==
	    NULL)
		return why;
	if (h[IP4_OFF_TTL] <= 1) {
		icmp_error(dp, in, p, ICMP_TIMXCEED, 0, 0);
		return DROP_TTL_EXCEEDED;
	}
	if (wire > (unsigned)out->mtu &&
	    (be16_get(h + IP4_OFF_FRAG) & IP4_DF)) {
		icmp_error(dp, in, p, ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG,
		    (uint32_t)out->mtu);
		l3_drop(out, p, DROP_TOO_BIG);
		return L3_DONE;
	}
	if (wire > (unsigned)out->mtu &&
	    p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		l3_drop(out, p, DROP_TOO_BIG);
		return L3_DONE;
	}

	old = be16_get(h + IP4_OFF_TTL);
	h[IP4_OFF_TTL]--;
	ip_csum_update16(h + IP4_OFF_CSUM, old, be16_get(h + IP4_OFF_TTL));
	dp->rtr->stats.forwarded++;
	if (wire <= (unsigned)out->mtu) {
		dp_enqueue(dp, out, p);
		return L3_DONE;
	}
	/* Fragments cannot owe a checksum: it is finished first. */
	if (gso_csum(p) != 0)
		return DROP_BAD_OFFLOAD;
	ctx.dp = dp;
	ctx.out = out;
	if ((n = ip4_fragment(dp->pool, p, (unsigned)out->mtu, emit_fragment,
	    &ctx)) == 0)
		return DROP_NO_BUFFER;
	dp->rtr->stats.fragmented++;
	dp->rtr->stats.fragments += n;
	pkt_free(p);
	return L3_DONE;
}

static enum drop_reason
l3_ip6(struct dp *dp, struct port *in, struct pkt *p)
{
	uint8_t		*h = p->data;
	struct port	*out;
	enum drop_reason why;
	unsigned	 total, wire;

	if (p->len < IP6_HLEN)
		return DROP_TRUNCATED;
	if ((total = IP6_HLEN + be16_get(h + IP6_OFF_PLEN)) > p->len)
		return DROP_TRUNCATED;
	p->len = total;
	if (!l3_wire_len(p, &wire))
		return DROP_BAD_OFFLOAD;

	if (ip6_is_multicast(h + IP6_OFF_DST))
		return DROP_MULTICAST;
	if (ip6_martian(h + IP6_OFF_SRC, h + IP6_OFF_DST))
		return DROP_BAD_ADDRESS;
	if (rtr_is_local(dp->rtr, AF_INET6, h + IP6_OFF_DST)) {
		if (h[IP6_OFF_NXT] == IPPROTO_UDP &&
		    rtr_udp_take(dp, in, p, IP6_HLEN))
			return L3_DONE;
		icmp_local(dp, in, p);
		return L3_DONE;
	}
	if ((out = l3_route(dp, in, p, AF_INET6, h + IP6_OFF_DST, &why)) ==
	    NULL)
		return why;
	if (h[IP6_OFF_HLIM] <= 1) {
		icmp_error(dp, in, p, ICMP6_TIME_EXCEEDED, 0, 0);
		return DROP_TTL_EXCEEDED;
	}
	if (wire > (unsigned)out->mtu) {
		icmp_error(dp, in, p, ICMP6_PACKET_TOO_BIG, 0,
		    (uint32_t)out->mtu);
		l3_drop(out, p, DROP_TOO_BIG);
		return L3_DONE;
	}
	h[IP6_OFF_HLIM]--;
	dp->rtr->stats.forwarded++;
	dp_enqueue(dp, out, p);
	return L3_DONE;
}

void
rtr_input(struct dp *dp, struct port *in, struct pkt_batch *b)
{
	enum drop_reason	why;

	dp->rtr->batch_ms = 0;
	port_capture(in, PORT_DIR_RX, b);
	for (unsigned i = 0; i < b->count; i++) {
		struct pkt *p = b->pkts[i];

		if (p->len == 0)
			why = DROP_TRUNCATED;
		else if (ip_version(p->data) == 4)
			why = l3_ip4(dp, in, p);
		else if (ip_version(p->data) == 6)
			why = l3_ip6(dp, in, p);
		else
			why = DROP_BAD_VERSION;
		if (why != L3_DONE)
			l3_drop(in, p, why);
	}
	b->count = 0;
	dp_flush(dp);
	rtr_udp_flush(dp);
}
