/*
 * csum.c - the Internet checksum.
 *
 * Eight bytes at a time with an end-around carry, four words per round so
 * the loads are not serialised on one add chain more than necessary.
 */
#include <arpa/inet.h>

#include "csum.h"
#include "inet.h"

static inline uint64_t
csum_add64(uint64_t sum, uint64_t w)
{
	sum += w;
	return sum + (sum < w);
}

uint64_t
csum_add(uint64_t sum, const void *data, size_t len)
{
	const uint8_t	*p = data;
	uint64_t	 w[4];
	uint32_t	 w32;
	uint16_t	 w16;
	uint8_t		 last[2] = { 0, 0 };

	for (; len >= sizeof(w); len -= sizeof(w), p += sizeof(w)) {
		memcpy(w, p, sizeof(w));
		sum = csum_add64(sum, w[0]);
		sum = csum_add64(sum, w[1]);
		sum = csum_add64(sum, w[2]);
		sum = csum_add64(sum, w[3]);
	}
	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&w[0], p, 8);
		sum = csum_add64(sum, w[0]);
	}
	if (len >= 4) {
		memcpy(&w32, p, 4);
		sum = csum_add64(sum, w32);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&w16, p, 2);
		sum = csum_add64(sum, w16);
		p += 2;
		len -= 2;
	}
	if (len == 1) {
		/* The odd byte is the high half of a zero-padded word. */
		last[0] = *p;
		memcpy(&w16, last, 2);
		sum = csum_add64(sum, w16);
	}
	return sum;
}

uint64_t
csum_pseudo(const uint8_t *ip, unsigned ipv, uint8_t proto, uint32_t l4len)
{
	uint64_t	sum;

	if (ipv == 4)
		sum = csum_add(0, ip + IPV4_OFF_SRC, 8);
	else
		sum = csum_add(0, ip + IPV6_OFF_SRC, 32);
	sum = csum_add64(sum, htonl(proto));
	return csum_add64(sum, htonl(l4len));
}
