/*
 * port-tunnel.c - the tunnel port class: one port type for each payload of
 * each encapsulation in tnl_protos[] ("vxlan" and "gretap", L2, to the
 * switch; "ipip" and "gre", L3, to the router).
 *
 * All are the same code around a struct tnl_proto: open binds the shared
 * endpoint for receiving and opens the sender, and builds the header every
 * frame is sent behind.  A port of an encapsulation with key_always (VXLAN)
 * always has a key (its default unless given); others (GRE) have one only
 * when given one; ipip has none.  An
 * L3 port carries IPv4 and IPv6, so it keeps a header for each (GRE names
 * the payload's protocol) and sends a batch as its IPv4 and IPv6 runs.
 *
 * Offloads (offload.h): udp-gso is the sender's (tnl-tx.h), udp-gro the
 * shared endpoints' (udp-endpoint.h), and tcp-gro is done here: the TCP
 * segments of each received batch are coalesced (gro.h, as Ethernet frames
 * or, on L3 ports, bare IP packets) into super-frames before they reach the
 * switch or the router, which hand them whole to ports that take them and
 * segment them again for the others.
 * Tunnel ports take nothing (takes is 0): what they send is segmented and
 * checksummed before it reaches them.
 *
 * A port given "via PORT" is carried by that L3 port of the router
 * (tnl-via.h) instead of kernel sockets: its sender is tnl-via.c, its
 * endpoint one without a socket that the router feeds, and its MTU
 * follows the carrier's; UDP GSO and the local address watch do not apply.
 *
 * Hijacking: anyone on the underlay can forge the remote's address, and
 * nothing in these encapsulations is authenticated.  A port given
 * remote-port takes datagrams only from that range of the remote's source
 * ports (the endpoint drops others as wrong_source_port), which holds off
 * a forger who does not see the traffic.  An L3 port given allowed-ips
 * takes only inner packets whose source is in them (others are dropped as
 * bad_inner_source), as a WireGuard peer's allowed IPs do; what it sends
 * is not restricted (routes decide).  Neither makes a plain tunnel safe on
 * a network that is not trusted: WireGuard does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/dp.h"
#include "datapath/ether.h"
#include "datapath/gro.h"
#include "datapath/ip.h"

#include "port-tunnel.h"
#include "tnl-addr.h"
#include "tnl-local.h"
#include "tnl-route.h"
#include "tnl-tx.h"
#include "tnl-via.h"
#include "udp-endpoint.h"

/* What tells the types of the class apart: port_ops.cls. */
struct tnl_class {
	const struct tnl_proto	*proto;
	enum tnl_payload	 payload;
};

struct tnl_port {
	const struct tnl_proto	*proto;
	struct udp_ep_bind	*bind;
	struct sockaddr_storage	 remote;
	struct sockaddr_storage	 local;
	bool			 has_key;
	uint32_t		 key;
	enum tnl_payload	 payload;
	size_t			 hlen;
	uint8_t			 hdr[TNL_HDR_MAX];	/* Ethernet or IPv4 */
	uint8_t			 hdr6[TNL_HDR_MAX];	/* IPv6, L3 only */
	struct gro_stats	 gro;
	struct udp_eps		*eps;		/* the datapath's */
	struct tnl_tx		 tx;
	bool			 tx_open;	/* else tx_why, retried */
	char			 tx_why[160];
	struct tnl_local	 lw;		/* is the local address there */
	bool			 has_via;	/* via, not tx and lw */
	struct tnl_via		 via;
};

static unsigned
tnl_overhead(const struct tnl_port *t)
{
	return (t->has_via ? t->via.outer : t->tx.outer) + (unsigned)t->hlen +
	    (t->payload == TNL_PAYLOAD_ETH ? ETH_HLEN : 0);
}

/*
 * The smallest inner MTU: an IPv4 header with options and 8 bytes of data
 * (RFC 791), so the router's fragmenter always has room.  A port whose path
 * leaves less is refused at add; a path that shrinks later leaves it here.
 */
#define TNL_INNER_MTU_MIN	68

/*
 * From the underlay's MTU, not from a path MTU an ICMP may have lowered:
 * what does not fit the path is sent fragmented (tnl-tx.h).
 */
static void
tnl_set_mtu(struct port *port)
{
	const struct tnl_port	*t = port->priv;
	int			 mtu = (t->has_via ? t->via.link_mtu :
				    t->tx.link_mtu) - (int)tnl_overhead(t);

	port->mtu = mtu < TNL_INNER_MTU_MIN ? TNL_INNER_MTU_MIN : mtu;
}

/*
 * Whether p's inner source is in the port's allowed-ips.  A packet too
 * short to have one, or of no IP version, goes on: the router drops it
 * (truncated, bad_version) before it could use the source.
 */
static bool
tnl_allowed(const struct port_config *cfg, const struct pkt *p)
{
	const uint8_t	*src;
	int		 family;

	if (p->len >= IP4_HLEN && ip_version(p->data) == 4) {
		family = AF_INET;
		src = p->data + IP4_OFF_SRC;
	} else if (p->len >= IP6_HLEN && ip_version(p->data) == 6) {
		family = AF_INET6;
		src = p->data + IP6_OFF_SRC;
	} else
		return true;
	/* At most PORT_ALLOWED_MAX prefixes: a walk is cheap enough. */
	for (unsigned i = 0; i < cfg->n_allowed; i++)
		if (cfg->allowed[i].family == family &&
		    ip_prefix_match(src, cfg->allowed[i].addr,
		    cfg->allowed[i].len))
			return true;
	return false;
}

/* Drops the packets of b whose inner source allowed-ips does not take. */
static void
tnl_filter_sources(struct port *port, struct pkt_batch *b)
{
	unsigned	n = 0;

	for (unsigned i = 0; i < b->count; i++) {
		struct pkt *p = b->pkts[i];

		if (tnl_allowed(&port->cfg, p))
			b->pkts[n++] = p;
		else {
			port_drop(port, DROP_BAD_INNER_SOURCE);
			pkt_free(p);
		}
	}
	b->count = n;
}

/* Frames from the endpoint: counted here, forwarded by the datapath. */
static void
tnl_rx(void *arg, struct pkt_batch *b, time_t now)
{
	struct port		*port = arg;
	struct tnl_port		*t = port->priv;
	struct dp		*dp = port->dp;

	for (unsigned i = 0; i < b->count; i++) {
		port->stats.rx_packets++;
		port->stats.rx_bytes += b->pkts[i]->len;
	}
	/* Without allowed-ips (given on L3 ports only) this is one test. */
	if (port->cfg.n_allowed > 0)
		tnl_filter_sources(port, b);
	if (dp->ofl.on[OFL_TCP_GRO] && b->count > 1)
		gro_batch(b, t->payload == TNL_PAYLOAD_ETH ? INET_L2 : INET_L3,
		    dp->large, &t->gro);
	dp_input(dp, port, b, now);
}

/* udp-gro applies to the shared endpoints: any port passes it on. */
static void
tnl_set_offloads(struct port *port)
{
	struct tnl_port		*t = port->priv;
	const struct dp		*dp = port->dp;

	if (!t->has_via && t->tx_open)
		tnl_tx_set_gso(&t->tx, port, dp->ofl.on[OFL_UDP_GSO]);
	udp_eps_set_gro(t->eps, dp->ofl.on[OFL_UDP_GRO]);
	port->takes = 0;
}

/*
 * Errors that the network's own start-up may cure: the local address or
 * the route to the remote are not there yet (at boot the daemon starts
 * before the network is configured).  The port is added down and its
 * senders opened by tnl_tick() once they can be.
 */
static bool
tnl_tx_later(int error)
{
	return error == EADDRNOTAVAIL || error == ENETUNREACH ||
	    error == EHOSTUNREACH;
}

/*
 * Down until the senders open: the MTU is the route's, or Ethernet's.  A
 * missing local address is the address watch's to tell (tnl-local.h).
 */
static void
tnl_tx_pending(struct port *port, struct tnl_port *t, int error,
    const char *why)
{
	struct sockaddr_storage	any;
	int			mtu;

	tnl_addr_any(&any, t->remote.ss_family);
	mtu = tnl_route_mtu(&any, &t->remote);
	t->tx.seen_mtu = mtu > 0 ? mtu : ETH_DATA_LEN;
	if (strcmp(t->tx_why, why) != 0) {
		snprintf(t->tx_why, sizeof(t->tx_why), "%s", why);
		if (error != EADDRNOTAVAIL)
			dp_port_note(port, "%s: down until it is", why);
	}
}

static int
tnl_check_config(const struct port_config *cfg, const struct tnl_proto *proto,
    char *err, size_t errlen)
{
	char	a[TNL_ADDR_STRLEN];

	if (cfg->remote.ss_family == AF_UNSPEC) {
		snprintf(err, errlen, "a %s port needs 'remote ADDR'",
		    cfg->type);
		return EINVAL;
	}
	if (tnl_addr_is_any(&cfg->remote) ||
	    tnl_addr_is_multicast(&cfg->remote)) {
		snprintf(err, errlen, "remote %s is not a unicast address",
		    tnl_addr_str(&cfg->remote, false, a));
		return EINVAL;
	}
	if (cfg->local.ss_family != AF_UNSPEC &&
	    cfg->local.ss_family != cfg->remote.ss_family) {
		snprintf(err, errlen, "local %s and remote ",
		    tnl_addr_str(&cfg->local, false, a));
		snprintf(err + strlen(err), errlen - strlen(err), "%s are not "
		    "of the same family", tnl_addr_str(&cfg->remote, false, a));
		return EINVAL;
	}
	if (cfg->has_key && cfg->key > proto->key_max) {
		snprintf(err, errlen, "invalid %s '%u' (0 to %u)",
		    proto->key_name, cfg->key, proto->key_max);
		return EINVAL;
	}
	if (cfg->via[0] != '\0' && cfg->local.ss_family == AF_UNSPEC) {
		snprintf(err, errlen, "a %s port via %s needs 'local ADDR' "
		    "(the router's address it sends from)", cfg->type,
		    cfg->via);
		return EINVAL;
	}
	if (cfg->via[0] != '\0' && cfg->min_mtu != 0) {
		snprintf(err, errlen, "min-mtu does not apply to a port via "
		    "%s (its MTU follows that port's)", cfg->via);
		return EINVAL;
	}
	return tnl_tx_check_min_mtu(cfg->remote.ss_family, cfg->min_mtu, err,
	    errlen);
}

static int
tnl_open(struct port *port, const struct port_config *cfg, char *err,
    size_t errlen)
{
	const struct tnl_class	*cls = port->ops->cls;
	const struct tnl_proto	*proto = cls->proto;
	enum tnl_payload	 payload = cls->payload;
	struct udp_ep_config	 ec;
	struct tnl_port		*t;
	uint16_t		 dstport = cfg->dstport ? cfg->dstport :
				    proto->port;
	int			 error, link_mtu;

	if ((error = tnl_check_config(cfg, proto, err, errlen)) != 0)
		return error;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	t->proto = proto;
	t->remote = cfg->remote;
	tnl_addr_set_port(&t->remote, dstport);
	t->local = cfg->local;
	t->has_key = cfg->has_key || proto->key_always;
	t->key = cfg->has_key ? cfg->key : proto->key_default;
	t->payload = payload;
	if (payload == TNL_PAYLOAD_ETH)
		t->hlen = proto->build(t->hdr, t->has_key, t->key,
		    TNL_PROTO_TEB);
	else {
		t->hlen = proto->build(t->hdr, t->has_key, t->key,
		    TNL_PROTO_IPV4);
		proto->build(t->hdr6, t->has_key, t->key, TNL_PROTO_IPV6);
	}

	ec = (struct udp_ep_config){
		.proto = proto,
		.remote = t->remote,
		.has_key = t->has_key,
		.key = t->key,
		.payload = payload,
		.rx = tnl_rx,
		.arg = port,
		.port = port,
		.name = port->name,
		.sport_min = cfg->remote_port_min,
		.sport_max = cfg->remote_port_max,
	};
	if (cfg->local.ss_family != AF_UNSPEC)
		ec.local = cfg->local;
	else
		tnl_addr_any(&ec.local, cfg->remote.ss_family);
	tnl_addr_set_port(&ec.local, dstport);
	if (cfg->via[0] != '\0') {
		if ((error = tnl_via_open(&t->via, port, cfg->via, &t->local,
		    &t->remote, err, errlen)) != 0)
			goto free_t;
		t->has_via = true;
		ec.via = cfg->via;
	}
	if ((t->eps = udp_eps_get(port->dp)) == NULL) {
		error = errno;
		snprintf(err, errlen, "cannot open the tunnel endpoints: %s",
		    strerror(error));
		goto close_via;
	}
	if ((error = udp_ep_bind(t->eps, &ec, &t->bind, err, errlen)) != 0)
		goto close_via;
	if (t->has_via)
		link_mtu = t->via.link_mtu;
	else {
		error = tnl_tx_open(&t->tx, &t->local, &t->remote, err,
		    errlen);
		if (error == 0)
			t->tx_open = true;
		else if (tnl_tx_later(error))
			tnl_tx_pending(port, t, error, err);
		else
			goto unbind;
		tnl_tx_set_min_mtu(&t->tx, cfg->min_mtu);
		link_mtu = t->tx.link_mtu;
	}
	if (t->tx_open && link_mtu - (int)tnl_overhead(t) <
	    TNL_INNER_MTU_MIN) {
		snprintf(err, errlen, "the %s MTU %d leaves an inner MTU of "
		    "%d, below %d", t->has_via ? cfg->via : "path to the remote",
		    link_mtu, link_mtu - (int)tnl_overhead(t),
		    TNL_INNER_MTU_MIN);
		error = EINVAL;
		goto close_tx;
	}
	port->priv = t;
	port->fd = -1;
	tnl_set_mtu(port);
	tnl_set_offloads(port);
	if (t->has_via)
		return 0;
	/* Unwatched, the port works the same; its state just stays up. */
	if ((error = tnl_local_watch(&t->lw, port, &t->local)) != 0)
		dp_port_note(port, "cannot watch its local address: %s",
		    strerror(error));
	return 0;

close_tx:
	if (!t->has_via)
		tnl_tx_close(&t->tx);
unbind:
	udp_ep_unbind(t->bind);
close_via:
	if (t->has_via)
		tnl_via_close(&t->via);
free_t:
	free(t);
	return error;
}

static void
tnl_tx_retry(struct port *port)
{
	struct tnl_port	*t = port->priv;
	char		 a[TNL_ADDR_STRLEN], err[sizeof(t->tx_why)];
	int		 min_mtu = t->tx.min_mtu, seen_mtu = t->tx.seen_mtu;
	int		 error;

	/* Its news will come: no socket is opened in vain meanwhile. */
	if (t->lw.gone)
		return;
	error = tnl_tx_open(&t->tx, &t->local, &t->remote, err, sizeof(err));
	if (error != 0) {
		/* tnl_tx_open() cleared them. */
		t->tx.seen_mtu = seen_mtu;
		/* Another reason now: told; the same one: not again. */
		if (tnl_tx_later(error))
			tnl_tx_pending(port, t, error, err);
		else if (strcmp(t->tx_why, err) != 0) {
			snprintf(t->tx_why, sizeof(t->tx_why), "%s", err);
			dp_port_note(port, "%s", err);
		}
		tnl_tx_set_min_mtu(&t->tx, min_mtu);
		return;
	}
	tnl_tx_set_min_mtu(&t->tx, min_mtu);
	t->tx_open = true;
	t->tx_why[0] = '\0';
	tnl_set_offloads(port);
	dp_port_note(port, "can send to %s now: up",
	    tnl_addr_str(&t->remote, true, a));
}

static void
tnl_close(struct port *port)
{
	struct tnl_port	*t = port->priv;

	if (t->has_via)
		tnl_via_close(&t->via);
	else {
		tnl_local_unwatch(&t->lw);
		tnl_tx_close(&t->tx);
	}
	udp_ep_unbind(t->bind);
	free(t);
	port->priv = NULL;
}

static void
tnl_send(struct tnl_port *t, struct port *port, struct pkt_batch *b,
    const uint8_t *hdr)
{
	if (t->has_via)
		tnl_via_send(&t->via, b, hdr, t->hlen, t->payload);
	else if (!t->tx_open) {
		for (unsigned i = 0; i < b->count; i++)
			port_drop(port, DROP_LINK_DOWN);
	} else
		tnl_tx_send(&t->tx, port, b, hdr, t->hlen, t->payload);
}

static void
tnl_send_batch(struct port *port, struct pkt_batch *b)
{
	struct tnl_port		*t = port->priv;
	struct pkt_batch	 v6;
	unsigned		 n = 0;

	if (t->payload == TNL_PAYLOAD_ETH) {
		tnl_send(t, port, b, t->hdr);
		return;
	}
	/* The router queues IP packets only: the version nibble is there. */
	pkt_batch_init(&v6);
	for (unsigned i = 0; i < b->count; i++) {
		struct pkt *p = b->pkts[i];

		if (ip_version(p->data) == 6)
			pkt_batch_add(&v6, p);
		else
			b->pkts[n++] = p;
	}
	b->count = n;
	if (n > 0)
		tnl_send(t, port, b, t->hdr);
	if (v6.count > 0)
		tnl_send(t, port, &v6, t->hdr6);
	/* The caller frees the batch: give it every packet back. */
	for (unsigned i = 0; i < v6.count; i++)
		b->pkts[b->count++] = v6.pkts[i];
}

static const char *
tnl_state(const struct port *port)
{
	const struct tnl_port	*t = port->priv;

	if (t->has_via)
		return tnl_via_state(&t->via);
	return t->tx_open ? tnl_local_state(&t->lw) : "down";
}

static const char *
tnl_state_why(const struct port *port)
{
	const struct tnl_port	*t = port->priv;

	if (t->has_via)
		return tnl_via_why(&t->via);
	if (t->lw.gone || t->tx_open)
		return tnl_local_why(&t->lw);
	return t->tx_why;
}

static void
tnl_tick(struct port *port, time_t now)
{
	struct tnl_port	*t = port->priv;

	(void)now;
	if (t->has_via)
		tnl_via_tick(&t->via);
	else if (!t->tx_open)
		tnl_tx_retry(port);
	else
		tnl_tx_refresh(&t->tx);
	tnl_set_mtu(port);
}

#define TNL_TYPES_MAX	8

static struct tnl_class	 tnl_classes[TNL_TYPES_MAX];
static struct port_ops	 tnl_types[TNL_TYPES_MAX];
static unsigned		 tnl_ntypes;

/*
 * L2 tunnels are split-horizon by default, so a full mesh of them does not
 * loop; L3 ones take addresses instead.
 */
int
tnl_types_register(void)
{
	const struct tnl_proto	*proto;
	int			 error;

	if (tnl_ntypes > 0)
		return 0;
	for (int pl = 0; pl < TNL_PAYLOADS; pl++) {
		for (size_t i = 0; (proto = tnl_protos[i]) != NULL; i++) {
			struct tnl_class	*cls = &tnl_classes[tnl_ntypes];
			bool			 l2 = pl == TNL_PAYLOAD_ETH;

			if (proto->types[pl] == NULL)
				continue;
			if (tnl_ntypes == TNL_TYPES_MAX)
				return ENOSPC;
			cls->proto = proto;
			cls->payload = pl;
			tnl_types[tnl_ntypes] = (struct port_ops){
				.type		= proto->types[pl],
				.layer		= l2 ? PORT_L2 : PORT_L3,
				.open		= tnl_open,
				.close		= tnl_close,
				.recv_batch	= port_recv_none,
				.send_batch	= tnl_send_batch,
				.state		= tnl_state,
				.state_why	= tnl_state_why,
				.tick		= tnl_tick,
				.set_offloads	= tnl_set_offloads,
				.settings	= PORT_SET_REMOTE |
				    PORT_SET_LOCAL | PORT_SET_DSTPORT |
				    PORT_SET_MIN_MTU | PORT_SET_REMOTE_PORT |
				    PORT_SET_VIA |
				    proto->key_setting | (l2 ?
				    PORT_SET_SPLIT_HORIZON : PORT_SET_ADDRESS |
				    PORT_SET_ALLOWED_IPS),
				.split_horizon	= l2,
				.outer		= true,
				.cls		= cls,
			};
			if ((error = port_type_register(
			    &tnl_types[tnl_ntypes++])) != 0)
				return error;
		}
	}
	return 0;
}

bool
tnl_port_is(const struct port *port)
{
	return port->ops->open == tnl_open;
}

int
tnl_port_get_info(const struct port *port, struct tnl_port_info *info)
{
	const struct tnl_port	*t = port->priv;

	if (!tnl_port_is(port))
		return EINVAL;
	info->proto = t->proto->name;
	info->key_name = t->proto->key_name;
	info->remote = t->remote;
	info->local = t->local;
	info->has_key = t->has_key;
	info->key = t->key;
	info->overhead = tnl_overhead(t);
	info->underlay_mtu = t->tx.link_mtu;
	info->path_mtu = t->tx.path_mtu;
	info->kernel_mtu = t->tx.kernel_mtu;
	info->min_mtu = t->tx.min_mtu;
	info->fragmented = t->tx.fragmented;
	info->icmp_errors = t->tx.icmp_errors;
	info->ep = udp_ep_of(t->bind);
	info->gso = t->tx.gso;
	info->gso_error = t->tx.gso_error;
	info->gso_msgs = t->tx.gso_msgs;
	info->gso_segs = t->tx.gso_segs;
	info->tcp_gro = port->dp->ofl.on[OFL_TCP_GRO];
	info->gro = t->gro;
	info->via = t->has_via ? t->via.name : NULL;
	if (t->has_via) {
		info->underlay_mtu = t->via.link_mtu;
		info->path_mtu = t->via.link_mtu;
		info->gso = TNL_GSO_OFF;
	}
	return 0;
}

int
tnl_port_set_min_mtu(struct port *port, int mtu, char *err, size_t errlen)
{
	struct tnl_port	*t = port->priv;
	int		 error;

	if (!tnl_port_is(port)) {
		snprintf(err, errlen, "port %s is of type %s: only tunnels "
		    "take min-mtu", port->name, port->ops->type);
		return EINVAL;
	}
	if (t->has_via) {
		snprintf(err, errlen, "port %s is carried via %s: its MTU "
		    "follows that port's, min-mtu does not apply", port->name,
		    t->via.name);
		return EINVAL;
	}
	if ((error = tnl_tx_check_min_mtu(t->tx.family, mtu, err,
	    errlen)) != 0)
		return error;
	tnl_tx_set_min_mtu(&t->tx, mtu);
	tnl_set_mtu(port);
	return 0;
}
