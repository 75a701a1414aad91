/*
 * vxlan.h - the VXLAN header (RFC 7348, section 5).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |R|R|R|R|I|R|R|R|            Reserved                           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                VXLAN Network Identifier (VNI) |   Reserved    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * followed by the inner Ethernet frame.  The I flag must be set; the
 * reserved bits are sent as zero and ignored on receipt.
 */
#ifndef VXLAN_H
#define VXLAN_H

#define VXLAN_HLEN		8
#define VXLAN_PORT		4789	/* IANA */
#define VXLAN_FLAG_I		0x08	/* byte 0: the VNI is valid */
#define VXLAN_OFF_FLAGS		0
#define VXLAN_OFF_VNI		4	/* 24 bits, then a reserved byte */
#define VXLAN_VNI_MAX		0xffffffu
#define VXLAN_VNI_DEFAULT	1

#endif
