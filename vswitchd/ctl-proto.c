/*
 * ctl-proto.c - control protocol framing, shared by vswitchd and vswctl.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl-proto.h"

void
ctl_hdr_pack(uint8_t hdr[CTL_HDR_LEN], uint32_t len)
{
	uint32_t	magic = htonl(CTL_MAGIC), nlen = htonl(len);

	memcpy(hdr, &magic, 4);
	memcpy(hdr + 4, &nlen, 4);
}

int
ctl_hdr_unpack(const uint8_t hdr[CTL_HDR_LEN], uint32_t max, uint32_t *len)
{
	uint32_t	magic, nlen;

	memcpy(&magic, hdr, 4);
	memcpy(&nlen, hdr + 4, 4);
	if (ntohl(magic) != CTL_MAGIC)
		return EPROTO;
	*len = ntohl(nlen);
	if (*len > max)
		return EMSGSIZE;
	return 0;
}

uint8_t *
ctl_frame(const json_t *msg, uint32_t max, size_t *len)
{
	char	*text;
	uint8_t	*frame;
	size_t	 n;

	text = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	n = strlen(text);
	if (n > max) {
		free(text);
		errno = EMSGSIZE;
		return NULL;
	}
	if ((frame = malloc(CTL_HDR_LEN + n)) == NULL) {
		free(text);
		errno = ENOMEM;
		return NULL;
	}
	ctl_hdr_pack(frame, (uint32_t)n);
	memcpy(frame + CTL_HDR_LEN, text, n);
	free(text);
	*len = CTL_HDR_LEN + n;
	return frame;
}

int
ctl_sockaddr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline; 0, ETIMEDOUT or an errno. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd	pfd = { .fd = fd, .events = events };
	int64_t		left;
	int		n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return ETIMEDOUT;
		if (errno != EINTR)
			return errno;
	}
}

int
ctl_connect(const char *path, int timeout_ms, int *fdp)
{
	struct sockaddr_un	sun;
	struct timeval		tv = {
		.tv_sec = timeout_ms / 1000,
		.tv_usec = (timeout_ms % 1000) * 1000,
	};
	int			fd, error;

	if ((error = ctl_sockaddr(&sun, path)) != 0)
		return error;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return errno;
	/* A Unix connect() waits for backlog room up to the send timeout. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		error = errno == EAGAIN || errno == EINPROGRESS ?
		    ETIMEDOUT : errno;
		close(fd);
		return error;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		error = errno;
		close(fd);
		return error;
	}
	*fdp = fd;
	return 0;
}

int
ctl_send(int fd, const void *buf, size_t len, int timeout_ms)
{
	int64_t		 deadline = now_ms() + timeout_ms;
	const uint8_t	*p = buf;
	ssize_t		 n;
	int		 error;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN)
			return errno;
		if ((error = wait_fd(fd, POLLOUT, deadline)) != 0)
			return error;
	}
	return 0;
}

int
ctl_send_fds(int fd, const void *buf, size_t len, const int *fds,
    unsigned nfds, int timeout_ms)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(CTL_MAX_FDS * sizeof(int))];
	}		 cmsg;
	struct iovec	 iov = { (void *)buf, 1 };
	struct msghdr	 msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr	*cm;
	int64_t		 deadline = now_ms() + timeout_ms;
	int		 error;

	if (nfds == 0)
		return ctl_send(fd, buf, len, timeout_ms);
	if (nfds > CTL_MAX_FDS || len == 0)
		return EINVAL;
	memset(&cmsg, 0, sizeof(cmsg));
	msg.msg_control = cmsg.buf;
	msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	/* One byte carries the descriptors; the rest goes as usual. */
	while (sendmsg(fd, &msg, MSG_NOSIGNAL) == -1) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return errno;
		if ((error = wait_fd(fd, POLLOUT, deadline)) != 0)
			return error;
	}
	return ctl_send(fd, (const uint8_t *)buf + 1, len - 1,
	    (int)(deadline - now_ms()));
}

static int
recv_exact(int fd, void *buf, size_t len, int64_t deadline)
{
	uint8_t	*p = buf;
	ssize_t	 n;
	int	 error;

	while (len > 0) {
		n = recv(fd, p, len, 0);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return errno;
		if ((error = wait_fd(fd, POLLIN, deadline)) != 0)
			return error;
	}
	return 0;
}

int
ctl_recv(int fd, uint32_t max, int timeout_ms, char **payload, size_t *lenp)
{
	int64_t		deadline = now_ms() + timeout_ms;
	uint8_t		hdr[CTL_HDR_LEN];
	uint32_t	len;
	char		*buf;
	int		error;

	if ((error = recv_exact(fd, hdr, sizeof(hdr), deadline)) != 0)
		return error;
	if ((error = ctl_hdr_unpack(hdr, max, &len)) != 0)
		return error;
	if ((buf = malloc((size_t)len + 1)) == NULL)
		return ENOMEM;
	if ((error = recv_exact(fd, buf, len, deadline)) != 0) {
		free(buf);
		return error;
	}
	buf[len] = '\0';
	*payload = buf;
	*lenp = len;
	return 0;
}
