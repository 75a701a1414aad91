/*
 * mac-ports.h - the MAC table's per-port records, for fair eviction.
 *
 * Internal to mac-table.c.  Each port that holds learned entries has a
 * record: how many, and the two ends of its own LRU list (slot indices the
 * table manages).  Records are found by port pointer through a small open-
 * addressing hash, and ranked by count in an array sorted in descending
 * order, so the port holding the most entries is always ranks[0].  A count
 * only ever moves by one, so its record moves by one swap with the edge of
 * its group of equal counts, found by binary search: O(log ports).
 *
 * A record exists from its port's first learned entry to its last; record
 * indices are stable while it exists.  Only adding a record for a port
 * beyond the current capacity allocates (capacity doubles).
 */
#ifndef MAC_PORTS_H
#define MAC_PORTS_H

#include <stddef.h>
#include <stdint.h>

#define MAC_PORT_NONE	UINT32_MAX

struct mac_port {
	void		*port;
	uint32_t	 head;		/* oldest learned entry */
	uint32_t	 tail;		/* newest */
	uint32_t	 count;		/* learned entries */
	uint32_t	 rank;		/* index in ranks; MAC_PORT_NONE if free */
};

struct mac_ports {
	struct mac_port	*recs;
	uint32_t	*ranks;		/* live records, most entries first */
	uint32_t	*map;		/* record index + 1, 0 when empty */
	uint32_t	 cap;
	uint32_t	 n;		/* live records */
	uint32_t	 mask;		/* map size - 1 */
	uint32_t	 free;		/* free records, linked through head */
	uint32_t	 fresh;		/* records [fresh, cap) never used */
};

/* 0 or ENOMEM. */
int		 mac_ports_init(struct mac_ports *);
void		 mac_ports_fini(struct mac_ports *);
size_t		 mac_ports_bytes(const struct mac_ports *);

uint32_t	 mac_ports_find(const struct mac_ports *, void *port);
/* The record of port, made with count 0 if need be; MAC_PORT_NONE: ENOMEM. */
uint32_t	 mac_ports_get(struct mac_ports *, void *port);
void		 mac_ports_inc(struct mac_ports *, uint32_t rec);
/* At zero the record is released. */
void		 mac_ports_dec(struct mac_ports *, uint32_t rec);

/* The record with the most entries, MAC_PORT_NONE if there is none. */
static inline uint32_t
mac_ports_top(const struct mac_ports *ps)
{
	return ps->n > 0 ? ps->ranks[0] : MAC_PORT_NONE;
}

#endif
