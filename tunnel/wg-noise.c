/*
 * wg-noise.c - the WireGuard handshake, Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s
 * as the whitepaper (section 5.4.2 to 5.4.5) spells it out step by step;
 * the comments name its variables (C chaining key, H hash, k key).
 *
 * Each consumer works on copies of the chaining key and hash and writes
 * the caller's state only when the message authenticated.  Every
 * Diffie-Hellman result is checked for all zero (a low-order point;
 * libsodium's crypto_scalarmult returns -1 then), and every secret on the
 * stack is wiped on every way out.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "wg-hash.h"
#include "wg-msg.h"
#include "wg-noise.h"

static const char	construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char	identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/* TAI64 labels seconds from 1970 as 2^62 + 10 (TAI-UTC then) + seconds. */
#define TAI64_EPOCH	0x400000000000000aULL
/*
 * The nanoseconds lose their low 24 bits (~16.7 ms), as in the Linux
 * module and wireguard-go: the timestamp need not reveal the clock's
 * precision, and initiations closer than that cannot both be fresh.
 */
#define TS_NSEC_MASK	(~(uint32_t)((1U << 24) - 1))

/* Secrets of one step, wiped together. */
struct wg_noise_tmp {
	uint8_t	ck[WG_HASH_LEN];
	uint8_t	hash[WG_HASH_LEN];
	uint8_t	key[WG_KEY_LEN];
	uint8_t	dh[WG_KEY_LEN];
	uint8_t	tau[WG_HASH_LEN];
	uint8_t	e_priv[WG_KEY_LEN];
	uint8_t	s_pub[WG_KEY_LEN];
	uint8_t	ts[WG_TIMESTAMP_LEN];
};

static const uint8_t	zero_nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

void
wg_handshake_wipe(struct wg_handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
	hs->state = WG_HS_NONE;
}

void
wg_timestamp_now(uint8_t ts[WG_TIMESTAMP_LEN])
{
	struct timespec	now;
	uint64_t	sec;
	uint32_t	nsec;

	clock_gettime(CLOCK_REALTIME, &now);
	sec = htobe64(TAI64_EPOCH + (uint64_t)now.tv_sec);
	nsec = htobe32((uint32_t)now.tv_nsec & TS_NSEC_MASK);
	memcpy(ts, &sec, sizeof(sec));
	memcpy(ts + sizeof(sec), &nsec, sizeof(nsec));
}

/* C = HASH(CONSTRUCTION), H = HASH(HASH(C || IDENTIFIER) || responder). */
static void
wg_noise_start(uint8_t ck[WG_HASH_LEN], uint8_t hash[WG_HASH_LEN],
    const uint8_t responder[WG_KEY_LEN])
{
	wg_hash2(ck, construction, sizeof(construction) - 1, NULL, 0);
	wg_hash2(hash, ck, WG_HASH_LEN, identifier, sizeof(identifier) - 1);
	wg_hash2(hash, hash, WG_HASH_LEN, responder, WG_KEY_LEN);
}

/* H = HASH(H || data) */
static void
wg_mix_hash(uint8_t hash[WG_HASH_LEN], const uint8_t *data, size_t len)
{
	wg_hash2(hash, hash, WG_HASH_LEN, data, len);
}

/* DH(priv, pub): false for a low-order pub (an all-zero result). */
static bool
wg_dh(uint8_t dh[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN],
    const uint8_t pub[WG_KEY_LEN])
{
	return crypto_scalarmult(dh, priv, pub) == 0;
}

/* C = KDF1(C, DH(priv, pub)); false for a low-order pub. */
static bool
wg_mix_dh(uint8_t ck[WG_HASH_LEN], uint8_t dh[WG_KEY_LEN],
    const uint8_t priv[WG_KEY_LEN], const uint8_t pub[WG_KEY_LEN])
{
	if (!wg_dh(dh, priv, pub))
		return false;
	wg_kdf(ck, NULL, NULL, ck, dh, WG_KEY_LEN);
	return true;
}

/* c = AEAD(k, 0, p, H), H = HASH(H || c) */
static void
wg_seal_hash(uint8_t *c, const uint8_t *p, size_t len,
    const uint8_t key[WG_KEY_LEN], uint8_t hash[WG_HASH_LEN])
{
	crypto_aead_chacha20poly1305_ietf_encrypt(c, NULL, p, len, hash,
	    WG_HASH_LEN, NULL, zero_nonce, key);
	wg_mix_hash(hash, c, len + WG_TAG_LEN);
}

/* p = AEAD-open(k, 0, c, H), H = HASH(H || c); false when forged. */
static bool
wg_open_hash(uint8_t *p, const uint8_t *c, size_t len,
    const uint8_t key[WG_KEY_LEN], uint8_t hash[WG_HASH_LEN])
{
	if (crypto_aead_chacha20poly1305_ietf_decrypt(p, NULL, NULL, c,
	    len + WG_TAG_LEN, hash, WG_HASH_LEN, zero_nonce, key) != 0)
		return false;
	wg_mix_hash(hash, c, len + WG_TAG_LEN);
	return true;
}

void
wg_init_create(struct wg_handshake *hs, const struct wg_identity *id,
    const struct wg_peer_keys *peer, uint32_t local_index,
    const uint8_t ts[WG_TIMESTAMP_LEN], uint8_t msg[WG_INIT_LEN])
{
	struct wg_noise_tmp	t;
	uint8_t			e_pub[WG_KEY_LEN];

	memset(msg, 0, WG_INIT_LEN);
	wg_le32_put(msg + WG_OFF_TYPE, WG_MSG_INIT);
	wg_le32_put(msg + WG_OFF_SENDER, local_index);

	wg_noise_start(t.ck, t.hash, peer->pub);
	/* An ephemeral whose public key is all zero cannot come out. */
	do
		wg_key_generate(t.e_priv);
	while (wg_key_public(e_pub, t.e_priv) != 0);
	memcpy(msg + WG_INIT_OFF_EPH, e_pub, WG_KEY_LEN);
	wg_kdf(t.ck, NULL, NULL, t.ck, e_pub, WG_KEY_LEN);
	wg_mix_hash(t.hash, e_pub, WG_KEY_LEN);

	/*
	 * (C, k) = KDF2(C, DH(E_priv, S_pub_r)); the peer's key passed
	 * wg_peer_keys_init(), so it is of full order and cannot fail.
	 */
	(void)wg_dh(t.dh, t.e_priv, peer->pub);
	wg_kdf(t.ck, t.key, NULL, t.ck, t.dh, WG_KEY_LEN);
	wg_seal_hash(msg + WG_INIT_OFF_STATIC, id->pub, WG_KEY_LEN, t.key,
	    t.hash);

	/* (C, k) = KDF2(C, DH(S_priv_i, S_pub_r)), precomputed as ss. */
	wg_kdf(t.ck, t.key, NULL, t.ck, peer->ss, WG_KEY_LEN);
	wg_seal_hash(msg + WG_INIT_OFF_TS, ts, WG_TIMESTAMP_LEN, t.key, t.hash);

	wg_handshake_wipe(hs);
	hs->state = WG_HS_INIT_SENT;
	memcpy(hs->ck, t.ck, WG_HASH_LEN);
	memcpy(hs->hash, t.hash, WG_HASH_LEN);
	memcpy(hs->e_priv, t.e_priv, WG_KEY_LEN);
	hs->local_index = local_index;
	sodium_memzero(&t, sizeof(t));
}

int
wg_init_consume(struct wg_handshake *hs, const struct wg_identity *id,
    const uint8_t msg[WG_INIT_LEN], wg_peer_lookup_fn lookup, void *arg,
    void **peer_arg, uint8_t ts[WG_TIMESTAMP_LEN])
{
	struct wg_noise_tmp		 t;
	const struct wg_peer_keys	*peer;
	const uint8_t			*e_pub = msg + WG_INIT_OFF_EPH;
	void				*parg = NULL;
	int				 rc = EBADMSG;

	if (wg_le32_get(msg + WG_OFF_TYPE) != WG_MSG_INIT)
		return EBADMSG;
	wg_noise_start(t.ck, t.hash, id->pub);
	wg_kdf(t.ck, NULL, NULL, t.ck, e_pub, WG_KEY_LEN);
	wg_mix_hash(t.hash, e_pub, WG_KEY_LEN);

	/* (C, k) = KDF2(C, DH(S_priv_r, E_pub_i)), then the static key. */
	if (!wg_dh(t.dh, id->priv, e_pub))
		goto out;
	wg_kdf(t.ck, t.key, NULL, t.ck, t.dh, WG_KEY_LEN);
	if (!wg_open_hash(t.s_pub, msg + WG_INIT_OFF_STATIC, WG_KEY_LEN, t.key,
	    t.hash))
		goto out;
	if ((peer = lookup(arg, t.s_pub, &parg)) == NULL)
		goto out;

	/* (C, k) = KDF2(C, DH(S_priv_r, S_pub_i)), then the timestamp. */
	wg_kdf(t.ck, t.key, NULL, t.ck, peer->ss, WG_KEY_LEN);
	if (!wg_open_hash(t.ts, msg + WG_INIT_OFF_TS, WG_TIMESTAMP_LEN, t.key,
	    t.hash))
		goto out;

	wg_handshake_wipe(hs);
	hs->state = WG_HS_INIT_CONSUMED;
	memcpy(hs->ck, t.ck, WG_HASH_LEN);
	memcpy(hs->hash, t.hash, WG_HASH_LEN);
	memcpy(hs->remote_e, e_pub, WG_KEY_LEN);
	hs->remote_index = wg_le32_get(msg + WG_OFF_SENDER);
	memcpy(ts, t.ts, WG_TIMESTAMP_LEN);
	*peer_arg = parg;
	rc = 0;
out:
	sodium_memzero(&t, sizeof(t));
	return rc;
}

/*
 * The psk step of the response, on both sides (with an all-zero Q when the
 * peer has no preshared key): leaves k in t->key.
 */
static void
wg_mix_psk(struct wg_noise_tmp *t, const struct wg_peer_keys *peer)
{
	/* (C, tau, k) = KDF3(C, Q), H = HASH(H || tau) */
	wg_kdf(t->ck, t->tau, t->key, t->ck, peer->psk, WG_KEY_LEN);
	wg_mix_hash(t->hash, t->tau, WG_HASH_LEN);
}

void
wg_resp_create(struct wg_handshake *hs, const struct wg_peer_keys *peer,
    uint32_t local_index, uint8_t msg[WG_RESP_LEN], struct wg_keypair *kp)
{
	struct wg_noise_tmp	t;
	uint8_t			e_pub[WG_KEY_LEN];

	memset(msg, 0, WG_RESP_LEN);
	wg_le32_put(msg + WG_OFF_TYPE, WG_MSG_RESP);
	wg_le32_put(msg + WG_OFF_SENDER, local_index);
	wg_le32_put(msg + WG_RESP_OFF_RECEIVER, hs->remote_index);

	memcpy(t.ck, hs->ck, WG_HASH_LEN);
	memcpy(t.hash, hs->hash, WG_HASH_LEN);
	do
		wg_key_generate(t.e_priv);
	while (wg_key_public(e_pub, t.e_priv) != 0);
	memcpy(msg + WG_RESP_OFF_EPH, e_pub, WG_KEY_LEN);
	wg_kdf(t.ck, NULL, NULL, t.ck, e_pub, WG_KEY_LEN);
	wg_mix_hash(t.hash, e_pub, WG_KEY_LEN);

	/*
	 * C = KDF1(C, DH(E_priv_r, E_pub_i)), C = KDF1(C, DH(E_priv_r,
	 * S_pub_i)).  Neither can be low order: wg_init_consume() got a
	 * non-zero DH from the same E_pub_i, and the peer's static key passed
	 * wg_peer_keys_init().
	 */
	(void)wg_mix_dh(t.ck, t.dh, t.e_priv, hs->remote_e);
	(void)wg_mix_dh(t.ck, t.dh, t.e_priv, peer->pub);
	wg_mix_psk(&t, peer);
	wg_seal_hash(msg + WG_RESP_OFF_EMPTY, NULL, 0, t.key, t.hash);

	/* (T_recv_r, T_send_r) = KDF2(C, empty): the initiator's mirror. */
	memset(kp, 0, sizeof(*kp));
	wg_kdf(kp->recv_key, kp->send_key, NULL, t.ck, NULL, 0);
	kp->local_index = local_index;
	kp->remote_index = hs->remote_index;
	kp->initiator = false;
	wg_handshake_wipe(hs);
	sodium_memzero(&t, sizeof(t));
}

int
wg_resp_consume(struct wg_handshake *hs, const struct wg_identity *id,
    const struct wg_peer_keys *peer, const uint8_t msg[WG_RESP_LEN],
    struct wg_keypair *kp)
{
	struct wg_noise_tmp	 t;
	const uint8_t		*e_pub = msg + WG_RESP_OFF_EPH;
	uint8_t			 empty[1];
	int			 rc = EBADMSG;

	if (hs->state != WG_HS_INIT_SENT ||
	    wg_le32_get(msg + WG_OFF_TYPE) != WG_MSG_RESP ||
	    wg_le32_get(msg + WG_RESP_OFF_RECEIVER) != hs->local_index)
		return EBADMSG;
	memcpy(t.ck, hs->ck, WG_HASH_LEN);
	memcpy(t.hash, hs->hash, WG_HASH_LEN);
	wg_kdf(t.ck, NULL, NULL, t.ck, e_pub, WG_KEY_LEN);
	wg_mix_hash(t.hash, e_pub, WG_KEY_LEN);

	/* C = KDF1(C, DH(E_priv_i, E_pub_r)), C = KDF1(C, DH(S_priv_i, E_pub_r)) */
	if (!wg_mix_dh(t.ck, t.dh, hs->e_priv, e_pub) ||
	    !wg_mix_dh(t.ck, t.dh, id->priv, e_pub))
		goto out;
	wg_mix_psk(&t, peer);
	if (!wg_open_hash(empty, msg + WG_RESP_OFF_EMPTY, 0, t.key, t.hash))
		goto out;

	/* (T_send_i, T_recv_i) = KDF2(C, empty) */
	memset(kp, 0, sizeof(*kp));
	wg_kdf(kp->send_key, kp->recv_key, NULL, t.ck, NULL, 0);
	kp->local_index = hs->local_index;
	kp->remote_index = wg_le32_get(msg + WG_OFF_SENDER);
	kp->initiator = true;
	wg_handshake_wipe(hs);
	rc = 0;
out:
	sodium_memzero(&t, sizeof(t));
	return rc;
}
