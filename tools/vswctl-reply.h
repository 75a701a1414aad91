/*
 * vswctl-reply.h - what vswctl makes of the daemon's replies.
 *
 * A reply payload (ctl-proto.h) is checked before vswctl trusts any of it:
 * it must be one JSON object with a boolean "ok".  A successful one prints
 * its "data" as one line of JSON or its "output" text as it is; a failed
 * one carries the daemon's message in "error".  "more": true says another
 * reply to the same request follows.  Apart from vswctl's main so that a
 * fuzz target can feed it whatever a daemon, or something posing as one,
 * might send.
 */
#ifndef VSWCTL_REPLY_H
#define VSWCTL_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

struct vswctl_reply {
	json_t		*msg;		/* the whole reply */
	bool		 ok;
	bool		 more;		/* another reply follows */
	const char	*error;		/* if !ok: the daemon's message */
};

/* 0, or EPROTO if payload is no JSON object with a boolean "ok". */
int	 vswctl_reply_parse(const char *payload, size_t len,
	    struct vswctl_reply *);
/* Prints a successful reply; 0 or an errno (of the write). */
int	 vswctl_reply_print(const struct vswctl_reply *, FILE *);
void	 vswctl_reply_clear(struct vswctl_reply *);
/* What went wrong in words, for an error of ctl_recv(). */
const char *vswctl_reply_recv_error(int error, char *buf, size_t size);

#endif
