/*
 * cmd-route.c - the routing tables: route show, add, del, flush.
 *
 * route show prints a table the way net-tools' "route -n" does (and
 * "route -n -A inet6" for -6), from the same JSON the --json flag returns.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "datapath/router.h"
#include "datapath/dp.h"

#include "cmd.h"
#include "log.h"
#include "xmalloc.h"

/* "default" (IPv4, or the gateway's family), else a prefix. */
static int
route_parse_dst(struct cmd_ctx *ctx, const char *s, const char *gw,
    struct ip_prefix *dst)
{
	uint8_t	masked[16];

	if (strcmp(s, "default") == 0) {
		memset(dst, 0, sizeof(*dst));
		dst->family = gw != NULL && strchr(gw, ':') != NULL ?
		    AF_INET6 : AF_INET;
		return 0;
	}
	if (cmd_parse_prefix(ctx, "prefix", s, dst) == -1)
		return -1;
	memcpy(masked, dst->addr, sizeof(masked));
	ip_prefix_mask(masked, ip_addr_len(dst->family), dst->len);
	if (memcmp(masked, dst->addr, ip_addr_len(dst->family)) != 0) {
		char	buf[CMD_ADDR_STRLEN];

		return cmd_error(ctx, "invalid prefix '%s': host bits are set "
		    "(%s/%u?)", s, cmd_format_addr(dst->family, masked, buf),
		    dst->len);
	}
	return 0;
}

static int
route_parse_metric(struct cmd_ctx *ctx, const char *s, int64_t *metric)
{
	unsigned long	v;

	if (s == NULL)
		return 0;
	if (cmd_parse_uint(ctx, "metric", s, 0, UINT32_MAX, &v) == -1)
		return -1;
	*metric = (int64_t)v;
	return 0;
}

static int
route_parse_family(struct cmd_ctx *ctx, int argc, char **argv, int *family)
{
	*family = 0;
	if (argc == 0)
		return 0;
	if (strcmp(argv[0], "-4") == 0)
		*family = AF_INET;
	else if (strcmp(argv[0], "-6") == 0)
		*family = AF_INET6;
	else
		return cmd_error(ctx, "unknown option '%s' (expected -4 or "
		    "-6)", argv[0]);
	return 0;
}

static int
cmd_route_add_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_opt	 opts[] = { { "dev", NULL }, { "via", NULL },
			    { "metric", NULL } };
	struct rt_route	 r = { .type = RT_UNICAST };
	struct ip_prefix gw;
	int64_t		 metric = 0;
	char		 buf[CMD_ADDR_STRLEN];
	int		 first = 1, error;

	if (argc > 1 && strcmp(argv[1], "reject") == 0) {
		r.type = RT_REJECT;
		first = 2;
	}
	if (cmd_parse_opts(ctx, argc - first, argv + first,
	    r.type == RT_REJECT ? opts + 2 : opts,
	    r.type == RT_REJECT ? 1 : 3) == -1 ||
	    route_parse_dst(ctx, argv[0], opts[1].value, &r.dst) == -1 ||
	    route_parse_metric(ctx, opts[2].value, &metric) == -1)
		return -1;
	r.metric = (uint32_t)metric;
	if (ctx->port != NULL) {
		if (!port_is_l3(ctx->port))
			return cmd_error(ctx, "port '%s' is a %s port: routes "
			    "go out of L3 ports only", ctx->port->name,
			    ctx->port->ops->type);
		r.port = ctx->port;
	}
	if (opts[1].value != NULL) {
		if (cmd_parse_prefix(ctx, "gateway", opts[1].value, &gw) ==
		    -1)
			return -1;
		if (gw.family != r.dst.family ||
		    gw.len != ip_max_plen(gw.family))
			return cmd_error(ctx, "invalid gateway '%s' for an IPv%d "
			    "route", opts[1].value,
			    r.dst.family == AF_INET ? 4 : 6);
		r.has_gw = true;
		memcpy(r.gw, gw.addr, sizeof(r.gw));
	}

	/* A saved table is restored in one go, whatever resolves first. */
	error = (ctx->loading ? rt_add_unresolved : rt_add)(
	    rtr_table(ctx->dp->rtr, r.dst.family), &r);
	/* The prefix was checked: EINVAL is a route with no next hop. */
	if (error == EINVAL)
		return cmd_error(ctx, "route to '%s' needs dev PORT, via GW or "
		    "reject", argv[0]);
	if (error == EEXIST)
		return cmd_error(ctx, "route to %s/%u metric %u exists",
		    cmd_format_addr(r.dst.family, r.dst.addr, buf), r.dst.len,
		    r.metric);
	if (error == ENETUNREACH)
		return cmd_error(ctx, "gateway '%s' is unreachable (no route "
		    "to it)", opts[1].value);
	if (error == ENOSPC)
		return cmd_error(ctx, "cannot add route to '%s': the table is "
		    "full (%u routes)", argv[0],
		    rt_table_count(rtr_table(ctx->dp->rtr, r.dst.family)));
	if (error != 0)
		return cmd_error(ctx, "cannot add route to '%s': %s", argv[0],
		    strerror(error));
	log_info("route add %s/%u metric %u", cmd_format_addr(r.dst.family,
	    r.dst.addr, buf), r.dst.len, r.metric);
	return 0;
}

const struct cmd_entry cmd_route_add_entry = {
	.name = "route add",
	.usage = "PREFIX|default {dev PORT [via GW] | via GW | reject} "
	    "[metric N]",
	.min_args = 2,
	.max_args = 7,
	.target = { .kind = CMD_TARGET_PORT, .arg = -1, .key = "dev",
	    .optional = true },
	.flags = CMD_CONFIG,
	.exec = cmd_route_add_exec,
};

static int
cmd_route_del_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_opt		opts[] = { { "metric", NULL } };
	struct ip_prefix	dst;
	int64_t			metric = -1;

	if (cmd_parse_opts(ctx, argc - 1, argv + 1, opts, 1) == -1 ||
	    route_parse_dst(ctx, argv[0], NULL, &dst) == -1 ||
	    route_parse_metric(ctx, opts[0].value, &metric) == -1)
		return -1;
	if (rt_del(rtr_table(ctx->dp->rtr, dst.family), dst.addr, dst.len,
	    metric) != 0) {
		if (metric >= 0)
			return cmd_error(ctx, "no route to '%s' metric %lld",
			    argv[0], (long long)metric);
		return cmd_error(ctx, "no route to '%s'", argv[0]);
	}
	log_info("route del %s", argv[0]);
	return 0;
}

const struct cmd_entry cmd_route_del_entry = {
	.name = "route del",
	.usage = "PREFIX|default [metric N]",
	.min_args = 1,
	.max_args = 3,
	.exec = cmd_route_del_exec,
};

static int
cmd_route_flush_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	unsigned	n = 0;
	int		family;

	if (route_parse_family(ctx, argc, argv, &family) == -1)
		return -1;
	if (family != AF_INET6)
		n += rt_flush(ctx->dp->rtr->rt4, NULL);
	if (family != AF_INET)
		n += rt_flush(ctx->dp->rtr->rt6, NULL);
	log_info("route flush: %u routes", n);
	ctx->result = json_pack("{s:I}", "flushed", (json_int_t)n);
	return 0;
}

const struct cmd_entry cmd_route_flush_entry = {
	.name = "route flush",
	.usage = "[-4|-6]",
	.min_args = 0,
	.max_args = 1,
	.exec = cmd_route_flush_exec,
};

struct route_show {
	struct rt_table	*table;
	json_t		*list;
};

static void
route_flags(struct rt_table *t, struct rt_route *r, char flags[8],
    struct port **out)
{
	char	*f = flags;

	*out = r->type == RT_UNICAST ? rt_nexthop(t, r) : NULL;
	if (*out != NULL)
		*f++ = 'U';
	if (r->has_gw)
		*f++ = 'G';
	if (r->dst.len == ip_max_plen(r->dst.family))
		*f++ = 'H';
	if (r->type == RT_REJECT)
		*f++ = '!';
	*f = '\0';
}

static void
route_json(struct rt_route *r, void *arg)
{
	struct route_show	*rs = arg;
	struct port		*out;
	uint8_t			 mask[16], zero[16] = { 0 };
	char			 flags[8], dst[CMD_ADDR_STRLEN];
	char			 gw[CMD_ADDR_STRLEN], m[CMD_ADDR_STRLEN];
	json_t			*o;

	route_flags(rs->table, r, flags, &out);
	cmd_format_addr(r->dst.family, r->dst.addr, dst);
	cmd_format_addr(r->dst.family, r->has_gw ? r->gw : zero, gw);
	o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:s?}",
	    "destination", dst,
	    "prefixlen", r->dst.len,
	    "gateway", gw,
	    "flags", flags,
	    "type", r->type == RT_REJECT ? "reject" : "unicast",
	    "metric", (json_int_t)r->metric,
	    "ref", (json_int_t)r->ref,
	    "use", (json_int_t)r->use,
	    "iface", out != NULL ? out->name : NULL);
	if (r->dst.family == AF_INET) {
		memset(mask, 0xff, 4);
		ip_prefix_mask(mask, 4, r->dst.len);
		json_object_set_new(o, "genmask", json_string(
		    cmd_format_addr(AF_INET, mask, m)));
	}
	json_array_append_new(rs->list, o);
}

static int
cmd_route_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct route_show	rs = { 0 };
	int			family;

	if (route_parse_family(ctx, argc, argv, &family) == -1)
		return -1;
	if (family == 0)
		family = AF_INET;
	rs.table = rtr_table(ctx->dp->rtr, family);
	ctx->result = json_pack("{s:s, s:[]}", "family",
	    family == AF_INET ? "inet" : "inet6", "routes");
	rs.list = json_object_get(ctx->result, "routes");
	rt_count_refs(rs.table);
	rt_walk(rs.table, route_json, &rs);
	return 0;
}

static const char *
dash_if_empty(const char *s)
{
	return s[0] != '\0' ? s : "-";
}

static void
cmd_route_show_print(const json_t *result, FILE *f)
{
	bool	 v6 = strcmp(cmd_jstr(result, "family"), "inet6") == 0;
	json_t	*r;
	size_t	 i;
	char	 dst[CMD_ADDR_STRLEN + 4];

	if (v6)
		fprintf(f, "IPv6 routing table\n%-30s %-26s %-4s %-3s %-3s "
		    "%6s %s\n", "Destination", "Next Hop", "Flag", "Met",
		    "Ref", "Use", "If");
	else
		fprintf(f, "IP routing table\n%-15s %-15s %-15s %-5s %-6s "
		    "%-3s %6s %s\n", "Destination", "Gateway", "Genmask",
		    "Flags", "Metric", "Ref", "Use", "Iface");
	json_array_foreach(json_object_get(result, "routes"), i, r) {
		bool	reject = strcmp(cmd_jstr(r, "type"), "reject") == 0;
		char	ref[24];

		snprintf(ref, sizeof(ref), "%lld", cmd_jint(r, "ref"));
		if (v6) {
			snprintf(dst, sizeof(dst), "%s/%lld",
			    cmd_jstr(r, "destination"),
			    cmd_jint(r, "prefixlen"));
			fprintf(f, "%-30s %-26s %-4s %-3lld %-3s %6lld %s\n",
			    dst, reject ? "-" : cmd_jstr(r, "gateway"),
			    cmd_jstr(r, "flags"), cmd_jint(r, "metric"),
			    reject ? "-" : ref, cmd_jint(r, "use"),
			    dash_if_empty(cmd_jstr(r, "iface")));
		} else
			fprintf(f, "%-15s %-15s %-15s %-5s %-6lld %-3s %6lld "
			    "%s\n", cmd_jstr(r, "destination"),
			    reject ? "-" : cmd_jstr(r, "gateway"),
			    cmd_jstr(r, "genmask"), cmd_jstr(r, "flags"),
			    cmd_jint(r, "metric"), reject ? "-" : ref,
			    cmd_jint(r, "use"),
			    dash_if_empty(cmd_jstr(r, "iface")));
	}
}

const struct cmd_entry cmd_route_show_entry = {
	.name = "route show",
	.usage = "[-4|-6]",
	.min_args = 0,
	.max_args = 1,
	.flags = CMD_READONLY,
	.exec = cmd_route_show_exec,
	.print = cmd_route_show_print,
};

/*
 * The route a port's address makes (rtr_port_add()) belongs to the port:
 * saving it too would make the port's line and the route collide.
 */
static bool
route_is_connected(const struct rt_route *r)
{
	const struct port	*port = r->port;
	const struct ip_prefix	*a;
	uint8_t			 masked[16];

	if (port == NULL || r->has_gw || r->metric != 0 ||
	    r->type != RT_UNICAST)
		return false;
	a = r->dst.family == AF_INET ? &port->addr4 : &port->addr6;
	if (a->family != r->dst.family || a->len != r->dst.len)
		return false;
	memcpy(masked, a->addr, sizeof(masked));
	ip_prefix_mask(masked, ip_addr_len(a->family), a->len);
	return memcmp(masked, r->dst.addr, ip_addr_len(a->family)) == 0;
}

static void
route_save(struct rt_route *r, void *arg)
{
	FILE			*f = arg;
	const struct port	*port = r->port;
	char			 buf[CMD_ADDR_STRLEN];

	if (route_is_connected(r))
		return;
	fprintf(f, "route add %s/%u", cmd_format_addr(r->dst.family,
	    r->dst.addr, buf), r->dst.len);
	if (r->type == RT_REJECT)
		fputs(" reject", f);
	if (port != NULL)
		fprintf(f, " dev %s", port->name);
	if (r->has_gw)
		fprintf(f, " via %s", cmd_format_addr(r->dst.family, r->gw,
		    buf));
	if (r->metric != 0)
		fprintf(f, " metric %u", r->metric);
	fputc('\n', f);
}

static void
cmd_route_save(struct dp *dp, FILE *f)
{
	rt_walk(dp->rtr->rt4, route_save, f);
	rt_walk(dp->rtr->rt6, route_save, f);
}

struct route_clear {
	struct rt_route	*v;
	size_t		 n;
};

static void
route_collect(struct rt_route *r, void *arg)
{
	struct route_clear	*rc = arg;

	if (!route_is_connected(r))
		rc->v[rc->n++] = *r;
}

/* Every route but the connected ones, which go with their ports. */
static void
cmd_route_clear(struct dp *dp)
{
	struct rt_table		*t[] = { dp->rtr->rt4, dp->rtr->rt6 };
	struct route_clear	 rc;

	for (size_t i = 0; i < 2; i++) {
		rc.v = xcalloc(rt_table_count(t[i]) + 1, sizeof(*rc.v));
		rc.n = 0;
		rt_walk(t[i], route_collect, &rc);
		for (size_t j = 0; j < rc.n; j++)
			rt_del(t[i], rc.v[j].dst.addr, rc.v[j].dst.len,
			    rc.v[j].metric);
		free(rc.v);
	}
}

const struct cmd_config_part cmd_route_config = {
	.save = cmd_route_save,
	.clear = cmd_route_clear,
};
