/*
 * portio.c - read events for the datapath's descriptors, its one-second
 * tick, and the log of what its ports say.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "datapath/dp.h"
#include "datapath/tap-record.h"

#include "log.h"
#include "portio.h"
#include "xmalloc.h"

/* A descriptor the datapath asked us to watch (struct io_hooks). */
struct portio_watch {
	struct event		*ev;
	io_input_fn		 input;
	void			*arg;
};

static struct event_base	*portio_base;
static struct dp		*portio_dp;
static struct event		*portio_tick;
static uint64_t			 portio_nreads;	/* read events so far */

uint64_t
portio_reads(void)
{
	return portio_nreads;
}

unsigned
portio_poll(bool spinning)
{
	if (portio_dp == NULL)
		return 0;
	return dp_poll(portio_dp, spinning, portio_now());
}

/*
 * Seconds are all the datapath asks for, on every read event: the coarse
 * clock is the same clock read from the last tick, without the time
 * counter a precise read costs (dearer still in a virtual machine).
 */
time_t
portio_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

static void
portio_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	dp_tick(portio_dp, portio_now());
}

static void
portio_watch_cb(evutil_socket_t fd, short events, void *arg)
{
	struct portio_watch	*w = arg;

	(void)fd;
	(void)events;
	portio_nreads++;
	w->input(w->arg, portio_now());
}

static int
portio_event(int fd, short what, io_input_fn input, void *arg, void **handle)
{
	struct portio_watch	*w;

	w = xcalloc(1, sizeof(*w));
	w->input = input;
	w->arg = arg;
	w->ev = event_new(portio_base, fd, what | EV_PERSIST, portio_watch_cb,
	    w);
	if (w->ev == NULL || event_add(w->ev, NULL) == -1) {
		if (w->ev != NULL)
			event_free(w->ev);
		free(w);
		return ENOMEM;
	}
	*handle = w;
	return 0;
}

static int
portio_watch(void *ctx, int fd, io_input_fn input, void *arg, void **handle)
{
	(void)ctx;
	return portio_event(fd, EV_READ, input, arg, handle);
}

static int
portio_watch_out(void *ctx, int fd, io_input_fn output, void *arg,
    void **handle)
{
	(void)ctx;
	return portio_event(fd, EV_WRITE, output, arg, handle);
}

static void
portio_unwatch(void *ctx, void *handle)
{
	struct portio_watch	*w = handle;

	(void)ctx;
	event_free(w->ev);
	free(w);
}

static const struct io_hooks portio_io = {
	.watch		= portio_watch,
	.watch_out	= portio_watch_out,
	.unwatch	= portio_unwatch,
};

static void
portio_port_event(void *ctx, struct port *port, enum port_event ev,
    int error)
{
	(void)ctx;
	switch (ev) {
	case PORT_EV_GONE:
		log_warnx("port %s: its device is gone; 'vswctl port add %s "
		    "...' replaces the port, a device made again under its "
		    "name is attached", port->name, port->name);
		break;
	case PORT_EV_READS_FAILING:
		log_warnx("port %s: every read fails (%s), polling it once a "
		    "second", port->name, strerror(error));
		break;
	case PORT_EV_GSO_FALLBACK:
		log_warnx("port %s: UDP GSO refused (%s): sending one "
		    "datagram per message", port->name, strerror(error));
		break;
	}
}

static void
portio_port_note(void *ctx, struct port *port, const char *msg)
{
	(void)ctx;
	log_info("port %s: %s", port->name, msg);
}

static const struct dp_events portio_events = {
	.port		= portio_port_event,
	.note		= portio_port_note,
};

void
portio_listen(struct dp *dp)
{
	dp_set_events(dp, &portio_events);
}

static void
portio_tap_note(const char *msg)
{
	log_warnx("%s", msg);
}

void
portio_recover_taps(const char *sockpath)
{
	char	 path[4096], err[512];
	size_t	 len = strlen(sockpath);

	if (len > 5 && strcmp(sockpath + len - 5, ".sock") == 0)
		len -= 5;
	if ((size_t)snprintf(path, sizeof(path), "%.*s.taps", (int)len,
	    sockpath) >= sizeof(path))
		return;
	if (tap_record_open(path, portio_tap_note, err, sizeof(err)) != 0)
		log_warnx("%s: persistent taps are not recorded, a crash "
		    "would leave their offloads on", err);
}

int
portio_start(struct event_base *base, struct dp *dp)
{
	const struct timeval	 second = { 1, 0 };

	portio_base = base;
	portio_dp = dp;
	portio_tick = event_new(base, -1, EV_PERSIST, portio_tick_cb, NULL);
	if (portio_tick == NULL || event_add(portio_tick, &second) == -1)
		return ENOMEM;
	return dp_set_io(dp, &portio_io);
}

void
portio_stop(struct dp *dp)
{
	struct port	*port;

	while ((port = TAILQ_FIRST(&dp->ports)) != NULL) {
		log_info("removing port %s", port->name);
		dp_port_del(dp, port);
	}
	tap_record_close();		/* every tap is back as it was */
	dp_set_io(dp, NULL);
	if (portio_tick != NULL)
		event_free(portio_tick);
	portio_tick = NULL;
	portio_base = NULL;
	portio_dp = NULL;
}
