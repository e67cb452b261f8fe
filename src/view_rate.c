/*
 * view_rate.c - the view's rates and averages (see view.h's model): the
 * per-flow 2/10/40 s exponentially weighted moving averages and the
 * weights one update applies to them, the header totals with their peaks,
 * and the one-second total-rate history; the row values read from them,
 * scaled to the unit shown.
 *
 * One thread (the view's owner), as the rest of the view; never blocks.
 */
#include <math.h>
#include <string.h>

#include "view_int.h"

/* The averages' time constants, in s (iftop's 2/10/40 s horizons). */
static const double tau[3] = { 2.0, 10.0, 40.0 };

/* Below this an average is 0 (no subnormal floats: an idle flow's
 * averages decay towards them for ever). */
#define EW_TINY 1e-20

/* ---- the total-rate history ring ------------------------------------ */

/* Make @b1 the newest bucket of the total-rate ring, zeroing the
 * buckets that slid in. */
static void ring_advance(struct totstate *t, int64_t b1)
{
	int64_t b;

	if (t->last_b >= b1)
		return;
	if (t->last_b == INT64_MIN || b1 - t->last_b >= TOT_SLOTS) {
		memset(t->ring, 0, sizeof(t->ring));
	} else {
		for (b = t->last_b + 1; b <= b1; b++)
			memset(t->ring[b % TOT_SLOTS], 0, sizeof(t->ring[0]));
	}
	t->last_b = b1;
}

/*
 * Spread @d (bytes, packets) evenly over the time (t1 - dt, t1] into the
 * ring's one-second buckets: an interval longer than a bucket is not
 * dumped into the last.
 */
static void ring_add(struct totstate *t, uint64_t t1, uint64_t dt,
		     const double d[2])
{
	int64_t b1 = (int64_t)(t1 / TOT_W_NS), b0, b;
	uint64_t t0 = dt < t1 ? t1 - dt : 0;
	int i;

	ring_advance(t, b1);
	if (!d[0] && !d[1])
		return;
	b0 = (int64_t)(t0 / TOT_W_NS);
	if (dt == 0 || b0 == b1) {
		for (i = 0; i < 2; i++)
			t->ring[b1 % TOT_SLOTS][i] += (float)d[i];
		return;
	}
	if (b0 < b1 - TOT_SLOTS + 1)
		b0 = b1 - TOT_SLOTS + 1;
	for (b = b0; b <= b1; b++) {
		uint64_t lo = (uint64_t)b * TOT_W_NS, hi = lo + TOT_W_NS;
		double frac;

		if (lo < t0)
			lo = t0;
		if (hi > t1)
			hi = t1;
		if (hi <= lo)
			continue;
		frac = (double)(hi - lo) / (double)dt;
		for (i = 0; i < 2; i++)
			t->ring[b % TOT_SLOTS][i] += (float)(d[i] * frac);
	}
}

/*
 * The weights of a rated update at @t1 covering the @dt before it.
 * Over the interval a flow's rate is taken as constant (its delta over
 * @dt): the exponential average then moves exactly as
 * a' = a * exp(-dt / tau) + rate * (1 - exp(-dt / tau)), whatever the
 * interval (a refresh of -w 10, a file's gap of an hour: packet time).
 * Every flow's average starts from 0 at the run's @origin, and the shown
 * value is divided by the weight the run has had so far,
 * 1 - exp(-(t1 - origin) / tau): in the run's first seconds an average is
 * over the time since the start, as the header's and iftop's are, and a
 * group's average stays the sum of its flows'. A flow first seen later
 * starts from 0 too (it sent nothing before): a steady flow reaches 63%
 * of its rate in a column after that column's tau, 95% after three; a
 * burst of B bytes reads about B / tau.
 */
void view_rate_plan(struct ewplan *p, uint64_t t1, uint64_t dt, uint64_t origin)
{
	double secs = (double)dt / (double)NS;
	double run = t1 > origin ? (double)(t1 - origin) / (double)NS : 0.0;
	int h;

	for (h = 0; h < 3; h++) {
		double w = -expm1(-run / tau[h]);

		if (dt >= MIN_DT_NS) {
			p->keep[h] = exp(-secs / tau[h]);
			p->gain[h] = -expm1(-secs / tau[h]) / secs;
		} else {
			/* no interval to rate (the run's first look at
			 * its start): the averages stay */
			p->keep[h] = 1.0;
			p->gain[h] = 0.0;
		}
		p->norm[h] = w > 0 ? 1.0 / w : 0.0;
	}
}

void view_rate_flow_add(const struct view *v, struct vent *x, const double d[4])
{
	const struct ewplan *p = &v->ew;
	int h, i;

	for (h = 0; h < 3; h++) {
		for (i = 0; i < 4; i++) {
			double a = x->ew[h][i] * p->keep[h] + d[i] * p->gain[h];

			x->ew[h][i] = a < EW_TINY ? 0.0f : (float)a;
		}
	}
}

/* Entry @x's averages as shown (the state of the last rated update). */
void view_rate_flow_avgs(const struct view *v, const struct vent *x,
			 struct vavg *out)
{
	int h, i;

	for (h = 0; h < 3; h++) {
		for (i = 0; i < 2; i++) {
			out->bps[i][h] = (float)(x->ew[h][i] * v->ew.norm[h]);
			out->pps[i][h] =
				(float)(x->ew[h][2 + i] * v->ew.norm[h]);
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
	double dd[2] = { (double)dbytes, (double)dpkts };
	int p;

	snapshot_proto_totals(s->kind, cur);
	snapshot_proto_totals(t->prev_kind, prev);
	snapshot_proto_totals(t->base_kind, base);
	if (!v->hold) {
		ring_add(t, now, dt, dd);
		t->bps = per_s(dbytes, dt);
		t->pps = per_s(dpkts, dt);
		/* The first look's interval may be short (a file's first
		 * packets): its rate shows, but only a whole interval makes
		 * the peak (n packets span n - 1 gaps). */
		if (t->bps > t->peak_bps && dt >= v->min_dt)
			t->peak_bps = t->bps;
		if (t->pps > t->peak_pps && dt >= v->min_dt)
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
