/*
 * flowtab.c - the flow table: a liburcu lock-free hash table (cds_lfht) of
 * flows, each with per-direction counters. The only user of cds_lfht.
 *
 * Threads (see flowtab.h): workers account concurrently inside their own
 * rcu_read_lock; collectors copy under a short read-side section; one thread
 * at a time expires. Every calling thread is registered with liburcu.
 *
 * Memory ordering: a flow's key, table pointer and first counts are written
 * with plain stores before publication, then its id is stored with release;
 * every reader load-acquires the id before touching the rest. (cds_lfht
 * publishes with a full barrier anyway; the pair states the edge in C11
 * terms, which ThreadSanitizer can check: liburcu 0.13's own barriers are
 * invisible to it.) Counters are only touched with relaxed atomics. The one
 * edge TSan cannot see is the grace period before a node is freed: that is
 * what tests/tsan.supp covers, by liburcu's frames only.
 *
 * Hint index: beside cds_lfht, a two-way set-associative array of flow
 * pointers indexed by the key's hash. A worker that finds its flow there
 * (checked: same key, live) skips the cds_lfht walk, and the batch
 * pipeline prefetches the set and then the flow a few packets ahead. An
 * entry is a cache only: a miss falls back to cds_lfht. Deletion marks
 * the flow dead and clears its entries before call_rcu; a worker that
 * stores an entry re-checks the mark after the store (both sides
 * sequentially consistent), so no entry keeps a flow past its grace
 * period. (Entries point into the arena, which lives as long as the
 * table, so even a stale one could only fail the key and state check.)
 *
 * Buckets: no CDS_LFHT_AUTO_RESIZE. liburcu 0.13's automatic resize runs
 * in a workqueue thread whose creation, work items and flush at
 * cds_lfht_destroy call urcu_die (abort) when an allocation fails; its
 * node accounting (CDS_LFHT_ACCOUNTING) serves only that resize, and
 * asserts on its own allocation. The table is grown here instead, with
 * the synchronous cds_lfht_resize, by a thread outside any read-side
 * section (flowtab_grow: the capture workers between two dispatches),
 * doubling while live flows exceed twice the buckets. It never shrinks.
 *
 * Reclaim: each deleted flow goes to call_rcu, and the table counts its
 * callbacks still to run (src/rcupend.h), which flowtab_barrier and
 * flowtab_free wait for: liburcu's rcu_barrier aborts when it cannot
 * allocate.
 *
 * Cap policy: between expiry passes, overflow: a packet of a new flow that
 * finds max_flows flows live (or whose node cannot be allocated) is added
 * to the overflow totals of its kind, exactly, and no flow is created;
 * live flows keep counting. At an expiry pass above FLOWTAB_HIGH_PCT of
 * the cap, the least recently seen flows are evicted (flowtab_expire)
 * into the expired totals. Per kind, at any quiescent point (workers
 * stopped, flowtab_barrier called):
 *   packets accounted = live flows + expired + overflow  (also for bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <urcu.h>
#include <urcu/rculfhash.h>

#include "flowtab.h"
#include "app.h"
#include "mem.h"
#include "rcupend.h"

#define RELAXED __ATOMIC_RELAXED

/* Initial and minimum number of hash buckets (powers of two). */
#define FLOWTAB_MIN_BUCKETS 1024UL
/* flowtab_grow doubles the buckets while live flows exceed this many a
 * bucket: chains of two flows at most on average. */
#define FLOWTAB_GROW_LOAD 2
/* Published flows looked at to find liburcu's bucket array (find_buckets) */
#define BUCKET_TRIES 64
/* The low bits of a cds_lfht_node's next pointer are liburcu's flags. */
#define LFHT_FLAGS ((uintptr_t)7)
/* Eviction under pressure: above HIGH percent of the cap at an expiry
 * pass, the least recently seen flows go until LOW percent remain. */
#define FLOWTAB_HIGH_PCT 95
#define FLOWTAB_LOW_PCT 85

/*
 * One live flow: 144 bytes in an arena slot; with the bucket array capped
 * near one 16-byte bucket per allowed flow, about 165 resident bytes a
 * flow at 1M flows (tested against a 256-byte budget). The app label is
 * one word of the row (r.app), its detail text out of line (struct
 * app_pool): 96 bytes more for a labelled flow only.
 */
struct flowtab_flow {
	struct cds_lfht_node node;
	/* key: immutable once published; id: release-stored last, before
	 * publication; pkts to last_ns and app: relaxed atomics. r.priv is
	 * the slot's state: FLOW_FREE, FLOW_LIVE, FLOW_DEAD (see below). A
	 * stopped table's report reads it in place (flowtab_row_next). */
	struct flowtab_row r;
	union {
		struct rcu_head rcu;		/* while dead */
		struct flowtab_flow *next_free; /* while free */
	};
	struct flowtab *ft; /* for the call_rcu callback */
};

/*
 * A slot's life: FLOW_FREE (in no table; being set up counts as free),
 * FLOW_LIVE (release-stored once cds_lfht_add_unique put it in the
 * table: the walks copy and expire it), FLOW_DEAD (seq_cst-stored once
 * deleted, before its hint slot is cleared and call_rcu; the callback
 * folds its counts and makes it FLOW_FREE again).
 */
enum { FLOW_FREE, FLOW_LIVE, FLOW_DEAD };

/* Flows per arena chunk: as many as fit in one 2 MiB huge page, fewer
 * for small caps. */
#define CHUNK_FLOWS_MAX (MEM_HUGE_SIZE / sizeof(struct flowtab_flow))

/*
 * Every live flow, in memory order (the arena chunks), not cds_lfht's
 * hash order: the hardware prefetcher follows this walk, where the hash
 * order costs a cache miss per flow. Caller
 * holds rcu_read_lock; @ci and @i are size_t scratch. A `break` leaves
 * only the inner loop: use goto.
 */
#define for_each_live(ft, f, ci, i)                                            \
	for ((ci) = 0;                                                         \
	     (ci) < __atomic_load_n(&(ft)->nchunks, __ATOMIC_ACQUIRE); (ci)++) \
		for ((i) = 0,                                                  \
		    (f) = __atomic_load_n(&(ft)->chunk[ci], __ATOMIC_ACQUIRE); \
		     (i) < (ft)->chunk_flows; (i)++, (f)++)                    \
			if (__atomic_load_n(&(f)->r.priv, __ATOMIC_ACQUIRE) != \
			    FLOW_LIVE) {                                       \
			} else

/*
 * Detail texts of app labels (app.h), out of line: one entry per labelled
 * flow, referenced from its app word, owned by the flow's id. An entry is
 * written under the pool's lock with a sequence count (odd while being
 * written) and read lock-free: a reader copies the words and accepts them
 * if the count did not move and the owner is the row's flow. Ids are
 * never reused, so a reader holding a copy of a dead flow's row gets
 * nothing rather than another flow's text. Entries are freed with their
 * flow (in the call_rcu callback) and reused from a free list.
 */
#define POOL_CHUNK 1024 /* entries per allocation */
#define POOL_WORDS (APP_DETAIL_MAX / 8)
struct app_entry {
	uint64_t seq;
	uint64_t owner; /* flow id; 0 while free */
	uint64_t w[POOL_WORDS];
};
struct app_pool {
	pthread_mutex_t lock;
	struct app_entry **chunk; /* max / POOL_CHUNK + 1 pointers */
	uint32_t nchunks;	  /* acquire-loaded by readers */
	uint32_t used;		  /* entries handed out of the chunks */
	uint32_t max;
	uint32_t free_head; /* ref of the first free entry, 0: none */
};

/* Written by workers: kept off the cache line the lookups read. */
struct flowtab_sums {
	struct flowtab_counts expired[KIND_COUNT];
	struct flowtab_counts overflow[KIND_COUNT];
	uint64_t expired_flows;
	uint64_t evicted_flows; /* of those, evicted under pressure */
	uint64_t pending;	/* call_rcu callbacks not yet run: rcupend.h */
};

struct flowtab {
	/* Read-mostly. */
	struct cds_lfht *ht;
	uint64_t seed;
	size_t max;
	int single;	/* one accounting thread: flowtab_set_writers */
	uint64_t *hint; /* hint index: hmask + 1 sets of two entries */
	unsigned long hmask;
	struct flowtab_flow **chunk; /* arena chunks, max_chunks pointers */
	size_t max_chunks, chunk_flows;
	unsigned long max_buckets; /* pow2_at_least(max) */
	/* Relaxed atomics, written when the table grows: the bucket count,
	 * and the flag that lets one thread at a time grow it. */
	unsigned long buckets;
	int growing;
	/* liburcu's bucket array, once find_buckets located it (relaxed;
	 * 0: not known), and how many more tries it gets */
	uintptr_t bucket_base;
	int bucket_tries;

	/* The arena allocator: under alloc_lock. nchunks is also read
	 * (acquire) by the walks: chunks are published, never freed. */
	pthread_mutex_t alloc_lock __attribute__((aligned(64)));
	size_t nchunks;
	size_t bump; /* slots handed out of the newest chunk */
	struct flowtab_flow *free_list;

	/* Written on flow creation and deletion. */
	uint64_t live __attribute__((aligned(64)));
	uint64_t next_id;
	uint64_t fail_allocs; /* flowtab_inject_alloc_failures */

	/* Written in call_rcu callbacks and at the cap. */
	struct flowtab_sums sums __attribute__((aligned(64)));

	/* flowtab_set_end_hook: set before the first packet, then read-only */
	flowtab_end_fn end_hook;
	void *end_arg;

	/* Detail texts of app labels. */
	struct app_pool pool __attribute__((aligned(64)));
};

/*
 * A slot's key is written when the slot is (re)used and read by lookups
 * and walks that RCU keeps away from reuse; word-sized relaxed atomics
 * make that visible to ThreadSanitizer, which cannot see grace periods.
 */
#define KEY_WORDS (sizeof(struct flow_key) / sizeof(uint64_t))
_Static_assert(sizeof(struct flow_key) % sizeof(uint64_t) == 0,
	       "flow_key is whole words");

static void key_store(struct flowtab_flow *f, const struct flow_key *key)
{
	uint64_t w[KEY_WORDS], *dst = (uint64_t *)(void *)&f->r.key;

	memcpy(w, key, sizeof(w));
	for (size_t i = 0; i < KEY_WORDS; i++)
		__atomic_store_n(&dst[i], w[i], RELAXED);
}

static void key_load(const struct flowtab_flow *f, struct flow_key *key)
{
	uint64_t w[KEY_WORDS];
	const uint64_t *src = (const uint64_t *)(const void *)&f->r.key;

	for (size_t i = 0; i < KEY_WORDS; i++)
		w[i] = __atomic_load_n(&src[i], RELAXED);
	memcpy(key, w, sizeof(w));
}

static int key_equal(const struct flowtab_flow *f, const struct flow_key *key)
{
	const uint64_t *src = (const uint64_t *)(const void *)&f->r.key;
	uint64_t w[KEY_WORDS], diff = 0;

	memcpy(w, key, sizeof(w));
#pragma GCC unroll 8
	for (size_t i = 0; i < KEY_WORDS; i++)
		diff |= __atomic_load_n(&src[i], RELAXED) ^ w[i];
	return diff == 0;
}

static struct flowtab_flow *node_flow(struct cds_lfht_node *node)
{
	return caa_container_of(node, struct flowtab_flow, node);
}

/* Pairs with the release store in flow_init: makes key/ft/first counts
 * visible. Returns the id. */
static uint64_t flow_acquire(const struct flowtab_flow *f)
{
	return __atomic_load_n(&f->r.id, __ATOMIC_ACQUIRE);
}

static int flow_match(struct cds_lfht_node *node, const void *key)
{
	struct flowtab_flow *f = node_flow(node);

	flow_acquire(f);
	return key_equal(f, key);
}

static unsigned int key_kind(const struct flow_key *key)
{
	return key->kind < KIND_COUNT ? key->kind : KIND_OTHER;
}

static void counts_add(struct flowtab_counts *c, uint64_t pkts, uint64_t bytes)
{
	__atomic_fetch_add(&c->pkts, pkts, RELAXED);
	__atomic_fetch_add(&c->bytes, bytes, RELAXED);
}

static void counts_load(const struct flowtab_counts *c,
			struct flowtab_counts *out)
{
	out->pkts = __atomic_load_n(&c->pkts, RELAXED);
	out->bytes = __atomic_load_n(&c->bytes, RELAXED);
}

/* Single-writer counter bump: relaxed load and store, no lock prefix. */
static inline void bump_own(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, __atomic_load_n(c, RELAXED) + v, RELAXED);
}

/*
 * Add one packet to a published flow. Any worker. With a single writer
 * (flowtab_set_writers) plain stores do: readers only load, and the
 * locked read-modify-writes were a third of the cost of a cached flow.
 */
static void flow_add(struct flowtab_flow *f, int single, int dir,
		     uint32_t wirelen, uint64_t ts_ns)
{
	uint64_t old;

	if (single) {
		bump_own(&f->r.pkts[dir], 1);
		bump_own(&f->r.bytes[dir], wirelen);
		if (ts_ns > __atomic_load_n(&f->r.last_ns, RELAXED))
			__atomic_store_n(&f->r.last_ns, ts_ns, RELAXED);
		if (ts_ns < __atomic_load_n(&f->r.first_ns, RELAXED))
			__atomic_store_n(&f->r.first_ns, ts_ns, RELAXED);
		return;
	}
	__atomic_fetch_add(&f->r.pkts[dir], 1, RELAXED);
	__atomic_fetch_add(&f->r.bytes[dir], wirelen, RELAXED);

	/* Workers race on a shared flow: last only moves forward, first
	 * only backward, whatever order their packets arrive in. */
	old = __atomic_load_n(&f->r.last_ns, RELAXED);
	while (ts_ns > old &&
	       !__atomic_compare_exchange_n(&f->r.last_ns, &old, ts_ns, 1,
					    RELAXED, RELAXED))
		;
	old = __atomic_load_n(&f->r.first_ns, RELAXED);
	while (ts_ns < old &&
	       !__atomic_compare_exchange_n(&f->r.first_ns, &old, ts_ns, 1,
					    RELAXED, RELAXED))
		;
}

/*
 * A free slot from the arena: the free list first, then the newest
 * chunk, then a new chunk. NULL when max_chunks are all in use (slots
 * waiting for their grace period count) or calloc fails. Any worker.
 */
static struct flowtab_flow *slot_alloc(struct flowtab *ft)
{
	struct flowtab_flow *f = NULL;

	pthread_mutex_lock(&ft->alloc_lock);
	if (ft->free_list) {
		f = ft->free_list;
		ft->free_list = f->next_free;
		if (ft->free_list)
			__builtin_prefetch(ft->free_list, 1);
	} else if (ft->nchunks && ft->bump < ft->chunk_flows) {
		f = &ft->chunk[ft->nchunks - 1][ft->bump++];
		/* the next new flow's slot: a write miss taken early */
		__builtin_prefetch(f + 1, 1);
		__builtin_prefetch((char *)(f + 2) - 1, 1);
	} else if (ft->nchunks < ft->max_chunks) {
		struct flowtab_flow *c =
			mem_alloc_big(ft->chunk_flows * sizeof(*c), 1);

		if (c) {
			__atomic_store_n(&ft->chunk[ft->nchunks], c,
					 __ATOMIC_RELEASE);
			__atomic_store_n(&ft->nchunks, ft->nchunks + 1,
					 __ATOMIC_RELEASE);
			ft->bump = 1;
			f = c;
		}
	}
	pthread_mutex_unlock(&ft->alloc_lock);
	return f;
}

/* Back to the free list: a slot no reader can reach any more. */
static void slot_release(struct flowtab *ft, struct flowtab_flow *f)
{
	__atomic_store_n(&f->r.priv, FLOW_FREE, __ATOMIC_RELEASE);
	pthread_mutex_lock(&ft->alloc_lock);
	f->next_free = ft->free_list;
	ft->free_list = f;
	pthread_mutex_unlock(&ft->alloc_lock);
}

/* A slot for a new flow, or NULL (arena full, or an injected failure). */
static struct flowtab_flow *flow_slot(struct flowtab *ft)
{
	uint64_t fail = __atomic_load_n(&ft->fail_allocs, RELAXED);

	while (fail) {
		if (__atomic_compare_exchange_n(&ft->fail_allocs, &fail,
						fail - 1, 1, RELAXED, RELAXED))
			return NULL;
	}
	return slot_alloc(ft);
}

/* Make @f an unpublished flow holding this one packet. Its fields are
 * set one by one: a walk may be reading its state meanwhile. */
static void flow_init(struct flowtab *ft, struct flowtab_flow *f,
		      const struct flow_key *key, int dir, uint32_t wirelen,
		      uint64_t ts_ns)
{
	cds_lfht_node_init(&f->node);
	key_store(f, key);
	for (int d = 0; d < 2; d++) {
		__atomic_store_n(&f->r.pkts[d], d == dir, RELAXED);
		__atomic_store_n(&f->r.bytes[d], d == dir ? wirelen : 0,
				 RELAXED);
	}
	__atomic_store_n(&f->r.first_ns, ts_ns, RELAXED);
	__atomic_store_n(&f->r.last_ns, ts_ns, RELAXED);
	__atomic_store_n(&f->r.app, 0, RELAXED);
	f->ft = ft;
	__atomic_store_n(&f->r.id, __atomic_add_fetch(&ft->next_id, 1, RELAXED),
			 __ATOMIC_RELEASE);
}

/* Take one of the max live slots; 0 if the table is full. */
static int live_reserve(struct flowtab *ft)
{
	/* A plain load first: at the cap, do not bounce the line. */
	if (__atomic_load_n(&ft->live, RELAXED) >= ft->max)
		return 0;
	if (__atomic_fetch_add(&ft->live, 1, RELAXED) < ft->max)
		return 1;
	__atomic_fetch_sub(&ft->live, 1, RELAXED);
	return 0;
}

/* ---- app label details (struct app_pool) ---- */

static struct app_entry *pool_entry(const struct app_pool *pl, uint32_t ref)
{
	uint32_t i = ref - 1;

	if (!ref ||
	    i / POOL_CHUNK >= __atomic_load_n(&pl->nchunks, __ATOMIC_ACQUIRE))
		return NULL;
	return &pl->chunk[i / POOL_CHUNK][i % POOL_CHUNK];
}

/* Write @s into entry @e for @owner. Caller holds the pool's lock. */
static void pool_write(struct app_entry *e, uint64_t owner, const char *s)
{
	uint64_t w[POOL_WORDS] = { 0 };
	uint64_t seq = __atomic_load_n(&e->seq, RELAXED);

	strncpy((char *)w, s, sizeof(w) - 1);
	/* A seqlock without fences (TSan has none): each store of the body
	 * is a release, so a reader that sees any of it also sees the odd
	 * sequence number stored before it, and retries. */
	__atomic_store_n(&e->seq, seq + 1, RELAXED);
	__atomic_store_n(&e->owner, owner, __ATOMIC_RELEASE);
	for (int i = 0; i < POOL_WORDS; i++)
		__atomic_store_n(&e->w[i], w[i], __ATOMIC_RELEASE);
	__atomic_store_n(&e->seq, seq + 2, __ATOMIC_RELEASE);
}

/* A new entry holding @s for @owner: its ref, or 0 (pool full, no
 * memory). Any worker. */
static uint32_t pool_put(struct app_pool *pl, uint64_t owner, const char *s)
{
	uint32_t ref = 0;
	struct app_entry *e;

	pthread_mutex_lock(&pl->lock);
	if (pl->free_head) {
		ref = pl->free_head;
		e = pool_entry(pl, ref);
		pl->free_head = (uint32_t)__atomic_load_n(&e->w[0], RELAXED);
	} else if (pl->used < pl->max) {
		if (pl->used / POOL_CHUNK == pl->nchunks) {
			struct app_entry *c = calloc(POOL_CHUNK, sizeof(*c));

			if (!c)
				goto out;
			pl->chunk[pl->nchunks] = c;
			__atomic_store_n(&pl->nchunks, pl->nchunks + 1,
					 __ATOMIC_RELEASE);
		}
		ref = ++pl->used;
	} else {
		goto out;
	}
	pool_write(pool_entry(pl, ref), owner, s);
out:
	pthread_mutex_unlock(&pl->lock);
	return ref;
}

/* Rewrite entry @ref (owned by @owner) with @s. Any worker. */
static void pool_set(struct app_pool *pl, uint32_t ref, uint64_t owner,
		     const char *s)
{
	pthread_mutex_lock(&pl->lock);
	pool_write(pool_entry(pl, ref), owner, s);
	pthread_mutex_unlock(&pl->lock);
}

/* Give entry @ref back: owner 0, on the free list. */
static void pool_release(struct app_pool *pl, uint32_t ref)
{
	struct app_entry *e = pool_entry(pl, ref);
	char next[16];

	if (!e)
		return;
	pthread_mutex_lock(&pl->lock);
	memset(next, 0, sizeof(next));
	memcpy(next, &pl->free_head, sizeof(pl->free_head));
	pool_write(e, 0, next);
	pl->free_head = ref;
	pthread_mutex_unlock(&pl->lock);
}

/* Copy entry @ref if @owner owns it; its length, or 0. Lock-free. */
static size_t pool_get(const struct app_pool *pl, uint32_t ref, uint64_t owner,
		       char *buf, size_t len)
{
	const struct app_entry *e = pool_entry(pl, ref);
	uint64_t w[POOL_WORDS], s1, s2, o;
	size_t n;

	if (!len)
		return 0;
	buf[0] = '\0';
	if (!e || !owner)
		return 0;
	for (int tries = 0; tries < 8; tries++) {
		s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			continue;
		/* acquire loads: the second read of seq cannot move above
		 * them (see pool_write) */
		o = __atomic_load_n(&e->owner, __ATOMIC_ACQUIRE);
		for (int i = 0; i < POOL_WORDS; i++)
			w[i] = __atomic_load_n(&e->w[i], __ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&e->seq, RELAXED);
		if (s1 != s2)
			continue;
		if (o != owner)
			return 0;
		((char *)w)[sizeof(w) - 1] = '\0';
		n = strnlen((const char *)w, sizeof(w));
		if (n >= len)
			n = len - 1;
		memcpy(buf, w, n);
		buf[n] = '\0';
		return n;
	}
	return 0;
}

size_t flowtab_app_detail(const struct flowtab *ft, const struct flowtab_row *r,
			  char *buf, size_t len)
{
	uint32_t w = __atomic_load_n(&r->app, RELAXED);

	return pool_get(&ft->pool, APP_WORD_REF(w), r->id, buf, len);
}

/*
 * Run the app sniffers over pending packet @p's payload, counted in flow
 * @f: only while the flow is among its first APP_INSPECT_PKTS packets and
 * its label is not done. The label word is replaced by compare-and-swap:
 * two workers sniffing one flow at once cannot both attach a text.
 */
static void flow_sniff(struct flowtab *ft, struct flowtab_flow *f,
		       const struct flowtab_pend *p)
{
	uint32_t w = __atomic_load_n(&f->r.app, RELAXED), nw, ref;
	struct app_guess g;
	struct app_pkt ap;
	char cur[APP_DETAIL_MAX];
	uint64_t id;

	if (__atomic_load_n(&f->r.pkts[0], RELAXED) +
		    __atomic_load_n(&f->r.pkts[1], RELAXED) >
	    APP_INSPECT_PKTS) {
		__atomic_fetch_or(&f->r.app, APP_WORD_DONE, RELAXED);
		return;
	}
	id = flow_acquire(f);
	ap.p = p->pl;
	ap.len = p->pllen;
	ap.ipproto = p->key.ipproto;
	ap.sport = p->dir == FLOW_DIR_AB ? p->key.aport : p->key.bport;
	ap.dport = p->dir == FLOW_DIR_AB ? p->key.bport : p->key.aport;
	ref = APP_WORD_REF(w);
	pool_get(&ft->pool, ref, id, cur, sizeof(cur));
	if (!app_sniff(&ap, APP_WORD_ID(w), cur, &g)) {
		/* nothing here: this direction is not looked at again while
		 * the flow has no label; both directions so: done */
		nw = g.done	      ? APP_WORD_DONE
		     : APP_WORD_ID(w) ? 0
		     : w & APP_WORD_MISS(!p->dir)
			     ? APP_WORD_MISS(p->dir) | APP_WORD_DONE
			     : APP_WORD_MISS(p->dir);
		if (nw)
			__atomic_fetch_or(&f->r.app, nw, RELAXED);
		return;
	}
	if (ref && g.detail[0]) {
		pool_set(&ft->pool, ref, id, g.detail);
	} else if (g.detail[0]) {
		ref = pool_put(&ft->pool, id, g.detail);
	}
	nw = APP_WORD(g.id, g.done, ref);
	if (!__atomic_compare_exchange_n(&f->r.app, &w, nw, 0, RELAXED,
					 RELAXED) &&
	    ref != APP_WORD_REF(w))
		pool_release(&ft->pool, ref);
}

/* call_rcu callback: no reader can see @f any more; fold and free it. */
static void flow_free_cb(struct rcu_head *head)
{
	struct flowtab_flow *f =
		caa_container_of(head, struct flowtab_flow, rcu);
	struct flowtab *ft;
	unsigned int kind;

	flow_acquire(f);
	ft = f->ft;
	{
		struct flow_key k;

		key_load(f, &k);
		kind = key_kind(&k);
	}
	counts_add(&ft->sums.expired[kind],
		   __atomic_load_n(&f->r.pkts[0], RELAXED) +
			   __atomic_load_n(&f->r.pkts[1], RELAXED),
		   __atomic_load_n(&f->r.bytes[0], RELAXED) +
			   __atomic_load_n(&f->r.bytes[1], RELAXED));
	if (ft->end_hook) {
		struct flowtab_row r;

		key_load(f, &r.key);
		r.id = __atomic_load_n(&f->r.id, RELAXED);
		for (int d = 0; d < 2; d++) {
			r.pkts[d] = __atomic_load_n(&f->r.pkts[d], RELAXED);
			r.bytes[d] = __atomic_load_n(&f->r.bytes[d], RELAXED);
		}
		r.first_ns = __atomic_load_n(&f->r.first_ns, RELAXED);
		r.last_ns = __atomic_load_n(&f->r.last_ns, RELAXED);
		r.app = __atomic_load_n(&f->r.app, RELAXED);
		r.priv = FLOW_DEAD;
		r.priv_evicted = 0;
		r.spare = 0;
		ft->end_hook(ft->end_arg, &r,
			     __atomic_load_n(&f->r.priv_evicted, RELAXED));
	}
	__atomic_store_n(&f->r.priv_evicted, 0, RELAXED);
	if (APP_WORD_REF(f->r.app))
		pool_release(&ft->pool, APP_WORD_REF(f->r.app));
	slot_release(ft, f);
	__atomic_fetch_add(&ft->sums.expired_flows, 1, RELAXED);
	/* Last: flowtab_free may free *ft (and @f's chunk) once it sees 0. */
	rcupend_done(&ft->sums.pending);
}

/*
 * The hint index is two-way set associative: a set is two entries in one
 * cache line half. An entry is a flow pointer with the top 16 bits of the
 * key's hash in its (otherwise zero) top 16 bits, so the pipeline can
 * pick the way to prefetch without touching either flow.
 */
#define HINT_PTR ((UINT64_C(1) << 48) - 1)

static uint64_t *hint_set(struct flowtab *ft, unsigned long hash)
{
	return &ft->hint[2 * (hash & ft->hmask)];
}

static uint64_t hint_tag(unsigned long hash)
{
	return (uint64_t)hash & ~HINT_PTR;
}

static struct flowtab_flow *hint_ptr(uint64_t e)
{
	return (struct flowtab_flow *)(uintptr_t)(e & HINT_PTR);
}

/* The entry of @set whose tag matches, or 0. */
static uint64_t hint_pick(const uint64_t *set, unsigned long hash)
{
	uint64_t e0 = __atomic_load_n(&set[0], __ATOMIC_ACQUIRE);
	uint64_t e1;

	if (e0 && (e0 & ~HINT_PTR) == hint_tag(hash))
		return e0;
	e1 = __atomic_load_n(&set[1], __ATOMIC_ACQUIRE);
	if (e1 && (e1 & ~HINT_PTR) == hint_tag(hash))
		return e1;
	return 0;
}

/* After @f left the table: mark it and clear its entry (see the top). */
static void hint_forget(struct flowtab *ft, struct flowtab_flow *f)
{
	struct flow_key k;
	unsigned long hash;
	uint64_t *set, e;

	key_load(f, &k); /* the key as slots are read: see key_store */
	hash = (unsigned long)flowkey_hash(&k, ft->seed);
	set = hint_set(ft, hash);
	e = (uint64_t)(uintptr_t)f | hint_tag(hash);
	__atomic_store_n(&f->r.priv, FLOW_DEAD, __ATOMIC_SEQ_CST);
	for (int w = 0; w < 2; w++) {
		uint64_t expect = e;

		__atomic_compare_exchange_n(&set[w], &expect, 0, 0,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
}

/* Store @e in way @w, then undo it if its flow died meanwhile. */
static void hint_put(uint64_t *set, int w, uint64_t e)
{
	__atomic_store_n(&set[w], e, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&hint_ptr(e)->r.priv, __ATOMIC_SEQ_CST) ==
	    FLOW_DEAD)
		__atomic_compare_exchange_n(&set[w], &e, 0, 0, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
}

/* Remember @f (found in or added to the table) in its set: most recent
 * in way 0, the one it displaces moves to way 1. */
static void hint_store(uint64_t *set, unsigned long hash,
		       struct flowtab_flow *f)
{
	uint64_t e = (uint64_t)(uintptr_t)f | hint_tag(hash);
	uint64_t old = __atomic_load_n(&set[0], __ATOMIC_ACQUIRE);

	if ((uintptr_t)f & ~HINT_PTR)
		return; /* a pointer above 2^48: not remembered */
	if (old == e)
		return;
	hint_put(set, 0, e);
	if (old)
		hint_put(set, 1, old);
}

/* The entry's flow if it is @key's and live, else NULL. */
static struct flowtab_flow *hint_check(uint64_t e, const struct flow_key *key)
{
	struct flowtab_flow *f = hint_ptr(e);

	if (!e || __atomic_load_n(&f->r.priv, RELAXED) != FLOW_LIVE)
		return NULL;
	/* the entry was loaded with acquire: the key is visible */
	return key_equal(f, key) ? f : NULL;
}

/* Unlink @f and hand it to call_rcu. Caller holds rcu_read_lock.
 * Returns 1 if this call removed it. */
static int flow_delete(struct flowtab *ft, struct flowtab_flow *f)
{
	if (cds_lfht_del(ft->ht, &f->node))
		return 0; /* already removed */
	hint_forget(ft, f);
	__atomic_fetch_sub(&ft->live, 1, RELAXED);
	rcupend_add(&ft->sums.pending);
	call_rcu(&f->rcu, flow_free_cb);
	return 1;
}

static unsigned long pow2_at_least(size_t n)
{
	unsigned long p = FLOWTAB_MIN_BUCKETS;

	while (p < n && p < (1UL << 30))
		p <<= 1;
	return p;
}

/*
 * Start with up to 4K buckets (64 KB): creating a table links every
 * bucket, and 64K of them were a tenth of a `pktstat -r` of 1M packets
 * over 1k flows (512K: ~0.1 s). A live capture grows it before its
 * workers start (flowtab_presize); otherwise flowtab_grow doubles it as
 * flows arrive, which keeps up with a file (the hint index spares most
 * lookups the chains meanwhile).
 */
static unsigned long flowtab_init_buckets(size_t max)
{
	unsigned long b = pow2_at_least(max);

	if (b > (1UL << 12))
		b = 1UL << 12;
	return b < FLOWTAB_MIN_BUCKETS ? FLOWTAB_MIN_BUCKETS : b;
}

/* Grow to @b buckets (a power of two, at most max_buckets). Registered
 * thread, outside any read-side section; one at a time (holding
 * ft->growing, or alone with the table). */
static void table_resize(struct flowtab *ft, unsigned long b)
{
	if (b <= __atomic_load_n(&ft->buckets, RELAXED))
		return;
	/*
	 * Synchronous. liburcu 0.13 spreads 8K or more new buckets over
	 * helper threads and, when their calloc or pthread_create fails
	 * (EAGAIN), links the rest in this thread (partition_resize_helper).
	 * The buckets themselves are not malloc'd: the array is a mapping
	 * reserved up to max_buckets and made writable as it grows (that
	 * mmap aborts only if it fails, which takes strict overcommit).
	 */
	cds_lfht_resize(ft->ht, b);
	__atomic_store_n(&ft->buckets, b, RELAXED);
}

void flowtab_presize(struct flowtab *ft)
{
	unsigned long b = pow2_at_least(ft->max) / 2;

	if (b > (1UL << 19))
		b = 1UL << 19;
	table_resize(ft, b); /* before the workers start: nobody else grows */
}

void flowtab_grow(struct flowtab *ft)
{
	size_t live = __atomic_load_n(&ft->live, RELAXED);
	unsigned long b = __atomic_load_n(&ft->buckets, RELAXED);

	if (live <= FLOWTAB_GROW_LOAD * b || b >= ft->max_buckets)
		return; /* the common case: two loads */
	/* One thread grows; the others keep counting meanwhile. */
	if (__atomic_exchange_n(&ft->growing, 1, __ATOMIC_ACQUIRE))
		return;
	live = __atomic_load_n(&ft->live, RELAXED);
	b = __atomic_load_n(&ft->buckets, RELAXED);
	while (b < ft->max_buckets && live > FLOWTAB_GROW_LOAD * b)
		b <<= 1;
	table_resize(ft, b);
	__atomic_store_n(&ft->growing, 0, __ATOMIC_RELEASE);
}

/*
 * Hint sets: half the cap rounded up to a power of two, at most 256K
 * sets of two entries (4 MB, 4 bytes a flow at the default 1M cap): at
 * 100k live flows nearly every one of them has an entry.
 */
static unsigned long flowtab_hint_sets(size_t max)
{
	unsigned long n = pow2_at_least(max) / 2;

	return n > (1UL << 18) ? 1UL << 18 : n;
}

struct flowtab *flowtab_new(size_t max_flows, char *err, size_t errlen)
{
	struct flowtab *ft;
	size_t size = (sizeof(*ft) + 63) & ~(size_t)63;
	ssize_t n;

	ft = aligned_alloc(64, size);
	if (!ft) {
		snprintf(err, errlen, "flow table: %s", strerror(ENOMEM));
		return NULL;
	}
	memset(ft, 0, size);
	ft->max = max_flows ? max_flows : FLOWTAB_DEFAULT_MAX;

	do {
		n = getrandom(&ft->seed, sizeof(ft->seed), 0);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(ft->seed)) {
		snprintf(err, errlen, "flow table: getrandom: %s",
			 n < 0 ? strerror(errno) : "short read");
		free(ft);
		return NULL;
	}

	/*
	 * Buckets grow (flowtab_grow) only while live flows outnumber them
	 * twice, so never past the flows: at most 16 bytes a flow. At the
	 * default 1M flows growth stops at 512K buckets, chains of about
	 * two; max_buckets (the cap rounded up to a power of two) is only
	 * liburcu's bound.
	 */
	ft->max_buckets = pow2_at_least(ft->max);
	ft->buckets = flowtab_init_buckets(ft->max);
	ft->bucket_tries = BUCKET_TRIES;
	/*
	 * Room for twice the cap plus two chunks: deleted flows hold their
	 * slot until their grace period ends, and a burst of expiry can
	 * leave many waiting. Beyond that, new flows overflow (counted).
	 * Only touched pages are resident.
	 */
	ft->chunk_flows = pow2_at_least(ft->max);
	if (ft->chunk_flows > CHUNK_FLOWS_MAX)
		ft->chunk_flows = CHUNK_FLOWS_MAX;
	ft->max_chunks =
		(2 * ft->max + ft->chunk_flows - 1) / ft->chunk_flows + 2;
	ft->chunk = calloc(ft->max_chunks, sizeof(*ft->chunk));
	/* app label details: at most one entry per slot */
	ft->pool.max = ft->max_chunks * ft->chunk_flows > APP_REF_MAX
			       ? APP_REF_MAX
			       : (uint32_t)(ft->max_chunks * ft->chunk_flows);
	ft->pool.chunk =
		calloc(ft->pool.max / POOL_CHUNK + 1, sizeof(*ft->pool.chunk));
	if (!ft->chunk || !ft->pool.chunk) {
		snprintf(err, errlen, "flow table: %s", strerror(ENOMEM));
		free(ft->pool.chunk);
		free(ft->chunk);
		free(ft);
		return NULL;
	}
	pthread_mutex_init(&ft->alloc_lock, NULL);
	pthread_mutex_init(&ft->pool.lock, NULL);
	ft->hmask = flowtab_hint_sets(ft->max) - 1;
	ft->hint = mem_alloc_big(2 * (ft->hmask + 1) * sizeof(*ft->hint), 0);
	if (!ft->hint) {
		snprintf(err, errlen, "flow table: %s", strerror(ENOMEM));
		free(ft->pool.chunk);
		free(ft->chunk);
		free(ft);
		return NULL;
	}
	/*
	 * No flags (see the top). liburcu 0.13 allocates the table header
	 * with calloc and asserts it (abort); the bucket array is mapped.
	 */
	ft->ht = cds_lfht_new(ft->buckets, FLOWTAB_MIN_BUCKETS, ft->max_buckets,
			      0, NULL);
	if (!ft->ht) {
		snprintf(err, errlen, "flow table: cannot create hash table");
		mem_free_big(ft->hint, 2 * (ft->hmask + 1) * sizeof(*ft->hint));
		free(ft->pool.chunk);
		free(ft->chunk);
		free(ft);
		return NULL;
	}
	/*
	 * liburcu's call_rcu thread, now rather than at the first expiry of
	 * a live capture: 0.13 creates it on first use and calls urcu_die
	 * (abort) when its malloc or pthread_create fails, and no call
	 * reports that failure instead (get_default_call_rcu_data,
	 * create_call_rcu_data and the per-CPU ones all end in
	 * call_rcu_data_init). At start-up that abort loses nothing.
	 */
	(void)get_default_call_rcu_data();
	return ft;
}

void flowtab_free(struct flowtab *ft)
{
	struct cds_lfht_iter iter;
	struct flowtab_flow *f;
	size_t ci;

	if (!ft)
		return;
	/* Callbacks of earlier expiries write into *ft: let them finish. */
	rcupend_wait(&ft->sums.pending);
	/*
	 * No other thread uses the table any more (our contract), so nothing
	 * needs a grace period: unlink every node (cds_lfht_destroy wants an
	 * empty table), destroy the table, free the arena. Unlinked in hash
	 * order: each node's predecessor is then the one just unlinked, in
	 * cache (in memory order every unlink walked a cold bucket chain).
	 */
	rcu_read_lock();
	cds_lfht_for_each_entry(ft->ht, &iter, f, node)
	{
		cds_lfht_del(ft->ht, &f->node);
	}
	rcu_read_unlock();
	cds_lfht_destroy(ft->ht, NULL);
	for (ci = 0; ci < ft->nchunks; ci++)
		mem_free_big(ft->chunk[ci],
			     ft->chunk_flows * sizeof(**ft->chunk));
	free(ft->chunk);
	for (ci = 0; ci < ft->pool.nchunks; ci++)
		free(ft->pool.chunk[ci]);
	free(ft->pool.chunk);
	pthread_mutex_destroy(&ft->pool.lock);
	pthread_mutex_destroy(&ft->alloc_lock);
	mem_free_big(ft->hint, 2 * (ft->hmask + 1) * sizeof(*ft->hint));
	free(ft);
}

/*
 * Where liburcu keeps the buckets, to prefetch the one a new flow will be
 * linked after (flowtab_batch_add). Every insert reads that bucket and
 * the node after it, both cold once the table outgrows the caches (perf:
 * a third of the capture time at 100k flows, most of it at 1M), and
 * liburcu offers no way to name them. For a table of max_buckets (more
 * than it starts with), liburcu 0.13 reserves one mapping of max_buckets
 * nodes of 16 bytes, bucket i at index i, and makes its front writable as
 * the table grows: in /proc/self/maps, a read-write part and, until the
 * table is full, an inaccessible rest, together exactly that size. A
 * published node's successor is often a bucket; the mapping holding it
 * is taken for the array only if it has that shape. Anything else (a
 * small table liburcu callocs, another layout) leaves the base unknown,
 * and nothing is prefetched. A wrong guess could only prefetch useless
 * lines: the one load, of a bucket's next pointer, is made only inside
 * the read-write part found here, which liburcu never unmaps while the
 * table lives.
 */
static int maps_line(const char *line, uintptr_t *lo, uintptr_t *hi,
		     char perm[5])
{
	unsigned long a, b;

	if (sscanf(line, "%lx-%lx %4s", &a, &b, perm) != 3)
		return 0;
	*lo = a;
	*hi = b;
	return 1;
}

static uintptr_t bucket_array_at(uintptr_t addr, size_t want)
{
	char buf[8192], perm[5], perm2[5];
	uintptr_t lo = 0, hi = 0, lo2, hi2, base = 0;
	size_t have = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), found = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		char *line = buf, *nl;

		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			if (found) {
				/* the line after the read-write part */
				if (maps_line(line, &lo2, &hi2, perm2) &&
				    lo2 == hi && !strcmp(perm2, "---p") &&
				    hi2 - lo == want)
					base = lo;
				goto out;
			}
			if (maps_line(line, &lo, &hi, perm) && addr >= lo &&
			    addr < hi) {
				if (strcmp(perm, "rw-p") || hi - lo > want ||
				    (addr - lo) % sizeof(struct cds_lfht_node))
					goto out;
				if (hi - lo == want) {
					base = lo; /* the table is full */
					goto out;
				}
				found = 1;
			}
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0; /* an absurd line: drop it */
	}
out:
	close(fd);
	return base;
}

static void find_buckets(struct flowtab *ft, struct flowtab_flow *f)
{
	uintptr_t next = (uintptr_t)__atomic_load_n(&f->node.next, RELAXED) &
			 ~LFHT_FLAGS;
	uintptr_t base;
	size_t ci;

	if (!next || __atomic_sub_fetch(&ft->bucket_tries, 1, RELAXED) < 0)
		return;
	for (ci = 0; ci < __atomic_load_n(&ft->nchunks, __ATOMIC_ACQUIRE);
	     ci++) {
		uintptr_t c = (uintptr_t)__atomic_load_n(&ft->chunk[ci],
							 __ATOMIC_ACQUIRE);

		if (next >= c &&
		    next < c + mem_big_len(ft->chunk_flows * sizeof(*f)))
			return; /* a flow, not a bucket: try the next one */
	}
	base = bucket_array_at(next,
			       ft->max_buckets * sizeof(struct cds_lfht_node));
	if (base)
		__atomic_store_n(&ft->bucket_base, base, RELAXED);
}

/* The bucket a new flow of @hash would be linked after. */
static struct cds_lfht_node *bucket_of(const struct flowtab *ft, uintptr_t base,
				       unsigned long hash)
{
	unsigned long b = __atomic_load_n(&ft->buckets, RELAXED);

	return (struct cds_lfht_node *)(base +
					(hash & (b - 1)) *
						sizeof(struct cds_lfht_node));
}

/* ... and the node that bucket points to. */
static void bucket_next_prefetch(const struct flowtab *ft, uintptr_t base,
				 unsigned long hash)
{
	uintptr_t next = (uintptr_t)__atomic_load_n(
		&bucket_of(ft, base, hash)->next, RELAXED);

	__builtin_prefetch((const void *)(next & ~LFHT_FLAGS));
}

/*
 * Publish @f - a new flow holding this packet, its live slot reserved -
 * with cds_lfht_add_unique. Returns the flow the packet is counted in:
 * @f, or the one another worker inserted first; then @f was never seen
 * by anyone, its live slot is given back and it is the caller's again.
 */
static struct flowtab_flow *flow_publish(struct flowtab *ft,
					 struct flowtab_flow *f,
					 unsigned long hash,
					 const struct flow_key *key, int dir,
					 uint32_t wirelen, uint64_t ts_ns)
{
	struct cds_lfht_node *node =
		cds_lfht_add_unique(ft->ht, hash, flow_match, key, &f->node);

	if (node == &f->node) {
		__atomic_store_n(&f->r.priv, FLOW_LIVE, __ATOMIC_RELEASE);
		if (__builtin_expect(
			    !__atomic_load_n(&ft->bucket_base, RELAXED), 0))
			find_buckets(ft, f);
		return f;
	}
	__atomic_fetch_sub(&ft->live, 1, RELAXED);
	f = node_flow(node);
	flow_add(f, ft->single, dir, wirelen, ts_ns);
	return f;
}

/*
 * The slow path: find the flow in cds_lfht or add it, and remember it in
 * @slot. Returns with the packet counted.
 */
static struct flowtab_flow *account_slow(struct flowtab *ft, uint64_t *slot,
					 unsigned long hash,
					 const struct flow_key *key, int dir,
					 uint32_t wirelen, uint64_t ts_ns,
					 void **spare)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;
	struct flowtab_flow *f, *got;

	/*
	 * With a spare slot (the batched path): insert first, and learn from
	 * cds_lfht_add_unique whether the flow existed - one walk of the
	 * bucket chain instead of a lookup and then an insert. The slot
	 * stays spare when the flow existed.
	 */
	if (spare && live_reserve(ft)) {
		f = *spare ? *spare : flow_slot(ft);
		if (f) {
			flow_init(ft, f, key, dir, wirelen, ts_ns);
			got = flow_publish(ft, f, hash, key, dir, wirelen,
					   ts_ns);
			*spare = got == f ? NULL : f;
			hint_store(slot, hash, got);
			return got;
		}
		__atomic_fetch_sub(&ft->live, 1, RELAXED);
	}

	cds_lfht_lookup(ft->ht, hash, flow_match, key, &iter);
	node = cds_lfht_iter_get_node(&iter);
	if (node) {
		f = node_flow(node);
		flow_add(f, ft->single, dir, wirelen, ts_ns);
		hint_store(slot, hash, f);
		return f;
	}

	if (!live_reserve(ft))
		goto overflow;
	f = flow_slot(ft);
	if (!f) {
		__atomic_fetch_sub(&ft->live, 1, RELAXED);
		goto overflow;
	}
	flow_init(ft, f, key, dir, wirelen, ts_ns);
	got = flow_publish(ft, f, hash, key, dir, wirelen, ts_ns);
	if (got != f)
		slot_release(ft, f);
	hint_store(slot, hash, got);
	return got;

overflow:
	counts_add(&ft->sums.overflow[key_kind(key)], 1, wirelen);
	return NULL;
}

void flowtab_account(struct flowtab *ft, const struct flow_key *key, int dir,
		     uint32_t wirelen, uint64_t ts_ns)
{
	unsigned long hash = (unsigned long)flowkey_hash(key, ft->seed);
	uint64_t *slot = hint_set(ft, hash);
	struct flowtab_flow *f;

	dir = dir ? FLOW_DIR_BA : FLOW_DIR_AB;
	f = hint_check(hint_pick(slot, hash), key);
	if (f)
		flow_add(f, ft->single, dir, wirelen, ts_ns);
	else
		account_slow(ft, slot, hash, key, dir, wirelen, ts_ns, NULL);
}

/*
 * Add @pkts packets and @bytes bytes seen between @first_ns and @last_ns
 * in one direction: the path of backends that count in the kernel, once
 * per flow and delivery rather than per packet, so it skips the hint
 * cache and the batch. Same thread and lock rules as flowtab_account.
 */
void flowtab_add(struct flowtab *ft, const struct flow_key *key, int dir,
		 uint64_t pkts, uint64_t bytes, uint64_t first_ns,
		 uint64_t last_ns)
{
	unsigned long hash;
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;
	struct flowtab_flow *f, *got;
	uint64_t old;

	if (!pkts)
		return;
	dir = dir ? FLOW_DIR_BA : FLOW_DIR_AB;
	hash = (unsigned long)flowkey_hash(key, ft->seed);
	cds_lfht_lookup(ft->ht, hash, flow_match, key, &iter);
	node = cds_lfht_iter_get_node(&iter);
	if (node) {
		f = node_flow(node);
	} else {
		if (!live_reserve(ft))
			goto overflow;
		f = flow_slot(ft);
		if (!f) {
			__atomic_fetch_sub(&ft->live, 1, RELAXED);
			goto overflow;
		}
		/* a new flow opens with one packet of no bytes, counted */
		flow_init(ft, f, key, dir, 0, first_ns);
		got = flow_publish(ft, f, hash, key, dir, 0, first_ns);
		if (got != f)
			slot_release(ft, f);
		f = got;
		pkts--;
	}
	__atomic_fetch_add(&f->r.pkts[dir], pkts, RELAXED);
	__atomic_fetch_add(&f->r.bytes[dir], bytes, RELAXED);
	old = __atomic_load_n(&f->r.last_ns, RELAXED);
	while (last_ns > old &&
	       !__atomic_compare_exchange_n(&f->r.last_ns, &old, last_ns, 1,
					    RELAXED, RELAXED))
		;
	old = __atomic_load_n(&f->r.first_ns, RELAXED);
	while (first_ns < old &&
	       !__atomic_compare_exchange_n(&f->r.first_ns, &old, first_ns, 1,
					    RELAXED, RELAXED))
		;
	return;
overflow:
	counts_add(&ft->sums.overflow[key_kind(key)], pkts, bytes);
}

void flowtab_add_overflow(struct flowtab *ft, int kind, uint64_t pkts,
			  uint64_t bytes)
{
	if (kind < 0 || kind >= KIND_COUNT)
		kind = KIND_OTHER;
	counts_add(&ft->sums.overflow[kind], pkts, bytes);
}

/* Account one pending packet, its candidate loaded or not. */
static void pend_account(struct flowtab *ft, struct flowtab_batch *b,
			 struct flowtab_pend *p)
{
	uint64_t *slot = hint_set(ft, p->hash);
	struct flowtab_flow *f =
		p->loaded ? hint_check(p->cand, &p->key) : NULL;

	if (!f) /* not picked yet, or a stale pick */
		f = hint_check(hint_pick(slot, p->hash), &p->key);
	if (f)
		flow_add(f, ft->single, p->dir, p->wirelen, p->ts_ns);
	else
		f = account_slow(ft, slot, p->hash, &p->key, p->dir, p->wirelen,
				 p->ts_ns, &b->spare);
	/* the app sniffers: one load decides for most packets */
	if (p->pl && f &&
	    !(__atomic_load_n(&f->r.app, RELAXED) &
	      (APP_WORD_DONE | APP_WORD_MISS(p->dir))))
		flow_sniff(ft, f, p);
}

/* Packets this far behind the newest have their slot read and their
 * flow prefetched; the oldest (FLOWTAB_BATCH behind) is accounted. */
#define BATCH_LOAD (FLOWTAB_BATCH / 2)
/* New flows: the bucket is prefetched at BATCH_LOAD, the node after it
 * read and prefetched at BATCH_NEXT. */
#define BATCH_NEXT (BATCH_LOAD + 2)

void flowtab_batch_add(struct flowtab *ft, struct flowtab_batch *b,
		       const struct flow_key *key, int dir, uint32_t wirelen,
		       uint64_t ts_ns)
{
	unsigned int i = b->head % FLOWTAB_BATCH;
	struct flowtab_pend *p = &b->e[i];

	if (b->n == FLOWTAB_BATCH) {
		pend_account(ft, b, p); /* the oldest sits where we write */
		b->n--;
	}
	p->key = *key;
	p->hash = (unsigned long)flowkey_hash(key, ft->seed);
	p->ts_ns = ts_ns;
	p->wirelen = wirelen;
	p->dir = dir ? FLOW_DIR_BA : FLOW_DIR_AB;
	p->loaded = 0;
	p->pl = NULL;
	__builtin_prefetch(hint_set(ft, p->hash));
	b->head++;
	b->n++;
	if (b->n > BATCH_LOAD) {
		struct flowtab_pend *q =
			&b->e[(b->head - 1 - BATCH_LOAD) % FLOWTAB_BATCH];
		uint64_t e = hint_pick(hint_set(ft, q->hash), q->hash);
		const char *f = (const char *)hint_ptr(e);
		uintptr_t base = __atomic_load_n(&ft->bucket_base, RELAXED);

		q->cand = e;
		q->loaded = 1;
		if (e) {
			__builtin_prefetch(f, 1);
			__builtin_prefetch(f + 64, 1);
			__builtin_prefetch(f + sizeof(struct flowtab_flow) - 1,
					   1);
		} else if (base) {
			/* likely a new flow: its bucket, for the insert */
			__builtin_prefetch(bucket_of(ft, base, q->hash));
		}
		if (base && b->n > BATCH_NEXT) {
			/* two packets on, the node after that bucket */
			struct flowtab_pend *r =
				&b->e[(b->head - 1 - BATCH_NEXT) %
				      FLOWTAB_BATCH];

			if (!r->cand)
				bucket_next_prefetch(ft, base, r->hash);
		}
	}
}

void flowtab_batch_forget_payload(struct flowtab_batch *b)
{
	for (unsigned int i = 0; i < FLOWTAB_BATCH; i++)
		b->e[i].pl = NULL;
}

void flowtab_batch_flush(struct flowtab *ft, struct flowtab_batch *b)
{
	while (b->n) {
		pend_account(ft, b, &b->e[(b->head - b->n) % FLOWTAB_BATCH]);
		b->n--;
	}
}

/* Copy at most @cap flows; *@more set if some did not fit. */
static size_t collect_some(struct flowtab *ft, struct flowtab_row *rows,
			   size_t cap, int *more)
{
	struct flowtab_flow *f;
	size_t n = 0, ci, i;

	*more = 0;
	rcu_read_lock();
	for_each_live(ft, f, ci, i)
	{
		struct flowtab_row *r;

		if (n == cap) {
			*more = 1;
			goto out;
		}
		r = &rows[n++];
		r->id = flow_acquire(f);
		key_load(f, &r->key);
		r->pkts[0] = __atomic_load_n(&f->r.pkts[0], RELAXED);
		r->pkts[1] = __atomic_load_n(&f->r.pkts[1], RELAXED);
		r->bytes[0] = __atomic_load_n(&f->r.bytes[0], RELAXED);
		r->bytes[1] = __atomic_load_n(&f->r.bytes[1], RELAXED);
		r->first_ns = __atomic_load_n(&f->r.first_ns, RELAXED);
		r->last_ns = __atomic_load_n(&f->r.last_ns, RELAXED);
		r->app = __atomic_load_n(&f->r.app, RELAXED);
		r->priv = FLOW_LIVE;
	}
out:
	rcu_read_unlock();
	return n;
}

ssize_t flowtab_collect(struct flowtab *ft, struct flowtab_row **rows,
			size_t *cap)
{
	size_t want = flowtab_count(ft);
	size_t n;
	int more;

	/* Room for what may be inserted while we copy; never realloc while
	 * holding the read lock. */
	want += want / 8 + 64;
	for (;;) {
		if (*cap < want) {
			struct flowtab_row *p;

			if (want > SIZE_MAX / sizeof(*p))
				return -ENOMEM;
			p = realloc(*rows, want * sizeof(*p));
			if (!p)
				return -ENOMEM;
			*rows = p;
			*cap = want;
			mem_advise_huge(p, want * sizeof(*p));
		}
		n = collect_some(ft, *rows, *cap, &more);
		if (!more)
			return (ssize_t)n;
		want = *cap * 2;
	}
}

const struct flowtab_row *flowtab_row_next(const struct flowtab *ft,
					   struct flowtab_iter *it)
{
	size_t nchunks = __atomic_load_n(&ft->nchunks, __ATOMIC_ACQUIRE);

	for (; it->chunk < nchunks; it->chunk++, it->slot = 0)
		while (it->slot < ft->chunk_flows) {
			const struct flowtab_flow *f =
				&ft->chunk[it->chunk][it->slot++];

			if (__atomic_load_n(&f->r.priv, __ATOMIC_ACQUIRE) ==
			    FLOW_LIVE)
				return &f->r;
		}
	return NULL;
}

/* k-th smallest (0-based) of v[0..n-1], reordering v (quickselect). */
static uint64_t select_kth(uint64_t *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		uint64_t pivot = v[lo + (hi - lo) / 2];
		size_t i = lo, j = hi;

		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				uint64_t t = v[i];

				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return v[k];
	}
	return v[k];
}

/*
 * Under pressure (more than FLOWTAB_HIGH_PCT of the cap live), evict the
 * least recently seen flows down to FLOWTAB_LOW_PCT: idle ones go first by
 * construction, and a flow that keeps sending keeps its entry. Their
 * counts move to the expired totals like any expiry; the number evicted
 * is counted on its own. Returns flows deleted.
 */
static size_t evict_pressure(struct flowtab *ft)
{
	size_t live = __atomic_load_n(&ft->live, RELAXED), n = 0, k = 0, want;
	struct flowtab_flow *f;
	uint64_t *ages, thr;
	size_t cap, ci, i;

	if (live * 100 <= ft->max * FLOWTAB_HIGH_PCT)
		return 0;
	want = live - ft->max * FLOWTAB_LOW_PCT / 100;
	cap = live + live / 8 + 64;
	ages = malloc(cap * sizeof(*ages));
	if (!ages)
		return 0; /* overflow keeps the counts exact meanwhile */
	rcu_read_lock();
	for_each_live(ft, f, ci, i)
	{
		if (k == cap)
			goto counted;
		flow_acquire(f);
		ages[k++] = __atomic_load_n(&f->r.last_ns, RELAXED);
	}
counted:
	rcu_read_unlock();
	if (k == 0 || want == 0) {
		free(ages);
		return 0;
	}
	if (want > k)
		want = k;
	thr = select_kth(ages, k, want - 1);
	free(ages);
	rcu_read_lock();
	for_each_live(ft, f, ci, i)
	{
		if (n >= want)
			goto done;
		flow_acquire(f);
		if (__atomic_load_n(&f->r.last_ns, RELAXED) > thr)
			continue;
		/* read by the callback, after the grace period */
		__atomic_store_n(&f->r.priv_evicted, 1, RELAXED);
		n += flow_delete(ft, f);
	}
done:
	rcu_read_unlock();
	__atomic_fetch_add(&ft->sums.evicted_flows, n, RELAXED);
	return n;
}

size_t flowtab_expire(struct flowtab *ft, uint64_t now_ns, uint64_t idle_ns)
{
	struct flowtab_flow *f;
	size_t n = 0, ci, i;

	rcu_read_lock();
	for_each_live(ft, f, ci, i)
	{
		uint64_t last;

		flow_acquire(f);
		last = __atomic_load_n(&f->r.last_ns, RELAXED);

		/* last + idle < now, without overflowing. */
		if (now_ns <= last || now_ns - last <= idle_ns)
			continue;
		/* A packet may still land on it: the callback counts it. */
		n += flow_delete(ft, f);
	}
	rcu_read_unlock();
	return n + evict_pressure(ft);
}

uint64_t flowtab_evicted_flows(const struct flowtab *ft)
{
	return __atomic_load_n(&ft->sums.evicted_flows, RELAXED);
}

size_t flowtab_count(const struct flowtab *ft)
{
	return __atomic_load_n(&ft->live, RELAXED);
}

size_t flowtab_max(const struct flowtab *ft)
{
	return ft->max;
}

int flowtab_buckets_located(const struct flowtab *ft)
{
	return __atomic_load_n(&ft->bucket_base, RELAXED) != 0;
}

size_t flowtab_buckets(const struct flowtab *ft)
{
	return __atomic_load_n(&ft->buckets, RELAXED);
}

void flowtab_totals(const struct flowtab *ft,
		    struct flowtab_counts expired[KIND_COUNT],
		    struct flowtab_counts overflow[KIND_COUNT])
{
	int k;

	for (k = 0; k < KIND_COUNT; k++) {
		if (expired)
			counts_load(&ft->sums.expired[k], &expired[k]);
		if (overflow)
			counts_load(&ft->sums.overflow[k], &overflow[k]);
	}
}

uint64_t flowtab_expired_flows(const struct flowtab *ft)
{
	return __atomic_load_n(&ft->sums.expired_flows, RELAXED);
}

void flowtab_barrier(struct flowtab *ft)
{
	rcupend_wait(&ft->sums.pending);
}

void flowtab_set_writers(struct flowtab *ft, unsigned int n)
{
	ft->single = n == 1;
}

void flowtab_set_end_hook(struct flowtab *ft, flowtab_end_fn fn, void *arg)
{
	ft->end_hook = fn;
	ft->end_arg = arg;
}

void flowtab_inject_alloc_failures(struct flowtab *ft, uint64_t n)
{
	__atomic_store_n(&ft->fail_allocs, n, RELAXED);
}
