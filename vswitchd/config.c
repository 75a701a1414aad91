/*
 * config.c - runs the start-up file through the command table.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "log.h"

int
config_split(char *line, char **argv, int max, const char **err)
{
	char	*r = line, *w = line, quote;
	int	 argc = 0;

	for (;;) {
		while (isspace((unsigned char)*r))
			r++;
		if (*r == '\0')
			return argc;
		if (argc == max) {
			*err = "too many words";
			return -1;
		}
		argv[argc++] = w;
		/* A word runs to a blank outside quotes; quotes join parts. */
		while (*r != '\0' && !isspace((unsigned char)*r)) {
			if (*r != '\'' && *r != '"') {
				*w++ = *r++;
				continue;
			}
			quote = *r++;
			while (*r != '\0' && *r != quote)
				*w++ = *r++;
			if (*r == '\0') {
				*err = "unterminated quote";
				return -1;
			}
			r++;
		}
		if (*r != '\0')
			r++;
		*w++ = '\0';
	}
}

int
config_load(const char *path, struct dp *dp, char *err, size_t errlen)
{
	struct cmd_ctx	 ctx;
	FILE		*f;
	char		*line = NULL, *argv[CONFIG_MAX_WORDS], *p;
	const char	*msg;
	size_t		 size = 0;
	unsigned	 lineno = 0;
	int		 argc, rc = 0;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	cmd_ctx_init(&ctx, dp, true);
	while (getline(&line, &size, f) != -1) {
		lineno++;
		for (p = line; isspace((unsigned char)*p); p++)
			;
		if (*p == '#')
			continue;
		if ((argc = config_split(p, argv, CONFIG_MAX_WORDS,
		    &msg)) == -1) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			rc = -1;
			break;
		}
		if (argc == 0)
			continue;
		if (cmd_run(&ctx, argc, argv) == -1) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno,
			    ctx.error);
			rc = -1;
			break;
		}
		log_debug("%s:%u: %s done", path, lineno, ctx.cmd->name);
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	cmd_ctx_clear(&ctx);
	free(line);
	fclose(f);
	return rc;
}
