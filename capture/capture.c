/*
 * capture.c - filters and pcap records for one capture.
 *
 * A frame that still owes offload work (p->vnet) is recorded as the wire
 * would carry it: a copy with its checksum completed, or the segments of a
 * super-frame, made by gso.h in the capture's own small pool (filled and
 * emptied per frame) so the datapath's buffers are never touched.  Each
 * segment is a record of its own, filtered and counted as one.  A frame
 * whose vnet header gso.h refuses is recorded as it is: the port drops it
 * (bad_offload) and the capture shows what it was given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "datapath/gso.h"

#include "cap-outer.h"
#include "cap-writer.h"
#include "capture.h"

struct cap {
	struct cap_config	 cfg;
	pcap_t			*dead;		/* link type and snaplen */
	pcap_dumper_t		*dumper;
	FILE			*stream;	/* into the ring */
	struct bpf_program	 prog;
	bool			 filtered;
	int			 dlt;
	enum cap_end		 end;
	uint64_t		 matched;
	uint64_t		 queued;	/* records */
	uint64_t		 queued_bytes;	/* file header included */
	uint64_t		 dropped;
	uint8_t			*outer;		/* a synthesized datagram */
	struct pkt_pool		*wire;		/* frames owing offloads, done */
	struct capw		 w;
};

/* Enough for a few segments per round; a pool touches what it uses. */
#define CAP_WIRE_POOL	16

#define CAP_OUTER_ROOM	(CAP_IP6_HLEN + CAP_UDP_HLEN + CAP_IP_MAXPACKET)

/* The room for every write was checked before pcap_dump() made it. */
static ssize_t
cap_stream_write(void *cookie, const char *buf, size_t n)
{
	struct cap	*cap = cookie;

	if (capw_room(&cap->w) < n)
		return 0;
	capw_put(&cap->w, buf, n);
	cap->queued_bytes += n;
	return (ssize_t)n;
}

static int
cap_check(const struct cap_config *cfg, char *err, size_t errlen)
{
	if (cfg->snaplen < 1 || cfg->snaplen > CAP_SNAPLEN_MAX) {
		snprintf(err, errlen, "invalid snaplen %u (1 to %u)",
		    cfg->snaplen, CAP_SNAPLEN_MAX);
		return EINVAL;
	}
	if (cfg->max_size != 0 && cfg->max_size < CAP_MAX_SIZE_MIN) {
		snprintf(err, errlen, "max-size %llu is below the minimum of "
		    "%u bytes", (unsigned long long)cfg->max_size,
		    CAP_MAX_SIZE_MIN);
		return EINVAL;
	}
	if (cfg->dirs == 0 || (cfg->dirs & ~(CAP_RX | CAP_TX))) {
		snprintf(err, errlen, "invalid direction");
		return EINVAL;
	}
	return 0;
}

/* The filter, compiled for the link type; the message is libpcap's. */
static int
cap_compile(struct cap *cap, char *err, size_t errlen)
{
	const char	*f = cap->cfg.filter;

	if (f == NULL || f[0] == '\0')
		return 0;
	if (pcap_compile(cap->dead, &cap->prog, f, 1,
	    PCAP_NETMASK_UNKNOWN) == -1) {
		snprintf(err, errlen, "bad filter '%s': %s", f,
		    pcap_geterr(cap->dead));
		return EINVAL;
	}
	cap->filtered = true;
	return 0;
}

/* The dumper writes the file header into the ring straight away. */
static int
cap_open_dump(struct cap *cap, char *err, size_t errlen)
{
	static const cookie_io_functions_t	io = {
		.write = cap_stream_write,
	};

	if ((cap->stream = fopencookie(cap, "w", io)) == NULL)
		goto fail;
	setvbuf(cap->stream, NULL, _IONBF, 0);
	if ((cap->dumper = pcap_dump_fopen(cap->dead, cap->stream)) == NULL) {
		snprintf(err, errlen, "cannot start the pcap file: %s",
		    pcap_geterr(cap->dead));
		fclose(cap->stream);
		cap->stream = NULL;
		return EIO;
	}
	capw_commit(&cap->w);
	return 0;
fail:
	snprintf(err, errlen, "out of memory");
	return ENOMEM;
}

int
cap_create(const struct cap_config *cfg, struct cap **capp, char *err,
    size_t errlen)
{
	struct cap	*cap;
	size_t		 ring = cfg->ring_size ? cfg->ring_size : CAP_RING_SIZE;
	int		 error;

	if ((error = cap_check(cfg, err, errlen)) != 0)
		return error;
	snprintf(err, errlen, "out of memory");
	if ((cap = calloc(1, sizeof(*cap))) == NULL)
		return ENOMEM;
	cap->cfg = *cfg;
	cap->dlt = cfg->outer || cfg->l3 ? DLT_RAW : DLT_EN10MB;
	error = ENOMEM;
	if ((cap->dead = pcap_open_dead(cap->dlt, (int)cfg->snaplen)) == NULL)
		goto free_cap;
	if ((error = cap_compile(cap, err, errlen)) != 0)
		goto close_dead;
	error = ENOMEM;
	if (cfg->outer && (cap->outer = malloc(CAP_OUTER_ROOM)) == NULL)
		goto free_code;
	if (!cfg->outer && (cap->wire = pkt_pool_create(CAP_WIRE_POOL,
	    PKT_DATA_ROOM)) == NULL)
		goto free_outer;
	if ((error = capw_init(&cap->w, ring, cfg->fd)) != 0) {
		snprintf(err, errlen, "cannot use the output: %s",
		    strerror(error));
		goto free_outer;
	}
	if ((error = cap_open_dump(cap, err, errlen)) != 0)
		goto fini_writer;
	*capp = cap;
	return 0;

fini_writer:
	cap->w.fd = -1;		/* still the caller's */
	capw_destroy(&cap->w);
free_outer:
	pkt_pool_destroy(cap->wire);
	free(cap->outer);
free_code:
	if (cap->filtered)
		pcap_freecode(&cap->prog);
close_dead:
	pcap_close(cap->dead);
free_cap:
	free(cap);
	return error;
}

int
cap_start(struct cap *cap, int notify_fd)
{
	return capw_start(&cap->w, notify_fd);
}

/* Queues one packet if it matches; the caller commits. */
static enum cap_end
cap_record(struct cap *cap, const struct timeval *ts, const uint8_t *data,
    uint32_t len)
{
	struct pcap_pkthdr	h = { .ts = *ts, .caplen = len, .len = len };
	size_t			need;

	if (cap->filtered && pcap_offline_filter(&cap->prog, &h, data) == 0)
		return CAP_RUNNING;
	cap->matched++;
	if (h.caplen > cap->cfg.snaplen)
		h.caplen = cap->cfg.snaplen;
	need = CAPW_REC_HDR + h.caplen;
	if (cap->cfg.max_size != 0 &&
	    cap->queued_bytes + need > cap->cfg.max_size)
		return cap->end = CAP_END_MAX_SIZE;
	if (capw_room(&cap->w) < need) {
		cap->dropped++;
		return CAP_RUNNING;
	}
	pcap_dump((u_char *)cap->dumper, &h, data);
	if (++cap->queued == cap->cfg.count)
		return cap->end = CAP_END_COUNT;
	return CAP_RUNNING;
}

/* Whether to take a packet going dir; updates cap->end if the writer quit. */
static bool
cap_wants(struct cap *cap, bool outer, enum port_dir dir)
{
	if (cap->end == CAP_RUNNING && capw_done(&cap->w))
		cap->end = CAP_END_WRITER;
	return cap->end == CAP_RUNNING && outer == cap->cfg.outer &&
	    (cap->cfg.dirs & (1u << dir));
}

/* A copy of p with its checksum completed, or NULL (then p as it is). */
static struct pkt *
cap_csum_copy(struct cap *cap, const struct pkt *p)
{
	struct pkt	*q;

	if ((q = pkt_alloc(cap->wire)) == NULL)
		return NULL;
	if (p->len > pkt_tailroom(q))
		goto free;
	memcpy(q->data, p->data, p->len);
	q->len = p->len;
	q->vnet = p->vnet;
	if (gso_csum(q) != 0)
		goto free;
	return q;
free:
	pkt_free(q);
	return NULL;
}

/* The segments of super-frame p, a round at a time; false if refused. */
static bool
cap_record_segments(struct cap *cap, const struct timeval *ts,
    const struct pkt *p)
{
	struct gso_iter		it;
	struct pkt_batch	out;
	int			error = 0;

	/* DLT_RAW: a tun's or an IP tunnel's packets, from the IP header. */
	if (gso_start(&it, p, cap->dlt == DLT_RAW ? INET_L3 : INET_L2) != 0)
		return false;
	while (!gso_done(&it) && error != EMSGSIZE &&
	    cap->end == CAP_RUNNING) {
		pkt_batch_init(&out);
		error = gso_next(&it, cap->wire, &out);
		for (unsigned i = 0; i < out.count; i++)
			if (cap->end == CAP_RUNNING)
				cap_record(cap, ts, out.pkts[i]->data,
				    out.pkts[i]->len);
		if (out.count == 0 && error == ENOBUFS)
			error = EMSGSIZE;	/* no buffer at all: give up */
		pkt_batch_free(&out);
	}
	if (error == EMSGSIZE)
		cap->dropped += gso_left(&it);
	return true;
}

static enum cap_end
cap_record_wire(struct cap *cap, const struct timeval *ts,
    const struct pkt *p)
{
	struct pkt	*q;

	if (((p->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) |
	    p->vnet.gso_type) == 0)
		return cap_record(cap, ts, p->data, p->len);
	if (p->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		if (!cap_record_segments(cap, ts, p))
			cap_record(cap, ts, p->data, p->len);
		return cap->end;
	}
	if ((q = cap_csum_copy(cap, p)) == NULL)
		return cap_record(cap, ts, p->data, p->len);
	cap_record(cap, ts, q->data, q->len);
	pkt_free(q);
	return cap->end;
}

enum cap_end
cap_frames(struct cap *cap, enum port_dir dir, const struct pkt_batch *b,
    const struct timeval *ts)
{
	if (!cap_wants(cap, false, dir))
		return cap->end;
	for (unsigned i = 0; i < b->count; i++)
		if (cap_record_wire(cap, ts, b->pkts[i]) != CAP_RUNNING)
			break;
	capw_commit(&cap->w);
	return cap->end;
}

enum cap_end
cap_outer(struct cap *cap, enum port_dir dir, const struct port_outer *o,
    const struct timeval *ts)
{
	size_t	len;

	if (!cap_wants(cap, true, dir))
		return cap->end;
	if ((len = cap_outer_build(o, cap->outer, CAP_OUTER_ROOM)) == 0) {
		cap->dropped++;
		return cap->end;
	}
	cap_record(cap, ts, cap->outer, (uint32_t)len);
	capw_commit(&cap->w);
	return cap->end;
}

void
cap_finish(struct cap *cap)
{
	capw_finish(&cap->w);
}

bool
cap_done(const struct cap *cap)
{
	return capw_done(&cap->w);
}

int
cap_error(const struct cap *cap)
{
	return atomic_load(&cap->w.error);
}

void
cap_get_stats(const struct cap *cap, struct cap_stats *st)
{
	st->matched = cap->matched;
	st->written = atomic_load(&cap->w.written);
	st->dropped = cap->dropped + atomic_load(&cap->w.discarded);
	st->bytes = atomic_load(&cap->w.bytes);
}

const char *
cap_link_name(const struct cap *cap)
{
	return pcap_datalink_val_to_name(cap->dlt);
}

const char *
cap_link_description(const struct cap *cap)
{
	return pcap_datalink_val_to_description(cap->dlt);
}

void
cap_destroy(struct cap *cap)
{
	if (cap == NULL)
		return;
	capw_destroy(&cap->w);
	pcap_dump_close(cap->dumper);
	if (cap->filtered)
		pcap_freecode(&cap->prog);
	pcap_close(cap->dead);
	pkt_pool_destroy(cap->wire);
	free(cap->outer);
	free(cap);
}
