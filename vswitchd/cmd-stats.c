/*
 * cmd-stats.c - stats: every counter, of the ports (or one), their tunnel
 * endpoints, the switch and its MAC table.
 */
#include "datapath/dp.h"
#include "datapath/switch.h"

#include "cmd.h"

static json_t *
port_stats_json(const struct port *port)
{
	const struct port_stats	*s = &port->stats;

	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:o}",
	    "name", port->name,
	    "rx_packets", (json_int_t)s->rx_packets,
	    "rx_bytes", (json_int_t)s->rx_bytes,
	    "tx_packets", (json_int_t)s->tx_packets,
	    "tx_bytes", (json_int_t)s->tx_bytes,
	    "rx_errors", (json_int_t)s->rx_errors,
	    "tx_errors", (json_int_t)s->tx_errors,
	    "rx_gso", (json_int_t)s->rx_gso,
	    "tx_gso", (json_int_t)s->tx_gso,
	    "tx_segmented", (json_int_t)s->tx_segmented,
	    "drops", cmd_counters_json(s->drops, drop_reason_names,
	    DROP__MAX));
}

static int
cmd_stats_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct port	*port;
	json_t		*ports;

	(void)argc;
	(void)argv;
	ctx->result = json_pack("{s:[], s:o, s:{s:I, s:I}, s:o}",
	    "ports",
	    "endpoints", cmd_endpoints_json(ctx->dp, ctx->port),
	    "switch",
	    "unicast", (json_int_t)ctx->dp->sw->unicast,
	    "flooded", (json_int_t)ctx->dp->sw->flooded,
	    "fdb", cmd_fdb_json(ctx->dp->sw));
	ports = json_object_get(ctx->result, "ports");
	TAILQ_FOREACH(port, &ctx->dp->ports, entry)
		if (ctx->port == NULL || port == ctx->port)
			json_array_append_new(ports, port_stats_json(port));
	return 0;
}

/* "name value" for each key, on one line after a label. */
static void
print_counters(FILE *f, const char *label, const json_t *obj,
    const char *const *keys, const char *const *names)
{
	fprintf(f, "  %-6s", label);
	for (size_t i = 0; keys[i] != NULL; i++)
		fprintf(f, " %s %lld", names[i], cmd_jint(obj, keys[i]));
	fputc('\n', f);
}

static void
cmd_stats_print(const json_t *result, FILE *f)
{
	static const char *const rx[] = { "rx_packets", "rx_bytes",
	    "rx_errors", NULL };
	static const char *const tx[] = { "tx_packets", "tx_bytes",
	    "tx_errors", NULL };
	static const char *const dir[] = { "packets", "bytes", "errors" };
	static const char *const gso[] = { "rx_gso", "tx_gso", "tx_segmented",
	    NULL };
	static const char *const gso_names[] = { "rx", "tx", "segmented" };
	static const char *const fwd[] = { "unicast", "flooded", NULL };
	static const char *const fdb[] = { "learned", "moves", "evictions",
	    "expired", "learn_failed", "move_refused", NULL };
	json_t		*p;
	size_t		 i;

	json_array_foreach(json_object_get(result, "ports"), i, p) {
		fprintf(f, "port %s\n", cmd_jstr(p, "name"));
		print_counters(f, "rx", p, rx, dir);
		print_counters(f, "tx", p, tx, dir);
		print_counters(f, "gso", p, gso, gso_names);
		cmd_print_drops(f, json_object_get(p, "drops"));
	}
	cmd_endpoints_print(json_object_get(result, "endpoints"), f);
	fprintf(f, "switch\n");
	print_counters(f, "frames", json_object_get(result, "switch"), fwd,
	    fwd);
	print_counters(f, "fdb", json_object_get(result, "fdb"), fdb, fdb);
}

const struct cmd_entry cmd_stats_entry = {
	.name = "stats",
	.usage = "[PORT]",
	.min_args = 0,
	.max_args = 1,
	.flags = CMD_READONLY,
	.target = { .kind = CMD_TARGET_PORT, .arg = 0, .optional = true },
	.exec = cmd_stats_exec,
	.print = cmd_stats_print,
};
