/*
 * fuzz-vhost-proto.c - libFuzzer target for the vhost-user message side
 * (vhost-proto.c): whatever a front-end may write on the socket.
 *
 * The input is a sequence of messages as they go on the wire (a 12-byte
 * header, then as much payload as the header says or the input has left);
 * each is sent on one end of a socketpair by its own sendmsg(), and the
 * first four bytes of the input (little-endian) say, bit k, whether
 * message k (of the first 32) carries a descriptor of a small memfd by
 * SCM_RIGHTS, as memory tables, hot-plugged regions and eventfds do (the
 * memfd is not sealed: its mappings are guarded, vhost-guard.h).  The
 * device reads and handles everything, then is reset; replies are
 * drained.  Nothing may crash, and every descriptor
 * received must be closed again (the process's count of open descriptors
 * is the same after each input).
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datapath/vhost-proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MEMFD_SIZE	(256 * 1024)

static int	memfd = -1;

static unsigned
open_fds(void)
{
	DIR		*d = opendir("/proc/self/fd");
	unsigned	 n = 0;

	if (d == NULL)
		abort();
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void
send_msg(int fd, const uint8_t *p, size_t len, bool with_fd)
{
	union {
		struct cmsghdr	c;
		char		b[CMSG_SPACE(sizeof(int))];
	}		 cb;
	struct iovec	 iov = { (void *)p, len };
	struct msghdr	 m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr	*c;

	if (with_fd) {
		m.msg_control = cb.b;
		m.msg_controllen = sizeof(cb.b);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &memfd, sizeof(int));
	}
	(void)sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vhost_dev	dev;
	static uint8_t		drain[65536];
	int			sv[2];
	size_t			off = 4, len;
	uint32_t		psize, mask;
	unsigned		k = 0, before;

	if (memfd == -1 && ((memfd = memfd_create("fuzz", MFD_CLOEXEC)) == -1 ||
	    ftruncate(memfd, MEMFD_SIZE) == -1))
		abort();
	if (size < 4)
		return 0;
	memcpy(&mask, data, sizeof(mask));
	before = open_fds();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		abort();
	vhost_dev_init(&dev, VHOST_BIT(VHOST_F_CSUM) |
	    VHOST_BIT(VHOST_F_GUEST_CSUM), NULL, NULL);
	vhost_dev_attach(&dev, sv[1]);
	while (off < size) {
		len = size - off;
		if (len >= VHOST_USER_HDR_LEN) {
			memcpy(&psize, data + off + 8, sizeof(psize));
			if (psize <= len - VHOST_USER_HDR_LEN)
				len = VHOST_USER_HDR_LEN + psize;
		}
		send_msg(sv[0], data + off, len, k < 32 && (mask >> k & 1));
		off += len;
		k++;
		/* Read as QEMU would be answered, message by message. */
		if (vhost_dev_readable(&dev) == -1)
			break;
		while (recv(sv[0], drain, sizeof(drain), MSG_DONTWAIT) > 0)
			;
	}
	close(sv[0]);
	(void)vhost_dev_readable(&dev);
	vhost_dev_reset(&dev);
	close(sv[1]);
	if (open_fds() != before)
		abort();
	return 0;
}
