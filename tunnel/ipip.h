/*
 * ipip.h - IPv4 and IPv6 directly in UDP (no header of its own).
 */
#ifndef IPIP_H
#define IPIP_H

#define IPIP_PORT	5555	/* no IANA port: ours, the same at both ends */

#endif
