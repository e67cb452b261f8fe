/*
 * flowtab.c - the flow table: flows in arena chunks, found through a hash
 * index of our own (a fixed array of buckets, each a chain of flows),
 * each flow with per-direction counters. liburcu serves the readers'
 * read-side sections and the reclamation (call_rcu) only.
 *
 * Threads (see flowtab.h): workers account concurrently inside their own
 * rcu_read_lock; collectors copy under a short read-side section; one thread
 * at a time expires. Every calling thread is registered with liburcu.
 *
 * Memory ordering: a flow's key, table pointer and first counts are written
 * with plain stores before publication, then its id is stored with release;
 * every reader load-acquires the id (or the chain pointer that leads to
 * it) before touching the rest. Counters are only touched with relaxed
 * atomics. The one edge ThreadSanitizer cannot see is the grace period
 * before a slot is reused: that is what tests/tsan.supp covers, by
 * liburcu's frames only.
 *
 * Index: bmask + 1 buckets (half the cap, rounded up to a power of two:
 * chains of about two flows at the cap), fixed for the table's life, so
 * it never resizes under its readers. A chain is walked lock-free under
 * rcu_read_lock (acquire loads of the next pointers). An insert takes
 * the lock of the bucket's stripe and links at the head unless the key
 * went in meanwhile (two workers seeing one new flow create it once; the
 * chain is walked again under the lock only if its head moved). Only the expiring thread deletes: it unlinks
 * with one release store, under the stripe's lock only when the flow is
 * the chain's head (the one pointer inserts write), and leaves the
 * flow's own next pointer as it was, so a reader standing on it walks
 * on. The memory is ours, so the batch
 * pipeline prefetches a new flow's bucket and the chain's first flow.
 *
 * Hint index: beside the chains, a two-way set-associative array of flow
 * pointers indexed by the key's hash. A worker that finds its flow there
 * (checked: same key, live) skips the chain walk, and the batch
 * pipeline prefetches the set and then the flow a few packets ahead. An
 * entry is a cache only: a miss falls back to the chain. Deletion marks
 * the flow dead and clears its entries before call_rcu; a worker that
 * stores an entry re-checks the mark after the store (both sides
 * sequentially consistent), so no entry keeps a flow past its grace
 * period. (Entries point into the arena, which stays mapped as long as
 * the table lives, so even a stale one could only fail the key and state
 * check.)
 *
 * Reclaim: each deleted flow goes to call_rcu, and the table counts its
 * callbacks still to run (src/rcupend.h), which flowtab_barrier and
 * flowtab_free wait for: liburcu's rcu_barrier aborts when it cannot
 * allocate. The callback puts the slot back on its arena chunk's free
 * list. New flows fill the lowest chunk with room, so after a flood the
 * survivors sit in few chunks; an expiry pass gives the pages of every
 * chunk that stayed empty for a few passes (but the one being filled)
 * back to the kernel.
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
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <urcu.h>

#include "flowtab.h"
#include "app.h"
#include "mem.h"
#include "rcupend.h"

#define RELAXED __ATOMIC_RELAXED

/* Initial and minimum number of hash buckets (powers of two). */
#define FLOWTAB_MIN_BUCKETS 1024UL
/* Bucket locks: one per stripe of buckets, each on its own cache line. */
#define LOCK_STRIPES 256
/* Flows a bucket at the cap, on average. */
#define FLOWTAB_LOAD 2
/* Eviction under pressure: above HIGH percent of the cap at an expiry
 * pass, the least recently seen flows go until LOW percent remain. */
#define FLOWTAB_HIGH_PCT 95
#define FLOWTAB_LOW_PCT 85

/*
 * One live flow: 136 bytes in an arena slot, plus its share of the
 * buckets (8 bytes for two allowed flows) and of the hint index: about
 * 145 resident bytes a flow at 1M flows (tested against a 256-byte
 * budget). The app label is
 * one word of the row (r.app), its detail text out of line (struct
 * app_pool): 96 bytes more for a labelled flow only.
 */
struct flowtab_flow {
	/* key: immutable once published; id: release-stored last, before
	 * publication; the counters, times and app: relaxed atomics. r.priv
	 * is the slot's state: FLOW_FREE, FLOW_LIVE, FLOW_DEAD (see below).
	 * A stopped table's report reads it in place (flowtab_row_next).
	 * What a packet touches (the key, state, app word, counters and
	 * times) is the row's first 104 bytes: two cache lines, the slots
	 * being 128 bytes on 128-byte boundaries; what an expiry pass reads
	 * (state, id, last_ns), the first line only. */
	struct flowtab_row r;
	struct flowtab_flow *next; /* its bucket's chain (see the top) */
	union {
		struct rcu_head rcu;		/* while dead */
		struct flowtab_flow *next_free; /* while free */
	};
} __attribute__((aligned(128)));
_Static_assert(sizeof(struct flowtab_flow) == 128, "a flow is 128 bytes");

/*
 * A slot's life: FLOW_FREE (in no table; being set up counts as free),
 * FLOW_LIVE (release-stored once flow_publish linked it into its
 * table: the walks copy and expire it), FLOW_DEAD (seq_cst-stored once
 * deleted, before its hint slot is cleared and call_rcu; the callback
 * folds its counts and makes it FLOW_FREE again).
 */
enum { FLOW_FREE, FLOW_LIVE, FLOW_DEAD };

/*
 * Flows per arena chunk: as many as fit in one 2 MiB huge page beside
 * the chunk's head, fewer for small caps. The head is the chunk's first
 * slot and holds its table: a chunk is aligned to a power of two at least
 * its size (r.priv_shift in each flow), so the call_rcu callback finds
 * the table of a flow from its address (chunk_table).
 */
#define CHUNK_FLOWS_MAX (MEM_HUGE_SIZE / sizeof(struct flowtab_flow) - 1)

/*
 * An arena chunk's bookkeeping, under alloc_lock. @used counts its slots
 * not on its free list (live, dead until their grace period ends, being
 * set up, or a worker's spare); it is also loaded (relaxed) by the walks,
 * which skip a chunk with none. A chunk found empty at an expiry pass
 * gives its pages back to the kernel (MADV_DONTNEED: they read as zeros,
 * FLOW_FREE, until a new flow touches them) and becomes CHUNK_RELEASED;
 * its mapping stays, so a stale pointer into it (a hint entry, a walk)
 * still reads a free slot.
 */
enum { CHUNK_RESIDENT, CHUNK_RELEASING, CHUNK_RELEASED };

struct flowtab_stripe {
	pthread_mutex_t m;
} __attribute__((aligned(64)));
struct flowtab_chunk {
	struct flowtab_flow *free; /* free slots below @bump */
	uint32_t bump;		   /* slots handed out from the start */
	uint32_t used;
	int state;
	unsigned int idle; /* expiry passes that found it empty in a row */
};

/*
 * Expiry passes (about one a second) a chunk must be found empty in a row
 * before its pages go back: under a flood at the cap, chunks empty and
 * fill again every pass, and faulting 2 MiB back in (a huge page the
 * kernel may first have to compact memory for) stalled the capture.
 */
#define CHUNK_IDLE_PASSES 4

/*
 * flowtab_presize faults in chunks for an eighth of the cap (at least
 * one) and keeps them: a burst of new flows, the moment the capture ring
 * is under most pressure, then takes no page faults in the worker until
 * it outgrows them.
 */
#define FLOWTAB_RESERVE_DIV 8

/*
 * Every live flow, in memory order (the arena chunks), not the chains'
 * hash order: the hardware prefetcher follows this walk, where the hash
 * order costs a cache miss per flow. Caller
 * holds rcu_read_lock; @ci and @i are size_t scratch. A `break` leaves
 * only the inner loop: use goto.
 */
#define for_each_live(ft, f, ci, i)                                            \
	for ((ci) = 0;                                                         \
	     (ci) < __atomic_load_n(&(ft)->nchunks, __ATOMIC_ACQUIRE); (ci)++) \
		for ((i) = chunk_in_use(ft, ci) ? 0 : (ft)->chunk_flows,       \
		    (f) = __atomic_load_n(&(ft)->chunk[ci],                    \
					  __ATOMIC_ACQUIRE) +                  \
			  (i);                                                 \
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
	struct flowtab_flow **bkt; /* bucket heads: bmask + 1 */
	unsigned long bmask;
	struct flowtab_stripe *lock; /* LOCK_STRIPES bucket locks */
	uint64_t seed;
	size_t max;
	int single;	/* one accounting thread: flowtab_set_writers */
	uint64_t *hint; /* hint index: hmask + 1 sets of two entries */
	unsigned long hmask;
	struct flowtab_flow **chunk; /* arena chunks, max_chunks pointers */
	size_t max_chunks, chunk_flows;
	unsigned int chunk_shift; /* log2 of a chunk's alignment */

	/* The arena allocator: under alloc_lock. nchunks is also read
	 * (acquire) by the walks: chunks are published, never unmapped
	 * while the table lives (empty ones give their pages back). */
	pthread_mutex_t alloc_lock __attribute__((aligned(64)));
	size_t nchunks;
	struct flowtab_chunk *cmeta; /* max_chunks */
	uint32_t *by_addr;	     /* chunk indices by base address */
	size_t cur;		     /* the chunk new flows come from */
	size_t reserve; /* chunks [0, reserve) stay resident: flowtab_presize */
	/* The grower (flowtab_presize): a thread that maps and faults in
	 * the next chunk while the workers fill the newest one; it waits on
	 * grow_cv under alloc_lock. */
	pthread_cond_t grow_cv;
	pthread_t grow_tid;
	int grow_started, grow_quit;
	int grow_asked;	   /* the grower has a chunk to make */
	uint64_t grown;	   /* chunks the grower made */
	uint64_t released; /* chunks given back so far */

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

/* Pairs with the release store in flow_init: makes key/ft/first counts
 * visible. Returns the id. */
static uint64_t flow_acquire(const struct flowtab_flow *f)
{
	return __atomic_load_n(&f->r.id, __ATOMIC_ACQUIRE);
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

static int chunk_in_use(const struct flowtab *ft, size_t ci)
{
	return __atomic_load_n(&ft->cmeta[ci].used, RELAXED) != 0;
}

/* A chunk's size, its head included. */
static size_t chunk_bytes(const struct flowtab *ft)
{
	return (ft->chunk_flows + 1) * sizeof(struct flowtab_flow);
}

/* The head of the chunk whose slots start at @slots. */
static struct flowtab_flow *chunk_head(struct flowtab_flow *slots)
{
	return slots - 1;
}

/* Write the chunk's head: its table. */
static void chunk_set_table(struct flowtab *ft, struct flowtab_flow *slots)
{
	memcpy(chunk_head(slots), &ft, sizeof(ft));
}

/* The table of flow @f (set up by flow_init). */
static struct flowtab *chunk_table(const struct flowtab_flow *f)
{
	uintptr_t mask =
		((uintptr_t)1 << __atomic_load_n(&f->r.priv_shift, RELAXED)) -
		1;
	struct flowtab *ft;

	memcpy(&ft, (const void *)((uintptr_t)f & ~mask), sizeof(ft));
	return ft;
}

/*
 * A new chunk, zeroed, its head written: the address of its first slot,
 * or NULL. Big ones come from mem_alloc_big (2 MiB aligned), small ones
 * from aligned_alloc at their size rounded up to a power of two.
 */
static struct flowtab_flow *chunk_map(struct flowtab *ft)
{
	size_t align = (size_t)1 << ft->chunk_shift;
	struct flowtab_flow *c;

	if (chunk_bytes(ft) >= MEM_BIG_MIN) {
		c = mem_alloc_big(chunk_bytes(ft), 1);
	} else {
		c = aligned_alloc(align, align);
		if (c)
			memset(c, 0, align);
	}
	if (!c)
		return NULL;
	chunk_set_table(ft, c + 1);
	return c + 1;
}

/* Whether chunk @ci can hand out a slot without a page fault storm:
 * resident, with a free slot. Caller holds alloc_lock. */
static int chunk_has_room(const struct flowtab *ft, size_t ci)
{
	const struct flowtab_chunk *m = &ft->cmeta[ci];

	return m->state == CHUNK_RESIDENT &&
	       (m->free || m->bump < ft->chunk_flows);
}

/* The chunk holding slot @f: a binary search by address. Caller holds
 * alloc_lock. */
static size_t chunk_of(const struct flowtab *ft, const struct flowtab_flow *f)
{
	size_t lo = 0, hi = ft->nchunks;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if ((uintptr_t)f < (uintptr_t)ft->chunk[ft->by_addr[mid]])
			hi = mid;
		else
			lo = mid;
	}
	return ft->by_addr[lo];
}

/* Make the mapped chunk @c (chunk_map) the newest. Caller holds
 * alloc_lock. Returns its index, or SIZE_MAX (none left: @c is the
 * caller's still). */
static size_t chunk_link(struct flowtab *ft, struct flowtab_flow *c)
{
	size_t ci = ft->nchunks, j;

	if (ci >= ft->max_chunks)
		return SIZE_MAX;
	__atomic_store_n(&ft->chunk[ci], c, __ATOMIC_RELEASE);
	/* insertion into the address order */
	for (j = ci;
	     j > 0 && (uintptr_t)ft->chunk[ft->by_addr[j - 1]] > (uintptr_t)c;
	     j--)
		ft->by_addr[j] = ft->by_addr[j - 1];
	ft->by_addr[j] = (uint32_t)ci;
	__atomic_store_n(&ft->nchunks, ci + 1, __ATOMIC_RELEASE);
	return ci;
}

/* Map a new chunk and make it the newest. Caller holds alloc_lock.
 * Returns its index, or SIZE_MAX (none left, or no memory). */
static size_t chunk_add(struct flowtab *ft)
{
	struct flowtab_flow *c;
	size_t ci;

	if (ft->nchunks >= ft->max_chunks)
		return SIZE_MAX;
	c = chunk_map(ft);
	if (!c)
		return SIZE_MAX;
	ci = chunk_link(ft, c);
	if (ci == SIZE_MAX)
		mem_free_big(chunk_head(c), chunk_bytes(ft));
	return ci;
}

/*
 * The grower's loop: each request, a chunk mapped and faulted in outside
 * every lock (milliseconds a huge page on a busy host), then linked as
 * the newest, so that the worker that fills the current chunk finds the
 * next one resident (chunk_pick) instead of taking the page faults.
 */
static void *grow_main(void *arg)
{
	struct flowtab *ft = arg;

	pthread_mutex_lock(&ft->alloc_lock);
	for (;;) {
		struct flowtab_flow *c;

		while (!ft->grow_asked && !ft->grow_quit)
			pthread_cond_wait(&ft->grow_cv, &ft->alloc_lock);
		if (ft->grow_quit)
			break;
		pthread_mutex_unlock(&ft->alloc_lock);
		c = chunk_map(ft);
		pthread_mutex_lock(&ft->alloc_lock);
		if (c && chunk_link(ft, c) == SIZE_MAX)
			mem_free_big(chunk_head(c), chunk_bytes(ft));
		else if (c)
			ft->grown++;
		ft->grow_asked = 0;
	}
	pthread_mutex_unlock(&ft->alloc_lock);
	return NULL;
}

/*
 * Ask the grower for the next chunk once new flows have taken an eighth
 * of the newest one (the rest of it is the grower's time to make the next
 * one: milliseconds a huge page, after a wait for a CPU when every core is
 * busy) and no other chunk could take them after it (none with room,
 * none given back that chunk_pick would fault in again).
 * Caller holds alloc_lock and took its slots from chunk @ci.
 */
static void grow_maybe(struct flowtab *ft, size_t ci)
{
	if (!ft->grow_started || ft->grow_asked || ci + 1 != ft->nchunks ||
	    ft->nchunks >= ft->max_chunks ||
	    ft->cmeta[ci].bump < ft->chunk_flows / 8)
		return;
	for (size_t k = 0; k < ci; k++)
		if (chunk_has_room(ft, k) ||
		    ft->cmeta[k].state == CHUNK_RELEASED)
			return;
	ft->grow_asked = 1;
	pthread_cond_signal(&ft->grow_cv);
}

/*
 * The chunk to take new slots from once the current one is full: the
 * lowest resident one with room (so flows pack into few chunks and the
 * others can empty and be given back), else the lowest released one
 * (faulted in again), else a new one. SIZE_MAX if none. Caller holds
 * alloc_lock.
 */
static size_t chunk_pick(struct flowtab *ft)
{
	size_t ci, rel = SIZE_MAX;

	for (ci = 0; ci < ft->nchunks; ci++) {
		if (chunk_has_room(ft, ci))
			return ci;
		if (rel == SIZE_MAX && ft->cmeta[ci].state == CHUNK_RELEASED)
			rel = ci;
	}
	if (rel == SIZE_MAX)
		return chunk_add(ft);
	/* Its pages read as zeros: fault them in at once (mem_alloc_big),
	 * its head again */
	mem_populate_big(chunk_head(ft->chunk[rel]), chunk_bytes(ft));
	chunk_set_table(ft, ft->chunk[rel]);
	ft->cmeta[rel].state = CHUNK_RESIDENT;
	return rel;
}

/*
 * Free slots from the arena, linked by next_free: one from the current
 * chunk's free list, or up to @n from its untouched end, else the same
 * from another chunk (chunk_pick). NULL when max_chunks are all in use
 * (slots waiting for their grace period count) or no memory. Any worker.
 */
static struct flowtab_flow *slot_alloc(struct flowtab *ft, unsigned int n)
{
	struct flowtab_flow *f = NULL;
	struct flowtab_chunk *m;
	unsigned int k;
	size_t ci;

	pthread_mutex_lock(&ft->alloc_lock);
	ci = ft->cur;
	if (ci >= ft->nchunks || !chunk_has_room(ft, ci)) {
		ci = chunk_pick(ft);
		if (ci == SIZE_MAX)
			goto out;
		ft->cur = ci;
	}
	m = &ft->cmeta[ci];
	if (m->free) {
		/* one: the list is scattered, each next a miss */
		f = m->free;
		m->free = f->next_free;
		f->next_free = NULL;
		if (m->free)
			__builtin_prefetch(m->free, 1);
		k = 1;
	} else {
		f = &ft->chunk[ci][m->bump];
		for (k = 0; k < n && m->bump < ft->chunk_flows; k++, m->bump++)
			f[k].next_free =
				k + 1 < n && m->bump + 1 < ft->chunk_flows
					? &f[k + 1]
					: NULL;
		grow_maybe(ft, ci);
	}
	__atomic_store_n(&m->used, m->used + k, RELAXED);
out:
	pthread_mutex_unlock(&ft->alloc_lock);
	return f;
}

/* Back to its chunk's free list: a slot no reader can reach any more. */
static void slot_release(struct flowtab *ft, struct flowtab_flow *f)
{
	struct flowtab_chunk *m;

	__atomic_store_n(&f->r.priv, FLOW_FREE, __ATOMIC_RELEASE);
	pthread_mutex_lock(&ft->alloc_lock);
	m = &ft->cmeta[chunk_of(ft, f)];
	f->next_free = m->free;
	m->free = f;
	__atomic_store_n(&m->used, m->used - 1, RELAXED);
	pthread_mutex_unlock(&ft->alloc_lock);
}

/*
 * Give the pages of chunks found empty at CHUNK_IDLE_PASSES passes in a
 * row back to the kernel, all but the current one (new flows come from
 * it; at most one chunk's worth of memory stays for nothing) and the
 * reserve (flowtab_presize). Chunks below a huge page in size (small
 * caps, calloc'd) are kept. The expiring thread, outside any read-side
 * section: the madvise runs without the lock, the chunk marked so that
 * no allocation takes it meanwhile.
 */
static void chunks_release(struct flowtab *ft)
{
	size_t ci, n;
	int rc;

	if (chunk_bytes(ft) < MEM_BIG_MIN)
		return;
	n = __atomic_load_n(&ft->nchunks, __ATOMIC_ACQUIRE);
	for (ci = ft->reserve; ci < n; ci++) {
		struct flowtab_chunk *m = &ft->cmeta[ci];

		if (chunk_in_use(ft, ci)) {
			m->idle = 0; /* the common case: no lock taken */
			continue;
		}
		if (++m->idle < CHUNK_IDLE_PASSES)
			continue;
		pthread_mutex_lock(&ft->alloc_lock);
		if (m->used || m->state != CHUNK_RESIDENT || ci == ft->cur) {
			pthread_mutex_unlock(&ft->alloc_lock);
			continue;
		}
		m->state = CHUNK_RELEASING;
		m->free = NULL;
		m->bump = 0;
		pthread_mutex_unlock(&ft->alloc_lock);
		rc = mem_release_big(chunk_head(ft->chunk[ci]),
				     chunk_bytes(ft));
		pthread_mutex_lock(&ft->alloc_lock);
		/* if the kernel refused, the pages are as they were */
		m->state = rc ? CHUNK_RESIDENT : CHUNK_RELEASED;
		ft->released += !rc;
		pthread_mutex_unlock(&ft->alloc_lock);
	}
}

/*
 * A slot for a new flow, or NULL (arena full, or an injected failure).
 * With @stash (a worker's, the batched path), from the free slots kept
 * there, taken from the arena a run at a time (one lock for
 * SLOT_RUN new flows); they count as used in their chunk meanwhile.
 */
#define SLOT_RUN 16
static struct flowtab_flow *flow_slot(struct flowtab *ft, void **stash)
{
	uint64_t fail = __atomic_load_n(&ft->fail_allocs, RELAXED);
	struct flowtab_flow *f;

	while (fail) {
		if (__atomic_compare_exchange_n(&ft->fail_allocs, &fail,
						fail - 1, 1, RELAXED, RELAXED))
			return NULL;
	}
	if (!stash)
		return slot_alloc(ft, 1);
	f = *stash ? *stash : slot_alloc(ft, SLOT_RUN);
	if (f) {
		*stash = f->next_free;
		/* the next new flow's slot: a write miss taken early */
		if (*stash) {
			__builtin_prefetch(*stash, 1);
			__builtin_prefetch((char *)*stash + 64, 1);
		}
	}
	return f;
}

/* Make @f an unpublished flow holding this one packet. Its fields are
 * set one by one: a walk may be reading its state meanwhile. */
static void flow_init(struct flowtab *ft, struct flowtab_flow *f,
		      const struct flow_key *key, int dir, uint32_t wirelen,
		      uint64_t ts_ns)
{
	__atomic_store_n(&f->next, NULL, RELAXED);
	key_store(f, key);
	for (int d = 0; d < 2; d++) {
		__atomic_store_n(&f->r.pkts[d], d == dir, RELAXED);
		__atomic_store_n(&f->r.bytes[d], d == dir ? wirelen : 0,
				 RELAXED);
	}
	__atomic_store_n(&f->r.first_ns, ts_ns, RELAXED);
	__atomic_store_n(&f->r.last_ns, ts_ns, RELAXED);
	__atomic_store_n(&f->r.app, 0, RELAXED);
	__atomic_store_n(&f->r.priv_shift, (uint8_t)ft->chunk_shift, RELAXED);
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
static __attribute__((noinline)) void flow_sniff(struct flowtab *ft,
						 struct flowtab_flow *f,
						 const struct flowtab_pend *p)
{
	uint32_t w = __atomic_load_n(&f->r.app, RELAXED), nw, ref;
	struct app_guess g;
	struct app_pkt ap;
	char cur[APP_DETAIL_MAX];
	uint64_t id;
	uint32_t off, len;

	if (app_l4_payload(p->pl, p->plend, p->pll4, p->plproto, &off, &len) ||
	    !len)
		return;
	if (__atomic_load_n(&f->r.pkts[0], RELAXED) +
		    __atomic_load_n(&f->r.pkts[1], RELAXED) >
	    APP_INSPECT_PKTS) {
		__atomic_fetch_or(&f->r.app, APP_WORD_DONE, RELAXED);
		return;
	}
	id = flow_acquire(f);
	ap.p = p->pl + off;
	ap.len = len;
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
	uint32_t app;

	flow_acquire(f);
	ft = chunk_table(f);
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
		r.priv_shift = 0;
		ft->end_hook(ft->end_arg, &r,
			     __atomic_load_n(&f->r.priv_evicted, RELAXED));
	}
	__atomic_store_n(&f->r.priv_evicted, 0, RELAXED);
	app = __atomic_load_n(&f->r.app, RELAXED);
	if (APP_WORD_REF(app))
		pool_release(&ft->pool, APP_WORD_REF(app));
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
static void hint_forget(struct flowtab *ft, struct flowtab_flow *f,
			unsigned long hash)
{
	uint64_t *set, e;

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

/* Remember @f (found in or added to the table) in its set: in an empty
 * way (way 1 only when way 0 is taken), else most recent in way 0, the
 * one it displaces moving to way 1 (hint_put then reads that one's
 * state: a miss an empty way saves). */
static void hint_store(uint64_t *set, unsigned long hash,
		       struct flowtab_flow *f)
{
	uint64_t e = (uint64_t)(uintptr_t)f | hint_tag(hash);
	uint64_t old = __atomic_load_n(&set[0], __ATOMIC_ACQUIRE);

	if ((uintptr_t)f & ~HINT_PTR)
		return; /* a pointer above 2^48: not remembered */
	if (old == e)
		return;
	if (old && !__atomic_load_n(&set[1], __ATOMIC_ACQUIRE)) {
		hint_put(set, 1, e);
		return;
	}
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

/* The head of @hash's bucket, and the lock of its stripe. */
static struct flowtab_flow **bucket_head(const struct flowtab *ft,
					 unsigned long hash)
{
	return &ft->bkt[hash & ft->bmask];
}

static pthread_mutex_t *bucket_lock(const struct flowtab *ft,
				    unsigned long hash)
{
	return &ft->lock[hash & (LOCK_STRIPES - 1)].m;
}

/*
 * The flow of @key in @hash's chain, or NULL; the head the walk started
 * from in *@head0 (flow_publish). Caller holds rcu_read_lock (or the
 * bucket's lock). Lock-free: the chain pointers are acquire-loaded,
 * pairing with the release stores that link and unlink. A flow being
 * unlinked meanwhile may still be returned: a packet counted in it is
 * folded by its call_rcu callback, as for any flow deleted under a
 * reader.
 */
static struct flowtab_flow *chain_find(const struct flowtab *ft,
				       unsigned long hash,
				       const struct flow_key *key,
				       struct flowtab_flow **head0)
{
	struct flowtab_flow *f =
		__atomic_load_n(bucket_head(ft, hash), __ATOMIC_ACQUIRE);

	*head0 = f;
	for (; f; f = __atomic_load_n(&f->next, __ATOMIC_ACQUIRE)) {
		if (key_equal(f, key))
			return f;
	}
	return NULL;
}

/*
 * Unlink @f and hand it to call_rcu. Caller holds rcu_read_lock; the
 * expiring thread (the only one that deletes). Returns 1 if this call
 * removed it. Inserts only ever write a bucket's head, so a flow further
 * down its chain is unlinked without a lock (one release store into its
 * predecessor, which no one else writes), and the head under the
 * stripe's lock, held for that store only: a capture worker inserting
 * into the stripe never waits behind a walk of cold memory (nor behind
 * this thread preempted in one). An unlinked flow keeps its next
 * pointer, so a reader standing on it walks on.
 */
static int flow_delete(struct flowtab *ft, struct flowtab_flow *f)
{
	struct flow_key k;
	unsigned long hash;
	struct flowtab_flow **head, **pp, *g;
	pthread_mutex_t *lock;
	int done = 0;

	key_load(f, &k);
	hash = (unsigned long)flowkey_hash(&k, ft->seed);
	head = bucket_head(ft, hash);
	lock = bucket_lock(ft, hash);
	while (!done) {
		for (pp = head; (g = __atomic_load_n(pp, __ATOMIC_ACQUIRE));
		     pp = &g->next) {
			if (g == f)
				break;
		}
		if (!g)
			return 0; /* already removed */
		if (pp != head) {
			__atomic_store_n(pp, __atomic_load_n(&f->next, RELAXED),
					 __ATOMIC_RELEASE);
			break;
		}
		pthread_mutex_lock(lock);
		if (__atomic_load_n(head, RELAXED) == f) {
			__atomic_store_n(head,
					 __atomic_load_n(&f->next, RELAXED),
					 __ATOMIC_RELEASE);
			done = 1;
		}
		pthread_mutex_unlock(lock);
		/* else a new flow went in at the head: walk again */
	}
	hint_forget(ft, f, hash);
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
 * Buckets: half the cap rounded up to a power of two (chains of about
 * FLOWTAB_LOAD flows at the cap), fixed for the table's life: 8 bytes
 * each, 4 MB at the default cap, mapped zeroed and resident only where
 * touched.
 */
static unsigned long flowtab_nbuckets(size_t max)
{
	unsigned long b = pow2_at_least(max) / FLOWTAB_LOAD;

	return b < FLOWTAB_MIN_BUCKETS ? FLOWTAB_MIN_BUCKETS : b;
}

void flowtab_presize(struct flowtab *ft)
{
	size_t want = ft->max / FLOWTAB_RESERVE_DIV;

	mem_populate_big(ft->bkt, (ft->bmask + 1) * sizeof(*ft->bkt));
	mem_populate_big(ft->hint, 2 * (ft->hmask + 1) * sizeof(*ft->hint));
	pthread_mutex_lock(&ft->alloc_lock);
	while ((ft->nchunks == 0 || ft->nchunks * ft->chunk_flows < want) &&
	       chunk_add(ft) != SIZE_MAX)
		;
	ft->reserve = ft->nchunks;
	pthread_mutex_unlock(&ft->alloc_lock);
	/* without a grower (small chunks, or no thread), workers map their
	 * chunks themselves as before */
	if (chunk_bytes(ft) >= MEM_BIG_MIN && !ft->grow_started &&
	    pthread_create(&ft->grow_tid, NULL, grow_main, ft) == 0)
		ft->grow_started = 1;
}

uint64_t flowtab_chunks_grown(struct flowtab *ft)
{
	uint64_t n;

	pthread_mutex_lock(&ft->alloc_lock);
	n = ft->grown;
	pthread_mutex_unlock(&ft->alloc_lock);
	return n;
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

	ft->bmask = flowtab_nbuckets(ft->max) - 1;
	/*
	 * Room for twice the cap plus two chunks: deleted flows hold their
	 * slot until their grace period ends, and a burst of expiry can
	 * leave many waiting. Beyond that, new flows overflow (counted).
	 * Only touched pages are resident.
	 */
	/* with its head, a small chunk is a power of two in size */
	ft->chunk_flows = pow2_at_least(ft->max + 1) - 1;
	if (ft->chunk_flows > CHUNK_FLOWS_MAX)
		ft->chunk_flows = CHUNK_FLOWS_MAX;
	ft->chunk_shift = 0;
	while (((size_t)1 << ft->chunk_shift) < chunk_bytes(ft))
		ft->chunk_shift++;
	if (chunk_bytes(ft) >= MEM_BIG_MIN)
		ft->chunk_shift = __builtin_ctzl(MEM_HUGE_SIZE);
	ft->max_chunks =
		(2 * ft->max + ft->chunk_flows - 1) / ft->chunk_flows + 2;
	ft->chunk = calloc(ft->max_chunks, sizeof(*ft->chunk));
	ft->cmeta = calloc(ft->max_chunks, sizeof(*ft->cmeta));
	ft->by_addr = calloc(ft->max_chunks, sizeof(*ft->by_addr));
	ft->lock = aligned_alloc(64, LOCK_STRIPES * sizeof(*ft->lock));
	ft->cur = SIZE_MAX;
	/* app label details: at most one entry per slot */
	ft->pool.max = ft->max_chunks * ft->chunk_flows > APP_REF_MAX
			       ? APP_REF_MAX
			       : (uint32_t)(ft->max_chunks * ft->chunk_flows);
	ft->pool.chunk =
		calloc(ft->pool.max / POOL_CHUNK + 1, sizeof(*ft->pool.chunk));
	if (!ft->chunk || !ft->cmeta || !ft->by_addr || !ft->lock ||
	    !ft->pool.chunk) {
		snprintf(err, errlen, "flow table: %s", strerror(ENOMEM));
		goto fail;
	}
	pthread_mutex_init(&ft->alloc_lock, NULL);
	pthread_cond_init(&ft->grow_cv, NULL);
	pthread_mutex_init(&ft->pool.lock, NULL);
	for (int i = 0; i < LOCK_STRIPES; i++)
		pthread_mutex_init(&ft->lock[i].m, NULL);
	ft->hmask = flowtab_hint_sets(ft->max) - 1;
	ft->hint = mem_alloc_big(2 * (ft->hmask + 1) * sizeof(*ft->hint), 0);
	if (!ft->hint) {
		snprintf(err, errlen, "flow table: %s", strerror(ENOMEM));
		goto fail_locks;
	}
	ft->bkt = mem_alloc_big((ft->bmask + 1) * sizeof(*ft->bkt), 0);
	if (!ft->bkt) {
		snprintf(err, errlen, "flow table: %s", strerror(ENOMEM));
		mem_free_big(ft->hint, 2 * (ft->hmask + 1) * sizeof(*ft->hint));
		goto fail_locks;
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

fail_locks:
	for (int i = 0; i < LOCK_STRIPES; i++)
		pthread_mutex_destroy(&ft->lock[i].m);
	pthread_mutex_destroy(&ft->pool.lock);
	pthread_mutex_destroy(&ft->alloc_lock);
	pthread_cond_destroy(&ft->grow_cv);
fail:
	free(ft->lock);
	free(ft->pool.chunk);
	free(ft->by_addr);
	free(ft->cmeta);
	free(ft->chunk);
	free(ft);
	return NULL;
}

void flowtab_free(struct flowtab *ft)
{
	size_t ci;

	if (!ft)
		return;
	/* Callbacks of earlier expiries write into *ft: let them finish.
	 * No other thread uses the table any more (our contract): the
	 * chains need no unlinking, the memory goes as it is. */
	rcupend_wait(&ft->sums.pending);
	if (ft->grow_started) {
		pthread_mutex_lock(&ft->alloc_lock);
		ft->grow_quit = 1;
		pthread_cond_signal(&ft->grow_cv);
		pthread_mutex_unlock(&ft->alloc_lock);
		pthread_join(ft->grow_tid, NULL);
	}
	pthread_cond_destroy(&ft->grow_cv);
	mem_free_big(ft->bkt, (ft->bmask + 1) * sizeof(*ft->bkt));
	for (int i = 0; i < LOCK_STRIPES; i++)
		pthread_mutex_destroy(&ft->lock[i].m);
	free(ft->lock);
	for (ci = 0; ci < ft->nchunks; ci++)
		mem_free_big(chunk_head(ft->chunk[ci]), chunk_bytes(ft));
	free(ft->chunk);
	free(ft->cmeta);
	free(ft->by_addr);
	for (ci = 0; ci < ft->pool.nchunks; ci++)
		free(ft->pool.chunk[ci]);
	free(ft->pool.chunk);
	pthread_mutex_destroy(&ft->pool.lock);
	pthread_mutex_destroy(&ft->alloc_lock);
	mem_free_big(ft->hint, 2 * (ft->hmask + 1) * sizeof(*ft->hint));
	free(ft);
}

/*
 * Publish @f - a new flow holding this packet, its live slot reserved -
 * at the head of its bucket's chain, unless another worker linked the
 * same key first. @head0: the head of the caller's lock-free walk that
 * did not find the key; if the head is still that, no flow went in
 * since (none is freed while the caller's read-side section lasts), and
 * the lock is held for the link only. Returns the flow the packet is
 * counted in: @f, or the other one; then @f was never seen by anyone,
 * its live slot is given back and it is the caller's again.
 */
static struct flowtab_flow *
flow_publish(struct flowtab *ft, struct flowtab_flow *f, unsigned long hash,
	     const struct flow_key *key, int dir, uint32_t wirelen,
	     uint64_t ts_ns, struct flowtab_flow *head0)
{
	pthread_mutex_t *lock = bucket_lock(ft, hash);
	struct flowtab_flow **head = bucket_head(ft, hash), *got = NULL, *h;

	pthread_mutex_lock(lock);
	if (__atomic_load_n(head, RELAXED) != head0)
		got = chain_find(ft, hash, key, &h);
	if (!got) {
		__atomic_store_n(&f->next, __atomic_load_n(head, RELAXED),
				 RELAXED);
		__atomic_store_n(&f->r.priv, FLOW_LIVE, __ATOMIC_RELEASE);
		/* the flow's fields, then its link: readers acquire-load it */
		__atomic_store_n(head, f, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(lock);
	if (!got)
		return f;
	__atomic_fetch_sub(&ft->live, 1, RELAXED);
	flow_add(got, ft->single, dir, wirelen, ts_ns);
	return got;
}

/*
 * The slow path: find the flow in its chain or add it, and remember it
 * in @slot. Returns with the packet counted, or NULL (overflow). With
 * @spare (the batched path), a slot that lost an insert race is kept
 * there for the next new flow rather than freed.
 */
static struct flowtab_flow *account_slow(struct flowtab *ft, uint64_t *slot,
					 unsigned long hash,
					 const struct flow_key *key, int dir,
					 uint32_t wirelen, uint64_t ts_ns,
					 void **spare)
{
	struct flowtab_flow *f, *got, *head0;

	f = chain_find(ft, hash, key, &head0);
	if (f) {
		flow_add(f, ft->single, dir, wirelen, ts_ns);
		hint_store(slot, hash, f);
		return f;
	}
	if (!live_reserve(ft))
		goto overflow;
	f = flow_slot(ft, spare);
	if (!f) {
		__atomic_fetch_sub(&ft->live, 1, RELAXED);
		goto overflow;
	}
	flow_init(ft, f, key, dir, wirelen, ts_ns);
	got = flow_publish(ft, f, hash, key, dir, wirelen, ts_ns, head0);
	if (got != f) {
		if (spare) {
			f->next_free = *spare;
			*spare = f;
		} else {
			slot_release(ft, f);
		}
	}
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
	struct flowtab_flow *f, *got, *head0;
	uint64_t old;

	if (!pkts)
		return;
	dir = dir ? FLOW_DIR_BA : FLOW_DIR_AB;
	hash = (unsigned long)flowkey_hash(key, ft->seed);
	f = chain_find(ft, hash, key, &head0);
	if (!f) {
		if (!live_reserve(ft))
			goto overflow;
		f = flow_slot(ft, NULL);
		if (!f) {
			__atomic_fetch_sub(&ft->live, 1, RELAXED);
			goto overflow;
		}
		/* a new flow opens with one packet of no bytes, counted */
		flow_init(ft, f, key, dir, 0, first_ns);
		got = flow_publish(ft, f, hash, key, dir, 0, first_ns, head0);
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

void flowtab_prefetch(const struct flowtab *ft, const struct flow_key *key,
		      int stage)
{
	struct flowtab_flow **head =
		bucket_head(ft, (unsigned long)flowkey_hash(key, ft->seed));
	const char *f;

	if (!stage) {
		__builtin_prefetch(head);
		return;
	}
	/* a flow unlinked meanwhile is still mapped (call_rcu): harmless */
	f = (const char *)__atomic_load_n(head, RELAXED);
	if (f) {
		__builtin_prefetch(f, 1);
		__builtin_prefetch(f + 64, 1);
	}
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
/* A packet with no hint (likely a new flow) has its bucket prefetched
 * at BATCH_LOAD, and the first flow of that chain at BATCH_NEXT: the
 * insert walks both, cold once the table outgrows the caches. */
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

		q->cand = e;
		q->loaded = 1;
		if (e) {
			__builtin_prefetch(f, 1);
			__builtin_prefetch(f + 64, 1);
		} else {
			__builtin_prefetch(bucket_head(ft, q->hash));
		}
		if (b->n > BATCH_NEXT) {
			struct flowtab_pend *r =
				&b->e[(b->head - 1 - BATCH_NEXT) %
				      FLOWTAB_BATCH];

			if (!r->cand)
				__builtin_prefetch(__atomic_load_n(
					bucket_head(ft, r->hash), RELAXED));
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

/* A collect buffer at least this big shrinks when four times too big. */
#define COLLECT_SHRINK_MIN ((size_t)1 << 20)

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
		r->priv_evicted = 0;
		/* as a row read in place */
		r->priv_shift = __atomic_load_n(&f->r.priv_shift, RELAXED);
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
	/* A buffer four times too big (the flows of a flood expired) shrinks
	 * to size, and its pages go back to the kernel. */
	if (*cap / 4 > want && *cap * sizeof(**rows) >= COLLECT_SHRINK_MIN) {
		struct flowtab_row *p = realloc(*rows, want * sizeof(*p));

		if (p) {
			*rows = p;
			*cap = want;
			malloc_trim(0);
		}
	}
	for (;;) {
		if (*cap < want) {
			struct flowtab_row *p;

			if (want > SIZE_MAX / sizeof(*p))
				return -ENOMEM;
			/*
			 * The old rows are not kept: a new buffer, not
			 * realloc, which would copy them when it cannot move
			 * the mapping (the huge-page advice splits it) and
			 * hold both at once - the monitor's peak under a
			 * flood.
			 */
			free(*rows);
			*rows = NULL;
			*cap = 0;
			p = malloc(want * sizeof(*p));
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
		while (it->slot < ft->chunk_flows &&
		       chunk_in_use(ft, it->chunk)) {
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
	n += evict_pressure(ft);
	/* the chunks emptied by earlier passes (their flows' grace periods
	 * have mostly ended by now) */
	chunks_release(ft);
	return n;
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

size_t flowtab_arena_bytes(struct flowtab *ft)
{
	size_t ci, n = 0;

	pthread_mutex_lock(&ft->alloc_lock);
	for (ci = 0; ci < ft->nchunks; ci++)
		n += ft->cmeta[ci].state != CHUNK_RELEASED;
	pthread_mutex_unlock(&ft->alloc_lock);
	return n * (chunk_bytes(ft) < MEM_BIG_MIN
			    ? chunk_bytes(ft)
			    : mem_big_len(chunk_bytes(ft)));
}

size_t flowtab_buckets(const struct flowtab *ft)
{
	return ft->bmask + 1;
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
