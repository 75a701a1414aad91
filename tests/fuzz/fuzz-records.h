/*
 * fuzz-records.h - the input format the forwarding fuzz targets share:
 * a sequence of records
 *	[1 byte: port and options] [2 bytes: length] [packet]
 * a length past the end of the input meaning "the rest".
 */
#ifndef FUZZ_RECORDS_H
#define FUZZ_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/pkt.h"

/*
 * Takes the next record off *data into a packet from pool: returns its
 * first byte, or -1 at the end of the input.
 */
static inline int
fuzz_next_record(const uint8_t **data, size_t *len, struct pkt_pool *pool,
    struct pkt **pp)
{
	const uint8_t	*d = *data;
	struct pkt	*p;
	size_t		 n;
	int		 head;

	if (*len < 3)
		return -1;
	head = d[0];
	n = (size_t)d[1] << 8 | d[2];
	d += 3;
	*len -= 3;
	if (n > *len)
		n = *len;
	if ((p = pkt_alloc(pool)) == NULL)
		abort();
	memcpy(p->data, d, n < pkt_tailroom(p) ? n : pkt_tailroom(p));
	p->len = (uint32_t)(n < pkt_tailroom(p) ? n : pkt_tailroom(p));
	*data = d + n;
	*len -= n;
	*pp = p;
	return head;
}

#endif
