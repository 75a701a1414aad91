/*
 * cmd-router.c - the router as a whole: router show, router set.
 */
#include <string.h>

#include "datapath/router.h"
#include "datapath/dp.h"

#include "cmd.h"
#include "log.h"

#define ROUTER_ICMP_RATE_MAX	1000000

static json_t *
address_json(const struct ip_prefix *a)
{
	char	buf[CMD_ADDR_STRLEN];

	if (a->family == 0)
		return json_null();
	return json_string(cmd_format_addr(a->family, a->addr, buf));
}

static int
cmd_router_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct rtr	*r = ctx->dp->rtr;
	const struct rtr_stats	*st = &r->stats;

	(void)argc;
	(void)argv;
	ctx->result = json_pack("{s:o, s:o, s:i, s:i, s:I, s:I, s:{"
	    "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
	    "address4", address_json(&r->addr4),
	    "address6", address_json(&r->addr6),
	    "icmp_rate", (int)r->icmp_rate,
	    "icmp_burst", (int)r->icmp_burst,
	    "routes4", (json_int_t)rt_table_count(r->rt4),
	    "routes6", (json_int_t)rt_table_count(r->rt6),
	    "stats",
	    "forwarded", (json_int_t)st->forwarded,
	    "fragmented", (json_int_t)st->fragmented,
	    "fragments", (json_int_t)st->fragments,
	    "local", (json_int_t)st->local,
	    "echo_replies", (json_int_t)st->echo_replies,
	    "icmp_time_exceeded", (json_int_t)st->icmp_time_exceeded,
	    "icmp_unreachable", (json_int_t)st->icmp_unreachable,
	    "icmp_frag_needed", (json_int_t)st->icmp_frag_needed,
	    "icmp_ratelimited", (json_int_t)st->icmp_ratelimited,
	    "icmp_no_source", (json_int_t)st->icmp_no_source,
	    "icmp_no_route", (json_int_t)st->icmp_no_route);
	return 0;
}

static void
cmd_router_show_print(const json_t *result, FILE *f)
{
	const char	*name;
	json_t		*v;
	const char	*a4 = cmd_jstr(result, "address4");
	const char	*a6 = cmd_jstr(result, "address6");

	fprintf(f, "router: %lld IPv4 routes, %lld IPv6 routes\n",
	    cmd_jint(result, "routes4"), cmd_jint(result, "routes6"));
	fprintf(f, "  address   %s %s\n", a4[0] ? a4 : "-", a6[0] ? a6 : "-");
	fprintf(f, "  icmp      rate %lld/s burst %lld\n",
	    cmd_jint(result, "icmp_rate"), cmd_jint(result, "icmp_burst"));
	fprintf(f, "  counters ");
	json_object_foreach(json_object_get(result, "stats"), name, v)
		fprintf(f, " %s %lld", name, json_integer_value(v));
	fputc('\n', f);
}

const struct cmd_entry cmd_router_show_entry = {
	.name = "router show",
	.usage = "",
	.min_args = 0,
	.max_args = 0,
	.flags = CMD_READONLY,
	.exec = cmd_router_show_exec,
	.print = cmd_router_show_print,
};

static int
cmd_router_set_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct rtr		*r = ctx->dp->rtr;
	struct ip_prefix	 a;
	unsigned long		 v;

	(void)argc;
	if (strcmp(argv[0], "address") == 0) {
		if (strcmp(argv[1], "none") == 0)
			memset(&a, 0, sizeof(a));
		else if (cmd_parse_prefix(ctx, "address", argv[1], &a) == -1)
			return -1;
		else if (a.len != ip_max_plen(a.family))
			return cmd_error(ctx, "invalid address '%s' (no prefix "
			    "length: it is one address)", argv[1]);
		rtr_set_address(ctx->dp, &a);
		log_info("router address %s", argv[1]);
		return 0;
	}
	if (strcmp(argv[0], "icmp-rate") == 0) {
		if (cmd_parse_uint(ctx, "ICMP rate", argv[1], 0,
		    ROUTER_ICMP_RATE_MAX, &v) == -1)
			return -1;
		rtr_set_icmp_limit(r, (unsigned)v, r->icmp_burst);
		return 0;
	}
	if (strcmp(argv[0], "icmp-burst") == 0) {
		if (cmd_parse_uint(ctx, "ICMP burst", argv[1], 1,
		    ROUTER_ICMP_RATE_MAX, &v) == -1)
			return -1;
		rtr_set_icmp_limit(r, r->icmp_rate, (unsigned)v);
		return 0;
	}
	return cmd_error(ctx, "unknown setting '%s' (expected address, "
	    "icmp-rate, icmp-burst)", argv[0]);
}

const struct cmd_entry cmd_router_set_entry = {
	.name = "router set",
	.usage = "address ADDR|none | icmp-rate N | icmp-burst N",
	.min_args = 2,
	.max_args = 2,
	.flags = CMD_CONFIG,
	.exec = cmd_router_set_exec,
};

static void
cmd_router_save(struct dp *dp, FILE *f)
{
	const struct rtr	*r = dp->rtr;
	const struct ip_prefix	*a[] = { &r->addr4, &r->addr6 };
	char			 buf[CMD_ADDR_STRLEN];

	fprintf(f, "router set icmp-rate %u\n", r->icmp_rate);
	fprintf(f, "router set icmp-burst %u\n", r->icmp_burst);
	for (size_t i = 0; i < 2; i++)
		if (a[i]->family != 0)
			fprintf(f, "router set address %s\n", cmd_format_addr(
			    a[i]->family, a[i]->addr, buf));
}

/* The addresses: a file without "router set address" has none. */
static void
cmd_router_clear(struct dp *dp)
{
	struct ip_prefix	none = { .family = 0 };

	rtr_set_address(dp, &none);
}

const struct cmd_config_part cmd_router_config = {
	.save = cmd_router_save,
	.clear = cmd_router_clear,
};
