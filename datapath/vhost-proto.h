/*
 * vhost-proto.h - the back-end side of the vhost-user protocol (QEMU's
 * docs/interop/vhost-user.rst) for one virtio-net device on one Unix
 * stream socket.
 *
 * QEMU (the front-end) sends requests, each a 12-byte header (request,
 * flags, payload size) and its payload, with file descriptors by
 * SCM_RIGHTS: the guest's memory regions (SET_MEM_TABLE, mapped here
 * MAP_SHARED read-write and unmapped when the table changes or the
 * connection ends) and each ring's eventfds (kick: the guest has made
 * buffers available; call: we interrupt the guest; err: we report a ring
 * error).  vhost_dev_readable() reads what the socket holds, a header and
 * then exactly its payload, so that descriptors attached to the next
 * message are never taken with this one; a message cut by EAGAIN waits
 * for the next call.
 *
 * Rings: virtio-net's ring 2k receives (switch to guest) and 2k+1
 * transmits.  A ring runs once it has a size, addresses, a kick eventfd
 * and guest memory, and, when protocol features were negotiated, once
 * SET_VRING_ENABLE enabled it (the spec's rule).  GET_VRING_BASE stops it
 * and returns its next available index, the one after the last chain
 * taken, also for a ring the guest broke.  hooks->ring() is told each time
 * a ring starts or stops running, so the owner watches the kick eventfd
 * only while it is valid.  A ring the guest broke (virtq.h) stays stopped
 * until QEMU sets it up again; one stopped because its addresses lay
 * outside guest memory is tried again on each new memory table (a guest
 * reboot or a hot-plug brings one).
 *
 * Guest memory: SET_MEM_TABLE gives the whole table, or, with the
 * CONFIGURE_MEM_SLOTS protocol feature (memory hot-plug), ADD_MEM_REG and
 * REM_MEM_REG one region at a time, VQ_REGIONS_MAX at most
 * (GET_MAX_MEM_SLOTS).  Each region is checked the same way: a size that
 * fits its file, a range that does not wrap, and, added one by one, no
 * overlap with another.  Running rings are stopped while the table
 * changes and translated again on the new one.  Every region is guarded
 * against SIGBUS (vhost-guard.h), which a file not sealed with
 * F_SEAL_SHRINK raises when it shrinks.
 *
 * Features offered are what the owner sets in dev->offer (the offload
 * switches decide the checksum and TSO ones) plus those of the protocol
 * itself; protocol features are REPLY_ACK and CONFIGURE_MEM_SLOTS (no
 * multiqueue: one queue pair, no dirty logging for migration:
 * SET_LOG_BASE is refused).  Features may change only while no ring runs
 * (the spec's rule): SET_FEATURES stops the running rings, applies the
 * features (EVENT_IDX, INDIRECT_DESC, the header length) and starts them
 * again where they were, so no ring ever runs on half of each.
 * RESET_OWNER (deprecated) leaves the device as a new connection finds
 * it: rings reset, guest memory unmapped.
 *
 * A request that breaks the protocol (a payload not of the exact size the
 * spec gives its request, a ring index out of range, features never
 * offered) returns -1 with dev->why set and bad_requests counted: the
 * owner closes the connection and calls vhost_dev_reset().
 * Guest memory that is not shared (a region without a descriptor, or one
 * that cannot be mapped) is refused with a message that says so, and the
 * connection stays: QEMU reports the refusal.
 */
#ifndef VHOST_PROTO_H
#define VHOST_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"

/* Requests (vhost-user.rst, "Front-end message types"). */
enum {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
};

#define VHOST_USER_VERSION		0x1
#define VHOST_USER_FLAG_REPLY		0x4
#define VHOST_USER_FLAG_NEED_REPLY	0x8
#define VHOST_USER_HDR_LEN		12
#define VHOST_USER_PAYLOAD_MAX		4096
#define VHOST_USER_FDS_MAX		8
#define VHOST_USER_VRING_IDX_MASK	0xff
#define VHOST_USER_VRING_NOFD		0x100

#define VHOST_USER_PROTOCOL_F_MQ	0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK	3
#define VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15

/* Feature bits (virtio 1.1, 5.1.3, and the transport's). */
#define VHOST_F_CSUM		0
#define VHOST_F_GUEST_CSUM	1
#define VHOST_F_GUEST_TSO4	7
#define VHOST_F_GUEST_TSO6	8
#define VHOST_F_HOST_TSO4	11
#define VHOST_F_HOST_TSO6	12
#define VHOST_F_MRG_RXBUF	15
#define VHOST_F_ANY_LAYOUT	27
#define VHOST_F_INDIRECT_DESC	28
#define VHOST_F_EVENT_IDX	29
#define VHOST_F_PROTOCOL_FEATURES 30
#define VHOST_F_VERSION_1	32
#define VHOST_BIT(f)		(1ull << (f))

/* One queue pair: receive 0, transmit 1. */
#define VHOST_VRINGS		2
#define VHOST_RX		0
#define VHOST_TX		1

struct vhost_vring {
	struct virtq	 q;
	uint32_t	 num;
	uint64_t	 desc_uva, avail_uva, used_uva;
	uint16_t	 base;
	bool		 addr_set;
	bool		 kick_set;	/* a kick was given (fd or none) */
	bool		 enabled;	/* SET_VRING_ENABLE */
	bool		 running;	/* hooks->ring() was told "on" */
	bool		 said;		/* its stop was reported */
	int		 kickfd, callfd, errfd;
};

struct vhost_hooks {
	/* Ring i started (on) or is stopping (its kickfd still open). */
	void	(*ring)(void *arg, unsigned i, bool on);
	/* Ring i was stopped by the guest's error (told once). */
	void	(*broken)(void *arg, unsigned i);
	/* The negotiated features changed. */
	void	(*features)(void *arg);
	/* Something to tell the operator, once, as a sentence. */
	void	(*note)(void *arg, const char *msg);
};

struct vhost_map {
	void		*addr;
	size_t		 len;
	bool		 unsealed;	/* its file may shrink: vhost-guard.h */
};

struct vhost_dev {
	int			 fd;		/* the connection, or -1 */
	uint64_t		 offer;		/* device features offered */
	uint64_t		 features;	/* negotiated */
	uint64_t		 protocol;	/* protocol features negotiated */
	unsigned		 hdr_len;	/* virtio-net header: 10 or 12 */
	struct vq_mem		 mem;
	struct vhost_map	 map[VQ_REGIONS_MAX];
	bool			 mem_refused;	/* why says why */
	unsigned		 losses;	/* vhost_guard_losses() last seen */
	/* The driver started the device: a memory table must come. */
	bool			 want_mem;
	struct vhost_vring	 vr[VHOST_VRINGS];
	char			 why[192];	/* the last trouble, "" none */
	/* Requests refused for their size or a bad region (logged). */
	uint64_t		 bad_requests;
	const struct vhost_hooks *hooks;
	void			*arg;
	/* A message being read. */
	size_t			 have;
	unsigned		 nfds;
	int			 fds[VHOST_USER_FDS_MAX];
	uint8_t			 msg[VHOST_USER_HDR_LEN +
				    VHOST_USER_PAYLOAD_MAX];
};

/* A device with no connection; offer is the device features to offer. */
void	vhost_dev_init(struct vhost_dev *, uint64_t offer,
	    const struct vhost_hooks *, void *arg);
/* Serves connection fd (non-blocking): the device starts from scratch. */
void	vhost_dev_attach(struct vhost_dev *, int fd);
/*
 * Reads and handles what fd holds: 0, or -1 when the connection must end
 * (the peer closed it, or broke the protocol: why says which).
 */
int	vhost_dev_readable(struct vhost_dev *);
/* Stops every ring, unmaps guest memory, closes every fd but not dev->fd. */
void	vhost_dev_reset(struct vhost_dev *);
/* Whether ring i runs, and the guest can be given frames on it. */
bool	vhost_ring_running(const struct vhost_dev *, unsigned i);
/* Interrupts the guest for ring i if it asked (EVENT_IDX, NO_INTERRUPT). */
void	vhost_ring_signal(struct vhost_dev *, unsigned i);
/* Reports ring i stopped by the guest's error, once (err eventfd, note). */
void	vhost_ring_broken(struct vhost_dev *, unsigned i);
/*
 * Stops the rings if a region of guest memory shrank under us
 * (vhost-guard.h); a new memory table starts them again.
 */
void	vhost_dev_check_mem(struct vhost_dev *);
/* "requests" by number, for messages. */
const char *vhost_request_name(uint32_t);

#endif
