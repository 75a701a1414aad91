/*
 * tnl.c - the table of encapsulations and the names of receive drops.
 */
#include <stddef.h>

#include "tnl.h"

/* Types register payload by payload in this order: L2 ones first. */
const struct tnl_proto *const tnl_protos[] = {
	&tnl_vxlan,
	&tnl_ipip,
	&tnl_gre,
	NULL
};

const char *const tnl_drop_names[TNL_DROP__MAX] = {
	[TNL_DROP_WRONG_SOURCE]	= "wrong_source",
	[TNL_DROP_UNKNOWN_KEY]	= "unknown_key",
	[TNL_DROP_TRUNCATED]	= "truncated",
	[TNL_DROP_BAD_FLAGS]	= "bad_flags",
	[TNL_DROP_BAD_VERSION]	= "bad_version",
	[TNL_DROP_BAD_CHECKSUM]	= "bad_checksum",
	[TNL_DROP_BAD_PROTO]	= "bad_proto",
	[TNL_DROP_TOO_BIG]	= "too_big",
	[TNL_DROP_NO_BUFFER]	= "no_buffer",
	[TNL_DROP_BAD_GRO]	= "bad_gro",
	[TNL_DROP_WRONG_SOURCE_PORT] = "wrong_source_port",
};
