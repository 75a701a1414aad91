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
 */
#ifndef VSW_CONTROL_H
#define VSW_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct event_base;
struct sw;

#define CONTROL_MAX_CLIENTS	64
#define CONTROL_MAX_PENDING	(32u * 1024 * 1024)
#define CONTROL_IDLE_SECS	10

/* Binds and listens on path (mode 0600); 0, or -1 after logging why. */
int	control_open(const char *path);
/* Starts accepting clients; 0 or an errno. */
int	control_start(struct event_base *, struct sw *);
/* Disconnects every client, closes the socket and unlinks it. */
void	control_close(void);

/*
 * One request payload in, its reply object out (control-req.c); NULL only
 * when out of memory.  Bad JSON or a bad argv gets an error reply.
 */
json_t	*control_request(struct sw *, bool trusted, const char *buf,
	    size_t len);
/* {"ok": false, "error": "<message>"}. */
json_t	*control_error(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
