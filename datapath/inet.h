/*
 * inet.h - IPv4 (RFC 791), IPv6 (RFC 8200), TCP (RFC 9293) and UDP (RFC 768)
 * wire formats, and the one parser the offload code shares.
 *
 * Fields are read and written as bytes at fixed offsets, never through
 * casts, so no access depends on the alignment of the frame.  inet_parse()
 * checks every length before it reads a field; the offsets it returns are
 * all within the frame.
 *
 * The parser knows Ethernet with up to two 802.1Q/802.1ad tags, IPv4 with
 * or without options and IPv6 without extension headers, carrying TCP or
 * UDP.  A packet of an L3 port (tun, ipip, gre) has no Ethernet header: it
 * is parsed as INET_L3, from its IP header, whose version nibble tells the
 * family; every offset is then from the IP header.  Anything else is EPROTONOSUPPORT: offloads pass such frames through
 * or refuse them, they never guess.
 */
#ifndef INET_H
#define INET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "be.h"

#define ETH_TYPE_IPV4		0x0800
#define ETH_TYPE_IPV6		0x86dd

#define IPV4_HLEN		20	/* without options */
#define IPV4_OFF_TOS		1
#define IPV4_OFF_LEN		2
#define IPV4_OFF_ID		4
#define IPV4_OFF_FRAG		6	/* flags and fragment offset */
#define IPV4_OFF_TTL		8
#define IPV4_OFF_PROTO		9
#define IPV4_OFF_CSUM		10
#define IPV4_OFF_SRC		12
#define IPV4_DF			0x4000
#define IPV4_MF			0x2000
#define IPV4_FRAG_MASK		0x1fff

#define IPV6_HLEN		40
#define IPV6_OFF_PLEN		4
#define IPV6_OFF_NEXT		6
#define IPV6_OFF_HOPS		7
#define IPV6_OFF_SRC		8

#define TCP_HLEN		20	/* without options */
#define TCP_HLEN_MAX		60
#define TCP_OFF_SEQ		4
#define TCP_OFF_ACK		8
#define TCP_OFF_DOFF		12
#define TCP_OFF_FLAGS		13
#define TCP_OFF_WIN		14
#define TCP_OFF_CSUM		16
#define TCP_FIN			0x01
#define TCP_SYN			0x02
#define TCP_RST			0x04
#define TCP_PSH			0x08
#define TCP_ACK			0x10
#define TCP_URG			0x20
#define TCP_ECE			0x40
#define TCP_CWR			0x80

#define UDP_HLEN		8
#define UDP_OFF_LEN		4
#define UDP_OFF_CSUM		6

#define INET_PROTO_TCP		6
#define INET_PROTO_UDP		17

/* What a frame starts with: the L2 switch's or the router's. */
enum inet_link {
	INET_L2,		/* Ethernet header, maybe tagged */
	INET_L3,		/* IPv4 or IPv6 header */
};

/* Where the headers of one frame are; all offsets from the frame start. */
struct inet_hdrs {
	uint16_t	l3;		/* IP header */
	uint16_t	l4;		/* TCP or UDP header */
	uint16_t	hlen;		/* payload: l4 + TCP/UDP header length */
	uint32_t	iplen;		/* l3 to end per the IP length field */
	uint8_t		ipv;		/* 4 or 6 */
	uint8_t		proto;		/* INET_PROTO_TCP or INET_PROTO_UDP */
	bool		frag;		/* IPv4 first fragment (MF set) */
};

/*
 * 0; EINVAL for a truncated or malformed header; EPROTONOSUPPORT for a
 * frame that is not TCP or UDP over IP as above, or a non-first fragment.
 * iplen is as the header says: callers decide how far to trust it.
 */
int	inet_parse(const uint8_t *frame, size_t len, enum inet_link,
	    struct inet_hdrs *);

#endif
