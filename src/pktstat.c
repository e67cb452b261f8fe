/*
 * pktstat.c - the program: options resolved to a plan (src/plan.h, where
 * every decision about the run is made), then the plan carried out: the
 * privileged writer, the engine (src/engine.h) and the front ends that
 * run on the main thread - the monitor (ui/), the daemon (-d), or batch
 * mode with its interval, final, original-format and tcpstat outputs -
 * the exporters (--metrics, --ipfix: observers of the engine,
 * src/export.h) and the --jsonl/--exit-over tick; and the exit sequence.
 *
 * Threads: pktstat_main runs on the main thread, which opens the engine
 * (capture handles), drops privileges, starts the engine's workers
 * (signals blocked, so they reach only the main thread through
 * sigtimedwait or a signalfd), then becomes the UI, daemon or batch
 * thread. Exit: engine_stop (stop flag + wakeup -> join workers ->
 * pending call_rcu callbacks) -> engine_finish (the exporters' last
 * records and figures) -> exact final snapshot -> capture handles
 * closed -> (terminal already restored by the UI) -> snapshot file and
 * report -> the flow table left to the kernel.
 */
#include "pktstat.h"
#include "diff.h"
#include "pulse.h"

#include <errno.h>
#include <inttypes.h>
#include <curses.h>
#include <term.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>
#include <urcu.h>

#include "../capture/capture.h"
#include "../ui/summary.h"
#include "../ui/ui.h"
#include "abbrev.h"
#include "client.h"
#include "connect.h"
#include "counters.h"
#include "daemon.h"
#include "engine.h"
#include "export.h"
#include "filterlog.h"
#include "names.h"
#include "opts.h"
#include "privs.h"
#include "procres.h"
#include "procs.h"
#include "origfmt.h"
#include "plan.h"
#include "report.h"
#include "say.h"
#include "snapname.h"
#include "tcpstat.h"

struct pktstat {
	struct opts o;
	struct plan plan; /* what the options resolve to (plan.h) */
	int snapname_rc;  /* snapname_resolve's: < 0, a path too long */
	struct engine *eng;
	struct privs *privs;
	struct procs *procs;	   /* who owns the flows' sockets */
	struct procres *procres;   /* the resolver, when in this process */
	char snapshot_path[4096];  /* --snapshot FILE, or ... */
	char snapshot_dir[4096];   /* ... new timestamped files here */
	struct filterlog *filters; /* the filters in force, with times */
	struct names *names;
	struct tcpstat *tcpstat; /* tcpstat mode (-o, interval, -a, -b) */
	struct abbrev *abbrev;	 /* the original's -a/-A patterns */
	struct daemon *daemon;	 /* -d: the socket and its clients */
	struct snapshot prev_iv; /* -l: the previous interval's state */
	struct pulse_run *tick;	 /* --jsonl, --exit-over; NULL when off */
	int exit_over;		 /* --exit-over fired */
	struct export *exp;	 /* --metrics, --ipfix: engine observers */
	int ui_group_by; /* the monitor's grouping (g): snapshots record it */
};

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

/* What a report says of the run: the engine's part, and the IPFIX
 * export's figures once it has finished. */
static void fill_meta(const struct pktstat *run, struct report_meta *m)
{
	engine_report_meta(run->eng, m);
	m->ipfix = export_ipfix_report(run->exp);
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
	int pending;  /* written (or tried): final_snap_done to say so */
	char written[4096 + 1];
	char err[4096 + 256];
};

/* The final snapshot's one line: an error, or where it went (UI). */
static void final_snap_done(const struct final_snap *fs, int use_ui,
			    int *status)
{
	if (fs->rc) {
		say_line(fs->err);
		*status = 1;
	} else if (use_ui) {
		say_fmt("snapshot written to %s", fs->written);
	}
}

static void *final_snap_run(void *arg)
{
	struct final_snap *fs = arg;

	struct report_meta m;

	fill_meta(fs->run, &m);
	fs->rc = engine_write_snapshot_of(fs->run->eng, NULL, fs->s, &m,
					  fs->written, sizeof(fs->written),
					  fs->err, sizeof(fs->err));
	return NULL;
}

/* Reports on stdout aggregate as --group-by says; snapshot files keep
 * every flow (so that --diff can compare them). */
static void fill_meta_groups(const struct pktstat *run, struct report_meta *m)
{
	m->group_by = run->o.group_by;
	m->group_v4_prefix = run->o.group_v4_prefix;
	m->group_v6_prefix = run->o.group_v6_prefix;
	m->group_with_flows = 0;
}

/* The report on @out; 0 or -errno (out of memory, or a failed write,
 * which the caller must report: a silent empty report loses data). */
static int print_report(struct pktstat *run, FILE *out, struct snapshot *taken)
{
	struct snapshot s;
	struct report_meta m;
	int rc = 0;

	snapshot_init(&s);
	if (!taken)
		rc = engine_snapshot(run->eng, &s);
	if (rc == 0) {
		fill_meta(run, &m);
		fill_meta_groups(run, &m);
		rc = report_write(out, run->plan.report_format,
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
	if (engine_snapshot(run->eng, &cur))
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
	m.interval = 1;
	report_write(stdout, run->plan.interval_format, &delta, &m);
	fflush(stdout);
	free(delta.rows);
	snapshot_free(prev);
	*prev = cur;
}

/* The --jsonl line and the --exit-over check for the snapshot @s just
 * taken. 1 once --exit-over has fired: the front end ends the run. */
static int run_pulse(struct pktstat *run, const struct snapshot *s)
{
	struct report_meta m;
	const char *e;

	if (!run->tick || run->exit_over)
		return run->exit_over;
	fill_meta(run, &m);
	if (pulse_tick(run->tick, s, &m))
		run->exit_over = 1;
	if ((e = pulse_error(run->tick)))
		say_fmt("%s (the --jsonl tee stopped; capture goes on)", e);
	return run->exit_over;
}

/* The --jsonl / --exit-over tick at each refresh of the engine's port. */
static int run_tick(void *ctx, const struct snapshot *s)
{
	return run_pulse(ctx, s);
}

/* Say on stderr when an interface goes down, is removed or comes back
 * (batch mode: the UI shows it in its header instead). */
static void say_link_change(void *ctx, const char *iface, int state, int was)
{
	(void)ctx;
	say_fmt("%s: %s", iface,
		state == CAP_LINK_GONE
			? "interface removed, capture waits for it to come back"
		: was == CAP_LINK_GONE
			? (state == CAP_LINK_DOWN
				   ? "interface back but down, capture paused"
				   : "interface back, capture resumed")
		: state == CAP_LINK_DOWN ? "interface down, capture paused"
					 : "interface up, capture resumed");
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
	if (engine_snapshot(run->eng, &s) == 0) {
		if (end_ns)
			s.now_ns = end_ns;
		fired = run_pulse(run, &s);
	}
	snapshot_free(&s);
	return fired;
}

/*
 * Batch mode: wait for the end of the file, the timeout or a signal,
 * printing interval reports on the way. Returns the terminating signal
 * number, or 0.
 */
static int batch_loop(struct pktstat *run, const sigset_t *sigs)
{
	const struct plan *p = &run->plan;
	uint64_t start = now_ns(CLOCK_MONOTONIC);
	uint64_t next_iv =
		p->interval_ns && p->live ? start + p->interval_ns : 0;
	int live = p->live;
	uint64_t pulse_iv = p->tick_iv_ns;
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
		if (engine_interval_end(run->eng)) {
			/* -r with -l, --jsonl or --exit-over: the reader
			 * waits at an interval's end */
			uint64_t e = engine_interval_end(run->eng);
			int over = 0;

			if (p->interval_ns)
				print_interval_to(run, e);
			if (run->tick)
				over = batch_pulse(run, e);
			engine_interval_done(run->eng);
			if (over)
				return 0; /* --exit-over */
			continue;
		}
		if (engine_capture_done(run->eng))
			return 0;
		sig = sigtimedwait(sigs, NULL, &ts);
		if (sig == SIGUSR1 && run->tcpstat) {
			/* tcpstat's SIGUSR1: the current interval, now */
			tcpstat_request_print(run->tcpstat);
			continue;
		}
		if (sig == SIGUSR1) {
			char e[512];
			if (engine_write_snapshot(run->eng, NULL, NULL, 0, e,
						  sizeof(e)))
				say_line(e);
			continue;
		}
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
			return sig;
		if (sig == SIGUSR2)
			continue; /* re-check engine_capture_done */
		now = now_ns(CLOCK_MONOTONIC);
		if (live && p->period_ns && now - start >= p->period_ns)
			return 0;
		if (next_iv && now >= next_iv) {
			print_interval(run);
			next_iv += p->interval_ns;
		}
		if (live) {
			engine_tick(run->eng);
			engine_link_changes(run->eng, say_link_change, NULL);
		}
	}
}

/*
 * The process store, fed by the root parent's resolver (privs.h) or, when
 * there is none (not started as root, -Z root), by a resolver thread of
 * ours that sees what this user may see. After the privilege drop, with
 * the signals blocked. A failure costs the names only: said once.
 */
static void start_procs(struct pktstat *run)
{
	char err[256], warn[256];
	int fd = privs_procs_fd(run->privs);

	if (fd < 0) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
			say_fmt("processes not named: socketpair: %s",
				strerror(errno));
			return;
		}
		run->procres = procres_start(
			sv[0], run->plan.procs_ebpf ? PROCRES_EBPF : 0, warn,
			sizeof(warn), err, sizeof(err));
		if (!run->procres) {
			say_fmt("processes not named: %s", err);
			close(sv[1]);
			return;
		}
		if (warn[0] && run->o.procs_ebpf)
			say_line(warn);
		fd = sv[1];
	}
	run->procs = procs_new(fd, err, sizeof(err));
	if (!run->procs) {
		say_fmt("processes not named: %s", err);
		return;
	}
	engine_set_procs(run->eng, run->procs);
}

static void run_free(struct pktstat *run)
{
	/* the exporters' threads read the engine, its table's end hook
	 * calls them: stopped in between */
	if (run->eng)
		engine_stop(run->eng);
	export_free(run->exp);
	procs_free(run->procs);
	procres_stop(run->procres);
	engine_free(run->eng);
	names_free(run->names);
	tcpstat_free(run->tcpstat);
	abbrev_free(run->abbrev);
	snapshot_free(&run->prev_iv);
	pulse_free(run->tick);
	daemon_free(run->daemon);
	filterlog_free(run->filters);
	privs_free(run->privs);
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

	if (!run->plan.abbrevs)
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
			say_fmt("warning: %s", e2);
	}
	return 0;
}

/* The original's -1 report, from a fresh snapshot. 0 or 1 (said). */
static int print_orig1(struct pktstat *run)
{
	struct snapshot s;
	int werr = 0;

	snapshot_init(&s);
	if (engine_snapshot(run->eng, &s) == 0 &&
	    origfmt_write_batch(
		    stdout, &s, snapshot_duration_ns(&s) / 1e9, run->abbrev,
		    (run->o.per_direction ? ORIGFMT_NOCOMBINE : 0) |
			    (run->o.numeric == 1 ? 0 : ORIGFMT_SERVICES),
		    run->o.last	 ? ORIGFMT_SORT_LAST
		    : run->o.top ? (run->o.unit == OPTS_UNIT_PACKETS
					    ? ORIGFMT_SORT_PACKETS
					    : ORIGFMT_SORT_OCTETS)
				 : ORIGFMT_SORT_DESC) != 0)
		werr = 1;
	snapshot_free(&s);
	if (fflush(stdout) != 0 || werr) {
		say_fmt("stdout: %s", strerror(errno ? errno : EIO));
		return 1;
	}
	return 0;
}

/* The exporters' part of the options. */
static struct export_conf export_conf_of(const struct opts *o)
{
	const char *q = getenv("PKTSTAT_IPFIX_QUEUE");

	return (struct export_conf){
		.metrics_addr = o->metrics_addr,
		.metrics_file = o->metrics_file,
		.metrics_top = o->metrics_top,
		.ipfix = o->ipfix,
		.ipfix_active_ns = o->ipfix_active_ns,
		.ipfix_idle_ns = o->ipfix_idle_ns,
		/* testing hook: a small queue, to see drops counted */
		.ipfix_queue = q ? (size_t)strtoul(q, NULL, 10) : 0,
		.iface = o->n_ifaces == 1 ? o->ifaces[0] : NULL,
		.offline = o->read_file != NULL,
		.say = say_line,
	};
}

/*
 * The facts about the environment the plan depends on: terminals, and
 * where the final snapshot goes (resolved here; a path too long is said
 * by a capture's set-up, the only run that writes one).
 */
static void env_probe(struct pktstat *run, struct plan_env *env)
{
	memset(env, 0, sizeof(*env));
	env->tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	if (env->tty) {
		/* A terminal that cannot move the cursor (TERM=dumb); an
		 * unknown TERM is left to the UI, which names it. */
		int e = 0;

		if (setupterm(NULL, STDOUT_FILENO, &e) == OK) {
			const char *cup = tigetstr("cup");

			env->no_cursor = !cup || cup == (const char *)-1;
			del_curterm(cur_term);
		}
	}
	/* New timestamped files in the snapshot directory (by default under
	 * home, not the working directory: as root, a directory owned by
	 * another user is refused for safety), or the one file named. */
	run->snapname_rc =
		snapname_resolve(run->o.snapshot_path, run->snapshot_dir,
				 sizeof(run->snapshot_dir), run->snapshot_path,
				 sizeof(run->snapshot_path));
	env->snapshot_format = run->snapshot_dir[0]
				       ? REPORT_JSON
				       : report_format_for(run->snapshot_path);
}

/*
 * The set-up before the privileged fork: the daemon's pid file, the
 * snapshot path, the tcpstat sink. 0, or the exit status (said).
 */
static int run_prepare(struct pktstat *run)
{
	char err[1024];

	if (run->o.daemon && run->o.pidfile &&
	    daemon_write_pidfile(run->o.pidfile, err, sizeof(err))) {
		/* before the fork: the pid is the privileged parent's, which
		 * passes SIGTERM on to the capturing child */
		say_line(err);
		return 1;
	}
	if (run->snapname_rc < 0) {
		say_fmt("%.64s...: file name too long", run->o.snapshot_path);
		return OPTS_EXIT_USAGE;
	}
	if (run->plan.no_cursor) {
		const char *t = getenv("TERM");

		say_fmt("TERM=%s: the terminal cannot move the cursor; "
			"printing "
			"a report at the end instead (Ctrl-C stops)",
			t ? t : "");
	}
	if (run->o.tcpstat != OPTS_TCPSTAT_OFF) {
		/* before any descriptor of ours exists: it checks %N ones */
		static const enum tcpstat_mode modes[] = {
			[OPTS_TCPSTAT_INTERVAL] = TCPSTAT_MODE_INTERVAL,
			[OPTS_TCPSTAT_ACCOUNT] = TCPSTAT_MODE_ACCOUNT,
			[OPTS_TCPSTAT_BANDWIDTH] = TCPSTAT_MODE_BANDWIDTH,
			[OPTS_TCPSTAT_DUMB] = TCPSTAT_MODE_DUMB_BANDWIDTH,
		};
		const struct opts *o = &run->o;
		struct tcpstat_conf tc = {
			.format = o->tcpstat_format,
			.interval_ns = o->tcpstat_interval_given
					       ? o->tcpstat_interval_ns
					       : TCPSTAT_DEFAULT_INTERVAL_NS,
			.flags = (o->link_bytes ? TCPSTAT_LINK : 0) |
				 (o->skip_empty ? TCPSTAT_SKIP_EMPTY : 0),
			.mode = modes[o->tcpstat],
			.bandwidth_bps = o->bandwidth_bps,
			.capture_ns = o->seconds_ns,
			.relative_s = o->relative_s,
		};

		run->tcpstat = tcpstat_new(&tc, err, sizeof(err));
		if (!run->tcpstat) {
			say_line(err);
			return OPTS_EXIT_USAGE;
		}
		if (o->flush)
			setvbuf(stdout, NULL, _IOLBF, 0);
	}
	return 0;
}

/*
 * Signals reach only this thread: workers inherit the mask. The stop
 * signals keep their default action until the run is set up (just before
 * the flow table): opening a FIFO nobody writes, or compiling a huge
 * filter, must end on ^C, and there is nothing to save yet. Even where
 * they came ignored or blocked (a script's background job): once set up,
 * they stop the run with its report anyway, so they end it before too.
 * Leaves in @sigs every signal the front ends wait for.
 */
static void signals_setup(sigset_t *sigs)
{
	sigemptyset(sigs);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGHUP);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, sigs, NULL);
	sigemptyset(sigs);
	sigaddset(sigs, SIGUSR1);
	sigaddset(sigs, SIGWINCH);
	sigaddset(sigs, SIGUSR2); /* a worker finished */
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	main_thread = pthread_self();
	redirect_signals(sigs);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGHUP);
}

/* The engine's part of the options and the plan. */
static struct engine_conf engine_conf_of(struct pktstat *run)
{
	const struct opts *o = &run->o;

	return (struct engine_conf){
		.ifaces = o->ifaces,
		.n_ifaces = o->n_ifaces,
		.read_file = o->read_file,
		.backend = o->backend,
		.threads = o->threads,
		.snaplen = o->snaplen,
		.bufsize_mb = o->bufsize_mb,
		.promisc = o->promisc,
		.add_vlan = o->add_vlan,
		.xdp = o->xdp,
		.bpf_flows = o->ebpf_flows,
		.filter = o->filter,
		.max_flows = o->max_flows,
		.keep_ns = run->plan.keep_ns,
		.ts_limit_ns = run->plan.ts_limit_ns,
		/* -l, or the --jsonl / --exit-over tick, in packet time */
		.iv_ns = run->plan.engine_iv_ns,
		.counters = o->counters,
		.n_counters = o->n_counters,
		.tcpstat = run->tcpstat,
		.privs = run->privs,
		.snapshot_path = run->snapshot_path,
		/* the monitor's grouping (g), for its snapshot files */
		.snapshot_group_by = &run->ui_group_by,
		.group_v4_prefix = o->group_v4_prefix,
		.group_v6_prefix = o->group_v6_prefix,
		.snapshot_dir = run->snapshot_dir[0] ? run->snapshot_dir : NULL,
		.filters = run->filters,
	};
}

/*
 * After the privileged fork: the engine, the daemon's socket, the tick,
 * the abbreviations, the privilege drop, then the table, the process
 * names, the exporters and the workers. 0, or the exit status (said).
 */
static int run_start(struct pktstat *run, const struct export_conf *xc,
		     const sigset_t *sigs)
{
	struct engine_conf ec;
	char err[1024];
	int rc;

	run->filters = filterlog_new();
	if (!run->filters) {
		say_line("out of memory");
		return 1;
	}
	ec = engine_conf_of(run);
	rc = engine_open(&run->eng, &ec, err, sizeof(err));
	if (rc) {
		say_line(err);
		return 1;
	}
	engine_port_set_tick(run->eng, run_tick, run);
	if (run->o.daemon) {
		/* the socket in /run, owned by root: before the drop */
		struct daemon_conf dc = {
			.path = run->o.socket_path,
			.group = run->o.group,
			.max_clients = run->o.max_clients,
			.debug = run->o.debug,
		};

		run->daemon = daemon_listen(&dc, err, sizeof(err));
		if (!run->daemon) {
			say_line(err);
			return 1;
		}
	}
	if (run->plan.tick) {
		/* opened while privileged: the file is where it was asked */
		struct pulse_config pc = {
			.jsonl_path = run->o.jsonl_path,
			.jsonl_max = run->o.jsonl_max,
			.jsonl_top = run->o.jsonl_top,
			.exit_over_bps = run->o.exit_over_bps,
		};

		run->tick = pulse_new(&pc, err, sizeof(err));
		if (!run->tick) {
			say_line(err);
			return 1;
		}
	}
	rc = load_abbrevs(run, err, sizeof(err));
	if (rc) {
		say_line(err);
		return rc == -EINVAL ? OPTS_EXIT_USAGE : 1;
	}
	/* Before any thread exists (liburcu starts its own in
	 * engine_make_table): capabilities are per thread, and a thread made
	 * before the drop would keep them. */
	/* the ebpf backend's maps are read and its filter swapped later */
	if (!strcmp(engine_backend(run->eng), cap_ebpf_ops.name))
		privs_keep_bpf(run->privs);
	rc = privs_drop(run->privs, err, sizeof(err));
	if (rc) {
		say_line(err);
		return 1;
	}
	/* --count counters: a bad expression is a usage error */
	rc = engine_prepare(run->eng, err, sizeof(err));
	if (rc) {
		say_line(err);
		return rc == -EINVAL ? OPTS_EXIT_USAGE : 1;
	}
	/* From here on a stop signal ends the run with its report. Before
	 * the first thread of ours (liburcu's, in engine_make_table): they
	 * inherit the blocked mask. */
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
	redirect_signals(sigs);
	rc = engine_make_table(run->eng, err, sizeof(err));
	if (rc) {
		say_line(err);
		return 1;
	}
	if (run->plan.procs)
		start_procs(run);
	/* After the privilege drop: the exporters start threads. */
	run->exp = export_new(xc, run->eng, err, sizeof(err));
	if (!run->exp && err[0]) {
		say_line(err);
		return 1;
	}
	rc = engine_start(run->eng, pthread_self(), SIGUSR2, err, sizeof(err));
	if (rc) {
		say_line(err);
		return 1;
	}
	return 0;
}

/*
 * The plan's front end on this thread until the run ends: the monitor,
 * the daemon or the batch loop. Returns the signal that ended it (0: the
 * end of the file, the period or --exit-over); sets *@status on error.
 */
static int run_front_end(struct pktstat *run, const sigset_t *sigs, int *status)
{
	char err[1024];
	int rc;

	if (run->plan.mode == PLAN_UI) {
		struct ui_conf uc = {
			.o = &run->o,
			/* names by default, root or not: lookups run on the
			 * resolver thread, after the privilege drop */
			.numeric = run->o.numeric > 0,
			.group_by = &run->ui_group_by,
			.filters = run->filters,
		};

		/* n toggles names at any time: the resolver thread idles until
		 * asked. Started after the privilege drop. */
		run->names = names_new(65536, 256, NULL);
		uc.names = run->names;
		rc = ui_run(engine_port(run->eng), &uc, err, sizeof(err));
		if (rc < 0) {
			say_line(err);
			*status = 1;
		}
		return rc > 128 ? rc - 128 : 0;
	}
	if (run->plan.mode == PLAN_DAEMON) {
		rc = daemon_run(run->daemon, engine_port(run->eng), sigs, err,
				sizeof(err));
		if (rc < 0) {
			say_line(err);
			*status = 1;
			return 0;
		}
		return rc;
	}
	return batch_loop(run, sigs);
}

/*
 * The final snapshot file, as the plan says (with the report on stdout,
 * or alone); @fin is the final snapshot, if @have_fin.
 */
static void final_snap_start(struct pktstat *run, struct final_snap *fs,
			     struct snapshot *fin, int have_fin)
{
	enum plan_snap how = run->plan.snap;
	struct report_meta m;

	if (how == PLAN_SNAP_NONE)
		return;
	fs->run = run;
	fs->s = fin;
	fs->pending = 1;
	if (!have_fin)
		how = PLAN_SNAP_ALONE;
	fill_meta(run, &m);
	if (how == PLAN_SNAP_TEE) {
		/* One format: made once, written to the snapshot and to
		 * stdout together. */
		m.tee = stdout;
		m.tee_done = &fs->tee_done;
		fs->rc = engine_write_snapshot_of(
			run->eng, NULL, fin, &m, fs->written,
			sizeof(fs->written), fs->err, sizeof(fs->err));
		return;
	}
	if (how == PLAN_SNAP_THREAD &&
	    pthread_create(&fs->tid, NULL, final_snap_run, fs) == 0) {
		fs->started = 1;
		return;
	}
	fs->rc = have_fin ? engine_write_snapshot_of(run->eng, NULL, fin, &m,
						     fs->written,
						     sizeof(fs->written),
						     fs->err, sizeof(fs->err))
			  : engine_write_snapshot(run->eng, NULL, fs->written,
						  sizeof(fs->written), fs->err,
						  sizeof(fs->err));
}

/* What the plan prints on stdout at the end. Returns the exit status's
 * contribution: 0, or 1 (said). */
static int final_output(struct pktstat *run, struct snapshot *fin, int have_fin,
			const struct final_snap *fs)
{
	struct report_meta m;
	int rc = 0;

	switch (run->plan.final) {
	case PLAN_FINAL_NONE:
		return 0;
	case PLAN_FINAL_ORIG1:
		return print_orig1(run);
	case PLAN_FINAL_SUMMARY:
		fill_meta(run, &m);
		rc = have_fin ? summary_write(stdout, fin, &m, SUMMARY_TOP)
			      : -ENOMEM;
		if (rc == -EIO) {
			say_fmt("stdout: %s", strerror(errno ? errno : EIO));
			return 1;
		} else if (rc) {
			say_fmt("summary: %s", strerror(-rc));
			return 1;
		}
		return 0;
	case PLAN_FINAL_INTERVAL:
		print_interval(run); /* the last, partial interval */
		break;
	case PLAN_FINAL_REPORT:
		if (!fs->tee_done)
			rc = print_report(run, stdout, have_fin ? fin : NULL);
		break;
	}
	if (rc == -EIO || (rc == 0 && (fflush(stdout) || ferror(stdout)))) {
		say_fmt("stdout: %s", strerror(errno ? errno : EIO));
		return 1;
	} else if (rc) {
		say_fmt("report: %s", strerror(-rc));
		return 1;
	}
	return 0;
}

/*
 * The exit sequence once the front end has returned (on signal @sig):
 * stop the engine, take the exact final snapshot, write the snapshot
 * file and the plan's output. Returns the exit status, from @status.
 */
static int run_finish(struct pktstat *run, int sig, int status)
{
	struct snapshot fin;
	struct final_snap fs;
	int have_fin;

	memset(&fs, 0, sizeof(fs));
	snapshot_init(&fin);
	if (sig == SIGHUP)
		plan_hangup(&run->plan);
	if (run->tcpstat)
		tcpstat_release(run->tcpstat);
	engine_stop(run->eng);
	/* the worker's tcpstat sink queued the last lines as it ended */
	if (run->tcpstat && tcpstat_drain(run->tcpstat, stdout) < 0)
		status = 1;
	if (engine_error(run->eng)) {
		say_line(engine_error(run->eng));
		status = 1;
	}
	/* the exporters' last records and exact final figures */
	engine_finish(run->eng);
	/* One snapshot serves the file and the stdout report. */
	have_fin = engine_snapshot_final(run->eng, &fin) == 0;
	if (have_fin && fin.cap.unread) {
		/* not counted, as a file read short: the counts are not
		 * exact and the run says so in its status */
		say_fmt("%" PRIu64 " frames left unread in the capture ring at "
			"stop: counts are not exact",
			fin.cap.unread);
		status = 1;
	}
	if (have_fin && run->tick)
		run_pulse(run, &fin); /* the last, partial interval */
	if (have_fin && !run->plan.keep_capture)
		engine_close_capture(run->eng); /* the report needs no ring */
	final_snap_start(run, &fs, &fin, have_fin);
	if (final_output(run, &fin, have_fin, &fs))
		status = 1;
	if (fs.started) {
		pthread_join(fs.tid, NULL);
		fs.started = 0;
	}
	snapshot_free(&fin);
	if (fs.pending && fs.rc)
		status = 1; /* said last, below */
	if (run->exit_over && status == 0) {
		char r[32], lim[32];

		report_format_bitrate(pulse_exceeded_bps(run->tick), r,
				      sizeof(r));
		report_format_bitrate(run->o.exit_over_bps, lim, sizeof(lim));
		say_fmt("traffic reached %s, over --exit-over %s", r, lim);
		status = PULSE_EXIT_OVER;
	}
	/* Where the snapshot went, or why it did not: the last line the
	 * user sees. */
	fflush(stdout);
	if (fs.pending)
		final_snap_done(&fs, run->plan.mode == PLAN_UI, &status);
	return status;
}

/* A capture of our own, from set-up to exit status. A signal is an
 * orderly stop: the status stays 0. */
static int run_capture(struct pktstat *run, const struct export_conf *xc)
{
	char err[1024];
	sigset_t sigs;
	int status, sig;

	status = run_prepare(run);
	if (status) {
		tcpstat_free(run->tcpstat);
		return status;
	}
	signals_setup(&sigs);
	/* Before anything is opened or any thread exists. */
	if (privs_fork(&run->privs, run->o.user, run->plan.privs_procs, err,
		       sizeof(err))) {
		say_line(err);
		tcpstat_free(run->tcpstat);
		return 1;
	}
	rcu_register_thread();
	status = run_start(run, xc, &sigs);
	if (status == 0) {
		sig = run_front_end(run, &sigs, &status);
		status = run_finish(run, sig, status);
	}
	run_free(run);
	rcu_unregister_thread();
	return status;
}

/* The plan's mode, carried out. Returns the exit status. */
static int run_plan(struct pktstat *run)
{
	struct export_conf xc;
	char err[1024];
	int rc;

	switch (run->plan.mode) {
	case PLAN_HELP:
		opts_usage(stdout);
		return 0;
	case PLAN_VERSION:
		printf("pktstat %s\n", PKTSTAT_VERSION);
		return 0;
	case PLAN_DIFF:
		rc = diff_files(run->o.diff_old, run->o.diff_new, run->o.json,
				0, stdout, err, sizeof(err));
		if (rc)
			say_line(err);
		return rc ? 1 : 0;
	default:
		break;
	}
	xc = export_conf_of(&run->o);
	if (export_check(&xc, err, sizeof(err))) {
		say_line(err);
		return OPTS_EXIT_USAGE;
	}
	switch (run->plan.mode) {
	case PLAN_CONNECT_UI: /* a daemon's capture: no privileges here */
		return connect_monitor(&run->o);
	case PLAN_CONNECT_REPORT:
		return connect_report(&run->o);
	case PLAN_CLIENT: /* no capture, no privileges, no threads */
		return client_main(&run->o);
	default:
		return run_capture(run, &xc);
	}
}

int pktstat_main(int argc, char **argv)
{
	struct pktstat run;
	struct plan_env env;
	char err[1024];
	int rc;

	memset(&run, 0, sizeof(run));
	rc = opts_parse(&run.o, argc, argv, err, sizeof(err));
	if (rc) {
		say_line(err);
		if (rc == -ENOMEM)
			return 1; /* not a usage error */
		fprintf(stderr, "Try 'pktstat --help' for more information.\n");
		return OPTS_EXIT_USAGE;
	}
	env_probe(&run, &env);
	plan_resolve(&run.plan, &run.o, &env);
	rc = run_plan(&run);
	opts_free(&run.o);
	return rc;
}
