/*
 * engine.c - the run (see engine.h): capture handles and their workers,
 * the flow table, the filter in force, the named counters, snapshots,
 * expiry, link state and snapshot files.
 *
 * Threads: one controlling thread (the main thread, registered with
 * liburcu) calls everything here; the workers (src/worker.c) write the
 * table and their own statistics, which the snapshots read with relaxed
 * loads and under rcu_read_lock (inside flowtab_collect). The counters
 * object is published to the workers with a release store. Observers are
 * called on the controlling thread, except flow_end (liburcu's call_rcu
 * thread, through the table's end hook); their list is fixed before the
 * workers start, so that thread reads it without a lock.
 */
#include "engine.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../capture/capture.h"
#include "countercmd.h"
#include "counters.h"
#include "decode.h"
#include "filterlog.h"
#include "flowtab.h"
#include "opts.h"
#include "privs.h"
#include "procs.h"
#include "report.h"
#include "snapname.h"
#include "worker.h"

#define MAX_WORKERS 256
#define NS 1000000000ull

static const struct engine_ops engine_port_ops;

struct engine {
	struct engine_port port; /* first: of_port casts back */
	engine_tick_fn tick;	 /* the port's tick (engine_port_set_tick) */
	void *tick_ctx;
	struct engine_conf c;
	const struct cap_ops *ops;
	struct flowtab *ft;
	struct worker *w;
	int nw;
	int threads;  /* per interface */
	char *filter; /* in force, "" for none */
	char source[512];
	uint64_t start_wall_ns;
	struct counters *counters; /* --count and the UI's counter prompt */
	uint64_t last_expire_ns;   /* monotonic */
	int stopped;
	int final_taken; /* a final snapshot reads the table in place */
	int was_state[MAX_WORKERS]; /* engine_link_changes: enum cap_link */
	char gone[320];		    /* a removed interface, said */
	/* observers (engine_observe): fixed once the workers start */
	struct {
		const struct engine_observer *ob;
		void *ctx;
	} obs[ENGINE_MAX_OBSERVERS];
	int nobs;
	int started, finished;
	struct procs *procs; /* engine_set_procs, borrowed */
	/* the interfaces by the ordinal in their flows' keys (worker ifo):
	 * -i's names, "any", or for a file its name (source) */
	const char *ifnames[FLOWKEY_IFACES];
	int nifaces;
};

_Static_assert(OPTS_MAX_IFACES <= FLOWKEY_IFACES,
	       "a flow key tells every interface apart");

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

const char *engine_filter(const struct engine *e)
{
	return e->filter ? e->filter : "";
}

const char *engine_source(const struct engine *e)
{
	return e->source;
}

const char *engine_backend(const struct engine *e)
{
	return e->ops->name;
}

int engine_threads(const struct engine *e)
{
	return e->nw;
}

/* The first live interface that is removed now ("uxa0: interface
 * removed"), into e->gone, or NULL. */
static const char *gone_now(struct engine *e)
{
	for (int i = 0; i < e->nw; i++) {
		if (e->w[i].h && !worker_done(&e->w[i]) &&
		    cap_link_state(e->w[i].h) == CAP_LINK_GONE) {
			snprintf(e->gone, sizeof(e->gone),
				 "%s: interface removed",
				 e->w[i].iface ? e->w[i].iface : "any");
			return e->gone;
		}
	}
	return NULL;
}

const char *engine_capture_error(struct engine *e)
{
	for (int i = 0; i < e->nw; i++) {
		if (worker_done(&e->w[i]) && e->w[i].status < 0 &&
		    e->w[i].err[0])
			return e->w[i].err;
	}
	return gone_now(e);
}

int engine_capture_done(const struct engine *e)
{
	for (int i = 0; i < e->nw; i++)
		if (!worker_done(&e->w[i]))
			return 0;
	return 1;
}

const char *engine_error(struct engine *e)
{
	for (int i = 0; i < e->nw; i++)
		if (e->w[i].status < 0 && e->w[i].status != CAP_EOF)
			return e->w[i].err;
	/* stopped while waiting for a removed interface to come back */
	for (int i = 0; i < e->nw; i++) {
		if (e->w[i].h && cap_link_state(e->w[i].h) == CAP_LINK_GONE) {
			snprintf(e->gone, sizeof(e->gone),
				 "%s: interface removed, not back when "
				 "capture stopped",
				 e->w[i].iface ? e->w[i].iface : "any");
			return e->gone;
		}
	}
	return NULL;
}

/*
 * Workers call into the counters only while there is one: with none, the
 * packet path costs nothing (the pointer they load is NULL). A worker
 * still holding the old pointer is fine: the object lives until the run
 * ends, after the workers are joined.
 */
static void publish_counters(struct engine *e)
{
	struct counters *c =
		e->counters && counters_count(e->counters) ? e->counters : NULL;

	/* a backend counting them in the kernel hands over their counts
	 * (CAP_FLOW_COUNTER) from the moment its program is in: always */
	for (int i = 0; i < e->nw; i++)
		__atomic_store_n(&e->w[i].counters,
				 e->w[i].h && cap_counts_counters(e->w[i].h)
					 ? e->counters
					 : c,
				 __ATOMIC_RELEASE);
}

/* counters_hook_fn: every change of the named counters goes first to the
 * backends that count them in the kernel (counters.h); if one refuses,
 * those already changed go back to the old set. */
static int counters_hook(void *ctx, const struct counters_def *old, size_t nold,
			 const struct counters_def *new_, size_t nnew,
			 char *err, size_t errlen)
{
	struct engine *e = ctx;
	struct cap_counter cc[COUNTERS_MAX];
	char e2[256];
	int rc = 0, i;

	for (size_t k = 0; k < nnew && k < COUNTERS_MAX; k++)
		cc[k] = (struct cap_counter){ new_[k].id, new_[k].expr };
	for (i = 0; i < e->nw; i++) {
		if (!e->w[i].h || !cap_counts_counters(e->w[i].h))
			continue;
		rc = cap_set_counters(e->w[i].h, cc, nnew, err, errlen);
		if (rc)
			break;
	}
	if (!rc)
		return 0;
	for (size_t k = 0; k < nold && k < COUNTERS_MAX; k++)
		cc[k] = (struct cap_counter){ old[k].id, old[k].expr };
	for (int j = 0; j < i; j++)
		if (e->w[j].h && cap_counts_counters(e->w[j].h))
			cap_set_counters(e->w[j].h, cc, nold, e2, sizeof(e2));
	return rc;
}

/* The counters as they are: names and expressions, @max at most. */
static size_t counters_now(struct engine *e, struct counters_value *v,
			   size_t max)
{
	size_t n = counters_read(e->counters, v, max);

	return n < max ? n : max;
}

/* Note in the filter log what a counter command changed: counters made
 * or given a new expression, counters stopped. */
static void note_counters(struct engine *e, const struct counters_value *was,
			  size_t nwas, const struct counters_value *now,
			  size_t nnow)
{
	uint64_t t = now_ns(CLOCK_REALTIME);
	size_t i, j;

	for (i = 0; i < nnow; i++) {
		for (j = 0; j < nwas && strcmp(was[j].name, now[i].name); j++)
			;
		if (j == nwas || strcmp(was[j].expr, now[i].expr))
			filterlog_add(e->c.filters, t, FILTERLOG_COUNTER,
				      now[i].name, now[i].expr);
	}
	for (j = 0; j < nwas; j++) {
		for (i = 0; i < nnow && strcmp(was[j].name, now[i].name); i++)
			;
		if (i == nnow)
			filterlog_add(e->c.filters, t, FILTERLOG_COUNTER,
				      was[j].name, NULL);
	}
}

int engine_counter_cmd(struct engine *e, const char *line, char *msg,
		       size_t msglen)
{
	struct counters_value *was = NULL, *now = NULL;
	size_t nwas = 0, nnow = 0, max = COUNTERS_MAX;
	int rc;

	if (!e->counters) {
		snprintf(msg, msglen, "counters: not available");
		return -ENOTSUP;
	}
	if (e->c.filters) {
		was = calloc(max, sizeof(*was));
		now = calloc(max, sizeof(*now));
		if (was && now)
			nwas = counters_now(e, was, max);
	}
	rc = countercmd_run(e->counters, line, msg, msglen);
	publish_counters(e);
	if (rc == 0 && was && now) {
		nnow = counters_now(e, now, max);
		note_counters(e, was, nwas, now, nnow);
	}
	free(was);
	free(now);
	return rc;
}

/* Everything but the rows: totals, loss, link state, clocks, counters.
 * Totals are read before the rows: a packet counted in the totals but not
 * yet in a row is possible for a moment, never the reverse. */
static void fill_totals(struct engine *e, struct snapshot *s,
			struct worker_stats *sum)
{
	uint64_t ts = 0;

	/*
	 * A file is read faster than its packets' time, and its rates are
	 * on that time: the counts must go with the packet clock read with
	 * them, or an interval gets packets from beyond its end (a header
	 * rate and peak too high). Read the clock before and after the
	 * counts, again while a packet came in between (a bounded number of
	 * times: the reader is far faster than a worker's packet).
	 */
	for (int tries = 0; tries < 1000; tries++) {
		ts = 0;
		for (int i = 0; e->c.read_file && i < e->nw; i++) {
			uint64_t l = __atomic_load_n(&e->w[i].st.last_ts_ns,
						     __ATOMIC_ACQUIRE);

			if (l > ts)
				ts = l;
		}
		memset(sum, 0, sizeof(*sum));
		for (int i = 0; i < e->nw; i++)
			worker_stats_add(&e->w[i], sum);
		if (!e->c.read_file || sum->last_ts_ns == ts)
			break;
	}
	s->pkts = s->bytes = 0;
	for (int k = 0; k < KIND_COUNT; k++) {
		s->kind[k].pkts = sum->kind_pkts[k];
		s->kind[k].bytes = sum->kind_bytes[k];
		s->pkts += sum->kind_pkts[k];
		s->bytes += sum->kind_bytes[k];
	}
	memcpy(s->err, sum->err, sizeof(s->err));
}

static int fill_rest(struct engine *e, struct snapshot *s,
		     const struct worker_stats *sum)
{
	flowtab_totals(e->ft, s->expired, s->overflow);
	s->expired_flows = flowtab_expired_flows(e->ft);
	s->evicted_flows = flowtab_evicted_flows(e->ft);
	memset(&s->cap, 0, sizeof(s->cap));
	/* a file that could not be read to its end: the reason */
	s->incomplete[0] = '\0';
	for (int i = 0; e->c.read_file && i < e->nw; i++)
		if (worker_done(&e->w[i]) && e->w[i].status < 0 &&
		    e->w[i].status != CAP_EOF)
			snprintf(s->incomplete, sizeof(s->incomplete), "%s",
				 e->w[i].err);
	s->link_down = 0;
	for (int i = 0; i < e->nw; i++) {
		struct cap_stats cs;

		if (!e->w[i].h)
			continue;
		memset(&cs, 0, sizeof(cs));
		if (cap_read_stats(e->w[i].h, &cs) == 0)
			cap_stats_add(&s->cap, &cs);
		if (cap_link_state(e->w[i].h) == CAP_LINK_DOWN)
			s->link_down = 1;
	}
	s->mono_ns = now_ns(CLOCK_MONOTONIC);
	s->wall_ns = now_ns(CLOCK_REALTIME);
	s->first_ts_ns = sum->first_ts_ns;
	s->last_ts_ns = sum->last_ts_ns;
	s->max_flows = flowtab_max(e->ft);
	s->app_table = e->ft;
	s->procs = e->procs;
	s->ifnames = e->ifnames;
	s->nifaces = e->nifaces;
	free(s->counters);
	s->counters = NULL;
	s->ncounters = 0;
	if (e->counters && counters_count(e->counters)) {
		size_t n = counters_count(e->counters);

		s->counters = calloc(n, sizeof(*s->counters));
		if (s->counters)
			s->ncounters =
				counters_read(e->counters, s->counters, n);
	}
	if (e->c.read_file) {
		/* Packet time: rates are what a live capture would show. */
		s->start_ns = sum->first_ts_ns;
		s->now_ns = sum->last_ts_ns;
	} else {
		s->start_ns = e->start_wall_ns;
		s->now_ns = s->wall_ns;
	}
	return 0;
}

int engine_snapshot(struct engine *e, struct snapshot *s)
{
	struct worker_stats sum;
	ssize_t n;

	fill_totals(e, s, &sum);
	s->table = NULL;
	s->rows_omitted = 0;
	n = flowtab_collect(e->ft, &s->rows, &s->rows_cap);
	if (n < 0) {
		s->nrows = 0; /* the old rows are gone too */
		return (int)n;
	}
	s->nrows = (size_t)n;
	return fill_rest(e, s, &sum);
}

int engine_snapshot_totals(struct engine *e, struct snapshot *s)
{
	struct worker_stats sum;

	fill_totals(e, s, &sum);
	s->table = NULL;
	s->rows_omitted = 1;
	s->nrows = flowtab_count(e->ft);
	return fill_rest(e, s, &sum);
}

/*
 * The workers are stopped and the table settled (flowtab_barrier): the
 * rows are the table's own flows, not a copy - at exit, copying a million
 * flows into fresh memory would be most of the stop time.
 */
int engine_snapshot_final(struct engine *e, struct snapshot *s)
{
	struct worker_stats sum;

	engine_stop(e);
	fill_totals(e, s, &sum);
	s->table = e->ft;
	s->rows_omitted = 0;
	s->nrows = flowtab_count(e->ft);
	e->final_taken = 1;
	return fill_rest(e, s, &sum);
}

uint64_t engine_interval_end(struct engine *e)
{
	if (!e->nw || !e->w[0].iv_ns)
		return 0;
	return __atomic_load_n(&e->w[0].iv_end_ns, __ATOMIC_ACQUIRE);
}

void engine_interval_done(struct engine *e)
{
	if (e->nw)
		__atomic_store_n(&e->w[0].iv_end_ns, 0, __ATOMIC_RELEASE);
}

void engine_expire(struct engine *e)
{
	uint64_t now, mono = now_ns(CLOCK_MONOTONIC);

	/* A walk of the whole table: at most once a second, whatever the
	 * refresh rate (idle times are seconds anyway). */
	if (mono - e->last_expire_ns < NS)
		return;
	e->last_expire_ns = mono;

	if (e->c.read_file) {
		struct worker_stats sum;

		memset(&sum, 0, sizeof(sum));
		for (int i = 0; i < e->nw; i++)
			worker_stats_add(&e->w[i], &sum);
		now = sum.last_ts_ns;
	} else {
		now = now_ns(CLOCK_REALTIME);
	}
	if (now > e->c.keep_ns)
		flowtab_expire(e->ft, now, e->c.keep_ns);
}

void engine_tick(struct engine *e)
{
	engine_expire(e);
	for (int i = 0; i < e->nobs; i++)
		if (e->obs[i].ob->tick)
			e->obs[i].ob->tick(e->obs[i].ctx, e);
}

int engine_observe(struct engine *e, const struct engine_observer *ob,
		   void *ctx)
{
	if (e->started)
		return -EBUSY;
	if (e->nobs == ENGINE_MAX_OBSERVERS)
		return -ENOSPC;
	e->obs[e->nobs].ob = ob;
	e->obs[e->nobs].ctx = ctx;
	e->nobs++;
	return 0;
}

/* The table's end hook: each observer's flow_end (call_rcu thread). */
static void on_flow_end(void *arg, const struct flowtab_row *r, int evicted)
{
	struct engine *e = arg;

	for (int i = 0; i < e->nobs; i++)
		if (e->obs[i].ob->flow_end)
			e->obs[i].ob->flow_end(e->obs[i].ctx, r, evicted);
}

void engine_finish(struct engine *e)
{
	struct snapshot live;

	engine_stop(e);
	if (e->finished || !e->ft)
		return;
	e->finished = 1;
	/* the rows only, in place: nothing to allocate, nothing to fail */
	snapshot_init(&live);
	live.table = e->ft;
	live.nrows = flowtab_count(e->ft);
	for (int i = 0; i < e->nobs; i++)
		if (e->obs[i].ob->finish)
			e->obs[i].ob->finish(e->obs[i].ctx, e, &live);
}

ssize_t engine_collect_rows(struct engine *e, struct flowtab_row **rows,
			    size_t *cap)
{
	return flowtab_collect(e->ft, rows, cap);
}

void engine_report_meta(const struct engine *e, struct report_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->source = e->source;
	m->filter = engine_filter(e);
	m->backend = e->ops->name;
	m->threads = e->nw;
	/* The monitor's table grouped (g): its snapshots say so, and list
	 * the groups after every flow. */
	if (e->c.snapshot_group_by && *e->c.snapshot_group_by) {
		m->group_by = *e->c.snapshot_group_by;
		m->group_v4_prefix = e->c.group_v4_prefix;
		m->group_v6_prefix = e->c.group_v6_prefix;
		m->group_with_flows = 1;
	}
	m->filters = e->c.filters;
	/* a file's sockets are gone: its reports say so once */
	if (e->c.read_file)
		m->procs_unknown = "read from a file";
}

int engine_write_snapshot_of(struct engine *e, const char *path,
			     struct snapshot *s, const struct report_meta *m,
			     char *written, size_t wlen, char *err,
			     size_t errlen)
{
	struct report_meta own;
	char name[4200];
	int flags = 0;

	if (!path && e->c.snapshot_dir) {
		/* a new file named after now, never over another */
		snapname_make(e->c.snapshot_dir, now_ns(CLOCK_REALTIME), name,
			      sizeof(name));
		path = name;
		flags = REPORT_SAVE_NEW;
	} else if (!path) {
		path = e->c.snapshot_path;
	}
	if (!m) {
		engine_report_meta(e, &own);
		m = &own;
	}
	return privs_write_report(e->c.privs, path, flags, s, m, written, wlen,
				  err, errlen);
}

int engine_write_snapshot(struct engine *e, const char *path, char *written,
			  size_t wlen, char *err, size_t errlen)
{
	struct snapshot s;
	int rc;

	snapshot_init(&s);
	rc = engine_snapshot(e, &s);
	if (rc)
		snprintf(err, errlen, "%s: %s",
			 path		     ? path
			 : e->c.snapshot_dir ? e->c.snapshot_dir
					     : e->c.snapshot_path,
			 strerror(-rc));
	else
		rc = engine_write_snapshot_of(e, path, &s, NULL, written, wlen,
					      err, errlen);
	snapshot_free(&s);
	return rc;
}

/* Compile @expr for @h's link (live: as libpcap would, VLAN tags from
 * the kernel's metadata) and attach it. */
static int attach_filter(struct engine *e, struct cap_handle *h,
			 const char *expr, char *err, size_t errlen)
{
	struct bpf_program prog;
	int rc;

	if (cap_compiles_filters(h))
		return cap_set_filter_expr(h, expr, err, errlen);
	if (!expr || !*expr)
		return cap_set_filter(h, NULL, err, errlen);
	rc = cap_compile(cap_datalink(h), e->c.snaplen, expr, &prog, err,
			 errlen);
	if (rc)
		return rc;
	rc = cap_set_filter(h, &prog, err, errlen);
	pcap_freecode(&prog);
	return rc;
}

int engine_set_filter(struct engine *e, const char *expr, char *err,
		      size_t errlen)
{
	struct bpf_program prog;
	char *copy;
	int rc;

	/* Compile once for every distinct link type first: a bad expression
	 * leaves every socket on the old filter. */
	for (int i = 0; expr && *expr && i < e->nw; i++) {
		rc = cap_compile(cap_datalink(e->w[i].h), e->c.snaplen, expr,
				 &prog, err, errlen);
		if (rc)
			return rc;
		pcap_freecode(&prog);
	}
	copy = strdup(expr ? expr : "");
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < e->nw; i++) {
		rc = attach_filter(e, e->w[i].h, copy, err, errlen);
		if (rc) {
			free(copy);
			return rc;
		}
	}
	free(e->filter);
	e->filter = copy;
	filterlog_add(e->c.filters, now_ns(CLOCK_REALTIME), FILTERLOG_CAPTURE,
		      NULL, copy);
	return 0;
}

void engine_link_changes(struct engine *e,
			 void (*fn)(void *ctx, const char *iface, int state,
				    int was),
			 void *ctx)
{
	for (int i = 0; i < e->nw; i++) {
		int st;

		if (!e->w[i].h || worker_done(&e->w[i]))
			continue;
		st = (int)cap_link_state(e->w[i].h);
		/* one line per interface, not per fanout thread */
		if (st != e->was_state[i] &&
		    (e->threads == 1 || i % e->threads == 0))
			fn(ctx, e->w[i].iface ? e->w[i].iface : "any", st,
			   e->was_state[i]);
		e->was_state[i] = st;
	}
}

int engine_iface_stats(struct engine *e, struct engine_iface_stats *out,
		       int max)
{
	int nif = e->threads ? e->nw / e->threads : 0;

	if (nif > max)
		nif = max;
	for (int f = 0; f < nif; f++) {
		struct engine_iface_stats *o = &out[f];
		struct worker_stats sum;

		memset(o, 0, sizeof(*o));
		memset(&sum, 0, sizeof(sum));
		o->name = e->w[f * e->threads].iface
				  ? e->w[f * e->threads].iface
				  : "any";
		for (int t = 0; t < e->threads; t++) {
			struct worker *w = &e->w[f * e->threads + t];
			struct cap_stats cs;

			worker_stats_add(w, &sum);
			memset(&cs, 0, sizeof(cs));
			if (w->h && cap_read_stats(w->h, &cs) == 0)
				cap_stats_add(&o->cap, &cs);
		}
		memcpy(o->pkts, sum.kind_pkts, sizeof(o->pkts));
		memcpy(o->bytes, sum.kind_bytes, sizeof(o->bytes));
		for (int k = 0; k < DEC_ERR_COUNT; k++)
			o->malformed += sum.err[k];
	}
	return nif;
}

int engine_datalink(struct engine *e)
{
	return e->nw && e->w[0].h ? cap_datalink(e->w[0].h) : -1;
}

int engine_vlan_in_frame(const struct engine *e)
{
	return !e->ops->vlan_stripped || e->c.add_vlan;
}

size_t engine_counters_read(struct engine *e, struct counters_value *out,
			    size_t max)
{
	return e->counters ? counters_read(e->counters, out, max) : 0;
}

static int default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	/* One ring per two CPUs: leave a core for the UI and the system. */
	if (n <= 2)
		return 1;
	return (int)(n / 2 > 8 ? 8 : n / 2);
}

static int open_capture(struct engine *e, char *err, size_t errlen)
{
	const struct engine_conf *c = &e->c;
	const char *ifs[OPTS_MAX_IFACES];
	int nif = c->n_ifaces, rc;

	if (nif > OPTS_MAX_IFACES) {
		snprintf(err, errlen, "too many interfaces (%d)", nif);
		return -EINVAL;
	}
	if (c->read_file) {
		e->ops = &cap_pcapfile_ops;
		ifs[0] = NULL;
		nif = 1;
		e->threads = 1;
		snprintf(e->source, sizeof(e->source), "%s",
			 strcmp(c->read_file, "-") ? c->read_file : "stdin");
	} else {
		e->ops = c->backend ? cap_backend(c->backend)
				    : cap_default_backend();
		if (!e->ops) {
			snprintf(err, errlen, "%s: backend not available",
				 c->backend);
			return -ENOTSUP;
		}
		if (nif == 0) {
			ifs[0] = NULL;
			nif = 1;
		} else {
			memcpy(ifs, c->ifaces, sizeof(ifs[0]) * (size_t)nif);
		}
		e->threads = c->threads ? c->threads : default_threads();
		/* no fanout without AF_PACKET; tcpstat needs packets in
		 * time order */
		if (!e->ops->fanout || c->tcpstat)
			e->threads = 1;
		e->source[0] = '\0';
		for (int i = 0; i < nif; i++)
			snprintf(e->source + strlen(e->source),
				 sizeof(e->source) - strlen(e->source), "%s%s",
				 i ? "," : "",
				 ifs[i] && strcmp(ifs[i], "any") ? ifs[i]
								 : "any");
	}
	if (nif * e->threads > MAX_WORKERS) {
		snprintf(err, errlen, "too many capture threads (%d)",
			 nif * e->threads);
		return -EINVAL;
	}
	e->w = calloc((size_t)(nif * e->threads), sizeof(*e->w));
	if (!e->w) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < nif; i++)
		e->ifnames[i] = c->read_file ? e->source
				: ifs[i]     ? ifs[i]
					     : "any";
	e->nifaces = nif;
	for (int i = 0; i < nif; i++) {
		struct cap_config cfg = {
			.iface =
				ifs[i] && strcmp(ifs[i], "any") ? ifs[i] : NULL,
			.file = c->read_file,
			.snaplen = c->snaplen,
			.bufsize_mb = c->bufsize_mb,
			.promisc = c->promisc,
			.add_vlan = c->add_vlan,
			.fanout_group = e->threads > 1
						? ((int)getpid() + i) & 0xffff
						: 0,
			.block_timeout_ms = 50,
			.xdp = c->xdp,
			.bpf_flows = c->bpf_flows,
		};
		for (int t = 0; t < e->threads; t++) {
			struct worker *w = &e->w[e->nw];

			rc = e->ops->open(&w->h, &cfg, err, errlen);
			if (rc)
				return rc;
			w->iface = cfg.iface;
			w->ifo = (unsigned int)i;
			e->nw++;
			rc = attach_filter(e, w->h, e->filter, err, errlen);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int engine_open(struct engine **ep, const struct engine_conf *c, char *err,
		size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));
	int rc;

	*ep = NULL;
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	e->port.ops = &engine_port_ops;
	e->c = *c;
	e->filter = strdup(c->filter ? c->filter : "");
	e->start_wall_ns = now_ns(CLOCK_REALTIME);
	if (!e->filter) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if (*e->filter)
		filterlog_add(c->filters, e->start_wall_ns, FILTERLOG_CAPTURE,
			      NULL, e->filter);
	rc = open_capture(e, err, errlen);
	if (rc == 0 && c->read_file &&
	    !decode_link_supported(cap_datalink(e->w[0].h))) {
		int dlt = cap_datalink(e->w[0].h);
		const char *name = pcap_datalink_val_to_name(dlt);

		snprintf(err, errlen, "%s: unsupported link type %d (%s)",
			 e->source, dlt, name ? name : "unknown");
		rc = -EPROTONOSUPPORT;
	}
	if (rc)
		goto fail;
	*ep = e;
	return 0;
fail:
	engine_free(e);
	return rc;
}

/* The named counters: the set always exists, for the UI's counter
 * prompt. */
int engine_prepare(struct engine *e, char *err, size_t errlen)
{
	int rc;

	e->counters = counters_new((unsigned)e->nw, err, errlen);
	if (!e->counters)
		return -ENOMEM;
	for (int i = 0; i < e->nw; i++)
		if (e->w[i].h && cap_counts_counters(e->w[i].h)) {
			counters_set_hook(e->counters, counters_hook, e);
			break;
		}
	for (int i = 0; i < e->nw; i++) {
		rc = counters_prepare_dlt(e->counters, cap_datalink(e->w[i].h),
					  err, errlen);
		if (rc && rc != -EINVAL && e->c.n_counters)
			return rc;
	}
	for (int i = 0; i < e->c.n_counters; i++) {
		rc = counters_add(e->counters, e->c.counters[i].name,
				  e->c.counters[i].filter, err, errlen);
		if (rc)
			return -EINVAL;
		filterlog_add(e->c.filters, e->start_wall_ns, FILTERLOG_COUNTER,
			      e->c.counters[i].name,
			      e->c.counters[i].filter ? e->c.counters[i].filter
						      : "");
	}
	publish_counters(e);
	return 0;
}

int engine_make_table(struct engine *e, char *err, size_t errlen)
{
	if (e->ft)
		return 0;
	e->ft = flowtab_new(e->c.max_flows, err, errlen);
	if (!e->ft)
		return -ENOMEM;
	flowtab_set_writers(e->ft, (unsigned int)e->nw);
	if (!e->c.read_file)
		flowtab_presize(e->ft);
	return 0;
}

/* The store's demand count (procs_set_demand): flows made so far, live
 * and expired. Any thread: two relaxed loads. */
static uint64_t flows_made(void *arg)
{
	const struct engine *e = arg;

	return e->ft ? (uint64_t)flowtab_count(e->ft) +
			       flowtab_expired_flows(e->ft)
		     : 0;
}

void engine_set_procs(struct engine *e, struct procs *p)
{
	e->procs = p;
	/* new flows are what makes the resolver look for new sockets */
	if (p)
		procs_set_demand(p, flows_made, e);
}

struct flowtab *engine_table(struct engine *e)
{
	return e->ft;
}

int engine_start(struct engine *e, pthread_t notify, int notify_sig, char *err,
		 size_t errlen)
{
	int rc;

	if (!e->counters) {
		rc = engine_prepare(e, err, errlen);
		if (rc)
			return rc;
	}
	rc = engine_make_table(e, err, errlen);
	if (rc)
		return rc;
	for (int i = 0; i < e->nw; i++) {
		struct worker *w = &e->w[i];

		w->ft = e->ft;
		w->idx = (unsigned)i;
		w->nsinks = 0;
	}
	/* The personalities' packet sinks, in the order they see a frame:
	 * a file's packet-time limit and interval stops, then tcpstat. */
	if (e->c.read_file && e->c.ts_limit_ns && e->nw) {
		e->w[0].ts_limit_ns = e->c.ts_limit_ns; /* packet time */
		worker_add_sink(&e->w[0], &worker_sink_ts_limit, &e->w[0]);
	}
	if (e->c.read_file && e->c.iv_ns && e->nw) {
		e->w[0].iv_ns = e->c.iv_ns; /* -l in packet time */
		worker_add_sink(&e->w[0], &worker_sink_interval, &e->w[0]);
	}
	for (int i = 0; e->c.tcpstat && i < e->nw; i++)
		worker_add_sink(&e->w[i],
				e->c.read_file ? &worker_sink_tcpstat_file
					       : &worker_sink_tcpstat_live,
				e->c.tcpstat);
	e->last_expire_ns = now_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < e->nobs; i++) {
		if (e->obs[i].ob->flow_end)
			flowtab_set_end_hook(e->ft, on_flow_end, e);
		if (e->obs[i].ob->start) {
			rc = e->obs[i].ob->start(e->obs[i].ctx, e, err, errlen);
			if (rc)
				return rc;
		}
	}
	e->started = 1;
	for (int i = 0; i < e->nw; i++) {
		e->w[i].notify = notify;
		e->w[i].notify_sig = notify_sig;
		rc = worker_start(&e->w[i]);
		if (rc) {
			snprintf(err, errlen, "cannot start thread: %s",
				 strerror(-rc));
			engine_stop(e);
			return rc;
		}
	}
	return 0;
}

void engine_stop(struct engine *e)
{
	if (e->stopped)
		return;
	for (int i = 0; i < e->nw; i++)
		worker_stop(&e->w[i]);
	for (int i = 0; i < e->nw; i++)
		worker_join(&e->w[i]);
	if (e->ft)
		flowtab_barrier(e->ft);
	e->stopped = 1;
}

void engine_close_capture(struct engine *e)
{
	for (int i = 0; i < e->nw; i++) {
		cap_close(e->w[i].h);
		e->w[i].h = NULL;
	}
}

/*
 * The flow table at exit, once a final snapshot read it in place: left to
 * the kernel, which takes back the whole address space at once. Kept in a
 * static so leak checkers see it reachable (volatile: the compiler drops
 * a store nobody reads, and LeakSanitizer saw a leak); every other path
 * (errors, tests) frees it.
 */
static struct flowtab *volatile table_at_exit;

void engine_free(struct engine *e)
{
	if (!e)
		return;
	engine_stop(e);
	if (e->ft)
		flowtab_set_end_hook(e->ft, NULL, NULL);
	engine_close_capture(e);
	free(e->w);
	if (e->final_taken)
		table_at_exit = e->ft;
	else
		flowtab_free(e->ft);
	free(e->filter);
	counters_free(e->counters);
	free(e);
}

/* ---- the port ------------------------------------------------------- */

static struct engine *of_port(struct engine_port *p)
{
	return (struct engine *)p;
}

static void port_info(struct engine_port *p, struct engine_info *info)
{
	struct engine *e = of_port(p);

	info->source = engine_source(e);
	info->backend = engine_backend(e);
	info->filter = engine_filter(e);
	info->threads = engine_threads(e);
	info->capture_done = engine_capture_done(e);
	info->capture_error = engine_capture_error(e);
	info->filters = e->c.filters;
}

static void port_expire(struct engine_port *p)
{
	engine_tick(of_port(p));
}

static int port_snapshot(struct engine_port *p, struct snapshot *s)
{
	return engine_snapshot(of_port(p), s);
}

static int port_tick(struct engine_port *p, const struct snapshot *s)
{
	struct engine *e = of_port(p);

	return e->tick ? e->tick(e->tick_ctx, s) : 0;
}

static size_t port_counters_read(struct engine_port *p,
				 struct counters_value *out, size_t max)
{
	return engine_counters_read(of_port(p), out, max);
}

static int port_set_filter(struct engine_port *p, const char *expr, char *err,
			   size_t errlen)
{
	return engine_set_filter(of_port(p), expr, err, errlen);
}

static int port_counter_cmd(struct engine_port *p, const char *line, char *msg,
			    size_t msglen)
{
	return engine_counter_cmd(of_port(p), line, msg, msglen);
}

static int port_write_snapshot(struct engine_port *p, const char *path,
			       char *written, size_t wlen, char *err,
			       size_t errlen)
{
	return engine_write_snapshot(of_port(p), path, written, wlen, err,
				     errlen);
}

static const struct engine_ops engine_port_ops = {
	.info = port_info,
	.expire = port_expire,
	.snapshot = port_snapshot,
	.tick = port_tick,
	.set_filter = port_set_filter,
	.counter_cmd = port_counter_cmd,
	.counters_read = port_counters_read,
	.write_snapshot = port_write_snapshot,
};

struct engine_port *engine_port(struct engine *e)
{
	return &e->port;
}

void engine_port_set_tick(struct engine *e, engine_tick_fn fn, void *ctx)
{
	e->tick = fn;
	e->tick_ctx = ctx;
}
