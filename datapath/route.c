/*
 * route.c - the routing table's trie.
 *
 * Bits are numbered from the most significant bit of the first address
 * byte.  A node's key has every bit after its prefix length clear.  Below a
 * node of length L, child[b] holds the prefixes whose bit L is b.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

struct rt_node {
	struct rt_node	*child[2];
	struct rt_route	*routes;	/* by metric; NULL in a glue node */
	uint8_t		 plen;
	uint8_t		 key[16];
};

struct rt_table {
	struct rt_node	*root;
	int		 family;
	unsigned	 addrlen;
	unsigned	 maxbits;
	unsigned	 count;
	unsigned	 max;
	uint64_t	 gen;		/* bumped by every change */
};

static inline unsigned
bit_at(const uint8_t *key, unsigned i)
{
	return (key[i / 8] >> (7 - i % 8)) & 1;
}

/* Leading bits a and b share, at most max. */
static unsigned
common_bits(const uint8_t *a, const uint8_t *b, unsigned max)
{
	unsigned	i = 0;

	while (i + 8 <= max && a[i / 8] == b[i / 8])
		i += 8;
	while (i < max && bit_at(a, i) == bit_at(b, i))
		i++;
	return i;
}

struct rt_table *
rt_table_create(int family, unsigned max)
{
	struct rt_table	*t;

	if (family != AF_INET && family != AF_INET6) {
		errno = EINVAL;
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->family = family;
	t->addrlen = ip_addr_len(family);
	t->maxbits = ip_max_plen(family);
	t->max = max != 0 ? max : RT_MAX_DEFAULT;
	t->gen = 1;
	return t;
}

static void
node_free_all(struct rt_node *n)
{
	struct rt_route	*r;

	if (n == NULL)
		return;
	node_free_all(n->child[0]);
	node_free_all(n->child[1]);
	while ((r = n->routes) != NULL) {
		n->routes = r->next;
		free(r);
	}
	free(n);
}

void
rt_table_destroy(struct rt_table *t)
{
	if (t == NULL)
		return;
	node_free_all(t->root);
	free(t);
}

unsigned
rt_table_count(const struct rt_table *t)
{
	return t->count;
}

struct rt_route *
rt_lookup(const struct rt_table *t, const uint8_t *addr)
{
	const struct rt_node	*n = t->root;
	struct rt_route		*best = NULL;

	while (n != NULL && ip_prefix_match(n->key, addr, n->plen)) {
		if (n->routes != NULL)
			best = n->routes;
		if (n->plen == t->maxbits)
			break;
		n = n->child[bit_at(addr, n->plen)];
	}
	return best;
}

static void *
rt_resolve(const struct rt_table *t, const uint8_t *gw)
{
	const struct rt_route	*r;

	for (int depth = 0; depth < RT_MAX_DEPTH; depth++) {
		if ((r = rt_lookup(t, gw)) == NULL || r->type == RT_REJECT)
			return NULL;
		if (r->port != NULL)
			return r->port;
		gw = r->gw;
	}
	return NULL;
}

void *
rt_nexthop(struct rt_table *t, struct rt_route *r)
{
	if (r->type == RT_REJECT)
		return NULL;
	if (r->port != NULL)
		return r->port;
	if (r->via_gen != t->gen) {
		r->via_port = rt_resolve(t, r->gw);
		r->via_gen = t->gen;
	}
	return r->via_port;
}

static struct rt_node *
node_new(const uint8_t *key, unsigned plen, unsigned addrlen)
{
	struct rt_node	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	memcpy(n->key, key, addrlen);
	ip_prefix_mask(n->key, addrlen, plen);
	n->plen = (uint8_t)plen;
	return n;
}

/* Puts r into n's list by metric; EEXIST if the metric is taken. */
static int
node_add_route(struct rt_node *n, struct rt_route *r)
{
	struct rt_route	**link = &n->routes;

	while (*link != NULL && (*link)->metric < r->metric)
		link = &(*link)->next;
	if (*link != NULL && (*link)->metric == r->metric)
		return EEXIST;
	r->next = *link;
	*link = r;
	return 0;
}

static int
rt_valid(const struct rt_table *t, const struct rt_route *r)
{
	uint8_t	masked[16];

	if (r->dst.family != t->family || r->dst.len > t->maxbits)
		return EINVAL;
	memcpy(masked, r->dst.addr, t->addrlen);
	ip_prefix_mask(masked, t->addrlen, r->dst.len);
	if (memcmp(masked, r->dst.addr, t->addrlen) != 0)
		return EINVAL;
	if (r->type == RT_UNICAST && r->port == NULL && !r->has_gw)
		return EINVAL;
	if (r->type == RT_REJECT && (r->port != NULL || r->has_gw))
		return EINVAL;
	return 0;
}

/* Inserts r at its prefix, making the node (and a glue node) if needed. */
static int
rt_insert(struct rt_table *t, struct rt_route *r)
{
	const uint8_t	 *key = r->dst.addr;
	unsigned	  plen = r->dst.len, c = 0;
	struct rt_node	**link = &t->root, *n, *nn, *glue;

	while ((n = *link) != NULL) {
		c = common_bits(n->key, key, n->plen < plen ? n->plen : plen);
		if (c < n->plen)
			break;
		if (n->plen == plen)
			return node_add_route(n, r);
		link = &n->child[bit_at(key, n->plen)];
	}
	if ((nn = node_new(key, plen, t->addrlen)) == NULL)
		return ENOMEM;
	nn->routes = r;
	r->next = NULL;
	if (n == NULL) {
		*link = nn;
		return 0;
	}
	if (c == plen) {
		/* The new prefix contains n's. */
		nn->child[bit_at(n->key, plen)] = n;
		*link = nn;
		return 0;
	}
	if ((glue = node_new(key, c, t->addrlen)) == NULL) {
		free(nn);
		return ENOMEM;
	}
	glue->child[bit_at(key, c)] = nn;
	glue->child[bit_at(n->key, c)] = n;
	*link = glue;
	return 0;
}

static int
rt_add_route(struct rt_table *t, const struct rt_route *tmpl, bool check_gw)
{
	struct rt_route	*r;
	int		 error;

	if ((error = rt_valid(t, tmpl)) != 0)
		return error;
	if (t->count >= t->max)
		return ENOSPC;
	if (check_gw && tmpl->type == RT_UNICAST && tmpl->port == NULL &&
	    rt_resolve(t, tmpl->gw) == NULL)
		return ENETUNREACH;
	if ((r = malloc(sizeof(*r))) == NULL)
		return ENOMEM;
	*r = *tmpl;
	r->next = NULL;
	r->use = 0;
	r->via_port = NULL;
	r->via_gen = 0;
	if ((error = rt_insert(t, r)) != 0) {
		free(r);
		return error;
	}
	t->count++;
	t->gen++;
	return 0;
}

int
rt_add(struct rt_table *t, const struct rt_route *tmpl)
{
	return rt_add_route(t, tmpl, true);
}

int
rt_add_unresolved(struct rt_table *t, const struct rt_route *tmpl)
{
	return rt_add_route(t, tmpl, false);
}

/*
 * n at *link lost its last route.  A glue node with two children stays;
 * otherwise n goes, its one child (if any) taking its place, and a glue
 * parent left with one child goes too.
 */
static void
node_prune(struct rt_node **link, struct rt_node **parent_link)
{
	struct rt_node	*n = *link, *p;

	if (n->child[0] != NULL && n->child[1] != NULL)
		return;
	*link = n->child[0] != NULL ? n->child[0] : n->child[1];
	free(n);
	if (*link != NULL || parent_link == NULL)
		return;
	p = *parent_link;
	if (p->routes != NULL)
		return;
	*parent_link = p->child[0] != NULL ? p->child[0] : p->child[1];
	free(p);
}

int
rt_del(struct rt_table *t, const uint8_t *addr, unsigned plen,
    int64_t metric)
{
	struct rt_node	**link = &t->root, **parent_link = NULL, *n;
	struct rt_route	**rl, *r;

	if (plen > t->maxbits)
		return ENOENT;
	while ((n = *link) != NULL && n->plen < plen &&
	    ip_prefix_match(n->key, addr, n->plen)) {
		parent_link = link;
		link = &n->child[bit_at(addr, n->plen)];
	}
	if (n == NULL || n->plen != plen || !ip_prefix_match(n->key, addr,
	    plen))
		return ENOENT;
	for (rl = &n->routes; (r = *rl) != NULL; rl = &r->next)
		if (metric < 0 || r->metric == metric)
			break;
	if (r == NULL)
		return ENOENT;
	*rl = r->next;
	free(r);
	t->count--;
	t->gen++;
	if (n->routes == NULL)
		node_prune(link, parent_link);
	return 0;
}

struct rt_match {
	void			*port;
	unsigned		 n;
	struct rt_route		*routes[64];
};

static void
collect_port(struct rt_route *r, void *arg)
{
	struct rt_match	*m = arg;

	if (r->port == m->port && m->n < sizeof(m->routes) /
	    sizeof(m->routes[0]))
		m->routes[m->n++] = r;
}

unsigned
rt_flush(struct rt_table *t, void *port)
{
	struct rt_match	m = { .port = port };
	unsigned	count = t->count, done = 0;

	if (port == NULL) {
		node_free_all(t->root);
		t->root = NULL;
		t->count = 0;
		t->gen++;
		return count;
	}
	/* In rounds of a few: deleting reshapes the trie under a walk. */
	do {
		m.n = 0;
		rt_walk(t, collect_port, &m);
		for (unsigned i = 0; i < m.n; i++) {
			struct rt_route	*r = m.routes[i];

			rt_del(t, r->dst.addr, r->dst.len, r->metric);
		}
		done += m.n;
	} while (m.n == sizeof(m.routes) / sizeof(m.routes[0]));
	return done;
}

static void
node_walk(const struct rt_node *n,
    void (*cb)(struct rt_route *, void *), void *arg)
{
	for (; n != NULL; n = n->child[1]) {
		for (struct rt_route *r = n->routes; r != NULL; r = r->next)
			cb(r, arg);
		node_walk(n->child[0], cb, arg);
	}
}

void
rt_walk(const struct rt_table *t,
    void (*cb)(struct rt_route *, void *), void *arg)
{
	node_walk(t->root, cb, arg);
}

static void
clear_ref(struct rt_route *r, void *arg)
{
	(void)arg;
	r->ref = 0;
}

static void
add_ref(struct rt_route *r, void *arg)
{
	struct rt_route	*via;

	if (r->type == RT_UNICAST && r->port == NULL &&
	    (via = rt_lookup(arg, r->gw)) != NULL)
		via->ref++;
}

void
rt_count_refs(struct rt_table *t)
{
	rt_walk(t, clear_ref, NULL);
	rt_walk(t, add_ref, t);
}
