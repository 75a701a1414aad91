/*
 * mac-table.c - the learning table.
 *
 * Entries live in one array of max slots.  Buckets hold the index of the
 * first slot of a chain linked through the slots themselves, so deleting is
 * an unlink and lookups never meet tombstones.  There are at least twice as
 * many buckets as slots, which keeps chains to one or two slots.
 *
 * Learned entries are also on an index-linked LRU list, oldest at the head.
 * An entry moves to the tail only when its seen time changes, so a busy MAC
 * costs one list update per second, not one per frame.  That keeps the list
 * sorted by seen as long as the caller's clock never runs backwards, which
 * is what lets ageing stop at the first live entry.
 *
 * Slots never used yet are taken from a high-water mark and freed slots go
 * on a free list: creating a table for a large max touches no memory until
 * entries are learned.
 *
 * Choices the header leaves open:
 *   - ageing 0 means entries never age;
 *   - an entry past its age but not yet expired counts as absent: learning
 *     it again is MAC_LEARN_NEW (and counts it as expired), wherever it was;
 *   - when full, learning replaces the oldest learned entry, counted as
 *     expired if it was already past its age, else as an eviction;
 *   - mac_table_set_max refuses (EBUSY) a max below the number of static
 *     entries, leaving the table unchanged; otherwise it evicts the oldest
 *     learned entries to fit and reallocates, which invalidates cursors.
 */
#include <sys/random.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mac-table.h"

#define MAC_NIL		UINT32_MAX
#define MAC_VLAN_MAX	4095

struct mac_slot {
	struct mac_entry	 e;
	uint64_t		 key;		/* vlan << 48 | mac */
	uint32_t		 hnext;		/* bucket chain, or free list */
	uint32_t		 prev;		/* LRU, learned entries only */
	uint32_t		 next;
	bool			 used;
};

struct mac_table {
	struct mac_slot		*slots;
	uint32_t		*buckets;
	uint32_t		 mask;		/* buckets - 1 */
	unsigned		 max;		/* slots */
	unsigned		 hw;		/* slots [hw, max) never used */
	uint32_t		 free;
	uint32_t		 head;		/* oldest learned */
	uint32_t		 tail;		/* newest learned */
	unsigned		 ageing;
	uint64_t		 seed;
	struct mac_table_stats	 stats;
};

static inline uint64_t
mac_key(const uint8_t mac[6], uint16_t vlan)
{
	return (uint64_t)vlan << 48 | (uint64_t)mac[0] << 40 |
	    (uint64_t)mac[1] << 32 | (uint64_t)mac[2] << 24 |
	    (uint64_t)mac[3] << 16 | (uint64_t)mac[4] << 8 | mac[5];
}

/*
 * The seed goes in before a full-avalanche mixer (Pelle Evensen's moremur),
 * so which keys share a bucket depends on a value a sender cannot see.
 */
static inline uint32_t
mac_bucket(const struct mac_table *t, uint64_t key)
{
	uint64_t	x = key ^ t->seed;

	x ^= x >> 27;
	x *= 0x3c79ac492ba7b653ULL;
	x ^= x >> 33;
	x *= 0x1c69b3f74ac4ae35ULL;
	x ^= x >> 27;
	return (uint32_t)x & t->mask;
}

static uint64_t
mac_seed(void)
{
	uint64_t	seed;
	struct timespec	ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	/* Entropy not ready yet (early boot): still vary per table and run. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
	    (uint64_t)(uintptr_t)&seed ^ (uint64_t)ts.tv_sec << 32;
}

static inline bool
mac_stale(const struct mac_table *t, const struct mac_slot *s, time_t now)
{
	return t->ageing != 0 && !s->e.is_static &&
	    now - s->e.seen >= (time_t)t->ageing;
}

static uint32_t
mac_find(const struct mac_table *t, uint64_t key)
{
	uint32_t	i = t->buckets[mac_bucket(t, key)];

	while (i != MAC_NIL && t->slots[i].key != key)
		i = t->slots[i].hnext;
	return i;
}

static void
mac_lru_append(struct mac_table *t, uint32_t i)
{
	struct mac_slot	*s = &t->slots[i];

	s->prev = t->tail;
	s->next = MAC_NIL;
	if (t->tail != MAC_NIL)
		t->slots[t->tail].next = i;
	else
		t->head = i;
	t->tail = i;
}

static void
mac_lru_remove(struct mac_table *t, uint32_t i)
{
	struct mac_slot	*s = &t->slots[i];

	if (s->prev != MAC_NIL)
		t->slots[s->prev].next = s->next;
	else
		t->head = s->next;
	if (s->next != MAC_NIL)
		t->slots[s->next].prev = s->prev;
	else
		t->tail = s->prev;
}

static void
mac_touch(struct mac_table *t, uint32_t i, time_t now)
{
	t->slots[i].e.seen = now;
	if (t->tail != i) {
		mac_lru_remove(t, i);
		mac_lru_append(t, i);
	}
}

static void
mac_hash_insert(struct mac_table *t, uint32_t i)
{
	uint32_t	b = mac_bucket(t, t->slots[i].key);

	t->slots[i].hnext = t->buckets[b];
	t->buckets[b] = i;
}

static uint32_t
mac_insert(struct mac_table *t, uint64_t key, const uint8_t mac[6],
    uint16_t vlan, void *port, time_t seen, bool is_static)
{
	struct mac_slot	*s;
	uint32_t	 i;

	if ((i = t->free) != MAC_NIL)
		t->free = t->slots[i].hnext;
	else
		i = t->hw++;
	s = &t->slots[i];
	memcpy(s->e.mac, mac, sizeof(s->e.mac));
	s->e.vlan = vlan;
	s->e.port = port;
	s->e.seen = seen;
	s->e.is_static = is_static;
	s->key = key;
	s->used = true;
	mac_hash_insert(t, i);
	if (is_static)
		t->stats.static_count++;
	else
		mac_lru_append(t, i);
	t->stats.count++;
	return i;
}

static void
mac_remove(struct mac_table *t, uint32_t i)
{
	struct mac_slot	*s = &t->slots[i];
	uint32_t	*link = &t->buckets[mac_bucket(t, s->key)];

	while (*link != i)
		link = &t->slots[*link].hnext;
	*link = s->hnext;
	if (s->e.is_static)
		t->stats.static_count--;
	else
		mac_lru_remove(t, i);
	t->stats.count--;
	s->used = false;
	s->hnext = t->free;
	t->free = i;
}

/* Frees the oldest learned entry for a newcomer; false if all are static. */
static bool
mac_make_room(struct mac_table *t, time_t now, bool know_now)
{
	if (t->head == MAC_NIL)
		return false;
	if (know_now && mac_stale(t, &t->slots[t->head], now))
		t->stats.expired++;
	else
		t->stats.evictions++;
	mac_remove(t, t->head);
	return true;
}

static int
mac_alloc(unsigned max, struct mac_slot **slots, uint32_t **buckets,
    uint32_t *mask)
{
	size_t	nb = 2;

	while (nb < 2 * (size_t)max)
		nb <<= 1;
	if ((*slots = calloc(max, sizeof(**slots))) == NULL)
		return ENOMEM;
	if ((*buckets = malloc(nb * sizeof(**buckets))) == NULL) {
		free(*slots);
		return ENOMEM;
	}
	memset(*buckets, 0xff, nb * sizeof(**buckets));	/* MAC_NIL */
	*mask = (uint32_t)(nb - 1);
	return 0;
}

/* NULL with errno EINVAL unless 1 <= max <= MAC_MAX_LIMIT. */
struct mac_table *
mac_table_create(unsigned max, unsigned ageing)
{
	struct mac_table	*t;
	int			 error;

	if (max == 0 || max > MAC_MAX_LIMIT) {
		errno = EINVAL;
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((error = mac_alloc(max, &t->slots, &t->buckets, &t->mask)) != 0) {
		free(t);
		errno = error;
		return NULL;
	}
	t->max = max;
	t->free = t->head = t->tail = MAC_NIL;
	t->ageing = ageing;
	t->seed = mac_seed();
	return t;
}

void
mac_table_destroy(struct mac_table *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t->buckets);
	free(t);
}

/* Returns 0, EINVAL (out of range), EBUSY (statics exceed it) or ENOMEM. */
int
mac_table_set_max(struct mac_table *t, unsigned max)
{
	struct mac_table	 n;
	struct mac_slot		*slots;
	uint32_t		*buckets, mask;
	int			 error;

	if (max == 0 || max > MAC_MAX_LIMIT)
		return EINVAL;
	if (max == t->max)
		return 0;
	if (t->stats.static_count > max)
		return EBUSY;

	if ((error = mac_alloc(max, &slots, &buckets, &mask)) != 0)
		return error;
	while (t->stats.count > max)
		mac_make_room(t, 0, false);

	/* Copy learned entries oldest first so the LRU order survives. */
	n = *t;
	n.slots = slots;
	n.buckets = buckets;
	n.mask = mask;
	n.max = max;
	n.hw = 0;
	n.free = n.head = n.tail = MAC_NIL;
	n.stats.count = n.stats.static_count = 0;
	for (uint32_t i = t->head; i != MAC_NIL; i = t->slots[i].next) {
		const struct mac_entry *e = &t->slots[i].e;
		mac_insert(&n, t->slots[i].key, e->mac, e->vlan, e->port,
		    e->seen, false);
	}
	for (uint32_t i = 0; i < t->hw; i++) {
		const struct mac_entry *e = &t->slots[i].e;
		if (t->slots[i].used && e->is_static)
			mac_insert(&n, t->slots[i].key, e->mac, e->vlan,
			    e->port, e->seen, true);
	}
	free(t->slots);
	free(t->buckets);
	*t = n;
	return 0;
}

void
mac_table_set_ageing(struct mac_table *t, unsigned secs)
{
	t->ageing = secs;
}

unsigned
mac_table_max(const struct mac_table *t)
{
	return t->max;
}

unsigned
mac_table_ageing(const struct mac_table *t)
{
	return t->ageing;
}

void
mac_table_get_stats(const struct mac_table *t, struct mac_table_stats *st)
{
	*st = t->stats;
}

/*
 * The per-frame path: one hash probe, and no writes at all for a MAC that
 * was already seen on this port this second.
 */
enum mac_learn_result
mac_table_learn(struct mac_table *t, const uint8_t mac[6], uint16_t vlan,
    void *port, time_t now)
{
	struct mac_slot	*s;
	uint64_t	 key;
	uint32_t	 i;

	if (mac_is_multicast(mac) || mac_is_zero(mac))
		return MAC_LEARN_IGNORED;
	key = mac_key(mac, vlan);
	if ((i = mac_find(t, key)) != MAC_NIL) {
		s = &t->slots[i];
		if (s->e.is_static)
			return MAC_LEARN_STATIC;
		if (mac_stale(t, s, now)) {
			t->stats.expired++;
			t->stats.learned++;
			s->e.port = port;
			mac_touch(t, i, now);
			return MAC_LEARN_NEW;
		}
		if (now > s->e.seen)
			mac_touch(t, i, now);
		if (s->e.port != port) {
			s->e.port = port;
			t->stats.moves++;
			return MAC_LEARN_MOVED;
		}
		return MAC_LEARN_REFRESHED;
	}

	if (t->stats.count >= t->max && !mac_make_room(t, now, true)) {
		t->stats.learn_failed++;
		return MAC_LEARN_FULL;
	}
	mac_insert(t, key, mac, vlan, port, now, false);
	t->stats.learned++;
	return MAC_LEARN_NEW;
}

int
mac_table_add_static(struct mac_table *t, const uint8_t mac[6],
    uint16_t vlan, void *port)
{
	struct mac_slot	*s;
	uint64_t	 key;
	uint32_t	 i;

	if (port == NULL || vlan > MAC_VLAN_MAX || mac_is_multicast(mac) ||
	    mac_is_zero(mac))
		return EINVAL;
	key = mac_key(mac, vlan);
	if ((i = mac_find(t, key)) != MAC_NIL) {
		s = &t->slots[i];
		if (!s->e.is_static) {
			mac_lru_remove(t, i);
			s->e.is_static = true;
			t->stats.static_count++;
		}
		s->e.port = port;
		return 0;
	}
	if (t->stats.count >= t->max && !mac_make_room(t, 0, false))
		return ENOSPC;
	mac_insert(t, key, mac, vlan, port, 0, true);
	return 0;
}

int
mac_table_del(struct mac_table *t, const uint8_t mac[6], uint16_t vlan)
{
	uint32_t	i;

	if ((i = mac_find(t, mac_key(mac, vlan))) == MAC_NIL)
		return ENOENT;
	mac_remove(t, i);
	return 0;
}

unsigned
mac_table_flush(struct mac_table *t, void *port)
{
	unsigned	n = 0;

	for (uint32_t i = 0; i < t->hw; i++) {
		const struct mac_slot *s = &t->slots[i];
		if (s->used && (port == NULL || s->e.port == port)) {
			mac_remove(t, i);
			n++;
		}
	}
	return n;
}

unsigned
mac_table_expire(struct mac_table *t, time_t now)
{
	unsigned	n = 0;

	while (t->head != MAC_NIL && mac_stale(t, &t->slots[t->head], now)) {
		mac_remove(t, t->head);
		t->stats.expired++;
		n++;
	}
	return n;
}

void *
mac_table_lookup(const struct mac_table *t, const uint8_t mac[6],
    uint16_t vlan, time_t now)
{
	uint32_t	i;

	if ((i = mac_find(t, mac_key(mac, vlan))) == MAC_NIL ||
	    mac_stale(t, &t->slots[i], now))
		return NULL;
	return t->slots[i].e.port;
}

/* Entries past their age but not yet expired are included. */
const struct mac_entry *
mac_table_next(const struct mac_table *t, unsigned *cursor)
{
	for (unsigned i = *cursor; i < t->hw; i++) {
		if (t->slots[i].used) {
			*cursor = i + 1;
			return &t->slots[i].e;
		}
	}
	*cursor = t->hw;
	return NULL;
}
