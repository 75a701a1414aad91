/*
 * cmd-port-set.c - port set: change a setting of a port that is running,
 * without deleting it (its devices, sockets and counters stay).
 *
 * Only min-mtu, a tunnel's floor under its path MTU, changes at run time
 * so far.  The port's type checks the value (tunnel/port-tunnel.h), as at
 * port add, and its message reaches the client as it is.  What was set
 * goes into the port's config record too (port->cfg), so that save writes
 * the port as it runs: min-mtu 0 (no floor) is the default, not written.
 */
#include <limits.h>
#include <string.h>

#include "datapath/port.h"
#include "tunnel/port-tunnel.h"

#include "cmd.h"
#include "log.h"

static int
cmd_port_set_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_opt	 opts[] = { { "min-mtu", NULL } };
	struct port	*port = ctx->port;
	unsigned long	 v;
	char		 err[256] = "";
	int		 error;

	if (cmd_parse_opts(ctx, argc - 1, argv + 1, opts, 1) == -1)
		return -1;
	if (cmd_parse_uint(ctx, "min-mtu", opts[0].value, 0, INT_MAX,
	    &v) == -1)
		return -1;
	if ((error = tnl_port_set_min_mtu(port, (int)v, err,
	    sizeof(err))) != 0)
		return cmd_error(ctx, "%s", err[0] != '\0' ? err :
		    strerror(error));
	port->cfg.min_mtu = (int)v;
	if (v != 0)
		port->cfg.given |= PORT_SET_MIN_MTU;
	else
		port->cfg.given &= ~(unsigned)PORT_SET_MIN_MTU;
	log_info("port %s min-mtu %lu", port->name, v);
	return 0;
}

const struct cmd_entry cmd_port_set_entry = {
	.name = "port set",
	.usage = "NAME min-mtu N",
	.min_args = 3,
	.max_args = 3,
	.flags = CMD_CONFIG,
	.target = { .kind = CMD_TARGET_PORT, .arg = 0 },
	.exec = cmd_port_set_exec,
};
