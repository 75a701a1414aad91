/*
 * control.h - the control socket, after OpenBSD's control.c.
 *
 * control_open() claims the socket path before the daemon detaches, so a
 * second daemon is refused with a message on the terminal: a path where a
 * daemon answers is left alone, a stale socket file is replaced.
 * control_start() then serves clients from the event loop.
 *
 * Who may do what.  The main socket is mode 0600, or 0660 for the group
 * given to control_open(): the file system decides who connects.  Every
 * command is then served to root, the daemon's user and members of that
 * group (SO_PEERCRED, SO_PEERGROUPS); anyone else who got in, as through a
 * socket made wider by hand, gets the read-only commands (CMD_READONLY).
 * A read-only socket (control_open_ro(): 0660 for its group, else 0666)
 * serves only the read-only commands, to everyone, root included, so a
 * wider group can watch without a way to change anything.  Every command
 * that is not read-only and succeeds is logged with the client's uid and
 * pid.
 *
 * The daemon never blocks on a client.  Sockets are non-blocking; each
 * client has an input and an output buffer; a reply is written as fast as
 * the client reads it, and a client's next request waits until it has read
 * the last reply.  A client that sends garbage gets an error reply and is
 * disconnected.  One that has not sent a complete first request within
 * CONTROL_FIRST_SECS, or later sits for CONTROL_IDLE_SECS without finishing
 * a request or reading its reply, or lets more than CONTROL_MAX_PENDING
 * bytes of replies pile up, is dropped.
 *
 * At most CONTROL_MAX_CLIENTS are served at once, counted over both
 * sockets.  The last CONTROL_ROOT_SLOTS of them are root's alone, and one
 * other uid holds at most CONTROL_MAX_PER_UID, so that no user can lock
 * root out by holding connections open.  A client over a limit is told
 * why and closed; the first refusal is logged, and further ones only as a
 * count every CONTROL_REFUSE_LOG_SECS, so a flood of clients cannot flood
 * the log.
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
 *
 * The sockets are removed at exit, also when the daemon runs as another
 * user (control_set_owner()): the socket files and the directory
 * control_open() made for them (or the default runtime directory) are given
 * to that user, and the directory is held open, so that the daemon can
 * still unlink them when it no longer has root's reach.
 */
#ifndef VSW_CONTROL_H
#define VSW_CONTROL_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

struct ctl_client;
struct event_base;
struct dp;
struct passwd;

struct ctl_hold {
	struct ctl_client	*client;	/* NULL once it has gone */
	bool			 json;		/* it asked for JSON */
	void			(*hangup)(struct ctl_hold *);
};

/* What a request came with and what became of it (control_request()). */
struct ctl_peer {
	struct ctl_client	*client;	/* NULL in tests */
	bool			 trusted;	/* may run every command */
	const char		*readonly_why;	/* who is read-only, if not */
	bool			 has_cred;	/* uid and pid are known */
	uid_t			 uid;		/* for the log of changes */
	pid_t			 pid;
	int			*fds;		/* received, not yet claimed */
	unsigned		 nfds;
	unsigned		 claimed;	/* out: taken from fds, now closed
						   or kept by the command */
	bool			 held;		/* out: no reply now */
};

#define CONTROL_MAX_CLIENTS	64
#define CONTROL_ROOT_SLOTS	8	/* of those, for root only */
#define CONTROL_MAX_PER_UID	16	/* for one uid other than root */
#define CONTROL_MAX_PENDING	(32u * 1024 * 1024)
#define CONTROL_FIRST_SECS	2	/* to send the first request */
#define CONTROL_IDLE_SECS	10
#define CONTROL_REFUSE_LOG_SECS	5

/*
 * Binds and listens on path, mode 0600, or 0660 and owned by group if not
 * NULL (a name or a number).  0, or -1 after logging why.
 */
int	control_open(const char *path, const char *group);
/* The read-only socket: mode 0660 for group if not NULL, else 0666. */
int	control_open_ro(const char *path, const char *group);
/*
 * Before the daemon becomes that user: gives it the sockets and their
 * directory where control_open() made it (or the default one), so that it
 * can connect and, at exit, remove them; warns if it still cannot.
 */
void	control_set_owner(const struct passwd *);
/* Starts accepting clients; 0 or an errno. */
int	control_start(struct event_base *, struct dp *);
/* Disconnects every client, closes the sockets and unlinks them. */
void	control_close(void);
/* How many clients are connected (both sockets). */
unsigned control_nclients(void);

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
