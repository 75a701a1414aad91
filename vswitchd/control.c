/*
 * control.c - the control socket server.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "cmd.h"
#include "control.h"
#include "ctl-proto.h"
#include "log.h"
#include "xmalloc.h"

#define CONTROL_READ_SIZE	16384

struct ctl_client {
	int			 fd;
	bool			 trusted;	/* same user as the daemon */
	bool			 closing;	/* close once out is written */
	bool			 eof;		/* it will send nothing more */
	struct ctl_hold		*hold;		/* a command answers later */
	int			 fds[CTL_MAX_FDS];	/* passed, unclaimed */
	unsigned		 nfds;
	struct event		*rev;
	struct event		*wev;
	struct event		*timer;
	struct evbuffer		*in;
	struct evbuffer		*out;
	TAILQ_ENTRY(ctl_client)	 entry;
};

static struct {
	int				 fd;
	char				 path[sizeof(struct sockaddr_un)];
	dev_t				 dev;
	ino_t				 ino;
	/*
	 * The socket's directory, held open so that the socket can still be
	 * removed at exit after privileges are dropped (--user), when the
	 * directories above it may no longer be searchable.
	 */
	int				 dirfd;
	struct event_base		*base;
	struct dp			*dp;
	struct event			*ev;
	struct event			*pause;
	TAILQ_HEAD(, ctl_client)	 clients;
	unsigned			 nclients;
} ctl = { .fd = -1, .dirfd = -1, .clients = TAILQ_HEAD_INITIALIZER(ctl.clients) };

static const struct timeval control_idle = { CONTROL_IDLE_SECS, 0 };

static void	client_close(struct ctl_client *);

/* Creates every missing directory above path. */
static void
mkdir_parents(const char *path)
{
	char	dir[sizeof(ctl.path)];

	strcpy(dir, path);
	for (char *p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			log_warn("mkdir %s", dir);
		*p = '/';
	}
}

/* The directory part of path in buf ("/" or "." at least). */
static const char *
path_dir(const char *path, char *buf, size_t size)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		return ".";
	snprintf(buf, size, "%.*s", slash == path ? 1 : (int)(slash - path),
	    path);
	return buf;
}

/* The last component of path. */
static const char *
path_base(const char *path)
{
	const char	*slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/* 0 if path is free or held by a stale socket, -1 if it must be left. */
static int
control_claim(const char *path)
{
	struct stat	st;
	int		fd, error;

	if (lstat(path, &st) == -1)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("%s exists and is not a socket", path);
		return -1;
	}
	error = ctl_connect(path, 1000, &fd);
	if (error == 0) {
		close(fd);
		log_warnx("another vswitchd is already running on %s", path);
		return -1;
	}
	if (error != ECONNREFUSED) {
		log_warnx("%s is in use: %s", path, strerror(error));
		return -1;
	}
	log_info("removing stale socket %s", path);
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("unlink %s", path);
		return -1;
	}
	return 0;
}

int
control_open(const char *path)
{
	char			dir[sizeof(ctl.path)];
	struct sockaddr_un	sun;
	struct stat		st;
	mode_t			old;
	int			fd;

	if (ctl_sockaddr(&sun, path) != 0) {
		log_warnx("socket path too long: %s", path);
		return -1;
	}
	mkdir_parents(path);
	if (control_claim(path) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("socket");
		return -1;
	}
	old = umask(S_IXUSR | S_IRWXG | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("bind %s", path);
		umask(old);
		goto fail;
	}
	umask(old);
	if (listen(fd, 16) == -1 || stat(path, &st) == -1) {
		log_warn("listen %s", path);
		unlink(path);
		goto fail;
	}
	strcpy(ctl.path, path);
	ctl.fd = fd;
	ctl.dev = st.st_dev;
	ctl.ino = st.st_ino;
	ctl.dirfd = open(path_dir(path, dir, sizeof(dir)), O_PATH |
	    O_DIRECTORY | O_CLOEXEC);
	return 0;
fail:
	close(fd);
	return -1;
}

static int	client_flush(struct ctl_client *);

static void
free_frame(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/*
 * Queues reply (taking the reference; NULL means it could not be built, as
 * when a command printed text that is not UTF-8) and writes what the client
 * will take now.  Returns -1 if the client was closed.
 */
static int
client_send(struct ctl_client *c, json_t *reply)
{
	uint8_t	*frame;
	size_t	 len;
	bool	 too_big;

	frame = reply ? ctl_frame(reply, CTL_MAX_REPLY, &len) : NULL;
	too_big = frame == NULL && reply != NULL && errno == EMSGSIZE;
	json_decref(reply);
	if (too_big) {
		reply = control_error("reply too large (over %u MiB)",
		    CTL_MAX_REPLY >> 20);
		frame = reply ? ctl_frame(reply, CTL_MAX_REPLY, &len) : NULL;
		json_decref(reply);
	}
	if (frame == NULL) {
		log_warnx("control: cannot build reply");
		client_close(c);
		return -1;
	}
	if (evbuffer_get_length(c->out) + len > CONTROL_MAX_PENDING) {
		log_warnx("control: client does not read its replies, "
		    "disconnecting");
		free(frame);
		client_close(c);
		return -1;
	}
	if (evbuffer_add_reference(c->out, frame, len, free_frame,
	    NULL) == -1) {
		free(frame);
		client_close(c);
		return -1;
	}
	return client_flush(c);
}

static int
client_flush(struct ctl_client *c)
{
	int	n;

	while (evbuffer_get_length(c->out) > 0) {
		n = evbuffer_write(c->out, c->fd);
		if (n > 0) {
			if (c->hold == NULL)
				evtimer_add(c->timer, &control_idle);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		client_close(c);
		return -1;
	}
	if (evbuffer_get_length(c->out) > 0) {
		event_add(c->wev, NULL);
		return 0;
	}
	event_del(c->wev);
	if (c->closing) {
		client_close(c);
		return -1;
	}
	return 0;
}

/* Stops reading; the client goes once its pending replies are written. */
static int
client_finish(struct ctl_client *c)
{
	c->closing = true;
	event_del(c->rev);
	return client_flush(c);
}

/* Runs one complete request; -1 if the client was closed. */
static int
client_request(struct ctl_client *c, const char *payload, uint32_t len)
{
	struct ctl_peer	 peer = {
		.client = c,
		.trusted = c->trusted,
		.fds = c->fds,
		.nfds = c->nfds,
	};
	json_t		*reply;

	reply = control_request(ctl.dp, &peer, payload, len);
	c->nfds -= peer.claimed;
	memmove(c->fds, c->fds + peer.claimed, c->nfds * sizeof(int));
	if (peer.held)
		return 0;
	return client_send(c, reply);
}

/* Runs every complete request in c->in; -1 if the client was closed. */
static int
client_process(struct ctl_client *c)
{
	uint8_t		 hdr[CTL_HDR_LEN];
	uint32_t	 len;
	size_t		 avail;
	const char	*payload;
	int		 error;

	while (!c->closing && c->hold == NULL) {
		/* One reply at a time: a client that does not read waits. */
		if (evbuffer_get_length(c->out) > 0) {
			event_del(c->rev);
			break;
		}
		avail = evbuffer_get_length(c->in);
		if (avail < CTL_HDR_LEN)
			break;
		evbuffer_copyout(c->in, hdr, sizeof(hdr));
		error = ctl_hdr_unpack(hdr, CTL_MAX_REQUEST, &len);
		if (error == EPROTO) {
			log_debug("control: bad magic, disconnecting");
			if (client_send(c, control_error("bad protocol magic "
			    "(expected VSW1)")) == -1)
				return -1;
			return client_finish(c);
		}
		if (error != 0) {
			log_debug("control: request of %u bytes, "
			    "disconnecting", len);
			if (client_send(c, control_error("request too large "
			    "(%u bytes, max %u)", len, CTL_MAX_REQUEST)) == -1)
				return -1;
			return client_finish(c);
		}
		if (avail - CTL_HDR_LEN < len)
			break;
		evbuffer_drain(c->in, CTL_HDR_LEN);
		payload = len ? (const char *)evbuffer_pullup(c->in, len) : "";
		if (client_request(c, payload, len) == -1)
			return -1;
		evbuffer_drain(c->in, len);
		if (c->hold == NULL)
			evtimer_add(c->timer, &control_idle);
	}
	if (c->eof && !c->closing && c->hold == NULL)
		return client_finish(c);
	return 0;
}

/*
 * Queues descriptors passed with SCM_RIGHTS.  Returns -1 if the message
 * was cut short or brought more than the queue holds: everything received
 * is closed then, since no request can be matched with it any more.
 */
static int
client_take_fds(struct ctl_client *c, struct msghdr *msg)
{
	struct cmsghdr	*cm;
	int		 fd, rc = msg->msg_flags & MSG_CTRUNC ? -1 : 0;

	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t off = 0; off + sizeof(int) <=
		    cm->cmsg_len - CMSG_LEN(0); off += sizeof(int)) {
			memcpy(&fd, CMSG_DATA(cm) + off, sizeof(fd));
			if (c->nfds < CTL_MAX_FDS)
				c->fds[c->nfds++] = fd;
			else {
				close(fd);
				rc = -1;
			}
		}
	}
	return rc;
}

static void
client_close_fds(struct ctl_client *c)
{
	for (unsigned i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	c->nfds = 0;
}

/* The client shut down its side: a holder hears of it and may still reply. */
static void
client_eof(struct ctl_client *c)
{
	c->eof = true;
	event_del(c->rev);
	if (c->hold != NULL)
		c->hold->hangup(c->hold);
	else
		client_process(c);
}

static void
client_read_cb(evutil_socket_t fd, short events, void *arg)
{
	struct ctl_client	*c = arg;
	uint8_t			 buf[CONTROL_READ_SIZE];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(CTL_MAX_FDS * sizeof(int))];
	}			 cmsg;
	struct iovec		 iov = { buf, sizeof(buf) };
	struct msghdr		 msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cmsg.buf,
		.msg_controllen = sizeof(cmsg.buf),
	};
	ssize_t			 n;

	(void)events;
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			client_close(c);
		return;
	}
	if (client_take_fds(c, &msg) == -1) {
		log_debug("control: bad descriptors, disconnecting");
		client_close_fds(c);
		if (client_send(c, control_error("too many descriptors or a "
		    "cut control message (max %d)", CTL_MAX_FDS)) == 0)
			client_finish(c);
		return;
	}
	if (n == 0) {
		client_eof(c);
		return;
	}
	if (evbuffer_add(c->in, buf, (size_t)n) == -1) {
		client_close(c);
		return;
	}
	/* A held client has no reason to send; do not buffer without end. */
	if (c->hold != NULL && evbuffer_get_length(c->in) >
	    CTL_HDR_LEN + CTL_MAX_REQUEST) {
		client_close(c);
		return;
	}
	client_process(c);
}

static void
client_write_cb(evutil_socket_t fd, short events, void *arg)
{
	struct ctl_client	*c = arg;

	(void)fd;
	(void)events;
	if (client_flush(c) == -1 || evbuffer_get_length(c->out) > 0)
		return;
	if (!c->eof)
		event_add(c->rev, NULL);
	client_process(c);
}

static void
client_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	log_debug("control: client idle for %d s, disconnecting",
	    CONTROL_IDLE_SECS);
	client_close(arg);
}

static void
client_close(struct ctl_client *c)
{
	struct ctl_hold	*hold = c->hold;

	if (hold != NULL) {
		c->hold = NULL;
		hold->client = NULL;
		hold->hangup(hold);
	}
	client_close_fds(c);
	TAILQ_REMOVE(&ctl.clients, c, entry);
	ctl.nclients--;
	event_free(c->rev);
	event_free(c->wev);
	event_free(c->timer);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	close(c->fd);
	free(c);
}

void
control_hold(struct ctl_client *c, struct ctl_hold *hold)
{
	hold->client = c;
	c->hold = hold;
	evtimer_del(c->timer);
}

void
control_push(struct ctl_hold *hold, json_t *reply, bool more)
{
	struct ctl_client	*c = hold->client;

	if (c == NULL) {
		json_decref(reply);
		return;
	}
	if (!more) {
		c->hold = NULL;
		hold->client = NULL;
	}
	if (client_send(c, reply) == -1 || more)
		return;
	evtimer_add(c->timer, &control_idle);
	if (!c->eof)
		event_add(c->rev, NULL);
	client_process(c);
}

static bool
peer_trusted(int fd)
{
	struct ucred	cred;
	socklen_t	len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void
client_new(int fd)
{
	struct ctl_client	*c;

	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->trusted = peer_trusted(fd);
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	c->rev = event_new(ctl.base, fd, EV_READ | EV_PERSIST,
	    client_read_cb, c);
	c->wev = event_new(ctl.base, fd, EV_WRITE | EV_PERSIST,
	    client_write_cb, c);
	c->timer = evtimer_new(ctl.base, client_timeout_cb, c);
	if (c->in == NULL || c->out == NULL || c->rev == NULL ||
	    c->wev == NULL || c->timer == NULL)
		goto fail;
	TAILQ_INSERT_TAIL(&ctl.clients, c, entry);
	ctl.nclients++;
	event_add(c->rev, NULL);
	evtimer_add(c->timer, &control_idle);
	return;
fail:
	log_warnx("control: out of memory for a client");
	if (c->in)
		evbuffer_free(c->in);
	if (c->out)
		evbuffer_free(c->out);
	if (c->rev)
		event_free(c->rev);
	if (c->wev)
		event_free(c->wev);
	if (c->timer)
		event_free(c->timer);
	free(c);
	close(fd);
}

/* Tells a client over the limit why it is refused, if it can take it. */
static void
client_refuse(int fd)
{
	json_t	*reply;
	uint8_t	*frame = NULL;
	size_t	 len;

	reply = control_error("too many clients, try again later");
	if (reply != NULL)
		frame = ctl_frame(reply, CTL_MAX_REPLY, &len);
	if (frame != NULL && send(fd, frame, len,
	    MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
		log_debug("control: refusing client: %s", strerror(errno));
	free(frame);
	json_decref(reply);
	close(fd);
}

static void
control_accept_cb(evutil_socket_t lfd, short events, void *arg)
{
	const struct timeval	second = { 1, 0 };
	int			fd;

	(void)events;
	(void)arg;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			/* The backlog stays readable: pause instead of spin. */
			log_warn("control: accept");
			event_del(ctl.ev);
			evtimer_add(ctl.pause, &second);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control: accept");
		return;
	}
	if (ctl.nclients >= CONTROL_MAX_CLIENTS) {
		log_warnx("control: %u clients already, refusing one",
		    ctl.nclients);
		client_refuse(fd);
		return;
	}
	client_new(fd);
}

static void
control_resume_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	event_add(ctl.ev, NULL);
}

int
control_start(struct event_base *base, struct dp *dp)
{
	ctl.base = base;
	ctl.dp = dp;
	ctl.ev = event_new(base, ctl.fd, EV_READ | EV_PERSIST,
	    control_accept_cb, NULL);
	ctl.pause = evtimer_new(base, control_resume_cb, NULL);
	if (ctl.ev == NULL || ctl.pause == NULL ||
	    event_add(ctl.ev, NULL) == -1)
		return ENOMEM;
	log_info("listening on %s", ctl.path);
	return 0;
}

void
control_close(void)
{
	struct ctl_client	*c;
	struct stat		 st;
	const char		*base;

	while ((c = TAILQ_FIRST(&ctl.clients)) != NULL)
		client_close(c);
	if (ctl.ev != NULL)
		event_free(ctl.ev);
	if (ctl.pause != NULL)
		event_free(ctl.pause);
	ctl.ev = ctl.pause = NULL;
	if (ctl.fd == -1)
		return;
	close(ctl.fd);
	ctl.fd = -1;
	/* Only our own socket: another daemon may have taken the path. */
	base = path_base(ctl.path);
	if (ctl.dirfd != -1 && fstatat(ctl.dirfd, base, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == ctl.dev &&
	    st.st_ino == ctl.ino && unlinkat(ctl.dirfd, base, 0) == -1)
		log_warn("cannot remove %s", ctl.path);
	if (ctl.dirfd != -1)
		close(ctl.dirfd);
	ctl.dirfd = -1;
}
