/*
 * wg-proto.h - the WireGuard protocol's messages and keys, without sockets,
 * clocks or peers: what the WireGuard paper and whitepaper define
 * (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s), so that a port (port-wg.c) can
 * speak it with the world's WireGuard and a test or fuzz target can drive it
 * byte by byte.
 *
 * Crypto comes from libsodium (X25519, ChaCha20-Poly1305 IETF,
 * XChaCha20-Poly1305, constant-time compares, memzero) and libb2 (BLAKE2s,
 * keyed and not, which libsodium lacks); only the protocol's glue (HMAC
 * over BLAKE2s, the KDF chain, message layouts) is written here.
 *
 * Every function that reads a message checks its length and type first and
 * fails with EBADMSG on anything it cannot authenticate; nothing here logs
 * or counts: the caller counts each failure under its own reason.  Secrets
 * are wiped (sodium_memzero) on every path out of the functions that make
 * them, and by wg_*_wipe() when their owner goes.
 *
 * Wire formats, little-endian, after a 1-byte type and 3 reserved zero bytes:
 *   initiation (1): sender(4) ephemeral(32) static(32+16) timestamp(12+16)
 *                   mac1(16) mac2(16)                          148 bytes
 *   response   (2): sender(4) receiver(4) ephemeral(32) empty(0+16)
 *                   mac1(16) mac2(16)                           92 bytes
 *   cookie     (3): receiver(4) nonce(24) cookie(16+16)         64 bytes
 *   data       (4): receiver(4) counter(8) packet(n+16)    >= 32 bytes
 */
#ifndef WG_PROTO_H
#define WG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg-key.h"

#define WG_HASH_LEN		32
#define WG_MAC_LEN		16
#define WG_TAG_LEN		16	/* Poly1305 */
#define WG_COOKIE_LEN		16
#define WG_COOKIE_NONCE_LEN	24
#define WG_TIMESTAMP_LEN	12	/* TAI64N */

enum wg_msg_type {
	WG_MSG_INIT = 1,
	WG_MSG_RESP = 2,
	WG_MSG_COOKIE = 3,
	WG_MSG_DATA = 4,
};

#define WG_INIT_LEN		148
#define WG_RESP_LEN		92
#define WG_COOKIE_MSG_LEN	64
#define WG_DATA_HLEN		16	/* type, receiver, counter */
#define WG_DATA_MIN		(WG_DATA_HLEN + WG_TAG_LEN)	/* a keepalive */
/* Where mac1 and mac2 sit: the last 32 bytes of an initiation or response. */
#define WG_MACS_LEN		(2 * WG_MAC_LEN)

/* The protocol's limits and timers (whitepaper section 6). */
#define WG_REKEY_AFTER_MESSAGES	(1ULL << 60)
#define WG_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13))
#define WG_REKEY_AFTER_TIME	120	/* seconds */
#define WG_REJECT_AFTER_TIME	180
#define WG_REKEY_ATTEMPT_TIME	90
#define WG_REKEY_TIMEOUT	5
#define WG_KEEPALIVE_TIMEOUT	10
#define WG_COOKIE_SECRET_MAX_AGE 120
#define WG_COOKIE_MAX_AGE	(WG_COOKIE_SECRET_MAX_AGE - WG_REKEY_TIMEOUT - 2)
/* Inner packets are padded to a multiple of this before sealing. */
#define WG_PAD			16

/* The type of a received datagram, or 0 when its length cannot be one. */
enum wg_msg_type wg_msg_classify(const uint8_t *msg, size_t len);
/* The receiver index of a response, cookie reply or data message. */
uint32_t	 wg_msg_receiver(const uint8_t *msg);

/* Our identity, and what is derived from it once. */
struct wg_identity {
	uint8_t	priv[WG_KEY_LEN];
	uint8_t	pub[WG_KEY_LEN];
	uint8_t	mac1_key[WG_HASH_LEN];	/* HASH("mac1----" || pub) */
	uint8_t	cookie_key[WG_HASH_LEN];	/* HASH("cookie--" || pub) */
};
/* 0, or EINVAL for a private key that clamps to nothing usable. */
int	wg_identity_init(struct wg_identity *, const uint8_t priv[WG_KEY_LEN]);
void	wg_identity_wipe(struct wg_identity *);

/* A peer's keys, and what is derived from them and ours once. */
struct wg_peer_keys {
	uint8_t	pub[WG_KEY_LEN];
	uint8_t	psk[WG_KEY_LEN];	/* all zero when none */
	uint8_t	ss[WG_KEY_LEN];		/* DH(our private, its public) */
	uint8_t	mac1_key[WG_HASH_LEN];	/* HASH("mac1----" || its pub) */
	uint8_t	cookie_key[WG_HASH_LEN];	/* HASH("cookie--" || its pub) */
};
/* psk NULL: none.  0, or EINVAL for a low-order public key. */
int	wg_peer_keys_init(struct wg_peer_keys *, const struct wg_identity *,
	    const uint8_t pub[WG_KEY_LEN], const uint8_t *psk);
void	wg_peer_keys_wipe(struct wg_peer_keys *);

/*
 * Transport keys of one session, from a completed handshake.  counters
 * and the replay window (wg-replay.h) are the caller's to keep beside it.
 */
struct wg_keypair {
	uint8_t		send_key[WG_KEY_LEN];
	uint8_t		recv_key[WG_KEY_LEN];
	uint32_t	local_index;	/* what the peer puts in receiver */
	uint32_t	remote_index;	/* what we put in receiver */
	bool		initiator;	/* we sent the initiation */
};
void	wg_keypair_wipe(struct wg_keypair *);

/*
 * Data messages.  wg_data_seal() writes the 16-byte header to hdr and the
 * sealed packet (the len bytes of in, zero-padded to a multiple of WG_PAD
 * but never beyond pad_max, then the tag) to out, which may be in; returns
 * the bytes written to out.  in and out need room for len rounded up plus
 * WG_TAG_LEN.  hdr may be out - WG_DATA_HLEN, for one contiguous datagram.
 */
size_t	wg_data_seal(const struct wg_keypair *, uint64_t counter,
	    const uint8_t *in, size_t len, size_t pad_max,
	    uint8_t hdr[WG_DATA_HLEN], uint8_t *out);
/*
 * Opens a whole data message msg of len bytes (>= WG_DATA_MIN) in place:
 * 0 with the counter and the plaintext at msg + WG_DATA_HLEN, *plen bytes
 * (0 for a keepalive; padding still on: the inner IP header says the
 * length), or EBADMSG when it does not authenticate.  The replay check is
 * the caller's, after this succeeds.
 */
int	wg_data_open(const struct wg_keypair *, uint8_t *msg, size_t len,
	    uint64_t *counter, size_t *plen);

#endif
