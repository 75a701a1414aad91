/*
 * port.c - the registry of port types, the names of drop reasons and
 * settings, and what the types share.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "port.h"

const char *const drop_reason_names[DROP__MAX] = {
	[DROP_RUNT]		= "runt",
	[DROP_BAD_SRC_MAC]	= "bad_src_mac",
	[DROP_SAME_PORT]	= "same_port",
	[DROP_NO_BUFFER]	= "no_buffer",
	[DROP_TOO_BIG]		= "too_big",
	[DROP_TX_FULL]		= "tx_full",
	[DROP_TX_ERROR]		= "tx_error",
	[DROP_LINK_DOWN]	= "link_down",
	[DROP_SPLIT_HORIZON]	= "split_horizon",
	[DROP_BAD_VERSION]	= "bad_version",
	[DROP_TRUNCATED]	= "truncated",
	[DROP_BAD_LENGTH]	= "bad_length",
	[DROP_BAD_CHECKSUM]	= "bad_checksum",
	[DROP_BAD_ADDRESS]	= "bad_address",
	[DROP_MULTICAST]	= "multicast",
	[DROP_TTL_EXCEEDED]	= "ttl_exceeded",
	[DROP_NO_ROUTE]		= "no_route",
	[DROP_REJECT]		= "reject",
	[DROP_LOCAL]		= "local",
	[DROP_BAD_OFFLOAD]	= "bad_offload",
	[DROP_MAC_LIMIT]	= "mac_limit",
	[DROP_LOCKED]		= "locked",
	[DROP_MOVE_REFUSED]	= "move_refused",
	[DROP_BAD_INNER_SOURCE]	= "bad_inner_source",
};

const char *const port_setting_names[PORT_SET__COUNT] = {
	"mtu", "remote", "local", "dstport", "vni", "key", "split-horizon",
	"address", "path", "connect", "group", "min-mtu", "private-key",
	"listen-port", "via", "remote-port", "allowed-ips",
};

#define PORT_TYPES_MAX	32

static const struct port_ops	*port_types[PORT_TYPES_MAX];
static size_t			 port_ntypes;
static char			 port_names[256];

int
port_type_register(const struct port_ops *ops)
{
	const struct port_ops	*old;
	size_t			 off = strlen(port_names);

	if ((old = port_ops_find(ops->type)) != NULL)
		return old == ops ? 0 : EEXIST;
	if (port_ntypes == PORT_TYPES_MAX ||
	    off + strlen(ops->type) + 3 > sizeof(port_names))
		return ENOSPC;
	port_types[port_ntypes++] = ops;
	snprintf(port_names + off, sizeof(port_names) - off, "%s%s",
	    off > 0 ? ", " : "", ops->type);
	return 0;
}

const struct port_ops *
port_ops_find(const char *type)
{
	if (type == NULL)
		return NULL;
	for (size_t i = 0; i < port_ntypes; i++) {
		if (strcmp(port_types[i]->type, type) == 0)
			return port_types[i];
	}
	return NULL;
}

const char *
port_type_names(void)
{
	return port_names;
}

int
port_err(char *err, size_t errlen, int error, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return error;
}

/* The kernel's rules for interface names (dev_valid_name()). */
int
port_name_check(const char *name, size_t size, char *err, size_t errlen)
{
	size_t	len = strnlen(name, size);

	if (len == 0) {
		snprintf(err, errlen, "port name is empty");
		return EINVAL;
	}
	if (len >= IFNAMSIZ) {
		snprintf(err, errlen, "port name '%.*s' is too long (max %d "
		    "characters)", (int)len, name, IFNAMSIZ - 1);
		return EINVAL;
	}
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		goto invalid;
	for (const char *p = name; *p != '\0'; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p) ||
		    !isprint((unsigned char)*p))
			goto invalid;
	return 0;

invalid:
	snprintf(err, errlen, "invalid port name '%s'", name);
	return EINVAL;
}

/* Refuses a setting the type does not take, naming those it does. */
int
port_check_config(const struct port_ops *ops, const struct port_config *cfg,
    char *err, size_t errlen)
{
	unsigned	extra = cfg->given & ~ops->settings;
	size_t		off;
	int		bit;

	if (cfg->addr4.family != 0 || cfg->addr6.family != 0)
		extra |= PORT_SET_ADDRESS & ~ops->settings;
	if (extra == 0)
		return 0;
	bit = __builtin_ctz(extra);
	off = (size_t)snprintf(err, errlen, "a %s port takes no '%s' (it "
	    "takes ", ops->type, port_setting_names[bit]);
	for (int i = 0; i < PORT_SET__COUNT && off < errlen; i++)
		if (ops->settings & (1u << i))
			off += (size_t)snprintf(err + off, errlen - off, "%s%s",
			    (ops->settings & ((1u << i) - 1)) ? ", " : "",
			    port_setting_names[i]);
	if (off < errlen)
		snprintf(err + off, errlen - off, ")");
	return EINVAL;
}

unsigned
port_recv_none(struct port *port, struct pkt_pool *pool, struct pkt_batch *b)
{
	(void)port;
	(void)pool;
	(void)b;
	return 0;
}
