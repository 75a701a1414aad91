/*
 * fuzz-capture.c - libFuzzer target for the capture path: a BPF filter
 * compiled for the port's link type, then the frames or underlay datagrams
 * a port hook hands a capture, cut to snaplen and queued as pcap records,
 * and the outer headers synthesized for a tunnel's datagrams
 * (cap_outer_build()).
 *
 * The input is
 *   [mode][snaplen: 2 bytes][filter, up to a NUL][rest]
 * mode bit 0: the underlay (outer) of a tunnel, else inner frames;
 *      bit 1: an L3 port (raw IP) for inner frames;
 *      bit 2: IPv6 outer addresses; bit 3: UDP outer, else GRE;
 *      bits 4-5: the directions captured (0 is taken as both);
 *      bit 6: inner frames carry a vnet header (10 bytes first), which
 *             must pass tap_vnet_check() as a tap's would: super-frames
 *             are recorded as their segments.
 * For outer: rest is [src addr][dst addr][sport: 2][dport: 2][hlen][hdr]
 * [data], the addresses 4 or 16 bytes.  For inner: rest is the frame.
 *
 * The capture runs without its writer thread: records queue in a small
 * ring and, once it is full, are dropped and counted, the same code.
 * cap_outer_build() is also called into buffers of every size up to the
 * packet's, and must never write past one.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/cap-outer.h"
#include "capture/capture.h"
#include "datapath/tap-vnet.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FILTER_MAX	256
#define OUTER_ROOM	(CAP_IP6_HLEN + CAP_UDP_HLEN + 4096)

static struct pkt_pool	*pool;

struct input {
	const uint8_t	*p;
	size_t		 left;
};

static const uint8_t *
take(struct input *in, size_t n)
{
	const uint8_t	*p = in->p;

	if (in->left < n)
		return NULL;
	in->p += n;
	in->left -= n;
	return p;
}

/* cap_outer_build() into every smaller buffer: 0 or the whole packet. */
static void
check_outer_build(const struct port_outer *o)
{
	static uint8_t	buf[OUTER_ROOM + 1];
	size_t		full, n;

	full = cap_outer_build(o, buf, OUTER_ROOM);
	if (full > OUTER_ROOM)
		abort();
	for (size_t size = 0; size <= full && size < 128; size++) {
		buf[size] = 0xa5;
		n = cap_outer_build(o, buf, size);
		if ((n != 0 && n != full) || n > size || buf[size] != 0xa5)
			abort();
	}
}

static void
feed_outer(struct cap *cap, unsigned mode, struct input *in,
    const struct timeval *tv)
{
	struct sockaddr_in6	 s6, d6;
	struct sockaddr_in	 s4, d4;
	struct port_outer	 o = { .proto = mode & 8 ? IPPROTO_UDP :
				    IPPROTO_GRE };
	const uint8_t		*src, *dst, *ports, *hl;
	size_t			 alen = mode & 4 ? 16 : 4;

	if ((src = take(in, alen)) == NULL || (dst = take(in, alen)) == NULL ||
	    (ports = take(in, 4)) == NULL || (hl = take(in, 1)) == NULL ||
	    (o.hdr = take(in, *hl % 32)) == NULL)
		return;
	o.hlen = *hl % 32;
	o.data = in->p;
	o.len = in->left;
	if (alen == 16) {
		s6 = (struct sockaddr_in6){ .sin6_family = AF_INET6 };
		d6 = s6;
		memcpy(&s6.sin6_addr, src, 16);
		memcpy(&d6.sin6_addr, dst, 16);
		memcpy(&s6.sin6_port, ports, 2);
		memcpy(&d6.sin6_port, ports + 2, 2);
		o.src = (struct sockaddr *)&s6;
		o.dst = (struct sockaddr *)&d6;
	} else {
		s4 = (struct sockaddr_in){ .sin_family = AF_INET };
		d4 = s4;
		memcpy(&s4.sin_addr, src, 4);
		memcpy(&d4.sin_addr, dst, 4);
		memcpy(&s4.sin_port, ports, 2);
		memcpy(&d4.sin_port, ports + 2, 2);
		o.src = (struct sockaddr *)&s4;
		o.dst = (struct sockaddr *)&d4;
	}
	check_outer_build(&o);
	for (int i = 0; i < 3; i++)
		cap_outer(cap, i % 2 ? PORT_DIR_RX : PORT_DIR_TX, &o, tv);
}

static void
feed_inner(struct cap *cap, unsigned mode, struct input *in,
    const struct timeval *tv)
{
	struct virtio_net_hdr	 h = { 0 };
	const uint8_t		*vh;
	struct pkt_batch	 b;
	struct pkt		*p;
	size_t			 len;

	if (mode & 0x40) {
		if ((vh = take(in, sizeof(h))) == NULL)
			return;
		memcpy(&h, vh, sizeof(h));
	}
	if ((len = in->left) == 0 || len > PKT_GSO_DATA_ROOM ||
	    !tap_vnet_check(&h, (uint32_t)len))
		return;
	if ((p = pkt_alloc(pool)) == NULL)
		abort();
	memcpy(p->data, in->p, len);
	p->len = (uint32_t)len;
	p->vnet = h;
	pkt_batch_init(&b);
	pkt_batch_add(&b, p);
	for (int i = 0; i < 3; i++)
		cap_frames(cap, i % 2 ? PORT_DIR_RX : PORT_DIR_TX, &b, tv);
	/* The capture copies what it records: the frame is as it was. */
	if (p->len != len || memcmp(p->data, in->p, len) != 0)
		abort();
	pkt_batch_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct timeval	 tv = { 1700000000, 1 };
	struct input			 in = { data, size };
	struct cap_config		 cfg = { .ring_size = 1u << 16 };
	struct cap_stats		 st;
	struct cap			*cap;
	char				 filter[FILTER_MAX + 1], err[512];
	const uint8_t			*hdr, *nul;
	unsigned			 mode;
	size_t				 flen;

	if (pool == NULL &&
	    (pool = pkt_pool_create(4, PKT_GSO_DATA_ROOM)) == NULL)
		abort();
	if ((hdr = take(&in, 3)) == NULL)
		return 0;
	mode = hdr[0];
	cfg.snaplen = (uint32_t)(hdr[1] << 8 | hdr[2]) * 4 + 1;
	if (cfg.snaplen > CAP_SNAPLEN_MAX)
		cfg.snaplen = CAP_SNAPLEN_MAX;
	nul = memchr(in.p, 0, in.left < FILTER_MAX ? in.left : FILTER_MAX);
	if (nul == NULL)
		return 0;
	flen = (size_t)(nul - in.p);
	memcpy(filter, in.p, flen);
	filter[flen] = '\0';
	take(&in, flen + 1);
	cfg.filter = filter;
	cfg.outer = mode & 1;
	cfg.l3 = mode & 2;
	cfg.dirs = (mode >> 4) & 3 ? (mode >> 4) & 3 : CAP_RX | CAP_TX;
	if ((cfg.fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1)
		abort();
	if (cap_create(&cfg, &cap, err, sizeof(err)) != 0) {
		close(cfg.fd);		/* still ours on failure */
		return 0;
	}
	if (cfg.outer)
		feed_outer(cap, mode, &in, &tv);
	else
		feed_inner(cap, mode, &in, &tv);
	cap_get_stats(cap, &st);
	if (st.written > st.matched || st.dropped > st.matched)
		abort();
	cap_finish(cap);
	cap_destroy(cap);
	if (pkt_pool_avail(pool) != 4)
		abort();
	return 0;
}
