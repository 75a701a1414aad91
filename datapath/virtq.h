/*
 * virtq.h - virtio split virtqueues in a guest's memory, as a vhost-user
 * back-end sees them: every address, length and index the guest wrote is
 * checked before use.
 *
 * Guest memory is a table of regions (struct vq_mem), each a range of
 * guest-physical addresses mapped at host address host, and known to QEMU
 * at its own (user) address uva: descriptors hold guest-physical
 * addresses, SET_VRING_ADDR gives QEMU's user addresses.  vq_mem_gpa() and
 * vq_mem_uva() translate a range that lies wholly inside one region, or
 * give NULL; lengths never overflow (a range is checked as offset and
 * length against the region's size).
 *
 * A ring (struct virtq) is the layout of the virtio 1.1 spec, 2.6 (split
 * virtqueues): a descriptor table of num entries, the driver's available
 * ring and the device's used ring.  num is a power of two of at most
 * VQ_NUM_MAX.  What the guest wrote is read once into a local copy before
 * it is checked (it can change under us) and never trusted: a descriptor
 * index out of the table, an address outside every region, a chain longer
 * than its table (a loop), an indirect table that is not whole entries or
 * is nested, an available index more than num ahead.  The first such
 * thing stops the ring: vq_pop() returns -1 from then on, q->why says why
 * in a sentence and q->err gives the class.  The guest's next reset (a
 * new SET_VRING_* setup) starts it again.
 *
 * Device-readable descriptors are those the device reads (a frame the
 * guest transmits), device-writable ones are those it fills (the guest's
 * receive buffers); vq_pop() gathers the segments of the direction asked
 * for and skips the others.
 *
 * The guest's available index is read once per batch, not per chain: what
 * vq_pop() last read and checked (avail_seen) is taken before it looks
 * again; buffers are first looked for in the region of the last one.
 *
 * Notifications: with EVENT_IDX the device publishes avail_event (the
 * next index it wants a kick for) and signals only when used_event asks;
 * without it, VRING_AVAIL_F_NO_INTERRUPT silences it.
 *
 * Nothing here makes a system call: the port (port-vhost.c) owns the
 * descriptors and eventfds, vhost-proto.c the messages.
 */
#ifndef VIRTQ_H
#define VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VQ_REGIONS_MAX	8	/* VHOST_MEMORY_MAX_NREGIONS */
#define VQ_NUM_MAX	32768	/* the largest ring the spec allows */
#define VQ_SEG_MAX	64	/* segments gathered of one chain */

#define VQ_DESC_F_NEXT		1
#define VQ_DESC_F_WRITE		2
#define VQ_DESC_F_INDIRECT	4
#define VQ_AVAIL_F_NO_INTERRUPT	1
#define VQ_USED_F_NO_NOTIFY	1

struct vq_desc {
	uint64_t	addr;
	uint32_t	len;
	uint16_t	flags;
	uint16_t	next;
};

struct vq_region {
	uint64_t	 gpa;
	uint64_t	 size;
	uint64_t	 uva;
	uint8_t		*host;
};

struct vq_mem {
	unsigned		n;
	struct vq_region	r[VQ_REGIONS_MAX];
};

/* Why a ring stopped; VQ_OK while it has not. */
enum vq_err {
	VQ_OK,
	VQ_ERR_SIZE,		/* num not a power of two, 0, or too big */
	VQ_ERR_RING_ADDR,	/* a ring outside guest memory, or unaligned */
	VQ_ERR_ADDR,		/* a buffer outside guest memory */
	VQ_ERR_LENGTH,		/* a length that overflows */
	VQ_ERR_INDEX,		/* a descriptor index out of the table */
	VQ_ERR_LOOP,		/* a chain longer than its table */
	VQ_ERR_INDIRECT,	/* a bad indirect table */
	VQ_ERR_AVAIL_IDX,	/* the available index jumped */
	VQ_ERR__MAX
};

struct virtq {
	const struct vq_mem	*mem;
	uint32_t		 num;		/* 0: not set up */
	volatile struct vq_desc	*desc;
	/* flags, idx, ring[num], used_event */
	volatile uint16_t	*avail;
	/* flags, idx, {id, len}[num], avail_event */
	volatile uint16_t	*used;
	uint16_t		 last_avail;	/* next available entry to take */
	uint16_t		 avail_seen;	/* guest's index, checked, last read */
	unsigned		 hint;		/* region of the last buffer */
	uint16_t		 used_idx;	/* next used entry to write */
	uint16_t		 signalled;	/* used index last signalled */
	bool			 event_idx;	/* VIRTIO_RING_F_EVENT_IDX */
	bool			 indirect;	/* VIRTIO_RING_F_INDIRECT_DESC */
	enum vq_err		 err;
	char			 why[128];
};

/* One chain taken from the ring: head to give back, its segments. */
struct vq_chain {
	uint16_t	 head;
	unsigned	 nseg;
	uint64_t	 len;		/* bytes of the gathered segments */
	bool		 cut;		/* more segments than VQ_SEG_MAX */
	struct iovec	 seg[VQ_SEG_MAX];
};

/* Host address of [addr, addr + len) in one region, or NULL. */
void	*vq_mem_gpa(const struct vq_mem *, uint64_t gpa, uint64_t len);
void	*vq_mem_uva(const struct vq_mem *, uint64_t uva, uint64_t len);

/*
 * Sets q up on mem: num entries, rings at QEMU user addresses, the next
 * available index base.  0, or -1 with the ring stopped (q->why).
 */
int	 vq_setup(struct virtq *, const struct vq_mem *, uint32_t num,
	    uint64_t desc_uva, uint64_t avail_uva, uint64_t used_uva,
	    uint16_t base);
/* Forgets the ring (num 0, no error). */
void	 vq_reset(struct virtq *);
/* Stops the ring with a reason (printf); the first reason stays. */
void	 vq_stop(struct virtq *, enum vq_err, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

static inline bool
vq_ok(const struct virtq *q)
{
	return q->num != 0 && q->err == VQ_OK;
}

/*
 * Takes the next available chain, gathering its device-writable segments
 * (writable) or its device-readable ones: 1, 0 when the ring is empty, -1
 * when it is (now) stopped.
 */
int	 vq_pop(struct virtq *, bool writable, struct vq_chain *);
/* Gives back the last n chains vq_pop() took, unused. */
void	 vq_unpop(struct virtq *, unsigned n);
/* Whether a chain waits. */
bool	 vq_avail(const struct virtq *);
/* The guest's available index as we see it (0 when not set up). */
uint16_t vq_avail_idx(const struct virtq *);
/* Returns a chain as used with len bytes written; vq_publish() shows it. */
void	 vq_push(struct virtq *, uint16_t head, uint32_t len);
void	 vq_publish(struct virtq *);
/*
 * Whether the guest wants an interrupt for what was published since the
 * last time this said yes (EVENT_IDX or NO_INTERRUPT).
 */
bool	 vq_need_signal(struct virtq *);
/* Asks for a kick when more is made available (EVENT_IDX), or not. */
void	 vq_want_kick(struct virtq *, bool);
/*
 * Asks for no kick at all while the device polls: VRING_USED_F_NO_NOTIFY,
 * or with EVENT_IDX an avail_event just behind what we took, which the
 * guest's index never crosses (it runs at most num ahead of ours).
 * vq_want_kick(q, true) undoes it; then look at vq_avail() once more, for
 * what the guest made available before it saw the change.
 */
void	 vq_no_kick(struct virtq *);

/* Copies the readable chain's bytes from off into buf: bytes copied. */
size_t	 vq_copy_out(const struct vq_chain *, size_t off, void *buf,
	    size_t len);

extern const char *const vq_err_names[VQ_ERR__MAX];

#endif
