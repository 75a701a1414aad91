/*
 * control.h - the control socket, after OpenBSD's control.c.
 *
 * control_open() claims the socket path before the daemon detaches, so a
 * second daemon is refused with a message on the terminal: a path where a
 * daemon answers is left alone, a stale socket file is replaced.
 * control_start() then serves clients from the event loop.
 *
 * The daemon never blocks on a client.  Sockets are non-blocking; each
 * client has an input and an output buffer; a reply is written as fast as
 * the client reads it, and a client's next request waits until it has read
 * the last reply.  A client that sends garbage gets an error reply and
 * is disconnected, and one that sits for CONTROL_IDLE_SECS without finishing
 * a request or reading its reply, or lets more than CONTROL_MAX_PENDING
 * bytes of replies pile up, is dropped.  At most CONTROL_MAX_CLIENTS are
 * served at once.
 *
 * Descriptors a client sends (SCM_RIGHTS, see ctl-proto.h) queue up, at
 * most CTL_MAX_FDS, until a complete request claims them in arrival order;
 * more than that, or a truncated control message, is a protocol error.
 *
 * A command that answers later holds its client (control_hold()): the
 * client gets no idle timeout and no further request is read until the
 * holder's last control_push().  If the client shuts down its sending side,
 * the holder's hangup is called and it may still push; if the client goes
 * away altogether, hold->client becomes NULL before hangup is called, and
 * pushes are dropped.
 */
#ifndef VSW_CONTROL_H
#define VSW_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

struct ctl_client;
struct event_base;
struct dp;

struct ctl_hold {
	struct ctl_client	*client;	/* NULL once it has gone */
	bool			 json;		/* it asked for JSON */
	void			(*hangup)(struct ctl_hold *);
};

/* What a request came with and what became of it (control_request()). */
struct ctl_peer {
	struct ctl_client	*client;	/* NULL in tests */
	bool			 trusted;	/* root or the daemon's user */
	int			*fds;		/* received, not yet claimed */
	unsigned		 nfds;
	unsigned		 claimed;	/* out: taken from fds, now closed
						   or kept by the command */
	bool			 held;		/* out: no reply now */
};

#define CONTROL_MAX_CLIENTS	64
#define CONTROL_MAX_PENDING	(32u * 1024 * 1024)
#define CONTROL_IDLE_SECS	10

/* Binds and listens on path (mode 0600); 0, or -1 after logging why. */
int	control_open(const char *path);
/* Starts accepting clients; 0 or an errno. */
int	control_start(struct event_base *, struct dp *);
/* Disconnects every client, closes the socket and unlinks it. */
void	control_close(void);

/* Holds c for a reply later; hold->hangup and hold->json set by the caller. */
void	 control_hold(struct ctl_client *c, struct ctl_hold *);
/*
 * Sends a reply to a held client (taking the reference; NULL means it could
 * not be built); more=false ends the hold.  Nothing happens if the client is
 * gone.
 */
void	 control_push(struct ctl_hold *, json_t *reply, bool more);

/*
 * One request payload in, its reply object out (control-req.c); NULL when
 * the reply cannot be built (the command printed text that is not UTF-8)
 * or when the command holds the reply (peer->held).  Bad JSON or a bad argv
 * gets an error reply.
 */
json_t	*control_request(struct dp *, struct ctl_peer *, const char *buf,
	    size_t len);
/*
 * The reply for a result: {"ok": true, "data": result} or the text that
 * print makes of it; with "more": true if more follows.
 */
json_t	*control_reply(const json_t *result,
	    void (*print)(const json_t *, FILE *), bool json, bool more);
/* {"ok": false, "error": "<message>"}. */
json_t	*control_error(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
