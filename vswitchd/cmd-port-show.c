/*
 * cmd-port-show.c - port show, and the port fields show lists too.
 */
#include <stdio.h>

#include "datapath/dp.h"
#include "datapath/ip.h"
#include "datapath/offload.h"
#include "datapath/switch.h"

#include "cmd.h"

static const char *
port_state(const struct port *port)
{
	return port->ops->state != NULL ? port->ops->state(port) : "unknown";
}

static json_t *
port_addresses_json(const struct port *port)
{
	const struct ip_prefix	*a[2] = { &port->addr4, &port->addr6 };
	char			 buf[CMD_ADDR_STRLEN], s[CMD_ADDR_STRLEN + 4];
	json_t			*list = json_array();

	for (int i = 0; i < 2; i++) {
		if (a[i]->family == 0)
			continue;
		snprintf(s, sizeof(s), "%s/%u", cmd_format_addr(a[i]->family,
		    a[i]->addr, buf), a[i]->len);
		json_array_append_new(list, json_string(s));
	}
	return list;
}

/* What the port takes as it is (port->takes), as names. */
static json_t *
port_offloads_json(const struct port *port)
{
	static const struct {
		unsigned	 bit;
		const char	*name;
	} names[] = {
		{ PORT_TAKES_CSUM, "csum" },
		{ PORT_TAKES_TSO4, "tso4" },
		{ PORT_TAKES_TSO6, "tso6" },
		{ PORT_TAKES_USO, "uso" },
	};
	json_t	*list = json_array();

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (port->takes & names[i].bit)
			json_array_append_new(list, json_string(names[i].name));
	return list;
}

void
cmd_state_why_print(const json_t *port, FILE *f, const char *indent)
{
	const char	*why = json_string_value(json_object_get(port,
			    "state_why"));

	if (why != NULL)
		fprintf(f, "%s  %s: %s\n", indent, cmd_jstr(port, "state"), why);
}

void
cmd_offloads_print(const json_t *port, FILE *f, const char *indent)
{
	json_t	*list = json_object_get(port, "offloads"), *o;
	size_t	 i;

	fprintf(f, "%s  accepts", indent);
	if (json_array_size(list) == 0)
		fprintf(f, " plain frames only");
	json_array_foreach(list, i, o)
		fprintf(f, " %s", json_string_value(o));
	fputc('\n', f);
}

/* The fields "show" lists; port show adds counters. */
json_t *
cmd_port_json(const struct port *port)
{
	const char	*why;
	json_t		*o, *t;

	o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:i, s:b, s:o, s:o}",
	    "name", port->name,
	    "index", (json_int_t)port->index,
	    "type", port->ops->type,
	    "layer", port_is_l3(port) ? "l3" : "l2",
	    "state", port_state(port),
	    "mtu", port->mtu,
	    "split_horizon", port->split_horizon,
	    "addresses", port_addresses_json(port),
	    "offloads", port_offloads_json(port));
	if (port->ops->state_why != NULL &&
	    (why = port->ops->state_why(port)) != NULL)
		json_object_set_new(o, "state_why", json_string(why));
	if (port->ops->detail != NULL && (why = port->ops->detail(port)) != NULL)
		json_object_set_new(o, "detail", json_string(why));
	if ((t = cmd_tunnel_json(port)) != NULL)
		json_object_set_new(o, "tunnel", t);
	if (!port_is_l3(port))
		json_object_set_new(o, "security", json_pack("{s:b, s:I, s:b, "
		    "s:I}",
		    "learning", !port->sec.no_learning,
		    "mac_limit", (json_int_t)port->sec.mac_limit,
		    "locked", port->sec.locked,
		    "learned", (json_int_t)mac_table_port_count(
		    port->dp->sw->macs, (void *)port)));
	return o;
}

/* Port security, when any is set. */
static void
cmd_security_print(const json_t *port, FILE *f, const char *indent)
{
	const json_t	*s = json_object_get(port, "security");
	bool		 learning, locked;

	if (s == NULL)
		return;
	learning = json_is_true(json_object_get(s, "learning"));
	locked = json_is_true(json_object_get(s, "locked"));
	if (learning && !locked && cmd_jint(s, "mac_limit") == 0)
		return;
	fprintf(f, "%s  security learning %s mac-limit %lld locked %s "
	    "(%lld learned)\n", indent, learning ? "on" : "off",
	    cmd_jint(s, "mac_limit"), locked ? "on" : "off",
	    cmd_jint(s, "learned"));
}

static int
cmd_port_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct port	*port;
	json_t		*o, *ports;

	(void)argc;
	(void)argv;
	ctx->result = json_pack("{s:[]}", "ports");
	ports = json_object_get(ctx->result, "ports");
	TAILQ_FOREACH(port, &ctx->dp->ports, entry) {
		if (ctx->port != NULL && port != ctx->port)
			continue;
		o = cmd_port_json(port);
		json_object_set_new(o, "rx_packets",
		    json_integer((json_int_t)port->stats.rx_packets));
		json_object_set_new(o, "tx_packets",
		    json_integer((json_int_t)port->stats.tx_packets));
		json_array_append_new(ports, o);
	}
	return 0;
}

static void
cmd_port_show_print(const json_t *result, FILE *f)
{
	json_t	*ports = json_object_get(result, "ports"), *p;
	size_t	 i;

	if (json_array_size(ports) == 0)
		return;
	fprintf(f, "%-15s %5s  %-8s %-10s %5s %12s %12s  %s\n", "PORT",
	    "INDEX", "TYPE", "STATE", "MTU", "RX-PACKETS", "TX-PACKETS",
	    "ADDRESSES");
	json_array_foreach(ports, i, p) {
		json_t	*a;
		size_t	 j;

		fprintf(f, "%-15s %5lld  %-8s %-10s %5lld %12lld %12lld ",
		    cmd_jstr(p, "name"), cmd_jint(p, "index"),
		    cmd_jstr(p, "type"), cmd_jstr(p, "state"),
		    cmd_jint(p, "mtu"), cmd_jint(p, "rx_packets"),
		    cmd_jint(p, "tx_packets"));
		json_array_foreach(json_object_get(p, "addresses"), j, a)
			fprintf(f, " %s", json_string_value(a));
		fputc('\n', f);
		cmd_state_why_print(p, f, "  ");
		if (json_object_get(p, "detail") != NULL)
			fprintf(f, "    %s\n", cmd_jstr(p, "detail"));
		cmd_tunnel_print(p, f, "  ");
		cmd_security_print(p, f, "  ");
		cmd_offloads_print(p, f, "  ");
	}
}

const struct cmd_entry cmd_port_show_entry = {
	.name = "port show",
	.usage = "[NAME]",
	.min_args = 0,
	.max_args = 1,
	.flags = CMD_READONLY,
	.target = { .kind = CMD_TARGET_PORT, .arg = 0, .optional = true },
	.exec = cmd_port_show_exec,
	.print = cmd_port_show_print,
};
