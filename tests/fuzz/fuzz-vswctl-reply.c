/*
 * fuzz-vswctl-reply.c - libFuzzer target for vswctl's side of a reply:
 * what a daemon, or anything listening on the socket path, sends back.
 *
 * The input is the byte stream from the daemon, written whole into one end
 * of a socketpair that is then closed; vswctl's loop reads it from the
 * other end as it does from the socket: ctl_recv() (framing, lengths up to
 * CTL_MAX_REPLY against a short stream), vswctl_reply_parse(), and for a
 * successful reply vswctl_reply_print() into /dev/null, again while the
 * reply says "more".  Checked: every frame ends in a reply or an error,
 * never a hang (the closed end makes a short frame ECONNRESET, not a
 * wait), a parsed reply has a message exactly when it failed, and a frame
 * announcing more than the limit is refused before anything is read.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/vswctl-reply.h"
#include "vswitchd/ctl-proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What the socketpair surely holds without a reader. */
#define INPUT_MAX	(64 * 1024)

static FILE	*devnull;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct vswctl_reply	 r;
	char			*payload, msg[128];
	size_t			 plen, n;
	int			 sv[2], error;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	if (len > INPUT_MAX)
		len = INPUT_MAX;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	for (size_t off = 0; off < len; off += n) {
		ssize_t	w = write(sv[0], data + off, len - off);

		if (w <= 0)
			abort();
		n = (size_t)w;
	}
	close(sv[0]);
	for (;;) {
		error = ctl_recv(sv[1], CTL_MAX_REPLY, 1000, &payload, &plen);
		if (error != 0) {
			/* A closed stream never makes vswctl wait it out. */
			if (error == ETIMEDOUT)
				abort();
			vswctl_reply_recv_error(error, msg, sizeof(msg));
			break;
		}
		if (payload[plen] != '\0')
			abort();
		error = vswctl_reply_parse(payload, plen, &r);
		free(payload);
		if (error != 0) {
			if (error != EPROTO || r.msg != NULL)
				abort();
			break;
		}
		if (!json_is_object(r.msg) || (r.ok != (r.error == NULL)) ||
		    (!r.ok && r.more))
			abort();
		if (!r.ok) {
			vswctl_reply_clear(&r);
			break;
		}
		if (vswctl_reply_print(&r, devnull) != 0)
			abort();
		n = r.more;
		vswctl_reply_clear(&r);
		if (!n)
			break;
	}
	close(sv[1]);
	return 0;
}
