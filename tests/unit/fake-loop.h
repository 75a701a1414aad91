/*
 * fake-loop.h - the daemon's event loop played by a test or fuzz target
 * that drives ports on real descriptors, without libevent and without
 * root.  It records what the datapath asks it to watch (dp_set_io()), for
 * reading and for writing; fake_loop_run() polls those descriptors and
 * calls each one that is ready, as libevent would, again and again until
 * none is.  A callback may add and remove watches: each is checked to be
 * still there before it is called.
 */
#ifndef FAKE_LOOP_H
#define FAKE_LOOP_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "datapath/dp.h"
#include "datapath/io.h"

#define FAKE_LOOP_MAX		16
/* Rounds before a loop that does not settle counts as a bug. */
#define FAKE_LOOP_ROUNDS	10000

struct fake_watch {
	bool		 used;
	bool		 out;		/* for writing */
	int		 fd;
	io_input_fn	 input;
	void		*arg;
};

struct fake_loop {
	struct fake_watch	w[FAKE_LOOP_MAX];
};

static inline int
fake_loop_add(struct fake_loop *l, bool out, int fd, io_input_fn input,
    void *arg, void **handle)
{
	for (int i = 0; i < FAKE_LOOP_MAX; i++) {
		if (l->w[i].used)
			continue;
		l->w[i] = (struct fake_watch){ true, out, fd, input, arg };
		*handle = &l->w[i];
		return 0;
	}
	return ENOSPC;
}

static inline int
fake_loop_watch(void *ctx, int fd, io_input_fn input, void *arg,
    void **handle)
{
	return fake_loop_add(ctx, false, fd, input, arg, handle);
}

static inline int
fake_loop_watch_out(void *ctx, int fd, io_input_fn input, void *arg,
    void **handle)
{
	return fake_loop_add(ctx, true, fd, input, arg, handle);
}

static inline void
fake_loop_unwatch(void *ctx, void *handle)
{
	struct fake_watch	*w = handle;

	(void)ctx;
	w->used = false;
}

/* Makes l dp's loop: 0 or an errno. */
static inline int
fake_loop_attach(struct fake_loop *l, struct dp *dp)
{
	const struct io_hooks	io = {
		.watch = fake_loop_watch,
		.watch_out = fake_loop_watch_out,
		.unwatch = fake_loop_unwatch,
		.ctx = l,
	};

	return dp_set_io(dp, &io);
}

/* Calls every ready watch until none is: false if that never comes. */
static inline bool
fake_loop_run(struct fake_loop *l, time_t now)
{
	struct pollfd		pfd[FAKE_LOOP_MAX];
	struct fake_watch	copy[FAKE_LOOP_MAX];
	int			idx[FAKE_LOOP_MAX], n;

	for (int round = 0; round < FAKE_LOOP_ROUNDS; round++) {
		n = 0;
		for (int i = 0; i < FAKE_LOOP_MAX; i++) {
			if (!l->w[i].used)
				continue;
			pfd[n] = (struct pollfd){ .fd = l->w[i].fd,
			    .events = l->w[i].out ? POLLOUT : POLLIN };
			idx[n++] = i;
		}
		if (poll(pfd, (nfds_t)n, 0) <= 0)
			return true;
		memcpy(copy, l->w, sizeof(copy));
		for (int j = 0; j < n; j++) {
			struct fake_watch	*w = &l->w[idx[j]];

			if (pfd[j].revents == 0 || !w->used ||
			    memcmp(w, &copy[idx[j]], sizeof(*w)) != 0)
				continue;
			w->input(w->arg, now);
		}
	}
	return false;
}

#endif
