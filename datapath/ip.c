/*
 * ip.c - checksums and prefix comparison.
 */
#include "be.h"
#include "csum.h"
#include "ip.h"

/*
 * The sum itself is csum.c's, over 64-bit words; it comes back in memory
 * order, which be16_get turns into the value the callers here work with.
 */
uint16_t
ip_sum(const void *buf, size_t len, uint32_t initial)
{
	uint16_t	folded = csum_fold(csum_add(0, buf, len));
	uint8_t		bytes[2];
	uint64_t	sum;

	memcpy(bytes, &folded, sizeof(bytes));
	sum = (uint64_t)initial + be16_get(bytes);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t
ip_csum(const void *buf, size_t len)
{
	return (uint16_t)~ip_sum(buf, len, 0);
}

uint16_t
ip6_csum(const uint8_t src[16], const uint8_t dst[16], uint8_t next,
    const void *msg, size_t len)
{
	uint32_t	sum;

	sum = ip_sum(src, 16, 0);
	sum = ip_sum(dst, 16, sum);
	sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + next;
	return (uint16_t)~ip_sum(msg, len, sum);
}

bool
ip_prefix_match(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned	bytes = plen / 8, bits = plen % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff00 >> bits)) == 0;
}

void
ip_prefix_mask(uint8_t *addr, unsigned addrlen, unsigned plen)
{
	for (unsigned i = 0; i < addrlen; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		addr[i] &= plen > 8 * i ? (uint8_t)(0xff00 >> (plen - 8 * i)) :
		    0;
	}
}
