/*
 * vswctl-reply.c - parsing and printing the daemon's replies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vswitchd/ctl-proto.h"

#include "vswctl-reply.h"

int
vswctl_reply_parse(const char *payload, size_t len, struct vswctl_reply *r)
{
	json_error_t	 jerr;
	json_t		*ok;

	memset(r, 0, sizeof(*r));
	/* The length, not a NUL, ends it: a NUL inside is not JSON. */
	if ((r->msg = json_loadb(payload, len, 0, &jerr)) == NULL)
		return EPROTO;
	ok = json_object_get(r->msg, "ok");
	if (!json_is_object(r->msg) || !json_is_boolean(ok)) {
		vswctl_reply_clear(r);
		return EPROTO;
	}
	r->ok = json_is_true(ok);
	r->more = r->ok && json_is_true(json_object_get(r->msg, "more"));
	if (!r->ok && (r->error = json_string_value(json_object_get(r->msg,
	    "error"))) == NULL)
		r->error = "command failed";
	return 0;
}

int
vswctl_reply_print(const struct vswctl_reply *r, FILE *out)
{
	const char	*text;
	json_t		*data;
	char		*s;

	if ((data = json_object_get(r->msg, "data")) != NULL) {
		if ((s = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY)) ==
		    NULL)
			return ENOMEM;
		fprintf(out, "%s\n", s);
		free(s);
	} else if ((text = json_string_value(json_object_get(r->msg,
	    "output"))) != NULL)
		fputs(text, out);
	if (fflush(out) == EOF || ferror(out))
		return errno ? errno : EIO;
	return 0;
}

void
vswctl_reply_clear(struct vswctl_reply *r)
{
	json_decref(r->msg);
	memset(r, 0, sizeof(*r));
}

const char *
vswctl_reply_recv_error(int error, char *buf, size_t size)
{
	switch (error) {
	case ETIMEDOUT:
		snprintf(buf, size, "daemon did not reply within %d s",
		    CTL_TIMEOUT_MS / 1000);
		break;
	case ECONNRESET:
		snprintf(buf, size, "daemon closed the connection without "
		    "replying");
		break;
	case EPROTO:
		snprintf(buf, size, "daemon speaks another protocol version");
		break;
	case EMSGSIZE:
		snprintf(buf, size, "reply too large (max %u bytes)",
		    CTL_MAX_REPLY);
		break;
	default:
		snprintf(buf, size, "cannot read the reply: %s",
		    strerror(error));
	}
	return buf;
}
