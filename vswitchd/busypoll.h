/*
 * busypoll.h - the event loop, with a short spin after traffic.
 *
 * A userspace switch adds a process wake-up to every hop, and on a small
 * virtual machine waking a task on another, halted vCPU costs tens of
 * microseconds: in a request/response exchange the daemon is woken twice
 * per round trip.  So after a read event the loop keeps polling the fds
 * without blocking (epoll with a zero timeout) for a configured time,
 * extended whenever another read event comes in, and blocks again only
 * after that long without traffic.  The answer to a forwarded request
 * then finds the daemon running.
 *
 * The spin starts only after traffic, so an idle daemon blocks as before
 * and costs no CPU.  Each empty poll is followed by sched_yield(): a task
 * waiting for the CPU (the daemon's peers on a busy machine) runs first,
 * so spinning takes only time nobody else wanted.  Zero turns it off.
 *
 * Ports that can tell their peer not to notify them (a vhost-user guest's
 * kicks) are polled on each turn of the spin instead (portio_poll(), then
 * dp_poll()): frames they read count as traffic, and they are told once
 * when the spin ends so that they ask for notifications again.
 * The time is a daemon setting: vswctl busy-poll set USEC.
 */
#ifndef VSW_BUSYPOLL_H
#define VSW_BUSYPOLL_H

struct event_base;

#define BUSYPOLL_DEFAULT_US	50
#define BUSYPOLL_MAX_US		1000

void		 busypoll_set(unsigned usec);
unsigned	 busypoll_get(void);
/* Runs the loop until event_base_loopbreak(): 0, or -1 if it failed. */
int		 busypoll_run(struct event_base *);

#endif
