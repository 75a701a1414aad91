/*
 * tnl-route.h - the underlay's MTU to a remote as the routing table says.
 *
 * The kernel keeps a path MTU it learnt from an ICMP for ten minutes per
 * remote, past the sockets the ICMP reached, and IP_MTU reports it: a
 * tunnel opened in that time (a reload, a restart after kill -9) would take
 * a forged one for the underlay's MTU.  This asks the table for the route
 * itself (RTM_GETROUTE with RTM_F_FIB_MATCH), which no ICMP changes: its
 * mtu if it sets one, else the MTU of its device (for IPv6 the device's
 * IPv6 MTU if lower).  What the table does not know it cannot tell: an
 * IPsec policy or a route's encapsulation lowering the MTU, a route by
 * nexthop object or over several next hops (0: the kernel's IP_MTU is
 * taken then, without this protection).
 */
#ifndef TNL_ROUTE_H
#define TNL_ROUTE_H

#include <sys/socket.h>

/*
 * The MTU of the route from local (AF_UNSPEC or a wildcard: any) to
 * remote; 0 when it cannot be told (no route, several next hops).
 */
int	tnl_route_mtu(const struct sockaddr_storage *local,
	    const struct sockaddr_storage *remote);

#endif
