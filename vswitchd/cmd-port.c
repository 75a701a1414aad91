/*
 * cmd-port.c - port add, port del, port show.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "datapath/switch.h"

#include "cmd.h"
#include "log.h"
#include "portio.h"

#define PORT_MTU_MIN	68
#define PORT_MTU_MAX	9216

/* The kernel's rules for interface names (dev_valid_name()), but length. */
static bool
port_name_valid(const char *name)
{
	if (name[0] == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p) ||
		    !isprint((unsigned char)*p))
			return false;
	return true;
}

static int
cmd_port_add_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_opt		 opts[] = { { "type", NULL }, { "mtu", NULL } };
	struct port_config	 cfg = { .mtu = 0 };
	struct port		*port;
	unsigned long		 mtu;
	char			 err[256] = "";
	int			 error;

	if (strlen(argv[0]) >= IFNAMSIZ)
		return cmd_error(ctx, "port name '%s' is too long (max %d "
		    "characters)", argv[0], IFNAMSIZ - 1);
	if (!port_name_valid(argv[0]))
		return cmd_error(ctx, "invalid port name '%s'", argv[0]);
	if (sw_port_find(ctx->sw, argv[0]) != NULL)
		return cmd_error(ctx, "port '%s' already exists", argv[0]);
	if (cmd_parse_opts(ctx, argc - 1, argv + 1, opts, 2) == -1)
		return -1;
	if (opts[0].value == NULL)
		return cmd_error(ctx, "usage: %s %s", cmd_port_add_entry.name,
		    cmd_port_add_entry.usage);
	if (port_ops_find(opts[0].value) == NULL)
		return cmd_error(ctx, "unknown port type '%s' (expected %s)",
		    opts[0].value, port_type_names());
	if (opts[1].value != NULL) {
		if (cmd_parse_uint(ctx, "MTU", opts[1].value, PORT_MTU_MIN,
		    PORT_MTU_MAX, &mtu) == -1)
			return -1;
		cfg.mtu = (int)mtu;
	}
	strcpy(cfg.name, argv[0]);
	cfg.type = opts[0].value;

	if ((error = sw_port_add(ctx->sw, &cfg, &port, err,
	    sizeof(err))) != 0) {
		if (err[0] != '\0')
			return cmd_error(ctx, "cannot add port '%s': %s",
			    cfg.name, err);
		return cmd_error(ctx, "cannot add port '%s': %s", cfg.name,
		    strerror(error));
	}
	if ((error = portio_attach(port)) != 0) {
		sw_port_del(ctx->sw, port);
		return cmd_error(ctx, "cannot add port '%s': %s", cfg.name,
		    strerror(error));
	}
	log_info("added port %s type %s", port->name, port->ops->type);
	return 0;
}

const struct cmd_entry cmd_port_add_entry = {
	.name = "port add",
	.usage = "NAME type TYPE [mtu N]",
	.min_args = 3,
	.max_args = 5,
	.exec = cmd_port_add_exec,
};

static int
cmd_port_del_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct port	*port;

	(void)argc;
	if (cmd_find_port(ctx, argv[0], &port) == -1)
		return -1;
	log_info("removing port %s", port->name);
	portio_detach(port);
	sw_port_del(ctx->sw, port);
	return 0;
}

const struct cmd_entry cmd_port_del_entry = {
	.name = "port del",
	.usage = "NAME",
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_port_del_exec,
};

static const char *
port_state(const struct port *port)
{
	return port->ops->state != NULL ? port->ops->state(port) : "unknown";
}

/* The fields "show" lists; port show adds counters. */
json_t *
cmd_port_json(const struct port *port)
{
	return json_pack("{s:s, s:I, s:s, s:s, s:i}",
	    "name", port->name,
	    "index", (json_int_t)port->index,
	    "type", port->ops->type,
	    "state", port_state(port),
	    "mtu", port->mtu);
}

static int
cmd_port_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct port	*port, *only = NULL;
	json_t		*o, *ports;

	if (argc == 1 && cmd_find_port(ctx, argv[0], &only) == -1)
		return -1;
	if ((ctx->result = json_pack("{s:[]}", "ports")) == NULL)
		return cmd_error(ctx, "out of memory");
	ports = json_object_get(ctx->result, "ports");
	TAILQ_FOREACH(port, &ctx->sw->ports, entry) {
		if (only != NULL && port != only)
			continue;
		o = cmd_port_json(port);
		if (o == NULL || json_object_set_new(o, "rx_packets",
		    json_integer((json_int_t)port->stats.rx_packets)) == -1 ||
		    json_object_set_new(o, "tx_packets",
		    json_integer((json_int_t)port->stats.tx_packets)) == -1 ||
		    json_array_append_new(ports, o) == -1)
			return cmd_error(ctx, "out of memory");
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
	fprintf(f, "%-15s %5s  %-6s %-7s %5s %12s %12s\n", "PORT", "INDEX",
	    "TYPE", "STATE", "MTU", "RX-PACKETS", "TX-PACKETS");
	json_array_foreach(ports, i, p)
		fprintf(f, "%-15s %5lld  %-6s %-7s %5lld %12lld %12lld\n",
		    cmd_jstr(p, "name"), cmd_jint(p, "index"),
		    cmd_jstr(p, "type"), cmd_jstr(p, "state"),
		    cmd_jint(p, "mtu"), cmd_jint(p, "rx_packets"),
		    cmd_jint(p, "tx_packets"));
}

const struct cmd_entry cmd_port_show_entry = {
	.name = "port show",
	.usage = "[NAME]",
	.min_args = 0,
	.max_args = 1,
	.flags = CMD_READONLY,
	.exec = cmd_port_show_exec,
	.print = cmd_port_show_print,
};
