/*
 * pkt.c - the packet pool.
 *
 * One allocation holds every buffer, each a struct pkt followed by its
 * headroom and data room, at a cache-line-aligned stride.  Free buffers are
 * kept on a LIFO list so the one just freed, still warm in cache, is the next
 * one handed out.  Buffers never used yet are taken from a high-water mark
 * instead of being threaded on the list at creation: a large pool costs no
 * resident memory until traffic actually needs it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "pkt.h"

#define PKT_ALIGN	64

struct pkt_pool {
	struct pkt	*free;		/* LIFO of returned buffers */
	unsigned	 count;
	unsigned	 fresh;		/* buffers [fresh, count) never used */
	unsigned	 avail;
	size_t		 stride;
	uint32_t	 room;		/* PKT_HEADROOM + data_room */
	uint8_t		*mem;
};

struct pkt_pool *
pkt_pool_create(unsigned count, size_t data_room)
{
	struct pkt_pool	*pool;
	size_t		 stride, size;

	if (count == 0 || data_room == 0 ||
	    data_room > UINT32_MAX - PKT_HEADROOM - sizeof(struct pkt)) {
		errno = EINVAL;
		return NULL;
	}
	stride = sizeof(struct pkt) + PKT_HEADROOM + data_room;
	stride = (stride + PKT_ALIGN - 1) & ~(size_t)(PKT_ALIGN - 1);
	if (__builtin_mul_overflow(stride, (size_t)count, &size)) {
		errno = ENOMEM;
		return NULL;
	}

	if ((pool = calloc(1, sizeof(*pool))) == NULL)
		return NULL;
	if ((pool->mem = aligned_alloc(PKT_ALIGN, size)) == NULL) {
		free(pool);
		return NULL;
	}
	pool->count = count;
	pool->avail = count;
	pool->stride = stride;
	pool->room = (uint32_t)(PKT_HEADROOM + data_room);
	return pool;
}

void
pkt_pool_destroy(struct pkt_pool *pool)
{
	if (pool == NULL)
		return;
	free(pool->mem);
	free(pool);
}

unsigned
pkt_pool_avail(const struct pkt_pool *pool)
{
	return pool->avail;
}

size_t
pkt_pool_data_room(const struct pkt_pool *pool)
{
	return pool->room - PKT_HEADROOM;
}

struct pkt *
pkt_alloc(struct pkt_pool *pool)
{
	struct pkt	*p;

	if ((p = pool->free) != NULL)
		pool->free = p->next;
	else if (pool->fresh < pool->count) {
		p = (struct pkt *)(pool->mem + pool->fresh++ * pool->stride);
		p->pool = pool;
		p->room = pool->room;
	} else
		return NULL;
	pool->avail--;
	p->next = NULL;
	pkt_reset(p);
	return p;
}

/* NULL is accepted so error paths can free unconditionally. */
void
pkt_free(struct pkt *p)
{
	struct pkt_pool	*pool;

	if (p == NULL)
		return;
	pool = p->pool;
	p->next = pool->free;
	pool->free = p;
	pool->avail++;
}
