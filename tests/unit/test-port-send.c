/*
 * test-port-send.c - port_send(): what a port does not take is finished in
 * software on the way out, what it takes passes untouched.
 *
 *	batch --port_send()--> [dummy "out", takes nothing]  segments
 *	      --port_send()--> [dummy "all", takes csum tso uso]  as given
 *
 * Both dummies belong to a real switch (dp_create), so segments come from
 * the switch's pool as they do in the daemon, and the tests check that
 * every one of them goes back.  Segments are verified by frames.h's
 * independent checker.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "datapath/port-dummy.h"
#include "datapath/switch.h"
#include "vswitchd/port-types.h"
#include "frames.h"
#include "rng.h"

#define TAKES_ALL	(PORT_TAKES_CSUM | PORT_TAKES_TSO4 | \
			 PORT_TAKES_TSO6 | PORT_TAKES_USO)

static uint8_t	payload[70000];

struct fix {
	struct dp	*dp;
	struct port	*out;	/* takes nothing */
	struct port	*all;	/* takes everything */
};

static int
setup(void **state)
{
	static struct fix	 f;
	struct port_config	 cfg = { .type = "dummy", .mtu = 1500 };
	char			 err[256];

	rng_fill(payload, sizeof(payload));
	if ((f.dp = dp_create()) == NULL)
		return -1;
	strcpy(cfg.name, "out");
	if (dp_port_add(f.dp, &cfg, &f.out, err, sizeof(err)) != 0)
		return -1;
	strcpy(cfg.name, "all");
	if (dp_port_add(f.dp, &cfg, &f.all, err, sizeof(err)) != 0 ||
	    port_dummy_set_takes(f.all, TAKES_ALL) != 0)
		return -1;
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix	*f = *state;

	dp_destroy(f->dp);
	return 0;
}

/* Every test starts from clean records and counters. */
static int
reset(void **state)
{
	struct fix	*f = *state;

	port_dummy_clear(f->out);
	port_dummy_clear(f->all);
	memset(&f->out->stats, 0, sizeof(f->out->stats));
	memset(&f->all->stats, 0, sizeof(f->all->stats));
	return 0;
}

/* A super-frame as a vnet_hdr tap hands it over: partial sum, vnet set. */
static struct pkt *
superframe(struct dp *dp, const struct fspec *s, uint16_t mss)
{
	struct pkt	*p = pkt_alloc(dp->large);
	struct fpos	 pos = fspec_pos(s);

	assert_non_null(p);
	p->len = (uint32_t)frame_build(p->data, s);
	frame_make_partial(p->data, p->len, s);
	p->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->vnet.gso_type = s->udp ? VIRTIO_NET_HDR_GSO_UDP_L4 :
	    s->ipv == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	p->vnet.gso_size = mss;
	p->vnet.hdr_len = (uint16_t)pos.hlen;
	p->vnet.csum_start = (uint16_t)pos.l4;
	p->vnet.csum_offset = s->udp ? 6 : 16;
	return p;
}

/* An ordinary frame from the MTU pool, vnet all zero. */
static struct pkt *
plain(struct dp *dp, const struct fspec *s)
{
	struct pkt	*p = pkt_alloc(dp->pool);

	assert_non_null(p);
	p->len = (uint32_t)frame_build(p->data, s);
	return p;
}

/*
 * Checks frames first..first+n-1 recorded on port are the segments of a
 * payload of s cut at mss, starting at payload offset off; returns the
 * offset after them.
 */
static size_t
check_segments(const struct port *port, unsigned first, unsigned n,
    const struct fspec *s, uint16_t mss, size_t off)
{
	struct fpos	pos = fspec_pos(s);

	for (unsigned i = first; i < first + n; i++) {
		size_t			 len, want;
		const uint8_t		*f = port_dummy_sent(port, i, &len);
		const struct virtio_net_hdr *v = port_dummy_sent_vnet(port, i);

		assert_non_null(f);
		want = s->paylen - off < mss ? s->paylen - off : mss;
		assert_int_equal(check_frame(f, len, s), want);
		assert_memory_equal(f + pos.hlen, s->payload + off, want);
		assert_int_equal(v->flags, 0);
		assert_int_equal(v->gso_type, 0);
		if (!s->udp)
			assert_int_equal(f_get32(f + pos.l4 + 4),
			    (uint32_t)(s->seq + off));
		off += want;
	}
	return off;
}

static void
test_superframe_segmented_for_a_port_that_takes_none(void **state)
{
	struct fix		*f = *state;
	struct fspec		 s = fspec_tcp(4, payload, 10000);
	struct pkt_batch	 b;
	unsigned		 avail = pkt_pool_avail(f->dp->pool);

	s.ntags = 1;
	s.tpid[0] = 0x8100;
	s.vid[0] = 42;
	s.flags |= F_TCP_PSH;
	pkt_batch_init(&b);
	pkt_batch_add(&b, superframe(f->dp, &s, 1448));
	port_send(f->out, &b);
	assert_int_equal(port_dummy_sent_count(f->out), 7);
	assert_int_equal(check_segments(f->out, 0, 7, &s, 1448, 0),
	    s.paylen);
	assert_int_equal(f->out->stats.tx_packets, 7);
	assert_int_equal(f->out->stats.tx_segmented, 1);
	assert_int_equal(f->out->stats.tx_gso, 0);
	/* The caller's frame is still the caller's; the segments went back. */
	assert_int_equal(b.count, 1);
	assert_int_equal(b.pkts[0]->vnet.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(pkt_pool_avail(f->dp->pool), avail);
	pkt_batch_free(&b);
}

static void
test_superframe_untouched_for_a_port_that_takes_it(void **state)
{
	struct fix		*f = *state;
	struct fspec		 s = fspec_tcp(6, payload, 30000);
	struct pkt_batch	 b;
	struct virtio_net_hdr	 vnet;
	const uint8_t		*got;
	size_t			 len;

	pkt_batch_init(&b);
	pkt_batch_add(&b, superframe(f->dp, &s, 1428));
	vnet = b.pkts[0]->vnet;
	port_send(f->all, &b);
	assert_int_equal(port_dummy_sent_count(f->all), 1);
	got = port_dummy_sent(f->all, 0, &len);
	assert_int_equal(len, b.pkts[0]->len);
	assert_memory_equal(got, b.pkts[0]->data, len);
	assert_memory_equal(port_dummy_sent_vnet(f->all, 0), &vnet,
	    sizeof(vnet));
	assert_int_equal(f->all->stats.tx_gso, 1);
	assert_int_equal(f->all->stats.tx_segmented, 0);
	/* Its wire frames fit the MTU; the super-frame itself does not. */
	assert_int_equal(f->all->stats.drops[DROP_TOO_BIG], 0);
	pkt_batch_free(&b);
}

static void
test_uso6_segmented(void **state)
{
	struct fix		*f = *state;
	struct fspec		 s = fspec_tcp(6, payload, 5000);
	struct pkt_batch	 b;

	s.udp = true;
	pkt_batch_init(&b);
	pkt_batch_add(&b, superframe(f->dp, &s, 1400));
	port_send(f->out, &b);
	assert_int_equal(port_dummy_sent_count(f->out), 4);
	check_segments(f->out, 0, 4, &s, 1400, 0);
	pkt_batch_free(&b);
}

/*
 * A checksum is completed in place: the frame goes out whole, its sum
 * verifies and it owes nothing more, also to the ports it is shared with.
 */
static void
test_checksum_completed(void **state)
{
	struct fix		*f = *state;
	struct fspec		 s = fspec_tcp(4, payload, 900);
	struct pkt_batch	 b;
	struct pkt		*p;
	const uint8_t		*got;
	size_t			 len;

	pkt_batch_init(&b);
	p = plain(f->dp, &s);
	frame_make_partial(p->data, p->len, &s);
	p->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->vnet.csum_start = (uint16_t)fspec_pos(&s).l4;
	p->vnet.csum_offset = 16;
	pkt_batch_add(&b, p);

	/* Taken as it is first: still partial. */
	port_send(f->all, &b);
	assert_int_equal(port_dummy_sent_vnet(f->all, 0)->flags,
	    VIRTIO_NET_HDR_F_NEEDS_CSUM);

	port_send(f->out, &b);
	got = port_dummy_sent(f->out, 0, &len);
	assert_int_equal(check_frame(got, len, &s), 900);
	assert_int_equal(port_dummy_sent_vnet(f->out, 0)->flags, 0);
	assert_int_equal(p->vnet.flags, 0);
	assert_int_equal(f->out->stats.tx_segmented, 0);
	pkt_batch_free(&b);
}

/* Frames keep their order around the ones finished in software. */
static void
test_order_kept(void **state)
{
	struct fix		*f = *state;
	struct fspec		 s1 = fspec_tcp(4, payload, 100);
	struct fspec		 s2 = fspec_tcp(4, payload, 4000);
	struct fspec		 s3 = fspec_tcp(4, payload + 7, 200);
	struct pkt_batch	 b;
	const uint8_t		*got;
	size_t			 len;

	s1.flow = 1;
	s2.flow = 2;
	s3.flow = 3;
	pkt_batch_init(&b);
	pkt_batch_add(&b, plain(f->dp, &s1));
	pkt_batch_add(&b, superframe(f->dp, &s2, 1448));
	pkt_batch_add(&b, plain(f->dp, &s3));
	port_send(f->out, &b);
	assert_int_equal(port_dummy_sent_count(f->out), 5);
	got = port_dummy_sent(f->out, 0, &len);
	assert_int_equal(len, b.pkts[0]->len);
	assert_memory_equal(got, b.pkts[0]->data, len);
	check_segments(f->out, 1, 3, &s2, 1448, 0);
	got = port_dummy_sent(f->out, 4, &len);
	assert_int_equal(len, b.pkts[2]->len);
	assert_memory_equal(got, b.pkts[2]->data, len);
	pkt_batch_free(&b);
}

/*
 * More segments than a batch holds: the output is flushed as it fills
 * and every segment is freed after its flush.
 */
static void
test_many_segments_flushed_in_batches(void **state)
{
	struct fix		*f = *state;
	struct fspec		 s = fspec_tcp(4, payload, 60000);
	struct pkt_batch	 b;
	unsigned		 avail = pkt_pool_avail(f->dp->pool);
	unsigned		 nsegs = (60000 + 535) / 536;

	pkt_batch_init(&b);
	pkt_batch_add(&b, superframe(f->dp, &s, 536));
	pkt_batch_add(&b, superframe(f->dp, &s, 536));
	port_send(f->out, &b);
	assert_int_equal(port_dummy_sent_count(f->out), 2 * nsegs);
	assert_int_equal(f->out->stats.tx_packets, 2 * nsegs);
	/* The ring keeps the last PORT_DUMMY_RING: the second one's tail. */
	check_segments(f->out, 2 * nsegs - PORT_DUMMY_RING, PORT_DUMMY_RING,
	    &s, 536, (size_t)(nsegs - PORT_DUMMY_RING) * 536);
	assert_int_equal(pkt_pool_avail(f->dp->pool), avail);
	pkt_batch_free(&b);
}

/* Headers gso.h refuses are counted once and the rest goes out. */
static void
test_bad_vnet_header_counted(void **state)
{
	struct fix		*f = *state;
	struct fspec		 s = fspec_tcp(4, payload, 3000);
	struct fspec		 ok = fspec_tcp(4, payload, 100);
	struct pkt_batch	 b;
	struct pkt		*p;

	pkt_batch_init(&b);
	p = superframe(f->dp, &s, 1000);
	p->vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;	/* an IPv4 frame */
	pkt_batch_add(&b, p);
	p = superframe(f->dp, &s, 1000);
	p->vnet.gso_type = VIRTIO_NET_HDR_GSO_UDP;	/* UFO */
	pkt_batch_add(&b, p);
	p = plain(f->dp, &s);
	p->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->vnet.csum_start = (uint16_t)(p->len - 1);	/* past the end */
	pkt_batch_add(&b, p);
	pkt_batch_add(&b, plain(f->dp, &ok));
	port_send(f->out, &b);
	assert_int_equal(f->out->stats.drops[DROP_BAD_OFFLOAD], 3);
	assert_int_equal(port_dummy_sent_count(f->out), 1);
	assert_int_equal(f->out->stats.tx_packets, 1);

	/* The UFO frame is refused by every port, even one taking all. */
	port_send(f->all, &b);
	assert_int_equal(f->all->stats.drops[DROP_BAD_OFFLOAD], 1);
	pkt_batch_free(&b);
}

/*
 * The pool runs dry: what could be made goes out, each segment that could
 * not is a no_buffer drop, and nothing leaks.
 */
static void
test_pool_dry(void **state)
{
	struct fix		*f = *state;
	struct fspec		 s = fspec_tcp(4, payload, 10000);
	struct pkt_batch	 b;
	struct pkt		*held = NULL, *p;
	unsigned		 avail = pkt_pool_avail(f->dp->pool);

	pkt_batch_init(&b);
	pkt_batch_add(&b, superframe(f->dp, &s, 1000));
	/* Hold all but three buffers, chained through ->next. */
	while (pkt_pool_avail(f->dp->pool) > 3) {
		p = pkt_alloc(f->dp->pool);
		p->next = held;
		held = p;
	}

	/* Three made and sent, then three more once those are back... */
	port_send(f->out, &b);
	assert_int_equal(port_dummy_sent_count(f->out), 10);
	check_segments(f->out, 0, 10, &s, 1000, 0);
	assert_int_equal(f->out->stats.drops[DROP_NO_BUFFER], 0);
	assert_int_equal(pkt_pool_avail(f->dp->pool), 3);

	/* ...but none at all: every segment is a drop. */
	port_dummy_clear(f->out);
	while (pkt_pool_avail(f->dp->pool) > 0) {
		p = pkt_alloc(f->dp->pool);
		p->next = held;
		held = p;
	}
	port_send(f->out, &b);
	assert_int_equal(port_dummy_sent_count(f->out), 0);
	assert_int_equal(f->out->stats.drops[DROP_NO_BUFFER], 10);

	while ((p = held) != NULL) {
		held = p->next;
		pkt_free(p);
	}
	assert_int_equal(pkt_pool_avail(f->dp->pool), avail);
	pkt_batch_free(&b);
}

/* A super-frame whose segments exceed the port's MTU is too big. */
static void
test_taken_superframe_checked_against_mtu(void **state)
{
	struct fix		*f = *state;
	struct fspec		 s = fspec_tcp(4, payload, 20000);
	struct pkt_batch	 b;

	pkt_batch_init(&b);
	pkt_batch_add(&b, superframe(f->dp, &s, 4000));
	port_send(f->all, &b);
	assert_int_equal(f->all->stats.drops[DROP_TOO_BIG], 1);
	assert_int_equal(port_dummy_sent_count(f->all), 0);
	pkt_batch_free(&b);
}

int
main(void)
{
	if (port_types_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
		    test_superframe_segmented_for_a_port_that_takes_none, reset),
		cmocka_unit_test_setup(
		    test_superframe_untouched_for_a_port_that_takes_it, reset),
		cmocka_unit_test_setup(test_uso6_segmented, reset),
		cmocka_unit_test_setup(test_checksum_completed, reset),
		cmocka_unit_test_setup(test_order_kept, reset),
		cmocka_unit_test_setup(test_many_segments_flushed_in_batches,
		    reset),
		cmocka_unit_test_setup(test_bad_vnet_header_counted, reset),
		cmocka_unit_test_setup(test_pool_dry, reset),
		cmocka_unit_test_setup(test_taken_superframe_checked_against_mtu,
		    reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
