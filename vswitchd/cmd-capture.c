/*
 * cmd-capture.c - capture start, capture stop, capture show.
 *
 * The output is always a descriptor the client passed (vswctl -w opens the
 * file, or hands over its stdout for "-w -"): the daemon runs privileged
 * and never opens a path a client names, so a client writes only where it
 * could write itself.  The path in argv is a label for capture show.  The
 * daemon writes where the descriptor stands and never truncates: vswctl
 * creates a new file (0600, never through a symbolic link) and empties an
 * existing one only when told to with --force, a word for vswctl that the
 * daemon accepts and ignores.
 *
 * "-w -" follows the client: the start reply says "more", the capture ends
 * when the client hangs up, and its end is the client's last reply.
 * capture stop answers once every capture it stopped is closed, so the
 * file is complete when vswctl returns.
 */
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datapath/dp.h"

#include "capio.h"
#include "cmd.h"
#include "control.h"
#include "log.h"
#include "xmalloc.h"

#define CAPTURE_COUNT_MAX	UINT32_MAX
#define CAPTURE_SIZE_MAX	(1ull << 40)

/* A "-w -" capture's client, waiting for the end. */
struct capture_follow {
	struct ctl_hold	 hold;
	struct capio	*c;
};

/* A capture stop's client, waiting for every capture it stopped. */
struct capture_stop {
	struct ctl_hold	 hold;
	unsigned	 pending;
	json_t		*result;	/* {"captures": [ended ones]} */
};

static const char *const dir_names[] = {
	[CAP_RX] = "rx",
	[CAP_TX] = "tx",
	[CAP_RX | CAP_TX] = "both",
};

static json_t *
capture_json(const struct capio *c)
{
	struct cap_stats	st;

	capio_stats(c, &st);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, "
	    "s:s, s:I, s:I, s:I, s:I}",
	    "id", (json_int_t)c->id,
	    "port", c->port_name,
	    "layer", c->outer ? "outer" : "inner",
	    "direction", dir_names[c->dirs],
	    "filter", c->filter,
	    "output", c->output,
	    "link_type", c->link_name,
	    "snaplen", (json_int_t)c->snaplen,
	    "count", (json_int_t)c->count,
	    "max_size", (json_int_t)c->max_size,
	    "state", c->running ? "running" : c->cap ? "stopping" : "closed",
	    "matched", (json_int_t)st.matched,
	    "written", (json_int_t)st.written,
	    "dropped", (json_int_t)st.dropped,
	    "bytes", (json_int_t)st.bytes);
}

/* A closed capture: how it ended. */
static json_t *
capture_end_json(const struct capio *c)
{
	json_t	*o = capture_json(c);

	json_object_set_new(o, "reason", json_string(c->reason));
	if (c->error != 0)
		json_object_set_new(o, "error",
		    json_string(strerror(c->error)));
	return o;
}

static void
capture_end_print(const json_t *result, FILE *f)
{
	json_t	*c;
	size_t	 i;

	json_array_foreach(json_object_get(result, "captures"), i, c) {
		fprintf(f, "capture %lld on %s ended (%s): %lld packets "
		    "written, %lld dropped", cmd_jint(c, "id"),
		    cmd_jstr(c, "port"), cmd_jstr(c, "reason"),
		    cmd_jint(c, "written"), cmd_jint(c, "dropped"));
		if (json_object_get(c, "error") != NULL)
			fprintf(f, "; cannot write: %s", cmd_jstr(c, "error"));
		fputc('\n', f);
	}
}

static void
follow_hangup(struct ctl_hold *hold)
{
	struct capture_follow	*f = (struct capture_follow *)hold;

	capio_end(f->c, "interrupted");
}

static void
stop_hangup(struct ctl_hold *hold)
{
	(void)hold;		/* the captures close anyway; replies are dropped */
}

void
cmd_capture_ended(struct capio *c)
{
	struct capture_follow	*f = c->follower;
	struct capture_stop	*st = c->stopper;
	json_t			*reply, *result;

	if (f != NULL) {
		/* A reader that went away ends a stream; a failed write is an error. */
		if (c->error != 0 && c->error != EPIPE)
			reply = control_error("capture %u on %s: cannot write: "
			    "%s", c->id, c->port_name, strerror(c->error));
		else {
			result = json_pack("{s:[o]}", "captures",
			    capture_end_json(c));
			reply = control_reply(result, capture_end_print,
			    f->hold.json, false);
			json_decref(result);
		}
		control_push(&f->hold, reply, false);
		free(f);
		c->follower = NULL;
	}
	if (st != NULL) {
		json_array_append_new(json_object_get(st->result, "captures"),
		    capture_end_json(c));
		c->stopper = NULL;
		if (--st->pending > 0)
			return;
		control_push(&st->hold, control_reply(st->result,
		    capture_end_print, st->hold.json, false), false);
		json_decref(st->result);
		free(st);
	}
}

static int
parse_direction(struct cmd_ctx *ctx, const char *s, unsigned *dirs)
{
	for (unsigned d = CAP_RX; d <= (CAP_RX | CAP_TX); d++)
		if (strcmp(s, dir_names[d]) == 0) {
			*dirs = d;
			return 0;
		}
	return cmd_error(ctx, "invalid direction '%s' (expected rx, tx or "
	    "both)", s);
}

/* Bytes, with an optional k, M or G (powers of 1024). */
static int
parse_size(struct cmd_ctx *ctx, const char *s, uint64_t *out)
{
	static const char	 units[] = "kmg";
	unsigned long long	 v;
	const char		*u;
	char			*end;
	int			 shift = 0;

	if (!isdigit((unsigned char)s[0]))
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		goto bad;
	if (*end != '\0') {
		if (end[1] != '\0' || (u = strchr(units,
		    tolower((unsigned char)*end))) == NULL)
			goto bad;
		shift = 10 * (int)(u - units + 1);
	}
	if (v > CAPTURE_SIZE_MAX >> shift)
		goto bad;
	v <<= shift;
	if (v < CAP_MAX_SIZE_MIN)
		goto bad;
	*out = v;
	return 0;
bad:
	return cmd_error(ctx, "invalid max-size '%s' (expected %u bytes to "
	    "1T, with an optional k, M or G)", s, CAP_MAX_SIZE_MIN);
}

enum {
	OPT_W, OPT_FILTER, OPT_DIRECTION, OPT_LAYER, OPT_SNAPLEN, OPT_COUNT,
	OPT_MAX_SIZE, OPT__MAX
};

/* The options of capture start into cfg; the descriptor is checked later. */
static int
capture_parse(struct cmd_ctx *ctx, int argc, char **argv,
    struct capio_config *cfg)
{
	struct cmd_opt	 opts[OPT__MAX] = {
		[OPT_W] = { "-w", NULL },
		[OPT_FILTER] = { "filter", NULL },
		[OPT_DIRECTION] = { "direction", NULL },
		[OPT_LAYER] = { "layer", NULL },
		[OPT_SNAPLEN] = { "snaplen", NULL },
		[OPT_COUNT] = { "count", NULL },
		[OPT_MAX_SIZE] = { "max-size", NULL },
	};
	unsigned long	 v;
	const char	*layer;
	char		*words[2 + 2 * OPT__MAX];	/* max_args: argc fits */
	int		 n = 0;

	cfg->port = ctx->port;
	/* --force is vswctl's (it opened the file): the options without it. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--force") != 0)
			words[n++] = argv[i];
	if (argc - 1 - n > 1)
		return cmd_error(ctx, "option '--force' given twice");
	if (cmd_parse_opts(ctx, n, words, opts, OPT__MAX) == -1)
		return -1;
	if ((cfg->output = opts[OPT_W].value) == NULL)
		return cmd_usage(ctx, &cmd_capture_start_entry);
	cfg->cap.filter = opts[OPT_FILTER].value;
	cfg->cap.dirs = CAP_RX | CAP_TX;
	if (opts[OPT_DIRECTION].value != NULL && parse_direction(ctx,
	    opts[OPT_DIRECTION].value, &cfg->cap.dirs) == -1)
		return -1;
	if ((layer = opts[OPT_LAYER].value) != NULL) {
		if (strcmp(layer, "outer") != 0 && strcmp(layer, "inner") != 0)
			return cmd_error(ctx, "invalid layer '%s' (expected "
			    "inner or outer)", layer);
		cfg->outer = strcmp(layer, "outer") == 0;
		if (cfg->outer && !cfg->port->ops->outer)
			return cmd_error(ctx, "port '%s' (type %s) has no "
			    "outer layer: only tunnel ports do",
			    cfg->port->name, cfg->port->ops->type);
	}
	cfg->cap.snaplen = CAP_SNAPLEN_MAX;
	if (opts[OPT_SNAPLEN].value != NULL) {
		if (cmd_parse_uint(ctx, "snaplen", opts[OPT_SNAPLEN].value, 1,
		    CAP_SNAPLEN_MAX, &v) == -1)
			return -1;
		cfg->cap.snaplen = (uint32_t)v;
	}
	if (opts[OPT_COUNT].value != NULL) {
		if (cmd_parse_uint(ctx, "count", opts[OPT_COUNT].value, 1,
		    CAPTURE_COUNT_MAX, &v) == -1)
			return -1;
		cfg->cap.count = v;
	}
	if (opts[OPT_MAX_SIZE].value != NULL &&
	    parse_size(ctx, opts[OPT_MAX_SIZE].value, &cfg->cap.max_size) == -1)
		return -1;
	return 0;
}

/* The descriptor the client passed for -w; -1 with an error if unusable. */
static int
capture_output(struct cmd_ctx *ctx, const char *output)
{
	int	flags;

	if (ctx->nfds != 1)
		return cmd_error(ctx, "no descriptor came with '-w %s': vswctl "
		    "opens the output and passes it (the daemon opens no "
		    "path a client names)", output);
	if ((flags = fcntl(ctx->fds[0], F_GETFL)) == -1 ||
	    (flags & O_ACCMODE) == O_RDONLY)
		return cmd_error(ctx, "'-w %s': the descriptor passed is not "
		    "open for writing", output);
	if (strcmp(output, "-") == 0 && ctx->client == NULL)
		return cmd_error(ctx, "'-w -' streams to a client: use vswctl");
	return 0;
}

static int
cmd_capture_start_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct capio_config	 cfg = { .port = NULL };
	struct capture_follow	*f;
	struct capio		*c;
	char			 err[512];
	bool			 follow;

	if (capture_parse(ctx, argc, argv, &cfg) == -1 ||
	    capture_output(ctx, cfg.output) == -1)
		return -1;
	follow = strcmp(cfg.output, "-") == 0;
	cfg.cap.fd = ctx->fds[0];
	ctx->fds[0] = -1;		/* capio_add() takes it */
	if (capio_add(&cfg, &c, err, sizeof(err)) != 0)
		return cmd_error(ctx, "cannot capture on '%s': %s",
		    cfg.port->name, err);
	log_info("capture %u on %s started: %s layer, %s, filter '%s', to %s",
	    c->id, c->port_name, c->outer ? "outer" : "inner",
	    dir_names[c->dirs], c->filter, c->output);
	/* The capture runs: nothing may fail now, or its client is lost. */
	ctx->result = capture_json(c);
	if (follow) {
		f = xcalloc(1, sizeof(*f));
		f->c = c;
		f->hold.json = ctx->json;
		f->hold.hangup = follow_hangup;
		c->follower = f;
		control_hold(ctx->client, &f->hold);
		ctx->more = true;
	}
	return 0;
}

static void
cmd_capture_start_print(const json_t *c, FILE *f)
{
	fprintf(f, "capture %lld on %s: %s layer, link-type %s, snaplen %lld,"
	    " to %s\n", cmd_jint(c, "id"), cmd_jstr(c, "port"),
	    cmd_jstr(c, "layer"), cmd_jstr(c, "link_type"),
	    cmd_jint(c, "snaplen"), cmd_jstr(c, "output"));
}

const struct cmd_entry cmd_capture_start_entry = {
	.name = "capture start",
	.usage = "PORT -w FILE|- [--force] [filter EXPR] [direction rx|tx|both] "
	    "[layer inner|outer] [snaplen N] [count N] [max-size BYTES]",
	.min_args = 3,
	.max_args = 2 + 2 * OPT__MAX,
	.flags = CMD_FDS | CMD_DEFAULT,
	.target = { .kind = CMD_TARGET_PORT, .arg = 0 },
	.exec = cmd_capture_start_exec,
	.print = cmd_capture_start_print,
};

/* Running captures named by an id or a port, into list; their number. */
static int
capture_select(struct cmd_ctx *ctx, const char *arg,
    struct capio *list[CAPIO_MAX], unsigned *n)
{
	struct capio	*c = NULL;
	struct port	*port;
	unsigned long	 id;
	char		*end;

	*n = 0;
	if (isdigit((unsigned char)arg[0])) {
		id = strtoul(arg, &end, 10);
		if (*end == '\0' && id <= UINT32_MAX &&
		    (c = capio_find((unsigned)id)) != NULL) {
			if (!c->running)
				return cmd_error(ctx, "capture %s is already "
				    "stopping", arg);
			list[(*n)++] = c;
			return 0;
		}
	}
	while ((c = capio_next(c)) != NULL)
		if (c->running && strcmp(c->port_name, arg) == 0)
			list[(*n)++] = c;
	if (*n > 0)
		return 0;
	/* Only whether it is a port: "unknown port" would forget the ID. */
	if (cmd_resolve_port(ctx, arg, &port) == 0)
		return cmd_error(ctx, "no capture running on port '%s'", arg);
	return cmd_error(ctx, "no capture or port '%s'", arg);
}

static int
cmd_capture_stop_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct capio		*list[CAPIO_MAX];
	struct capture_stop	*st;
	unsigned		 n;

	(void)argc;
	if (capture_select(ctx, argv[0], list, &n) == -1)
		return -1;
	if (ctx->client == NULL) {
		/* The config file: nobody to answer later. */
		for (unsigned i = 0; i < n; i++)
			capio_end(list[i], "stopped");
		return 0;
	}
	st = xcalloc(1, sizeof(*st));
	st->result = json_pack("{s:[]}", "captures");
	for (unsigned i = 0; i < n; i++) {
		capio_end(list[i], "stopped");
		list[i]->stopper = st;
	}
	st->pending = n;
	st->hold.json = ctx->json;
	st->hold.hangup = stop_hangup;
	control_hold(ctx->client, &st->hold);
	ctx->held = true;
	return 0;
}

const struct cmd_entry cmd_capture_stop_entry = {
	.name = "capture stop",
	.usage = "PORT|ID",
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_capture_stop_exec,
	.print = capture_end_print,
};

static int
cmd_capture_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct capio	*c = NULL;
	json_t		*list;

	(void)argc;
	(void)argv;
	ctx->result = json_pack("{s:[], s:i}", "captures", "max", CAPIO_MAX);
	list = json_object_get(ctx->result, "captures");
	while ((c = capio_next(c)) != NULL)
		json_array_append_new(list, capture_json(c));
	return 0;
}

static void
cmd_capture_show_print(const json_t *result, FILE *f)
{
	json_t	*list = json_object_get(result, "captures"), *c;
	size_t	 i;

	if (json_array_size(list) == 0)
		return;
	fprintf(f, "%-4s %-15s %-5s %-4s %-8s %10s %10s  %-20s %s\n", "ID",
	    "PORT", "LAYER", "DIR", "STATE", "WRITTEN", "DROPPED", "OUTPUT",
	    "FILTER");
	json_array_foreach(list, i, c)
		fprintf(f, "%-4lld %-15s %-5s %-4s %-8s %10lld %10lld  %-20s "
		    "%s\n", cmd_jint(c, "id"), cmd_jstr(c, "port"),
		    cmd_jstr(c, "layer"), cmd_jstr(c, "direction"),
		    cmd_jstr(c, "state"), cmd_jint(c, "written"),
		    cmd_jint(c, "dropped"), cmd_jstr(c, "output"),
		    cmd_jstr(c, "filter"));
}

const struct cmd_entry cmd_capture_show_entry = {
	.name = "capture show",
	.usage = "",
	.min_args = 0,
	.max_args = 0,
	.flags = CMD_READONLY,
	.exec = cmd_capture_show_exec,
	.print = cmd_capture_show_print,
};
