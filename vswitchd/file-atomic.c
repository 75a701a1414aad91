/*
 * file-atomic.c - write a temporary file, sync, rename, sync the directory.
 *
 * Everything happens relative to a descriptor of the directory, so that a
 * daemon that opened it before giving up root still reaches it whatever
 * the permissions of the path above, and a directory renamed meanwhile
 * does not redirect the write.
 */
#include <sys/random.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file-atomic.h"

static int
fail(char *err, size_t errlen, const char *path, const char *what)
{
	int	error = errno;

	snprintf(err, errlen, "%s: %s: %s", path, what, strerror(error));
	return error;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A new file ".NAME.XXXXXX" in dirfd, 0600: nobody else's, never a link. */
static int
create_temp(int dirfd, const char *name, char *tmp, size_t size)
{
	uint64_t	r;
	int		fd;

	for (int tries = 0; tries < 16; tries++) {
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint64_t)getpid() * 2654435761u + (uint64_t)tries;
		snprintf(tmp, size, ".%s.%06llx", name,
		    (unsigned long long)(r & 0xffffff));
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, S_IRUSR | S_IWUSR);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

int
file_write_atomic_at(int dirfd, const char *name, const char *label,
    const void *data, size_t len, mode_t mode, char *err, size_t errlen)
{
	char	tmp[NAME_MAX + 16];
	int	fd, error;

	if (name[0] == '\0' || strchr(name, '/') != NULL ||
	    strlen(name) > NAME_MAX - 9) {
		errno = EINVAL;
		return fail(err, errlen, label, "invalid file name");
	}
	if ((fd = create_temp(dirfd, name, tmp, sizeof(tmp))) == -1)
		return fail(err, errlen, label,
		    "cannot create a temporary file beside it");
	if (fchmod(fd, mode) == -1) {
		error = fail(err, errlen, label, "chmod");
		goto remove;
	}
	if (write_all(fd, data, len) == -1) {
		error = fail(err, errlen, label, "write");
		goto remove;
	}
	if (fsync(fd) == -1) {
		error = fail(err, errlen, label, "fsync");
		goto remove;
	}
	if (close(fd) == -1) {
		fd = -1;
		error = fail(err, errlen, label, "close");
		goto remove;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) == -1) {
		error = fail(err, errlen, label, "rename");
		goto remove;
	}
	/* The rename is durable once the directory is. */
	if (fsync(dirfd) == -1)
		return fail(err, errlen, label, "fsync of its directory");
	return 0;

remove:
	if (fd != -1)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return error;
}

int
file_dir_open(const char *path, const char **name, char *err, size_t errlen)
{
	char	 buf[PATH_MAX];
	int	 fd;

	if (path[0] == '\0' || strlen(path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -fail(err, errlen, path, "invalid path");
	}
	strcpy(buf, path);
	*name = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	if ((fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return -fail(err, errlen, path, "cannot open its directory");
	return fd;
}

int
file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, char *err, size_t errlen)
{
	const char	*name;
	int		 dirfd, error;

	if ((dirfd = file_dir_open(path, &name, err, errlen)) < 0)
		return -dirfd;
	error = file_write_atomic_at(dirfd, name, path, data, len, mode, err,
	    errlen);
	close(dirfd);
	return error;
}
