/*
 * tnl-addr.c - socket address helpers for tunnels.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tnl-addr.h"

#define SIN(ss)		((struct sockaddr_in *)(ss))
#define SIN6(ss)	((struct sockaddr_in6 *)(ss))
#define CSIN(ss)	((const struct sockaddr_in *)(ss))
#define CSIN6(ss)	((const struct sockaddr_in6 *)(ss))

int
tnl_addr_parse(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &SIN(ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &SIN6(ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		return 0;
	}
	ss->ss_family = AF_UNSPEC;
	return EINVAL;
}

void
tnl_addr_any(struct sockaddr_storage *ss, int family)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
}

const char *
tnl_addr_str(const struct sockaddr_storage *ss, bool with_port,
    char buf[TNL_ADDR_STRLEN])
{
	char	a[INET6_ADDRSTRLEN];

	switch (ss->ss_family) {
	case AF_INET:
		inet_ntop(AF_INET, &CSIN(ss)->sin_addr, a, sizeof(a));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &CSIN6(ss)->sin6_addr, a, sizeof(a));
		break;
	default:
		snprintf(buf, TNL_ADDR_STRLEN, "none");
		return buf;
	}
	if (!with_port)
		snprintf(buf, TNL_ADDR_STRLEN, "%s", a);
	else if (ss->ss_family == AF_INET6)
		snprintf(buf, TNL_ADDR_STRLEN, "[%s]:%u", a,
		    tnl_addr_port(ss));
	else
		snprintf(buf, TNL_ADDR_STRLEN, "%s:%u", a, tnl_addr_port(ss));
	return buf;
}

socklen_t
tnl_addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
}

bool
tnl_addr_equal(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return CSIN(a)->sin_addr.s_addr == CSIN(b)->sin_addr.s_addr;
	return a->ss_family == AF_INET6 &&
	    memcmp(&CSIN6(a)->sin6_addr, &CSIN6(b)->sin6_addr,
	    sizeof(struct in6_addr)) == 0;
}

bool
tnl_addr_is_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return CSIN(ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&CSIN6(ss)->sin6_addr);
}

bool
tnl_addr_is_multicast(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return IN_MULTICAST(ntohl(CSIN(ss)->sin_addr.s_addr)) ||
		    CSIN(ss)->sin_addr.s_addr == htonl(INADDR_BROADCAST);
	return ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_MULTICAST(&CSIN6(ss)->sin6_addr);
}

uint16_t
tnl_addr_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6 ? CSIN6(ss)->sin6_port :
	    CSIN(ss)->sin_port);
}

void
tnl_addr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET6)
		SIN6(ss)->sin6_port = htons(port);
	else
		SIN(ss)->sin_port = htons(port);
}

uint32_t
tnl_addr_hash(const struct sockaddr_storage *ss, uint32_t seed)
{
	const uint8_t	*p;
	size_t		 len;
	uint32_t	 h = seed ^ ss->ss_family;

	if (ss->ss_family == AF_INET6) {
		p = (const uint8_t *)&CSIN6(ss)->sin6_addr;
		len = sizeof(struct in6_addr);
	} else {
		p = (const uint8_t *)&CSIN(ss)->sin_addr;
		len = sizeof(struct in_addr);
	}
	/* FNV-1a, then a final avalanche so the low bits pick buckets. */
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return h;
}
