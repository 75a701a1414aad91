/*
 * tnl-tx.h - sending encapsulated packets to one remote.
 *
 * RFC 7348 and RFC 8086 want the UDP source port to carry the inner flow's
 * entropy, so that the underlay's ECMP and receive-side scaling spread the
 * flows a tunnel carries; but a bound UDP socket cannot pick another source
 * port per packet.  So a sender keeps TNL_TX_SOCKS sockets, each bound to
 * its own ephemeral source port and connected to remote:dstport, and picks
 * one by a hash of the inner flow (addresses, protocol and ports of IPv4 or
 * IPv6, else the MAC addresses): one flow always leaves from one source
 * port, so it is never reordered, and different flows spread over
 * TNL_TX_SOCKS ports.  Being connected, the sockets also keep the route and
 * tell the path MTU (IP_MTU, IPV6_MTU).
 *
 * A batch goes out with one sendmmsg() per socket it uses.  Each datagram is
 * two iovecs, the port's header and the payload, so the payload, which may
 * be queued on other ports too, is never written to.
 *
 * UDP GSO (udp-gso): a run of consecutive datagrams to one socket whose
 * lengths are equal (the last may be shorter, and then ends the run) goes
 * as one message, [hdr][payload][hdr][payload]..., with a UDP_SEGMENT
 * control message saying the length: the kernel cuts it into the datagrams
 * again, once, near the device (or the device does), so the stack is
 * crossed once per run instead of once per datagram.  A run holds at most
 * TNL_GSO_SEGS datagrams and 64 KiB of IP (the UDP and IP length fields).
 * The kernel refuses GSO on a socket that sends zero UDP checksums
 * (EINVAL), so while GSO is in use IPv4 sockets send checksums too
 * (computed once per segment by the device, or by the kernel for one
 * without checksum offload).  A path where the kernel cannot (IPsec; older
 * kernels also for a device without checksum offload) fails with EIO.
 * Then, or on EINVAL or ENOPROTOOPT, GSO is turned off for this sender
 * (shown as fallen back, with the error; the port tells its owner once,
 * dp_port_event()) and the
 * datagrams of that message are sent one per message; setting udp-gso off
 * and on again tries again.
 *
 * A capture of the port's underlay (port_capture_outer()) is shown each
 * datagram the kernel took, with the source address and port its socket got
 * at connect and the remote: what goes in the outer headers.  It costs one
 * branch per sendmmsg() when there is none.
 *
 * Outer UDP checksum: zero over IPv4 (SO_NO_CHECK), which both RFCs allow,
 * except while UDP GSO is in use (the kernel refuses GSO on a socket with
 * SO_NO_CHECK); computed by the kernel over IPv6.
 *
 * MTU.  The kernel learns a path MTU from ICMP "fragmentation needed" and
 * "packet too big" that quote a datagram of ours, and anyone on the path
 * can forge one: it lowers the path MTU to a remote for ten minutes.  So
 * the sockets send with IP_PMTUDISC_PROBE (IPV6_PMTUDISC_PROBE): DF set,
 * and the kernel neither sizes nor refuses by what it learnt; what the
 * path MTU is worth is decided here, from IP_MTU (IPV6_MTU) read by
 * tnl_tx_refresh() each second:
 *   - path_mtu, the kernel's path MTU but never below min_mtu (a floor the
 *     user sets, 0 for none): datagrams up to it go whole, with DF;
 *   - link_mtu, what the underlay carries when no ICMP lowered it: the
 *     route's MTU when the sockets opened (tnl-route.h: not a path MTU
 *     the kernel learnt before) or the largest path MTU seen since, if
 *     larger, or min_mtu if more:
 *     the port's MTU follows it.  Datagrams between path_mtu and link_mtu
 *     go fragmented (DF clear, the socket switched to IP_PMTUDISC_DONT for
 *     them), as the kernel's vxlan does by default, and are counted in
 *     fragmented; larger ones are dropped as DROP_TOO_BIG.
 * So a forged ICMP costs fragmentation, never a frame, and a real smaller
 * path MTU is met by fragmenting too (RFC 7348 4.3 leaves fragmentation
 * to the path; the outer IPv4 packets are fragmented here only when the
 * path said it needs it).  The receive endpoints (udp-endpoint.h) ignore
 * such ICMP altogether.
 *
 * ICMP errors.  A connected UDP socket reports an ICMP error about an
 * earlier datagram (port unreachable: a remote host with no listener, or
 * a forged one) by failing the next send with it (ECONNREFUSED, ...), and
 * that send was never tried.  Such a send is tried again (up to
 * TNL_TX_TRIES times): a remote that answers with port unreachable, or a
 * forger, costs no frame.  The errors consumed so are counted in
 * icmp_errors; one that persists (no route) is the send's own and counted
 * as a drop.
 */
#ifndef TNL_TX_H
#define TNL_TX_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath/pkt.h"
#include "datapath/port.h"

#include "tnl.h"

#define TNL_TX_SOCKS	4
#define TNL_GSO_SEGS	64	/* datagrams per UDP_SEGMENT message */
#define TNL_GSO_BYTES	65535	/* its IP total length, UDP length */

enum tnl_gso {
	TNL_GSO_OFF,		/* udp-gso is off */
	TNL_GSO_ON,
	TNL_GSO_FAILED,		/* the kernel refused it: gso_error */
};

/* A UDP_SEGMENT control message. */
union tnl_tx_cmsg {
	char		buf[CMSG_SPACE(sizeof(uint16_t))];
	struct cmsghdr	align;
};

struct tnl_tx {
	int			 fds[TNL_TX_SOCKS];
	int			 family;
	int			 kernel_mtu;	/* IP_MTU now: may be forged */
	int			 seen_mtu;	/* route MTU, or larger kernel_mtu */
	int			 min_mtu;	/* the floor; 0: none */
	int			 path_mtu;	/* whole up to it (see above) */
	int			 link_mtu;	/* fragmented up to it */
	unsigned		 outer;		/* IP + UDP header bytes */
	uint64_t		 fragmented;	/* datagrams sent fragmented */
	uint64_t		 icmp_errors;	/* reported by failed sends */
	bool			 frag_mode[TNL_TX_SOCKS];	/* PMTUDISC_DONT */
	enum tnl_gso		 gso;
	int			 gso_error;	/* errno when TNL_GSO_FAILED */
	uint64_t		 gso_msgs;	/* messages sent with GSO */
	uint64_t		 gso_segs;	/* datagrams in them */
	/*
	 * sendmmsg() state, per socket, kept here to stay off the stack:
	 * datagram k is pkts[][k] behind iov[][k]; message m carries segs[][m]
	 * datagrams from first[][m] on.
	 */
	unsigned		 count[TNL_TX_SOCKS];
	unsigned		 nmsgs[TNL_TX_SOCKS];
	struct mmsghdr		 msgs[TNL_TX_SOCKS][PKT_BATCH_MAX];
	uint8_t			 first[TNL_TX_SOCKS][PKT_BATCH_MAX];
	uint8_t			 segs[TNL_TX_SOCKS][PKT_BATCH_MAX];
	bool			 frag[TNL_TX_SOCKS][PKT_BATCH_MAX];	/* by datagram */
	bool			 mfrag[TNL_TX_SOCKS][PKT_BATCH_MAX];	/* by message */
	const struct pkt	*pkts[TNL_TX_SOCKS][PKT_BATCH_MAX];
	uint32_t		 lens[TNL_TX_SOCKS][PKT_BATCH_MAX];
	struct iovec		 iov[TNL_TX_SOCKS][PKT_BATCH_MAX][2];
	union tnl_tx_cmsg	 cmsg[TNL_TX_SOCKS][PKT_BATCH_MAX];
	/* The outer addresses, per socket, for captures. */
	struct sockaddr_storage	 src[TNL_TX_SOCKS];
	struct sockaddr_storage	 dst;
};

/*
 * Opens the sockets from local (AF_UNSPEC: the kernel chooses by route) to
 * remote, whose port is the destination port.  0, or an errno and err.
 */
int	tnl_tx_open(struct tnl_tx *, const struct sockaddr_storage *local,
	    const struct sockaddr_storage *remote, char *err, size_t errlen);
void	tnl_tx_close(struct tnl_tx *);
/* Reads the path MTU again. */
void	tnl_tx_refresh(struct tnl_tx *);
/*
 * Sets the floor of path_mtu and link_mtu (0: none); 0, or EINVAL with a
 * message quoting it when it is neither 0 nor TNL_MIN_MTU_LOW (IPv4;
 * IPv6: 1280) to TNL_MIN_MTU_HIGH.
 */
#define TNL_MIN_MTU_LOW		576
#define TNL_MIN_MTU_LOW6	1280
#define TNL_MIN_MTU_HIGH	65535
int	tnl_tx_check_min_mtu(int family, int mtu, char *err, size_t errlen);
void	tnl_tx_set_min_mtu(struct tnl_tx *, int mtu);
/* Uses UDP GSO or not (udp-gso); on again retries after a failure. */
void	tnl_tx_set_gso(struct tnl_tx *, struct port *, bool on);
/*
 * Sends every payload of b behind the hlen bytes of hdr, counting tx or a
 * drop on port; frees nothing.  One header serves the batch: a port whose
 * header depends on the payload (GRE carrying IPv4 or IPv6) sends one
 * batch per header.
 */
void	tnl_tx_send(struct tnl_tx *, struct port *, const struct pkt_batch *b,
	    const uint8_t *hdr, size_t hlen, enum tnl_payload);
/* The hash that picks a flow's socket (exposed for tests). */
uint32_t tnl_flow_hash(const uint8_t *, size_t, enum tnl_payload);
/*
 * How many of the n datagrams of lengths len[] (header and payload) one
 * UDP_SEGMENT message can carry from len[0] on: equal lengths, the last may
 * be shorter, at most TNL_GSO_SEGS and max_bytes in all (1 when n > 0,
 * whatever the lengths; exposed for tests).
 */
unsigned tnl_gso_run(const uint32_t *len, unsigned n, uint32_t max_bytes);
/*
 * Makes mh a UDP_SEGMENT message of datagrams of size bytes (the last may
 * be shorter), its control message in c.
 */
void	tnl_gso_cmsg(struct msghdr *mh, union tnl_tx_cmsg *c, uint16_t size);
/*
 * What a sender does with a message of segs datagrams that sendmmsg()
 * failed with error: the one policy of tnl_tx_send() and of the wireguard
 * port (wg-io.c), which sends its own way.
 */
enum tnl_send_fail {
	TNL_SEND_AGAIN,		/* interrupted: the same again */
	TNL_SEND_FULL,		/* the send buffer: it and the rest are dropped */
	TNL_SEND_NO_GSO,	/* GSO refused: off, and again one by one */
	TNL_SEND_TOO_BIG,	/* dropped as DROP_TOO_BIG */
	TNL_SEND_ERROR,		/* dropped as DROP_TX_ERROR, a tx error */
};
enum tnl_send_fail tnl_send_failure(int error, unsigned segs);

#endif
