/*
 * history.h - the monitor's rewind: the last N seconds of the flow table
 * at one-second resolution, in bounded memory (--history, --history-max).
 *
 * Model. history_record is given each refresh's snapshot with the time it
 * stands for. Times are numbered in whole seconds from the first record
 * (rounded: refreshes a second apart land on consecutive numbers however
 * their phase jitters); a second recorded twice keeps the first state
 * (a refresh more than once a second costs nothing more).
 * The history keeps, per second, the snapshot's header (totals, capture
 * statistics, times) and one delta record per flow that changed since
 * the second before; per flow it keeps the latest counts. A second's flow
 * table is the latest counts with the newer deltas taken off, so any
 * second of the window is reconstructed exactly (history_snapshot).
 *
 * Memory. HISTORY_REC_BYTES for each flow that changed, each second it
 * changed; HISTORY_FLOW_BYTES for each flow the window holds (live, or
 * gone but still inside the window; its latest counts, its index entry
 * and the cursor's counts), HISTORY_SEC_BYTES a second. A cursor (the
 * counts at the second last reconstructed) makes stepping through the
 * history cost only the records stepped over. Idle
 * flows cost nothing a second. When the whole would pass the cap, the
 * oldest seconds are dropped (history_truncated says so) until it fits:
 * the window is then shorter than asked, never the memory larger.
 *
 * Threads: a history belongs to one thread (the UI's). No locks, no I/O.
 */
#ifndef PKTSTAT_HISTORY_H
#define PKTSTAT_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

/* What one changed flow costs a second, one held flow, one second. */
#define HISTORY_REC_BYTES 32
#define HISTORY_FLOW_BYTES 176
#define HISTORY_SEC_BYTES (sizeof(struct snapshot) + 32)

#define HISTORY_DEFAULT_S 600		 /* --history 10m */
#define HISTORY_DEFAULT_MAX 256000000ull /* --history-max 256M */
#define HISTORY_NONE INT64_MIN		 /* no such second */

struct history;

/*
 * history_new - an empty history of @window_s seconds (at least 1) in at
 * most @max_bytes (at least a few hundred kilobytes are needed to hold
 * anything). NULL when out of memory.
 */
struct history *history_new(uint64_t window_s, size_t max_bytes);
/* history_free(NULL) is a no-op. */
void history_free(struct history *h);

/*
 * history_record - record @s as the state at @t_ns (the caller's clock:
 * CLOCK_MONOTONIC live, packet time for files; never decreasing). Rows
 * are matched to earlier seconds by flow id; a flow missing from @s is
 * gone from then on. @s is only read. Returns 0, or -ENOMEM: that
 * second is not recorded and the history starts again from the next
 * one (history_truncated then says so).
 */
int history_record(struct history *h, const struct snapshot *s, uint64_t t_ns);

/* Newest and oldest second held, or HISTORY_NONE when empty. */
int64_t history_newest(const struct history *h);
int64_t history_oldest(const struct history *h);
/* The second held at or before @sec (seconds may be missing when a
 * refresh took longer than one), or HISTORY_NONE. */
int64_t history_floor(const struct history *h, int64_t sec);
/* The time given with second @sec's record (exactly held), or 0. */
uint64_t history_time(const struct history *h, int64_t sec);

/*
 * history_snapshot - the snapshot as recorded at second @sec (exactly a
 * second held, see history_floor) into @out: every flow live then with
 * its counts and last-seen time then, and that second's header. @out's
 * rows are reused (grown with realloc); it must have been set up with
 * snapshot_init and holds no counters afterwards. 0, -ENOENT (not held)
 * or -ENOMEM (@out then holds no rows).
 */
int history_snapshot(struct history *h, int64_t sec, struct snapshot *out);

/*
 * history_truncated - seconds inside the window were dropped for the
 * memory cap (or lost for memory): the window held is shorter than asked.
 * Stays set until the window is whole again.
 */
int history_truncated(const struct history *h);

/* Bytes the history holds now (everything it allocated). */
size_t history_bytes(const struct history *h);
/* Delta records held now (HISTORY_REC_BYTES each). */
uint64_t history_records(const struct history *h);
/* The window asked for, in seconds. */
uint64_t history_window(const struct history *h);

#endif
