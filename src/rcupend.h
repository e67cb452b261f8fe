/*
 * rcupend.h - a count of one owner's call_rcu callbacks still to run, and
 * the wait for it: what flowtab and counters use instead of liburcu's
 * rcu_barrier().
 *
 * Why not rcu_barrier: liburcu 0.13's allocates a completion and one work
 * item per call_rcu thread, and calls urcu_die (abort) when either
 * allocation fails, so a process short of memory crashed at exit after
 * its report was complete. Counting our own callbacks allocates nothing;
 * they are still queued and run by liburcu's call_rcu.
 *
 * Threads: rcupend_add on the thread that calls call_rcu, just before;
 * rcupend_done as the callback's very last action (on liburcu's call_rcu
 * thread), after which the callback must not touch its owner or its node;
 * rcupend_wait on any registered thread outside a read-side section (the
 * callbacks wait for a grace period, which such a section would hold up
 * forever). The counter is a plain uint64_t of the owner, zeroed at
 * creation.
 */
#ifndef PKTSTAT_RCUPEND_H
#define PKTSTAT_RCUPEND_H

#include <stdint.h>
#include <time.h>

/* One more callback of the owner is about to be queued. */
static inline void rcupend_add(uint64_t *pending)
{
	__atomic_fetch_add(pending, 1, __ATOMIC_RELAXED);
}

/*
 * The callback's last word: release, so that everything it wrote into the
 * owner (expired totals, free lists) is visible to the thread that then
 * sees zero in rcupend_wait and frees the owner.
 */
static inline void rcupend_done(uint64_t *pending)
{
	__atomic_fetch_sub(pending, 1, __ATOMIC_RELEASE);
}

/*
 * Wait (acquire) until every callback counted so far has run. Polls every
 * millisecond: it runs at exit and in tests, and liburcu's call_rcu thread
 * batches callbacks 10 ms at a time anyway. Returns at once with none
 * pending.
 */
static inline void rcupend_wait(const uint64_t *pending)
{
	const struct timespec ms = { 0, 1000000 };

	while (__atomic_load_n(pending, __ATOMIC_ACQUIRE))
		nanosleep(&ms, NULL);
}

#endif
