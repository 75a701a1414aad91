/*
 * port-dummy.h - the "dummy" port type, for tests that run without root.
 *
 * A dummy port has no device: it receives nothing (tests hand frames to
 * dp_input() as if they had come from it) and keeps a copy of the last
 * PORT_DUMMY_RING frames it was asked to send, so a test can check what
 * left the switch and in what order.  It counts tx and drops exactly as a
 * tap does, including DROP_TOO_BIG against its MTU (default 1500).
 *
 * Frames are numbered from 0 in sending order since open or the last
 * port_dummy_clear(); only the last PORT_DUMMY_RING are still readable.
 *
 * A dummy takes no offloads (port->takes 0) unless a test says otherwise
 * with port_dummy_set_takes(): then it records super-frames and frames
 * owing checksums as they come, with their vnet headers, which is how the
 * tests see both sides of port_send()'s software fallback.
 *
 * "dummy-l3" is the same for the router: an L3 port that records the IP
 * packets it is asked to send.
 */
#ifndef PORT_DUMMY_H
#define PORT_DUMMY_H

#include <stddef.h>
#include <stdint.h>

#include "port.h"

#define PORT_DUMMY_RING		64

extern const struct port_ops port_dummy_ops;
extern const struct port_ops port_dummy_l3_ops;

/* Frames sent since open or the last clear, the unreadable ones included. */
unsigned	 port_dummy_sent_count(const struct port *);
/* Frame i and its length, or NULL if i was never sent or is overwritten. */
const uint8_t	*port_dummy_sent(const struct port *, unsigned i, size_t *len);
/* Frame i's vnet header, or NULL as above. */
const struct virtio_net_hdr *port_dummy_sent_vnet(const struct port *,
		    unsigned i);
/* Sets port->takes (PORT_TAKES_*); clears the record.  0 or ENOMEM. */
int		 port_dummy_set_takes(struct port *, unsigned takes);
void		 port_dummy_clear(struct port *);

#endif
