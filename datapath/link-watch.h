/*
 * link-watch.h - the kernel's news of network devices and addresses, for
 * the ports whose state hangs on them.
 *
 * A tap's device can be deleted under it, and come back; a tunnel's local
 * underlay address can be removed, and added again.  Rather than poll,
 * a port subscribes here: one rtnetlink socket per datapath (a dp_ext()
 * slot, opened with the first subscriber, closed after the last port)
 * joins the multicast groups of link and IPv4/IPv6 address changes and is
 * watched like any descriptor (dp_watch()).  A netlink socket needs no
 * privilege to listen.
 *
 * Nothing is parsed beyond the message type: a subscriber is told that
 * links (LW_LINK) or addresses (LW_ADDR) changed, once per read of the
 * socket whatever the number of messages, and checks what it depends on
 * itself, by name or by address.  When the socket overflowed (ENOBUFS:
 * news were lost) every subscriber is told both.
 *
 * A callback may change its own subscription but not another's.
 */
#ifndef LINK_WATCH_H
#define LINK_WATCH_H

struct dp;
struct lw_sub;

#define LW_LINK		0x1	/* a device was added, changed or deleted */
#define LW_ADDR		0x2	/* an IPv4 or IPv6 address came or went */

typedef void	(*lw_fn)(void *arg, unsigned what);

/* Calls fn(arg, what & mask) on news of mask: 0 and *sub, or an errno. */
int	lw_subscribe(struct dp *, unsigned mask, lw_fn fn, void *arg,
	    struct lw_sub **sub);
/* NULL does nothing. */
void	lw_unsubscribe(struct lw_sub *);

#endif
