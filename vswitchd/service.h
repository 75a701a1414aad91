/*
 * service.h - what the daemon tells its service manager, and asks of it.
 *
 * Under systemd (Type=notify, vswitchd.service) the daemon reports its
 * state through sd_notify(3): READY=1 once the control socket answers,
 * RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 when it
 * shuts down.  Without $NOTIFY_SOCKET each call does nothing, so the
 * daemon calls them unconditionally.  The calls are made after the seccomp
 * filter is on: they need only socket(AF_UNIX), sendmsg and clock_gettime.
 */
#ifndef VSW_SERVICE_H
#define VSW_SERVICE_H

/*
 * Raises the soft RLIMIT_NOFILE to the hard limit: each tunnel port holds
 * five descriptors, so DP_MAX_PORTS of them overflow the usual soft 1024.
 * Logs (debug) what it got; a failure is logged and not fatal.
 */
void	service_raise_nofile(void);

/* The control socket answers: startup or a reload is complete. */
void	service_notify_ready(void);
/* A SIGHUP reload starts; service_notify_ready() when it is done. */
void	service_notify_reloading(void);
/* Shutting down: systemd stops expecting the socket to answer. */
void	service_notify_stopping(void);

#endif
