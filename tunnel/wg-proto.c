/*
 * wg-proto.c - message classification, our identity and a peer's keys
 * with what is derived from them once, and data messages (whitepaper
 * section 5.4.6): ChaCha20-Poly1305 with a 64-bit little-endian counter
 * after 4 zero bytes as the nonce and no associated data.
 *
 * Data messages are sealed and opened in place with libsodium's detached
 * AEAD: no allocation, no copy when the caller gives the packet where the
 * datagram goes.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "wg-hash.h"
#include "wg-msg.h"
#include "wg-proto.h"

static const char	label_mac1[] = "mac1----";
static const char	label_cookie[] = "cookie--";
#define LABEL_LEN	8

enum wg_msg_type
wg_msg_classify(const uint8_t *msg, size_t len)
{
	/* The type is a little-endian word: its 3 reserved bytes are zero. */
	if (len < 4)
		return 0;
	switch (wg_le32_get(msg + WG_OFF_TYPE)) {
	case WG_MSG_INIT:
		return len == WG_INIT_LEN ? WG_MSG_INIT : 0;
	case WG_MSG_RESP:
		return len == WG_RESP_LEN ? WG_MSG_RESP : 0;
	case WG_MSG_COOKIE:
		return len == WG_COOKIE_MSG_LEN ? WG_MSG_COOKIE : 0;
	case WG_MSG_DATA:
		return len >= WG_DATA_MIN ? WG_MSG_DATA : 0;
	default:
		return 0;
	}
}

uint32_t
wg_msg_receiver(const uint8_t *msg)
{
	if (msg[WG_OFF_TYPE] == WG_MSG_RESP)
		return wg_le32_get(msg + WG_RESP_OFF_RECEIVER);
	return wg_le32_get(msg + WG_DATA_OFF_RECEIVER);
}

/* The mac1 and cookie keys of the holder of pub. */
static void
wg_label_keys(const uint8_t pub[WG_KEY_LEN], uint8_t mac1_key[WG_HASH_LEN],
    uint8_t cookie_key[WG_HASH_LEN])
{
	wg_hash2(mac1_key, label_mac1, LABEL_LEN, pub, WG_KEY_LEN);
	wg_hash2(cookie_key, label_cookie, LABEL_LEN, pub, WG_KEY_LEN);
}

int
wg_identity_init(struct wg_identity *id, const uint8_t priv[WG_KEY_LEN])
{
	memset(id, 0, sizeof(*id));
	if (wg_key_public(id->pub, priv) != 0)
		return EINVAL;
	memcpy(id->priv, priv, WG_KEY_LEN);
	wg_label_keys(id->pub, id->mac1_key, id->cookie_key);
	return 0;
}

void
wg_identity_wipe(struct wg_identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

int
wg_peer_keys_init(struct wg_peer_keys *pk, const struct wg_identity *id,
    const uint8_t pub[WG_KEY_LEN], const uint8_t *psk)
{
	memset(pk, 0, sizeof(*pk));
	/* libsodium refuses an all-zero result: a low-order point. */
	if (crypto_scalarmult(pk->ss, id->priv, pub) != 0) {
		sodium_memzero(pk, sizeof(*pk));
		return EINVAL;
	}
	memcpy(pk->pub, pub, WG_KEY_LEN);
	if (psk != NULL)
		memcpy(pk->psk, psk, WG_KEY_LEN);
	wg_label_keys(pub, pk->mac1_key, pk->cookie_key);
	return 0;
}

void
wg_peer_keys_wipe(struct wg_peer_keys *pk)
{
	sodium_memzero(pk, sizeof(*pk));
}

void
wg_keypair_wipe(struct wg_keypair *kp)
{
	sodium_memzero(kp, sizeof(*kp));
}

static inline void
wg_data_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES],
    uint64_t counter)
{
	memset(nonce, 0, 4);
	wg_le64_put(nonce + 4, counter);
}

size_t
wg_data_seal(const struct wg_keypair *kp, uint64_t counter, const uint8_t *in,
    size_t len, size_t pad_max, uint8_t hdr[WG_DATA_HLEN], uint8_t *out)
{
	uint8_t	nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	size_t	padded;

	/* Padding hides lengths, but never makes a packet beyond the MTU. */
	padded = (len + WG_PAD - 1) & ~(size_t)(WG_PAD - 1);
	if (padded > pad_max)
		padded = len > pad_max ? len : pad_max;
	if (out != in && len != 0)	/* a keepalive may have no in */
		memmove(out, in, len);
	memset(out + len, 0, padded - len);

	wg_le32_put(hdr + WG_OFF_TYPE, WG_MSG_DATA);
	wg_le32_put(hdr + WG_DATA_OFF_RECEIVER, kp->remote_index);
	wg_le64_put(hdr + WG_DATA_OFF_COUNTER, counter);
	wg_data_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, out + padded,
	    NULL, out, padded, NULL, 0, NULL, nonce, kp->send_key);
	return padded + WG_TAG_LEN;
}

int
wg_data_open(const struct wg_keypair *kp, uint8_t *msg, size_t len,
    uint64_t *counter, size_t *plen)
{
	uint8_t		 nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	uint8_t		*p = msg + WG_DATA_HLEN;
	uint64_t	 ctr;
	size_t		 n;

	if (len < WG_DATA_MIN ||
	    wg_le32_get(msg + WG_OFF_TYPE) != WG_MSG_DATA)
		return EBADMSG;
	n = len - WG_DATA_MIN;
	ctr = wg_le64_get(msg + WG_DATA_OFF_COUNTER);
	wg_data_nonce(nonce, ctr);
	/* The tag is checked first; on failure libsodium zeroes p. */
	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(p, NULL, p, n,
	    p + n, NULL, 0, nonce, kp->recv_key) != 0)
		return EBADMSG;
	*counter = ctr;
	*plen = n;
	return 0;
}
