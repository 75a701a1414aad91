/*
 * mac-ports.c - per-port records of the MAC table.
 *
 * The map is linear probing with backward-shift deletion, at most half
 * full, so a lookup is one or two probes and there are no tombstones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mac-ports.h"

#define MAC_PORTS_MIN	8

static inline uint32_t
mp_home(const struct mac_ports *ps, const void *port)
{
	uint64_t	x = (uint64_t)(uintptr_t)port * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(x >> 32) & ps->mask;
}

static void
mp_map_put(struct mac_ports *ps, uint32_t rec)
{
	uint32_t	i = mp_home(ps, ps->recs[rec].port);

	while (ps->map[i] != 0)
		i = (i + 1) & ps->mask;
	ps->map[i] = rec + 1;
}

static void
mp_map_del(struct mac_ports *ps, uint32_t rec)
{
	uint32_t	i = mp_home(ps, ps->recs[rec].port), j, k;

	while (ps->map[i] != rec + 1)
		i = (i + 1) & ps->mask;
	/* Pull back any later entry whose probe passed through i. */
	for (j = (i + 1) & ps->mask; ps->map[j] != 0; j = (j + 1) & ps->mask) {
		k = mp_home(ps, ps->recs[ps->map[j] - 1].port);
		if (((j - k) & ps->mask) >= ((j - i) & ps->mask)) {
			ps->map[i] = ps->map[j];
			i = j;
		}
	}
	ps->map[i] = 0;
}

/* Room for cap records: arrays grow, the map is rebuilt twice as large. */
static int
mp_resize(struct mac_ports *ps, uint32_t cap)
{
	struct mac_port	*recs;
	uint32_t	*ranks, *map;

	if ((recs = realloc(ps->recs, cap * sizeof(*recs))) == NULL)
		return ENOMEM;
	ps->recs = recs;
	if ((ranks = realloc(ps->ranks, cap * sizeof(*ranks))) == NULL)
		return ENOMEM;
	ps->ranks = ranks;
	if ((map = calloc(2 * (size_t)cap, sizeof(*map))) == NULL)
		return ENOMEM;
	free(ps->map);
	ps->map = map;
	ps->mask = 2 * cap - 1;
	ps->cap = cap;
	for (uint32_t i = 0; i < ps->fresh; i++) {
		if (ps->recs[i].rank != MAC_PORT_NONE)
			mp_map_put(ps, i);
	}
	return 0;
}

int
mac_ports_init(struct mac_ports *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->free = MAC_PORT_NONE;
	if (mp_resize(ps, MAC_PORTS_MIN) != 0) {
		mac_ports_fini(ps);
		return ENOMEM;
	}
	return 0;
}

void
mac_ports_fini(struct mac_ports *ps)
{
	free(ps->recs);
	free(ps->ranks);
	free(ps->map);
	memset(ps, 0, sizeof(*ps));
}

size_t
mac_ports_bytes(const struct mac_ports *ps)
{
	return ps->cap * (sizeof(*ps->recs) + sizeof(*ps->ranks)) +
	    ((size_t)ps->mask + 1) * sizeof(*ps->map);
}

uint32_t
mac_ports_find(const struct mac_ports *ps, void *port)
{
	uint32_t	i = mp_home(ps, port);

	for (; ps->map[i] != 0; i = (i + 1) & ps->mask) {
		if (ps->recs[ps->map[i] - 1].port == port)
			return ps->map[i] - 1;
	}
	return MAC_PORT_NONE;
}

uint32_t
mac_ports_get(struct mac_ports *ps, void *port)
{
	struct mac_port	*r;
	uint32_t	 rec;

	if ((rec = mac_ports_find(ps, port)) != MAC_PORT_NONE)
		return rec;
	if (ps->free != MAC_PORT_NONE) {
		rec = ps->free;
		ps->free = ps->recs[rec].head;
	} else {
		if (ps->fresh == ps->cap &&
		    (ps->cap > UINT32_MAX / 4 || mp_resize(ps, 2 * ps->cap)))
			return MAC_PORT_NONE;
		rec = ps->fresh++;
	}
	r = &ps->recs[rec];
	r->port = port;
	r->head = r->tail = MAC_PORT_NONE;
	r->count = 0;
	r->rank = ps->n;
	ps->ranks[ps->n++] = rec;	/* count 0: the lowest rank */
	mp_map_put(ps, rec);
	return rec;
}

static void
mp_swap(struct mac_ports *ps, uint32_t a, uint32_t b)
{
	uint32_t	ra = ps->ranks[a], rb = ps->ranks[b];

	ps->ranks[a] = rb;
	ps->ranks[b] = ra;
	ps->recs[rb].rank = a;
	ps->recs[ra].rank = b;
}

static inline uint32_t
mp_count_at(const struct mac_ports *ps, uint32_t pos)
{
	return ps->recs[ps->ranks[pos]].count;
}

void
mac_ports_inc(struct mac_ports *ps, uint32_t rec)
{
	uint32_t	c = ps->recs[rec].count, lo = 0, hi = ps->recs[rec].rank;

	/* The first position holding count c; everything before is more. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (mp_count_at(ps, mid) > c)
			lo = mid + 1;
		else
			hi = mid;
	}
	mp_swap(ps, lo, ps->recs[rec].rank);
	ps->recs[rec].count++;
}

void
mac_ports_dec(struct mac_ports *ps, uint32_t rec)
{
	struct mac_port	*r = &ps->recs[rec];
	uint32_t	 c = r->count, lo = r->rank, hi = ps->n - 1;

	/* The last position holding count c; everything after is less. */
	while (lo < hi) {
		uint32_t mid = hi - (hi - lo) / 2;
		if (mp_count_at(ps, mid) < c)
			hi = mid - 1;
		else
			lo = mid;
	}
	mp_swap(ps, lo, r->rank);
	if (--r->count > 0)
		return;
	/* Zero is the lowest count: moving to the end keeps the order. */
	mp_swap(ps, r->rank, ps->n - 1);
	ps->n--;
	mp_map_del(ps, rec);
	r->rank = MAC_PORT_NONE;
	r->head = ps->free;
	ps->free = rec;
}
