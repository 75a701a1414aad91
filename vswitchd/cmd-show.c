/*
 * cmd-show.c - show (the switch at a glance) and stats (every counter).
 */
#include "datapath/dp.h"
#include "datapath/switch.h"

#include "cmd.h"

/* The "fdb" object of both show and stats. */
static json_t *
fdb_json(const struct sw *sw)
{
	struct mac_table_stats	st;

	mac_table_get_stats(sw->macs, &st);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "entries", (json_int_t)st.count,
	    "static", (json_int_t)st.static_count,
	    "max", (json_int_t)mac_table_max(sw->macs),
	    "ageing", (json_int_t)mac_table_ageing(sw->macs),
	    "learned", (json_int_t)st.learned,
	    "moves", (json_int_t)st.moves,
	    "evictions", (json_int_t)st.evictions,
	    "expired", (json_int_t)st.expired,
	    "learn_failed", (json_int_t)st.learn_failed);
}

static int
cmd_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct port	*port;
	json_t		*ports;

	(void)argc;
	(void)argv;
	ctx->result = json_pack("{s:[], s:o}", "ports", "fdb",
	    fdb_json(ctx->dp->sw));
	if (ctx->result == NULL)
		return cmd_error(ctx, "out of memory");
	ports = json_object_get(ctx->result, "ports");
	TAILQ_FOREACH(port, &ctx->dp->ports, entry)
		if (json_array_append_new(ports, cmd_port_json(port)) == -1)
			return cmd_error(ctx, "out of memory");
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
		fprintf(f, "  %-15s %5s  %-6s %-7s %5s\n", "PORT", "INDEX",
		    "TYPE", "STATE", "MTU");
	json_array_foreach(ports, i, p) {
		fprintf(f, "  %-15s %5lld  %-6s %-7s %5lld\n",
		    cmd_jstr(p, "name"), cmd_jint(p, "index"),
		    cmd_jstr(p, "type"), cmd_jstr(p, "state"),
		    cmd_jint(p, "mtu"));
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

static json_t *
port_stats_json(const struct port *port)
{
	const struct port_stats	*s = &port->stats;
	json_t			*drops;

	if ((drops = cmd_counters_json(s->drops, drop_reason_names,
	    DROP__MAX)) == NULL)
		return NULL;
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
	    "drops", drops);
}

static int
cmd_stats_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct port	*port, *only = NULL;
	json_t		*ports;

	if (argc == 1 && cmd_find_port(ctx, argv[0], &only) == -1)
		return -1;
	ctx->result = json_pack("{s:[], s:o, s:{s:I, s:I}, s:o}",
	    "ports",
	    "endpoints", cmd_endpoints_json(ctx->dp, only),
	    "switch",
	    "unicast", (json_int_t)ctx->dp->sw->unicast,
	    "flooded", (json_int_t)ctx->dp->sw->flooded,
	    "fdb", fdb_json(ctx->dp->sw));
	if (ctx->result == NULL)
		return cmd_error(ctx, "out of memory");
	ports = json_object_get(ctx->result, "ports");
	TAILQ_FOREACH(port, &ctx->dp->ports, entry) {
		if (only != NULL && port != only)
			continue;
		if (json_array_append_new(ports, port_stats_json(port)) == -1)
			return cmd_error(ctx, "out of memory");
	}
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
	    "expired", "learn_failed", NULL };
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
	.exec = cmd_stats_exec,
	.print = cmd_stats_print,
};
