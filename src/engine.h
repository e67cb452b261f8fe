/*
 * engine.h - the run: capture handles, one worker per handle, the flow
 * table, the capture filter and the named counters; snapshots of all of it
 * (with one row iterator, snapshot.h), expiry, loss and health figures and
 * the safe writing of a snapshot file.
 *
 * Layers: capture/ (backends) and the core (decode, flowkey, flowtab,
 * counters, worker) are below; the front ends (ui/, the batch and
 * interval reports, tcpstat and original-format printers, the daemon
 * and the exporters) are above and see a run only through this API; the
 * exporters plug in as observers (struct engine_observer).
 * The UI reaches it through struct engine_port, an ops table, so a test or
 * benchmark can hand the UI a fake run (bench/uiframe.c does).
 *
 * Threads: every function is called from the thread that created the
 * engine (the main thread, registered with liburcu), unless stated
 * otherwise. Workers are created with the caller's signal mask: block the
 * signals first. Life cycle:
 *   engine_open -> (drop privileges) -> [engine_prepare] ->
 *   [engine_observe] -> engine_start -> ... engine_tick ... ->
 *   engine_stop -> engine_finish -> engine_snapshot_final -> reports ->
 *   engine_free
 */
#ifndef PKTSTAT_ENGINE_H
#define PKTSTAT_ENGINE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "capstats.h"
#include "snapshot.h"

struct engine;
struct filterlog;
struct privs;
struct tcpstat;
struct opts_counter;
struct flowtab;

/* What a run is made of, resolved from the options. Borrowed: the
 * strings and arrays must outlive the engine. */
struct engine_conf {
	const char *const *ifaces; /* n_ifaces names; none: all ("any") */
	int n_ifaces;
	const char *read_file; /* offline: a pcap file, "-" for stdin */
	const char *backend;   /* live backend by name, NULL: default */
	int threads;	       /* per interface, 0: one per two CPUs */
	int snaplen, bufsize_mb, promisc, add_vlan;
	int xdp;	      /* ebpf: CAP_XDP_* (capture.h), 0: tc */
	uint32_t bpf_flows;   /* ebpf: kernel flow map entries, 0: default */
	const char *filter;   /* capture filter, NULL or "" for none */
	size_t max_flows;     /* flow table cap, 0: the default */
	uint64_t keep_ns;     /* engine_expire: idle time before a flow goes */
	uint64_t ts_limit_ns; /* offline: stop at the first packet + this */
	uint64_t iv_ns;	      /* offline -l: pause at each interval's end */
	const struct opts_counter *counters; /* --count NAME=EXPR */
	int n_counters;
	struct tcpstat *tcpstat;   /* per-packet tcpstat sink, or NULL */
	struct privs *privs;	   /* writes snapshot files (privs.h) */
	const char *snapshot_path; /* default path of engine_write_snapshot */
	/* NULL, or the monitor's table grouping (enum group_by, kept up to
	 * date by the UI): while not 0, snapshot files add the groups */
	const int *snapshot_group_by;
	int group_v4_prefix, group_v6_prefix; /* of its net groups */
	/* or, when not NULL, the directory of new timestamped snapshot
	 * files (snapname.h), never replaced */
	const char *snapshot_dir;
	/* the filters in force noted here with their times (capture filter,
	 * counters), or NULL; borrowed, also given to reports */
	struct filterlog *filters;
};

/*
 * engine_open - open and filter the capture handles (before the privilege
 * drop: the sockets need it). Returns 0, or -errno with one line in @err:
 * -ENOTSUP for an unknown backend, -EPROTONOSUPPORT for a file of an
 * unsupported link type, -EINVAL for a bad filter.
 */
int engine_open(struct engine **e, const struct engine_conf *c, char *err,
		size_t errlen);

/*
 * engine_prepare - compile the named counters (--count). Creates no
 * thread. Returns 0, -EINVAL for a bad expression (a usage error) or
 * -errno, with one line in @err. engine_start calls it if not done.
 */
int engine_prepare(struct engine *e, char *err, size_t errlen);

/*
 * engine_make_table - create the flow table (liburcu starts threads of
 * its own here: after the privilege drop, with the signals blocked).
 * engine_start calls it if not done. 0 or -errno with one line.
 */
int engine_make_table(struct engine *e, char *err, size_t errlen);

/*
 * engine_table - the flow table, for front ends that walk it themselves
 * under its own rules (flowtab.h); NULL before engine_make_table.
 */
struct flowtab *engine_table(struct engine *e);

/*
 * engine_set_procs - the process store (procs.h) whose owners the
 * snapshots' rows are looked up in, borrowed (it must outlive every
 * snapshot taken); NULL: none (a file, --no-procs). The store's reader
 * watches the count of flows made (procs_set_demand): call after
 * engine_make_table; the store must be freed before the engine.
 */
struct procs;
void engine_set_procs(struct engine *e, struct procs *p);

/*
 * engine_start - create the flow table (and the named counters) and start
 * the workers; each sends @notify_sig to @notify when it ends (0: none).
 * After the privilege drop: liburcu starts threads of its own here.
 * Returns 0, -EINVAL for a bad counter expression (a usage error), or
 * -errno, each with one line in @err.
 */
int engine_start(struct engine *e, pthread_t notify, int notify_sig, char *err,
		 size_t errlen);

/* Stop the workers, join them and let pending call_rcu work finish: the
 * table no longer changes. Idempotent. */
void engine_stop(struct engine *e);

/* The first worker's error line once stopped, or that an interface was
 * removed and had not come back ("uxa0: interface removed, not back when
 * capture stopped"), or NULL. Valid until the next call. */
const char *engine_error(struct engine *e);

/* Why a capture thread stopped, or that an interface is removed now and
 * capture waits for it ("uxa0: interface removed"), or NULL while every
 * one runs or ended cleanly (end of file). Valid until the next call. */
const char *engine_capture_error(struct engine *e);

/* Whether capture has ended (file fully read, interface gone). Any
 * thread. */
int engine_capture_done(const struct engine *e);

/*
 * engine_snapshot - fill @s with a copy of the state (rows, totals,
 * capture stats, counters). Never blocks the workers. 0 or -ENOMEM.
 */
int engine_snapshot(struct engine *e, struct snapshot *s);

/*
 * engine_snapshot_totals - the same without the rows (their number is
 * there): for front ends that show figures only. 0 or -ENOMEM.
 */
int engine_snapshot_totals(struct engine *e, struct snapshot *s);

/*
 * engine_snapshot_final - after engine_stop: the exact final state, its
 * rows read in place from the stopped table (no copy). Valid until
 * engine_free. 0 or -ENOMEM.
 */
int engine_snapshot_final(struct engine *e, struct snapshot *s);

/* Close the capture handles (rings unmapped) once nothing needs their
 * statistics any more (after the final snapshot). */
void engine_close_capture(struct engine *e);

/*
 * engine_interval_end - offline -l (engine_conf.iv_ns): the end, in
 * packet time, of an interval the reader has stopped at, or 0. The
 * reader waits until engine_interval_done, so a snapshot taken in
 * between holds exactly the packets before that end.
 */
uint64_t engine_interval_end(struct engine *e);
void engine_interval_done(struct engine *e);

/* Expire flows idle for longer than keep_ns, at most once a second. */
void engine_expire(struct engine *e);

/*
 * engine_set_filter - compile @expr for every handle's link type and swap
 * it in; on a compile error nothing changes and @err holds libpcap's
 * message. Returns 0 or -errno.
 */
int engine_set_filter(struct engine *e, const char *expr, char *err,
		      size_t errlen);

/* The capture filter in force ("" for none); valid until the next swap. */
const char *engine_filter(const struct engine *e);

/*
 * Per interface: packets and bytes per kind, malformed packets and the
 * capture's loss figures, summed over the interface's fanout threads.
 */
struct engine_iface_stats {
	const char *name; /* "any" for all interfaces */
	uint64_t pkts[KIND_COUNT], bytes[KIND_COUNT];
	uint64_t malformed;
	struct cap_stats cap;
};

/* Fill at most @max entries of @out; returns how many. Any time after
 * engine_open. */
int engine_iface_stats(struct engine *e, struct engine_iface_stats *out,
		       int max);

/* The link type of the first handle (DLT_*), and whether the frames
 * still carry their outer 802.1Q tag (a backend that strips it reports
 * it apart unless -v puts it back). */
int engine_datalink(struct engine *e);
int engine_vlan_in_frame(const struct engine *e);

/* Copy up to @max named counters (counters_read); returns how many
 * there are. */
struct counters_value;
size_t engine_counters_read(struct engine *e, struct counters_value *out,
			    size_t max);

/* Source ("eth0", "any", "eth0,eth1", "file.pcap"), backend name and the
 * number of capture threads in all. */
const char *engine_source(const struct engine *e);
const char *engine_backend(const struct engine *e);
int engine_threads(const struct engine *e);

/*
 * engine_counter_cmd - one capstats-style counter command (countercmd.h).
 * A counter counts the packets captured after it exists. Returns 0 with a
 * one-line answer in @msg, or -errno with one line; on error nothing
 * changes.
 */
int engine_counter_cmd(struct engine *e, const char *line, char *msg,
		       size_t msglen);

/*
 * engine_link_changes - for each interface whose state changed since the
 * last call (enum cap_link: down, capture paused; removed, capture waits
 * for one of that name; up again), call @fn with its name, the new state
 * and the one before. For front ends without a screen header.
 */
void engine_link_changes(struct engine *e,
			 void (*fn)(void *ctx, const char *iface, int state,
				    int was),
			 void *ctx);

/*
 * engine_write_snapshot - write a fresh snapshot to @path (format by
 * extension) or, when @path is NULL, to the configured file or a new
 * timestamped file in the configured directory, through the privileged
 * writer (temporary name, fsync, rename, 0600, no link followed; in the
 * directory, never over an existing file). 0 or -errno with "path:
 * reason" in @err; @written (if not NULL) gets the path written.
 */
int engine_write_snapshot(struct engine *e, const char *path, char *written,
			  size_t wlen, char *err, size_t errlen);

/*
 * engine_write_snapshot_of - the same for a snapshot @s the caller took,
 * described by @m (report.h; NULL: engine_report_meta's), whose tee, if
 * any, gets the report too when its format is the file's. Any one thread
 * at a time: the exit writes the file on a thread of its own while stdout
 * gets the report.
 */
struct report_meta;
int engine_write_snapshot_of(struct engine *e, const char *path,
			     struct snapshot *s, const struct report_meta *m,
			     char *written, size_t wlen, char *err,
			     size_t errlen);

/* Fill @m (zeroed first) with the source, filter, backend and threads,
 * and the monitor's grouping (snapshot_group_by) while there is one. */
void engine_report_meta(const struct engine *e, struct report_meta *m);

/* Free everything. A table a final snapshot was taken of is left to the
 * kernel (unlinking a million flows one by one delays the exit for
 * nothing). Observers are not called any more. NULL is a no-op. */
void engine_free(struct engine *e);

/* ---- observers: the exporters' door --------------------------------- */

/*
 * An observer of the run (the Prometheus and IPFIX exporters): it plugs
 * into the engine, not into a front end, so it gets the same calls
 * whichever front end (monitor, daemon, batch loop) drives the run. Every
 * member may be NULL.
 */
struct engine_observer {
	/* engine_start, the table made, before the workers run: main
	 * thread. 0, or -errno with one line in @err: the run does not
	 * start. */
	int (*start)(void *ctx, struct engine *e, char *err, size_t errlen);
	/* engine_tick: each refresh of the front end (50 ms to seconds
	 * apart; none while a file is read in batch mode): main thread.
	 * Cheap, or rate-limited by the observer. */
	void (*tick)(void *ctx, struct engine *e);
	/* a flow left the table (idle expiry, or @evicted under pressure)
	 * with its final counts: liburcu's call_rcu thread, under
	 * flowtab_set_end_hook's rules (short, never blocks, no call into
	 * the engine). A flow still live at the end is never passed. */
	void (*flow_end)(void *ctx, const struct flowtab_row *r, int evicted);
	/* engine_finish: the workers joined and the table settled; @live
	 * holds the live flows' rows only (snapshot_row_next, read in
	 * place): main thread, observers in the order they were added. */
	void (*finish)(void *ctx, struct engine *e,
		       const struct snapshot *live);
};

#define ENGINE_MAX_OBSERVERS 4

/*
 * engine_observe - add an observer (@ob and @ctx borrowed: they must
 * outlive the run) before engine_start. 0, -EBUSY once started, or
 * -ENOSPC past ENGINE_MAX_OBSERVERS.
 */
int engine_observe(struct engine *e, const struct engine_observer *ob,
		   void *ctx);

/*
 * engine_tick - a front end's refresh: expiry (engine_expire) and the
 * observers' tick. The engine's port calls it as its expire op.
 */
void engine_tick(struct engine *e);

/*
 * engine_finish - at the end, before the final snapshot: stop the run
 * (engine_stop) and call the observers' finish once. Idempotent.
 */
void engine_finish(struct engine *e);

/*
 * engine_collect_rows - copy every live flow into *@rows (grown with
 * realloc, capacity in *@cap), as flowtab_collect: for an observer's own
 * thread, which must be registered with liburcu. Any thread, between
 * engine_start and engine_free. The number of rows or -ENOMEM.
 */
ssize_t engine_collect_rows(struct engine *e, struct flowtab_row **rows,
			    size_t *cap);

/* ---- the front ends' door ------------------------------------------- */

/* What a screen header names: valid until the next call. */
struct engine_info {
	const char *source, *backend, *filter;
	int threads;
	int capture_done;
	/* why a capture thread stopped ("uxa0: interface removed"), or
	 * NULL while every one runs or ended cleanly */
	const char *capture_error;
	/* the filters in force so far, with times (engine_conf.filters;
	 * NULL: none kept): read on the thread that adds to it */
	const struct filterlog *filters;
};

struct engine_port;

/* A run as a front end sees it; every member is required. */
struct engine_ops {
	void (*info)(struct engine_port *p, struct engine_info *info);
	/* once a refresh: expiry and the run's periodic work */
	void (*expire)(struct engine_port *p);
	int (*snapshot)(struct engine_port *p, struct snapshot *s);
	/* after a refresh's snapshot @s: the run's per-refresh extras;
	 * returns 1 when the run is to end (the front end stops) */
	int (*tick)(struct engine_port *p, const struct snapshot *s);
	int (*set_filter)(struct engine_port *p, const char *expr, char *err,
			  size_t errlen);
	int (*counter_cmd)(struct engine_port *p, const char *line, char *msg,
			   size_t msglen);
	size_t (*counters_read)(struct engine_port *p,
				struct counters_value *out, size_t max);
	int (*write_snapshot)(struct engine_port *p, const char *path,
			      char *written, size_t wlen, char *err,
			      size_t errlen);
};

/* The base of a run as front ends hold it (a fake embeds it first). */
struct engine_port {
	const struct engine_ops *ops;
};

/* The engine's own port (its expire op is engine_tick; its tick is the
 * one set by engine_port_set_tick, else nothing); lives as long as @e. */
struct engine_port *engine_port(struct engine *e);

/*
 * What a program adds to each refresh of its front end (--jsonl,
 * --exit-over): @fn(@ctx, s) after the refresh's snapshot @s, on the
 * front end's thread; its result is the port's tick's (1: the run is to
 * end). NULL: none. Before the front end runs.
 */
typedef int (*engine_tick_fn)(void *ctx, const struct snapshot *s);
void engine_port_set_tick(struct engine *e, engine_tick_fn fn, void *ctx);

#endif
