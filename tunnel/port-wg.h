/*
 * port-wg.h - the "wireguard" port type: an L3 port (router.h) that carries
 * IPv4 and IPv6 packets to and from many peers over WireGuard (wg-proto.h),
 * wire-compatible with the kernel module and wireguard-go.
 *
 * Cryptokey routing: each peer has allowed IPs.  A packet the router sends
 * out of the port goes to the peer whose allowed IPs hold its destination
 * (longest prefix, a route.h table whose "ports" are peers); a packet
 * received from a peer goes to the router only if its inner source is in
 * that peer's allowed IPs (else dropped as WG_DROP_BAD_INNER_SOURCE).
 * A peer's endpoint is the one configured until an authenticated message
 * comes from another address: then that one (roaming).
 *
 * The port owns one UDP socket per family on listen-port (0: one the kernel
 * picks, shown by wireguard show), read in batches with recvmmsg (UDP GRO
 * when the udp-gro offload is on) and written with sendmmsg (UDP GSO for
 * runs of equal-sized datagrams to one peer when udp-gso is on).  Data
 * messages are sealed out of place into pool buffers (the router's packet
 * may be shared), opened in place.  Timers (rekey, retries with jitter,
 * keepalives, expiry) run from the datapath's tick and from the send and
 * receive paths; none needs a timer of its own.
 *
 * Keys are read from files the daemon opens itself (O_NOFOLLOW): a file
 * another user or group may read or write is refused.  Keys live in
 * sodium_mlock()ed memory and are wiped when a peer or the port goes.
 */
#ifndef PORT_WG_H
#define PORT_WG_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "datapath/gro.h"
#include "datapath/ip.h"
#include "datapath/port.h"

#include "wg-key.h"

/* Why a datagram or packet of a wireguard port was dropped. */
enum wg_drop {
	WG_DROP_BAD_TYPE,	/* unknown type or impossible length */
	WG_DROP_BAD_MAC1,	/* initiation/response without our mac1 */
	WG_DROP_BAD_HANDSHAKE,	/* does not authenticate, or unknown peer */
	WG_DROP_REPLAYED_INIT,	/* timestamp not newer than the last */
	WG_DROP_UNDER_LOAD,	/* a cookie reply instead, or over the rate */
	WG_DROP_BAD_COOKIE,	/* cookie reply that does not open */
	WG_DROP_UNKNOWN_INDEX,	/* receiver index of no session */
	WG_DROP_BAD_DATA,	/* data message that does not authenticate */
	WG_DROP_REPLAYED_DATA,	/* counter seen or behind the window */
	WG_DROP_EXPIRED,	/* session older than reject-after-time */
	WG_DROP_BAD_INNER,	/* not an IPv4/IPv6 packet once opened */
	WG_DROP_BAD_INNER_SOURCE, /* inner source not in the peer's allowed IPs */
	WG_DROP_NO_PEER,	/* to send: no peer's allowed IPs hold it */
	WG_DROP_NO_ENDPOINT,	/* to send: the peer has no endpoint yet */
	WG_DROP_STAGED_FULL,	/* to send: no session and the queue full */
	WG_DROP__MAX
};
extern const char *const wg_drop_names[WG_DROP__MAX];

#define WG_ALLOWED_MAX		256	/* allowed IPs per peer */
#define WG_PEERS_MAX		1024	/* peers per port */
#define WG_DEFAULT_PORT		51820

struct wg_peer;

/* "wireguard peer add": every field; the peer is made or replaced. */
struct wg_peer_config {
	uint8_t			 pub[WG_KEY_LEN];
	char			 psk_path[256];	/* "" when none */
	struct sockaddr_storage	 endpoint;	/* AF_UNSPEC when none */
	struct ip_prefix	 allowed[WG_ALLOWED_MAX];
	unsigned		 n_allowed;
	unsigned		 keepalive;	/* seconds, 0: off */
};

struct wg_peer_info {
	uint8_t			 pub[WG_KEY_LEN];
	const char		*psk_path;	/* "" when none: never the key */
	struct sockaddr_storage	 endpoint;	/* now, after roaming */
	const struct ip_prefix	*allowed;
	unsigned		 n_allowed;
	unsigned		 keepalive;
	time_t			 last_handshake;	/* wall clock; 0: never */
	uint64_t		 rx_bytes;	/* UDP payload, as wg counts */
	uint64_t		 tx_bytes;
	uint64_t		 handshakes;	/* completed */
};

/* The offloads of the port's sockets and of what it hands the router. */
struct wg_offload_info {
	bool			 gso;		/* udp-gso in use */
	bool			 gso_failed;	/* the kernel refused it */
	uint64_t		 gso_msgs;	/* UDP_SEGMENT messages sent */
	uint64_t		 gso_segs;	/* datagrams in them */
	uint64_t		 gro_reads;	/* reads of several datagrams */
	uint64_t		 gro_datagrams;	/* the datagrams in them */
	struct gro_stats	 tcp_gro;	/* after opening */
};

struct wg_port_info {
	uint8_t			 pub[WG_KEY_LEN];
	uint16_t		 listen_port;	/* bound, also when 0 was asked */
	unsigned		 n_peers;
	bool			 under_load;
	uint64_t		 drops[WG_DROP__MAX];
	struct wg_offload_info	 offloads;
};

/*
 * A testing knob (vswitchd --wg-rekey-after): sessions rekey after seconds
 * instead of 120; reject-after is 1.5x, rekey-attempt 0.75x of it.
 */
void	wg_set_rekey_after(unsigned seconds);

/* Registers "wireguard"; 0 or an errno. */
int	wg_types_register(void);
bool	wg_port_is(const struct port *);
void	wg_port_get_info(const struct port *, struct wg_port_info *);

/*
 * Adds a peer, or replaces the one with that key (its sessions kept when
 * its keys did not change), reading its preshared key file: 0, or an errno
 * with a message quoting the bad value (a peer with our own key, an allowed
 * IP another peer has, too many peers, a key file open to others).
 */
int	wg_port_peer_add(struct port *, const struct wg_peer_config *,
	    char *err, size_t errlen);
/* 0, or ENOENT with a message. */
int	wg_port_peer_del(struct port *, const uint8_t pub[WG_KEY_LEN],
	    char *err, size_t errlen);
/* Walks the peers in the order they were added: start with NULL. */
const struct wg_peer *wg_port_peer_next(const struct port *,
	    const struct wg_peer *);
void	wg_peer_get_info(const struct wg_peer *, struct wg_peer_info *);

/*
 * Reads a 32-byte base64 key from path as the port does: 0, or an errno
 * with a message (not found, mode open to others, not one key).
 */
int	wg_key_file_read(const char *path, uint8_t key[WG_KEY_LEN], char *err,
	    size_t errlen);

#endif
