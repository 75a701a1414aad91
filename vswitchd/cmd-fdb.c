/*
 * cmd-fdb.c - the forwarding database: show, add, del, flush, set.
 *
 * Which MAC may be a static entry and how big the table may grow are the
 * MAC table's rules: the commands parse a value and word the table's answer.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/dp.h"
#include "datapath/ether.h"
#include "datapath/switch.h"

#include "cmd.h"
#include "log.h"
#include "portio.h"
#include "xmalloc.h"
#include "xmalloc.h"

#define FDB_AGEING_MAX	1000000

/* An 802.1Q VID: 12 bits. */
static int
fdb_parse_vlan(struct cmd_ctx *ctx, const char *s, uint16_t *vlan)
{
	unsigned long	v = 0;

	if (s != NULL && cmd_parse_uint(ctx, "VLAN", s, 0, ETH_VID_MASK,
	    &v) == -1)
		return -1;
	*vlan = (uint16_t)v;
	return 0;
}

json_t *
cmd_fdb_json(const struct sw *sw)
{
	struct mac_table_stats	st;

	mac_table_get_stats(sw->macs, &st);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "entries", (json_int_t)st.count,
	    "static", (json_int_t)st.static_count,
	    "max", (json_int_t)mac_table_max(sw->macs),
	    "ageing", (json_int_t)mac_table_ageing(sw->macs),
	    "learned", (json_int_t)st.learned,
	    "moves", (json_int_t)st.moves,
	    "evictions", (json_int_t)st.evictions,
	    "expired", (json_int_t)st.expired,
	    "learn_failed", (json_int_t)st.learn_failed,
	    "move_refused", (json_int_t)st.move_refused);
}

static int
fdb_entry_cmp(const void *a, const void *b)
{
	const struct mac_entry	*x = *(const struct mac_entry *const *)a;
	const struct mac_entry	*y = *(const struct mac_entry *const *)b;

	if (x->vlan != y->vlan)
		return x->vlan < y->vlan ? -1 : 1;
	return memcmp(x->mac, y->mac, sizeof(x->mac));
}

/*
 * The entries of port (NULL: every port), the static ones only if asked,
 * sorted by VLAN then MAC so that show and save do not depend on slots.
 * malloc'd; *n of them.
 */
static const struct mac_entry **
fdb_entries(struct dp *dp, const struct port *port, bool statics,
    unsigned *n)
{
	struct mac_table_stats	  st;
	const struct mac_entry	**v, *e;
	unsigned		  cursor = 0;

	mac_table_get_stats(dp->sw->macs, &st);
	v = xcalloc(st.count + 1, sizeof(*v));
	*n = 0;
	while (*n <= st.count &&
	    (e = mac_table_next(dp->sw->macs, &cursor)) != NULL)
		if ((port == NULL || e->port == port) &&
		    (!statics || e->is_static))
			v[(*n)++] = e;
	qsort(v, *n, sizeof(*v), fdb_entry_cmp);
	return v;
}

static int
cmd_fdb_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_opt		  opts[] = { { "dev", NULL } };
	const struct mac_entry	**v;
	unsigned		  n;
	time_t			  now = portio_now();
	char			  mac[CMD_MAC_STRLEN];
	json_t			 *o, *list;

	if (cmd_parse_opts(ctx, argc, argv, opts, 1) == -1)
		return -1;

	v = fdb_entries(ctx->dp, ctx->port, false, &n);

	ctx->result = json_pack("{s:[]}", "fdb");
	list = json_object_get(ctx->result, "fdb");
	for (unsigned i = 0; i < n; i++) {
		const struct port	*port = v[i]->port;

		cmd_format_mac(v[i]->mac, mac);
		o = json_pack("{s:s, s:i, s:s, s:o, s:b}",
		    "mac", mac,
		    "vlan", v[i]->vlan,
		    "port", port->name,
		    "age", v[i]->is_static ? json_string("static") :
		    json_integer(now - v[i]->seen),
		    "static", v[i]->is_static);
		json_array_append_new(list, o);
	}
	free(v);
	return 0;
}

static void
cmd_fdb_show_print(const json_t *result, FILE *f)
{
	json_t	*list = json_object_get(result, "fdb"), *e;
	size_t	 i;

	if (json_array_size(list) == 0)
		return;
	fprintf(f, "%-17s  %4s  %-15s  %s\n", "MAC", "VLAN", "PORT", "AGE");
	json_array_foreach(list, i, e) {
		fprintf(f, "%-17s  %4lld  %-15s  ", cmd_jstr(e, "mac"),
		    cmd_jint(e, "vlan"), cmd_jstr(e, "port"));
		if (json_is_true(json_object_get(e, "static")))
			fprintf(f, "static\n");
		else
			fprintf(f, "%lld\n", cmd_jint(e, "age"));
	}
}

const struct cmd_entry cmd_fdb_show_entry = {
	.name = "fdb show",
	.usage = "[dev PORT]",
	.min_args = 0,
	.max_args = 2,
	.flags = CMD_READONLY,
	.target = { .kind = CMD_TARGET_PORT, .arg = -1, .key = "dev",
	    .optional = true },
	.exec = cmd_fdb_show_exec,
	.print = cmd_fdb_show_print,
};

static int
cmd_fdb_add_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_opt	 opts[] = { { "dev", NULL }, { "vlan", NULL } };
	struct port	*port = ctx->port;
	uint8_t		 mac[6];
	uint16_t	 vlan;
	int		 error;

	if (cmd_parse_mac(ctx, argv[0], mac) == -1 ||
	    cmd_parse_opts(ctx, argc - 1, argv + 1, opts, 2) == -1 ||
	    fdb_parse_vlan(ctx, opts[1].value, &vlan) == -1)
		return -1;
	if (port_is_l3(port))
		return cmd_error(ctx, "port '%s' is a %s port: it has no MAC "
		    "addresses", port->name, port->ops->type);
	error = mac_table_add_static(ctx->dp->sw->macs, mac, vlan, port);
	/* The port and the VLAN are good: EINVAL is about the MAC. */
	if (error == EINVAL)
		return cmd_error(ctx, "MAC address '%s' is not unicast",
		    argv[0]);
	if (error == ENOSPC)
		return cmd_error(ctx, "cannot add '%s' vlan %u: table full of "
		    "static entries", argv[0], vlan);
	if (error != 0)
		return cmd_error(ctx, "cannot add '%s' vlan %u: %s", argv[0],
		    vlan, strerror(error));
	return 0;
}

const struct cmd_entry cmd_fdb_add_entry = {
	.name = "fdb add",
	.usage = "MAC dev PORT [vlan N]",
	.min_args = 3,
	.max_args = 5,
	.target = { .kind = CMD_TARGET_PORT, .arg = -1, .key = "dev" },
	.flags = CMD_CONFIG,
	.exec = cmd_fdb_add_exec,
};

static int
cmd_fdb_del_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_opt	opts[] = { { "vlan", NULL } };
	uint8_t		mac[6];
	uint16_t	vlan;

	if (cmd_parse_mac(ctx, argv[0], mac) == -1 ||
	    cmd_parse_opts(ctx, argc - 1, argv + 1, opts, 1) == -1 ||
	    fdb_parse_vlan(ctx, opts[0].value, &vlan) == -1)
		return -1;
	if (mac_table_del(ctx->dp->sw->macs, mac, vlan) != 0)
		return cmd_error(ctx, "no FDB entry for '%s' vlan %u", argv[0],
		    vlan);
	return 0;
}

const struct cmd_entry cmd_fdb_del_entry = {
	.name = "fdb del",
	.usage = "MAC [vlan N]",
	.min_args = 1,
	.max_args = 3,
	.exec = cmd_fdb_del_exec,
};

static int
cmd_fdb_flush_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_opt	opts[] = { { "dev", NULL } };
	unsigned	n;

	if (cmd_parse_opts(ctx, argc, argv, opts, 1) == -1)
		return -1;
	n = mac_table_flush(ctx->dp->sw->macs, ctx->port);
	ctx->result = json_pack("{s:I}", "flushed", (json_int_t)n);
	return 0;
}

const struct cmd_entry cmd_fdb_flush_entry = {
	.name = "fdb flush",
	.usage = "[dev PORT]",
	.min_args = 0,
	.max_args = 2,
	.target = { .kind = CMD_TARGET_PORT, .arg = -1, .key = "dev",
	    .optional = true },
	.exec = cmd_fdb_flush_exec,
};

static int
cmd_fdb_set_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct mac_table_stats	st;
	unsigned long		v;
	int			error;

	(void)argc;
	if (strcmp(argv[0], "ageing") == 0 || strcmp(argv[0], "aging") == 0) {
		if (cmd_parse_uint(ctx, "ageing time", argv[1], 0,
		    FDB_AGEING_MAX, &v) == -1)
			return -1;
		mac_table_set_ageing(ctx->dp->sw->macs, (unsigned)v);
		log_info("fdb ageing set to %lu s", v);
		return 0;
	}
	if (strcmp(argv[0], "max") == 0) {
		/* The table knows its range; parse a number and ask it. */
		if (cmd_parse_uint(ctx, "maximum", argv[1], 0, UINT_MAX,
		    &v) == -1 || (error = mac_table_set_max(ctx->dp->sw->macs,
		    (unsigned)v)) == EINVAL)
			return cmd_error(ctx, "invalid maximum '%s' (expected "
			    "1..%u)", argv[1], MAC_MAX_LIMIT);
		if (error == EBUSY) {
			mac_table_get_stats(ctx->dp->sw->macs, &st);
			return cmd_error(ctx, "cannot set maximum to %lu: "
			    "there are %u static entries", v, st.static_count);
		}
		if (error != 0)
			return cmd_error(ctx, "cannot set maximum to %lu: %s",
			    v, strerror(error));
		log_info("fdb max set to %lu", v);
		return 0;
	}
	return cmd_error(ctx, "unknown setting '%s' (expected ageing, max)",
	    argv[0]);
}

const struct cmd_entry cmd_fdb_set_entry = {
	.name = "fdb set",
	.usage = "ageing SECONDS | max N",
	.min_args = 2,
	.max_args = 2,
	.flags = CMD_CONFIG,
	.exec = cmd_fdb_set_exec,
};

static void
cmd_fdb_save(struct dp *dp, FILE *f)
{
	fprintf(f, "fdb set ageing %u\n", mac_table_ageing(dp->sw->macs));
	fprintf(f, "fdb set max %u\n", mac_table_max(dp->sw->macs));
}

const struct cmd_config_part cmd_fdb_config = { .save = cmd_fdb_save };

static void
cmd_fdb_static_save(struct dp *dp, FILE *f)
{
	const struct mac_entry	**v;
	const struct port	 *port;
	char			  mac[CMD_MAC_STRLEN];
	unsigned		  n;

	v = fdb_entries(dp, NULL, true, &n);
	for (unsigned i = 0; i < n; i++) {
		port = v[i]->port;
		cmd_format_mac(v[i]->mac, mac);
		fprintf(f, "fdb add %s dev %s", mac, port->name);
		if (v[i]->vlan != 0)
			fprintf(f, " vlan %u", v[i]->vlan);
		fputc('\n', f);
	}
	free(v);
}

static void
cmd_fdb_static_clear(struct dp *dp)
{
	const struct mac_entry	**v;
	struct mac_entry	 *keys;
	unsigned		  n;

	/* Copied first: deleting moves entries about in the table. */
	v = fdb_entries(dp, NULL, true, &n);
	keys = xcalloc(n + 1, sizeof(*keys));
	for (unsigned i = 0; i < n; i++)
		keys[i] = *v[i];
	for (unsigned i = 0; i < n; i++)
		mac_table_del(dp->sw->macs, keys[i].mac, keys[i].vlan);
	free(keys);
	free(v);
}

const struct cmd_config_part cmd_fdb_static_config = {
	.save = cmd_fdb_static_save,
	.clear = cmd_fdb_static_clear,
};
