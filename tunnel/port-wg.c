/*
 * port-wg.c - the "wireguard" port type: open, close, the tick, what the
 * control plane reads, and key files.  Peers are wg-peer.c's, the sockets
 * and data path wg-io.c's (wg-port-int.h says how they share the port).
 *
 * Tunnel ports take nothing (takes is 0): super-frames are segmented
 * before they reach the port, and each segment is sealed as one datagram.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "datapath/dp.h"

#include "wg-port-int.h"

#define WG_DEFAULT_MTU	1420

const char *const wg_drop_names[WG_DROP__MAX] = {
	[WG_DROP_BAD_TYPE]		= "bad_type",
	[WG_DROP_BAD_MAC1]		= "bad_mac1",
	[WG_DROP_BAD_HANDSHAKE]		= "bad_handshake",
	[WG_DROP_REPLAYED_INIT]		= "replayed_init",
	[WG_DROP_UNDER_LOAD]		= "under_load",
	[WG_DROP_BAD_COOKIE]		= "bad_cookie",
	[WG_DROP_UNKNOWN_INDEX]		= "unknown_index",
	[WG_DROP_BAD_DATA]		= "bad_data",
	[WG_DROP_REPLAYED_DATA]		= "replayed_data",
	[WG_DROP_EXPIRED]		= "expired",
	[WG_DROP_BAD_INNER]		= "bad_inner",
	[WG_DROP_BAD_INNER_SOURCE]	= "bad_inner_source",
	[WG_DROP_NO_PEER]		= "no_peer",
	[WG_DROP_NO_ENDPOINT]		= "no_endpoint",
	[WG_DROP_STAGED_FULL]		= "staged_full",
};

/*
 * A key file is the daemon's to read alone: no symbolic link (O_NOFOLLOW),
 * a regular file, nothing for group or others.  Its content is one base64
 * key and maybe a newline, as `wg genkey > FILE` writes it.
 */
int
wg_key_file_read(const char *path, uint8_t key[WG_KEY_LEN], char *err,
    size_t errlen)
{
	struct stat	st;
	char		buf[128];
	ssize_t		n;
	size_t		len;
	int		fd, error;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		error = errno;
		if (error == ELOOP)
			snprintf(err, errlen, "key file %s is a symbolic link",
			    path);
		else
			snprintf(err, errlen, "cannot open key file %s: %s",
			    path, strerror(error));
		return error;
	}
	if (fstat(fd, &st) == -1) {
		error = errno;
		snprintf(err, errlen, "key file %s: %s", path, strerror(error));
		goto close_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "key file %s is not a regular file", path);
		error = EINVAL;
		goto close_fd;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "key file %s is mode %04o: it must be "
		    "readable by its owner only (0600)", path,
		    (unsigned)(st.st_mode & 07777));
		error = EPERM;
		goto close_fd;
	}
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		error = errno;
		snprintf(err, errlen, "cannot read key file %s: %s", path,
		    strerror(error));
		goto close_fd;
	}
	len = (size_t)n;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (wg_key_from_base64(key, buf) != 0) {
		snprintf(err, errlen, "key file %s does not hold one base64 "
		    "key (44 characters, as wg genkey writes)", path);
		error = EINVAL;
		goto close_fd;
	}
	error = 0;
close_fd:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return error;
}

static void
wg_set_offloads(struct port *port)
{
	struct wg_port	*wp = port->priv;
	const struct dp	*dp = port->dp;

	if (!dp->ofl.on[OFL_UDP_GSO]) {
		wp->gso = false;
		wp->gso_failed = false;
	} else if (!wp->gso && !wp->gso_failed)
		wp->gso = wg_socks_probe_gso(wp);
	wg_socks_set_gro(wp, dp->ofl.on[OFL_UDP_GRO]);
	port->takes = 0;
}

static void
wg_port_free(struct wg_port *wp)
{
	struct wg_peer	*peer;

	while ((peer = TAILQ_FIRST(&wp->peers)) != NULL)
		wg_peer_free(peer);
	wg_socks_close(wp);
	if (wp->allowed4 != NULL)
		rt_table_destroy(wp->allowed4);
	if (wp->allowed6 != NULL)
		rt_table_destroy(wp->allowed6);
	if (wp->id != NULL) {
		wg_identity_wipe(wp->id);
		sodium_free(wp->id);
	}
	if (wp->checker != NULL) {
		wg_cookie_checker_wipe(wp->checker);
		sodium_free(wp->checker);
	}
	free(wp);
}

static int
wg_open(struct port *port, const struct port_config *cfg, char *err,
    size_t errlen)
{
	struct wg_port	*wp;
	uint8_t		 priv[WG_KEY_LEN];
	int		 error;

	if (cfg->key_path[0] == '\0') {
		snprintf(err, errlen, "a wireguard port needs 'private-key "
		    "FILE'");
		return EINVAL;
	}
	if ((error = wg_key_file_read(cfg->key_path, priv, err, errlen)) != 0)
		return error;
	if ((wp = calloc(1, sizeof(*wp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		error = ENOMEM;
		goto wipe;
	}
	wp->port = port;
	TAILQ_INIT(&wp->peers);
	wg_index_init(wp);
	wp->socks[0].fd = wp->socks[1].fd = -1;
	port->priv = wp;
	if ((wp->id = sodium_malloc(sizeof(*wp->id))) == NULL ||
	    (wp->checker = sodium_malloc(sizeof(*wp->checker))) == NULL ||
	    (wp->allowed4 = rt_table_create(AF_INET, WG_PEERS_MAX *
	    WG_ALLOWED_MAX)) == NULL ||
	    (wp->allowed6 = rt_table_create(AF_INET6, WG_PEERS_MAX *
	    WG_ALLOWED_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		error = ENOMEM;
		goto free_wp;
	}
	wg_cookie_checker_init(wp->checker);
	randombytes_buf(wp->rl_key, sizeof(wp->rl_key));
	if (wg_identity_init(wp->id, priv) != 0) {
		sodium_memzero(wp->id, sizeof(*wp->id));
		snprintf(err, errlen, "the private key in %s gives no usable "
		    "public key", cfg->key_path);
		error = EINVAL;
		goto free_wp;
	}
	if ((error = wg_socks_open(wp, cfg->listen_port, err, errlen)) != 0)
		goto free_wp;
	port->fd = -1;
	port->mtu = cfg->mtu != 0 ? cfg->mtu : WG_DEFAULT_MTU;
	wg_set_offloads(port);
	sodium_memzero(priv, sizeof(priv));
	return 0;

free_wp:
	wg_port_free(wp);
	port->priv = NULL;
wipe:
	sodium_memzero(priv, sizeof(priv));
	return error;
}

static void
wg_close(struct port *port)
{
	wg_port_free(port->priv);
	port->priv = NULL;
}

static const char *
wg_state(const struct port *port)
{
	(void)port;
	return "up";
}

static void
wg_tick(struct port *port, time_t now_s)
{
	struct wg_port	*wp = port->priv;
	struct wg_peer	*peer, *next;
	uint64_t	 now = wg_now_ms();

	(void)now_s;
	if (now >= wp->under_load_until)
		wp->under_load = false;
	for (peer = TAILQ_FIRST(&wp->peers); peer != NULL; peer = next) {
		next = TAILQ_NEXT(peer, entry);
		wg_peer_tick(peer, now);
	}
}

static const struct port_ops wg_ops = {
	.type		= "wireguard",
	.layer		= PORT_L3,
	.open		= wg_open,
	.close		= wg_close,
	.recv_batch	= port_recv_none,
	.send_batch	= wg_send_batch,
	.state		= wg_state,
	.tick		= wg_tick,
	.set_offloads	= wg_set_offloads,
	.settings	= PORT_SET_MTU | PORT_SET_ADDRESS |
	    PORT_SET_PRIVATE_KEY | PORT_SET_LISTEN_PORT,
	.split_horizon	= false,
	.outer		= true,
};

int
wg_types_register(void)
{
	return port_type_register(&wg_ops);
}

bool
wg_port_is(const struct port *port)
{
	return port->ops == &wg_ops;
}

void
wg_port_get_info(const struct port *port, struct wg_port_info *info)
{
	const struct wg_port	*wp = port->priv;

	memcpy(info->pub, wp->id->pub, WG_KEY_LEN);
	info->listen_port = wp->listen_port;
	info->n_peers = wp->npeers;
	info->under_load = wp->under_load;
	memcpy(info->drops, wp->drops, sizeof(info->drops));
	info->offloads = (struct wg_offload_info){
		.gso = wp->gso,
		.gso_failed = wp->gso_failed,
		.gso_msgs = wp->gso_msgs,
		.gso_segs = wp->gso_segs,
		.gro_reads = wp->gro_reads,
		.gro_datagrams = wp->gro_datagrams,
		.tcp_gro = wp->gro,
	};
}
