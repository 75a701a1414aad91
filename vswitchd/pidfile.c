/*
 * pidfile.c - the locked pidfile; see pidfile.h.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pidfile.h"

/* Whatever pid the holder wrote, or 0. */
static long
holder(int fd)
{
	char	buf[32];
	ssize_t	n;

	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int
pidfile_open(const char *path, int *fdp, char *err, size_t errlen)
{
	struct stat	st, now;
	long		pid;
	int		fd, error;

	/*
	 * A daemon that exits unlinks the file while holding the lock: one
	 * that locked the old inode just then retries on the new name.
	 */
	for (int tries = 0; tries < 3; tries++) {
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
		    O_NOCTTY | O_NONBLOCK, 0644);
		if (fd == -1) {
			error = errno;
			snprintf(err, errlen, "pidfile %s: %s%s", path,
			    strerror(error), error == ELOOP ?
			    " (a symbolic link: refused)" : "");
			return error;
		}
		if (fstat(fd, &st) == -1) {
			error = errno;
			snprintf(err, errlen, "pidfile %s: %s", path,
			    strerror(error));
			goto close_fd;
		}
		if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
			error = EINVAL;
			snprintf(err, errlen, "pidfile %s: not a regular file "
			    "with one link: refused", path);
			goto close_fd;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
			error = errno;
			if (error == EWOULDBLOCK && (pid = holder(fd)) > 0)
				snprintf(err, errlen, "pidfile %s is locked by "
				    "pid %ld: another vswitchd runs", path,
				    pid);
			else
				snprintf(err, errlen, "pidfile %s: cannot "
				    "lock: %s", path, strerror(error));
			goto close_fd;
		}
		if (lstat(path, &now) == 0 && now.st_dev == st.st_dev &&
		    now.st_ino == st.st_ino) {
			*fdp = fd;
			return 0;
		}
		close(fd);
	}
	snprintf(err, errlen, "pidfile %s keeps changing under us", path);
	return EAGAIN;

close_fd:
	close(fd);
	return error;
}

int
pidfile_write(int fd)
{
	char	buf[32];
	ssize_t	w;
	int	n;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || (w = pwrite(fd, buf, (size_t)n, 0)) == -1)
		return errno;
	return w == n ? 0 : EIO;
}

void
pidfile_remove(const char *path, int fd)
{
	if (unlink(path) == -1) {
		if (errno == EACCES || errno == EPERM)
			log_debug("cannot remove pidfile %s (%s): emptied "
			    "instead", path, strerror(errno));
		else
			log_warn("cannot remove pidfile %s", path);
		if (ftruncate(fd, 0) == -1)
			log_warn("cannot empty pidfile %s", path);
	}
	close(fd);
}
