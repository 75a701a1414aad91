/*
 * mac-table.c - the learning table.
 *
 * Entries live in one array of max slots of 48 bytes.  Buckets hold the
 * index of the first slot of a chain linked through the slots themselves,
 * so deleting is an unlink and lookups never meet tombstones.  There are at
 * least twice as many buckets as slots, which keeps chains to one or two
 * slots: a lookup reads one bucket and, nearly always, one slot, whatever
 * the size.  The key is the first eight bytes of the entry (MAC, then VLAN),
 * compared as one word.
 *
 * Learned entries are also on their port's LRU list (index-linked, oldest
 * at the head), and each such port has a record in mac-ports.c counting
 * them.  An entry moves to its list's tail when its seen time changes or
 * it moves to another port, so a busy MAC costs one list update per second,
 * not one per frame.  That keeps each list sorted by seen as long as the
 * caller's clock never runs backwards, which is what lets ageing stop at
 * the first live entry of each port.
 *
 * Slots never used yet are taken from a high-water mark and freed slots go
 * on a free list: creating a table for a large max touches no memory until
 * entries are learned.
 *
 * Choices the header leaves open:
 *   - ageing 0 means entries never age;
 *   - an entry past its age but not yet expired counts as absent: learning
 *     it again is MAC_LEARN_NEW (and counts it as expired), wherever it was;
 *   - when full, the victim is the oldest learned entry of the port holding
 *     the most learned entries (ties: any of them), counted as expired if
 *     it was already past its age, else as an eviction;
 *   - mac_table_set_max refuses (EBUSY) a max below the number of static
 *     entries, leaving the table unchanged; otherwise it evicts by the same
 *     rule to fit and reallocates, which invalidates cursors;
 *   - a port at its limit is refused a newcomer and a MAC that would move
 *     to it (the entry stays where it is); a stale entry of its own is
 *     renewed, being counted already;
 *   - a refused move leaves the entry untouched (its seen too), so forged
 *     frames cannot keep a MAC held; held are only entries learned on a
 *     local port: a remote port's entry moves to anyone, and a local port
 *     takes any entry.
 */
#include <sys/random.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mac-ports.h"
#include "mac-table.h"

#define MAC_NIL		UINT32_MAX
#define MAC_STATIC	(UINT32_MAX - 1)	/* owner of a static entry */
#define MAC_VLAN_MAX	4095

struct mac_slot {
	struct mac_entry	 e;
	uint32_t		 hnext;		/* bucket chain, or free list */
	uint32_t		 prev;		/* port's LRU, learned only */
	uint32_t		 next;
	uint32_t		 owner;		/* port record, MAC_STATIC, or
						   MAC_NIL when free */
};

_Static_assert(offsetof(struct mac_entry, vlan) == 6,
    "MAC and VLAN make the first eight bytes of an entry");
_Static_assert(MAC_NIL == MAC_PORT_NONE, "one end-of-list value");
_Static_assert(sizeof(struct mac_slot) == 48, "slots stay at 48 bytes");

struct mac_table {
	struct mac_slot		*slots;
	uint32_t		*buckets;
	uint32_t		 mask;		/* buckets - 1 */
	unsigned		 max;		/* slots */
	unsigned		 hw;		/* slots [hw, max) never used */
	uint32_t		 free;
	unsigned		 ageing;
	uint64_t		 seed;
	struct mac_ports	 ports;
	struct mac_table_stats	 stats;
};

static inline uint64_t
mac_key(const uint8_t mac[6], uint16_t vlan)
{
	uint8_t		k[8];
	uint64_t	key;

	memcpy(k, mac, 6);
	memcpy(k + 6, &vlan, 2);
	memcpy(&key, k, 8);
	return key;
}

static inline uint64_t
mac_slot_key(const struct mac_slot *s)
{
	uint64_t	key;

	memcpy(&key, &s->e, 8);
	return key;
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

	while (i != MAC_NIL && mac_slot_key(&t->slots[i]) != key)
		i = t->slots[i].hnext;
	return i;
}

/* Puts learned slot i at the newest end of port record rec's list. */
static void
mac_lru_append(struct mac_table *t, uint32_t i, uint32_t rec)
{
	struct mac_port	*r = &t->ports.recs[rec];
	struct mac_slot	*s = &t->slots[i];

	s->owner = rec;
	s->prev = r->tail;
	s->next = MAC_NIL;
	if (r->tail != MAC_NIL)
		t->slots[r->tail].next = i;
	else
		r->head = i;
	r->tail = i;
}

static void
mac_lru_remove(struct mac_table *t, uint32_t i)
{
	struct mac_slot	*s = &t->slots[i];
	struct mac_port	*r = &t->ports.recs[s->owner];

	if (s->prev != MAC_NIL)
		t->slots[s->prev].next = s->next;
	else
		r->head = s->next;
	if (s->next != MAC_NIL)
		t->slots[s->next].prev = s->prev;
	else
		r->tail = s->prev;
}

/* Learned slot i joins port record rec: its list and its count. */
static void
mac_own(struct mac_table *t, uint32_t i, uint32_t rec)
{
	mac_lru_append(t, i, rec);
	mac_ports_inc(&t->ports, rec);
}

/* Learned slot i leaves its port; the record goes with its last entry. */
static void
mac_disown(struct mac_table *t, uint32_t i)
{
	uint32_t	rec = t->slots[i].owner;

	mac_lru_remove(t, i);
	mac_ports_dec(&t->ports, rec);
}

static void
mac_hash_insert(struct mac_table *t, uint32_t i)
{
	uint32_t	b = mac_bucket(t, mac_slot_key(&t->slots[i]));

	t->slots[i].hnext = t->buckets[b];
	t->buckets[b] = i;
}

/* A new entry; rec is its port's record, or MAC_STATIC.  Returns its slot. */
static uint32_t
mac_insert(struct mac_table *t, const uint8_t mac[6], uint16_t vlan,
    void *port, time_t seen, uint32_t rec)
{
	struct mac_slot	*s;
	uint32_t	 i;

	if ((i = t->free) != MAC_NIL)
		t->free = t->slots[i].hnext;
	else
		i = t->hw++;
	s = &t->slots[i];
	memset(&s->e, 0, sizeof(s->e));
	memcpy(s->e.mac, mac, sizeof(s->e.mac));
	s->e.vlan = vlan;
	s->e.port = port;
	s->e.seen = seen;
	s->e.is_static = rec == MAC_STATIC;
	mac_hash_insert(t, i);
	if (rec == MAC_STATIC) {
		s->owner = MAC_STATIC;
		t->stats.static_count++;
	} else
		mac_own(t, i, rec);
	t->stats.count++;
	return i;
}

static void
mac_remove(struct mac_table *t, uint32_t i)
{
	struct mac_slot	*s = &t->slots[i];
	uint32_t	*link = &t->buckets[mac_bucket(t, mac_slot_key(s))];

	while (*link != i)
		link = &t->slots[*link].hnext;
	*link = s->hnext;
	if (s->owner == MAC_STATIC)
		t->stats.static_count--;
	else
		mac_disown(t, i);
	t->stats.count--;
	s->owner = MAC_NIL;
	s->hnext = t->free;
	t->free = i;
}

/*
 * Frees a slot for a newcomer: the oldest learned entry of the port that
 * holds the most.  False if every entry is static.
 */
static bool
mac_make_room(struct mac_table *t, time_t now, bool know_now)
{
	uint32_t	rec = mac_ports_top(&t->ports), victim;

	if (rec == MAC_PORT_NONE)
		return false;
	victim = t->ports.recs[rec].head;
	if (know_now && mac_stale(t, &t->slots[victim], now))
		t->stats.expired++;
	else
		t->stats.evictions++;
	mac_remove(t, victim);
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
	if ((error = mac_ports_init(&t->ports)) != 0)
		goto free_table;
	if ((error = mac_alloc(max, &t->slots, &t->buckets, &t->mask)) != 0)
		goto free_ports;
	t->max = max;
	t->free = MAC_NIL;
	t->ageing = ageing;
	t->seed = mac_seed();
	return t;

free_ports:
	mac_ports_fini(&t->ports);
free_table:
	free(t);
	errno = error;
	return NULL;
}

void
mac_table_destroy(struct mac_table *t)
{
	if (t == NULL)
		return;
	mac_ports_fini(&t->ports);
	free(t->slots);
	free(t->buckets);
	free(t);
}

/* Returns 0, EINVAL (out of range), EBUSY (statics exceed it) or ENOMEM. */
int
mac_table_set_max(struct mac_table *t, unsigned max)
{
	struct mac_slot	*old, *slots;
	uint32_t	*buckets, mask, old_hw, j;
	int		 error;

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

	old = t->slots;
	old_hw = t->hw;
	free(t->buckets);
	t->slots = slots;
	t->buckets = buckets;
	t->mask = mask;
	t->max = max;
	t->hw = 0;
	t->free = MAC_NIL;
	/* Each port's list is rebuilt in its order; counts do not change. */
	for (uint32_t rec = 0; rec < t->ports.fresh; rec++) {
		struct mac_port	*r = &t->ports.recs[rec];
		uint32_t	 i = r->head;

		if (r->rank == MAC_PORT_NONE)
			continue;
		r->head = r->tail = MAC_NIL;
		for (; i != MAC_NIL; i = old[i].next) {
			j = t->hw++;
			t->slots[j].e = old[i].e;
			mac_hash_insert(t, j);
			mac_lru_append(t, j, rec);
		}
	}
	for (uint32_t i = 0; i < old_hw; i++) {
		if (old[i].owner == MAC_STATIC) {
			j = t->hw++;
			t->slots[j].e = old[i].e;
			t->slots[j].owner = MAC_STATIC;
			mac_hash_insert(t, j);
		}
	}
	free(old);
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

size_t
mac_table_bytes(const struct mac_table *t)
{
	return sizeof(*t) + (size_t)t->max * sizeof(*t->slots) +
	    ((size_t)t->mask + 1) * sizeof(*t->buckets) +
	    mac_ports_bytes(&t->ports);
}

/* Learned slot i now belongs to port; false if no record can be made. */
static bool
mac_move(struct mac_table *t, uint32_t i, void *port)
{
	uint32_t	rec;

	if ((rec = mac_ports_get(&t->ports, port)) == MAC_PORT_NONE)
		return false;
	mac_disown(t, i);
	mac_own(t, i, rec);
	t->slots[i].e.port = port;
	return true;
}

/* Learned slot i was seen now: it goes to the newest end of its list. */
static void
mac_touch(struct mac_table *t, uint32_t i, time_t now)
{
	struct mac_slot	*s = &t->slots[i];

	s->e.seen = now;
	if (t->ports.recs[s->owner].tail != i) {
		mac_lru_remove(t, i);
		mac_lru_append(t, i, s->owner);
	}
}

/* Whether port holds its limit of learned entries (a hash probe). */
static bool
mac_at_limit(const struct mac_table *t, void *port, unsigned limit)
{
	uint32_t	rec;

	if (limit == 0 || (rec = mac_ports_find(&t->ports, port)) ==
	    MAC_PORT_NONE)
		return false;
	return t->ports.recs[rec].count >= limit;
}

unsigned
mac_table_port_count(const struct mac_table *t, void *port)
{
	uint32_t	rec = mac_ports_find(&t->ports, port);

	return rec == MAC_PORT_NONE ? 0 : t->ports.recs[rec].count;
}

enum mac_learn_result
mac_table_learn(struct mac_table *t, const uint8_t mac[6], uint16_t vlan,
    void *port, time_t now)
{
	static const struct mac_learner	anyone;

	return mac_table_learn_as(t, mac, vlan, port, &anyone, now);
}

/*
 * The per-frame path: one hash probe, and no writes at all for a MAC that
 * was already seen on this port this second.  A limit costs one more probe
 * (of the port records) for a MAC new to the port only.
 */
enum mac_learn_result
mac_table_learn_as(struct mac_table *t, const uint8_t mac[6], uint16_t vlan,
    void *port, const struct mac_learner *who, time_t now)
{
	struct mac_slot	*s;
	uint64_t	 key;
	uint32_t	 i, rec;
	bool		 stale, moved;

	if (mac_is_multicast(mac) || mac_is_zero(mac))
		return MAC_LEARN_IGNORED;
	key = mac_key(mac, vlan);
	if ((i = mac_find(t, key)) != MAC_NIL) {
		s = &t->slots[i];
		if (s->e.is_static)
			return MAC_LEARN_STATIC;
		stale = mac_stale(t, s, now);
		moved = s->e.port != port;
		if (moved && !stale && who->remote && !s->e.remote &&
		    now - s->e.seen < MAC_MOVE_HOLD) {
			t->stats.move_refused++;
			return MAC_LEARN_REFUSED;
		}
		if (moved && mac_at_limit(t, port, who->limit))
			return MAC_LEARN_LIMIT;
		/* A move that fails refreshes nothing on the mover's behalf. */
		if (moved && !mac_move(t, i, port)) {
			t->stats.learn_failed++;
			return MAC_LEARN_FULL;
		}
		if (now > s->e.seen)
			mac_touch(t, i, now);
		s->e.remote = who->remote;
		if (stale) {
			t->stats.expired++;
			t->stats.learned++;
			return MAC_LEARN_NEW;
		}
		if (moved) {
			t->stats.moves++;
			return MAC_LEARN_MOVED;
		}
		return MAC_LEARN_REFRESHED;
	}

	if (mac_at_limit(t, port, who->limit))
		return MAC_LEARN_LIMIT;
	if ((t->stats.count >= t->max && !mac_make_room(t, now, true)) ||
	    (rec = mac_ports_get(&t->ports, port)) == MAC_PORT_NONE) {
		t->stats.learn_failed++;
		return MAC_LEARN_FULL;
	}
	i = mac_insert(t, mac, vlan, port, now, rec);
	t->slots[i].e.remote = who->remote;
	t->stats.learned++;
	return MAC_LEARN_NEW;
}

int
mac_table_add_static(struct mac_table *t, const uint8_t mac[6],
    uint16_t vlan, void *port)
{
	struct mac_slot	*s;
	uint32_t	 i;

	if (port == NULL || vlan > MAC_VLAN_MAX || mac_is_multicast(mac) ||
	    mac_is_zero(mac))
		return EINVAL;
	if ((i = mac_find(t, mac_key(mac, vlan))) != MAC_NIL) {
		s = &t->slots[i];
		if (!s->e.is_static) {
			mac_disown(t, i);
			s->owner = MAC_STATIC;
			s->e.is_static = true;
			t->stats.static_count++;
		}
		s->e.port = port;
		return 0;
	}
	if (t->stats.count >= t->max && !mac_make_room(t, 0, false))
		return ENOSPC;
	mac_insert(t, mac, vlan, port, 0, MAC_STATIC);
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
		if (s->owner != MAC_NIL && (port == NULL || s->e.port == port)) {
			mac_remove(t, i);
			n++;
		}
	}
	return n;
}

/* Each port's list is sorted by seen: its stale entries are at its head. */
unsigned
mac_table_expire(struct mac_table *t, time_t now)
{
	unsigned	n = 0;
	uint32_t	i;

	if (t->ageing == 0)
		return 0;
	for (uint32_t rec = 0; rec < t->ports.fresh; rec++) {
		while (t->ports.recs[rec].rank != MAC_PORT_NONE &&
		    mac_stale(t, &t->slots[i = t->ports.recs[rec].head], now)) {
			mac_remove(t, i);
			t->stats.expired++;
			n++;
		}
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

const struct mac_entry *
mac_table_get(const struct mac_table *t, const uint8_t mac[6], uint16_t vlan)
{
	uint32_t	i = mac_find(t, mac_key(mac, vlan));

	return i == MAC_NIL ? NULL : &t->slots[i].e;
}

/* Entries past their age but not yet expired are included. */
const struct mac_entry *
mac_table_next(const struct mac_table *t, unsigned *cursor)
{
	for (unsigned i = *cursor; i < t->hw; i++) {
		if (t->slots[i].owner != MAC_NIL) {
			*cursor = i + 1;
			return &t->slots[i].e;
		}
	}
	*cursor = t->hw;
	return NULL;
}
