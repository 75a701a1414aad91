/*
 * port-system.c - the "system" port type: an existing Linux network device
 * attached on its kernel side through an AF_PACKET socket, the way Open
 * vSwitch's userspace datapath attaches the vnetN of a VM.  The device is
 * someone else's (QEMU's or libvirt's tap, a container's veth end, a NIC):
 * the port never creates, deletes, brings up or reconfigures it.
 *
 * The socket is SOCK_RAW for ETH_P_ALL, bound to the device's ifindex:
 *
 *	PACKET_IGNORE_OUTGOING	what the device transmits (what we write,
 *				and what its own stack sends) is never read
 *				back into the switch;
 *	PACKET_QDISC_BYPASS	frames go straight to the driver, as a tap
 *				write reaches the reader of the tap;
 *	PACKET_VNET_HDR		a struct virtio_net_hdr in front of every
 *				frame both ways, as on a tap (tap-vnet.h):
 *				TCP/UDP super-frames and frames whose
 *				checksum is still owed cross whole;
 *	PACKET_AUXDATA		a tpacket_auxdata with every frame read: the
 *				VLAN tag the kernel took out of it, and
 *				whether its checksum is still owed;
 *	PACKET_MR_PROMISC	the device is promiscuous while attached.  The
 *				kernel counts the membership and drops it
 *				when the socket closes, so "port del" (or a
 *				crash) restores the device's promiscuity.
 *
 * Batches: one recvmmsg() reads up to PKT_BATCH_MAX frames and one
 * sendmmsg() writes a batch, with message headers kept in the port.  The
 * kernel hands a packet socket super-frames whatever the port would like
 * (the guest behind a tap, or the peer of a veth, decides), so frames are
 * read into dp->large buffers, and those left over go back at once.
 *
 * Checksums and tags on the way in.  A frame the kernel still owes its
 * checksum (CHECKSUM_PARTIAL: TP_STATUS_CSUMNOTREADY, and NEEDS_CSUM with
 * csum_start/offset in the vnet header) keeps saying so in p->vnet, so
 * port_send() completes it before it leaves through a port that cannot
 * take it (a tunnel, a plain tap, a capture): a kernel peer would drop it
 * otherwise.  Auxdata and header must agree, or the frame is bad_offload.
 * A super-frame the kernel coalesced from verified segments (DATA_VALID,
 * no NEEDS_CSUM: GRO on a NIC) is turned into one that owes its checksum,
 * as gro.c makes them.  A VLAN tag the kernel stripped (TP_STATUS_VLAN_
 * VALID) is put back after the MAC addresses and csum_start moved past it.
 *
 * What the port takes (port->takes) follows the tap-csum and tap-tso
 * switches as a tap's does; the kernel finishes in software what the
 * device cannot do in hardware.
 *
 * Life cycle.  The port's device is the one of its name.  It may go down
 * and up (the kernel keeps the binding and resumes it), change its MTU,
 * disappear (deleted, or moved to another namespace: the kernel unbinds
 * the socket and forgets the membership) and come back under the same
 * name with a new ifindex.  The tick looks the name up once a second,
 * binds the socket again and adds the membership again when the device of
 * that name is not the one the socket is bound to, refreshes the MTU, and
 * announces each change of state() once with dp_port_note().  A read
 * while the device is down or gone fails once (ENETDOWN) and the socket is
 * quiet after; a send fails with ENETDOWN or ENXIO and is counted as
 * link_down.  The socket stays the same throughout, and so does the
 * datapath's watch of it.
 *
 * Frames the kernel dropped because the socket's receive queue was full
 * (PACKET_STATISTICS, read in the tick) are counted as no_buffer.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>

#include "csum.h"
#include "dp.h"
#include "inet.h"
#include "port-system.h"
#include "tap-vnet.h"

/*
 * The default receive buffer (208 KB) holds three super-frames: TCP from a
 * guest would see drops that are not congestion.  8 MB hold a batch of 64,
 * each a little over 64 KB of truesize.  Writes are orphaned by the veth
 * or tap they go to; a NIC holds them until sent, hence 4 MB.
 */
#define SYS_RCVBUF	(8 << 20)
#define SYS_SNDBUF	(4 << 20)

#define SYS_VNET_LEN	sizeof(struct virtio_net_hdr)
#define SYS_TAG_LEN	4
#define SYS_MACS_LEN	12	/* a tag goes after the two addresses */

union sys_cmsg {
	struct cmsghdr	hdr;
	uint8_t		buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
};

struct sys {
	const char	*state;		/* as last announced */
	unsigned	 back;		/* bound again to this ifindex: say so */
	int		 attach_error;	/* of the last attempt, announced */

	/* One batch each way: vnet header and frame, two iovecs a message. */
	struct mmsghdr	 rx[PKT_BATCH_MAX];
	struct iovec	 rx_iov[PKT_BATCH_MAX][2];
	union sys_cmsg	 rx_cmsg[PKT_BATCH_MAX];
	struct pkt	*rx_pkt[PKT_BATCH_MAX];
	struct mmsghdr	 tx[PKT_BATCH_MAX];
	struct iovec	 tx_iov[PKT_BATCH_MAX][2];
	struct pkt	*tx_pkt[PKT_BATCH_MAX];
};

/*
 * An ioctl on the device by name, through a throwaway socket: cold path.
 * data is what ifr_data points to, for the ioctls that take it.
 */
static int
sys_ioctl(unsigned long req, const char *name, struct ifreq *ifr, void *data)
{
	int	s, error = 0;

	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	ifr->ifr_data = data;
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return errno;
	if (ioctl(s, req, ifr) == -1)
		error = errno;
	close(s);
	return error;
}

/* The ifindex the socket is bound to: 0 none yet, -1 its device is gone. */
static int
sys_bound(const struct port *port)
{
	struct sockaddr_ll	sll;
	socklen_t		len = sizeof(sll);

	if (getsockname(port->fd, (struct sockaddr *)&sll, &len) == -1)
		return -1;
	return sll.sll_ifindex;
}

static int
sys_membership(int fd, int ifindex, int op)
{
	struct packet_mreq	mr = {
		.mr_ifindex = ifindex,
		.mr_type = PACKET_MR_PROMISC,
	};

	return setsockopt(fd, SOL_PACKET, op, &mr, sizeof(mr)) == 0 ? 0 :
	    errno;
}

/*
 * Binds the socket to the device, which must carry Ethernet, and makes it
 * promiscuous.  A device that is down is fine: the kernel starts reading
 * it when it comes up.  err is a sentence without the port's name.
 */
static int
sys_attach(struct port *port, unsigned ifindex, char *err, size_t errlen)
{
	struct sockaddr_ll	sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)ifindex,
	};
	struct ifreq		ifr;
	int			error;

	if ((error = sys_ioctl(SIOCGIFHWADDR, port->name, &ifr, NULL)) != 0) {
		snprintf(err, errlen, "cannot read its link type: %s",
		    strerror(error));
		return error;
	}
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		snprintf(err, errlen, "not an Ethernet device (link type %u)",
		    ifr.ifr_hwaddr.sa_family);
		return EINVAL;
	}
	if (bind(port->fd, (struct sockaddr *)&sll, sizeof(sll)) == -1) {
		error = errno;
		snprintf(err, errlen, "cannot bind a packet socket to it: %s",
		    strerror(error));
		return error;
	}
	if ((error = sys_membership(port->fd, (int)ifindex,
	    PACKET_ADD_MEMBERSHIP)) != 0) {
		snprintf(err, errlen, "cannot make it promiscuous: %s",
		    strerror(error));
		return error;
	}
	return 0;
}

static int
sys_setopt(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val)) == 0 ? 0 : errno;
}

/* Beyond rmem_max and wmem_max with CAP_NET_ADMIN, up to them without. */
static void
sys_bufsize(int fd, int force, int plain, int size)
{
	if (sys_setopt(fd, SOL_SOCKET, force, size) != 0)
		sys_setopt(fd, SOL_SOCKET, plain, size);
}

static int
sys_socket(struct port *port, char *err, size_t errlen)
{
	static const struct {
		int		 opt;
		const char	*name;
	} opts[] = {
		{ PACKET_VNET_HDR, "PACKET_VNET_HDR" },
		{ PACKET_AUXDATA, "PACKET_AUXDATA" },
		{ PACKET_IGNORE_OUTGOING, "PACKET_IGNORE_OUTGOING" },
		{ PACKET_QDISC_BYPASS, "PACKET_QDISC_BYPASS" },
	};
	int	error;

	/* Protocol 0: nothing is queued until bound to the one device. */
	if ((port->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		error = errno;
		snprintf(err, errlen, "%s: cannot open a packet socket: %s%s",
		    port->name, strerror(error), error == EPERM ?
		    " (needs CAP_NET_RAW)" : "");
		return error;
	}
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if ((error = sys_setopt(port->fd, SOL_PACKET, opts[i].opt,
		    1)) != 0) {
			snprintf(err, errlen, "%s: the kernel refuses %s: %s",
			    port->name, opts[i].name, strerror(error));
			close(port->fd);
			port->fd = -1;
			return error;
		}
	sys_bufsize(port->fd, SO_RCVBUFFORCE, SO_RCVBUF, SYS_RCVBUF);
	sys_bufsize(port->fd, SO_SNDBUFFORCE, SO_SNDBUF, SYS_SNDBUF);
	return 0;
}

static unsigned
sys_takes(const struct port *port)
{
	const struct offload_cfg	*ofl;

	if (port->dp == NULL || !(ofl = &port->dp->ofl)->on[OFL_TAP_CSUM])
		return 0;
	return PORT_TAKES_CSUM | (ofl->on[OFL_TAP_TSO] ?
	    PORT_TAKES_TSO4 | PORT_TAKES_TSO6 : 0);
}

/*
 * Whether the device that is up has its link (carrier: a veth whose peer
 * is up, a NIC with its cable in).  ETHTOOL_GLINK reads the carrier as the
 * driver sets it; IFF_RUNNING, for a driver without it, follows a moment
 * later, once the kernel's link watch has run.
 */
static bool
sys_link(const char *name, short flags)
{
	struct ethtool_value	ev = { .cmd = ETHTOOL_GLINK };
	struct ifreq		ifr;

	if (sys_ioctl(SIOCETHTOOL, name, &ifr, &ev) == 0)
		return ev.data != 0;
	return (flags & IFF_RUNNING) != 0;
}

static const char *
sys_state(const struct port *port)
{
	struct ifreq	ifr;
	unsigned	ifindex = if_nametoindex(port->name);

	if (ifindex == 0 || (int)ifindex != sys_bound(port) ||
	    sys_ioctl(SIOCGIFFLAGS, port->name, &ifr, NULL) != 0)
		return "gone";
	if (!(ifr.ifr_flags & IFF_UP))
		return "down";
	if (!sys_link(port->name, ifr.ifr_flags))
		return "no-link";
	return "up";
}

static int
sys_open(struct port *port, const struct port_config *config, char *err,
    size_t errlen)
{
	struct sys	*sys;
	struct ifreq	 ifr;
	char		 why[128];
	unsigned	 ifindex;
	int		 error;

	if ((ifindex = if_nametoindex(config->name)) == 0) {
		snprintf(err, errlen, "%s: no such device (a system port "
		    "attaches to an existing one)", config->name);
		return ENODEV;
	}
	if ((sys = calloc(1, sizeof(*sys))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", config->name);
		return ENOMEM;
	}
	port->priv = sys;
	if ((error = sys_socket(port, err, errlen)) != 0)
		goto free_priv;
	if ((error = sys_attach(port, ifindex, why, sizeof(why))) != 0) {
		snprintf(err, errlen, "%s: %s", config->name, why);
		goto close_fd;
	}
	if ((error = sys_ioctl(SIOCGIFMTU, port->name, &ifr, NULL)) != 0) {
		snprintf(err, errlen, "%s: cannot read its mtu: %s",
		    config->name, strerror(error));
		goto close_fd;
	}
	port->mtu = ifr.ifr_mtu;
	port->takes = sys_takes(port);
	sys->state = sys_state(port);
	for (unsigned i = 0; i < PKT_BATCH_MAX; i++) {
		sys->rx[i].msg_hdr.msg_iov = sys->rx_iov[i];
		sys->rx[i].msg_hdr.msg_iovlen = 2;
		sys->tx[i].msg_hdr.msg_iov = sys->tx_iov[i];
		sys->tx[i].msg_hdr.msg_iovlen = 2;
	}
	return 0;

close_fd:
	close(port->fd);	/* drops the membership, if added */
	port->fd = -1;
free_priv:
	free(sys);
	port->priv = NULL;
	return error;
}

static void
sys_close(struct port *port)
{
	close(port->fd);
	port->fd = -1;
	free(port->priv);
	port->priv = NULL;
}

static const struct tpacket_auxdata *
sys_auxdata(struct msghdr *mh)
{
	struct cmsghdr	*c;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_PACKET &&
		    c->cmsg_type == PACKET_AUXDATA &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct tpacket_auxdata)))
			return (const struct tpacket_auxdata *)CMSG_DATA(c);
	return NULL;
}

/* Puts back the tag the kernel took out, before anything counts offsets. */
static bool
sys_vlan_put(struct pkt *p, const struct tpacket_auxdata *aux)
{
	uint16_t	 tpid = aux->tp_status & TP_STATUS_VLAN_TPID_VALID ?
	    aux->tp_vlan_tpid : ETH_P_8021Q;
	uint8_t		*f;

	if (p->len < SYS_MACS_LEN || (f = pkt_push(p, SYS_TAG_LEN)) == NULL)
		return false;
	memmove(f, f + SYS_TAG_LEN, SYS_MACS_LEN);
	be16_put(f + SYS_MACS_LEN, tpid);
	be16_put(f + SYS_MACS_LEN + 2, aux->tp_vlan_tci);
	if (p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		p->vnet.csum_start += SYS_TAG_LEN;
	if (p->vnet.hdr_len != 0)
		p->vnet.hdr_len += SYS_TAG_LEN;
	return true;
}

/*
 * A super-frame of verified segments (GRO: DATA_VALID) owes its checksum
 * from now on, as the ones gro.c makes: the pseudo-header's sum in the
 * field, NEEDS_CSUM at the L4 header.  Segments get theirs afresh.
 */
static bool
sys_gro_owes(struct pkt *p)
{
	struct inet_hdrs	h;
	uint8_t			off;

	if (!(p->vnet.flags & VIRTIO_NET_HDR_F_DATA_VALID) ||
	    inet_parse(p->data, p->len, INET_L2, &h) != 0 || h.frag)
		return false;
	off = h.proto == INET_PROTO_TCP ? TCP_OFF_CSUM : UDP_OFF_CSUM;
	csum_put(p->data + h.l4 + off, csum_fold(csum_pseudo(p->data + h.l3,
	    h.ipv, h.proto, p->len - h.l4)));
	p->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p->vnet.csum_start = h.l4;
	p->vnet.csum_offset = off;
	return true;
}

/* The frame of n bytes read into p with mh: whether it goes on. */
static bool
sys_rx_frame(struct port *port, struct pkt *p, struct msghdr *mh, size_t n)
{
	const struct tpacket_auxdata	*aux = sys_auxdata(mh);
	bool				 owes;

	if (n <= SYS_VNET_LEN) {	/* a header and no frame */
		port_drop(port, DROP_RUNT);
		return false;
	}
	p->len = (uint32_t)(n - SYS_VNET_LEN);
	if (aux != NULL && (aux->tp_status & TP_STATUS_VLAN_VALID) &&
	    !sys_vlan_put(p, aux)) {
		port_drop(port, DROP_RUNT);
		return false;
	}
	port->stats.rx_packets++;
	port->stats.rx_bytes += p->len;
	if (mh->msg_flags & MSG_TRUNC) {	/* larger than any buffer */
		port_drop(port, DROP_TOO_BIG);
		return false;
	}
	owes = (p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
	if ((aux != NULL &&
	    owes != ((aux->tp_status & TP_STATUS_CSUMNOTREADY) != 0)) ||
	    (p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE && !owes &&
	    !sys_gro_owes(p)) || !tap_vnet_check(&p->vnet, p->len)) {
		port_drop(port, DROP_BAD_OFFLOAD);
		return false;
	}
	if (p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		port->stats.rx_gso++;
	return true;
}

/*
 * A read that fails for a frame the kernel cannot describe in a vnet
 * header (EINVAL: a GSO type virtio has no word for) loses that frame and
 * only that frame.  ENETDOWN comes once when the device goes down or away
 * (ENXIO: unbound), and is no read error: state() and the tick tell about
 * it, and the socket is quiet after.
 */
static void
sys_rx_failed(struct port *port, int error)
{
	if (error == EAGAIN)
		return;
	if (error == EINVAL) {
		port_drop(port, DROP_BAD_OFFLOAD);
		return;
	}
	/* Down or unbound: the tick says so; no failing read to pause on. */
	if (error == ENETDOWN || error == ENXIO)
		return;
	port->stats.rx_errors++;
	port->rx_error = error;
}

static unsigned
sys_recv_batch(struct port *port, struct pkt_pool *pool, struct pkt_batch *b)
{
	struct sys	*sys = port->priv;
	unsigned	 want = PKT_BATCH_MAX - b->count, k;
	int		 n;

	if (port->dp != NULL)
		pool = port->dp->large;
	for (k = 0; k < want; k++) {
		struct msghdr	*mh = &sys->rx[k].msg_hdr;
		struct pkt	*p;

		if ((p = pkt_alloc(pool)) == NULL)
			break;
		sys->rx_pkt[k] = p;
		sys->rx_iov[k][0].iov_base = &p->vnet;
		sys->rx_iov[k][0].iov_len = SYS_VNET_LEN;
		sys->rx_iov[k][1].iov_base = p->data;
		sys->rx_iov[k][1].iov_len = pkt_tailroom(p);
		mh->msg_control = &sys->rx_cmsg[k];
		mh->msg_controllen = sizeof(sys->rx_cmsg[k]);
		mh->msg_flags = 0;
	}
	if (k == 0) {
		port_drop(port, DROP_NO_BUFFER);
		return b->count;
	}
	do
		n = recvmmsg(port->fd, sys->rx, k, MSG_DONTWAIT, NULL);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		sys_rx_failed(port, errno);
		n = 0;
	}
	for (unsigned i = 0; i < k; i++) {
		struct pkt *p = sys->rx_pkt[i];

		if (i < (unsigned)n && sys_rx_frame(port, p,
		    &sys->rx[i].msg_hdr, sys->rx[i].msg_len))
			pkt_batch_add(b, p);
		else
			pkt_free(p);
	}
	return b->count;
}

static enum drop_reason
sys_tx_reason(int error)
{
	switch (error) {
	case EAGAIN:
	case ENOBUFS:		/* the driver's queue, without a qdisc */
		return DROP_TX_FULL;
	case ENETDOWN:		/* down */
	case ENXIO:		/* gone: the socket is bound to nothing */
	case ENODEV:
		return DROP_LINK_DOWN;
	case EMSGSIZE:
		return DROP_TOO_BIG;
	default:
		return DROP_TX_ERROR;
	}
}

/*
 * sendmmsg() stops at the first message that fails and, having sent
 * others, returns their count: the next call starts with that message and
 * gets its error.  A full queue or a device down or gone fails every
 * message after it the same way, so the rest are counted without trying.
 */
static void
sys_send(struct port *port, unsigned n)
{
	struct sys		*sys = port->priv;
	enum drop_reason	 why;
	unsigned		 i = 0;
	int			 sent;

	while (i < n) {
		sent = sendmmsg(port->fd, sys->tx + i, n - i, MSG_DONTWAIT);
		if (sent == -1 && errno == EINTR)
			continue;
		if (sent > 0) {
			for (unsigned end = i + (unsigned)sent; i < end; i++) {
				const struct pkt *p = sys->tx_pkt[i];

				port->stats.tx_packets++;
				port->stats.tx_bytes += p->len;
				port->stats.tx_gso += p->vnet.gso_type !=
				    VIRTIO_NET_HDR_GSO_NONE;
			}
			continue;
		}
		why = sys_tx_reason(errno);
		if (why == DROP_TX_FULL || why == DROP_LINK_DOWN) {
			port->stats.drops[why] += n - i;
			return;
		}
		port_drop(port, why);
		port->stats.tx_errors += why == DROP_TX_ERROR;
		i++;
	}
}

static void
sys_send_batch(struct port *port, struct pkt_batch *b)
{
	struct sys	*sys = port->priv;
	unsigned	 n = 0;

	for (unsigned i = 0; i < b->count; i++) {
		struct pkt *p = b->pkts[i];

		/* A super-frame here is one the port takes: its segments. */
		if (!port_frame_fits(port, port_wire_len(port, p))) {
			port_drop(port, DROP_TOO_BIG);
			continue;
		}
		sys->tx_pkt[n] = p;
		sys->tx_iov[n][0].iov_base = &p->vnet;
		sys->tx_iov[n][0].iov_len = SYS_VNET_LEN;
		sys->tx_iov[n][1].iov_base = p->data;
		sys->tx_iov[n][1].iov_len = p->len;
		n++;
	}
	sys_send(port, n);
}

static void
sys_set_offloads(struct port *port)
{
	port->takes = sys_takes(port);
}

/*
 * The device of the port's name is not the one the socket is bound to:
 * deleted and created again, or back from another namespace.  One that
 * was only renamed away is let go of (its promiscuity) first.
 */
static void
sys_reattach(struct port *port, unsigned ifindex, int bound)
{
	struct sys	*sys = port->priv;
	char		 why[128];
	int		 error;

	if (bound > 0)
		sys_membership(port->fd, bound, PACKET_DROP_MEMBERSHIP);
	if ((error = sys_attach(port, ifindex, why, sizeof(why))) != 0) {
		if (error != sys->attach_error)
			dp_port_note(port, "device is back (ifindex %u) but "
			    "not attached: %s", ifindex, why);
		sys->attach_error = error;
		return;
	}
	sys->attach_error = 0;
	sys->back = ifindex;
}

static void
sys_refresh_mtu(struct port *port)
{
	struct ifreq	ifr;

	if (sys_ioctl(SIOCGIFMTU, port->name, &ifr, NULL) != 0 ||
	    ifr.ifr_mtu == port->mtu)
		return;
	dp_port_note(port, "mtu %d, was %d", ifr.ifr_mtu, port->mtu);
	port->mtu = ifr.ifr_mtu;
}

static const char *
sys_state_says(const char *state)
{
	if (strcmp(state, "up") == 0)
		return "device is up";
	if (strcmp(state, "down") == 0)
		return "device is down";
	if (strcmp(state, "no-link") == 0)
		return "device is up but has no link (no carrier)";
	return "device is gone (deleted, or moved to another namespace)";
}

static void
sys_tick(struct port *port, time_t now)
{
	struct sys		*sys = port->priv;
	struct tpacket_stats	 st;
	socklen_t		 len = sizeof(st);
	const char		*state;
	unsigned		 ifindex;
	int			 bound;

	(void)now;
	if (getsockopt(port->fd, SOL_PACKET, PACKET_STATISTICS, &st,
	    &len) == 0)
		port->stats.drops[DROP_NO_BUFFER] += st.tp_drops;
	if ((ifindex = if_nametoindex(port->name)) != 0) {
		/* Also again after an attach that failed half way. */
		if ((bound = sys_bound(port)) != (int)ifindex ||
		    sys->attach_error != 0)
			sys_reattach(port, ifindex, bound);
		sys_refresh_mtu(port);
	}
	state = sys_state(port);
	if (sys->back != 0)
		dp_port_note(port, "device is back (ifindex %u), attached "
		    "again: %s", sys->back, state);
	else if (strcmp(state, sys->state) != 0)
		dp_port_note(port, "%s", sys_state_says(state));
	sys->back = 0;
	sys->state = state;
}

const struct port_ops port_system_ops = {
	.type		= "system",
	.layer		= PORT_L2,
	.open		= sys_open,
	.close		= sys_close,
	.recv_batch	= sys_recv_batch,
	.send_batch	= sys_send_batch,
	.state		= sys_state,
	.tick		= sys_tick,
	.set_offloads	= sys_set_offloads,
	.settings	= PORT_SET_SPLIT_HORIZON,
};
