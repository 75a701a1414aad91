/*
 * dp.c - the datapath object: pools, ports, output queues, descriptors,
 * events and extension slots.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"
#include "router.h"
#include "switch.h"

/* A descriptor the owner's loop watches for us; handle NULL: not now. */
struct dp_watch {
	int			 fd;
	io_input_fn		 input;
	void			*arg;
	void			*handle;
	bool			 out;		/* writability */
	bool			 paused;
	LIST_ENTRY(dp_watch)	 entry;
};

struct dp *
dp_create(void)
{
	struct dp	*dp;
	int		 error;

	if ((dp = calloc(1, sizeof(*dp))) == NULL)
		return NULL;
	TAILQ_INIT(&dp->ports);
	LIST_INIT(&dp->watches);
	dp->next_index = 1;
	offload_cfg_init(&dp->ofl);
	if ((dp->pool = pkt_pool_create(DP_POOL_SIZE, PKT_DATA_ROOM)) == NULL)
		goto free_dp;
	if ((dp->large = pkt_pool_create(DP_LARGE_POOL_SIZE,
	    PKT_GSO_DATA_ROOM)) == NULL)
		goto destroy_pools;
	if ((dp->sw = sw_create()) == NULL)
		goto destroy_pools;
	if ((dp->rtr = rtr_create()) == NULL)
		goto destroy_sw;
	return dp;

destroy_sw:
	error = errno;
	sw_destroy(dp->sw);
	errno = error;
destroy_pools:
	error = errno;
	pkt_pool_destroy(dp->large);
	pkt_pool_destroy(dp->pool);
	errno = error;
free_dp:
	free(dp);
	return NULL;
}

void
dp_destroy(struct dp *dp)
{
	struct dp_watch	*w;
	struct port	*port;

	if (dp == NULL)
		return;
	while ((port = TAILQ_FIRST(&dp->ports)) != NULL)
		dp_port_del(dp, port);
	for (int i = DP_EXT_MAX - 1; i >= 0; i--)
		if (dp->ext[i].cls != NULL)
			dp->ext[i].cls->destroy(dp->ext[i].data);
	dp_set_io(dp, NULL);
	/* What a port type forgot to unwatch goes with the datapath. */
	while ((w = LIST_FIRST(&dp->watches)) != NULL) {
		LIST_REMOVE(w, entry);
		free(w);
	}
	rtr_destroy(dp->rtr);
	sw_destroy(dp->sw);
	pkt_pool_destroy(dp->large);
	pkt_pool_destroy(dp->pool);
	free(dp);
}

bool
dp_port_gone(const struct port *port)
{
	return port->ops->state != NULL &&
	    strcmp(port->ops->state(port), "gone") == 0;
}

/* A gone port of that name is handed back in *old, to be replaced. */
static int
dp_check_name(const struct dp *dp, const char *name, struct port **old,
    char *err, size_t errlen)
{
	int	error;

	if ((error = port_name_check(name, IFNAMSIZ, err, errlen)) != 0)
		return error;
	if ((*old = dp_port_find(dp, name)) != NULL && !dp_port_gone(*old)) {
		snprintf(err, errlen, "port %s already exists", name);
		return EEXIST;
	}
	return 0;
}

static void	dp_port_readable(void *, time_t);
static int	dp_watch_start(struct dp *, struct dp_watch *);
static void	dp_watch_stop(struct dp *, struct dp_watch *);

int
dp_port_add(struct dp *dp, const struct port_config *config,
    struct port **portp, char *err, size_t errlen)
{
	const struct port_ops	*ops;
	struct port		*port, *old;
	int			 error;

	if ((error = dp_check_name(dp, config->name, &old, err, errlen)) != 0)
		return error;
	if ((ops = port_ops_find(config->type)) == NULL) {
		snprintf(err, errlen, "unknown port type '%s' (known: %s)",
		    config->type != NULL ? config->type : "",
		    port_type_names());
		return EINVAL;
	}
	if ((error = port_check_config(ops, config, err, errlen)) != 0)
		return error;
	if (dp->nports >= DP_MAX_PORTS + (old != NULL)) {
		snprintf(err, errlen, "cannot add %s: the switch has the "
		    "maximum of %d ports", config->name, DP_MAX_PORTS);
		return ENOSPC;
	}

	if ((port = calloc(1, sizeof(*port))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", config->name);
		return ENOMEM;
	}
	strcpy(port->name, config->name);
	port->ops = ops;
	port->cfg = *config;
	port->cfg.type = ops->type;
	port->fd = -1;
	port->dp = dp;
	port->split_horizon = config->split_horizon == PORT_SH_DEFAULT ?
	    ops->split_horizon : config->split_horizon == PORT_SH_ON;
	port->addr4 = config->addr4;
	port->addr6 = config->addr6;
	if ((error = ops->open(port, config, err, errlen)) != 0) {
		free(port);
		return error;
	}
	if (old != NULL)
		dp_port_del(dp, old);
	port->index = dp->next_index++;
	TAILQ_INSERT_TAIL(&dp->ports, port, entry);
	dp->nports++;
	if (port->fd >= 0 && (error = dp_watch(dp, port->fd, dp_port_readable,
	    port, &port->watch)) != 0) {
		snprintf(err, errlen, "%s: cannot watch its device: %s",
		    config->name, strerror(error));
		dp_port_del(dp, port);
		return error;
	}
	if (port_is_l3(port) && (error = rtr_port_add(dp, port)) != 0) {
		snprintf(err, errlen, "%s: cannot add the route of its "
		    "address: %s", config->name, error == EEXIST ?
		    "that route exists" : strerror(error));
		dp_port_del(dp, port);
		return error;
	}
	if (portp != NULL)
		*portp = port;
	return 0;
}

void
dp_port_del(struct dp *dp, struct port *port)
{
	struct port_user	*u;

	while ((u = LIST_FIRST(&port->users)) != NULL) {
		port_unuse(u);
		u->gone(u);
	}
	if (port->hook != NULL)
		port->hook->gone(port->hook, port);
	if (port->watch != NULL)
		dp_unwatch(dp, port->watch);
	sw_port_del(dp, port);
	TAILQ_REMOVE(&dp->ports, port, entry);
	dp->nports--;
	if (port_is_l3(port))
		rtr_port_del(dp, port);
	port->ops->close(port);
	free(port);
}

struct port *
dp_port_find(const struct dp *dp, const char *name)
{
	struct port	*port;

	TAILQ_FOREACH(port, &dp->ports, entry) {
		if (strcmp(port->name, name) == 0)
			return port;
	}
	return NULL;
}

int
dp_port_set_fd(struct port *port, int fd)
{
	if (port->watch != NULL)
		dp_unwatch(port->dp, port->watch);
	port->watch = NULL;
	port->error_run = 0;
	port->warned = false;
	port->fd = fd;
	if (fd < 0)
		return 0;
	return dp_watch(port->dp, fd, dp_port_readable, port, &port->watch);
}

/*
 * A batch short of PKT_BATCH_MAX means the device is drained (or the pool
 * is), so there is no point in another read that would return EAGAIN.
 */
int
dp_port_read(struct dp *dp, struct port *port, time_t now)
{
	struct pkt_batch	b;
	unsigned		n;

	port->rx_error = 0;
	for (int i = 0; i < DP_INPUT_BATCHES; i++) {
		pkt_batch_init(&b);
		if ((n = port->ops->recv_batch(port, dp->pool, &b)) == 0)
			return i == 0 ? port->rx_error : 0;
		dp_input(dp, port, &b, now);
		if (n < PKT_BATCH_MAX)
			break;
	}
	return 0;
}

/*
 * A device can stay readable while every read fails (a tap deleted under
 * us): after DP_ERROR_RUN readiness events in a row that brought only
 * errors, the port is read once a second instead of spinning the loop.
 */
static void
dp_port_readable(void *arg, time_t now)
{
	struct port	*port = arg;
	int		 error;

	if ((error = dp_port_read(port->dp, port, now)) == 0) {
		port->error_run = 0;
		port->warned = false;
		return;
	}
	if (error == EBADFD) {
		dp_port_event(port, PORT_EV_GONE, error);
		dp_unwatch(port->dp, port->watch);
		port->watch = NULL;
		return;
	}
	if (++port->error_run < DP_ERROR_RUN)
		return;
	if (!port->warned)
		dp_port_event(port, PORT_EV_READS_FAILING, error);
	port->warned = true;
	dp_watch_stop(port->dp, port->watch);
	port->watch->paused = true;
}

void
dp_input(struct dp *dp, struct port *in, struct pkt_batch *b, time_t now)
{
	if (port_is_l3(in)) {
		dp->rtr->now = now;
		rtr_input(dp, in, b);
	} else
		sw_input(dp, in, b, now);
}

/* An L3 port's queue owns its packets, an L2 port's borrows them. */
void
dp_send(struct port *port)
{
	port_send(port, &port->txq);
	if (port_is_l3(port))
		pkt_batch_free(&port->txq);
	else
		pkt_batch_init(&port->txq);
}

void
dp_flush(struct dp *dp)
{
	for (unsigned i = 0; i < dp->ntx; i++)
		dp_send(dp->tx[i]);
	dp->ntx = 0;
}

void
dp_set_offload(struct dp *dp, enum offload ofl, bool on)
{
	struct port	*port;

	if (dp->ofl.on[ofl] == on)
		return;
	dp->ofl.on[ofl] = on;
	TAILQ_FOREACH(port, &dp->ports, entry)
		if (port->ops->set_offloads != NULL)
			port->ops->set_offloads(port);
}

static int
dp_watch_start(struct dp *dp, struct dp_watch *w)
{
	if (!dp->has_io || w->paused || w->handle != NULL)
		return 0;
	if (w->out)
		return dp->io.watch_out(dp->io.ctx, w->fd, w->input, w->arg,
		    &w->handle);
	return dp->io.watch(dp->io.ctx, w->fd, w->input, w->arg, &w->handle);
}

static void
dp_watch_stop(struct dp *dp, struct dp_watch *w)
{
	if (w->handle != NULL)
		dp->io.unwatch(dp->io.ctx, w->handle);
	w->handle = NULL;
}

void
dp_tick(struct dp *dp, time_t now)
{
	struct port	*port;

	sw_tick(dp, now);
	TAILQ_FOREACH(port, &dp->ports, entry) {
		if (port->ops->tick != NULL)
			port->ops->tick(port, now);
		/* A resume the loop refuses is tried again next tick. */
		if (port->watch != NULL && port->watch->paused) {
			port->watch->paused = false;
			port->error_run = 0;
			if (dp_watch_start(dp, port->watch) != 0)
				port->watch->paused = true;
		}
	}
}

unsigned
dp_poll(struct dp *dp, bool spinning, time_t now)
{
	struct port	*port;
	unsigned	 n = 0;

	TAILQ_FOREACH(port, &dp->ports, entry)
		if (port->ops->poll != NULL)
			n += port->ops->poll(port, spinning, now);
	return n;
}

int
dp_set_io(struct dp *dp, const struct io_hooks *io)
{
	struct dp_watch	*w;
	int		 error;

	LIST_FOREACH(w, &dp->watches, entry)
		dp_watch_stop(dp, w);
	dp->has_io = io != NULL;
	if (io == NULL)
		return 0;
	dp->io = *io;
	LIST_FOREACH(w, &dp->watches, entry)
		if ((error = dp_watch_start(dp, w)) != 0)
			return error;
	return 0;
}

static int
dp_watch_new(struct dp *dp, int fd, bool out, io_input_fn input, void *arg,
    struct dp_watch **wp)
{
	struct dp_watch	*w;
	int		 error;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return ENOMEM;
	w->fd = fd;
	w->out = out;
	w->input = input;
	w->arg = arg;
	if ((error = dp_watch_start(dp, w)) != 0) {
		free(w);
		return error;
	}
	LIST_INSERT_HEAD(&dp->watches, w, entry);
	*wp = w;
	return 0;
}

int
dp_watch(struct dp *dp, int fd, io_input_fn input, void *arg,
    struct dp_watch **wp)
{
	return dp_watch_new(dp, fd, false, input, arg, wp);
}

int
dp_watch_out(struct dp *dp, int fd, io_input_fn output, void *arg,
    struct dp_watch **wp)
{
	return dp_watch_new(dp, fd, true, output, arg, wp);
}

void
dp_unwatch(struct dp *dp, struct dp_watch *w)
{
	if (w == NULL)
		return;
	dp_watch_stop(dp, w);
	LIST_REMOVE(w, entry);
	free(w);
}

void
dp_set_events(struct dp *dp, const struct dp_events *events)
{
	dp->events = events;
}

void
dp_port_event(struct port *port, enum port_event ev, int error)
{
	const struct dp_events	*e;

	if (port->dp != NULL && (e = port->dp->events) != NULL)
		e->port(e->ctx, port, ev, error);
}

void
dp_port_note(struct port *port, const char *fmt, ...)
{
	const struct dp_events	*e;
	char			 msg[256];
	va_list			 ap;

	if (port->dp == NULL || (e = port->dp->events) == NULL ||
	    e->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->note(e->ctx, port, msg);
}

void *
dp_ext_find(const struct dp *dp, const struct dp_ext_class *cls)
{
	for (int i = 0; i < DP_EXT_MAX; i++)
		if (dp->ext[i].cls == cls)
			return dp->ext[i].data;
	return NULL;
}

void *
dp_ext(struct dp *dp, const struct dp_ext_class *cls)
{
	void	*data;
	int	 i;

	if ((data = dp_ext_find(dp, cls)) != NULL)
		return data;
	for (i = 0; i < DP_EXT_MAX && dp->ext[i].cls != NULL; i++)
		continue;
	if (i == DP_EXT_MAX) {
		errno = ENOSPC;
		return NULL;
	}
	if ((data = cls->create(dp)) == NULL)
		return NULL;
	dp->ext[i].cls = cls;
	dp->ext[i].data = data;
	return data;
}
