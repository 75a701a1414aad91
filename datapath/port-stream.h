/*
 * port-stream.h - the "stream" port type: an L2 port on a Unix stream
 * socket, the tap-free and root-free way for a QEMU guest to join the
 * switch (port-stream.c).
 *
 * QEMU connects with
 *
 *	-netdev stream,id=n0,server=off,addr.type=unix,addr.path=SOCKET
 *
 * to a port added with "path SOCKET", or listens (server=on) for a port
 * added with "connect SOCKET".  One peer at a time per port.
 */
#ifndef PORT_STREAM_H
#define PORT_STREAM_H

#include <stddef.h>

#include "port.h"

/*
 * The wire format, QEMU's net/stream.c (and the older -netdev socket): each
 * frame is a 4-byte big-endian length, then that many bytes of Ethernet
 * frame; nothing else is ever on the stream.
 */
#define STREAM_HDR_LEN		4

extern const struct port_ops port_stream_ops;

/* Bytes waiting in the port's output queue for a full socket (tests). */
size_t	port_stream_queued(const struct port *);

#endif
