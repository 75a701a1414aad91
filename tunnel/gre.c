/*
 * gre.c - GRE-in-UDP encapsulation (RFC 8086): the GRE header of RFC 2784
 * with the optional key of RFC 2890, carrying Ethernet (gretap) or IP.
 *
 * We send no checksum and no sequence number; on receipt both are accepted,
 * the checksum verified, the sequence number ignored (no reordering).
 */
#include "datapath/ip.h"
#include "datapath/port.h"

#include "gre.h"
#include "tnl.h"

static size_t
gre_build(uint8_t hdr[TNL_HDR_MAX], bool has_key, uint32_t key,
    uint16_t proto)
{
	be16_put(hdr + GRE_OFF_FLAGS, has_key ? GRE_FLAG_K : 0);
	be16_put(hdr + GRE_OFF_PROTO, proto);
	if (!has_key)
		return GRE_HLEN;
	be32_put(hdr + GRE_HLEN, key);
	return GRE_HLEN + GRE_OPT_LEN;
}

static int
gre_parse(const uint8_t *p, size_t len, struct tnl_rx *rx)
{
	uint16_t	flags, proto;
	size_t		off = GRE_HLEN;

	if (len < GRE_HLEN)
		return tnl_rx_drop(rx, TNL_DROP_TRUNCATED);
	flags = be16_get(p + GRE_OFF_FLAGS);
	proto = be16_get(p + GRE_OFF_PROTO);
	if (flags & GRE_VERSION_MASK)
		return tnl_rx_drop(rx, TNL_DROP_BAD_VERSION);
	if (flags & GRE_FLAGS_DISCARD)
		return tnl_rx_drop(rx, TNL_DROP_BAD_FLAGS);
	rx->hlen = GRE_HLEN + GRE_OPT_LEN * (!!(flags & GRE_FLAG_C) +
	    !!(flags & GRE_FLAG_K) + !!(flags & GRE_FLAG_S));
	if (len < rx->hlen)
		return tnl_rx_drop(rx, TNL_DROP_TRUNCATED);
	if (flags & GRE_FLAG_C) {
		if (ip_csum(p, len) != 0)
			return tnl_rx_drop(rx, TNL_DROP_BAD_CHECKSUM);
		off += GRE_OPT_LEN;
	}
	rx->has_key = (flags & GRE_FLAG_K) != 0;
	rx->key = rx->has_key ? be32_get(p + off) : 0;
	switch (proto) {
	case TNL_PROTO_TEB:
		rx->payload = TNL_PAYLOAD_ETH;
		return 0;
	case TNL_PROTO_IPV4:
	case TNL_PROTO_IPV6:
		rx->payload = TNL_PAYLOAD_IP;
		return 0;
	default:
		return tnl_rx_drop(rx, TNL_DROP_BAD_PROTO);
	}
}

const struct tnl_proto tnl_gre = {
	.name	  = "gre",
	.key_name = "key",
	.port	  = GRE_PORT,
	.types	  = { [TNL_PAYLOAD_ETH] = "gretap", [TNL_PAYLOAD_IP] = "gre" },
	.key_setting = PORT_SET_KEY,
	.key_max  = UINT32_MAX,
	.build	  = gre_build,
	.parse	  = gre_parse,
};
