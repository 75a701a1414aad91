/*
 * privs.h - dropping what the daemon does not need once it has started.
 */
#ifndef VSW_PRIVS_H
#define VSW_PRIVS_H

#include <stddef.h>

/*
 * Keeps only CAP_NET_ADMIN (creating and configuring taps and tuns, forced
 * socket buffer sizes) and CAP_NET_BIND_SERVICE (a tunnel on a port below
 * 1024) and drops every other capability, also from the bounding set, so
 * nothing the daemon runs or becomes can get them back.  With user (not
 * NULL) it also becomes that user and its group, keeping those two.
 * 0, or -1 with a message in err.
 */
int	privs_drop(const char *user, char *err, size_t errlen);

#endif
