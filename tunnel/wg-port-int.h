/*
 * wg-port-int.h - what the files of the wireguard port type share:
 * port-wg.c (the port: open, close, tick, info, key files), wg-peer.c
 * (peers, allowed IPs, sessions, the index table), wg-handshake.c
 * (handshakes, cookies, timers) and wg-io.c (the sockets, the data path).
 *
 * Secrets (our identity, each peer's keys, handshake and session keys)
 * live apart from the rest, in sodium_malloc()ed memory (mlocked, guarded,
 * wiped by sodium_free()); the rest (queues, tables, sendmmsg() state) in
 * ordinary memory.
 *
 * A peer has three session slots used as the current, previous and next
 * sessions (WireGuard's keypairs): the next is a responder's session not
 * yet confirmed by a data message from the initiator.  Every session and
 * a handshake in flight owns a random 32-bit local index, hashed in the
 * port's index table so that a response, cookie reply or data message
 * finds its peer and session in one probe.
 *
 * Times are milliseconds of CLOCK_MONOTONIC (wg_now_ms()), read once per
 * batch or tick.
 */
#ifndef WG_PORT_INT_H
#define WG_PORT_INT_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "datapath/gro.h"
#include "datapath/pkt.h"
#include "datapath/port.h"
#include "datapath/route.h"

#include "port-wg.h"
#include "tnl-tx.h"
#include "wg-cookie.h"
#include "wg-noise.h"
#include "wg-proto.h"
#include "wg-replay.h"

#define WG_STAGED_MAX		128	/* packets waiting for a session */
/*
 * And on all peers of a port: staged packets hold buffers of the
 * datapath's pool (DP_POOL_SIZE, shared by every port) for up to
 * REKEY_ATTEMPT_TIME, and a few peers that do not answer must not drain it.
 */
#define WG_STAGED_PORT_MAX	256
#define WG_INDEX_BUCKETS	4096	/* a power of two */
#define WG_INIT_MIN_MS		20	/* initiations per peer: 50/s */
/* Handshake messages a second beyond which mac2 is wanted. */
#define WG_LOAD_PER_SEC		256
/*
 * Under load, handshake messages with a valid mac2 per source address (an
 * IPv6 one by its /64) and second, and at once: the kernel's ratelimiter.
 */
#define WG_RL_PER_SEC		20
#define WG_RL_BURST		5
#define WG_RL_BUCKETS		4096	/* a power of two */
#define WG_RL_KEY_LEN		16	/* crypto_shorthash_KEYBYTES */
#define WG_JITTER_MS		333	/* REKEY_TIMEOUT_JITTER_MAX */
#define WG_SESSIONS		3

/* The protocol's timers, in ms, as wg_set_rekey_after() sets them. */
struct wg_timers {
	uint64_t	rekey_after;
	uint64_t	reject_after;
	uint64_t	rekey_attempt;
	uint64_t	rekey_timeout;
	uint64_t	keepalive;
};
extern struct wg_timers wg_timers;

struct wg_peer;
struct wg_session;

/* A source address's token bucket (wg-handshake.c). */
struct wg_rl_entry {
	uint64_t		 key;		/* its keyed hash; 0: free */
	uint64_t		 last;		/* ms */
	uint64_t		 tokens;	/* ms of credit */
};

/* A local index: of a handshake in flight (sess NULL) or of a session. */
struct wg_index {
	uint32_t		 id;
	bool			 hashed;
	struct wg_peer		*peer;
	struct wg_session	*sess;
	LIST_ENTRY(wg_index)	 link;
};

/* In secret memory. */
struct wg_session {
	struct wg_keypair	 kp;
	struct wg_replay	 replay;
	uint64_t		 send_counter;
	uint64_t		 created;	/* ms */
	bool			 valid;
	bool			 confirmed;	/* may send (see above) */
	unsigned		 slot;
};

struct wg_peer_secret {
	struct wg_peer_keys	 keys;
	struct wg_handshake	 hs;
	struct wg_session	 sess[WG_SESSIONS];
};

struct wg_port;

struct wg_peer {
	struct wg_port		*wp;
	struct wg_peer_secret	*sec;
	struct wg_cookie_jar	 jar;
	struct wg_index		 hs_index;
	struct wg_index		 sess_index[WG_SESSIONS];
	struct wg_session	*cur, *prev, *next;
	char			 psk_path[256];
	bool			 has_psk;
	struct sockaddr_storage	 endpoint;
	struct ip_prefix	 allowed[WG_ALLOWED_MAX];
	unsigned		 n_allowed;
	unsigned		 keepalive;	/* s */
	/* Handshakes. */
	uint8_t			 last_ts[WG_TIMESTAMP_LEN];
	uint64_t		 last_init_rx;	/* ms, an initiation taken */
	uint64_t		 hs_started;	/* ms, this attempt's first */
	uint64_t		 hs_sent;	/* ms, the last initiation */
	uint64_t		 hs_retry;	/* ms, the next retry */
	bool			 hs_wanted;	/* retry until a session */
	/* Traffic, for the timers. */
	uint64_t		 last_sent;	/* ms, any datagram */
	uint64_t		 last_recv;	/* ms, an authenticated one */
	uint64_t		 data_sent_unanswered;	/* ms, 0: none */
	uint64_t		 data_recv_unanswered;	/* ms, 0: none */
	uint64_t		 last_session;	/* ms, for expiry */
	/* Packets waiting for a session, a ring. */
	unsigned		 staged_head, staged_count;
	struct pkt		*staged[WG_STAGED_MAX];
	/* What wireguard show says. */
	time_t			 last_handshake;
	uint64_t		 rx_bytes, tx_bytes, handshakes;
	TAILQ_ENTRY(wg_peer)	 entry;
};

/* One UDP socket: of IPv4 or of IPv6, on listen-port. */
struct wg_sock {
	struct wg_port		*wp;
	int			 fd;
	int			 family;
	bool			 gro;
	struct sockaddr_storage	 local;		/* for captures */
	struct dp_watch		*watch;
	/* recvmmsg() state. */
	struct mmsghdr		 rmsgs[PKT_BATCH_MAX];
	struct iovec		 riov[PKT_BATCH_MAX];
	struct sockaddr_storage	 from[PKT_BATCH_MAX];
	struct pkt		*rpkts[PKT_BATCH_MAX];
	union {
		char		 buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	 align;
	}			 rcmsg[PKT_BATCH_MAX];
	/* sendmmsg() state: datagram k is tpkts[k] to tpeer[k]. */
	unsigned		 tcount, tnmsgs;
	struct pkt		*tpkts[PKT_BATCH_MAX];
	struct wg_peer		*tpeer[PKT_BATCH_MAX];
	uint32_t		 tinner[PKT_BATCH_MAX];	/* packet bytes */
	uint32_t		 tlen[PKT_BATCH_MAX];	/* datagram bytes */
	struct iovec		 tiov[PKT_BATCH_MAX];
	struct mmsghdr		 tmsgs[PKT_BATCH_MAX];
	uint8_t			 tfirst[PKT_BATCH_MAX];
	uint8_t			 tsegs[PKT_BATCH_MAX];
	union tnl_tx_cmsg	 tcmsg[PKT_BATCH_MAX];
};

struct wg_port {
	struct port		*port;
	struct wg_identity	*id;		/* secret memory */
	struct wg_cookie_checker *checker;	/* secret memory */
	struct rt_table		*allowed4, *allowed6;
	TAILQ_HEAD(, wg_peer)	 peers;
	unsigned		 npeers;
	LIST_HEAD(, wg_index)	 index[WG_INDEX_BUCKETS];
	uint16_t		 listen_port;
	struct wg_sock		 socks[2];	/* IPv4, IPv6; fd -1: none */
	bool			 gso;
	bool			 gso_failed;
	uint64_t		 gso_msgs;	/* wg_offload_info */
	uint64_t		 gso_segs;
	uint64_t		 gro_reads;
	uint64_t		 gro_datagrams;
	/* Load: handshake messages in this second and whether under it. */
	uint64_t		 load_sec;
	unsigned		 load_count;
	bool			 under_load;
	uint64_t		 under_load_until;	/* ms */
	uint8_t			 rl_key[WG_RL_KEY_LEN];
	struct wg_rl_entry	 rl[WG_RL_BUCKETS];
	uint64_t		 drops[WG_DROP__MAX];
	struct gro_stats	 gro;
	struct pkt_batch	 rxq;		/* inner packets for dp_input */
	struct pkt_batch	 staged;	/* staged packets to send */
	unsigned		 staged_total;	/* of all peers */
};

static inline void
wg_drop(struct wg_port *wp, enum wg_drop why)
{
	wp->drops[why]++;
}

uint64_t	 wg_now_ms(void);

/* wg-peer.c */
void		 wg_index_init(struct wg_port *);
struct wg_index	*wg_index_find(const struct wg_port *, uint32_t id);
void		 wg_index_add(struct wg_port *, struct wg_index *);
void		 wg_index_del(struct wg_index *);
void		 wg_session_clear(struct wg_peer *, struct wg_session *);
struct wg_session *wg_session_install(struct wg_peer *,
		    const struct wg_keypair *, uint64_t now, bool confirmed);
/* Wipes every session and the handshake state. */
void		 wg_peer_zero(struct wg_peer *);
struct wg_peer	*wg_peer_route(const struct wg_port *, const uint8_t *ip,
		    size_t len, bool src);
void		 wg_peer_free(struct wg_peer *);
/* A session that may send now, or NULL; also starts a rekey when due. */
struct wg_session *wg_peer_tx_session(struct wg_peer *, uint64_t now);
void		 wg_peer_sent(struct wg_peer *, uint64_t now, bool data,
		    size_t bytes);
void		 wg_peer_received(struct wg_peer *, uint64_t now, bool data,
		    size_t bytes, const struct sockaddr_storage *from);
bool		 wg_session_usable(const struct wg_session *, uint64_t now);
void		 wg_peer_confirm(struct wg_peer *, struct wg_session *);

/* wg-handshake.c */
void		 wg_peer_tick(struct wg_peer *, uint64_t now);
void		 wg_peer_stage(struct wg_peer *, const struct pkt *,
		    uint64_t now);
void		 wg_peer_initiate(struct wg_peer *, uint64_t now, bool retry);
void		 wg_peer_keepalive(struct wg_peer *, uint64_t now);
void		 wg_handshake_input(struct wg_port *, struct pkt *,
		    const struct sockaddr_storage *from, uint64_t now);

/* wg-io.c */
int		 wg_socks_open(struct wg_port *, uint16_t port, char *err,
		    size_t errlen);
void		 wg_socks_close(struct wg_port *);
void		 wg_socks_set_gro(struct wg_port *, bool on);
bool		 wg_socks_probe_gso(struct wg_port *);
/* One datagram to one address, now (handshakes, cookies, keepalives). */
void		 wg_send_one(struct wg_port *, const struct sockaddr_storage *,
		    const uint8_t *, size_t);
void		 wg_send_batch(struct port *, struct pkt_batch *);
/* The staged packets of peer, through the data path. */
void		 wg_send_staged(struct wg_peer *, uint64_t now);

#endif
