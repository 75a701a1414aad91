/*
 * config.h - the start-up file: vswctl commands, one per line.
 *
 * Each line that is not blank and does not start with '#' is split into
 * words, with '...' and "..." quoting, and run through cmd_run() exactly as
 * if vswctl had sent it, so the file and the tool share one language.
 */
#ifndef VSW_CONFIG_H
#define VSW_CONFIG_H

#include <stddef.h>

struct dp;

#define CONFIG_MAX_WORDS	64

/*
 * Splits line in place into at most max words.  Returns the count, or -1
 * with a static message in *err (unterminated quote, too many words).
 */
int	config_split(char *line, char **argv, int max, const char **err);

/* Runs every command of path: 0, or -1 with "file:line: message" in err. */
int	config_load(const char *path, struct dp *, char *err, size_t errlen);

#endif
