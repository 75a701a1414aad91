/*
 * vxlan.c - VXLAN encapsulation (RFC 7348): Ethernet only, always a VNI.
 */
#include <string.h>

#include "datapath/port.h"

#include "tnl.h"
#include "vxlan.h"

static size_t
vxlan_build(uint8_t hdr[TNL_HDR_MAX], bool has_key, uint32_t vni,
    uint16_t proto)
{
	(void)proto;
	if (!has_key)
		vni = VXLAN_VNI_DEFAULT;
	memset(hdr, 0, VXLAN_HLEN);
	hdr[VXLAN_OFF_FLAGS] = VXLAN_FLAG_I;
	be32_put(hdr + VXLAN_OFF_VNI, (vni & VXLAN_VNI_MAX) << 8);
	return VXLAN_HLEN;
}

static int
vxlan_parse(const uint8_t *p, size_t len, struct tnl_rx *rx)
{
	if (len < VXLAN_HLEN)
		return tnl_rx_drop(rx, TNL_DROP_TRUNCATED);
	if (!(p[VXLAN_OFF_FLAGS] & VXLAN_FLAG_I))
		return tnl_rx_drop(rx, TNL_DROP_BAD_FLAGS);
	rx->hlen = VXLAN_HLEN;
	rx->has_key = true;
	rx->key = be32_get(p + VXLAN_OFF_VNI) >> 8;
	rx->payload = TNL_PAYLOAD_ETH;
	return 0;
}

const struct tnl_proto tnl_vxlan = {
	.name	  = "vxlan",
	.key_name = "vni",
	.port	  = VXLAN_PORT,
	.types	  = { [TNL_PAYLOAD_ETH] = "vxlan" },
	.key_setting = PORT_SET_VNI,
	.key_max  = VXLAN_VNI_MAX,
	.key_always = true,
	.key_default = VXLAN_VNI_DEFAULT,
	.build	  = vxlan_build,
	.parse	  = vxlan_parse,
};
