/*
 * unix-sock.c - listening on, or connecting to, a port's Unix socket
 * (unix-sock.h).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dp.h"
#include "unix-sock.h"

#define USOCK_MODE	0660
#define USOCK_BACKLOG	4
/* Connections taken per readiness event of the listening socket. */
#define USOCK_ACCEPTS	16

static void
usock_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, strnlen(path, sizeof(sun->sun_path) - 1));
}

/* A connect to path on a new socket: 0 and *fdp, or an errno. */
static int
usock_dial(const char *path, int *fdp)
{
	struct sockaddr_un	sun;
	int			fd, error;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return errno;
	usock_addr(&sun, path);
	/* A Unix socket connects at once or not at all (EAGAIN: backlog). */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		error = errno;
		close(fd);
		return error;
	}
	*fdp = fd;
	return 0;
}

int
usock_check(const struct port_config *c, const char *kind, char *err,
    size_t errlen)
{
	size_t	len = strnlen(c->path, sizeof(c->path));

	if (len == 0)
		return port_err(err, errlen, EINVAL, "%s: %s needs a socket: "
		    "'path SOCKET' to listen on or 'connect SOCKET'", c->name,
		    kind);
	if (len == sizeof(c->path))
		return port_err(err, errlen, ENAMETOOLONG, "%s: socket path "
		    "'%.*s' is too long (max %zu characters)", c->name,
		    (int)len, c->path, sizeof(c->path) - 1);
	/* The daemon runs in /: a relative path would not be the user's. */
	if (c->path[0] != '/')
		return port_err(err, errlen, EINVAL, "%s: socket path '%s' "
		    "is not absolute", c->name, c->path);
	if (c->connect && (c->has_group || (c->given & PORT_SET_GROUP)))
		return port_err(err, errlen, EINVAL, "%s: 'group' is for a "
		    "socket the port makes, not one it connects to ('%s')",
		    c->name, c->path);
	return 0;
}

/*
 * Whoever may write the socket's directory may swap the socket for one of
 * its own (QEMU would hand it the guest's memory) or a path component for
 * a symlink: a directory anyone may write without the sticky bit is
 * refused, as sshd's StrictModes refuses such a home.
 */
static int
usock_dir_check(const struct port_config *c, char *err, size_t errlen)
{
	char		dir[sizeof(c->path)];
	char		*slash;
	struct stat	st;

	snprintf(dir, sizeof(dir), "%s", c->path);
	if ((slash = strrchr(dir, '/')) == NULL)
		return 0;
	slash[slash == dir ? 1 : 0] = '\0';
	if (stat(dir, &st) == -1)
		return 0;	/* bind() will say what is wrong */
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
		return port_err(err, errlen, EPERM, "%s: '%s' is in '%s', "
		    "which anyone may write (no sticky bit): another user "
		    "could replace the socket", c->name, c->path, dir);
	return 0;
}

/*
 * A socket file left by a daemon that died is replaced; anything else at
 * the path is not: another kind of file, or a socket something listens on.
 */
static int
usock_clear(const struct port_config *c, char *err, size_t errlen)
{
	struct stat	st;
	int		fd, error;

	if ((error = usock_dir_check(c, err, errlen)) != 0)
		return error;

	if (lstat(c->path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		error = errno;
		return port_err(err, errlen, error, "%s: '%s': %s", c->name,
		    c->path, strerror(error));
	}
	if (!S_ISSOCK(st.st_mode))
		return port_err(err, errlen, EEXIST, "%s: '%s' exists and is "
		    "not a socket", c->name, c->path);
	if ((error = usock_dial(c->path, &fd)) == 0)
		close(fd);
	if (error == 0 || error == EAGAIN)
		return port_err(err, errlen, EADDRINUSE, "%s: '%s' is in "
		    "use: something listens on it", c->name, c->path);
	if (error != ECONNREFUSED)
		return port_err(err, errlen, error, "%s: cannot tell whether "
		    "'%s' is in use: %s", c->name, c->path, strerror(error));
	if (unlink(c->path) == -1 && errno != ENOENT) {
		error = errno;
		return port_err(err, errlen, error, "%s: cannot remove the "
		    "stale socket '%s': %s", c->name, c->path, strerror(error));
	}
	return 0;
}

/*
 * Mode and group of the file bind() made, through a descriptor of it (no
 * symlink followed, and a socket checked) rather than by a path that a
 * user of the directory could swap under us.
 */
static int
usock_own(struct usock *us, const struct port_config *c, char *err,
    size_t errlen)
{
	char		proc[32];
	struct stat	st;
	int		fd, error = 0;

	if ((fd = open(c->path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		error = errno;
		port_err(err, errlen, error, "%s: '%s': %s", c->name, c->path,
		    strerror(error));
		goto close_fd;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
		error = port_err(err, errlen, EEXIST, "%s: '%s' was replaced "
		    "as it was made", c->name, c->path);
		goto close_fd;
	}
	us->dev = st.st_dev;
	us->ino = st.st_ino;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((st.st_mode & 07777) != USOCK_MODE &&
	    chmod(proc, USOCK_MODE) == -1) {
		error = errno;
		port_err(err, errlen, error, "%s: cannot set the mode of "
		    "'%s': %s", c->name, c->path, strerror(error));
		goto close_fd;
	}
	if (c->has_group && st.st_gid != c->group &&
	    fchownat(fd, "", (uid_t)-1, c->group, AT_EMPTY_PATH) == -1) {
		error = errno;
		port_err(err, errlen, error, "%s: cannot give '%s' group %u: "
		    "%s%s", c->name, c->path, c->group, strerror(error),
		    error == EPERM ? " (that takes CAP_CHOWN, or a daemon in "
		    "that group)" : "");
	}
close_fd:
	if (fd != -1)
		close(fd);
	return error;
}

/* Removes the socket file if it is still the one we made. */
static void
usock_unlink(struct usock *us)
{
	struct stat	st;

	if (us->ino != 0 && lstat(us->path, &st) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_dev == us->dev &&
	    st.st_ino == us->ino)
		unlink(us->path);
	us->ino = 0;
}

/* Hands fd to the port and says who came. */
static void
usock_attach(struct usock *us, int fd)
{
	struct port	*port = us->port;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	char		 who[64] = "";
	int		 error;

	if ((error = us->ops->attach(port, fd)) != 0) {
		dp_port_note(port, "cannot watch a new connection: %s",
		    strerror(error));
		close(fd);
		return;
	}
	us->refusal_said = false;
	us->failure_said = false;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		snprintf(who, sizeof(who), " (pid %ld, uid %lu)",
		    (long)cred.pid, (unsigned long)cred.uid);
	if (us->connect)
		dp_port_note(port, "connected to %s%s", us->path, who);
	else
		dp_port_note(port, "%s connected on %s%s", us->ops->peer,
		    us->path, who);
}

/*
 * One peer per port: a connection while one is served is closed at once,
 * counted, and said once per connection served.
 */
static void
usock_accept(void *arg, time_t now)
{
	struct usock	*us = arg;
	struct port	*port = us->port;
	int		 fd;

	(void)now;
	for (int i = 0; i < USOCK_ACCEPTS; i++) {
		fd = accept4(us->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd == -1 && errno == EAGAIN)
			return;
		if (fd == -1) {
			/* Out of descriptors: it stays readable.  Pause. */
			dp_port_note(port, "cannot accept a connection: %s; "
			    "trying again in a second", strerror(errno));
			dp_unwatch(port->dp, us->lwatch);
			us->lwatch = NULL;
			return;
		}
		if (!us->ops->busy(port)) {
			usock_attach(us, fd);
			continue;
		}
		close(fd);
		port->stats.rx_errors++;
		if (!us->refusal_said)
			dp_port_note(port, "refused a second connection on %s: "
			    "one %s at a time (more are only counted while "
			    "this one lasts)", us->path, us->ops->peer);
		us->refusal_said = true;
	}
}

static int
usock_listen(struct usock *us, const struct port_config *c, char *err,
    size_t errlen)
{
	struct sockaddr_un	sun;
	int			error;

	if ((error = usock_clear(c, err, errlen)) != 0)
		return error;
	if ((us->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		error = errno;
		return port_err(err, errlen, error, "%s: socket: %s", c->name,
		    strerror(error));
	}
	/* bind() gives the file this mode (less the umask): never wider. */
	if (fchmod(us->lfd, USOCK_MODE) == -1) {
		error = errno;
		port_err(err, errlen, error, "%s: fchmod: %s", c->name,
		    strerror(error));
		goto close_fd;
	}
	usock_addr(&sun, c->path);
	if (bind(us->lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		error = errno;
		port_err(err, errlen, error, "%s: cannot bind '%s': %s",
		    c->name, c->path, strerror(error));
		goto close_fd;
	}
	if ((error = usock_own(us, c, err, errlen)) != 0)
		goto unlink;
	if (listen(us->lfd, USOCK_BACKLOG) == -1) {
		error = errno;
		port_err(err, errlen, error, "%s: cannot listen on '%s': %s",
		    c->name, c->path, strerror(error));
		goto unlink;
	}
	if ((error = dp_watch(us->port->dp, us->lfd, usock_accept, us,
	    &us->lwatch)) != 0) {
		port_err(err, errlen, error, "%s: cannot watch '%s': %s",
		    c->name, c->path, strerror(error));
		goto unlink;
	}
	return 0;

unlink:
	usock_unlink(us);
close_fd:
	close(us->lfd);
	us->lfd = -1;
	return error;
}

static void
usock_connect(struct usock *us)
{
	char	why[sizeof(us->path) + 64];
	int	fd, error;

	if ((error = usock_dial(us->path, &fd)) == 0) {
		usock_attach(us, fd);
		return;
	}
	snprintf(why, sizeof(why), "cannot connect to %s: %s", us->path,
	    strerror(error));
	if (us->ops->failed != NULL)
		us->ops->failed(us->port, why);
	if (!us->failure_said)
		dp_port_note(us->port, "%s; trying every second", why);
	us->failure_said = true;
}

int
usock_open(struct usock *us, struct port *port, const struct usock_ops *ops,
    const struct port_config *c, char *err, size_t errlen)
{
	*us = (struct usock){ .ops = ops, .port = port, .lfd = -1,
	    .connect = c->connect };
	memcpy(us->path, c->path, sizeof(us->path));
	if (!us->connect)
		return usock_listen(us, c, err, errlen);
	usock_connect(us);
	return 0;
}

void
usock_close(struct usock *us)
{
	if (us->lfd == -1)
		return;
	dp_unwatch(us->port->dp, us->lwatch);
	us->lwatch = NULL;
	usock_unlink(us);
	close(us->lfd);
	us->lfd = -1;
}

void
usock_tick(struct usock *us)
{
	int	error;

	if (us->connect) {
		if (!us->ops->busy(us->port))
			usock_connect(us);
	} else if (us->lwatch == NULL && (error = dp_watch(us->port->dp,
	    us->lfd, usock_accept, us, &us->lwatch)) != 0) {
		us->lwatch = NULL;
		dp_port_note(us->port, "cannot watch %s: %s", us->path,
		    strerror(error));
	}
}
