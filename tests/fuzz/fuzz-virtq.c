/*
 * fuzz-virtq.c - libFuzzer target for the split-ring parser (virtq.c): a
 * guest that writes anything at all into its rings and descriptor tables.
 *
 * The input is a small header and then an image of guest memory:
 *
 *   [0..1]   ring size (any 16-bit value: 0, not a power of two, ...)
 *   [2]      bit 0 EVENT_IDX, bit 1 INDIRECT_DESC negotiated, bit 2 pop
 *            device-writable segments (a receive ring) instead of readable
 *   [3..8]   descriptor, available and used ring offsets into region 0's
 *            user addresses (so rings may straddle its end)
 *   [9..10]  the next available index (SET_VRING_BASE)
 *   [11..]   region 0's bytes (the rest is zero)
 *
 * Guest memory is two regions of MEM0 and MEM1 bytes, apart in both
 * guest-physical and user addresses.  Every chain vq_pop() accepts must
 * keep its promise: each segment lies inside one region, the chain's
 * length is the sum of its segments; each is read out or written over (as
 * the port does) and returned as used, and notifications are asked for,
 * until the ring is empty or stopped.  A stopped ring must have a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/virtq.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MEM0		65536
#define MEM1		4096
#define GPA0		0x10000ull
#define GPA1		0x100000ull
#define UVA0		0x7f0000000000ull
#define UVA1		0x7f0010000000ull
#define HDR		11
/* More pops than any ring has entries: the available index bounds them. */
#define POPS_MAX	(2 * VQ_NUM_MAX + 4)

static uint8_t	mem0[MEM0] __attribute__((aligned(64)));
static uint8_t	mem1[MEM1] __attribute__((aligned(64)));
static uint8_t	out[256 * 1024];

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static bool
inside(const void *p, size_t len, const uint8_t *base, size_t size)
{
	const uint8_t	*b = p;

	return b >= base && b <= base + size && len <= (size_t)(base + size - b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vq_mem	mem = { .n = 2, .r = {
		{ GPA0, MEM0, UVA0, mem0 },
		{ GPA1, MEM1, UVA1, mem1 },
	} };
	static struct vq_chain c;
	struct virtq	q = { 0 };
	uint64_t	sum;
	size_t		n;
	int		r;

	if (size < HDR)
		return 0;
	memset(mem0, 0, sizeof(mem0));
	memset(mem1, 0, sizeof(mem1));
	n = size - HDR < MEM0 ? size - HDR : MEM0;
	memcpy(mem0, data + HDR, n);
	q.event_idx = data[2] & 1;
	q.indirect = (data[2] & 2) != 0;
	if (vq_setup(&q, &mem, get16(data), UVA0 + get16(data + 3),
	    UVA0 + get16(data + 5), UVA0 + get16(data + 7),
	    get16(data + 9)) == -1) {
		if (q.err == VQ_OK || q.why[0] == '\0')
			abort();
		return 0;
	}
	for (unsigned i = 0; i < POPS_MAX; i++) {
		if ((r = vq_pop(&q, (data[2] & 4) != 0, &c)) != 1) {
			if (r == -1 && (q.err == VQ_OK || q.why[0] == '\0'))
				abort();
			if (r == 0 && q.err != VQ_OK)
				abort();
			break;
		}
		if (c.head >= q.num || c.nseg > VQ_SEG_MAX)
			abort();
		sum = 0;
		for (unsigned s = 0; s < c.nseg; s++) {
			if (!inside(c.seg[s].iov_base, c.seg[s].iov_len, mem0,
			    MEM0) && !inside(c.seg[s].iov_base,
			    c.seg[s].iov_len, mem1, MEM1))
				abort();
			sum += c.seg[s].iov_len;
		}
		if (sum != c.len)
			abort();
		if (data[2] & 4) {
			/* A receive ring: the guest's buffers are written. */
			for (unsigned s = 0; s < c.nseg; s++)
				memset(c.seg[s].iov_base, 0xa5,
				    c.seg[s].iov_len);
		} else {
			vq_copy_out(&c, 0, out, sizeof(out));
		}
		if (i % 3 == 2) {
			/* A receive frame that did not fit gives it back. */
			vq_unpop(&q, 1);
			i++;
			continue;
		}
		vq_push(&q, c.head, (uint32_t)(c.len > UINT32_MAX ?
		    UINT32_MAX : c.len));
		if (i % 16 == 15) {
			vq_publish(&q);
			(void)vq_need_signal(&q);
		}
	}
	vq_publish(&q);
	(void)vq_need_signal(&q);
	vq_want_kick(&q, true);
	(void)vq_avail(&q);
	return 0;
}
