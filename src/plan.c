/*
 * plan.c - options to one resolved plan of the run (plan.h). Every
 * decision about the mode, the collection period, the keep time, the
 * final output and the snapshot's writing is made here, once.
 *
 * Pure: reads the options and the environment facts it is handed.
 */
#include "plan.h"
#include "privs.h"
#include "report.h"

#include <string.h>

#define SEC_NS 1000000000ull

const char *plan_mode_name(enum plan_mode m)
{
	static const char *const names[] = {
		[PLAN_HELP] = "help",
		[PLAN_VERSION] = "version",
		[PLAN_DIFF] = "diff",
		[PLAN_CONNECT_UI] = "connect-ui",
		[PLAN_CONNECT_REPORT] = "connect-report",
		[PLAN_CLIENT] = "client",
		[PLAN_UI] = "ui",
		[PLAN_DAEMON] = "daemon",
		[PLAN_TCPSTAT] = "tcpstat",
		[PLAN_ORIG1] = "orig1",
		[PLAN_INTERVALS] = "intervals",
		[PLAN_REPORT] = "report",
	};

	return (unsigned int)m < sizeof(names) / sizeof(names[0]) && names[m]
		       ? names[m]
		       : "?";
}

/* A run without a capture of its own: 1 when @o asks for one. */
static int plan_no_capture(struct plan *p, const struct opts *o,
			   const struct plan_env *env)
{
	if (o->help)
		p->mode = PLAN_HELP;
	else if (o->version)
		p->mode = PLAN_VERSION;
	else if (o->diff)
		p->mode = PLAN_DIFF;
	else if (o->connect)
		/* the daemon's capture in the monitor on a terminal,
		 * unless -j asks for the report */
		p->mode =
			o->mode == OPTS_MODE_UI || (o->mode == OPTS_MODE_AUTO &&
						    env->tty && !o->json)
				? PLAN_CONNECT_UI
				: PLAN_CONNECT_REPORT;
	else if (o->client_argc)
		p->mode = PLAN_CLIENT;
	else
		return 0;
	return 1;
}

/* Stdout once the capture has stopped (before a hang-up: plan_hangup). */
static enum plan_final plan_final_of(const struct plan *p, const struct opts *o)
{
	int ui = p->mode == PLAN_UI;

	if (o->tcpstat != OPTS_TCPSTAT_OFF)
		return PLAN_FINAL_NONE;
	if (p->abbrevs) /* the original's -1, even under -d */
		return PLAN_FINAL_ORIG1;
	if (o->daemon)
		return PLAN_FINAL_NONE;
	if (!ui)
		return o->interval_ns ? PLAN_FINAL_INTERVAL : PLAN_FINAL_REPORT;
	/* after the monitor: a summary, unless --report (or -j) asks for
	 * the whole report; -q: nothing */
	if (o->quiet)
		return PLAN_FINAL_NONE;
	return o->report || o->json ? PLAN_FINAL_REPORT : PLAN_FINAL_SUMMARY;
}

void plan_resolve(struct plan *p, const struct opts *o,
		  const struct plan_env *env)
{
	int tcpstat = o->tcpstat != OPTS_TCPSTAT_OFF;
	int orig1 = o->mode == OPTS_MODE_BATCH && !o->json && !tcpstat;
	int ui;

	memset(p, 0, sizeof(*p));
	p->live = !o->read_file;
	p->report_format = o->json ? REPORT_JSON : REPORT_TEXT;
	p->interval_format = o->json ? REPORT_JSON_ARRAY : REPORT_TEXT;
	p->interval_ns = o->interval_ns;
	p->keep_ns = o->keep_ns;
	if (plan_no_capture(p, o, env))
		return;

	/* The monitor on a terminal, unless the options ask for lines. A
	 * terminal that cannot move the cursor gets the report instead of
	 * a blank screen (an unknown TERM is left to the UI, which names
	 * it). */
	ui = (!o->daemon && o->mode == OPTS_MODE_UI) ||
	     (o->mode == OPTS_MODE_AUTO && env->tty && !o->json &&
	      !o->interval_ns && !tcpstat && !o->daemon);
	if (ui && env->no_cursor) {
		ui = 0;
		p->no_cursor = 1;
	}
	p->mode = ui		   ? PLAN_UI
		  : o->daemon	   ? PLAN_DAEMON
		  : tcpstat	   ? PLAN_TCPSTAT
		  : orig1	   ? PLAN_ORIG1
		  : o->interval_ns ? PLAN_INTERVALS
				   : PLAN_REPORT;

	/* How long to collect: -t; the original's -1 collects for its
	 * wait time (-w, 5 s by default, as the original); tcpstat's
	 * --seconds when shorter. A file's is in packet time. */
	p->period_ns = o->timeout_ns;
	if (orig1 && !p->period_ns)
		p->period_ns = o->wait_given ? o->refresh_ns : 5 * SEC_NS;
	if (o->seconds_ns && (!p->period_ns || o->seconds_ns < p->period_ns))
		p->period_ns = o->seconds_ns;
	p->ts_limit_ns = o->read_file ? p->period_ns : 0;
	/* -l: a flow idle for an interval must still be there for its
	 * delta */
	if (o->interval_ns && p->keep_ns < 2 * o->interval_ns)
		p->keep_ns = 2 * o->interval_ns;

	p->tick = o->jsonl_path || o->exit_over_bps > 0;
	p->tick_iv_ns = o->interval_ns	? o->interval_ns
			: o->refresh_ns ? o->refresh_ns
					: SEC_NS;
	/* A file's -l and tick come in packet time: its reader waits at
	 * each interval's end (tcpstat keeps its own intervals). */
	if (o->read_file && !tcpstat)
		p->engine_iv_ns = o->interval_ns ? o->interval_ns
				  : p->tick	 ? p->tick_iv_ns
						 : 0;

	/* Processes are named for live captures whose flows are shown or
	 * reported (not a file's: its sockets are gone; not tcpstat's lines
	 * nor a daemon's stream, which carry no processes); the eBPF
	 * attributor too with the ebpf backend, or --procs-ebpf. */
	p->procs = !o->read_file && !o->no_procs && !tcpstat && !o->daemon;
	p->procs_ebpf =
		o->procs_ebpf || (o->backend && !strcmp(o->backend, "ebpf"));
	p->privs_procs =
		!p->procs ? 0
		: p->procs_ebpf
			? PRIVS_PROCS | PRIVS_PROCS_EBPF |
				  (o->procs_ebpf ? PRIVS_PROCS_EBPF_ASKED : 0)
			: PRIVS_PROCS;
	p->abbrevs = orig1;
	p->keep_capture = orig1;

	p->final = plan_final_of(p, o);
	/* The final snapshot: after the monitor always, else if asked for;
	 * made once with the stdout report when both are the same bytes
	 * (not with --group-by: stdout has groups, the snapshot flows). */
	if (ui || o->snapshot_path)
		p->snap = p->final != PLAN_FINAL_REPORT ? PLAN_SNAP_ALONE
			  : env->snapshot_format == p->report_format &&
					  !o->group_by
				  ? PLAN_SNAP_TEE
				  : PLAN_SNAP_THREAD;
}

void plan_hangup(struct plan *p)
{
	if (p->mode != PLAN_UI)
		return;
	p->final = PLAN_FINAL_NONE;
	if (p->snap != PLAN_SNAP_NONE)
		p->snap = PLAN_SNAP_ALONE;
}
