/*
 * privs.c - dropping capabilities and, optionally, root (libcap-ng).
 *
 * After start-up the daemon needs little: the control socket is bound, the
 * config file read and the pidfile written.  What it still does that needs
 * privilege is creating taps and tuns and setting their flags and MTU
 * (CAP_NET_ADMIN, also behind SO_RCVBUFFORCE), opening the packet socket
 * of a system port (CAP_NET_RAW), and binding a tunnel to a low UDP port.
 * A bug in packet or request parsing then finds a process that cannot
 * load modules, read other users' files, ptrace or mount.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include <cap-ng.h>

#include "privs.h"

int
privs_drop(const char *user, char *err, size_t errlen)
{
	const struct passwd	*pw = NULL;
	int			 rc;

	if (user != NULL) {
		errno = 0;
		if ((pw = getpwnam(user)) == NULL) {
			snprintf(err, errlen, "unknown user '%s'%s%s", user,
			    errno != 0 ? ": " : "",
			    errno != 0 ? strerror(errno) : "");
			return -1;
		}
	}
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED |
	    CAPNG_BOUNDING_SET, CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE,
	    -1) != 0) {
		snprintf(err, errlen, "cannot select the capabilities to keep");
		return -1;
	}
	if (pw != NULL)
		rc = capng_change_id((int)pw->pw_uid, (int)pw->pw_gid,
		    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
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
