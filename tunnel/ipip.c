/*
 * ipip.c - IP in UDP: the UDP payload is the inner IPv4 or IPv6 packet
 * itself, told apart by its version nibble, like Foo-over-UDP's direct
 * encapsulation.  No header, so no key; there is no IANA port for it, and
 * both ends use IPIP_PORT unless told otherwise.
 */
#include "ipip.h"
#include "tnl.h"

static size_t
ipip_build(uint8_t hdr[TNL_HDR_MAX], bool has_key, uint32_t key,
    uint16_t proto)
{
	(void)hdr;
	(void)has_key;
	(void)key;
	(void)proto;
	return 0;
}

static int
ipip_parse(const uint8_t *p, size_t len, struct tnl_rx *rx)
{
	if (len < 1)
		return tnl_rx_drop(rx, TNL_DROP_TRUNCATED);
	if (p[0] >> 4 != 4 && p[0] >> 4 != 6)
		return tnl_rx_drop(rx, TNL_DROP_BAD_PROTO);
	rx->hlen = 0;
	rx->has_key = false;
	rx->key = 0;
	rx->payload = TNL_PAYLOAD_IP;
	return 0;
}

const struct tnl_proto tnl_ipip = {
	.name	  = "ipip",
	.key_name = "key",
	.port	  = IPIP_PORT,
	.types	  = { [TNL_PAYLOAD_IP] = "ipip" },
	.build	  = ipip_build,
	.parse	  = ipip_parse,
};
