/*
 * io.h - how the datapath asks its owner to watch a file descriptor.
 *
 * A port with its own fd (a tap) is watched by the daemon directly.  Other
 * sockets the datapath opens, such as a tunnel endpoint shared by several
 * ports, are handed to the owner through these hooks, so the datapath never
 * learns which event loop drives it.  After watch(), the owner calls
 * input(arg, now) each time fd is readable, now being monotonic seconds read
 * once per event, until unwatch() with the handle watch() returned.
 * watch_out() is the same for a descriptor that can be written again, for
 * a sender that queued what a full socket would not take.
 */
#ifndef IO_H
#define IO_H

#include <time.h>

typedef void	(*io_input_fn)(void *arg, time_t now);

struct io_hooks {
	/* 0 and *handle, or an errno. */
	int	 (*watch)(void *ctx, int fd, io_input_fn input, void *arg,
		    void **handle);
	/* The same for writability: input(arg, now) when fd can take more. */
	int	 (*watch_out)(void *ctx, int fd, io_input_fn input, void *arg,
		    void **handle);
	void	 (*unwatch)(void *ctx, void *handle);
	void	*ctx;
};

#endif
