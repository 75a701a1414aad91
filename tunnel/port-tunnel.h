/*
 * port-tunnel.h - the tunnel port class: a port type for each payload of
 * each encapsulation (tnl.h's tnl_protos[]): "vxlan" and "gretap" (L2) and
 * "ipip" and "gre" (L3: IPv4 and IPv6 packets for the router, router.h).
 *
 * A tunnel port is a switch port like a tap: frames the switch sends it go
 * to one remote host inside UDP, and frames from that remote arrive through
 * the shared endpoint (udp-endpoint.h) of its local address and port, are
 * counted on the port and go to the switch with the port as their ingress,
 * so MAC learning puts remote hosts on the tunnel they came by.  Tunnel
 * ports have no fd and L2 ones are split-horizon by default.  An L3
 * tunnel port is the same to the router: packets it routes out of the port
 * go to the remote, packets from the remote come in on the port.
 *
 * The port's MTU is the largest inner MTU that fits: the underlay's MTU to
 * the remote less the overhead (outer IP and UDP headers, the tunnel
 * header and, on L2 ports, the inner Ethernet header), read again each
 * second.  The underlay's MTU is the largest path MTU seen, not one an ICMP
 * lowered (maybe forged): what does not fit the path MTU now is sent
 * fragmented, and min-mtu sets a floor below which the path MTU is not
 * believed at all (tnl-tx.h).
 */
#ifndef PORT_TUNNEL_H
#define PORT_TUNNEL_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>

#include "datapath/gro.h"
#include "datapath/port.h"

#include "tnl-tx.h"

struct udp_ep;

struct tnl_port_info {
	const char		*proto;		/* "vxlan", "gre" */
	const char		*key_name;	/* "vni", "key" */
	struct sockaddr_storage	 remote;	/* with the destination port */
	struct sockaddr_storage	 local;		/* AF_UNSPEC: any */
	bool			 has_key;
	uint32_t		 key;
	unsigned		 overhead;	/* bytes added to an inner MTU */
	int			 underlay_mtu;	/* the port's MTU follows it */
	int			 path_mtu;	/* whole datagrams up to it */
	int			 kernel_mtu;	/* the kernel's path MTU */
	int			 min_mtu;	/* floor of both; 0: none */
	uint64_t		 fragmented;	/* datagrams sent fragmented */
	uint64_t		 icmp_errors;	/* reported to the senders */
	const struct udp_ep	*ep;
	enum tnl_gso		 gso;		/* UDP GSO: in use, fell back */
	int			 gso_error;
	uint64_t		 gso_msgs;	/* GSO messages sent */
	uint64_t		 gso_segs;	/* datagrams in them */
	bool			 tcp_gro;	/* coalescing received TCP */
	struct gro_stats	 gro;
	const char		*via;		/* the carrier; NULL: sockets */
};

/* Registers a port type per payload of each encapsulation; 0 or an errno. */
int	tnl_types_register(void);
bool	tnl_port_is(const struct port *);
/* Fills info for a tunnel port: 0, or EINVAL for another type. */
int	tnl_port_get_info(const struct port *, struct tnl_port_info *);
/*
 * Sets the floor of the port's path MTU now (0: none), and its MTU with
 * it: 0, or EINVAL with a message quoting the value or naming the port's
 * type when it is no tunnel.
 */
int	tnl_port_set_min_mtu(struct port *, int mtu, char *err, size_t errlen);

#endif
