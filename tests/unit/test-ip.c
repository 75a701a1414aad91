/*
 * test-ip.c - ip.h's checksums against RFC 1071 done the slow way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "datapath/ip.h"

#include "rng.h"

/* Sixteen-bit big-endian words, one at a time, folded at the end. */
static uint16_t
reference_sum(const uint8_t *p, size_t len, uint32_t initial)
{
	uint64_t	sum = initial;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len % 2)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void
test_sum_matches_reference(void **state)
{
	static uint8_t	buf[4096 + 8];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t		off = rng(8), len = rng(i < 100 ? 16 : 4096);
		uint32_t	initial = rng(4) == 0 ? 0 : rng(0x3ffff);

		if (rng(8) == 0)
			memset(buf, 0xff, sizeof(buf));
		else
			rng_fill(buf, sizeof(buf));
		assert_int_equal(ip_sum(buf + off, len, initial),
		    reference_sum(buf + off, len, initial));
	}
}

static void
test_csum_of_a_known_header(void **state)
{
	/* RFC 1071's example words, and an IPv4 header from a capture. */
	static const uint8_t	words[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5,
				    0xf6, 0xf7 };
	static const uint8_t	ip4[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00,
				    0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0,
				    0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

	(void)state;
	assert_int_equal(ip_sum(words, sizeof(words), 0), 0xddf2);
	assert_int_equal(ip_csum(ip4, sizeof(ip4)), 0xb861);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum_matches_reference),
		cmocka_unit_test(test_csum_of_a_known_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
