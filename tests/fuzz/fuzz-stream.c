/*
 * fuzz-stream.c - libFuzzer target for the stream port's receive path: the
 * bytes a guest (QEMU's -netdev stream) writes on its Unix socket.
 *
 *   client 0 ==== s0.sock ====  s0  stream, mtu 1500  --[dp]-- fz  dummy
 *   client 1 ==== s1.sock ====  s1  stream, mtu 9216  --
 *
 * The input is the stream, fed whole to both ports: one connection per
 * input (so a crash reproduces from its input alone), the bytes written in
 * up to four chunks cut where a hash of the input says, the fake event loop
 * run after each so the port reads partial frames and lengths; then each
 * client reads back what the switch flooded to it (or, for one input in
 * four, by the hash, does not: the port reads a reset), hangs up, and the
 * port must be listening again.  Two MTUs: 1500, for lengths too big for
 * the port; the largest, for a frame that fills a pool buffer.
 *
 * Checked against a model of the framing: rx packets and bytes, the one
 * bad_length or too_big that closes a connection (and its one note), the
 * truncated frame at hang-up; that what each client reads back is whole
 * frames the port counted as sent (a cut one only if the port closed the
 * connection); that counters only grow, no read or write fails, every
 * buffer is back in the pools and nothing is left watched but the two
 * listening sockets.  The sockets live in a directory of /tmp of the
 * process's own, removed at exit.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datapath/port-stream.h"
#include "datapath/switch.h"
#include "tests/unit/fake-loop.h"
#include "vswitchd/port-types.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NSTREAMS	2
/* What the port's socket surely takes while the loop drains it. */
#define INPUT_MAX	(64 * 1024)
#define MAX_CUTS	3
#define NOW		1000

/* What a port must have made of the stream, from the model. */
struct expect {
	uint64_t	 frames;
	uint64_t	 bytes;
	int		 closed;	/* the drop that closed it, or -1 */
	bool		 cut;		/* ends inside a frame or length */
};

/*
 * What a client read back: whole frames, and where it is in the next; or
 * nothing, if it hung up without reading (rude), as a killed QEMU does.
 */
struct readback {
	bool		 rude;
	uint64_t	 frames;
	uint64_t	 bytes;
	uint8_t		 hdr[STREAM_HDR_LEN];
	size_t		 nhdr;
	uint32_t	 len;		/* of the frame being read */
	size_t		 left;		/* of it */
};

static struct dp	*dp;
static struct port	*dummy, *streams[NSTREAMS];
static const int	 mtus[NSTREAMS] = { 1500, PKT_DATA_ROOM -
			    PORT_L2_OVERHEAD };
static char		 dir[64], paths[NSTREAMS][108];
static struct fake_loop	 loop;
static unsigned		 closes_said[NSTREAMS];

static void
fake_event(void *ctx, struct port *port, enum port_event ev, int error)
{
	(void)ctx;
	(void)port;
	(void)ev;
	(void)error;
	abort();	/* a stream port has no device to lose */
}

static void
fake_note(void *ctx, struct port *port, const char *msg)
{
	(void)ctx;
	for (int i = 0; i < NSTREAMS; i++)
		if (port == streams[i] &&
		    strstr(msg, "closed the connection") != NULL)
			closes_said[i]++;
}

static const struct dp_events	events = { .port = fake_event,
				    .note = fake_note };

/* The loop runs until it settles, as the daemon's would. */
static void
run(void)
{
	if (!fake_loop_run(&loop, NOW))
		abort();	/* the loop never settled */
}

static void
teardown(void)
{
	dp_destroy(dp);		/* removes the socket files */
	rmdir(dir);
}

static void
setup(void)
{
	struct port_config	c = { .name = "fz", .type = "dummy",
				    .given = PORT_SET_MTU,
				    .mtu = PKT_DATA_ROOM - PORT_L2_OVERHEAD };
	char			err[256] = "";

	snprintf(dir, sizeof(dir), "/tmp/vsw-fuzz-stream-XXXXXX");
	if (mkdtemp(dir) == NULL || port_types_init() != 0 ||
	    (dp = dp_create()) == NULL)
		abort();
	dp_set_events(dp, &events);
	if (fake_loop_attach(&loop, dp) != 0 ||
	    dp_port_add(dp, &c, &dummy, err, sizeof(err)) != 0)
		goto fail;
	for (int i = 0; i < NSTREAMS; i++) {
		c = (struct port_config){ .type = "stream",
		    .given = PORT_SET_PATH | PORT_SET_MTU, .mtu = mtus[i] };
		snprintf(c.name, sizeof(c.name), "s%d", i);
		snprintf(paths[i], sizeof(paths[i]), "%s/s%d.sock", dir, i);
		memcpy(c.path, paths[i], sizeof(c.path));
		if (dp_port_add(dp, &c, &streams[i], err, sizeof(err)) != 0)
			goto fail;
	}
	mac_table_set_max(dp->sw->macs, 16);	/* exercise eviction */
	atexit(teardown);
	return;

fail:
	fprintf(stderr, "fuzz-stream: %s\n", err);
	abort();
}

/* The framing, read as the port must read it. */
static struct expect
model(const uint8_t *d, size_t len, int mtu)
{
	struct expect	e = { .closed = -1 };
	size_t		off = 0;
	uint32_t	n;

	while (len - off >= STREAM_HDR_LEN) {
		n = (uint32_t)d[off] << 24 | (uint32_t)d[off + 1] << 16 |
		    (uint32_t)d[off + 2] << 8 | d[off + 3];
		if (n == 0 || n > PKT_DATA_ROOM) {
			e.closed = DROP_BAD_LENGTH;
			return e;
		}
		if (n > (uint32_t)mtu + PORT_L2_OVERHEAD) {
			e.closed = DROP_TOO_BIG;
			return e;
		}
		if (len - off - STREAM_HDR_LEN < n)
			break;
		off += STREAM_HDR_LEN + n;
		e.frames++;
		e.bytes += n;
	}
	e.cut = off < len;
	return e;
}

static uint32_t
fnv1a(const uint8_t *d, size_t len, uint32_t h)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ d[i]) * 16777619u;
	return h;
}

/* Up to MAX_CUTS places to cut len bytes, ascending, from the input. */
static unsigned
cuts(const uint8_t *d, size_t len, unsigned salt, size_t *at)
{
	uint32_t	x = fnv1a(d, len, 2166136261u ^ salt);
	unsigned	n = x & 3;
	size_t		t;

	for (unsigned i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		at[i] = len == 0 ? 0 : (x >> 8) % (len + 1);
		for (unsigned j = i; j > 0 && at[j - 1] > at[j]; j--) {
			t = at[j];
			at[j] = at[j - 1];
			at[j - 1] = t;
		}
	}
	return n;
}

static int
client(int i)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	memcpy(sun.sun_path, paths[i], sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		abort();
	return fd;
}

/*
 * Writes len bytes, running the loop after each write so the port reads
 * them: false once the port has closed the connection.
 */
static bool
write_all(int fd, const uint8_t *d, size_t len)
{
	ssize_t	w;

	for (int round = 0; len > 0; round++) {
		if (round == FAKE_LOOP_ROUNDS)
			abort();	/* the port stopped reading */
		w = send(fd, d, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w == -1 && (errno == EPIPE || errno == ECONNRESET))
			return false;
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			abort();
		if (w > 0) {
			d += w;
			len -= (size_t)w;
		}
		run();
	}
	return true;
}

/* The stream, in the chunks cuts() gives, each read before the next. */
static void
feed(int i, int fd, const uint8_t *d, size_t len)
{
	size_t		at[MAX_CUTS], from = 0;
	unsigned	n = cuts(d, len, (unsigned)i, at);

	for (unsigned k = 0; k <= n; k++) {
		size_t to = k < n ? at[k] : len;

		if (!write_all(fd, d + from, to - from))
			return;
		from = to;
	}
}

/* Parses what the port sent: every length must be one it may send. */
static void
parse(struct readback *rb, const uint8_t *d, size_t len, int mtu)
{
	size_t		k;
	uint32_t	n;

	while (len > 0) {
		if (rb->left == 0) {
			rb->hdr[rb->nhdr++] = *d++;
			len--;
			if (rb->nhdr < STREAM_HDR_LEN)
				continue;
			n = (uint32_t)rb->hdr[0] << 24 |
			    (uint32_t)rb->hdr[1] << 16 |
			    (uint32_t)rb->hdr[2] << 8 | rb->hdr[3];
			if (n == 0 || n > (uint32_t)mtu + PORT_L2_OVERHEAD)
				abort();	/* the port broke its framing */
			rb->nhdr = 0;
			rb->len = n;
			rb->left = n;
			continue;
		}
		k = len < rb->left ? len : rb->left;
		d += k;
		len -= k;
		if ((rb->left -= k) == 0) {
			rb->frames++;
			rb->bytes += rb->len;
		}
	}
}

/*
 * Reads all the port sent, running the loop so its queue drains into the
 * socket, until both are empty or the port has hung up.
 */
static void
drain(int i, int fd, struct readback *rb)
{
	static uint8_t	buf[64 * 1024];
	ssize_t		r;

	for (int round = 0; round < FAKE_LOOP_ROUNDS; round++) {
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r > 0) {
			parse(rb, buf, (size_t)r, mtus[i]);
			continue;
		}
		if (r == 0 || (r == -1 && errno == ECONNRESET))
			return;
		if (errno != EAGAIN && errno != EINTR)
			abort();
		if (port_stream_queued(streams[i]) == 0)
			return;
		run();
	}
	abort();	/* the queue never drained */
}

static void
stats_grew(const struct port_stats *a, const struct port_stats *b)
{
	if (b->rx_packets < a->rx_packets || b->rx_bytes < a->rx_bytes ||
	    b->tx_packets < a->tx_packets || b->tx_bytes < a->tx_bytes ||
	    b->rx_errors < a->rx_errors || b->tx_errors < a->tx_errors ||
	    b->rx_gso < a->rx_gso || b->tx_gso < a->tx_gso ||
	    b->tx_segmented < a->tx_segmented)
		abort();
	for (int r = 0; r < DROP__MAX; r++)
		if (b->drops[r] < a->drops[r])
			abort();
}

static void
check(int i, const struct port_stats *a, const struct expect *e,
    const struct readback *rb, unsigned said)
{
	const struct port_stats	*b = &streams[i]->stats;
	const uint64_t		 too_big = e->closed == DROP_TOO_BIG;

	if (b->rx_packets - a->rx_packets != e->frames ||
	    b->rx_bytes - a->rx_bytes != e->bytes)
		abort();	/* a frame lost, made up or misread */
	if (b->drops[DROP_BAD_LENGTH] - a->drops[DROP_BAD_LENGTH] !=
	    (e->closed == DROP_BAD_LENGTH) ||
	    b->drops[DROP_TRUNCATED] - a->drops[DROP_TRUNCATED] != e->cut ||
	    closes_said[i] - said != (e->closed != -1))
		abort();	/* a close not counted or said, or twice */
	/* Too big is also what the switch sends it beyond its MTU. */
	if (b->drops[DROP_TOO_BIG] - a->drops[DROP_TOO_BIG] < too_big)
		abort();
	if (b->rx_errors != a->rx_errors || b->tx_errors != a->tx_errors ||
	    b->drops[DROP_NO_BUFFER] != a->drops[DROP_NO_BUFFER] ||
	    b->drops[DROP_TX_ERROR] != a->drops[DROP_TX_ERROR])
		abort();
	if (!rb->rude && (b->tx_packets - a->tx_packets != rb->frames ||
	    b->tx_bytes - a->tx_bytes != rb->bytes))
		abort();	/* sent, the port says, but never read */
	/* A frame cut short only where the port hung up mid-queue. */
	if ((rb->left != 0 || rb->nhdr != 0) && e->closed == -1)
		abort();
	if (strcmp(streams[i]->ops->state(streams[i]), "listening") != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct port_stats	 before[NSTREAMS], dummy_before;
	struct readback		 rb[NSTREAMS];
	struct expect		 e[NSTREAMS];
	unsigned		 said[NSTREAMS], nwatch = 0;
	int			 fd[NSTREAMS];

	if (dp == NULL)
		setup();
	if (len > INPUT_MAX)
		len = INPUT_MAX;
	mac_table_flush(dp->sw->macs, NULL);
	dummy_before = dummy->stats;
	for (int i = 0; i < NSTREAMS; i++) {
		before[i] = streams[i]->stats;
		said[i] = closes_said[i];
		e[i] = model(data, len, mtus[i]);
		rb[i] = (struct readback){ .rude = (fnv1a(data, len,
		    0x5bd1e995u + (unsigned)i) & 3) == 0 };
		fd[i] = client(i);
	}
	run();
	for (int i = 0; i < NSTREAMS; i++)
		if (strcmp(streams[i]->ops->state(streams[i]),
		    "connected") != 0)
			abort();

	for (int i = 0; i < NSTREAMS; i++)
		feed(i, fd[i], data, len);
	for (int i = 0; i < NSTREAMS; i++) {
		if (!rb[i].rude)
			drain(i, fd[i], &rb[i]);
		close(fd[i]);
	}
	run();

	for (int i = 0; i < NSTREAMS; i++) {
		stats_grew(&before[i], &streams[i]->stats);
		check(i, &before[i], &e[i], &rb[i], said[i]);
	}
	stats_grew(&dummy_before, &dummy->stats);
	for (int i = 0; i < FAKE_LOOP_MAX; i++) {
		if (loop.w[i].used && loop.w[i].out)
			abort();	/* a queue left watched */
		nwatch += loop.w[i].used;
	}
	if (nwatch != NSTREAMS)
		abort();	/* a connection left watched */
	if (pkt_pool_avail(dp->pool) != DP_POOL_SIZE ||
	    pkt_pool_avail(dp->large) != DP_LARGE_POOL_SIZE)
		abort();	/* a packet leaked */
	return 0;
}
