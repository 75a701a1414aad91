/*
 * wg-key.c - X25519 keys in the `wg` tool's base64, with libsodium alone
 * (vswctl links this file for `vswctl wireguard genkey|pubkey`).
 *
 * Private keys are clamped as `wg genkey` prints them; X25519 clamps again
 * anyway, so an unclamped key from elsewhere gives the public key `wg
 * pubkey` gives.  Base64 is the standard alphabet with its one '=', and
 * libsodium's decoder refuses non-zero bits in the last character, as
 * `wg` does, so each key has exactly one spelling.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wg-key.h"

#define WG_KEY_B64_CHARS	(WG_KEY_B64_LEN - 1)

void
wg_key_generate(uint8_t priv[WG_KEY_LEN])
{
	/*
	 * Idempotent, and vswctl has no other reason to call it; libsodium
	 * that cannot start has no random bytes to give.
	 */
	if (sodium_init() < 0)
		abort();
	randombytes_buf(priv, WG_KEY_LEN);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
}

int
wg_key_public(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN])
{
	static const uint8_t	zero[WG_KEY_LEN];

	if (crypto_scalarmult_base(pub, priv) != 0 ||
	    sodium_memcmp(pub, zero, WG_KEY_LEN) == 0)
		return EINVAL;
	return 0;
}

int
wg_key_from_base64(uint8_t key[WG_KEY_LEN], const char *s)
{
	const char	*end;
	size_t		 n;

	if (strnlen(s, WG_KEY_B64_CHARS + 1) != WG_KEY_B64_CHARS)
		return EINVAL;
	if (sodium_base642bin(key, WG_KEY_LEN, s, WG_KEY_B64_CHARS, NULL, &n,
	    &end, sodium_base64_VARIANT_ORIGINAL) != 0 || n != WG_KEY_LEN ||
	    end != s + WG_KEY_B64_CHARS) {
		sodium_memzero(key, WG_KEY_LEN);
		return EINVAL;
	}
	return 0;
}

void
wg_key_to_base64(char out[WG_KEY_B64_LEN], const uint8_t key[WG_KEY_LEN])
{
	sodium_bin2base64(out, WG_KEY_B64_LEN, key, WG_KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
}
