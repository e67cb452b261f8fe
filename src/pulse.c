/*
 * pulse.c - per-interval sinks: the JSON Lines tee and --exit-over (see
 * pulse.h).
 *
 * A flow's traffic in the interval is its count now minus its count at the
 * previous tick, found by flow id (ids are unique in a run): the previous
 * tick's (id, packets, bytes) are kept sorted by id and merged with the
 * current ones. The top flows by bytes in the interval come from a min-heap
 * of N entries, so a tick costs O(flows log N) and N lines, not a full
 * sort. Lines are built with jansson, so every string is escaped.
 */
#include "pulse.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flowkey.h"
#include "jsonl.h"

struct pulse_prev {
	uint64_t id, pkts, bytes;
};

struct pulse_top {
	uint64_t dbytes, dpkts;
	const struct flowtab_row *row;
};

struct pulse_run {
	struct pulse_config cfg;
	struct jsonl *tee;
	char err[512];
	int err_pending, tee_dead;
	int fired;
	double fired_bps;
	int have_prev;
	uint64_t prev_ns, prev_pkts, prev_bytes; /* the previous tick */
	uint64_t ex_ns, ex_bytes; /* start of the --exit-over interval */
	struct pulse_prev *prev;
	size_t nprev;
	struct pulse_top *heap;
};

struct pulse_run *pulse_new(const struct pulse_config *cfg, char *err,
			    size_t errlen)
{
	struct pulse_run *p = calloc(1, sizeof(*p));

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->cfg = *cfg;
	if (cfg->jsonl_path) {
		p->tee = jsonl_open(cfg->jsonl_path, cfg->jsonl_max, err,
				    errlen);
		p->heap = calloc(cfg->jsonl_top + 1, sizeof(*p->heap));
		if (!p->tee || !p->heap) {
			if (p->tee)
				snprintf(err, errlen, "out of memory");
			pulse_free(p);
			return NULL;
		}
	}
	return p;
}

void pulse_free(struct pulse_run *p)
{
	if (!p)
		return;
	jsonl_close(p->tee);
	free(p->prev);
	free(p->heap);
	free(p);
}

const char *pulse_error(struct pulse_run *p)
{
	if (!p || !p->err_pending)
		return NULL;
	p->err_pending = 0;
	return p->err;
}

double pulse_exceeded_bps(const struct pulse_run *p)
{
	return p && p->fired ? p->fired_bps : 0;
}

static int by_id(const void *a, const void *b)
{
	const struct pulse_prev *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Heap order: the smallest interval bytes on top, then the larger id. */
static int top_less(const struct pulse_top *a, const struct pulse_top *b)
{
	if (a->dbytes != b->dbytes)
		return a->dbytes < b->dbytes;
	return a->row->id > b->row->id;
}

static void heap_sift_down(struct pulse_top *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct pulse_top t;

		if (l < n && top_less(&h[l], &h[m]))
			m = l;
		if (r < n && top_less(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_push(struct pulse_top *h, size_t *n, size_t cap,
		      struct pulse_top e)
{
	size_t i;

	if (*n == cap) {
		if (!cap || !top_less(&h[0], &e))
			return;
		h[0] = e;
		heap_sift_down(h, *n, 0);
		return;
	}
	i = (*n)++;
	h[i] = e;
	while (i && top_less(&h[i], &h[(i - 1) / 2])) {
		struct pulse_top t = h[i];

		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static int top_desc(const void *a, const void *b)
{
	const struct pulse_top *x = a, *y = b;

	if (x->dbytes != y->dbytes)
		return x->dbytes > y->dbytes ? -1 : 1;
	return x->row->id < y->row->id ? -1 : x->row->id > y->row->id;
}

static void fmt_iso(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "1970-01-01T00:00:00.000Z");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03uZ",
		 (unsigned)(ns % 1000000000ull / 1000000));
}

static json_t *flow_json(const struct flowtab_row *r, const struct pulse_top *t,
			 double secs)
{
	char a[FLOWKEY_TEXT_ROOM], b[FLOWKEY_TEXT_ROOM];

	flowkey_format_endpoint(&r->key, 0, a, sizeof(a));
	flowkey_format_endpoint(&r->key, 1, b, sizeof(b));
	return json_pack("{s:s,s:s,s:s,s:i,s:I,s:[I,I],s:[I,I],s:I,s:I,s:f}",
			 "proto", flowkey_proto_name(r->key.kind), "a", a, "b",
			 b, "vlan", (int)r->key.vlan, "flow", (json_int_t)r->id,
			 "packets", (json_int_t)r->pkts[0],
			 (json_int_t)r->pkts[1], "bytes",
			 (json_int_t)r->bytes[0], (json_int_t)r->bytes[1],
			 "intervalPackets", (json_int_t)t->dpkts,
			 "intervalBytes", (json_int_t)t->dbytes, "bps",
			 secs > 0 ? 8.0 * (double)t->dbytes / secs : 0.0);
}

/*
 * The flows' interval counts against the previous tick; the top ones in
 * p->heap (sorted, *ntop of them). Then the current counts become the
 * previous ones. -ENOMEM leaves the previous ones as they were.
 */
static int flow_deltas(struct pulse_run *p, const struct snapshot *s,
		       size_t *ntop)
{
	struct pulse_prev *cur = malloc((s->nrows + 1) * sizeof(*cur));
	struct snapshot_iter it = { 0 };
	const struct flowtab_row *r;
	size_t n = 0;

	*ntop = 0;
	if (!cur)
		return -ENOMEM;
	while (n < s->nrows && (r = snapshot_row_next(s, &it))) {
		struct pulse_prev key = { r->id, 0, 0 };
		const struct pulse_prev *old =
			p->nprev ? bsearch(&key, p->prev, p->nprev,
					   sizeof(*p->prev), by_id)
				 : NULL;
		struct pulse_top t = { r->bytes[0] + r->bytes[1],
				       r->pkts[0] + r->pkts[1], r };

		cur[n++] = (struct pulse_prev){ r->id, t.dpkts, t.dbytes };
		if (old) {
			t.dbytes -= old->bytes <= t.dbytes ? old->bytes : 0;
			t.dpkts -= old->pkts <= t.dpkts ? old->pkts : 0;
		}
		if (t.dbytes)
			heap_push(p->heap, ntop, p->cfg.jsonl_top, t);
	}
	qsort(p->heap, *ntop, sizeof(*p->heap), top_desc);
	qsort(cur, n, sizeof(*cur), by_id);
	free(p->prev);
	p->prev = cur;
	p->nprev = n;
	return 0;
}

static void tee_line(struct pulse_run *p, const struct snapshot *s,
		     const struct report_meta *m, double secs)
{
	char ts[64];
	size_t ntop = 0;
	json_t *o, *flows;
	char *line;
	uint64_t dp = p->have_prev ? s->pkts - p->prev_pkts : s->pkts;
	uint64_t db = p->have_prev ? s->bytes - p->prev_bytes : s->bytes;
	int rc;

	if (flow_deltas(p, s, &ntop)) {
		snprintf(p->err, sizeof(p->err), "--jsonl: out of memory");
		p->err_pending = 1;
		return;
	}
	flows = json_array();
	for (size_t i = 0; i < ntop; i++)
		json_array_append_new(
			flows, flow_json(p->heap[i].row, &p->heap[i], secs));
	fmt_iso(s->now_ns, ts, sizeof(ts));
	o = json_pack(
		"{s:s,s:f,s:f,s:s,s:b,s:{s:I,s:I},s:{s:I,s:I,s:f},"
		"s:{s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I},s:o}",
		"ts", ts, "elapsed",
		s->now_ns > s->start_ns
			? (double)(s->now_ns - s->start_ns) / 1e9
			: 0.0,
		"interval", secs, "source", m && m->source ? m->source : "",
		"exact", snapshot_exact(s), "totals", "packets",
		(json_int_t)s->pkts, "bytes", (json_int_t)s->bytes, "delta",
		"packets", (json_int_t)dp, "bytes", (json_int_t)db, "bps",
		secs > 0 ? 8.0 * (double)db / secs : 0.0, "loss", "kernelDrops",
		(json_int_t)s->cap.kernel_drops, "freezes",
		(json_int_t)s->cap.freezes, "ifDrops",
		(json_int_t)s->cap.if_drops, "filtered",
		(json_int_t)s->cap.filtered, "flowTable", "live",
		(json_int_t)s->nrows, "expired", (json_int_t)s->expired_flows,
		"max", (json_int_t)s->max_flows, "flows", flows);
	line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!line) {
		snprintf(p->err, sizeof(p->err), "--jsonl: out of memory");
		p->err_pending = 1;
		return;
	}
	{
		size_t n = strlen(line);
		char *full = realloc(line, n + 2);

		if (!full) {
			free(line);
			return;
		}
		full[n] = '\n';
		full[n + 1] = '\0';
		rc = jsonl_write(p->tee, full, n + 1, p->err, sizeof(p->err));
		free(full);
	}
	if (rc) {
		p->err_pending = 1;
		p->tee_dead = 1;
	}
}

int pulse_tick(struct pulse_run *p, const struct snapshot *s,
	       const struct report_meta *m)
{
	uint64_t t0 = p->have_prev ? p->prev_ns : s->start_ns;
	double secs = s->now_ns > t0 ? (double)(s->now_ns - t0) / 1e9 : 0;
	int fire = 0;

	/* a file read to its end, a paused clock: no new line says nothing */
	if (p->tee && !p->tee_dead &&
	    !(p->have_prev && s->now_ns == p->prev_ns &&
	      s->pkts == p->prev_pkts && s->bytes == p->prev_bytes))
		tee_line(p, s, m, secs);
	if (!p->have_prev) {
		p->ex_ns = s->start_ns;
		p->ex_bytes = 0;
	}
	/* the threshold's interval stays open over ticks that took no time
	 * (a file's burst within one timestamp) */
	if (p->cfg.exit_over_bps > 0 && s->now_ns > p->ex_ns) {
		double ex_secs = (double)(s->now_ns - p->ex_ns) / 1e9;
		double bps = 8.0 * (double)(s->bytes - p->ex_bytes) / ex_secs;

		if (!p->fired && bps > p->cfg.exit_over_bps) {
			p->fired = 1;
			p->fired_bps = bps;
			fire = 1;
		}
		p->ex_ns = s->now_ns;
		p->ex_bytes = s->bytes;
	}
	p->have_prev = 1;
	p->prev_ns = s->now_ns;
	p->prev_pkts = s->pkts;
	p->prev_bytes = s->bytes;
	return fire;
}
