/*
 * cap-writer.h - a byte ring that a thread of its own writes to a descriptor.
 *
 * One producer (the datapath) appends whole pcap records and never waits:
 * when the ring lacks room for a record the caller drops it and counts it.
 * One consumer (the writer thread) writes what is queued to the descriptor,
 * within CAPW_FLUSH_MS of its arrival, sooner when the ring is half full.
 * There is no lock: head and tail count bytes since the start, and each side
 * publishes its own with release ordering.  The producer wakes the writer
 * with at most one eventfd write per half ring, so queuing a record costs no
 * system call.
 *
 * The writer never waits for a reader: a pipe or socket whose reader falls
 * behind fills the ring instead of holding the writer.  It gets there
 * without O_NONBLOCK, whose flag lives on the open file description that
 * the client which passed the descriptor shares (set here, it would stay
 * set on the client's stdout if the daemon died): each write asks for
 * itself not to wait, with RWF_NOWAIT (pipes, FIFOs, character devices)
 * or MSG_DONTWAIT (sockets).  Where the kernel refuses RWF_NOWAIT the
 * writer polls for room and writes at most PIPE_BUF bytes, which a pipe
 * with room takes without waiting.  A regular file may still block on the
 * disk, but only this thread waits.
 *
 * capw_finish() asks the writer to drain the ring and stop; a reader that
 * takes nothing for CAPW_STALL_MS has the rest discarded.  A write error
 * (EPIPE when the reader has gone, ENOSPC, ...) or a hang-up on the
 * descriptor stops the writer early and keeps the errno.  When the thread
 * ends it adds 1 to notify_fd (an eventfd of the caller's, or -1), so an
 * event loop learns of it without polling.
 *
 * The writer counts the records it completes or discards from the pcap
 * layout: a file header of CAPW_FILE_HDR bytes, then records made of a
 * CAPW_REC_HDR-byte header, with the captured length at offset 8 in host
 * order, and that many bytes.
 */
#ifndef CAP_WRITER_H
#define CAP_WRITER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAPW_FLUSH_MS		200
#define CAPW_STALL_MS		2000
#define CAPW_FILE_HDR		24
#define CAPW_REC_HDR		16

struct capw {
	uint8_t			*buf;
	size_t			 size;		/* a power of two */
	uint64_t		 phead;		/* appended, not yet published */
	_Atomic uint64_t	 head;		/* published by the producer */
	_Atomic uint64_t	 tail;		/* written, published by the writer */
	_Atomic bool		 kicked;	/* a wake-up is pending */
	_Atomic bool		 finish;
	_Atomic bool		 done;		/* the thread has ended */
	_Atomic int		 error;		/* why it ended early, or 0 */
	_Atomic uint64_t	 written;	/* records completed */
	_Atomic uint64_t	 discarded;	/* records thrown away at the end */
	_Atomic uint64_t	 bytes;		/* bytes written */
	int			 fd;
	int			 mode;		/* how a write avoids waiting */
	int			 wakefd;
	int			 notifyfd;
	pthread_t		 thread;
	bool			 started;
	uint64_t		 next_rec;	/* writer: next record to count */
};

/* size must be a power of two.  0 or an errno; takes fd on success. */
int	capw_init(struct capw *, size_t size, int fd);
/* Starts the thread; 0 or an errno. */
int	capw_start(struct capw *, int notify_fd);

/* Producer side. */
size_t	capw_room(const struct capw *);
/* Appends n bytes, which the caller made sure fit (capw_room()). */
void	capw_put(struct capw *, const void *, size_t n);
/* Publishes what was put since the last commit. */
void	capw_commit(struct capw *);

void	capw_finish(struct capw *);
bool	capw_done(const struct capw *);
/* Finishes, waits for the thread, closes the descriptor. */
void	capw_destroy(struct capw *);

#endif
