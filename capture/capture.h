/*
 * capture.h - one packet capture: a BPF filter, pcap records, a writer.
 *
 * A capture turns what a port hook sees into a standard pcap file
 * (libpcap's dump API, microsecond timestamps) written to a descriptor by a
 * thread of its own (cap-writer.h), so that the datapath never waits for a
 * reader or a disk: when they fall behind, records are dropped and counted.
 *
 * Frames are recorded as the wire would carry them: one that still owes
 * offload work (p->vnet) is recorded with its checksum completed, a
 * super-frame as its segments, each a record of its own (gso.h).
 *
 * The link type follows the port: DLT_EN10MB for L2 (Ethernet) ports,
 * DLT_RAW for L3 ports and for a tunnel's underlay (outer), whose IP and UDP
 * headers are synthesized (cap-outer.h).  The filter is compiled by libpcap
 * for that link type and snaplen (pcap_open_dead, pcap_compile) and runs on
 * the whole packet before it is cut to snaplen, as in the kernel.
 *
 * pcap_dump() writes into an unbuffered stdio stream whose write function
 * (fopencookie) appends to the ring.  Room for the whole record is checked
 * first, so a record is queued whole or dropped whole, and each batch is
 * published to the writer once.
 *
 * A capture ends itself when count records are queued, when the next record
 * would take the file past max_size (the file never exceeds it), or when
 * its writer stops on an error.  The caller then stops feeding it and calls
 * cap_finish(); the writer drains the ring and signals notify_fd.
 *
 * One thread feeds and controls a capture; only the writer runs beside it.
 */
#ifndef CAPTURE_H
#define CAPTURE_H

#include <sys/time.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath/pkt.h"
#include "datapath/port.h"

#define CAP_RING_SIZE		(1u << 20)
#define CAP_SNAPLEN_MAX		262144		/* libpcap's maximum */
#define CAP_MAX_SIZE_MIN	1024

#define CAP_RX			(1u << PORT_DIR_RX)
#define CAP_TX			(1u << PORT_DIR_TX)

struct cap;

struct cap_config {
	int		 fd;		/* open for writing; the capture's on success */
	bool		 l3;		/* frames are bare IP packets */
	bool		 outer;		/* the underlay instead: raw IP */
	unsigned	 dirs;		/* CAP_RX | CAP_TX */
	uint32_t	 snaplen;	/* 1..CAP_SNAPLEN_MAX */
	uint64_t	 count;		/* records; 0: no limit */
	uint64_t	 max_size;	/* bytes; 0: no limit */
	const char	*filter;	/* NULL or "": everything */
	size_t		 ring_size;	/* 0: CAP_RING_SIZE; a power of two */
};

enum cap_end {
	CAP_RUNNING,
	CAP_END_COUNT,		/* count records queued */
	CAP_END_MAX_SIZE,	/* the next record would pass max_size */
	CAP_END_WRITER,		/* the writer stopped: cap_error() */
};

struct cap_stats {
	uint64_t	matched;	/* passed the direction and the filter */
	uint64_t	written;	/* records the writer completed */
	uint64_t	dropped;	/* matched, not written: no room, cut off */
	uint64_t	bytes;		/* written, file header included */
};

/*
 * Compiles the filter and queues the file header.  0, or an errno with a
 * message in err: EINVAL for a bad option or filter (libpcap's message).
 */
int		 cap_create(const struct cap_config *, struct cap **,
		    char *err, size_t errlen);
/* Starts the writer thread; 0 or an errno. */
int		 cap_start(struct cap *, int notify_fd);

/* Feeding: each returns CAP_RUNNING or why the capture has ended. */
enum cap_end	 cap_frames(struct cap *, enum port_dir,
		    const struct pkt_batch *, const struct timeval *);
enum cap_end	 cap_outer(struct cap *, enum port_dir,
		    const struct port_outer *, const struct timeval *);

/* Stops the capture: the writer drains and ends. */
void		 cap_finish(struct cap *);
bool		 cap_done(const struct cap *);
/* The errno that stopped the writer early, or 0. */
int		 cap_error(const struct cap *);
void		 cap_get_stats(const struct cap *, struct cap_stats *);
/* libpcap's name ("EN10MB", "RAW") and description of the link type. */
const char	*cap_link_name(const struct cap *);
const char	*cap_link_description(const struct cap *);
/* Waits for the writer (cap_done() says it will not wait), frees all. */
void		 cap_destroy(struct cap *);

#endif
