/*
 * portio.h - drives the datapath from the event loop.
 *
 * Each port with an fd gets a persistent read event that hands the port to
 * sw_port_input(); the sockets the switch shares between ports (tunnel
 * endpoints) get one through the io hooks given to sw_set_io(); a
 * one-second timer calls sw_tick().  The clock is CLOCK_MONOTONIC in whole
 * seconds, read once per event, never per packet.  A port whose reads keep
 * failing is polled once a second instead, and one whose device is gone
 * (EBADFD) is no longer read at all.
 *
 * Ports may be added before the loop exists (from the config file):
 * portio_attach() then does nothing and portio_start() attaches every port
 * already on the switch.
 */
#ifndef VSW_PORTIO_H
#define VSW_PORTIO_H

#include <stdint.h>
#include <time.h>

struct event_base;
struct port;
struct sw;

/* Starts the tick and watches every existing port; 0 or an errno. */
int	portio_start(struct event_base *, struct sw *);
/* Watches a new port's fd; 0 or an errno. */
int	portio_attach(struct port *);
/* Stops watching a port; call before sw_port_del(). */
void	portio_detach(struct port *);
/* Detaches and deletes every port of sw, then stops the tick. */
void	portio_stop(struct sw *);

time_t	portio_now(void);
/* Read events handled so far (ports and watched sockets): the loop's
 * sign of traffic. */
uint64_t portio_reads(void);

#endif
