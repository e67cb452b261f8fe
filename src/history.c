/*
 * history.c - the rewind history (see history.h): per-second snapshot
 * headers, per-flow latest counts, and the per-second deltas of the flows
 * that changed, in chunks of records.
 *
 * Owns: the seconds ring (ordered by second, oldest first), the flow
 * slots with their id index (open addressing, linear probing,
 * backward-shift deletion), the record chunks (records numbered from 0
 * for the whole run; chunk k holds records k * CHUNK_RECS onwards, and
 * chunks wholly older than the oldest record still needed are freed).
 *
 * The records of the oldest second held are never needed: a second's
 * table is the latest counts minus the deltas of the seconds after it.
 * So the oldest second's records are dropped as soon as it is the oldest.
 *
 * Threads: one (the UI thread). Never blocks, no I/O.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

#define NS 1000000000ull
#define CHUNK_RECS 4096u
#define NO_FLOW UINT32_MAX
#define LIVE INT64_MAX
#define BYTES_MAX ((1ull << 48) - 1)
#define NO_PREV UINT32_MAX

/*
 * One flow's change over a second: the packets and bytes it gained in
 * each direction, and its last-seen time before and after (in ms after
 * its first packet, saturating; NO_PREV: it had none), so that undoing
 * or redoing the record moves last-seen too. A change too large for the
 * fields is split over several records of the same second.
 */
struct hrec {
	uint32_t flow;
	uint32_t pkts[2];
	uint32_t bytes_lo[2];
	uint16_t bytes_hi[2];
	uint32_t prev_ms, new_ms;
};

_Static_assert(sizeof(struct hrec) == HISTORY_REC_BYTES, "record size");

/* A flow the window holds: its latest counts, and whether it is gone. */
struct hflow {
	struct flowtab_row row; /* id 0 and gone == 0: a free slot */
	int64_t gone;		/* first second it was missing; LIVE */
	uint64_t seen;		/* the record pass that last saw it */
};

/* A flow's counts at the cursor's second. */
struct hcur {
	uint64_t pkts[2], bytes[2], last;
};

struct hsec {
	int64_t sec;
	uint64_t t_ns;
	uint64_t rec_first, rec_end; /* its records: [first, end) */
	struct snapshot hdr;	     /* no rows, no counters */
};

struct history {
	uint64_t window;
	size_t max_bytes;
	uint64_t t0;
	int started;
	uint64_t pass;
	int trunc;

	/* seconds: a ring of cap entries, n used from head */
	struct hsec *secs;
	size_t sec_cap, sec_head, nsec;

	/* flows */
	struct hflow *flows;
	size_t flows_cap, flows_hw, nflows;
	uint32_t *freel;
	size_t nfree;
	uint32_t *idx; /* slot + 1; 0 = empty */
	size_t idx_size;

	/* records */
	struct hrec **chunks; /* chunks[i] holds chunk (chunk0 + i) */
	size_t nchunks, chunks_cap;
	uint64_t chunk0;
	uint64_t first_rec, next_rec;

	/* the cursor: every slot's counts at second cur_sec (HISTORY_NONE:
	 * none), moved one way or the other by the records in between, so
	 * that stepping through the history costs the records stepped over */
	struct hcur *cur;
	int64_t cur_sec;
};

struct history *history_new(uint64_t window_s, size_t max_bytes)
{
	struct history *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->window = window_s ? window_s : 1;
	h->max_bytes = max_bytes;
	h->cur_sec = HISTORY_NONE;
	return h;
}

void history_free(struct history *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nchunks; i++)
		free(h->chunks[i]);
	free(h->chunks);
	free(h->secs);
	free(h->flows);
	free(h->freel);
	free(h->idx);
	free(h->cur);
	free(h);
}

static struct hsec *sec_at(const struct history *h, size_t i)
{
	return &h->secs[(h->sec_head + i) % h->sec_cap];
}

int64_t history_newest(const struct history *h)
{
	return h->nsec ? sec_at(h, h->nsec - 1)->sec : HISTORY_NONE;
}

int64_t history_oldest(const struct history *h)
{
	return h->nsec ? sec_at(h, 0)->sec : HISTORY_NONE;
}

/* Index of the newest second at or before @sec, or -1. */
static long find_floor(const struct history *h, int64_t sec)
{
	size_t lo = 0, hi = h->nsec;

	if (!h->nsec || sec < sec_at(h, 0)->sec)
		return -1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (sec_at(h, mid)->sec <= sec)
			lo = mid;
		else
			hi = mid;
	}
	return (long)lo;
}

int64_t history_floor(const struct history *h, int64_t sec)
{
	long i = find_floor(h, sec);

	return i < 0 ? HISTORY_NONE : sec_at(h, (size_t)i)->sec;
}

uint64_t history_time(const struct history *h, int64_t sec)
{
	long i = find_floor(h, sec);

	if (i < 0 || sec_at(h, (size_t)i)->sec != sec)
		return 0;
	return sec_at(h, (size_t)i)->t_ns;
}

int history_truncated(const struct history *h)
{
	return h->trunc;
}

uint64_t history_records(const struct history *h)
{
	return h->next_rec - h->first_rec;
}

uint64_t history_window(const struct history *h)
{
	return h->window;
}

size_t history_bytes(const struct history *h)
{
	return sizeof(*h) + h->sec_cap * sizeof(*h->secs) +
	       h->flows_cap * (sizeof(*h->flows) + sizeof(*h->freel)) +
	       (h->cur ? h->flows_cap * sizeof(*h->cur) : 0) +
	       h->idx_size * sizeof(*h->idx) +
	       h->chunks_cap * sizeof(*h->chunks) +
	       h->nchunks * CHUNK_RECS * sizeof(struct hrec);
}

/* ---- flow slots ------------------------------------------------------- */

static size_t hslot(const struct history *h, uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & (h->idx_size - 1);
}

static uint32_t flow_find(const struct history *h, uint64_t id)
{
	size_t mask = h->idx_size - 1, i;

	if (!h->idx_size)
		return NO_FLOW;
	for (i = hslot(h, id); h->idx[i]; i = (i + 1) & mask) {
		if (h->flows[h->idx[i] - 1].row.id == id)
			return h->idx[i] - 1;
	}
	return NO_FLOW;
}

static void idx_put(struct history *h, uint32_t f)
{
	size_t mask = h->idx_size - 1, i;

	for (i = hslot(h, h->flows[f].row.id); h->idx[i]; i = (i + 1) & mask)
		;
	h->idx[i] = f + 1;
}

static void idx_del(struct history *h, uint32_t f)
{
	size_t mask = h->idx_size - 1, i, j, k;

	for (i = hslot(h, h->flows[f].row.id); h->idx[i] != f + 1;
	     i = (i + 1) & mask)
		;
	h->idx[i] = 0;
	for (j = (i + 1) & mask; h->idx[j]; j = (j + 1) & mask) {
		k = hslot(h, h->flows[h->idx[j] - 1].row.id);
		/* Leave it if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		h->idx[i] = h->idx[j];
		h->idx[j] = 0;
		i = j;
	}
}

/* An index at most half full once one more flow is in. */
static int idx_grow(struct history *h)
{
	size_t size = h->idx_size ? h->idx_size : 256;
	uint32_t *idx;

	while (size < 2 * (h->nflows + 1))
		size *= 2;
	if (size == h->idx_size)
		return 0;
	idx = calloc(size, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	free(h->idx);
	h->idx = idx;
	h->idx_size = size;
	for (size_t i = 0; i < h->flows_hw; i++) {
		if (h->flows[i].gone)
			idx_put(h, (uint32_t)i);
	}
	return 0;
}

static int slots_grow(struct history *h)
{
	size_t cap = h->flows_cap ? 2 * h->flows_cap : 256;
	struct hflow *fl;
	uint32_t *freel;

	fl = realloc(h->flows, cap * sizeof(*fl));
	if (!fl)
		return -ENOMEM;
	h->flows = fl;
	freel = realloc(h->freel, cap * sizeof(*freel));
	if (!freel)
		return -ENOMEM;
	h->freel = freel;
	if (h->cur) {
		struct hcur *c = realloc(h->cur, cap * sizeof(*c));

		if (!c) {
			/* only the cursor is lost: made again when needed */
			free(h->cur);
			h->cur_sec = HISTORY_NONE;
		}
		h->cur = c;
	}
	h->flows_cap = cap;
	return 0;
}

/* A slot for flow @r, counts zero: its first record brings them. */
static int flow_new(struct history *h, const struct flowtab_row *r,
		    uint32_t *out)
{
	uint32_t f;
	struct hflow *x;

	if (idx_grow(h))
		return -ENOMEM;
	if (h->nfree) {
		f = h->freel[--h->nfree];
	} else {
		if (h->flows_hw >= h->flows_cap && slots_grow(h))
			return -ENOMEM;
		f = (uint32_t)h->flows_hw++;
	}
	x = &h->flows[f];
	memset(x, 0, sizeof(*x));
	x->row.key = r->key;
	x->row.id = r->id;
	x->row.first_ns = r->first_ns;
	x->gone = LIVE;
	/* new since the cursor's second: nothing then */
	if (h->cur)
		memset(&h->cur[f], 0, sizeof(h->cur[f]));
	h->nflows++;
	idx_put(h, f);
	*out = f;
	return 0;
}

/* Seconds are numbered from 1: gone == 0 marks a free slot. */
static int slot_used(const struct hflow *x)
{
	return x->gone != 0;
}

static void flow_del(struct history *h, uint32_t f)
{
	idx_del(h, f);
	memset(&h->flows[f], 0, sizeof(h->flows[f]));
	h->freel[h->nfree++] = f;
	h->nflows--;
}

/* ---- records ---------------------------------------------------------- */

static struct hrec *rec_at(const struct history *h, uint64_t n)
{
	return &h->chunks[n / CHUNK_RECS - h->chunk0][n % CHUNK_RECS];
}

static struct hrec *rec_new(struct history *h)
{
	uint64_t n = h->next_rec;

	if (n / CHUNK_RECS >= h->chunk0 + h->nchunks) {
		struct hrec *c;

		if (h->nchunks == h->chunks_cap) {
			size_t cap = h->chunks_cap ? 2 * h->chunks_cap : 16;
			struct hrec **p = realloc(h->chunks, cap * sizeof(*p));

			if (!p)
				return NULL;
			h->chunks = p;
			h->chunks_cap = cap;
		}
		c = malloc(CHUNK_RECS * sizeof(*c));
		if (!c)
			return NULL;
		if (!h->nchunks)
			h->chunk0 = n / CHUNK_RECS;
		h->chunks[h->nchunks++] = c;
	}
	h->next_rec++;
	return rec_at(h, n);
}

/* Free the chunks wholly before record @first. */
static void recs_trim(struct history *h, uint64_t first)
{
	size_t drop = 0;

	if (first > h->first_rec)
		h->first_rec = first;
	while (drop < h->nchunks &&
	       (h->chunk0 + drop + 1) * CHUNK_RECS <= h->first_rec &&
	       (h->chunk0 + drop + 1) * CHUNK_RECS <= h->next_rec) {
		free(h->chunks[drop]);
		drop++;
	}
	if (!drop)
		return;
	memmove(h->chunks, h->chunks + drop,
		(h->nchunks - drop) * sizeof(*h->chunks));
	h->nchunks -= drop;
	h->chunk0 += drop;
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* @r's last-seen as ms after its first packet; NO_PREV: no packet. */
static uint32_t last_ms(const struct flowtab_row *r)
{
	uint64_t ms;

	if (!r->pkts[0] && !r->pkts[1])
		return NO_PREV;
	ms = sub0(r->last_ns, r->first_ns) / 1000000ull;
	return ms >= NO_PREV ? NO_PREV - 1 : (uint32_t)ms;
}

/*
 * The records of flow @f going from @was to @now (split when a change
 * is too large for one). 0 or -ENOMEM (part of them may be written: the
 * caller starts over).
 */
static int flow_records(struct history *h, uint32_t f,
			const struct flowtab_row *was,
			const struct flowtab_row *now)
{
	uint64_t dp[2], db[2];
	uint32_t pm = last_ms(was), nm = last_ms(now);
	int d;

	for (d = 0; d < 2; d++) {
		dp[d] = sub0(now->pkts[d], was->pkts[d]);
		db[d] = sub0(now->bytes[d], was->bytes[d]);
	}
	while (dp[0] || dp[1] || db[0] || db[1]) {
		struct hrec *r = rec_new(h);

		if (!r)
			return -ENOMEM;
		r->flow = f;
		r->prev_ms = pm;
		r->new_ms = nm;
		for (d = 0; d < 2; d++) {
			uint64_t p = dp[d] > UINT32_MAX ? UINT32_MAX : dp[d];
			uint64_t b = db[d] > BYTES_MAX ? BYTES_MAX : db[d];

			r->pkts[d] = (uint32_t)p;
			r->bytes_lo[d] = (uint32_t)b;
			r->bytes_hi[d] = (uint16_t)(b >> 32);
			dp[d] -= p;
			db[d] -= b;
		}
	}
	return 0;
}

/* ---- seconds ---------------------------------------------------------- */

/* Drop the oldest second; its successor's records are then unneeded. */
static void sec_drop(struct history *h)
{
	h->sec_head = (h->sec_head + 1) % h->sec_cap;
	h->nsec--;
	if (!h->nsec || h->cur_sec < sec_at(h, 0)->sec)
		h->cur_sec = HISTORY_NONE;
	if (h->nsec)
		recs_trim(h, sec_at(h, 0)->rec_end);
	else
		recs_trim(h, h->next_rec);
}

/* Flows gone before the oldest second held: nothing refers to them. */
static void flows_reap(struct history *h)
{
	int64_t oldest = history_oldest(h);

	for (size_t i = 0; i < h->flows_hw; i++) {
		struct hflow *x = &h->flows[i];

		if (slot_used(x) && x->gone != LIVE &&
		    (oldest == HISTORY_NONE || x->gone <= oldest))
			flow_del(h, (uint32_t)i);
	}
}

/* Everything forgotten and freed: the next record starts a new history. */
static void history_clear(struct history *h)
{
	while (h->nsec)
		sec_drop(h);
	recs_trim(h, h->next_rec);
	for (size_t i = 0; i < h->nchunks; i++)
		free(h->chunks[i]);
	free(h->chunks);
	free(h->secs);
	free(h->flows);
	free(h->freel);
	free(h->idx);
	free(h->cur);
	h->cur = NULL;
	h->cur_sec = HISTORY_NONE;
	h->chunks = NULL;
	h->nchunks = h->chunks_cap = 0;
	h->chunk0 = h->next_rec / CHUNK_RECS;
	h->first_rec = h->next_rec;
	h->secs = NULL;
	h->sec_cap = h->sec_head = 0;
	h->flows = NULL;
	h->freel = NULL;
	h->idx = NULL;
	h->flows_cap = h->flows_hw = h->nflows = h->nfree = 0;
	h->idx_size = 0;
}

static int secs_reserve(struct history *h)
{
	size_t cap, i;
	struct hsec *s;

	if (h->nsec < h->sec_cap)
		return 0;
	cap = h->sec_cap ? 2 * h->sec_cap : 64;
	if (cap > h->window + 2)
		cap = h->window + 2;
	if (cap <= h->nsec)
		cap = h->nsec + 1;
	s = malloc(cap * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = 0; i < h->nsec; i++)
		s[i] = *sec_at(h, i);
	free(h->secs);
	h->secs = s;
	h->sec_cap = cap;
	h->sec_head = 0;
	return 0;
}

int history_record(struct history *h, const struct snapshot *s, uint64_t t_ns)
{
	struct snapshot_iter it = { 0 };
	const struct flowtab_row *r;
	struct hsec *sec;
	int64_t n;
	int rc = 0;

	if (!h->started) {
		h->t0 = t_ns;
		h->started = 1;
	}
	n = 1 + (int64_t)((sub0(t_ns, h->t0) + NS / 2) / NS);
	/* A second already recorded keeps the state first recorded in it:
	 * refreshes faster than one a second cost nothing more. */
	if (h->nsec && n <= history_newest(h))
		return 0;
	if (secs_reserve(h))
		goto fail;
	sec = sec_at(h, h->nsec);
	sec->sec = n;
	sec->rec_first = h->next_rec;
	h->nsec++;
	h->pass++;
	while ((r = snapshot_row_next(s, &it))) {
		uint32_t f = flow_find(h, r->id);
		struct hflow *x;

		if (f == NO_FLOW && (rc = flow_new(h, r, &f)))
			goto fail;
		x = &h->flows[f];
		x->seen = h->pass;
		if (x->gone != LIVE)
			continue; /* ids are never reused: cannot be */
		if (memcmp(x->row.pkts, r->pkts, sizeof(r->pkts)) ||
		    memcmp(x->row.bytes, r->bytes, sizeof(r->bytes))) {
			if (flow_records(h, f, &x->row, r))
				goto fail;
		}
		x->row = *r;
	}
	for (size_t i = 0; i < h->flows_hw; i++) {
		struct hflow *x = &h->flows[i];

		if (slot_used(x) && x->gone == LIVE && x->seen != h->pass)
			x->gone = n;
	}
	sec->t_ns = t_ns;
	sec->rec_end = h->next_rec;
	sec->hdr = *s;
	sec->hdr.rows = NULL;
	sec->hdr.rows_cap = 0;
	sec->hdr.nrows = 0;
	sec->hdr.table = NULL;
	sec->hdr.app_table = NULL;
	sec->hdr.counters = NULL;
	sec->hdr.ncounters = 0;
	sec->hdr.rows_omitted = 0;
	/* The window, then the cap: the oldest seconds go first. */
	while (h->nsec > 1 && sec_at(h, 0)->sec < n - (int64_t)h->window) {
		sec_drop(h);
		h->trunc = 0;
	}
	recs_trim(h, sec_at(h, 0)->rec_end);
	flows_reap(h);
	if (history_bytes(h) > h->max_bytes) {
		while (h->nsec > 1 && history_bytes(h) > h->max_bytes) {
			sec_drop(h);
			h->trunc = 1;
		}
		flows_reap(h);
		if (history_bytes(h) > h->max_bytes) {
			/* One second does not fit: hold nothing. */
			history_clear(h);
			h->trunc = 1;
		}
	}
	return 0;
fail:
	/* A half-recorded second cannot be undone: start again. */
	history_clear(h);
	h->trunc = 1;
	return -ENOMEM;
}

/* ---- reconstruction --------------------------------------------------- */

static uint64_t rec_bytes(const struct hrec *r, int d)
{
	return (uint64_t)r->bytes_hi[d] << 32 | r->bytes_lo[d];
}

static uint64_t ms_time(const struct history *h, const struct hrec *r,
			uint32_t ms)
{
	return ms == NO_PREV ? 0
			     : h->flows[r->flow].row.first_ns +
				       (uint64_t)ms * 1000000ull;
}

/* The cursor at second index @at: set up from the latest counts, then
 * moved over the records in between. 0 or -ENOMEM. */
static int cursor_move(struct history *h, size_t at)
{
	uint64_t to = sec_at(h, at)->rec_end, from, k;
	size_t i;

	if (!h->cur) {
		h->cur = malloc((h->flows_cap ? h->flows_cap : 1) *
				sizeof(*h->cur));
		if (!h->cur)
			return -ENOMEM;
		h->cur_sec = HISTORY_NONE;
	}
	if (h->cur_sec == HISTORY_NONE) {
		for (i = 0; i < h->flows_hw; i++) {
			const struct flowtab_row *r = &h->flows[i].row;

			memcpy(h->cur[i].pkts, r->pkts, sizeof(r->pkts));
			memcpy(h->cur[i].bytes, r->bytes, sizeof(r->bytes));
			h->cur[i].last = r->last_ns;
		}
		h->cur_sec = history_newest(h);
		from = h->next_rec;
	} else {
		long c = find_floor(h, h->cur_sec);

		from = sec_at(h, (size_t)c)->rec_end;
	}
	/* back: undo, newest first; forward: redo, oldest first */
	for (k = from; k > to;) {
		const struct hrec *r = rec_at(h, --k);
		struct hcur *c = &h->cur[r->flow];

		for (int d = 0; d < 2; d++) {
			c->pkts[d] = sub0(c->pkts[d], r->pkts[d]);
			c->bytes[d] = sub0(c->bytes[d], rec_bytes(r, d));
		}
		c->last = ms_time(h, r, r->prev_ms);
	}
	for (k = from; k < to; k++) {
		const struct hrec *r = rec_at(h, k);
		struct hcur *c = &h->cur[r->flow];

		for (int d = 0; d < 2; d++) {
			c->pkts[d] += r->pkts[d];
			c->bytes[d] += rec_bytes(r, d);
		}
		c->last = ms_time(h, r, r->new_ms);
	}
	h->cur_sec = sec_at(h, at)->sec;
	return 0;
}

int history_snapshot(struct history *h, int64_t sec, struct snapshot *out)
{
	long at = find_floor(h, sec);
	const struct hcur *cur;
	const struct hsec *hs;
	size_t i, n = 0;

	if (at < 0 || sec_at(h, (size_t)at)->sec != sec)
		return -ENOENT;
	hs = sec_at(h, (size_t)at);
	if (cursor_move(h, (size_t)at))
		goto nomem;
	cur = h->cur;
	for (i = 0; i < h->flows_hw; i++)
		n += slot_used(&h->flows[i]) && h->flows[i].gone > sec &&
		     (cur[i].pkts[0] || cur[i].pkts[1]);
	if (n > out->rows_cap) {
		struct flowtab_row *rows =
			realloc(out->rows, n * sizeof(*rows));

		if (!rows)
			goto nomem;
		out->rows = rows;
		out->rows_cap = n;
	}
	{
		struct flowtab_row *rows = out->rows;
		size_t cap = out->rows_cap;

		free(out->counters);
		*out = hs->hdr;
		out->rows = rows;
		out->rows_cap = cap;
	}
	n = 0;
	for (i = 0; i < h->flows_hw; i++) {
		const struct hflow *x = &h->flows[i];
		struct flowtab_row *r;

		if (!slot_used(x) || x->gone <= sec ||
		    !(cur[i].pkts[0] || cur[i].pkts[1]))
			continue;
		r = &out->rows[n++];
		*r = x->row;
		memcpy(r->pkts, cur[i].pkts, sizeof(r->pkts));
		memcpy(r->bytes, cur[i].bytes, sizeof(r->bytes));
		r->last_ns = cur[i].last;
	}
	out->nrows = n;
	return 0;
nomem:
	out->nrows = 0;
	return -ENOMEM;
}
