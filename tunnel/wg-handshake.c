/*
 * wg-handshake.c - handshakes of a wireguard port and the timers of the
 * whitepaper's section 6, run from the port's tick and from the send and
 * receive paths.
 *
 * The rules, as WireGuard's:
 *   - the initiator rekeys when it sends on a session older than
 *     rekey-after-time or past REKEY_AFTER_MESSAGES, or when it receives on
 *     one older than reject-after-time less keepalive and rekey timeouts
 *     (wg-peer.c);
 *   - an initiation is sent again every REKEY_TIMEOUT plus up to a third of
 *     a second of jitter until a session comes or rekey-attempt-time has
 *     passed since the first (then the staged packets are dropped);
 *   - data received and nothing sent for KEEPALIVE_TIMEOUT: a keepalive;
 *     data sent and nothing received for KEEPALIVE + REKEY_TIMEOUT: a new
 *     handshake; persistent-keepalive: a keepalive when nothing was sent
 *     for that long;
 *   - three times reject-after-time without a new session: every session
 *     and handshake state is zeroed.
 * The port's tick runs once a second, so the timers are as precise as
 * that.
 *
 * Received initiations and responses need our mac1; under load (more than
 * WG_LOAD_PER_SEC such messages in a second, and for a second after) also
 * a mac2 of the sender's cookie, else they get a cookie reply instead, and
 * no more than WG_RL_PER_SEC of them a second from one source.  An
 * initiation must carry a timestamp newer than the last taken from its
 * peer, and come no sooner than WG_INIT_MIN_MS after it.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "datapath/dp.h"

#include "wg-port-int.h"

_Static_assert(WG_STAGED_PORT_MAX <= DP_POOL_SIZE / 4,
    "staged packets would take too much of the pool");
_Static_assert(WG_RL_KEY_LEN == crypto_shorthash_KEYBYTES, "rl key");

/* Handshakes. */

void
wg_peer_initiate(struct wg_peer *peer, uint64_t now, bool retry)
{
	struct wg_port	*wp = peer->wp;
	uint8_t		 msg[WG_INIT_LEN], ts[WG_TIMESTAMP_LEN];

	if (!retry) {
		if (peer->hs_wanted && now - peer->hs_sent <
		    wg_timers.rekey_timeout)
			return;
		if (!peer->hs_wanted)
			peer->hs_started = now;
		peer->hs_wanted = true;
	}
	peer->hs_retry = now + wg_timers.rekey_timeout +
	    randombytes_uniform(WG_JITTER_MS);
	if (peer->endpoint.ss_family == AF_UNSPEC)
		return;
	wg_index_del(&peer->hs_index);
	wg_index_add(wp, &peer->hs_index);
	wg_timestamp_now(ts);
	wg_init_create(&peer->sec->hs, wp->id, &peer->sec->keys,
	    peer->hs_index.id, ts, msg);
	wg_macs_fill(&peer->jar, &peer->sec->keys, msg, sizeof(msg),
	    now / 1000);
	wg_send_one(wp, &peer->endpoint, msg, sizeof(msg));
	peer->hs_sent = now;
	wg_peer_sent(peer, now, false, sizeof(msg));
}

void
wg_peer_keepalive(struct wg_peer *peer, uint64_t now)
{
	struct wg_session	*s;
	uint8_t			 msg[WG_DATA_MIN], zero[WG_PAD] = { 0 };
	size_t			 n;

	if (peer->endpoint.ss_family == AF_UNSPEC ||
	    (s = wg_peer_tx_session(peer, now)) == NULL)
		return;
	n = wg_data_seal(&s->kp, s->send_counter++, zero, 0, 0, msg,
	    msg + WG_DATA_HLEN);
	wg_send_one(peer->wp, &peer->endpoint, msg, WG_DATA_HLEN + n);
	wg_peer_sent(peer, now, false, WG_DATA_HLEN + n);
}

/* Gives up a handshake: what waited for it is dropped. */
static void
wg_peer_give_up(struct wg_peer *peer)
{
	struct wg_port	*wp = peer->wp;

	peer->hs_wanted = false;
	wg_index_del(&peer->hs_index);
	wg_handshake_wipe(&peer->sec->hs);
	for (; peer->staged_count > 0; peer->staged_count--) {
		pkt_free(peer->staged[peer->staged_head]);
		peer->staged_head = (peer->staged_head + 1) % WG_STAGED_MAX;
		wp->staged_total--;
		wg_drop(wp, WG_DROP_STAGED_FULL);
	}
}

void
wg_peer_tick(struct wg_peer *peer, uint64_t now)
{
	const struct wg_timers	*t = &wg_timers;

	if (peer->hs_wanted && now >= peer->hs_retry) {
		if (now - peer->hs_started >= t->rekey_attempt)
			wg_peer_give_up(peer);
		else
			wg_peer_initiate(peer, now, true);
	}
	if (peer->data_recv_unanswered != 0 &&
	    now - peer->data_recv_unanswered >= t->keepalive)
		wg_peer_keepalive(peer, now);
	if (peer->data_sent_unanswered != 0 &&
	    now - peer->data_sent_unanswered >= t->keepalive +
	    t->rekey_timeout) {
		peer->data_sent_unanswered = 0;
		wg_peer_initiate(peer, now, false);
	}
	if (peer->keepalive != 0 &&
	    now - peer->last_sent >= peer->keepalive * 1000ULL)
		wg_peer_keepalive(peer, now);
	if (peer->last_session != 0 &&
	    now - peer->last_session >= 3 * t->reject_after) {
		wg_peer_zero(peer);
		peer->last_session = 0;
	}
}

/* Copies p (the caller's) to the peer's queue and starts a handshake. */
void
wg_peer_stage(struct wg_peer *peer, const struct pkt *p, uint64_t now)
{
	struct port	*port = peer->wp->port;
	struct pkt	*q;

	if (peer->staged_count == WG_STAGED_MAX ||
	    peer->wp->staged_total >= WG_STAGED_PORT_MAX) {
		wg_drop(peer->wp, WG_DROP_STAGED_FULL);
		wg_peer_initiate(peer, now, false);
		return;
	}
	if ((q = pkt_alloc(port->dp->pool)) == NULL) {
		port_drop(port, DROP_NO_BUFFER);
		return;
	}
	if (p->len > pkt_tailroom(q)) {
		pkt_free(q);
		port_drop(port, DROP_TOO_BIG);
		return;
	}
	memcpy(q->data, p->data, p->len);
	q->len = p->len;
	peer->staged[(peer->staged_head + peer->staged_count++) %
	    WG_STAGED_MAX] = q;
	peer->wp->staged_total++;
	wg_peer_initiate(peer, now, false);
}

/* Received handshake messages. */

static const struct wg_peer_keys *
wg_lookup(void *arg, const uint8_t pub[WG_KEY_LEN], void **peer_arg)
{
	struct wg_port	*wp = arg;
	struct wg_peer	*peer;

	TAILQ_FOREACH(peer, &wp->peers, entry)
		if (memcmp(peer->sec->keys.pub, pub, WG_KEY_LEN) == 0) {
			*peer_arg = peer;
			return &peer->sec->keys;
		}
	return NULL;
}

/*
 * Whether handshake messages come faster than WG_LOAD_PER_SEC: then, and
 * for a second after, they need mac2.
 */
static bool
wg_load(struct wg_port *wp, uint64_t now)
{
	uint64_t	sec = now / 1000;

	if (sec != wp->load_sec) {
		wp->load_sec = sec;
		wp->load_count = 0;
	}
	if (++wp->load_count > WG_LOAD_PER_SEC)
		wp->under_load_until = now + 1000;
	wp->under_load = now < wp->under_load_until;
	return wp->under_load;
}

/*
 * A cookie proves a source address, not that its owner does not flood us,
 * and each initiation it sends costs Diffie-Hellmans: under load a source
 * (an IPv6 /64, which one host may hold whole) gets WG_RL_PER_SEC messages
 * a second, WG_RL_BURST at once.  The buckets are direct-mapped by a keyed
 * hash nobody can aim; one in use in the last second is not given to
 * another source, which is refused instead (as the kernel's refuses new
 * sources when its table is full).
 */
static bool
wg_rate_ok(struct wg_port *wp, const struct sockaddr_storage *from,
    uint64_t now)
{
	const uint64_t		 cost = 1000 / WG_RL_PER_SEC;
	const uint64_t		 max = cost * WG_RL_BURST;
	struct wg_rl_entry	*e;
	uint8_t			 h[crypto_shorthash_BYTES];
	uint64_t		 key;

	if (from->ss_family == AF_INET6)
		crypto_shorthash(h, (const uint8_t *)&((const struct
		    sockaddr_in6 *)from)->sin6_addr, 8, wp->rl_key);
	else
		crypto_shorthash(h, (const uint8_t *)&((const struct
		    sockaddr_in *)from)->sin_addr, 4, wp->rl_key);
	memcpy(&key, h, sizeof(key));
	key |= 1;
	e = &wp->rl[(key >> 32) & (WG_RL_BUCKETS - 1)];
	if (e->key != key) {
		if (e->key != 0 && now - e->last < 1000)
			return false;
		*e = (struct wg_rl_entry){ .key = key, .last = now,
		    .tokens = max };
	} else {
		e->tokens += now - e->last;
		if (e->tokens > max)
			e->tokens = max;
		e->last = now;
	}
	if (e->tokens < cost)
		return false;
	e->tokens -= cost;
	return true;
}

static void
wg_init_input(struct wg_port *wp, const uint8_t *msg,
    const struct sockaddr_storage *from, uint64_t now)
{
	struct wg_handshake	 hs;
	struct wg_keypair	 kp;
	struct wg_session	*s;
	struct wg_peer		*peer;
	void			*arg = NULL;
	uint8_t			 ts[WG_TIMESTAMP_LEN], resp[WG_RESP_LEN];
	uint32_t		 id;

	if (wg_init_consume(&hs, wp->id, msg, wg_lookup, wp, &arg, ts) != 0) {
		wg_drop(wp, WG_DROP_BAD_HANDSHAKE);
		return;
	}
	peer = arg;
	if (memcmp(ts, peer->last_ts, sizeof(ts)) <= 0 ||
	    (peer->last_init_rx != 0 &&
	    now - peer->last_init_rx < WG_INIT_MIN_MS)) {
		wg_handshake_wipe(&hs);
		wg_drop(wp, WG_DROP_REPLAYED_INIT);
		return;
	}
	memcpy(peer->last_ts, ts, sizeof(ts));
	peer->last_init_rx = now;
	/* Ours in flight, if any, is superseded: its response is refused. */
	wg_index_del(&peer->hs_index);
	peer->sec->hs = hs;
	wg_handshake_wipe(&hs);
	wg_session_clear(peer, peer->next);
	peer->next = NULL;
	do
		id = randombytes_random();
	while (wg_index_find(wp, id) != NULL);
	wg_resp_create(&peer->sec->hs, &peer->sec->keys, id, resp, &kp);
	kp.local_index = id;
	s = wg_session_install(peer, &kp, now, false);
	peer->next = s;
	wg_keypair_wipe(&kp);
	wg_macs_fill(&peer->jar, &peer->sec->keys, resp, sizeof(resp),
	    now / 1000);
	peer->handshakes++;
	peer->last_handshake = time(NULL);
	/*
	 * hs_wanted stays: a responder may not send yet, and when both ends
	 * initiated at once each refuses the other's response; the retry
	 * (with jitter) ends that.  wg_peer_confirm() stops it.
	 */
	wg_peer_received(peer, now, false, WG_INIT_LEN, from);
	wg_send_one(wp, &peer->endpoint, resp, sizeof(resp));
	wg_peer_sent(peer, now, false, sizeof(resp));
}

static void
wg_resp_input(struct wg_port *wp, const uint8_t *msg,
    const struct sockaddr_storage *from, uint64_t now)
{
	struct wg_index		*ix = wg_index_find(wp, wg_msg_receiver(msg));
	struct wg_keypair	 kp;
	struct wg_session	*s;
	struct wg_peer		*peer;

	if (ix == NULL || ix->sess != NULL ||
	    ix->peer->sec->hs.state != WG_HS_INIT_SENT) {
		wg_drop(wp, WG_DROP_UNKNOWN_INDEX);
		return;
	}
	peer = ix->peer;
	if (wg_resp_consume(&peer->sec->hs, wp->id, &peer->sec->keys, msg,
	    &kp) != 0) {
		wg_drop(wp, WG_DROP_BAD_HANDSHAKE);
		return;
	}
	wg_index_del(&peer->hs_index);
	kp.local_index = ix->id;
	/*
	 * As the kernel's: a responder session not yet confirmed may be the
	 * one the peer sends on now (it initiated too): it stays open as the
	 * previous, and the current one goes.
	 */
	wg_session_clear(peer, peer->prev);
	if (peer->next != NULL) {
		wg_session_clear(peer, peer->cur);
		peer->prev = peer->next;
		peer->next = NULL;
	} else
		peer->prev = peer->cur;
	s = wg_session_install(peer, &kp, now, true);
	peer->cur = s;
	wg_keypair_wipe(&kp);
	peer->handshakes++;
	peer->last_handshake = time(NULL);
	peer->hs_wanted = false;
	wg_peer_received(peer, now, false, WG_RESP_LEN, from);
	/* The responder may send only once it heard from us. */
	if (peer->staged_count > 0)
		wg_send_staged(peer, now);
	else
		wg_peer_keepalive(peer, now);
}

static void
wg_cookie_input(struct wg_port *wp, const uint8_t *msg, uint64_t now)
{
	struct wg_index	*ix = wg_index_find(wp, wg_msg_receiver(msg));

	if (ix == NULL) {
		wg_drop(wp, WG_DROP_UNKNOWN_INDEX);
		return;
	}
	if (wg_cookie_reply_consume(&ix->peer->jar, &ix->peer->sec->keys, msg,
	    now / 1000) != 0)
		wg_drop(wp, WG_DROP_BAD_COOKIE);
}

/* An initiation, response or cookie reply: consumed, p freed. */
void
wg_handshake_input(struct wg_port *wp, struct pkt *p,
    const struct sockaddr_storage *from, uint64_t now)
{
	enum wg_msg_type	 type = wg_msg_classify(p->data, p->len);
	uint8_t			 reply[WG_COOKIE_MSG_LEN];

	if (type == WG_MSG_COOKIE) {
		wg_cookie_input(wp, p->data, now);
		goto out;
	}
	if (!wg_mac1_ok(wp->id, p->data, p->len)) {
		wg_drop(wp, WG_DROP_BAD_MAC1);
		goto out;
	}
	if (wg_load(wp, now) && !wg_mac2_ok(wp->checker, p->data, p->len,
	    (const struct sockaddr *)from, now / 1000)) {
		wg_cookie_reply_create(wp->checker, wp->id, p->data, p->len,
		    (const struct sockaddr *)from, now / 1000, reply);
		wg_send_one(wp, from, reply, sizeof(reply));
		wg_drop(wp, WG_DROP_UNDER_LOAD);
		goto out;
	}
	if (wp->under_load && !wg_rate_ok(wp, from, now)) {
		wg_drop(wp, WG_DROP_UNDER_LOAD);
		goto out;
	}
	if (type == WG_MSG_INIT)
		wg_init_input(wp, p->data, from, now);
	else
		wg_resp_input(wp, p->data, from, now);
out:
	pkt_free(p);
}
