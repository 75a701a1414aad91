/*
 * fuzz-switch.c - libFuzzer target for the L2 forwarding path.
 *
 * Three dummy ports; the input is records (fuzz-records.h) whose first
 * byte picks the ingress port and a clock step, each fed through sw_input() as a batch of one, so learning, moves,
 * ageing, VLAN parsing and flooding all see hostile frames.  After each
 * frame the switch must still hold its invariants: nothing learned from a
 * bad source and every table entry pointing at one of the ports.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/switch.h"
#include "vswitchd/port-types.h"

#include "fuzz-records.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NPORTS	3

static struct dp	*dp;
static struct port	*ports[NPORTS];

static void
setup(void)
{
	struct port_config	 c = { .type = "dummy" };
	char			 err[128];

	if (port_types_init() != 0 || (dp = dp_create()) == NULL)
		abort();
	mac_table_set_max(dp->sw->macs, 16);	/* exercise eviction */
	mac_table_set_ageing(dp->sw->macs, 5);
	for (int i = 0; i < NPORTS; i++) {
		snprintf(c.name, sizeof(c.name), "fz%d", i);
		if (dp_port_add(dp, &c, &ports[i], err, sizeof(err)) != 0)
			abort();
	}
}

static void
check_table(void)
{
	const struct mac_entry	*e;
	unsigned		 cursor = 0;

	while ((e = mac_table_next(dp->sw->macs, &cursor)) != NULL) {
		if (mac_is_multicast(e->mac) || mac_is_zero(e->mac))
			abort();
		if (e->port != ports[0] && e->port != ports[1] &&
		    e->port != ports[2])
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pkt_batch	 b;
	struct pkt		*p;
	time_t			 now = 1000;
	int			 head;

	if (dp == NULL)
		setup();
	mac_table_flush(dp->sw->macs, NULL);
	while ((head = fuzz_next_record(&data, &len, dp->pool, &p)) != -1) {
		unsigned in = (unsigned)head % NPORTS;

		now += head >> 6;
		pkt_batch_init(&b);
		pkt_batch_add(&b, p);
		sw_input(dp, ports[in], &b, now);
		dp_tick(dp, now);
		check_table();
	}
	if (pkt_pool_avail(dp->pool) != DP_POOL_SIZE)
		abort();	/* a packet leaked */
	return 0;
}
