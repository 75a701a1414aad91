/*
 * port-tap.c - the "tap" and "tun" port types: a Linux tap device (L2,
 * Ethernet frames) or tun device (L3, bare IPv4/IPv6 packets), one frame or
 * packet per read or write, without the packet-information header
 * (IFF_NO_PI: the IP version nibble tells the family of a tun packet).
 *
 * A tap carries a virtio_net_hdr in front of each frame (IFF_VNET_HDR,
 * tap-vnet.h), read and written with the frame by one read()/write(), so
 * the kernel can hand over TCP and UDP super-frames and frames whose
 * checksum is still owed, and take them back.  While it may receive
 * super-frames it reads into dp->large buffers.  A tun port does the same
 * with bare IP packets (csum_start then counts from the IP header), from
 * the same switches, for the router.  A persistent tap or tun that refuses
 * the flag has no vnet header and takes nothing.
 *
 * open() creates the interface, or attaches to an existing persistent tap
 * of that name, and brings it up.  The fd is what carries frames, so the
 * interface may be moved into another network namespace afterwards (the
 * integration tests do exactly that) and the port keeps working; ioctls by
 * name then no longer reach it, which is how state() tells "netns".
 *
 * close() closes the fd: a tap we created disappears with it, wherever it
 * is.  A persistent tap we attached to stays, and if we were the ones who
 * brought it up it is set down again, as we found it.  While we hold one,
 * it is listed in the tap record (tap-record.h), so that a daemon that
 * died without closing puts it back at its next start.
 *
 * A device deleted under the port (ip link del, its namespace deleted)
 * leaves the fd attached to nothing: TUNGETIFF says EBADFD, the state is
 * "gone" and the datapath stops reading it.  The port stays, so that its
 * name and counters are not lost, but it does not block the name: port add
 * replaces it (dp_port_add()), and when a tap or tun of that name appears
 * again (a persistent one made anew) the port attaches to it by itself,
 * told by the link watch (link-watch.h), or at a tick if the device was
 * still held by whoever made it.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <net/if.h>

#include "dp.h"
#include "link-watch.h"
#include "port-tap.h"
#include "tap-record.h"
#include "tap-vnet.h"

#define TAP_MTU_DEFAULT	1500
#define TAP_MTU_MIN	68
#define TAP_MTU_MAX	(PKT_DATA_ROOM - PORT_L2_OVERHEAD)
/*
 * The kernel's default queue (500 frames) overflows in the moments the
 * daemon is not reading, at a few Gbit/s of MTU-sized frames: TCP then
 * sees drops that are not congestion.  4096 frames cover about 5 ms at
 * 10 Gbit/s, and TCP small queues keep a well-behaved flow far below it.
 */
#define TAP_TXQLEN	4096

struct tap {
	unsigned	 ifindex;
	bool		 created;	/* else attached to a persistent tap */
	bool		 was_down;	/* attached, and we brought it up */
	struct tap_vnet	 vnet;
	struct lw_sub	*lw;		/* news of links, to come back */
};

/*
 * The vnet header, when the tap has one, goes in the headroom right before
 * the frame, for a plain read() or write(): the kernel then has no iovec
 * array to copy in and check for each frame.  Every frame has the headroom
 * when it is read; one sent with less goes by writev().  A frame
 * flooded to several taps gets the same bytes there from each: nothing
 * else keeps data in the headroom of a frame it does not own.
 */
#define TAP_HDR_LEN(tap) ((tap)->vnet.on ? sizeof(struct virtio_net_hdr) : 0)

/* ioctls on the interface by name, through a throwaway socket: cold path. */
static int
tap_ioctl(unsigned long req, struct ifreq *ifr)
{
	int	s, error = 0;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return errno;
	if (ioctl(s, req, ifr) == -1)
		error = errno;
	close(s);
	return error;
}

static void
tap_ifreq(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
}

/* Whether our interface is still in this namespace under its name. */
static bool
tap_here(const struct port *port)
{
	const struct tap	*tap = port->priv;
	char			 name[IFNAMSIZ];

	return if_indextoname(tap->ifindex, name) != NULL &&
	    strcmp(name, port->name) == 0;
}

/* Whether the device was deleted under our fd: it is attached to nothing. */
static bool
tap_gone(const struct port *port)
{
	struct ifreq	ifr;

	return port->fd == -1 ||
	    (ioctl(port->fd, TUNGETIFF, &ifr) == -1 && errno == EBADFD);
}

/* Whether the tap driver knows vnet headers: TUNGETFEATURES. */
static bool
tap_vnet_known(int fd)
{
	unsigned	features;

	return ioctl(fd, TUNGETFEATURES, &features) == 0 &&
	    (features & IFF_VNET_HDR);
}

/*
 * A vnet header, unless the driver lacks it; a persistent tap or tun that
 * refuses the flag is attached without it.
 */
static int
tap_setiff(struct port *port, struct ifreq *ifr, const char *name)
{
	struct tap	*tap = port->priv;
	short		 flags = (port_is_l3(port) ? IFF_TUN : IFF_TAP) |
	    IFF_NO_PI;
	int		 hdrsz = (int)sizeof(struct virtio_net_hdr);

	tap->vnet.on = tap_vnet_known(port->fd);
	tap_ifreq(ifr, name);
	ifr->ifr_flags = flags | (tap->vnet.on ? IFF_VNET_HDR : 0);
	if (ioctl(port->fd, TUNSETIFF, ifr) == 0) {
		/* A persistent tap may keep a size another user set. */
		if (tap->vnet.on &&
		    ioctl(port->fd, TUNSETVNETHDRSZ, &hdrsz) == -1)
			return errno;
		return 0;
	}
	if (!tap->vnet.on || errno != EINVAL)
		return errno;
	tap->vnet.on = false;
	tap_ifreq(ifr, name);
	ifr->ifr_flags = flags;
	return ioctl(port->fd, TUNSETIFF, ifr) == 0 ? 0 : errno;
}

static int
tap_attach(struct port *port, const char *name, char *err, size_t errlen)
{
	struct tap	*tap = port->priv;
	struct ifreq	 ifr;
	bool		 existed = if_nametoindex(name) != 0;
	int		 error;

	if ((port->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC))
	    == -1) {
		error = errno;
		snprintf(err, errlen, "%s: /dev/net/tun: %s", name,
		    strerror(error));
		return error;
	}
	if ((error = tap_setiff(port, &ifr, name)) != 0) {
		if (existed && error == EINVAL)
			snprintf(err, errlen, "%s: exists and is not a %s "
			    "device", name, port->ops->type);
		else if (existed && error == EBUSY)
			snprintf(err, errlen, "%s: %s device is in use by "
			    "another process", name, port->ops->type);
		else
			snprintf(err, errlen, "%s: cannot %s %s device: %s",
			    name, existed ? "attach to" : "create",
			    port->ops->type, strerror(error));
		goto close_fd;
	}
	tap->created = !existed;
	port->takes = tap_vnet_offload(port->fd, &tap->vnet,
	    port->dp != NULL ? &port->dp->ofl : NULL);
	return 0;

close_fd:
	close(port->fd);
	port->fd = -1;
	return error;
}

static int
tap_configure(struct port *port, int mtu, char *err, size_t errlen)
{
	struct tap	*tap = port->priv;
	struct ifreq	 ifr;
	int		 error;

	tap_ifreq(&ifr, port->name);
	if ((error = tap_ioctl(SIOCGIFFLAGS, &ifr)) != 0)
		goto fail;
	if (!(ifr.ifr_flags & IFF_UP)) {
		tap->was_down = !tap->created;
		ifr.ifr_flags |= IFF_UP;
		if ((error = tap_ioctl(SIOCSIFFLAGS, &ifr)) != 0)
			goto fail;
	}
	if (mtu != 0) {
		tap_ifreq(&ifr, port->name);
		ifr.ifr_mtu = mtu;
		if ((error = tap_ioctl(SIOCSIFMTU, &ifr)) != 0) {
			snprintf(err, errlen, "%s: cannot set mtu %d: %s",
			    port->name, mtu, strerror(error));
			return error;
		}
	}
	if (tap->created) {
		tap_ifreq(&ifr, port->name);
		ifr.ifr_qlen = TAP_TXQLEN;
		tap_ioctl(SIOCSIFTXQLEN, &ifr);	/* the default works, slower */
	}
	tap_ifreq(&ifr, port->name);
	port->mtu = tap_ioctl(SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu :
	    TAP_MTU_DEFAULT;
	if (port->mtu > TAP_MTU_MAX) {
		snprintf(err, errlen, "%s: mtu %d is more than the switch "
		    "carries (%d): add it with mtu %d", port->name, port->mtu,
		    TAP_MTU_MAX, TAP_MTU_MAX);
		return EINVAL;
	}
	if ((tap->ifindex = if_nametoindex(port->name)) == 0) {
		error = errno;
		snprintf(err, errlen, "%s: cannot find its ifindex: %s",
		    port->name, strerror(error));
		return error;
	}
	return 0;

fail:
	snprintf(err, errlen, "%s: cannot bring up: %s", port->name,
	    strerror(error));
	return error;
}

/*
 * A persistent tap is left as we found it: down if it was, and without
 * offloads, which a next user reading without a vnet header could not
 * take (the kernel would hand it super-frames all the same).
 */
static void
tap_restore(struct port *port)
{
	struct tap	*tap = port->priv;
	struct ifreq	 ifr;

	if (tap->created || port->fd == -1)
		return;
	tap_record_del(port->name, tap->ifindex);
	if (tap_gone(port))
		return;
	ioctl(port->fd, TUNSETOFFLOAD, 0);
	if (!tap->was_down || !tap_here(port))
		return;
	tap_ifreq(&ifr, port->name);
	if (tap_ioctl(SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags &= ~IFF_UP;
		tap_ioctl(SIOCSIFFLAGS, &ifr);
	}
}

/* Lists a persistent tap we hold, so a crash is undone (tap-record.h). */
static void
tap_record(struct port *port)
{
	const struct tap	*tap = port->priv;

	if (!tap->created)
		tap_record_add(port->ops->type, port->name, tap->ifindex,
		    tap->was_down);
}

/*
 * A device of our name is there again: attach to it as port add would, in
 * place of the fd that lost its device.  One that is no tap, or is held by
 * another process, leaves the port gone.
 */
static void
tap_reattach(struct port *port)
{
	struct tap	*tap = port->priv;
	char		 err[256];
	int		 old = port->fd, fd, error;

	tap->created = tap->was_down = false;
	if (tap_attach(port, port->name, err, sizeof(err)) != 0) {
		port->fd = old;
		return;
	}
	fd = port->fd;
	port->fd = old;
	if ((error = dp_port_set_fd(port, fd)) != 0)
		dp_port_note(port, "its device is back but cannot be watched: "
		    "%s", strerror(error));
	close(old);
	if (tap_configure(port, port->cfg.mtu, err, sizeof(err)) != 0) {
		dp_port_note(port, "its device is back, attached, but %s", err);
		return;
	}
	tap_record(port);
	dp_port_note(port, "a %s device of its name is back: attached to it",
	    port->ops->type);
}

static void
tap_link_news(void *arg, unsigned what)
{
	struct port	*port = arg;

	(void)what;
	if (tap_gone(port) && if_nametoindex(port->name) != 0)
		tap_reattach(port);
}

/*
 * "ip tuntap add" holds the device it makes while the news of it arrive
 * (the attach is refused, EBUSY) and lets go without news: so while the
 * port is gone and a device of its name exists, it tries once a second.
 */
static void
tap_tick(struct port *port, time_t now)
{
	(void)now;
	tap_link_news(port, LW_LINK);
}

static int
tap_open(struct port *port, const struct port_config *config, char *err,
    size_t errlen)
{
	struct tap	*tap;
	int	error;

	if (config->mtu != 0 &&
	    (config->mtu < TAP_MTU_MIN || config->mtu > TAP_MTU_MAX)) {
		snprintf(err, errlen, "%s: invalid mtu %d (%d to %d)",
		    config->name, config->mtu, TAP_MTU_MIN, TAP_MTU_MAX);
		return EINVAL;
	}
	if ((port->priv = calloc(1, sizeof(struct tap))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", config->name);
		return ENOMEM;
	}
	if ((error = tap_attach(port, config->name, err, errlen)) != 0)
		goto free_priv;
	if ((error = tap_configure(port, config->mtu, err, errlen)) != 0)
		goto detach;
	tap = port->priv;
	/* Without the news it cannot come back by itself; it works all the same. */
	if (port->dp != NULL && (error = lw_subscribe(port->dp, LW_LINK,
	    tap_link_news, port, &tap->lw)) != 0)
		dp_port_note(port, "cannot watch the kernel's links (%s): it "
		    "will not attach again by itself if its device is deleted "
		    "and made again", strerror(error));
	tap_record(port);
	return 0;

detach:
	tap_restore(port);
	close(port->fd);
	port->fd = -1;
free_priv:
	free(port->priv);
	port->priv = NULL;
	return error;
}

static void
tap_close(struct port *port)
{
	struct tap	*tap = port->priv;

	lw_unsubscribe(tap->lw);
	tap_restore(port);
	close(port->fd);
	port->fd = -1;
	free(port->priv);
	port->priv = NULL;
}

/*
 * A frame the kernel cut short to fit the buffer (a super-frame still
 * queued when TSO was turned off) fills it exactly: too_big.
 */
static bool
tap_rx_frame(struct port *port, struct pkt *p, size_t room)
{
	const struct tap	*tap = port->priv;

	if (!tap->vnet.on)
		return true;
	if (!tap_vnet_check(&p->vnet, p->len)) {
		port_drop(port, DROP_BAD_OFFLOAD);
		return false;
	}
	if (p->vnet.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return true;
	if (p->len >= room) {
		port_drop(port, DROP_TOO_BIG);
		return false;
	}
	port->stats.rx_gso++;
	return true;
}

static unsigned
tap_recv_batch(struct port *port, struct pkt_pool *pool, struct pkt_batch *b)
{
	const struct tap	*tap = port->priv;
	const size_t		 hlen = TAP_HDR_LEN(tap);
	struct pkt		*p;
	size_t			 room;
	ssize_t			 n;

	if ((port->takes & (PORT_TAKES_TSO4 | PORT_TAKES_TSO6 |
	    PORT_TAKES_USO)) && port->dp != NULL)
		pool = port->dp->large;
	while (b->count < PKT_BATCH_MAX) {
		if ((p = pkt_alloc(pool)) == NULL) {
			port_drop(port, DROP_NO_BUFFER);
			break;
		}
		room = pkt_tailroom(p);
		n = read(port->fd, p->data - hlen, hlen + room);
		if (n == -1 && errno == EINTR) {
			pkt_free(p);
			continue;
		}
		if (n <= 0) {
			pkt_free(p);
			if (n == -1 && errno != EAGAIN) {
				port->stats.rx_errors++;
				port->rx_error = errno;
			}
			break;
		}
		if ((size_t)n <= hlen) {	/* a header and no frame */
			pkt_free(p);
			port_drop(port, DROP_RUNT);
			continue;
		}
		memcpy(&p->vnet, p->data - hlen, hlen);
		p->len = (uint32_t)((size_t)n - hlen);
		port->stats.rx_packets++;
		port->stats.rx_bytes += p->len;
		if (!tap_rx_frame(port, p, room)) {
			pkt_free(p);
			continue;
		}
		pkt_batch_add(b, p);
	}
	return b->count;
}

/*
 * A full queue or a downed interface fails every write after the first, so
 * the rest of the batch is counted under the same reason without trying.
 */
static void
tap_send_batch(struct port *port, struct pkt_batch *b)
{
	const struct tap	*tap = port->priv;
	const size_t		 hlen = TAP_HDR_LEN(tap);
	enum drop_reason	 stop = DROP__MAX;
	struct iovec		 iov[2];
	ssize_t			 n;

	for (unsigned i = 0; i < b->count; i++) {
		struct pkt *p = b->pkts[i];
		bool gso = p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE;

		/* A super-frame here is one the port takes: its segments. */
		if (!port_frame_fits(port, gso ? port_wire_len(port, p) : p->len)) {
			port_drop(port, DROP_TOO_BIG);
			continue;
		}
		if (stop != DROP__MAX) {
			port_drop(port, stop);
			continue;
		}
		iov[0].iov_base = &p->vnet;
		iov[0].iov_len = sizeof(p->vnet);
		iov[1].iov_base = p->data;
		iov[1].iov_len = p->len;
		if (pkt_headroom(p) >= hlen)
			memcpy(p->data - hlen, &p->vnet, hlen);
		do
			n = pkt_headroom(p) >= hlen ?
			    write(port->fd, p->data - hlen, hlen + p->len) :
			    writev(port->fd, iov, 2);
		while (n == -1 && errno == EINTR);
		if (n >= 0) {
			port->stats.tx_packets++;
			port->stats.tx_bytes += p->len;
			port->stats.tx_gso += gso;
		} else if (errno == EAGAIN) {
			port_drop(port, stop = DROP_TX_FULL);
		} else if (errno == EIO) {
			port_drop(port, stop = DROP_LINK_DOWN);
		} else {
			port_drop(port, DROP_TX_ERROR);
			port->stats.tx_errors++;
		}
	}
}

static void
tap_set_offloads(struct port *port)
{
	struct tap	*tap = port->priv;

	port->takes = tap_vnet_offload(port->fd, &tap->vnet, &port->dp->ofl);
}

static const char *
tap_state(const struct port *port)
{
	struct ifreq	ifr;

	if (tap_gone(port))
		return "gone";
	if (!tap_here(port))
		return "netns";
	tap_ifreq(&ifr, port->name);
	if (tap_ioctl(SIOCGIFFLAGS, &ifr) != 0)
		return "netns";
	return ifr.ifr_flags & IFF_UP ? "up" : "down";
}

/* Only gone needs one: netns is the normal life of a tap moved to a VM. */
static const char *
tap_state_why(const struct port *port)
{
	return tap_gone(port) ? "its device was deleted" : NULL;
}

const struct port_ops port_tap_ops = {
	.type		= "tap",
	.layer		= PORT_L2,
	.open		= tap_open,
	.close		= tap_close,
	.recv_batch	= tap_recv_batch,
	.send_batch	= tap_send_batch,
	.state		= tap_state,
	.state_why	= tap_state_why,
	.tick		= tap_tick,
	.set_offloads	= tap_set_offloads,
	.settings	= PORT_SET_MTU | PORT_SET_SPLIT_HORIZON,
};

const struct port_ops port_tun_ops = {
	.type		= "tun",
	.layer		= PORT_L3,
	.open		= tap_open,
	.close		= tap_close,
	.recv_batch	= tap_recv_batch,
	.send_batch	= tap_send_batch,
	.state		= tap_state,
	.state_why	= tap_state_why,
	.tick		= tap_tick,
	.set_offloads	= tap_set_offloads,
	.settings	= PORT_SET_MTU | PORT_SET_ADDRESS,
};
