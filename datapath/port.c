/*
 * port.c - the table of port types, the names of drop reasons and what the
 * types share.
 */
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
};

static const struct port_ops *const port_types[] = {
	&port_tap_ops,
	&port_tun_ops,
	&port_dummy_ops,
	&port_dummy_l3_ops,
	&port_vxlan_ops,
	&port_gretap_ops,
	&port_ipip_ops,
	&port_gre_ops,
};

#define PORT_NTYPES	(sizeof(port_types) / sizeof(port_types[0]))

const struct port_ops *
port_ops_find(const char *type)
{
	if (type == NULL)
		return NULL;
	for (size_t i = 0; i < PORT_NTYPES; i++) {
		if (strcmp(port_types[i]->type, type) == 0)
			return port_types[i];
	}
	return NULL;
}

/* Built from the table on first use so a new type needs no other edit. */
const char *
port_type_names(void)
{
	static char	 names[128];
	size_t		 off = 0;

	if (names[0] != '\0')
		return names;
	for (size_t i = 0; i < PORT_NTYPES && off < sizeof(names); i++) {
		off += (size_t)snprintf(names + off, sizeof(names) - off,
		    "%s%s", i > 0 ? ", " : "", port_types[i]->type);
	}
	return names;
}

unsigned
port_recv_none(struct port *port, struct pkt_pool *pool, struct pkt_batch *b)
{
	(void)port;
	(void)pool;
	(void)b;
	return 0;
}
