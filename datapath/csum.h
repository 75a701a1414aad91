/*
 * csum.h - the Internet checksum (RFC 1071, RFC 1624).
 *
 * Sums are accumulated in 64 bits over words loaded in host byte order: the
 * one's complement sum is byte-order independent (RFC 1071 section 2), so a
 * folded sum stored back with memcpy lands in network order without a swap.
 * A running sum may be continued over further data as long as every piece
 * but the last has an even length.
 *
 * A checksum field written by csum_store() holds ~fold(sum); a "partial"
 * field (what NEEDS_CSUM frames and GRO super-frames carry) holds fold(sum)
 * of the pseudo-header alone, uncomplemented, for the next hop to finish.
 */
#ifndef CSUM_H
#define CSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

uint64_t	csum_add(uint64_t sum, const void *data, size_t len);
/* The pseudo-header of RFC 9293 3.1 / RFC 8200 8.1 for the IP header ip. */
uint64_t	csum_pseudo(const uint8_t *ip, unsigned ipv, uint8_t proto,
		    uint32_t l4len);

/* Folds a sum to 16 bits, not complemented. */
static inline uint16_t
csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Writes a 16-bit host-order-sum value to a field in the frame. */
static inline void
csum_put(uint8_t *field, uint16_t v)
{
	memcpy(field, &v, sizeof(v));
}

/* Zero if data of len bytes, checksum included, verifies. */
static inline uint16_t
csum_verify(uint64_t sum)
{
	return (uint16_t)~csum_fold(sum);
}

#endif
