/*
 * cap-writer.c - the capture ring and its writer thread.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cap-writer.h"

/* How a write keeps from waiting, by the kind of descriptor. */
enum {
	CAPW_NOWAIT,		/* pwritev2(RWF_NOWAIT): pipes, FIFOs, devices */
	CAPW_BOUNDED,		/* RWF_NOWAIT refused: poll, then PIPE_BUF */
	CAPW_SOCKET,		/* sendmsg(MSG_DONTWAIT) */
	CAPW_FILE,		/* a regular file or a disk: may block on I/O */
};

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
capw_mode(int fd, int *mode)
{
	struct stat	st;

	if (fstat(fd, &st) == -1)
		return errno;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		*mode = CAPW_FILE;
	else if (S_ISSOCK(st.st_mode))
		*mode = CAPW_SOCKET;
	else
		*mode = CAPW_NOWAIT;
	return 0;
}

int
capw_init(struct capw *w, size_t size, int fd)
{
	int	error;

	memset(w, 0, sizeof(*w));
	w->fd = w->wakefd = w->notifyfd = -1;
	if (size < 2 * (CAPW_FILE_HDR + CAPW_REC_HDR) || (size & (size - 1)))
		return EINVAL;
	if ((w->buf = malloc(size)) == NULL)
		return ENOMEM;
	if ((w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		goto fail;
	/* The descriptor's file status flags are the client's: left alone. */
	if ((errno = capw_mode(fd, &w->mode)) != 0)
		goto fail;
	w->size = size;
	w->fd = fd;
	w->next_rec = CAPW_FILE_HDR;
	return 0;

fail:
	error = errno;
	if (w->wakefd != -1)
		close(w->wakefd);
	free(w->buf);
	w->buf = NULL;
	w->wakefd = -1;
	return error;
}

size_t
capw_room(const struct capw *w)
{
	uint64_t	tail = atomic_load_explicit(&w->tail,
			    memory_order_acquire);

	return w->size - (size_t)(w->phead - tail);
}

void
capw_put(struct capw *w, const void *data, size_t n)
{
	size_t	off = (size_t)(w->phead & (w->size - 1));
	size_t	first = n < w->size - off ? n : w->size - off;

	memcpy(w->buf + off, data, first);
	memcpy(w->buf, (const uint8_t *)data + first, n - first);
	w->phead += n;
}

static void
kick(int fd)
{
	uint64_t	one = 1;

	/* Only fails when the counter would overflow: a wake-up is pending. */
	if (write(fd, &one, sizeof(one)) == -1)
		return;
}

void
capw_commit(struct capw *w)
{
	uint64_t	tail;

	atomic_store_explicit(&w->head, w->phead, memory_order_release);
	tail = atomic_load_explicit(&w->tail, memory_order_relaxed);
	if (w->phead - tail > w->size / 2 &&
	    !atomic_exchange_explicit(&w->kicked, true, memory_order_relaxed))
		kick(w->wakefd);
}

/* n bytes from ring offset at (which may wrap). */
static void
ring_peek(const struct capw *w, uint64_t at, void *out, size_t n)
{
	size_t	off = (size_t)(at & (w->size - 1));
	size_t	first = n < w->size - off ? n : w->size - off;

	memcpy(out, w->buf + off, first);
	memcpy((uint8_t *)out + first, w->buf, n - first);
}

/*
 * Steps over the records that end at or before upto and returns how many.
 * Records are published whole, so any record starting below head is there
 * to read; the bytes are still ours until tail is published.
 */
static uint64_t
count_records(struct capw *w, uint64_t upto)
{
	uint32_t	caplen;
	uint64_t	n = 0, end;

	while (w->next_rec < upto) {
		ring_peek(w, w->next_rec + 8, &caplen, sizeof(caplen));
		end = w->next_rec + CAPW_REC_HDR + caplen;
		if (end > upto)
			break;
		w->next_rec = end;
		n++;
	}
	return n;
}

/*
 * One write that does not wait for a reader (see capw_mode): the bytes
 * written, or -1 with errno (EAGAIN when the reader is behind).
 */
static ssize_t
capw_write(struct capw *w, struct iovec *iov, int iovcnt)
{
	struct msghdr	msg = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
	struct pollfd	pfd = { .fd = w->fd, .events = POLLOUT };
	ssize_t		r;

	switch (w->mode) {
	case CAPW_NOWAIT:
		r = pwritev2(w->fd, iov, iovcnt, -1, RWF_NOWAIT);
		if (r != -1 || (errno != EOPNOTSUPP && errno != EINVAL &&
		    errno != ENOSYS))
			return r;
		w->mode = CAPW_BOUNDED;	/* an older kernel: from now on */
		/* FALLTHROUGH */
	case CAPW_BOUNDED:
		if (poll(&pfd, 1, 0) == 0) {
			errno = EAGAIN;
			return -1;
		}
		/* A pipe with room takes PIPE_BUF bytes without waiting. */
		if (iov[0].iov_len > PIPE_BUF)
			iov[0].iov_len = PIPE_BUF;
		return write(w->fd, iov[0].iov_base, iov[0].iov_len);
	case CAPW_SOCKET:
		return sendmsg(w->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	default:
		return writev(w->fd, iov, iovcnt);
	}
}

/* Writes what is queued: 0 when the ring is empty, EAGAIN, or an errno. */
static int
drain(struct capw *w, int64_t *progress)
{
	uint64_t	head = atomic_load_explicit(&w->head,
			    memory_order_acquire);
	uint64_t	tail = atomic_load_explicit(&w->tail,
			    memory_order_relaxed);
	struct iovec	iov[2];
	size_t		off, n, first;
	ssize_t		r;

	while (tail < head) {
		off = (size_t)(tail & (w->size - 1));
		n = (size_t)(head - tail);
		first = n < w->size - off ? n : w->size - off;
		iov[0] = (struct iovec){ w->buf + off, first };
		iov[1] = (struct iovec){ w->buf, n - first };
		r = capw_write(w, iov, n > first ? 2 : 1);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? EAGAIN : errno;
		}
		*progress = now_ms();
		tail += (uint64_t)r;
		atomic_fetch_add_explicit(&w->written, count_records(w, tail),
		    memory_order_relaxed);
		atomic_fetch_add_explicit(&w->bytes, (uint64_t)r,
		    memory_order_relaxed);
		atomic_store_explicit(&w->tail, tail, memory_order_release);
	}
	return 0;
}

/*
 * Throws away what is queued, counting the records; one already begun is
 * among them (next_rec is still its start) and stays cut short in the file.
 */
static void
discard(struct capw *w)
{
	uint64_t	head = atomic_load_explicit(&w->head,
			    memory_order_acquire);

	atomic_fetch_add_explicit(&w->discarded, count_records(w, head),
	    memory_order_relaxed);
	atomic_store_explicit(&w->tail, head, memory_order_release);
}

static void *
capw_main(void *arg)
{
	struct capw	*w = arg;
	struct pollfd	 pfd[2];
	int64_t		 progress = now_ms(), left;
	uint64_t	 v;
	int		 error, timeout;
	bool		 finishing;

	for (;;) {
		/*
		 * finish is set after the last record is queued: read it
		 * before draining, so that a drain that saw the ring empty
		 * and then a finish is not taken for the end of the queue.
		 */
		finishing = atomic_load(&w->finish);
		error = drain(w, &progress);
		if (error != 0 && error != EAGAIN)
			break;
		if (error == 0 && finishing)
			break;
		timeout = CAPW_FLUSH_MS;
		if (error == EAGAIN && finishing) {
			left = progress + CAPW_STALL_MS - now_ms();
			if (left <= 0) {
				error = 0;
				break;
			}
			timeout = left < timeout ? (int)left : timeout;
		}
		pfd[0] = (struct pollfd){ .fd = w->wakefd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = w->fd,
		    .events = error == EAGAIN ? POLLOUT : 0 };
		if (poll(pfd, 2, timeout) == -1 && errno != EINTR) {
			error = errno;
			break;
		}
		/* The reader is gone; a pipe says so even with nothing to write. */
		if (pfd[1].revents & (POLLERR | POLLHUP) &&
		    !(pfd[1].revents & POLLOUT)) {
			error = EPIPE;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			if (read(w->wakefd, &v, sizeof(v)) == -1)
				v = 0;
			atomic_store(&w->kicked, false);
		}
	}
	discard(w);
	atomic_store(&w->error, error);
	atomic_store(&w->done, true);
	if (w->notifyfd != -1)
		kick(w->notifyfd);
	return NULL;
}

int
capw_start(struct capw *w, int notify_fd)
{
	sigset_t	all, old;
	int		error;

	w->notifyfd = notify_fd;
	/*
	 * Signals are the event loop's business, not this thread's; but a
	 * seccomp refusal here must reach the sandbox's report.
	 */
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	error = pthread_create(&w->thread, NULL, capw_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error == 0)
		w->started = true;
	return error;
}

void
capw_finish(struct capw *w)
{
	if (!atomic_exchange(&w->finish, true))
		kick(w->wakefd);
}

bool
capw_done(const struct capw *w)
{
	return atomic_load(&w->done);
}

void
capw_destroy(struct capw *w)
{
	if (w->started) {
		capw_finish(w);
		pthread_join(w->thread, NULL);
	}
	if (w->fd != -1)
		close(w->fd);
	if (w->wakefd != -1)
		close(w->wakefd);
	free(w->buf);
	w->buf = NULL;
	w->fd = w->wakefd = -1;
}
