/*
 * fuzz-control-ro.c - libFuzzer target for the read-only path: requests
 * from a client that may only read, as on the --ro-socket or from a user
 * outside the socket's group.
 *
 * The input is a request payload as such a client would send it.  The
 * switch is set up once with something of everything a command could
 * change (two taps, a tun with an address, a static MAC entry, a route,
 * settings off their defaults); the target runs in a network namespace of
 * its own (tests/fuzz/run.sh).  After every input the switch must be
 * exactly as before: the JSON of every show command, taken as a trusted
 * client, compared with the first one.  A reply that refuses a command
 * must say the client is read-only and name the read-only socket.
 * Descriptors are announced but never sent, so capture start has none to
 * write to; the refusal comes first anyway.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/dp.h"
#include "vswitchd/control.h"
#include "vswitchd/ctl-proto.h"
#include "vswitchd/log.h"
#include "vswitchd/port-types.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define RO_WHY	"control socket /fuzz/ro.sock"
#define REFUSED	"permission denied: " RO_WHY " is read-only: '"

static struct dp	*dp;
static char		*before;

/* One command as a trusted client; aborts if it fails. */
static json_t *
run(const char *request)
{
	struct ctl_peer	 peer = { .trusted = true };
	json_t		*reply;

	reply = control_request(dp, &peer, request, strlen(request));
	if (reply == NULL || !json_is_true(json_object_get(reply, "ok")))
		abort();
	return reply;
}

/* Everything the show commands say, as one string. */
static char *
snapshot(void)
{
	static const char *const shows[] = {
		"{\"argv\": [\"show\"], \"json\": true}",
		"{\"argv\": [\"stats\"], \"json\": true}",
		"{\"argv\": [\"fdb\", \"show\"], \"json\": true}",
		"{\"argv\": [\"route\", \"show\", \"-4\"], \"json\": true}",
		"{\"argv\": [\"route\", \"show\", \"-6\"], \"json\": true}",
		"{\"argv\": [\"router\", \"show\"], \"json\": true}",
		"{\"argv\": [\"offload\", \"show\"], \"json\": true}",
		"{\"argv\": [\"busy-poll\", \"show\"], \"json\": true}",
		"{\"argv\": [\"capture\", \"show\"], \"json\": true}",
	};
	json_t	*all = json_array();
	char	*s;

	for (size_t i = 0; i < sizeof(shows) / sizeof(shows[0]); i++)
		json_array_append_new(all, run(shows[i]));
	s = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(all);
	if (s == NULL)
		abort();
	return s;
}

static void
setup(void)
{
	static const char *const config[] = {
		"{\"argv\": [\"port\", \"add\", \"fz0\", \"type\", \"tap\"]}",
		"{\"argv\": [\"port\", \"add\", \"fz1\", \"type\", \"tap\", "
		    "\"mtu\", \"9000\"]}",
		"{\"argv\": [\"port\", \"add\", \"fzt\", \"type\", \"tun\", "
		    "\"address\", \"198.19.7.1/24\"]}",
		"{\"argv\": [\"fdb\", \"add\", \"02:00:00:00:00:07\", \"dev\", "
		    "\"fz0\"]}",
		"{\"argv\": [\"fdb\", \"set\", \"ageing\", \"77\"]}",
		"{\"argv\": [\"route\", \"add\", \"198.19.8.0/24\", \"dev\", "
		    "\"fzt\"]}",
		"{\"argv\": [\"router\", \"set\", \"icmp-rate\", \"77\"]}",
		"{\"argv\": [\"busy-poll\", \"set\", \"7\"]}",
	};

	log_init(1, LOG_LEVEL_ERROR);
	if (port_types_init() != 0 || (dp = dp_create()) == NULL)
		abort();
	for (size_t i = 0; i < sizeof(config) / sizeof(config[0]); i++)
		json_decref(run(config[i]));
	before = snapshot();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	int		 fds[CTL_MAX_FDS];
	struct ctl_peer	 peer = {
		.trusted = false,
		.readonly_why = RO_WHY,
		.has_cred = true,
		.uid = 65534,
		.pid = 1,
		.fds = fds,
		.nfds = 0,
	};
	const char	*error;
	json_t		*reply;
	char		*after;

	if (dp == NULL)
		setup();
	/* No client: nothing can be held, so NULL is out of memory. */
	if ((reply = control_request(dp, &peer, (const char *)data, len)) ==
	    NULL || peer.held || peer.claimed != 0)
		abort();
	if (!json_is_object(reply) ||
	    !json_is_boolean(json_object_get(reply, "ok")))
		abort();
	error = json_string_value(json_object_get(reply, "error"));
	if (error != NULL && strncmp(error, "permission denied", 17) == 0 &&
	    strncmp(error, REFUSED, sizeof(REFUSED) - 1) != 0)
		abort();
	json_decref(reply);
	after = snapshot();
	if (strcmp(before, after) != 0)
		abort();
	free(after);
	return 0;
}
