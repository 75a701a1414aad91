/*
 * gre.h - the GRE header (RFC 2784, with the key and sequence number of
 * RFC 2890), carried in UDP as GRE-in-UDP (RFC 8086).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |C|R|K|S|s|Rcr|  Reserved0 | Ver |        Protocol Type         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      Checksum (if C)          |       Reserved1 (if C)        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                         Key (if K)                            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 Sequence Number (if S)                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * RFC 2784 section 2.3: a receiver that does not implement RFC 1701 must
 * discard a packet with any of bits 1-5 set; RFC 2890 gives bits 2 (K) and
 * 3 (S) a meaning, which leaves R (bit 1) and bits 4-5.  Bits 6-12 are
 * ignored on receipt.  The version must be 0.  The checksum, when present,
 * covers the GRE header and the payload.
 */
#ifndef GRE_H
#define GRE_H

#define GRE_HLEN		4	/* without the optional fields */
#define GRE_OPT_LEN		4	/* each optional field */
#define GRE_PORT		4754	/* IANA, RFC 8086 */
#define GRE_OFF_FLAGS		0
#define GRE_OFF_PROTO		2

#define GRE_FLAG_C		0x8000	/* checksum present */
#define GRE_FLAG_K		0x2000	/* key present */
#define GRE_FLAG_S		0x1000	/* sequence number present */
#define GRE_FLAGS_DISCARD	0x4c00	/* R, s and the top recursion bit */
#define GRE_VERSION_MASK	0x0007

#endif
