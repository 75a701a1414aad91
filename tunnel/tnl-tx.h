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
 * A batch goes out with one sendmmsg() per socket it uses.  Each message is
 * two iovecs, the port's header and the payload, so the payload, which may
 * be queued on other ports too, is never written to.
 *
 * A capture of the port's underlay (port_capture_outer()) is shown each
 * datagram the kernel took, with the source address and port its socket got
 * at connect and the remote: what goes in the outer headers.  It costs one
 * branch per sendmmsg() when there is none.
 *
 * Outer UDP checksum: zero over IPv4 (SO_NO_CHECK), which both RFCs allow;
 * computed by the kernel over IPv6.  DF is set and nothing is fragmented
 * here (RFC 7348 section 4.3): a packet whose outer size would exceed the
 * path MTU is dropped and counted as DROP_TOO_BIG on the port.  The MTU is
 * read again by tnl_tx_refresh() (each second) and after EMSGSIZE.
 */
#ifndef TNL_TX_H
#define TNL_TX_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath/pkt.h"
#include "datapath/port.h"

#include "tnl.h"

#define TNL_TX_SOCKS	4

struct tnl_tx {
	int			 fds[TNL_TX_SOCKS];
	int			 family;
	int			 path_mtu;	/* underlay, to the remote */
	unsigned		 outer;		/* IP + UDP header bytes */
	/* sendmmsg() state, per socket, kept here to stay off the stack. */
	unsigned		 count[TNL_TX_SOCKS];
	struct mmsghdr		 msgs[TNL_TX_SOCKS][PKT_BATCH_MAX];
	const struct pkt	*pkts[TNL_TX_SOCKS][PKT_BATCH_MAX];
	struct iovec		 iov[PKT_BATCH_MAX][2];
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
 * Sends every payload of b behind the hlen bytes of hdr, counting tx or a
 * drop on port; frees nothing.  One header serves the batch: a port whose
 * header depends on the payload (GRE carrying IPv4 or IPv6) sends one
 * batch per header.
 */
void	tnl_tx_send(struct tnl_tx *, struct port *, const struct pkt_batch *b,
	    const uint8_t *hdr, size_t hlen, enum tnl_payload);
/* The hash that picks a flow's socket (exposed for tests). */
uint32_t tnl_flow_hash(const uint8_t *, size_t, enum tnl_payload);

#endif
