/*
 * test-tnl-tx.c - how a tunnel sender groups datagrams into UDP_SEGMENT
 * messages (tnl_gso_run()): runs of equal lengths, a shorter last one that
 * ends the run, at most TNL_GSO_SEGS datagrams and 64 KiB of IP; what a
 * failed send asks of a sender (tnl_send_failure()); and how min-mtu
 * floors the MTUs a sender reads from the kernel.
 */
#include <sys/socket.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "tunnel/tnl-tx.h"

#define MAX4	(65535 - 20 - 8)	/* what an IPv4 message may carry */

static void
fill(uint32_t *len, unsigned n, uint32_t v)
{
	for (unsigned i = 0; i < n; i++)
		len[i] = v;
}

/* The runs len[] splits into, in runs[]; returns how many. */
static unsigned
runs_of(const uint32_t *len, unsigned n, uint32_t max, unsigned *runs)
{
	unsigned	k = 0, r = 0;

	while (k < n) {
		runs[r] = tnl_gso_run(len + k, n - k, max);
		assert_true(runs[r] >= 1);
		k += runs[r++];
	}
	return r;
}

static void
test_nothing_and_one(void **state)
{
	uint32_t	len[1] = { 1500 };

	(void)state;
	assert_int_equal(tnl_gso_run(len, 0, MAX4), 0);
	assert_int_equal(tnl_gso_run(len, 1, MAX4), 1);
	/* A datagram over the limit still goes, alone: the kernel decides. */
	assert_int_equal(tnl_gso_run(len, 1, 1000), 1);
}

static void
test_equal_lengths_make_one_run(void **state)
{
	uint32_t	len[10];

	(void)state;
	fill(len, 10, 1000);
	assert_int_equal(tnl_gso_run(len, 10, MAX4), 10);
}

static void
test_shorter_last_ends_the_run(void **state)
{
	uint32_t	len[] = { 1000, 1000, 400, 1000, 1000 };
	unsigned	runs[5];

	(void)state;
	assert_int_equal(runs_of(len, 5, MAX4, runs), 2);
	assert_int_equal(runs[0], 3);
	assert_int_equal(runs[1], 2);
}

static void
test_longer_starts_a_new_run(void **state)
{
	uint32_t	len[] = { 400, 1000, 1000, 1000, 72 };
	unsigned	runs[5];

	(void)state;
	assert_int_equal(runs_of(len, 5, MAX4, runs), 2);
	assert_int_equal(runs[0], 1);
	assert_int_equal(runs[1], 4);
}

static void
test_different_lengths_one_each(void **state)
{
	uint32_t	len[] = { 100, 200, 300, 400 };
	unsigned	runs[4];

	(void)state;
	assert_int_equal(runs_of(len, 4, MAX4, runs), 4);
}

static void
test_at_most_64_datagrams(void **state)
{
	uint32_t	len[150];
	unsigned	runs[150];

	(void)state;
	fill(len, 150, 100);
	assert_int_equal(runs_of(len, 150, MAX4, runs), 3);
	assert_int_equal(runs[0], TNL_GSO_SEGS);
	assert_int_equal(runs[1], TNL_GSO_SEGS);
	assert_int_equal(runs[2], 150 - 2 * TNL_GSO_SEGS);
}

static void
test_at_most_64_kib(void **state)
{
	uint32_t	len[64];
	unsigned	runs[64];

	(void)state;
	fill(len, 64, 1500);
	/* 43 * 1500 = 64500 fits 65507, 44 do not. */
	assert_int_equal(runs_of(len, 64, MAX4, runs), 2);
	assert_int_equal(runs[0], 43);
	assert_int_equal(runs[1], 21);
	/* Exactly at the limit fits. */
	fill(len, 4, 250);
	assert_int_equal(tnl_gso_run(len, 4, 1000), 4);
	assert_int_equal(tnl_gso_run(len, 4, 999), 3);
	/* A shorter last one that would pass the limit starts a run. */
	len[3] = 200;
	assert_int_equal(tnl_gso_run(len, 4, 900), 3);
}

/* What a failed send asks of a sender, tunnel or wireguard port alike. */
static void
test_send_failure_policy(void **state)
{
	(void)state;
	assert_int_equal(tnl_send_failure(EINTR, 1), TNL_SEND_AGAIN);
	assert_int_equal(tnl_send_failure(EAGAIN, 5), TNL_SEND_FULL);
	assert_int_equal(tnl_send_failure(ENOBUFS, 1), TNL_SEND_FULL);
	assert_int_equal(tnl_send_failure(EIO, 2), TNL_SEND_NO_GSO);
	assert_int_equal(tnl_send_failure(EINVAL, 64), TNL_SEND_NO_GSO);
	assert_int_equal(tnl_send_failure(ENOPROTOOPT, 2), TNL_SEND_NO_GSO);
	/* A single datagram is not GSO's to blame. */
	assert_int_equal(tnl_send_failure(EIO, 1), TNL_SEND_ERROR);
	assert_int_equal(tnl_send_failure(EINVAL, 1), TNL_SEND_ERROR);
	assert_int_equal(tnl_send_failure(EMSGSIZE, 3), TNL_SEND_TOO_BIG);
	assert_int_equal(tnl_send_failure(ECONNREFUSED, 1), TNL_SEND_ERROR);
}

/*
 * A forged ICMP lowers the kernel's path MTU (552) below the largest seen
 * (1500): whole datagrams go up to the path MTU, the port's MTU stays with
 * the largest; a floor lifts both.
 */
static void
test_min_mtu_floors_path_and_link(void **state)
{
	struct tnl_tx	tx;

	(void)state;
	memset(&tx, 0, sizeof(tx));
	tx.kernel_mtu = 552;
	tx.seen_mtu = 1500;
	tnl_tx_set_min_mtu(&tx, 0);
	assert_int_equal(tx.path_mtu, 552);
	assert_int_equal(tx.link_mtu, 1500);
	tnl_tx_set_min_mtu(&tx, 1400);
	assert_int_equal(tx.path_mtu, 1400);
	assert_int_equal(tx.link_mtu, 1500);
	tnl_tx_set_min_mtu(&tx, 9000);
	assert_int_equal(tx.path_mtu, 9000);
	assert_int_equal(tx.link_mtu, 9000);
	tnl_tx_set_min_mtu(&tx, 0);
	assert_int_equal(tx.path_mtu, 552);
	assert_int_equal(tx.link_mtu, 1500);
}

static void
test_min_mtu_range_by_family(void **state)
{
	char	err[128];

	(void)state;
	assert_int_equal(tnl_tx_check_min_mtu(AF_INET, 0, err, sizeof(err)), 0);
	assert_int_equal(tnl_tx_check_min_mtu(AF_INET, 576, err, sizeof(err)),
	    0);
	assert_int_equal(tnl_tx_check_min_mtu(AF_INET, 65535, err,
	    sizeof(err)), 0);
	assert_int_equal(tnl_tx_check_min_mtu(AF_INET, 575, err, sizeof(err)),
	    EINVAL);
	assert_string_equal(err, "invalid min-mtu '575' over IPv4 (0 for none, "
	    "or 576 to 65535)");
	assert_int_equal(tnl_tx_check_min_mtu(AF_INET6, 1279, err,
	    sizeof(err)), EINVAL);
	assert_string_equal(err, "invalid min-mtu '1279' over IPv6 (0 for "
	    "none, or 1280 to 65535)");
	assert_int_equal(tnl_tx_check_min_mtu(AF_INET6, 65536, err,
	    sizeof(err)), EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_and_one),
		cmocka_unit_test(test_equal_lengths_make_one_run),
		cmocka_unit_test(test_shorter_last_ends_the_run),
		cmocka_unit_test(test_longer_starts_a_new_run),
		cmocka_unit_test(test_different_lengths_one_each),
		cmocka_unit_test(test_at_most_64_datagrams),
		cmocka_unit_test(test_at_most_64_kib),
		cmocka_unit_test(test_send_failure_policy),
		cmocka_unit_test(test_min_mtu_floors_path_and_link),
		cmocka_unit_test(test_min_mtu_range_by_family),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
