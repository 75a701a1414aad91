/*
 * pidfile.h - a pidfile that is also the daemon's lock.
 *
 * The file is opened as root at start-up, so it must not be a way to make
 * root write elsewhere: the last component is never followed (O_NOFOLLOW),
 * it must be a regular file with one link, and nothing in it changes until
 * the daemon holds flock(LOCK_EX) on it.  The lock is held for the daemon's
 * life (the descriptor survives the fork that detaches), so a second daemon
 * given the same pidfile refuses to start, naming the pid of the one that
 * holds it; a pidfile left by a daemon that died is simply taken over.
 */
#ifndef VSW_PIDFILE_H
#define VSW_PIDFILE_H

#include <stddef.h>

/*
 * Opens (creating it 0644) and locks path.  The descriptor in *fdp, or an
 * errno with a message in err (EWOULDBLOCK: another daemon holds it).
 */
int	pidfile_open(const char *path, int *fdp, char *err, size_t errlen);
/* Replaces the contents with the caller's pid.  0 or an errno. */
int	pidfile_write(int fd);
/*
 * Removes path and closes fd.  When the directory no longer lets the
 * daemon (now an unprivileged user) remove it, empties it instead, so no
 * stale pid is left; the lock already says nobody holds it.
 */
void	pidfile_remove(const char *path, int fd);

#endif
