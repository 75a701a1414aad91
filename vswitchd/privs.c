/*
 * privs.c - dropping capabilities and root (libcap-ng); see privs.h.
 *
 * After start-up the daemon needs little: the control socket is bound, the
 * config file read and the pidfile written.  What it still does that needs
 * privilege is creating taps and tuns and setting their flags and MTU
 * (CAP_NET_ADMIN, also behind SO_RCVBUFFORCE), opening the packet socket
 * of a system port (CAP_NET_RAW), and binding a tunnel to a low UDP port.
 * A bug in packet or request parsing then finds a process that cannot
 * load modules, read other users' files, ptrace or mount, and (sandbox.c)
 * cannot make the system calls for those either.
 */
#include <sys/prctl.h>
#include <errno.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cap-ng.h>

#include "privs.h"

static const int kept[] = {
	CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE,
};

const char *
privs_default_user(void)
{
	if (geteuid() != 0 || getpwnam(PRIVS_DEFAULT_USER) == NULL)
		return NULL;
	return PRIVS_DEFAULT_USER;
}

/*
 * Started as root: uid 0 gets no capabilities through exec or setuid
 * again, nor can anything raise ambient ones; locked, so not even this
 * process can undo it.
 */
static int
set_securebits(char *err, size_t errlen)
{
	const int	bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
			    SECBIT_NO_CAP_AMBIENT_RAISE |
			    SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	int		old;

	if ((old = prctl(PR_GET_SECUREBITS)) == -1 ||
	    prctl(PR_SET_SECUREBITS, old | bits) == -1) {
		snprintf(err, errlen, "cannot set SECBIT_NOROOT: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Started as another user with ambient capabilities (systemd's User=). */
static int
drop_unprivileged(const char *user, char *err, size_t errlen)
{
	const struct passwd	*pw = getpwuid(getuid());
	bool			 have[sizeof(kept) / sizeof(kept[0])];

	if (user != NULL && (pw == NULL || strcmp(pw->pw_name, user) != 0)) {
		snprintf(err, errlen, "cannot become user '%s': started as "
		    "uid %ld, not root", user, (long)getuid());
		return -1;
	}
	capng_get_caps_process();
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		have[i] = capng_have_capability(CAPNG_PERMITTED,
		    (unsigned)kept[i]) != 0;
	capng_clear(CAPNG_SELECT_CAPS);
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (have[i] && capng_update(CAPNG_ADD, CAPNG_EFFECTIVE |
		    CAPNG_PERMITTED, (unsigned)kept[i]) != 0) {
			snprintf(err, errlen, "cannot select the capabilities "
			    "to keep");
			return -1;
		}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 ||
	    capng_apply(CAPNG_SELECT_CAPS) != 0) {
		snprintf(err, errlen, "cannot drop capabilities as uid %ld "
		    "(started without %s?)", (long)getuid(),
		    "CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE");
		return -1;
	}
	return 0;
}

int
privs_drop(const char *user, bool keep_all, char *err, size_t errlen)
{
	const struct passwd	*pw = NULL;
	int			 rc;

	if (keep_all)
		return 0;
	if (geteuid() != 0)
		return drop_unprivileged(user, err, errlen);
	if (user != NULL && strcmp(user, "root") != 0) {
		errno = 0;
		if ((pw = getpwnam(user)) == NULL) {
			snprintf(err, errlen, "unknown user '%s'%s%s", user,
			    errno != 0 ? ": " : "",
			    errno != 0 ? strerror(errno) : "");
			return -1;
		}
	}
	if (set_securebits(err, errlen) == -1)
		return -1;
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED |
	    CAPNG_BOUNDING_SET, CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE,
	    -1) != 0) {
		snprintf(err, errlen, "cannot select the capabilities to keep");
		return -1;
	}
	if (pw != NULL)
		rc = capng_change_id((int)pw->pw_uid, (int)pw->pw_gid,
		    CAPNG_INIT_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	else
		rc = capng_apply(CAPNG_SELECT_BOTH);
	if (rc != 0) {
		snprintf(err, errlen, "cannot drop privileges%s%s (libcap-ng "
		    "error %d)", pw != NULL ? " to user " : "",
		    pw != NULL ? user : "", rc);
		return -1;
	}
	return 0;
}
