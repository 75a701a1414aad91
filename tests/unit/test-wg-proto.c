/*
 * test-wg-proto.c - the WireGuard protocol core without sockets: BLAKE2s,
 * HMAC and KDF against independent values (RFC 7693 appendix B, and
 * CPython's hashlib/hmac for the keyed and HMAC ones), keys against the
 * real `wg` tool's output, whole handshakes between two identities in
 * memory (with and without a preshared key), data messages, mac1/mac2 and
 * the cookie flow, and the replay window.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <blake2.h>
#include <sodium.h>

#include "tunnel/wg-cookie.h"
#include "tunnel/wg-hash.h"
#include "tunnel/wg-key.h"
#include "tunnel/wg-noise.h"
#include "tunnel/wg-proto.h"
#include "tunnel/wg-replay.h"

static void
hex(uint8_t *out, const char *s, size_t n)
{
	size_t	got;

	assert_int_equal(sodium_hex2bin(out, n, s, strlen(s), NULL, &got,
	    NULL), 0);
	assert_int_equal(got, n);
}

static void
assert_hex(const uint8_t *p, const char *s, size_t n)
{
	uint8_t	want[64];

	hex(want, s, n);
	assert_memory_equal(p, want, n);
}

static void
test_blake2s(void **state)
{
	uint8_t	out[WG_HASH_LEN], key[32], in[64];
	size_t	i;

	(void)state;
	/* RFC 7693 appendix B: BLAKE2s-256("abc"), here as "a" || "bc". */
	wg_hash2(out, "a", 1, "bc", 2);
	assert_hex(out, "508c5e8c327c14e2e1a72ba34eeb452f"
	    "37458b209ed63a294d999b4c86675982", 32);
	wg_hash2(out, "abc", 3, NULL, 0);
	assert_hex(out, "508c5e8c327c14e2e1a72ba34eeb452f"
	    "37458b209ed63a294d999b4c86675982", 32);

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	/* Keyed, empty input (the BLAKE2 reference's blake2s-kat). */
	assert_int_equal(blake2s(out, NULL, key, 32, 0, 32), 0);
	assert_hex(out, "48a8997da407876b3d79c0d92325ad3b"
	    "89cbb754d86ab71aee047ad345fd2c49", 32);
	/* MAC: keyed with a 16-byte output (hashlib.blake2s digest_size=16). */
	wg_mac(out, key, sizeof(key), in, sizeof(in));
	assert_hex(out, "f1efa90d2547036841ecd3627fafbc36", 16);
}

static void
test_hmac_kdf(void **state)
{
	uint8_t	key[WG_HASH_LEN], out[WG_HASH_LEN], t1[32], t2[32], t3[32];
	uint8_t	u1[32], u2[32];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	/* hmac.new(bytes(range(32)), b"WireGuard", hashlib.blake2s) */
	wg_hmac(out, key, "WireGuard", 9);
	assert_hex(out, "5415924543576b3f5ee867c94e1aab70"
	    "586d33b32fae3fccd2c635b3e1d7198d", 32);

	/* t0 = HMAC(key, in), t1 = HMAC(t0, 1), ti = HMAC(t0, t(i-1) || i) */
	wg_kdf(t1, t2, t3, key, "WireGuard", 9);
	assert_hex(t1, "7e615ce2573f4139b960d562ec463daf"
	    "7164bd86a0a64c0adc374ff2655769f3", 32);
	assert_hex(t2, "42dbbd4438e101cd2c2ea8d05ed6716b"
	    "f87489aea47ece2f06358835670130bf", 32);
	assert_hex(t3, "5c58c1d9808a5bfdf8f38f6487248985"
	    "c04f4b6d0fe427516935a0f6903b0157", 32);
	/* KDF1 and KDF2 are prefixes of KDF3, and t1 may be the key. */
	wg_kdf(u1, u2, NULL, key, "WireGuard", 9);
	assert_memory_equal(u1, t1, 32);
	assert_memory_equal(u2, t2, 32);
	memcpy(u1, key, 32);
	wg_kdf(u1, NULL, NULL, u1, "WireGuard", 9);
	assert_memory_equal(u1, t1, 32);
}

/* Made with Debian's wireguard-tools: wg genkey | tee k | wg pubkey */
#define WG_PRIV_B64	"2BcFUQFMhayiG6vvlHkb97VF1m6++DbeUBb6OIHruV0="
#define WG_PUB_B64	"HoqRk2fom21IX5mu1moAb5EmzyCeEOwbRlcMWoARfXw="

static void
test_keys(void **state)
{
	uint8_t	priv[WG_KEY_LEN], pub[WG_KEY_LEN], pub2[WG_KEY_LEN];
	char	b64[WG_KEY_B64_LEN];
	uint8_t	zero[WG_KEY_LEN] = { 0 };

	(void)state;
	assert_int_equal(wg_key_from_base64(priv, WG_PRIV_B64), 0);
	assert_int_equal(wg_key_public(pub, priv), 0);
	wg_key_to_base64(b64, pub);
	assert_string_equal(b64, WG_PUB_B64);
	wg_key_to_base64(b64, priv);
	assert_string_equal(b64, WG_PRIV_B64);
	assert_int_equal(wg_key_from_base64(pub2, WG_PUB_B64), 0);
	assert_memory_equal(pub, pub2, WG_KEY_LEN);

	/* 43 and 45 characters, a foreign character, no '=', spare bits. */
	assert_int_equal(wg_key_from_base64(pub2,
	    "HoqRk2fom21IX5mu1moAb5EmzyCeEOwbRlcMWoARfXw"), EINVAL);
	assert_int_equal(wg_key_from_base64(pub2,
	    "HoqRk2fom21IX5mu1moAb5EmzyCeEOwbRlcMWoARfXw=\n"), EINVAL);
	assert_int_equal(wg_key_from_base64(pub2,
	    "HoqRk2fom21IX5mu1moAb5Em-yCeEOwbRlcMWoARfXw="), EINVAL);
	assert_int_equal(wg_key_from_base64(pub2,
	    "HoqRk2fom21IX5mu1moAb5EmzyCeEOwbRlcMWoARfXwA"), EINVAL);
	assert_int_equal(wg_key_from_base64(pub2,
	    "HoqRk2fom21IX5mu1moAb5EmzyCeEOwbRlcMWoARfXx="), EINVAL);
	assert_int_equal(wg_key_from_base64(pub2, ""), EINVAL);

	/* Fresh keys come clamped and give a public key. */
	wg_key_generate(priv);
	assert_int_equal(priv[0] & 7, 0);
	assert_int_equal(priv[31] & 0xc0, 0x40);
	assert_int_equal(wg_key_public(pub, priv), 0);
	assert_memory_not_equal(pub, zero, WG_KEY_LEN);
}

/* Two sides of a handshake, each with the other as its one peer. */
struct side {
	struct wg_identity	id;
	struct wg_peer_keys	peer;
	struct wg_handshake	hs;
	struct wg_cookie_jar	jar;
	struct wg_keypair	kp;
	int			tag;	/* what lookup hands back */
};

static const struct wg_peer_keys *
lookup(void *arg, const uint8_t pub[WG_KEY_LEN], void **peer_arg)
{
	struct side	*s = arg;

	if (memcmp(pub, s->peer.pub, WG_KEY_LEN) != 0)
		return NULL;
	*peer_arg = &s->tag;
	return &s->peer;
}

static void
sides_init(struct side *a, struct side *b, const uint8_t *psk_a,
    const uint8_t *psk_b)
{
	uint8_t	priv[WG_KEY_LEN];

	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	wg_key_generate(priv);
	assert_int_equal(wg_identity_init(&a->id, priv), 0);
	wg_key_generate(priv);
	assert_int_equal(wg_identity_init(&b->id, priv), 0);
	assert_int_equal(wg_peer_keys_init(&a->peer, &a->id, b->id.pub, psk_a),
	    0);
	assert_int_equal(wg_peer_keys_init(&b->peer, &b->id, a->id.pub, psk_b),
	    0);
	/* The static-static DH is the same on both sides. */
	assert_memory_equal(a->peer.ss, b->peer.ss, WG_KEY_LEN);
	a->tag = 1;
	b->tag = 2;
}

/* a initiates to b: 0, or the first failure. */
static int
handshake(struct side *a, struct side *b, uint8_t ts_out[WG_TIMESTAMP_LEN])
{
	uint8_t			 init[WG_INIT_LEN], resp[WG_RESP_LEN];
	uint8_t			 ts[WG_TIMESTAMP_LEN], got_ts[WG_TIMESTAMP_LEN];
	struct wg_handshake	 scratch;
	void			*parg = NULL;
	int			 rc;

	wg_timestamp_now(ts);
	wg_init_create(&a->hs, &a->id, &a->peer, 0x11223344, ts, init);
	assert_int_equal(a->hs.state, WG_HS_INIT_SENT);
	wg_macs_fill(&a->jar, &a->peer, init, sizeof(init), 100);
	assert_int_equal(wg_msg_classify(init, sizeof(init)), WG_MSG_INIT);
	assert_true(wg_mac1_ok(&b->id, init, sizeof(init)));
	assert_false(wg_mac1_ok(&a->id, init, sizeof(init)));

	rc = wg_init_consume(&scratch, &b->id, init, lookup, b, &parg, got_ts);
	if (rc != 0)
		return rc;
	assert_ptr_equal(parg, &b->tag);
	assert_memory_equal(got_ts, ts, WG_TIMESTAMP_LEN);
	if (ts_out != NULL)
		memcpy(ts_out, got_ts, WG_TIMESTAMP_LEN);
	assert_int_equal(scratch.state, WG_HS_INIT_CONSUMED);
	assert_int_equal(scratch.remote_index, 0x11223344);
	b->hs = scratch;

	wg_resp_create(&b->hs, &b->peer, 0x55667788, resp, &b->kp);
	assert_int_equal(b->hs.state, WG_HS_NONE);
	wg_macs_fill(&b->jar, &b->peer, resp, sizeof(resp), 100);
	assert_int_equal(wg_msg_classify(resp, sizeof(resp)), WG_MSG_RESP);
	assert_int_equal(wg_msg_receiver(resp), 0x11223344);
	assert_true(wg_mac1_ok(&a->id, resp, sizeof(resp)));
	return wg_resp_consume(&a->hs, &a->id, &a->peer, resp, &a->kp);
}

static void
assert_keypairs_agree(const struct side *a, const struct side *b)
{
	assert_memory_equal(a->kp.send_key, b->kp.recv_key, WG_KEY_LEN);
	assert_memory_equal(a->kp.recv_key, b->kp.send_key, WG_KEY_LEN);
	assert_memory_not_equal(a->kp.send_key, a->kp.recv_key, WG_KEY_LEN);
	assert_true(a->kp.initiator);
	assert_false(b->kp.initiator);
	assert_int_equal(a->kp.local_index, 0x11223344);
	assert_int_equal(a->kp.remote_index, 0x55667788);
	assert_int_equal(b->kp.local_index, 0x55667788);
	assert_int_equal(b->kp.remote_index, 0x11223344);
	assert_int_equal(a->hs.state, WG_HS_NONE);
}

static void
test_handshake(void **state)
{
	struct side	a, b, a2, b2;
	uint8_t		psk[WG_KEY_LEN], psk2[WG_KEY_LEN];

	(void)state;
	sides_init(&a, &b, NULL, NULL);
	assert_int_equal(handshake(&a, &b, NULL), 0);
	assert_keypairs_agree(&a, &b);
	/* The same identities again: fresh ephemerals, fresh keys. */
	a2 = a;
	b2 = b;
	assert_int_equal(handshake(&a2, &b2, NULL), 0);
	assert_keypairs_agree(&a2, &b2);
	assert_memory_not_equal(a.kp.send_key, a2.kp.send_key, WG_KEY_LEN);

	/* With the same preshared key on both sides. */
	randombytes_buf(psk, sizeof(psk));
	sides_init(&a, &b, psk, psk);
	assert_int_equal(handshake(&a, &b, NULL), 0);
	assert_keypairs_agree(&a, &b);

	/* Different ones: the response does not open, nothing changes. */
	memcpy(psk2, psk, sizeof(psk2));
	psk2[7] ^= 1;
	sides_init(&a, &b, psk, psk2);
	assert_int_equal(handshake(&a, &b, NULL), EBADMSG);
	assert_int_equal(a.hs.state, WG_HS_INIT_SENT);
	sides_init(&a, &b, psk, NULL);
	assert_int_equal(handshake(&a, &b, NULL), EBADMSG);

	/* A responder that does not know the initiator's key. */
	sides_init(&a, &b, NULL, NULL);
	b.peer.pub[0] ^= 1;
	assert_int_equal(handshake(&a, &b, NULL), EBADMSG);
	wg_identity_wipe(&a.id);
	wg_peer_keys_wipe(&a.peer);
	assert_memory_equal(a.id.priv, (uint8_t [WG_KEY_LEN]){ 0 }, WG_KEY_LEN);
}

static void
test_handshake_tampered(void **state)
{
	struct side		 a, b, x;
	uint8_t			 init[WG_INIT_LEN], bad[WG_INIT_LEN];
	uint8_t			 resp[WG_RESP_LEN], ts[WG_TIMESTAMP_LEN];
	struct wg_handshake	 scratch;
	void			*parg;
	size_t			 i;
	static const uint8_t	 low_order[WG_KEY_LEN] = { 0 };

	(void)state;
	sides_init(&a, &b, NULL, NULL);
	wg_timestamp_now(ts);
	wg_init_create(&a.hs, &a.id, &a.peer, 1, ts, init);
	wg_macs_fill(&a.jar, &a.peer, init, sizeof(init), 0);

	/* Any flipped bit before the macs: refused, scratch untouched. */
	for (i = 0; i < WG_INIT_LEN - WG_MACS_LEN; i++) {
		memcpy(bad, init, sizeof(bad));
		bad[i] ^= 0x20;
		if (i >= 4 && i < 8)
			continue;	/* the sender index is not authenticated */
		memset(&scratch, 0xa5, sizeof(scratch));
		assert_false(wg_mac1_ok(&b.id, bad, sizeof(bad)));
		assert_int_equal(wg_init_consume(&scratch, &b.id, bad, lookup,
		    &b, &parg, ts), EBADMSG);
		assert_int_equal(scratch.state, (enum wg_hs_state)0xa5a5a5a5);
	}
	/* A bad mac1 alone. */
	memcpy(bad, init, sizeof(bad));
	bad[WG_INIT_LEN - WG_MACS_LEN] ^= 1;
	assert_false(wg_mac1_ok(&b.id, bad, sizeof(bad)));
	assert_false(wg_mac1_ok(&b.id, init, sizeof(init) - 1));

	/* An all-zero ephemeral is a low-order point. */
	memcpy(bad, init, sizeof(bad));
	memcpy(bad + 8, low_order, WG_KEY_LEN);
	assert_int_equal(wg_init_consume(&scratch, &b.id, bad, lookup, &b,
	    &parg, ts), EBADMSG);
	/* So is an all-zero peer key. */
	assert_int_equal(wg_peer_keys_init(&x.peer, &a.id, low_order, NULL),
	    EINVAL);

	/* The real one, then a response tampered with in each byte. */
	assert_int_equal(wg_init_consume(&scratch, &b.id, init, lookup, &b,
	    &parg, ts), 0);
	wg_resp_create(&scratch, &b.peer, 2, resp, &b.kp);
	for (i = 4; i < WG_RESP_LEN - WG_MACS_LEN; i++) {
		uint8_t	r[WG_RESP_LEN];

		memcpy(r, resp, sizeof(r));
		r[i] ^= 0x01;
		if (i < 8)
			continue;	/* the sender index is not authenticated */
		assert_int_equal(wg_resp_consume(&a.hs, &a.id, &a.peer, r,
		    &a.kp), EBADMSG);
		assert_int_equal(a.hs.state, WG_HS_INIT_SENT);
	}
	assert_int_equal(wg_resp_consume(&a.hs, &a.id, &a.peer, resp, &a.kp),
	    0);
	/* Once only: the handshake is gone. */
	assert_int_equal(wg_resp_consume(&a.hs, &a.id, &a.peer, resp, &a.kp),
	    EBADMSG);
}

static void
test_timestamp(void **state)
{
	uint8_t		ts[WG_TIMESTAMP_LEN];
	uint64_t	sec = 0;
	uint32_t	nsec = 0;
	time_t		now = time(NULL);
	int		i;

	(void)state;
	wg_timestamp_now(ts);
	for (i = 0; i < 8; i++)
		sec = sec << 8 | ts[i];
	for (i = 8; i < 12; i++)
		nsec = nsec << 8 | ts[i];
	assert_true(sec >= 0x400000000000000aULL + (uint64_t)now);
	assert_true(sec <= 0x400000000000000aULL + (uint64_t)now + 2);
	assert_true(nsec < 1000000000);
}

static void
test_data(void **state)
{
	struct side	a, b, c, d;
	uint8_t		buf[WG_DATA_HLEN + 256 + WG_TAG_LEN];
	uint8_t		in[200], copy[sizeof(buf)];
	uint8_t		*pay = buf + WG_DATA_HLEN;
	uint64_t	ctr;
	size_t		n, plen;

	(void)state;
	sides_init(&a, &b, NULL, NULL);
	assert_int_equal(handshake(&a, &b, NULL), 0);
	for (n = 0; n < sizeof(in); n++)
		in[n] = (uint8_t)(n * 7 + 1);

	/* In place, one contiguous datagram; 17 bytes pad to 32. */
	memcpy(pay, in, 17);
	n = wg_data_seal(&a.kp, 5, pay, 17, 1420, buf, pay);
	assert_int_equal(n, 32 + WG_TAG_LEN);
	assert_int_equal(wg_msg_classify(buf, WG_DATA_HLEN + n), WG_MSG_DATA);
	assert_int_equal(wg_msg_receiver(buf), b.kp.local_index);
	memcpy(copy, buf, sizeof(buf));
	assert_int_equal(wg_data_open(&b.kp, buf, WG_DATA_HLEN + n, &ctr,
	    &plen), 0);
	assert_int_equal(ctr, 5);
	assert_int_equal(plen, 32);
	assert_memory_equal(pay, in, 17);
	assert_memory_equal(pay + 17, (uint8_t [15]){ 0 }, 15);

	/* A flipped bit anywhere but the receiver, the wrong direction. */
	for (size_t i = 0; i < WG_DATA_HLEN + n; i++) {
		if (i >= 4 && i < 8)
			continue;	/* the receiver only picks the keys */
		memcpy(buf, copy, sizeof(buf));
		buf[i] ^= 0x80;
		assert_int_equal(wg_data_open(&b.kp, buf, WG_DATA_HLEN + n,
		    &ctr, &plen), EBADMSG);
	}
	memcpy(buf, copy, sizeof(buf));
	assert_int_equal(wg_data_open(&a.kp, buf, WG_DATA_HLEN + n, &ctr,
	    &plen), EBADMSG);
	/* Another session's keys. */
	sides_init(&c, &d, NULL, NULL);
	assert_int_equal(handshake(&c, &d, NULL), 0);
	memcpy(buf, copy, sizeof(buf));
	assert_int_equal(wg_data_open(&d.kp, buf, WG_DATA_HLEN + n, &ctr,
	    &plen), EBADMSG);
	assert_int_equal(wg_data_open(&b.kp, buf, WG_DATA_MIN - 1, &ctr,
	    &plen), EBADMSG);

	/* Padding stops at pad_max, and never cuts the packet. */
	n = wg_data_seal(&b.kp, 1, in, 17, 20, buf, pay);
	assert_int_equal(n, 20 + WG_TAG_LEN);
	n = wg_data_seal(&b.kp, 1, in, 30, 20, buf, pay);
	assert_int_equal(n, 30 + WG_TAG_LEN);
	n = wg_data_seal(&b.kp, 1, in, 32, 1420, buf, pay);
	assert_int_equal(n, 32 + WG_TAG_LEN);
	/* Separate in and out, the other direction. */
	n = wg_data_seal(&b.kp, 1ULL << 40, in, 200, 1420, buf, pay);
	assert_int_equal(n, 208 + WG_TAG_LEN);
	assert_int_equal(wg_data_open(&a.kp, buf, WG_DATA_HLEN + n, &ctr,
	    &plen), 0);
	assert_int_equal(ctr, 1ULL << 40);
	assert_int_equal(plen, 208);
	assert_memory_equal(pay, in, 200);

	/* A keepalive: no payload at all. */
	n = wg_data_seal(&a.kp, 6, NULL, 0, 1420, buf, pay);
	assert_int_equal(n, WG_TAG_LEN);
	assert_int_equal(wg_msg_classify(buf, WG_DATA_MIN), WG_MSG_DATA);
	assert_int_equal(wg_data_open(&b.kp, buf, WG_DATA_MIN, &ctr, &plen),
	    0);
	assert_int_equal(ctr, 6);
	assert_int_equal(plen, 0);
}

static void
test_classify(void **state)
{
	uint8_t	m[256] = { 0 };

	(void)state;
	m[0] = WG_MSG_INIT;
	assert_int_equal(wg_msg_classify(m, WG_INIT_LEN), WG_MSG_INIT);
	assert_int_equal(wg_msg_classify(m, WG_INIT_LEN - 1), 0);
	assert_int_equal(wg_msg_classify(m, WG_INIT_LEN + 1), 0);
	m[0] = WG_MSG_RESP;
	assert_int_equal(wg_msg_classify(m, WG_RESP_LEN), WG_MSG_RESP);
	assert_int_equal(wg_msg_classify(m, WG_RESP_LEN + 16), 0);
	m[0] = WG_MSG_COOKIE;
	assert_int_equal(wg_msg_classify(m, WG_COOKIE_MSG_LEN), WG_MSG_COOKIE);
	assert_int_equal(wg_msg_classify(m, WG_COOKIE_MSG_LEN - 1), 0);
	m[0] = WG_MSG_DATA;
	assert_int_equal(wg_msg_classify(m, WG_DATA_MIN), WG_MSG_DATA);
	assert_int_equal(wg_msg_classify(m, 200), WG_MSG_DATA);
	assert_int_equal(wg_msg_classify(m, WG_DATA_MIN - 1), 0);
	/* The reserved bytes are part of the type. */
	m[3] = 1;
	assert_int_equal(wg_msg_classify(m, WG_DATA_MIN), 0);
	m[3] = 0;
	m[0] = 5;
	assert_int_equal(wg_msg_classify(m, WG_DATA_MIN), 0);
	m[0] = 0;
	assert_int_equal(wg_msg_classify(m, WG_DATA_MIN), 0);
	assert_int_equal(wg_msg_classify(m, 3), 0);
	assert_int_equal(wg_msg_classify(m, 0), 0);
}

static void
addr4(struct sockaddr_in *sin, const char *ip, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
}

static void
test_cookie(void **state)
{
	struct side			a, b;
	struct wg_cookie_checker	chk;
	struct sockaddr_in		src, other_port, other_ip;
	struct sockaddr_in6		src6;
	uint8_t				init[WG_INIT_LEN], reply[WG_COOKIE_MSG_LEN];
	uint8_t				bad[WG_COOKIE_MSG_LEN];
	uint8_t				ts[WG_TIMESTAMP_LEN];
	uint8_t				zero[WG_MAC_LEN] = { 0 };
	uint64_t			now = 1000;

	(void)state;
	sides_init(&a, &b, NULL, NULL);
	wg_cookie_checker_init(&chk);
	addr4(&src, "198.18.0.1", 51820);
	addr4(&other_port, "198.18.0.1", 51821);
	addr4(&other_ip, "198.18.0.2", 51820);
	memset(&src6, 0, sizeof(src6));
	src6.sin6_family = AF_INET6;
	src6.sin6_port = htons(51820);
	assert_int_equal(inet_pton(AF_INET6, "fd00:5657::1", &src6.sin6_addr),
	    1);

	/* Without a cookie, mac2 is zero and refused. */
	wg_timestamp_now(ts);
	wg_init_create(&a.hs, &a.id, &a.peer, 0xabcdef01, ts, init);
	wg_macs_fill(&a.jar, &a.peer, init, sizeof(init), now);
	assert_memory_equal(init + WG_INIT_LEN - WG_MAC_LEN, zero, WG_MAC_LEN);
	assert_true(wg_mac1_ok(&b.id, init, sizeof(init)));
	assert_false(wg_mac2_ok(&chk, init, sizeof(init),
	    (struct sockaddr *)&src, now));

	/* The reply names the initiation's sender. */
	wg_cookie_reply_create(&chk, &b.id, init, sizeof(init),
	    (struct sockaddr *)&src, now, reply);
	assert_int_equal(wg_msg_classify(reply, sizeof(reply)), WG_MSG_COOKIE);
	assert_int_equal(wg_msg_receiver(reply), 0xabcdef01);
	/* Tampered, or opened with another peer's key: refused. */
	memcpy(bad, reply, sizeof(bad));
	bad[40] ^= 1;
	assert_int_equal(wg_cookie_reply_consume(&a.jar, &a.peer, bad, now),
	    EBADMSG);
	assert_false(a.jar.has_cookie);
	assert_int_equal(wg_cookie_reply_consume(&a.jar, &a.peer, reply, now),
	    0);
	assert_true(a.jar.has_cookie);
	/* A second (replayed) reply to the same message finds nothing. */
	assert_int_equal(wg_cookie_reply_consume(&a.jar, &a.peer, reply, now),
	    EBADMSG);

	/* The next initiation carries mac2, good from that source only. */
	now += 5;
	wg_init_create(&a.hs, &a.id, &a.peer, 0xabcdef02, ts, init);
	wg_macs_fill(&a.jar, &a.peer, init, sizeof(init), now);
	assert_true(wg_mac1_ok(&b.id, init, sizeof(init)));
	assert_true(wg_mac2_ok(&chk, init, sizeof(init),
	    (struct sockaddr *)&src, now));
	assert_false(wg_mac2_ok(&chk, init, sizeof(init),
	    (struct sockaddr *)&other_port, now));
	assert_false(wg_mac2_ok(&chk, init, sizeof(init),
	    (struct sockaddr *)&other_ip, now));
	assert_false(wg_mac2_ok(&chk, init, sizeof(init) - 1,
	    (struct sockaddr *)&src, now));

	/* IPv6 sources, and a reply to a response works the same way. */
	wg_cookie_reply_create(&chk, &b.id, init, sizeof(init),
	    (struct sockaddr *)&src6, now, reply);
	assert_int_equal(wg_cookie_reply_consume(&a.jar, &a.peer, reply, now),
	    0);
	wg_macs_fill(&a.jar, &a.peer, init, sizeof(init), now);
	assert_true(wg_mac2_ok(&chk, init, sizeof(init),
	    (struct sockaddr *)&src6, now));
	assert_false(wg_mac2_ok(&chk, init, sizeof(init),
	    (struct sockaddr *)&src, now));

	/* The jar forgets the cookie after WG_COOKIE_MAX_AGE. */
	wg_macs_fill(&a.jar, &a.peer, init, sizeof(init),
	    now + WG_COOKIE_MAX_AGE);
	assert_memory_equal(init + WG_INIT_LEN - WG_MAC_LEN, zero, WG_MAC_LEN);
	/* The checker's secret rotates: old cookies end. */
	wg_macs_fill(&a.jar, &a.peer, init, sizeof(init), now);
	assert_true(wg_mac2_ok(&chk, init, sizeof(init),
	    (struct sockaddr *)&src6, now + 1));
	assert_false(wg_mac2_ok(&chk, init, sizeof(init),
	    (struct sockaddr *)&src6, now + WG_COOKIE_SECRET_MAX_AGE));
	wg_cookie_checker_wipe(&chk);
}

static void
test_replay(void **state)
{
	struct wg_replay	r;
	uint64_t		i, top;

	(void)state;
	wg_replay_init(&r);
	/* In order, and each once. */
	for (i = 0; i < 3 * WG_REPLAY_WINDOW; i++)
		assert_true(wg_replay_check(&r, i));
	for (i = 3 * WG_REPLAY_WINDOW - 100; i < 3 * WG_REPLAY_WINDOW; i++)
		assert_false(wg_replay_check(&r, i));

	/* Out of order within the window; the window's far edge. */
	wg_replay_init(&r);
	top = 100000;
	assert_true(wg_replay_check(&r, top));
	assert_true(wg_replay_check(&r, top - 1));
	assert_true(wg_replay_check(&r, top - 1000));
	assert_false(wg_replay_check(&r, top - 1000));
	assert_true(wg_replay_check(&r, top - WG_REPLAY_WINDOW));
	assert_false(wg_replay_check(&r, top - WG_REPLAY_WINDOW));
	assert_false(wg_replay_check(&r, top - WG_REPLAY_WINDOW - 1));
	assert_false(wg_replay_check(&r, 0));
	assert_false(wg_replay_check(&r, top));
	/* Every counter in the window, in reverse, exactly once. */
	wg_replay_init(&r);
	assert_true(wg_replay_check(&r, top));
	for (i = top - 1; i >= top - WG_REPLAY_WINDOW; i--)
		assert_true(wg_replay_check(&r, i));
	for (i = top; i >= top - WG_REPLAY_WINDOW - 5; i--)
		assert_false(wg_replay_check(&r, i));

	/* A jump of more than the window forgets everything before. */
	assert_true(wg_replay_check(&r, top + 3 * WG_REPLAY_WINDOW));
	assert_false(wg_replay_check(&r, top));
	assert_true(wg_replay_check(&r, top + 2 * WG_REPLAY_WINDOW + 1));
	assert_true(wg_replay_check(&r, top + 3 * WG_REPLAY_WINDOW - 1));
	assert_false(wg_replay_check(&r, top + 3 * WG_REPLAY_WINDOW));
	/* A jump of just over one word keeps what is still in the window. */
	assert_true(wg_replay_check(&r, top + 3 * WG_REPLAY_WINDOW + 70));
	assert_false(wg_replay_check(&r, top + 3 * WG_REPLAY_WINDOW - 1));
	assert_true(wg_replay_check(&r, top + 3 * WG_REPLAY_WINDOW + 69));

	/* The end of a session's counters. */
	wg_replay_init(&r);
	assert_true(wg_replay_check(&r, WG_REJECT_AFTER_MESSAGES - 1));
	assert_false(wg_replay_check(&r, WG_REJECT_AFTER_MESSAGES));
	assert_false(wg_replay_check(&r, UINT64_MAX));
	assert_true(wg_replay_check(&r, WG_REJECT_AFTER_MESSAGES - 2));
	assert_false(wg_replay_check(&r, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blake2s),
		cmocka_unit_test(test_hmac_kdf),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_handshake_tampered),
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_data),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_replay),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
