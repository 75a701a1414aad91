/*
 * wg-msg.h - where each field of the four WireGuard messages sits (see
 * wg-proto.h for the layouts), and their little-endian accessors; private
 * to tunnel/wg-*.c.  Fields are read with memcpy: a datagram in a buffer
 * has no alignment to promise.
 */
#ifndef WG_MSG_H
#define WG_MSG_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "wg-proto.h"

#define WG_OFF_TYPE		0
#define WG_OFF_SENDER		4

#define WG_INIT_OFF_EPH		8
#define WG_INIT_OFF_STATIC	40
#define WG_INIT_OFF_TS		88
#define WG_INIT_STATIC_LEN	(WG_KEY_LEN + WG_TAG_LEN)
#define WG_INIT_TS_LEN		(WG_TIMESTAMP_LEN + WG_TAG_LEN)

#define WG_RESP_OFF_RECEIVER	8
#define WG_RESP_OFF_EPH		12
#define WG_RESP_OFF_EMPTY	44

#define WG_COOKIE_OFF_RECEIVER	4
#define WG_COOKIE_OFF_NONCE	8
#define WG_COOKIE_OFF_COOKIE	32

#define WG_DATA_OFF_RECEIVER	4
#define WG_DATA_OFF_COUNTER	8

static inline uint32_t
wg_le32_get(const uint8_t *p)
{
	uint32_t	v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline void
wg_le32_put(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static inline uint64_t
wg_le64_get(const uint8_t *p)
{
	uint64_t	v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static inline void
wg_le64_put(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

#endif
