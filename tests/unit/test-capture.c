/*
 * test-capture.c - captures written to files and pipes, read back with
 * libpcap: link types, filters, snaplen, direction, count, max-size, a
 * reader that does not read, a reader that goes away, and the synthesized
 * outer headers of tunnel datagrams.
 */
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
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

#include <pcap/pcap.h>

#include "capture/cap-outer.h"
#include "capture/capture.h"

#define ETHERTYPE_ARP	0x0806
#define ETHERTYPE_IP	0x0800

struct fixture {
	struct pkt_pool	*pool;
	char		 path[64];
	int		 notify;
};

static const struct timeval	TS = { 1700000000, 123456 };

static int
setup(void **state)
{
	static struct fixture	f;
	int			fd;

	strcpy(f.path, "/tmp/vsw-test-capture-XXXXXX");
	if ((fd = mkstemp(f.path)) == -1)
		return -1;
	close(fd);
	f.pool = pkt_pool_create(64, PKT_DATA_ROOM);
	f.notify = eventfd(0, EFD_CLOEXEC);
	*state = &f;
	return f.pool != NULL && f.notify != -1 ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	unlink(f->path);
	pkt_pool_destroy(f->pool);
	close(f->notify);
	return 0;
}

/* An IPv4 packet of len bytes (ICMP or UDP), or ARP, in an Ethernet frame. */
static struct pkt *
frame(struct fixture *f, uint16_t type, uint8_t proto, size_t len)
{
	struct pkt	*p = pkt_alloc(f->pool);

	assert_non_null(p);
	memset(p->data, 0, len);
	memset(p->data, 0xff, 6);
	memcpy(p->data + 6, "\x02\x00\x00\x00\x00\x01", 6);
	p->data[12] = (uint8_t)(type >> 8);
	p->data[13] = (uint8_t)type;
	if (type == ETHERTYPE_IP) {
		p->data[14] = 0x45;
		p->data[16] = (uint8_t)((len - 14) >> 8);
		p->data[17] = (uint8_t)(len - 14);
		p->data[22] = 64;
		p->data[23] = proto;
	}
	p->len = (uint32_t)len;
	return p;
}

static void
batch_of(struct fixture *f, struct pkt_batch *b, unsigned n, uint16_t type,
    size_t len)
{
	pkt_batch_init(b);
	for (unsigned i = 0; i < n; i++)
		pkt_batch_add(b, frame(f, type, IPPROTO_ICMP, len));
}

static int
open_out(struct fixture *f)
{
	int	fd = open(f->path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static struct cap *
start(struct fixture *f, struct cap_config *cfg)
{
	struct cap	*cap;
	char		 err[256];

	if (cfg->snaplen == 0)
		cfg->snaplen = CAP_SNAPLEN_MAX;
	if (cfg->dirs == 0)
		cfg->dirs = CAP_RX | CAP_TX;
	assert_int_equal(cap_create(cfg, &cap, err, sizeof(err)), 0);
	assert_int_equal(cap_start(cap, f->notify), 0);
	return cap;
}

/* Finishes the capture and waits for its writer's signal. */
static void
stop(struct fixture *f, struct cap *cap, struct cap_stats *st)
{
	struct pollfd	pfd = { .fd = f->notify, .events = POLLIN };
	uint64_t	v;

	cap_finish(cap);
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(read(f->notify, &v, sizeof(v)), sizeof(v));
	assert_true(cap_done(cap));
	if (st != NULL)
		cap_get_stats(cap, st);
	cap_destroy(cap);
}

/* The file's records; checks its link type and snaplen. */
static unsigned
read_back(struct fixture *f, int dlt, int snaplen, unsigned *lens,
    unsigned *caplens)
{
	char			 err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr	*h;
	const u_char		*data;
	pcap_t			*p;
	unsigned		 n = 0;

	p = pcap_open_offline(f->path, err);
	if (p == NULL)
		fail_msg("%s", err);
	assert_int_equal(pcap_datalink(p), dlt);
	assert_int_equal(pcap_snapshot(p), snaplen);
	while (pcap_next_ex(p, &h, &data) == 1) {
		assert_int_equal(h->ts.tv_sec, TS.tv_sec);
		assert_int_equal(h->ts.tv_usec, TS.tv_usec);
		if (lens != NULL)
			lens[n] = h->len;
		if (caplens != NULL)
			caplens[n] = h->caplen;
		n++;
	}
	pcap_close(p);
	return n;
}

static void
test_filter_and_link_type(void **state)
{
	struct fixture		*f = *state;
	struct cap_config	 cfg = { .filter = "arp" };
	struct cap_stats	 st;
	struct pkt_batch	 b;
	struct cap		*cap;

	cfg.fd = open_out(f);
	cap = start(f, &cfg);
	assert_string_equal(cap_link_name(cap), "EN10MB");
	pkt_batch_init(&b);
	for (unsigned i = 0; i < 10; i++)
		pkt_batch_add(&b, frame(f, i % 2 ? ETHERTYPE_ARP :
		    ETHERTYPE_IP, IPPROTO_ICMP, 60));
	assert_int_equal(cap_frames(cap, PORT_DIR_RX, &b, &TS), CAP_RUNNING);
	assert_int_equal(cap_frames(cap, PORT_DIR_TX, &b, &TS), CAP_RUNNING);
	pkt_batch_free(&b);
	stop(f, cap, &st);
	assert_int_equal(st.matched, 10);
	assert_int_equal(st.written, 10);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.bytes, 24 + 10 * (16 + 60));
	assert_int_equal(read_back(f, DLT_EN10MB, CAP_SNAPLEN_MAX, NULL, NULL),
	    10);
}

static void
test_snaplen_and_direction(void **state)
{
	struct fixture		*f = *state;
	struct cap_config	 cfg = { .snaplen = 64, .dirs = CAP_TX };
	struct pkt_batch	 b;
	struct cap		*cap;
	unsigned		 lens[8], caplens[8];

	cfg.fd = open_out(f);
	cap = start(f, &cfg);
	batch_of(f, &b, 3, ETHERTYPE_IP, 200);
	cap_frames(cap, PORT_DIR_RX, &b, &TS);
	cap_frames(cap, PORT_DIR_TX, &b, &TS);
	pkt_batch_free(&b);
	stop(f, cap, NULL);
	assert_int_equal(read_back(f, DLT_EN10MB, 64, lens, caplens), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(lens[i], 200);
		assert_int_equal(caplens[i], 64);
	}
}

static void
test_count_ends_the_capture(void **state)
{
	struct fixture		*f = *state;
	struct cap_config	 cfg = { .count = 3 };
	struct cap_stats	 st;
	struct pkt_batch	 b;
	struct cap		*cap;

	cfg.fd = open_out(f);
	cap = start(f, &cfg);
	batch_of(f, &b, 5, ETHERTYPE_ARP, 60);
	assert_int_equal(cap_frames(cap, PORT_DIR_RX, &b, &TS),
	    CAP_END_COUNT);
	assert_int_equal(cap_frames(cap, PORT_DIR_RX, &b, &TS),
	    CAP_END_COUNT);
	pkt_batch_free(&b);
	stop(f, cap, &st);
	assert_int_equal(st.written, 3);
	assert_int_equal(read_back(f, DLT_EN10MB, CAP_SNAPLEN_MAX, NULL, NULL),
	    3);
}

static void
test_max_size_is_never_passed(void **state)
{
	struct fixture		*f = *state;
	struct cap_config	 cfg = { .max_size = 1024 };
	struct pkt_batch	 b;
	struct stat		 sb;
	struct cap		*cap;
	enum cap_end		 end = CAP_RUNNING;

	cfg.fd = open_out(f);
	cap = start(f, &cfg);
	for (int i = 0; i < 10 && end == CAP_RUNNING; i++) {
		batch_of(f, &b, 4, ETHERTYPE_ARP, 100);
		end = cap_frames(cap, PORT_DIR_RX, &b, &TS);
		pkt_batch_free(&b);
	}
	assert_int_equal(end, CAP_END_MAX_SIZE);
	stop(f, cap, NULL);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_true(sb.st_size <= 1024);
	/* Every record that fits: (1024 - 24) / (16 + 100). */
	assert_int_equal(sb.st_size, 24 + 8 * 116);
	assert_int_equal(read_back(f, DLT_EN10MB, CAP_SNAPLEN_MAX, NULL, NULL),
	    8);
}

static void
test_bad_options_and_filters(void **state)
{
	struct fixture		*f = *state;
	struct cap_config	 cfg = { .snaplen = 100, .dirs = CAP_RX,
				    .filter = "tcp port" };
	struct cap		*cap = NULL;
	char			 err[256];
	int			 fd = open_out(f);

	cfg.fd = fd;
	assert_int_equal(cap_create(&cfg, &cap, err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "'tcp port'"));
	assert_non_null(strstr(err, "syntax error"));
	assert_null(cap);

	/* Compiled for the link type: raw IP has no Ethernet header. */
	cfg.filter = "ether host 02:00:00:00:00:01";
	cfg.l3 = true;
	assert_int_equal(cap_create(&cfg, &cap, err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "ether host"));
	cfg.l3 = false;
	assert_int_equal(cap_create(&cfg, &cap, err, sizeof(err)), 0);
	cap_destroy(cap);		/* never started; closes fd */

	fd = open_out(f);
	cfg = (struct cap_config){ .fd = fd, .snaplen = 0, .dirs = CAP_RX };
	assert_int_equal(cap_create(&cfg, &cap, err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "snaplen 0"));
	cfg.snaplen = 64;
	cfg.max_size = 100;
	assert_int_equal(cap_create(&cfg, &cap, err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "max-size 100"));
	cfg.max_size = 0;
	cfg.dirs = 0;
	assert_int_equal(cap_create(&cfg, &cap, err, sizeof(err)), EINVAL);
	/* Refused options leave the descriptor to the caller. */
	assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);
	close(fd);
}

/* A pipe nobody reads: the datapath side drops and counts, never waits. */
static void
test_reader_that_does_not_read(void **state)
{
	struct fixture		*f = *state;
	struct cap_config	 cfg = { .ring_size = 16384 };
	struct cap_stats	 st;
	struct pkt_batch	 b;
	struct cap		*cap;
	int			 p[2], shared;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	cfg.fd = p[1];
	shared = dup(p[1]);		/* the client's copy, say */
	cap = start(f, &cfg);
	/*
	 * The flag is the client's too (one open file description): left
	 * alone, so a daemon that dies mid-capture cannot leave it set.
	 */
	assert_false(fcntl(shared, F_GETFL) & O_NONBLOCK);
	for (int i = 0; i < 100; i++) {
		batch_of(f, &b, 32, ETHERTYPE_ARP, 1000);
		assert_int_equal(cap_frames(cap, PORT_DIR_RX, &b, &TS),
		    CAP_RUNNING);
		pkt_batch_free(&b);
	}
	cap_get_stats(cap, &st);
	assert_int_equal(st.matched, 3200);
	assert_true(st.dropped > 3000);
	stop(f, cap, &st);		/* gives up after CAPW_STALL_MS */
	assert_int_equal(st.written + st.dropped, 3200);
	assert_true(st.written > 0);
	assert_false(fcntl(shared, F_GETFL) & O_NONBLOCK);
	close(shared);
	close(p[0]);
}

/* The same through a socket: the client's stdout may be one (ssh, systemd). */
static void
test_socket_reader_that_does_not_read(void **state)
{
	struct fixture		*f = *state;
	struct cap_config	 cfg = { .ring_size = 16384 };
	struct cap_stats	 st;
	struct pkt_batch	 b;
	struct cap		*cap;
	int			 sp[2], shared;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sp), 0);
	cfg.fd = sp[1];
	shared = dup(sp[1]);
	cap = start(f, &cfg);
	for (int i = 0; i < 100; i++) {
		batch_of(f, &b, 32, ETHERTYPE_ARP, 1000);
		cap_frames(cap, PORT_DIR_RX, &b, &TS);
		pkt_batch_free(&b);
	}
	assert_false(fcntl(shared, F_GETFL) & O_NONBLOCK);
	stop(f, cap, &st);		/* the writer never blocked: it ends */
	assert_int_equal(st.written + st.dropped, 3200);
	assert_true(st.dropped > 0);
	assert_false(fcntl(shared, F_GETFL) & O_NONBLOCK);
	close(shared);
	close(sp[0]);
}

static void
test_reader_that_goes_away(void **state)
{
	struct fixture		*f = *state;
	struct cap_config	 cfg = { 0 };
	struct pollfd		 pfd = { .fd = f->notify, .events = POLLIN };
	struct pkt_batch	 b;
	struct cap		*cap;
	uint64_t		 v;
	int			 p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	cfg.fd = p[1];
	cap = start(f, &cfg);
	close(p[0]);
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(read(f->notify, &v, sizeof(v)), sizeof(v));
	assert_int_equal(cap_error(cap), EPIPE);
	batch_of(f, &b, 1, ETHERTYPE_ARP, 60);
	assert_int_equal(cap_frames(cap, PORT_DIR_RX, &b, &TS),
	    CAP_END_WRITER);
	pkt_batch_free(&b);
	cap_destroy(cap);
}

/* The one's complement sum of n bytes, folded: 0xffff when they check. */
static uint16_t
sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

#define SPORT	40000
#define DPORT	4789

/* An outer datagram from sport to dport of plen bytes of 0xab, built. */
static size_t
build(int af, const char *from, const char *to, uint8_t proto, size_t plen,
    uint8_t *buf, size_t size)
{
	struct sockaddr_storage	 src = { .ss_family = (sa_family_t)af };
	struct sockaddr_storage	 dst = { .ss_family = (sa_family_t)af };
	struct sockaddr_in	*s4 = (void *)&src, *d4 = (void *)&dst;
	struct sockaddr_in6	*s6 = (void *)&src, *d6 = (void *)&dst;
	uint8_t			 payload[64];
	/* The first 8 bytes apart, as a tunnel sends its header. */
	struct port_outer	 o = { .src = (struct sockaddr *)&src,
				    .dst = (struct sockaddr *)&dst,
				    .proto = proto, .hdr = payload, .hlen = 8,
				    .data = payload + 8, .len = plen - 8 };

	memset(payload, 0xab, plen);
	if (af == AF_INET) {
		s4->sin_port = htons(SPORT);
		d4->sin_port = htons(DPORT);
		inet_pton(af, from, &s4->sin_addr);
		inet_pton(af, to, &d4->sin_addr);
	} else {
		s6->sin6_port = htons(SPORT);
		d6->sin6_port = htons(DPORT);
		inet_pton(af, from, &s6->sin6_addr);
		inet_pton(af, to, &d6->sin6_addr);
	}
	return cap_outer_build(&o, buf, size);
}

/* The UDP header after iplen bytes, its checksum over the addresses. */
static void
check_udp(const uint8_t *buf, size_t iplen, const uint8_t *addrs, size_t alen,
    size_t plen)
{
	const uint8_t	*udp = buf + iplen;
	uint32_t	 pseudo = sum16(addrs, 2 * alen,
			    IPPROTO_UDP + 8 + (uint32_t)plen);

	assert_int_equal(udp[0] << 8 | udp[1], SPORT);
	assert_int_equal(udp[2] << 8 | udp[3], DPORT);
	assert_int_equal(udp[4] << 8 | udp[5], 8 + plen);
	assert_int_not_equal(udp[6] << 8 | udp[7], 0);
	assert_int_equal(sum16(udp, 8 + plen, pseudo), 0xffff);
	for (size_t i = 0; i < plen; i++)
		assert_int_equal(udp[8 + i], 0xab);
}

static void
test_outer_ipv4(void **state)
{
	uint8_t	buf[256], a[4], b[4];

	(void)state;
	inet_pton(AF_INET, "198.18.0.1", a);
	inet_pton(AF_INET, "198.18.0.2", b);
	assert_int_equal(build(AF_INET, "198.18.0.1", "198.18.0.2",
	    IPPROTO_UDP, 31, buf, sizeof(buf)), 20 + 8 + 31);
	assert_int_equal(buf[0], 0x45);
	assert_int_equal(buf[2] << 8 | buf[3], 20 + 8 + 31);
	assert_int_equal(buf[6], 0x40);			/* DF */
	assert_int_equal(buf[9], IPPROTO_UDP);
	assert_memory_equal(buf + 12, a, 4);
	assert_memory_equal(buf + 16, b, 4);
	assert_int_equal(sum16(buf, 20, 0), 0xffff);
	check_udp(buf, 20, buf + 12, 4, 31);

	/* Another protocol (GRE): the IP header alone, then the data. */
	assert_int_equal(build(AF_INET, "198.18.0.1", "198.18.0.2",
	    IPPROTO_GRE, 12, buf, sizeof(buf)), 20 + 12);
	assert_int_equal(buf[9], IPPROTO_GRE);
	assert_int_equal(buf[20], 0xab);
	assert_int_equal(sum16(buf, 20, 0), 0xffff);

	/* Too long for the buffer: not representable. */
	assert_int_equal(build(AF_INET, "198.18.0.1", "198.18.0.2",
	    IPPROTO_UDP, 31, buf, 50), 0);
}

static void
test_outer_ipv6(void **state)
{
	uint8_t	buf[256], a[16], b[16];

	(void)state;
	inet_pton(AF_INET6, "fd00:5657::1", a);
	inet_pton(AF_INET6, "fd00:5657::2", b);
	assert_int_equal(build(AF_INET6, "fd00:5657::1", "fd00:5657::2",
	    IPPROTO_UDP, 40, buf, sizeof(buf)), 40 + 8 + 40);
	assert_int_equal(buf[0] >> 4, 6);
	assert_int_equal(buf[4] << 8 | buf[5], 8 + 40);
	assert_int_equal(buf[6], IPPROTO_UDP);
	assert_memory_equal(buf + 8, a, 16);
	assert_memory_equal(buf + 24, b, 16);
	check_udp(buf, 40, buf + 8, 16, 40);
}

static void
test_outer_families_must_match(void **state)
{
	struct sockaddr_in	 s4 = { .sin_family = AF_INET };
	struct sockaddr_in6	 d6 = { .sin6_family = AF_INET6 };
	struct sockaddr_un	 un = { .sun_family = AF_UNIX };
	uint8_t			 buf[128];
	struct port_outer	 o = { .src = (struct sockaddr *)&s4,
				    .dst = (struct sockaddr *)&d6,
				    .proto = IPPROTO_UDP, .data = buf, .len = 4 };

	(void)state;
	assert_int_equal(cap_outer_build(&o, buf + 8, 100), 0);
	o.src = o.dst = (struct sockaddr *)&un;
	assert_int_equal(cap_outer_build(&o, buf + 8, 100), 0);
}

/* Outer captures are raw IP, filtered on the synthesized headers. */
static void
test_outer_capture(void **state)
{
	struct fixture		*f = *state;
	struct cap_config	 cfg = { .outer = true,
				    .filter = "udp dst port 4789" };
	struct sockaddr_in	 a = { .sin_family = AF_INET,
				    .sin_port = htons(4789) };
	struct sockaddr_in	 b = { .sin_family = AF_INET,
				    .sin_port = htons(5000) };
	uint8_t			 vxlan[8 + 60] = { 0x08 };
	struct port_outer	 to_a = { .src = (struct sockaddr *)&b,
				    .dst = (struct sockaddr *)&a,
				    .proto = IPPROTO_UDP, .data = vxlan,
				    .len = sizeof(vxlan) };
	struct port_outer	 to_b = { .src = (struct sockaddr *)&a,
				    .dst = (struct sockaddr *)&b,
				    .proto = IPPROTO_UDP, .data = vxlan,
				    .len = sizeof(vxlan) };
	struct pkt_batch	 batch;
	struct cap		*cap;
	unsigned		 lens[4];

	cfg.fd = open_out(f);
	cap = start(f, &cfg);
	assert_string_equal(cap_link_name(cap), "RAW");
	cap_outer(cap, PORT_DIR_TX, &to_a, &TS);
	cap_outer(cap, PORT_DIR_RX, &to_b, &TS);
	cap_outer(cap, PORT_DIR_RX, &to_a, &TS);
	/* An outer capture takes no inner frames. */
	batch_of(f, &batch, 2, ETHERTYPE_ARP, 60);
	cap_frames(cap, PORT_DIR_RX, &batch, &TS);
	pkt_batch_free(&batch);
	stop(f, cap, NULL);
	assert_int_equal(read_back(f, DLT_RAW, CAP_SNAPLEN_MAX, lens, NULL),
	    2);
	assert_int_equal(lens[0], 20 + 8 + sizeof(vxlan));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_and_link_type),
		cmocka_unit_test(test_snaplen_and_direction),
		cmocka_unit_test(test_count_ends_the_capture),
		cmocka_unit_test(test_max_size_is_never_passed),
		cmocka_unit_test(test_bad_options_and_filters),
		cmocka_unit_test(test_reader_that_does_not_read),
		cmocka_unit_test(test_socket_reader_that_does_not_read),
		cmocka_unit_test(test_reader_that_goes_away),
		cmocka_unit_test(test_outer_ipv4),
		cmocka_unit_test(test_outer_ipv6),
		cmocka_unit_test(test_outer_families_must_match),
		cmocka_unit_test(test_outer_capture),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
