/*
 * test-tunnel-wire.c - the VXLAN and GRE headers, built and parsed, and
 * the flow hash that picks a source port.
 *
 * Parsers are also fed random bytes in buffers of exactly their length,
 * so that the sanitizer build catches any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tunnel/gre.h"
#include "tunnel/tnl-tx.h"
#include "tunnel/tnl.h"
#include "tunnel/vxlan.h"

/* Parses len bytes copied to a heap buffer of exactly that size. */
static int
parse_exact(const struct tnl_proto *proto, const uint8_t *bytes, size_t len,
    struct tnl_rx *rx)
{
	uint8_t	*buf = malloc(len ? len : 1);
	int	 rc;

	assert_non_null(buf);
	memcpy(buf, bytes, len);
	rc = proto->parse(buf, len, rx);
	free(buf);
	return rc;
}

static void
assert_drop(const struct tnl_proto *proto, const uint8_t *bytes, size_t len,
    enum tnl_drop why)
{
	struct tnl_rx	rx;

	assert_int_equal(parse_exact(proto, bytes, len, &rx), -1);
	assert_int_equal(rx.drop, why);
}

static void
test_vxlan_build(void **state)
{
	uint8_t	hdr[TNL_HDR_MAX];

	(void)state;
	assert_int_equal(tnl_vxlan.build(hdr, true, 42, TNL_PROTO_TEB), 8);
	assert_memory_equal(hdr, ((uint8_t[]){ 0x08, 0, 0, 0, 0, 0, 42, 0 }),
	    8);
	assert_int_equal(tnl_vxlan.build(hdr, true, 0xabcdef, TNL_PROTO_TEB),
	    8);
	assert_memory_equal(hdr,
	    ((uint8_t[]){ 0x08, 0, 0, 0, 0xab, 0xcd, 0xef, 0 }), 8);
	/* No VNI given: VNI 1. */
	tnl_vxlan.build(hdr, false, 0, TNL_PROTO_TEB);
	assert_memory_equal(hdr, ((uint8_t[]){ 0x08, 0, 0, 0, 0, 0, 1, 0 }),
	    8);
	assert_string_equal(tnl_vxlan.name, "vxlan");
	assert_int_equal(tnl_vxlan.port, 4789);
}

static void
test_vxlan_parse(void **state)
{
	struct tnl_rx	rx;
	uint8_t		h[] = { 0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0, 0xee };

	(void)state;
	assert_int_equal(parse_exact(&tnl_vxlan, h, sizeof(h), &rx), 0);
	assert_int_equal(rx.hlen, 8);
	assert_true(rx.has_key);
	assert_int_equal(rx.key, 0x123456);
	assert_int_equal(rx.payload, TNL_PAYLOAD_ETH);

	/* Reserved bits are ignored on receipt (RFC 7348 section 5). */
	h[0] = 0xff;
	h[1] = h[2] = h[3] = h[7] = 0x5a;
	assert_int_equal(parse_exact(&tnl_vxlan, h, 8, &rx), 0);
	assert_int_equal(rx.key, 0x123456);

	h[0] = 0xf7;				/* every flag but I */
	assert_drop(&tnl_vxlan, h, 8, TNL_DROP_BAD_FLAGS);
	h[0] = 0x08;
	for (size_t len = 0; len < 8; len++)
		assert_drop(&tnl_vxlan, h, len, TNL_DROP_TRUNCATED);
}

static void
test_gre_build(void **state)
{
	uint8_t	hdr[TNL_HDR_MAX];

	(void)state;
	assert_int_equal(tnl_gre.build(hdr, false, 0, TNL_PROTO_TEB), 4);
	assert_memory_equal(hdr, ((uint8_t[]){ 0, 0, 0x65, 0x58 }), 4);
	assert_int_equal(tnl_gre.build(hdr, true, 0x01020304, TNL_PROTO_TEB),
	    8);
	assert_memory_equal(hdr,
	    ((uint8_t[]){ 0x20, 0, 0x65, 0x58, 1, 2, 3, 4 }), 8);
	assert_int_equal(tnl_gre.build(hdr, true, 7, TNL_PROTO_IPV6), 8);
	assert_memory_equal(hdr,
	    ((uint8_t[]){ 0x20, 0, 0x86, 0xdd, 0, 0, 0, 7 }), 8);
	assert_string_equal(tnl_gre.name, "gre");
	assert_int_equal(tnl_gre.port, 4754);
}

/* Writes the RFC 1071 checksum of len bytes at p + 4. */
static void
gre_sum(uint8_t *p, size_t len)
{
	uint32_t	sum = 0;

	p[4] = p[5] = 0;
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | (i + 1 < len ? p[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	p[4] = (uint8_t)(~sum >> 8);
	p[5] = (uint8_t)~sum;
}

static void
test_gre_parse(void **state)
{
	struct tnl_rx	rx;
	uint8_t		h[32] = { 0, 0, 0x65, 0x58 };

	(void)state;
	assert_int_equal(parse_exact(&tnl_gre, h, 18, &rx), 0);
	assert_int_equal(rx.hlen, 4);
	assert_false(rx.has_key);
	assert_int_equal(rx.payload, TNL_PAYLOAD_ETH);

	/* Key. */
	memcpy(h, (uint8_t[]){ 0x20, 0, 0x65, 0x58, 0, 0, 1, 0 }, 8);
	assert_int_equal(parse_exact(&tnl_gre, h, 8, &rx), 0);
	assert_int_equal(rx.hlen, 8);
	assert_true(rx.has_key);
	assert_int_equal(rx.key, 256);
	assert_drop(&tnl_gre, h, 7, TNL_DROP_TRUNCATED);

	/* Checksum, key and sequence number: 16 bytes, key after the sum. */
	memcpy(h, (uint8_t[]){ 0xb0, 0, 0x65, 0x58, 0, 0, 0, 0, 0, 0, 0, 9,
	    0, 0, 0, 5 }, 16);
	memset(h + 16, 0xa5, 15);
	gre_sum(h, 31);
	assert_int_equal(parse_exact(&tnl_gre, h, 31, &rx), 0);
	assert_int_equal(rx.hlen, 16);
	assert_int_equal(rx.key, 9);
	h[20] ^= 1;				/* payload changed */
	assert_drop(&tnl_gre, h, 31, TNL_DROP_BAD_CHECKSUM);
	assert_drop(&tnl_gre, h, 15, TNL_DROP_TRUNCATED);

	/* Bits 6-12 are ignored; R, s and the recursion MSB are not. */
	memcpy(h, (uint8_t[]){ 0x03, 0xf8, 0x65, 0x58 }, 4);
	assert_int_equal(parse_exact(&tnl_gre, h, 4, &rx), 0);
	for (uint16_t bit = 0x4000; bit >= 0x0400; bit >>= 1) {
		if (bit == 0x2000 || bit == 0x1000)
			continue;		/* K and S */
		h[0] = (uint8_t)(bit >> 8);
		h[1] = 0;
		assert_drop(&tnl_gre, h, 16, TNL_DROP_BAD_FLAGS);
	}

	/* Version 1 (PPTP) and up. */
	for (uint8_t v = 1; v < 8; v++) {
		memcpy(h, (uint8_t[]){ 0x20, v, 0x88, 0x0b }, 4);
		assert_drop(&tnl_gre, h, 16, TNL_DROP_BAD_VERSION);
	}

	/* IP payloads are told apart; anything else is refused. */
	memcpy(h, (uint8_t[]){ 0, 0, 0x08, 0x00 }, 4);
	assert_int_equal(parse_exact(&tnl_gre, h, 4, &rx), 0);
	assert_int_equal(rx.payload, TNL_PAYLOAD_IP);
	memcpy(h, (uint8_t[]){ 0, 0, 0x86, 0xdd }, 4);
	assert_int_equal(parse_exact(&tnl_gre, h, 4, &rx), 0);
	assert_int_equal(rx.payload, TNL_PAYLOAD_IP);
	memcpy(h, (uint8_t[]){ 0, 0, 0x88, 0x47 }, 4);
	assert_drop(&tnl_gre, h, 4, TNL_DROP_BAD_PROTO);
	for (size_t len = 0; len < 4; len++)
		assert_drop(&tnl_gre, h, len, TNL_DROP_TRUNCATED);
}

/* Random headers: never a read past the end, a header within the bytes. */
static void
test_parsers_on_random_bytes(void **state)
{
	const struct tnl_proto	*protos[] = { &tnl_vxlan, &tnl_gre };
	struct tnl_rx		 rx;
	uint8_t			 buf[40];
	unsigned		 ok[2] = { 0 };

	(void)state;
	srandom(7);
	for (int i = 0; i < 200000; i++) {
		size_t	len = (size_t)random() % sizeof(buf);

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)random();
		/* Make valid-looking GRE headers common enough to matter. */
		if (i % 2 && len >= 4) {
			buf[0] &= 0xb0;
			buf[1] &= 0xf8;
			buf[2] = 0x65;
			buf[3] = 0x58;
		}
		for (int k = 0; k < 2; k++) {
			memset(&rx, 0xff, sizeof(rx));
			if (parse_exact(protos[k], buf, len, &rx) == 0) {
				assert_true(rx.hlen <= len);
				ok[k]++;
			} else
				assert_true(rx.drop < TNL_DROP__MAX);
		}
	}
	assert_true(ok[0] > 1000 && ok[1] > 1000);
}

/* An Ethernet + IPv4 + UDP frame from port sport to port dport. */
static size_t
udp_frame(uint8_t *f, uint16_t sport, uint16_t dport, bool fragment)
{
	memset(f, 0, 64);
	memcpy(f, (uint8_t[]){ 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0 }, 14);
	f[14] = 0x45;
	f[20] = fragment ? 0x00 : 0x40;		/* DF, or offset 8 */
	f[21] = fragment ? 0x01 : 0x00;
	f[23] = 17;
	memcpy(f + 26, (uint8_t[]){ 198, 19, 0, 1, 198, 19, 0, 2 }, 8);
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[36] = (uint8_t)(dport >> 8);
	f[37] = (uint8_t)dport;
	return 64;
}

static void
test_flow_hash(void **state)
{
	uint8_t		f[64];
	uint32_t	first, h;
	unsigned	used[TNL_TX_SOCKS] = { 0 }, distinct = 0;

	(void)state;
	first = tnl_flow_hash(f, udp_frame(f, 1000, 53, false),
	    TNL_PAYLOAD_ETH);
	assert_int_equal(tnl_flow_hash(f, 64, TNL_PAYLOAD_ETH), first);
	/* The same packet seen as IP from its IP header hashes as a flow. */
	assert_int_equal(tnl_flow_hash(f + 14, 50, TNL_PAYLOAD_IP),
	    tnl_flow_hash(f + 14, 50, TNL_PAYLOAD_IP));

	for (uint16_t sport = 1000; sport < 1064; sport++) {
		h = tnl_flow_hash(f, udp_frame(f, sport, 53, false),
		    TNL_PAYLOAD_ETH);
		used[h % TNL_TX_SOCKS]++;
	}
	for (int i = 0; i < TNL_TX_SOCKS; i++)
		distinct += used[i] > 0;
	assert_int_equal(distinct, TNL_TX_SOCKS);

	/* Fragments carry no ports: all fragments of a flow hash alike. */
	first = tnl_flow_hash(f, udp_frame(f, 1, 2, true), TNL_PAYLOAD_ETH);
	assert_int_equal(tnl_flow_hash(f, udp_frame(f, 3, 4, true),
	    TNL_PAYLOAD_ETH), first);

	/* Short input is read no further than its end. */
	f[14] = 0x60;				/* and IPv6 too */
	for (size_t len = 0; len < 64; len++) {
		uint8_t	*p = malloc(len ? len : 1);

		assert_non_null(p);
		memcpy(p, f, len);
		tnl_flow_hash(p, len, TNL_PAYLOAD_ETH);
		tnl_flow_hash(p, len, TNL_PAYLOAD_IP);
		free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vxlan_build),
		cmocka_unit_test(test_vxlan_parse),
		cmocka_unit_test(test_gre_build),
		cmocka_unit_test(test_gre_parse),
		cmocka_unit_test(test_parsers_on_random_bytes),
		cmocka_unit_test(test_flow_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
