/*
 * ether.h - Ethernet II and 802.1Q/802.1ad tag wire format (IEEE 802.3,
 * IEEE 802.1Q).
 *
 * Frames are parsed in place from byte arrays, never through casts, so no
 * field read depends on the alignment of the buffer.  Callers check the
 * length first: ETH_HLEN for the header, ETH_HLEN + ETH_TAG_LEN for a tag.
 */
#ifndef ETHER_H
#define ETHER_H

#include <stdbool.h>
#include <stdint.h>

#include "be.h"

#define ETH_ALEN		6
#define ETH_HLEN		14	/* dst, src, type */
#define ETH_TAG_LEN		4	/* TPID is the type field; TCI follows */

#define ETH_OFF_DST		0
#define ETH_OFF_SRC		6
#define ETH_OFF_TYPE		12
#define ETH_OFF_TCI		14

#define ETH_TYPE_VLAN		0x8100	/* 802.1Q C-tag */
#define ETH_TYPE_QINQ		0x88a8	/* 802.1ad S-tag */
#define ETH_VID_MASK		0x0fff

static inline bool
eth_type_is_tag(uint16_t type)
{
	return type == ETH_TYPE_VLAN || type == ETH_TYPE_QINQ;
}

#endif
