/*
 * view_rate.c - the view's rates and history (see view.h's model): the
 * per-flow 2 s bucket rings shared by all flows, the plan one update
 * applies to them, the lazily computed 2/10/40 s averages, the header
 * totals with their peaks, and the one-second total-rate history; the
 * row values read from them, scaled to the unit shown.
 *
 * One thread (the view's owner), as the rest of the view; never blocks.
 */
#include <string.h>

#include "view_int.h"

static const unsigned int horizon[3] = { 1, 5, 20 }; /* buckets */

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
void view_rate_plan(struct ringplan *p, uint64_t t1, uint64_t dt,
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
void view_rate_advance(struct view *v)
{
	const struct ringplan *p = &v->plan;
	int64_t b, last = v->rings_b1;

	if (last >= p->b1)
		return;
	v->rings_b1 = p->b1;
	if (!v->cols_hw)
		return; /* no columns in use yet */
	if (last == INT64_MIN || p->b1 - last >= FLOW_SLOTS) {
		for (b = 0; b < FLOW_SLOTS; b++)
			memset(v->rings[b], 0, v->cols_hw * sizeof(bucket));
	} else {
		for (b = last + 1; b <= p->b1; b++)
			memset(v->rings[slot_of(p, (unsigned int)(p->b1 - b))],
			       0, v->cols_hw * sizeof(bucket));
	}
}

/* Whether @x's inline buckets still lie in the window ending at @b1. */
static int inline_live(const struct vent *x, int64_t b1)
{
	return x->b0 != NO_B0 && x->b0 <= b1 && b1 - x->b0 < FLOW_SLOTS;
}

/* A rings column for @x, holding its inline buckets. The rings have room
 * for ents_cap columns (view.c's reserve), so this cannot fail. */
static void col_take(struct view *v, struct vent *x)
{
	const struct ringplan *p = &v->plan;
	uint32_t c = v->ncol_free ? v->col_free[--v->ncol_free]
				  : (uint32_t)v->cols_hw++;
	unsigned int s;

	for (s = 0; s < FLOW_SLOTS; s++)
		memset(v->rings[s][c], 0, sizeof(bucket));
	if (inline_live(x, p->b1)) {
		unsigned int age = (unsigned int)(p->b1 - x->b0);

		memcpy(v->rings[slot_of(p, age)][c], x->one[0], sizeof(bucket));
		if (age + 1 < FLOW_SLOTS)
			memcpy(v->rings[slot_of(p, age + 1)][c], x->one[1],
			       sizeof(bucket));
	}
	x->col = c;
	x->b0 = NO_B0;
}

/* Add the plan's share of @d to @x's inline buckets if they can hold it
 * (the newest bucket and the one before it); 0 if they cannot. */
static int inline_add(const struct ringplan *p, struct vent *x,
		      const double d[4])
{
	unsigned int a, i;

	/* a bucket number beyond 32 bits (no clock of this century) takes
	 * a column */
	if (p->nadd > 2 || p->b1 <= NO_B0 || p->b1 > INT32_MAX)
		return 0;
	if (!inline_live(x, p->b1)) {
		memset(x->one, 0, sizeof(x->one));
		x->b0 = (int32_t)p->b1;
	} else if (x->b0 == p->b1 - 1 && !x->one[1][0] && !x->one[1][1] &&
		   !x->one[1][2] && !x->one[1][3]) {
		/* one bucket on: the older one was empty */
		memcpy(x->one[1], x->one[0], sizeof(x->one[1]));
		memset(x->one[0], 0, sizeof(x->one[0]));
		x->b0 = (int32_t)p->b1;
	} else if (x->b0 != p->b1) {
		return 0;
	}
	for (a = 0; a < p->nadd; a++)
		for (i = 0; i < 4; i++)
			x->one[a][i] += (float)(d[i] * p->add[a]);
	return 1;
}

void view_rate_flow_add(struct view *v, uint32_t e, const double d[4])
{
	const struct ringplan *p = &v->plan;
	struct vent *x = &v->ents[e];
	unsigned int a, i;

	if (!d[0] && !d[1] && !d[2] && !d[3])
		return;
	if (x->col == NO_COL) {
		if (inline_add(p, x, d))
			return;
		col_take(v, x);
	}
	for (a = 0; a < p->nadd; a++) {
		float *r = v->rings[slot_of(p, a)][x->col];

		for (i = 0; i < 4; i++)
			r[i] += (float)(d[i] * p->add[a]);
	}
}

void view_rate_flow_drop(struct view *v, uint32_t e)
{
	struct vent *x = &v->ents[e];

	if (x->col != NO_COL)
		v->col_free[v->ncol_free++] = x->col;
	x->col = NO_COL;
	x->b0 = NO_B0;
}

void view_rate_compact(struct view *v)
{
	uint32_t *map;
	size_t i, n = 0;
	unsigned int s;

	if (!v->ncol_free)
		return;
	map = v->col_free; /* reused: old column -> new, or NO_COL */
	for (i = 0; i < v->cols_hw; i++)
		map[i] = NO_COL;
	for (i = 0; i < v->ents_hw; i++) {
		if (v->ents[i].gen && v->ents[i].col != NO_COL)
			map[v->ents[i].col] = 0;
	}
	for (i = 0; i < v->cols_hw; i++) {
		if (map[i] == NO_COL)
			continue;
		map[i] = (uint32_t)n;
		if (i != n)
			for (s = 0; s < FLOW_SLOTS; s++)
				memcpy(v->rings[s][n], v->rings[s][i],
				       sizeof(bucket));
		n++;
	}
	for (i = 0; i < v->ents_hw; i++) {
		if (v->ents[i].gen && v->ents[i].col != NO_COL)
			v->ents[i].col = map[v->ents[i].col];
	}
	v->cols_hw = n;
	v->ncol_free = 0;
}

/* Entry @x's averages from its ring (the state of the last update). */
void view_rate_flow_avgs(const struct view *v, const struct vent *x,
			 struct vavg *out)
{
	const struct ringplan *p = &v->plan;
	double acc[3][4] = { { 0 } };
	unsigned int a, h, i;

	for (a = 0; a < p->nw; a++) {
		const float *r;

		if (x->col != NO_COL)
			r = v->rings[slot_of(p, a)][x->col];
		else if (inline_live(x, p->b1) && a >= p->b1 - x->b0 &&
			 a - (p->b1 - x->b0) < 2)
			r = x->one[a - (p->b1 - x->b0)];
		else
			continue;
		for (h = 0; h < 3; h++) {
			for (i = 0; i < 4; i++)
				acc[h][i] += r[i] * p->w[h][a];
		}
	}
	for (h = 0; h < 3; h++) {
		for (i = 0; i < 2; i++) {
			out->bps[i][h] = (float)acc[h][i];
			out->pps[i][h] = (float)acc[h][2 + i];
		}
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
void view_rate_totals(struct view *v, const struct snapshot *s, uint64_t now,
		      uint64_t dt, struct dispstate *d)
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
void view_rate_history(struct view *v, struct dispstate *d)
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
