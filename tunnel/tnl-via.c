/*
 * tnl-via.c - a tunnel's datagrams built here and sent out of an L3 port.
 */
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/be.h"
#include "datapath/dp.h"
#include "datapath/ether.h"
#include "datapath/ip.h"
#include "datapath/router.h"

#include "tnl-addr.h"
#include "tnl-tx.h"
#include "tnl-via.h"

#define UDP_HLEN	8
#define ECN_MASK	0x03
#define ECN_ECT0	0x02
#define ECN_CE		0x03

/* Whether port may carry tunnels: 0, or EINVAL and err. */
static int
tnl_via_check(const char *name, const struct port *carrier, char *err,
    size_t errlen)
{
	if (carrier == NULL) {
		snprintf(err, errlen, "via %s: no such port", name);
		return EINVAL;
	}
	if (!port_is_l3(carrier)) {
		snprintf(err, errlen, "via %s: it is not an L3 port (it is "
		    "of type %s; an L3 port is one the router routes out of: "
		    "tun, ipip, gre, wireguard)", name, carrier->ops->type);
		return EINVAL;
	}
	/* A carrier carried in turn could be carried by its own tunnel. */
	if (carrier->cfg.via[0] != '\0') {
		snprintf(err, errlen, "via %s: it is itself carried via %s "
		    "(one level only)", name, carrier->cfg.via);
		return EINVAL;
	}
	return 0;
}

static void
tnl_via_gone(struct port_user *u)
{
	struct tnl_via	*v = (struct tnl_via *)((char *)u -
			    offsetof(struct tnl_via, user));

	dp_port_note(v->tunnel, "%s: down until a port of that name is "
	    "added again", v->why_gone);
}

static void
tnl_via_attach(struct tnl_via *v, struct port *carrier)
{
	v->user.port = v->tunnel;
	v->user.gone = tnl_via_gone;
	port_use(carrier, &v->user);
	v->link_mtu = carrier->mtu;
}

static const uint8_t *
sa_addr(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)ss)->
		    sin_addr;
	return (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
}

int
tnl_via_open(struct tnl_via *v, struct port *tunnel, const char *name,
    const struct sockaddr_storage *local,
    const struct sockaddr_storage *remote, char *err, size_t errlen)
{
	struct port	*carrier = dp_port_find(tunnel->dp, name);
	char		 a[TNL_ADDR_STRLEN];
	int		 error;

	if ((error = tnl_via_check(name, carrier, err, errlen)) != 0)
		return error;
	if (!rtr_is_local(tunnel->dp->rtr, local->ss_family, sa_addr(local))) {
		snprintf(err, errlen, "local %s is not an address of the "
		    "router (give the address of %s the tunnel sends from)",
		    tnl_addr_str(local, false, a), name);
		return EINVAL;
	}
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->why_gone, sizeof(v->why_gone), "via port %s was deleted",
	    name);
	snprintf(v->why_down, sizeof(v->why_down), "via port %s is down",
	    name);
	v->tunnel = tunnel;
	v->local = *local;
	v->remote = *remote;
	v->outer = (local->ss_family == AF_INET6 ? IP6_HLEN : IP4_HLEN) +
	    UDP_HLEN;
	v->ip_id = (uint16_t)arc4random();
	tnl_via_attach(v, carrier);
	return 0;
}

void
tnl_via_close(struct tnl_via *v)
{
	port_unuse(&v->user);
}

void
tnl_via_tick(struct tnl_via *v)
{
	struct port	*carrier;
	char		 err[128];

	if ((carrier = v->user.used) == NULL) {
		carrier = dp_port_find(v->tunnel->dp, v->name);
		if (carrier == NULL || carrier == v->tunnel ||
		    tnl_via_check(v->name, carrier, err, sizeof(err)) != 0)
			return;
		tnl_via_attach(v, carrier);
		dp_port_note(v->tunnel, "carried via %s again", v->name);
	}
	v->link_mtu = carrier->mtu;
}

static bool
tnl_via_carrier_up(const struct port *carrier)
{
	return carrier->ops->state == NULL ||
	    strcmp(carrier->ops->state(carrier), "up") == 0;
}

const char *
tnl_via_state(const struct tnl_via *v)
{
	if (v->user.used == NULL || !tnl_via_carrier_up(v->user.used))
		return "down";
	return "up";
}

const char *
tnl_via_why(const struct tnl_via *v)
{
	if (v->user.used == NULL)
		return v->why_gone;
	if (!tnl_via_carrier_up(v->user.used))
		return v->why_down;
	return NULL;
}

/* The inner packet's TOS or traffic class, 0 when it is no IP packet. */
static uint8_t
tnl_via_inner_ds(const uint8_t *p, size_t len, enum tnl_payload payload)
{
	size_t	off = 0;

	if (payload == TNL_PAYLOAD_ETH) {
		if (len < ETH_HLEN)
			return 0;
		switch (be16_get(p + ETH_OFF_TYPE)) {
		case TNL_PROTO_IPV4:
		case TNL_PROTO_IPV6:
			break;
		default:
			return 0;
		}
		off = ETH_HLEN;
	}
	if (len < off + 2)
		return 0;
	if (ip_version(p + off) == 4)
		return p[off + IP4_OFF_TOS];
	if (ip_version(p + off) == 6)
		return (uint8_t)(p[off] << 4 | p[off + 1] >> 4);
	return 0;
}

/* RFC 6040's normal mode, as the kernel's INET_ECN_encapsulate(). */
static uint8_t
tnl_via_ecn(uint8_t inner)
{
	return (inner & ECN_MASK) == ECN_CE ? ECN_ECT0 : inner & ECN_MASK;
}

/* udp_flow_src_port(): the hash scaled into the range, not folded. */
static uint16_t
tnl_via_sport(const uint8_t *p, size_t len, enum tnl_payload payload)
{
	uint32_t	h = tnl_flow_hash(p, len, payload);

	h ^= h << 16;
	return (uint16_t)(((uint64_t)h * (TNL_VIA_SPORT_MAX -
	    TNL_VIA_SPORT_MIN)) >> 32) + TNL_VIA_SPORT_MIN;
}

/* Writes the outer headers of a datagram of ulen UDP bytes at o. */
static void
tnl_via_outer(struct tnl_via *v, uint8_t *o, uint32_t ulen, uint16_t sport,
    uint8_t ecn)
{
	uint8_t	*udp = o + v->outer - UDP_HLEN;

	if (v->local.ss_family == AF_INET) {
		o[IP4_OFF_VHL] = 0x45;
		o[IP4_OFF_TOS] = ecn;
		be16_put(o + IP4_OFF_LEN, (uint16_t)(IP4_HLEN + ulen));
		be16_put(o + IP4_OFF_ID, v->ip_id++);
		be16_put(o + IP4_OFF_FRAG, 0);
		o[IP4_OFF_TTL] = TNL_VIA_TTL;
		o[IP4_OFF_PROTO] = IPPROTO_UDP;
		be16_put(o + IP4_OFF_CSUM, 0);
		memcpy(o + IP4_OFF_SRC, sa_addr(&v->local), 4);
		memcpy(o + IP4_OFF_DST, sa_addr(&v->remote), 4);
		be16_put(o + IP4_OFF_CSUM, ip_csum(o, IP4_HLEN));
	} else {
		be32_put(o, 6u << 28 | (uint32_t)ecn << 20);
		be16_put(o + IP6_OFF_PLEN, (uint16_t)ulen);
		o[IP6_OFF_NXT] = IPPROTO_UDP;
		o[IP6_OFF_HLIM] = TNL_VIA_TTL;
		memcpy(o + IP6_OFF_SRC, sa_addr(&v->local), 16);
		memcpy(o + IP6_OFF_DST, sa_addr(&v->remote), 16);
	}
	be16_put(udp, sport);
	be16_put(udp + 2, tnl_addr_port(&v->remote));
	be16_put(udp + 4, (uint16_t)ulen);
	be16_put(udp + 6, 0);
}

/* The IPv6 UDP checksum, over the whole datagram once it is written. */
static void
tnl_via_udp6_csum(const uint8_t *o, uint8_t *udp, uint32_t ulen)
{
	uint16_t	c = ip6_csum(o + IP6_OFF_SRC, o + IP6_OFF_DST,
			    IPPROTO_UDP, udp, ulen);

	be16_put(udp + 6, c == 0 ? 0xffff : c);
}

static void
tnl_via_capture(struct tnl_via *v, uint16_t sport, const uint8_t *hdr,
    size_t hlen, const struct pkt *p)
{
	struct sockaddr_storage	src = v->local;

	tnl_addr_set_port(&src, sport);
	port_capture_outer(v->tunnel, PORT_DIR_TX, &(struct port_outer){
	    .src = (const struct sockaddr *)&src,
	    .dst = (const struct sockaddr *)&v->remote,
	    .proto = IPPROTO_UDP,
	    .hdr = hdr,
	    .hlen = hlen,
	    .data = p->data,
	    .len = p->len,
	});
}

void
tnl_via_send(struct tnl_via *v, const struct pkt_batch *b,
    const uint8_t *hdr, size_t hlen, enum tnl_payload payload)
{
	struct port		*tunnel = v->tunnel, *carrier = v->user.used;
	struct pkt_batch	 out;

	if (carrier == NULL) {
		for (unsigned i = 0; i < b->count; i++)
			port_drop(tunnel, DROP_LINK_DOWN);
		return;
	}
	pkt_batch_init(&out);
	for (unsigned i = 0; i < b->count; i++) {
		const struct pkt	*p = b->pkts[i];
		uint32_t		 ulen = UDP_HLEN + (uint32_t)hlen + p->len;
		uint32_t		 len = v->outer - UDP_HLEN + ulen;
		uint16_t		 sport;
		struct pkt		*q;
		uint8_t			*o;

		if (len > (uint32_t)carrier->mtu) {
			port_drop(tunnel, DROP_TOO_BIG);
			continue;
		}
		if ((q = pkt_alloc(tunnel->dp->pool)) == NULL) {
			port_drop(tunnel, DROP_NO_BUFFER);
			continue;
		}
		if (len > pkt_tailroom(q)) {
			pkt_free(q);
			port_drop(tunnel, DROP_TOO_BIG);
			continue;
		}
		o = q->data;
		sport = tnl_via_sport(p->data, p->len, payload);
		tnl_via_outer(v, o, ulen, sport, tnl_via_ecn(tnl_via_inner_ds(
		    p->data, p->len, payload)));
		memcpy(o + v->outer, hdr, hlen);
		memcpy(o + v->outer + hlen, p->data, p->len);
		q->len = len;
		if (v->local.ss_family == AF_INET6)
			tnl_via_udp6_csum(o, o + v->outer - UDP_HLEN, ulen);
		if (tunnel->hook != NULL)
			tnl_via_capture(v, sport, hdr, hlen, p);
		tunnel->stats.tx_packets++;
		tunnel->stats.tx_bytes += p->len;
		pkt_batch_add(&out, q);
	}
	if (out.count == 0)
		return;
	port_send(carrier, &out);
	pkt_batch_free(&out);
}
