/*
 * fragtab.c - the fragment table: a first fragment's flow key, found again
 * by its later fragments.
 *
 * Threads: a table belongs to one capture worker (fragtab.h); nothing here
 * is shared. It is only reached on the fragment branch of the packet path,
 * so unfragmented packets never touch it.
 *
 * Layout: FRAGTAB_SLOTS / FRAGTAB_WAYS sets of FRAGTAB_WAYS entries. A
 * datagram's set comes from a seeded hash of its addresses and
 * identification (crafted fragments cannot aim at one set without the
 * seed). An entry keeps the first fragment's canonical flow key and
 * direction; the datagram's source and destination are the key's A and B
 * sides in that direction, so they are not stored twice.
 */
#include "fragtab.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define FRAGTAB_SETS (FRAGTAB_SLOTS / FRAGTAB_WAYS)
_Static_assert((FRAGTAB_SETS & (FRAGTAB_SETS - 1)) == 0, "sets: power of 2");

struct frag_ent {
	struct flow_key key; /* the first fragment's flow */
	uint64_t ts_ns;	     /* last fragment seen; 0: free */
	uint32_t id;
	uint8_t dir;
};

struct fragtab {
	uint64_t seed;
	uint64_t evicted;
	struct frag_ent e[FRAGTAB_SLOTS];
};

struct fragtab *fragtab_new(void)
{
	struct fragtab *t = calloc(1, sizeof(*t));
	struct timespec ts;

	if (!t)
		return NULL;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(t->seed)) {
		/* no entropy yet (early boot): a worse seed, still a seed */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t->seed = (uint64_t)ts.tv_sec * 1000000000ull +
			  ((uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)t);
	}
	return t;
}

void fragtab_free(struct fragtab *t)
{
	free(t);
}

uint64_t fragtab_evicted(const struct fragtab *t)
{
	return t ? t->evicted : 0;
}

static struct frag_ent *frag_set(const struct fragtab *t,
				 const struct dec_pkt *d)
{
	struct {
		uint8_t src[16], dst[16];
		uint32_t id;
	} h;
	uint64_t x;

	memcpy(h.src, d->src, 16);
	memcpy(h.dst, d->dst, 16);
	h.id = d->frag_id;
	x = XXH3_64bits_withSeed(&h, sizeof(h), t->seed);
	return (struct frag_ent *)&t
		->e[(x & (FRAGTAB_SETS - 1)) * FRAGTAB_WAYS];
}

/*
 * Whether @e is datagram @d's entry: same identification, family and
 * VLAN, the same source and destination (the key's sides in the entry's
 * direction), and for IPv4 the same protocol (IPv6 identifies a datagram
 * without it).
 */
static int frag_match(const struct frag_ent *e, const struct dec_pkt *d,
		      int fam)
{
	const uint8_t *src, *dst;

	if (!e->ts_ns || e->id != d->frag_id || e->key.vlan != d->vlan ||
	    flowkey_family(e->key.kind) != fam)
		return 0;
	if (fam == 4 && e->key.ipproto != d->ipproto)
		return 0;
	src = e->dir == FLOW_DIR_AB ? e->key.a : e->key.b;
	dst = e->dir == FLOW_DIR_AB ? e->key.b : e->key.a;
	return memcmp(src, d->src, 16) == 0 && memcmp(dst, d->dst, 16) == 0;
}

static int frag_fresh(const struct frag_ent *e, uint64_t ts_ns)
{
	return ts_ns <= e->ts_ns || ts_ns - e->ts_ns <= FRAGTAB_TIMEOUT_NS;
}

/* How willingly @e is given to a new datagram: 0 free, 1 timed out, 2 in
 * use. */
static int frag_rank(const struct frag_ent *e, uint64_t ts_ns)
{
	if (!e->ts_ns)
		return 0;
	return frag_fresh(e, ts_ns) ? 2 : 1;
}

int fragtab_track(struct fragtab *t, const struct dec_pkt *d, uint64_t ts_ns,
		  struct flow_key *key, int *dir)
{
	struct frag_ent *set = frag_set(t, d), *victim = NULL;
	int fam = flowkey_family(d->kind);
	int i;

	/* 0 marks a free entry: a capture at the epoch is 1 ns later */
	if (!ts_ns)
		ts_ns = 1;
	if (fam == 0)
		return 0;
	if (d->flags & DEC_F_FRAG_LATER) {
		for (i = 0; i < FRAGTAB_WAYS; i++) {
			struct frag_ent *e = &set[i];

			if (!frag_match(e, d, fam))
				continue;
			if (!frag_fresh(e, ts_ns)) {
				e->ts_ns = 0;
				return 0;
			}
			if (ts_ns > e->ts_ns)
				e->ts_ns = ts_ns;
			*key = e->key;
			*dir = e->dir;
			return 1;
		}
		return 0;
	}
	/* A first fragment: its datagram's entry (an identification used
	 * again), else a free one, else a timed-out one, else the least
	 * recently seen. */
	for (i = 0; i < FRAGTAB_WAYS; i++) {
		struct frag_ent *e = &set[i];

		if (frag_match(e, d, fam)) {
			victim = e;
			break;
		}
		if (!victim || frag_rank(e, ts_ns) < frag_rank(victim, ts_ns) ||
		    (frag_rank(e, ts_ns) == frag_rank(victim, ts_ns) &&
		     e->ts_ns < victim->ts_ns))
			victim = e;
	}
	if (i == FRAGTAB_WAYS && frag_rank(victim, ts_ns) == 2)
		t->evicted++;
	victim->key = *key;
	victim->dir = (uint8_t)*dir;
	victim->id = d->frag_id;
	victim->ts_ns = ts_ns;
	return 0;
}
