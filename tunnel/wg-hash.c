/*
 * wg-hash.c - HASH, MAC, HMAC and KDF of the WireGuard whitepaper (section
 * 5.4) over libb2's BLAKE2s.  Only the glue is here: HMAC by RFC 2104
 * (BLAKE2s has a keyed mode, but Noise's HKDF is defined over HMAC, so
 * WireGuard uses HMAC), the KDF chain by the whitepaper.
 */
#include <string.h>

#include <blake2.h>
#include <sodium.h>

#include "wg-hash.h"

#define BLAKE2S_BLOCK	64

void
wg_hash2(uint8_t out[WG_HASH_LEN], const void *a, size_t alen, const void *b,
    size_t blen)
{
	blake2s_state	s;

	blake2s_init(&s, WG_HASH_LEN);
	if (alen)
		blake2s_update(&s, a, alen);
	if (blen)
		blake2s_update(&s, b, blen);
	blake2s_final(&s, out, WG_HASH_LEN);
	sodium_memzero(&s, sizeof(s));
}

void
wg_mac(uint8_t out[WG_MAC_LEN], const uint8_t *key, size_t keylen,
    const void *in, size_t len)
{
	blake2s(out, in, key, WG_MAC_LEN, len, keylen);
}

void
wg_hmac(uint8_t out[WG_HASH_LEN], const uint8_t key[WG_HASH_LEN],
    const void *in, size_t len)
{
	uint8_t		pad[BLAKE2S_BLOCK], inner[WG_HASH_LEN];
	blake2s_state	s;
	size_t		i;

	/* The key is one block, zero-filled, xored with ipad, then opad. */
	memset(pad, 0x36, sizeof(pad));
	for (i = 0; i < WG_HASH_LEN; i++)
		pad[i] ^= key[i];
	blake2s_init(&s, WG_HASH_LEN);
	blake2s_update(&s, pad, sizeof(pad));
	if (len)
		blake2s_update(&s, in, len);
	blake2s_final(&s, inner, WG_HASH_LEN);

	memset(pad, 0x5c, sizeof(pad));
	for (i = 0; i < WG_HASH_LEN; i++)
		pad[i] ^= key[i];
	blake2s_init(&s, WG_HASH_LEN);
	blake2s_update(&s, pad, sizeof(pad));
	blake2s_update(&s, inner, sizeof(inner));
	blake2s_final(&s, out, WG_HASH_LEN);

	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&s, sizeof(s));
}

void
wg_kdf(uint8_t t1[WG_HASH_LEN], uint8_t *t2, uint8_t *t3,
    const uint8_t key[WG_HASH_LEN], const void *in, size_t len)
{
	uint8_t	t0[WG_HASH_LEN], buf[WG_HASH_LEN + 1];

	/* t0 = HMAC(key, in); ti = HMAC(t0, t(i-1) || i), t(0) empty. */
	wg_hmac(t0, key, in, len);
	buf[0] = 1;
	wg_hmac(buf, t0, buf, 1);
	memcpy(t1, buf, WG_HASH_LEN);
	if (t2 != NULL) {
		buf[WG_HASH_LEN] = 2;
		wg_hmac(buf, t0, buf, sizeof(buf));
		memcpy(t2, buf, WG_HASH_LEN);
	}
	if (t3 != NULL) {
		buf[WG_HASH_LEN] = 3;
		wg_hmac(buf, t0, buf, sizeof(buf));
		memcpy(t3, buf, WG_HASH_LEN);
	}
	sodium_memzero(t0, sizeof(t0));
	sodium_memzero(buf, sizeof(buf));
}
