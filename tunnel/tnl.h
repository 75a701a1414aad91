/*
 * tnl.h - what every UDP encapsulation shares: the interface one
 * implements, the reasons a received packet is dropped, and byte access.
 *
 * An encapsulation (vxlan.c, gre.c, ipip.c) is a const struct tnl_proto
 * with two functions.  build() writes the header a port puts in front of
 * every payload; it depends only on the port's settings and the payload
 * type (no sequence numbers, no per-packet checksum), so a port builds it
 * once (an IP port twice: IPv4 and IPv6) and sends every packet behind the
 * same bytes.  parse() reads a received
 * header, checking the length before each field, and returns what the
 * receive side demultiplexes on (VNI or key, payload type) or why the
 * packet is dropped.
 *
 * An encapsulation also says which port types it carries (types[], by
 * payload: "vxlan" carries Ethernet; "gre" Ethernet as "gretap" and IP as
 * "gre") and what its key may be.  Every entry of tnl_protos[] (tnl.c) is
 * made a port type of each of its payloads by the one tunnel port class
 * (port-tunnel.c): adding an encapsulation is one new file and one line
 * in that table.
 *
 * The receive path: udp-endpoint.c (shared sockets, demultiplexing); the
 * send path: tnl-tx.c; the ports: port-tunnel.c.
 */
#ifndef TNL_H
#define TNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath/be.h"

#define TNL_HDR_MAX	16	/* GRE with checksum, key and sequence */

/* Why a received datagram fit no port; names in tnl_drop_names. */
enum tnl_drop {
	TNL_DROP_WRONG_SOURCE,	/* no port has this remote address */
	TNL_DROP_UNKNOWN_KEY,	/* the remote's ports have other VNIs/keys */
	TNL_DROP_TRUNCATED,	/* shorter than its header */
	TNL_DROP_BAD_FLAGS,	/* VXLAN I flag clear; GRE routing bits */
	TNL_DROP_BAD_VERSION,	/* GRE version other than 0 */
	TNL_DROP_BAD_CHECKSUM,	/* GRE checksum present and wrong */
	TNL_DROP_BAD_PROTO,	/* GRE payload neither Ethernet nor IP */
	TNL_DROP_TOO_BIG,	/* larger than a packet buffer */
	TNL_DROP_NO_BUFFER,	/* packet pool empty */
	TNL_DROP_BAD_GRO,	/* coalesced (UDP_GRO) with segment size 0 */
	TNL_DROP_WRONG_SOURCE_PORT, /* the port's remote-port leaves it out */
	TNL_DROP__MAX
};

extern const char *const tnl_drop_names[TNL_DROP__MAX];

enum tnl_payload {
	TNL_PAYLOAD_ETH,	/* an Ethernet frame (vxlan, gretap) */
	TNL_PAYLOAD_IP,		/* an IPv4 or IPv6 packet */
};

/* EtherTypes a header names its payload by. */
#define TNL_PROTO_TEB	0x6558	/* Transparent Ethernet Bridging */
#define TNL_PROTO_IPV4	0x0800
#define TNL_PROTO_IPV6	0x86dd

/* What a received header says, or why it is dropped. */
struct tnl_rx {
	size_t			hlen;		/* header bytes to pull */
	bool			has_key;
	uint32_t		key;		/* VNI or GRE key */
	enum tnl_payload	payload;
	enum tnl_drop		drop;		/* when parse fails */
};

#define TNL_PAYLOADS	2

struct tnl_proto {
	const char	*name;		/* "vxlan", "gre" */
	const char	*key_name;	/* "vni", "key" */
	uint16_t	 port;		/* its IANA UDP port */
	/* The port type of each payload it carries; NULL: not that one. */
	const char	*types[TNL_PAYLOADS];
	/*
	 * The key: key_setting is the port setting that gives it
	 * (PORT_SET_VNI, PORT_SET_KEY, 0 for none), key_max its largest
	 * value; with key_always a port without one sends key_default.
	 */
	unsigned	 key_setting;
	uint32_t	 key_max;
	bool		 key_always;
	uint32_t	 key_default;
	/*
	 * Writes the header for key (absent unless has_key) and a payload
	 * of EtherType proto into hdr; returns its length.
	 */
	size_t		 (*build)(uint8_t hdr[TNL_HDR_MAX], bool has_key,
			    uint32_t key, uint16_t proto);
	/* 0 and *rx, or -1 with the reason in rx->drop. */
	int		 (*parse)(const uint8_t *, size_t, struct tnl_rx *rx);
};

extern const struct tnl_proto tnl_vxlan;
extern const struct tnl_proto tnl_gre;
extern const struct tnl_proto tnl_ipip;

/* Every encapsulation, NULL-terminated: what port-tunnel.c registers. */
extern const struct tnl_proto *const tnl_protos[];

/* For parse(): fails with a reason. */
static inline int
tnl_rx_drop(struct tnl_rx *rx, enum tnl_drop why)
{
	rx->drop = why;
	return -1;
}

#endif
