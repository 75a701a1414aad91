/*
 * mac-bench.c - MAC table micro-benchmark: lookups and learning per second
 * and bytes per entry at 1k, 64k and 1M entries, on one core.
 *
 *	mac-bench [--quick]
 *
 * For each size N the table is created with max N and filled with N random
 * unicast MACs over 16 VLANs from 16 ports.  Then, each over the same keys
 * in a shuffled order (so every probe lands somewhere unpredictable, as
 * with real traffic, while the key array itself is read in sequence):
 *   learn new     filling the empty table (up to four times);
 *   learn known   the per-frame path: a MAC already seen on its port;
 *   lookup hit    destination lookups of known MACs;
 *   lookup miss   lookups of MACs not in the table;
 *   evicting      learning new MACs from one port into the full table
 *                 (the fair-eviction path).
 * bytes/entry is what the table holds for its max (mac_table_bytes), over N.
 * --quick: 1k and 64k only and fewer rounds (a smoke test).  This is a
 * benchmark: it asserts nothing and the figures vary with the machine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datapath/mac-table.h"

#define NPORTS	16

struct key {
	uint8_t		mac[6];
	uint16_t	vlan;
};

static int		 ports[NPORTS];
static volatile uintptr_t sink;

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t	z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Key i: a locally administered unicast MAC whose low 40 bits are i times
 * an odd constant (so distinct for distinct i) plus a base; set is the
 * first MAC byte's spare bit, so the two sets never overlap.
 */
static void
make_key(struct key *k, uint64_t i, uint64_t base, unsigned set)
{
	uint64_t	x = (i * 0x9e3779b97fULL + base) & 0xffffffffffULL;

	k->mac[0] = (uint8_t)(0x02 | set << 2);
	for (int b = 1; b < 6; b++)
		k->mac[b] = (uint8_t)(x >> (8 * (5 - b)));
	k->vlan = (uint16_t)(i % 16);
}

static void
shuffle(struct key *k, size_t n, uint64_t *s)
{
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = splitmix(s) % (i + 1);
		struct key t = k[i];
		k[i] = k[j];
		k[j] = t;
	}
}

/* Operations per second over rounds passes through keys. */
#define RATE(expr, rounds, n) do {					\
	double t0_ = now_s();						\
	for (unsigned r_ = 0; r_ < (rounds); r_++)			\
		for (size_t i = 0; i < (n); i++)			\
			expr;						\
	rate = (double)(rounds) * (n) / (now_s() - t0_);		\
} while (0)

static int
bench(unsigned n, unsigned rounds, uint64_t *seed)
{
	struct mac_table	*t;
	struct key		*k, *miss;
	uint64_t		 base = splitmix(seed);
	double			 rate, learn, known, hit, misses, evict;
	time_t			 now = 1000;
	unsigned		 fills = rounds < 4 ? rounds : 4;

	if ((t = mac_table_create(n, 300)) == NULL ||
	    (k = calloc(n, sizeof(*k))) == NULL ||
	    (miss = calloc(n, sizeof(*miss))) == NULL) {
		perror("mac-bench");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		make_key(&k[i], i, base, 0);
		make_key(&miss[i], i, base, 1);
	}
	shuffle(k, n, seed);
	shuffle(miss, n, seed);

	/* Filling is timed a few times over, emptying the table in between. */
	learn = 0;
	for (unsigned r = 0; r < fills; r++) {
		mac_table_flush(t, NULL);
		RATE(mac_table_learn(t, k[i].mac, k[i].vlan,
		    &ports[i % NPORTS], now), 1, n);
		learn += rate / fills;
	}
	/*
	 * From here on the keys are read in a different order; one untimed
	 * pass moves each MAC to the port it is seen from in that order.
	 */
	shuffle(k, n, seed);
	for (size_t i = 0; i < n; i++)
		mac_table_learn(t, k[i].mac, k[i].vlan, &ports[i % NPORTS], now);
	RATE(sink += mac_table_learn(t, k[i].mac, k[i].vlan,
	    &ports[i % NPORTS], now), rounds, n);
	known = rate;
	RATE(sink += (uintptr_t)mac_table_lookup(t, k[i].mac, k[i].vlan, now),
	    rounds, n);
	hit = rate;
	RATE(sink += (uintptr_t)mac_table_lookup(t, miss[i].mac, miss[i].vlan,
	    now), rounds, n);
	misses = rate;
	/* Each pass replaces every entry: the two key sets take turns. */
	evict = 0;
	for (unsigned r = 0; r < fills; r++) {
		struct key *in = r % 2 ? k : miss;
		RATE(mac_table_learn(t, in[i].mac, in[i].vlan, &ports[0], now),
		    1, n);
		evict += rate / fills;
	}

	printf("%9u %12.1f %11.1f %12.1f %11.1f %12.1f %9.1f\n", n,
	    (double)mac_table_bytes(t) / n, learn / 1e6, known / 1e6,
	    hit / 1e6, misses / 1e6, evict / 1e6);
	free(miss);
	free(k);
	mac_table_destroy(t);
	return 0;
}

int
main(int argc, char **argv)
{
	static const unsigned	 full[] = { 1u << 10, 1u << 16, 1u << 20 };
	uint64_t		 seed = (uint64_t)time(NULL);
	int			 quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	unsigned		 sizes = quick ? 2 : 3;

	if (argc > 2 || (argc == 2 && !quick)) {
		fprintf(stderr, "usage: mac-bench [--quick]\n");
		return 2;
	}
	printf("MAC table, one core, keys in random order; rates in millions "
	    "per second\n");
	printf("%9s %12s %11s %12s %11s %12s %9s\n", "entries", "bytes/entry",
	    "learn new", "learn known", "lookup hit", "lookup miss",
	    "evicting");
	for (unsigned s = 0; s < sizes; s++) {
		unsigned n = full[s];
		/* About 20 million operations per figure (2 million quick). */
		unsigned rounds = (quick ? 2u : 20u) * (1u << 20) / n;

		if (rounds == 0)
			rounds = 1;
		if (bench(n, rounds, &seed) != 0)
			return 1;
	}
	return 0;
}
