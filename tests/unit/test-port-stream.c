/*
 * test-port-stream.c - the "stream" port type on real Unix sockets, driven
 * by a fake event loop; no root needed.
 *
 *   test's client  ==== SOCK ====  [ s0 (stream) -- switch -- d1 (dummy) ]
 *   (plays QEMU)    4-byte length
 *                   + frame, each
 *
 * The fake loop (fake-loop.h) plays the daemon's: run() calls each watch
 * that is ready, as libevent would, until none is.  Frames the client writes
 * are broadcasts, which the switch floods to d1; frames handed to dp_input()
 * as if from d1 are flooded to s0 and read back by the client.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
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
#include "datapath/port-stream.h"
#include "vswitchd/port-types.h"

#include "fake-loop.h"

#define NOW		1000
#define TXQ_MAX		(256 * 1024)	/* the port's queue bound */

struct fixture {
	struct dp	*dp;
	struct port	*d1;
	struct port	*s0;
	char		 dir[64];
	char		 path[108];
	struct fake_loop loop;
	unsigned	 nnotes;
	char		 notes[4096];	/* every note, one a line */
	time_t		 now;
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
	struct fixture	*f = ctx;
	size_t		 off = strlen(f->notes);

	f->nnotes++;
	snprintf(f->notes + off, sizeof(f->notes) - off, "%s: %s\n",
	    port->name, msg);
}

static const struct dp_events events = {
	.port = fake_event, .note = fake_note, .ctx = &fx,
};

/* How many notes contain s. */
static unsigned
noted(const struct fixture *f, const char *s)
{
	unsigned	 n = 0;

	for (const char *p = f->notes; (p = strstr(p, s)) != NULL; p++)
		n++;
	return n;
}

static void
run(struct fixture *f)
{
	if (!fake_loop_run(&f->loop, f->now))
		fail_msg("the loop never settled");
}

static int
add_port(struct fixture *f, struct port_config *cfg, struct port **port,
    char *err, size_t errlen)
{
	err[0] = '\0';
	return dp_port_add(f->dp, cfg, port, err, errlen);
}

static struct port_config
stream_config(const char *name, const char *path, bool connect)
{
	struct port_config	c = { .type = "stream" };

	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.path, sizeof(c.path), "%s", path);
	c.given = connect ? PORT_SET_CONNECT : PORT_SET_PATH;
	c.connect = connect;
	return c;
}

static struct port *
add_stream(struct fixture *f, struct port_config *cfg)
{
	struct port	*port;
	char		 err[256];

	if (add_port(f, cfg, &port, err, sizeof(err)) != 0)
		fail_msg("port %s: %s", cfg->name, err);
	return port;
}

static int
setup(void **state)
{
	struct port_config	cfg = { .name = "d1", .type = "dummy" };
	struct port_config	sc;
	char			err[256];

	memset(&fx, 0, sizeof(fx));
	fx.now = NOW;
	strcpy(fx.dir, "/tmp/vsw-stream-XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	snprintf(fx.path, sizeof(fx.path), "%s/s0.sock", fx.dir);
	if ((fx.dp = dp_create()) == NULL)
		return -1;
	dp_set_events(fx.dp, &events);
	if (fake_loop_attach(&fx.loop, fx.dp) != 0 ||
	    dp_port_add(fx.dp, &cfg, &fx.d1, err, sizeof(err)) != 0)
		return -1;
	sc = stream_config("s0", fx.path, false);
	if (dp_port_add(fx.dp, &sc, &fx.s0, err, sizeof(err)) != 0) {
		fprintf(stderr, "s0: %s\n", err);
		return -1;
	}
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	const char	*left[] = { "s0.sock", "peer.sock", "file" };
	char		 path[160];
	bool		 removed;

	dp_destroy(f->dp);
	removed = access(f->path, F_OK) == -1;
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, left[i]);
		unlink(path);
	}
	rmdir(f->dir);
	assert_true(removed);		/* by dp_destroy() */
	return 0;
}

/* Ethernet broadcast from 02:00:00:00:00:src, numbered seq, len bytes. */
static void
frame(uint8_t *buf, size_t len, uint8_t src, uint32_t seq)
{
	memset(buf, 0xff, 6);
	memcpy(buf + 6, "\x02\0\0\0\0", 5);
	buf[11] = src;
	buf[12] = 0x88;
	buf[13] = 0xb5;
	for (size_t i = 14; i < len; i++)
		buf[i] = (uint8_t)(seq + i);
	if (len >= 18)
		memcpy(buf + 14, &seq, 4);
}

static void
put_len(uint8_t *p, uint32_t len)
{
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
}

static void
write_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Writes frame seq of len bytes, from 02:..:0a, length first. */
static void
client_send(int fd, size_t len, uint32_t seq)
{
	uint8_t	buf[STREAM_HDR_LEN + 9300];

	put_len(buf, (uint32_t)len);
	frame(buf + STREAM_HDR_LEN, len, 0x0a, seq);
	write_all(fd, buf, STREAM_HDR_LEN + len);
}

/*
 * Writes n frames of len bytes numbered from seq in as few writes as the
 * socket takes, running the loop while it is full.
 */
static void
feed(struct fixture *f, int fd, unsigned n, size_t len, uint32_t seq)
{
	size_t	 size = n * (STREAM_HDR_LEN + len), off = 0;
	uint8_t	*buf = malloc(size), *p = buf;
	ssize_t	 w;

	assert_non_null(buf);
	for (unsigned i = 0; i < n; i++, p += STREAM_HDR_LEN + len) {
		put_len(p, (uint32_t)len);
		frame(p + STREAM_HDR_LEN, len, 0x0a, seq + i);
	}
	while (off < size) {
		w = send(fd, buf + off, size - off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w == -1 && errno == EAGAIN)
			w = 0;
		assert_true(w >= 0);
		off += (size_t)w;
		run(f);
	}
	free(buf);
}

/* Reads n bytes, waiting up to a second for each part: false at EOF. */
static bool
read_exact(int fd, void *buf, size_t n)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	ssize_t		r;

	for (size_t got = 0; got < n; got += (size_t)r) {
		assert_int_equal(poll(&pfd, 1, 1000), 1);
		r = read(fd, (uint8_t *)buf + got, n - got);
		assert_true(r >= 0);
		if (r == 0)
			return false;
	}
	return true;
}

/* The next frame at the client: its length, and the frame in buf. */
static uint32_t
client_recv(int fd, uint8_t *buf)
{
	uint8_t		hdr[STREAM_HDR_LEN];
	uint32_t	len;

	assert_true(read_exact(fd, hdr, sizeof(hdr)));
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	assert_true(len > 0 && len <= 9300);
	assert_true(read_exact(fd, buf, len));
	return len;
}

/* Whether the switch closed the client's connection (EOF is waiting). */
static bool
closed_by_peer(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	uint8_t		b[256];
	ssize_t		r;

	while (poll(&pfd, 1, 1000) == 1) {
		if ((r = recv(fd, b, sizeof(b), MSG_DONTWAIT)) <= 0)
			return r == 0 || errno == ECONNRESET;
	}
	return false;
}

/* Nothing waiting to be read, and not closed. */
static bool
quiet(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 0;
}

static int
unix_socket(void)
{
	int	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	return fd;
}

static struct sockaddr_un
sun_of(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	return sun;
}

static int
client(const char *path)
{
	struct sockaddr_un	sun = sun_of(path);
	int			fd = unix_socket();

	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* A client the port took: connected, and the loop ran. */
static int
guest(struct fixture *f)
{
	int	fd = client(f->path);

	run(f);
	assert_string_equal(f->s0->ops->state(f->s0), "connected");
	return fd;
}

static int
listener(const char *path)
{
	struct sockaddr_un	sun = sun_of(path);
	int			fd = unix_socket();

	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* n broadcast frames of len bytes as if received on d1 from 02:..:0d. */
static void
from_d1(struct fixture *f, unsigned n, size_t len, uint32_t seq)
{
	struct pkt_batch	 b;
	struct pkt		*p;

	while (n > 0) {
		pkt_batch_init(&b);
		for (; n > 0 && b.count < PKT_BATCH_MAX; n--, seq++) {
			assert_non_null(p = pkt_alloc(f->dp->pool));
			frame(p->data, len, 0x0d, seq);
			p->len = (uint32_t)len;
			pkt_batch_add(&b, p);
		}
		dp_input(f->dp, f->d1, &b, f->now);
	}
}

/* Frame seq of len bytes from 0x0a arrived at d1 as its frame i. */
static void
assert_at_d1(struct fixture *f, unsigned i, size_t len, uint32_t seq)
{
	uint8_t		 want[9300];
	const uint8_t	*got;
	size_t		 glen;

	assert_non_null(got = port_dummy_sent(f->d1, i, &glen));
	assert_int_equal(glen, len);
	frame(want, len, 0x0a, seq);
	assert_memory_equal(got, want, len);
}

static void
assert_pool_full(struct fixture *f)
{
	assert_int_equal(pkt_pool_avail(f->dp->pool), DP_POOL_SIZE);
}

/* The file is a socket, 0660 whatever the umask, in the group asked for. */
static void
test_socket_file(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 c;
	struct port		*s1;
	struct stat		 st;
	char			 path[160];
	mode_t			 old = umask(077);

	snprintf(path, sizeof(path), "%s/peer.sock", f->dir);
	c = stream_config("s1", path, false);
	c.given |= PORT_SET_GROUP;
	c.has_group = true;
	c.group = getgid();
	s1 = add_stream(f, &c);
	umask(old);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, getgid());
	assert_string_equal(s1->ops->state(s1), "listening");
	assert_int_equal(s1->mtu, 1500);
	assert_int_equal(s1->takes, 0);
	assert_int_equal(s1->fd, -1);

	dp_port_del(f->dp, s1);
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void
assert_refused(struct fixture *f, struct port_config *c, int error,
    const char *msg)
{
	struct port	*port = NULL;
	char		 err[256];

	assert_int_equal(add_port(f, c, &port, err, sizeof(err)), error);
	if (strstr(err, msg) == NULL)
		fail_msg("'%s' is not in '%s'", msg, err);
	assert_null(dp_port_find(f->dp, c->name));
}

static void
test_config_errors(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 c;
	char			 path[160], file[160];
	int			 fd;
	FILE			*fp;

	snprintf(path, sizeof(path), "%s/peer.sock", f->dir);
	c = stream_config("s1", "", false);
	c.given = 0;
	assert_refused(f, &c, EINVAL, "s1: a stream port needs a socket: "
	    "'path SOCKET' to listen on or 'connect SOCKET'");

	c = stream_config("s1", path, false);
	c.given |= PORT_SET_MTU;
	c.mtu = 67;
	assert_refused(f, &c, EINVAL, "s1: invalid mtu 67 (68 to 9216)");
	c.mtu = 9217;
	assert_refused(f, &c, EINVAL, "s1: invalid mtu 9217 (68 to 9216)");

	c = stream_config("s1", "vm.sock", false);
	assert_refused(f, &c, EINVAL, "socket path 'vm.sock' is not absolute");

	c = stream_config("s1", path, true);
	c.given |= PORT_SET_GROUP;
	c.has_group = true;
	assert_refused(f, &c, EINVAL, "'group' is for a socket the port "
	    "makes");

	c = stream_config("s1", path, false);
	c.given |= PORT_SET_REMOTE;
	assert_refused(f, &c, EINVAL, "a stream port takes no 'remote' (it "
	    "takes mtu, split-horizon, path, connect, group)");

	c = stream_config("s1", "/nonexistent-dir/x.sock", false);
	assert_refused(f, &c, ENOENT, "s1: cannot bind "
	    "'/nonexistent-dir/x.sock': No such file or directory");

	/* Another file at the path stays; so does a socket in use. */
	snprintf(file, sizeof(file), "%s/file", f->dir);
	assert_non_null(fp = fopen(file, "w"));
	fclose(fp);
	c = stream_config("s1", file, false);
	assert_refused(f, &c, EEXIST, "exists and is not a socket");
	assert_int_equal(access(file, F_OK), 0);

	/* A directory anyone may write, without the sticky bit: refused. */
	snprintf(file, sizeof(file), "%s/open", f->dir);
	assert_int_equal(mkdir(file, 0700), 0);
	assert_int_equal(chmod(file, 0777), 0);
	snprintf(file + strlen(file), sizeof(file) - strlen(file), "/x.sock");
	c = stream_config("s1", file, false);
	assert_refused(f, &c, EPERM, "which anyone may write (no sticky "
	    "bit)");
	*strrchr(file, '/') = '\0';
	assert_int_equal(chmod(file, 01777), 0);
	snprintf(file + strlen(file), sizeof(file) - strlen(file), "/x.sock");
	c = stream_config("s1", file, false);
	add_stream(f, &c);
	assert_int_equal(f->dp->nports, 3);
	dp_port_del(f->dp, dp_port_find(f->dp, "s1"));
	assert_int_equal(access(file, F_OK), -1);
	*strrchr(file, '/') = '\0';
	assert_int_equal(rmdir(file), 0);

	c = stream_config("s1", f->path, false);
	assert_refused(f, &c, EADDRINUSE, "s1: '");
	assert_refused(f, &c, EADDRINUSE,
	    "' is in use: something listens on it");
	assert_string_equal(f->s0->ops->state(f->s0), "listening");

	/* A socket nobody listens on is a daemon's that died: replaced. */
	fd = listener(path);
	close(fd);
	c = stream_config("s1", path, false);
	add_stream(f, &c);
	assert_int_equal(f->dp->nports, 3);
	run(f);		/* the probes of the in-use check come and go */
}

/* Frames from the client reach d1, whole frames in one write or not. */
static void
test_frames_in(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 buf[3 * (STREAM_HDR_LEN + 1514)], *p = buf;
	const size_t	 lens[3] = { 60, 1514, 100 };
	int		 fd = guest(f);

	assert_int_equal(noted(f, "peer connected on"), 1);
	assert_non_null(strstr(f->notes, f->path));

	for (int i = 0; i < 3; i++) {
		put_len(p, (uint32_t)lens[i]);
		frame(p + STREAM_HDR_LEN, lens[i], 0x0a, (uint32_t)i);
		p += STREAM_HDR_LEN + lens[i];
	}
	write_all(fd, buf, (size_t)(p - buf));
	run(f);
	assert_int_equal(port_dummy_sent_count(f->d1), 3);
	for (unsigned i = 0; i < 3; i++)
		assert_at_d1(f, i, lens[i], i);
	assert_int_equal(f->s0->stats.rx_packets, 3);
	assert_int_equal(f->s0->stats.rx_bytes, 60 + 1514 + 100);

	/* Byte by byte: the frame waits until it is whole. */
	put_len(buf, 200);
	frame(buf + STREAM_HDR_LEN, 200, 0x0a, 7);
	for (size_t i = 0; i < STREAM_HDR_LEN + 200; i++) {
		assert_int_equal(port_dummy_sent_count(f->d1), 3);
		write_all(fd, buf + i, 1);
		run(f);
	}
	assert_int_equal(port_dummy_sent_count(f->d1), 4);
	assert_at_d1(f, 3, 200, 7);

	/* More than a read and a batch take at once. */
	feed(f, fd, 300, 1000, 100);
	assert_int_equal(port_dummy_sent_count(f->d1), 304);
	assert_at_d1(f, 303, 1000, 399);
	assert_int_equal(f->s0->stats.rx_packets, 304);
	assert_pool_full(f);
	close(fd);
}

/* Frames sent out of s0 arrive at the client, each behind its length. */
static void
test_frames_out(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 buf[2000], want[2000];
	int		 fd = guest(f);

	from_d1(f, 5, 60, 0);
	from_d1(f, PKT_BATCH_MAX, 1514, 5);
	for (uint32_t i = 0; i < 5 + PKT_BATCH_MAX; i++) {
		size_t len = i < 5 ? 60 : 1514;

		assert_int_equal(client_recv(fd, buf), len);
		frame(want, len, 0x0d, i);
		assert_memory_equal(buf, want, len);
	}
	assert_true(quiet(fd));
	assert_int_equal(f->s0->stats.tx_packets, 5 + PKT_BATCH_MAX);
	assert_int_equal(f->s0->stats.tx_bytes, 5 * 60 + PKT_BATCH_MAX * 1514);
	assert_int_equal(port_stream_queued(f->s0), 0);

	/* Larger than the port's MTU allows: dropped, not sent. */
	from_d1(f, 1, 1519, 99);
	assert_int_equal(f->s0->stats.drops[DROP_TOO_BIG], 1);
	assert_true(quiet(fd));
	assert_pool_full(f);
	close(fd);
}

/* No peer: frames for it are dropped as link_down. */
static void
test_no_peer_is_link_down(void **state)
{
	struct fixture	*f = *state;

	from_d1(f, 3, 60, 0);
	assert_int_equal(f->s0->stats.drops[DROP_LINK_DOWN], 3);
	assert_int_equal(f->s0->stats.tx_packets, 0);
	assert_pool_full(f);
}

/* A second client while one is served is closed at once and counted. */
static void
test_second_client_refused(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 buf[100];
	int		 c1 = guest(f), c2, c3;

	c2 = client(f->path);
	c3 = client(f->path);
	run(f);
	assert_true(closed_by_peer(c2));
	assert_true(closed_by_peer(c3));
	assert_int_equal(f->s0->stats.rx_errors, 2);
	assert_int_equal(noted(f, "refused a second connection"), 1);

	/* The first is served as before. */
	client_send(c1, 60, 1);
	run(f);
	assert_int_equal(port_dummy_sent_count(f->d1), 1);
	from_d1(f, 1, 60, 2);
	assert_int_equal(client_recv(c1, buf), 60);
	close(c1);
	close(c2);
	close(c3);
	run(f);
	assert_string_equal(f->s0->ops->state(f->s0), "listening");
}

/*
 * A length no frame has (0, more than any frame) or more than the MTU
 * allows: the frames before it are delivered, then the connection closes,
 * counted and said once, and the next one is served.
 */
static void
test_garbage_lengths_close(void **state)
{
	struct fixture	*f = *state;
	const struct {
		uint32_t		len;
		enum drop_reason	why;
	} bad[] = {
		{ 0, DROP_BAD_LENGTH },
		{ 0xffffffff, DROP_BAD_LENGTH },
		{ 9235, DROP_BAD_LENGTH },
		{ 1500 + 18 + 1, DROP_TOO_BIG },
		{ 9234, DROP_TOO_BIG },
	};
	uint64_t	 drops[DROP__MAX] = { 0 };
	uint8_t		 hdr[STREAM_HDR_LEN + 20] = { 0 };
	unsigned	 sent = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = guest(f);

		client_send(fd, 60, (uint32_t)i);
		put_len(hdr, bad[i].len);
		write_all(fd, hdr, sizeof(hdr));
		client_send(fd, 60, 100);	/* never read */
		run(f);
		assert_int_equal(port_dummy_sent_count(f->d1), ++sent);
		assert_at_d1(f, sent - 1, 60, (uint32_t)i);
		assert_true(closed_by_peer(fd));
		drops[bad[i].why]++;
		assert_memory_equal(f->s0->stats.drops, drops, sizeof(drops));
		assert_string_equal(f->s0->ops->state(f->s0), "listening");
		assert_int_equal(noted(f, "closed the connection"), i + 1);
		close(fd);
	}
	assert_int_equal(noted(f, "frame length 4294967295 (not a frame"), 1);
	assert_int_equal(noted(f, "frame length 1519 is more than mtu 1500"),
	    1);

	/* Served again. */
	int fd = guest(f);

	client_send(fd, 60, 7);
	run(f);
	assert_int_equal(port_dummy_sent_count(f->d1), sent + 1);
	assert_pool_full(f);
	close(fd);
}

/* The connection ends inside a frame, or inside a length: truncated. */
static void
test_truncated_at_eof(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 buf[STREAM_HDR_LEN + 50];
	int		 fd = guest(f);

	put_len(buf, 100);
	frame(buf + STREAM_HDR_LEN, 50, 0x0a, 0);
	write_all(fd, buf, sizeof(buf));
	run(f);
	close(fd);
	run(f);
	assert_int_equal(f->s0->stats.drops[DROP_TRUNCATED], 1);
	assert_string_equal(f->s0->ops->state(f->s0), "listening");
	assert_int_equal(noted(f, "peer disconnected in the middle of a "
	    "frame; listening again"), 1);

	fd = guest(f);
	write_all(fd, buf, 2);
	close(fd);
	run(f);
	assert_int_equal(f->s0->stats.drops[DROP_TRUNCATED], 2);

	/* A client that says nothing and goes costs nothing. */
	fd = guest(f);
	close(fd);
	run(f);
	assert_int_equal(f->s0->stats.drops[DROP_TRUNCATED], 2);
	assert_int_equal(port_dummy_sent_count(f->d1), 0);
	assert_int_equal(noted(f, "peer disconnected; listening again"), 1);
}

/* The guest reboots, QEMU reconnects: the port serves the new connection. */
static void
test_guest_restart(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 buf[100];

	for (uint32_t i = 0; i < 3; i++) {
		int fd = guest(f);

		client_send(fd, 60, i);
		run(f);
		assert_int_equal(port_dummy_sent_count(f->d1), i + 1);
		from_d1(f, 1, 64, i);
		assert_int_equal(client_recv(fd, buf), 64);
		close(fd);
		run(f);
		assert_string_equal(f->s0->ops->state(f->s0), "listening");
	}
	assert_int_equal(noted(f, "peer connected"), 3);
	assert_int_equal(noted(f, "peer disconnected"), 3);
	assert_int_equal(f->s0->stats.tx_packets, 3);
	assert_int_equal(f->s0->stats.rx_packets, 3);
}

/* A guest killed with frames unread resets the connection: no error. */
static void
test_reset_is_a_hangup(void **state)
{
	struct fixture	*f = *state;
	int		 fd = guest(f);

	from_d1(f, 3, 60, 0);
	close(fd);
	run(f);
	assert_string_equal(f->s0->ops->state(f->s0), "listening");
	assert_int_equal(f->s0->stats.rx_errors, 0);
	assert_int_equal(noted(f, "connection failed (Connection reset by "
	    "peer); listening again"), 1);
}

/* With the pool empty frames are dropped as no_buffer; the stream holds. */
static void
test_no_buffer(void **state)
{
	struct fixture		*f = *state;
	static struct pkt	*held[DP_POOL_SIZE + 1];
	unsigned		 n = 0;
	int			 fd = guest(f);

	while ((held[n] = pkt_alloc(f->dp->pool)) != NULL)
		n++;
	client_send(fd, 60, 0);
	client_send(fd, 70, 1);
	run(f);
	assert_int_equal(f->s0->stats.drops[DROP_NO_BUFFER], 2);
	assert_int_equal(f->s0->stats.rx_packets, 2);
	while (n > 0)
		pkt_free(held[--n]);
	client_send(fd, 80, 2);
	run(f);
	assert_int_equal(port_dummy_sent_count(f->d1), 1);
	assert_at_d1(f, 0, 80, 2);
	close(fd);
}

/*
 * A client that never reads: the socket fills, then the port's queue up
 * to its bound, and the rest is dropped as tx_full; nothing blocks.  When
 * the client reads at last, it gets every frame counted as sent, in order.
 */
static void
test_slow_client_bounded(void **state)
{
	struct fixture	*f = *state;
	const unsigned	 total = 64 * PKT_BATCH_MAX;
	const size_t	 len = 1514;
	uint8_t		 buf[2000];
	unsigned	 got = 0;
	uint32_t	 seq, last = 0;
	int		 fd = guest(f);

	for (unsigned i = 0; i < total; i += PKT_BATCH_MAX) {
		from_d1(f, PKT_BATCH_MAX, len, i);
		run(f);
		assert_true(port_stream_queued(f->s0) <= TXQ_MAX);
	}
	assert_true(port_stream_queued(f->s0) > TXQ_MAX - (STREAM_HDR_LEN +
	    len));
	assert_true(f->s0->stats.drops[DROP_TX_FULL] > 0);
	assert_true(f->s0->stats.tx_packets + f->s0->stats.drops[DROP_TX_FULL]
	    < total);
	assert_pool_full(f);

	/* It reads: the queue drains through the writability watch. */
	while (port_stream_queued(f->s0) > 0 ||
	    !quiet(fd)) {
		assert_int_equal(client_recv(fd, buf), len);
		memcpy(&seq, buf + 14, 4);
		assert_true(got == 0 || seq > last);
		last = seq;
		got++;
		run(f);
	}
	assert_int_equal(got, f->s0->stats.tx_packets);
	assert_int_equal(f->s0->stats.tx_packets +
	    f->s0->stats.drops[DROP_TX_FULL], total);
	assert_int_equal(f->s0->stats.tx_bytes, (uint64_t)got * len);
	assert_int_equal(f->s0->stats.drops[DROP_LINK_DOWN], 0);

	/* Drained, it is served at once again. */
	from_d1(f, 1, 60, total);
	assert_int_equal(client_recv(fd, buf), 60);
	close(fd);
}

/* What the queue held when the client went is counted as link_down. */
static void
test_queue_lost_with_the_connection(void **state)
{
	struct fixture	*f = *state;
	const unsigned	 total = 16 * PKT_BATCH_MAX;
	int		 fd = guest(f);

	from_d1(f, total, 1514, 0);
	assert_true(port_stream_queued(f->s0) > 0);
	close(fd);
	run(f);
	assert_string_equal(f->s0->ops->state(f->s0), "listening");
	assert_int_equal(port_stream_queued(f->s0), 0);
	assert_true(f->s0->stats.drops[DROP_LINK_DOWN] > 0);
	assert_int_equal(f->s0->stats.tx_packets +
	    f->s0->stats.drops[DROP_TX_FULL] +
	    f->s0->stats.drops[DROP_LINK_DOWN], total);
	/* Nothing left to watch for writing. */
	for (int i = 0; i < FAKE_LOOP_MAX; i++)
		assert_false(f->loop.w[i].used && f->loop.w[i].out);
}

/* A larger MTU lets larger frames through, up to MTU + 18. */
static void
test_mtu(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 c;
	struct port		*s1;
	char			 path[160];
	int			 fd;

	snprintf(path, sizeof(path), "%s/peer.sock", f->dir);
	c = stream_config("s1", path, false);
	c.given |= PORT_SET_MTU;
	c.mtu = 9000;
	s1 = add_stream(f, &c);
	assert_int_equal(s1->mtu, 9000);
	fd = client(path);
	run(f);
	client_send(fd, 9018, 1);
	run(f);
	assert_int_equal(s1->stats.rx_packets, 1);
	client_send(fd, 9019, 2);
	run(f);
	assert_int_equal(s1->stats.drops[DROP_TOO_BIG], 1);
	assert_true(closed_by_peer(fd));
	close(fd);
}

/*
 * Client mode: the port connects to a socket QEMU (here the test) listens
 * on, at once and then every second from the tick while it is not there.
 */
static void
test_client_mode(void **state)
{
	struct fixture		*f = *state;
	struct port_config	 c;
	struct port		*s1;
	char			 path[160];
	uint8_t			 buf[100];
	int			 l, fd;

	snprintf(path, sizeof(path), "%s/peer.sock", f->dir);
	c = stream_config("s1", path, true);
	s1 = add_stream(f, &c);
	assert_string_equal(s1->ops->state(s1), "connecting");
	assert_int_equal(noted(f, "cannot connect to"), 1);
	dp_tick(f->dp, ++f->now);
	assert_int_equal(noted(f, "cannot connect to"), 1);	/* once */

	l = listener(path);
	dp_tick(f->dp, ++f->now);
	assert_string_equal(s1->ops->state(s1), "connected");
	assert_int_equal(noted(f, "connected to"), 1);
	assert_true((fd = accept(l, NULL, NULL)) >= 0);

	client_send(fd, 60, 1);
	run(f);
	assert_int_equal(port_dummy_sent_count(f->d1), 1);
	from_d1(f, 1, 60, 2);
	assert_int_equal(client_recv(fd, buf), 60);

	/* QEMU goes: the port reconnects at the next tick. */
	close(fd);
	run(f);
	assert_string_equal(s1->ops->state(s1), "connecting");
	assert_int_equal(noted(f, "reconnecting every second"), 1);
	dp_tick(f->dp, ++f->now);
	assert_string_equal(s1->ops->state(s1), "connected");
	assert_true((fd = accept(l, NULL, NULL)) >= 0);
	client_send(fd, 60, 3);
	run(f);
	assert_int_equal(port_dummy_sent_count(f->d1), 2);

	/* And comes back later, on a new socket. */
	close(fd);
	close(l);
	run(f);
	dp_tick(f->dp, ++f->now);
	dp_tick(f->dp, ++f->now);
	assert_string_equal(s1->ops->state(s1), "connecting");
	assert_int_equal(noted(f, "cannot connect to"), 2);
	unlink(path);
	l = listener(path);
	dp_tick(f->dp, ++f->now);
	assert_string_equal(s1->ops->state(s1), "connected");
	assert_true((fd = accept(l, NULL, NULL)) >= 0);

	/* The socket is QEMU's: deleting the port leaves it. */
	dp_port_del(f->dp, s1);
	assert_true(closed_by_peer(fd));
	assert_int_equal(access(path, F_OK), 0);
	close(fd);
	close(l);
}

/* Deleting a port with a peer and a queue closes and frees everything. */
static void
test_del_while_connected(void **state)
{
	struct fixture	*f = *state;
	int		 fd = guest(f);

	from_d1(f, 8 * PKT_BATCH_MAX, 1514, 0);
	assert_true(port_stream_queued(f->s0) > 0);
	dp_port_del(f->dp, f->s0);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_true(closed_by_peer(fd));
	for (int i = 0; i < FAKE_LOOP_MAX; i++)
		assert_false(f->loop.w[i].used);
	assert_pool_full(f);
	close(fd);
}

#define T(t)	cmocka_unit_test_setup_teardown(t, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_socket_file),
		T(test_config_errors),
		T(test_frames_in),
		T(test_frames_out),
		T(test_no_peer_is_link_down),
		T(test_second_client_refused),
		T(test_garbage_lengths_close),
		T(test_truncated_at_eof),
		T(test_guest_restart),
		T(test_reset_is_a_hangup),
		T(test_no_buffer),
		T(test_slow_client_bounded),
		T(test_queue_lost_with_the_connection),
		T(test_mtu),
		T(test_client_mode),
		T(test_del_while_connected),
	};

	if (port_types_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
