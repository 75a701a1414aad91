/*
 * portio.c - port read events, the datapath's other sockets and the
 * switch's one-second tick.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "datapath/switch.h"
#include "tunnel/port-tunnel.h"

#include "log.h"
#include "portio.h"

/*
 * A device can stay readable while every read fails (a tap deleted under
 * us): after this many readiness events in a row that brought only errors,
 * the port's input is paused until the next tick, so a broken port costs a
 * few wake-ups a second instead of a spinning loop.
 */
#define PORTIO_ERROR_RUN	64

/* A port's event, hung on port->owner. */
struct portio {
	struct port		*port;
	struct event		*ev;
	unsigned		 error_run;	/* events with errors only */
	bool			 paused;
	bool			 warned;	/* once per bad spell */
	bool			 gone;		/* device deleted: never again */
};

/* A socket the datapath asked us to watch (struct io_hooks). */
struct portio_watch {
	struct event		*ev;
	io_input_fn		 input;
	void			*arg;
};

static struct event_base	*portio_base;
static struct sw		*portio_sw;
static struct event		*portio_tick;
static uint64_t			 portio_nreads;	/* read events so far */

uint64_t
portio_reads(void)
{
	return portio_nreads;
}

time_t
portio_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
portio_read_cb(evutil_socket_t fd, short events, void *arg)
{
	struct portio	*pio = arg;
	int		 error;

	(void)fd;
	(void)events;
	portio_nreads++;
	if ((error = sw_port_input(portio_sw, pio->port, portio_now())) == 0) {
		pio->error_run = 0;
		pio->warned = false;
		return;
	}
	if (error == EBADFD) {
		log_warnx("port %s: its device is gone; 'vswctl port del %s' "
		    "removes the port", pio->port->name, pio->port->name);
		pio->gone = true;
		event_del(pio->ev);
		return;
	}
	if (++pio->error_run < PORTIO_ERROR_RUN)
		return;
	if (!pio->warned)
		log_warnx("port %s: every read fails, polling it once a "
		    "second", pio->port->name);
	pio->warned = true;
	pio->paused = true;
	event_del(pio->ev);
}

static void
portio_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	struct portio	*pio;
	struct port	*port;
	int		 error;

	(void)fd;
	(void)events;
	(void)arg;
	sw_tick(portio_sw, portio_now());
	TAILQ_FOREACH(port, &portio_sw->ports, entry) {
		if (tnl_port_gso_failed(port, &error))
			log_warnx("port %s: UDP GSO refused (%s): sending one "
			    "datagram per message", port->name,
			    strerror(error));
		if ((pio = port->owner) == NULL || !pio->paused || pio->gone)
			continue;
		pio->paused = false;
		pio->error_run = 0;
		event_add(pio->ev, NULL);
	}
}

/* A persistent read event on fd, added: NULL when out of memory. */
static struct event *
portio_read_event(int fd, event_callback_fn cb, void *arg)
{
	struct event	*ev;

	if ((ev = event_new(portio_base, fd, EV_READ | EV_PERSIST, cb,
	    arg)) == NULL)
		return NULL;
	if (event_add(ev, NULL) == -1) {
		event_free(ev);
		return NULL;
	}
	return ev;
}

int
portio_attach(struct port *port)
{
	struct portio	*pio;

	if (portio_base == NULL || port->fd < 0)
		return 0;
	if ((pio = calloc(1, sizeof(*pio))) == NULL)
		return ENOMEM;
	pio->port = port;
	if ((pio->ev = portio_read_event(port->fd, portio_read_cb, pio)) ==
	    NULL) {
		free(pio);
		return ENOMEM;
	}
	port->owner = pio;
	return 0;
}

void
portio_detach(struct port *port)
{
	struct portio	*pio = port->owner;

	if (pio == NULL)
		return;
	event_free(pio->ev);
	free(pio);
	port->owner = NULL;
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
portio_watch(void *ctx, int fd, io_input_fn input, void *arg, void **handle)
{
	struct portio_watch	*w;

	(void)ctx;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return ENOMEM;
	w->input = input;
	w->arg = arg;
	if ((w->ev = portio_read_event(fd, portio_watch_cb, w)) == NULL) {
		free(w);
		return ENOMEM;
	}
	*handle = w;
	return 0;
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
	.unwatch	= portio_unwatch,
};

int
portio_start(struct event_base *base, struct sw *sw)
{
	const struct timeval	 second = { 1, 0 };
	struct port		*port;
	int			 error;

	portio_base = base;
	portio_sw = sw;
	portio_tick = event_new(base, -1, EV_PERSIST, portio_tick_cb, NULL);
	if (portio_tick == NULL || event_add(portio_tick, &second) == -1)
		return ENOMEM;
	TAILQ_FOREACH(port, &sw->ports, entry)
		if ((error = portio_attach(port)) != 0)
			return error;
	return sw_set_io(sw, &portio_io);
}

void
portio_stop(struct sw *sw)
{
	struct port	*port;

	while ((port = TAILQ_FIRST(&sw->ports)) != NULL) {
		log_info("removing port %s", port->name);
		portio_detach(port);
		sw_port_del(sw, port);
	}
	sw_set_io(sw, NULL);
	if (portio_tick != NULL)
		event_free(portio_tick);
	portio_tick = NULL;
	portio_base = NULL;
}
