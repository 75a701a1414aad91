/*
 * wg-cookie.c - mac1, mac2 and cookie replies (whitepaper section 5.4.4
 * and 5.4.7).
 *
 * The cookie of a source is MAC(secret, address || port), the address 4 or
 * 16 bytes and the port in network order, as the Linux module hashes them;
 * only the checker ever computes it, so any fixed encoding interoperates.
 * The secret is random and replaced when it is WG_COOKIE_SECRET_MAX_AGE
 * old at the next use, which also ends every cookie made from it.
 */
#include <netinet/in.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "wg-cookie.h"
#include "wg-hash.h"
#include "wg-msg.h"

/* The largest address || port: IPv6. */
#define SRC_MAX		(16 + 2)

/* Whether len is that of a message with macs, and msg's type says so. */
static bool
wg_has_macs(const uint8_t *msg, size_t len)
{
	enum wg_msg_type	type = wg_msg_classify(msg, len);

	return type == WG_MSG_INIT || type == WG_MSG_RESP;
}

void
wg_macs_fill(struct wg_cookie_jar *jar, const struct wg_peer_keys *peer,
    uint8_t *msg, size_t len, uint64_t now)
{
	uint8_t	*mac1 = msg + len - WG_MACS_LEN, *mac2 = mac1 + WG_MAC_LEN;

	if (!wg_has_macs(msg, len))
		return;
	wg_mac(mac1, peer->mac1_key, WG_HASH_LEN, msg, len - WG_MACS_LEN);
	memcpy(jar->last_mac1, mac1, WG_MAC_LEN);
	jar->has_last_mac1 = true;
	if (jar->has_cookie && now - jar->cookie_time < WG_COOKIE_MAX_AGE)
		wg_mac(mac2, jar->cookie, WG_COOKIE_LEN, msg,
		    len - WG_MAC_LEN);
	else
		memset(mac2, 0, WG_MAC_LEN);
}

int
wg_cookie_reply_consume(struct wg_cookie_jar *jar,
    const struct wg_peer_keys *peer, const uint8_t msg[WG_COOKIE_MSG_LEN],
    uint64_t now)
{
	uint8_t	cookie[WG_COOKIE_LEN];

	/* Only one reply per message sent: a replayed one finds nothing. */
	if (wg_le32_get(msg + WG_OFF_TYPE) != WG_MSG_COOKIE ||
	    !jar->has_last_mac1)
		return EBADMSG;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL,
	    msg + WG_COOKIE_OFF_COOKIE, WG_COOKIE_LEN + WG_TAG_LEN,
	    jar->last_mac1, WG_MAC_LEN, msg + WG_COOKIE_OFF_NONCE,
	    peer->cookie_key) != 0) {
		sodium_memzero(cookie, sizeof(cookie));
		return EBADMSG;
	}
	memcpy(jar->cookie, cookie, WG_COOKIE_LEN);
	jar->cookie_time = now;
	jar->has_cookie = true;
	jar->has_last_mac1 = false;
	sodium_memzero(cookie, sizeof(cookie));
	return 0;
}

void
wg_cookie_checker_init(struct wg_cookie_checker *c)
{
	randombytes_buf(c->secret, sizeof(c->secret));
	c->secret_time = 0;
}

void
wg_cookie_checker_wipe(struct wg_cookie_checker *c)
{
	sodium_memzero(c, sizeof(*c));
}

bool
wg_mac1_ok(const struct wg_identity *id, const uint8_t *msg, size_t len)
{
	uint8_t	mac1[WG_MAC_LEN];

	if (!wg_has_macs(msg, len))
		return false;
	wg_mac(mac1, id->mac1_key, WG_HASH_LEN, msg, len - WG_MACS_LEN);
	return crypto_verify_16(mac1, msg + len - WG_MACS_LEN) == 0;
}

/* The bytes src is hashed as: its length, 0 for an unknown family. */
static size_t
wg_src_bytes(uint8_t out[SRC_MAX], const struct sockaddr *src)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	switch (src->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)src;
		memcpy(out, &sin->sin_addr, 4);
		memcpy(out + 4, &sin->sin_port, 2);
		return 4 + 2;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)src;
		memcpy(out, &sin6->sin6_addr, 16);
		memcpy(out + 16, &sin6->sin6_port, 2);
		return 16 + 2;
	default:
		return 0;
	}
}

/* The cookie of src at now: false for an unknown address family. */
static bool
wg_cookie_make(struct wg_cookie_checker *c, const struct sockaddr *src,
    uint64_t now, uint8_t cookie[WG_COOKIE_LEN])
{
	uint8_t	bytes[SRC_MAX];
	size_t	n;

	if (now - c->secret_time >= WG_COOKIE_SECRET_MAX_AGE) {
		randombytes_buf(c->secret, sizeof(c->secret));
		c->secret_time = now;
	}
	n = wg_src_bytes(bytes, src);
	wg_mac(cookie, c->secret, sizeof(c->secret), bytes, n);
	return n != 0;
}

bool
wg_mac2_ok(struct wg_cookie_checker *c, const uint8_t *msg, size_t len,
    const struct sockaddr *src, uint64_t now)
{
	uint8_t	cookie[WG_COOKIE_LEN], mac2[WG_MAC_LEN];
	bool	ok = false;

	if (!wg_has_macs(msg, len))
		return false;
	if (wg_cookie_make(c, src, now, cookie)) {
		wg_mac(mac2, cookie, WG_COOKIE_LEN, msg, len - WG_MAC_LEN);
		ok = crypto_verify_16(mac2, msg + len - WG_MAC_LEN) == 0;
	}
	sodium_memzero(cookie, sizeof(cookie));
	return ok;
}

void
wg_cookie_reply_create(struct wg_cookie_checker *c,
    const struct wg_identity *id, const uint8_t *msg, size_t len,
    const struct sockaddr *src, uint64_t now, uint8_t out[WG_COOKIE_MSG_LEN])
{
	uint8_t	cookie[WG_COOKIE_LEN];

	memset(out, 0, WG_COOKIE_MSG_LEN);
	wg_le32_put(out + WG_OFF_TYPE, WG_MSG_COOKIE);
	if (!wg_has_macs(msg, len))
		return;
	/* The receiver is the sender index of either message. */
	memcpy(out + WG_COOKIE_OFF_RECEIVER, msg + WG_OFF_SENDER, 4);
	randombytes_buf(out + WG_COOKIE_OFF_NONCE, WG_COOKIE_NONCE_LEN);
	/* An unknown family gets a cookie that wg_mac2_ok() never takes. */
	(void)wg_cookie_make(c, src, now, cookie);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + WG_COOKIE_OFF_COOKIE,
	    NULL, cookie, WG_COOKIE_LEN, msg + len - WG_MACS_LEN, WG_MAC_LEN,
	    NULL, out + WG_COOKIE_OFF_NONCE, id->cookie_key);
	sodium_memzero(cookie, sizeof(cookie));
}
