/*
 * switch.c - the L2 switch.
 *
 * The forwarding path, sw_input(), allocates nothing: each frame is only
 * pointed to from the txq of every port it goes to, and ports that received
 * something are remembered in sw->tx so the flush visits just those, once,
 * in the order they first got a frame.  A txq cannot overflow: an input
 * batch holds at most PKT_BATCH_MAX frames and each adds at most one entry
 * to any txq.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel/udp-endpoint.h"

#include "ether.h"
#include "router.h"
#include "switch.h"

static void	sw_env_input(void *, struct port *, struct pkt_batch *, time_t);

struct sw *
sw_create(void)
{
	struct sw	*sw;
	int		 error;

	if ((sw = calloc(1, sizeof(*sw))) == NULL)
		return NULL;
	TAILQ_INIT(&sw->ports);
	sw->next_index = 1;
	if ((sw->pool = pkt_pool_create(SW_POOL_SIZE, PKT_DATA_ROOM)) == NULL)
		goto free_sw;
	if ((sw->large = pkt_pool_create(SW_LARGE_POOL_SIZE,
	    PKT_GSO_DATA_ROOM)) == NULL)
		goto destroy_pool;
	if ((sw->macs = mac_table_create(MAC_MAX_DEFAULT, MAC_AGEING_DEFAULT))
	    == NULL)
		goto destroy_pool;
	if ((sw->env.eps = udp_eps_create(sw->pool, sw->large)) == NULL)
		goto destroy_macs;
	sw->env.input = sw_env_input;
	sw->env.dp = sw;
	sw->env.pool = sw->pool;
	sw->env.large = sw->large;
	offload_cfg_init(&sw->ofl);
	sw->env.ofl = &sw->ofl;
	if ((sw->rtr = rtr_create()) == NULL)
		goto destroy_eps;
	return sw;

destroy_eps:
	error = errno;
	udp_eps_destroy(sw->env.eps);
	errno = error;
destroy_macs:
	error = errno;
	mac_table_destroy(sw->macs);
	errno = error;
destroy_pool:
	error = errno;
	pkt_pool_destroy(sw->large);
	pkt_pool_destroy(sw->pool);
	errno = error;
free_sw:
	free(sw);
	return NULL;
}

void
sw_destroy(struct sw *sw)
{
	struct port	*port;

	if (sw == NULL)
		return;
	while ((port = TAILQ_FIRST(&sw->ports)) != NULL)
		sw_port_del(sw, port);
	udp_eps_destroy(sw->env.eps);
	rtr_destroy(sw->rtr);
	mac_table_destroy(sw->macs);
	pkt_pool_destroy(sw->large);
	pkt_pool_destroy(sw->pool);
	free(sw);
}

int
sw_port_add(struct sw *sw, const struct port_config *config,
    struct port **portp, char *err, size_t errlen)
{
	const struct port_ops	*ops;
	struct port		*port;
	size_t			 len;
	int			 error;

	len = strnlen(config->name, sizeof(config->name));
	if (len == 0) {
		snprintf(err, errlen, "port name is empty");
		return EINVAL;
	}
	if (len >= sizeof(config->name)) {
		snprintf(err, errlen, "port name '%.*s' is too long (max %zu "
		    "characters)", (int)len, config->name,
		    sizeof(config->name) - 1);
		return EINVAL;
	}
	if (sw_port_find(sw, config->name) != NULL) {
		snprintf(err, errlen, "port %s already exists", config->name);
		return EEXIST;
	}
	if ((ops = port_ops_find(config->type)) == NULL) {
		snprintf(err, errlen, "unknown port type '%s' (known: %s)",
		    config->type != NULL ? config->type : "",
		    port_type_names());
		return EINVAL;
	}
	if (ops->layer != PORT_L3 && (config->addr4.family != 0 ||
	    config->addr6.family != 0)) {
		snprintf(err, errlen, "%s: a %s port has no address (only L3 "
		    "ports do)", config->name, ops->type);
		return EINVAL;
	}
	if (sw->nports >= SW_MAX_PORTS) {
		snprintf(err, errlen, "cannot add %s: the switch has the "
		    "maximum of %d ports", config->name, SW_MAX_PORTS);
		return ENOSPC;
	}

	if ((port = calloc(1, sizeof(*port))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", config->name);
		return ENOMEM;
	}
	memcpy(port->name, config->name, len + 1);
	port->ops = ops;
	port->fd = -1;
	port->env = &sw->env;
	port->split_horizon = config->split_horizon == PORT_SH_DEFAULT ?
	    ops->split_horizon : config->split_horizon == PORT_SH_ON;
	port->addr4 = config->addr4;
	port->addr6 = config->addr6;
	if ((error = ops->open(port, config, err, errlen)) != 0) {
		free(port);
		return error;
	}
	port->index = sw->next_index++;
	TAILQ_INSERT_TAIL(&sw->ports, port, entry);
	sw->nports++;
	if (port_is_l3(port) && (error = rtr_port_add(sw, port)) != 0) {
		snprintf(err, errlen, "%s: cannot add the route of its "
		    "address: %s", config->name, error == EEXIST ?
		    "that route exists" : strerror(error));
		sw_port_del(sw, port);
		return error;
	}
	if (portp != NULL)
		*portp = port;
	return 0;
}

void
sw_port_del(struct sw *sw, struct port *port)
{
	if (port->hook != NULL)
		port->hook->gone(port->hook, port);
	mac_table_flush(sw->macs, port);
	TAILQ_REMOVE(&sw->ports, port, entry);
	sw->nports--;
	if (port_is_l3(port))
		rtr_port_del(sw, port);
	port->ops->close(port);
	free(port);
}

struct port *
sw_port_find(const struct sw *sw, const char *name)
{
	struct port	*port;

	TAILQ_FOREACH(port, &sw->ports, entry) {
		if (strcmp(port->name, name) == 0)
			return port;
	}
	return NULL;
}

/*
 * A batch short of PKT_BATCH_MAX means the device is drained (or the pool
 * is), so there is no point in another read that would return EAGAIN.
 */
int
sw_port_input(struct sw *sw, struct port *port, time_t now)
{
	struct pkt_batch	b;
	unsigned		n;

	port->rx_error = 0;
	for (int i = 0; i < SW_INPUT_BATCHES; i++) {
		pkt_batch_init(&b);
		if ((n = port->ops->recv_batch(port, sw->pool, &b)) == 0)
			return i == 0 ? port->rx_error : 0;
		sw_env_input(sw, port, &b, now);
		if (n < PKT_BATCH_MAX)
			break;
	}
	return 0;
}

/* Input from a port, by fd or through its env: to the switch or router. */
static void
sw_env_input(void *dp, struct port *in, struct pkt_batch *b, time_t now)
{
	if (port_is_l3(in))
		rtr_input(dp, in, b);
	else
		sw_input(dp, in, b, now);
}

static inline void
sw_enqueue(struct sw *sw, struct port *port, struct pkt *p)
{
	if (port->txq.count == 0)
		sw->tx[sw->ntx++] = port;
	pkt_batch_add(&port->txq, p);
}

void
sw_input(struct sw *sw, struct port *in, struct pkt_batch *b, time_t now)
{
	struct port		*out, *port;
	enum drop_reason	 why;

	port_capture(in, PORT_DIR_RX, b);
	for (unsigned i = 0; i < b->count; i++) {
		struct pkt *p = b->pkts[i];

		switch (sw_decide(sw, in, p, now, &out, &why)) {
		case SW_DROP:
			port_drop(in, why);
			break;
		case SW_UNICAST:
			sw->unicast++;
			sw_enqueue(sw, out, p);
			break;
		case SW_FLOOD:
			sw->flooded++;
			TAILQ_FOREACH(port, &sw->ports, entry) {
				if (port != in && !port_is_l3(port) &&
				    !(in->split_horizon && port->split_horizon))
					sw_enqueue(sw, port, p);
			}
			break;
		}
	}

	for (unsigned i = 0; i < sw->ntx; i++) {
		port = sw->tx[i];
		port_send(port, &port->txq);
		pkt_batch_init(&port->txq);
	}
	sw->ntx = 0;
	pkt_batch_free(b);
}

/*
 * The VLAN is the outer tag's VID, 802.1Q or 802.1ad, so QinQ traffic is
 * learned per service VLAN.  A tag that is cut short is a runt.
 */
enum sw_verdict
sw_decide(struct sw *sw, struct port *in, const struct pkt *p, time_t now,
    struct port **out, enum drop_reason *why)
{
	const uint8_t	*dst = p->data + ETH_OFF_DST;
	const uint8_t	*src = p->data + ETH_OFF_SRC;
	uint16_t	 vlan = 0;

	if (p->len < ETH_HLEN) {
		*why = DROP_RUNT;
		return SW_DROP;
	}
	if (mac_is_multicast(src) || mac_is_zero(src)) {
		*why = DROP_BAD_SRC_MAC;
		return SW_DROP;
	}
	if (eth_type_is_tag(be16_get(p->data + ETH_OFF_TYPE))) {
		if (p->len < ETH_HLEN + ETH_TAG_LEN) {
			*why = DROP_RUNT;
			return SW_DROP;
		}
		vlan = be16_get(p->data + ETH_OFF_TCI) & ETH_VID_MASK;
	}

	mac_table_learn(sw->macs, src, vlan, in, now);
	if (mac_is_multicast(dst))
		return SW_FLOOD;
	if ((*out = mac_table_lookup(sw->macs, dst, vlan, now)) == NULL)
		return SW_FLOOD;
	if (*out == in) {
		*why = DROP_SAME_PORT;
		return SW_DROP;
	}
	if (in->split_horizon && (*out)->split_horizon) {
		*why = DROP_SPLIT_HORIZON;
		return SW_DROP;
	}
	return SW_UNICAST;
}

void
sw_set_offload(struct sw *sw, enum offload ofl, bool on)
{
	struct port	*port;

	if (sw->ofl.on[ofl] == on)
		return;
	sw->ofl.on[ofl] = on;
	TAILQ_FOREACH(port, &sw->ports, entry)
		if (port->ops->set_offloads != NULL)
			port->ops->set_offloads(port);
}

void
sw_tick(struct sw *sw, time_t now)
{
	struct port	*port;

	mac_table_expire(sw->macs, now);
	TAILQ_FOREACH(port, &sw->ports, entry)
		if (port->ops->tick != NULL)
			port->ops->tick(port, now);
}

int
sw_set_io(struct sw *sw, const struct io_hooks *io)
{
	return udp_eps_set_io(sw->env.eps, io);
}
