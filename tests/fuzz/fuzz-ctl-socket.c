/*
 * fuzz-ctl-socket.c - libFuzzer target for the control socket itself: the
 * framing (ctl_hdr_unpack()), the per-client buffering loop, descriptors
 * passed with SCM_RIGHTS and the read-only socket's refusals, through the
 * daemon's own control.c on its event loop.
 *
 *   this target ---- main.sock ----+
 *     (one client per input)       +--- control.c --- control_request()
 *                 ---- ro.sock ----+         (a switch without port types)
 *
 * The input: one byte choosing the socket (bit 0: the read-only one), then
 * records [1 byte: flags] [2 bytes: length] [bytes], a length past the end
 * meaning "the rest".  A record's bytes go in one sendmsg() with
 * (flags & 7) % 6 descriptors attached, 0 to 5, where the daemon takes at
 * most CTL_MAX_FDS (a 5th truncates its control message); flags bit 3
 * shuts down the sending side after the record.  Between records the
 * event loop runs and the client reads whatever came back.
 *
 * Checked: the daemon always finishes with a client that shut down and
 * reads its replies (no hang, every reply framed: a reply stream is cut
 * only at a frame boundary), no client is left behind, and no descriptor
 * leaks: the daemon's copies of the passed files live in this process, so
 * as many descriptors of those files are open after an input as before.  No port type is
 * registered, so no command can keep a descriptor (capture needs a port);
 * the switch's settings may change on the main socket, which is harmless.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "datapath/dp.h"
#include "vswitchd/control.h"
#include "vswitchd/ctl-proto.h"
#include "vswitchd/log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_SEND_FDS	5
/* Loop rounds before a stuck client counts as a bug, not as slowness. */
#define MAX_ROUNDS	20000

static struct event_base	*base;
static struct dp		*dp;
static char			 dir[] = "/tmp/vsw-fuzz-ctl-XXXXXX";
static char			 paths[2][64];
static int			 passfds[2];	/* /dev/null, a pipe's end */
static int			 pipefd;
static int			 baseline;	/* of the passed files */

/*
 * How many open descriptors are one of the files the client passes: the
 * daemon's copies are in this process too, so a leaked one shows here.
 * Counting every descriptor would not do: libFuzzer's symbolizer comes
 * and goes with pipes of its own.
 */
static int
count_fds(void)
{
	struct stat	 st, pass[2];
	struct dirent	*e;
	DIR		*d;
	int		 n = 0;

	for (int i = 0; i < 2; i++)
		if (fstat(passfds[i], &pass[i]) == -1)
			abort();
	if ((d = opendir("/proc/self/fd")) == NULL)
		abort();
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || fstat(atoi(e->d_name), &st) == -1)
			continue;
		for (int i = 0; i < 2; i++)
			n += st.st_dev == pass[i].st_dev &&
			    st.st_ino == pass[i].st_ino;
	}
	closedir(d);
	return n;
}

static void
teardown(void)
{
	control_close();
	rmdir(dir);
}

static void
setup(void)
{
	int	p[2];

	log_init(1, LOG_LEVEL_ERROR);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(paths[0], sizeof(paths[0]), "%s/main.sock", dir);
	snprintf(paths[1], sizeof(paths[1]), "%s/ro.sock", dir);
	if ((base = event_base_new()) == NULL || (dp = dp_create()) == NULL ||
	    control_open(paths[0], NULL) != 0 ||
	    control_open_ro(paths[1], NULL) != 0 ||
	    control_start(base, dp) != 0)
		abort();
	atexit(teardown);
	if ((passfds[0] = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1 ||
	    pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		abort();
	passfds[1] = p[1];
	pipefd = p[0];
	baseline = count_fds();
}

/* Sends bytes with nfds descriptors; the count sent, 0 if it must wait. */
static ssize_t
send_record(int fd, const uint8_t *buf, size_t len, unsigned nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(MAX_SEND_FDS * sizeof(int))];
	}		 cmsg;
	struct iovec	 iov = { (void *)buf, len };
	struct msghdr	 msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr	*cm;
	ssize_t		 n;

	if (nfds > 0) {
		memset(&cmsg, 0, sizeof(cmsg));
		msg.msg_control = cmsg.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		for (unsigned i = 0; i < nfds; i++)
			memcpy(CMSG_DATA(cm) + i * sizeof(int),
			    &passfds[i % 2], sizeof(int));
	}
	n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return n;
}

/* Where the reply stream is: within a header, or a payload. */
struct stream {
	uint8_t		 hdr[CTL_HDR_LEN];
	size_t		 have;		/* of the header */
	size_t		 left;		/* of the payload */
};

/*
 * Reads what the daemon sent, checking that it is frames with a good
 * header; false once the daemon closed, which it may only between frames.
 */
static bool
drain(int fd, struct stream *st)
{
	uint8_t		 buf[65536];
	ssize_t		 n;
	uint32_t	 len;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0) {
			if (st->have != 0 || st->left != 0)
				abort();
			return false;
		}
		if (n == -1)
			return errno == EAGAIN || errno == EINTR;
		for (size_t off = 0, take; off < (size_t)n; off += take) {
			if (st->left == 0) {
				take = CTL_HDR_LEN - st->have;
				if (take > (size_t)n - off)
					take = (size_t)n - off;
				memcpy(st->hdr + st->have, buf + off, take);
				st->have += take;
				if (st->have < CTL_HDR_LEN)
					continue;
				if (ctl_hdr_unpack(st->hdr, CTL_MAX_REPLY,
				    &len) != 0 || len == 0)
					abort();
				st->have = 0;
				st->left = len;
				continue;
			}
			take = (size_t)n - off < st->left ? (size_t)n - off :
			    st->left;
			st->left -= take;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct stream	 st = { .have = 0 };
	char		 junk[256];
	size_t		 done = 0;	/* of the current record */
	bool		 open_ = true, shut = false;
	int		 fd, rounds = 0;

	if (base == NULL)
		setup();
	if (len < 1)
		return 0;
	if (ctl_connect(paths[data[0] & 1], 1000, &fd) != 0)
		abort();
	data++;
	len--;
	while (open_) {
		if (len >= 3 && !shut) {
			unsigned	 flags = data[0];
			size_t		 n = (size_t)data[1] << 8 | data[2];
			ssize_t		 sent;

			if (n > len - 3)
				n = len - 3;
			/* Descriptors go with the first byte, if any. */
			sent = n == 0 ? 0 : send_record(fd, data + 3 + done,
			    n - done, done == 0 ? (flags & 7) % 6 : 0);
			if (sent == -1)
				shut = true;	/* the daemon closed on us */
			else if ((done += (size_t)sent) == n) {
				data += 3 + n;
				len -= 3 + n;
				done = 0;
				if (flags & 8) {
					shutdown(fd, SHUT_WR);
					shut = true;
				}
			}
		} else if (!shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		open_ = drain(fd, &st);
		if (++rounds > MAX_ROUNDS)
			abort();
	}
	close(fd);
	for (rounds = 0; control_nclients() > 0; rounds++) {
		if (rounds > MAX_ROUNDS)
			abort();
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	while (read(pipefd, junk, sizeof(junk)) > 0)
		;
	if (count_fds() != baseline)
		abort();
	return 0;
}
