/*
 * control.c - the control socket server.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
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
#define CONTROL_WHY_LEN		(sizeof(struct sockaddr_un) + 64)
#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS		59	/* Linux 4.13 */
#endif

/* One listening socket: the main one or the read-only one. */
struct ctl_listener {
	int			 fd;
	bool			 readonly;
	char			 path[sizeof(struct sockaddr_un)];
	dev_t			 dev;
	ino_t			 ino;
	/*
	 * The socket's directory, held open so that the socket can still be
	 * removed at exit after privileges are dropped (--user), when the
	 * directories above it may no longer be searchable.
	 */
	int			 dirfd;
	bool			 made_dir;	/* control_open() created it */
	bool			 has_group;	/* mode 0660 for group */
	gid_t			 group;
	char			 group_name[64];
	char			 why[CONTROL_WHY_LEN];
	struct event		*ev;
};

struct ctl_client {
	int			 fd;
	struct ctl_listener	*lsn;		/* where it connected */
	struct ucred		 cred;		/* uid -1 if unknown */
	bool			 trusted;	/* may run every command */
	char			 why[CONTROL_WHY_LEN];	/* who is read-only */
	bool			 served;	/* a request was complete */
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

enum { CTL_MAIN, CTL_RO, CTL_NLISTENERS };

static struct {
	struct ctl_listener		 lsn[CTL_NLISTENERS];
	struct event_base		*base;
	struct dp			*dp;
	struct event			*pause;
	TAILQ_HEAD(, ctl_client)	 clients;
	unsigned			 nclients;
	/*
	 * Refusals: the first is logged and opens a window; those in the
	 * window are counted and logged as one line when it closes.
	 */
	struct event			*refuse_timer;
	bool				 refuse_window;
	unsigned			 refused;
} ctl = {
	.lsn = {
		[CTL_MAIN] = { .fd = -1, .dirfd = -1 },
		[CTL_RO] = { .fd = -1, .dirfd = -1, .readonly = true },
	},
	.clients = TAILQ_HEAD_INITIALIZER(ctl.clients),
};

static const struct timeval control_idle = { CONTROL_IDLE_SECS, 0 };
static const struct timeval control_first = { CONTROL_FIRST_SECS, 0 };
static const struct timeval control_refuse_window = {
	CONTROL_REFUSE_LOG_SECS, 0
};

static void	client_close(struct ctl_client *);

/*
 * Creates every missing directory above path; true if it created the one
 * the socket goes in.
 */
static bool
mkdir_parents(const char *path)
{
	char	dir[sizeof(struct sockaddr_un)];
	bool	made = false;

	strcpy(dir, path);
	for (char *p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		/* 0755 whatever the umask: the socket's group must get in. */
		if ((made = mkdir(dir, 0755) == 0))
			chmod(dir, 0755);
		else if (errno != EEXIST)
			log_warn("mkdir %s", dir);
		*p = '/';
	}
	return made;
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

/* A group by name or number into l; -1 after logging if there is none. */
static int
listener_group(struct ctl_listener *l, const char *name)
{
	const struct group	*gr;
	unsigned long		 n;
	char			*end;

	errno = 0;
	if ((gr = getgrnam(name)) != NULL)
		l->group = gr->gr_gid;
	else if (isdigit((unsigned char)name[0]) &&
	    (n = strtoul(name, &end, 10), *end == '\0') && n < (gid_t)-1)
		l->group = (gid_t)n;
	else {
		log_warnx("unknown group '%s'%s%s", name, errno ? ": " : "",
		    errno ? strerror(errno) : "");
		return -1;
	}
	l->has_group = true;
	snprintf(l->group_name, sizeof(l->group_name), "%s", name);
	return 0;
}

/*
 * 0 if the file base in l's directory is still the socket l bound: no one
 * replaced it since (its directory may be another user's later on).
 */
static int
listener_is_ours(const struct ctl_listener *l, const char *base)
{
	struct stat	st;

	if (l->dirfd == -1 || fstatat(l->dirfd, base, &st,
	    AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	return st.st_dev == l->dev && st.st_ino == l->ino ? 0 : -1;
}

static int
listener_open(struct ctl_listener *l, const char *path, const char *group,
    mode_t mode)
{
	char			dir[sizeof(l->path)];
	struct sockaddr_un	sun;
	struct stat		st;
	mode_t			old;
	bool			made;
	int			fd;

	if (ctl_sockaddr(&sun, path) != 0) {
		log_warnx("socket path too long: %s", path);
		return -1;
	}
	if (group != NULL && listener_group(l, group) == -1)
		return -1;
	made = mkdir_parents(path);
	if (control_claim(path) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("socket");
		return -1;
	}
	/*
	 * Born with its mode: a chmod by path afterwards could be led by a
	 * symbolic link planted in a directory the daemon's user owns.  Until
	 * the chown below, a 0660 socket's group is ours; a client of that
	 * group is no operator (control-req.c) and gets the read-only
	 * commands at most.
	 */
	old = umask(~mode & (S_IRWXU | S_IRWXG | S_IRWXO));
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("bind %s", path);
		umask(old);
		goto fail;
	}
	umask(old);
	if (listen(fd, 16) == -1 || lstat(path, &st) == -1) {
		log_warn("listen %s", path);
		goto fail_unlink;
	}
	strcpy(l->path, path);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->made_dir = made;
	l->dirfd = open(path_dir(path, dir, sizeof(dir)), O_PATH |
	    O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd == -1) {
		log_warn("open %s", dir);
		goto fail_unlink;
	}
	if (listener_is_ours(l, path_base(path)) == -1 ||
	    (l->has_group && fchownat(l->dirfd, path_base(path), (uid_t)-1,
	    l->group, AT_SYMLINK_NOFOLLOW) == -1)) {
		log_warn("cannot give %s its group", path);
		goto fail_dir;
	}
	if (l->readonly)
		snprintf(l->why, sizeof(l->why), "control socket %s", path);
	l->fd = fd;
	return 0;
fail_dir:
	close(l->dirfd);
	l->dirfd = -1;
fail_unlink:
	unlink(path);
fail:
	close(fd);
	return -1;
}

int
control_open(const char *path, const char *group)
{
	return listener_open(&ctl.lsn[CTL_MAIN], path, group,
	    group != NULL ? 0660 : 0600);
}

int
control_open_ro(const char *path, const char *group)
{
	if (strcmp(path, ctl.lsn[CTL_MAIN].path) == 0) {
		log_warnx("the read-only socket %s is the control socket too",
		    path);
		return -1;
	}
	return listener_open(&ctl.lsn[CTL_RO], path, group,
	    group != NULL ? 0660 : 0666);
}

/*
 * Whether pw, with the groups it will have (privs.c gives it those of the
 * group database), may remove an entry it owns from the directory st.
 */
static bool
dir_allows_unlink(const struct stat *st, const struct passwd *pw)
{
	gid_t	few[64], *groups = few;
	int	n = 64;
	mode_t	need = S_IWOTH | S_IXOTH;

	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1) {
		groups = xcalloc((size_t)n, sizeof(*groups));
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
			n = 0;
	}
	if (st->st_uid == pw->pw_uid)
		need = S_IWUSR | S_IXUSR;
	else if (st->st_gid == pw->pw_gid)
		need = S_IWGRP | S_IXGRP;
	for (int i = 0; i < n && need == (S_IWOTH | S_IXOTH); i++)
		if (groups[i] == st->st_gid)
			need = S_IWGRP | S_IXGRP;
	if (groups != few)
		free(groups);
	/* Sticky: the socket is the user's by now, so it may go. */
	return (st->st_mode & need) == need;
}

void
control_set_owner(const struct passwd *pw)
{
	char		 dflt[sizeof(struct sockaddr_un)], dir[sizeof(dflt)];
	struct stat	 st;

	path_dir(CTL_SOCKET_DEFAULT, dflt, sizeof(dflt));
	for (int i = 0; i < CTL_NLISTENERS; i++) {
		struct ctl_listener	*l = &ctl.lsn[i];
		const char		*base = path_base(l->path);

		if (l->fd == -1)
			continue;
		/* Its own user connects to it; its group stays. */
		if (listener_is_ours(l, base) == -1 || fchownat(l->dirfd, base,
		    pw->pw_uid, l->has_group ? l->group : pw->pw_gid,
		    AT_SYMLINK_NOFOLLOW) == -1)
			log_warn("cannot give %s to %s", l->path, pw->pw_name);
		/*
		 * A directory that is ours (made now, or the default one)
		 * becomes the user's, as systemd's RuntimeDirectory= would.
		 */
		path_dir(l->path, dir, sizeof(dir));
		if ((l->made_dir || strcmp(dir, dflt) == 0) &&
		    fchownat(l->dirfd, "", pw->pw_uid, pw->pw_gid,
		    AT_EMPTY_PATH) == -1)
			log_warn("cannot give %s to %s", dir, pw->pw_name);
		if (fstat(l->dirfd, &st) == 0 && !dir_allows_unlink(&st, pw))
			log_warnx("%s will be left behind at exit: uid %u may "
			    "not remove it from %s (the next start does)",
			    l->path, (unsigned)pw->pw_uid, dir);
	}
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
			if (c->hold == NULL && c->served)
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
		.readonly_why = c->why,
		.has_cred = c->cred.uid != (uid_t)-1,
		.uid = c->cred.uid,
		.pid = c->cred.pid,
		.fds = c->fds,
		.nfds = c->nfds,
	};
	json_t		*reply;

	c->served = true;

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
	struct ctl_client	*c = arg;

	(void)fd;
	(void)events;
	if (c->served)
		log_debug("control: client of uid %d idle for %d s, "
		    "disconnecting", (int)c->cred.uid, CONTROL_IDLE_SECS);
	else
		log_debug("control: client of uid %d sent no complete "
		    "request within %d s, disconnecting", (int)c->cred.uid,
		    CONTROL_FIRST_SECS);
	client_close(c);
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

/* The peer's credentials; uid -1 if the kernel does not say. */
static void
peer_cred(int fd, struct ucred *cred)
{
	socklen_t	len = sizeof(*cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) == -1) {
		log_warn("control: SO_PEERCRED");
		cred->uid = (uid_t)-1;
		cred->gid = (gid_t)-1;
		cred->pid = 0;
	}
}

/* Whether the peer had group gid when it connected. */
static bool
peer_in_group(int fd, const struct ucred *cred, gid_t gid)
{
	gid_t		 groups[64], *g = groups;
	socklen_t	 len = sizeof(groups);
	bool		 found = false;

	if (cred->gid == gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == -1) {
		if (errno != ERANGE)
			return false;
		g = xmalloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == -1)
			len = 0;
	}
	for (size_t i = 0; i < len / sizeof(gid_t) && !found; i++)
		found = g[i] == gid;
	if (g != groups)
		free(g);
	return found;
}

/* Whether c may run every command; if not, c->why says who it is. */
static bool
client_trusted(struct ctl_client *c)
{
	const struct ctl_listener	*l = c->lsn;
	uid_t				 uid = c->cred.uid;

	if (l->readonly) {
		snprintf(c->why, sizeof(c->why), "%s", l->why);
		return false;
	}
	if (uid == 0 || uid == geteuid() || (l->has_group &&
	    peer_in_group(c->fd, &c->cred, l->group)))
		return true;
	if (l->has_group)
		snprintf(c->why, sizeof(c->why), "uid %d (not root, the "
		    "daemon's user or in group '%s')", (int)uid,
		    l->group_name);
	else
		snprintf(c->why, sizeof(c->why), "uid %d (not root or the "
		    "daemon's user)", (int)uid);
	return false;
}

static void
client_new(int fd, struct ctl_listener *l, const struct ucred *cred)
{
	struct ctl_client	*c;

	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->lsn = l;
	c->cred = *cred;
	c->trusted = client_trusted(c);
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
	evtimer_add(c->timer, &control_first);
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

/*
 * Why a client with cred is refused, in msg, or false if it may come in:
 * root may use every slot, another uid neither root's reserve nor more
 * than its share.
 */
static bool
client_over_limit(const struct ucred *cred, char *msg, size_t size)
{
	const struct ctl_client	*c;
	unsigned		 same = 0;

	if (ctl.nclients >= CONTROL_MAX_CLIENTS) {
		snprintf(msg, size, "too many clients (%u), try again later",
		    ctl.nclients);
		return true;
	}
	if (cred->uid == 0)
		return false;
	if (ctl.nclients >= CONTROL_MAX_CLIENTS - CONTROL_ROOT_SLOTS) {
		snprintf(msg, size, "too many clients (%u; the last %d slots "
		    "are root's), try again later", ctl.nclients,
		    CONTROL_ROOT_SLOTS);
		return true;
	}
	TAILQ_FOREACH(c, &ctl.clients, entry)
		if (c->cred.uid == cred->uid)
			same++;
	if (same >= CONTROL_MAX_PER_UID) {
		snprintf(msg, size, "too many clients of uid %d (%u, at most "
		    "%d), try again later", (int)cred->uid, same,
		    CONTROL_MAX_PER_UID);
		return true;
	}
	return false;
}

static void
refuse_window_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (ctl.refused == 0) {
		ctl.refuse_window = false;
		return;
	}
	log_warnx("control: %u more client%s refused in the last %d s",
	    ctl.refused, ctl.refused == 1 ? "" : "s", CONTROL_REFUSE_LOG_SECS);
	ctl.refused = 0;
	evtimer_add(ctl.refuse_timer, &control_refuse_window);
}

/* Tells a client over the limit why it is refused, if it can take it. */
static void
client_refuse(int fd, const struct ucred *cred, const char *why)
{
	json_t	*reply;
	uint8_t	*frame = NULL;
	size_t	 len;

	if (!ctl.refuse_window) {
		log_warnx("control: refusing a client of uid %d pid %d: %s",
		    (int)cred->uid, (int)cred->pid, why);
		ctl.refuse_window = true;
		evtimer_add(ctl.refuse_timer, &control_refuse_window);
	} else
		ctl.refused++;
	reply = control_error("%s", why);
	if (reply != NULL)
		frame = ctl_frame(reply, CTL_MAX_REPLY, &len);
	/* Best effort, unlogged: one line per client is what we avoid. */
	if (frame != NULL)
		(void)send(fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	free(frame);
	json_decref(reply);
	close(fd);
}

static void
control_pause(void)
{
	const struct timeval	second = { 1, 0 };

	for (int i = 0; i < CTL_NLISTENERS; i++)
		if (ctl.lsn[i].ev != NULL)
			event_del(ctl.lsn[i].ev);
	evtimer_add(ctl.pause, &second);
}

static void
control_accept_cb(evutil_socket_t lfd, short events, void *arg)
{
	struct ctl_listener	*l = arg;
	struct ucred		 cred;
	char			 why[128];
	int			 fd;

	(void)events;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			/* The backlog stays readable: pause instead of spin. */
			log_warn("control: accept");
			control_pause();
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control: accept");
		return;
	}
	peer_cred(fd, &cred);
	if (client_over_limit(&cred, why, sizeof(why))) {
		client_refuse(fd, &cred, why);
		return;
	}
	client_new(fd, l, &cred);
}

static void
control_resume_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	for (int i = 0; i < CTL_NLISTENERS; i++)
		if (ctl.lsn[i].ev != NULL)
			event_add(ctl.lsn[i].ev, NULL);
}

int
control_start(struct event_base *base, struct dp *dp)
{
	ctl.base = base;
	ctl.dp = dp;
	ctl.pause = evtimer_new(base, control_resume_cb, NULL);
	ctl.refuse_timer = evtimer_new(base, refuse_window_cb, NULL);
	if (ctl.pause == NULL || ctl.refuse_timer == NULL)
		return ENOMEM;
	for (int i = 0; i < CTL_NLISTENERS; i++) {
		struct ctl_listener	*l = &ctl.lsn[i];

		if (l->fd == -1)
			continue;
		l->ev = event_new(base, l->fd, EV_READ | EV_PERSIST,
		    control_accept_cb, l);
		if (l->ev == NULL || event_add(l->ev, NULL) == -1)
			return ENOMEM;
		log_info("listening on %s%s", l->path, l->readonly ?
		    " (read-only)" : "");
	}
	return 0;
}

unsigned
control_nclients(void)
{
	return ctl.nclients;
}

void
control_close(void)
{
	struct ctl_client	*c;

	while ((c = TAILQ_FIRST(&ctl.clients)) != NULL)
		client_close(c);
	if (ctl.pause != NULL)
		event_free(ctl.pause);
	if (ctl.refuse_timer != NULL)
		event_free(ctl.refuse_timer);
	ctl.pause = ctl.refuse_timer = NULL;
	ctl.refuse_window = false;
	ctl.refused = 0;
	for (int i = 0; i < CTL_NLISTENERS; i++) {
		struct ctl_listener	*l = &ctl.lsn[i];
		const char		*base = path_base(l->path);

		if (l->ev != NULL)
			event_free(l->ev);
		l->ev = NULL;
		if (l->fd == -1)
			continue;
		close(l->fd);
		l->fd = -1;
		/* Only our own socket: another daemon may have taken the path. */
		if (listener_is_ours(l, base) == 0 &&
		    unlinkat(l->dirfd, base, 0) == -1)
			log_warn("cannot remove %s", l->path);
		close(l->dirfd);
		l->dirfd = -1;
	}
}
