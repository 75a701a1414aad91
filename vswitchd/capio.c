/*
 * capio.c - captures in the event loop.
 */
#include <sys/eventfd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "datapath/port.h"

#include "capio.h"
#include "log.h"
#include "xmalloc.h"

static void	capio_frames(struct port_hook *, struct port *, enum port_dir,
		    const struct pkt_batch *);
static void	capio_outer(struct port_hook *, struct port *, enum port_dir,
		    const struct port_outer *);
static void	capio_port_gone(struct port_hook *, struct port *);

static struct port_hook	capio_hook = {
	.frames	= capio_frames,
	.outer	= capio_outer,
	.gone	= capio_port_gone,
};

static struct {
	TAILQ_HEAD(, capio)	 list;
	unsigned		 n;
	unsigned		 next_id;
	int			 notifyfd;	/* writers add 1 when done */
	struct event		*ev;
	void			(*ended)(struct capio *);
} capio = {
	.list = TAILQ_HEAD_INITIALIZER(capio.list),
	.next_id = 1,
	.notifyfd = -1,
};

static const char *
end_reason(enum cap_end end)
{
	switch (end) {
	case CAP_END_COUNT:
		return "count";
	case CAP_END_MAX_SIZE:
		return "max-size";
	case CAP_END_WRITER:
		return "output closed";
	case CAP_RUNNING:
		break;
	}
	return "stopped";
}

/* The port keeps the hook while any capture of it runs. */
static void
capio_rehook(struct port *port)
{
	struct capio	*c;

	port->hook = NULL;
	TAILQ_FOREACH(c, &capio.list, entry)
		if (c->running && c->port == port)
			port->hook = &capio_hook;
}

void
capio_end(struct capio *c, const char *reason)
{
	if (!c->running)
		return;
	c->running = false;
	c->reason = reason;
	cap_finish(c->cap);
	if (c->port != NULL)
		capio_rehook(c->port);
}

/*
 * Feeds the port's running captures of one layer: a batch of frames, or
 * an outer datagram.  One clock read per call, shared by them all.
 */
static void
capio_feed(struct port *port, enum port_dir dir, const struct pkt_batch *b,
    const struct port_outer *o)
{
	struct capio	*c;
	struct timeval	 tv;
	enum cap_end	 end;

	gettimeofday(&tv, NULL);
	TAILQ_FOREACH(c, &capio.list, entry) {
		if (c->port != port || !c->running || c->outer != (o != NULL))
			continue;
		end = o != NULL ? cap_outer(c->cap, dir, o, &tv) :
		    cap_frames(c->cap, dir, b, &tv);
		if (end != CAP_RUNNING)
			capio_end(c, end_reason(end));
	}
}

static void
capio_frames(struct port_hook *hook, struct port *port, enum port_dir dir,
    const struct pkt_batch *b)
{
	(void)hook;
	capio_feed(port, dir, b, NULL);
}

static void
capio_outer(struct port_hook *hook, struct port *port, enum port_dir dir,
    const struct port_outer *o)
{
	(void)hook;
	capio_feed(port, dir, NULL, o);
}

static void
capio_port_gone(struct port_hook *hook, struct port *port)
{
	struct capio	*c;

	(void)hook;
	TAILQ_FOREACH(c, &capio.list, entry) {
		if (c->port != port)
			continue;
		capio_end(c, "port deleted");
		c->port = NULL;
	}
	port->hook = NULL;
}

static void
capio_log_end(const struct capio *c)
{
	const struct cap_stats	*st = &c->last;

	if (c->error != 0 && c->error != EPIPE)
		log_warnx("capture %u on %s ended: cannot write to %s: %s "
		    "(%llu packets written, %llu dropped)", c->id, c->port_name,
		    c->output, strerror(c->error),
		    (unsigned long long)st->written,
		    (unsigned long long)st->dropped);
	else
		log_info("capture %u on %s ended (%s): %llu packets written, "
		    "%llu dropped", c->id, c->port_name, c->reason,
		    (unsigned long long)st->written,
		    (unsigned long long)st->dropped);
}

/* The writer is done: close, tell, free. */
static void
capio_close(struct capio *c)
{
	capio_end(c, end_reason(CAP_END_WRITER));
	c->error = cap_error(c->cap);
	cap_get_stats(c->cap, &c->last);
	cap_destroy(c->cap);
	c->cap = NULL;
	capio_log_end(c);
	TAILQ_REMOVE(&capio.list, c, entry);
	capio.n--;
	if (capio.ended != NULL)
		capio.ended(c);
	free(c->filter);
	free(c->output);
	free(c);
}

static void
capio_done_cb(evutil_socket_t fd, short events, void *arg)
{
	struct capio	*c, *next;
	uint64_t	 v;

	(void)events;
	(void)arg;
	if (read(fd, &v, sizeof(v)) == -1)
		return;
	for (c = TAILQ_FIRST(&capio.list); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (cap_done(c->cap))
			capio_close(c);
	}
}

int
capio_start(struct event_base *base, void (*ended)(struct capio *))
{
	capio.ended = ended;
	capio.notifyfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (capio.notifyfd == -1)
		return errno;
	capio.ev = event_new(base, capio.notifyfd, EV_READ | EV_PERSIST,
	    capio_done_cb, NULL);
	if (capio.ev == NULL || event_add(capio.ev, NULL) == -1)
		return ENOMEM;
	return 0;
}

void
capio_shutdown(void)
{
	struct capio	*c;

	TAILQ_FOREACH(c, &capio.list, entry)
		capio_end(c, "shutdown");
	/* cap_destroy() waits for each writer to drain. */
	while ((c = TAILQ_FIRST(&capio.list)) != NULL)
		capio_close(c);
	if (capio.ev != NULL)
		event_free(capio.ev);
	if (capio.notifyfd != -1)
		close(capio.notifyfd);
	capio.ev = NULL;
	capio.notifyfd = -1;
}

int
capio_add(const struct capio_config *cfg, struct capio **cp, char *err,
    size_t errlen)
{
	struct cap_config	 cc = cfg->cap;
	struct capio		*c;
	int			 error;

	if (capio.notifyfd == -1) {
		snprintf(err, errlen, "captures need a running daemon");
		error = EINVAL;
		goto close_fd;
	}
	if (capio.n >= CAPIO_MAX) {
		snprintf(err, errlen, "too many captures (%u, the maximum): "
		    "stop one first", capio.n);
		error = ENOSPC;
		goto close_fd;
	}
	c = xcalloc(1, sizeof(*c));
	c->filter = xstrdup(cc.filter ? cc.filter : "");
	c->output = xstrdup(cfg->output);
	cc.l3 = port_is_l3(cfg->port);
	cc.outer = cfg->outer;
	if ((error = cap_create(&cc, &c->cap, err, errlen)) != 0)
		goto free_c;
	if ((error = cap_start(c->cap, capio.notifyfd)) != 0)
		snprintf(err, errlen, "cannot start the writer: %s",
		    strerror(error));
	if (error != 0) {
		cap_destroy(c->cap);		/* closes the descriptor */
		cc.fd = -1;
		goto free_c;
	}
	c->id = capio.next_id++;
	c->port = cfg->port;
	memcpy(c->port_name, cfg->port->name, sizeof(c->port_name));
	c->outer = cfg->outer;
	c->link_name = cap_link_name(c->cap);
	c->dirs = cc.dirs;
	c->snaplen = cc.snaplen;
	c->count = cc.count;
	c->max_size = cc.max_size;
	c->running = true;
	TAILQ_INSERT_TAIL(&capio.list, c, entry);
	capio.n++;
	cfg->port->hook = &capio_hook;
	*cp = c;
	return 0;

free_c:
	free(c->filter);
	free(c->output);
	free(c);
close_fd:
	if (cc.fd != -1)
		close(cc.fd);
	return error;
}

struct capio *
capio_next(struct capio *c)
{
	return c == NULL ? TAILQ_FIRST(&capio.list) : TAILQ_NEXT(c, entry);
}

struct capio *
capio_find(unsigned id)
{
	struct capio	*c;

	TAILQ_FOREACH(c, &capio.list, entry)
		if (c->id == id)
			return c;
	return NULL;
}

unsigned
capio_count(void)
{
	return capio.n;
}

void
capio_stats(const struct capio *c, struct cap_stats *st)
{
	if (c->cap != NULL)
		cap_get_stats(c->cap, st);
	else
		*st = c->last;
}
