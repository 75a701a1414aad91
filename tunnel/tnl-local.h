/*
 * tnl-local.h - whether a tunnel's local underlay address is still there.
 *
 * A tunnel given "local ADDR" binds its endpoint and senders to ADDR.  When
 * the address is removed from the host, the sockets stay bound but nothing
 * arrives and every send fails: the port is down, whatever it says.  This
 * watches the kernel's address news (link-watch.h) and asks again on each
 * whether the address is local (a bind() to it, as the tunnel's sockets
 * did).  The port's state follows: "down" with the
 * reason while the address is gone, "up" again when it is back (the bound
 * sockets then work as before), each change told once (dp_port_note()).
 * A tunnel on the wildcard address depends on no address: always up.
 *
 * An address not on the host yet when the port is added (one the network
 * configures after the daemon starts, at boot) is accepted the same way:
 * the endpoint binds it with IP_FREEBIND, the port is "down" with the
 * reason until it appears, and its senders open then (port-tunnel.c).
 */
#ifndef TNL_LOCAL_H
#define TNL_LOCAL_H

#include <sys/socket.h>
#include <stdbool.h>

struct lw_sub;
struct port;

struct tnl_local {
	struct sockaddr_storage	 addr;	/* AF_UNSPEC or a wildcard: none */
	struct port		*port;
	struct lw_sub		*lw;
	bool			 gone;
	bool			 seen;	/* it was here once */
	char			 why[96];
};

/*
 * Starts watching the port's local address (none: does nothing).  0, or
 * an errno with the port working as before, only not watched.
 */
int		 tnl_local_watch(struct tnl_local *, struct port *,
		    const struct sockaddr_storage *local);
void		 tnl_local_unwatch(struct tnl_local *);
/* "up" or "down", and why it is down (NULL when up). */
const char	*tnl_local_state(const struct tnl_local *);
const char	*tnl_local_why(const struct tnl_local *);

#endif
