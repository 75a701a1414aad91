/*
 * cmd-port-set.c - port set: change a setting of a port that is running,
 * without deleting it (its devices, sockets and counters stay).
 *
 * min-mtu, a tunnel's floor under its path MTU, is a setting of port add
 * too: the port's type checks the value (tunnel/port-tunnel.h), as at port
 * add, and its message reaches the client as it is.  What was set goes into
 * the port's config record (port->cfg), so that save writes it in the port
 * add line: min-mtu 0 (no floor) is the default, not written.
 *
 * The others are port security, of every L2 port, and live in port->sec
 * (switch.h says what they do): learning on|off, mac-limit N (0: none),
 * locked on|off.  They take effect from the next frame; entries learned
 * already stay (a lower mac-limit refuses newcomers, it evicts nothing).
 * They are a part of the saved configuration of their own, a "port set"
 * line after the ports for each port with any of them not the default; a
 * reload clears them all first and the file's lines set them again, so a
 * setting the file no longer has goes back to its default.
 */
#include <limits.h>
#include <string.h>

#include "datapath/dp.h"
#include "datapath/mac-table.h"
#include "datapath/port.h"
#include "tunnel/port-tunnel.h"

#include "cmd.h"
#include "log.h"

enum {
	OPT_MIN_MTU,
	OPT_LEARNING,
	OPT_MAC_LIMIT,
	OPT_LOCKED,
	OPT__MAX
};

static int
parse_on_off(struct cmd_ctx *ctx, const char *what, const char *s, bool *on)
{
	if (strcmp(s, "on") == 0)
		*on = true;
	else if (strcmp(s, "off") == 0)
		*on = false;
	else
		return cmd_error(ctx, "invalid %s '%s' (expected on or off)",
		    what, s);
	return 0;
}

/* Everything is checked before anything changes. */
static int
cmd_port_set_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_opt	 opts[OPT__MAX] = {
		[OPT_MIN_MTU]	= { "min-mtu", NULL },
		[OPT_LEARNING]	= { "learning", NULL },
		[OPT_MAC_LIMIT]	= { "mac-limit", NULL },
		[OPT_LOCKED]	= { "locked", NULL },
	};
	struct port	*port = ctx->port;
	struct port_sec	 sec = port->sec;
	unsigned long	 mtu = 0, limit;
	bool		 learning = !sec.no_learning;
	char		 err[256] = "";
	int		 error;

	if (cmd_parse_opts(ctx, argc - 1, argv + 1, opts, OPT__MAX) == -1)
		return -1;
	if (opts[OPT_MIN_MTU].value != NULL && cmd_parse_uint(ctx, "min-mtu",
	    opts[OPT_MIN_MTU].value, 0, INT_MAX, &mtu) == -1)
		return -1;
	if (opts[OPT_LEARNING].value != NULL && parse_on_off(ctx, "learning",
	    opts[OPT_LEARNING].value, &learning) == -1)
		return -1;
	sec.no_learning = !learning;
	if (opts[OPT_MAC_LIMIT].value != NULL) {
		if (cmd_parse_uint(ctx, "mac-limit", opts[OPT_MAC_LIMIT].value,
		    0, MAC_MAX_LIMIT, &limit) == -1)
			return -1;
		sec.mac_limit = (unsigned)limit;
	}
	if (opts[OPT_LOCKED].value != NULL && parse_on_off(ctx, "locked",
	    opts[OPT_LOCKED].value, &sec.locked) == -1)
		return -1;
	if (port_is_l3(port) && (opts[OPT_LEARNING].value != NULL ||
	    opts[OPT_MAC_LIMIT].value != NULL ||
	    opts[OPT_LOCKED].value != NULL))
		return cmd_error(ctx, "port %s is of type %s: an L3 port learns "
		    "no MACs (learning, mac-limit and locked are for L2 ports)",
		    port->name, port->ops->type);

	if (opts[OPT_MIN_MTU].value != NULL) {
		if ((error = tnl_port_set_min_mtu(port, (int)mtu, err,
		    sizeof(err))) != 0)
			return cmd_error(ctx, "%s", err[0] != '\0' ? err :
			    strerror(error));
		port->cfg.min_mtu = (int)mtu;
		if (mtu != 0)
			port->cfg.given |= PORT_SET_MIN_MTU;
		else
			port->cfg.given &= ~(unsigned)PORT_SET_MIN_MTU;
		log_info("port %s min-mtu %lu", port->name, mtu);
	}
	if (memcmp(&sec, &port->sec, sizeof(sec)) != 0) {
		port->sec = sec;
		log_info("port %s learning %s mac-limit %u locked %s",
		    port->name, sec.no_learning ? "off" : "on", sec.mac_limit,
		    sec.locked ? "on" : "off");
	}
	return 0;
}

const struct cmd_entry cmd_port_set_entry = {
	.name = "port set",
	.usage = "NAME [min-mtu N] [learning on|off] [mac-limit N] "
	    "[locked on|off]",
	.min_args = 3,
	.max_args = 1 + 2 * OPT__MAX,
	.flags = CMD_CONFIG,
	.target = { .kind = CMD_TARGET_PORT, .arg = 0 },
	.exec = cmd_port_set_exec,
};

static void
cmd_port_sec_save(struct dp *dp, FILE *f)
{
	const struct port	*port;

	TAILQ_FOREACH(port, &dp->ports, entry) {
		const struct port_sec *sec = &port->sec;

		if (!sec->no_learning && sec->mac_limit == 0 && !sec->locked)
			continue;
		fprintf(f, "port set %s", port->name);
		if (sec->no_learning)
			fputs(" learning off", f);
		if (sec->mac_limit != 0)
			fprintf(f, " mac-limit %u", sec->mac_limit);
		if (sec->locked)
			fputs(" locked on", f);
		fputc('\n', f);
	}
}

static void
cmd_port_sec_clear(struct dp *dp)
{
	struct port	*port;

	TAILQ_FOREACH(port, &dp->ports, entry)
		memset(&port->sec, 0, sizeof(port->sec));
}

const struct cmd_config_part cmd_port_sec_config = {
	.save = cmd_port_sec_save,
	.clear = cmd_port_sec_clear,
};
