/*
 * portio.h - drives the datapath from the event loop.
 *
 * The datapath asks for every descriptor it wants watched (a tap's, a
 * tunnel endpoint's) through the one struct io_hooks given to dp_set_io():
 * each gets a persistent read event.  A one-second timer calls dp_tick().
 * The clock is CLOCK_MONOTONIC in whole seconds, read once per event, never
 * per packet.  What ports tell their owner (dp_port_event()) is logged
 * here, once per event.
 *
 * Ports may be added before the loop exists (from the config file): the
 * datapath then holds their descriptors until portio_start().
 */
#ifndef VSW_PORTIO_H
#define VSW_PORTIO_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct dp;
struct event_base;

/* Starts the tick and watches every descriptor of dp; 0 or an errno. */
int	portio_start(struct event_base *, struct dp *);
/* Deletes every port of dp, unwatches the rest, then stops the tick. */
void	portio_stop(struct dp *);
/* Logs what ports say; set at creation, before any port is added. */
void	portio_listen(struct dp *);
/*
 * Puts back the persistent taps a run that died left with offloads on, and
 * records those held from now on (tap-record.h), in the socket's
 * directory: SOCKET with ".sock" replaced by (or followed by) ".taps".
 * Before any port is added; problems are logged, never fatal.
 */
void	portio_recover_taps(const char *sockpath);

time_t	portio_now(void);
/* Read events handled so far: the loop's sign of traffic. */
uint64_t portio_reads(void);
/*
 * The busy-poll loop's turn (spinning) or its end (not): the ports that
 * poll read their input (dp_poll()).  Frames read.
 */
unsigned portio_poll(bool spinning);

#endif
