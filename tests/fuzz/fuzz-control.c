/*
 * fuzz-control.c - libFuzzer target for the control request path.
 *
 * The input is a request payload exactly as a client would send it after
 * the frame header: JSON parsing, argv checks, command lookup, argument
 * parsing and the command itself.  The client is trusted, so commands that
 * change state run too; run it in a throwaway network namespace, since
 * "port add" creates real tap devices (tests/test_fuzz.py does).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "datapath/switch.h"
#include "vswitchd/port-types.h"
#include "vswitchd/control.h"
#include "vswitchd/log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct dp	*dp;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ctl_peer	 peer = { .trusted = true };
	json_t		*reply;

	if (dp == NULL) {
		log_init(1, LOG_LEVEL_ERROR);
		if (port_types_init() != 0 || (dp = dp_create()) == NULL)
			abort();
	}
	/* No client: nothing can be held, so NULL is out of memory. */
	if ((reply = control_request(dp, &peer, (const char *)data, len)) ==
	    NULL)
		abort();
	if (!json_is_object(reply) ||
	    !json_is_boolean(json_object_get(reply, "ok")))
		abort();
	json_decref(reply);
	/* Keep the switch small so every input starts from a similar state. */
	if (dp->nports > 8) {
		while (!TAILQ_EMPTY(&dp->ports))
			dp_port_del(dp, TAILQ_FIRST(&dp->ports));
	}
	return 0;
}
