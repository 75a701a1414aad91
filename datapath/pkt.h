/*
 * pkt.h - packet buffers, pools and batches.
 *
 * Every frame the datapath touches lives in a struct pkt taken from a
 * preallocated pool: nothing on the forwarding path calls malloc.  Each
 * buffer keeps PKT_HEADROOM bytes free in front of the frame so that an
 * encapsulation can push its outer headers without moving the payload.
 *
 * Ports receive and send in batches of at most PKT_BATCH_MAX packets.
 * Ownership is explicit: whoever holds a batch after recv owns its packets
 * and must return them with pkt_batch_free(); send_batch() never frees.
 *
 * A frame may still owe work to the wire: a checksum to complete or a
 * super-frame to segment.  That is said in p->vnet, the struct virtio_net_hdr
 * a vnet_hdr tap reads and writes in front of each frame (all zero for an
 * ordinary frame); gso.h does the work for ports that cannot.  Super-frames
 * (up to 64 KiB of TCP or UDP) need buffers of PKT_GSO_DATA_ROOM: they come
 * from a second pool created with that data room next to the MTU-sized one.
 * A pool touches its memory only as buffers are first used, so a large pool
 * costs resident memory in proportion to the traffic that needed it.
 */
#ifndef PKT_H
#define PKT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/virtio_net.h>

#define PKT_HEADROOM	128	/* room for outer IPv6 + UDP + tunnel header */
#define PKT_BATCH_MAX	64
#define PKT_DATA_ROOM	(9216 + 18)	/* jumbo frame plus Ethernet + VLAN */
/* Ethernet, two tags, an IPv6 header and a 64 KiB payload. */
#define PKT_GSO_DATA_ROOM	(14 + 2 * 4 + 40 + 65535)

struct pkt_pool;

struct pkt {
	uint8_t		*data;		/* first byte of the frame */
	uint32_t	 len;		/* bytes of frame from data */
	uint32_t	 room;		/* size of buf[] */
	struct pkt_pool	*pool;
	struct pkt	*next;		/* free-list link while in the pool */
	struct virtio_net_hdr vnet;	/* offloads still owed; zero if none */
	uint8_t		 buf[];		/* headroom, then the frame */
};

struct pkt_batch {
	unsigned	 count;
	struct pkt	*pkts[PKT_BATCH_MAX];
};

struct pkt_pool	*pkt_pool_create(unsigned count, size_t data_room);
void		 pkt_pool_destroy(struct pkt_pool *);
unsigned	 pkt_pool_avail(const struct pkt_pool *);
/* The data room the pool was created with. */
size_t		 pkt_pool_data_room(const struct pkt_pool *);

/* NULL when the pool is empty; the caller counts that as a drop. */
struct pkt	*pkt_alloc(struct pkt_pool *);
void		 pkt_free(struct pkt *);

static inline void
pkt_reset(struct pkt *p)
{
	p->data = p->buf + PKT_HEADROOM;
	p->len = 0;
	memset(&p->vnet, 0, sizeof(p->vnet));
}

static inline size_t
pkt_headroom(const struct pkt *p)
{
	return (size_t)(p->data - p->buf);
}

static inline size_t
pkt_tailroom(const struct pkt *p)
{
	return p->room - pkt_headroom(p) - p->len;
}

/* Prepends n bytes and returns them, or NULL without headroom. */
static inline uint8_t *
pkt_push(struct pkt *p, size_t n)
{
	if (pkt_headroom(p) < n)
		return NULL;
	p->data -= n;
	p->len += n;
	return p->data;
}

/* Strips n bytes from the front and returns the new start, or NULL. */
static inline uint8_t *
pkt_pull(struct pkt *p, size_t n)
{
	if (p->len < n)
		return NULL;
	p->data += n;
	p->len -= n;
	return p->data;
}

static inline void
pkt_batch_init(struct pkt_batch *b)
{
	b->count = 0;
}

static inline void
pkt_batch_add(struct pkt_batch *b, struct pkt *p)
{
	b->pkts[b->count++] = p;
}

static inline void
pkt_batch_free(struct pkt_batch *b)
{
	for (unsigned i = 0; i < b->count; i++)
		pkt_free(b->pkts[i]);
	b->count = 0;
}

#endif
