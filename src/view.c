/*
 * view.c - the monitor's view model (see view.h): per-flow rate state and
 * history keyed by flow id, the frozen display copy, display filter,
 * sorting of an index array, scrolling and selection.
 *
 * Owns: the per-flow state pool and its id hash (open addressing, linear
 * probing, backward-shift deletion), the display copy of the flows, the
 * row and order arrays. No curses, no locks, no shared state: one thread
 * (the UI) owns a view. Never blocks.
 *
 * Costs at 100,000 flows (measured on the 2-core dev box, CPU time: about
 * 4 ms per update and 2-3 ms per layout): view_update is one pass over the
 * snapshot (one hash lookup per row, one add into the current history
 * bucket) and a prune pass only when some flow went; the 2/10/40 s
 * averages are computed lazily, for the rows drawn or when sorting by one.
 * view_layout is O(n) to filter and key the rows plus a partial quicksort
 * that orders only the visible window (nothing when the order is frozen).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "names.h"
#include "view.h"
#include "selfflow.h"

#define NS 1000000000ull
#define FLOW_W_NS (2 * NS) /* width of a flow history bucket (iftop: 2 s) */
#define FLOW_SLOTS 21	   /* 40 s of buckets, plus the one sliding out */
#define TOT_W_NS NS	   /* total-rate history: one bucket per second */
#define TOT_SLOTS (VIEW_HIST_SECONDS + 2)
#define MIN_DT_NS 1000000ull /* below this an interval has no rate */
#define NO_POS UINT32_MAX
#define EMPTY UINT32_MAX

static const unsigned int horizon[3] = { 1, 5, 20 }; /* buckets */

/*
 * Per-flow ingestion state, keyed by id; lives while the flow does. Its
 * history lives apart, bucket-major: rings[slot][entry] holds the bytes
 * AB, BA and packets AB, BA of one 2 s bucket. Every live flow is seen by
 * every update, so all rings share one bucket grid: an update adds to one
 * contiguous array and clears a bucket for all flows with one memset. The
 * averages are read only for the rows drawn or when sorting by them.
 */
struct vent {
	uint64_t id;
	uint64_t gen; /* update that last saw it; 0 = free slot */
	uint64_t prev_bytes[2], prev_pkts[2];
	uint64_t base_bytes[2], base_pkts[2];
	char *txt;     /* cached filter text, or NULL */
	uint32_t fpos; /* frozen order position, NO_POS if none */
	float rate[4]; /* the last rates (B/s AB, BA, pkt/s AB, BA): held */
};

typedef float bucket[4];

/*
 * What one update does to every flow's ring: every flow shares the
 * interval and the bucket grid, so the fractions of the interval per
 * bucket and the averaging weights are computed once per update.
 */
struct ringplan {
	int64_t b1;		 /* newest bucket */
	unsigned int slot0;	 /* its slot: b1 % FLOW_SLOTS */
	unsigned int nadd;	 /* buckets the interval covers, newest first */
	double add[FLOW_SLOTS];	 /* share of the interval per bucket age */
	double w[3][FLOW_SLOTS]; /* per-second weight per horizon, age */
	unsigned int nw;	 /* ages with a weight */
};

/* A row in the order array: keys compared in turn, tie = id, dir. */
struct sortent {
	uint64_t k0, k1, k2;
	uint64_t tie;
	uint32_t row;
};

struct totstate {
	int have_prev;
	uint64_t prev_mono;
	uint64_t prev_pkts, prev_bytes;
	struct flowtab_counts prev_kind[KIND_COUNT];
	struct cap_stats prev_cap;
	uint64_t base_pkts, base_bytes;
	struct flowtab_counts base_kind[KIND_COUNT];
	uint64_t avg_origin; /* mono the averages start from */
	uint64_t origin;     /* mono the history starts from */
	double peak_bps, peak_pps;
	double bps, pps; /* the last rates, held through a short interval */
	double proto_bps[PROTO_COUNT], proto_pps[PROTO_COUNT];
	int64_t last_b;
	float ring[TOT_SLOTS][4];
};

/* What is displayed: flows, header totals, history. */
struct dispstate {
	struct view_flow *vf;
	size_t nvf, cap;
	struct view_totals tot;
	double hist[VIEW_HIST_SECONDS][2];
	int valid;
};

struct view {
	/* ingestion */
	struct vent *ents;
	size_t ents_cap, ents_hw; /* capacity, high-water mark */
	uint32_t *freel;
	size_t nfree, freel_cap;
	bucket *rings[FLOW_SLOTS]; /* [slot][entry] */
	size_t rings_cap;
	int64_t rings_b1;     /* newest bucket, INT64_MIN before any */
	struct ringplan plan; /* of the last update */
	uint32_t *tab;	      /* id hash: entry index or EMPTY */
	size_t tab_size, nlive;
	unsigned int tab_bits;
	uint64_t gen;
	struct totstate tot;
	int packet_clock; /* rates on the snapshots' packet time (files) */
	uint64_t min_dt;  /* a shorter interval holds the rates */
	int hold;	  /* this update holds them */
	uint64_t updates;

	/* m: counts since the mark (the reset baseline) or since the start */
	int since_start;
	uint64_t mark_wall_ns; /* 0: no mark set */
	/* the user's own SSH session: marked, and hidden on request */
	struct selfflow self;
	int hide_self, self_seen;

	/* Shown state, and the latest one built while paused. */
	struct dispstate shown, latest;
	int paused;
	uint64_t paused_since;

	/* filter text arena */
	char *txt;
	size_t txt_len, txt_cap;
	int txt_valid;

	/* settings */
	enum view_sort sort;
	int reversed;
	int frozen;
	uint32_t next_fpos;
	char filter[VIEW_FILTER_MAX];
	enum view_unit unit;
	int per_dir;
	unsigned int names; /* VIEW_NAMES_* shown */
	int full_names;	    /* whole host names (-F), not the first label */
	double max_bits;    /* fixed maximum (-m) in bits/s; 0: the peak */
	view_name_fn name_fn;
	void *name_ctx;

	/* rows and order */
	struct view_row *rows;
	size_t nrows, rows_cap;
	int rows_dirty;
	struct sortent *ord;
	size_t nord, ord_cap;
	int ord_dirty;
	int ord_full; /* ord fully sorted */
	size_t sorted_lo, sorted_hi;
	uint32_t *perm; /* scratch for the frozen order */
	size_t perm_cap;

	/* selection */
	size_t top, sel, nvis, visible;
	int sticky;
	uint64_t sel_tie;
	int have_sel;
	enum { PEND_NONE, PEND_HOME, PEND_END, PEND_INDEX } pend;
	size_t pend_index;
	long pend_delta;

	uint64_t cost_update, cost_layout, cost_frame;
};

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* ---- id hash -------------------------------------------------------- */

static size_t hslot(const struct view *v, uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> (64 - v->tab_bits));
}

static struct vent *ent_find(const struct view *v, uint64_t id)
{
	size_t mask = v->tab_size - 1, i;

	if (!v->tab_size)
		return NULL;
	for (i = hslot(v, id); v->tab[i] != EMPTY; i = (i + 1) & mask) {
		if (v->ents[v->tab[i]].id == id)
			return &v->ents[v->tab[i]];
	}
	return NULL;
}

/* The entry of a shown flow: the one it was ingested with, unless that
 * has been reused since (while paused), then by id. */
static struct vent *ent_of(const struct view *v, const struct view_flow *f)
{
	const struct vent *e = &v->ents[f->ent];

	if (f->ent < v->ents_hw && e->gen && e->id == f->row.id)
		return (struct vent *)e;
	return ent_find(v, f->row.id);
}

static void tab_put(struct view *v, uint32_t e)
{
	size_t mask = v->tab_size - 1, i;

	for (i = hslot(v, v->ents[e].id); v->tab[i] != EMPTY;
	     i = (i + 1) & mask)
		;
	v->tab[i] = e;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void tab_del(struct view *v, uint32_t e)
{
	size_t mask = v->tab_size - 1, i, j, k;

	for (i = hslot(v, v->ents[e].id); v->tab[i] != e; i = (i + 1) & mask)
		;
	v->tab[i] = EMPTY;
	for (j = (i + 1) & mask; v->tab[j] != EMPTY; j = (j + 1) & mask) {
		k = hslot(v, v->ents[v->tab[j]].id);
		/* Leave it if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		v->tab[i] = v->tab[j];
		v->tab[j] = EMPTY;
		i = j;
	}
}

/* Room for @more new flows: pool, free list and a hash at most half full. */
static int reserve(struct view *v, size_t more)
{
	size_t need = v->nlive + more, size = v->tab_size ? v->tab_size : 1024;
	unsigned int bits = v->tab_bits ? v->tab_bits : 10;
	uint32_t *tab;
	size_t i;

	if (grow((void **)&v->ents, &v->ents_cap, v->ents_hw + more,
		 sizeof(*v->ents)))
		return -ENOMEM;
	if (v->rings_cap < v->ents_cap) {
		for (i = 0; i < FLOW_SLOTS; i++) {
			size_t cap = v->rings_cap;

			if (grow((void **)&v->rings[i], &cap, v->ents_cap,
				 sizeof(bucket)))
				return -ENOMEM;
		}
		v->rings_cap = v->ents_cap;
	}
	if (grow((void **)&v->freel, &v->freel_cap, v->ents_cap,
		 sizeof(*v->freel)))
		return -ENOMEM;
	while (size < 2 * need) {
		size *= 2;
		bits++;
	}
	if (size == v->tab_size)
		return 0;
	tab = malloc(size * sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	memset(tab, 0xff, size * sizeof(*tab));
	free(v->tab);
	v->tab = tab;
	v->tab_size = size;
	v->tab_bits = bits;
	for (i = 0; i < v->ents_hw; i++) {
		if (v->ents[i].gen)
			tab_put(v, (uint32_t)i);
	}
	return 0;
}

static struct vent *ent_new(struct view *v, uint64_t id)
{
	int i;
	uint32_t e = v->nfree ? v->freel[--v->nfree] : (uint32_t)v->ents_hw++;
	struct vent *x = &v->ents[e];

	memset(x, 0, sizeof(*x));
	x->id = id;
	x->fpos = NO_POS;
	for (i = 0; i < FLOW_SLOTS; i++)
		memset(v->rings[i][e], 0, sizeof(bucket));
	tab_put(v, e);
	v->nlive++;
	return x;
}

static void ent_del(struct view *v, uint32_t e)
{
	tab_del(v, e);
	free(v->ents[e].txt);
	v->ents[e].txt = NULL;
	v->ents[e].gen = 0;
	v->freel[v->nfree++] = e;
	v->nlive--;
}

/* ---- bucket rings ---------------------------------------------------- */

/* Make @b1 the newest bucket, zeroing the buckets that slid in. */
static void ring_advance(float (*ring)[4], size_t slots, int64_t *last,
			 int64_t b1)
{
	int64_t b;

	if (*last >= b1)
		return;
	if (*last == INT64_MIN || b1 - *last >= (int64_t)slots) {
		memset(ring, 0, slots * sizeof(*ring));
	} else {
		for (b = *last + 1; b <= b1; b++)
			memset(ring[b % (int64_t)slots], 0, sizeof(*ring));
	}
	*last = b1;
}

/*
 * Spread @d (4 counters) evenly over the time (t1 - dt, t1] into buckets
 * of @w ns: an interval longer than a bucket is not dumped into the last.
 */
static void ring_add(float (*ring)[4], size_t slots, int64_t *last, uint64_t w,
		     uint64_t t1, uint64_t dt, const double d[4])
{
	int64_t b1 = (int64_t)(t1 / w), b0, b;
	uint64_t t0 = dt < t1 ? t1 - dt : 0;
	int i;

	ring_advance(ring, slots, last, b1);
	if (!d[0] && !d[1] && !d[2] && !d[3])
		return;
	b0 = (int64_t)(t0 / w);
	if (dt == 0 || b0 == b1) {
		for (i = 0; i < 4; i++)
			ring[b1 % (int64_t)slots][i] += (float)d[i];
		return;
	}
	if (b0 < b1 - (int64_t)slots + 1)
		b0 = b1 - (int64_t)slots + 1;
	for (b = b0; b <= b1; b++) {
		uint64_t lo = (uint64_t)b * w, hi = lo + w;
		double frac;

		if (lo < t0)
			lo = t0;
		if (hi > t1)
			hi = t1;
		if (hi <= lo)
			continue;
		frac = (double)(hi - lo) / (double)dt;
		for (i = 0; i < 4; i++)
			ring[b % (int64_t)slots][i] += (float)(d[i] * frac);
	}
}

static unsigned int slot_of(const struct ringplan *p, unsigned int age)
{
	return (p->slot0 + FLOW_SLOTS - age) % FLOW_SLOTS;
}

/* The plan for an update at @t1 covering the @dt before it. */
static void plan_make(struct ringplan *p, uint64_t t1, uint64_t dt,
		      uint64_t origin)
{
	uint64_t t0 = dt < t1 ? t1 - dt : 0;
	unsigned int a, h;

	memset(p, 0, sizeof(*p));
	p->b1 = (int64_t)(t1 / FLOW_W_NS);
	p->slot0 = (unsigned int)(p->b1 % FLOW_SLOTS);
	if (dt == 0 || (int64_t)(t0 / FLOW_W_NS) == p->b1) {
		p->add[0] = 1.0;
		p->nadd = 1;
	} else {
		for (a = 0; a < FLOW_SLOTS; a++) {
			uint64_t lo = (uint64_t)(p->b1 - a) * FLOW_W_NS;
			uint64_t hi = lo + FLOW_W_NS;

			if (hi <= t0)
				break;
			if (lo < t0)
				lo = t0;
			if (hi > t1)
				hi = t1;
			p->add[a] =
				hi > lo ? (double)(hi - lo) / (double)dt : 0;
			p->nadd = a + 1;
		}
	}
	/*
	 * Average over (t1 - k buckets, t1], not before @origin: the newest
	 * bucket counts whole (it holds data up to t1), an older one by the
	 * part of it inside the window.
	 */
	for (h = 0; h < 3; h++) {
		uint64_t len = (uint64_t)horizon[h] * FLOW_W_NS;
		uint64_t ws = len < t1 ? t1 - len : 0;
		double span;

		if (ws < origin)
			ws = origin;
		if (t1 <= ws)
			continue;
		span = (double)(t1 - ws) / (double)NS;
		for (a = 0; a < FLOW_SLOTS && (int64_t)a <= p->b1; a++) {
			uint64_t lo = (uint64_t)(p->b1 - a) * FLOW_W_NS;
			uint64_t hi = lo + FLOW_W_NS;
			double frac = 1.0;

			if (hi <= ws)
				break;
			/* A bucket holds data only from @origin on. */
			if (a > 0 && lo < ws) {
				uint64_t from = lo < origin ? origin : lo;

				frac = (double)(hi - ws) / (double)(hi - from);
			}
			p->w[h][a] = frac / span;
			if (a + 1 > p->nw)
				p->nw = a + 1;
		}
	}
}

/* Make the plan's bucket the newest for every flow at once. */
static void rings_advance(struct view *v)
{
	const struct ringplan *p = &v->plan;
	int64_t b, last = v->rings_b1;

	if (last >= p->b1)
		return;
	v->rings_b1 = p->b1;
	if (!v->ents_hw)
		return; /* no rings allocated yet */
	if (last == INT64_MIN || p->b1 - last >= FLOW_SLOTS) {
		for (b = 0; b < FLOW_SLOTS; b++)
			memset(v->rings[b], 0, v->ents_hw * sizeof(bucket));
	} else {
		for (b = last + 1; b <= p->b1; b++)
			memset(v->rings[slot_of(p, (unsigned int)(p->b1 - b))],
			       0, v->ents_hw * sizeof(bucket));
	}
}

static void flow_ring_add(struct view *v, uint32_t e, const double d[4])
{
	const struct ringplan *p = &v->plan;
	unsigned int a, i;

	if (!d[0] && !d[1] && !d[2] && !d[3])
		return;
	for (a = 0; a < p->nadd; a++) {
		float *r = v->rings[slot_of(p, a)][e];

		for (i = 0; i < 4; i++)
			r[i] += (float)(d[i] * p->add[a]);
	}
}

/* Fill @f's averages from its ring (the state of the last update). */
static void flow_avgs(const struct view *v, struct view_flow *f)
{
	const struct ringplan *p = &v->plan;
	double acc[3][4] = { { 0 } };
	unsigned int a, h, i;

	if (f->avg_ok)
		return;
	f->avg_ok = 1;
	if (f->ent == UINT32_MAX) {
		memset(f->avg_bps, 0, sizeof(f->avg_bps));
		memset(f->avg_pps, 0, sizeof(f->avg_pps));
		return;
	}
	for (a = 0; a < p->nw; a++) {
		const float *r = v->rings[slot_of(p, a)][f->ent];

		for (h = 0; h < 3; h++) {
			for (i = 0; i < 4; i++)
				acc[h][i] += r[i] * p->w[h][a];
		}
	}
	for (h = 0; h < 3; h++) {
		for (i = 0; i < 2; i++) {
			f->avg_bps[i][h] = (float)acc[h][i];
			f->avg_pps[i][h] = (float)acc[h][2 + i];
		}
	}
}

/* ---- life cycle ------------------------------------------------------ */

struct view *view_new(void)
{
	struct view *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->sort = VIEW_SORT_RATE;
	v->unit = VIEW_UNIT_BITS;
	v->rows_dirty = 1;
	v->tot.last_b = INT64_MIN;
	v->rings_b1 = INT64_MIN;
	v->min_dt = MIN_DT_NS;
	v->names = VIEW_NAMES_HOSTS | VIEW_NAMES_PORTS;
	return v;
}

void view_free(struct view *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->ents_hw; i++)
		free(v->ents[i].txt);
	free(v->ents);
	for (i = 0; i < FLOW_SLOTS; i++)
		free(v->rings[i]);
	free(v->freel);
	free(v->tab);
	free(v->shown.vf);
	free(v->latest.vf);
	free(v->txt);
	free(v->rows);
	free(v->ord);
	free(v->perm);
	free(v);
}

/* ---- ingestion ------------------------------------------------------- */

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static double per_s(uint64_t d, uint64_t dt)
{
	return dt >= MIN_DT_NS ? (double)d * (double)NS / (double)dt : 0.0;
}

/* Rates, history and display values of one flow. */
static void ingest_flow(struct view *v, struct vent *e,
			const struct flowtab_row *r, const struct snapshot *s,
			uint64_t dt, struct view_flow *out)
{
	double d[4];
	uint64_t db[2], dp[2];
	int i;

	for (i = 0; i < 2; i++) {
		db[i] = sub0(r->bytes[i], e->prev_bytes[i]);
		dp[i] = sub0(r->pkts[i], e->prev_pkts[i]);
		d[i] = (double)db[i];
		d[2 + i] = (double)dp[i];
	}
	if (!v->hold) {
		flow_ring_add(v, (uint32_t)(e - v->ents), d);
		for (i = 0; i < 2; i++) {
			e->rate[i] = (float)per_s(db[i], dt);
			e->rate[2 + i] = (float)per_s(dp[i], dt);
		}
	}
	{
		out->row = *r;
		for (i = 0; i < 2; i++) {
			out->bps[i] = e->rate[i];
			out->pps[i] = e->rate[2 + i];
			out->bytes[i] = v->since_start ? r->bytes[i]
						       : sub0(r->bytes[i],
							      e->base_bytes[i]);
			out->pkts[i] = v->since_start ? r->pkts[i]
						      : sub0(r->pkts[i],
							     e->base_pkts[i]);
		}
		out->avg_ok = 0;
		out->ent = (uint32_t)(e - v->ents);
		out->age_ns = sub0(s->now_ns, r->last_ns);
		out->flags = 0;
		if (s->now_ns >= r->first_ns &&
		    s->now_ns - r->first_ns < VIEW_NEW_NS)
			out->flags |= VIEW_ROW_NEW;
		if (v->tot.have_prev && !dp[0] && !dp[1])
			out->flags |= VIEW_ROW_IDLE;
		if (selfflow_match(&v->self, &r->key)) {
			out->flags |= VIEW_ROW_SELF;
			v->self_seen = 1;
		}
		out->fpos = e->fpos;
		out->txt = UINT32_MAX;
	}
	/* Held: the next interval counts these packets. */
	for (i = 0; i < 2 && !v->hold; i++) {
		e->prev_bytes[i] = r->bytes[i];
		e->prev_pkts[i] = r->pkts[i];
	}
}

static void totals_sub(struct flowtab_counts *out,
		       const struct flowtab_counts *a,
		       const struct flowtab_counts *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[i].pkts = sub0(a[i].pkts, b[i].pkts);
		out[i].bytes = sub0(a[i].bytes, b[i].bytes);
	}
}

static void cap_sub(struct cap_stats *out, const struct cap_stats *a,
		    const struct cap_stats *b)
{
	out->received = sub0(a->received, b->received);
	out->kernel_drops = sub0(a->kernel_drops, b->kernel_drops);
	out->freezes = sub0(a->freezes, b->freezes);
	out->if_drops = sub0(a->if_drops, b->if_drops);
	out->filtered = sub0(a->filtered, b->filtered);
	out->map_full = sub0(a->map_full, b->map_full);
	out->prog_errors = sub0(a->prog_errors, b->prog_errors);
}

/*
 * Header totals into @d (the state being built), at @now on the view's
 * clock. A held update (v->hold) shows the last rates and advances
 * nothing: its packets count in the next interval's rates.
 */
static void ingest_totals(struct view *v, const struct snapshot *s,
			  uint64_t now, uint64_t dt, struct dispstate *d)
{
	struct totstate *t = &v->tot;
	struct view_totals *o = &d->tot;
	struct flowtab_counts dk[PROTO_COUNT], cur[PROTO_COUNT],
		prev[PROTO_COUNT], base[PROTO_COUNT];
	uint64_t dbytes = sub0(s->bytes, t->prev_bytes);
	uint64_t dpkts = sub0(s->pkts, t->prev_pkts);
	double dd[4] = { (double)dbytes, (double)dpkts, 0, 0 };
	int p;

	snapshot_proto_totals(s->kind, cur);
	snapshot_proto_totals(t->prev_kind, prev);
	snapshot_proto_totals(t->base_kind, base);
	if (!v->hold) {
		ring_add(t->ring, TOT_SLOTS, &t->last_b, TOT_W_NS, now, dt, dd);
		t->bps = per_s(dbytes, dt);
		t->pps = per_s(dpkts, dt);
		if (t->bps > t->peak_bps)
			t->peak_bps = t->bps;
		if (t->pps > t->peak_pps)
			t->peak_pps = t->pps;
		totals_sub(dk, cur, prev, PROTO_COUNT);
		for (p = 0; p < PROTO_COUNT; p++) {
			t->proto_bps[p] = per_s(dk[p].bytes, dt);
			t->proto_pps[p] = per_s(dk[p].pkts, dt);
		}
	}
	if (v->since_start)
		memset(base, 0, sizeof(base));
	o->pkts = v->since_start ? s->pkts : sub0(s->pkts, t->base_pkts);
	o->bytes = v->since_start ? s->bytes : sub0(s->bytes, t->base_bytes);
	o->bps = t->bps;
	o->pps = t->pps;
	o->avg_bps = per_s(o->bytes, sub0(now, t->avg_origin));
	o->avg_pps = per_s(o->pkts, sub0(now, t->avg_origin));
	o->peak_bps = t->peak_bps;
	o->peak_pps = t->peak_pps;
	totals_sub(o->proto, cur, base, PROTO_COUNT);
	memcpy(o->proto_bps, t->proto_bps, sizeof(o->proto_bps));
	memcpy(o->proto_pps, t->proto_pps, sizeof(o->proto_pps));
	o->cap = s->cap;
	cap_sub(&o->cap_delta, &s->cap, &t->prev_cap);
	o->exact = snapshot_exact(s);
	o->link_down = s->link_down;
	o->flows = s->nrows;
	o->expired_flows = s->expired_flows;
	o->malformed = snapshot_malformed(s);
	o->uptime_ns = snapshot_duration_ns(s);
	o->mono_ns = s->mono_ns;
	o->updates = v->updates;
	if (v->hold)
		return;
	t->prev_mono = now;
	t->prev_pkts = s->pkts;
	t->prev_bytes = s->bytes;
	memcpy(t->prev_kind, s->kind, sizeof(t->prev_kind));
	t->prev_cap = s->cap;
}

/* The last VIEW_HIST_SECONDS whole seconds of the total-rate ring. */
static void snap_history(struct view *v, struct dispstate *d)
{
	struct totstate *t = &v->tot;
	int64_t b1 = (int64_t)(t->prev_mono / TOT_W_NS), b;
	size_t i;

	for (i = 0; i < VIEW_HIST_SECONDS; i++) {
		b = b1 - VIEW_HIST_SECONDS + (int64_t)i;
		if (b < 0 || (uint64_t)(b + 1) * TOT_W_NS <= t->origin ||
		    t->last_b == INT64_MIN || b <= t->last_b - TOT_SLOTS) {
			d->hist[i][0] = d->hist[i][1] = -1;
			continue;
		}
		d->hist[i][0] = t->ring[b % TOT_SLOTS][0];
		d->hist[i][1] = t->ring[b % TOT_SLOTS][1];
	}
}

/* Positions of a frozen order only grow; close the gaps now and then. */
static int frozen_renumber(struct view *v)
{
	struct dispstate *d = &v->shown;
	size_t i, span = v->next_fpos;
	uint32_t pos = 0;

	if (grow((void **)&v->perm, &v->perm_cap, span + 1, sizeof(*v->perm)))
		return -ENOMEM;
	memset(v->perm, 0xff, span * sizeof(*v->perm));
	for (i = 0; i < d->nvf; i++) {
		if (d->vf[i].fpos < span)
			v->perm[d->vf[i].fpos] = (uint32_t)i;
	}
	for (i = 0; i < v->ents_hw; i++)
		v->ents[i].fpos = NO_POS;
	for (i = 0; i < span; i++) {
		struct view_flow *f;
		struct vent *e;

		if (v->perm[i] == UINT32_MAX)
			continue;
		f = &d->vf[v->perm[i]];
		f->fpos = pos++;
		e = ent_find(v, f->row.id);
		if (e)
			e->fpos = f->fpos;
	}
	v->next_fpos = pos;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * Give the shown flows their frozen positions (from their state entries,
 * which keep them across updates); flows new to the order append in
 * creation (id) order.
 */
static int frozen_append(struct view *v)
{
	struct dispstate *d = &v->shown;
	uint64_t *ids;
	size_t i, n = 0;

	for (i = 0; i < d->nvf; i++) {
		struct vent *e = ent_of(v, &d->vf[i]);

		if (e && e->fpos != NO_POS)
			d->vf[i].fpos = e->fpos;
		n += d->vf[i].fpos == NO_POS;
	}
	if (n) {
		ids = malloc(n * sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		for (i = 0, n = 0; i < d->nvf; i++) {
			if (d->vf[i].fpos == NO_POS)
				ids[n++] = d->vf[i].row.id;
		}
		qsort(ids, n, sizeof(*ids), cmp_u64);
		for (i = 0; i < n; i++) {
			struct vent *e = ent_find(v, ids[i]);

			if (e)
				e->fpos = v->next_fpos++;
		}
		for (i = 0; i < d->nvf; i++) {
			struct vent *e;

			if (d->vf[i].fpos != NO_POS)
				continue;
			e = ent_find(v, d->vf[i].row.id);
			d->vf[i].fpos = e ? e->fpos : v->next_fpos++;
		}
		free(ids);
	}
	if (v->next_fpos > 2 * d->nvf + 1024)
		return frozen_renumber(v);
	return 0;
}

/* The shown state changed: rows, texts and order are stale. */
static void shown_changed(struct view *v)
{
	v->txt_valid = 0;
	v->rows_dirty = 1;
	if (v->frozen && frozen_append(v))
		v->frozen = 0; /* out of memory: sort instead */
}

int view_update(struct view *v, const struct snapshot *s)
{
	struct dispstate *d = v->paused ? &v->latest : &v->shown;
	uint64_t t0 = mono_now(), dt, now;
	struct snapshot_iter it = { 0 };
	const struct flowtab_row *r;
	size_t i, seen = 0;
	int first;
	uint32_t guess = 0;

	if (reserve(v, s->nrows) ||
	    grow((void **)&d->vf, &d->cap, s->nrows, sizeof(*d->vf)))
		return -ENOMEM;
	/* Files: packet time (the file's own rates, however fast it is
	 * read); before the first packet there is no packet time yet. */
	now = v->packet_clock ? s->now_ns : s->mono_ns;
	first = !v->tot.have_prev || (v->packet_clock && !v->tot.prev_mono);
	if (!first) {
		dt = sub0(now, v->tot.prev_mono);
	} else {
		/* First look: everything so far happened during the run. */
		dt = snapshot_duration_ns(s);
		if (dt > now)
			dt = now;
		v->tot.origin = now - dt;
		v->tot.avg_origin = v->tot.origin;
	}
	/*
	 * An update sooner than min_dt after the last one (a refresh forced
	 * by a command, a file whose packet time stood still) holds the
	 * rates: a short interval is mostly noise, and would move the peak.
	 */
	v->hold = !first && dt < v->min_dt;
	v->gen++;
	v->updates++;
	if (!v->hold) {
		plan_make(&v->plan, now, dt, v->tot.origin);
		rings_advance(v);
	}
	for (i = 0; i < s->nrows && (r = snapshot_row_next(s, &it)); i++) {
		struct vent *e = NULL;

		/*
		 * Rows keep their relative order from one snapshot to the
		 * next (the table's iteration order), and entries are made
		 * in that order: try the next entry in line before hashing. A
		 * flow found a little further on means flows in between
		 * went: the walk goes on from there. One found elsewhere (a
		 * newer flow) leaves the walk where it was.
		 */
		if (guess < v->ents_hw && v->ents[guess].gen &&
		    v->ents[guess].id == r->id) {
			e = &v->ents[guess];
			guess++;
		} else {
			uint32_t at;

			e = ent_find(v, r->id);
			if (!e)
				e = ent_new(v, r->id);
			at = (uint32_t)(e - v->ents);
			if (at >= guess && at - guess < 64)
				guess = at + 1;
		}
		seen += e->gen != v->gen;
		e->gen = v->gen;
		ingest_flow(v, e, r, s, dt, &d->vf[i]);
	}
	d->nvf = i;
	/* Prune flows gone, unless every live entry was just seen. */
	for (i = 0; i < v->ents_hw && v->nlive > seen; i++) {
		if (v->ents[i].gen && v->ents[i].gen != v->gen)
			ent_del(v, (uint32_t)i);
	}
	ingest_totals(v, s, now, dt, d);
	snap_history(v, d);
	d->valid = 1;
	v->tot.have_prev = 1;
	if (!v->paused)
		shown_changed(v);
	v->cost_update = mono_now() - t0;
	return 0;
}

/* ---- settings -------------------------------------------------------- */

void view_set_paused(struct view *v, int paused, uint64_t mono_ns)
{
	struct dispstate t;

	paused = !!paused;
	if (paused == v->paused)
		return;
	v->paused = paused;
	v->paused_since = paused ? mono_ns : 0;
	if (paused) {
		/* Ingestion moves the rings on: fix the shown averages. */
		size_t i;

		for (i = 0; i < v->shown.nvf; i++)
			flow_avgs(v, &v->shown.vf[i]);
		return;
	}
	if (!v->latest.valid)
		return;
	/* Resume: show the latest state ingested while paused. */
	t = v->shown;
	v->shown = v->latest;
	v->latest = t;
	v->latest.valid = 0;
	shown_changed(v);
}

int view_paused(const struct view *v, uint64_t *since)
{
	if (since)
		*since = v->paused_since;
	return v->paused;
}

static const struct {
	const char *name;
	int desc;
} sort_info[VIEW_SORT_COUNT] = {
	[VIEW_SORT_PROTO] = { "protocol", 0 },
	[VIEW_SORT_A] = { "endpoint A", 0 },
	[VIEW_SORT_B] = { "endpoint B", 0 },
	[VIEW_SORT_RATE_AB] = { "rate A>B", 1 },
	[VIEW_SORT_RATE_BA] = { "rate B>A", 1 },
	[VIEW_SORT_RATE] = { "rate", 1 },
	[VIEW_SORT_AVG2] = { "2 s average", 1 },
	[VIEW_SORT_AVG10] = { "10 s average", 1 },
	[VIEW_SORT_AVG40] = { "40 s average", 1 },
	[VIEW_SORT_PPS] = { "packets/s", 1 },
	[VIEW_SORT_BYTES] = { "bytes", 1 },
	[VIEW_SORT_PKTS] = { "packets", 1 },
	[VIEW_SORT_LAST] = { "last seen", 1 },
};

const char *view_sort_name(enum view_sort key)
{
	return (unsigned)key < VIEW_SORT_COUNT ? sort_info[key].name : "?";
}

int view_sort_descending(enum view_sort key)
{
	return (unsigned)key < VIEW_SORT_COUNT ? sort_info[key].desc : 0;
}

void view_set_sort(struct view *v, enum view_sort key)
{
	if ((unsigned)key >= VIEW_SORT_COUNT)
		return;
	if (key == v->sort && !v->frozen) {
		v->reversed = !v->reversed;
	} else if (key != v->sort) {
		v->sort = key;
		v->reversed = 0;
	}
	v->frozen = 0;
	v->ord_dirty = 1;
}

void view_sort_step(struct view *v, int delta, uint32_t mask)
{
	int k = (int)v->sort, i;

	if (!mask)
		mask = (1u << VIEW_SORT_COUNT) - 1;
	for (i = 0; i < VIEW_SORT_COUNT; i++) {
		k = (k + (delta < 0 ? VIEW_SORT_COUNT - 1 : 1)) %
		    VIEW_SORT_COUNT;
		if (mask & (1u << k))
			break;
	}
	if (!(mask & (1u << k)))
		return;
	v->sort = (enum view_sort)k;
	v->reversed = 0;
	v->frozen = 0;
	v->ord_dirty = 1;
}

enum view_sort view_sort(const struct view *v, int *reversed)
{
	if (reversed)
		*reversed = v->reversed;
	return v->sort;
}

static int layout_order(struct view *v);
static void partial_sort(struct sortent *a, size_t n, size_t lo, size_t hi,
			 int depth);
static int log2ceil(size_t n);

void view_set_frozen(struct view *v, int frozen)
{
	struct dispstate *d = &v->shown;
	char filter0 = v->filter[0];
	size_t i;
	int rc;

	frozen = !!frozen;
	if (frozen == v->frozen)
		return;
	v->ord_dirty = 1;
	if (!frozen) {
		v->frozen = 0;
		return;
	}
	/* Freeze the order the rows have now, filtered out or not. */
	v->filter[0] = 0;
	rc = layout_order(v);
	v->filter[0] = filter0;
	v->ord_dirty = 1;
	if (rc)
		return;
	partial_sort(v->ord, v->nord, 0, v->nord, 2 * log2ceil(v->nord));
	for (i = 0; i < v->ents_hw; i++)
		v->ents[i].fpos = NO_POS;
	for (i = 0; i < d->nvf; i++)
		d->vf[i].fpos = NO_POS;
	v->next_fpos = 0;
	for (i = 0; i < v->nord; i++) {
		struct view_flow *f =
			(struct view_flow *)v->rows[v->ord[i].row].f;
		struct vent *e;

		if (f->fpos != NO_POS)
			continue;
		f->fpos = v->next_fpos++;
		e = ent_find(v, f->row.id);
		if (e)
			e->fpos = f->fpos;
	}
	v->frozen = 1;
}

int view_frozen(const struct view *v)
{
	return v->frozen;
}

int view_filter_set(struct view *v, const char *text)
{
	size_t i, n = text ? strlen(text) : 0;

	if (n >= VIEW_FILTER_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = text[i];

		v->filter[i] =
			(c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	v->filter[n] = 0;
	v->ord_dirty = 1;
	return 0;
}

const char *view_filter(const struct view *v)
{
	return v->filter;
}

void view_set_unit(struct view *v, enum view_unit unit)
{
	if (unit == v->unit)
		return;
	v->unit = unit;
	v->ord_dirty = 1;
}

enum view_unit view_unit(const struct view *v)
{
	return v->unit;
}

void view_set_per_direction(struct view *v, int on)
{
	if (!!on == v->per_dir)
		return;
	v->per_dir = !!on;
	v->rows_dirty = 1;
}

int view_per_direction(const struct view *v)
{
	return v->per_dir;
}

void view_set_numeric(struct view *v, int on)
{
	v->names = on ? 0 : VIEW_NAMES_HOSTS | VIEW_NAMES_PORTS;
}

int view_numeric(const struct view *v)
{
	return !v->names;
}

void view_set_names(struct view *v, unsigned int names)
{
	v->names = names & (VIEW_NAMES_HOSTS | VIEW_NAMES_PORTS);
}

unsigned int view_names(const struct view *v)
{
	return v->names;
}

void view_set_full_names(struct view *v, int on)
{
	v->full_names = !!on;
}

void view_set_packet_clock(struct view *v, int on)
{
	v->packet_clock = !!on;
}

void view_set_min_interval(struct view *v, uint64_t ns)
{
	v->min_dt = ns > MIN_DT_NS ? ns : MIN_DT_NS;
}

void view_set_max_bps(struct view *v, double bits_per_s)
{
	/* NaN fails the comparison: auto-detect, as for 0. */
	v->max_bits = bits_per_s > 0 && isfinite(bits_per_s) ? bits_per_s : 0;
}

double view_max_bps(const struct view *v, int *fixed)
{
	if (fixed)
		*fixed = v->max_bits > 0;
	if (v->max_bits > 0)
		return v->max_bits;
	return v->shown.tot.peak_bps * 8.0;
}

void view_set_resolver(struct view *v, view_name_fn fn, void *ctx)
{
	v->name_fn = fn;
	v->name_ctx = ctx;
}

void view_mark(struct view *v, uint64_t wall_ns)
{
	view_reset(v);
	v->mark_wall_ns = wall_ns ? wall_ns : 1;
	v->since_start = 0;
}

uint64_t view_mark_time(const struct view *v)
{
	return v->mark_wall_ns;
}

void view_set_since_start(struct view *v, int on)
{
	v->since_start = !!on;
	v->rows_dirty = 1;
	v->ord_dirty = 1;
}

int view_since_start(const struct view *v)
{
	return v->since_start;
}

void view_set_self(struct view *v, const struct selfflow *sf)
{
	v->self = *sf;
}

int view_self_known(const struct view *v)
{
	return v->self.known;
}

void view_set_hide_self(struct view *v, int on)
{
	v->hide_self = !!on;
	v->ord_dirty = 1;
}

int view_hide_self(const struct view *v)
{
	return v->hide_self;
}

int view_self_seen(const struct view *v)
{
	return v->self_seen;
}

void view_reset(struct view *v)
{
	struct totstate *t = &v->tot;
	size_t i;
	int k;

	for (i = 0; i < v->ents_hw; i++) {
		struct vent *e = &v->ents[i];

		if (!e->gen)
			continue;
		for (k = 0; k < 2; k++) {
			e->base_bytes[k] = e->prev_bytes[k];
			e->base_pkts[k] = e->prev_pkts[k];
		}
	}
	for (k = 0; k < 2; k++) {
		struct dispstate *d = k ? &v->latest : &v->shown;

		for (i = 0; i < d->nvf; i++) {
			memset(d->vf[i].bytes, 0, sizeof(d->vf[i].bytes));
			memset(d->vf[i].pkts, 0, sizeof(d->vf[i].pkts));
		}
		d->tot.pkts = d->tot.bytes = 0;
		d->tot.avg_bps = d->tot.avg_pps = 0;
		d->tot.peak_bps = d->tot.peak_pps = 0;
		memset(d->tot.proto, 0, sizeof(d->tot.proto));
	}
	t->base_pkts = t->prev_pkts;
	t->base_bytes = t->prev_bytes;
	memcpy(t->base_kind, t->prev_kind, sizeof(t->base_kind));
	t->avg_origin = t->prev_mono;
	t->peak_bps = t->peak_pps = 0;
	v->ord_dirty = 1;
}

/* ---- row values ------------------------------------------------------ */

double view_unit_rate(enum view_unit unit, double bps, double pps)
{
	switch (unit) {
	case VIEW_UNIT_BYTES:
		return bps;
	case VIEW_UNIT_PACKETS:
		return pps;
	default:
		return bps * 8.0;
	}
}

const char *view_unit_name(enum view_unit unit)
{
	switch (unit) {
	case VIEW_UNIT_BYTES:
		return "bytes/s";
	case VIEW_UNIT_PACKETS:
		return "pkts/s";
	default:
		return "bits/s";
	}
}

double view_row_rate(const struct view *v, const struct view_row *r, int which)
{
	const struct view_flow *f = r->f;
	double b, p;

	if (r->dir != VIEW_DIR_BOTH) {
		if (which == VIEW_RATE_BA)
			return 0.0;
		b = f->bps[r->dir];
		p = f->pps[r->dir];
	} else if (which == VIEW_RATE_TOTAL) {
		b = f->bps[0] + f->bps[1];
		p = f->pps[0] + f->pps[1];
	} else {
		b = f->bps[which];
		p = f->pps[which];
	}
	return view_unit_rate(v->unit, b, p);
}

double view_row_avg(const struct view *v, const struct view_row *r, int h)
{
	const struct view_flow *f = r->f;
	double b, p;

	if (h < 0 || h > 2)
		return 0.0;
	/* The view owns the flow copies: filling the cache is not a change
	 * anybody can see. */
	flow_avgs(v, (struct view_flow *)f);
	if (r->dir != VIEW_DIR_BOTH) {
		b = f->avg_bps[r->dir][h];
		p = f->avg_pps[r->dir][h];
	} else {
		b = (double)f->avg_bps[0][h] + f->avg_bps[1][h];
		p = (double)f->avg_pps[0][h] + f->avg_pps[1][h];
	}
	return view_unit_rate(v->unit, b, p);
}

double view_row_percent(const struct view *v, const struct view_row *r)
{
	const struct view_flow *f = r->f;
	double b, ref;

	b = r->dir != VIEW_DIR_BOTH ? f->bps[r->dir] : f->bps[0] + f->bps[1];
	if (b <= 0)
		return 0.0;
	/* Bytes over bytes: the same share in any unit but packets. */
	ref = v->max_bits > 0 ? v->max_bits / 8.0 : v->shown.tot.peak_bps;
	if (!(ref > 0))
		return -1.0;
	return 100.0 * b / ref;
}

double view_row_pps(const struct view_row *r)
{
	if (r->dir != VIEW_DIR_BOTH)
		return r->f->pps[r->dir];
	return r->f->pps[0] + r->f->pps[1];
}

uint64_t view_row_bytes(const struct view_row *r)
{
	if (r->dir != VIEW_DIR_BOTH)
		return r->f->bytes[r->dir];
	return r->f->bytes[0] + r->f->bytes[1];
}

uint64_t view_row_pkts(const struct view_row *r)
{
	if (r->dir != VIEW_DIR_BOTH)
		return r->f->pkts[r->dir];
	return r->f->pkts[0] + r->f->pkts[1];
}

int view_row_endpoint(const struct view_row *r, int side, char *buf, size_t len)
{
	if (r->dir == FLOW_DIR_BA)
		side = !side;
	return flowkey_format_endpoint(&r->f->row.key, side ? 1 : 0, buf, len);
}

/* ICMP and ICMPv6 message types (folded: a reply shows as its request). */
static const char *icmp_type_name(int kind, unsigned int t)
{
	static const struct {
		uint8_t v6, type;
		const char *name;
	} names[] = {
		{ 0, 0, "echo" },
		{ 0, 3, "unreach" },
		{ 0, 4, "source quench" },
		{ 0, 5, "redirect" },
		{ 0, 8, "echo" },
		{ 0, 9, "router advert" },
		{ 0, 10, "router solicit" },
		{ 0, 11, "time exceeded" },
		{ 0, 12, "param problem" },
		{ 0, 13, "timestamp" },
		{ 0, 15, "info" },
		{ 0, 17, "mask" },
		{ 1, 1, "unreach" },
		{ 1, 2, "too big" },
		{ 1, 3, "time exceeded" },
		{ 1, 4, "param problem" },
		{ 1, 128, "echo" },
		{ 1, 130, "mld query" },
		{ 1, 131, "mld report" },
		{ 1, 132, "mld done" },
		{ 1, 133, "router solicit" },
		{ 1, 134, "router advert" },
		{ 1, 135, "neighbor solicit" },
		{ 1, 136, "neighbor advert" },
		{ 1, 137, "redirect" },
		{ 1, 139, "node info" },
		{ 1, 143, "mld2 report" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].type == t && names[i].v6 == (kind == KIND_ICMP6))
			return names[i].name;
	}
	return NULL;
}

int view_row_endpoint_parts(const struct view *v, const struct view_row *r,
			    int side, char *host, size_t hlen, char *port,
			    size_t plen, char *note, size_t nlen)
{
	const struct flow_key *k = &r->f->row.key;
	int s = r->dir == FLOW_DIR_BA ? !side : !!side;
	int fam = flowkey_family(k->kind), named = 0;
	unsigned int pn = s ? k->bport : k->aport;
	char num[160], name[256], *colon;
	const char *svc;

	port[0] = note[0] = 0;
	view_row_endpoint(r, side, num, sizeof(num));
	if (flowkey_has_ports(k->kind) && (colon = strrchr(num, ':')) &&
	    (num[0] != '[' || colon > strchr(num, ']')))
		*colon = 0;
	if ((v->names & VIEW_NAMES_HOSTS) && v->name_fn && fam &&
	    v->name_fn(v->name_ctx, fam, s ? k->b : k->a, name, sizeof(name)) ==
		    1) {
		name[sizeof(name) - 1] = 0;
		/* The host's first label, unless full names (-F). */
		if (!v->full_names && strchr(name, '.') && !isdigit(name[0]))
			*strchr(name, '.') = 0;
		snprintf(host, hlen, "%s", name);
		named = 1;
	} else {
		snprintf(host, hlen, "%s", num);
	}
	if (flowkey_has_ports(k->kind)) {
		svc = (v->names & VIEW_NAMES_PORTS)
			      ? names_service(pn, k->kind == KIND_TCP4 ||
							  k->kind == KIND_TCP6)
			      : NULL;
		if (svc)
			snprintf(port, plen, "%s", svc);
		else
			snprintf(port, plen, "%u", pn);
	}
	/* The ICMP message type, beside the second endpoint (16.6). */
	if (flowkey_is_icmp(k->kind) && side == 1) {
		const char *t = icmp_type_name(k->kind, k->aport);

		if (t)
			snprintf(note, nlen, "%s", t);
		else
			snprintf(note, nlen, "type %u", (unsigned int)k->aport);
	}
	return named;
}

int view_row_endpoint_text(const struct view *v, const struct view_row *r,
			   int side, char *buf, size_t len)
{
	char host[256], port[32], note[32];

	view_row_endpoint_parts(v, r, side, host, sizeof(host), port,
				sizeof(port), note, sizeof(note));
	return snprintf(buf, len, "%s%s%s%s%s", host, port[0] ? ":" : "", port,
			note[0] ? " " : "", note);
}

const char *view_row_proto(const struct view_row *r)
{
	return flowkey_proto_name(r->f->row.key.kind);
}

/* ---- rows, filter, order --------------------------------------------- */

static int build_rows(struct view *v)
{
	size_t i, n = 0;

	if (grow((void **)&v->rows, &v->rows_cap,
		 v->per_dir ? 2 * v->shown.nvf : v->shown.nvf,
		 sizeof(*v->rows)))
		return -ENOMEM;
	for (i = 0; i < v->shown.nvf; i++) {
		const struct view_flow *f = &v->shown.vf[i];

		if (!v->per_dir) {
			v->rows[n++] = (struct view_row){ f, VIEW_DIR_BOTH };
			continue;
		}
		/* A direction that never carried a packet has no row. */
		if (f->row.pkts[FLOW_DIR_AB] || !f->row.pkts[FLOW_DIR_BA])
			v->rows[n++] = (struct view_row){ f, FLOW_DIR_AB };
		if (f->row.pkts[FLOW_DIR_BA])
			v->rows[n++] = (struct view_row){ f, FLOW_DIR_BA };
	}
	v->nrows = n;
	v->rows_dirty = 0;
	v->ord_dirty = 1;
	return 0;
}

/* "proto\1endpoint A\1endpoint B", lower case, for the display filter. */
static int flow_text(const struct flow_key *k, char *buf, size_t len)
{
	int n, m;
	char *p;

	/* The name as shown, and the spellings people type: icmp6, icmp4. */
	n = snprintf(buf, len, "%s%s\1", flowkey_proto_name(k->kind),
		     k->kind == KIND_ICMP6   ? " icmp6"
		     : k->kind == KIND_ICMP4 ? " icmp4 icmp"
					     : "");
	if (n < 0 || (size_t)n >= len)
		return -1;
	m = flowkey_format_endpoint(k, 0, buf + n, len - (size_t)n);
	if (m < 0 || (size_t)(n + m + 1) >= len)
		return -1;
	n += m;
	buf[n++] = '\1';
	m = flowkey_format_endpoint(k, 1, buf + n, len - (size_t)n);
	if (m < 0 || (size_t)(n + m) >= len)
		return -1;
	for (p = buf; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return n + m;
}

/* Formatting addresses is the costly part: each flow's text is cached in
 * its state entry for its whole life, and copied into an arena per build. */
static int build_text(struct view *v)
{
	char tmp[160];
	size_t i;

	v->txt_len = 0;
	for (i = 0; i < v->shown.nvf; i++) {
		struct view_flow *f = &v->shown.vf[i];
		struct vent *e = ent_find(v, f->row.id);
		const char *t = e ? e->txt : NULL;
		size_t n;

		if (!t) {
			if (flow_text(&f->row.key, tmp, sizeof(tmp)) < 0)
				tmp[0] = 0;
			t = tmp;
			if (e)
				e->txt = strdup(tmp);
		}
		n = strlen(t) + 1;
		if (grow((void **)&v->txt, &v->txt_cap, v->txt_len + n, 1))
			return -ENOMEM;
		memcpy(v->txt + v->txt_len, t, n);
		f->txt = (uint32_t)v->txt_len;
		v->txt_len += n;
	}
	v->txt_valid = 1;
	return 0;
}

static int row_matches(const struct view *v, const struct view_row *r)
{
	if (v->hide_self && (r->f->flags & VIEW_ROW_SELF))
		return 0;
	if (!v->filter[0])
		return 1;
	if (r->f->txt == UINT32_MAX)
		return 0;
	/* Space-separated terms, all of which must match (AND). */
	{
		const char *t = v->txt + r->f->txt, *p = v->filter;
		char term[VIEW_FILTER_MAX];

		while (*p) {
			size_t n = strcspn(p, " ");

			if (n) {
				memcpy(term, p, n);
				term[n] = 0;
				if (!strstr(t, term))
					return 0;
			}
			p += n;
			p += strspn(p, " ");
		}
	}
	return 1;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < 8; i++)
		x = (x << 8) | p[i];
	return x;
}

/* Non-negative doubles order like their bit patterns. */
static uint64_t dkey(double d)
{
	uint64_t k;

	if (!(d > 0.0))
		d = 0.0;
	memcpy(&k, &d, sizeof(k));
	return k;
}

static void row_key(const struct view *v, const struct view_row *r,
		    uint32_t idx, struct sortent *e)
{
	const struct view_flow *f = r->f;
	const struct flow_key *k = &f->row.key;
	int side;

	e->k1 = e->k2 = 0;
	switch (v->sort) {
	case VIEW_SORT_PROTO:
		e->k0 = (uint64_t)k->kind << 8 | k->ipproto;
		break;
	case VIEW_SORT_A:
	case VIEW_SORT_B:
		side = v->sort == VIEW_SORT_B;
		if (r->dir == FLOW_DIR_BA)
			side = !side;
		e->k0 = be64(side ? k->b : k->a);
		e->k1 = be64((side ? k->b : k->a) + 8);
		e->k2 = side ? k->bport : k->aport;
		break;
	case VIEW_SORT_RATE_AB:
		e->k0 = dkey(view_row_rate(v, r, VIEW_RATE_AB));
		break;
	case VIEW_SORT_RATE_BA:
		e->k0 = dkey(view_row_rate(v, r, VIEW_RATE_BA));
		break;
	case VIEW_SORT_RATE:
		e->k0 = dkey(view_row_rate(v, r, VIEW_RATE_TOTAL));
		break;
	case VIEW_SORT_AVG2:
	case VIEW_SORT_AVG10:
	case VIEW_SORT_AVG40:
		e->k0 = dkey(view_row_avg(v, r, v->sort - VIEW_SORT_AVG2));
		break;
	case VIEW_SORT_PPS:
		e->k0 = dkey(view_row_pps(r));
		break;
	case VIEW_SORT_BYTES:
		e->k0 = view_row_bytes(r);
		break;
	case VIEW_SORT_PKTS:
		e->k0 = view_row_pkts(r);
		break;
	case VIEW_SORT_LAST:
	default:
		e->k0 = f->row.last_ns;
		break;
	}
	if (view_sort_descending(v->sort) != v->reversed) {
		e->k0 = ~e->k0;
		e->k1 = ~e->k1;
		e->k2 = ~e->k2;
	}
	e->tie = f->row.id << 2 | (uint64_t)r->dir;
	e->row = idx;
}

static inline int ent_less(const struct sortent *a, const struct sortent *b)
{
	if (a->k0 != b->k0)
		return a->k0 < b->k0;
	if (a->k1 != b->k1)
		return a->k1 < b->k1;
	if (a->k2 != b->k2)
		return a->k2 < b->k2;
	return a->tie < b->tie;
}

static inline void ent_swap(struct sortent *a, struct sortent *b)
{
	struct sortent t = *a;

	*a = *b;
	*b = t;
}

static void insertion(struct sortent *a, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct sortent t = a[i];

		for (j = i; j > 0 && ent_less(&t, &a[j - 1]); j--)
			a[j] = a[j - 1];
		a[j] = t;
	}
}

static void sift(struct sortent *a, size_t i, size_t n)
{
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && ent_less(&a[c], &a[c + 1]))
			c++;
		if (!ent_less(&a[i], &a[c]))
			return;
		ent_swap(&a[i], &a[c]);
		i = c;
	}
}

static void heapsort_ents(struct sortent *a, size_t n)
{
	size_t i;

	for (i = n / 2; i-- > 0;)
		sift(a, i, n);
	for (i = n; i-- > 1;) {
		ent_swap(&a[0], &a[i]);
		sift(a, 0, i);
	}
}

/* Median-of-three partition; keys are distinct (the tie is unique).
 * Returns the pivot's final index. Needs n >= 3. */
static size_t partition(struct sortent *a, size_t n)
{
	size_t mid = n / 2, i = 0, j = n - 2;
	struct sortent p;

	if (ent_less(&a[mid], &a[0]))
		ent_swap(&a[mid], &a[0]);
	if (ent_less(&a[n - 1], &a[0]))
		ent_swap(&a[n - 1], &a[0]);
	if (ent_less(&a[n - 1], &a[mid]))
		ent_swap(&a[n - 1], &a[mid]);
	ent_swap(&a[mid], &a[n - 2]);
	p = a[n - 2];
	for (;;) {
		while (ent_less(&a[++i], &p))
			;
		while (ent_less(&p, &a[--j]))
			;
		if (i >= j)
			break;
		ent_swap(&a[i], &a[j]);
	}
	ent_swap(&a[i], &a[n - 2]);
	return i;
}

/*
 * Put the elements of ranks [lo, hi) of a[0, n) in place, in order:
 * quicksort that only descends into parts overlapping the window, so a
 * window of h rows costs O(n + h log h) on average. Depth-limited: a bad
 * run of pivots ends in heapsort.
 */
static void partial_sort(struct sortent *a, size_t n, size_t lo, size_t hi,
			 int depth)
{
	while (n > 16) {
		size_t p, r;

		if (hi > n)
			hi = n;
		if (lo >= hi)
			return;
		if (depth-- <= 0) {
			heapsort_ents(a, n);
			return;
		}
		p = partition(a, n);
		r = p + 1; /* right part is a[r, n) */
		if (lo < p && hi > r) {
			/* Both sides: recurse into the smaller. */
			if (p < n - r) {
				partial_sort(a, p, lo, hi, depth);
				a += r;
				n -= r;
				lo = lo > r ? lo - r : 0;
				hi -= r;
			} else {
				partial_sort(a + r, n - r, lo > r ? lo - r : 0,
					     hi - r, depth);
				n = p;
			}
		} else if (lo < p) {
			n = p;
		} else if (hi > r) {
			a += r;
			n -= r;
			lo = lo > r ? lo - r : 0;
			hi -= r;
		} else {
			return;
		}
	}
	insertion(a, n);
}

static int log2ceil(size_t n)
{
	int d = 0;

	while (n > 1) {
		n >>= 1;
		d++;
	}
	return d + 1;
}

/* Rebuild the order array: filtered rows with their keys, or the frozen
 * order (placed by position: no sort at all). */
static int layout_order(struct view *v)
{
	size_t i, n = 0;

	if (v->rows_dirty && build_rows(v))
		return -ENOMEM;
	if (v->filter[0] && !v->txt_valid && build_text(v))
		return -ENOMEM;
	if (grow((void **)&v->ord, &v->ord_cap, v->nrows, sizeof(*v->ord)))
		return -ENOMEM;
	if (!v->frozen) {
		for (i = 0; i < v->nrows; i++) {
			if (row_matches(v, &v->rows[i]))
				row_key(v, &v->rows[i], (uint32_t)i,
					&v->ord[n++]);
		}
		v->nord = n;
		v->ord_full = n <= 1;
	} else {
		/*
		 * Frozen positions are unique per flow and below next_fpos;
		 * rows of one flow are adjacent (AB then BA). A counting
		 * placement: the rows are read in their order (a walk in
		 * position order would miss the cache on every row at 1M
		 * flows), only the writes land in scattered places. The
		 * position is the key: no sort key is computed.
		 */
		size_t span;
		uint32_t sum = 0, c;

		if (frozen_append(v))
			return -ENOMEM;
		span = v->next_fpos;
		if (grow((void **)&v->perm, &v->perm_cap, span + 1,
			 sizeof(*v->perm)))
			return -ENOMEM;
		memset(v->perm, 0, span * sizeof(*v->perm));
		for (i = 0; i < v->nrows; i++) {
			if (v->rows[i].f->fpos < span)
				v->perm[v->rows[i].f->fpos]++;
		}
		for (i = 0; i < span; i++) {
			c = v->perm[i];
			v->perm[i] = sum;
			sum += c;
		}
		for (i = 0; i < v->nrows; i++) {
			const struct view_row *w = &v->rows[i];
			uint32_t pos = w->f->fpos;
			struct sortent *o;

			if (pos >= span)
				continue;
			o = &v->ord[v->perm[pos]++];
			o->k0 = pos;
			o->k1 = o->k2 = 0;
			o->tie = w->f->row.id << 2 | (uint64_t)w->dir;
			o->row = row_matches(v, w) ? (uint32_t)i : UINT32_MAX;
		}
		/* Rows the display filter hides leave their places. */
		for (i = 0; i < sum; i++) {
			if (v->ord[i].row != UINT32_MAX)
				v->ord[n++] = v->ord[i];
		}
		v->nord = n;
		v->ord_full = 1;
	}
	v->sorted_lo = v->sorted_hi = 0;
	v->ord_dirty = 0;
	return 0;
}

/* Index of the selected row in the order, or nord if it is gone. */
static size_t find_sel(const struct view *v)
{
	const struct sortent *s = NULL;
	size_t i, rank = 0;

	for (i = 0; i < v->nord; i++) {
		if (v->ord[i].tie == v->sel_tie) {
			s = &v->ord[i];
			break;
		}
	}
	if (!s) {
		/* Conversation <-> direction switch: same flow, any row. */
		for (i = 0; i < v->nord; i++) {
			if (v->ord[i].tie >> 2 == v->sel_tie >> 2) {
				s = &v->ord[i];
				break;
			}
		}
	}
	if (!s)
		return v->nord;
	if (v->ord_full || (i >= v->sorted_lo && i < v->sorted_hi))
		return i;
	for (i = 0; i < v->nord; i++)
		rank += ent_less(&v->ord[i], s);
	return rank;
}

int view_layout(struct view *v, size_t visible)
{
	uint64_t t0 = mono_now();
	size_t n, rank, screen_pos;

	if ((v->rows_dirty || v->ord_dirty) && layout_order(v))
		return -ENOMEM;
	n = v->nord;
	screen_pos = v->sel >= v->top ? v->sel - v->top : 0;
	rank = v->sel;
	if (v->have_sel && v->sticky) {
		size_t r = find_sel(v);

		if (r < n) {
			rank = r;
			v->top = r > screen_pos ? r - screen_pos : 0;
		}
	}
	switch (v->pend) {
	case PEND_HOME:
		rank = 0;
		v->top = 0;
		v->sticky = 0;
		break;
	case PEND_END:
		rank = n ? n - 1 : 0;
		v->sticky = 1;
		break;
	case PEND_INDEX:
		rank = v->pend_index;
		v->sticky = 1;
		break;
	case PEND_NONE:
		break;
	}
	if (v->pend_delta) {
		long d = v->pend_delta;

		if (d < 0)
			rank = (size_t)-d > rank ? 0 : rank - (size_t)-d;
		else
			rank += (size_t)d;
		if ((size_t)labs(d) >= visible && visible > 1) {
			if (d < 0)
				v->top = (size_t)-d > v->top
						 ? 0
						 : v->top - (size_t)-d;
			else
				v->top += (size_t)d;
		}
		v->sticky = 1;
	}
	v->pend = PEND_NONE;
	v->pend_delta = 0;
	if (rank >= n)
		rank = n ? n - 1 : 0;
	if (rank < v->top)
		v->top = rank;
	if (visible && rank >= v->top + visible)
		v->top = rank - visible + 1;
	if (n <= visible)
		v->top = 0;
	else if (v->top > n - visible)
		v->top = n - visible;
	v->nvis = n - v->top < visible ? n - v->top : visible;
	v->visible = visible;
	if (v->nvis && !v->ord_full &&
	    (v->top < v->sorted_lo || v->top + v->nvis > v->sorted_hi)) {
		partial_sort(v->ord, n, v->top, v->top + v->nvis,
			     2 * log2ceil(n));
		v->sorted_lo = v->top;
		v->sorted_hi = v->top + v->nvis;
	}
	v->sel = rank;
	v->have_sel = n > 0;
	if (n)
		v->sel_tie = v->ord[rank].tie;
	v->cost_layout = mono_now() - t0;
	return 0;
}

size_t view_count(const struct view *v)
{
	return v->nord;
}

size_t view_top(const struct view *v)
{
	return v->top;
}

size_t view_nvisible(const struct view *v)
{
	return v->nvis;
}

const struct view_row *view_row_at(const struct view *v, size_t i)
{
	if (i >= v->nvis || v->top + i >= v->nord)
		return NULL;
	return &v->rows[v->ord[v->top + i].row];
}

size_t view_selected(const struct view *v)
{
	return v->have_sel ? v->sel : v->nord;
}

void view_scroll(struct view *v, long delta, size_t visible)
{
	(void)visible;
	v->pend_delta += delta;
}

void view_select_home(struct view *v)
{
	v->pend = PEND_HOME;
	v->pend_delta = 0;
}

void view_select_end(struct view *v)
{
	v->pend = PEND_END;
	v->pend_delta = 0;
}

void view_select_index(struct view *v, size_t i)
{
	v->pend = PEND_INDEX;
	v->pend_index = i;
	v->pend_delta = 0;
}

const struct view_totals *view_totals(const struct view *v)
{
	return &v->shown.tot;
}

size_t view_history(const struct view *v, double *out, size_t n)
{
	size_t i, off;

	if (n > VIEW_HIST_SECONDS)
		n = VIEW_HIST_SECONDS;
	off = VIEW_HIST_SECONDS - n;
	for (i = 0; i < n; i++) {
		double b = v->shown.hist[off + i][0];
		double p = v->shown.hist[off + i][1];

		out[i] = b < 0 ? -1.0 : view_unit_rate(v->unit, b, p);
	}
	return n;
}

/* ---- formatting ------------------------------------------------------ */

static int fill(char c, int width, char *buf, size_t len)
{
	int i;

	if (width < 0)
		width = 0;
	if ((size_t)width >= len)
		width = len ? (int)len - 1 : 0;
	for (i = 0; i < width; i++)
		buf[i] = c;
	if (len)
		buf[width] = 0;
	return width;
}

/* The first of @cands that fits, else stars. */
static int fit(char cands[][32], int ncand, int width, char *buf, size_t len)
{
	int i;

	for (i = 0; i < ncand; i++) {
		int n = (int)strlen(cands[i]);

		if (n <= width && (size_t)n < len) {
			memcpy(buf, cands[i], (size_t)n + 1);
			return n;
		}
	}
	return fill('*', width, buf, len);
}

/* 3 significant digits, then fewer, scaled by 1000s. */
static int si_cands(double x, char cands[][32])
{
	static const char prefix[] = " kMGTPEZY";
	int p = 0, n = 0;

	if (!(x >= 0.0) || isinf(x))
		x = 0.0;
	if (x == 0.0) {
		strcpy(cands[n++], "0");
		return n;
	}
	while (x >= 999.5 && p < 8) {
		x /= 1000.0;
		p++;
	}
	if (p == 0) {
		if (x >= 99.95 || x == floor(x))
			snprintf(cands[n++], 32, "%.0f", x);
		else if (x >= 9.995)
			snprintf(cands[n++], 32, "%.1f", x);
		else
			snprintf(cands[n++], 32, "%.2f", x);
		if (x < 99.95) {
			snprintf(cands[n++], 32, "%.1f", x);
			snprintf(cands[n++], 32, "%.0f", x);
		}
		return n;
	}
	if (x >= 99.95)
		snprintf(cands[n++], 32, "%.0f%c", x, prefix[p]);
	else if (x >= 9.995)
		snprintf(cands[n++], 32, "%.1f%c", x, prefix[p]);
	else
		snprintf(cands[n++], 32, "%.2f%c", x, prefix[p]);
	snprintf(cands[n++], 32, "%.1f%c", x, prefix[p]);
	snprintf(cands[n++], 32, "%.0f%c", x, prefix[p]);
	return n;
}

int view_format_rate(double value, int width, char *buf, size_t len)
{
	char cands[4][32];
	int n = si_cands(value, cands);

	return fit(cands, n, width, buf, len);
}

int view_format_percent(double pct, int width, char *buf, size_t len)
{
	char cands[5][32];
	int n = 0, i, k;

	if (!(pct >= 0.0)) {
		strcpy(cands[n++], "-");
	} else if (pct == 0.0) {
		strcpy(cands[n++], "0%");
	} else if (pct < 1e15) { /* beyond: stars, as any number */
		if (pct < 9.95)
			snprintf(cands[n++], 32, "%.1f%%", pct);
		snprintf(cands[n++], 32, "%.0f%%", pct);
		/* Far beyond 100% (-m well below the real rate): "12k%". */
		if (pct >= 999.5) {
			k = si_cands(pct, cands + n);
			for (i = n; i < n + k; i++)
				strcat(cands[i], "%");
			n += k;
		}
	}
	return fit(cands, n, width, buf, len);
}

int view_format_count(uint64_t value, int width, char *buf, size_t len)
{
	char cands[5][32];
	int n;

	snprintf(cands[0], 32, "%llu", (unsigned long long)value);
	n = 1 + si_cands((double)value, cands + 1);
	return fit(cands, n, width, buf, len);
}

int view_format_age(uint64_t ns, int width, char *buf, size_t len)
{
	char cands[1][32];
	uint64_t s = ns / NS;

	if (s < 60)
		snprintf(cands[0], 32, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(cands[0], 32, "%llum%02llu",
			 (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(cands[0], 32, "%lluh%02llu",
			 (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(cands[0], 32, "%llud%02llu",
			 (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	return fit(cands, 1, width, buf, len);
}

int view_format_duration(uint64_t ns, char *buf, size_t len)
{
	unsigned long long s = ns / NS;

	if (s < 60)
		return snprintf(buf, len, "%llus", s);
	if (s < 3600)
		return snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	if (s < 86400)
		return snprintf(buf, len, "%lluh%02llum%02llus", s / 3600,
				s % 3600 / 60, s % 60);
	return snprintf(buf, len, "%llud%02lluh%02llum", s / 86400,
			s % 86400 / 3600, s % 3600 / 60);
}

/* ---- columns --------------------------------------------------------- */

size_t view_fit_columns(const struct view_col_spec *c, size_t n, int width,
			int gap, int *out)
{
	size_t i, shown = 0;
	long used = 0;
	int prio, maxprio = 0;

	for (i = 0; i < n; i++) {
		out[i] = c[i].prio >= 0 && c[i].min > 0 ? c[i].min : 0;
		if (out[i] && c[i].prio > maxprio)
			maxprio = c[i].prio;
		if (out[i]) {
			used += out[i] + (shown ? gap : 0);
			shown++;
		}
	}
	while (shown && used > width) {
		size_t drop = n;

		for (i = 0; i < n; i++) {
			if (out[i] && (drop == n || c[i].prio >= c[drop].prio))
				drop = i;
		}
		used -= out[drop] + (shown > 1 ? gap : 0);
		out[drop] = 0;
		shown--;
	}
	/* Widen, most important first (leftmost on a tie). */
	for (prio = 0; prio <= maxprio && used < width; prio++) {
		for (i = 0; i < n && used < width; i++) {
			long add;

			if (!out[i] || c[i].prio != prio || out[i] >= c[i].max)
				continue;
			add = c[i].max - out[i];
			if (add > width - used)
				add = width - used;
			out[i] += (int)add;
			used += add;
		}
	}
	return shown;
}

uint64_t view_cost_update_ns(const struct view *v)
{
	return v->cost_update;
}

uint64_t view_cost_layout_ns(const struct view *v)
{
	return v->cost_layout;
}

void view_set_frame_cost(struct view *v, uint64_t ns)
{
	v->cost_frame = ns;
}

uint64_t view_frame_cost_ns(const struct view *v)
{
	return v->cost_frame;
}
