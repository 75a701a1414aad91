/*
 * log.h - the daemon's logging, after OpenBSD's log.c.
 *
 * In the foreground messages go to stderr; once the daemon detaches they go
 * to syslog.  log_warn() and fatal() append strerror(errno); the x variants
 * do not.  Messages below the configured level are discarded before they are
 * formatted.
 */
#ifndef VSW_LOG_H
#define VSW_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void	log_init(bool to_stderr, enum log_level);
/* Switches from stderr to syslog (after detaching). */
void	log_to_syslog(void);
/* Returns -1 for a name other than error, warn, info or debug. */
int	log_level_parse(const char *);

void	log_warn(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
