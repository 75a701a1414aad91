/*
 * wg-replay.h - the receive counter window of a WireGuard session (RFC 6479:
 * a ring of bitmap words that slides by whole words, so a check costs a
 * few instructions and a jump ahead clears at most the whole ring).
 *
 * WG_REPLAY_WINDOW counters behind the greatest seen are told apart (at
 * least 2,048 as the issue asks; 8,192 here, the Linux module's); older
 * ones, one already seen, and counters at or past WG_REJECT_AFTER_MESSAGES
 * are refused.  Only a counter of a message that authenticated may be
 * given: a forged counter must not slide the window.
 */
#ifndef WG_REPLAY_H
#define WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define WG_REPLAY_WORD_BITS	64
#define WG_REPLAY_WORDS		128
#define WG_REPLAY_WINDOW	((WG_REPLAY_WORDS - 1) * WG_REPLAY_WORD_BITS)

struct wg_replay {
	uint64_t	greatest;	/* the greatest counter accepted + 1 */
	uint64_t	bits[WG_REPLAY_WORDS];
};

void	wg_replay_init(struct wg_replay *);
/* Whether counter is new (and marks it seen) or must be dropped. */
bool	wg_replay_check(struct wg_replay *, uint64_t counter);

#endif
