/*
 * icmp.h - the errors and answers the router sends (icmp.c).
 *
 * Both build their packet from the datapath's pool and route it through the
 * table of its family like any forwarded packet, queued with dp_enqueue();
 * the caller's dp_flush() sends it with the rest of the batch.  Errors pass
 * the router's token bucket (router.h); echo replies do not.
 */
#ifndef ICMP_H
#define ICMP_H

#include <stdint.h>

#include "pkt.h"

struct dp;
struct port;

/* An ICMP or ICMPv6 error about p, which came in on in; p stays the caller's. */
void	icmp_error(struct dp *, struct port *in, const struct pkt *p,
	    uint8_t type, uint8_t code, uint32_t info);
/* Answers a packet for one of the router's addresses; consumes p. */
void	icmp_local(struct dp *, struct port *in, struct pkt *p);

#endif
