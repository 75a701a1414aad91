/*
 * mac-table.h - the learning table: (VLAN, MAC) -> port.
 *
 * A hash table over a fixed array of entries, sized for the maximum, so
 * learning never allocates (only mac_table_set_max reallocates, and a port
 * beyond the first few that learns its first entry grows the per-port
 * records).  A lookup is O(1) at any size up to MAC_MAX_LIMIT: one bucket
 * and, nearly always, one 48-byte slot.  Ports are opaque pointers here.
 *
 * Learned entries sit on their port's LRU list, ordered by when they were
 * last seen: ageing walks each list from its old end and stops at the first
 * live entry.  A full table is fair between ports: a newcomer replaces the
 * oldest learned entry of the port holding the most learned entries
 * (counted in evictions).  So a port only ever loses an entry to another
 * port's newcomer while it holds at least as many as any port: a flood of
 * source MACs from one port recycles that port's own entries once it holds
 * the most, and every port keeps about max/ports entries or all it had.
 * Static entries are on no list and count for no port: they never age and
 * are never replaced.
 *
 * Time is passed in by the caller (seconds, monotonic), read once per batch,
 * so the table never calls time() per packet and tests can move the clock.
 *
 * Port security (mac_table_learn_as()): a port may be held to a number of
 * learned entries (a newcomer beyond it is refused, nothing is evicted for
 * it), and a remote port (a tunnel, whose frames anyone on the underlay
 * may forge) may not take a MAC that a local port sent from less than
 * MAC_MOVE_HOLD seconds ago: the entry stays, and the caller drops the
 * frame.  A real move (a VM migrated to another host) completes with the
 * first frame after the local port has been silent that long.
 *
 * The hash is seeded per table (getrandom) so a remote sender cannot aim
 * collisions.
 */
#ifndef MAC_TABLE_H
#define MAC_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MAC_AGEING_DEFAULT	300
#define MAC_MAX_DEFAULT		8192
#define MAC_MAX_LIMIT		(1u << 20)
/*
 * How long (seconds) a MAC a local port sent from stays its against frames
 * from remote ports.  A host that is there talks, or at least answers ARP,
 * within a few seconds, so a forged frame cannot black-hole it; a VM that
 * migrated away falls silent, and five seconds later its new host's frames
 * move it (a migration's gratuitous ARPs are repeated for about that long).
 * Seen times are whole seconds: the hold is 4 to 5 seconds.
 */
#define MAC_MOVE_HOLD		5

struct mac_table;

struct mac_entry {
	uint8_t		 mac[6];
	uint16_t	 vlan;
	void		*port;
	time_t		 seen;		/* last time a frame came from it */
	bool		 is_static;
	bool		 remote;	/* learned on a remote port (a tunnel) */
};

struct mac_table_stats {
	unsigned	count;		/* entries, static included */
	unsigned	static_count;
	uint64_t	learned;	/* new entries */
	uint64_t	moves;		/* MAC seen on another port */
	uint64_t	evictions;	/* replaced because full */
	uint64_t	expired;	/* aged out */
	uint64_t	learn_failed;	/* full of static entries */
	uint64_t	move_refused;	/* remote port claimed a live local MAC */
};

enum mac_learn_result {
	MAC_LEARN_IGNORED,	/* multicast, broadcast or zero source */
	MAC_LEARN_REFRESHED,
	MAC_LEARN_NEW,
	MAC_LEARN_MOVED,
	MAC_LEARN_STATIC,	/* a static entry exists; left alone */
	MAC_LEARN_FULL,		/* no room and nothing to replace */
	MAC_LEARN_LIMIT,	/* the port holds its limit: not learned */
	MAC_LEARN_REFUSED,	/* live on a local port: not moved */
};

/* How a port learns (mac_table_learn_as()). */
struct mac_learner {
	unsigned	limit;		/* learned entries it may hold; 0: any */
	bool		remote;		/* a tunnel's: moves are held back */
};

/* Basics.  NULL with errno EINVAL unless 1 <= max <= MAC_MAX_LIMIT. */
struct mac_table	*mac_table_create(unsigned max, unsigned ageing);
void			 mac_table_destroy(struct mac_table *);

/*
 * Configuration.  Lowering max evicts by the same fair rule; returns 0,
 * EINVAL (out of range), EBUSY (below the number of static entries: nothing
 * changes) or ENOMEM.  Ageing 0 means learned entries never age.
 */
int			 mac_table_set_max(struct mac_table *, unsigned max);
void			 mac_table_set_ageing(struct mac_table *, unsigned secs);
unsigned		 mac_table_max(const struct mac_table *);
unsigned		 mac_table_ageing(const struct mac_table *);
void			 mac_table_get_stats(const struct mac_table *,
			    struct mac_table_stats *);
/* Memory the table holds, for its max (most of it untouched until used). */
size_t			 mac_table_bytes(const struct mac_table *);

/* Learning, for a local port without a limit. */
enum mac_learn_result	 mac_table_learn(struct mac_table *,
			    const uint8_t mac[6], uint16_t vlan, void *port,
			    time_t now);
/* The same, with the port's limit and kind. */
enum mac_learn_result	 mac_table_learn_as(struct mac_table *,
			    const uint8_t mac[6], uint16_t vlan, void *port,
			    const struct mac_learner *, time_t now);
/* 0, EEXIST-free replace of any entry, ENOSPC when full of statics, EINVAL. */
int			 mac_table_add_static(struct mac_table *,
			    const uint8_t mac[6], uint16_t vlan, void *port);
/* 0 or ENOENT. */
int			 mac_table_del(struct mac_table *, const uint8_t mac[6],
			    uint16_t vlan);
/* Removes every entry of port (NULL: all), static ones included. */
unsigned		 mac_table_flush(struct mac_table *, void *port);
/* Removes learned entries not seen for the ageing time; returns how many. */
unsigned		 mac_table_expire(struct mac_table *, time_t now);

/* Lookup.  An entry past its age but not yet expired is not returned. */
void			*mac_table_lookup(const struct mac_table *,
			    const uint8_t mac[6], uint16_t vlan, time_t now);
/* The entry of (mac, vlan), stale or not, or NULL. */
const struct mac_entry	*mac_table_get(const struct mac_table *,
			    const uint8_t mac[6], uint16_t vlan);
/* How many learned entries port holds. */
unsigned		 mac_table_port_count(const struct mac_table *,
			    void *port);

/*
 * Iteration in no particular order: start with *cursor = 0; returns NULL
 * at the end.  The table must not change during a walk.  Entries past their
 * age but not yet expired are included (their seen tells).
 */
const struct mac_entry	*mac_table_next(const struct mac_table *,
			    unsigned *cursor);

static inline bool
mac_is_multicast(const uint8_t mac[6])
{
	return mac[0] & 1;
}

static inline bool
mac_is_zero(const uint8_t mac[6])
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

#endif
