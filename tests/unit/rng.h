/*
 * rng.h - a small xorshift generator, so random tests repeat exactly.
 */
#ifndef RNG_H
#define RNG_H

#include <stddef.h>
#include <stdint.h>

static uint64_t	rng_state = 0x9e3779b97f4a7c15ULL;

/* A number in [0, bound); bound > 0. */
static inline uint32_t
rng(uint32_t bound)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)((rng_state >> 11) % bound);
}

static inline void
rng_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng(256);
}

#endif
