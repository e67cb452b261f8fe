/*
 * flowtab.h - the flow table: flows, their hash index, expiry and the cap.
 *
 * Threads: any number of capture workers account packets concurrently;
 * readers (UI, reports) collect copies without ever blocking them; exactly
 * one thread at a time calls flowtab_expire (the UI thread, or the report
 * code after the workers have stopped). Every thread that calls in must be
 * registered with liburcu (rcu_register_thread).
 *
 * Memory: deleted flows are freed through call_rcu; their final counts are
 * folded into the "expired" totals in that callback, after the grace
 * period, so an increment racing with the delete is never lost. The table
 * counts its callbacks still to run: flowtab_barrier and flowtab_free wait
 * for that count, not for liburcu's rcu_barrier (which aborts when it
 * cannot allocate). Flows live in 2 MiB arena chunks; a chunk left empty
 * for a few expiry passes gives its pages back to the kernel.
 *
 * Size: the hash buckets are fixed at creation (half the cap, rounded up
 * to a power of two), mapped zeroed and resident where touched;
 * flowtab_presize faults them in at once for a live capture, with the
 * hint index and a reserve of flow slots.
 *
 * Cap: at most max_flows live entries. A packet of a new flow that finds
 * the table full is counted in the "overflow" totals for its kind (and
 * direction-less); it is never dropped from the totals. At each expiry
 * pass a table above 95% of its cap is brought down to 85% by evicting
 * the least recently seen flows (idle ones first; a flow that keeps
 * sending keeps its entry); their counts join the expired totals and
 * they are counted as evicted. Invariant:
 *   packets accounted = live flows + expired + overflow  (per kind)
 */
#ifndef PKTSTAT_FLOWTAB_H
#define PKTSTAT_FLOWTAB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "decode.h"
#include "flowkey.h"

struct flowtab;

struct flowtab_counts {
	uint64_t pkts;
	uint64_t bytes;
};

/* One flow's counters: a copy made by flowtab_collect, or the flow itself
 * in a stopped table (flowtab_row_next). */
struct flowtab_row {
	struct flow_key key;
	uint32_t app; /* application label: app.h's APP_WORD_* */
	/* the table's own, meaningless in a copy: a slot's state, whether
	 * the expiring thread evicted it, and its chunk's alignment */
	uint16_t priv;
	uint8_t priv_evicted;
	uint8_t priv_shift;
	uint64_t pkts[2]; /* [FLOW_DIR_AB], [FLOW_DIR_BA] */
	uint64_t bytes[2];
	uint64_t first_ns, last_ns; /* packet time of first and last packet */
	uint64_t id;		    /* unique, increasing in creation order */
};

/*
 * flowtab_new - create a table for at most @max_flows live flows (0 means
 * the default, FLOWTAB_DEFAULT_MAX). The hash seed comes from getrandom().
 * Returns NULL with a one-line message in @err on failure. Also makes sure
 * liburcu's call_rcu thread exists (it is started here, not at the first
 * expiry, for liburcu 0.13 aborts if it cannot start it).
 */
#define FLOWTAB_DEFAULT_MAX 1000000
struct flowtab *flowtab_new(size_t max_flows, char *err, size_t errlen);

/*
 * flowtab_free - destroy the table. Caller guarantees no other thread uses
 * it any more. Waits for the table's pending call_rcu callbacks (as
 * flowtab_barrier), so not from inside a read-side section.
 * flowtab_free(NULL) is a no-op.
 */
void flowtab_free(struct flowtab *ft);

/*
 * flowtab_account - add one packet of @wirelen bytes in direction @dir to
 * the flow @key, creating it if needed. Capture worker thread; the caller
 * holds rcu_read_lock. Lock-free but for a new flow: relaxed atomic adds
 * on the flow's counters; an insert takes its bucket stripe's lock (two
 * workers inserting one key: the loser frees its slot).
 * @ts_ns is the packet's timestamp; last-seen never moves backwards.
 */
void flowtab_account(struct flowtab *ft, const struct flow_key *key, int dir,
		     uint32_t wirelen, uint64_t ts_ns);

/*
 * flowtab_add - flowtab_account for @pkts packets of @bytes bytes in all,
 * seen between @first_ns and @last_ns: backends that count in the kernel
 * deliver per-flow deltas. Same thread and lock rules; a flow that finds
 * the table full goes to the overflow totals whole.
 */
void flowtab_add(struct flowtab *ft, const struct flow_key *key, int dir,
		 uint64_t pkts, uint64_t bytes, uint64_t first_ns,
		 uint64_t last_ns);

/*
 * flowtab_prefetch - warm the caches for a flowtab_add of @key a few
 * calls later: stage 0 its bucket, stage 1 (some calls after stage 0) the
 * first flow of its chain. Only loads; the caller holds rcu_read_lock.
 */
void flowtab_prefetch(const struct flowtab *ft, const struct flow_key *key,
		      int stage);

/*
 * flowtab_add_overflow - add packets that were never given a flow (the
 * kernel's flow map was full) to the overflow totals of @kind, so the
 * invariant live + expired + overflow = accounted still holds. Any thread.
 */
void flowtab_add_overflow(struct flowtab *ft, int kind, uint64_t pkts,
			  uint64_t bytes);

/*
 * A worker's short pipeline of packets whose flow update is deferred by a
 * few packets, so that the flow's memory is prefetched meanwhile (a table
 * of 100k flows does not fit in cache: each lookup was two or three cache
 * misses in a row). Owned by one worker; the candidate pointers it holds
 * are only valid inside the read-side section they were loaded in, so it
 * must be flushed before every rcu_read_unlock.
 */
#define FLOWTAB_BATCH 8
struct flowtab_pend {
	struct flow_key key;
	uint64_t hash;
	uint64_t ts_ns;
	uint64_t cand;	   /* the hint entry picked for it, once loaded */
	const uint8_t *pl; /* the frame (flowtab_batch_payload) */
	uint32_t plend;	   /* its packet's end */
	uint32_t wirelen;
	uint32_t pll4;	 /* its transport header's offset */
	uint8_t plproto; /* and protocol */
	uint8_t dir;
	uint8_t loaded;
};
struct flowtab_batch {
	unsigned int head, n;
	void *spare; /* a free slot kept for the next new flow */
	struct flowtab_pend e[FLOWTAB_BATCH];
};

/*
 * flowtab_batch_add - flowtab_account, deferred: the packet is counted at
 * the latest by the next flowtab_batch_flush. Same thread and lock rules
 * as flowtab_account. @b starts zeroed.
 */
void flowtab_batch_add(struct flowtab *ft, struct flowtab_batch *b,
		       const struct flow_key *key, int dir, uint32_t wirelen,
		       uint64_t ts_ns);

/* flowtab_batch_flush - account every packet still in @b. Call before
 * leaving the read-side section the packets were added in. */
void flowtab_batch_flush(struct flowtab *ft, struct flowtab_batch *b);

/*
 * flowtab_batch_payload - the frame of the packet just given to
 * flowtab_batch_add: its bytes up to @end are the packet's
 * (app_frame_end), its TCP or UDP header (@ipproto) is at @l4_off. When
 * that packet is accounted, a flow among its first APP_INSPECT_PKTS
 * packets and not yet fully labelled has the payload found there
 * (app_l4_payload) run through app_sniff (app.h); other flows' packets
 * are not looked at. The bytes must stay valid until that packet is
 * accounted (flowtab_batch_flush at the latest), or be withdrawn by
 * flowtab_batch_forget_payload.
 */
static inline void flowtab_batch_payload(struct flowtab_batch *b,
					 const uint8_t *frame, uint32_t end,
					 uint32_t l4_off, uint8_t ipproto)
{
	struct flowtab_pend *p = &b->e[(b->head - 1) % FLOWTAB_BATCH];

	p->pl = frame;
	p->plend = end;
	p->pll4 = l4_off;
	p->plproto = ipproto;
}

/* flowtab_batch_forget_payload - the payloads of @b's pending packets are
 * no longer valid: account them without looking at their bytes. */
void flowtab_batch_forget_payload(struct flowtab_batch *b);

/*
 * flowtab_app_detail - the detail text of row @r's app label (app.h),
 * copied into @buf (@len bytes, NUL-terminated): its length, or 0 (none;
 * also when the flow is gone and its text was reused). Details live out
 * of line, one 96-byte entry per labelled flow, freed with the flow. Any
 * registered thread, while the table lives; lock-free (a sequence count).
 */
size_t flowtab_app_detail(const struct flowtab *ft, const struct flowtab_row *r,
			  char *buf, size_t len);

/*
 * flowtab_collect - copy every live flow into *@rows (capacity in *@cap;
 * replaced by a bigger buffer when too small, a much smaller one when
 * four times too big). Takes rcu_read_lock only while copying. Any
 * registered thread. Returns the number of rows, or -ENOMEM (the old rows
 * are then gone: *@rows may be NULL, *@cap 0).
 */
ssize_t flowtab_collect(struct flowtab *ft, struct flowtab_row **rows,
			size_t *cap);

/*
 * flowtab_row_next - the live flows of a stopped table, in place, not
 * copied: start with a zeroed @it; returns NULL after the last. Only once
 * nothing changes the table any more (workers joined, flowtab_barrier
 * done); the rows live as long as the table. The final report reads a
 * million flows this way without a copy of them.
 */
struct flowtab_iter {
	size_t chunk, slot;
};
const struct flowtab_row *flowtab_row_next(const struct flowtab *ft,
					   struct flowtab_iter *it);

/*
 * flowtab_expire - delete flows whose last packet is older than
 * now_ns - idle_ns; they are freed via call_rcu and their counts folded
 * into the expired totals. Also, above FLOWTAB_HIGH_PCT (95%) of the cap,
 * the least recently seen flows are evicted down to 85% (counted in
 * flowtab_evicted_flows); between passes a new flow at the cap is
 * overflow.
 * One thread at a time. Returns the number of flows deleted.
 */
size_t flowtab_expire(struct flowtab *ft, uint64_t now_ns, uint64_t idle_ns);

/* Number of live flows (approximate while workers insert). */
size_t flowtab_count(const struct flowtab *ft);

/* Configured cap. */
size_t flowtab_max(const struct flowtab *ft);

/* Bytes of flow slots resident now: the arena's chunks, less those an
 * expiry pass gave back to the kernel once empty (tests, diagnostics).
 * Any thread. */
size_t flowtab_arena_bytes(struct flowtab *ft);

/* Number of hash buckets now (tests, diagnostics). Any thread. */
size_t flowtab_buckets(const struct flowtab *ft);

/*
 * flowtab_totals - per-kind totals of flows already expired and of packets
 * that found the table full. Either pointer may be NULL. Expired totals
 * include only flows whose call_rcu callback has run: call
 * flowtab_barrier() first for an exact figure after the workers stopped.
 */
void flowtab_totals(const struct flowtab *ft,
		    struct flowtab_counts expired[KIND_COUNT],
		    struct flowtab_counts overflow[KIND_COUNT]);

/* Number of flows expired so far (idle or evicted). */
uint64_t flowtab_expired_flows(const struct flowtab *ft);

/* Of those, the flows evicted under pressure (the table above 95% of its
 * cap at an expiry pass: least recently seen first, down to 85%). */
uint64_t flowtab_evicted_flows(const struct flowtab *ft);

/* Wait until every call_rcu callback of this table's deletions so far has
 * run (polling a count of them; allocates nothing). Registered thread,
 * not inside a read-side section. */
void flowtab_barrier(struct flowtab *ft);

/*
 * flowtab_presize - fault in now, for a live capture, the bucket array
 * and the hint index (4 MB each at the default cap) and flow slots for an
 * eighth of the cap (16 MB at the default cap), which stay resident
 * however many flows expire: a burst of new flows then takes no page
 * faults in the workers until it outgrows them. Any registered thread,
 * before the workers start.
 */
void flowtab_presize(struct flowtab *ft);

/*
 * flowtab_chunks_grown - arena chunks made ahead by the grower, the thread
 * flowtab_presize starts: once the newest chunk is half taken it maps and
 * faults in the next, so that a flood past the reserve takes no page
 * faults in the workers either (unless it outruns the grower). Any thread.
 */
uint64_t flowtab_chunks_grown(struct flowtab *ft);

/*
 * flowtab_set_writers - how many threads will call flowtab_account /
 * flowtab_batch_add. With exactly 1, counters are updated with plain
 * (unlocked) stores; any other number (the default is many) uses atomic
 * read-modify-writes. Call before the first packet is accounted.
 */
void flowtab_set_writers(struct flowtab *ft, unsigned int n);

/*
 * flowtab_set_end_hook - call @fn with each flow's final counts when it
 * leaves the table (idle expiry, or @evicted under pressure), from the
 * flow's call_rcu callback: after the grace period, so no packet can be
 * added to it any more, and before its counts are gone. Runs on liburcu's
 * call_rcu thread, not on the capture path: @fn must not block for long
 * (it delays every later free) and must not call into the table. A flow
 * still live at the end is never passed (the caller walks those itself).
 * Set once, before the first packet; NULL removes it.
 */
typedef void (*flowtab_end_fn)(void *arg, const struct flowtab_row *r,
			       int evicted);
void flowtab_set_end_hook(struct flowtab *ft, flowtab_end_fn fn, void *arg);

/*
 * flowtab_inject_alloc_failures - testing hook: the next @n flow node
 * allocations fail as if malloc returned NULL (those packets go to the
 * overflow totals). Any thread.
 */
void flowtab_inject_alloc_failures(struct flowtab *ft, uint64_t n);

#endif
