/*
 * unix-sock.h - the Unix socket on which a port meets its one peer: the
 * stream port's and the vhost-user port's (a QEMU, either way).
 *
 * "path SOCKET": the port makes the socket file and listens.  A socket
 * file a daemon that died left is replaced; anything else at the path is
 * not (another kind of file, or a socket something listens on).  The file
 * gets mode 0660 and the group asked for, so that a QEMU running as
 * another user in that group may connect; both are set through a
 * descriptor of it, not by a path a user of the directory could swap
 * under us, and only that very file is removed at close.  One connection
 * at a time is served: one more while it lasts is closed at once, counted
 * in rx_errors and said once per connection served.  An accept that fails
 * (out of descriptors) pauses accepting until the next tick.
 *
 * "connect SOCKET": the port connects to a peer that listens, at open and
 * on every tick while it has no connection; a failure is said once until
 * a connect works.
 *
 * A new connection (non-blocking) is handed to the port's attach, which
 * watches it; from then on the port owns it and its end.  Nothing here
 * ever blocks.
 */
#ifndef UNIX_SOCK_H
#define UNIX_SOCK_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "port.h"

struct dp_watch;

struct usock_ops {
	const char	*peer;		/* in notes: "peer", "QEMU" */
	/* Takes a new connection: 0, or an errno (it is closed). */
	int		(*attach)(struct port *, int fd);
	/* Whether the port has a connection. */
	bool		(*busy)(const struct port *);
	/* Optional: a connect failed, as why says. */
	void		(*failed)(struct port *, const char *why);
};

struct usock {
	const struct usock_ops	*ops;
	struct port		*port;
	char			 path[sizeof(((struct port_config *)0)->path)];
	bool			 connect;	/* we are the client */
	int			 lfd;		/* listening socket, or -1 */
	struct dp_watch		*lwatch;	/* NULL: accepting paused */
	dev_t			 dev;		/* the socket file we made */
	ino_t			 ino;		/* 0: none (yet) */
	bool			 refusal_said;	/* during this connection */
	bool			 failure_said;	/* until a connect works */
};

/*
 * Checks the socket of c: given, absolute, not too long; "group" only for
 * a socket the port makes.  kind names the port in errors ("a stream
 * port").  0, or an errno and err.
 */
int	usock_check(const struct port_config *c, const char *kind, char *err,
	    size_t errlen);
/* Listens, or tries a first connect; 0, or an errno and err. */
int	usock_open(struct usock *, struct port *, const struct usock_ops *,
	    const struct port_config *c, char *err, size_t errlen);
/* Stops listening and removes the file; the connection is the port's. */
void	usock_close(struct usock *);
/* Each second: connects again, or accepts again after a pause. */
void	usock_tick(struct usock *);

#endif
