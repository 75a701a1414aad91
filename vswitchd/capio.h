/*
 * capio.h - the daemon's captures: their table, the port hook that feeds
 * them and the event that closes them.
 *
 * At most CAPIO_MAX captures exist at once, running or finishing, each on
 * one port and one layer (the port's frames, or a tunnel's underlay), each
 * with a writer thread, a descriptor and a ring of CAP_RING_SIZE bytes.  A
 * port with a running capture has its hook set to capio's, which reads the
 * clock once per call and feeds every capture of that port; other ports
 * keep hook NULL and pay nothing.
 *
 * A capture ends when it reaches its count or max-size, when its writer
 * stops (the reader went away, a write failed), when its port is deleted,
 * when the client following it hangs up, on capture stop and at shutdown.
 * Ending has two steps so the datapath never waits: the hook lets go at once
 * and the writer drains in its own time; when it is done, an event in the
 * loop closes the descriptor (so the file is complete), logs how the
 * capture ended and calls the ended callback (cmd-capture.c answers whoever
 * waits), then frees it.
 */
#ifndef VSW_CAPIO_H
#define VSW_CAPIO_H

#include <sys/queue.h>
#include <stdbool.h>

#include <net/if.h>

#include "capture/capture.h"

struct event_base;
struct port;

#define CAPIO_MAX	8

struct capio_config {
	struct port		*port;
	struct cap_config	 cap;	/* fd, dirs, snaplen, count, max_size,
					   filter; l3 and outer are set here */
	bool			 outer;
	const char		*output;	/* what the client named */
};

struct capio {
	unsigned		 id;
	struct port		*port;		/* NULL once deleted */
	char			 port_name[IFNAMSIZ];
	bool			 outer;
	unsigned		 dirs;
	uint32_t		 snaplen;
	uint64_t		 count;
	uint64_t		 max_size;
	char			*filter;	/* "" for none */
	char			*output;
	const char		*link_name;	/* libpcap's: "EN10MB", "RAW" */
	struct cap		*cap;		/* NULL once closed */
	struct cap_stats	 last;		/* the stats when it was closed */
	bool			 running;	/* else finishing */
	const char		*reason;	/* why it ended */
	int			 error;		/* the writer's, when it stopped */
	void			*follower;	/* cmd-capture.c's */
	void			*stopper;	/* cmd-capture.c's */
	TAILQ_ENTRY(capio)	 entry;
};

/* Watches for writers that are done; ended is called before each is freed. */
int		 capio_start(struct event_base *, void (*ended)(struct capio *));
/* Ends every capture and waits for its writer; the loop is over. */
void		 capio_shutdown(void);

/* 0 or an errno with a message in err; takes cfg->cap.fd either way. */
int		 capio_add(const struct capio_config *, struct capio **,
		    char *err, size_t errlen);
/* Lets go of the port and has the writer drain; reason is static. */
void		 capio_end(struct capio *, const char *reason);

/* In order of id; NULL starts and ends the walk. */
struct capio	*capio_next(struct capio *);
struct capio	*capio_find(unsigned id);
unsigned	 capio_count(void);
void		 capio_stats(const struct capio *, struct cap_stats *);

#endif
