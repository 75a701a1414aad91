/*
 * tnl-local.c - a tunnel's local address, watched.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "datapath/dp.h"
#include "datapath/link-watch.h"

#include "tnl-addr.h"
#include "tnl-local.h"

/*
 * Whether the address is local here: 1, 0, or -1 when that cannot be
 * told.  A bind() to it answers as the tunnel's own sockets would, for an
 * address on an interface and for one of a local route (all of 127/8);
 * with ip_nonlocal_bind set every address is local, and the port stays up
 * as it did before this watch.
 */
static int
tnl_local_present(const struct sockaddr_storage *addr)
{
	struct sockaddr_storage	ss = *addr;
	int			s, present = -1;

	tnl_addr_set_port(&ss, 0);
	if ((s = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(s, (struct sockaddr *)&ss, tnl_addr_len(&ss)) == 0)
		present = 1;
	else if (errno == EADDRNOTAVAIL)
		present = 0;
	close(s);
	return present;
}

static void
tnl_local_check(struct tnl_local *l)
{
	char	a[TNL_ADDR_STRLEN];
	int	present;

	/* A failed look-up tells nothing: the state stays as it was. */
	if ((present = tnl_local_present(&l->addr)) == -1)
		return;
	if (!present == l->gone)
		return;
	l->gone = !present;
	tnl_addr_str(&l->addr, false, a);
	if (l->gone && !l->seen) {
		snprintf(l->why, sizeof(l->why), "local address %s is not on "
		    "this host", a);
		dp_port_note(l->port, "local address %s is not on this host: "
		    "down until it is", a);
	} else if (l->gone) {
		snprintf(l->why, sizeof(l->why), "local address %s is gone", a);
		dp_port_note(l->port, "local address %s is gone: down until "
		    "it is back", a);
	} else if (!l->seen)
		dp_port_note(l->port, "local address %s is here now: up", a);
	else
		dp_port_note(l->port, "local address %s is back: up", a);
	l->seen |= present;
}

static void
tnl_local_news(void *arg, unsigned what)
{
	(void)what;
	tnl_local_check(arg);
}

int
tnl_local_watch(struct tnl_local *l, struct port *port,
    const struct sockaddr_storage *local)
{
	memset(l, 0, sizeof(*l));
	l->port = port;
	if (local->ss_family == AF_UNSPEC || tnl_addr_is_any(local) ||
	    port->dp == NULL)
		return 0;
	l->addr = *local;
	/* Present at the start (or unknown): nothing to tell. */
	if (!(l->seen = tnl_local_present(&l->addr) != 0))
		tnl_local_check(l);
	return lw_subscribe(port->dp, LW_ADDR, tnl_local_news, l, &l->lw);
}

void
tnl_local_unwatch(struct tnl_local *l)
{
	lw_unsubscribe(l->lw);
	l->lw = NULL;
}

const char *
tnl_local_state(const struct tnl_local *l)
{
	return l->gone ? "down" : "up";
}

const char *
tnl_local_why(const struct tnl_local *l)
{
	return l->gone ? l->why : NULL;
}
