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

#define CMD_PORT_MAX_ARGS	29

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
		cfg->given |= PORT_SET_ADDRESS;
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

/* The tunnel type checks the range: it depends on the family. */
static int
opt_min_mtu(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	unsigned long	v;

	if (cmd_parse_uint(ctx, "min-mtu", s, 0, INT_MAX, &v) == -1)
		return -1;
	cfg->min_mtu = (int)v;
	return 0;
}

static int
opt_private_key(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	if (s[0] == '\0' || strlen(s) >= sizeof(cfg->key_path))
		return cmd_error(ctx, "invalid private-key file '%s' (1 to %zu "
		    "characters)", s, sizeof(cfg->key_path) - 1);
	strcpy(cfg->key_path, s);
	return 0;
}

static int
opt_listen_port(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	unsigned long	v;

	if (cmd_parse_uint(ctx, "listen-port", s, 0, UINT16_MAX, &v) == -1)
		return -1;
	cfg->listen_port = (uint16_t)v;
	return 0;
}

/* The datapath checks that it names an L3 port. */
static int
opt_via(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	if (s[0] == '\0' || strlen(s) >= sizeof(cfg->via))
		return cmd_error(ctx, "invalid via port '%s' (1 to %zu "
		    "characters)", s, sizeof(cfg->via) - 1);
	strcpy(cfg->via, s);
	return 0;
}

/* N, or N-M: the remote's source ports. */
static int
opt_remote_port(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	char		 buf[16], *dash;
	unsigned long	 lo, hi;

	if (strlen(s) >= sizeof(buf))
		return cmd_error(ctx, "invalid remote-port '%s' (expected N "
		    "or N-M)", s);
	strcpy(buf, s);
	if ((dash = strchr(buf, '-')) != NULL)
		*dash++ = '\0';
	if (cmd_parse_uint(ctx, "remote-port", buf, 1, UINT16_MAX, &lo) == -1)
		return -1;
	hi = lo;
	if (dash != NULL &&
	    cmd_parse_uint(ctx, "remote-port", dash, 1, UINT16_MAX, &hi) == -1)
		return -1;
	if (hi < lo)
		return cmd_error(ctx, "invalid remote-port '%s' (the range is "
		    "empty)", s);
	cfg->remote_port_min = (uint16_t)lo;
	cfg->remote_port_max = (uint16_t)hi;
	return 0;
}

static int
opt_allowed_ips(struct cmd_ctx *ctx, const char *s, struct port_config *cfg)
{
	return cmd_parse_prefixes(ctx, "allowed-ips", s, cfg->allowed,
	    PORT_ALLOWED_MAX, &cfg->n_allowed);
}

/*
 * The options of port add after "type", in PORT_SET_* bit order;
 * "address" (NULL here) may be given twice and is taken out before.
 */
static int (*const port_opts[])(struct cmd_ctx *, const char *,
    struct port_config *) = {
	opt_mtu, opt_remote, opt_local, opt_dstport, opt_key, opt_key,
	opt_split_horizon, NULL, opt_path, opt_connect, opt_group,
	opt_min_mtu, opt_private_key, opt_listen_port, opt_via,
	opt_remote_port, opt_allowed_ips,
};
#define PORT_NOPTS	(sizeof(port_opts) / sizeof(port_opts[0]))

/*
 * The other way, for "vswctl save": each given setting as port add takes it,
 * in the same order, so that parsing a saved line gives the same config.
 */
static void
save_mtu(FILE *f, const struct port_config *cfg)
{
	fprintf(f, " mtu %d", cfg->mtu);
}

static void
save_addr(FILE *f, const char *key, const struct sockaddr_storage *ss)
{
	char	buf[TNL_ADDR_STRLEN];

	fprintf(f, " %s %s", key, tnl_addr_str(ss, false, buf));
}

static void
save_remote(FILE *f, const struct port_config *cfg)
{
	save_addr(f, "remote", &cfg->remote);
}

static void
save_local(FILE *f, const struct port_config *cfg)
{
	save_addr(f, "local", &cfg->local);
}

static void
save_dstport(FILE *f, const struct port_config *cfg)
{
	fprintf(f, " dstport %u", cfg->dstport);
}

static void
save_vni(FILE *f, const struct port_config *cfg)
{
	fprintf(f, " vni %u", cfg->key);
}

static void
save_key(FILE *f, const struct port_config *cfg)
{
	fprintf(f, " key %u", cfg->key);
}

static void
save_split_horizon(FILE *f, const struct port_config *cfg)
{
	if (cfg->split_horizon != PORT_SH_DEFAULT)
		fprintf(f, " split-horizon %s",
		    cfg->split_horizon == PORT_SH_ON ? "on" : "off");
}

static void
save_addresses(FILE *f, const struct port_config *cfg)
{
	const struct ip_prefix	*a[] = { &cfg->addr4, &cfg->addr6 };
	char			 buf[CMD_ADDR_STRLEN];

	for (size_t i = 0; i < 2; i++)
		if (a[i]->family != 0)
			fprintf(f, " address %s/%u", cmd_format_addr(
			    a[i]->family, a[i]->addr, buf), a[i]->len);
}

static void
save_path(FILE *f, const struct port_config *cfg)
{
	fputs(cfg->connect ? " connect " : " path ", f);
	cmd_save_word(f, cfg->path);
}

/* The group's name when it has one: a saved file moves between hosts. */
static void
save_group(FILE *f, const struct port_config *cfg)
{
	struct group	 gr, *g = NULL;
	char		 buf[4096];

	if (getgrgid_r(cfg->group, &gr, buf, sizeof(buf), &g) == 0 &&
	    g != NULL) {
		fputs(" group ", f);
		cmd_save_word(f, g->gr_name);
	} else
		fprintf(f, " group %u", cfg->group);
}

static void
save_min_mtu(FILE *f, const struct port_config *cfg)
{
	fprintf(f, " min-mtu %d", cfg->min_mtu);
}

static void
save_private_key(FILE *f, const struct port_config *cfg)
{
	fputs(" private-key ", f);
	cmd_save_word(f, cfg->key_path);
}

static void
save_listen_port(FILE *f, const struct port_config *cfg)
{
	fprintf(f, " listen-port %u", cfg->listen_port);
}

static void
save_via(FILE *f, const struct port_config *cfg)
{
	fprintf(f, " via %s", cfg->via);
}

static void
save_remote_port(FILE *f, const struct port_config *cfg)
{
	if (cfg->remote_port_min == cfg->remote_port_max)
		fprintf(f, " remote-port %u", cfg->remote_port_min);
	else
		fprintf(f, " remote-port %u-%u", cfg->remote_port_min,
		    cfg->remote_port_max);
}

static void
save_allowed_ips(FILE *f, const struct port_config *cfg)
{
	fputs(" allowed-ips ", f);
	cmd_save_prefixes(f, cfg->allowed, cfg->n_allowed);
}

static void (*const port_saves[])(FILE *, const struct port_config *) = {
	save_mtu, save_remote, save_local, save_dstport, save_vni, save_key,
	save_split_horizon, save_addresses, save_path, save_path, save_group,
	save_min_mtu, save_private_key, save_listen_port, save_via,
	save_remote_port, save_allowed_ips,
};
_Static_assert(sizeof(port_saves) / sizeof(port_saves[0]) == PORT_NOPTS,
    "one save function per port setting");

void
cmd_port_write(FILE *f, const struct port_config *cfg)
{
	fprintf(f, "port add %s type %s", cfg->name, cfg->type);
	for (size_t i = 0; i < PORT_NOPTS; i++)
		if (cfg->given & (1u << i))
			port_saves[i](f, cfg);
	fputc('\n', f);
}

/*
 * In index order, but the ports carried via another after all others: a
 * carrier made again (a reload that changed its line) has a higher index
 * than its tunnels, and a tunnel's line must follow its carrier's.
 * Carriers are never carried themselves (tnl-via.h), so two passes do.
 */
static void
cmd_port_save(struct dp *dp, FILE *f)
{
	struct port	*port;

	TAILQ_FOREACH(port, &dp->ports, entry)
		if (port->cfg.via[0] == '\0')
			cmd_port_write(f, &port->cfg);
	TAILQ_FOREACH(port, &dp->ports, entry)
		if (port->cfg.via[0] != '\0')
			cmd_port_write(f, &port->cfg);
}

const struct cmd_config_part cmd_port_config = { .save = cmd_port_save };

static int
port_parse_options(struct cmd_ctx *ctx, int argc, char **argv,
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

int
cmd_port_parse(struct cmd_ctx *ctx, int argc, char **argv,
    struct port_config *cfg)
{
	char	err[256] = "";

	memset(cfg, 0, sizeof(*cfg));
	if (argc < 1)
		return cmd_usage(ctx, &cmd_port_add_entry);
	if (port_name_check(argv[0], SIZE_MAX, err, sizeof(err)) != 0)
		return cmd_error(ctx, "%s", err);
	if (port_parse_options(ctx, argc - 1, argv + 1, cfg) == -1)
		return -1;
	strcpy(cfg->name, argv[0]);
	return 0;
}

static int
cmd_port_add_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct port_config	 cfg;
	struct port		*port;
	char			 err[256] = "";
	int			 error;

	if (cmd_port_parse(ctx, argc, argv, &cfg) == -1)
		return -1;
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
	    "[group GROUP] [min-mtu N] [private-key FILE] [listen-port N] "
	    "[via PORT] [remote-port N[-M]] [allowed-ips PREFIX,...]",
	.min_args = 3,
	.max_args = CMD_PORT_MAX_ARGS,
	.flags = CMD_CONFIG,
	.exec = cmd_port_add_exec,
};

/*
 * A port that carries others (tunnels via it) stays until they go: they
 * would be down until a port of its name came back.
 */
static int
cmd_port_del_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct port_user	*u;
	char			 users[128] = "";
	size_t			 len;

	(void)argc;
	(void)argv;
	LIST_FOREACH(u, &ctx->port->users, entry) {
		len = strlen(users);
		snprintf(users + len, sizeof(users) - len, "%s%s",
		    len > 0 ? ", " : "", u->port->name);
	}
	if (users[0] != '\0')
		return cmd_error(ctx, "port %s carries %s: delete %s first",
		    ctx->port->name, users,
		    strchr(users, ',') != NULL ? "them" : "it");
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
