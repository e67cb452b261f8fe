/*
 * plan.h - the run, resolved once from the options: what pktstat does
 * (its mode), how long it collects, what it prints when the capture
 * stops and how the final snapshot file is written. pktstat.c carries
 * the plan out and decides nothing of this itself.
 *
 * plan_resolve is a pure function of the options and of the few facts
 * about the environment it is handed (terminals, the snapshot file's
 * format): no I/O, any thread.
 */
#ifndef PKTSTAT_PLAN_H
#define PKTSTAT_PLAN_H

#include <stdint.h>

#include "opts.h"

/* What the program does; one of, in this order of precedence. */
enum plan_mode {
	PLAN_HELP,	     /* -h: the usage text */
	PLAN_VERSION,	     /* --version */
	PLAN_DIFF,	     /* --diff OLD NEW: compare two snapshots */
	PLAN_CONNECT_UI,     /* --connect on a terminal: a daemon's capture
				in the monitor */
	PLAN_CONNECT_REPORT, /* --connect otherwise: its report */
	PLAN_CLIENT,	     /* a client verb (new, list, ...) to a daemon */
	/* a capture of our own (an interface, or -r): */
	PLAN_UI,	/* the monitor */
	PLAN_DAEMON,	/* -d: capture for clients */
	PLAN_TCPSTAT,	/* batch: tcpstat's lines as intervals end */
	PLAN_ORIG1,	/* batch: the original pktstat's -1 report */
	PLAN_INTERVALS, /* batch: -l, a report per interval */
	PLAN_REPORT,	/* batch: one report at the end, text or JSON */
};

/* What goes to stdout once the capture has stopped. */
enum plan_final {
	PLAN_FINAL_NONE,     /* tcpstat (its lines went out as they came),
				a daemon (its clients had it), -q */
	PLAN_FINAL_ORIG1,    /* the original's -1 report */
	PLAN_FINAL_SUMMARY,  /* after the monitor: a few lines */
	PLAN_FINAL_REPORT,   /* the whole report (report_format) */
	PLAN_FINAL_INTERVAL, /* -l: the last, partial interval */
};

/* How the final snapshot file is written. */
enum plan_snap {
	PLAN_SNAP_NONE,	  /* no file (batch without --snapshot) */
	PLAN_SNAP_TEE,	  /* in the report's format (no --group-by): made
			     once, written to the file and stdout together */
	PLAN_SNAP_THREAD, /* in another format: on a thread of its own
			     while stdout gets the report */
	PLAN_SNAP_ALONE,  /* no report to share it with: by itself */
};

/* Facts about the environment the plan depends on. */
struct plan_env {
	int tty;	     /* stdin and stdout are terminals */
	int no_cursor;	     /* the terminal cannot move the cursor
				(TERM=dumb); looked at only on a tty */
	int snapshot_format; /* enum report_format of the final snapshot
				file (a snapshot directory: JSON) */
};

struct plan {
	enum plan_mode mode;
	enum plan_final final;
	enum plan_snap snap;
	/* the monitor was wanted, but the terminal cannot move the
	 * cursor: the run says so and prints a report instead */
	int no_cursor;
	int live;	       /* an interface, not a file */
	int report_format;     /* enum report_format on stdout */
	int interval_format;   /* enum report_format of -l reports */
	uint64_t interval_ns;  /* -l: batch reports each interval, or 0 */
	uint64_t period_ns;    /* how long to collect (live), 0: until
				    stopped */
	uint64_t keep_ns;      /* idle flows expire after this */
	uint64_t ts_limit_ns;  /* a file: read this much packet time, 0 all */
	uint64_t engine_iv_ns; /* a file: the reader waits at each end of
				    this much packet time (-l, the tick) */
	int tick;	       /* the --jsonl / --exit-over tick */
	uint64_t tick_iv_ns;   /* its interval, live */
	int procs;	       /* name the flows' processes */
	int procs_ebpf;	       /* with the eBPF attributor too */
	unsigned int privs_procs; /* privs_fork's PRIVS_PROCS* flags */
	int abbrevs;		  /* the original's -a/-A and .pktstatrc */
	int keep_capture;	  /* the handles stay open after the final
				    snapshot (the -1 report reads them) */
};

/*
 * plan_resolve - the plan for options @o in environment @env. Pure; @o
 * is not changed.
 */
void plan_resolve(struct plan *p, const struct opts *o,
		  const struct plan_env *env);

/*
 * plan_hangup - the run ended on SIGHUP: a monitor's terminal is gone,
 * so it gets neither summary nor report (a batch run's output still
 * goes where it was going), and its snapshot is written alone.
 */
void plan_hangup(struct plan *p);

/* The mode's name ("ui", "orig1", ...), for messages and tests. */
const char *plan_mode_name(enum plan_mode m);

#endif
