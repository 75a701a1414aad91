/*
 * cap-outer.c - synthesized outer IPv4/IPv6 and UDP headers.
 */
#include <netinet/in.h>
#include <string.h>

#include "datapath/ip.h"

#include "cap-outer.h"

/* The UDP pseudo-header sum: addresses, protocol, upper-layer length. */
static uint16_t
udp_pseudo_sum(const uint8_t *src, const uint8_t *dst, size_t alen,
    size_t len)
{
	uint32_t	sum;

	sum = ip_sum(src, alen, 0);
	sum = ip_sum(dst, alen, sum);
	return ip_sum(NULL, 0, sum + IPPROTO_UDP + (uint32_t)(len >> 16) +
	    (uint32_t)(len & 0xffff));
}

static void
build_ip4(uint8_t *ip, const struct sockaddr_in *src,
    const struct sockaddr_in *dst, uint8_t proto, size_t total)
{
	memset(ip, 0, CAP_IP4_HLEN);
	ip[0] = 0x45;				/* version 4, 5 words */
	be16_put(ip + 2, (uint16_t)total);
	be16_put(ip + 6, CAP_IP4_DF);
	ip[8] = CAP_IP_TTL;
	ip[9] = proto;
	memcpy(ip + 12, &src->sin_addr, 4);
	memcpy(ip + 16, &dst->sin_addr, 4);
	be16_put(ip + 10, ip_csum(ip, CAP_IP4_HLEN));
}

static void
build_ip6(uint8_t *ip, const struct sockaddr_in6 *src,
    const struct sockaddr_in6 *dst, uint8_t proto, size_t payload)
{
	memset(ip, 0, CAP_IP6_HLEN);
	ip[0] = 0x60;				/* version 6 */
	be16_put(ip + 4, (uint16_t)payload);
	ip[6] = proto;
	ip[7] = CAP_IP_TTL;
	memcpy(ip + 8, &src->sin6_addr, 16);
	memcpy(ip + 24, &dst->sin6_addr, 16);
}

size_t
cap_outer_build(const struct port_outer *o, uint8_t *buf, size_t size)
{
	const struct sockaddr_in	*s4 = (const void *)o->src;
	const struct sockaddr_in	*d4 = (const void *)o->dst;
	const struct sockaddr_in6	*s6 = (const void *)o->src;
	const struct sockaddr_in6	*d6 = (const void *)o->dst;
	const uint8_t			*saddr, *daddr;
	const in_port_t			*sport, *dport;
	size_t				 iplen, alen, l4len, total;
	uint8_t				*udp;
	uint16_t			 sum;
	bool				 is_udp = o->proto == IPPROTO_UDP;

	if (o->src->sa_family != o->dst->sa_family)
		return 0;
	if (o->src->sa_family == AF_INET) {
		iplen = CAP_IP4_HLEN;
		alen = 4;
		saddr = (const uint8_t *)&s4->sin_addr;
		daddr = (const uint8_t *)&d4->sin_addr;
		sport = &s4->sin_port;
		dport = &d4->sin_port;
	} else if (o->src->sa_family == AF_INET6) {
		iplen = CAP_IP6_HLEN;
		alen = 16;
		saddr = (const uint8_t *)&s6->sin6_addr;
		daddr = (const uint8_t *)&d6->sin6_addr;
		sport = &s6->sin6_port;
		dport = &d6->sin6_port;
	} else
		return 0;
	l4len = o->hlen + o->len + (is_udp ? CAP_UDP_HLEN : 0);
	total = iplen + l4len;
	/* IPv4 counts its header in the total length, IPv6 does not. */
	if (total > size || (alen == 4 ? total : l4len) > CAP_IP_MAXPACKET)
		return 0;

	if (alen == 4)
		build_ip4(buf, s4, d4, o->proto, total);
	else
		build_ip6(buf, s6, d6, o->proto, l4len);
	udp = buf + iplen;
	if (is_udp) {
		memcpy(udp, sport, 2);
		memcpy(udp + 2, dport, 2);
		be16_put(udp + 4, (uint16_t)l4len);
		be16_put(udp + 6, 0);
	}
	if (o->hlen > 0)
		memcpy(buf + total - o->len - o->hlen, o->hdr, o->hlen);
	memcpy(buf + total - o->len, o->data, o->len);
	if (is_udp) {
		sum = (uint16_t)~ip_sum(udp, l4len,
		    udp_pseudo_sum(saddr, daddr, alen, l4len));
		/* 0 means "no checksum": a computed zero is sent as all ones. */
		be16_put(udp + 6, sum == 0 ? 0xffff : sum);
	}
	return total;
}
