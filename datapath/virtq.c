/*
 * virtq.c - split virtqueues in guest memory, every guest value checked
 * (virtq.h).
 *
 * The guest writes the rings while we read them, so each value is loaded
 * once into a local variable, checked there and used from there only.
 * Indices published across the two sides go through acquire loads and
 * release stores; the full fence before reading what the guest asked for
 * (used_event, NO_INTERRUPT) pairs with the one the guest makes after
 * publishing its available index, so that neither side misses the other's
 * notification.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "virtq.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "virtio 1.x rings are little-endian: this file assumes a host that is"
#endif

_Static_assert(sizeof(struct vq_desc) == 16, "the spec's descriptor");

const char *const vq_err_names[VQ_ERR__MAX] = {
	[VQ_OK]			= "ok",
	[VQ_ERR_SIZE]		= "bad_ring_size",
	[VQ_ERR_RING_ADDR]	= "bad_ring_address",
	[VQ_ERR_ADDR]		= "bad_address",
	[VQ_ERR_LENGTH]		= "bad_length",
	[VQ_ERR_INDEX]		= "bad_index",
	[VQ_ERR_LOOP]		= "chain_loop",
	[VQ_ERR_INDIRECT]	= "bad_indirect",
	[VQ_ERR_AVAIL_IDX]	= "bad_avail_index",
};

/* Offset and length checked against the region, never summed first. */
static void *
vq_region_at(const struct vq_region *r, uint64_t base, uint64_t addr,
    uint64_t len)
{
	uint64_t	off;

	if (addr < base)
		return NULL;
	off = addr - base;
	if (off >= r->size || len > r->size - off)
		return NULL;
	return r->host + off;
}

void *
vq_mem_gpa(const struct vq_mem *m, uint64_t gpa, uint64_t len)
{
	void	*h;

	for (unsigned i = 0; i < m->n && i < VQ_REGIONS_MAX; i++)
		if ((h = vq_region_at(&m->r[i], m->r[i].gpa, gpa, len)) != NULL)
			return h;
	return NULL;
}

void *
vq_mem_uva(const struct vq_mem *m, uint64_t uva, uint64_t len)
{
	void	*h;

	for (unsigned i = 0; i < m->n && i < VQ_REGIONS_MAX; i++)
		if ((h = vq_region_at(&m->r[i], m->r[i].uva, uva, len)) != NULL)
			return h;
	return NULL;
}

/* As vq_mem_gpa(), the region of the last buffer tried first. */
static inline void *
vq_buf(struct virtq *q, uint64_t gpa, uint64_t len)
{
	const struct vq_mem	*m = q->mem;
	void			*h;

	if (q->hint < m->n && q->hint < VQ_REGIONS_MAX &&
	    (h = vq_region_at(&m->r[q->hint], m->r[q->hint].gpa, gpa,
	    len)) != NULL)
		return h;
	for (unsigned i = 0; i < m->n && i < VQ_REGIONS_MAX; i++)
		if ((h = vq_region_at(&m->r[i], m->r[i].gpa, gpa, len)) !=
		    NULL) {
			q->hint = i;
			return h;
		}
	return NULL;
}

void
vq_stop(struct virtq *q, enum vq_err err, const char *fmt, ...)
{
	va_list	ap;

	if (q->err != VQ_OK)
		return;
	q->err = err;
	va_start(ap, fmt);
	vsnprintf(q->why, sizeof(q->why), fmt, ap);
	va_end(ap);
}

void
vq_reset(struct virtq *q)
{
	const bool	event_idx = q->event_idx, indirect = q->indirect;

	memset(q, 0, sizeof(*q));
	q->event_idx = event_idx;
	q->indirect = indirect;
}

int
vq_setup(struct virtq *q, const struct vq_mem *mem, uint32_t num,
    uint64_t desc_uva, uint64_t avail_uva, uint64_t used_uva, uint16_t base)
{
	void	*d, *a, *u;

	vq_reset(q);
	q->mem = mem;
	if (num == 0 || num > VQ_NUM_MAX || (num & (num - 1)) != 0) {
		vq_stop(q, VQ_ERR_SIZE, "ring size %u is not a power of two "
		    "from 1 to %u", num, VQ_NUM_MAX);
		return -1;
	}
	if ((desc_uva & 15) != 0 || (avail_uva & 1) != 0 ||
	    (used_uva & 3) != 0) {
		vq_stop(q, VQ_ERR_RING_ADDR, "ring addresses are not aligned "
		    "(descriptors 0x%llx, available 0x%llx, used 0x%llx)",
		    (unsigned long long)desc_uva,
		    (unsigned long long)avail_uva,
		    (unsigned long long)used_uva);
		return -1;
	}
	d = vq_mem_uva(mem, desc_uva, 16ull * num);
	a = vq_mem_uva(mem, avail_uva, 6ull + 2ull * num);
	u = vq_mem_uva(mem, used_uva, 6ull + 8ull * num);
	if (d == NULL || a == NULL || u == NULL) {
		vq_stop(q, VQ_ERR_RING_ADDR, "the %s ring (0x%llx) is outside "
		    "guest memory", d == NULL ? "descriptor" : a == NULL ?
		    "available" : "used", (unsigned long long)(d == NULL ?
		    desc_uva : a == NULL ? avail_uva : used_uva));
		return -1;
	}
	q->num = num;
	q->desc = d;
	q->avail = a;
	q->used = u;
	q->last_avail = q->avail_seen = base;
	/* The used ring is ours: where the guest left it is where we go on. */
	q->used_idx = __atomic_load_n(&q->used[1], __ATOMIC_ACQUIRE);
	q->signalled = q->used_idx;
	return 0;
}

bool
vq_avail(const struct virtq *q)
{
	if (!vq_ok(q))
		return false;
	return __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE) !=
	    q->last_avail;
}

uint16_t
vq_avail_idx(const struct virtq *q)
{
	if (q->num == 0)
		return 0;
	return __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
}

static void
vq_desc_read(const volatile struct vq_desc *t, uint32_t i, struct vq_desc *d)
{
	d->addr = t[i].addr;
	d->len = t[i].len;
	d->flags = t[i].flags;
	d->next = t[i].next;
}

/* An indirect table's descriptors, instead of the ring's. */
static int
vq_indirect(struct virtq *q, const struct vq_desc *d,
    const volatile struct vq_desc **t, uint32_t *tnum)
{
	if (!q->indirect) {
		vq_stop(q, VQ_ERR_INDIRECT, "indirect descriptor, which was "
		    "not negotiated");
		return -1;
	}
	if (d->flags & VQ_DESC_F_NEXT) {
		vq_stop(q, VQ_ERR_INDIRECT, "indirect descriptor chained to "
		    "another");
		return -1;
	}
	if (d->len == 0 || d->len % sizeof(struct vq_desc) != 0 ||
	    d->len / sizeof(struct vq_desc) > VQ_NUM_MAX) {
		vq_stop(q, VQ_ERR_INDIRECT, "indirect table of %u bytes "
		    "(whole descriptors, at most %u)", d->len, VQ_NUM_MAX);
		return -1;
	}
	if ((*t = vq_buf(q, d->addr, d->len)) == NULL) {
		vq_stop(q, VQ_ERR_ADDR, "indirect table at 0x%llx (%u bytes) "
		    "is outside guest memory", (unsigned long long)d->addr,
		    d->len);
		return -1;
	}
	*tnum = d->len / sizeof(struct vq_desc);
	return 0;
}

int
vq_pop(struct virtq *q, bool writable, struct vq_chain *c)
{
	const volatile struct vq_desc	*t = q->desc;
	struct vq_desc			 d;
	uint32_t			 tnum = q->num, idx, count = 0;
	uint16_t			 aidx;
	bool				 in_table = false;
	void				*h;

	if (!vq_ok(q))
		return -1;
	/* What was read and checked before is taken before reading again. */
	if (q->avail_seen == q->last_avail) {
		aidx = __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
		if (aidx == q->last_avail)
			return 0;
		if ((uint16_t)(aidx - q->last_avail) > q->num) {
			vq_stop(q, VQ_ERR_AVAIL_IDX, "available index %u is "
			    "more than the ring size %u ahead of %u", aidx,
			    q->num, q->last_avail);
			return -1;
		}
		q->avail_seen = aidx;
	}
	idx = q->avail[2 + (q->last_avail & (q->num - 1))];
	if (idx >= q->num) {
		vq_stop(q, VQ_ERR_INDEX, "descriptor index %u out of the ring "
		    "(%u)", idx, q->num);
		return -1;
	}
	c->head = (uint16_t)idx;
	c->nseg = 0;
	c->len = 0;
	c->cut = false;
	for (;;) {
		vq_desc_read(t, idx, &d);
		if (d.flags & VQ_DESC_F_INDIRECT) {
			if (in_table || count > 0) {
				vq_stop(q, VQ_ERR_INDIRECT, "indirect "
				    "descriptor %u inside a chain", idx);
				return -1;
			}
			if (vq_indirect(q, &d, &t, &tnum) == -1)
				return -1;
			in_table = true;
			idx = 0;
			continue;
		}
		if (++count > tnum) {
			vq_stop(q, VQ_ERR_LOOP, "descriptor chain from %u is "
			    "longer than its table (%u): a loop", c->head,
			    tnum);
			return -1;
		}
		if (d.len > UINT64_MAX - d.addr) {
			vq_stop(q, VQ_ERR_LENGTH, "descriptor %u: address "
			    "0x%llx plus length %u overflows", idx,
			    (unsigned long long)d.addr, d.len);
			return -1;
		}
		if (d.len != 0 &&
		    ((d.flags & VQ_DESC_F_WRITE) != 0) == writable) {
			if ((h = vq_buf(q, d.addr, d.len)) == NULL) {
				vq_stop(q, VQ_ERR_ADDR, "descriptor %u: 0x%llx "
				    "(%u bytes) is outside guest memory", idx,
				    (unsigned long long)d.addr, d.len);
				return -1;
			}
			if (c->nseg < VQ_SEG_MAX) {
				c->seg[c->nseg].iov_base = h;
				c->seg[c->nseg].iov_len = d.len;
				c->nseg++;
				c->len += d.len;
			} else {
				c->cut = true;
			}
		}
		if (!(d.flags & VQ_DESC_F_NEXT))
			break;
		idx = d.next;
		if (idx >= tnum) {
			vq_stop(q, VQ_ERR_INDEX, "descriptor %u: next %u out "
			    "of its table (%u)", c->head, idx, tnum);
			return -1;
		}
	}
	q->last_avail++;
	return 1;
}

void
vq_unpop(struct virtq *q, unsigned n)
{
	q->last_avail -= (uint16_t)n;
	/* Read again, checked against where we are now. */
	q->avail_seen = q->last_avail;
}

void
vq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	volatile uint32_t	*e;

	if (q->num == 0)
		return;
	e = (volatile uint32_t *)(q->used + 2) +
	    2 * (q->used_idx & (q->num - 1));
	e[0] = head;
	e[1] = len;
	q->used_idx++;
}

void
vq_publish(struct virtq *q)
{
	if (q->num == 0)
		return;
	__atomic_store_n(&q->used[1], q->used_idx, __ATOMIC_RELEASE);
}

bool
vq_need_signal(struct virtq *q)
{
	uint16_t	old = q->signalled, now = q->used_idx, event;

	if (q->num == 0 || old == now)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled = now;
	if (q->event_idx) {
		event = q->avail[2 + q->num];
		return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
	}
	return !(q->avail[0] & VQ_AVAIL_F_NO_INTERRUPT);
}

void
vq_want_kick(struct virtq *q, bool on)
{
	if (q->num == 0)
		return;
	if (q->event_idx) {
		if (on)
			__atomic_store_n(&q->used[2 + 4 * q->num],
			    q->last_avail, __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&q->used[0], on ? 0 : VQ_USED_F_NO_NOTIFY,
		    __ATOMIC_RELEASE);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void
vq_no_kick(struct virtq *q)
{
	if (q->num == 0)
		return;
	if (q->event_idx)
		__atomic_store_n(&q->used[2 + 4 * q->num],
		    (uint16_t)(q->last_avail - 1), __ATOMIC_RELEASE);
	else
		__atomic_store_n(&q->used[0], VQ_USED_F_NO_NOTIFY,
		    __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

size_t
vq_copy_out(const struct vq_chain *c, size_t off, void *buf, size_t len)
{
	uint8_t	*dst = buf;
	size_t	 done = 0, k;

	for (unsigned i = 0; i < c->nseg && done < len; i++) {
		if (off >= c->seg[i].iov_len) {
			off -= c->seg[i].iov_len;
			continue;
		}
		k = c->seg[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		memcpy(dst + done, (const uint8_t *)c->seg[i].iov_base + off,
		    k);
		done += k;
		off = 0;
	}
	return done;
}
