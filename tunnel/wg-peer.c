/*
 * wg-peer.c - the peers of a wireguard port: their configuration, allowed
 * IPs (route.h tables whose "ports" are peers: cryptokey routing), the
 * port's index table and each peer's three sessions (wg-port-int.h), and
 * the bookkeeping of what a peer sent and received that the timers of
 * wg-handshake.c read.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "datapath/be.h"
#include "datapath/dp.h"
#include "datapath/ip.h"

#include "wg-port-int.h"

struct wg_timers wg_timers = {
	.rekey_after	= WG_REKEY_AFTER_TIME * 1000ULL,
	.reject_after	= WG_REJECT_AFTER_TIME * 1000ULL,
	.rekey_attempt	= WG_REKEY_ATTEMPT_TIME * 1000ULL,
	.rekey_timeout	= WG_REKEY_TIMEOUT * 1000ULL,
	.keepalive	= WG_KEEPALIVE_TIMEOUT * 1000ULL,
};

/*
 * Shorter sessions for tests: the other timers keep their proportions to
 * rekey-after-time; REKEY_TIMEOUT and KEEPALIVE_TIMEOUT stay as they are
 * unless that would leave no room for a retry or a keepalive.
 */
void
wg_set_rekey_after(unsigned seconds)
{
	uint64_t	ms = (uint64_t)(seconds ? seconds : 1) * 1000;
	uint64_t	timeout = WG_REKEY_TIMEOUT * 1000ULL;
	uint64_t	keepalive = WG_KEEPALIVE_TIMEOUT * 1000ULL;

	wg_timers.rekey_after = ms;
	wg_timers.reject_after = ms * 3 / 2;
	wg_timers.rekey_attempt = ms * 3 / 4;
	wg_timers.rekey_timeout = timeout < ms / 2 ? timeout : ms / 2;
	wg_timers.keepalive = keepalive < ms / 2 ? keepalive : ms / 2;
}

uint64_t
wg_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Index table. */

void
wg_index_init(struct wg_port *wp)
{
	for (unsigned i = 0; i < WG_INDEX_BUCKETS; i++)
		LIST_INIT(&wp->index[i]);
}

/* Indexes are random: nobody can aim them at one bucket. */
struct wg_index *
wg_index_find(const struct wg_port *wp, uint32_t id)
{
	struct wg_index	*ix;

	LIST_FOREACH(ix, &wp->index[id & (WG_INDEX_BUCKETS - 1)], link)
		if (ix->id == id)
			return ix;
	return NULL;
}

void
wg_index_add(struct wg_port *wp, struct wg_index *ix)
{
	do
		ix->id = randombytes_random();
	while (wg_index_find(wp, ix->id) != NULL);
	LIST_INSERT_HEAD(&wp->index[ix->id & (WG_INDEX_BUCKETS - 1)], ix,
	    link);
	ix->hashed = true;
}

void
wg_index_del(struct wg_index *ix)
{
	if (ix->hashed)
		LIST_REMOVE(ix, link);
	ix->hashed = false;
}

/* Cryptokey routing: the peer whose allowed IPs hold dst (or src). */
struct wg_peer *
wg_peer_route(const struct wg_port *wp, const uint8_t *ip, size_t len,
    bool src)
{
	struct rt_route	*r;

	if (len >= IP4_HLEN && ip_version(ip) == 4)
		r = rt_lookup(wp->allowed4, ip + (src ? IP4_OFF_SRC :
		    IP4_OFF_DST));
	else if (len >= IP6_HLEN && ip_version(ip) == 6)
		r = rt_lookup(wp->allowed6, ip + (src ? IP6_OFF_SRC :
		    IP6_OFF_DST));
	else
		return NULL;
	return r == NULL ? NULL : r->port;
}

/* Sessions. */

void
wg_session_clear(struct wg_peer *peer, struct wg_session *s)
{
	unsigned	slot;

	if (s == NULL)
		return;
	slot = s->slot;
	wg_index_del(&peer->sess_index[slot]);
	sodium_memzero(s, sizeof(*s));
	s->slot = slot;
}

static struct wg_session *
wg_session_free_slot(struct wg_peer *peer)
{
	for (unsigned i = 0; i < WG_SESSIONS; i++) {
		struct wg_session *s = &peer->sec->sess[i];

		if (s != peer->cur && s != peer->prev && s != peer->next)
			return s;
	}
	abort();	/* three slots, three roles: one is always free */
}

/* Puts kp in a free slot and indexes it under its local index. */
struct wg_session *
wg_session_install(struct wg_peer *peer, const struct wg_keypair *kp,
    uint64_t now, bool confirmed)
{
	struct wg_session	*s = wg_session_free_slot(peer);
	struct wg_index		*ix = &peer->sess_index[s->slot];

	s->kp = *kp;
	wg_replay_init(&s->replay);
	s->send_counter = 0;
	s->created = now;
	s->valid = true;
	s->confirmed = confirmed;
	ix->id = kp->local_index;
	ix->sess = s;
	LIST_INSERT_HEAD(&peer->wp->index[ix->id & (WG_INDEX_BUCKETS - 1)],
	    ix, link);
	ix->hashed = true;
	peer->last_session = now;
	return s;
}

void
wg_peer_zero(struct wg_peer *peer)
{
	wg_session_clear(peer, peer->cur);
	wg_session_clear(peer, peer->prev);
	wg_session_clear(peer, peer->next);
	peer->cur = peer->prev = peer->next = NULL;
	wg_index_del(&peer->hs_index);
	wg_handshake_wipe(&peer->sec->hs);
}

bool
wg_session_usable(const struct wg_session *s, uint64_t now)
{
	return s != NULL && s->valid &&
	    now - s->created < wg_timers.reject_after &&
	    s->send_counter < WG_REJECT_AFTER_MESSAGES;
}

/* The initiator showed it has the responder's session: it is current. */
void
wg_peer_confirm(struct wg_peer *peer, struct wg_session *s)
{
	if (s != peer->next)
		return;
	wg_session_clear(peer, peer->prev);
	peer->prev = peer->cur;
	peer->cur = s;
	peer->next = NULL;
	s->confirmed = true;
	/* The handshake is complete: no more retries. */
	peer->hs_wanted = false;
}

struct wg_session *
wg_peer_tx_session(struct wg_peer *peer, uint64_t now)
{
	struct wg_session	*s = peer->cur;

	if (wg_session_usable(s, now) && s->confirmed) {
		/* Age rekeys the initiator only; the count either end. */
		if ((s->kp.initiator && now - s->created >=
		    wg_timers.rekey_after) ||
		    s->send_counter >= WG_REKEY_AFTER_MESSAGES)
			wg_peer_initiate(peer, now, false);
		return s;
	}
	/* The initiator of a fresh session is about to confirm it. */
	if (peer->next != NULL && now - peer->next->created <
	    wg_timers.rekey_timeout)
		return NULL;
	wg_peer_initiate(peer, now, false);
	return NULL;
}

void
wg_peer_sent(struct wg_peer *peer, uint64_t now, bool data, size_t bytes)
{
	peer->last_sent = now;
	peer->tx_bytes += bytes;
	peer->data_recv_unanswered = 0;
	if (data && peer->data_sent_unanswered == 0)
		peer->data_sent_unanswered = now;
}

/* An authenticated datagram from peer: roaming, timers, counters. */
void
wg_peer_received(struct wg_peer *peer, uint64_t now, bool data, size_t bytes,
    const struct sockaddr_storage *from)
{
	const struct wg_session	*s = peer->cur;

	peer->last_recv = now;
	peer->rx_bytes += bytes;
	peer->data_sent_unanswered = 0;
	if (data && peer->data_recv_unanswered == 0)
		peer->data_recv_unanswered = now;
	if (memcmp(&peer->endpoint, from, sizeof(peer->endpoint)) != 0)
		peer->endpoint = *from;
	if (data && s != NULL && s->kp.initiator && now - s->created >=
	    wg_timers.reject_after - wg_timers.keepalive -
	    wg_timers.rekey_timeout)
		wg_peer_initiate(peer, now, false);
}

/* Configuration. */

static const char *
wg_prefix_str(const struct ip_prefix *a, char *buf, size_t len)
{
	char	s[INET6_ADDRSTRLEN];

	inet_ntop(a->family, a->addr, s, sizeof(s));
	snprintf(buf, len, "%s/%u", s, a->len);
	return buf;
}

static struct rt_table *
wg_table(const struct wg_port *wp, int family)
{
	return family == AF_INET6 ? wp->allowed6 : wp->allowed4;
}

static int
wg_allowed_add(struct wg_peer *peer, const struct ip_prefix *a)
{
	struct rt_table	*t = wg_table(peer->wp, a->family);
	struct rt_route	 r = { .dst = *a, .type = RT_UNICAST, .port = peer };
	struct rt_route	*old;
	int		 error;

	ip_prefix_mask(r.dst.addr, ip_addr_len(a->family), a->len);
	if ((error = rt_add(t, &r)) != EEXIST)
		return error;
	old = rt_lookup(t, r.dst.addr);
	/* Named twice: once is enough. */
	if (old != NULL && old->dst.len == r.dst.len && old->port == peer)
		return 0;
	return EEXIST;
}

static void
wg_allowed_flush(struct wg_peer *peer)
{
	rt_flush(peer->wp->allowed4, peer);
	rt_flush(peer->wp->allowed6, peer);
}

/* Replaces the peer's allowed IPs, or leaves them as they were. */
static int
wg_allowed_set(struct wg_peer *peer, const struct ip_prefix *allowed,
    unsigned n, char *err, size_t errlen)
{
	char	buf[INET6_ADDRSTRLEN + 8];
	int	error;

	wg_allowed_flush(peer);
	for (unsigned i = 0; i < n; i++) {
		if ((error = wg_allowed_add(peer, &allowed[i])) == 0)
			continue;
		wg_prefix_str(&allowed[i], buf, sizeof(buf));
		if (error == EEXIST)
			snprintf(err, errlen, "allowed IP %s is another peer's",
			    buf);
		else
			snprintf(err, errlen, "cannot add allowed IP %s: %s",
			    buf, strerror(error));
		wg_allowed_flush(peer);
		for (unsigned k = 0; k < peer->n_allowed; k++)
			wg_allowed_add(peer, &peer->allowed[k]);
		return error;
	}
	memcpy(peer->allowed, allowed, n * sizeof(*allowed));
	peer->n_allowed = n;
	return 0;
}

static struct wg_peer *
wg_peer_find(const struct wg_port *wp, const uint8_t pub[WG_KEY_LEN])
{
	struct wg_peer	*peer;

	TAILQ_FOREACH(peer, &wp->peers, entry)
		if (memcmp(peer->sec->keys.pub, pub, WG_KEY_LEN) == 0)
			return peer;
	return NULL;
}

static struct wg_peer *
wg_peer_new(struct wg_port *wp)
{
	struct wg_peer	*peer;

	if ((peer = calloc(1, sizeof(*peer))) == NULL)
		return NULL;
	if ((peer->sec = sodium_malloc(sizeof(*peer->sec))) == NULL) {
		free(peer);
		return NULL;
	}
	sodium_memzero(peer->sec, sizeof(*peer->sec));
	peer->wp = wp;
	peer->hs_index.peer = peer;
	for (unsigned i = 0; i < WG_SESSIONS; i++) {
		peer->sess_index[i].peer = peer;
		peer->sec->sess[i].slot = i;
	}
	return peer;
}

void
wg_peer_free(struct wg_peer *peer)
{
	struct wg_port	*wp = peer->wp;

	wg_allowed_flush(peer);
	for (; peer->staged_count > 0; peer->staged_count--) {
		pkt_free(peer->staged[peer->staged_head]);
		peer->staged_head = (peer->staged_head + 1) % WG_STAGED_MAX;
		wp->staged_total--;
	}
	wg_peer_zero(peer);
	TAILQ_REMOVE(&wp->peers, peer, entry);
	wp->npeers--;
	sodium_free(peer->sec);
	sodium_memzero(&peer->jar, sizeof(peer->jar));
	free(peer);
}

int
wg_port_peer_add(struct port *port, const struct wg_peer_config *cfg,
    char *err, size_t errlen)
{
	struct wg_port		*wp = port->priv;
	struct wg_peer		*peer;
	struct wg_peer_keys	*keys;
	uint8_t			 psk[WG_KEY_LEN];
	char			 b64[WG_KEY_B64_LEN];
	bool			 fresh = false, rekeyed;
	int			 error;

	if (!wg_port_is(port)) {
		snprintf(err, errlen, "port %s is of type %s, not wireguard",
		    port->name, port->ops->type);
		return EINVAL;
	}
	wg_key_to_base64(b64, cfg->pub);
	if (memcmp(cfg->pub, wp->id->pub, WG_KEY_LEN) == 0) {
		snprintf(err, errlen, "peer %s is the port's own public key",
		    b64);
		return EINVAL;
	}
	if (cfg->n_allowed > WG_ALLOWED_MAX) {
		snprintf(err, errlen, "%u allowed IPs: at most %d", cfg->n_allowed,
		    WG_ALLOWED_MAX);
		return EINVAL;
	}
	if (cfg->psk_path[0] != '\0' && (error = wg_key_file_read(
	    cfg->psk_path, psk, err, errlen)) != 0)
		return error;
	if ((peer = wg_peer_find(wp, cfg->pub)) == NULL) {
		if (wp->npeers == WG_PEERS_MAX) {
			snprintf(err, errlen, "port %s has %d peers already",
			    port->name, WG_PEERS_MAX);
			error = ENOSPC;
			goto wipe;
		}
		if ((peer = wg_peer_new(wp)) == NULL) {
			snprintf(err, errlen, "out of memory");
			error = ENOMEM;
			goto wipe;
		}
		/* Listed at once: wg_peer_free() undoes a failed add. */
		TAILQ_INSERT_TAIL(&wp->peers, peer, entry);
		wp->npeers++;
		fresh = true;
	}
	if ((keys = sodium_malloc(sizeof(*keys))) == NULL) {
		snprintf(err, errlen, "out of memory");
		error = ENOMEM;
		goto free_peer;
	}
	if ((error = wg_peer_keys_init(keys, wp->id, cfg->pub,
	    cfg->psk_path[0] != '\0' ? psk : NULL)) != 0) {
		snprintf(err, errlen, "peer %s is not a usable public key", b64);
		goto free_keys;
	}
	if ((error = wg_allowed_set(peer, cfg->allowed, cfg->n_allowed, err,
	    errlen)) != 0)
		goto free_keys;
	rekeyed = !fresh && sodium_memcmp(keys, &peer->sec->keys,
	    sizeof(*keys)) != 0;
	peer->sec->keys = *keys;
	if (rekeyed)
		wg_peer_zero(peer);
	snprintf(peer->psk_path, sizeof(peer->psk_path), "%s", cfg->psk_path);
	peer->has_psk = cfg->psk_path[0] != '\0';
	if (cfg->endpoint.ss_family != AF_UNSPEC)
		peer->endpoint = cfg->endpoint;
	peer->keepalive = cfg->keepalive;
	/* As wg: a persistent keepalive starts at once (and a handshake). */
	if (peer->keepalive != 0 && peer->endpoint.ss_family != AF_UNSPEC)
		wg_peer_keepalive(peer, wg_now_ms());
	error = 0;
	peer = NULL;
free_keys:
	sodium_free(keys);
free_peer:
	if (fresh && peer != NULL)
		wg_peer_free(peer);
wipe:
	sodium_memzero(psk, sizeof(psk));
	return error;
}

int
wg_port_peer_del(struct port *port, const uint8_t pub[WG_KEY_LEN], char *err,
    size_t errlen)
{
	struct wg_port	*wp = port->priv;
	struct wg_peer	*peer;
	char		 b64[WG_KEY_B64_LEN];

	if (!wg_port_is(port) || (peer = wg_peer_find(wp, pub)) == NULL) {
		wg_key_to_base64(b64, pub);
		snprintf(err, errlen, "port %s has no peer %s", port->name, b64);
		return ENOENT;
	}
	wg_peer_free(peer);
	return 0;
}

const struct wg_peer *
wg_port_peer_next(const struct port *port, const struct wg_peer *peer)
{
	const struct wg_port	*wp = port->priv;

	return peer == NULL ? TAILQ_FIRST(&wp->peers) :
	    TAILQ_NEXT(peer, entry);
}

void
wg_peer_get_info(const struct wg_peer *peer, struct wg_peer_info *info)
{
	memcpy(info->pub, peer->sec->keys.pub, WG_KEY_LEN);
	info->psk_path = peer->psk_path;
	info->endpoint = peer->endpoint;
	info->allowed = peer->allowed;
	info->n_allowed = peer->n_allowed;
	info->keepalive = peer->keepalive;
	info->last_handshake = peer->last_handshake;
	info->rx_bytes = peer->rx_bytes;
	info->tx_bytes = peer->tx_bytes;
	info->handshakes = peer->handshakes;
}
