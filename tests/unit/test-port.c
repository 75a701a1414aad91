/*
 * test-port.c - the port-type table, drop reason names and the dummy port.
 */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "datapath/port-dummy.h"
#include "datapath/port-tap.h"
#include "datapath/port.h"
#include "vswitchd/port-types.h"

static void
test_drop_reason_names(void **state)
{
	(void)state;
	for (int i = 0; i < DROP__MAX; i++) {
		const char *name = drop_reason_names[i];
		assert_non_null(name);
		assert_true(name[0] != '\0');
		for (const char *c = name; *c != '\0'; c++)
			assert_true(islower((unsigned char)*c) || *c == '_');
		for (int j = 0; j < i; j++)
			assert_string_not_equal(name, drop_reason_names[j]);
	}
	assert_string_equal(drop_reason_names[DROP_SAME_PORT], "same_port");
	assert_string_equal(drop_reason_names[DROP_BAD_SRC_MAC], "bad_src_mac");
	assert_string_equal(drop_reason_names[DROP_LINK_DOWN], "link_down");
	assert_string_equal(drop_reason_names[DROP_SPLIT_HORIZON],
	    "split_horizon");
}

static void
test_port_types(void **state)
{
	(void)state;
	assert_ptr_equal(port_ops_find("tap"), &port_tap_ops);
	assert_ptr_equal(port_ops_find("dummy"), &port_dummy_ops);
	assert_null(port_ops_find("TAP"));
	assert_null(port_ops_find(""));
	assert_null(port_ops_find(NULL));
	assert_ptr_equal(port_ops_find("vxlan"), port_ops_find("vxlan"));
	assert_ptr_equal(port_ops_find("gretap"), port_ops_find("gretap"));
	assert_string_equal(port_type_names(), "tap, tun, system, dummy, dummy-l3, stream, vhost-user, vxlan, gretap, ipip, gre, wireguard");
	assert_string_equal(port_type_names(), "tap, tun, system, dummy, dummy-l3, stream, vhost-user, vxlan, gretap, ipip, gre, wireguard");

	/* Tunnels are split-horizon unless told otherwise; taps are not. */
	assert_true(port_ops_find("vxlan")->split_horizon);
	assert_true(port_ops_find("gretap")->split_horizon);
	assert_false(port_tap_ops.split_horizon);
	assert_true(port_ops_find("vxlan")->settings & PORT_SET_VNI);
	assert_false(port_ops_find("vxlan")->settings & (PORT_SET_KEY | PORT_SET_MTU));
	assert_true(port_ops_find("gretap")->settings & PORT_SET_KEY);
	assert_false(port_ops_find("gretap")->settings & PORT_SET_VNI);
}

static void
send_one(struct port *port, struct pkt_pool *pool, uint8_t tag, size_t len)
{
	struct pkt_batch	 b;
	struct pkt		*p = pkt_alloc(pool);

	memset(p->data, tag, len);
	p->len = (uint32_t)len;
	pkt_batch_init(&b);
	pkt_batch_add(&b, p);
	port->ops->send_batch(port, &b);
	pkt_batch_free(&b);
}

static void
test_dummy_ring(void **state)
{
	struct port_config	 cfg = { .name = "d0", .type = "dummy" };
	struct port		 port = { .ops = &port_dummy_ops };
	struct pkt_pool		*pool = pkt_pool_create(4, PKT_DATA_ROOM);
	struct pkt_batch	 b;
	char			 err[128];
	size_t			 len;
	const uint8_t		*got;

	(void)state;
	assert_int_equal(port.ops->open(&port, &cfg, err, sizeof(err)), 0);
	assert_int_equal(port.fd, -1);
	assert_int_equal(port.mtu, 1500);
	pkt_batch_init(&b);
	assert_int_equal(port.ops->recv_batch(&port, pool, &b), 0);

	for (unsigned i = 0; i < PORT_DUMMY_RING + 6; i++)
		send_one(&port, pool, (uint8_t)i, 60 + i);
	assert_int_equal(port_dummy_sent_count(&port), PORT_DUMMY_RING + 6);
	assert_int_equal(port.stats.tx_packets, PORT_DUMMY_RING + 6);

	/* Only the last PORT_DUMMY_RING frames are kept. */
	assert_null(port_dummy_sent(&port, 5, &len));
	for (unsigned i = 6; i < PORT_DUMMY_RING + 6; i++) {
		assert_non_null(got = port_dummy_sent(&port, i, &len));
		assert_int_equal(len, 60 + i);
		assert_int_equal(got[0], (uint8_t)i);
		assert_int_equal(got[len - 1], (uint8_t)i);
	}
	assert_null(port_dummy_sent(&port, PORT_DUMMY_RING + 6, &len));

	port_dummy_clear(&port);
	assert_int_equal(port_dummy_sent_count(&port), 0);
	assert_null(port_dummy_sent(&port, 0, &len));

	/* The largest frame a pool buffer holds fits at the largest MTU. */
	port.ops->close(&port);
	cfg.mtu = PKT_DATA_ROOM - PORT_L2_OVERHEAD;
	assert_int_equal(port.ops->open(&port, &cfg, err, sizeof(err)), 0);
	send_one(&port, pool, 0xee, PKT_DATA_ROOM);
	assert_non_null(got = port_dummy_sent(&port, 0, &len));
	assert_int_equal(len, PKT_DATA_ROOM);
	port.ops->close(&port);

	cfg.mtu = PKT_DATA_ROOM;
	assert_int_equal(port.ops->open(&port, &cfg, err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "d0: invalid mtu"));
	assert_int_equal(pkt_pool_avail(pool), 4);
	pkt_pool_destroy(pool);
}

int
main(void)
{
	if (port_types_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_reason_names),
		cmocka_unit_test(test_port_types),
		cmocka_unit_test(test_dummy_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
