/*
 * switch.c - the L2 switch.
 *
 * The forwarding path, sw_input(), allocates nothing: each frame is only
 * pointed to from the queue of every port it goes to (the datapath's),
 * and the input batch is freed once every queue is flushed.  A queue
 * cannot overflow: an input batch holds at most PKT_BATCH_MAX frames and
 * each adds at most one entry to any queue.
 */
#include <errno.h>
#include <stdlib.h>

#include "ether.h"
#include "switch.h"

struct sw *
sw_create(void)
{
	struct sw	*sw;

	if ((sw = calloc(1, sizeof(*sw))) == NULL)
		return NULL;
	if ((sw->macs = mac_table_create(MAC_MAX_DEFAULT, MAC_AGEING_DEFAULT))
	    == NULL) {
		free(sw);
		return NULL;
	}
	return sw;
}

void
sw_destroy(struct sw *sw)
{
	if (sw == NULL)
		return;
	mac_table_destroy(sw->macs);
	free(sw);
}

void
sw_port_del(struct dp *dp, struct port *port)
{
	mac_table_flush(dp->sw->macs, port);
}

void
sw_input(struct dp *dp, struct port *in, struct pkt_batch *b, time_t now)
{
	struct sw		*sw = dp->sw;
	struct port		*out, *port;
	enum drop_reason	 why;

	port_capture(in, PORT_DIR_RX, b);
	for (unsigned i = 0; i < b->count; i++) {
		struct pkt *p = b->pkts[i];

		switch (sw_decide(dp, in, p, now, &out, &why)) {
		case SW_DROP:
			port_drop(in, why);
			break;
		case SW_UNICAST:
			sw->unicast++;
			dp_enqueue(dp, out, p);
			break;
		case SW_FLOOD:
			sw->flooded++;
			TAILQ_FOREACH(port, &dp->ports, entry) {
				if (port != in && !port_is_l3(port) &&
				    !(in->split_horizon && port->split_horizon))
					dp_enqueue(dp, port, p);
			}
			break;
		}
	}
	dp_flush(dp);
	pkt_batch_free(b);
}

/*
 * Port security, then learning: whether the frame from src may go on.  A
 * port with none set (the usual) costs the learn it always did.
 */
static inline bool
sw_admit(struct mac_table *macs, struct port *in, const uint8_t *src,
    uint16_t vlan, time_t now, enum drop_reason *why)
{
	const struct port_sec	*sec = &in->sec;
	const struct mac_entry	*e;

	if (sec->locked) {
		/* Like the Linux bridge's locked port: no learning there. */
		e = mac_table_get(macs, src, vlan);
		if (e != NULL && e->is_static && e->port == in)
			return true;
		*why = DROP_LOCKED;
		return false;
	}
	if (sec->no_learning)
		return true;
	switch (mac_table_learn_as(macs, src, vlan, in, &(struct mac_learner){
	    .limit = sec->mac_limit, .remote = port_is_remote(in) }, now)) {
	case MAC_LEARN_LIMIT:
		*why = DROP_MAC_LIMIT;
		return false;
	case MAC_LEARN_REFUSED:
		*why = DROP_MOVE_REFUSED;
		return false;
	default:
		return true;
	}
}

/*
 * The VLAN is the outer tag's VID, 802.1Q or 802.1ad, so QinQ traffic is
 * learned per service VLAN.  A tag that is cut short is a runt.
 */
enum sw_verdict
sw_decide(struct dp *dp, struct port *in, const struct pkt *p, time_t now,
    struct port **out, enum drop_reason *why)
{
	struct mac_table *macs = dp->sw->macs;
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

	if (__builtin_expect(!sw_admit(macs, in, src, vlan, now, why), 0))
		return SW_DROP;
	if (mac_is_multicast(dst))
		return SW_FLOOD;
	if ((*out = mac_table_lookup(macs, dst, vlan, now)) == NULL)
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
sw_tick(struct dp *dp, time_t now)
{
	mac_table_expire(dp->sw->macs, now);
}
