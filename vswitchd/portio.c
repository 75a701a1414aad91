/*
 * portio.c - port read events and the switch's one-second tick.
 */
#include <sys/queue.h>
#include <errno.h>
#include <stdlib.h>

#include <event2/event.h>

#include "datapath/switch.h"

#include "log.h"
#include "portio.h"

/*
 * struct port has no slot for the daemon, so events are kept on a list of
 * their own; a switch has at most SW_MAX_PORTS ports.
 */
struct portio {
	struct port		*port;
	struct event		*ev;
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
	struct port	*port = arg;

	(void)fd;
	(void)events;
	sw_port_input(portio_sw, port, portio_now());
}

static void
portio_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	sw_tick(portio_sw, portio_now());
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
	    portio_read_cb, port);
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
