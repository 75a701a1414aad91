/*
 * wg-replay.c - the receive counter window (RFC 6479's ring of bitmap
 * words, the layout the Linux module uses).
 *
 * greatest is one past the greatest counter accepted, so that the zeroed
 * state accepts counter 0.  The ring holds WG_REPLAY_WORDS words; the word
 * of greatest and the WG_REPLAY_WORDS - 1 before it are live, so a counter
 * up to WG_REPLAY_WINDOW behind the greatest is always in a live word
 * however the greatest sits in its own.  A counter beyond greatest clears
 * the words it skips (at most the whole ring) and becomes the greatest.
 */
#include <string.h>

#include "wg-proto.h"
#include "wg-replay.h"

#define WORD_SHIFT	6	/* log2(WG_REPLAY_WORD_BITS) */
#define RING_MASK	(WG_REPLAY_WORDS - 1)

_Static_assert(WG_REPLAY_WORD_BITS == 1 << WORD_SHIFT, "word bits");
_Static_assert((WG_REPLAY_WORDS & RING_MASK) == 0, "ring not a power of 2");

void
wg_replay_init(struct wg_replay *r)
{
	memset(r, 0, sizeof(*r));
}

bool
wg_replay_check(struct wg_replay *r, uint64_t counter)
{
	uint64_t	c, word, cur, skip, i, bit;

	if (counter >= WG_REJECT_AFTER_MESSAGES)
		return false;
	c = counter + 1;
	if (c + WG_REPLAY_WINDOW < r->greatest)
		return false;
	word = c >> WORD_SHIFT;
	if (c > r->greatest) {
		cur = r->greatest >> WORD_SHIFT;
		skip = word - cur;
		if (skip > WG_REPLAY_WORDS)
			skip = WG_REPLAY_WORDS;
		for (i = 1; i <= skip; i++)
			r->bits[(cur + i) & RING_MASK] = 0;
		r->greatest = c;
	}
	bit = 1ULL << (c & (WG_REPLAY_WORD_BITS - 1));
	if (r->bits[word & RING_MASK] & bit)
		return false;
	r->bits[word & RING_MASK] |= bit;
	return true;
}
