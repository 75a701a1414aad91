/*
 * cmd-show.c - show: the switch at a glance.
 */
#include "datapath/dp.h"

#include "cmd.h"

static int
cmd_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct port	*port;
	json_t		*ports;

	(void)argc;
	(void)argv;
	ctx->result = json_pack("{s:[], s:o}", "ports", "fdb",
	    cmd_fdb_json(ctx->dp->sw));
	ports = json_object_get(ctx->result, "ports");
	TAILQ_FOREACH(port, &ctx->dp->ports, entry)
		json_array_append_new(ports, cmd_port_json(port));
	return 0;
}

static void
cmd_show_print(const json_t *result, FILE *f)
{
	const json_t	*fdb = json_object_get(result, "fdb");
	json_t		*ports = json_object_get(result, "ports"), *p;
	size_t		 i;

	fprintf(f, "switch: %zu port%s\n", json_array_size(ports),
	    json_array_size(ports) == 1 ? "" : "s");
	if (json_array_size(ports) > 0)
		fprintf(f, "  %-15s %5s  %-8s %-10s %5s\n", "PORT", "INDEX",
		    "TYPE", "STATE", "MTU");
	json_array_foreach(ports, i, p) {
		fprintf(f, "  %-15s %5lld  %-8s %-10s %5lld\n",
		    cmd_jstr(p, "name"), cmd_jint(p, "index"),
		    cmd_jstr(p, "type"), cmd_jstr(p, "state"),
		    cmd_jint(p, "mtu"));
		cmd_state_why_print(p, f, "    ");
		cmd_tunnel_print(p, f, "    ");
		cmd_offloads_print(p, f, "    ");
	}
	fprintf(f, "fdb: %lld %s (%lld static), max %lld, ",
	    cmd_jint(fdb, "entries"),
	    cmd_jint(fdb, "entries") == 1 ? "entry" : "entries",
	    cmd_jint(fdb, "static"), cmd_jint(fdb, "max"));
	if (cmd_jint(fdb, "ageing") == 0)
		fprintf(f, "no ageing\n");
	else
		fprintf(f, "ageing %llds\n", cmd_jint(fdb, "ageing"));
}

const struct cmd_entry cmd_show_entry = {
	.name = "show",
	.usage = "",
	.min_args = 0,
	.max_args = 0,
	.flags = CMD_READONLY,
	.exec = cmd_show_exec,
	.print = cmd_show_print,
};
