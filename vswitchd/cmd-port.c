/*
 * cmd-port.c - port add, port del.
 *
 * port add only parses: each option's value into a struct port_config,
 * marked as given.  The datapath then checks what it owns (the name, the
 * type, which settings the type takes) and the type what it owns (the
 * MTU's range, a key's), and their message reaches the client as it is.
 */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "datapath/dp.h"
#include "datapath/ip.h"
#include "tunnel/tnl-addr.h"

#include "cmd.h"
#include "log.h"

#define CMD_PORT_MAX_ARGS	27

/*
 * Takes the "address ADDR/LEN" pairs out of argv (one IPv4 and one IPv6
 * at most) into cfg, leaving the other options in rest; returns their count
 * or -1.
 */
static int
port_parse_addresses(struct cmd_ctx *ctx, int argc, char **argv,
    struct port_config *cfg, char **rest)
{
	struct ip_prefix	 a, *slot;
	int			 n = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "address") != 0 || i + 1 >= argc) {
			rest[n++] = argv[i];
			continue;
		}
		if (cmd_parse_prefix(ctx, "address", argv[++i], &a) == -1)
			return -1;
		slot = a.family == AF_INET ? &cfg->addr4 : &cfg->addr6;
		if (slot->family != 0)
			return cmd_error(ctx, "address '%s': the port has an "
			    "IPv%d address already", argv[i],
			    a.family == AF_INET ? 4 : 6);
		*slot = a;
	}
	return n;
}

static int
opt_mtu(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	unsigned long	v;

	if (cmd_parse_uint(ctx, "MTU", s, 1, INT_MAX, &v) == -1)
		return -1;
	cfg->mtu = (int)v;
	return 0;
}

static int
opt_addr(struct cmd_ctx *ctx, const char *what, const char *s,
    struct sockaddr_storage *ss)
{
	if (tnl_addr_parse(s, ss) != 0)
		return cmd_error(ctx, "invalid %s address '%s' (expected IPv4 "
		    "or IPv6)", what, s);
	return 0;
}

static int
opt_remote(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	return opt_addr(ctx, "remote", s, &cfg->remote);
}

static int
opt_local(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	return opt_addr(ctx, "local", s, &cfg->local);
}

static int
opt_dstport(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	unsigned long	v;

	if (cmd_parse_uint(ctx, "UDP port", s, 1, UINT16_MAX, &v) == -1)
		return -1;
	cfg->dstport = (uint16_t)v;
	return 0;
}

/* "vni" and "key" alike: the tunnel type checks the range. */
static int
opt_key(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	unsigned long	v;

	if (cmd_parse_uint(ctx, "key", s, 0, UINT32_MAX, &v) == -1)
		return -1;
	cfg->has_key = true;
	cfg->key = (uint32_t)v;
	return 0;
}

static int
opt_split_horizon(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	if (strcmp(s, "on") == 0)
		cfg->split_horizon = PORT_SH_ON;
	else if (strcmp(s, "off") == 0)
		cfg->split_horizon = PORT_SH_OFF;
	else
		return cmd_error(ctx, "invalid split-horizon '%s' (expected on "
		    "or off)", s);
	return 0;
}

static int
opt_path(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	if (s[0] == '\0' || strlen(s) >= sizeof(cfg->path))
		return cmd_error(ctx, "invalid socket path '%s' (1 to %zu "
		    "characters)", s, sizeof(cfg->path) - 1);
	if (cfg->path[0] != '\0')
		return cmd_error(ctx, "'path %s': give path or connect, not "
		    "both", s);
	strcpy(cfg->path, s);
	return 0;
}

static int
opt_connect(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	if (opt_path(ctx, s, cfg) == -1)
		return -1;
	cfg->connect = true;
	return 0;
}

/* A group name, or its number. */
static int
opt_group(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	struct group	 gr, *g = NULL;
	char		 buf[4096];
	unsigned long	 v;
	char		*end;

	if (getgrnam_r(s, &gr, buf, sizeof(buf), &g) == 0 && g != NULL)
		v = g->gr_gid;
	else {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
		    v > UINT32_MAX - 1)
			return cmd_error(ctx, "unknown group '%s'", s);
	}
	cfg->has_group = true;
	cfg->group = (unsigned)v;
	return 0;
}

/*
 * The options of port add after "type", in PORT_SET_* bit order;
 * "address" (NULL here) may be given twice and is taken out before.
 */
static int (*const port_opts[])(struct cmd_ctx *, const char *,
    struct port_config *) = {
	opt_mtu, opt_remote, opt_local, opt_dstport, opt_key, opt_key,
	opt_split_horizon, NULL, opt_path, opt_connect, opt_group,
};
#define PORT_NOPTS	(sizeof(port_opts) / sizeof(port_opts[0]))

static int
port_parse_config(struct cmd_ctx *ctx, int argc, char **argv,
    struct port_config *cfg)
{
	struct cmd_opt		 opts[PORT_NOPTS + 1] = { { "type", NULL } };
	char			*rest[CMD_PORT_MAX_ARGS];
	int			 nrest;

	for (size_t i = 0; i < PORT_NOPTS; i++)
		opts[i + 1].key = port_setting_names[i];
	if ((nrest = port_parse_addresses(ctx, argc, argv, cfg, rest)) == -1 ||
	    cmd_parse_opts(ctx, nrest, rest, opts, PORT_NOPTS + 1) == -1)
		return -1;
	if (opts[0].value == NULL)
		return cmd_usage(ctx, &cmd_port_add_entry);
	cfg->type = opts[0].value;
	for (size_t i = 0; i < PORT_NOPTS; i++) {
		if (opts[i + 1].value == NULL || port_opts[i] == NULL)
			continue;
		cfg->given |= 1u << i;
		if (port_opts[i](ctx, opts[i + 1].value, cfg) == -1)
			return -1;
	}
	return 0;
}

static int
cmd_port_add_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct port_config	 cfg = { .mtu = 0 };
	struct port		*port;
	char			 err[256] = "";
	int			 error;

	if (port_name_check(argv[0], SIZE_MAX, err, sizeof(err)) != 0)
		return cmd_error(ctx, "%s", err);
	if (port_parse_config(ctx, argc - 1, argv + 1, &cfg) == -1)
		return -1;
	strcpy(cfg.name, argv[0]);
	if ((error = dp_port_add(ctx->dp, &cfg, &port, err,
	    sizeof(err))) != 0)
		return cmd_error(ctx, "%s", err[0] != '\0' ? err :
		    strerror(error));
	log_info("added port %s type %s", port->name, port->ops->type);
	return 0;
}

const struct cmd_entry cmd_port_add_entry = {
	.name = "port add",
	.usage = "NAME type TYPE [mtu N] [remote ADDR] [local ADDR] "
	    "[dstport N] [vni N] [key N] [split-horizon on|off] "
	    "[address ADDR/LEN]... [path SOCKET|connect SOCKET] "
	    "[group GROUP]",
	.min_args = 3,
	.max_args = CMD_PORT_MAX_ARGS,
	.exec = cmd_port_add_exec,
};

static int
cmd_port_del_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_info("removing port %s", ctx->port->name);
	dp_port_del(ctx->dp, ctx->port);
	return 0;
}

const struct cmd_entry cmd_port_del_entry = {
	.name = "port del",
	.usage = "NAME",
	.min_args = 1,
	.max_args = 1,
	.target = { .kind = CMD_TARGET_PORT, .arg = 0 },
	.exec = cmd_port_del_exec,
};
