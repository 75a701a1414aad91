/*
 * fuzz-wg-msg.c - libFuzzer target for every WireGuard message consumer
 * (tunnel/wg-*.c), sans sockets.
 *
 * Two identities A and B, each the other's one peer, from fixed keys; the
 * random bytes libsodium gives are a fixed stream (a randombytes
 * implementation of our own, set before sodium_init()), so A's initiation,
 * B's response and everything else below come out the same in every run
 * and the seeds stay valid messages:
 *	A --initiation (index 1)--> B --response (index 2)--> A
 * leaves A with a handshake in flight (restored before each input) and the
 * session's keys on both sides, and A's cookie jar waiting for a reply to
 * that initiation.
 *
 * The input's first byte picks what the rest is:
 *	even: one datagram, to wg_msg_classify(), wg_mac1_ok(), wg_mac2_ok()
 *	      and the consumer of its type (B: wg_init_consume() and, when that
 *	      works, wg_resp_create() and wg_cookie_reply_create(); A:
 *	      wg_resp_consume() and wg_cookie_reply_consume(); B:
 *	      wg_data_open() then wg_replay_check()), in a buffer of exactly
 *	      its size;
 *	odd:  16-bit little-endian counters for wg_replay_check(), compared
 *	      with a plain model (new and not more than WG_REPLAY_WINDOW
 *	      behind the greatest seen).
 * WG_FUZZ_SEEDS=DIR writes the valid messages to DIR as seeds (the seeds
 * in tests/fuzz/seeds-wg-msg were made so).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tunnel/wg-cookie.h"
#include "tunnel/wg-noise.h"
#include "tunnel/wg-proto.h"
#include "tunnel/wg-replay.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NOW		1000

static struct wg_identity	id_a, id_b;
static struct wg_peer_keys	peer_of_a, peer_of_b;	/* B as A's, A as B's */
static struct wg_handshake	hs_a;	/* A's, in flight */
static struct wg_cookie_jar	jar_a;
static struct wg_cookie_checker	checker_b;
static struct wg_keypair	kp_a, kp_b;
static struct sockaddr_in	src_a;

/* A fixed stream of "random" bytes: a counter through BLAKE2b. */
static uint64_t	fake_counter;

static const char *
fake_name(void)
{
	return "fuzz-fixed";
}

static void
fake_buf(void * const buf, const size_t size)
{
	uint8_t	*p = buf, block[64];
	size_t	 n;

	for (size_t off = 0; off < size; off += n) {
		fake_counter++;
		crypto_generichash(block, sizeof(block),
		    (const uint8_t *)&fake_counter, sizeof(fake_counter),
		    NULL, 0);
		n = size - off < sizeof(block) ? size - off : sizeof(block);
		memcpy(p + off, block, n);
	}
}

static uint32_t
fake_random(void)
{
	uint32_t	v;

	fake_buf(&v, sizeof(v));
	return v;
}

static randombytes_implementation fake_rng = {
	.implementation_name = fake_name,
	.random = fake_random,
	.buf = fake_buf,
};

static const struct wg_peer_keys *
lookup_b(void *arg, const uint8_t pub[WG_KEY_LEN], void **peer_arg)
{
	(void)arg;
	if (memcmp(pub, peer_of_b.pub, WG_KEY_LEN) != 0)
		return NULL;
	*peer_arg = &peer_of_b;
	return &peer_of_b;
}

static void
write_seed(const char *dir, const char *name, const uint8_t *msg,
    size_t len)
{
	char	 path[512];
	uint8_t	 mode = 0;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(&mode, 1, 1, f) != 1 || fwrite(msg, 1, len, f) != len ||
	    fclose(f) != 0)
		abort();
}

static void
setup(void)
{
	uint8_t			 priv[WG_KEY_LEN], psk[WG_KEY_LEN];
	uint8_t			 init[WG_INIT_LEN], resp[WG_RESP_LEN];
	uint8_t			 cookie[WG_COOKIE_MSG_LEN], ts[WG_TIMESTAMP_LEN];
	uint8_t			 data[WG_DATA_HLEN + 64 + WG_TAG_LEN];
	struct wg_handshake	 hs_b;
	struct wg_cookie_jar	 jar_b;
	void			*parg;
	const char		*dir = getenv("WG_FUZZ_SEEDS");
	size_t			 n;

	if (randombytes_set_implementation(&fake_rng) != 0 ||
	    sodium_init() < 0)
		abort();
	memset(priv, 0x11, sizeof(priv));
	memset(psk, 0x33, sizeof(psk));
	if (wg_identity_init(&id_a, priv) != 0)
		abort();
	memset(priv, 0x22, sizeof(priv));
	if (wg_identity_init(&id_b, priv) != 0 ||
	    wg_peer_keys_init(&peer_of_a, &id_a, id_b.pub, psk) != 0 ||
	    wg_peer_keys_init(&peer_of_b, &id_b, id_a.pub, psk) != 0)
		abort();
	wg_cookie_checker_init(&checker_b);
	memset(&src_a, 0, sizeof(src_a));
	src_a.sin_family = AF_INET;
	src_a.sin_port = htons(51820);
	src_a.sin_addr.s_addr = htonl(0xc6120001);	/* 198.18.0.1 */

	/* A fixed timestamp: wg_timestamp_now() would change the seeds. */
	memset(ts, 0, sizeof(ts));
	ts[0] = 0x40;
	ts[7] = 0x0a;
	memset(&jar_b, 0, sizeof(jar_b));
	wg_init_create(&hs_a, &id_a, &peer_of_a, 1, ts, init);
	wg_macs_fill(&jar_a, &peer_of_a, init, sizeof(init), NOW);
	if (wg_init_consume(&hs_b, &id_b, init, lookup_b, NULL, &parg, ts) != 0)
		abort();
	wg_resp_create(&hs_b, &peer_of_b, 2, resp, &kp_b);
	wg_macs_fill(&jar_b, &peer_of_b, resp, sizeof(resp), NOW);
	wg_cookie_reply_create(&checker_b, &id_b, init, sizeof(init),
	    (struct sockaddr *)&src_a, NOW, cookie);

	/* kp_a, from a copy: hs_a stays in flight for the inputs. */
	{
		struct wg_handshake	hs = hs_a;

		if (wg_resp_consume(&hs, &id_a, &peer_of_a, resp, &kp_a) != 0)
			abort();
	}
	if (dir == NULL)
		return;
	write_seed(dir, "init", init, sizeof(init));
	write_seed(dir, "resp", resp, sizeof(resp));
	write_seed(dir, "cookie", cookie, sizeof(cookie));
	memset(data + WG_DATA_HLEN, 0x45, 20);
	n = wg_data_seal(&kp_a, 7, data + WG_DATA_HLEN, 20, 1420, data,
	    data + WG_DATA_HLEN);
	write_seed(dir, "data", data, WG_DATA_HLEN + n);
	n = wg_data_seal(&kp_a, 8, NULL, 0, 1420, data, data + WG_DATA_HLEN);
	write_seed(dir, "keepalive", data, WG_DATA_HLEN + n);
}

static void
one_message(const uint8_t *msg, size_t len)
{
	struct wg_handshake	 hs;
	struct wg_cookie_jar	 jar;
	struct wg_keypair	 kp;
	struct wg_replay	 replay;
	uint8_t			 ts[WG_TIMESTAMP_LEN], *buf;
	uint8_t			 out[WG_RESP_LEN > WG_COOKIE_MSG_LEN ?
				     WG_RESP_LEN : WG_COOKIE_MSG_LEN];
	uint64_t		 counter;
	size_t			 plen;
	void			*parg = NULL;
	enum wg_msg_type	 type;

	/* Exactly len bytes, so that ASan sees any read past the end. */
	if ((buf = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(buf, msg, len);
	type = wg_msg_classify(buf, len);
	(void)wg_mac1_ok(&id_b, buf, len);
	(void)wg_mac1_ok(&id_a, buf, len);
	(void)wg_mac2_ok(&checker_b, buf, len, (struct sockaddr *)&src_a, NOW);

	switch (type) {
	case WG_MSG_INIT:
		if (wg_init_consume(&hs, &id_b, buf, lookup_b, NULL, &parg,
		    ts) != 0)
			break;
		if (parg != &peer_of_b || hs.state != WG_HS_INIT_CONSUMED)
			abort();
		wg_resp_create(&hs, &peer_of_b, 3, out, &kp);
		wg_keypair_wipe(&kp);
		wg_cookie_reply_create(&checker_b, &id_b, buf, len,
		    (struct sockaddr *)&src_a, NOW, out);
		break;
	case WG_MSG_RESP:
		hs = hs_a;
		if (wg_resp_consume(&hs, &id_a, &peer_of_a, buf, &kp) == 0 &&
		    (hs.state != WG_HS_NONE ||
		    memcmp(kp.send_key, kp_b.recv_key, WG_KEY_LEN) != 0))
			abort();
		break;
	case WG_MSG_COOKIE:
		jar = jar_a;
		(void)wg_msg_receiver(buf);
		if (wg_cookie_reply_consume(&jar, &peer_of_a, buf, NOW) == 0) {
			if (!jar.has_cookie || jar.has_last_mac1)
				abort();
			/* The cookie opens once per message sent. */
			if (wg_cookie_reply_consume(&jar, &peer_of_a, buf,
			    NOW) == 0)
				abort();
		}
		break;
	case WG_MSG_DATA:
		(void)wg_msg_receiver(buf);
		if (wg_data_open(&kp_b, buf, len, &counter, &plen) != 0)
			break;
		if (plen != len - WG_DATA_MIN)
			abort();
		wg_replay_init(&replay);
		if (!wg_replay_check(&replay, counter) &&
		    counter < WG_REJECT_AFTER_MESSAGES)
			abort();
		if (wg_replay_check(&replay, counter))
			abort();
		break;
	default:
		if (len >= WG_DATA_MIN && wg_data_open(&kp_b, buf, len,
		    &counter, &plen) == 0)
			abort();	/* a data message must have its type */
		break;
	}
	free(buf);
}

/* The counters of the input, against a plain model of the window. */
static void
replay_counters(const uint8_t *p, size_t len)
{
	static uint8_t		seen[65536 / 8];
	struct wg_replay	r;
	uint64_t		c, max = 0;
	bool			any = false, want;

	memset(seen, 0, sizeof(seen));
	wg_replay_init(&r);
	for (; len >= 2; p += 2, len -= 2) {
		c = (uint64_t)p[0] | (uint64_t)p[1] << 8;
		want = !(seen[c / 8] & (1 << (c % 8))) &&
		    (!any || c + WG_REPLAY_WINDOW >= max);
		if (wg_replay_check(&r, c) != want)
			abort();
		if (want) {
			seen[c / 8] |= 1 << (c % 8);
			if (!any || c > max)
				max = c;
			any = true;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool	ready;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	if (data[0] & 1)
		replay_counters(data + 1, size - 1);
	else
		one_message(data + 1, size - 1);
	return 0;
}
