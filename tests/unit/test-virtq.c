/*
 * test-virtq.c - the vhost-user back-end against an in-process fake guest.
 *
 * Guest memory is a memfd mapped twice: the guest's view (g) and, as the
 * back-end maps it, the host's.  Rings are laid out in it as the virtio
 * 1.1 spec says for split virtqueues, at guest-physical GPA and at QEMU's
 * user address UVA (which is what SET_VRING_ADDR gives).
 *
 * Ring tests drive virtq.c directly: single, chained and indirect
 * descriptors, notifications, and each malformed case, which must stop
 * the ring with its reason.  Port tests play QEMU on the port's Unix
 * socket (vhost-user messages, the memfd and eventfds passed by
 * SCM_RIGHTS) with a fake event loop, as test-port-stream.c does: a kick
 * brings the guest's frame to a dummy port, a frame from the dummy port
 * lands in the guest's mergeable receive buffers, GET_VRING_BASE stops a
 * ring, a disconnect leaves the port down and a new connection works.
 * Busy polling (dp_poll()): while the loop spins the guest is told not to
 * kick and its frames are taken by the poll, after it kicks are asked for
 * again and a frame queued in between is not lost.  Offloads: a guest's
 * TSO super-frame crosses whole to a port that takes TSO and is cut and
 * summed for one that does not; a super-frame lands whole, vnet header
 * first, in the mergeable buffers of a guest that took GUEST_TSO4; with
 * tap-tso off TSO is neither offered nor used.
 */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "datapath/dp.h"
#include "datapath/port-dummy.h"
#include "datapath/vhost-proto.h"
#include "datapath/virtq.h"
#include "vswitchd/port-types.h"
#include "fake-loop.h"
#include "frames.h"

#define MEM_SIZE	(1u << 20)
#define GPA		0x40000000ull
#define UVA		0x7f1200000000ull
#define DESC_OFF	0x0000u
#define AVAIL_OFF	0x4000u
#define USED_OFF	0x8000u
#define BUF_OFF		0x10000u
#define NUM		8
#define NOW		1000

/* A ring of the fake guest: where it lies and the guest's next index. */
struct gring {
	uint32_t	off;		/* of the descriptor table */
	uint32_t	num;
	uint16_t	avail_idx;
};

static int		 memfd = -1;
static uint8_t		*g;		/* the guest's view */
static uint8_t		*h;		/* the back-end's view (ring tests) */
static struct vq_mem	 mem;

static int
guest_setup(void **state)
{
	(void)state;
	/* Sealed as QEMU's memory-backend-memfd seals it (seal=on). */
	if ((memfd = memfd_create("guest", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1 || ftruncate(memfd, MEM_SIZE) == -1 ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == -1)
		return -1;
	g = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	h = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (g == MAP_FAILED || h == MAP_FAILED)
		return -1;
	mem = (struct vq_mem){ .n = 1, .r = { { GPA, MEM_SIZE, UVA, h } } };
	return 0;
}

static int
guest_teardown(void **state)
{
	(void)state;
	munmap(g, MEM_SIZE);
	munmap(h, MEM_SIZE);
	close(memfd);
	return 0;
}

/* Ring r's areas, as the guest sees them. */
static struct vq_desc *
g_desc(const struct gring *r, unsigned i)
{
	return (struct vq_desc *)(g + r->off + DESC_OFF) + i;
}

static uint16_t *
g_avail(const struct gring *r)
{
	return (uint16_t *)(g + r->off + AVAIL_OFF);
}

static uint16_t *
g_used(const struct gring *r)
{
	return (uint16_t *)(g + r->off + USED_OFF);
}

static void
g_set(const struct gring *r, unsigned i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	*g_desc(r, i) = (struct vq_desc){ addr, len, flags, next };
}

static void
g_post(struct gring *r, uint16_t head)
{
	g_avail(r)[2 + (r->avail_idx % r->num)] = head;
	r->avail_idx++;
	__atomic_store_n(&g_avail(r)[1], r->avail_idx, __ATOMIC_RELEASE);
}

static uint32_t
g_used_elem(const struct gring *r, unsigned i, uint32_t *len)
{
	uint32_t	*e = (uint32_t *)(g_used(r) + 2) + 2 * (i % r->num);

	*len = e[1];
	return e[0];
}

static void
g_clear(uint32_t off, uint32_t num)
{
	memset(g + off, 0, BUF_OFF);
	(void)num;
}

static void
ring_setup(struct virtq *q, struct gring *r, uint32_t num)
{
	*r = (struct gring){ 0, num, 0 };
	g_clear(0, num);
	assert_int_equal(vq_setup(q, &mem, num, UVA + DESC_OFF,
	    UVA + AVAIL_OFF, UVA + USED_OFF, 0), 0);
}

/* The ring stopped with err, and stays stopped. */
static void
assert_stopped(struct virtq *q, enum vq_err err, const char *why)
{
	struct vq_chain	c;

	assert_int_equal(q->err, err);
	assert_non_null(strstr(q->why, why));
	assert_int_equal(vq_pop(q, false, &c), -1);
	assert_false(vq_avail(q));
}

static void
test_single(void **state)
{
	struct virtq	q = { 0 };
	struct gring	r;
	struct vq_chain	c;
	uint8_t		buf[16];
	uint32_t	len;

	(void)state;
	ring_setup(&q, &r, NUM);
	memcpy(g + BUF_OFF, "hello", 5);
	g_set(&r, 3, GPA + BUF_OFF, 5, 0, 0);
	assert_false(vq_avail(&q));
	assert_int_equal(vq_pop(&q, false, &c), 0);
	g_post(&r, 3);
	assert_true(vq_avail(&q));
	assert_int_equal(vq_pop(&q, false, &c), 1);
	assert_int_equal(c.head, 3);
	assert_int_equal(c.nseg, 1);
	assert_int_equal(c.len, 5);
	assert_int_equal(vq_copy_out(&c, 0, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(vq_pop(&q, false, &c), 0);
	vq_push(&q, c.head, 0);
	assert_int_equal(g_used(&r)[1], 0);	/* not yet published */
	vq_publish(&q);
	assert_int_equal(g_used(&r)[1], 1);
	assert_int_equal(g_used_elem(&r, 0, &len), 3);
	assert_int_equal(len, 0);
}

static void
test_chain(void **state)
{
	struct virtq	q = { 0 };
	struct gring	r;
	struct vq_chain	c;
	uint8_t		buf[16];

	(void)state;
	ring_setup(&q, &r, NUM);
	memcpy(g + BUF_OFF, "abc", 3);
	memcpy(g + BUF_OFF + 100, "defg", 4);
	memcpy(g + BUF_OFF + 200, "hi", 2);
	g_set(&r, 5, GPA + BUF_OFF, 3, VQ_DESC_F_NEXT, 1);
	g_set(&r, 1, GPA + BUF_OFF + 100, 4, VQ_DESC_F_NEXT, 7);
	g_set(&r, 7, GPA + BUF_OFF + 300, 50, VQ_DESC_F_WRITE |
	    VQ_DESC_F_NEXT, 0);
	g_set(&r, 0, GPA + BUF_OFF + 200, 2, 0, 0);
	g_post(&r, 5);
	assert_int_equal(vq_pop(&q, false, &c), 1);
	assert_int_equal(c.head, 5);
	assert_int_equal(c.nseg, 3);	/* the writable one skipped */
	assert_int_equal(c.len, 9);
	assert_int_equal(vq_copy_out(&c, 0, buf, sizeof(buf)), 9);
	assert_memory_equal(buf, "abcdefghi", 9);
	assert_int_equal(vq_copy_out(&c, 4, buf, 3), 3);
	assert_memory_equal(buf, "efg", 3);
	/* The same chain popped for writing gives the writable segment. */
	vq_unpop(&q, 1);
	assert_int_equal(vq_pop(&q, true, &c), 1);
	assert_int_equal(c.nseg, 1);
	assert_int_equal(c.len, 50);
	assert_ptr_equal(c.seg[0].iov_base, h + BUF_OFF + 300);
}

static void
test_indirect(void **state)
{
	struct virtq	q = { .indirect = true };
	struct gring	r;
	struct vq_chain	c;
	struct vq_desc	*t = (struct vq_desc *)(g + BUF_OFF + 0x1000);
	uint8_t		buf[16];

	(void)state;
	ring_setup(&q, &r, NUM);
	memcpy(g + BUF_OFF, "xy", 2);
	memcpy(g + BUF_OFF + 64, "z", 1);
	t[0] = (struct vq_desc){ GPA + BUF_OFF, 2, VQ_DESC_F_NEXT, 2 };
	t[2] = (struct vq_desc){ GPA + BUF_OFF + 64, 1, 0, 0 };
	g_set(&r, 2, GPA + BUF_OFF + 0x1000, 3 * sizeof(*t),
	    VQ_DESC_F_INDIRECT, 0);
	g_post(&r, 2);
	assert_int_equal(vq_pop(&q, false, &c), 1);
	assert_int_equal(c.head, 2);
	assert_int_equal(c.len, 3);
	vq_copy_out(&c, 0, buf, 3);
	assert_memory_equal(buf, "xyz", 3);
	/* A loop inside the table. */
	t[2].flags = VQ_DESC_F_NEXT;
	t[2].next = 0;
	g_post(&r, 2);
	assert_int_equal(vq_pop(&q, false, &c), -1);
	assert_stopped(&q, VQ_ERR_LOOP, "a loop");
}

static void
test_indirect_bad(void **state)
{
	struct virtq	q = { .indirect = true };
	struct virtq	plain = { 0 };
	struct gring	r;
	struct vq_chain	c;
	struct vq_desc	*t = (struct vq_desc *)(g + BUF_OFF + 0x1000);

	(void)state;
	/* Not whole descriptors. */
	ring_setup(&q, &r, NUM);
	g_set(&r, 0, GPA + BUF_OFF + 0x1000, 17, VQ_DESC_F_INDIRECT, 0);
	g_post(&r, 0);
	assert_int_equal(vq_pop(&q, false, &c), -1);
	assert_stopped(&q, VQ_ERR_INDIRECT, "whole descriptors");
	/* Nested. */
	ring_setup(&q, &r, NUM);
	t[0] = (struct vq_desc){ GPA + BUF_OFF + 0x1000, 16,
	    VQ_DESC_F_INDIRECT, 0 };
	g_set(&r, 0, GPA + BUF_OFF + 0x1000, 16, VQ_DESC_F_INDIRECT, 0);
	g_post(&r, 0);
	assert_int_equal(vq_pop(&q, false, &c), -1);
	assert_stopped(&q, VQ_ERR_INDIRECT, "inside a chain");
	/* Outside guest memory. */
	ring_setup(&q, &r, NUM);
	g_set(&r, 0, GPA + MEM_SIZE - 16, 32, VQ_DESC_F_INDIRECT, 0);
	g_post(&r, 0);
	assert_int_equal(vq_pop(&q, false, &c), -1);
	assert_stopped(&q, VQ_ERR_ADDR, "outside guest memory");
	/* Not negotiated. */
	ring_setup(&plain, &r, NUM);
	g_set(&r, 0, GPA + BUF_OFF + 0x1000, 16, VQ_DESC_F_INDIRECT, 0);
	g_post(&r, 0);
	assert_int_equal(vq_pop(&plain, false, &c), -1);
	assert_stopped(&plain, VQ_ERR_INDIRECT, "not negotiated");
}

static void
test_bad_size(void **state)
{
	static const uint32_t	bad[] = { 0, 3, 100, 65536, 0x80000000u };
	struct virtq		q = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vq_setup(&q, &mem, bad[i], UVA + DESC_OFF,
		    UVA + AVAIL_OFF, UVA + USED_OFF, 0), -1);
		assert_stopped(&q, VQ_ERR_SIZE, "not a power of two");
	}
	/* 32768 is the largest; its rings must fit the memory. */
	assert_int_equal(vq_setup(&q, &mem, 32768, UVA, UVA + 0x80000,
	    UVA + 0x90000, 0), 0);
}

static void
test_bad_ring_addr(void **state)
{
	struct virtq	q = { 0 };

	(void)state;
	assert_int_equal(vq_setup(&q, &mem, NUM, UVA + MEM_SIZE - 64,
	    UVA + AVAIL_OFF, UVA + USED_OFF, 0), -1);
	assert_stopped(&q, VQ_ERR_RING_ADDR, "descriptor ring");
	assert_int_equal(vq_setup(&q, &mem, NUM, UVA, GPA + AVAIL_OFF,
	    UVA + USED_OFF, 0), -1);
	assert_stopped(&q, VQ_ERR_RING_ADDR, "available ring");
	assert_int_equal(vq_setup(&q, &mem, NUM, UVA, UVA + AVAIL_OFF,
	    UVA + USED_OFF + 2, 0), -1);
	assert_stopped(&q, VQ_ERR_RING_ADDR, "aligned");
	assert_int_equal(vq_setup(&q, &mem, NUM, UVA, UVA + AVAIL_OFF,
	    UINT64_MAX - 11, 0), -1);
	assert_stopped(&q, VQ_ERR_RING_ADDR, "used ring");
}

static void
test_addr_outside(void **state)
{
	static const struct {
		uint64_t	addr;
		uint32_t	len;
	} bad[] = {
		{ GPA + MEM_SIZE - 2, 4 },	/* runs past the end */
		{ GPA - 1, 1 },			/* just before */
		{ GPA + MEM_SIZE, 1 },		/* just after */
		{ 0, 16 },
	};
	struct virtq	q = { 0 };
	struct gring	r;
	struct vq_chain	c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ring_setup(&q, &r, NUM);
		g_set(&r, 0, GPA + BUF_OFF, 8, VQ_DESC_F_NEXT, 1);
		g_set(&r, 1, bad[i].addr, bad[i].len, 0, 0);
		g_post(&r, 0);
		assert_int_equal(vq_pop(&q, false, &c), -1);
		assert_stopped(&q, VQ_ERR_ADDR, "outside guest memory");
	}
	/* The last byte of memory is fine. */
	ring_setup(&q, &r, NUM);
	g_set(&r, 0, GPA + MEM_SIZE - 1, 1, 0, 0);
	g_post(&r, 0);
	assert_int_equal(vq_pop(&q, false, &c), 1);
}

static void
test_len_overflow(void **state)
{
	struct virtq	q = { 0 };
	struct gring	r;
	struct vq_chain	c;

	(void)state;
	ring_setup(&q, &r, NUM);
	g_set(&r, 0, UINT64_MAX - 0x10, 0x20, 0, 0);
	g_post(&r, 0);
	assert_int_equal(vq_pop(&q, false, &c), -1);
	assert_stopped(&q, VQ_ERR_LENGTH, "overflows");
	/* Huge length inside no region: an address error, not a wrap. */
	ring_setup(&q, &r, NUM);
	g_set(&r, 0, GPA + BUF_OFF, UINT32_MAX, VQ_DESC_F_WRITE, 0);
	g_post(&r, 0);
	assert_int_equal(vq_pop(&q, true, &c), -1);
	assert_stopped(&q, VQ_ERR_ADDR, "outside guest memory");
}

static void
test_bad_index(void **state)
{
	struct virtq	q = { 0 };
	struct gring	r;
	struct vq_chain	c;

	(void)state;
	ring_setup(&q, &r, NUM);
	g_post(&r, NUM);
	assert_int_equal(vq_pop(&q, false, &c), -1);
	assert_stopped(&q, VQ_ERR_INDEX, "out of the ring");
	ring_setup(&q, &r, NUM);
	g_set(&r, 0, GPA + BUF_OFF, 8, VQ_DESC_F_NEXT, 0xffff);
	g_post(&r, 0);
	assert_int_equal(vq_pop(&q, false, &c), -1);
	assert_stopped(&q, VQ_ERR_INDEX, "out of its table");
}

static void
test_loop(void **state)
{
	struct virtq	q = { 0 };
	struct gring	r;
	struct vq_chain	c;

	(void)state;
	ring_setup(&q, &r, NUM);
	g_set(&r, 0, GPA + BUF_OFF, 8, VQ_DESC_F_NEXT, 1);
	g_set(&r, 1, GPA + BUF_OFF, 8, VQ_DESC_F_NEXT, 0);
	g_post(&r, 0);
	assert_int_equal(vq_pop(&q, false, &c), -1);
	assert_stopped(&q, VQ_ERR_LOOP, "a loop");
	/* A descriptor chained to itself, of length 0. */
	ring_setup(&q, &r, NUM);
	g_set(&r, 4, GPA + BUF_OFF, 0, VQ_DESC_F_NEXT, 4);
	g_post(&r, 4);
	assert_int_equal(vq_pop(&q, false, &c), -1);
	assert_stopped(&q, VQ_ERR_LOOP, "a loop");
	/* The longest chain without a loop is the whole table. */
	ring_setup(&q, &r, NUM);
	for (unsigned i = 0; i < NUM; i++)
		g_set(&r, i, GPA + BUF_OFF, 1, i + 1 < NUM ?
		    VQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	g_post(&r, 0);
	assert_int_equal(vq_pop(&q, false, &c), 1);
	assert_int_equal(c.nseg, NUM);
}

static void
test_avail_jump(void **state)
{
	struct virtq	q = { 0 };
	struct gring	r;
	struct vq_chain	c;

	(void)state;
	ring_setup(&q, &r, NUM);
	g_avail(&r)[1] = NUM + 1;
	assert_int_equal(vq_pop(&q, false, &c), -1);
	assert_stopped(&q, VQ_ERR_AVAIL_IDX, "ahead");
}

static void
test_signal(void **state)
{
	struct virtq	q = { .event_idx = true };
	struct virtq	p = { 0 };
	struct gring	r;

	(void)state;
	ring_setup(&q, &r, NUM);
	assert_false(vq_need_signal(&q));
	vq_push(&q, 0, 0);
	vq_publish(&q);
	g_avail(&r)[2 + NUM] = 0;	/* used_event: interrupt at 1 */
	assert_true(vq_need_signal(&q));
	vq_push(&q, 0, 0);
	vq_publish(&q);
	g_avail(&r)[2 + NUM] = 5;	/* not before 6 */
	assert_false(vq_need_signal(&q));
	/* avail_event: the next index we want a kick for. */
	g_post(&r, 0);
	vq_want_kick(&q, true);
	assert_int_equal(g_used(&r)[2 + 4 * NUM], 0);
	/* Without EVENT_IDX: NO_INTERRUPT silences. */
	ring_setup(&p, &r, NUM);
	vq_push(&p, 0, 0);
	vq_publish(&p);
	g_avail(&r)[0] = VQ_AVAIL_F_NO_INTERRUPT;
	assert_false(vq_need_signal(&p));
	vq_push(&p, 0, 0);
	vq_publish(&p);
	g_avail(&r)[0] = 0;
	assert_true(vq_need_signal(&p));
	vq_want_kick(&p, false);
	assert_int_equal(g_used(&r)[0], VQ_USED_F_NO_NOTIFY);
}

/* ---- The port, with the test playing QEMU. ---- */

struct fixture {
	struct dp	*dp;
	struct port	*d1;
	struct port	*v0;
	char		 dir[64];
	char		 path[108];
	struct fake_loop loop;
	char		 notes[4096];
	int		 qemu;		/* our end */
	int		 kick[VHOST_VRINGS];
	int		 call[VHOST_VRINGS];
	struct gring	 ring[VHOST_VRINGS];
	uint64_t	 offer;		/* what GET_FEATURES said */
};

static struct fixture	fx;

static void
fake_event(void *ctx, struct port *port, enum port_event ev, int error)
{
	(void)ctx;
	(void)error;
	fail_msg("port %s: unexpected event %d", port->name, ev);
}

static void
fake_note(void *ctx, struct port *port, const char *msg)
{
	size_t	off = strlen(fx.notes);

	(void)ctx;
	snprintf(fx.notes + off, sizeof(fx.notes) - off, "%s: %s\n",
	    port->name, msg);
}

static const struct dp_events events = {
	.port = fake_event, .note = fake_note,
};

static void
run(void)
{
	if (!fake_loop_run(&fx.loop, NOW))
		fail_msg("the loop never settled");
}

static int
qemu_connect(void)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fx.path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd != -1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	run();
	return fd;
}

static int
port_setup(void **state)
{
	struct port_config	c = { .type = "dummy" };
	char			err[256];

	(void)state;
	memset(&fx, 0, sizeof(fx));
	fx.qemu = -1;
	for (int i = 0; i < VHOST_VRINGS; i++)
		fx.kick[i] = fx.call[i] = -1;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test-virtq.XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	snprintf(fx.path, sizeof(fx.path), "%s/vm0.sock", fx.dir);
	if (port_types_init() != 0 || (fx.dp = dp_create()) == NULL)
		return -1;
	dp_set_events(fx.dp, &events);
	if (fake_loop_attach(&fx.loop, fx.dp) != 0)
		return -1;
	snprintf(c.name, sizeof(c.name), "d1");
	if (dp_port_add(fx.dp, &c, &fx.d1, err, sizeof(err)) != 0)
		return -1;
	c = (struct port_config){ .type = "vhost-user", .given = PORT_SET_PATH };
	snprintf(c.name, sizeof(c.name), "v0");
	snprintf(c.path, sizeof(c.path), "%s", fx.path);
	if (dp_port_add(fx.dp, &c, &fx.v0, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return guest_setup(state);
}

static int
port_teardown(void **state)
{
	if (fx.qemu != -1)
		close(fx.qemu);
	for (int i = 0; i < VHOST_VRINGS; i++) {
		if (fx.kick[i] != -1)
			close(fx.kick[i]);
		if (fx.call[i] != -1)
			close(fx.call[i]);
	}
	dp_destroy(fx.dp);
	rmdir(fx.dir);
	return guest_teardown(state);
}

/* Sends a request with a payload and up to one descriptor. */
static void
qemu_send(uint32_t request, uint32_t flags, const void *payload,
    uint32_t size, int fd)
{
	uint8_t		 buf[VHOST_USER_HDR_LEN + 512];
	uint32_t	 hdr[3] = { request, VHOST_USER_VERSION | flags, size };
	union {
		struct cmsghdr	c;
		char		b[CMSG_SPACE(sizeof(int))];
	}		 cb;
	struct iovec	 iov = { buf, VHOST_USER_HDR_LEN + size };
	struct msghdr	 m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr	*c;

	memcpy(buf, hdr, sizeof(hdr));
	if (size > 0)
		memcpy(buf + VHOST_USER_HDR_LEN, payload, size);
	if (fd != -1) {
		m.msg_control = cb.b;
		m.msg_controllen = sizeof(cb.b);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(fx.qemu, &m, MSG_NOSIGNAL) != (ssize_t)iov.iov_len)
		fail_msg("request %u: %s; notes:\n%s", request, strerror(errno),
		    fx.notes);
	run();
}

/* Reads a reply to request: its payload's first 8 bytes. */
static uint64_t
qemu_reply(uint32_t request, uint32_t size)
{
	uint8_t		buf[VHOST_USER_HDR_LEN + 8] = { 0 };
	uint32_t	hdr[3];
	uint64_t	v = 0;

	assert_int_equal(recv(fx.qemu, buf, VHOST_USER_HDR_LEN + size,
	    MSG_DONTWAIT), VHOST_USER_HDR_LEN + size);
	memcpy(hdr, buf, sizeof(hdr));
	assert_int_equal(hdr[0], request);
	assert_int_equal(hdr[1], VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY);
	assert_int_equal(hdr[2], size);
	memcpy(&v, buf + VHOST_USER_HDR_LEN, size);
	return v;
}

static void
qemu_u64(uint32_t request, uint64_t v, int fd)
{
	qemu_send(request, 0, &v, sizeof(v), fd);
}

static void
qemu_mem_table(void)
{
	uint8_t	p[8 + 32] = { 1 };
	uint64_t r[4] = { GPA, MEM_SIZE, UVA, 0 };

	memcpy(p + 8, r, sizeof(r));
	qemu_send(VHOST_USER_SET_MEM_TABLE, VHOST_USER_FLAG_NEED_REPLY, p,
	    sizeof(p), memfd);
	assert_int_equal(qemu_reply(VHOST_USER_SET_MEM_TABLE, 8), 0);
}

static void
qemu_ring(unsigned i, uint32_t num)
{
	struct gring	*r = &fx.ring[i];
	uint32_t	 st[2] = { i, num };
	struct addr_msg {
		uint32_t	index, flags;
		uint64_t	desc, used, avail, log;
	} a;
	const uint32_t	 off = i * 0x20000u;

	*r = (struct gring){ off, num, 0 };
	g_clear(off, num);
	a = (struct addr_msg){ i, 0, UVA + off + DESC_OFF, UVA + off + USED_OFF,
	    UVA + off + AVAIL_OFF, 0 };
	qemu_send(VHOST_USER_SET_VRING_NUM, 0, st, sizeof(st), -1);
	st[1] = 0;
	qemu_send(VHOST_USER_SET_VRING_BASE, 0, st, sizeof(st), -1);
	qemu_send(VHOST_USER_SET_VRING_ADDR, 0, &a, sizeof(a), -1);
	if (fx.kick[i] == -1)
		fx.kick[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fx.call[i] == -1)
		fx.call[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	qemu_u64(VHOST_USER_SET_VRING_CALL, i, fx.call[i]);
	qemu_u64(VHOST_USER_SET_VRING_KICK, i, fx.kick[i]);
	st[1] = 1;
	qemu_send(VHOST_USER_SET_VRING_ENABLE, 0, st, sizeof(st), -1);
}

/* QEMU's start-up on a connection: features, memory. */
static void
qemu_negotiate(uint64_t features)
{
	uint64_t	offer;

	qemu_send(VHOST_USER_GET_FEATURES, 0, NULL, 0, -1);
	offer = fx.offer = qemu_reply(VHOST_USER_GET_FEATURES, 8);
	assert_true(offer & VHOST_BIT(VHOST_F_VERSION_1));
	assert_true(offer & VHOST_BIT(VHOST_F_MRG_RXBUF));
	assert_true(offer & VHOST_BIT(VHOST_F_PROTOCOL_FEATURES));
	qemu_send(VHOST_USER_GET_PROTOCOL_FEATURES, 0, NULL, 0, -1);
	assert_true(qemu_reply(VHOST_USER_GET_PROTOCOL_FEATURES, 8) &
	    VHOST_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK));
	qemu_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    VHOST_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK), -1);
	qemu_send(VHOST_USER_SET_OWNER, 0, NULL, 0, -1);
	qemu_u64(VHOST_USER_SET_FEATURES, features |
	    VHOST_BIT(VHOST_F_PROTOCOL_FEATURES), -1);
	qemu_mem_table();
}

/* QEMU's start-up: connection, features, memory (then the rings). */
static void
qemu_start(uint64_t features)
{
	fx.qemu = qemu_connect();
	qemu_negotiate(features);
}

static const char *
port_state(void)
{
	return fx.v0->ops->state(fx.v0);
}

static unsigned
noted_count(const char *s)
{
	unsigned	n = 0;

	for (const char *p = fx.notes; (p = strstr(p, s)) != NULL; p++)
		n++;
	return n;
}

static const char *
why(void)
{
	const char	*w = fx.v0->ops->state_why(fx.v0);

	return w != NULL ? w : "";
}

static uint64_t
eventfd_take(int fd)
{
	uint64_t	v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* A broadcast frame of len bytes, its payload bytes numbered. */
static void
frame(uint8_t *f, size_t len, uint8_t seed)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x07", 6);
	f[12] = 0x08;
	f[13] = 0x00;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i);
}

static void
test_port_tx_rx(void **state)
{
	struct gring	*tx, *rx;
	uint8_t		 f[200], got[300];
	const uint8_t	*sent;
	struct pkt_batch b;
	struct pkt	*p;
	size_t		 len;
	uint32_t	 ulen, total = 0;
	uint16_t	 nbuf;
	unsigned	 id;
	uint64_t	 one = 1;

	(void)state;
	assert_string_equal(port_state(), "down");
	assert_non_null(strstr(why(), "waiting for QEMU"));
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1) |
	    VHOST_BIT(VHOST_F_MRG_RXBUF));
	assert_string_equal(port_state(), "connected");
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	assert_string_equal(port_state(), "up");
	assert_null(fx.v0->ops->state_why(fx.v0));
	tx = &fx.ring[VHOST_TX];
	rx = &fx.ring[VHOST_RX];

	/* Guest transmits: a 12-byte header, then a frame in two pieces. */
	frame(f, 100, 1);
	memset(g + tx->off + BUF_OFF, 0, 12);
	memcpy(g + tx->off + BUF_OFF + 12, f, 40);
	memcpy(g + tx->off + BUF_OFF + 512, f + 40, 60);
	g_set(tx, 0, GPA + tx->off + BUF_OFF, 52, VQ_DESC_F_NEXT, 1);
	g_set(tx, 1, GPA + tx->off + BUF_OFF + 512, 60, 0, 0);
	g_post(tx, 0);
	assert_int_equal(write(fx.kick[VHOST_TX], &one, 8), 8);
	run();
	assert_int_equal(port_dummy_sent_count(fx.d1), 1);
	sent = port_dummy_sent(fx.d1, 0, &len);
	assert_int_equal(len, 100);
	assert_memory_equal(sent, f, 100);
	assert_int_equal(g_used(tx)[1], 1);
	assert_int_equal(g_used_elem(tx, 0, &ulen), 0);
	assert_int_equal(eventfd_take(fx.call[VHOST_TX]), 1);
	assert_int_equal(fx.v0->stats.rx_packets, 1);

	/* Switch to guest: 200 bytes into 64-byte mergeable buffers. */
	for (unsigned i = 0; i < 6; i++) {
		g_set(rx, i, GPA + rx->off + BUF_OFF + i * 64, 64,
		    VQ_DESC_F_WRITE, 0);
		g_post(rx, (uint16_t)i);
	}
	frame(f, 200, 9);
	pkt_batch_init(&b);
	assert_non_null(p = pkt_alloc(fx.dp->pool));
	memcpy(p->data, f, 200);
	p->len = 200;
	pkt_batch_add(&b, p);
	dp_input(fx.dp, fx.d1, &b, NOW);
	assert_int_equal(g_used(rx)[1], 4);	/* 212 bytes: 4 buffers */
	for (unsigned i = 0; i < 4; i++) {
		id = g_used_elem(rx, i, &ulen);
		assert_int_equal(id, i);
		memcpy(got + total, g + rx->off + BUF_OFF + id * 64, ulen);
		total += ulen;
	}
	assert_int_equal(total, 212);
	memcpy(&nbuf, got + 10, 2);
	assert_int_equal(nbuf, 4);
	assert_memory_equal(got + 12, f, 200);
	assert_int_equal(eventfd_take(fx.call[VHOST_RX]), 1);
	assert_int_equal(fx.v0->stats.tx_packets, 1);

	/* No buffers left for a frame of 200: tx_full, not a stop. */
	pkt_batch_init(&b);
	assert_non_null(p = pkt_alloc(fx.dp->pool));
	memcpy(p->data, f, 200);
	p->len = 200;
	pkt_batch_add(&b, p);
	dp_input(fx.dp, fx.d1, &b, NOW);
	assert_int_equal(fx.v0->stats.drops[DROP_TX_FULL], 1);
	assert_int_equal(g_used(rx)[1], 4);
	assert_string_equal(port_state(), "up");

	/* GET_VRING_BASE stops the ring and says where it was. */
	uint32_t st[2] = { VHOST_TX, 0 };
	qemu_send(VHOST_USER_GET_VRING_BASE, 0, st, sizeof(st), -1);
	assert_int_equal(qemu_reply(VHOST_USER_GET_VRING_BASE, 8) >> 32, 1);
	assert_string_equal(port_state(), "connected");

	/* QEMU goes: down; it comes back: served again. */
	close(fx.qemu);
	fx.qemu = -1;
	run();
	assert_string_equal(port_state(), "down");
	assert_non_null(strstr(why(), "QEMU disconnected"));
	fx.qemu = qemu_connect();
	qemu_send(VHOST_USER_GET_FEATURES, 0, NULL, 0, -1);
	assert_true(qemu_reply(VHOST_USER_GET_FEATURES, 8) &
	    VHOST_BIT(VHOST_F_VERSION_1));
	assert_string_equal(port_state(), "connected");
}

static void
test_port_bad_ring(void **state)
{
	struct gring	*tx;
	uint64_t	 one = 1;

	(void)state;
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1));
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, 12);	/* not a power of two */
	assert_string_equal(port_state(), "broken");
	assert_non_null(strstr(why(), "transmit ring stopped: ring size 12"));
	assert_int_equal(fx.v0->stats.rx_errors, 1);
	/* QEMU sets it up again, and then the guest loops a chain. */
	qemu_ring(VHOST_TX, NUM);
	assert_string_equal(port_state(), "up");
	tx = &fx.ring[VHOST_TX];
	g_set(tx, 0, GPA + tx->off + BUF_OFF, 60, VQ_DESC_F_NEXT, 1);
	g_set(tx, 1, GPA + tx->off + BUF_OFF, 60, VQ_DESC_F_NEXT, 0);
	g_post(tx, 0);
	assert_int_equal(write(fx.kick[VHOST_TX], &one, 8), 8);
	run();
	assert_string_equal(port_state(), "broken");
	assert_non_null(strstr(why(), "a loop"));
	assert_int_equal(fx.v0->stats.rx_errors, 2);
	assert_int_equal(port_dummy_sent_count(fx.d1), 0);
	/* Said once per stop, however often the guest kicks. */
	assert_int_equal(write(fx.kick[VHOST_TX], &one, 8), 8);
	run();
	assert_int_equal(fx.v0->stats.rx_errors, 2);
	/* New memory under the broken ring: still broken, until set up. */
	qemu_mem_table();
	assert_string_equal(port_state(), "broken");
	assert_int_equal(write(fx.kick[VHOST_TX], &one, 8), 8);
	run();
	assert_int_equal(fx.v0->stats.rx_errors, 2);
	qemu_ring(VHOST_TX, NUM);
	assert_string_equal(port_state(), "up");
}

/*
 * QEMU hands over a blocking eventfd as a ring's call and fills its
 * counter: the interrupt we owe the guest must not block the daemon.
 */
static void
test_port_blocking_call(void **state)
{
	struct gring	*tx;
	uint8_t		 f[60];
	uint64_t	 one = 1, full = UINT64_C(0xfffffffffffffffe);

	(void)state;
	assert_true((fx.call[VHOST_TX] = eventfd(0, EFD_CLOEXEC)) != -1);
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1));
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	assert_string_equal(port_state(), "up");
	/* The same file description as the daemon's copy. */
	assert_true(fcntl(fx.call[VHOST_TX], F_GETFL) & O_NONBLOCK);
	assert_int_equal(write(fx.call[VHOST_TX], &full, 8), 8);
	tx = &fx.ring[VHOST_TX];
	frame(f, sizeof(f), 3);
	memset(g + tx->off + BUF_OFF, 0, 12);
	memcpy(g + tx->off + BUF_OFF + 12, f, sizeof(f));
	g_set(tx, 0, GPA + tx->off + BUF_OFF, 12 + sizeof(f), 0, 0);
	g_post(tx, 0);
	assert_int_equal(write(fx.kick[VHOST_TX], &one, 8), 8);
	run();
	assert_int_equal(port_dummy_sent_count(fx.d1), 1);
	assert_int_equal(g_used(tx)[1], 1);
	assert_string_equal(port_state(), "up");
}

static void
test_port_not_shared(void **state)
{
	uint8_t		p[8 + 32] = { 1 };
	uint64_t	r[4] = { GPA, MEM_SIZE, UVA, 0 };

	(void)state;
	fx.qemu = qemu_connect();
	qemu_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    VHOST_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK), -1);
	memcpy(p + 8, r, sizeof(r));
	qemu_send(VHOST_USER_SET_MEM_TABLE, VHOST_USER_FLAG_NEED_REPLY, p,
	    sizeof(p), -1);
	assert_int_equal(qemu_reply(VHOST_USER_SET_MEM_TABLE, 8), 1);
	assert_string_equal(port_state(), "connected");
	assert_non_null(strstr(why(), "guest memory is not shared (use "
	    "memory-backend-memfd,share=on)"));
	assert_non_null(strstr(fx.notes, "not shared"));
	/* A region past the end of its file would fault: refused, and gone. */
	r[1] = 2 * MEM_SIZE;
	memcpy(p + 8, r, sizeof(r));
	qemu_send(VHOST_USER_SET_MEM_TABLE, 0, p, sizeof(p), memfd);
	assert_string_equal(port_state(), "down");
	assert_non_null(strstr(why(), "past the end of its file"));
	close(fx.qemu);
	fx.qemu = qemu_connect();
	/* A ring for a device index that does not exist ends the session. */
	uint32_t st[2] = { 7, 8 };
	qemu_send(VHOST_USER_SET_VRING_NUM, 0, st, sizeof(st), -1);
	assert_string_equal(port_state(), "down");
	assert_non_null(strstr(why(), "ring 7"));
}

/*
 * Memory QEMU does not share: a device started with no memory table, or
 * a receive ring the guest kicks that never moves in our view.
 */
static void
test_port_private_memory(void **state)
{
	uint64_t	one = 1;

	(void)state;
	fx.qemu = qemu_connect();
	qemu_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    VHOST_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK), -1);
	qemu_u64(VHOST_USER_SET_FEATURES, VHOST_BIT(VHOST_F_VERSION_1), -1);
	fx.v0->ops->tick(fx.v0, NOW);
	assert_null(fx.v0->ops->state_why(fx.v0));
	fx.v0->ops->tick(fx.v0, NOW + 1);
	assert_non_null(strstr(why(), "not shared"));
	assert_non_null(strstr(why(), "without a memory table"));
	fx.v0->ops->tick(fx.v0, NOW + 2);
	assert_int_equal(noted_count("without a memory table"), 1);
	/* The table comes: no complaint; the rings run. */
	qemu_mem_table();
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	fx.v0->ops->tick(fx.v0, NOW + 3);
	assert_string_equal(port_state(), "up");
	/* A kick on a receive ring that does not move. */
	assert_int_equal(write(fx.kick[VHOST_RX], &one, 8), 8);
	run();
	fx.v0->ops->tick(fx.v0, NOW + 4);
	assert_string_equal(port_state(), "connected");
	assert_non_null(strstr(why(), "does not move"));
	/* It moves: all is well again. */
	g_set(&fx.ring[VHOST_RX], 0, GPA + fx.ring[VHOST_RX].off + BUF_OFF,
	    2048, VQ_DESC_F_WRITE, 0);
	g_post(&fx.ring[VHOST_RX], 0);
	fx.v0->ops->tick(fx.v0, NOW + 5);
	assert_string_equal(port_state(), "up");
	assert_null(fx.v0->ops->state_why(fx.v0));
}

/* Whether the guest kicks after moving its available index old to new. */
static bool
g_needs_kick(const struct gring *r, bool event_idx, uint16_t old,
    uint16_t new)
{
	uint16_t	event;

	if (!event_idx)
		return !(g_used(r)[0] & VQ_USED_F_NO_NOTIFY);
	event = g_used(r)[2 + 4 * r->num];
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

/* The guest queues frame i (seed i) in descriptor i; kicks if told to. */
static bool
g_send(struct gring *tx, bool event_idx, unsigned i)
{
	uint8_t		f[100];
	uint16_t	old = tx->avail_idx;
	uint64_t	one = 1;
	bool		kick;

	frame(f, sizeof(f), (uint8_t)i);
	memset(g + tx->off + BUF_OFF + i * 512, 0, 12);
	memcpy(g + tx->off + BUF_OFF + i * 512 + 12, f, sizeof(f));
	g_set(tx, i, GPA + tx->off + BUF_OFF + i * 512, 12 + sizeof(f), 0, 0);
	g_post(tx, (uint16_t)i);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if ((kick = g_needs_kick(tx, event_idx, old, tx->avail_idx)))
		assert_int_equal(write(fx.kick[VHOST_TX], &one, 8), 8);
	return kick;
}

static void
assert_sent(unsigned n)
{
	const uint8_t	*sent;
	uint8_t		 f[100];
	size_t		 len;

	assert_int_equal(port_dummy_sent_count(fx.d1), n);
	frame(f, sizeof(f), (uint8_t)(n - 1));
	sent = port_dummy_sent(fx.d1, n - 1, &len);
	assert_int_equal(len, sizeof(f));
	assert_memory_equal(sent, f, sizeof(f));
}

static void
poll_case(bool event_idx)
{
	struct gring	*tx;

	qemu_start(VHOST_BIT(VHOST_F_VERSION_1) | VHOST_BIT(VHOST_F_MRG_RXBUF) |
	    (event_idx ? VHOST_BIT(VHOST_F_EVENT_IDX) : 0));
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	assert_string_equal(port_state(), "up");
	tx = &fx.ring[VHOST_TX];

	/* Not polling: the guest kicks, the kick brings the frame. */
	assert_true(g_send(tx, event_idx, 0));
	run();
	assert_sent(1);

	/* Spinning: told not to kick; each turn takes what is there. */
	assert_int_equal(dp_poll(fx.dp, true, NOW), 0);
	assert_false(g_send(tx, event_idx, 1));
	assert_int_equal(dp_poll(fx.dp, true, NOW), 1);
	assert_sent(2);
	assert_false(g_send(tx, event_idx, 2));
	assert_false(g_send(tx, event_idx, 3));
	assert_int_equal(dp_poll(fx.dp, true, NOW), 2);
	assert_sent(4);
	assert_int_equal(g_used(tx)[1], 4);
	run();				/* no kick came: nothing more */
	assert_sent(4);

	/* The race: queued, no kick, then the spin ends.  Not lost. */
	assert_false(g_send(tx, event_idx, 4));
	assert_int_equal(dp_poll(fx.dp, false, NOW), 0);
	run();
	assert_sent(5);
	assert_int_equal(g_used(tx)[1], 5);

	/* Kicks are asked for again. */
	assert_true(g_send(tx, event_idx, 5));
	run();
	assert_sent(6);
	assert_int_equal(fx.v0->stats.rx_packets, 6);
}

static void
test_port_poll_event_idx(void **state)
{
	(void)state;
	poll_case(true);
}

static void
test_port_poll_no_notify(void **state)
{
	(void)state;
	poll_case(false);
}

#define TSO_MSS		1448
#define TSO_PAYLEN	4000

static uint8_t	tso_payload[TSO_PAYLEN];

/* A partially summed TCP/IPv4 super-frame into f, its vnet header into v. */
static size_t
tso_frame(uint8_t *f, struct virtio_net_hdr *v, const struct fspec *s)
{
	struct fpos	pos = fspec_pos(s);
	size_t		len;

	for (size_t i = 0; i < sizeof(tso_payload); i++)
		tso_payload[i] = (uint8_t)(i * 7 + 3);
	len = frame_build(f, s);
	frame_make_partial(f, len, s);
	*v = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
	    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = TSO_MSS,
	    .hdr_len = (uint16_t)pos.hlen, .csum_start = (uint16_t)pos.l4,
	    .csum_offset = 16 };
	return len;
}

/* Frames first.. of port are s's payload cut at TSO_MSS, summed. */
static void
check_tso_segments(const struct port *port, unsigned first,
    const struct fspec *s)
{
	struct fpos	pos = fspec_pos(s);
	size_t		off = 0, len, want;
	unsigned	i = first;

	for (; off < s->paylen; i++) {
		const uint8_t *f = port_dummy_sent(port, i, &len);

		assert_non_null(f);
		want = s->paylen - off < TSO_MSS ? s->paylen - off : TSO_MSS;
		assert_int_equal(check_frame(f, len, s), want);
		assert_memory_equal(f + pos.hlen, s->payload + off, want);
		assert_int_equal(port_dummy_sent_vnet(port, i)->gso_type, 0);
		off += want;
	}
	assert_int_equal(port_dummy_sent_count(port), i);
}

static void
test_port_guest_tso(void **state)
{
	struct port_config	 c = { .type = "dummy" };
	struct fspec		 s = fspec_tcp(4, tso_payload, TSO_PAYLEN);
	uint8_t			 f[TSO_PAYLEN + 100];
	struct virtio_net_hdr	 v;
	const struct virtio_net_hdr *got;
	struct port		*d2;
	struct gring		*tx;
	const uint8_t		*sent;
	char			 err[256];
	size_t			 flen, len;
	uint64_t		 one = 1;
	uint8_t			*buf;

	(void)state;
	snprintf(c.name, sizeof(c.name), "d2");
	assert_int_equal(dp_port_add(fx.dp, &c, &d2, err, sizeof(err)), 0);
	assert_int_equal(port_dummy_set_takes(fx.d1, PORT_TAKES_CSUM |
	    PORT_TAKES_TSO4), 0);
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1) | VHOST_BIT(VHOST_F_MRG_RXBUF) |
	    VHOST_BIT(VHOST_F_CSUM) | VHOST_BIT(VHOST_F_HOST_TSO4));
	assert_true(fx.offer & VHOST_BIT(VHOST_F_HOST_TSO4));
	assert_true(fx.offer & VHOST_BIT(VHOST_F_CSUM));
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	tx = &fx.ring[VHOST_TX];

	/* Header and the first 1000 bytes, then the rest: a chain. */
	flen = tso_frame(f, &v, &s);
	buf = g + tx->off + BUF_OFF;
	memset(buf, 0, 12);
	memcpy(buf, &v, sizeof(v));
	memcpy(buf + 12, f, 1000);
	memcpy(buf + 0x2000, f + 1000, flen - 1000);
	g_set(tx, 0, GPA + tx->off + BUF_OFF, 12 + 1000, VQ_DESC_F_NEXT, 1);
	g_set(tx, 1, GPA + tx->off + BUF_OFF + 0x2000, (uint32_t)flen - 1000,
	    0, 0);
	g_post(tx, 0);
	assert_int_equal(write(fx.kick[VHOST_TX], &one, 8), 8);
	run();
	assert_int_equal(fx.v0->stats.rx_gso, 1);
	assert_int_equal(g_used(tx)[1], 1);

	/* Whole to the port that takes TSO, vnet header and all. */
	assert_int_equal(port_dummy_sent_count(fx.d1), 1);
	sent = port_dummy_sent(fx.d1, 0, &len);
	assert_int_equal(len, flen);
	assert_memory_equal(sent, f, flen);
	got = port_dummy_sent_vnet(fx.d1, 0);
	assert_int_equal(got->gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(got->gso_size, TSO_MSS);
	assert_int_equal(got->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);

	/* Cut and summed for the one that does not. */
	check_tso_segments(d2, 0, &s);
	assert_int_equal(d2->stats.tx_segmented, 1);
}

/* Buffers of 2048 bytes in the guest's receive ring. */
static void
rx_buffers(struct gring *rx, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		g_set(rx, i, GPA + rx->off + BUF_OFF + i * 2048, 2048,
		    VQ_DESC_F_WRITE, 0);
		g_post(rx, (uint16_t)i);
	}
}

/* A super-frame from d1 into the switch, flooded to the guest. */
static size_t
send_tso(uint8_t *f, struct virtio_net_hdr *v, const struct fspec *s)
{
	struct pkt_batch	b;
	struct pkt		*p;
	size_t			len = tso_frame(f, v, s);

	assert_non_null(p = pkt_alloc(fx.dp->large));
	memcpy(p->data, f, len);
	p->len = (uint32_t)len;
	p->vnet = *v;
	pkt_batch_init(&b);
	pkt_batch_add(&b, p);
	dp_input(fx.dp, fx.d1, &b, NOW);
	return len;
}

static void
test_port_guest_rx_tso(void **state)
{
	struct fspec		 s = fspec_tcp(4, tso_payload, TSO_PAYLEN);
	uint8_t			 f[TSO_PAYLEN + 100], got[3 * 2048];
	struct virtio_net_hdr	 v, vh;
	struct gring		*rx;
	size_t			 flen;
	uint32_t		 ulen, total = 0;
	uint16_t		 nbuf;
	unsigned		 id;

	(void)state;
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1) | VHOST_BIT(VHOST_F_MRG_RXBUF) |
	    VHOST_BIT(VHOST_F_GUEST_CSUM) | VHOST_BIT(VHOST_F_GUEST_TSO4));
	assert_true(fx.offer & VHOST_BIT(VHOST_F_GUEST_TSO4));
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	assert_int_equal(fx.v0->takes & (PORT_TAKES_CSUM | PORT_TAKES_TSO4),
	    PORT_TAKES_CSUM | PORT_TAKES_TSO4);
	rx = &fx.ring[VHOST_RX];
	rx_buffers(rx, NUM);
	flen = send_tso(f, &v, &s);

	/* 12 + 4054 bytes: whole, in two mergeable buffers. */
	assert_int_equal(g_used(rx)[1], 2);
	for (unsigned i = 0; i < 2; i++) {
		id = g_used_elem(rx, i, &ulen);
		memcpy(got + total, g + rx->off + BUF_OFF + id * 2048, ulen);
		total += ulen;
	}
	assert_int_equal(total, 12 + flen);
	memcpy(&vh, got, sizeof(vh));
	memcpy(&nbuf, got + 10, 2);
	assert_int_equal(nbuf, 2);
	assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh.gso_size, TSO_MSS);
	assert_int_equal(vh.hdr_len, v.hdr_len);
	assert_int_equal(vh.csum_start, v.csum_start);
	assert_int_equal(vh.csum_offset, 16);
	assert_memory_equal(got + 12, f, flen);
	assert_int_equal(fx.v0->stats.tx_gso, 1);
	assert_int_equal(fx.v0->stats.tx_segmented, 0);
}

/* The guest's receive ring holds n frames: each summed, no GSO. */
static void
check_guest_segments(const struct gring *rx, const struct fspec *s,
    unsigned n)
{
	const uint8_t		*b;
	struct virtio_net_hdr	 vh;
	uint32_t		 ulen;
	size_t			 off = 0, want;
	uint16_t		 nbuf;

	assert_int_equal(g_used(rx)[1], n);
	for (unsigned i = 0; i < n; i++) {
		b = g + rx->off + BUF_OFF + g_used_elem(rx, i, &ulen) * 2048;
		memcpy(&vh, b, sizeof(vh));
		memcpy(&nbuf, b + 10, 2);
		assert_int_equal(nbuf, 1);
		assert_int_equal(vh.gso_type, 0);
		assert_int_equal(vh.flags, 0);
		want = s->paylen - off < TSO_MSS ? s->paylen - off : TSO_MSS;
		assert_int_equal(check_frame(b + 12, ulen - 12, s), want);
		off += want;
	}
	assert_int_equal(off, s->paylen);
}

static void
test_port_tso_off(void **state)
{
	struct fspec		 s = fspec_tcp(4, tso_payload, TSO_PAYLEN);
	uint8_t			 f[TSO_PAYLEN + 100];
	struct virtio_net_hdr	 v;
	struct gring		*rx;

	(void)state;
	/* Connected with TSO, then turned off: no longer used. */
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1) | VHOST_BIT(VHOST_F_MRG_RXBUF) |
	    VHOST_BIT(VHOST_F_GUEST_CSUM) | VHOST_BIT(VHOST_F_GUEST_TSO4));
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	assert_true(fx.v0->takes & PORT_TAKES_TSO4);
	dp_set_offload(fx.dp, OFL_TAP_TSO, false);
	assert_int_equal(fx.v0->takes & (PORT_TAKES_TSO4 | PORT_TAKES_TSO6),
	    0);
	assert_true(fx.v0->takes & PORT_TAKES_CSUM);
	rx = &fx.ring[VHOST_RX];
	rx_buffers(rx, NUM);
	send_tso(f, &v, &s);
	check_guest_segments(rx, &s, 3);
	assert_int_equal(fx.v0->stats.tx_segmented, 1);
	assert_int_equal(fx.v0->stats.tx_gso, 0);

	/* The next guest is not offered it at all; checksums still are. */
	close(fx.qemu);
	fx.qemu = -1;
	run();
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1) | VHOST_BIT(VHOST_F_MRG_RXBUF) |
	    VHOST_BIT(VHOST_F_GUEST_CSUM));
	assert_int_equal(fx.offer & (VHOST_BIT(VHOST_F_HOST_TSO4) |
	    VHOST_BIT(VHOST_F_HOST_TSO6) | VHOST_BIT(VHOST_F_GUEST_TSO4) |
	    VHOST_BIT(VHOST_F_GUEST_TSO6)), 0);
	assert_true(fx.offer & VHOST_BIT(VHOST_F_GUEST_CSUM));
	assert_true(fx.offer & VHOST_BIT(VHOST_F_CSUM));

	/* On again: offered to the next guest. */
	dp_set_offload(fx.dp, OFL_TAP_TSO, true);
	close(fx.qemu);
	fx.qemu = -1;
	run();
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1) | VHOST_BIT(VHOST_F_MRG_RXBUF));
	assert_true(fx.offer & VHOST_BIT(VHOST_F_GUEST_TSO4));
	assert_true(fx.offer & VHOST_BIT(VHOST_F_HOST_TSO4));
}

/*
 * The device under the port, to look at its memory table and rings: the
 * port's private state begins with it (port-vhost.c).
 */
static struct vhost_dev *
vdev(void)
{
	return fx.v0->priv;
}

/* The guest transmits frame i (descriptor i) and kicks. */
static void
tx_one(unsigned i)
{
	uint64_t	one = 1;

	(void)g_send(&fx.ring[VHOST_TX], false, i);
	assert_int_equal(write(fx.kick[VHOST_TX], &one, 8), 8);
	run();
}

/* One frame from the dummy port toward the guest. */
static void
rx_one(void)
{
	struct pkt_batch b;
	struct pkt	*p;
	uint8_t		 f[100];

	frame(f, sizeof(f), 5);
	pkt_batch_init(&b);
	assert_non_null(p = pkt_alloc(fx.dp->pool));
	memcpy(p->data, f, sizeof(f));
	p->len = sizeof(f);
	pkt_batch_add(&b, p);
	dp_input(fx.dp, fx.d1, &b, NOW);
}

/* A memory table of one region: the first size bytes of the memfd. */
static void
qemu_mem_table_of(uint64_t size)
{
	uint8_t	p[8 + 32] = { 1 };
	uint64_t r[4] = { GPA, size, UVA, 0 };

	memcpy(p + 8, r, sizeof(r));
	qemu_send(VHOST_USER_SET_MEM_TABLE, VHOST_USER_FLAG_NEED_REPLY, p,
	    sizeof(p), memfd);
	assert_int_equal(qemu_reply(VHOST_USER_SET_MEM_TABLE, 8), 0);
}

/* ADD_MEM_REG or REM_MEM_REG of one region: QEMU's ack (0 done). */
static uint64_t
qemu_mem_reg(uint32_t request, uint64_t gpa, uint64_t size, uint64_t uva,
    uint64_t off, int fd)
{
	uint64_t	m[5] = { 0, gpa, size, uva, off };

	qemu_send(request, VHOST_USER_FLAG_NEED_REPLY, m, sizeof(m), fd);
	return qemu_reply(request, 8);
}

/* Memory as QEMU's memfd backend gives it: sealed, it cannot shrink. */
static void
test_port_sealed_memory(void **state)
{
	(void)state;
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1));
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	assert_string_equal(port_state(), "up");
	assert_false(vdev()->map[0].unsealed);
	assert_int_equal(ftruncate(memfd, 4096), -1);
	assert_int_equal(errno, EPERM);
	tx_one(0);
	assert_sent(1);
	assert_string_equal(port_state(), "up");
}

/*
 * Memory that is not sealed (DPDK's --no-huge memfd, a file backend) is
 * guarded: shrunk under a running ring, the daemon's next read of it does
 * not kill it, the rings stop saying why, and a new table starts them.
 */
static void
test_port_shrunk_memory(void **state)
{
	uint64_t	one = 1;

	(void)state;
	munmap(g, MEM_SIZE);
	close(memfd);
	assert_true((memfd = memfd_create("guest", MFD_CLOEXEC)) != -1);
	assert_int_equal(ftruncate(memfd, MEM_SIZE), 0);
	g = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	assert_true(g != MAP_FAILED);
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1));
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	assert_string_equal(port_state(), "up");
	assert_true(vdev()->map[0].unsealed);
	assert_non_null(strstr(fx.v0->ops->detail(fx.v0), "1 not sealed "
	    "against shrinking (guarded)"));
	tx_one(0);
	assert_sent(1);
	/* The guest queues one more, then its memory goes. */
	(void)g_send(&fx.ring[VHOST_TX], false, 1);
	assert_int_equal(ftruncate(memfd, 0), 0);
	assert_int_equal(write(fx.kick[VHOST_TX], &one, 8), 8);
	run();
	rx_one();
	fx.v0->ops->tick(fx.v0, NOW + 1);
	assert_string_equal(port_state(), "broken");
	assert_non_null(strstr(why(), "shrank"));
	assert_int_equal(vdev()->mem.n, 0);
	assert_int_equal(port_dummy_sent_count(fx.d1), 1);
	/*
	 * The guest's memory is back, zeroed, its transmit ring where the
	 * daemon got to (1): the rings start again on the new table.
	 */
	assert_int_equal(ftruncate(memfd, MEM_SIZE), 0);
	fx.ring[VHOST_TX].avail_idx = 1;
	g_avail(&fx.ring[VHOST_TX])[1] = 1;
	qemu_mem_table();
	assert_string_equal(port_state(), "up");
	tx_one(1);
	assert_sent(2);
}

/*
 * A ring whose addresses lie outside the memory table stops; the next
 * table that holds them starts it, with no new ring set-up (a reboot).
 */
static void
test_port_ring_retry(void **state)
{
	(void)state;
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1));
	qemu_mem_table_of(0x20000);	/* ring 0 only */
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	assert_string_equal(port_state(), "broken");
	assert_non_null(strstr(why(), "outside guest memory"));
	qemu_mem_table_of(MEM_SIZE);
	assert_string_equal(port_state(), "up");
	tx_one(0);
	assert_sent(1);
}

/* GET_VRING_BASE of a ring the guest broke: where it got to. */
static void
test_port_broken_base(void **state)
{
	struct gring	*tx;
	uint32_t	 st[2] = { VHOST_TX, 0 };
	uint64_t	 one = 1;

	(void)state;
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1));
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	tx_one(0);
	tx_one(1);
	assert_sent(2);
	tx = &fx.ring[VHOST_TX];
	g_set(tx, 2, GPA + tx->off + BUF_OFF, 60, VQ_DESC_F_NEXT, 3);
	g_set(tx, 3, GPA + tx->off + BUF_OFF, 60, VQ_DESC_F_NEXT, 2);
	g_post(tx, 2);
	assert_int_equal(write(fx.kick[VHOST_TX], &one, 8), 8);
	run();
	assert_string_equal(port_state(), "broken");
	qemu_send(VHOST_USER_GET_VRING_BASE, 0, st, sizeof(st), -1);
	assert_int_equal(qemu_reply(VHOST_USER_GET_VRING_BASE, 8) >> 32, 2);
}

/* Payloads not of the size the spec gives the request end the session. */
static void
test_port_bad_sizes(void **state)
{
	static const struct {
		uint32_t	request, size;
	} bad[] = {
		{ VHOST_USER_GET_FEATURES, 8 },
		{ VHOST_USER_SET_FEATURES, 4 },
		{ VHOST_USER_SET_OWNER, 8 },
		{ VHOST_USER_SET_VRING_NUM, 12 },
		{ VHOST_USER_SET_VRING_ADDR, 48 },
		{ VHOST_USER_SET_VRING_KICK, 16 },
		{ VHOST_USER_SET_MEM_TABLE, 8 + 32 + 8 },
		{ VHOST_USER_ADD_MEM_REG, 32 },
		{ VHOST_USER_GET_MAX_MEM_SLOTS, 4 },
	};
	uint8_t		p[64] = { 1 };

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fx.qemu = qemu_connect();
		qemu_send(bad[i].request, 0, p, bad[i].size, -1);
		assert_string_equal(port_state(), "down");
		if (bad[i].request == VHOST_USER_SET_MEM_TABLE)
			assert_non_null(strstr(why(), "1 regions in 48 bytes"));
		else
			assert_non_null(strstr(why(), "bytes of payload"));
		assert_non_null(strstr(why(), vhost_request_name(
		    bad[i].request)));
		assert_int_equal(fx.v0->stats.rx_errors, i + 1);
		close(fx.qemu);
		fx.qemu = -1;
		run();
	}
	/* The right sizes still work. */
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1));
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	assert_string_equal(port_state(), "up");
}

/* RESET_OWNER: rings reset, memory unmapped, as a new connection. */
static void
test_port_reset_owner(void **state)
{
	(void)state;
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1) |
	    VHOST_BIT(VHOST_F_MRG_RXBUF));
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	assert_string_equal(port_state(), "up");
	qemu_send(VHOST_USER_RESET_OWNER, VHOST_USER_FLAG_NEED_REPLY, NULL, 0,
	    -1);
	assert_int_equal(qemu_reply(VHOST_USER_RESET_OWNER, 8), 0);
	assert_string_equal(port_state(), "connected");
	assert_int_equal(vdev()->mem.n, 0);
	assert_null(vdev()->map[0].addr);
	assert_int_equal(vdev()->features, 0);
	for (unsigned i = 0; i < VHOST_VRINGS; i++) {
		assert_false(vdev()->vr[i].running);
		assert_int_equal(vdev()->vr[i].kickfd, -1);
		assert_int_equal(vdev()->vr[i].q.num, 0);
	}
	rx_one();
	assert_int_equal(fx.v0->stats.drops[DROP_LINK_DOWN], 1);
	/* Set up again on the same connection. */
	qemu_negotiate(VHOST_BIT(VHOST_F_VERSION_1));
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	assert_string_equal(port_state(), "up");
	tx_one(0);
	assert_sent(1);
}

/* SET_FEATURES under running rings: restarted under them, where they were. */
static void
test_port_features_running(void **state)
{
	struct gring	*tx;
	uint64_t	 one = 1;

	(void)state;
	qemu_start(VHOST_BIT(VHOST_F_VERSION_1));
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	tx_one(0);
	assert_false(vdev()->vr[VHOST_TX].q.event_idx);
	qemu_u64(VHOST_USER_SET_FEATURES, VHOST_BIT(VHOST_F_VERSION_1) |
	    VHOST_BIT(VHOST_F_EVENT_IDX) | VHOST_BIT(VHOST_F_PROTOCOL_FEATURES),
	    -1);
	assert_string_equal(port_state(), "up");
	for (unsigned i = 0; i < VHOST_VRINGS; i++) {
		assert_true(vdev()->vr[i].running);
		assert_true(vdev()->vr[i].q.event_idx);
	}
	tx = &fx.ring[VHOST_TX];
	(void)g_send(tx, true, 1);
	assert_int_equal(write(fx.kick[VHOST_TX], &one, 8), 8);
	run();
	assert_sent(2);
	assert_int_equal(g_used(tx)[1], 2);
	/* Features never offered still end the session. */
	qemu_u64(VHOST_USER_SET_FEATURES, VHOST_BIT(63), -1);
	assert_string_equal(port_state(), "down");
	assert_non_null(strstr(why(), "never offered"));
}

/*
 * Memory hot-plug (CONFIGURE_MEM_SLOTS): regions added and removed one at
 * a time, rings moved onto each new table, limits and overlaps refused.
 */
static void
test_port_mem_slots(void **state)
{
	const uint64_t	 half = 0x20000;	/* ring 0 below, ring 1 above */
	const uint64_t	 cms = VHOST_BIT(
	    VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
	unsigned	 errors;

	(void)state;
	fx.qemu = qemu_connect();
	qemu_send(VHOST_USER_GET_PROTOCOL_FEATURES, 0, NULL, 0, -1);
	assert_true(qemu_reply(VHOST_USER_GET_PROTOCOL_FEATURES, 8) & cms);
	qemu_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    VHOST_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) | cms, -1);
	qemu_send(VHOST_USER_GET_MAX_MEM_SLOTS, 0, NULL, 0, -1);
	assert_int_equal(qemu_reply(VHOST_USER_GET_MAX_MEM_SLOTS, 8),
	    VQ_REGIONS_MAX);
	qemu_u64(VHOST_USER_SET_FEATURES, VHOST_BIT(VHOST_F_VERSION_1) |
	    VHOST_BIT(VHOST_F_PROTOCOL_FEATURES), -1);
	assert_int_equal(qemu_mem_reg(VHOST_USER_ADD_MEM_REG, GPA, half, UVA,
	    0, memfd), 0);
	assert_int_equal(vdev()->mem.n, 1);
	qemu_ring(VHOST_RX, NUM);
	qemu_ring(VHOST_TX, NUM);
	assert_string_equal(port_state(), "broken");

	/* The rest plugged: the transmit ring is found in it. */
	assert_int_equal(qemu_mem_reg(VHOST_USER_ADD_MEM_REG, GPA + half,
	    MEM_SIZE - half, UVA + half, half, memfd), 0);
	assert_int_equal(vdev()->mem.n, 2);
	assert_string_equal(port_state(), "up");
	assert_string_equal(fx.v0->ops->detail(fx.v0), "guest memory: 2 of 8 "
	    "regions, 1 MiB");
	tx_one(0);
	assert_sent(1);

	/* Unplugged: the ring in it stops; plugged again: it goes on. */
	assert_int_equal(qemu_mem_reg(VHOST_USER_REM_MEM_REG, GPA + half,
	    MEM_SIZE - half, UVA + half, 0, -1), 0);
	assert_int_equal(vdev()->mem.n, 1);
	assert_string_equal(port_state(), "broken");
	assert_int_equal(qemu_mem_reg(VHOST_USER_ADD_MEM_REG, GPA + half,
	    MEM_SIZE - half, UVA + half, half, memfd), 0);
	assert_string_equal(port_state(), "up");
	tx_one(1);
	assert_sent(2);

	/* Refused, the connection kept: overlap, no such region, full. */
	errors = (unsigned)fx.v0->stats.rx_errors;
	assert_int_equal(qemu_mem_reg(VHOST_USER_ADD_MEM_REG, GPA + 0x1000,
	    0x1000, 0x7f3300000000ull, 0, memfd), 1);
	assert_non_null(strstr(fx.notes, "overlap region 0"));
	assert_int_equal(qemu_mem_reg(VHOST_USER_REM_MEM_REG, GPA, 0x1000,
	    UVA, 0, -1), 1);
	assert_non_null(strstr(fx.notes, "REM_MEM_REG refused"));
	for (uint64_t k = 0; k < VQ_REGIONS_MAX - 2; k++)
		assert_int_equal(qemu_mem_reg(VHOST_USER_ADD_MEM_REG,
		    0x100000000ull + k * 0x1000, 0x1000,
		    0x7f3300000000ull + k * 0x1000, 0, memfd), 0);
	assert_int_equal(vdev()->mem.n, VQ_REGIONS_MAX);
	assert_int_equal(qemu_mem_reg(VHOST_USER_ADD_MEM_REG, 0x200000000ull,
	    0x1000, 0x7f3400000000ull, 0, memfd), 1);
	assert_non_null(strstr(fx.notes, "8 regions already"));
	assert_int_equal(fx.v0->stats.rx_errors, errors + 3);
	assert_non_null(strstr(fx.v0->ops->detail(fx.v0), "guest memory: 8 of "
	    "8 regions"));
	assert_non_null(strstr(fx.v0->ops->detail(fx.v0), "3 requests "
	    "refused"));
	assert_string_equal(port_state(), "up");
	tx_one(2);
	assert_sent(3);
	/* Without a descriptor: not shared memory, said so. */
	assert_int_equal(qemu_mem_reg(VHOST_USER_ADD_MEM_REG, 0x200000000ull,
	    0x1000, 0x7f3400000000ull, 0, -1), 1);
	assert_non_null(strstr(why(), "memory-backend-memfd,share=on"));
}

#define G(t)	cmocka_unit_test_setup_teardown(t, guest_setup, guest_teardown)
#define P(t)	cmocka_unit_test_setup_teardown(t, port_setup, port_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		G(test_single),
		G(test_chain),
		G(test_indirect),
		G(test_indirect_bad),
		G(test_bad_size),
		G(test_bad_ring_addr),
		G(test_addr_outside),
		G(test_len_overflow),
		G(test_bad_index),
		G(test_loop),
		G(test_avail_jump),
		G(test_signal),
		P(test_port_tx_rx),
		P(test_port_bad_ring),
		P(test_port_blocking_call),
		P(test_port_not_shared),
		P(test_port_private_memory),
		P(test_port_poll_event_idx),
		P(test_port_poll_no_notify),
		P(test_port_guest_tso),
		P(test_port_guest_rx_tso),
		P(test_port_tso_off),
		P(test_port_sealed_memory),
		P(test_port_shrunk_memory),
		P(test_port_ring_retry),
		P(test_port_broken_base),
		P(test_port_bad_sizes),
		P(test_port_reset_owner),
		P(test_port_features_running),
		P(test_port_mem_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
