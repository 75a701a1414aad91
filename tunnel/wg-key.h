/*
 * wg-key.h - WireGuard keys as the `wg` tool makes and prints them: 32-byte
 * X25519 keys (libsodium), written in standard base64 (44 characters, one
 * '=').  Apart from the protocol so that vswctl can make keys (genkey,
 * pubkey) with libsodium alone.
 */
#ifndef WG_KEY_H
#define WG_KEY_H

#include <stdint.h>

#define WG_KEY_LEN		32
#define WG_KEY_B64_LEN		45	/* with the NUL */

/* A fresh private key, clamped as X25519 wants. */
void	wg_key_generate(uint8_t priv[WG_KEY_LEN]);
/* 0, or EINVAL when priv gives no usable public key. */
int	wg_key_public(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN]);
/* 0, or EINVAL when s is not 44 characters of base64 for 32 bytes. */
int	wg_key_from_base64(uint8_t key[WG_KEY_LEN], const char *s);
void	wg_key_to_base64(char out[WG_KEY_B64_LEN],
	    const uint8_t key[WG_KEY_LEN]);

#endif
