/*
 * pktstat.c - the run: options, capture threads, the UI or batch loop and
 * the exit sequence.
 *
 * Threads: pktstat_main runs on the main thread, which opens the capture
 * handles, starts one worker per handle (signals blocked, so they reach
 * only the main thread through sigtimedwait or the UI's signalfd), then
 * becomes the UI or batch thread. Exit: stop flag + wakeup -> join workers
 * -> wait for pending call_rcu callbacks (flowtab_barrier) -> exact final
 * snapshot -> capture handles closed -> (terminal already restored by the
 * UI) -> snapshot file and report -> the flow table left to the kernel.
 */
#include "pktstat.h"
#include "diff.h"
#include "pulse.h"

#include <errno.h>
#include <curses.h>
#include <pcap/pcap.h>
#include <term.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>
#include <urcu.h>

#include "../capture/capture.h"
#include "../capture/worker.h"
#include "../ui/ui.h"
#include "abbrev.h"
#include "client.h"
#include "countercmd.h"
#include "counters.h"
#include "daemon.h"
#include "decode.h"
#include "ipfix.h"
#include "metrics.h"
#include "names.h"
#include "privs.h"
#include "origfmt.h"
#include "report.h"
#include "tcpstat.h"

#define DEFAULT_SNAPSHOT "pktstat-snapshot.txt"
#define MAX_WORKERS 256

struct pktstat {
	struct opts o;
	const struct cap_ops *ops;
	struct flowtab *ft;
	struct worker *w;
	int nw;
	int threads;  /* per interface */
	char *filter; /* in force, "" for none */
	char source[512];
	uint64_t start_wall_ns;
	uint64_t start_mono_ns;
	struct privs *privs;
	char snapshot_path[4096];
	struct names *names;
	struct tcpstat *tcpstat;   /* tcpstat mode (-o, interval, -a, -b) */
	struct abbrev *abbrev;	   /* the original's -a/-A patterns */
	struct counters *counters; /* --count, the UI's counter prompt */
	struct daemon *daemon;	   /* -d: the socket and its clients */
	int orig1;		   /* the original's -1 output */
	uint64_t period_ns;	   /* -1: how long to collect */
	struct snapshot prev_iv;   /* -l: the previous interval's state */
	struct pulse_run *tick;	   /* --jsonl, --exit-over; NULL when off */
	int exit_over;		   /* --exit-over fired */
	int started_as_root;
	uint64_t last_expire_ns; /* monotonic */
	/* exporters (front ends of the run's counters) */
	struct metrics *metrics;      /* --metrics, --metrics-file */
	uint64_t last_publish_ns;     /* monotonic */
	uint64_t last_top_ns;	      /* monotonic */
	struct flowtab_row *top_rows; /* --metrics-top: a collect buffer */
	size_t top_cap, ntop;
	int metrics_file_failed;       /* said once */
	struct ipfix *ipfix;	       /* --ipfix */
	struct report_ipfix ipfix_fin; /* its figures at exit, for reports */
	int ipfix_done;
};

/*
 * One error line on stderr, "pktstat: <msg>", with every control byte
 * shown as '?': paths, filters and names in messages can come from
 * anyone, and must not drive the terminal.
 */
static void say(const char *msg)
{
	char line[1200];
	size_t i;

	snprintf(line, sizeof(line), "%s", msg ? msg : "");
	for (i = 0; line[i]; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	fprintf(stderr, "pktstat: %s\n", line);
}

/* say() with a printf format. */
static void sayf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sayf(const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say(msg);
}

/* Set once in pktstat_main before any thread exists; read-only after. */
static pthread_t main_thread;

/* A signal that lands on a thread which has it unblocked (liburcu's own
 * threads do not block everything) is sent on to the main thread, which
 * has it blocked and collects it with sigtimedwait or the UI's signalfd. */
static void redirect_to_main(int sig)
{
	pthread_kill(main_thread, sig);
}

/* redirect_to_main for every signal of @set. */
static void redirect_signals(const sigset_t *set)
{
	static const int rs[] = { SIGINT,  SIGTERM, SIGHUP,
				  SIGUSR1, SIGUSR2, SIGWINCH };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = redirect_to_main;
	sigfillset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++)
		if (sigismember(set, rs[i]))
			sigaction(rs[i], &sa, NULL);
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const struct opts *pktstat_opts(const struct pktstat *run)
{
	return &run->o;
}

const char *pktstat_filter(const struct pktstat *run)
{
	return run->filter ? run->filter : "";
}

const char *pktstat_source(const struct pktstat *run)
{
	return run->source;
}

const char *pktstat_backend(const struct pktstat *run)
{
	return run->ops->name;
}

int pktstat_threads(const struct pktstat *run)
{
	return run->nw;
}

const char *pktstat_capture_error(const struct pktstat *run)
{
	for (int i = 0; i < run->nw; i++) {
		if (worker_done(&run->w[i]) && run->w[i].status < 0 &&
		    run->w[i].err[0])
			return run->w[i].err;
	}
	return NULL;
}

int pktstat_capture_done(const struct pktstat *run)
{
	for (int i = 0; i < run->nw; i++)
		if (!worker_done(&run->w[i]))
			return 0;
	return 1;
}

/*
 * Workers call into the counters only while there is one: with none, the
 * packet path costs nothing (the pointer they load is NULL). A worker
 * still holding the old pointer is fine: the object lives until the run
 * ends, after the workers are joined.
 */
static void publish_counters(struct pktstat *run)
{
	struct counters *c = run->counters && counters_count(run->counters)
				     ? run->counters
				     : NULL;

	for (int i = 0; i < run->nw; i++)
		__atomic_store_n(&run->w[i].counters, c, __ATOMIC_RELEASE);
}

int pktstat_counter_cmd(struct pktstat *run, const char *line, char *msg,
			size_t msglen)
{
	int rc;

	if (!run->counters) {
		snprintf(msg, msglen, "counters: not available");
		return -ENOTSUP;
	}
	rc = countercmd_run(run->counters, line, msg, msglen);
	publish_counters(run);
	return rc;
}

size_t pktstat_counters_read(struct pktstat *run, struct counters_value *out,
			     size_t max)
{
	return run->counters ? counters_read(run->counters, out, max) : 0;
}

/*
 * @in_place: the workers are stopped and the table settled
 * (flowtab_barrier): the rows are the table's own flows, not a copy - at
 * exit, copying a million flows into fresh memory would be most of the
 * stop time.
 */
static int take_snapshot(struct pktstat *run, struct snapshot *s, int in_place)
{
	struct worker_stats sum;
	ssize_t n;

	memset(&sum, 0, sizeof(sum));
	/* Totals first, then rows: a packet counted in the totals but not
	 * yet in a row is possible for a moment, never the reverse. */
	for (int i = 0; i < run->nw; i++)
		worker_stats_add(&run->w[i], &sum);
	if (in_place) {
		s->table = run->ft;
		s->nrows = flowtab_count(run->ft);
	} else {
		s->table = NULL;
		n = flowtab_collect(run->ft, &s->rows, &s->rows_cap);
		if (n < 0)
			return (int)n;
		s->nrows = (size_t)n;
	}
	s->app_table = run->ft;
	flowtab_totals(run->ft, s->expired, s->overflow);
	s->expired_flows = flowtab_expired_flows(run->ft);
	s->evicted_flows = flowtab_evicted_flows(run->ft);
	s->pkts = s->bytes = 0;
	for (int k = 0; k < KIND_COUNT; k++) {
		s->kind[k].pkts = sum.kind_pkts[k];
		s->kind[k].bytes = sum.kind_bytes[k];
		s->pkts += sum.kind_pkts[k];
		s->bytes += sum.kind_bytes[k];
	}
	memcpy(s->err, sum.err, sizeof(s->err));
	memset(&s->cap, 0, sizeof(s->cap));
	s->incomplete[0] = '\0';
	for (int i = 0; run->o.read_file && i < run->nw; i++)
		if (worker_done(&run->w[i]) && run->w[i].status < 0 &&
		    run->w[i].status != CAP_EOF)
			snprintf(s->incomplete, sizeof(s->incomplete), "%s",
				 run->w[i].err);
	s->link_down = 0;
	for (int i = 0; i < run->nw; i++) {
		struct cap_stats cs;

		memset(&cs, 0, sizeof(cs));
		if (run->w[i].h && run->ops->stats(run->w[i].h, &cs) == 0) {
			s->cap.received += cs.received;
			s->cap.kernel_drops += cs.kernel_drops;
			s->cap.freezes += cs.freezes;
			s->cap.if_drops += cs.if_drops;
			s->cap.filtered += cs.filtered;
			s->cap.map_full += cs.map_full;
			s->cap.prog_errors += cs.prog_errors;
		}
		if (run->w[i].h && run->ops->link &&
		    run->ops->link(run->w[i].h) == CAP_LINK_DOWN)
			s->link_down = 1;
	}
	s->mono_ns = now_ns(CLOCK_MONOTONIC);
	s->wall_ns = now_ns(CLOCK_REALTIME);
	s->first_ts_ns = sum.first_ts_ns;
	s->last_ts_ns = sum.last_ts_ns;
	s->max_flows = flowtab_max(run->ft);
	free(s->counters);
	s->counters = NULL;
	s->ncounters = 0;
	if (run->counters && counters_count(run->counters)) {
		size_t n = counters_count(run->counters);

		s->counters = calloc(n, sizeof(*s->counters));
		if (s->counters)
			s->ncounters =
				counters_read(run->counters, s->counters, n);
	}
	if (run->o.read_file) {
		/* Packet time: rates are what a live capture would show. */
		s->start_ns = sum.first_ts_ns;
		s->now_ns = sum.last_ts_ns;
	} else {
		s->start_ns = run->start_wall_ns;
		s->now_ns = s->wall_ns;
	}
	return 0;
}

int pktstat_snapshot(struct pktstat *run, struct snapshot *s)
{
	return take_snapshot(run, s, 0);
}

struct names *pktstat_names(const struct pktstat *run)
{
	return run->names;
}

int pktstat_numeric_default(const struct pktstat *run)
{
	/* Names by default, root or not: lookups run on the resolver
	 * thread, after the privilege drop (issue 16.12). */
	return run->o.numeric > 0;
}

/* Largest first, ties by flow id: a scrape's ranks do not jitter. */
static int top_cmp(const void *x, const void *y)
{
	const struct flowtab_row *a = x, *b = y;
	uint64_t ab = a->bytes[0] + a->bytes[1], bb = b->bytes[0] + b->bytes[1];

	if (ab != bb)
		return ab > bb ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* The --metrics-top rows: every live flow copied, the N largest kept. */
static void collect_top(struct pktstat *run)
{
	ssize_t n = flowtab_collect(run->ft, &run->top_rows, &run->top_cap);

	if (n < 0)
		return; /* out of memory: the previous top stays */
	qsort(run->top_rows, (size_t)n, sizeof(*run->top_rows), top_cmp);
	run->ntop = (size_t)n < (size_t)run->o.metrics_top
			    ? (size_t)n
			    : (size_t)run->o.metrics_top;
}

/*
 * Hand the exporters the run's counters: every 500 ms from the tick
 * thread (UI or batch loop), and once more, @final, after the workers
 * stopped (exact figures for a textfile read after the run). The top-N
 * flows cost a copy of the table: every 2 s.
 */
static void export_tick(struct pktstat *run, int final)
{
	struct metrics_iface ifs[OPTS_MAX_IFACES];
	struct metrics_input in;
	uint64_t mono = now_ns(CLOCK_MONOTONIC);
	int nif = run->threads ? run->nw / run->threads : 0;
	char err[4200];

	if (!run->metrics || !run->ft)
		return;
	if (!final && mono - run->last_publish_ns < 500000000ull)
		return;
	run->last_publish_ns = mono;
	memset(&in, 0, sizeof(in));
	memset(ifs, 0, sizeof(ifs));
	if (nif > OPTS_MAX_IFACES)
		nif = OPTS_MAX_IFACES;
	for (int f = 0; f < nif; f++) {
		struct worker_stats sum;

		memset(&sum, 0, sizeof(sum));
		ifs[f].name = run->w[f * run->threads].iface
				      ? run->w[f * run->threads].iface
				      : "any";
		for (int t = 0; t < run->threads; t++) {
			struct worker *w = &run->w[f * run->threads + t];
			struct cap_stats cs;

			worker_stats_add(w, &sum);
			memset(&cs, 0, sizeof(cs));
			if (w->h && run->ops->stats(w->h, &cs) == 0) {
				ifs[f].cap.kernel_drops += cs.kernel_drops;
				ifs[f].cap.freezes += cs.freezes;
				ifs[f].cap.if_drops += cs.if_drops;
			}
		}
		memcpy(ifs[f].pkts, sum.kind_pkts, sizeof(ifs[f].pkts));
		memcpy(ifs[f].bytes, sum.kind_bytes, sizeof(ifs[f].bytes));
		for (int e = 0; e < DEC_ERR_COUNT; e++)
			in.malformed += sum.err[e];
	}
	in.ifaces = ifs;
	in.nifaces = (size_t)nif;
	flowtab_totals(run->ft, NULL, in.overflow);
	in.flows_live = flowtab_count(run->ft);
	in.flows_max = flowtab_max(run->ft);
	in.flows_expired = flowtab_expired_flows(run->ft);
	in.flows_evicted = flowtab_evicted_flows(run->ft);
	in.start_wall_ns = run->start_wall_ns;
	struct counters_value *cv = NULL;
	if (run->counters && counters_count(run->counters)) {
		size_t n = counters_count(run->counters);

		cv = calloc(n, sizeof(*cv));
		if (cv) {
			in.sessions = cv;
			in.nsessions = counters_read(run->counters, cv, n);
			if (in.nsessions > n)
				in.nsessions = n;
		}
	}
	if (run->o.metrics_top && (final || !run->last_top_ns ||
				   mono - run->last_top_ns >= 2000000000ull)) {
		run->last_top_ns = mono;
		collect_top(run);
	}
	in.top = run->top_rows;
	in.ntop = run->ntop;
	struct metrics_ipfix mx;
	if (run->ipfix) {
		struct ipfix_stats st;

		ipfix_get_stats(run->ipfix, &st);
		mx.records = st.records;
		mx.drop_records = st.drop_records;
		mx.drop_pkts = st.drop_pkts;
		mx.drop_bytes = st.drop_octets;
		mx.queue_depth = st.queue_depth;
		mx.send_errors = st.send_errors;
		in.ipfix = &mx;
	}
	if (metrics_publish(run->metrics, &in, err, sizeof(err))) {
		if (!run->metrics_file_failed)
			say(err);
		run->metrics_file_failed = 1;
	} else {
		run->metrics_file_failed = 0;
	}
	free(cv);
}

void pktstat_expire(struct pktstat *run)
{
	uint64_t now, mono = now_ns(CLOCK_MONOTONIC);

	export_tick(run, 0);
	/* A walk of the whole table: at most once a second, whatever the
	 * refresh rate (idle times are seconds anyway). */
	if (mono - run->last_expire_ns < 1000000000ull)
		return;
	run->last_expire_ns = mono;

	if (run->o.read_file) {
		struct worker_stats sum;

		memset(&sum, 0, sizeof(sum));
		for (int i = 0; i < run->nw; i++)
			worker_stats_add(&run->w[i], &sum);
		now = sum.last_ts_ns;
	} else {
		now = now_ns(CLOCK_REALTIME);
	}
	if (now > run->o.keep_ns)
		flowtab_expire(run->ft, now, run->o.keep_ns);
}

static void fill_meta(const struct pktstat *run, struct report_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->source = run->source;
	m->filter = pktstat_filter(run);
	m->backend = run->ops->name;
	m->threads = run->nw;
	m->ipfix = run->ipfix_done ? &run->ipfix_fin : NULL;
}

int pktstat_pulse(struct pktstat *run, const struct snapshot *s)
{
	struct report_meta m;
	const char *e;

	if (!run->tick || run->exit_over)
		return run->exit_over;
	fill_meta(run, &m);
	if (pulse_tick(run->tick, s, &m))
		run->exit_over = 1;
	if ((e = pulse_error(run->tick)))
		sayf("%s (the --jsonl tee stopped; capture goes on)", e);
	return run->exit_over;
}

/* Reports on stdout aggregate as --group-by says; snapshot files keep
 * every flow (so that --diff can compare them). */
static void fill_meta_groups(const struct pktstat *run, struct report_meta *m)
{
	m->group_by = run->o.group_by;
	m->group_v4_prefix = run->o.group_v4_prefix;
	m->group_v6_prefix = run->o.group_v6_prefix;
}

/* Write @s (taken by the caller) to @path, or the configured path. */
static int write_snapshot_of(struct pktstat *run, const char *path,
			     struct snapshot *s, char *written, size_t wlen,
			     char *err, size_t errlen, FILE *tee, int *tee_done)
{
	struct report_meta m;
	int rc;

	if (!path)
		path = run->snapshot_path;
	fill_meta(run, &m);
	m.tee = tee;
	m.tee_done = tee_done;
	rc = privs_write_report(run->privs, path, s, &m, err, errlen);
	if (rc == 0 && written)
		snprintf(written, wlen, "%s", path);
	return rc;
}

int pktstat_write_snapshot(struct pktstat *run, const char *path, char *written,
			   size_t wlen, char *err, size_t errlen)
{
	struct snapshot s;
	int rc;

	snapshot_init(&s);
	rc = pktstat_snapshot(run, &s);
	if (rc)
		snprintf(err, errlen, "%s: %s",
			 path ? path : run->snapshot_path, strerror(-rc));
	else
		rc = write_snapshot_of(run, path, &s, written, wlen, err,
				       errlen, NULL, NULL);
	snapshot_free(&s);
	return rc;
}

/*
 * The final snapshot file, written on its own thread while the main
 * thread prints the report on stdout from the same snapshot (report_write
 * only reads it): at 100k flows each is a few tens of milliseconds of the
 * stop time.
 */
struct final_snap {
	struct pktstat *run;
	struct snapshot *s;
	pthread_t tid;
	int started, rc;
	int tee_done; /* the stdout report was made with the snapshot */
	char written[4096 + 1];
	char err[4096 + 256];
};

/* The final snapshot's one line: an error, or where it went (UI). */
static void final_snap_done(const struct final_snap *fs, int use_ui,
			    int *status)
{
	if (fs->rc) {
		say(fs->err);
		*status = 1;
	} else if (use_ui) {
		sayf("snapshot written to %s", fs->written);
	}
}

static void *final_snap_run(void *arg)
{
	struct final_snap *fs = arg;

	fs->rc = write_snapshot_of(fs->run, NULL, fs->s, fs->written,
				   sizeof(fs->written), fs->err,
				   sizeof(fs->err), NULL, NULL);
	return NULL;
}

/*
 * The flow table at exit, once the final snapshot is taken: left to the
 * kernel, which takes back the whole address space at once. Unlinking a
 * million flows one by one costs a few hundred milliseconds between `q`
 * and the shell prompt for nothing. Kept in a static so leak checkers see
 * it reachable (volatile: the compiler drops a store nobody reads, and
 * LeakSanitizer saw a leak); every other path (errors, tests) frees it.
 */
static struct flowtab *volatile table_at_exit;

static void leave_table(struct pktstat *run)
{
	table_at_exit = run->ft;
	run->ft = NULL;
}

/* Compile @expr for @h's link (live: as libpcap would, VLAN tags from
 * the kernel's metadata) and attach it. */
static int attach_filter(struct pktstat *run, struct cap_handle *h,
			 const char *expr, char *err, size_t errlen)
{
	struct bpf_program prog;
	int rc;

	if (run->ops->set_filter_expr)
		return run->ops->set_filter_expr(h, expr, err, errlen);
	if (!expr || !*expr)
		return run->ops->set_filter(h, NULL, err, errlen);
	rc = cap_compile(run->ops->datalink(h), run->o.snaplen, expr, &prog,
			 err, errlen);
	if (rc)
		return rc;
	rc = run->ops->set_filter(h, &prog, err, errlen);
	pcap_freecode(&prog);
	return rc;
}

int pktstat_set_filter(struct pktstat *run, const char *expr, char *err,
		       size_t errlen)
{
	struct bpf_program prog;
	char *copy;
	int rc;

	/* Compile once for every distinct link type first: a bad expression
	 * leaves every socket on the old filter. */
	for (int i = 0; expr && *expr && i < run->nw; i++) {
		rc = cap_compile(run->ops->datalink(run->w[i].h),
				 run->o.snaplen, expr, &prog, err, errlen);
		if (rc)
			return rc;
		pcap_freecode(&prog);
	}
	copy = strdup(expr ? expr : "");
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < run->nw; i++) {
		rc = attach_filter(run, run->w[i].h, copy, err, errlen);
		if (rc) {
			free(copy);
			return rc;
		}
	}
	free(run->filter);
	run->filter = copy;
	return 0;
}

static int default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	/* One ring per two CPUs: leave a core for the UI and the system. */
	if (n <= 2)
		return 1;
	return (int)(n / 2 > 8 ? 8 : n / 2);
}

static int open_capture(struct pktstat *run, char *err, size_t errlen)
{
	const struct opts *o = &run->o;
	const char *ifs[OPTS_MAX_IFACES];
	int nif = o->n_ifaces, rc;

	if (o->read_file) {
		run->ops = &cap_pcap_ops;
		ifs[0] = NULL;
		nif = 1;
		run->threads = 1;
		snprintf(run->source, sizeof(run->source), "%s",
			 strcmp(o->read_file, "-") ? o->read_file : "stdin");
	} else {
		run->ops = o->backend ? cap_backend(o->backend)
				      : cap_default_backend();
		if (!run->ops) {
			snprintf(err, errlen, "%s: backend not available",
				 o->backend);
			return -ENOTSUP;
		}
		if (nif == 0) {
			ifs[0] = NULL;
			nif = 1;
		} else {
			memcpy(ifs, o->ifaces, sizeof(ifs[0]) * (size_t)nif);
		}
		run->threads = o->threads ? o->threads : default_threads();
		if (run->ops != &cap_tpacket3_ops || run->tcpstat)
			run->threads =
				1; /* no fanout without AF_PACKET; tcpstat
					     needs packets in time order */
		run->source[0] = '\0';
		for (int i = 0; i < nif; i++)
			snprintf(run->source + strlen(run->source),
				 sizeof(run->source) - strlen(run->source),
				 "%s%s", i ? "," : "",
				 ifs[i] && strcmp(ifs[i], "any") ? ifs[i]
								 : "any");
	}
	if (nif * run->threads > MAX_WORKERS) {
		snprintf(err, errlen, "too many capture threads (%d)",
			 nif * run->threads);
		return -EINVAL;
	}
	run->w = calloc((size_t)(nif * run->threads), sizeof(*run->w));
	if (!run->w) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < nif; i++) {
		struct cap_config cfg = {
			.iface =
				ifs[i] && strcmp(ifs[i], "any") ? ifs[i] : NULL,
			.file = o->read_file,
			.snaplen = o->snaplen,
			.bufsize_mb = o->bufsize_mb,
			.promisc = o->promisc,
			.add_vlan = o->add_vlan,
			.fanout_group = run->threads > 1
						? ((int)getpid() + i) & 0xffff
						: 0,
			.block_timeout_ms = 50,
			.xdp = o->xdp,
			.bpf_flows = o->ebpf_flows,
		};
		for (int t = 0; t < run->threads; t++) {
			struct worker *w = &run->w[run->nw];

			rc = run->ops->open(&w->h, &cfg, err, errlen);
			if (rc)
				return rc;
			w->ops = run->ops;
			w->ft = run->ft;
			w->iface = cfg.iface;
			run->nw++;
			rc = attach_filter(run, w->h, run->filter, err, errlen);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static void stop_workers(struct pktstat *run)
{
	for (int i = 0; i < run->nw; i++)
		worker_stop(&run->w[i]);
	for (int i = 0; i < run->nw; i++)
		worker_join(&run->w[i]);
}

/* First worker error line, if any worker failed. */
static const char *worker_error(const struct pktstat *run)
{
	for (int i = 0; i < run->nw; i++)
		if (run->w[i].status < 0 && run->w[i].status != CAP_EOF)
			return run->w[i].err;
	return NULL;
}

/* The report on @out; 0 or -errno (out of memory, or a failed write,
 * which the caller must report: a silent empty report loses data). */
static int print_report(struct pktstat *run, FILE *out, int json,
			struct snapshot *taken)
{
	struct snapshot s;
	struct report_meta m;
	int rc = 0;

	snapshot_init(&s);
	if (!taken)
		rc = pktstat_snapshot(run, &s);
	if (rc == 0) {
		fill_meta(run, &m);
		fill_meta_groups(run, &m);
		rc = report_write(out, json ? REPORT_JSON : REPORT_TEXT,
				  taken ? taken : &s, &m);
	}
	snapshot_free(&s);
	return rc;
}

static int row_by_id(const void *a, const void *b)
{
	const struct flowtab_row *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * dkorunic/pktstat's -l: every interval, a report of that interval alone
 * (counts since the previous one; JSON: one array per line). Flows are
 * matched to the previous interval by their id.
 */
static void print_interval_to(struct pktstat *run, uint64_t end_ns);

static void print_interval(struct pktstat *run)
{
	print_interval_to(run, 0);
}

/* @end_ns: the interval's end in packet time (-r -l), else 0. */
static void print_interval_to(struct pktstat *run, uint64_t end_ns)
{
	struct snapshot cur, delta;
	struct report_meta m;
	struct snapshot *prev = &run->prev_iv;
	size_t j = 0, k = 0;

	snapshot_init(&cur);
	if (pktstat_snapshot(run, &cur))
		return;
	qsort(cur.rows, cur.nrows, sizeof(*cur.rows), row_by_id);
	if (end_ns)
		cur.now_ns = end_ns;
	delta = cur;
	delta.rows = calloc(cur.nrows + 1, sizeof(*cur.rows));
	delta.counters = NULL;
	delta.ncounters = 0;
	if (!delta.rows) {
		snapshot_free(&cur);
		return;
	}
	for (size_t i = 0; i < cur.nrows; i++) {
		struct flowtab_row r = cur.rows[i];

		while (j < prev->nrows && prev->rows[j].id < r.id)
			j++;
		if (j < prev->nrows && prev->rows[j].id == r.id) {
			for (int d = 0; d < 2; d++) {
				r.pkts[d] -= prev->rows[j].pkts[d];
				r.bytes[d] -= prev->rows[j].bytes[d];
			}
		}
		if (r.pkts[0] || r.pkts[1])
			delta.rows[k++] = r;
	}
	delta.nrows = k;
	delta.rows_cap = cur.nrows + 1;
	for (int kd = 0; kd < KIND_COUNT; kd++) {
		delta.kind[kd].pkts -= prev->kind[kd].pkts;
		delta.kind[kd].bytes -= prev->kind[kd].bytes;
	}
	delta.pkts -= prev->pkts;
	delta.bytes -= prev->bytes;
	delta.start_ns = prev->now_ns ? prev->now_ns : cur.start_ns;
	fill_meta(run, &m);
	fill_meta_groups(run, &m);
	report_write(stdout, run->o.json ? REPORT_JSON_ARRAY : REPORT_TEXT,
		     &delta, &m);
	fflush(stdout);
	free(delta.rows);
	snapshot_free(prev);
	*prev = cur;
}

/*
 * Batch mode: wait for the end of the file, the timeout or a signal,
 * printing interval reports on the way. Returns the terminating signal
 * number, or 0.
 */
/* Say on stderr when an interface goes down or comes back (batch mode:
 * the UI shows it in its header instead). */
static void report_link_changes(struct pktstat *run, int *was_down)
{
	for (int i = 0; i < run->nw; i++) {
		int down;

		if (!run->w[i].h || !run->ops->link)
			continue;
		down = run->ops->link(run->w[i].h) == CAP_LINK_DOWN;
		if (down != was_down[i] &&
		    (i == 0 || run->threads == 1 || i % run->threads == 0))
			sayf("%s: %s",
			     run->w[i].iface ? run->w[i].iface : "any",
			     down ? "interface down, capture paused"
				  : "interface up, capture resumed");
		was_down[i] = down;
	}
}

/* Whether a live --jsonl / --exit-over tick is due (every interval of
 * wall time; a file's ticks come from its worker, in packet time). */
static int batch_pulse_due(uint64_t *next, uint64_t iv)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);

	if (now < *next)
		return 0;
	*next += iv * ((now - *next) / iv + 1);
	return 1;
}

/* A tick from a fresh snapshot; @end_ns: the interval's end in packet
 * time (a file's worker waits there), else 0. */
static int batch_pulse(struct pktstat *run, uint64_t end_ns)
{
	struct snapshot s;
	int fired = 0;

	snapshot_init(&s);
	if (pktstat_snapshot(run, &s) == 0) {
		if (end_ns)
			s.now_ns = end_ns;
		fired = pktstat_pulse(run, &s);
	}
	snapshot_free(&s);
	return fired;
}

static int batch_loop(struct pktstat *run, const sigset_t *sigs)
{
	int was_down[MAX_WORKERS] = { 0 };
	uint64_t start = now_ns(CLOCK_MONOTONIC);
	uint64_t next_iv = run->o.interval_ns && !run->o.read_file
				   ? start + run->o.interval_ns
				   : 0;
	int live = !run->o.read_file;
	uint64_t pulse_iv = run->o.interval_ns	? run->o.interval_ns
			    : run->o.refresh_ns ? run->o.refresh_ns
						: 1000000000ull;
	uint64_t next_pulse = start + pulse_iv;

	for (;;) {
		struct timespec ts = { 0, 50 * 1000000 };
		uint64_t now;
		int sig;

		if (run->tick && live &&
		    batch_pulse_due(&next_pulse, pulse_iv) &&
		    batch_pulse(run, 0))
			return 0; /* --exit-over */

		if (run->tcpstat)
			tcpstat_drain(run->tcpstat, stdout);
		if (run->nw && run->w[0].iv_ns) {
			/* -r -l: the worker waits at an interval's end */
			uint64_t e = __atomic_load_n(&run->w[0].iv_end_ns,
						     __ATOMIC_ACQUIRE);

			if (e) {
				int over = 0;

				if (run->o.interval_ns)
					print_interval_to(run, e);
				if (run->tick)
					over = batch_pulse(run, e);
				__atomic_store_n(&run->w[0].iv_end_ns, 0,
						 __ATOMIC_RELEASE);
				if (over)
					return 0; /* --exit-over */
				continue;
			}
		}
		if (pktstat_capture_done(run))
			return 0;
		sig = sigtimedwait(sigs, NULL, &ts);
		if (sig == SIGUSR1 && run->tcpstat) {
			/* tcpstat's SIGUSR1: the current interval, now */
			tcpstat_request_print(run->tcpstat);
			continue;
		}
		if (sig == SIGUSR1) {
			char e[512];
			if (pktstat_write_snapshot(run, NULL, NULL, 0, e,
						   sizeof(e)))
				say(e);
			continue;
		}
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
			return sig;
		if (sig == SIGUSR2)
			continue; /* re-check pktstat_capture_done */
		now = now_ns(CLOCK_MONOTONIC);
		if (live && run->period_ns && now - start >= run->period_ns)
			return 0;
		if (next_iv && now >= next_iv) {
			print_interval(run);
			next_iv += run->o.interval_ns;
		}
		if (live) {
			pktstat_expire(run);
			report_link_changes(run, was_down);
		}
	}
}

/* Close the capture handles (and unmap their rings): the workers are
 * joined and the final snapshot has read their statistics, so the
 * memory is given back before the exit report needs its own. */
static void close_capture(struct pktstat *run)
{
	for (int i = 0; i < run->nw; i++)
		if (run->w[i].h) {
			run->ops->close(run->w[i].h);
			run->w[i].h = NULL;
		}
}

static void run_free(struct pktstat *run)
{
	metrics_free(run->metrics);
	ipfix_free(run->ipfix);
	free(run->top_rows);
	close_capture(run);
	free(run->w);
	flowtab_free(run->ft);
	names_free(run->names);
	free(run->filter);
	tcpstat_free(run->tcpstat);
	abbrev_free(run->abbrev);
	counters_free(run->counters);
	snapshot_free(&run->prev_iv);
	pulse_free(run->tick);
	daemon_free(run->daemon);
	privs_free(run->privs);
	opts_free(&run->o);
}

/*
 * The original's -a/-A patterns and its default .pktstatrc files: read
 * before the privilege drop, so root's own 0600 files can be read, and
 * trusted only when owned by root or the invoking user (abbrev.c).
 * Returns 0, -EINVAL (a bad pattern, or a bad or refused -A file: a usage
 * error) or another -errno.
 */
static int load_abbrevs(struct pktstat *run, char *err, size_t errlen)
{
	const struct opts *o = &run->o;
	int rc, none = 0;

	if (!run->orig1)
		return 0;
	run->abbrev = abbrev_new();
	if (!run->abbrev) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < o->n_abbrevs; i++) {
		const struct opts_abbrev *a = &o->abbrevs[i];

		if (a->is_file && strcmp(a->arg, "none") == 0) {
			none = 1;
			continue;
		}
		rc = a->is_file ? abbrev_load_file(run->abbrev, a->arg, err,
						   errlen)
				: abbrev_add(run->abbrev, a->arg, err, errlen);
		if (rc)
			return a->is_file && rc != -EINVAL ? rc : -EINVAL;
	}
	if (!none) {
		char e2[512];

		if (abbrev_load_defaults(run->abbrev, getenv("HOME"), e2,
					 sizeof(e2)))
			sayf("warning: %s", e2);
	}
	return 0;
}

/*
 * The seed tools' extras, set up after the capture is open and the
 * privileges dropped: --count counters (the set always exists, for the
 * UI's counter prompt), tcpstat and counter hooks on the workers.
 * Returns 0, -EINVAL (a bad counter expression: a usage error) or
 * another -errno.
 */
static int setup_seed_modes(struct pktstat *run, char *err, size_t errlen)
{
	const struct opts *o = &run->o;
	int rc;

	run->counters = counters_new((unsigned)run->nw, err, errlen);
	if (!run->counters)
		return -ENOMEM;
	for (int i = 0; i < run->nw; i++) {
		rc = counters_prepare_dlt(run->counters,
					  run->ops->datalink(run->w[i].h), err,
					  errlen);
		if (rc && rc != -EINVAL && o->n_counters)
			return rc;
	}
	for (int i = 0; i < o->n_counters; i++) {
		rc = counters_add(run->counters, o->counters[i].name,
				  o->counters[i].filter, err, errlen);
		if (rc)
			return -EINVAL;
	}
	publish_counters(run);
	for (int i = 0; i < run->nw; i++) {
		run->w[i].idx = (unsigned)i;
		run->w[i].tcpstat = run->tcpstat;
		run->w[i].tcpstat_live = run->tcpstat && !o->read_file;
	}
	if (o->read_file && run->period_ns && run->nw)
		run->w[0].ts_limit_ns = run->period_ns; /* packet time */
	if (o->read_file && (o->interval_ns || run->tick) && run->nw &&
	    !run->tcpstat)
		/* -l, or the --jsonl / --exit-over tick, in packet time */
		run->w[0].iv_ns = o->interval_ns  ? o->interval_ns
				  : o->refresh_ns ? o->refresh_ns
						  : 1000000000ull;
	return 0;
}

/* Link header bytes in front of the IP header, by link type. */
static unsigned int link_header_len(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
		return 14;
	case DLT_LINUX_SLL:
		return 16;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		return 20;
#endif
	case DLT_NULL:
	case DLT_LOOP:
		return 4;
	default: /* DLT_RAW and friends: the frame is the IP packet */
		return 0;
	}
}

/*
 * --ipfix: the exporter reads the flow table (a scan each second and the
 * table's end hook), never the capture path. Before the workers start.
 */
static int start_ipfix(struct pktstat *run, char *err, size_t errlen)
{
	struct ipfix_conf c;

	memset(&c, 0, sizeof(c));
	c.spec = run->o.ipfix;
	c.active_ns = run->o.ipfix_active_ns;
	c.idle_ns = run->o.ipfix_idle_ns;
	c.link_hdr =
		run->nw ? link_header_len(run->ops->datalink(run->w[0].h)) : 0;
	/* tpacket3 strips the outer 802.1Q tag (tp_vlan_tci) unless -v puts
	 * it back; libpcap and files keep it in the frame */
	c.vlan_in_frame = !(run->ops == &cap_tpacket3_ops && !run->o.add_vlan);
	if (run->o.n_ifaces == 1 && strcmp(run->o.ifaces[0], "any"))
		c.ingress_ifindex = if_nametoindex(run->o.ifaces[0]);
	c.offline = run->o.read_file != NULL;
	/* testing hook: a small queue, to see drops counted */
	if (getenv("PKTSTAT_IPFIX_QUEUE"))
		c.queue_len = (size_t)strtoul(getenv("PKTSTAT_IPFIX_QUEUE"),
					      NULL, 10);
	run->ipfix = ipfix_new(&c, err, errlen);
	if (!run->ipfix)
		return -EINVAL;
	return ipfix_start(run->ipfix, run->ft, err, errlen);
}

/* At exit, the workers joined and the table settled: everything still
 * unexported goes out, then the line that says how it went. */
static void finish_ipfix(struct pktstat *run)
{
	struct ipfix_stats st;

	ipfix_finish(run->ipfix, run->ft, 10000000000ull);
	ipfix_get_stats(run->ipfix, &st);
	run->ipfix_fin = (struct report_ipfix){
		.collector = ipfix_target(run->ipfix),
		.records = st.records,
		.pkts = st.pkts,
		.octets = st.octets,
		.drop_records = st.drop_records,
		.drop_pkts = st.drop_pkts,
		.drop_octets = st.drop_octets,
	};
	run->ipfix_done = 1;
	sayf("ipfix: %" PRIu64 " records (%" PRIu64 " packets, %" PRIu64
	     " octets) sent to %s; dropped %" PRIu64 " records (%" PRIu64
	     " packets, %" PRIu64 " octets)",
	     st.records, st.pkts, st.octets, ipfix_target(run->ipfix),
	     st.drop_records, st.drop_pkts, st.drop_octets);
}

/* The exporters' options that opts.c cannot check alone: usage errors. */
static int check_export_opts(const struct opts *o, char *err, size_t errlen)
{
	struct sockaddr_in6 sa;
	unsigned int salen;

	if (o->metrics_addr &&
	    metrics_parse_addr(o->metrics_addr, (struct sockaddr *)&sa, &salen,
			       err, errlen))
		return -EINVAL;
	if (o->ipfix) {
		char h[256], p[16];
		int tcp;

		if (ipfix_parse_spec(o->ipfix, h, sizeof(h), p, sizeof(p), &tcp,
				     err, errlen))
			return -EINVAL;
	}
	if (o->metrics_top && !o->metrics_addr && !o->metrics_file) {
		snprintf(err, errlen,
			 "--metrics-top: needs --metrics or --metrics-file");
		return -EINVAL;
	}
	return 0;
}

int pktstat_main(int argc, char **argv)
{
	struct pktstat run;
	char err[1024];
	sigset_t sigs;
	int rc, sig = 0, use_ui, status = 0;
	struct snapshot fin;
	struct final_snap fs;
	int have_fin = 0, want_report = 0;

	memset(&run, 0, sizeof(run));
	memset(&fs, 0, sizeof(fs));
	rc = opts_parse(&run.o, argc, argv, err, sizeof(err));
	if (rc) {
		say(err);
		if (rc == -ENOMEM)
			return 1; /* not a usage error */
		fprintf(stderr, "Try 'pktstat --help' for more information.\n");
		return OPTS_EXIT_USAGE;
	}
	if (run.o.help) {
		opts_usage(stdout);
		opts_free(&run.o);
		return 0;
	}
	if (run.o.version) {
		printf("pktstat %s\n", PKTSTAT_VERSION);
		opts_free(&run.o);
		return 0;
	}
	if (run.o.diff) {
		rc = diff_files(run.o.diff_old, run.o.diff_new, run.o.json, 0,
				stdout, err, sizeof(err));
		opts_free(&run.o);
		if (rc)
			say(err);
		return rc ? 1 : 0;
	}
	if (check_export_opts(&run.o, err, sizeof(err))) {
		say(err);
		opts_free(&run.o);
		return OPTS_EXIT_USAGE;
	}
	if (run.o.connect) {
		/* a daemon's capture: no capture, no privileges here */
		int ui = run.o.mode == OPTS_MODE_UI ||
			 (run.o.mode == OPTS_MODE_AUTO &&
			  isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) &&
			  !run.o.json);

		if (ui) {
			say("--connect: the full-screen monitor of a daemon "
			    "is not available yet; -1 prints the report");
			status = 1;
		} else {
			status = client_connect_report(&run.o);
		}
		opts_free(&run.o);
		return status;
	}
	if (run.o.client_argc) {
		/* a client: no capture, no privileges, no threads */
		status = client_main(&run.o);
		opts_free(&run.o);
		return status;
	}
	if (run.o.daemon && run.o.pidfile &&
	    daemon_write_pidfile(run.o.pidfile, err, sizeof(err))) {
		/* before the fork: the pid is the privileged parent's, which
		 * passes SIGTERM on to the capturing child */
		say(err);
		opts_free(&run.o);
		return 1;
	}
	run.filter = strdup(run.o.filter ? run.o.filter : "");
	if (run.o.snapshot_path) {
		snprintf(run.snapshot_path, sizeof(run.snapshot_path), "%s",
			 run.o.snapshot_path);
	} else {
		const char *home = getenv("HOME");

		/* Home, not the working directory: as root, a directory
		 * owned by another user is refused for safety. */
		snprintf(run.snapshot_path, sizeof(run.snapshot_path), "%s%s%s",
			 home && *home ? home : ".", "/", DEFAULT_SNAPSHOT);
	}
	use_ui = (!run.o.daemon && run.o.mode == OPTS_MODE_UI) ||
		 (run.o.mode == OPTS_MODE_AUTO && isatty(STDOUT_FILENO) &&
		  isatty(STDIN_FILENO) && !run.o.json && !run.o.interval_ns &&
		  run.o.tcpstat == OPTS_TCPSTAT_OFF && !run.o.daemon);
	if (use_ui) {
		/* A terminal that cannot move the cursor (TERM=dumb) gets the
		 * report instead of a blank screen. An unknown TERM is left to
		 * the UI, which names it. */
		int e = 0;

		if (setupterm(NULL, STDOUT_FILENO, &e) == OK) {
			const char *cup = tigetstr("cup");

			if (!cup || cup == (const char *)-1) {
				const char *t = getenv("TERM");

				sayf("TERM=%s: the terminal cannot move the "
				     "cursor; "
				     "printing a report at the end instead "
				     "(Ctrl-C stops)",
				     t ? t : "");
				use_ui = 0;
			}
			del_curterm(cur_term);
		}
	}
	/* How long to collect: -t; the original's -1 collects for its wait
	 * time (-w, 5 s by default, as the original); tcpstat's --seconds. */
	run.period_ns = run.o.timeout_ns;
	run.orig1 = run.o.mode == OPTS_MODE_BATCH && !run.o.json &&
		    run.o.tcpstat == OPTS_TCPSTAT_OFF;
	if (run.orig1 && !run.period_ns)
		run.period_ns =
			run.o.wait_given ? run.o.refresh_ns : 5000000000ull;
	if (run.o.seconds_ns &&
	    (!run.period_ns || run.o.seconds_ns < run.period_ns))
		run.period_ns = run.o.seconds_ns;
	if (run.o.interval_ns && run.o.keep_ns < 2 * run.o.interval_ns)
		run.o.keep_ns = 2 * run.o.interval_ns; /* no delta lost */
	if (run.o.tcpstat != OPTS_TCPSTAT_OFF) {
		/* before any descriptor of ours exists: it checks %N ones */
		static const enum tcpstat_mode modes[] = {
			[OPTS_TCPSTAT_INTERVAL] = TCPSTAT_MODE_INTERVAL,
			[OPTS_TCPSTAT_ACCOUNT] = TCPSTAT_MODE_ACCOUNT,
			[OPTS_TCPSTAT_BANDWIDTH] = TCPSTAT_MODE_BANDWIDTH,
			[OPTS_TCPSTAT_DUMB] = TCPSTAT_MODE_DUMB_BANDWIDTH,
		};
		struct tcpstat_conf tc = {
			.format = run.o.tcpstat_format,
			.interval_ns = run.o.tcpstat_interval_given
					       ? run.o.tcpstat_interval_ns
					       : TCPSTAT_DEFAULT_INTERVAL_NS,
			.flags = (run.o.link_bytes ? TCPSTAT_LINK : 0) |
				 (run.o.skip_empty ? TCPSTAT_SKIP_EMPTY : 0),
			.mode = modes[run.o.tcpstat],
			.bandwidth_bps = run.o.bandwidth_bps,
			.capture_ns = run.o.seconds_ns,
			.relative_s = run.o.relative_s,
		};

		run.tcpstat = tcpstat_new(&tc, err, sizeof(err));
		if (!run.tcpstat) {
			say(err);
			opts_free(&run.o);
			free(run.filter);
			return OPTS_EXIT_USAGE;
		}
		if (run.o.flush)
			setvbuf(stdout, NULL, _IOLBF, 0);
	}

	/* Signals reach only this thread: workers inherit the mask. The
	 * stop signals keep their default action until the run is set up
	 * (just before flowtab_new): opening a FIFO nobody writes, or
	 * compiling a huge filter, must end on ^C, and there is nothing to
	 * save yet. Even where they came ignored or blocked (a script's
	 * background job): once set up, they stop the run with its report
	 * anyway, so they end it before too. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGWINCH);
	sigaddset(&sigs, SIGUSR2); /* a worker finished */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	main_thread = pthread_self();
	redirect_signals(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	run.started_as_root = geteuid() == 0;

	/* Before anything is opened or any thread exists. */
	if (privs_fork(&run.privs, run.o.user, err, sizeof(err))) {
		say(err);
		opts_free(&run.o);
		free(run.filter);
		return 1;
	}
	rcu_register_thread();
	run.start_wall_ns = now_ns(CLOCK_REALTIME);
	run.start_mono_ns = now_ns(CLOCK_MONOTONIC);
	if (!run.filter) {
		say("out of memory");
		status = 1;
		goto out;
	}
	rc = open_capture(&run, err, sizeof(err));
	if (rc == 0 && run.o.read_file &&
	    !decode_link_supported(run.ops->datalink(run.w[0].h))) {
		int dlt = run.ops->datalink(run.w[0].h);
		const char *name = pcap_datalink_val_to_name(dlt);

		snprintf(err, sizeof(err), "%s: unsupported link type %d (%s)",
			 run.source, dlt, name ? name : "unknown");
		rc = -EPROTONOSUPPORT;
	}
	if (rc) {
		say(err);
		status = 1;
		goto out;
	}
	if (run.o.daemon) {
		/* the socket in /run, owned by root: before the drop */
		struct daemon_conf dc = {
			.path = run.o.socket_path,
			.group = run.o.group,
			.max_clients = run.o.max_clients,
			.debug = run.o.debug,
		};

		run.daemon = daemon_listen(&dc, err, sizeof(err));
		if (!run.daemon) {
			say(err);
			status = 1;
			goto out;
		}
	}
	rc = load_abbrevs(&run, err, sizeof(err));
	if (rc) {
		say(err);
		status = rc == -EINVAL ? OPTS_EXIT_USAGE : 1;
		goto out;
	}
	/* Before any thread exists (liburcu starts its own in flowtab_new):
	 * capabilities are per thread, and a thread made before the drop
	 * would keep them. */
	if (run.o.jsonl_path || run.o.exit_over_bps > 0) {
		/* opened while privileged: the file is where it was asked */
		struct pulse_config pc = {
			.jsonl_path = run.o.jsonl_path,
			.jsonl_max = run.o.jsonl_max,
			.jsonl_top = run.o.jsonl_top,
			.exit_over_bps = run.o.exit_over_bps,
		};

		run.tick = pulse_new(&pc, err, sizeof(err));
		if (!run.tick) {
			say(err);
			status = 1;
			goto out;
		}
	}
	if (run.ops == &cap_ebpf_ops)
		privs_keep_bpf(run.privs);
	rc = privs_drop(run.privs, err, sizeof(err));
	if (rc) {
		say(err);
		status = 1;
		goto out;
	}
	rc = setup_seed_modes(&run, err, sizeof(err));
	if (rc) {
		say(err);
		status = rc == -EINVAL ? OPTS_EXIT_USAGE : 1;
		goto out;
	}
	/* From here on a stop signal ends the run with its report. Before
	 * the first thread of ours (liburcu's, in flowtab_new): they inherit
	 * the blocked mask. */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	redirect_signals(&sigs);
	run.ft = flowtab_new(run.o.max_flows, err, sizeof(err));
	if (!run.ft) {
		say(err);
		status = 1;
		goto out;
	}
	flowtab_set_writers(run.ft, (unsigned int)run.nw);
	if (!run.o.read_file)
		flowtab_presize(run.ft);
	for (int i = 0; i < run.nw; i++)
		run.w[i].ft = run.ft;
	if (run.o.metrics_addr || run.o.metrics_file) {
		/* After the privilege drop: libmicrohttpd starts a thread. */
		run.metrics = metrics_new(run.o.metrics_addr,
					  run.o.metrics_file, err, sizeof(err));
		if (!run.metrics) {
			say(err);
			status = 1;
			goto out;
		}
		export_tick(&run, 0);
		if (run.metrics_file_failed) {
			status = 1;
			goto out;
		}
	}
	if (run.o.ipfix && start_ipfix(&run, err, sizeof(err))) {
		say(err);
		status = 1;
		goto out;
	}
	for (int i = 0; i < run.nw; i++) {
		run.w[i].notify = pthread_self();
		run.w[i].notify_sig = SIGUSR2;
		rc = worker_start(&run.w[i]);
		if (rc) {
			fprintf(stderr, "pktstat: cannot start thread: %s\n",
				strerror(-rc));
			stop_workers(&run);
			status = 1;
			goto out;
		}
	}
	if (use_ui) {
		/* n toggles names at any time: the resolver thread idles until
		 * asked. Started after the privilege drop. */
		run.names = names_new(65536, 256, NULL);
		rc = ui_run(&run, err, sizeof(err));
		if (rc < 0) {
			say(err);
			status = 1;
		} else if (rc > 128) {
			sig = rc - 128;
		}
	} else if (run.daemon) {
		rc = daemon_run(run.daemon, &run, &sigs, err, sizeof(err));
		if (rc < 0) {
			say(err);
			status = 1;
		} else {
			sig = rc;
		}
	} else {
		sig = batch_loop(&run, &sigs);
	}
	if (run.tcpstat)
		tcpstat_release(run.tcpstat);
	stop_workers(&run);
	flowtab_barrier(run.ft);
	if (run.tcpstat) {
		tcpstat_finish(run.tcpstat);
		if (tcpstat_drain(run.tcpstat, stdout) < 0)
			status = 1;
	}
	if (worker_error(&run)) {
		say(worker_error(&run));
		status = 1;
	}
	if (run.ipfix)
		finish_ipfix(&run);
	export_tick(&run, 1); /* the exact final figures */
	/* One snapshot serves the file and the stdout report. */
	snapshot_init(&fin);
	have_fin = take_snapshot(&run, &fin, 1) == 0;
	if (have_fin && run.tick)
		pktstat_pulse(&run, &fin); /* the last, partial interval */
	if (have_fin && !run.orig1)
		close_capture(&run); /* its ring is not needed for the report */
	want_report = !run.tcpstat && !run.orig1 && !run.daemon &&
		      (!use_ui || (!run.o.quiet && sig != SIGHUP)) &&
		      !(run.o.interval_ns && !use_ui);
	if (use_ui || run.o.snapshot_path) {
		fs.run = &run;
		fs.s = &fin;
		if (have_fin && want_report &&
		    report_format_for(run.snapshot_path) ==
			    (run.o.json ? REPORT_JSON : REPORT_TEXT)) {
			/* One format: made once, written to the snapshot and
			 * to stdout together. */
			fs.rc = write_snapshot_of(&run, NULL, &fin, fs.written,
						  sizeof(fs.written), fs.err,
						  sizeof(fs.err), stdout,
						  &fs.tee_done);
			final_snap_done(&fs, use_ui, &status);
		} else if (have_fin && want_report &&
			   pthread_create(&fs.tid, NULL, final_snap_run, &fs) ==
				   0) {
			fs.started = 1;
		} else {
			fs.rc = have_fin ? write_snapshot_of(
						   &run, NULL, &fin, fs.written,
						   sizeof(fs.written), fs.err,
						   sizeof(fs.err), NULL, NULL)
					 : pktstat_write_snapshot(
						   &run, NULL, fs.written,
						   sizeof(fs.written), fs.err,
						   sizeof(fs.err));
			final_snap_done(&fs, use_ui, &status);
		}
	}
	if (run.tcpstat) {
		/* tcpstat prints only its interval lines */
	} else if (run.orig1) {
		struct snapshot s;

		snapshot_init(&s);
		int werr = 0;

		if (pktstat_snapshot(&run, &s) == 0 &&
		    origfmt_write_batch(
			    stdout, &s, snapshot_duration_ns(&s) / 1e9,
			    run.abbrev,
			    (run.o.per_direction ? ORIGFMT_NOCOMBINE : 0) |
				    (run.o.numeric == 1 ? 0 : ORIGFMT_SERVICES),
			    run.o.last	? ORIGFMT_SORT_LAST
			    : run.o.top ? (run.o.unit == OPTS_UNIT_PACKETS
						   ? ORIGFMT_SORT_PACKETS
						   : ORIGFMT_SORT_OCTETS)
					: ORIGFMT_SORT_DESC) != 0)
			werr = 1;
		snapshot_free(&s);
		if (fflush(stdout) != 0 || werr) {
			sayf("stdout: %s", strerror(errno ? errno : EIO));
			status = 1;
		}
	} else if (run.daemon) {
		/* a daemon's stop prints no report: its clients had it */
	} else if (!use_ui || (!run.o.quiet && sig != SIGHUP)) {
		rc = 0;
		if (run.o.interval_ns && !use_ui)
			print_interval(&run); /* the last, partial interval */
		else if (!fs.tee_done)
			rc = print_report(&run, stdout, run.o.json,
					  have_fin ? &fin : NULL);
		if (rc == -EIO ||
		    (rc == 0 && (fflush(stdout) || ferror(stdout)))) {
			sayf("stdout: %s", strerror(errno ? errno : EIO));
			status = 1;
		} else if (rc) {
			sayf("report: %s", strerror(-rc));
			status = 1;
		}
	}
	if (have_fin)
		leave_table(&run); /* nothing needs it any more */
	if (fs.started) {
		pthread_join(fs.tid, NULL);
		fs.started = 0;
		final_snap_done(&fs, use_ui, &status);
	}
	snapshot_free(&fin);
	if (run.exit_over && status == 0) {
		char r[32], lim[32];

		report_format_bitrate(pulse_exceeded_bps(run.tick), r,
				      sizeof(r));
		report_format_bitrate(run.o.exit_over_bps, lim, sizeof(lim));
		sayf("traffic reached %s, over --exit-over %s", r, lim);
		status = PULSE_EXIT_OVER;
	}
out:
	run_free(&run);
	rcu_unregister_thread();
	(void)sig; /* a signal is an orderly stop: status stays 0 */
	return status;
}
