/*
 * test-dp.c - the datapath object: the type registry, descriptors watched
 * through io_hooks, failing reads, port events and extension slots.
 *
 *   [fake loop] --io_hooks--> [dp] --recv_batch--> "fdtest" port --> dp_input
 *                                                        |
 *                                                  dummy port "d1"
 *
 * "fdtest" is a port type defined here, outside the datapath, and
 * registered like any other: it has an fd (one end of a socketpair) and
 * its reads return what the test says.  The fake loop records what the
 * datapath asked it to watch and calls input() when the test says the fd
 * is readable.
 */
#include <sys/socket.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "datapath/dp.h"
#include "datapath/port-dummy.h"
#include "datapath/switch.h"
#include "vswitchd/port-types.h"

#define MAX_WATCH	8
#define NOW		1000

/* What the next recv_batch of an fdtest port does. */
static unsigned	fd_frames;	/* frames to return */
static int	fd_error;	/* else: fails with this */
static unsigned	fd_reads;
static bool	fd_gone;	/* state() says "gone" */

static int
fdtest_open(struct port *port, const struct port_config *cfg, char *err,
    size_t errlen)
{
	int	sv[2];

	(void)cfg;
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return errno;
	}
	close(sv[1]);
	port->fd = sv[0];
	port->mtu = 1500;
	return 0;
}

static void
fdtest_close(struct port *port)
{
	close(port->fd);
}

/* Broadcast frames from A, which the switch floods to d1. */
static unsigned
fdtest_recv(struct port *port, struct pkt_pool *pool, struct pkt_batch *b)
{
	fd_reads++;
	if (fd_frames == 0) {
		port->rx_error = fd_error;
		return 0;
	}
	for (unsigned i = 0; i < fd_frames; i++) {
		struct pkt *p = pkt_alloc(pool);

		memset(p->data, 0xff, 6);
		memcpy(p->data + 6, "\x02\0\0\0\0\x0a", 6);
		memset(p->data + 12, 0x08, 1);
		memset(p->data + 13, 0x00, 1);
		p->len = 60;
		pkt_batch_add(b, p);
	}
	return fd_frames;
}

static void
fdtest_send(struct port *port, struct pkt_batch *b)
{
	(void)port;
	(void)b;
}

static const char *
fdtest_state(const struct port *port)
{
	(void)port;
	return fd_gone ? "gone" : "up";
}

static const struct port_ops fdtest_ops = {
	.type		= "fdtest",
	.open		= fdtest_open,
	.close		= fdtest_close,
	.recv_batch	= fdtest_recv,
	.send_batch	= fdtest_send,
	.state		= fdtest_state,
};

/* Same name, another type. */
static const struct port_ops impostor_ops = {
	.type		= "fdtest",
	.open		= fdtest_open,
	.close		= fdtest_close,
	.recv_batch	= fdtest_recv,
	.send_batch	= fdtest_send,
};

struct watch {
	bool		 used;
	int		 fd;
	io_input_fn	 input;
	void		*arg;
};

struct fixture {
	struct dp	*dp;
	struct port	*d1;
	struct watch	 w[MAX_WATCH];
	unsigned	 watches, unwatches;
	unsigned	 events[PORT_EV_GSO_FALLBACK + 1];
	int		 last_error;
	char		 note[256];
};

static int
fake_watch(void *ctx, int fd, io_input_fn input, void *arg, void **handle)
{
	struct fixture	*f = ctx;

	for (int i = 0; i < MAX_WATCH; i++) {
		if (f->w[i].used)
			continue;
		f->w[i] = (struct watch){ true, fd, input, arg };
		*handle = &f->w[i];
		f->watches++;
		return 0;
	}
	return ENOSPC;
}

static void
fake_unwatch(void *ctx, void *handle)
{
	struct fixture	*f = ctx;
	struct watch	*w = handle;

	w->used = false;
	f->unwatches++;
}

static void
fake_event(void *ctx, struct port *port, enum port_event ev, int error)
{
	struct fixture	*f = ctx;

	(void)port;
	f->events[ev]++;
	f->last_error = error;
}

static void
fake_note(void *ctx, struct port *port, const char *msg)
{
	struct fixture	*f = ctx;

	snprintf(f->note, sizeof(f->note), "%s: %s", port->name, msg);
}

static struct fixture	fx;
static const struct io_hooks hooks = {
	.watch = fake_watch, .unwatch = fake_unwatch, .ctx = &fx,
};
static const struct dp_events events = {
	.port = fake_event, .note = fake_note, .ctx = &fx,
};

/* The watch of fd, or NULL when the loop is not watching it. */
static struct watch *
watch_of(struct fixture *f, int fd)
{
	for (int i = 0; i < MAX_WATCH; i++)
		if (f->w[i].used && f->w[i].fd == fd)
			return &f->w[i];
	return NULL;
}

static void
readable(struct fixture *f, struct port *port)
{
	struct watch	*w = watch_of(f, port->fd);

	assert_non_null(w);
	w->input(w->arg, NOW);
}

static struct port *
add(struct fixture *f, const char *name, const char *type)
{
	struct port_config	 cfg = { .type = type };
	struct port		*port;
	char			 err[256];

	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	if (dp_port_add(f->dp, &cfg, &port, err, sizeof(err)) != 0)
		fail_msg("port %s: %s", name, err);
	return port;
}

static int
setup(void **state)
{
	memset(&fx, 0, sizeof(fx));
	fd_frames = 0;
	fd_error = 0;
	fd_reads = 0;
	fd_gone = false;
	if ((fx.dp = dp_create()) == NULL)
		return -1;
	dp_set_events(fx.dp, &events);
	fx.d1 = add(&fx, "d1", "dummy");
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	dp_destroy(f->dp);
	return 0;
}

static void
test_registry(void **state)
{
	(void)state;
	assert_int_equal(port_type_register(&fdtest_ops), 0);
	assert_int_equal(port_type_register(&fdtest_ops), 0);	/* again */
	assert_int_equal(port_type_register(&impostor_ops), EEXIST);
	assert_ptr_equal(port_ops_find("fdtest"), &fdtest_ops);
	assert_non_null(strstr(port_type_names(), ", fdtest"));
	assert_null(port_ops_find("fdtes"));
}

static void
test_unknown_type_and_settings(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 cfg = { .name = "x", .type = "warp" };
	struct port		*port;
	char			 err[256];

	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    EINVAL);
	assert_non_null(strstr(err, "unknown port type 'warp'"));
	assert_non_null(strstr(err, "tap, tun, system, dummy"));

	cfg.type = "dummy";
	cfg.given = PORT_SET_REMOTE;
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    EINVAL);
	assert_string_equal(err, "a dummy port takes no 'remote' (it takes "
	    "mtu, split-horizon)");
	cfg.given = 0;
	cfg.addr4.family = AF_INET;
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    EINVAL);
	assert_non_null(strstr(err, "takes no 'address'"));
	assert_int_equal(f->dp->nports, 1);

	memset(&cfg, 0, sizeof(cfg));
	cfg.type = "dummy";
	strcpy(cfg.name, "a:b");
	assert_int_equal(dp_port_add(f->dp, &cfg, &port, err, sizeof(err)),
	    EINVAL);
	assert_string_equal(err, "invalid port name 'a:b'");
}

/* Ports added before the loop exists are watched once it does. */
static void
test_watch_before_and_after_the_loop(void **state)
{
	struct fixture	*f = *state;
	struct port	*early, *late;

	early = add(f, "early", "fdtest");
	assert_int_equal(f->watches, 0);
	assert_int_equal(dp_set_io(f->dp, &hooks), 0);
	assert_int_equal(f->watches, 1);
	assert_non_null(watch_of(f, early->fd));

	late = add(f, "late", "fdtest");
	assert_int_equal(f->watches, 2);
	assert_non_null(watch_of(f, late->fd));

	/* The dummy has no fd: nothing to watch. */
	assert_int_equal(f->d1->fd, -1);

	dp_port_del(f->dp, late);
	assert_int_equal(f->unwatches, 1);
	assert_int_equal(dp_set_io(f->dp, NULL), 0);
	assert_int_equal(f->unwatches, 2);
	assert_null(watch_of(f, early->fd));
}

/* Readable: frames read and forwarded (flooded to d1), batch by batch. */
static void
test_input_through_the_watch(void **state)
{
	struct fixture	*f = *state;
	struct port	*p;

	assert_int_equal(dp_set_io(f->dp, &hooks), 0);
	p = add(f, "fd", "fdtest");
	fd_frames = 3;
	readable(f, p);
	assert_int_equal(fd_reads, 1);		/* short batch: drained */
	assert_int_equal(port_dummy_sent_count(f->d1), 3);
	assert_int_equal(f->dp->sw->flooded, 3);

	fd_frames = PKT_BATCH_MAX;
	readable(f, p);
	assert_int_equal(fd_reads, 1 + DP_INPUT_BATCHES);
	assert_int_equal(port_dummy_sent_count(f->d1),
	    3 + DP_INPUT_BATCHES * PKT_BATCH_MAX);
	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
}

/* Reads that keep failing pause the port until the next tick, said once. */
static void
test_failing_reads_pause_until_the_tick(void **state)
{
	struct fixture	*f = *state;
	struct port	*p;

	assert_int_equal(dp_set_io(f->dp, &hooks), 0);
	p = add(f, "fd", "fdtest");
	fd_error = EIO;
	for (int i = 0; i < DP_ERROR_RUN - 1; i++)
		readable(f, p);
	assert_int_equal(f->events[PORT_EV_READS_FAILING], 0);
	assert_non_null(watch_of(f, p->fd));
	readable(f, p);
	assert_int_equal(f->events[PORT_EV_READS_FAILING], 1);
	assert_int_equal(f->last_error, EIO);
	assert_null(watch_of(f, p->fd));

	dp_tick(f->dp, NOW + 1);
	assert_non_null(watch_of(f, p->fd));
	for (int i = 0; i < DP_ERROR_RUN; i++)
		readable(f, p);
	/* Still the same bad spell: not said again. */
	assert_int_equal(f->events[PORT_EV_READS_FAILING], 1);
	assert_null(watch_of(f, p->fd));

	/* A good read ends the spell; the next one is said again. */
	dp_tick(f->dp, NOW + 2);
	fd_frames = 1;
	readable(f, p);
	fd_frames = 0;
	for (int i = 0; i < DP_ERROR_RUN; i++)
		readable(f, p);
	assert_int_equal(f->events[PORT_EV_READS_FAILING], 2);
}

/* A device that is gone is never read again, and said once. */
static void
test_gone_device_is_not_read_again(void **state)
{
	struct fixture	*f = *state;
	struct port	*p;

	assert_int_equal(dp_set_io(f->dp, &hooks), 0);
	p = add(f, "fd", "fdtest");
	fd_error = EBADFD;
	readable(f, p);
	assert_int_equal(f->events[PORT_EV_GONE], 1);
	assert_null(watch_of(f, p->fd));
	dp_tick(f->dp, NOW + 1);
	assert_null(watch_of(f, p->fd));
	assert_int_equal(f->events[PORT_EV_GONE], 1);
	dp_port_del(f->dp, p);		/* nothing left to unwatch */
}

/*
 * A port whose device is gone does not hold its name: port add of it
 * replaces the port (its device deleted under it, say); one that is there
 * still does.
 */
static void
test_gone_port_is_replaced_by_add(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 cfg = { .name = "fd", .type = "fdtest" };
	struct port		*p, *q;
	char			 err[256];
	unsigned		 n, index;

	assert_int_equal(dp_set_io(f->dp, &hooks), 0);
	p = add(f, "fd", "fdtest");
	index = p->index;
	n = f->dp->nports;
	assert_int_equal(dp_port_add(f->dp, &cfg, &q, err, sizeof(err)),
	    EEXIST);
	assert_string_equal(err, "port fd already exists");
	fd_gone = true;
	assert_true(dp_port_gone(p));
	assert_int_equal(dp_port_add(f->dp, &cfg, &q, err, sizeof(err)), 0);
	assert_int_equal(f->dp->nports, n);
	assert_ptr_equal(dp_port_find(f->dp, "fd"), q);
	assert_int_not_equal(q->index, index);
	assert_non_null(watch_of(f, q->fd));
	fd_gone = false;
}

/* A port type that opens its device anew swaps the watched fd. */
static void
test_set_fd_moves_the_watch(void **state)
{
	struct fixture	*f = *state;
	struct port	*p;
	int		 old, sv[2];

	assert_int_equal(dp_set_io(f->dp, &hooks), 0);
	p = add(f, "fd", "fdtest");
	old = p->fd;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	close(sv[1]);
	assert_int_equal(dp_port_set_fd(p, sv[0]), 0);
	assert_null(watch_of(f, old));
	assert_non_null(watch_of(f, sv[0]));
	assert_int_equal(p->fd, sv[0]);
	close(old);
	fd_frames = 1;
	readable(f, p);
	assert_int_equal(fd_reads, 1);
}

static void
test_note(void **state)
{
	struct fixture	*f = *state;

	dp_port_note(f->d1, "link %s, mtu %d", "down", 1500);
	assert_string_equal(f->note, "d1: link down, mtu 1500");
}

static unsigned	ext_created, ext_destroyed;
static int	ext_data;

static void *
ext_create(struct dp *dp)
{
	(void)dp;
	ext_created++;
	return &ext_data;
}

static void
ext_destroy(void *data)
{
	assert_ptr_equal(data, &ext_data);
	ext_destroyed++;
}

static const struct dp_ext_class ext_class = {
	.name		= "test",
	.create		= ext_create,
	.destroy	= ext_destroy,
};

static void
test_extension_slot(void **state)
{
	struct dp	*dp;

	(void)state;
	ext_created = ext_destroyed = 0;
	assert_non_null(dp = dp_create());
	assert_null(dp_ext_find(dp, &ext_class));
	assert_ptr_equal(dp_ext(dp, &ext_class), &ext_data);
	assert_ptr_equal(dp_ext(dp, &ext_class), &ext_data);
	assert_ptr_equal(dp_ext_find(dp, &ext_class), &ext_data);
	assert_int_equal(ext_created, 1);
	dp_destroy(dp);
	assert_int_equal(ext_destroyed, 1);
}

/* An L3 port's queue owns what it holds; an L2 port's only borrows. */
static void
test_queue_ownership(void **state)
{
	struct fixture	*f = *state;
	struct port	*l3 = add(f, "r1", "dummy-l3");
	unsigned	 avail = pkt_pool_avail(f->dp->pool);
	struct pkt	*a = pkt_alloc(f->dp->pool);
	struct pkt	*b = pkt_alloc(f->dp->pool);

	a->len = b->len = 60;
	a->data[0] = b->data[0] = 0x45;
	dp_enqueue(f->dp, f->d1, a);
	dp_enqueue(f->dp, l3, b);
	assert_int_equal(f->dp->ntx, 2);
	dp_flush(f->dp);
	assert_int_equal(f->dp->ntx, 0);
	assert_int_equal(port_dummy_sent_count(f->d1), 1);
	assert_int_equal(port_dummy_sent_count(l3), 1);
	assert_int_equal(pkt_pool_avail(f->dp->pool), avail - 1);
	pkt_free(a);
	assert_int_equal(pkt_pool_avail(f->dp->pool), avail);
}

#define T(t)	cmocka_unit_test_setup_teardown(t, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_registry),
		T(test_unknown_type_and_settings),
		T(test_watch_before_and_after_the_loop),
		T(test_input_through_the_watch),
		T(test_failing_reads_pause_until_the_tick),
		T(test_gone_device_is_not_read_again),
		T(test_gone_port_is_replaced_by_add),
		T(test_set_fd_moves_the_watch),
		T(test_note),
		cmocka_unit_test(test_extension_slot),
		T(test_queue_ownership),
	};

	if (port_types_init() != 0 || port_type_register(&fdtest_ops) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
