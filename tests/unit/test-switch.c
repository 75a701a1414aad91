/*
 * test-switch.c - the forwarding rules, on dummy ports.
 *
 *            p1
 *            |
 *      p4 -[dp]- p2        four dummy ports; frames are injected with
 *            |             sw_input() as if received on one of them, and
 *            p3            each port records what it was asked to send.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "datapath/port-dummy.h"
#include "datapath/switch.h"
#include "vswitchd/port-types.h"

#define NPORTS	4
#define NOW	1000
#define UNTAGGED	-1

struct fixture {
	struct dp	*dp;
	struct port	*p[NPORTS + 1];		/* 1-based like the names */
};

static const uint8_t	BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t	MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
static const uint8_t	ZERO[6] = { 0 };
static const uint8_t	A[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t	B[6] = { 0x02, 0, 0, 0, 0, 0x0b };
static const uint8_t	C[6] = { 0x02, 0, 0, 0, 0, 0x0c };

static int
setup(void **state)
{
	static struct fixture	f;
	struct port_config	cfg = { .type = "dummy" };
	char			err[128];

	memset(&f, 0, sizeof(f));
	if ((f.dp = dp_create()) == NULL)
		return -1;
	for (int i = 1; i <= NPORTS; i++) {
		snprintf(cfg.name, sizeof(cfg.name), "p%d", i);
		if (dp_port_add(f.dp, &cfg, &f.p[i], err, sizeof(err)) != 0)
			return -1;
	}
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
	dp_destroy(f->dp);
	return 0;
}

/*
 * Builds dst, src, [tag,] type 0x0800 and a payload, len bytes in all.  The
 * headers are written even past len (buffers have room) so that runts are
 * cut-short frames rather than different ones.
 */
static size_t
frame(uint8_t *buf, size_t len, const uint8_t dst[6], const uint8_t src[6],
    int vlan, uint16_t tpid)
{
	size_t	off = 12;

	memset(buf, 0, len);
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	if (vlan != UNTAGGED) {
		buf[12] = (uint8_t)(tpid >> 8);
		buf[13] = (uint8_t)tpid;
		buf[14] = (uint8_t)(vlan >> 8 | 0xa0);	/* PCP 5: not the VID */
		buf[15] = (uint8_t)vlan;
		off = 16;
	}
	buf[off] = 0x08;
	buf[off + 1] = 0x00;
	for (size_t i = off + 2; i < len; i++)
		buf[i] = (uint8_t)i;
	return len;
}

static void
inject_len(struct fixture *f, int in, const uint8_t dst[6],
    const uint8_t src[6], int vlan, uint16_t tpid, size_t len)
{
	struct pkt_batch	 b;
	struct pkt		*p;

	pkt_batch_init(&b);
	assert_non_null(p = pkt_alloc(f->dp->pool));
	p->len = (uint32_t)frame(p->data, len, dst, src, vlan, tpid);
	pkt_batch_add(&b, p);
	sw_input(f->dp, f->p[in], &b, NOW);
	assert_int_equal(b.count, 0);
}

static void
inject(struct fixture *f, int in, const uint8_t dst[6], const uint8_t src[6])
{
	inject_len(f, in, dst, src, UNTAGGED, 0, 64);
}

static void
inject_vlan(struct fixture *f, int in, const uint8_t dst[6],
    const uint8_t src[6], int vlan, uint16_t tpid)
{
	inject_len(f, in, dst, src, vlan, tpid, 64);
}

static void
clear(struct fixture *f)
{
	for (int i = 1; i <= NPORTS; i++)
		port_dummy_clear(f->p[i]);
}

/* Asserts how many frames each port sent: want[1..NPORTS]. */
static void
assert_sent(const struct fixture *f, const unsigned want[NPORTS + 1])
{
	for (int i = 1; i <= NPORTS; i++) {
		if (port_dummy_sent_count(f->p[i]) != want[i])
			fail_msg("p%d sent %u frames, want %u", i,
			    port_dummy_sent_count(f->p[i]), want[i]);
	}
}

static void
test_unknown_unicast_floods_to_all_but_ingress(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 want[64];
	size_t		 len;

	inject(f, 1, B, A);
	assert_sent(f, (unsigned[]){ 0, 0, 1, 1, 1 });
	frame(want, sizeof(want), B, A, UNTAGGED, 0);
	for (int i = 2; i <= NPORTS; i++) {
		const uint8_t *got = port_dummy_sent(f->p[i], 0, &len);
		assert_non_null(got);
		assert_int_equal(len, sizeof(want));
		assert_memory_equal(got, want, sizeof(want));
		assert_int_equal(f->p[i]->stats.tx_packets, 1);
		assert_int_equal(f->p[i]->stats.tx_bytes, 64);
	}
	assert_int_equal(f->dp->sw->flooded, 1);
	assert_int_equal(f->dp->sw->unicast, 0);
}

static void
test_broadcast_and_multicast_flood(void **state)
{
	struct fixture	*f = *state;

	inject(f, 2, BCAST, A);
	assert_sent(f, (unsigned[]){ 0, 1, 0, 1, 1 });
	inject(f, 3, MCAST, B);
	assert_sent(f, (unsigned[]){ 0, 2, 1, 1, 2 });

	/* Even once the destination "is known" nothing changes for these. */
	inject(f, 4, BCAST, C);
	assert_sent(f, (unsigned[]){ 0, 3, 2, 2, 2 });
	assert_int_equal(f->dp->sw->flooded, 3);
}

static void
test_known_unicast_to_exactly_one_port(void **state)
{
	struct fixture	*f = *state;

	inject(f, 2, BCAST, B);			/* learns B on p2 */
	inject(f, 3, BCAST, C);			/* learns C on p3 */
	clear(f);

	inject(f, 1, B, A);
	assert_sent(f, (unsigned[]){ 0, 0, 1, 0, 0 });
	inject(f, 1, C, A);
	assert_sent(f, (unsigned[]){ 0, 0, 1, 1, 0 });
	inject(f, 2, A, B);			/* A was learned on p1 */
	assert_sent(f, (unsigned[]){ 0, 1, 1, 1, 0 });
	assert_int_equal(f->dp->sw->unicast, 3);
	assert_int_equal(f->dp->sw->flooded, 2);
}

static void
test_never_back_out_of_ingress(void **state)
{
	struct fixture	*f = *state;

	for (int in = 1; in <= NPORTS; in++) {
		clear(f);
		inject(f, in, BCAST, A);	/* A moves to each port */
		inject(f, in, B, A);
		assert_int_equal(port_dummy_sent_count(f->p[in]), 0);
		for (int i = 1; i <= NPORTS; i++) {
			if (i != in)
				assert_int_equal(
				    port_dummy_sent_count(f->p[i]), 2);
		}
	}
}

static void
test_destination_on_ingress_is_dropped(void **state)
{
	struct fixture	*f = *state;

	inject(f, 1, BCAST, B);			/* B lives behind p1 */
	clear(f);
	inject(f, 1, B, A);
	assert_sent(f, (unsigned[]){ 0, 0, 0, 0, 0 });
	assert_int_equal(f->p[1]->stats.drops[DROP_SAME_PORT], 1);

	/* A frame to itself: learned, then found on its own port. */
	inject(f, 2, C, C);
	assert_sent(f, (unsigned[]){ 0, 0, 0, 0, 0 });
	assert_int_equal(f->p[2]->stats.drops[DROP_SAME_PORT], 1);
}

static void
test_runt_and_bad_source_counted(void **state)
{
	struct fixture		*f = *state;
	struct mac_table_stats	 st;

	inject_len(f, 1, B, A, UNTAGGED, 0, 13);
	inject_len(f, 1, B, A, UNTAGGED, 0, 0);
	/* A tag cut short is a runt too, and is not learned. */
	inject_len(f, 1, B, A, 10, 0x8100, 17);
	assert_int_equal(f->p[1]->stats.drops[DROP_RUNT], 3);

	inject(f, 2, BCAST, MCAST);
	inject(f, 2, BCAST, BCAST);
	inject(f, 2, B, ZERO);
	assert_int_equal(f->p[2]->stats.drops[DROP_BAD_SRC_MAC], 3);

	assert_sent(f, (unsigned[]){ 0, 0, 0, 0, 0 });
	mac_table_get_stats(f->dp->sw->macs, &st);
	assert_int_equal(st.count, 0);

	/* The shortest frame that is not a runt goes through. */
	inject_len(f, 1, BCAST, A, UNTAGGED, 0, 14);
	assert_sent(f, (unsigned[]){ 0, 0, 1, 1, 1 });
}

static void
test_vlans_learned_independently(void **state)
{
	struct fixture	*f = *state;
	struct mac_table *macs = f->dp->sw->macs;

	inject_vlan(f, 1, BCAST, A, 10, 0x8100);
	inject_vlan(f, 2, BCAST, A, 20, 0x8100);
	inject_vlan(f, 3, BCAST, A, 30, 0x88a8);	/* 802.1ad outer tag */
	inject(f, 4, BCAST, A);
	assert_ptr_equal(mac_table_lookup(macs, A, 10, NOW), f->p[1]);
	assert_ptr_equal(mac_table_lookup(macs, A, 20, NOW), f->p[2]);
	assert_ptr_equal(mac_table_lookup(macs, A, 30, NOW), f->p[3]);
	assert_ptr_equal(mac_table_lookup(macs, A, 0, NOW), f->p[4]);

	/* Known in VLAN 20 only: unicast there, flooded in VLAN 40. */
	clear(f);
	inject_vlan(f, 1, A, B, 20, 0x8100);
	assert_sent(f, (unsigned[]){ 0, 0, 1, 0, 0 });
	inject_vlan(f, 1, A, B, 40, 0x8100);
	assert_sent(f, (unsigned[]){ 0, 0, 2, 1, 1 });

	/* Tagged frames go out as they came in. */
	size_t len;
	const uint8_t *got = port_dummy_sent(f->p[2], 0, &len);
	assert_int_equal(got[12], 0x81);
	assert_int_equal((got[14] & 0x0f) << 8 | got[15], 20);
}

static void
test_port_del_flushes_its_macs(void **state)
{
	struct fixture		*f = *state;
	struct mac_table_stats	 st;

	inject(f, 2, BCAST, B);
	inject(f, 2, BCAST, C);
	inject(f, 3, BCAST, A);
	dp_port_del(f->dp, f->p[2]);
	f->p[2] = NULL;
	mac_table_get_stats(f->dp->sw->macs, &st);
	assert_int_equal(st.count, 1);
	assert_null(mac_table_lookup(f->dp->sw->macs, B, 0, NOW));
	assert_ptr_equal(mac_table_lookup(f->dp->sw->macs, A, 0, NOW), f->p[3]);
	assert_int_equal(f->dp->nports, NPORTS - 1);
	assert_null(dp_port_find(f->dp, "p2"));

	/* B is unknown again: flooded to the ports that are left. */
	port_dummy_clear(f->p[3]);
	port_dummy_clear(f->p[4]);
	inject(f, 1, B, A);
	assert_int_equal(port_dummy_sent_count(f->p[3]), 1);
	assert_int_equal(port_dummy_sent_count(f->p[4]), 1);
}

static void
test_port_add_errors(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 cfg = { .name = "p1", .type = "dummy" };
	struct port		*port = NULL;
	char			 err[128];

	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    EEXIST);
	assert_string_equal(err, "port p1 already exists");

	strcpy(cfg.name, "p9");
	cfg.type = "bogus";
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    EINVAL);
	assert_string_equal(err, "unknown port type 'bogus' (known: tap, tun, system, "
	    "dummy, dummy-l3, stream, vhost-user, vxlan, gretap, ipip, gre, wireguard)");

	cfg.type = "dummy";
	cfg.name[0] = '\0';
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    EINVAL);
	memset(cfg.name, 'x', sizeof(cfg.name));	/* no room for the NUL */
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    EINVAL);
	assert_non_null(strstr(err, "too long"));

	strcpy(cfg.name, "p9");
	cfg.mtu = -1;
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    EINVAL);
	assert_null(port);
	assert_int_equal(f->dp->nports, NPORTS);

	cfg.mtu = 9000;
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)), 0);
	assert_ptr_equal(dp_port_find(f->dp, "p9"), port);
	assert_int_equal(port->mtu, 9000);
	assert_int_equal(port->index, NPORTS + 1);
	assert_string_equal(port->ops->state(port), "up");
}

static void
test_port_limit(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 cfg = { .type = "dummy" };
	struct port		*port;
	char			 err[128];

	for (int i = NPORTS; i < DP_MAX_PORTS; i++) {
		snprintf(cfg.name, sizeof(cfg.name), "x%d", i);
		assert_int_equal(dp_port_add(f->dp, &cfg, &port, err,
		    sizeof(err)), 0);
	}
	strcpy(cfg.name, "one-too-many");
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    ENOSPC);

	/* A flood reaches all of them. */
	inject(f, 1, BCAST, A);
	assert_int_equal(f->dp->nports, DP_MAX_PORTS);
	TAILQ_FOREACH(port, &f->dp->ports, entry)
		assert_int_equal(port->stats.tx_packets, port != f->p[1]);
}

static void
test_too_big_counted_on_egress(void **state)
{
	struct fixture	*f = *state;

	/* MTU 1500 carries 1518 bytes with a tag, not one more. */
	inject_len(f, 1, BCAST, A, 10, 0x8100, 1518);
	assert_sent(f, (unsigned[]){ 0, 0, 1, 1, 1 });
	inject_len(f, 1, BCAST, A, 10, 0x8100, 1519);
	assert_sent(f, (unsigned[]){ 0, 0, 1, 1, 1 });
	for (int i = 2; i <= NPORTS; i++)
		assert_int_equal(f->p[i]->stats.drops[DROP_TOO_BIG], 1);
}

/* A full batch, part flooded and part unicast, keeps its order per port. */
static void
test_full_batch(void **state)
{
	struct fixture		*f = *state;
	struct pkt_batch	 b;
	uint8_t			 src[6] = { 0x02, 0, 0, 0, 1, 0 };

	inject(f, 2, BCAST, B);
	clear(f);
	pkt_batch_init(&b);
	for (int i = 0; i < PKT_BATCH_MAX; i++) {
		struct pkt *p = pkt_alloc(f->dp->pool);
		src[5] = (uint8_t)i;
		p->len = (uint32_t)frame(p->data, 60, i % 2 ? B : C, src,
		    UNTAGGED, 0);
		pkt_batch_add(&b, p);
	}
	sw_input(f->dp, f->p[1], &b, NOW);
	assert_sent(f, (unsigned[]){ 0, 0, PKT_BATCH_MAX, PKT_BATCH_MAX / 2,
	    PKT_BATCH_MAX / 2 });
	for (unsigned i = 0; i < PKT_BATCH_MAX; i++) {
		const uint8_t *got = port_dummy_sent(f->p[2], i, NULL);
		assert_int_equal(got[11], i);
	}
	for (unsigned i = 0; i < PKT_BATCH_MAX / 2; i++)
		assert_int_equal(port_dummy_sent(f->p[3], i, NULL)[11], 2 * i);
	for (int i = 1; i <= NPORTS; i++)
		assert_int_equal(f->p[i]->txq.count, 0);
}

static void
test_tick_ages_entries(void **state)
{
	struct fixture		*f = *state;
	struct mac_table_stats	 st;

	mac_table_set_ageing(f->dp->sw->macs, 10);
	inject(f, 1, BCAST, A);
	dp_tick(f->dp, NOW + 9);
	mac_table_get_stats(f->dp->sw->macs, &st);
	assert_int_equal(st.count, 1);
	dp_tick(f->dp, NOW + 10);
	mac_table_get_stats(f->dp->sw->macs, &st);
	assert_int_equal(st.count, 0);
}

static void
test_port_input_drains_nothing_from_dummy(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(dp_port_read(f->dp, f->p[1], NOW), 0);
	assert_sent(f, (unsigned[]){ 0, 0, 0, 0, 0 });
	assert_int_equal(f->p[1]->stats.rx_packets, 0);
}

/* p3 and p4 are split-horizon, as two tunnels of a full mesh. */
static void
test_split_horizon(void **state)
{
	struct fixture	*f = *state;

	f->p[3]->split_horizon = f->p[4]->split_horizon = true;
	inject(f, 3, BCAST, C);			/* C behind p3 */
	assert_sent(f, (unsigned[]){ 0, 1, 1, 0, 0 });
	inject(f, 1, BCAST, A);			/* a local port floods to all */
	assert_sent(f, (unsigned[]){ 0, 1, 2, 1, 1 });
	inject(f, 4, BCAST, B);			/* B behind p4 */
	assert_sent(f, (unsigned[]){ 0, 2, 3, 1, 1 });

	/* Known unicast between two split-horizon ports is dropped. */
	inject(f, 4, C, B);
	assert_sent(f, (unsigned[]){ 0, 2, 3, 1, 1 });
	assert_int_equal(f->p[4]->stats.drops[DROP_SPLIT_HORIZON], 1);
	inject(f, 4, A, B);			/* to a local port: fine */
	assert_sent(f, (unsigned[]){ 0, 3, 3, 1, 1 });
	inject(f, 1, C, A);
	assert_sent(f, (unsigned[]){ 0, 3, 3, 2, 1 });

	/* Turned off on one side, p3 and p4 talk again (hub and spoke). */
	f->p[3]->split_horizon = false;
	inject(f, 4, C, B);
	assert_sent(f, (unsigned[]){ 0, 3, 3, 3, 1 });
	inject(f, 3, BCAST, C);
	assert_sent(f, (unsigned[]){ 0, 4, 4, 3, 2 });
}

static void
test_split_horizon_from_config(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 cfg = { .name = "sh", .type = "dummy" };
	struct port		*port;
	char			 err[128];

	cfg.split_horizon = PORT_SH_ON;
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)), 0);
	assert_true(port->split_horizon);
	dp_port_del(f->dp, port);
	cfg.split_horizon = PORT_SH_DEFAULT;		/* dummy: off */
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)), 0);
	assert_false(port->split_horizon);
	assert_ptr_equal(port->dp, f->dp);
}

/* A capture hook that counts what the switch shows it, per port. */
struct hook_log {
	struct port_hook	 hook;
	unsigned		 frames[2][NPORTS + 1];	/* [dir][port] */
	unsigned		 batches;
	unsigned		 outer;
	struct port		*gone;
};

static int
port_number(const struct port *port)
{
	return port->name[1] - '0';
}

static void
log_frames(struct port_hook *h, struct port *port, enum port_dir dir,
    const struct pkt_batch *b)
{
	struct hook_log	*log = (struct hook_log *)h;

	assert_int_not_equal(b->count, 0);
	log->frames[dir][port_number(port)] += b->count;
	log->batches++;
}

static void
log_outer(struct port_hook *h, struct port *port, enum port_dir dir,
    const struct port_outer *o)
{
	struct hook_log	*log = (struct hook_log *)h;

	assert_int_equal(port_number(port), 3);
	assert_int_equal(dir, PORT_DIR_RX);
	assert_int_equal(o->len, 5);
	log->outer++;
}

static void
log_gone(struct port_hook *h, struct port *port)
{
	struct hook_log	*log = (struct hook_log *)h;

	log->gone = port;
	port->hook = NULL;
}

static void
test_capture_hooks(void **state)
{
	struct fixture		*f = *state;
	struct hook_log		 log = { .hook = { log_frames, log_outer,
				    log_gone } };
	struct port_outer	 o = { .data = (const uint8_t *)"vxlan",
				    .len = 5 };
	struct port		*p3 = f->p[3];

	f->p[1]->hook = &log.hook;
	p3->hook = &log.hook;
	inject(f, 1, BCAST, A);		/* rx on p1, flooded: tx on p3 */
	inject(f, 2, A, B);		/* unicast to p1: tx on p1 */
	inject_len(f, 1, B, A, UNTAGGED, 0, 10);	/* a runt: rx only */
	p3->mtu = 40;
	inject(f, 2, BCAST, B);		/* p3 is shown it, then drops it */
	assert_int_equal(log.frames[PORT_DIR_RX][1], 2);
	assert_int_equal(log.frames[PORT_DIR_TX][1], 2);
	assert_int_equal(log.frames[PORT_DIR_TX][3], 2);
	assert_int_equal(p3->stats.drops[DROP_TOO_BIG], 1);
	/* Ports without a hook show nothing; empty batches are not shown. */
	assert_int_equal(log.frames[PORT_DIR_RX][2], 0);
	assert_int_equal(log.frames[PORT_DIR_TX][2], 0);
	assert_int_equal(log.batches, 6);

	port_capture_outer(p3, PORT_DIR_RX, &o);
	port_capture_outer(f->p[2], PORT_DIR_RX, &o);
	assert_int_equal(log.outer, 1);

	/* Deleting a port tells its hook first. */
	dp_port_del(f->dp, p3);
	assert_ptr_equal(log.gone, p3);
	f->p[1]->hook = NULL;
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

static void
inject_at(struct fixture *f, int in, const uint8_t dst[6],
    const uint8_t src[6], time_t now)
{
	struct pkt_batch	 b;
	struct pkt		*p;

	pkt_batch_init(&b);
	assert_non_null(p = pkt_alloc(f->dp->pool));
	p->len = (uint32_t)frame(p->data, 64, dst, src, UNTAGGED, 0);
	pkt_batch_add(&b, p);
	sw_input(f->dp, f->p[in], &b, now);
}

static void *
learned_on(struct fixture *f, const uint8_t mac[6])
{
	return mac_table_lookup(f->dp->sw->macs, mac, 0, NOW);
}

static void
test_learning_off_forwards_without_learning(void **state)
{
	struct fixture	*f = *state;

	f->p[1]->sec.no_learning = true;
	inject(f, 1, B, A);
	assert_sent(f, (unsigned[]){ 0, 0, 1, 1, 1 });
	assert_null(learned_on(f, A));
	inject(f, 2, A, B);			/* A unknown: flooded */
	assert_sent(f, (unsigned[]){ 0, 1, 1, 2, 2 });
	assert_int_equal(f->p[1]->stats.drops[DROP_MAC_LIMIT], 0);
}

static void
test_mac_limit_drops_new_sources(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 m[6] = { 0x02, 0, 0, 0, 1, 0 };

	f->p[1]->sec.mac_limit = 2;
	for (uint8_t i = 0; i < 5; i++) {
		m[5] = i;
		inject(f, 1, BCAST, m);
	}
	assert_sent(f, (unsigned[]){ 0, 0, 2, 2, 2 });
	assert_int_equal(f->p[1]->stats.drops[DROP_MAC_LIMIT], 3);
	assert_int_equal(mac_table_port_count(f->dp->sw->macs, f->p[1]), 2);
	m[5] = 1;
	inject(f, 1, BCAST, m);			/* a known one still sends */
	assert_sent(f, (unsigned[]){ 0, 0, 3, 3, 3 });
	/* A MAC of another port does not move onto a full one. */
	inject(f, 2, BCAST, C);
	inject(f, 1, BCAST, C);
	assert_ptr_equal(learned_on(f, C), f->p[2]);
	assert_int_equal(f->p[1]->stats.drops[DROP_MAC_LIMIT], 4);
}

static void
test_locked_port_takes_static_sources_only(void **state)
{
	struct fixture	*f = *state;

	f->p[1]->sec.locked = true;
	inject(f, 1, BCAST, A);
	assert_sent(f, (unsigned[]){ 0, 0, 0, 0, 0 });
	assert_int_equal(f->p[1]->stats.drops[DROP_LOCKED], 1);
	assert_null(learned_on(f, A));
	/* Static elsewhere is not enough. */
	assert_int_equal(mac_table_add_static(f->dp->sw->macs, A, 0, f->p[2]),
	    0);
	inject(f, 1, BCAST, A);
	assert_int_equal(f->p[1]->stats.drops[DROP_LOCKED], 2);
	assert_int_equal(mac_table_add_static(f->dp->sw->macs, A, 0, f->p[1]),
	    0);
	inject(f, 1, BCAST, A);
	assert_sent(f, (unsigned[]){ 0, 0, 1, 1, 1 });
	assert_int_equal(f->p[1]->stats.drops[DROP_LOCKED], 2);
}

/* p4 made a tunnel (a remote port) for the test. */
static void
test_remote_port_cannot_take_live_local_mac(void **state)
{
	static struct port_ops	 remote_ops;
	struct fixture		*f = *state;
	const struct port_ops	*saved = f->p[4]->ops;
	struct mac_table_stats	 st;

	remote_ops = *saved;
	remote_ops.outer = true;
	f->p[4]->ops = &remote_ops;
	assert_true(port_is_remote(f->p[4]));

	inject_at(f, 1, BCAST, A, NOW);		/* A on local p1 */
	inject_at(f, 2, BCAST, B, NOW);
	clear(f);
	inject_at(f, 4, B, A, NOW + 1);		/* forged: A from the tunnel */
	assert_sent(f, (unsigned[]){ 0, 0, 0, 0, 0 });
	assert_int_equal(f->p[4]->stats.drops[DROP_MOVE_REFUSED], 1);
	assert_ptr_equal(learned_on(f, A), f->p[1]);
	mac_table_get_stats(f->dp->sw->macs, &st);
	assert_int_equal(st.move_refused, 1);
	inject_at(f, 2, A, B, NOW + 2);		/* A still reachable */
	assert_sent(f, (unsigned[]){ 0, 1, 0, 0, 0 });
	/* p1 silent for the hold: the move (a migrated VM) completes. */
	inject_at(f, 4, B, A, NOW + MAC_MOVE_HOLD);
	assert_sent(f, (unsigned[]){ 0, 1, 1, 0, 0 });
	assert_ptr_equal(mac_table_lookup(f->dp->sw->macs, A, 0,
	    NOW + MAC_MOVE_HOLD), f->p[4]);
	f->p[4]->ops = saved;
}

int
main(void)
{
	if (port_types_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		T(test_unknown_unicast_floods_to_all_but_ingress),
		T(test_broadcast_and_multicast_flood),
		T(test_known_unicast_to_exactly_one_port),
		T(test_never_back_out_of_ingress),
		T(test_destination_on_ingress_is_dropped),
		T(test_runt_and_bad_source_counted),
		T(test_vlans_learned_independently),
		T(test_port_del_flushes_its_macs),
		T(test_port_add_errors),
		T(test_port_limit),
		T(test_too_big_counted_on_egress),
		T(test_full_batch),
		T(test_tick_ages_entries),
		T(test_port_input_drains_nothing_from_dummy),
		T(test_split_horizon),
		T(test_split_horizon_from_config),
		T(test_capture_hooks),
		T(test_learning_off_forwards_without_learning),
		T(test_mac_limit_drops_new_sources),
		T(test_locked_port_takes_static_sources_only),
		T(test_remote_port_cannot_take_live_local_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
