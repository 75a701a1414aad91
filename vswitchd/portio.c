/*
 * portio.c - port read events and the switch's one-second tick.
 */
#include <sys/queue.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include <event2/event.h>

#include "datapath/switch.h"

#include "log.h"
#include "portio.h"

/*
 * A device can stay readable while every read fails (a tap deleted under
 * us): after this many readiness events in a row that brought only errors,
 * the port's input is paused until the next tick, so a broken port costs a
 * few wake-ups a second instead of a spinning loop.
 */
#define PORTIO_ERROR_RUN	64

/*
 * struct port has no slot for the daemon, so events are kept on a list of
 * their own; a switch has at most SW_MAX_PORTS ports.
 */
struct portio {
	struct port		*port;
	struct event		*ev;
	unsigned		 error_run;	/* events with errors only */
	bool			 paused;
	bool			 warned;	/* once per bad spell */
	LIST_ENTRY(portio)	 entry;
};

static struct event_base	*portio_base;
static struct sw		*portio_sw;
static struct event		*portio_tick;
static LIST_HEAD(, portio)	 portio_list =
    LIST_HEAD_INITIALIZER(portio_list);

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
	struct portio		*pio = arg;
	const struct port_stats	*st = &pio->port->stats;
	uint64_t		 packets = st->rx_packets, errors = st->rx_errors;

	(void)fd;
	(void)events;
	sw_port_input(portio_sw, pio->port, portio_now());
	if (st->rx_packets != packets || st->rx_errors == errors) {
		pio->error_run = 0;
		pio->warned = false;
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

	(void)fd;
	(void)events;
	(void)arg;
	sw_tick(portio_sw, portio_now());
	LIST_FOREACH(pio, &portio_list, entry) {
		if (!pio->paused)
			continue;
		pio->paused = false;
		pio->error_run = 0;
		event_add(pio->ev, NULL);
	}
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
	pio->ev = event_new(portio_base, port->fd, EV_READ | EV_PERSIST,
	    portio_read_cb, pio);
	if (pio->ev == NULL || event_add(pio->ev, NULL) == -1) {
		if (pio->ev != NULL)
			event_free(pio->ev);
		free(pio);
		return ENOMEM;
	}
	LIST_INSERT_HEAD(&portio_list, pio, entry);
	return 0;
}

void
portio_detach(struct port *port)
{
	struct portio	*pio;

	LIST_FOREACH(pio, &portio_list, entry)
		if (pio->port == port)
			break;
	if (pio == NULL)
		return;
	LIST_REMOVE(pio, entry);
	event_free(pio->ev);
	free(pio);
}

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
	return 0;
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
	if (portio_tick != NULL)
		event_free(portio_tick);
	portio_tick = NULL;
	portio_base = NULL;
}
