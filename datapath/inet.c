/*
 * inet.c - the header parser shared by segmentation and coalescing.
 */
#include <errno.h>

#include "ether.h"
#include "inet.h"

int
inet_parse(const uint8_t *f, size_t len, enum inet_link link,
    struct inet_hdrs *h)
{
	size_t		off = ETH_HLEN, l4len;
	uint16_t	type, frag;
	const uint8_t	*ip;

	if (link == INET_L3) {
		if (len < 1)
			return EINVAL;
		off = 0;
		type = f[0] >> 4 == 4 ? ETH_TYPE_IPV4 :
		    f[0] >> 4 == 6 ? ETH_TYPE_IPV6 : 0;
	} else if (len < ETH_HLEN)
		return EINVAL;
	else
		type = be16_get(f + ETH_OFF_TYPE);
	for (int tags = 0; link == INET_L2 && eth_type_is_tag(type); tags++) {
		if (tags == 2)
			return EPROTONOSUPPORT;
		if (len < off + ETH_TAG_LEN)
			return EINVAL;
		type = be16_get(f + off + 2);
		off += ETH_TAG_LEN;
	}
	h->l3 = (uint16_t)off;
	h->frag = false;
	ip = f + off;

	if (type == ETH_TYPE_IPV4) {
		if (len < off + IPV4_HLEN)
			return EINVAL;
		if (ip[0] >> 4 != 4 || (ip[0] & 0xf) < 5 ||
		    len < off + (size_t)(ip[0] & 0xf) * 4)
			return EINVAL;
		frag = be16_get(ip + IPV4_OFF_FRAG);
		if (frag & IPV4_FRAG_MASK)
			return EPROTONOSUPPORT;
		h->frag = (frag & IPV4_MF) != 0;
		h->ipv = 4;
		h->proto = ip[IPV4_OFF_PROTO];
		h->iplen = be16_get(ip + IPV4_OFF_LEN);
		off += (size_t)(ip[0] & 0xf) * 4;
	} else if (type == ETH_TYPE_IPV6) {
		if (len < off + IPV6_HLEN)
			return EINVAL;
		if (ip[0] >> 4 != 6)
			return EINVAL;
		h->ipv = 6;
		h->proto = ip[IPV6_OFF_NEXT];
		h->iplen = IPV6_HLEN + (uint32_t)be16_get(ip + IPV6_OFF_PLEN);
		off += IPV6_HLEN;
	} else
		return EPROTONOSUPPORT;
	h->l4 = (uint16_t)off;

	if (h->proto == INET_PROTO_TCP) {
		if (len < off + TCP_HLEN)
			return EINVAL;
		l4len = (size_t)(f[off + TCP_OFF_DOFF] >> 4) * 4;
		if (l4len < TCP_HLEN)
			return EINVAL;
	} else if (h->proto == INET_PROTO_UDP)
		l4len = UDP_HLEN;
	else
		return EPROTONOSUPPORT;
	if (len < off + l4len)
		return EINVAL;
	h->hlen = (uint16_t)(off + l4len);
	return 0;
}
