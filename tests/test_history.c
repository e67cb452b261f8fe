/* test_history.c - the rewind history: exact seconds back, bounded memory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

#define NS 1000000000ull
#define BIG (1ull << 40)

/* A snapshot of @n flows with ids 1..n (or @ids), counts set later. */
static void snap_make(struct snapshot *s, size_t n)
{
	snapshot_init(s);
	s->rows = calloc(n ? n : 1, sizeof(*s->rows));
	cr_assert(s->rows);
	s->rows_cap = n;
	s->nrows = n;
	for (size_t i = 0; i < n; i++) {
		s->rows[i].id = i + 1;
		s->rows[i].key.kind = 1;
		s->rows[i].key.aport = (uint16_t)(1000 + i);
		s->rows[i].first_ns = 5 * NS;
	}
}

/* Flow @i (0-based) has @p packets of 100 bytes each way, last at @t. */
static void set_flow(struct snapshot *s, size_t i, uint64_t p, uint64_t t)
{
	s->rows[i].pkts[0] = s->rows[i].pkts[1] = p;
	s->rows[i].bytes[0] = s->rows[i].bytes[1] = 100 * p;
	s->rows[i].last_ns = t;
}

static const struct flowtab_row *by_id(const struct snapshot *s, uint64_t id)
{
	for (size_t i = 0; i < s->nrows; i++)
		if (s->rows[i].id == id)
			return &s->rows[i];
	return NULL;
}

Test(history, each_second_is_reconstructed_exactly)
{
	struct history *h = history_new(600, BIG);
	struct snapshot s, out;
	int64_t sec[5];

	cr_assert(h);
	snap_make(&s, 3);
	snapshot_init(&out);
	for (int k = 0; k < 5; k++) {
		/* flow 1 grows every second, flow 2 only at k = 2, flow 3
		 * never after the start */
		set_flow(&s, 0, 10 * (uint64_t)(k + 1),
			 (uint64_t)(10 + k) * NS);
		if (k == 2)
			set_flow(&s, 1, 7, 12 * NS + 5000000);
		else if (k == 0)
			set_flow(&s, 1, 3, 10 * NS);
		if (k == 0)
			set_flow(&s, 2, 1, 10 * NS);
		s.pkts = 1000 + (uint64_t)k;
		s.mono_ns = (uint64_t)(100 + k) * NS;
		cr_assert_eq(history_record(h, &s, s.mono_ns), 0);
		sec[k] = history_newest(h);
	}
	for (int k = 1; k < 5; k++)
		cr_assert_eq(sec[k], sec[k - 1] + 1, "one second apart");
	cr_assert_eq(history_oldest(h), sec[0]);
	for (int k = 4; k >= 0; k--) {
		const struct flowtab_row *r;

		cr_assert_eq(history_snapshot(h, sec[k], &out), 0);
		cr_assert_eq(out.nrows, 3);
		cr_assert_eq(out.pkts, 1000 + (uint64_t)k, "header of then");
		cr_assert_eq(out.mono_ns, (uint64_t)(100 + k) * NS);
		r = by_id(&out, 1);
		cr_assert(r);
		cr_assert_eq(r->pkts[0], 10 * (uint64_t)(k + 1));
		cr_assert_eq(r->bytes[1], 1000 * (uint64_t)(k + 1));
		cr_assert_eq(r->last_ns, (uint64_t)(10 + k) * NS);
		r = by_id(&out, 2);
		cr_assert(r);
		cr_assert_eq(r->pkts[1], k >= 2 ? 7u : 3u);
		cr_assert_eq(r->last_ns, k >= 2 ? 12 * NS + 5000000 : 10 * NS,
			     "last seen of then, k=%d", k);
		r = by_id(&out, 3);
		cr_assert(r && r->pkts[0] == 1);
	}
	/* Idle flows cost nothing: 3 records at the start are dropped
	 * with the oldest second; then 1 a second, 2 at k = 2. */
	cr_assert_eq(history_records(h), 5);
	cr_assert_eq(history_snapshot(h, sec[4] + 1, &out), -ENOENT);
	cr_assert_eq(history_snapshot(h, sec[0] - 1, &out), -ENOENT);
	snapshot_free(&s);
	snapshot_free(&out);
	history_free(h);
}

Test(history, flows_come_and_go)
{
	struct history *h = history_new(600, BIG);
	struct snapshot s, out;
	int64_t t1, t2, t3;

	snap_make(&s, 2);
	snapshot_init(&out);
	/* second 1: flow 1 only */
	s.nrows = 1;
	set_flow(&s, 0, 5, 1 * NS);
	cr_assert_eq(history_record(h, &s, 1 * NS), 0);
	t1 = history_newest(h);
	/* second 2: flows 1 and 2 */
	s.nrows = 2;
	set_flow(&s, 1, 4, 2 * NS);
	cr_assert_eq(history_record(h, &s, 2 * NS), 0);
	t2 = history_newest(h);
	/* second 3: flow 1 expired */
	s.rows[0] = s.rows[1];
	s.nrows = 1;
	set_flow(&s, 0, 6, 3 * NS);
	cr_assert_eq(history_record(h, &s, 3 * NS), 0);
	t3 = history_newest(h);

	cr_assert_eq(history_snapshot(h, t1, &out), 0);
	cr_assert_eq(out.nrows, 1);
	cr_assert_eq(out.rows[0].id, 1);
	cr_assert_eq(history_snapshot(h, t2, &out), 0);
	cr_assert_eq(out.nrows, 2);
	cr_assert_eq(by_id(&out, 2)->pkts[0], 4);
	cr_assert_eq(by_id(&out, 1)->pkts[0], 5, "its final counts");
	cr_assert_eq(history_snapshot(h, t3, &out), 0);
	cr_assert_eq(out.nrows, 1);
	cr_assert_eq(out.rows[0].id, 2);
	cr_assert_eq(out.rows[0].pkts[1], 6);
	snapshot_free(&s);
	snapshot_free(&out);
	history_free(h);
}

Test(history, refreshes_round_to_seconds_once_each)
{
	struct history *h = history_new(600, BIG);
	struct snapshot s, out;
	int64_t a, b;

	snap_make(&s, 1);
	snapshot_init(&out);
	set_flow(&s, 0, 1, NS);
	cr_assert_eq(history_record(h, &s, 50 * NS), 0);
	a = history_newest(h);
	/* a refresh a little early, then one forced in between */
	set_flow(&s, 0, 2, NS);
	cr_assert_eq(history_record(h, &s, 51 * NS - 2000000), 0);
	b = history_newest(h);
	cr_assert_eq(b, a + 1);
	set_flow(&s, 0, 9, NS);
	cr_assert_eq(history_record(h, &s, 51 * NS + 300000000), 0);
	cr_assert_eq(history_newest(h), b, "same second: kept");
	cr_assert_eq(history_time(h, b), 51 * NS - 2000000);
	/* a late one skips nothing; a second left out is found by floor */
	set_flow(&s, 0, 12, NS);
	cr_assert_eq(history_record(h, &s, 53 * NS + 1000000), 0);
	cr_assert_eq(history_newest(h), a + 3);
	cr_assert_eq(history_floor(h, a + 2), b);
	cr_assert_eq(history_snapshot(h, b, &out), 0);
	cr_assert_eq(out.rows[0].pkts[0], 2, "the first state of the second");
	cr_assert_eq(history_snapshot(h, a, &out), 0);
	cr_assert_eq(out.rows[0].pkts[0], 1);
	snapshot_free(&s);
	snapshot_free(&out);
	history_free(h);
}

Test(history, window_drops_old_seconds)
{
	struct history *h = history_new(5, BIG);
	struct snapshot s, out;

	snap_make(&s, 2);
	snapshot_init(&out);
	for (uint64_t k = 0; k < 20; k++) {
		set_flow(&s, 0, k + 1, k * NS);
		set_flow(&s, 1, 2 * k + 1, k * NS);
		cr_assert_eq(history_record(h, &s, k * NS), 0);
	}
	cr_assert_eq(history_newest(h) - history_oldest(h), 5);
	cr_assert_eq(history_records(h), 10, "2 flows x 5 seconds");
	cr_assert_not(history_truncated(h), "the window, not the cap");
	cr_assert_eq(history_snapshot(h, history_oldest(h), &out), 0);
	cr_assert_eq(by_id(&out, 1)->pkts[0], 15);
	cr_assert_eq(by_id(&out, 2)->pkts[0], 29);
	cr_assert_eq(history_snapshot(h, history_oldest(h) - 1, &out), -ENOENT);
	snapshot_free(&s);
	snapshot_free(&out);
	history_free(h);
}

Test(history, cap_bounds_memory_and_says_truncated)
{
	size_t cap = 2u << 20, n = 2000, peak = 0;
	struct history *h = history_new(600, cap);
	struct snapshot s, out;
	int64_t newest;

	snap_make(&s, n);
	snapshot_init(&out);
	/* every flow changes every second: 2000 x 28 bytes a second */
	for (uint64_t k = 0; k < 120; k++) {
		for (size_t i = 0; i < n; i++)
			set_flow(&s, i, k + 1 + i, k * NS);
		cr_assert_eq(history_record(h, &s, k * NS), 0);
		if (history_bytes(h) > peak)
			peak = history_bytes(h);
	}
	cr_assert_leq(history_bytes(h), cap);
	cr_assert(history_truncated(h));
	newest = history_newest(h);
	cr_assert_lt(newest - history_oldest(h), 119, "fewer seconds held");
	cr_assert_gt(newest - history_oldest(h), 5, "but some");
	/* what is held is exact */
	cr_assert_eq(history_snapshot(h, history_oldest(h), &out), 0);
	cr_assert_eq(out.nrows, n);
	cr_assert_eq(by_id(&out, 7)->pkts[0],
		     (uint64_t)(119 - (newest - history_oldest(h))) + 1 + 6);
	/* Documented figures: a record, and a flow's slot */
	cr_assert_leq(history_records(h) * HISTORY_REC_BYTES, history_bytes(h));
	snapshot_free(&s);
	snapshot_free(&out);
	history_free(h);
}

Test(history, too_many_flows_for_the_cap_hold_nothing)
{
	struct history *h = history_new(600, 64 << 10);
	struct snapshot s, out;

	snap_make(&s, 5000);
	snapshot_init(&out);
	for (size_t i = 0; i < 5000; i++)
		set_flow(&s, i, 1, NS);
	cr_assert_eq(history_record(h, &s, NS), 0);
	cr_assert_eq(history_newest(h), HISTORY_NONE);
	cr_assert(history_truncated(h));
	cr_assert_leq(history_bytes(h), 64 << 10);
	cr_assert_eq(history_snapshot(h, 1, &out), -ENOENT);
	snapshot_free(&s);
	snapshot_free(&out);
	history_free(h);
}

Test(history, large_changes_split_exactly)
{
	struct history *h = history_new(600, BIG);
	struct snapshot s, out;
	int64_t a;

	snap_make(&s, 1);
	snapshot_init(&out);
	s.rows[0].pkts[0] = 3;
	s.rows[0].bytes[0] = 300;
	s.rows[0].last_ns = 6 * NS;
	cr_assert_eq(history_record(h, &s, NS), 0);
	a = history_newest(h);
	s.rows[0].pkts[0] += 10000000000ull;	   /* > 2^32 */
	s.rows[0].bytes[1] += 1000000000000000ull; /* > 2^48 */
	s.rows[0].pkts[1] = 1;
	s.rows[0].last_ns = 7 * NS;
	cr_assert_eq(history_record(h, &s, 2 * NS), 0);
	cr_assert_gt(history_records(h), 2, "split");
	cr_assert_eq(history_snapshot(h, a, &out), 0);
	cr_assert_eq(out.rows[0].pkts[0], 3);
	cr_assert_eq(out.rows[0].pkts[1], 0);
	cr_assert_eq(out.rows[0].bytes[0], 300);
	cr_assert_eq(out.rows[0].bytes[1], 0);
	cr_assert_eq(out.rows[0].last_ns, 6 * NS);
	cr_assert_eq(history_snapshot(h, a + 1, &out), 0);
	cr_assert_eq(out.rows[0].bytes[1], 1000000000000000ull);
	snapshot_free(&s);
	snapshot_free(&out);
	history_free(h);
}

Test(history, cursor_steps_both_ways_while_recording)
{
	struct history *h = history_new(600, BIG);
	struct snapshot s, out;
	int64_t first = 0;

	snap_make(&s, 3);
	snapshot_init(&out);
	/* flow i has (k + 1) * (i + 1) packets at second k; flow 3 joins
	 * at k = 11 */
	for (uint64_t k = 0; k < 13; k++) {
		s.nrows = k >= 11 ? 3 : 2;
		for (size_t i = 0; i < s.nrows; i++)
			set_flow(&s, i, (k + 1) * (i + 1), (6 + k) * NS);
		cr_assert_eq(history_record(h, &s, (k + 1) * NS), 0);
		if (k == 0)
			first = history_newest(h);
		if (k == 9) {
			cr_assert_eq(history_snapshot(h, first + 3, &out), 0);
			cr_assert_eq(by_id(&out, 2)->pkts[0], 8);
		}
	}
	/* forward from the cursor at k = 3, past seconds recorded since */
	cr_assert_eq(history_snapshot(h, first + 11, &out), 0);
	cr_assert_eq(out.nrows, 3);
	cr_assert_eq(by_id(&out, 1)->pkts[1], 12);
	cr_assert_eq(by_id(&out, 2)->pkts[0], 24);
	cr_assert_eq(by_id(&out, 2)->last_ns, 17 * NS, "last seen, forward");
	cr_assert_eq(by_id(&out, 3)->pkts[0], 36);
	/* and back */
	cr_assert_eq(history_snapshot(h, first + 2, &out), 0);
	cr_assert_eq(out.nrows, 2);
	cr_assert_eq(by_id(&out, 2)->pkts[0], 6);
	cr_assert_eq(by_id(&out, 2)->last_ns, 8 * NS, "last seen, back");
	cr_assert_eq(history_snapshot(h, first + 12, &out), 0);
	cr_assert_eq(by_id(&out, 3)->pkts[1], 39);
	snapshot_free(&s);
	snapshot_free(&out);
	history_free(h);
}
