/*
 * port-stream.c - the "stream" port type: Ethernet frames on a Unix stream
 * socket, each behind a 4-byte big-endian length (port-stream.h), as QEMU's
 * -netdev stream speaks them.  A guest gets a switch port with no tap, no
 * CAP_NET_ADMIN and no root on its side.
 *
 * Two ways to meet the peer, unix-sock.h's: with "path SOCKET" the port
 * makes the socket file and listens, one connection at a time, and when
 * the peer goes (a guest reboot, QEMU restarting) simply waits for the
 * next; with "connect SOCKET" the port connects to a QEMU that listens
 * (server=on), and tries again every second while it is not there.  Reads
 * that fail other than by the peer hanging up count in rx_errors.
 *
 * Receive: one read() per readiness event, of up to STREAM_RX_BUF bytes,
 * into the connection's buffer; every whole frame in it is copied into a
 * dp->pool buffer and handed to the switch in batches of PKT_BATCH_MAX; a
 * partial frame waits at the front of the buffer for the next read.  The
 * length is untrusted: zero or more than any frame (bad_length), or more
 * than the port's MTU allows (too_big), means the stream is garbage or out
 * of step, so the connection is closed, once counted and said; a frame cut
 * short by the end of the stream is counted as truncated.
 *
 * Send: the frames of a batch go out as header and frame iovecs of one
 * sendmsg().  What the socket does not take waits in an output queue of at
 * most STREAM_TXQ_MAX bytes, written when the socket is writable again
 * (dp_watch_out()); while it is not empty, frames join it without a system
 * call, and those that do not fit are dropped as tx_full.  So a guest that
 * does not read loses its own frames and nothing else stalls.  Frames are
 * counted as sent once their last byte is in the socket; those the queue
 * still holds when the connection ends are counted as link_down, as is
 * everything sent while there is no peer.
 *
 * Frames are plain (port->takes 0): port_send() finishes checksums and
 * segments super-frames before send_batch.
 */
#include <sys/socket.h>
#include <sys/uio.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "be.h"
#include "dp.h"
#include "port-stream.h"
#include "unix-sock.h"

#define STREAM_MTU_DEFAULT	1500
#define STREAM_MTU_MIN		68
#define STREAM_MTU_MAX		(PKT_DATA_ROOM - PORT_L2_OVERHEAD)
/* The longest frame any port carries: a longer length is garbage. */
#define STREAM_FRAME_MAX	PKT_DATA_ROOM
/* One read's worth: dozens of MTU-sized frames, always room for one more. */
#define STREAM_RX_BUF		(64 * 1024)
/* A guest that stops reading holds at most this much of ours. */
#define STREAM_TXQ_MAX		(256 * 1024)

_Static_assert(STREAM_RX_BUF >= 2 * (STREAM_HDR_LEN + STREAM_FRAME_MAX),
    "a read always has room after a partial frame");
_Static_assert(STREAM_TXQ_MAX >= STREAM_HDR_LEN + STREAM_FRAME_MAX,
    "the rest of a frame a write cut always fits an empty queue");

/*
 * Bytes buf[off..off + len) wait for the socket.  The first frame may be
 * partly written already: head_left is what remains of it (0 when the
 * queue starts at a header still to be read), head_len its frame length.
 */
struct stream_txq {
	uint8_t		*buf;
	size_t		 off;
	size_t		 len;
	size_t		 head_left;
	uint32_t	 head_len;
	unsigned	 frames;	/* whole or partial */
};

struct stream {
	struct usock	 us;

	int		 fd;		/* the connection, or -1 */
	unsigned	 gen;		/* changes with each connection */
	struct dp_watch	*rwatch;
	struct dp_watch	*wwatch;	/* while the queue holds bytes */
	uint8_t		*rx;
	size_t		 rxlen;
	struct stream_txq q;
};

static void	stream_readable(void *, time_t);
static void	stream_writable(void *, time_t);

static int
stream_check(const struct port_config *c, char *err, size_t errlen)
{
	if (c->mtu != 0 &&
	    (c->mtu < STREAM_MTU_MIN || c->mtu > STREAM_MTU_MAX))
		return port_err(err, errlen, EINVAL, "%s: invalid mtu %d "
		    "(%d to %d)", c->name, c->mtu, STREAM_MTU_MIN,
		    STREAM_MTU_MAX);
	return usock_check(c, "a stream port", err, errlen);
}

/* Errors that say the peer went: it hung up rather than failed. */
static bool
stream_peer_gone(int error)
{
	return error == EPIPE || error == ECONNRESET || error == ENOTCONN;
}

/* The connection is up: read it. */
static int
stream_attach(struct port *port, int fd)
{
	struct stream	*s = port->priv;
	int		 error;

	if ((error = dp_watch(port->dp, fd, stream_readable, port,
	    &s->rwatch)) != 0)
		return error;
	s->fd = fd;
	s->gen++;
	return 0;
}

static bool
stream_busy(const struct port *port)
{
	const struct stream	*s = port->priv;

	return s->fd != -1;
}

static const struct usock_ops stream_usock_ops = {
	.peer	= "peer",
	.attach	= stream_attach,
	.busy	= stream_busy,
};

/*
 * Ends the connection: what the queue held is lost with it, what the
 * receive buffer held is thrown away (the caller counted it).
 */
static void
stream_detach(struct port *port)
{
	struct stream	*s = port->priv;

	dp_unwatch(port->dp, s->rwatch);
	dp_unwatch(port->dp, s->wwatch);
	s->rwatch = s->wwatch = NULL;
	close(s->fd);
	s->fd = -1;
	s->gen++;
	port->stats.drops[DROP_LINK_DOWN] += s->q.frames;
	s->q = (struct stream_txq){ .buf = s->q.buf };
	s->rxlen = 0;
}

/* The peer went, or the connection failed (error 0: an orderly end). */
static void
stream_hangup(struct port *port, int error)
{
	struct stream	*s = port->priv;
	const bool	 cut = s->rxlen > 0;

	if (cut)
		port_drop(port, DROP_TRUNCATED);
	stream_detach(port);
	dp_port_note(port, "%s%s%s%s; %s", error == 0 ? "peer disconnected" :
	    "connection failed (", error == 0 ? "" : strerror(error),
	    error == 0 ? "" : ")", cut ? " in the middle of a frame" : "",
	    s->us.connect ? "reconnecting every second" : "listening again");
}

/* The stream cannot be trusted past a length like this one. */
static void
stream_garbage(struct port *port, uint32_t len)
{
	const bool	impossible = len == 0 || len > STREAM_FRAME_MAX;

	port_drop(port, impossible ? DROP_BAD_LENGTH : DROP_TOO_BIG);
	stream_detach(port);
	if (impossible)
		dp_port_note(port, "closed the connection: frame length %u "
		    "(not a frame: 1 to %d)", len, STREAM_FRAME_MAX);
	else
		dp_port_note(port, "closed the connection: frame length %u is "
		    "more than mtu %d allows (%d)", len, port->mtu,
		    port->mtu + PORT_L2_OVERHEAD);
}

static void
stream_input(struct port *port, struct pkt_batch *b, time_t now)
{
	dp_input(port->dp, port, b, now);
	pkt_batch_init(b);
}

/*
 * Hands every whole frame of the receive buffer to the switch and keeps a
 * partial one at its front.  Forwarding could close this very connection
 * (a send to it failing): the generation tells.
 */
static void
stream_frames(struct port *port, time_t now)
{
	struct stream		*s = port->priv;
	const unsigned		 gen = s->gen;
	struct pkt_batch	 b;
	struct pkt		*p;
	size_t			 off = 0;
	uint32_t		 len;

	pkt_batch_init(&b);
	while (s->rxlen - off >= STREAM_HDR_LEN) {
		len = be32_get(s->rx + off);
		if (len == 0 || !port_frame_fits(port, len)) {
			if (b.count > 0)
				stream_input(port, &b, now);
			if (s->gen == gen)
				stream_garbage(port, len);
			return;
		}
		if (s->rxlen - off - STREAM_HDR_LEN < len)
			break;
		off += STREAM_HDR_LEN;
		port->stats.rx_packets++;
		port->stats.rx_bytes += len;
		if ((p = pkt_alloc(port->dp->pool)) == NULL) {
			port_drop(port, DROP_NO_BUFFER);
		} else {
			memcpy(p->data, s->rx + off, len);
			p->len = len;
			pkt_batch_add(&b, p);
		}
		off += len;
		if (b.count == PKT_BATCH_MAX) {
			stream_input(port, &b, now);
			if (s->gen != gen)
				return;
		}
	}
	if (b.count > 0) {
		stream_input(port, &b, now);
		if (s->gen != gen)
			return;
	}
	memmove(s->rx, s->rx + off, s->rxlen - off);
	s->rxlen -= off;
}

static void
stream_readable(void *arg, time_t now)
{
	struct port	*port = arg;
	struct stream	*s = port->priv;
	ssize_t		 n;

	n = read(s->fd, s->rx + s->rxlen, STREAM_RX_BUF - s->rxlen);
	if (n > 0) {
		s->rxlen += (size_t)n;
		stream_frames(port, now);
	} else if (n == 0) {
		stream_hangup(port, 0);
	} else if (errno != EAGAIN && errno != EINTR) {
		/* A peer killed with our frames unread resets: not an error. */
		if (!stream_peer_gone(errno))
			port->stats.rx_errors++;
		stream_hangup(port, errno);
	}
}

static void
stream_tick(struct port *port, time_t now)
{
	struct stream	*s = port->priv;

	(void)now;
	usock_tick(&s->us);
}

/* Appends a frame less its first skip bytes (those written): whether it fit. */
static bool
stream_txq_add(struct stream_txq *q, const struct pkt *p, size_t skip)
{
	uint8_t	 hdr[STREAM_HDR_LEN], *dst;
	size_t	 need = STREAM_HDR_LEN + p->len - skip;

	if (need > STREAM_TXQ_MAX - q->len)
		return false;
	if (q->off + q->len + need > STREAM_TXQ_MAX) {
		memmove(q->buf, q->buf + q->off, q->len);
		q->off = 0;
	}
	if (q->len == 0) {
		q->head_left = need;
		q->head_len = p->len;
	}
	dst = q->buf + q->off + q->len;
	be32_put(hdr, p->len);
	if (skip < STREAM_HDR_LEN) {
		memcpy(dst, hdr + skip, STREAM_HDR_LEN - skip);
		memcpy(dst + STREAM_HDR_LEN - skip, p->data, p->len);
	} else {
		memcpy(dst, p->data + skip - STREAM_HDR_LEN, need);
	}
	q->len += need;
	q->frames++;
	return true;
}

/* n bytes of the queue were written: frames whose last byte went are sent. */
static void
stream_txq_written(struct port *port, size_t n)
{
	struct stream		*s = port->priv;
	struct stream_txq	*q = &s->q;
	size_t			 k;

	while (n > 0) {
		if (q->head_left == 0) {
			q->head_len = be32_get(q->buf + q->off);
			q->head_left = STREAM_HDR_LEN + q->head_len;
		}
		k = n < q->head_left ? n : q->head_left;
		q->off += k;
		q->len -= k;
		q->head_left -= k;
		n -= k;
		if (q->head_left == 0) {
			port->stats.tx_packets++;
			port->stats.tx_bytes += q->head_len;
			q->frames--;
		}
	}
	if (q->len == 0)
		q->off = 0;
}

static void
stream_writable(void *arg, time_t now)
{
	struct port	*port = arg;
	struct stream	*s = port->priv;
	ssize_t		 n;

	(void)now;
	n = send(s->fd, s->q.buf + s->q.off, s->q.len,
	    MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (!stream_peer_gone(errno))
			port->stats.tx_errors++;
		stream_hangup(port, errno);
		return;
	}
	stream_txq_written(port, (size_t)n);
	if (s->q.len == 0) {
		dp_unwatch(port->dp, s->wwatch);
		s->wwatch = NULL;
	}
}

/* Frames the socket did not take, from the one it took skip bytes of. */
static void
stream_queue_rest(struct port *port, struct pkt **f, unsigned nf,
    size_t skip)
{
	struct stream	*s = port->priv;
	int		 error;

	for (unsigned i = 0; i < nf; i++, skip = 0)
		if (!stream_txq_add(&s->q, f[i], skip))
			port_drop(port, DROP_TX_FULL);
	if (s->q.len == 0 || s->wwatch != NULL)
		return;
	if ((error = dp_watch_out(port->dp, s->fd, stream_writable, port,
	    &s->wwatch)) != 0) {
		s->wwatch = NULL;
		port->stats.tx_errors++;
		stream_hangup(port, error);
	}
}

static void
stream_send_batch(struct port *port, struct pkt_batch *b)
{
	struct stream	*s = port->priv;
	uint8_t		 hdr[PKT_BATCH_MAX][STREAM_HDR_LEN];
	struct iovec	 iov[2 * PKT_BATCH_MAX];
	struct pkt	*f[PKT_BATCH_MAX];
	struct msghdr	 msg = { .msg_iov = iov };
	unsigned	 nf = 0, i;
	size_t		 n, total;
	ssize_t		 w;

	for (i = 0; i < b->count; i++) {
		struct pkt *p = b->pkts[i];

		if (!port_frame_fits(port, p->len))
			port_drop(port, DROP_TOO_BIG);
		else if (s->fd == -1)
			port_drop(port, DROP_LINK_DOWN);
		else
			f[nf++] = p;
	}
	if (nf == 0)
		return;
	/* Behind a queue, frames wait their turn: the socket is full. */
	if (s->q.len > 0) {
		stream_queue_rest(port, f, nf, 0);
		return;
	}
	for (i = 0; i < nf; i++) {
		be32_put(hdr[i], f[i]->len);
		iov[2 * i] = (struct iovec){ hdr[i], STREAM_HDR_LEN };
		iov[2 * i + 1] = (struct iovec){ f[i]->data, f[i]->len };
	}
	msg.msg_iovlen = 2 * nf;
	do
		w = sendmsg(s->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (w == -1 && errno == EINTR);
	if (w == -1 && errno != EAGAIN) {
		if (stream_peer_gone(errno)) {
			port->stats.drops[DROP_LINK_DOWN] += nf;
			stream_hangup(port, errno);
		} else {
			port->stats.drops[DROP_TX_ERROR] += nf;
			port->stats.tx_errors++;
		}
		return;
	}
	n = w == -1 ? 0 : (size_t)w;
	for (i = 0; i < nf; i++) {
		total = STREAM_HDR_LEN + f[i]->len;
		if (n < total)
			break;
		n -= total;
		port->stats.tx_packets++;
		port->stats.tx_bytes += f[i]->len;
	}
	if (i < nf)
		stream_queue_rest(port, f + i, nf - i, n);
}

static const char *
stream_state(const struct port *port)
{
	const struct stream	*s = port->priv;

	if (s->fd != -1)
		return "connected";
	return s->us.connect ? "connecting" : "listening";
}

static void
stream_free(struct port *port)
{
	struct stream	*s = port->priv;

	free(s->rx);
	free(s->q.buf);
	free(s);
	port->priv = NULL;
}

static int
stream_open(struct port *port, const struct port_config *c, char *err,
    size_t errlen)
{
	struct stream	*s;
	int		 error;

	if (port->dp == NULL)
		return port_err(err, errlen, EINVAL, "%s: a stream port "
		    "needs a datapath to watch its sockets", c->name);
	if ((error = stream_check(c, err, errlen)) != 0)
		return error;
	if ((s = port->priv = calloc(1, sizeof(*s))) == NULL ||
	    (s->rx = malloc(STREAM_RX_BUF)) == NULL ||
	    (s->q.buf = malloc(STREAM_TXQ_MAX)) == NULL) {
		if (s != NULL)
			stream_free(port);
		return port_err(err, errlen, ENOMEM, "%s: out of memory",
		    c->name);
	}
	s->fd = -1;
	port->fd = -1;
	port->mtu = c->mtu != 0 ? c->mtu : STREAM_MTU_DEFAULT;
	port->takes = 0;
	if ((error = usock_open(&s->us, port, &stream_usock_ops, c, err,
	    errlen)) != 0) {
		stream_free(port);
		return error;
	}
	return 0;
}

static void
stream_close(struct port *port)
{
	struct stream	*s = port->priv;

	if (s->fd != -1)
		stream_detach(port);
	usock_close(&s->us);
	stream_free(port);
}

const struct port_ops port_stream_ops = {
	.type		= "stream",
	.layer		= PORT_L2,
	.open		= stream_open,
	.close		= stream_close,
	.recv_batch	= port_recv_none,
	.send_batch	= stream_send_batch,
	.state		= stream_state,
	.tick		= stream_tick,
	.settings	= PORT_SET_MTU | PORT_SET_PATH | PORT_SET_CONNECT |
	    PORT_SET_GROUP | PORT_SET_SPLIT_HORIZON,
};

size_t
port_stream_queued(const struct port *port)
{
	const struct stream	*s = port->priv;

	return s->q.len;
}
