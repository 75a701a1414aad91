/*
 * cmd-offload.c - the offload switches: offload show, offload set.
 */
#include <string.h>

#include "datapath/offload.h"
#include "datapath/dp.h"

#include "cmd.h"
#include "log.h"

static int
cmd_offload_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	json_t	*o = json_object();

	(void)argc;
	(void)argv;
	for (int i = 0; i < OFL__MAX; i++)
		json_object_set_new(o, offload_names[i],
		    json_boolean(ctx->dp->ofl.on[i]));
	ctx->result = json_pack("{s:o}", "offloads", o);
	return 0;
}

static void
cmd_offload_show_print(const json_t *result, FILE *f)
{
	const char	*name;
	json_t		*v;

	json_object_foreach(json_object_get(result, "offloads"), name, v)
		fprintf(f, "%-10s %s\n", name, json_is_true(v) ? "on" : "off");
}

const struct cmd_entry cmd_offload_show_entry = {
	.name = "offload show",
	.usage = "",
	.min_args = 0,
	.max_args = 0,
	.flags = CMD_READONLY,
	.exec = cmd_offload_show_exec,
	.print = cmd_offload_show_print,
};

/* Lists offload_names[], so a new switch is named without a change here. */
static int
offload_unknown(struct cmd_ctx *ctx, const char *name)
{
	char	known[128];
	size_t	off = 0;

	known[0] = '\0';
	for (int i = 0; i < OFL__MAX && off < sizeof(known); i++)
		off += (size_t)snprintf(known + off, sizeof(known) - off,
		    "%s%s", i > 0 ? ", " : "", offload_names[i]);
	return cmd_error(ctx, "unknown offload '%s' (known: %s)", name, known);
}

/* Every pair is checked before any is applied: all of them, or none. */
static int
cmd_offload_set_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	int	which[OFL__MAX];
	bool	on[OFL__MAX];
	int	n = argc / 2;

	if (argc % 2 != 0)
		return cmd_error(ctx, "offload '%s' needs 'on' or 'off'",
		    argv[argc - 1]);
	for (int i = 0; i < n; i++) {
		const char *name = argv[2 * i], *value = argv[2 * i + 1];

		if ((which[i] = offload_find(name)) == -1)
			return offload_unknown(ctx, name);
		if (strcmp(value, "on") == 0)
			on[i] = true;
		else if (strcmp(value, "off") == 0)
			on[i] = false;
		else
			return cmd_error(ctx, "invalid value '%s' for offload "
			    "%s (expected on or off)", value, name);
	}
	for (int i = 0; i < n; i++) {
		if (ctx->dp->ofl.on[which[i]] == on[i])
			continue;
		dp_set_offload(ctx->dp, (enum offload)which[i], on[i]);
		log_info("offload %s %s", offload_names[which[i]],
		    on[i] ? "on" : "off");
	}
	return 0;
}

const struct cmd_entry cmd_offload_set_entry = {
	.name = "offload set",
	.usage = "NAME on|off [NAME on|off ...]",
	.min_args = 2,
	.max_args = 2 * OFL__MAX,
	.flags = CMD_CONFIG,
	.exec = cmd_offload_set_exec,
};

static void
cmd_offload_save(struct dp *dp, FILE *f)
{
	/* One a line: a reload compares (and defaults) them one by one. */
	for (int i = 0; i < OFL__MAX; i++)
		fprintf(f, "offload set %s %s\n", offload_names[i],
		    dp->ofl.on[i] ? "on" : "off");
}

const struct cmd_config_part cmd_offload_config = {
	.save = cmd_offload_save,
};
