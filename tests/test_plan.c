/* test_plan.c - options to the resolved plan: each mode, its period,
 * keep time, final output and snapshot strategy. */
#include <criterion/criterion.h>
#include <stdarg.h>

#include "plan.h"
#include "privs.h"
#include "report.h"

#define S 1000000000ull

static const struct plan_env tty = { .tty = 1, .snapshot_format = REPORT_JSON };
static const struct plan_env pipe_env = { .tty = 0,
					  .snapshot_format = REPORT_JSON };

/* The plan for "pktstat ARGS..." (NULL-terminated) in @env. */
static struct plan resolve(const struct plan_env *env, ...)
{
	char *argv[32] = { "pktstat" };
	struct opts o;
	struct plan p;
	char err[256];
	int argc = 1;
	va_list ap;

	va_start(ap, env);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	cr_assert_eq(opts_parse(&o, argc, argv, err, sizeof(err)), 0, "%s",
		     err);
	plan_resolve(&p, &o, env);
	opts_free(&o);
	return p;
}

Test(plan, terminal_gets_the_monitor_then_a_summary)
{
	struct plan p = resolve(&tty, NULL);

	cr_assert_eq(p.mode, PLAN_UI, "%s", plan_mode_name(p.mode));
	cr_assert_eq(p.final, PLAN_FINAL_SUMMARY);
	cr_assert_eq(p.snap, PLAN_SNAP_ALONE); /* the monitor always saves */
	cr_assert(p.live);
	cr_assert(p.procs);
	cr_assert_eq(p.privs_procs, PRIVS_PROCS);
	cr_assert_eq(p.period_ns, 0);
	cr_assert_eq(p.keep_ns, 10 * S);
	cr_assert_not(p.no_cursor);
}

Test(plan, pipe_gets_a_report)
{
	struct plan p = resolve(&pipe_env, "-i", "eth0", NULL);

	cr_assert_eq(p.mode, PLAN_REPORT, "%s", plan_mode_name(p.mode));
	cr_assert_eq(p.final, PLAN_FINAL_REPORT);
	cr_assert_eq(p.snap, PLAN_SNAP_NONE);
	cr_assert_eq(p.report_format, REPORT_TEXT);
	/* -j on a terminal: the report too, in JSON */
	p = resolve(&tty, "-j", NULL);
	cr_assert_eq(p.mode, PLAN_REPORT);
	cr_assert_eq(p.report_format, REPORT_JSON);
}

Test(plan, dumb_terminal_gets_a_report)
{
	struct plan_env dumb = tty;
	struct plan p;

	dumb.no_cursor = 1;
	p = resolve(&dumb, NULL);
	cr_assert_eq(p.mode, PLAN_REPORT, "%s", plan_mode_name(p.mode));
	cr_assert(p.no_cursor);
	cr_assert_eq(p.final, PLAN_FINAL_REPORT);
	/* a pipe never looks at the terminal */
	p = resolve(&pipe_env, NULL);
	cr_assert_not(p.no_cursor);
}

Test(plan, report_after_the_monitor_shares_the_snapshot)
{
	struct plan_env text = tty;
	struct plan p;

	text.snapshot_format = REPORT_TEXT;
	p = resolve(&text, "--report", "--snapshot", "x.txt", NULL);
	cr_assert_eq(p.mode, PLAN_UI);
	cr_assert_eq(p.final, PLAN_FINAL_REPORT);
	cr_assert_eq(p.snap, PLAN_SNAP_TEE);
	/* another format: the file on its own thread */
	p = resolve(&tty, "--report", NULL);
	cr_assert_eq(p.snap, PLAN_SNAP_THREAD);
	/* a hung-up terminal gets nothing; the snapshot is still written */
	plan_hangup(&p);
	cr_assert_eq(p.final, PLAN_FINAL_NONE);
	cr_assert_eq(p.snap, PLAN_SNAP_ALONE);
	/* -q: nothing on stdout */
	p = resolve(&tty, "--report", "-q", NULL);
	cr_assert_eq(p.final, PLAN_FINAL_NONE);
	cr_assert_eq(p.snap, PLAN_SNAP_ALONE);
}

Test(plan, hangup_leaves_a_batch_run_alone)
{
	struct plan p = resolve(&pipe_env, "--snapshot", "x.json", "-j", NULL);

	cr_assert_eq(p.snap, PLAN_SNAP_TEE);
	plan_hangup(&p);
	cr_assert_eq(p.final, PLAN_FINAL_REPORT);
	cr_assert_eq(p.snap, PLAN_SNAP_TEE);
	/* --group-by: stdout has groups, the file flows: not one document */
	p = resolve(&pipe_env, "--snapshot", "x.json", "-j", "--group-by",
		    "host", NULL);
	cr_assert_eq(p.snap, PLAN_SNAP_THREAD);
}

Test(plan, file_in_the_monitor)
{
	struct plan p = resolve(&tty, "-r", "x.pcap", NULL);

	cr_assert_eq(p.mode, PLAN_UI, "%s", plan_mode_name(p.mode));
	cr_assert_not(p.live);
	cr_assert_not(p.procs); /* a file's sockets are gone */
	cr_assert_eq(p.privs_procs, 0);
	cr_assert_eq(p.engine_iv_ns, 0);
	cr_assert_eq(p.ts_limit_ns, 0);
}

Test(plan, original_one_shot)
{
	struct plan p = resolve(&tty, "-1", NULL);

	cr_assert_eq(p.mode, PLAN_ORIG1, "%s", plan_mode_name(p.mode));
	cr_assert_eq(p.final, PLAN_FINAL_ORIG1);
	cr_assert_eq(p.period_ns, 5 * S); /* the original's default wait */
	cr_assert(p.abbrevs);
	cr_assert(p.keep_capture);
	cr_assert_eq(p.snap, PLAN_SNAP_NONE);
	p = resolve(&pipe_env, "-1", "-w", "2", NULL);
	cr_assert_eq(p.period_ns, 2 * S);
	p = resolve(&pipe_env, "-1", "-t", "7s", NULL);
	cr_assert_eq(p.period_ns, 7 * S);
	/* a file: the period is packet time */
	p = resolve(&pipe_env, "-1", "-r", "x.pcap", NULL);
	cr_assert_eq(p.ts_limit_ns, 5 * S);
	/* -1 -j is a JSON report, not the original's format */
	p = resolve(&pipe_env, "-1", "-j", NULL);
	cr_assert_eq(p.mode, PLAN_REPORT);
	cr_assert_not(p.abbrevs);
	cr_assert_eq(p.period_ns, 0);
}

Test(plan, intervals)
{
	struct plan p = resolve(&tty, "-l", "10s", "-t", "1m", NULL);

	/* -l asks for lines even on a terminal */
	cr_assert_eq(p.mode, PLAN_INTERVALS, "%s", plan_mode_name(p.mode));
	cr_assert_eq(p.final, PLAN_FINAL_INTERVAL);
	cr_assert_eq(p.interval_ns, 10 * S);
	cr_assert_eq(p.keep_ns, 20 * S); /* no delta lost */
	cr_assert_eq(p.period_ns, 60 * S);
	cr_assert_eq(p.engine_iv_ns, 0); /* live: wall-clock intervals */
	cr_assert_eq(p.interval_format, REPORT_TEXT);
	p = resolve(&pipe_env, "-r", "x.pcap", "-l", "1s", "-j", NULL);
	cr_assert_eq(p.engine_iv_ns, 1 * S);
	cr_assert_eq(p.interval_format, REPORT_JSON_ARRAY);
	cr_assert_eq(p.keep_ns, 10 * S); /* already over two intervals */
}

Test(plan, tick_of_a_file_in_packet_time)
{
	struct plan p = resolve(&pipe_env, "-r", "x.pcap", "--jsonl", "t.jsonl",
				"-w", "3", NULL);

	cr_assert(p.tick);
	cr_assert_eq(p.tick_iv_ns, 3 * S);
	cr_assert_eq(p.engine_iv_ns, 3 * S);
	p = resolve(&pipe_env, "-r", "x.pcap", NULL);
	cr_assert_not(p.tick);
	cr_assert_eq(p.engine_iv_ns, 0);
}

Test(plan, tcpstat)
{
	struct plan p = resolve(&tty, "-o", "%n\\n", "--seconds", "3", "-t",
				"10s", NULL);

	cr_assert_eq(p.mode, PLAN_TCPSTAT, "%s", plan_mode_name(p.mode));
	cr_assert_eq(p.final, PLAN_FINAL_NONE);
	cr_assert_eq(p.period_ns, 3 * S); /* the shorter */
	cr_assert_not(p.procs);
	/* a file's tcpstat keeps its own intervals */
	p = resolve(&pipe_env, "-r", "x.pcap", "--accounting", "--jsonl",
		    "t.jsonl", NULL);
	cr_assert_eq(p.mode, PLAN_TCPSTAT);
	cr_assert_eq(p.engine_iv_ns, 0);
	cr_assert_eq(p.ts_limit_ns, 0);
}

Test(plan, daemon)
{
	struct plan p = resolve(&tty, "-d", NULL);

	cr_assert_eq(p.mode, PLAN_DAEMON, "%s", plan_mode_name(p.mode));
	cr_assert_eq(p.final, PLAN_FINAL_NONE);
	cr_assert_not(p.procs);
	cr_assert_eq(p.snap, PLAN_SNAP_NONE);
	/* -d -1: the daemon, and the original's report when it stops */
	p = resolve(&pipe_env, "-d", "-1", NULL);
	cr_assert_eq(p.mode, PLAN_DAEMON);
	cr_assert_eq(p.final, PLAN_FINAL_ORIG1);
}

Test(plan, no_capture_of_our_own)
{
	cr_assert_eq(resolve(&tty, "-h", "-1", NULL).mode, PLAN_HELP);
	cr_assert_eq(resolve(&tty, "--version", NULL).mode, PLAN_VERSION);
	cr_assert_eq(resolve(&tty, "--diff", "a.json", "b.json", NULL).mode,
		     PLAN_DIFF);
	cr_assert_eq(resolve(&tty, "--connect", NULL).mode, PLAN_CONNECT_UI);
	cr_assert_eq(resolve(&tty, "--connect", "-j", NULL).mode,
		     PLAN_CONNECT_REPORT);
	cr_assert_eq(resolve(&pipe_env, "--connect", NULL).mode,
		     PLAN_CONNECT_REPORT);
	cr_assert_eq(resolve(&tty, "list", NULL).mode, PLAN_CLIENT);
	cr_assert_str_eq(plan_mode_name(PLAN_CLIENT), "client");
}

Test(plan, ebpf_attributor)
{
	struct plan p = resolve(&pipe_env, "--backend", "ebpf", NULL);

	cr_assert(p.procs_ebpf);
	cr_assert_eq(p.privs_procs, PRIVS_PROCS | PRIVS_PROCS_EBPF);
	p = resolve(&pipe_env, "--procs-ebpf", NULL);
	cr_assert_eq(p.privs_procs,
		     PRIVS_PROCS | PRIVS_PROCS_EBPF | PRIVS_PROCS_EBPF_ASKED);
	p = resolve(&pipe_env, "--procs-ebpf", "--no-procs", NULL);
	cr_assert_eq(p.privs_procs, 0);
}
