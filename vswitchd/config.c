/*
 * config.c - the configuration file: parse, check, run or converge.
 */
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datapath/dp.h"

#include "cmd.h"
#include "config.h"
#include "file-atomic.h"
#include "log.h"
#include "xmalloc.h"

struct config_line {
	unsigned		 lineno;
	int			 argc;		/* the command's words too */
	char			*argv[CONFIG_MAX_WORDS];
	const struct cmd_entry	*cmd;
	int			 used;		/* words naming the command */
	char			*words;		/* argv points in here */
	struct port_config	 port;		/* of a port add line */
};

struct config {
	struct config_line	*lines;
	size_t			 n;
};

static struct {
	char	*path;
	int	 dirfd;		/* its directory, opened before the drop */
	const char *name;	/* in path: the name in that directory */
	bool	 autosave;
	char	*defaults;	/* the settings as they were at start-up */
	bool	 restoring;	/* undoing a failed reload */
	char	*initial;	/* the file as read at start-up */
	bool	 missing;	/* no file yet (autosave makes it) */
} config_state = { .dirfd = -1 };

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

static void
config_free(struct config *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i].words);
	free(c->lines);
	c->lines = NULL;
	c->n = 0;
}

/* One line into l: 0 (blank and comment lines leave argc 0), or -1. */
static int
config_parse_line(struct cmd_ctx *ctx, char *text, struct config_line *l)
{
	const char	*msg;
	char		*p, **args;
	int		 nargs;

	for (p = text; isspace((unsigned char)*p); p++)
		;
	if (*p == '#' || *p == '\0')
		return 0;
	l->words = xstrdup(p);
	if ((l->argc = config_split(l->words, l->argv, CONFIG_MAX_WORDS,
	    &msg)) == -1)
		return cmd_error(ctx, "%s", msg);
	if (l->argc == 0)
		return 0;
	if ((l->cmd = cmd_find(ctx, l->argc, l->argv, &l->used)) == NULL)
		return -1;
	if (!(l->cmd->flags & CMD_CONFIG))
		return cmd_error(ctx, "'%s' is no configuration command (a "
		    "file sets state: port add, route add, fdb add and the "
		    "set commands)", l->cmd->name);
	args = l->argv + l->used;
	nargs = l->argc - l->used;
	if (nargs < l->cmd->min_args || (l->cmd->max_args >= 0 &&
	    nargs > l->cmd->max_args))
		return cmd_usage(ctx, l->cmd);
	if (l->cmd == &cmd_port_add_entry) {
		const struct port_ops *ops;

		if (cmd_port_parse(ctx, nargs, args, &l->port) == -1)
			return -1;
		/* What a running port of this line has (dp_port_add()). */
		if ((ops = port_ops_find(l->port.type)) != NULL)
			l->port.type = ops->type;
	}
	return 0;
}

static const struct config_line *
config_find_port(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->lines[i].cmd == &cmd_port_add_entry &&
		    strcmp(c->lines[i].port.name, name) == 0)
			return &c->lines[i];
	return NULL;
}

/* The port a line acts on (its command's target), or NULL. */
static const char *
config_target(const struct config_line *l)
{
	const struct cmd_target	*t = &l->cmd->target;
	char *const		*args = l->argv + l->used;
	int			 nargs = l->argc - l->used;

	if (t->kind != CMD_TARGET_PORT)
		return NULL;
	if (t->key != NULL) {
		for (int i = 0; i + 1 < nargs; i++)
			if (strcmp(args[i], t->key) == 0)
				return args[i + 1];
		return NULL;
	}
	return t->arg >= 0 && t->arg < nargs ? args[t->arg] : NULL;
}

/*
 * The whole text into c, checked as far as it can be without running it:
 * 0, or -1 with "origin:line: message" in err and c empty.
 */
static int
config_parse(struct dp *dp, const char *text, const char *origin,
    struct config *c, char *err, size_t errlen)
{
	struct cmd_ctx		 ctx;
	struct config_line	 l;
	const char		*p = text, *nl;
	char			*line;
	unsigned		 lineno = 0;
	int			 rc = 0;

	memset(c, 0, sizeof(*c));
	cmd_ctx_init(&ctx, dp, true);
	for (; *p != '\0' && rc == 0; p = *nl != '\0' ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		line = xcalloc(1, (size_t)(nl - p) + 1);
		memcpy(line, p, (size_t)(nl - p));
		memset(&l, 0, sizeof(l));
		l.lineno = ++lineno;
		if (config_parse_line(&ctx, line, &l) == -1) {
			snprintf(err, errlen, "%s:%u: %s", origin, lineno,
			    ctx.error);
			free(l.words);
			rc = -1;
		} else if (l.argc == 0)
			free(l.words);
		else {
			c->lines = xreallocarray(c->lines, c->n + 1,
			    sizeof(*c->lines));
			c->lines[c->n++] = l;
		}
		free(line);
	}
	/* A port named twice would be added, then refused: say so now. */
	for (size_t i = 0; i < c->n && rc == 0; i++)
		for (size_t j = 0; j < i && rc == 0; j++)
			if (c->lines[i].cmd == &cmd_port_add_entry &&
			    c->lines[j].cmd == &cmd_port_add_entry &&
			    strcmp(c->lines[i].port.name,
			    c->lines[j].port.name) == 0) {
				snprintf(err, errlen, "%s:%u: port '%s' is "
				    "added on line %u already", origin,
				    c->lines[i].lineno, c->lines[i].port.name,
				    c->lines[j].lineno);
				rc = -1;
			}
	/*
	 * A line may name only a port the file adds: any other is gone once
	 * the file is applied.  Said now, before anything changes.
	 */
	for (size_t i = 0; i < c->n && rc == 0; i++) {
		const char *name = config_target(&c->lines[i]);

		if (name != NULL && config_find_port(c, name) == NULL) {
			snprintf(err, errlen, "%s:%u: unknown port '%s' (the "
			    "file adds no port of that name)", origin,
			    c->lines[i].lineno, name);
			rc = -1;
		}
	}
	/* So may "via": on an earlier line, the tunnel's open finds it. */
	for (size_t i = 0; i < c->n && rc == 0; i++) {
		const struct config_line *t = &c->lines[i], *carrier;

		if (t->cmd != &cmd_port_add_entry || t->port.via[0] == '\0')
			continue;
		if ((carrier = config_find_port(c, t->port.via)) == NULL ||
		    carrier > t) {
			snprintf(err, errlen, "%s:%u: via port '%s' (the file "
			    "adds no port of that name%s)", origin, t->lineno,
			    t->port.via, carrier == NULL ? "" : " before this "
			    "line");
			rc = -1;
		}
	}
	cmd_ctx_clear(&ctx);
	if (rc == -1)
		config_free(c);
	return rc;
}

static bool
port_config_same(const struct port_config *a, const struct port_config *b)
{
	char	*sa = NULL, *sb = NULL;
	size_t	 la, lb;
	FILE	*f;
	bool	 same;

	if ((f = open_memstream(&sa, &la)) == NULL)
		fatal("open_memstream");
	cmd_port_write(f, a);
	fclose(f);
	if ((f = open_memstream(&sb, &lb)) == NULL)
		fatal("open_memstream");
	cmd_port_write(f, b);
	fclose(f);
	same = la == lb && memcmp(sa, sb, la) == 0;
	free(sa);
	free(sb);
	return same;
}


/*
 * What a settings line sets: its command, and the setting's name for a
 * "set" verb that names one ("fdb set ageing"), so that a default is
 * applied only where the file says nothing.
 */
static bool
config_same_setting(const struct config_line *a, const struct config_line *b)
{
	int	na = a->argc - a->used, nb = b->argc - b->used;

	if (a->cmd != b->cmd)
		return false;
	if (na < 2 || nb < 2)
		return true;
	return strcmp(a->argv[a->used], b->argv[b->used]) == 0;
}

static bool
config_sets(const struct config *c, const struct config_line *setting)
{
	for (size_t i = 0; i < c->n; i++)
		if (config_same_setting(&c->lines[i], setting))
			return true;
	return false;
}

static int
config_run_line(struct cmd_ctx *ctx, const struct config_line *l,
    const char *origin, char *err, size_t errlen)
{
	if (cmd_run(ctx, l->argc, (char **)l->argv) == -1) {
		snprintf(err, errlen, "%s:%u: %s", origin, l->lineno,
		    ctx->error);
		return -1;
	}
	return 0;
}

/*
 * Makes the running state what c says.  Without defaults it only runs the
 * lines (start-up, on a datapath with nothing yet).  With them it
 * converges, in the order that disturbs least and fails before it
 * destroys: routes, static FDB entries, router addresses, port security
 * settings and WireGuard peers are cleared (the file rebuilds them; a
 * peer's sessions go with it and are remade by a handshake), the lines run
 * (a port that is there with the same line is kept, one whose line changed
 * is made again), the settings the file does not set go back to their
 * defaults (so those it does are never toggled), and only then do the
 * ports the file no longer has go.
 */
static int
config_run(struct dp *dp, const struct config *c, const struct config *dflt,
    const char *origin, char *err, size_t errlen)
{
	static const struct cmd_config_part *const cleared[] = {
		&cmd_route_config, &cmd_fdb_static_config, &cmd_router_config,
		&cmd_wg_peer_config, &cmd_port_sec_config,
	};
	const struct config_line	*l;
	struct port			*port, *next;
	struct cmd_ctx			 ctx;
	int				 rc = 0;

	cmd_ctx_init(&ctx, dp, true);
	ctx.loading = true;
	if (dflt != NULL)
		for (size_t i = 0; i < sizeof(cleared) / sizeof(cleared[0]);
		    i++)
			cleared[i]->clear(dp);
	for (size_t i = 0; i < c->n && rc == 0; i++) {
		l = &c->lines[i];
		if (l->cmd == &cmd_port_add_entry &&
		    (port = dp_port_find(dp, l->port.name)) != NULL) {
			if (port_config_same(&l->port, &port->cfg))
				continue;
			log_info("%s: port %s: its line changed, making it "
			    "again", origin, port->name);
			dp_port_del(dp, port);
		}
		rc = config_run_line(&ctx, l, origin, err, errlen);
	}
	if (dflt != NULL && rc == 0)
		for (size_t i = 0; i < dflt->n && rc == 0; i++)
			if (!config_sets(c, &dflt->lines[i]))
				rc = config_run_line(&ctx, &dflt->lines[i],
				    "defaults", err, errlen);
	if (dflt != NULL && rc == 0)
		for (port = TAILQ_FIRST(&dp->ports); port != NULL;
		    port = next) {
			next = TAILQ_NEXT(port, entry);
			if (config_find_port(c, port->name) != NULL)
				continue;
			log_info("%s: removing port %s (not in the file)",
			    origin, port->name);
			dp_port_del(dp, port);
		}
	cmd_ctx_clear(&ctx);
	return rc;
}

int
config_apply_text(struct dp *dp, const char *text, const char *origin,
    bool converge, char *err, size_t errlen)
{
	struct config	c, defaults;
	char		*before, undo[256];
	int		 rc;

	if (config_parse(dp, text, origin, &c, err, errlen) == -1)
		return -1;
	if (!converge) {
		rc = config_run(dp, &c, NULL, origin, err, errlen);
		config_free(&c);
		return rc;
	}
	if (config_parse(dp, config_state.defaults, "defaults", &defaults,
	    undo, sizeof(undo)) == -1)
		fatalx("the default settings do not parse: %s", undo);
	/* The state to go back to, in the same language. */
	before = config_render(dp);
	rc = config_run(dp, &c, &defaults, origin, err, errlen);
	config_free(&defaults);
	config_free(&c);
	/* Once: a failing way back is not tried again from its own failure. */
	if (rc == -1 && !config_state.restoring) {
		log_warnx("%s; putting the previous configuration back", err);
		config_state.restoring = true;
		if (config_apply_text(dp, before, "previous configuration",
		    true, undo, sizeof(undo)) == -1)
			log_warnx("cannot restore the previous configuration: "
			    "%s", undo);
		config_state.restoring = false;
	}
	free(before);
	return rc;
}

/* The file's text, malloc'd; NULL with errno (ENOENT: no file). */
static char *
config_read(char *err, size_t errlen)
{
	const char	*path = config_state.path;
	struct stat	 st;
	char		*text;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd;

	if ((fd = openat(config_state.dirfd, config_state.name,
	    O_RDONLY | O_CLOEXEC)) == -1)
		goto fail;
	if (fstat(fd, &st) == -1)
		goto fail_fd;
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size >= CONFIG_MAX_BYTES) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		snprintf(err, errlen, "%s: %s", path, S_ISREG(st.st_mode) ?
		    "larger than 16 MiB" : "not a regular file");
		close(fd);
		return NULL;
	}
	text = xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size && (r = read(fd, text + n,
	    (size_t)st.st_size - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			free(text);
			goto fail_fd;
		}
		n += (size_t)r;
	}
	text[n] = '\0';
	close(fd);
	if (strlen(text) != n) {
		free(text);
		errno = EINVAL;
		snprintf(err, errlen, "%s: a NUL byte in the file", path);
		return NULL;
	}
	return text;

fail_fd:
	close(fd);
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return NULL;
}

int
config_init(struct dp *dp, const char *path, bool autosave, char *err,
    size_t errlen)
{
	int	fd;

	config_state.dirfd = -1;
	config_state.defaults = config_render(dp);
	if (path == NULL)
		return 0;
	config_state.path = xstrdup(path);
	if ((fd = file_dir_open(config_state.path, &config_state.name, err,
	    errlen)) < 0)
		return -1;
	config_state.dirfd = fd;
	config_state.autosave = autosave;
	/*
	 * Read now, run later (config_load(), once root is given up): the
	 * file may sit where only root reads, as it may at a reload.
	 */
	if ((config_state.initial = config_read(err, errlen)) == NULL) {
		if (errno != ENOENT || !autosave)
			return -1;
		config_state.missing = true;
	}
	return 0;
}

int
config_dirfd(void)
{
	return config_state.dirfd;
}

const char *
config_name(void)
{
	return config_state.name;
}

void
config_shutdown(void)
{
	if (config_state.dirfd != -1)
		close(config_state.dirfd);
	free(config_state.path);
	free(config_state.defaults);
	free(config_state.initial);
	memset(&config_state, 0, sizeof(config_state));
	config_state.dirfd = -1;
	config_forget();
}

const char *
config_path(void)
{
	return config_state.path;
}

bool
config_autosaving(void)
{
	return config_state.autosave;
}

int
config_load(struct dp *dp, char *err, size_t errlen)
{
	char	*text;
	int	 rc;

	if (config_state.path == NULL)
		return 0;
	if (config_state.missing) {
		log_info("%s: no such file yet: starting empty, saving there",
		    config_state.path);
		config_remember(dp);
		return 0;
	}
	text = config_state.initial;
	config_state.initial = NULL;
	rc = config_apply_text(dp, text, config_state.path, false, err,
	    errlen);
	free(text);
	if (rc == 0)
		config_remember(dp);
	return rc;
}

int
config_reload(struct dp *dp, char *err, size_t errlen)
{
	char	*text;
	int	 rc;

	if (config_state.path == NULL) {
		snprintf(err, errlen, "no configuration file to reload "
		    "(started without --config)");
		return -1;
	}
	if ((text = config_read(err, errlen)) == NULL)
		return -1;
	rc = config_apply_text(dp, text, config_state.path, true, err,
	    errlen);
	free(text);
	if (rc == 0)
		config_remember(dp);
	return rc;
}
