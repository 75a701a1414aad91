/*
 * offload.c - the names of the offload switches.
 */
#include <string.h>

#include "offload.h"

const char *const offload_names[OFL__MAX] = {
	[OFL_TAP_CSUM]	= "tap-csum",
	[OFL_TAP_TSO]	= "tap-tso",
	[OFL_TAP_USO]	= "tap-uso",
	[OFL_TCP_GRO]	= "tcp-gro",
	[OFL_UDP_GSO]	= "udp-gso",
	[OFL_UDP_GRO]	= "udp-gro",
};

void
offload_cfg_init(struct offload_cfg *cfg)
{
	for (int i = 0; i < OFL__MAX; i++)
		cfg->on[i] = true;
}

int
offload_find(const char *name)
{
	for (int i = 0; i < OFL__MAX; i++)
		if (strcmp(offload_names[i], name) == 0)
			return i;
	return -1;
}
