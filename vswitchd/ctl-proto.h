/*
 * ctl-proto.h - the control protocol between vswctl and vswitchd.
 *
 * A SOCK_STREAM Unix socket carries framed messages.  Each frame is an
 * 8-byte header, a magic word that doubles as the protocol version and the
 * payload length, both in network order, followed by a JSON payload:
 *
 *	request	{"argv": ["port", "add", ...], "json": false, "fds": 0}
 *	reply	{"ok": true, "output": "text"}		human form
 *		{"ok": true, "data": <any JSON>}	with "json": true
 *		{"ok": false, "error": "message"}
 *
 * Lengths are checked against a fixed maximum before anything is allocated.
 * A new incompatible version gets a new magic; a peer speaking another one
 * is answered with an error and disconnected.
 *
 * Two additions keep version 1 compatible, as both are optional:
 *
 * - A request may carry open descriptors (SCM_RIGHTS), at most CTL_MAX_FDS,
 *   sent with the first byte of its frame (ctl_send_fds()), and says how
 *   many in "fds".  This is how a client hands over the file or pipe a
 *   capture writes to, so the daemon never opens a path a client names.
 *   A request whose descriptors did not all arrive is refused.
 * - A reply with "more": true is followed by another reply to the same
 *   request (a capture streaming to the client's stdout reports its end);
 *   the last one has no "more".  Until then the client sends nothing, but
 *   may shut down its sending side to ask for the end early.
 *
 * This file is shared by the daemon and the client, so it uses neither
 * libevent nor anything else of the daemon's.
 */
#ifndef VSW_CTL_PROTO_H
#define VSW_CTL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define VSW_VERSION		"0.1.0"

#define CTL_MAGIC		0x56535731u	/* "VSW1" */
#define CTL_HDR_LEN		8
#define CTL_MAX_REQUEST		(64u * 1024)
#define CTL_MAX_REPLY		(16u * 1024 * 1024)
#define CTL_SOCKET_DEFAULT	"/run/vswitchd/vswitchd.sock"
#define CTL_TIMEOUT_MS		10000
#define CTL_MAX_FDS		4	/* descriptors with one request */

void	ctl_hdr_pack(uint8_t hdr[CTL_HDR_LEN], uint32_t len);
/* 0 and the payload length, EPROTO on a bad magic, EMSGSIZE if over max. */
int	ctl_hdr_unpack(const uint8_t hdr[CTL_HDR_LEN], uint32_t max,
	    uint32_t *len);

/*
 * Serialises msg (compact) and prepends the header.  Returns a malloc'd
 * frame and its total length in *len, or NULL with errno set (EMSGSIZE when
 * the payload exceeds max).
 */
uint8_t	*ctl_frame(const json_t *msg, uint32_t max, size_t *len);

/* Fills *sun for path; ENAMETOOLONG if it does not fit. */
struct sockaddr_un;
int	ctl_sockaddr(struct sockaddr_un *sun, const char *path);

/*
 * Client side, blocking with one overall deadline.  Each returns 0 or an
 * errno (ETIMEDOUT when the deadline passes, ECONNRESET when the peer closes
 * early).  ctl_recv() returns the payload malloc'd and NUL-terminated.
 */
int	ctl_connect(const char *path, int timeout_ms, int *fdp);
int	ctl_send(int fd, const void *buf, size_t len, int timeout_ms);
/* ctl_send() with nfds (at most CTL_MAX_FDS) descriptors on the first byte. */
int	ctl_send_fds(int fd, const void *buf, size_t len, const int *fds,
	    unsigned nfds, int timeout_ms);
int	ctl_recv(int fd, uint32_t max, int timeout_ms, char **payload,
	    size_t *len);

#endif
