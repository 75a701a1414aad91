/*
 * wg-cookie.h - mac1, mac2 and cookie replies: WireGuard's defence against
 * handshake floods (whitepaper section 5.4.4 and 5.4.7).
 *
 * Every initiation and response carries mac1 = MAC(HASH("mac1----" ||
 * receiver's public key), msg up to mac1): a message without a valid mac1
 * is dropped before any Diffie-Hellman.  Under load (the caller decides:
 * e.g. more handshake messages in the last second than it handles), a
 * receiver also wants mac2 = MAC(cookie, msg up to mac2), where the cookie
 * is MAC(a secret rotated every 2 minutes, the sender's IP address and UDP
 * port); a message without a valid mac2 then gets a cookie reply instead of
 * an answer: the cookie sealed with XChaCha20-Poly1305 under HASH("cookie--"
 * || receiver's public key), with mac1 of the message as associated data.
 * The sender keeps the cookie WG_COOKIE_MAX_AGE seconds and puts mac2 in
 * what it sends next.
 */
#ifndef WG_COOKIE_H
#define WG_COOKIE_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg-proto.h"

/* The sender's side, one per peer. */
struct wg_cookie_jar {
	uint8_t		last_mac1[WG_MAC_LEN];	/* of what we sent last */
	bool		has_last_mac1;
	uint8_t		cookie[WG_COOKIE_LEN];
	uint64_t	cookie_time;	/* caller's clock, seconds */
	bool		has_cookie;
};

/*
 * Fills mac1 (with the peer's mac1_key) and mac2 (with the jar's cookie if
 * it is younger than WG_COOKIE_MAX_AGE at now, else zero) of an initiation
 * or response msg of len bytes, and remembers mac1.
 */
void	wg_macs_fill(struct wg_cookie_jar *, const struct wg_peer_keys *,
	    uint8_t *msg, size_t len, uint64_t now);
/*
 * Opens a cookie reply to what we sent last (its receiver named us) and
 * keeps the cookie with time now: 0, or EBADMSG.
 */
int	wg_cookie_reply_consume(struct wg_cookie_jar *,
	    const struct wg_peer_keys *, const uint8_t msg[WG_COOKIE_MSG_LEN],
	    uint64_t now);

/* The receiver's side, one per port. */
struct wg_cookie_checker {
	uint8_t		secret[WG_HASH_LEN];
	uint64_t	secret_time;	/* seconds; rotated when too old */
};

void	wg_cookie_checker_init(struct wg_cookie_checker *);
void	wg_cookie_checker_wipe(struct wg_cookie_checker *);
/* Whether mac1 of the initiation or response msg of len bytes is ours. */
bool	wg_mac1_ok(const struct wg_identity *, const uint8_t *msg, size_t len);
/* Whether its mac2 is the cookie of src (an IPv4 or IPv6 address+port). */
bool	wg_mac2_ok(struct wg_cookie_checker *, const uint8_t *msg, size_t len,
	    const struct sockaddr *src, uint64_t now);
/*
 * The cookie reply to msg (len bytes) from src, whose sender index
 * is its bytes 4-7: written to out.
 */
void	wg_cookie_reply_create(struct wg_cookie_checker *,
	    const struct wg_identity *, const uint8_t *msg, size_t len,
	    const struct sockaddr *src, uint64_t now,
	    uint8_t out[WG_COOKIE_MSG_LEN]);

#endif
