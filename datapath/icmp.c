/*
 * icmp.c - ICMP and ICMPv6 errors, echo replies, and their rate limit.
 *
 * Errors follow RFC 1812 4.3.2 and RFC 4443 2.4: none about an ICMP error,
 * a non-first fragment or a packet to a multicast group (IPv6 Packet Too Big
 * excepted); they quote as much of the offending packet as keeps the error
 * within 576 bytes (IPv4) or the IPv6 minimum MTU; and they are routed like
 * any packet the router sends, through the table, to the packet's source.
 *
 * What the router sends carries no offload state (p->vnet all zero).  An
 * error about a super-frame quotes it as its first segment would be on the
 * wire: the quoted IP length is the segment's, not the super-frame's.
 */
#include <string.h>
#include <time.h>

#include "dp.h"
#include "gso.h"
#include "icmp.h"
#include "router.h"

#define ICMP4_MAX	576

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * A token bucket: rate / scale tokens a second, at most burst in store,
 * counted in 1 / (1000 * scale) of a token so that a slow rate still
 * refills a little every millisecond.  Takes one if there is one.
 */
static bool
icmp_take(uint64_t *tokens, uint64_t *last_ms, uint64_t now, uint64_t rate,
    unsigned burst, unsigned scale)
{
	uint64_t	cap = (uint64_t)burst * 1000 * scale;

	if (now > *last_ms) {
		*tokens += (now - *last_ms) * rate;
		if (*tokens > cap)
			*tokens = cap;
		*last_ms = now;
	}
	if (*tokens < 1000 * (uint64_t)scale)
		return false;
	*tokens -= 1000 * (uint64_t)scale;
	return true;
}

/* The bucket of the source addr: found, or the set's stalest one, full. */
static struct rtr_icmp_src *
icmp_src_bucket(struct rtr *r, int family, const uint8_t *addr, uint64_t now)
{
	size_t			 len = family == AF_INET ? 4 : 16;
	struct rtr_icmp_src	*set, *b;
	uint32_t		 h = r->icmp_seed ^ (uint32_t)family;

	for (size_t i = 0; i < len; i++)	/* FNV-1a, keyed */
		h = (h ^ addr[i]) * 16777619u;
	h ^= h >> 15;
	set = r->icmp_src[h % RTR_ICMP_SRC_SETS];
	b = &set[0];
	for (int w = 0; w < RTR_ICMP_SRC_WAYS; w++) {
		if (set[w].family == family && memcmp(set[w].addr, addr,
		    len) == 0)
			return &set[w];
		if (set[w].last_ms < b->last_ms)
			b = &set[w];
	}
	memset(b, 0, sizeof(*b));
	b->family = (uint8_t)family;
	memcpy(b->addr, addr, len);
	b->tokens = (uint64_t)r->icmp_burst * 1000 * RTR_ICMP_SRC_SHARE;
	b->last_ms = now;
	return b;
}

/*
 * Whether an error may go to dst: its source's bucket first, then the
 * global one, which a token the source's bucket gave is returned to if the
 * global bucket says no (the source sent nothing).
 */
static bool
icmp_allow(struct rtr *r, int family, const uint8_t *dst)
{
	struct rtr_icmp_src	*b;
	uint64_t		 now;

	if (r->batch_ms == 0)
		r->batch_ms = now_ms() | 1;
	now = r->batch_ms;
	b = icmp_src_bucket(r, family, dst, now);
	if (!icmp_take(&b->tokens, &b->last_ms, now, r->icmp_rate,
	    r->icmp_burst, RTR_ICMP_SRC_SHARE))
		return false;
	if (icmp_take(&r->icmp_tokens, &r->icmp_last_ms, now, r->icmp_rate,
	    r->icmp_burst, 1))
		return true;
	b->tokens += 1000 * RTR_ICMP_SRC_SHARE;
	return false;
}

/* Sends a packet the router originates, through the table; consumes p. */
static void
icmp_send(struct dp *dp, struct pkt *p, int family, const uint8_t *dst)
{
	struct rt_table	*t = rtr_table(dp->rtr, family);
	struct rt_route	*r = rt_lookup(t, dst);
	struct port	*out;

	if (r == NULL || (out = rt_nexthop(t, r)) == NULL) {
		dp->rtr->stats.icmp_no_route++;
		pkt_free(p);
		return;
	}
	r->use++;
	dp_enqueue(dp, out, p);
}

static const struct ip_prefix *
icmp_source(const struct rtr *r, const struct port *in, int family)
{
	const struct ip_prefix	*c[3];

	if (family == AF_INET) {
		c[0] = &in->addr4;
		c[1] = &r->addr4;
		c[2] = &r->fallback4;
	} else {
		c[0] = &in->addr6;
		c[1] = &r->addr6;
		c[2] = &r->fallback6;
	}
	for (int i = 0; i < 3; i++)
		if (c[i]->family == family)
			return c[i];
	return NULL;
}

/* Whether RFC 1812 lets us answer this (valid) IPv4 packet with an error. */
static bool
icmp4_may_answer(const struct pkt *p)
{
	const uint8_t	*h = p->data;
	unsigned	 hlen = (h[IP4_OFF_VHL] & 0x0f) * 4u;
	uint8_t		 type;

	if (be16_get(h + IP4_OFF_FRAG) & IP4_OFFMASK)
		return false;
	if (h[IP4_OFF_PROTO] != IPPROTO_ICMP)
		return true;
	if (p->len < hlen + 1)
		return false;
	type = h[hlen];
	return type != ICMP_UNREACH && type != 4 && type != 5 &&
	    type != ICMP_TIMXCEED && type != 12;
}

static bool
icmp6_may_answer(const struct pkt *p, uint8_t type)
{
	const uint8_t	*h = p->data;

	if (h[IP6_OFF_NXT] == IPPROTO_ICMPV6 &&
	    (p->len <= IP6_HLEN || h[IP6_HLEN] < 128))
		return false;
	return h[IP6_OFF_DST] != 0xff || type == ICMP6_PACKET_TOO_BIG;
}

/* The quoted IP header q of super-frame p: as its first segment's. */
static void
icmp_quote_segment(const struct pkt *p, uint8_t *q, uint32_t quote)
{
	uint32_t	seg = gso_wire_len(p, INET_L3);
	unsigned	hlen;

	if (p->vnet.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return;
	if (ip_version(q) == 6) {
		be16_put(q + IP6_OFF_PLEN, (uint16_t)(seg - IP6_HLEN));
		return;
	}
	hlen = (q[IP4_OFF_VHL] & 0x0f) * 4u;
	if (hlen > quote)
		return;
	be16_put(q + IP4_OFF_LEN, (uint16_t)seg);
	be16_put(q + IP4_OFF_CSUM, 0);
	be16_put(q + IP4_OFF_CSUM, ip_csum(q, hlen));
}

static void
icmp4_build(struct rtr *r, struct pkt *e, const uint8_t *src,
    const struct pkt *p, uint8_t type, uint8_t code, uint32_t info)
{
	uint32_t	 quote = p->len;
	uint8_t		*h = e->data, *icmp = h + IP4_HLEN;

	if (quote > ICMP4_MAX - IP4_HLEN - ICMP_HLEN)
		quote = ICMP4_MAX - IP4_HLEN - ICMP_HLEN;
	e->len = IP4_HLEN + ICMP_HLEN + quote;
	memset(h, 0, IP4_HLEN + ICMP_HLEN);
	h[IP4_OFF_VHL] = 0x45;
	h[IP4_OFF_TOS] = 0xc0;		/* internetwork control */
	be16_put(h + IP4_OFF_LEN, (uint16_t)e->len);
	be16_put(h + IP4_OFF_ID, r->ip_id++);
	h[IP4_OFF_TTL] = IP_TTL_DEFAULT;
	h[IP4_OFF_PROTO] = IPPROTO_ICMP;
	memcpy(h + IP4_OFF_SRC, src, 4);
	memcpy(h + IP4_OFF_DST, p->data + IP4_OFF_SRC, 4);
	be16_put(h + IP4_OFF_CSUM, ip_csum(h, IP4_HLEN));
	icmp[0] = type;
	icmp[1] = code;
	be32_put(icmp + 4, info);	/* next-hop MTU in the low half */
	memcpy(icmp + ICMP_HLEN, p->data, quote);
	icmp_quote_segment(p, icmp + ICMP_HLEN, quote);
	be16_put(icmp + 2, ip_csum(icmp, ICMP_HLEN + quote));
}

static void
icmp6_build(struct pkt *e, const uint8_t *src, const struct pkt *p,
    uint8_t type, uint8_t code, uint32_t info)
{
	uint32_t	 quote = p->len;
	uint8_t		*h = e->data, *icmp = h + IP6_HLEN;

	if (quote > IP6_MIN_MTU - IP6_HLEN - ICMP_HLEN)
		quote = IP6_MIN_MTU - IP6_HLEN - ICMP_HLEN;
	e->len = IP6_HLEN + ICMP_HLEN + quote;
	memset(h, 0, IP6_HLEN + ICMP_HLEN);
	h[0] = 0x60;
	be16_put(h + IP6_OFF_PLEN, (uint16_t)(ICMP_HLEN + quote));
	h[IP6_OFF_NXT] = IPPROTO_ICMPV6;
	h[IP6_OFF_HLIM] = IP_TTL_DEFAULT;
	memcpy(h + IP6_OFF_SRC, src, 16);
	memcpy(h + IP6_OFF_DST, p->data + IP6_OFF_SRC, 16);
	icmp[0] = type;
	icmp[1] = code;
	be32_put(icmp + 4, info);	/* the MTU of Packet Too Big */
	memcpy(icmp + ICMP_HLEN, p->data, quote);
	icmp_quote_segment(p, icmp + ICMP_HLEN, quote);
	be16_put(icmp + 2, ip6_csum(h + IP6_OFF_SRC, h + IP6_OFF_DST,
	    IPPROTO_ICMPV6, icmp, ICMP_HLEN + quote));
}

static void
icmp_count(struct rtr_stats *st, int family, uint8_t type)
{
	if (type == (family == AF_INET ? ICMP_TIMXCEED : ICMP6_TIME_EXCEEDED))
		st->icmp_time_exceeded++;
	else if (family == AF_INET6 && type == ICMP6_PACKET_TOO_BIG)
		st->icmp_frag_needed++;
	else
		st->icmp_unreachable++;
}

void
icmp_error(struct dp *dp, struct port *in, const struct pkt *p, uint8_t type,
    uint8_t code, uint32_t info)
{
	struct rtr		*r = dp->rtr;
	const struct ip_prefix	*src;
	struct pkt		*e;
	int			 family = ip_version(p->data) == 4 ? AF_INET :
				    AF_INET6;

	if (family == AF_INET ? !icmp4_may_answer(p) :
	    !icmp6_may_answer(p, type))
		return;
	if ((src = icmp_source(r, in, family)) == NULL) {
		r->stats.icmp_no_source++;
		return;
	}
	if (!icmp_allow(r, family, p->data + (family == AF_INET ?
	    IP4_OFF_SRC : IP6_OFF_SRC))) {
		r->stats.icmp_ratelimited++;
		return;
	}
	if ((e = pkt_alloc(dp->pool)) == NULL) {
		port_drop(in, DROP_NO_BUFFER);
		return;
	}
	if (family == AF_INET) {
		icmp4_build(r, e, src->addr, p, type, code, info);
		if (type == ICMP_UNREACH && code == ICMP_UNREACH_NEEDFRAG)
			r->stats.icmp_frag_needed++;
		else
			icmp_count(&r->stats, family, type);
		icmp_send(dp, e, family, e->data + IP4_OFF_DST);
	} else {
		icmp6_build(e, src->addr, p, type, code, info);
		icmp_count(&r->stats, family, type);
		icmp_send(dp, e, family, e->data + IP6_OFF_DST);
	}
}

static void
icmp_swap(uint8_t *a, uint8_t *b, size_t len)
{
	uint8_t	t[16];

	memcpy(t, a, len);
	memcpy(a, b, len);
	memcpy(b, t, len);
}

/*
 * Turns an echo request into its reply in place: swapping the addresses
 * changes neither checksum (a sum does not care about order), the type
 * word is updated incrementally, the TTL reset.
 */
static enum drop_reason
icmp4_local(struct dp *dp, struct port *in, struct pkt *p)
{
	uint8_t		*h = p->data, *icmp;
	unsigned	 hlen = (h[IP4_OFF_VHL] & 0x0f) * 4u, len;
	uint16_t	 old;

	if (be16_get(h + IP4_OFF_FRAG) & (IP4_MF | IP4_OFFMASK))
		return DROP_LOCAL;	/* no reassembly here */
	if (h[IP4_OFF_PROTO] == IPPROTO_UDP) {
		icmp_error(dp, in, p, ICMP_UNREACH, ICMP_UNREACH_PORT, 0);
		return DROP_LOCAL;
	}
	if (h[IP4_OFF_PROTO] != IPPROTO_ICMP)
		return DROP_LOCAL;
	icmp = h + hlen;
	if ((len = p->len - hlen) < ICMP_HLEN)
		return DROP_TRUNCATED;
	if (ip_sum(icmp, len, 0) != 0xffff)
		return DROP_BAD_CHECKSUM;
	if (icmp[0] != ICMP_ECHO)
		return DROP_LOCAL;
	/* The reply is p itself, complete whatever p->vnet said. */
	memset(&p->vnet, 0, sizeof(p->vnet));
	icmp_swap(h + IP4_OFF_SRC, h + IP4_OFF_DST, 4);
	old = be16_get(icmp);
	icmp[0] = ICMP_ECHOREPLY;
	ip_csum_update16(icmp + 2, old, be16_get(icmp));
	old = be16_get(h + IP4_OFF_TTL);
	h[IP4_OFF_TTL] = IP_TTL_DEFAULT;
	ip_csum_update16(h + IP4_OFF_CSUM, old, be16_get(h + IP4_OFF_TTL));
	dp->rtr->stats.echo_replies++;
	icmp_send(dp, p, AF_INET, h + IP4_OFF_DST);
	return DROP__MAX;
}

static enum drop_reason
icmp6_local(struct dp *dp, struct port *in, struct pkt *p)
{
	uint8_t		*h = p->data, *icmp = h + IP6_HLEN;
	unsigned	 len = p->len - IP6_HLEN;
	uint16_t	 old;

	if (h[IP6_OFF_NXT] == IPPROTO_UDP) {
		icmp_error(dp, in, p, ICMP6_UNREACH, ICMP6_UNREACH_PORT, 0);
		return DROP_LOCAL;
	}
	if (h[IP6_OFF_NXT] != IPPROTO_ICMPV6)
		return DROP_LOCAL;
	if (len < ICMP_HLEN)
		return DROP_TRUNCATED;
	if (ip6_csum(h + IP6_OFF_SRC, h + IP6_OFF_DST, IPPROTO_ICMPV6, icmp,
	    len) != 0)
		return DROP_BAD_CHECKSUM;
	if (icmp[0] != ICMP6_ECHO_REQUEST)
		return DROP_LOCAL;
	memset(&p->vnet, 0, sizeof(p->vnet));
	icmp_swap(h + IP6_OFF_SRC, h + IP6_OFF_DST, 16);
	old = be16_get(icmp);
	icmp[0] = ICMP6_ECHO_REPLY;
	ip_csum_update16(icmp + 2, old, be16_get(icmp));
	h[IP6_OFF_HLIM] = IP_TTL_DEFAULT;
	dp->rtr->stats.echo_replies++;
	icmp_send(dp, p, AF_INET6, h + IP6_OFF_DST);
	return DROP__MAX;
}

void
icmp_local(struct dp *dp, struct port *in, struct pkt *p)
{
	enum drop_reason	why;

	dp->rtr->stats.local++;
	if (ip_version(p->data) == 4)
		why = icmp4_local(dp, in, p);
	else
		why = icmp6_local(dp, in, p);
	if (why != DROP__MAX) {
		port_drop(in, why);
		pkt_free(p);
	}
}
