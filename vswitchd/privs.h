/*
 * privs.h - dropping what the daemon does not need once it has started.
 *
 * The normal case is an unprivileged daemon: started as root, it becomes
 * the "vswitch" system user (PRIVS_DEFAULT_USER, created by make install)
 * when that user exists, unless told otherwise (--user USER, --user root,
 * --keep-privileges).  Started by systemd as that user already (User= with
 * AmbientCapabilities=), it only sheds what it was given beyond its set.
 * Either way it keeps CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE
 * (PRIVS_KEPT), nothing is inheritable or ambient, and SECBIT_NOROOT is set
 * and locked where the daemon can still set it (started as root), so that
 * uid 0 would bring no capabilities through an exec either.
 */
#ifndef VSW_PRIVS_H
#define VSW_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

#define PRIVS_DEFAULT_USER	"vswitch"

/*
 * The user to become when none is named: PRIVS_DEFAULT_USER if the daemon
 * runs as root and the user exists, else NULL (stay who we are).
 */
const char	*privs_default_user(void);

/*
 * Keeps only CAP_NET_ADMIN (creating and configuring taps and tuns, forced
 * socket buffer sizes), CAP_NET_RAW (the packet socket of a system port)
 * and CAP_NET_BIND_SERVICE (a tunnel on a port below 1024) and drops every
 * other capability, also from the bounding set, so nothing the daemon runs
 * or becomes can get them back.  With user (not NULL, not "root") it also
 * becomes that user, its group and the groups the group database gives it.
 * keep_all drops nothing (debugging).  0, or -1 with a message in err.
 */
int	privs_drop(const char *user, bool keep_all, char *err, size_t errlen);

#endif
