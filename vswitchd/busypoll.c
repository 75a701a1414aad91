/*
 * busypoll.c - the event loop, with a short spin after traffic.
 */
#include <sched.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "busypoll.h"
#include "portio.h"

static unsigned	busypoll_us = BUSYPOLL_DEFAULT_US;

void
busypoll_set(unsigned usec)
{
	busypoll_us = usec;
}

unsigned
busypoll_get(void)
{
	return busypoll_us;
}

static uint64_t
busypoll_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* Polls until busypoll_us have passed without a read event: 0, or -1. */
static int
busypoll_turns(struct event_base *base)
{
	uint64_t	seen = portio_reads(), last = busypoll_now_ns();
	unsigned	polled;

	while (busypoll_now_ns() - last < (uint64_t)busypoll_us * 1000) {
		if (event_base_loop(base, EVLOOP_NONBLOCK) == -1)
			return -1;
		if (event_base_got_break(base))
			return 0;
		polled = portio_poll(true);
		if (portio_reads() != seen || polled > 0) {
			seen = portio_reads();
			last = busypoll_now_ns();
		} else
			sched_yield();
	}
	return 0;
}

/* The ports that polled ask for notifications again, whatever ended it. */
static int
busypoll_spin(struct event_base *base)
{
	int	rc = busypoll_turns(base);

	portio_poll(false);
	return rc;
}

int
busypoll_run(struct event_base *base)
{
	uint64_t	seen;
	int		rc;

	for (;;) {
		seen = portio_reads();
		/* 1: nothing left to wait for, as event_base_dispatch(). */
		if ((rc = event_base_loop(base, EVLOOP_ONCE)) != 0)
			return rc == 1 ? 0 : -1;
		if (event_base_got_break(base))
			return 0;
		if (busypoll_us == 0 || portio_reads() == seen)
			continue;
		if (busypoll_spin(base) == -1)
			return -1;
		if (event_base_got_break(base))
			return 0;
	}
}
