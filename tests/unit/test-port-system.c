/*
 * test-port-system.c - the system port type on a veth pair the test makes.
 *
 *   dummy d1 <--switch--> port "vsyP-Na" ==AF_PACKET== [vsyP-Na]
 *                                                          || veth
 *                              test's packet socket ==> [vsyP-Nb]
 *
 * The near end is attached as a system port on a datapath; the test's own
 * packet socket on the far end stands for the guest or the container:
 * what it sends the port receives, and the other way round.  A dummy port
 * on the same switch shows what the datapath makes of received frames
 * (floods are sent to it through port_send(), whose fallback completes
 * checksums for a port that takes none).  A fake event loop records the
 * watches, and the port's notes are kept to count them.
 *
 * Needs root: skipped otherwise.  As root, a missing prerequisite (ip, veth)
 * fails: a root run must never pass by skipping.  Every veth pair and
 * namespace is named with the pid and removed after each test, failed or
 * not, and again at exit.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>

#include "datapath/csum.h"
#include "datapath/dp.h"
#include "datapath/gso.h"
#include "datapath/port-dummy.h"
#include "vswitchd/port-types.h"

#define NOW		1000
#define MAX_NOTES	32
#define MAX_WATCH	8
#define TEST_TYPE	0x88b5		/* IEEE local experimental */

struct watch {
	bool		 used;
	int		 fd;
	io_input_fn	 input;
	void		*arg;
};

static struct fixture {
	char		 a[IFNAMSIZ];	/* the port's end */
	char		 b[IFNAMSIZ];	/* the test's end */
	char		 ns[IFNAMSIZ];	/* a namespace to move a to */
	struct dp	*dp;
	struct port	*port;
	struct port	*d1;
	struct watch	 w[MAX_WATCH];
	char		 notes[MAX_NOTES][256];
	unsigned	 nnotes;
} fx;

static int	run(const char *, ...) __attribute__((format(printf, 1, 2)));
static void	must(const char *, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char	cmd[512];
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void
must(const char *fmt, ...)
{
	char	cmd[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (run("%s", cmd) != 0)
		fail_msg("'%s' failed", cmd);
}

/* The far end: up, IPv6 off so only the test's own frames cross. */
static void
veth_create(void)
{
	must("ip link add %s type veth peer name %s", fx.a, fx.b);
	must("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1 "
	    "net.ipv6.conf.%s.disable_ipv6=1", fx.a, fx.b);
	must("ip link set %s up && ip link set %s up", fx.a, fx.b);
}

static void
cleanup(void)
{
	if (fx.dp != NULL)
		dp_destroy(fx.dp);
	fx.dp = NULL;
	if (fx.a[0] != '\0')
		run("ip link del %s 2>/dev/null", fx.a);
	if (fx.ns[0] != '\0')
		run("ip netns del %s 2>/dev/null", fx.ns);
	memset(&fx, 0, sizeof(fx));
}

static int
teardown(void **state)
{
	(void)state;
	cleanup();
	return 0;
}

static int
fake_watch(void *ctx, int fd, io_input_fn input, void *arg, void **handle)
{
	(void)ctx;
	for (int i = 0; i < MAX_WATCH; i++)
		if (!fx.w[i].used) {
			fx.w[i] = (struct watch){ true, fd, input, arg };
			*handle = &fx.w[i];
			return 0;
		}
	return ENOSPC;
}

static void
fake_unwatch(void *ctx, void *handle)
{
	struct watch	*w = handle;

	(void)ctx;
	w->used = false;
}

static void
fake_event(void *ctx, struct port *port, enum port_event ev, int error)
{
	(void)ctx;
	(void)port;
	(void)ev;
	(void)error;
}

static void
fake_note(void *ctx, struct port *port, const char *msg)
{
	(void)ctx;
	(void)port;
	if (fx.nnotes < MAX_NOTES)
		snprintf(fx.notes[fx.nnotes], sizeof(fx.notes[0]), "%s", msg);
	fx.nnotes++;
}

static const struct io_hooks hooks = {
	.watch = fake_watch, .unwatch = fake_unwatch,
};
static const struct dp_events events = {
	.port = fake_event, .note = fake_note,
};

static unsigned
notes_with(const char *what)
{
	unsigned	n = 0;

	for (unsigned i = 0; i < fx.nnotes && i < MAX_NOTES; i++)
		n += strstr(fx.notes[i], what) != NULL;
	return n;
}

static int
add_port(const char *name, unsigned given, char *err, size_t errlen)
{
	struct port_config	cfg = { .type = "system", .given = given };

	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	return dp_port_add(fx.dp, &cfg, &fx.port, err, errlen);
}

/*
 * Skips an unprivileged run; as root, sets up the veth pair, a datapath
 * with a dummy port d1 and, if attach, the system port on the near end.
 */
static void
lab(bool attach)
{
	static unsigned		 n;
	struct port_config	 dcfg = { .type = "dummy", .name = "d1" };
	char			 err[256];

	if (geteuid() != 0)
		skip();
	if (run("ip -V >/dev/null 2>&1") != 0)
		fail_msg("running as root, but 'ip -V' failed: is iproute2 "
		    "installed?");
	snprintf(fx.a, sizeof(fx.a), "vsy%u-%ua", (unsigned)getpid() % 100000,
	    n);
	snprintf(fx.b, sizeof(fx.b), "vsy%u-%ub", (unsigned)getpid() % 100000,
	    n);
	snprintf(fx.ns, sizeof(fx.ns), "vsy%u-%un", (unsigned)getpid() % 100000,
	    n++);
	veth_create();
	assert_int_equal(port_types_init(), 0);
	assert_non_null(fx.dp = dp_create());
	dp_set_events(fx.dp, &events);
	assert_int_equal(dp_set_io(fx.dp, &hooks), 0);
	assert_int_equal(dp_port_add(fx.dp, &dcfg, &fx.d1, err, sizeof(err)),
	    0);
	if (attach && add_port(fx.a, 0, err, sizeof(err)) != 0)
		fail_msg("port add %s type system: %s", fx.a, err);
}

/* The datapath's read event: what the port has goes to the switch. */
static void
readable(void)
{
	for (int i = 0; i < MAX_WATCH; i++)
		if (fx.w[i].used && fx.w[i].fd == fx.port->fd) {
			fx.w[i].input(fx.w[i].arg, NOW);
			return;
		}
	fail_msg("the datapath does not watch the port's socket");
}

static bool
wait_readable(int fd, int ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1;
}

/*
 * "promiscuity N" of ip -d link show: the kernel's count.  The PROMISC
 * flag shows only what a user set, not a packet socket's membership.
 */
static int
promiscuity(const char *name)
{
	char	 cmd[128], line[1024], *s;
	FILE	*f;
	int	 n = -1;

	snprintf(cmd, sizeof(cmd), "ip -d link show %s", name);
	assert_non_null(f = popen(cmd, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if ((s = strstr(line, "promiscuity ")) != NULL)
			n = atoi(s + strlen("promiscuity "));
	pclose(f);
	if (n < 0)
		fail_msg("no promiscuity in '%s'", cmd);
	return n;
}

static int
peer_socket(bool vnet)
{
	struct sockaddr_ll	sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)if_nametoindex(fx.b),
	};
	int			s, on = 1;

	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(s >= 0);
	assert_int_equal(setsockopt(s, SOL_PACKET, PACKET_AUXDATA, &on,
	    sizeof(on)), 0);
	assert_int_equal(setsockopt(s, SOL_PACKET, PACKET_IGNORE_OUTGOING, &on,
	    sizeof(on)), 0);
	if (vnet)
		assert_int_equal(setsockopt(s, SOL_PACKET, PACKET_VNET_HDR,
		    &on, sizeof(on)), 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

/* A socket that transmits on the near end, as its namespace's stack. */
static int
near_socket(void)
{
	struct sockaddr_ll	sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = (int)if_nametoindex(fx.a),
	};
	int			s;

	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

static void
peer_send(int s, const void *vnet, const uint8_t *frame, size_t len)
{
	struct iovec	iov[2] = {
		{ (void *)(uintptr_t)vnet, sizeof(struct virtio_net_hdr) },
		{ (void *)(uintptr_t)frame, len },
	};
	struct msghdr	mh = {
		.msg_iov = vnet != NULL ? iov : iov + 1,
		.msg_iovlen = vnet != NULL ? 2 : 1,
	};

	assert_int_equal(sendmsg(s, &mh, 0),
	    (ssize_t)(len + (vnet != NULL ? sizeof(struct virtio_net_hdr) : 0)));
}

/* Source MAC 02:76:73:79:00:id: what the test sends, and nothing else. */
static bool
is_from(const uint8_t *f, size_t len, uint8_t id)
{
	static const uint8_t src[5] = { 0x02, 0x76, 0x73, 0x79, 0x00 };

	return len >= 14 && memcmp(f + 6, src, sizeof(src)) == 0 && f[11] == id;
}

/*
 * The first frame from id the peer reads within a second: its length (0
 * if none), with the stripped tag's auxdata and the vnet header if asked.
 */
static size_t
peer_recv(int s, uint8_t id, uint8_t *buf, size_t size,
    struct tpacket_auxdata *aux, struct virtio_net_hdr *vnet)
{
	union {
		struct cmsghdr	hdr;
		uint8_t		buf[CMSG_SPACE(sizeof(*aux))];
	}			 cbuf;
	struct virtio_net_hdr	 vh;
	struct iovec		 iov[2] = {
		{ &vh, sizeof(vh) }, { buf, size },
	};
	struct msghdr		 mh;
	struct cmsghdr		*c;
	ssize_t			 n;

	while (wait_readable(s, 1000)) {
		mh = (struct msghdr){
			.msg_iov = vnet != NULL ? iov : iov + 1,
			.msg_iovlen = vnet != NULL ? 2 : 1,
			.msg_control = &cbuf, .msg_controllen = sizeof(cbuf),
		};
		assert_true((n = recvmsg(s, &mh, 0)) > 0);
		if (vnet != NULL)
			n -= (ssize_t)sizeof(vh);
		if (!is_from(buf, (size_t)n, id))
			continue;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL && aux != NULL;
		    c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_PACKET &&
			    c->cmsg_type == PACKET_AUXDATA)
				memcpy(aux, CMSG_DATA(c), sizeof(*aux));
		if (vnet != NULL)
			*vnet = vh;
		return (size_t)n;
	}
	return 0;
}

/* The first frame from id the port reads within a second, or NULL. */
static struct pkt *
port_recv(uint8_t id)
{
	struct pkt_batch	 b;
	struct pkt		*got = NULL;

	for (int tries = 0; got == NULL && tries < 100; tries++) {
		wait_readable(fx.port->fd, 10);
		pkt_batch_init(&b);
		fx.port->ops->recv_batch(fx.port, fx.dp->pool, &b);
		for (unsigned i = 0; i < b.count; i++) {
			struct pkt *p = b.pkts[i];

			if (got == NULL && is_from(p->data, p->len, id))
				got = p;
			else
				pkt_free(p);
		}
	}
	return got;
}

/* A broadcast frame of len bytes from id, ethertype 0x88b5. */
static size_t
test_frame(uint8_t *buf, size_t len, uint8_t id)
{
	static const uint8_t hdr[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0x02, 0x76, 0x73, 0x79, 0x00, 0x00, TEST_TYPE >> 8,
	    TEST_TYPE & 0xff };

	memcpy(buf, hdr, sizeof(hdr));
	buf[11] = id;
	for (size_t i = sizeof(hdr); i < len; i++)
		buf[i] = (uint8_t)(i ^ id);
	return len;
}

/* Inserts a tag after the MAC addresses: the new length. */
static size_t
tag(uint8_t *buf, size_t len, uint16_t tpid, uint16_t tci)
{
	memmove(buf + 16, buf + 12, len - 12);
	buf[12] = (uint8_t)(tpid >> 8);
	buf[13] = (uint8_t)tpid;
	buf[14] = (uint8_t)(tci >> 8);
	buf[15] = (uint8_t)tci;
	return len + 4;
}

/*
 * A TCP/IPv4 frame from id with payload bytes, tagged if tci != 0, whose
 * checksum is owed: the pseudo-header's sum in the field, and vnet saying
 * where (and GSO TCPv4 with mss when mss != 0).
 */
static size_t
tcp_frame(uint8_t *buf, uint8_t id, uint16_t tci, size_t payload,
    uint16_t mss, struct virtio_net_hdr *vnet)
{
	size_t		 l3 = tci != 0 ? 18 : 14, l4 = l3 + 20, len;
	uint8_t		*ip = buf + l3, *tcp = buf + l4;

	len = test_frame(buf, l4 + 20 + payload, id);
	if (tci != 0)
		tag(buf, 14, ETH_P_8021Q, tci);
	buf[l3 - 2] = 0x08;
	buf[l3 - 1] = 0x00;
	memset(ip, 0, 40);
	ip[0] = 0x45;
	be16_put(ip + IPV4_OFF_LEN, (uint16_t)(len - l3));
	ip[IPV4_OFF_TTL] = 64;
	ip[IPV4_OFF_PROTO] = INET_PROTO_TCP;
	memcpy(ip + IPV4_OFF_SRC, "\xc6\x13\x09\x01\xc6\x13\x09\x02", 8);
	csum_put(ip + IPV4_OFF_CSUM, (uint16_t)~csum_fold(csum_add(0, ip, 20)));
	be16_put(tcp, 40000);
	be16_put(tcp + 2, 5201);
	be32_put(tcp + TCP_OFF_SEQ, 1);
	tcp[TCP_OFF_DOFF] = 0x50;
	tcp[TCP_OFF_FLAGS] = TCP_ACK | TCP_PSH;
	be16_put(tcp + TCP_OFF_WIN, 65535);
	csum_put(tcp + TCP_OFF_CSUM, csum_fold(csum_pseudo(ip, 4,
	    INET_PROTO_TCP, (uint32_t)(len - l4))));
	*vnet = (struct virtio_net_hdr){
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = mss != 0 ? VIRTIO_NET_HDR_GSO_TCPV4 :
		    VIRTIO_NET_HDR_GSO_NONE,
		.hdr_len = (uint16_t)(l4 + 20),
		.gso_size = mss,
		.csum_start = (uint16_t)l4,
		.csum_offset = TCP_OFF_CSUM,
	};
	return len;
}

/* Whether the TCP/IPv4 frame's checksum is complete and right. */
static bool
tcp_csum_ok(const uint8_t *f, size_t len, size_t l3)
{
	size_t	l4 = l3 + 20;

	return csum_verify(csum_add(csum_pseudo(f + l3, 4, INET_PROTO_TCP,
	    (uint32_t)(len - l4)), f + l4, len - l4)) == 0;
}

static struct pkt *
new_frame(const uint8_t *frame, size_t len)
{
	struct pkt	*p = pkt_alloc(fx.dp->large);

	assert_non_null(p);
	memcpy(p->data, frame, len);
	p->len = (uint32_t)len;
	return p;
}

static void
send_one(struct pkt *p)
{
	struct pkt_batch	b;

	pkt_batch_init(&b);
	pkt_batch_add(&b, p);
	fx.port->ops->send_batch(fx.port, &b);
}

static void
test_frames_both_ways(void **state)
{
	struct pkt_batch	 b;
	struct pkt		*p;
	uint8_t			 buf[2048];
	unsigned		 got = 0, first;
	int			 s, local;

	(void)state;
	lab(true);
	s = peer_socket(false);
	assert_string_equal(fx.port->ops->state(fx.port), "up");
	assert_int_equal(fx.port->mtu, 1500);
	assert_int_equal(fx.port->takes, PORT_TAKES_CSUM | PORT_TAKES_TSO4 |
	    PORT_TAKES_TSO6);

	/* Peer to port, 100 of them: read in batches of PKT_BATCH_MAX. */
	for (int i = 0; i < 100; i++)
		peer_send(s, NULL, buf, test_frame(buf, 100, 1));
	usleep(200000);		/* all of them queued on the port's socket */
	pkt_batch_init(&b);
	first = fx.port->ops->recv_batch(fx.port, fx.dp->pool, &b);
	assert_int_equal(first, PKT_BATCH_MAX);
	for (int tries = 0; tries < 100 && got < 100; tries++) {
		for (unsigned i = 0; i < b.count; i++) {
			got += is_from(b.pkts[i]->data, b.pkts[i]->len, 1);
			test_frame(buf, 100, 1);
			assert_int_equal(b.pkts[i]->len, 100);
			assert_memory_equal(b.pkts[i]->data, buf, 100);
		}
		pkt_batch_free(&b);
		wait_readable(fx.port->fd, 10);
		fx.port->ops->recv_batch(fx.port, fx.dp->pool, &b);
	}
	pkt_batch_free(&b);
	assert_int_equal(got, 100);
	assert_int_equal(fx.port->stats.rx_packets, 100);
	assert_int_equal(fx.port->stats.rx_bytes, 100 * 100);

	/* Through the datapath: flooded to d1. */
	peer_send(s, NULL, buf, test_frame(buf, 60, 2));
	assert_true(wait_readable(fx.port->fd, 1000));
	readable();
	assert_int_equal(port_dummy_sent_count(fx.d1), 1);

	/* Port to peer: a batch, one frame too big for the MTU. */
	pkt_batch_init(&b);
	pkt_batch_add(&b, new_frame(buf, test_frame(buf, 1514, 3)));
	pkt_batch_add(&b, new_frame(buf, test_frame(buf, 1519, 3)));
	for (int i = 0; i < 40; i++)
		pkt_batch_add(&b, new_frame(buf, test_frame(buf, 64, 4)));
	fx.port->ops->send_batch(fx.port, &b);
	pkt_batch_free(&b);
	assert_int_equal(fx.port->stats.tx_packets, 41);
	assert_int_equal(fx.port->stats.tx_bytes, 1514 + 40 * 64);
	assert_int_equal(fx.port->stats.drops[DROP_TOO_BIG], 1);
	assert_int_equal(peer_recv(s, 3, buf, sizeof(buf), NULL, NULL), 1514);
	for (int i = 0; i < 40; i++)
		assert_int_equal(peer_recv(s, 4, buf, sizeof(buf), NULL, NULL),
		    64);

	/*
	 * What the device transmits is never read back: what the port
	 * wrote, nor what the stack of its namespace sends out of it (here
	 * a plain packet socket on the near end, through the qdisc).
	 */
	local = near_socket();
	assert_int_equal(send(local, buf, test_frame(buf, 64, 5), 0), 64);
	assert_int_equal(peer_recv(s, 5, buf, sizeof(buf), NULL, NULL), 64);
	assert_null(p = port_recv(3));
	assert_null(p = port_recv(4));
	assert_null(p = port_recv(5));
	assert_int_equal(fx.port->stats.rx_packets, 101);
	assert_int_equal(fx.port->stats.rx_errors, 0);
	close(local);
	close(s);
}

/* Frames the kernel dropped for a full socket queue are counted. */
static void
test_kernel_drops_counted(void **state)
{
	uint8_t	buf[1500];
	int	s;

	(void)state;
	lab(true);
	s = peer_socket(false);
	test_frame(buf, sizeof(buf), 14);
	for (int i = 0; i < 20000; i++)
		peer_send(s, NULL, buf, sizeof(buf));
	fx.port->ops->tick(fx.port, NOW);
	assert_true(fx.port->stats.drops[DROP_NO_BUFFER] > 0);
	assert_true(fx.port->stats.drops[DROP_NO_BUFFER] < 20000);
	close(s);
}

static void
test_promiscuous_while_attached(void **state)
{
	char	err[256];

	(void)state;
	lab(false);
	assert_int_equal(promiscuity(fx.a), 0);
	assert_int_equal(add_port(fx.a, 0, err, sizeof(err)), 0);
	assert_int_equal(promiscuity(fx.a), 1);
	dp_port_del(fx.dp, fx.port);
	fx.port = NULL;
	assert_int_equal(promiscuity(fx.a), 0);
}

static void
test_vlan_tags_kept(void **state)
{
	struct tpacket_auxdata	 aux;
	struct pkt		*p;
	uint8_t			 buf[256], want[256];
	size_t			 len;
	int			 s;

	(void)state;
	lab(true);
	s = peer_socket(false);

	/* The kernel strips the tag on the way in; the port puts it back. */
	len = tag(want, test_frame(want, 100, 5), ETH_P_8021Q, 0xa064);
	peer_send(s, NULL, want, len);
	assert_non_null(p = port_recv(5));
	assert_int_equal(p->len, len);
	assert_memory_equal(p->data, want, len);
	pkt_free(p);

	/* 802.1ad outside, 802.1Q inside: the outer comes back, in front. */
	len = tag(want, test_frame(want, 100, 6), ETH_P_8021Q, 0x0064);
	len = tag(want, len, ETH_P_8021AD, 0x0005);
	peer_send(s, NULL, want, len);
	assert_non_null(p = port_recv(6));
	assert_int_equal(p->len, len);
	assert_memory_equal(p->data, want, len);
	pkt_free(p);

	/* A priority tag (VID 0) is a tag too. */
	len = tag(want, test_frame(want, 100, 7), ETH_P_8021Q, 0x6000);
	peer_send(s, NULL, want, len);
	assert_non_null(p = port_recv(7));
	assert_memory_equal(p->data, want, len);
	pkt_free(p);

	/* Out: tagged as given; the peer's kernel strips it into auxdata. */
	len = tag(want, test_frame(want, 100, 8), ETH_P_8021Q, 0x2123);
	send_one(p = new_frame(want, len));
	pkt_free(p);
	memset(&aux, 0, sizeof(aux));
	assert_int_equal(peer_recv(s, 8, buf, sizeof(buf), &aux, NULL),
	    len - 4);
	assert_true(aux.tp_status & TP_STATUS_VLAN_VALID);
	assert_int_equal(aux.tp_vlan_tci, 0x2123);
	test_frame(want, 100, 8);
	assert_memory_equal(buf, want, len - 4);
	close(s);
}

/*
 * A frame whose checksum the peer's kernel still owes arrives saying so,
 * csum_start moved past the tag put back; the datapath completes it for
 * d1, which takes nothing.
 */
static void
test_owed_checksum(void **state)
{
	struct virtio_net_hdr	 vh;
	struct pkt		*p;
	uint8_t			 buf[2048];
	const uint8_t		*sent;
	size_t			 len, slen;
	int			 s;

	(void)state;
	lab(true);
	s = peer_socket(true);
	for (uint16_t tci = 0; tci <= 100; tci += 100) {
		size_t l3 = tci != 0 ? 18 : 14;

		len = tcp_frame(buf, 9, tci, 1000, 0, &vh);
		peer_send(s, &vh, buf, len);
		assert_non_null(p = port_recv(9));
		assert_int_equal(p->len, len);
		assert_int_equal(p->vnet.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		assert_int_equal(p->vnet.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		assert_int_equal(p->vnet.csum_start, l3 + 20);
		assert_int_equal(p->vnet.csum_offset, TCP_OFF_CSUM);
		assert_memory_equal(p->data, buf, len);
		assert_false(tcp_csum_ok(p->data, p->len, l3));
		assert_int_equal(gso_csum(p), 0);
		assert_true(tcp_csum_ok(p->data, p->len, l3));
		pkt_free(p);

		/* Through the switch to d1: completed on the way out. */
		port_dummy_clear(fx.d1);
		peer_send(s, &vh, buf, len);
		assert_true(wait_readable(fx.port->fd, 1000));
		readable();
		assert_int_equal(port_dummy_sent_count(fx.d1), 1);
		assert_non_null(sent = port_dummy_sent(fx.d1, 0, &slen));
		assert_int_equal(slen, len);
		assert_true(tcp_csum_ok(sent, slen, l3));
	}
	assert_int_equal(fx.port->stats.drops[DROP_BAD_OFFLOAD], 0);
	close(s);
}

static void
test_super_frames(void **state)
{
	struct virtio_net_hdr	 vh, got;
	struct pkt		*p;
	uint8_t			 buf[8192], rbuf[8192];
	size_t			 len;
	int			 s;

	(void)state;
	lab(true);
	s = peer_socket(true);
	for (uint16_t tci = 0; tci <= 100; tci += 100) {
		/* A TSO super-frame from the peer, read whole. */
		len = tcp_frame(buf, 10, tci, 3000, 1000, &vh);
		peer_send(s, &vh, buf, len);
		assert_non_null(p = port_recv(10));
		assert_int_equal(p->len, len);
		assert_int_equal(p->vnet.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
		assert_int_equal(p->vnet.gso_size, 1000);
		assert_int_equal(p->vnet.csum_start, vh.csum_start);
		assert_memory_equal(p->data, buf, len);

		/* And written whole: the peer reads it as one. */
		send_one(p);
		pkt_free(p);
		assert_int_equal(peer_recv(s, 10, rbuf, sizeof(rbuf), NULL,
		    &got), tci != 0 ? len - 4 : len);
		assert_int_equal(got.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
		assert_int_equal(got.gso_size, 1000);
	}
	assert_int_equal(fx.port->stats.rx_gso, 2);
	assert_int_equal(fx.port->stats.tx_gso, 2);

	/* Through the switch to d1, which takes none: three segments. */
	len = tcp_frame(buf, 11, 0, 3000, 1000, &vh);
	peer_send(s, &vh, buf, len);
	assert_true(wait_readable(fx.port->fd, 1000));
	readable();
	assert_int_equal(port_dummy_sent_count(fx.d1), 3);
	for (unsigned i = 0; i < 3; i++) {
		const uint8_t *f = port_dummy_sent(fx.d1, i, &len);

		assert_int_equal(len, 14 + 40 + 1000);
		assert_true(tcp_csum_ok(f, len, 14));
	}

	/* What the port takes follows the switches. */
	dp_set_offload(fx.dp, OFL_TAP_TSO, false);
	assert_int_equal(fx.port->takes, PORT_TAKES_CSUM);
	dp_set_offload(fx.dp, OFL_TAP_CSUM, false);
	assert_int_equal(fx.port->takes, 0);
	dp_set_offload(fx.dp, OFL_TAP_CSUM, true);
	dp_set_offload(fx.dp, OFL_TAP_TSO, true);
	assert_int_equal(fx.port->takes, PORT_TAKES_CSUM | PORT_TAKES_TSO4 |
	    PORT_TAKES_TSO6);
	close(s);
}

/*
 * Segments the kernel coalesced on the device (GRO; here fraglist GRO on
 * the veth, which leaves the segments' checksums verified, DATA_VALID, and
 * the field holding the first one's) arrive as a super-frame that owes its
 * checksum from then on; d1, which takes none, gets the segments back.
 */
static void
test_coalesced_by_the_kernel(void **state)
{
	struct virtio_net_hdr	 vh;
	struct pkt_batch	 b, in;
	uint8_t			 buf[2048], *ip = buf + 14, *tcp = buf + 34;
	const uint8_t		*f;
	unsigned		 payload = 0, gso = 0;
	size_t			 len;
	int			 s;

	(void)state;
	lab(true);
	must("ethtool -K %s gro on rx-gro-list on", fx.a);
	/* Held in GRO until all four are in. */
	must("echo 50000000 >/sys/class/net/%s/gro_flush_timeout && "
	    "echo 100 >/sys/class/net/%s/napi_defer_hard_irqs", fx.a, fx.a);
	s = peer_socket(false);
	for (unsigned i = 0; i < 4; i++) {
		len = tcp_frame(buf, 13, 0, 1000, 0, &vh);
		be16_put(ip + IPV4_OFF_ID, (uint16_t)(i + 1));
		be16_put(ip + IPV4_OFF_FRAG, IPV4_DF);
		memset(ip + IPV4_OFF_CSUM, 0, 2);
		csum_put(ip + IPV4_OFF_CSUM,
		    (uint16_t)~csum_fold(csum_add(0, ip, 20)));
		be32_put(tcp + TCP_OFF_SEQ, 1 + 1000 * i);
		tcp[TCP_OFF_FLAGS] = TCP_ACK;
		memset(tcp + 20, 'a' + (int)i, 1000);
		/* The field holds the pseudo-header's sum: finish it. */
		csum_put(tcp + TCP_OFF_CSUM,
		    (uint16_t)~csum_fold(csum_add(0, tcp, len - 34)));
		assert_true(tcp_csum_ok(buf, len, 14));
		peer_send(s, NULL, buf, len);
	}

	pkt_batch_init(&in);
	for (int tries = 0; payload < 4000 && tries < 100; tries++) {
		wait_readable(fx.port->fd, 10);
		pkt_batch_init(&b);
		fx.port->ops->recv_batch(fx.port, fx.dp->pool, &b);
		for (unsigned i = 0; i < b.count; i++) {
			struct pkt *p = b.pkts[i];

			if (!is_from(p->data, p->len, 13)) {
				pkt_free(p);
				continue;
			}
			payload += p->len - 54;
			/*
			 * A super-frame, as a kernel's TSO wants it: the
			 * pseudo-header's sum over its whole length in the
			 * field.
			 */
			if (p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
				gso++;
				assert_int_equal(p->vnet.gso_type,
				    VIRTIO_NET_HDR_GSO_TCPV4);
				assert_int_equal(p->vnet.gso_size, 1000);
				assert_int_equal(p->vnet.flags,
				    VIRTIO_NET_HDR_F_NEEDS_CSUM);
				assert_int_equal(p->vnet.csum_start, 34);
				assert_int_equal(p->vnet.csum_offset,
				    TCP_OFF_CSUM);
				assert_true(csum_fold(csum_add(0, p->data + 50,
				    2)) == csum_fold(csum_pseudo(p->data + 14,
				    4, INET_PROTO_TCP, p->len - 34)));
			}
			pkt_batch_add(&in, p);
		}
	}
	assert_int_equal(payload, 4000);
	if (gso == 0)
		fail_msg("the kernel did not coalesce the segments: this test "
		    "needs GRO with rx-gro-list on veth");
	assert_int_equal(fx.port->stats.drops[DROP_BAD_OFFLOAD], 0);

	port_send(fx.d1, &in);
	pkt_batch_free(&in);
	assert_int_equal(port_dummy_sent_count(fx.d1), 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_non_null(f = port_dummy_sent(fx.d1, i, &len));
		assert_int_equal(len, 1054);
		assert_true(tcp_csum_ok(f, len, 14));
		assert_int_equal(f[54], 'a' + i);
	}
	close(s);
}

/* Frames sent while the device cannot take them: counted, never more. */
static void
send_fails_link_down(void)
{
	struct pkt_batch	b;
	uint8_t			buf[64];
	uint64_t		before = fx.port->stats.drops[DROP_LINK_DOWN];

	pkt_batch_init(&b);
	for (int i = 0; i < 3; i++)
		pkt_batch_add(&b, new_frame(buf, test_frame(buf, 64, 12)));
	fx.port->ops->send_batch(fx.port, &b);
	pkt_batch_free(&b);
	assert_int_equal(fx.port->stats.drops[DROP_LINK_DOWN], before + 3);
}

/* Reads fail at most once, and the socket is quiet after: no spinning. */
static void
reads_quiet(void)
{
	struct pkt_batch	b;

	for (int i = 0; i < 3; i++) {
		pkt_batch_init(&b);
		fx.port->rx_error = 0;
		assert_int_equal(fx.port->ops->recv_batch(fx.port,
		    fx.dp->pool, &b), 0);
		assert_true(fx.port->rx_error == 0 ||
		    fx.port->rx_error == ENETDOWN);
	}
	assert_false(wait_readable(fx.port->fd, 100));
	assert_int_equal(fx.port->stats.rx_errors, 0);
}

static void
frames_flow(uint8_t id)
{
	struct pkt	*p;
	uint8_t		 buf[128];
	int		 s = peer_socket(false);

	peer_send(s, NULL, buf, test_frame(buf, 80, id));
	assert_non_null(p = port_recv(id));
	pkt_free(p);
	send_one(p = new_frame(buf, test_frame(buf, 80, id + 1)));
	pkt_free(p);
	assert_int_equal(peer_recv(s, id + 1, buf, sizeof(buf), NULL, NULL),
	    80);
	close(s);
}

static void
tick(void)
{
	fx.port->ops->tick(fx.port, NOW);
}

/* The kernel sets the operational state (IFF_RUNNING) a moment later. */
static void
wait_state(const char *want)
{
	for (int tries = 0; tries < 200; tries++) {
		if (strcmp(fx.port->ops->state(fx.port), want) == 0)
			return;
		usleep(10000);
	}
	fail_msg("state %s, not %s", fx.port->ops->state(fx.port), want);
}

static void
wait_running(const char *name)
{
	for (int tries = 0; tries < 200; tries++) {
		if (run("ip link show %s | grep -q LOWER_UP", name) == 0)
			return;
		usleep(10000);
	}
	fail_msg("%s does not get a carrier", name);
}

static void
test_down_and_up(void **state)
{
	(void)state;
	lab(true);
	must("ip link set %s down", fx.a);
	assert_string_equal(fx.port->ops->state(fx.port), "down");
	send_fails_link_down();
	reads_quiet();
	tick();
	tick();
	assert_int_equal(notes_with("device is down"), 1);
	assert_int_equal(fx.nnotes, 1);

	/* Up, but the far end down: no carrier. */
	must("ip link set %s down && ip link set %s up", fx.b, fx.a);
	wait_state("no-link");
	tick();
	assert_int_equal(notes_with("no link"), 1);

	must("ip link set %s up", fx.b);
	wait_state("up");
	tick();
	tick();
	assert_int_equal(fx.nnotes, 3);
	assert_string_equal(fx.notes[2], "device is up");
	frames_flow(20);
}

static void
test_deleted_and_created_again(void **state)
{
	unsigned	old;

	(void)state;
	lab(true);
	old = if_nametoindex(fx.a);
	must("ip link del %s", fx.a);
	assert_string_equal(fx.port->ops->state(fx.port), "gone");
	send_fails_link_down();
	reads_quiet();
	tick();
	tick();
	assert_int_equal(notes_with("device is gone"), 1);
	assert_int_equal(fx.nnotes, 1);

	/* The same name, a new ifindex: not this port's until the tick. */
	veth_create();
	wait_running(fx.a);
	assert_int_not_equal(if_nametoindex(fx.a), old);
	assert_string_equal(fx.port->ops->state(fx.port), "gone");
	assert_int_equal(promiscuity(fx.a), 0);
	tick();
	tick();
	assert_int_equal(fx.nnotes, 2);
	assert_non_null(strstr(fx.notes[1], "device is back"));
	assert_non_null(strstr(fx.notes[1], "attached again: up"));
	assert_string_equal(fx.port->ops->state(fx.port), "up");
	assert_int_equal(promiscuity(fx.a), 1);
	frames_flow(22);

	dp_port_del(fx.dp, fx.port);
	fx.port = NULL;
	assert_int_equal(promiscuity(fx.a), 0);
}

static void
test_moved_to_another_namespace_and_back(void **state)
{
	(void)state;
	lab(true);
	must("ip netns add %s", fx.ns);
	must("ip link set %s netns %s", fx.a, fx.ns);
	assert_string_equal(fx.port->ops->state(fx.port), "gone");
	send_fails_link_down();
	reads_quiet();
	tick();
	assert_int_equal(notes_with("device is gone"), 1);

	must("ip -n %s link set %s netns %d", fx.ns, fx.a, (int)getpid());
	must("ip link set %s up", fx.a);
	wait_running(fx.a);
	tick();
	assert_int_equal(notes_with("device is back"), 1);
	assert_string_equal(fx.port->ops->state(fx.port), "up");
	frames_flow(24);
}

static void
test_mtu_follows_the_device(void **state)
{
	(void)state;
	lab(true);
	assert_int_equal(fx.port->mtu, 1500);
	must("ip link set %s mtu 1400", fx.a);
	tick();
	tick();
	assert_int_equal(fx.port->mtu, 1400);
	assert_int_equal(notes_with("mtu 1400, was 1500"), 1);
	assert_int_equal(fx.nnotes, 1);
}

static void
test_refuses(void **state)
{
	char	err[256];

	(void)state;
	lab(false);
	assert_int_equal(add_port("vsy-nothere", 0, err, sizeof(err)), ENODEV);
	assert_non_null(strstr(err, "vsy-nothere: no such device"));
	assert_int_equal(add_port("lo", 0, err, sizeof(err)), EINVAL);
	assert_string_equal(err, "lo: not an Ethernet device (link type 772)");
	assert_int_equal(add_port(fx.a, PORT_SET_MTU, err, sizeof(err)),
	    EINVAL);
	assert_non_null(strstr(err, "mtu"));
	assert_int_equal(promiscuity(fx.a), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_frames_both_ways, teardown),
		cmocka_unit_test_teardown(test_kernel_drops_counted, teardown),
		cmocka_unit_test_teardown(test_promiscuous_while_attached,
		    teardown),
		cmocka_unit_test_teardown(test_vlan_tags_kept, teardown),
		cmocka_unit_test_teardown(test_owed_checksum, teardown),
		cmocka_unit_test_teardown(test_super_frames, teardown),
		cmocka_unit_test_teardown(test_coalesced_by_the_kernel,
		    teardown),
		cmocka_unit_test_teardown(test_down_and_up, teardown),
		cmocka_unit_test_teardown(test_deleted_and_created_again,
		    teardown),
		cmocka_unit_test_teardown(
		    test_moved_to_another_namespace_and_back, teardown),
		cmocka_unit_test_teardown(test_mtu_follows_the_device,
		    teardown),
		cmocka_unit_test_teardown(test_refuses, teardown),
	};

	atexit(cleanup);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
