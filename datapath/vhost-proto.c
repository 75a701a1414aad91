/*
 * vhost-proto.c - vhost-user requests, guest memory and ring set-up
 * (vhost-proto.h).
 *
 * Every payload is checked for the exact size the spec gives its request
 * before it is read, every ring index against VHOST_VRINGS, every
 * descriptor received is either kept (a memory region until it is
 * mapped, an eventfd for as long as its ring) or closed at once: a
 * message never leaks one.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vhost-guard.h"
#include "vhost-proto.h"

#define VHOST_PROTOCOL_OFFER	(VHOST_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
	VHOST_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
/* Offered whatever the owner asks for: the transport's own. */
#define VHOST_BASE_OFFER	(VHOST_BIT(VHOST_F_VERSION_1) | \
	VHOST_BIT(VHOST_F_MRG_RXBUF) | VHOST_BIT(VHOST_F_ANY_LAYOUT) | \
	VHOST_BIT(VHOST_F_INDIRECT_DESC) | VHOST_BIT(VHOST_F_EVENT_IDX) | \
	VHOST_BIT(VHOST_F_PROTOCOL_FEATURES))

struct vhost_region_msg {
	uint64_t	gpa;
	uint64_t	size;
	uint64_t	uva;
	uint64_t	mmap_offset;
};

/* ADD_MEM_REG, REM_MEM_REG: "single memory region description". */
struct vhost_mem_reg_msg {
	uint64_t		padding;
	struct vhost_region_msg	r;
};

struct vhost_state_msg {
	uint32_t	index;
	uint32_t	num;
};

struct vhost_addr_msg {
	uint32_t	index;
	uint32_t	flags;
	uint64_t	desc;
	uint64_t	used;
	uint64_t	avail;
	uint64_t	log;
};

static const char *const request_names[] = {
	[VHOST_USER_GET_FEATURES] = "GET_FEATURES",
	[VHOST_USER_SET_FEATURES] = "SET_FEATURES",
	[VHOST_USER_SET_OWNER] = "SET_OWNER",
	[VHOST_USER_RESET_OWNER] = "RESET_OWNER",
	[VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VHOST_USER_SET_LOG_BASE] = "SET_LOG_BASE",
	[VHOST_USER_SET_LOG_FD] = "SET_LOG_FD",
	[VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
	[VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
	[VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
	[VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
	[VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
	[VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
	[VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VHOST_USER_SEND_RARP] = "SEND_RARP",
	[VHOST_USER_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[VHOST_USER_ADD_MEM_REG] = "ADD_MEM_REG",
	[VHOST_USER_REM_MEM_REG] = "REM_MEM_REG",
};

/*
 * The payload size of each request the spec gives one to (its "request
 * payload"): anything else is refused.  SET_MEM_TABLE's depends on its
 * count of regions; requests refused or unknown take any size.
 */
static const struct {
	uint32_t	request;
	uint32_t	size;
} request_sizes[] = {
	{ VHOST_USER_GET_FEATURES, 0 },
	{ VHOST_USER_SET_FEATURES, 8 },
	{ VHOST_USER_SET_OWNER, 0 },
	{ VHOST_USER_RESET_OWNER, 0 },
	{ VHOST_USER_SET_VRING_NUM, sizeof(struct vhost_state_msg) },
	{ VHOST_USER_SET_VRING_ADDR, sizeof(struct vhost_addr_msg) },
	{ VHOST_USER_SET_VRING_BASE, sizeof(struct vhost_state_msg) },
	{ VHOST_USER_GET_VRING_BASE, sizeof(struct vhost_state_msg) },
	{ VHOST_USER_SET_VRING_KICK, 8 },
	{ VHOST_USER_SET_VRING_CALL, 8 },
	{ VHOST_USER_SET_VRING_ERR, 8 },
	{ VHOST_USER_GET_PROTOCOL_FEATURES, 0 },
	{ VHOST_USER_SET_PROTOCOL_FEATURES, 8 },
	{ VHOST_USER_GET_QUEUE_NUM, 0 },
	{ VHOST_USER_SET_VRING_ENABLE, sizeof(struct vhost_state_msg) },
	{ VHOST_USER_SEND_RARP, 8 },
	{ VHOST_USER_GET_MAX_MEM_SLOTS, 0 },
	{ VHOST_USER_ADD_MEM_REG, sizeof(struct vhost_mem_reg_msg) },
	{ VHOST_USER_REM_MEM_REG, sizeof(struct vhost_mem_reg_msg) },
};

const char *
vhost_request_name(uint32_t r)
{
	if (r < sizeof(request_names) / sizeof(request_names[0]) &&
	    request_names[r] != NULL)
		return request_names[r];
	return "unknown";
}

static int
vhost_fail(struct vhost_dev *dev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets why and returns -1: the connection is ended. */
static int
vhost_fail(struct vhost_dev *dev, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(dev->why, sizeof(dev->why), fmt, ap);
	va_end(ap);
	return -1;
}

static int
vhost_bad(struct vhost_dev *dev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* As vhost_fail(), for a request that breaks the protocol: counted. */
static int
vhost_bad(struct vhost_dev *dev, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(dev->why, sizeof(dev->why), fmt, ap);
	va_end(ap);
	dev->bad_requests++;
	return -1;
}

static void
vhost_note(struct vhost_dev *dev, const char *msg)
{
	if (dev->hooks != NULL && dev->hooks->note != NULL)
		dev->hooks->note(dev->arg, msg);
}

static void
vhost_close(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

static void
vhost_vring_init(struct vhost_vring *vr)
{
	memset(vr, 0, sizeof(*vr));
	vr->kickfd = vr->callfd = vr->errfd = -1;
}

void
vhost_dev_init(struct vhost_dev *dev, uint64_t offer,
    const struct vhost_hooks *hooks, void *arg)
{
	memset(dev, 0, sizeof(*dev));
	dev->fd = -1;
	dev->offer = offer | VHOST_BASE_OFFER;
	dev->hooks = hooks;
	dev->arg = arg;
	dev->hdr_len = 10;
	for (unsigned i = 0; i < VHOST_VRINGS; i++)
		vhost_vring_init(&dev->vr[i]);
	for (unsigned i = 0; i < VHOST_USER_FDS_MAX; i++)
		dev->fds[i] = -1;
}

/*
 * Ring i no longer runs: its owner lets go of the kick eventfd first.
 * Where it got to (the guest broke it or not) becomes its base, and it
 * lets go of guest memory, keeping only its error: what the base says
 * is not overwritten by a later stop, and no pointer outlives a table.
 */
static void
vhost_ring_stop(struct vhost_dev *dev, unsigned i)
{
	struct vhost_vring	*vr = &dev->vr[i];

	if (vr->running && dev->hooks != NULL && dev->hooks->ring != NULL)
		dev->hooks->ring(dev->arg, i, false);
	vr->running = false;
	if (vr->q.num != 0)
		vr->base = vr->q.last_avail;
	vr->q.num = 0;
	vr->q.desc = NULL;
	vr->q.avail = vr->q.used = NULL;
}

static void
vhost_rings_stop(struct vhost_dev *dev)
{
	for (unsigned i = 0; i < VHOST_VRINGS; i++)
		vhost_ring_stop(dev, i);
}

/* Starts ring i if it has all it needs, or re-points it at new memory. */
static void
vhost_ring_check(struct vhost_dev *dev, unsigned i)
{
	struct vhost_vring	*vr = &dev->vr[i];
	const bool		 need_enable = (dev->features &
	    VHOST_BIT(VHOST_F_PROTOCOL_FEATURES)) != 0;

	if (vr->running || !vr->addr_set || !vr->kick_set || vr->num == 0 ||
	    dev->mem.n == 0 || (need_enable && !vr->enabled))
		return;
	vr->q.event_idx = (dev->features & VHOST_BIT(VHOST_F_EVENT_IDX)) != 0;
	vr->q.indirect = (dev->features &
	    VHOST_BIT(VHOST_F_INDIRECT_DESC)) != 0;
	vr->said = false;
	if (vq_setup(&vr->q, &dev->mem, vr->num, vr->desc_uva, vr->avail_uva,
	    vr->used_uva, vr->base) == -1) {
		vhost_ring_broken(dev, i);
		return;
	}
	vr->running = true;
	if (dev->hooks != NULL && dev->hooks->ring != NULL)
		dev->hooks->ring(dev->arg, i, true);
}

/*
 * The rings on a table that changed (no ring runs): translated again,
 * those stopped for addresses outside the old table too.
 */
static void
vhost_rings_retry(struct vhost_dev *dev)
{
	for (unsigned i = 0; i < VHOST_VRINGS; i++) {
		struct virtq	*q = &dev->vr[i].q;

		if (q->err == VQ_ERR_RING_ADDR)
			vq_reset(q);
		if (q->err == VQ_OK)
			vhost_ring_check(dev, i);
	}
}

static void
vhost_unmap_one(struct vhost_map *m)
{
	if (m->addr != NULL) {
		vhost_guard_del(m->addr);
		munmap(m->addr, m->len);
	}
	memset(m, 0, sizeof(*m));
}

static void
vhost_unmap(struct vhost_dev *dev)
{
	for (unsigned i = 0; i < VQ_REGIONS_MAX; i++)
		vhost_unmap_one(&dev->map[i]);
	memset(&dev->mem, 0, sizeof(dev->mem));
}

static void
vhost_drop_fds(struct vhost_dev *dev)
{
	for (unsigned i = 0; i < dev->nfds; i++)
		vhost_close(&dev->fds[i]);
	dev->nfds = 0;
}

void
vhost_dev_reset(struct vhost_dev *dev)
{
	for (unsigned i = 0; i < VHOST_VRINGS; i++) {
		vhost_ring_stop(dev, i);
		vhost_close(&dev->vr[i].kickfd);
		vhost_close(&dev->vr[i].callfd);
		vhost_close(&dev->vr[i].errfd);
		vhost_vring_init(&dev->vr[i]);
	}
	vhost_unmap(dev);
	vhost_drop_fds(dev);
	dev->have = 0;
	dev->features = 0;
	dev->protocol = 0;
	dev->hdr_len = 10;
	dev->mem_refused = false;
	dev->want_mem = false;
	if (dev->hooks != NULL && dev->hooks->features != NULL)
		dev->hooks->features(dev->arg);
}

void
vhost_dev_check_mem(struct vhost_dev *dev)
{
	unsigned	i, lost;

	for (lost = 0; lost < dev->mem.n; lost++)
		if (vhost_guard_lost(dev->map[lost].addr))
			break;
	if (lost == dev->mem.n)
		return;
	vhost_rings_stop(dev);
	for (i = 0; i < VHOST_VRINGS; i++) {
		if (!dev->vr[i].addr_set)
			continue;
		/* The cause, over what the zero pages made the ring see. */
		vq_reset(&dev->vr[i].q);
		vq_stop(&dev->vr[i].q, VQ_ERR_RING_ADDR, "guest memory region "
		    "%u shrank under the ring (its file was truncated; "
		    "memory-backend-memfd,share=on seals it)", lost);
		dev->vr[i].said = false;
		vhost_ring_broken(dev, i);
	}
	/* The zero pages put in its place are no guest memory. */
	vhost_unmap_one(&dev->map[lost]);
	memmove(&dev->map[lost], &dev->map[lost + 1], (dev->mem.n - lost - 1) *
	    sizeof(dev->map[0]));
	memmove(&dev->mem.r[lost], &dev->mem.r[lost + 1], (dev->mem.n - lost -
	    1) * sizeof(dev->mem.r[0]));
	dev->mem.n--;
	memset(&dev->map[dev->mem.n], 0, sizeof(dev->map[0]));
	memset(&dev->mem.r[dev->mem.n], 0, sizeof(dev->mem.r[0]));
}

void
vhost_dev_attach(struct vhost_dev *dev, int fd)
{
	vhost_dev_reset(dev);
	dev->fd = fd;
	dev->why[0] = '\0';
}

bool
vhost_ring_running(const struct vhost_dev *dev, unsigned i)
{
	return i < VHOST_VRINGS && dev->vr[i].running &&
	    vq_ok(&dev->vr[i].q);
}

void
vhost_ring_signal(struct vhost_dev *dev, unsigned i)
{
	struct vhost_vring	*vr = &dev->vr[i];
	uint64_t		 one = 1;

	if (vr->callfd != -1 && vq_need_signal(&vr->q))
		(void)!write(vr->callfd, &one, sizeof(one));
}

void
vhost_ring_broken(struct vhost_dev *dev, unsigned i)
{
	struct vhost_vring	*vr = &dev->vr[i];
	char			 msg[sizeof(dev->why)];
	uint64_t		 one = 1;

	if (vr->said)
		return;
	vr->said = true;
	snprintf(dev->why, sizeof(dev->why), "%s ring stopped: %s",
	    i % 2 == VHOST_RX ? "receive" : "transmit", vr->q.why);
	memcpy(msg, dev->why, sizeof(msg));
	vhost_note(dev, msg);
	if (vr->errfd != -1)
		(void)!write(vr->errfd, &one, sizeof(one));
	if (dev->hooks != NULL && dev->hooks->broken != NULL)
		dev->hooks->broken(dev->arg, i);
}

static int
vhost_send(struct vhost_dev *dev, uint32_t request, const void *payload,
    uint32_t size)
{
	uint8_t		buf[VHOST_USER_HDR_LEN + 64];
	uint32_t	hdr[3] = { request,
	    VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, size };
	ssize_t		n;

	memcpy(buf, hdr, sizeof(hdr));
	memcpy(buf + VHOST_USER_HDR_LEN, payload, size);
	do
		n = send(dev->fd, buf, VHOST_USER_HDR_LEN + size,
		    MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)(VHOST_USER_HDR_LEN + size))
		return vhost_fail(dev, "cannot reply to %s: %s",
		    vhost_request_name(request), n == -1 ? strerror(errno) :
		    "short write");
	return 0;
}

static int
vhost_reply_u64(struct vhost_dev *dev, uint32_t request, uint64_t v)
{
	return vhost_send(dev, request, &v, sizeof(v));
}

/* The payload's size, checked against what the spec gives request. */
static int
vhost_payload(struct vhost_dev *dev, uint32_t request, uint32_t size)
{
	for (size_t i = 0; i < sizeof(request_sizes) /
	    sizeof(request_sizes[0]); i++) {
		if (request_sizes[i].request != request)
			continue;
		if (size != request_sizes[i].size)
			return vhost_bad(dev, "%s with %u bytes of payload (%u "
			    "wanted)", vhost_request_name(request), size,
			    request_sizes[i].size);
		return 0;
	}
	return 0;
}

/* The ring of a state or addr message, checked. */
static int
vhost_index(struct vhost_dev *dev, uint32_t request, uint32_t index)
{
	if (index >= VHOST_VRINGS)
		return vhost_bad(dev, "%s for ring %u (this device has %u: "
		    "one queue pair)", vhost_request_name(request), index,
		    VHOST_VRINGS);
	return 0;
}

static int
vhost_not_shared(struct vhost_dev *dev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Guest memory refused (the connection stays): said once, as why. */
static int
vhost_not_shared(struct vhost_dev *dev, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(dev->why, sizeof(dev->why), "guest memory is not shared "
	    "(use memory-backend-memfd,share=on): ");
	va_start(ap, fmt);
	vsnprintf(dev->why + n, sizeof(dev->why) - (size_t)n, fmt, ap);
	va_end(ap);
	dev->mem_refused = true;
	vhost_note(dev, dev->why);
	return 1;
}

/*
 * Maps region r of file fd into m and reg: 0, 1 refused as not shared
 * (why says so), -1 a region that breaks the protocol (why).  The seals
 * are read before the size: a file sealed then never shrinks below the
 * size seen.  Every region is guarded all the same (vhost-guard.h): a
 * sealed hugetlbfs file faults too when its page pool runs dry.
 */
static int
vhost_map_region(struct vhost_dev *dev, const char *what,
    const struct vhost_region_msg *r, int fd, struct vhost_map *m,
    struct vq_region *reg)
{
	struct stat	st;
	size_t		len;
	void		*a;
	int		seals, error;

	if (r->size == 0 || r->size > SIZE_MAX - r->mmap_offset ||
	    r->gpa > UINT64_MAX - r->size || r->uva > UINT64_MAX - r->size)
		return vhost_bad(dev, "%s: size 0x%llx at offset 0x%llx", what,
		    (unsigned long long)r->size,
		    (unsigned long long)r->mmap_offset);
	len = r->size + r->mmap_offset;
	seals = fcntl(fd, F_GET_SEALS);
	/* Pages past the end of the file would fault (SIGBUS). */
	if (fstat(fd, &st) == -1 || st.st_size < 0 ||
	    (uint64_t)st.st_size < len)
		return vhost_bad(dev, "%s: 0x%llx bytes at offset 0x%llx run "
		    "past the end of its file", what,
		    (unsigned long long)r->size,
		    (unsigned long long)r->mmap_offset);
	a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED)
		return vhost_not_shared(dev, "cannot map %s of %llu bytes: %s",
		    what, (unsigned long long)r->size, strerror(errno));
	m->unsealed = seals == -1 || !(seals & F_SEAL_SHRINK);
	if ((error = vhost_guard_add(a, len)) != 0) {
		munmap(a, len);
		return vhost_not_shared(dev, "%s cannot be guarded against "
		    "shrinking: %s", what, strerror(error));
	}
	m->addr = a;
	m->len = len;
	reg->gpa = r->gpa;
	reg->size = r->size;
	reg->uva = r->uva;
	reg->host = (uint8_t *)a + r->mmap_offset;
	return 0;
}

/*
 * Maps the new table first, then stops the rings, unmaps the old one and
 * translates the rings again on the new one, so no running ring ever
 * points at unmapped memory.
 */
static int
vhost_set_mem_table(struct vhost_dev *dev, const uint8_t *p, uint32_t size,
    bool *ok)
{
	struct vhost_map	map[VQ_REGIONS_MAX] = { 0 };
	struct vq_mem		mem = { 0 };
	struct vhost_region_msg	r;
	char			what[48];
	uint32_t		n = 0;
	unsigned		i;
	int			rc = 0;

	*ok = false;
	if (size >= sizeof(n))
		memcpy(&n, p, sizeof(n));
	if (size < 8 || n > VQ_REGIONS_MAX || size != 8 + n * sizeof(r))
		return vhost_bad(dev, "SET_MEM_TABLE of %u regions in %u bytes "
		    "(8 and 32 per region, at most %u regions)", n, size,
		    VQ_REGIONS_MAX);
	if (dev->nfds < n) {
		vhost_not_shared(dev, "%u of %u regions came without a "
		    "descriptor", n - dev->nfds, n);
		return 0;
	}
	for (i = 0; i < n; i++) {
		memcpy(&r, p + 8 + i * sizeof(r), sizeof(r));
		snprintf(what, sizeof(what), "SET_MEM_TABLE region %u", i);
		if ((rc = vhost_map_region(dev, what, &r, dev->fds[i], &map[i],
		    &mem.r[i])) != 0)
			goto unmap;
	}
	mem.n = n;
	vhost_rings_stop(dev);
	vhost_unmap(dev);
	dev->mem = mem;
	memcpy(dev->map, map, sizeof(map));
	dev->mem_refused = false;
	dev->want_mem = false;
	vhost_rings_retry(dev);
	*ok = true;
	return 0;

unmap:
	for (unsigned j = 0; j < i; j++)
		vhost_unmap_one(&map[j]);
	return rc == -1 ? -1 : 0;
}

/* Whether [a, a + al) and [b, b + bl) meet (neither wraps). */
static bool
vhost_overlap(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	return a < b + bl && b < a + al;
}

/* ADD_MEM_REG: one more region (hot-plug), the running rings moved on. */
static int
vhost_add_mem_reg(struct vhost_dev *dev, const uint8_t *p, bool *ok)
{
	struct vhost_mem_reg_msg m;
	struct vhost_map	 map = { 0 };
	struct vq_region	 reg;
	const unsigned		 n = dev->mem.n;
	int			 rc;

	*ok = false;
	memcpy(&m, p, sizeof(m));
	if (dev->nfds < 1) {
		vhost_not_shared(dev, "ADD_MEM_REG came without a descriptor");
		return 0;
	}
	if (n == VQ_REGIONS_MAX) {
		dev->bad_requests++;
		snprintf(dev->why, sizeof(dev->why), "ADD_MEM_REG refused: "
		    "guest memory has %u regions already, the most a port maps",
		    n);
		vhost_note(dev, dev->why);
		return 0;
	}
	if ((rc = vhost_map_region(dev, "ADD_MEM_REG", &m.r, dev->fds[0], &map,
	    &reg)) != 0)
		return rc == -1 ? -1 : 0;
	for (unsigned i = 0; i < n; i++) {
		const struct vq_region *o = &dev->mem.r[i];

		if (!vhost_overlap(reg.gpa, reg.size, o->gpa, o->size) &&
		    !vhost_overlap(reg.uva, reg.size, o->uva, o->size))
			continue;
		vhost_unmap_one(&map);
		dev->bad_requests++;
		snprintf(dev->why, sizeof(dev->why), "ADD_MEM_REG refused: "
		    "0x%llx bytes at guest 0x%llx overlap region %u",
		    (unsigned long long)reg.size, (unsigned long long)reg.gpa,
		    i);
		vhost_note(dev, dev->why);
		return 0;
	}
	vhost_rings_stop(dev);
	dev->mem.r[n] = reg;
	dev->map[n] = map;
	dev->mem.n = n + 1;
	dev->mem_refused = false;
	dev->want_mem = false;
	vhost_rings_retry(dev);
	*ok = true;
	return 0;
}

/*
 * REM_MEM_REG: the region of that guest address, user address and size
 * goes; rings in it stop (outside guest memory) until a table has it.
 */
static void
vhost_rem_mem_reg(struct vhost_dev *dev, const uint8_t *p, bool *ok)
{
	struct vhost_mem_reg_msg m;
	unsigned		 i, n = dev->mem.n;

	memcpy(&m, p, sizeof(m));
	for (i = 0; i < n; i++)
		if (dev->mem.r[i].gpa == m.r.gpa &&
		    dev->mem.r[i].uva == m.r.uva &&
		    dev->mem.r[i].size == m.r.size)
			break;
	if (i == n) {
		*ok = false;
		dev->bad_requests++;
		snprintf(dev->why, sizeof(dev->why), "REM_MEM_REG refused: no "
		    "region of 0x%llx bytes at guest 0x%llx",
		    (unsigned long long)m.r.size, (unsigned long long)m.r.gpa);
		vhost_note(dev, dev->why);
		return;
	}
	vhost_rings_stop(dev);
	vhost_unmap_one(&dev->map[i]);
	memmove(&dev->map[i], &dev->map[i + 1], (n - i - 1) *
	    sizeof(dev->map[0]));
	memmove(&dev->mem.r[i], &dev->mem.r[i + 1], (n - i - 1) *
	    sizeof(dev->mem.r[0]));
	dev->mem.n = n - 1;
	memset(&dev->map[n - 1], 0, sizeof(dev->map[0]));
	memset(&dev->mem.r[n - 1], 0, sizeof(dev->mem.r[0]));
	vhost_rings_retry(dev);
}

/* KICK, CALL, ERR: the ring in the low byte, the fd with the message. */
static int
vhost_set_fd(struct vhost_dev *dev, uint32_t request, const uint8_t *p)
{
	struct vhost_vring	*vr;
	uint64_t		 v;
	unsigned		 i;
	int			 fd = -1, fl;

	memcpy(&v, p, sizeof(v));
	i = v & VHOST_USER_VRING_IDX_MASK;
	if (vhost_index(dev, request, i) == -1)
		return -1;
	vr = &dev->vr[i];
	if (!(v & VHOST_USER_VRING_NOFD)) {
		if (dev->nfds < 1)
			return vhost_bad(dev, "%s for ring %u without a "
			    "descriptor", vhost_request_name(request), i);
		fd = dev->fds[0];
		dev->fds[0] = -1;
		/*
		 * QEMU is not trusted to hand over a non-blocking eventfd: a
		 * blocking one whose counter it filled (or a full pipe) would
		 * block the daemon on our next interrupt or error report.
		 */
		if ((fl = fcntl(fd, F_GETFL)) == -1 ||
		    (!(fl & O_NONBLOCK) &&
		    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)) {
			fl = errno;
			close(fd);
			return vhost_fail(dev, "%s for ring %u: cannot make "
			    "its descriptor non-blocking: %s",
			    vhost_request_name(request), i, strerror(fl));
		}
	}
	switch (request) {
	case VHOST_USER_SET_VRING_KICK:
		vhost_ring_stop(dev, i);
		vhost_close(&vr->kickfd);
		vr->kickfd = fd;
		vr->kick_set = true;
		vhost_ring_check(dev, i);
		break;
	case VHOST_USER_SET_VRING_CALL:
		vhost_close(&vr->callfd);
		vr->callfd = fd;
		break;
	default:
		vhost_close(&vr->errfd);
		vr->errfd = fd;
		break;
	}
	return 0;
}

/* SET_FEATURES: applied with no ring running (the spec's rule). */
static int
vhost_set_features(struct vhost_dev *dev, uint64_t v)
{
	bool	was[VHOST_VRINGS];

	if (v & ~dev->offer)
		return vhost_bad(dev, "SET_FEATURES 0x%llx: 0x%llx never "
		    "offered", (unsigned long long)v,
		    (unsigned long long)(v & ~dev->offer));
	for (unsigned i = 0; i < VHOST_VRINGS; i++) {
		/* A ring the guest broke stays stopped (not running). */
		was[i] = vhost_ring_running(dev, i);
		vhost_ring_stop(dev, i);
	}
	dev->features = v;
	dev->want_mem = dev->mem.n == 0;
	dev->hdr_len = v & (VHOST_BIT(VHOST_F_VERSION_1) |
	    VHOST_BIT(VHOST_F_MRG_RXBUF)) ? 12 : 10;
	for (unsigned i = 0; i < VHOST_VRINGS; i++) {
		dev->vr[i].q.event_idx = (v & VHOST_BIT(VHOST_F_EVENT_IDX)) != 0;
		dev->vr[i].q.indirect = (v &
		    VHOST_BIT(VHOST_F_INDIRECT_DESC)) != 0;
	}
	if (dev->hooks != NULL && dev->hooks->features != NULL)
		dev->hooks->features(dev->arg);
	/* Started again where they were, under the new features. */
	for (unsigned i = 0; i < VHOST_VRINGS; i++)
		if (was[i])
			vhost_ring_check(dev, i);
	return 0;
}

/* Handles one whole message: 0, or -1 to end the connection. */
static int
vhost_handle(struct vhost_dev *dev)
{
	uint32_t		 hdr[3];
	const uint8_t		*p = dev->msg + VHOST_USER_HDR_LEN;
	struct vhost_state_msg	 st;
	struct vhost_addr_msg	 ad;
	struct vhost_vring	*vr;
	uint64_t		 v;
	bool			 ok = true, ack;
	char			 msg[96];

	memcpy(hdr, dev->msg, sizeof(hdr));
	const uint32_t request = hdr[0], flags = hdr[1], size = hdr[2];

	if (vhost_payload(dev, request, size) == -1)
		return -1;
	/* Decided now: RESET_OWNER forgets the protocol features. */
	ack = (flags & VHOST_USER_FLAG_NEED_REPLY) &&
	    (dev->protocol & VHOST_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK));
	switch (request) {
	case VHOST_USER_GET_FEATURES:
		return vhost_reply_u64(dev, request, dev->offer);
	case VHOST_USER_SET_FEATURES:
		memcpy(&v, p, sizeof(v));
		if (vhost_set_features(dev, v) == -1)
			return -1;
		break;
	case VHOST_USER_SET_OWNER:
		break;
	case VHOST_USER_RESET_OWNER:
		/* As a new connection finds the device. */
		vhost_dev_reset(dev);
		break;
	case VHOST_USER_SET_MEM_TABLE:
		if (vhost_set_mem_table(dev, p, size, &ok) == -1)
			return -1;
		break;
	case VHOST_USER_SET_LOG_BASE:
	case VHOST_USER_SET_LOG_FD:
		/* Never offered (no VHOST_F_LOG_ALL): migration logging. */
		vhost_note(dev, "refused dirty-page logging (live migration "
		    "is not supported)");
		ok = false;
		break;
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
		memcpy(&st, p, sizeof(st));
		if (vhost_index(dev, request, st.index) == -1)
			return -1;
		vr = &dev->vr[st.index];
		if (request == VHOST_USER_SET_VRING_NUM) {
			/* Checked when the ring starts: it stops if bad. */
			vhost_ring_stop(dev, st.index);
			vr->num = st.num;
		} else if (request == VHOST_USER_SET_VRING_BASE) {
			vhost_ring_stop(dev, st.index);
			vr->base = (uint16_t)st.num;
		} else if (request == VHOST_USER_GET_VRING_BASE) {
			/* Where it got to, also when the guest broke it. */
			vhost_ring_stop(dev, st.index);
			st.num = vr->base;
			vhost_close(&vr->kickfd);
			vr->kick_set = false;
			vq_reset(&vr->q);
			return vhost_send(dev, request, &st, sizeof(st));
		} else {
			vr->enabled = st.num != 0;
			if (vr->enabled)
				vhost_ring_check(dev, st.index);
			else
				vhost_ring_stop(dev, st.index);
		}
		break;
	case VHOST_USER_SET_VRING_ADDR:
		memcpy(&ad, p, sizeof(ad));
		if (vhost_index(dev, request, ad.index) == -1)
			return -1;
		vr = &dev->vr[ad.index];
		vhost_ring_stop(dev, ad.index);
		vr->desc_uva = ad.desc;
		vr->avail_uva = ad.avail;
		vr->used_uva = ad.used;
		vr->addr_set = true;
		dev->want_mem = dev->mem.n == 0;
		vhost_ring_check(dev, ad.index);
		break;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		if (vhost_set_fd(dev, request, p) == -1)
			return -1;
		break;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		return vhost_reply_u64(dev, request, VHOST_PROTOCOL_OFFER);
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		memcpy(&v, p, sizeof(v));
		dev->protocol = v & VHOST_PROTOCOL_OFFER;
		break;
	case VHOST_USER_GET_QUEUE_NUM:
		return vhost_reply_u64(dev, request, VHOST_VRINGS / 2);
	case VHOST_USER_SEND_RARP:
		break;
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		return vhost_reply_u64(dev, request, VQ_REGIONS_MAX);
	case VHOST_USER_ADD_MEM_REG:
		if (vhost_add_mem_reg(dev, p, &ok) == -1)
			return -1;
		break;
	case VHOST_USER_REM_MEM_REG:
		/* A descriptor sent with it (the spec allows one) is closed. */
		vhost_rem_mem_reg(dev, p, &ok);
		break;
	default:
		snprintf(msg, sizeof(msg), "ignored vhost-user request %u "
		    "(not supported)", request);
		vhost_note(dev, msg);
		ok = false;
		break;
	}
	if (ack)
		return vhost_reply_u64(dev, request, ok ? 0 : 1);
	return 0;
}

/* Reads toward want bytes of the message: 1 whole, 0 not yet, -1 end. */
static int
vhost_read(struct vhost_dev *dev, size_t want)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(VHOST_USER_FDS_MAX *
				    sizeof(int))];
	}			 cbuf;
	struct iovec		 iov = { dev->msg + dev->have,
	    want - dev->have };
	struct msghdr		 m = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf) };
	struct cmsghdr		*c;
	ssize_t			 n;
	int			 fd;

	if (dev->have >= want)
		return 1;
	do
		n = recvmsg(dev->fd, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return 0;
	if (n == -1)
		return vhost_fail(dev, "connection failed: %s",
		    strerror(errno));
	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t off = 0; off + sizeof(int) <=
		    c->cmsg_len - CMSG_LEN(0); off += sizeof(int)) {
			memcpy(&fd, CMSG_DATA(c) + off, sizeof(fd));
			if (dev->nfds < VHOST_USER_FDS_MAX)
				dev->fds[dev->nfds++] = fd;
			else
				close(fd);
		}
	}
	if (n == 0)
		return vhost_fail(dev, "%s", dev->have == 0 ? "QEMU "
		    "disconnected" : "QEMU disconnected in the middle of a "
		    "message");
	dev->have += (size_t)n;
	return dev->have >= want ? 1 : 0;
}

int
vhost_dev_readable(struct vhost_dev *dev)
{
	uint32_t	size;
	int		r;

	vhost_dev_check_mem(dev);
	/* A bound, so one chatty peer cannot hold the loop. */
	for (int i = 0; i < 64; i++) {
		if ((r = vhost_read(dev, VHOST_USER_HDR_LEN)) != 1)
			return r;
		memcpy(&size, dev->msg + 8, sizeof(size));
		if (size > VHOST_USER_PAYLOAD_MAX)
			return vhost_bad(dev, "a message of %u bytes (at "
			    "most %u)", size, VHOST_USER_PAYLOAD_MAX);
		if ((r = vhost_read(dev, VHOST_USER_HDR_LEN + size)) != 1)
			return r;
		r = vhost_handle(dev);
		vhost_drop_fds(dev);
		dev->have = 0;
		if (r == -1)
			return -1;
	}
	return 0;
}
