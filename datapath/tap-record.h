/*
 * tap-record.h - the persistent taps a daemon has changed, kept in a file
 * so that a crash is undone at the next start.
 *
 * Attaching to a persistent tap (one made with "ip tuntap add"), a port
 * turns on its offloads (TUNSETOFFLOAD) and may bring it up; closing the
 * port puts both back (port-tap.c).  A kill -9 skips the close: the tap
 * keeps TSO and checksum offloads on, and whoever attaches next without a
 * vnet header gets super-frames and frames whose checksums are owed.  So
 * each persistent tap a port holds is listed in the record (a line: the
 * type, the name, the ifindex, and "down" if the port brought it up),
 * rewritten whole (a temporary file, renamed over) each time the list
 * changes and removed when it is empty.
 *
 * tap_record_open() first undoes what a previous run left listed: each tap
 * still there under the same ifindex (a tap deleted and made again is
 * someone else's) and not in use is attached for a moment, its offloads
 * turned off and, if that run brought it up, set down; a tap in use
 * (EBUSY) belongs to whoever holds it now.  Without tap_record_open()
 * (tests, a datapath of its own) nothing is recorded.
 *
 * One record per process: the daemon has one datapath.
 */
#ifndef TAP_RECORD_H
#define TAP_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#define TAP_RECORD_MAX	256	/* DP_MAX_PORTS */

/*
 * Undoes what the record at path lists and keeps path for what follows.
 * note(msg) is told of each tap put back, and of each that could not be
 * (the caller logs them).  0, or an errno with a message in err when the
 * record cannot be read or written.
 */
int	tap_record_open(const char *path, void (*note)(const char *msg),
	    char *err, size_t errlen);
/* Forgets the path (the record stays as it is: empty after a clean exit). */
void	tap_record_close(void);

/* A port holds the persistent tap or tun name; brought_up: it set it up. */
void	tap_record_add(const char *type, const char *name, unsigned ifindex,
	    bool brought_up);
/*
 * The port let go of it, and put it back as it was: the record of that name
 * and ifindex (0: whatever its ifindex).
 */
void	tap_record_del(const char *name, unsigned ifindex);

#endif
