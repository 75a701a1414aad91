/*
 * fuzz-config.c - libFuzzer target for the configuration file.
 *
 * The input is a file's text: splitting and quoting, the command lookup,
 * the check that only configuration commands appear, each port line's
 * options, then the run, at start-up (the first byte even) or as a reload
 * that converges on it and puts the previous state back when a line fails
 * (odd).  Every successful run must save to text that loads again and
 * saves the same, the promise "vswctl save" makes.  Ports are real: run.sh
 * starts the target in a network namespace of its own.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/dp.h"
#include "vswitchd/config.h"
#include "vswitchd/log.h"
#include "vswitchd/port-types.h"
#include "vswitchd/xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct dp	*dp;

static void
reset(void)
{
	while (!TAILQ_EMPTY(&dp->ports))
		dp_port_del(dp, TAILQ_FIRST(&dp->ports));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*text, *saved, *again, err[512];
	bool	 converge;

	if (dp == NULL) {
		log_init(1, LOG_LEVEL_ERROR);
		xmalloc_init();
		if (port_types_init() != 0 || (dp = dp_create()) == NULL)
			abort();
		if (config_init(dp, NULL, false, err, sizeof(err)) != 0)
			abort();
	}
	if (len == 0)
		return 0;
	converge = data[0] & 1;
	text = xcalloc(1, len);
	memcpy(text, data + 1, len - 1);
	if (config_apply_text(dp, text, "fuzz", converge, err,
	    sizeof(err)) == 0) {
		/* What runs saves to a file that rebuilds exactly it. */
		saved = config_render(dp);
		if (config_apply_text(dp, saved, "saved", true, err,
		    sizeof(err)) != 0)
			abort();
		again = config_render(dp);
		if (strcmp(saved, again) != 0)
			abort();
		free(again);
		free(saved);
	}
	free(text);
	if (dp->nports > 8)
		reset();
	return 0;
}
