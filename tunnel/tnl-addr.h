/*
 * tnl-addr.h - IPv4 and IPv6 socket addresses as tunnels use them.
 *
 * Addresses are kept in struct sockaddr_storage, ready for bind(),
 * connect() and comparison with what recvmmsg() reports; ss_family is
 * AF_UNSPEC for "none given".  Comparison is by family and address only,
 * never by port or (IPv6) flow label.
 */
#ifndef TNL_ADDR_H
#define TNL_ADDR_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* An IPv6 address, "[" "]", ":" and a port, and the NUL. */
#define TNL_ADDR_STRLEN	(INET6_ADDRSTRLEN + 8)

/* A numeric IPv4 or IPv6 address, port 0: 0 or EINVAL. */
int		 tnl_addr_parse(const char *, struct sockaddr_storage *);
/* The wildcard address of family, port 0. */
void		 tnl_addr_any(struct sockaddr_storage *, int family);
/* "198.18.0.1" or "fd00::1"; with_port adds ":4789" or "[fd00::1]:4789". */
const char	*tnl_addr_str(const struct sockaddr_storage *, bool with_port,
		    char buf[TNL_ADDR_STRLEN]);

socklen_t	 tnl_addr_len(const struct sockaddr_storage *);
bool		 tnl_addr_equal(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);
bool		 tnl_addr_is_any(const struct sockaddr_storage *);
bool		 tnl_addr_is_multicast(const struct sockaddr_storage *);
uint16_t	 tnl_addr_port(const struct sockaddr_storage *);
void		 tnl_addr_set_port(struct sockaddr_storage *, uint16_t);
/* A hash of the address (not the port), mixed with seed. */
uint32_t	 tnl_addr_hash(const struct sockaddr_storage *, uint32_t seed);

#endif
