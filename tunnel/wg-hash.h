/*
 * wg-hash.h - the WireGuard whitepaper's HASH, MAC, HMAC and KDF over
 * BLAKE2s (libb2): HASH is unkeyed BLAKE2s-256, MAC keyed BLAKE2s-128,
 * HMAC the RFC 2104 construction over BLAKE2s-256 (64-byte blocks) and
 * KDFn the HKDF-like chain that gives n 32-byte keys from a chaining key.
 * Private to tunnel/wg-*.c.  Every function wipes its intermediate state.
 */
#ifndef WG_HASH_H
#define WG_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "wg-proto.h"

/* HASH(a || b); either may be empty (NULL, 0). */
void	wg_hash2(uint8_t out[WG_HASH_LEN], const void *a, size_t alen,
	    const void *b, size_t blen);
/* MAC(key, in): keyed BLAKE2s with a 16-byte output. */
void	wg_mac(uint8_t out[WG_MAC_LEN], const uint8_t *key, size_t keylen,
	    const void *in, size_t len);
/* HMAC(key, in) with a 32-byte key. */
void	wg_hmac(uint8_t out[WG_HASH_LEN], const uint8_t key[WG_HASH_LEN],
	    const void *in, size_t len);
/*
 * KDF1/2/3(key, in): t1 (the next chaining key), then t2 and t3 when not
 * NULL.  t1 may be key.
 */
void	wg_kdf(uint8_t t1[WG_HASH_LEN], uint8_t *t2, uint8_t *t3,
	    const uint8_t key[WG_HASH_LEN], const void *in, size_t len);

#endif
