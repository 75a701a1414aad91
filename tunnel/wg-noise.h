/*
 * wg-noise.h - the WireGuard handshake (Noise_IKpsk2): the initiation and
 * the response, each made by one side and consumed by the other, ending in
 * a struct wg_keypair on both.
 *
 * One struct wg_handshake per peer holds a handshake in flight.  The
 * caller decides everything that needs a clock or a table: it supplies the
 * TAI64N timestamp (wg_timestamp_now()), the sender indexes it allocated,
 * the lookup of a peer by static key, and it refuses an initiation whose
 * timestamp is not greater than the greatest seen from that peer (replay),
 * or that comes too often (flood).  mac1/mac2 are wg-cookie.h's: a message
 * is made here with them zero and filled there; a received one is checked
 * there first.
 *
 * Message functions return 0, or EBADMSG when the message does not
 * authenticate (and change no state of the caller's then).
 */
#ifndef WG_NOISE_H
#define WG_NOISE_H

#include <stdint.h>

#include "wg-proto.h"

enum wg_hs_state {
	WG_HS_NONE,
	WG_HS_INIT_SENT,	/* initiator: waiting for the response */
	WG_HS_INIT_CONSUMED,	/* responder: ready to make the response */
};

struct wg_handshake {
	enum wg_hs_state state;
	uint8_t		 hash[WG_HASH_LEN];
	uint8_t		 ck[WG_HASH_LEN];	/* chaining key */
	uint8_t		 e_priv[WG_KEY_LEN];	/* our ephemeral */
	uint8_t		 remote_e[WG_KEY_LEN];	/* theirs */
	uint32_t	 local_index;
	uint32_t	 remote_index;
};

void	wg_handshake_wipe(struct wg_handshake *);

/* The current time as the initiation's 12-byte TAI64N timestamp. */
void	wg_timestamp_now(uint8_t ts[WG_TIMESTAMP_LEN]);

/*
 * Initiator.  Makes an initiation to peer (mac1/mac2 zero) with sender
 * local_index and timestamp ts; hs becomes WG_HS_INIT_SENT.
 */
void	wg_init_create(struct wg_handshake *hs, const struct wg_identity *,
	    const struct wg_peer_keys *peer, uint32_t local_index,
	    const uint8_t ts[WG_TIMESTAMP_LEN], uint8_t msg[WG_INIT_LEN]);
/*
 * Responder.  Opens an initiation (mac1 already checked): lookup(arg, pub)
 * gives the keys of the peer with that static key, or NULL (EBADMSG: not a
 * peer of ours).  On 0: *peer_arg is what lookup returned it for (the
 * caller's peer), ts the initiation's timestamp, and hs (a scratch one: the
 * caller copies it to the peer's only once it accepted ts) is
 * WG_HS_INIT_CONSUMED.
 */
typedef const struct wg_peer_keys *(*wg_peer_lookup_fn)(void *arg,
	    const uint8_t pub[WG_KEY_LEN], void **peer_arg);
int	wg_init_consume(struct wg_handshake *hs, const struct wg_identity *,
	    const uint8_t msg[WG_INIT_LEN], wg_peer_lookup_fn lookup,
	    void *arg, void **peer_arg, uint8_t ts[WG_TIMESTAMP_LEN]);
/*
 * Responder.  From a WG_HS_INIT_CONSUMED hs, makes the response with sender
 * local_index (mac1/mac2 zero) and the session's keys; hs is wiped to
 * WG_HS_NONE.  The keypair may carry data only once the initiator has
 * shown it has it too: by the first data message it sends.
 */
void	wg_resp_create(struct wg_handshake *hs, const struct wg_peer_keys *,
	    uint32_t local_index, uint8_t msg[WG_RESP_LEN],
	    struct wg_keypair *kp);
/*
 * Initiator.  Opens a response (mac1 checked; its receiver is
 * hs->local_index, which the caller looked up) from a WG_HS_INIT_SENT hs:
 * 0 with the session's keys in kp and hs wiped to WG_HS_NONE.
 */
int	wg_resp_consume(struct wg_handshake *hs, const struct wg_identity *,
	    const struct wg_peer_keys *, const uint8_t msg[WG_RESP_LEN],
	    struct wg_keypair *kp);

#endif
