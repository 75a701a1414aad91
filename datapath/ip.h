/*
 * ip.h - IPv4 (RFC 791), IPv6 (RFC 8200), ICMP (RFC 792) and ICMPv6
 * (RFC 4443) wire formats, the Internet checksum (RFC 1071) and its
 * incremental update (RFC 1624).
 *
 * As in ether.h, headers are read and written through byte offsets, never
 * through casts, so nothing depends on the alignment of a buffer.  Callers
 * check lengths before reading a field.
 *
 * struct ip_prefix is the one address type of the datapath: a family
 * (AF_INET or AF_INET6; 0 for none), a prefix length and the address in
 * network byte order in the first 4 or 16 bytes of addr.
 */
#ifndef IP_H
#define IP_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "be.h"

#define IP4_HLEN		20	/* without options */
#define IP4_OFF_VHL		0
#define IP4_OFF_TOS		1
#define IP4_OFF_LEN		2
#define IP4_OFF_ID		4
#define IP4_OFF_FRAG		6
#define IP4_OFF_TTL		8
#define IP4_OFF_PROTO		9
#define IP4_OFF_CSUM		10
#define IP4_OFF_SRC		12
#define IP4_OFF_DST		16
#define IP4_DF			0x4000
#define IP4_MF			0x2000
#define IP4_OFFMASK		0x1fff

#define IP6_HLEN		40
#define IP6_OFF_PLEN		4
#define IP6_OFF_NXT		6
#define IP6_OFF_HLIM		7
#define IP6_OFF_SRC		8
#define IP6_OFF_DST		24
#define IP6_MIN_MTU		1280

/* ICMP types and codes used here (RFC 792, RFC 1191). */
#define ICMP_HLEN		8
#define ICMP_ECHOREPLY		0
#define ICMP_UNREACH		3
#define ICMP_UNREACH_NET	0
#define ICMP_UNREACH_HOST	1
#define ICMP_UNREACH_PORT	3
#define ICMP_UNREACH_NEEDFRAG	4
#define ICMP_ECHO		8
#define ICMP_TIMXCEED		11

/* ICMPv6 types and codes (RFC 4443); errors are the types below 128. */
#define ICMP6_UNREACH		1
#define ICMP6_UNREACH_NOROUTE	0
#define ICMP6_UNREACH_PORT	4
#define ICMP6_UNREACH_REJECT	6
#define ICMP6_PACKET_TOO_BIG	2
#define ICMP6_TIME_EXCEEDED	3
#define ICMP6_ECHO_REQUEST	128
#define ICMP6_ECHO_REPLY	129

#define IP_TTL_DEFAULT		64

struct ip_prefix {
	uint8_t		family;		/* AF_INET, AF_INET6, 0: none */
	uint8_t		len;		/* prefix length */
	uint8_t		addr[16];
};

static inline unsigned
ip_addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static inline unsigned
ip_max_plen(int family)
{
	return family == AF_INET6 ? 128 : 32;
}

static inline int
ip_version(const uint8_t *p)
{
	return p[0] >> 4;
}

/* Ones' complement sum of len bytes, folded into 16 bits, not inverted. */
uint16_t	ip_sum(const void *, size_t len, uint32_t initial);
/* The Internet checksum of len bytes (RFC 1071), ready to store. */
uint16_t	ip_csum(const void *, size_t len);
/* The ICMPv6 checksum over the pseudo-header and len bytes at msg. */
uint16_t	ip6_csum(const uint8_t src[16], const uint8_t dst[16],
		    uint8_t next, const void *msg, size_t len);

/*
 * RFC 1624, eqn. 3: the checksum field at csum after one 16-bit word of
 * the covered data changed from old to new.
 */
static inline void
ip_csum_update16(uint8_t *csum, uint16_t old, uint16_t new)
{
	uint32_t	sum;

	sum = (uint16_t)~be16_get(csum) + (uint16_t)~old + (uint32_t)new;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	be16_put(csum, (uint16_t)~sum);
}

/* Whether two addresses of family agree in their first plen bits. */
bool		ip_prefix_match(const uint8_t *a, const uint8_t *b,
		    unsigned plen);
/* Clears the bits of addr after plen. */
void		ip_prefix_mask(uint8_t *addr, unsigned addrlen, unsigned plen);

#endif
