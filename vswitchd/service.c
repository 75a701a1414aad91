/*
 * service.c - sd_notify and the descriptor limit; see service.h.
 */
#include <sys/resource.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "service.h"

void
service_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return;
	}
	if (rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("cannot raise the descriptor limit to %llu",
		    (unsigned long long)rl.rlim_max);
		return;
	}
	log_debug("descriptor limit raised to %llu",
	    (unsigned long long)rl.rlim_cur);
}

static void
notify(const char *state)
{
	int	rc;

	if ((rc = sd_notify(0, state)) < 0) {
		errno = -rc;
		log_warn("sd_notify %s", state);
	}
}

void
service_notify_ready(void)
{
	notify("READY=1\nSTATUS=serving");
}

void
service_notify_reloading(void)
{
	struct timespec	ts;
	char		msg[96];

	/*
	 * systemd 253's Type=notify-reload wants the reload's start on the
	 * monotonic clock; older managers ignore the field.
	 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nSTATUS=reloading\n"
	    "MONOTONIC_USEC=%llu", (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	notify(msg);
}

void
service_notify_stopping(void)
{
	notify("STOPPING=1\nSTATUS=stopping");
}
