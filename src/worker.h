/*
 * worker.h - a capture thread: dispatch -> decode -> count -> flow table.
 *
 * One worker per backend handle. The worker thread is the only writer of
 * its struct worker_stats (relaxed atomic stores, no lock prefix needed);
 * any thread may read them with relaxed loads. Created with all signals
 * blocked (the caller blocks them before worker_start).
 */
#ifndef PKTSTAT_WORKER_H
#define PKTSTAT_WORKER_H

#include <pthread.h>
#include <stdint.h>

#include "../capture/capture.h"
#include "decode.h"
#include "flowtab.h"

struct tcpstat;
struct counters;
struct fragtab;

/*
 * A packet sink: what a personality adds to every worker's path, besides
 * the flow table and the totals every run keeps (dkorunic's report, the
 * monitor): tcpstat's interval lines, a file's packet-time limit, -l's
 * interval stops on a file. A worker walks its list (worker_add_sink)
 * in order; a run without any walks nothing.
 */
struct worker_sink_ops {
	const char *name;
	/* each frame, decoded, before it is counted; the worker's thread,
	 * in its read-side section. Nonzero: the frame is not counted. */
	int (*packet)(void *ctx, const struct dec_pkt *d,
		      const struct cap_pkt *pkt);
	/* between two dispatches, outside the read-side section */
	void (*tick)(void *ctx);
	/* once, when the worker ends (its thread) */
	void (*finish)(void *ctx);
};

/* tcpstat's lines (ctx: the struct tcpstat): live, quiet intervals close
 * by the clock too; from a file, by packet time alone. */
extern const struct worker_sink_ops worker_sink_tcpstat_live;
extern const struct worker_sink_ops worker_sink_tcpstat_file;
/* A file's -t/-1/--seconds: the worker stops at its first packet plus
 * ts_limit_ns of packet time (ctx: the worker). */
extern const struct worker_sink_ops worker_sink_ts_limit;
/* A file's -l (and --jsonl/--exit-over) stops at each iv_ns of packet
 * time for the report (ctx: the worker; see iv_end_ns). */
extern const struct worker_sink_ops worker_sink_interval;

#define WORKER_MAX_SINKS 4

struct worker_stats {
	uint64_t kind_pkts[KIND_COUNT];
	uint64_t kind_bytes[KIND_COUNT];
	uint64_t err[DEC_ERR_COUNT];
	uint64_t first_ts_ns, last_ts_ns;
} __attribute__((aligned(64)));

/* cap_flow deltas a worker defers (worker_flow): as far ahead as their
 * flows' memory is prefetched. */
#define WORKER_FLOWQ 16

struct worker {
	struct cap_handle *h; /* carries its backend's ops */
	struct flowtab *ft;
	const char *iface;    /* for messages; NULL = any */
	unsigned int ifo;     /* the interface's ordinal: its flows' key
				 iface (flowkey.h), below FLOWKEY_IFACES */
	uint64_t ts_limit_ns; /* offline: stop at first_ts + this (0: none) */
	/* offline -l: at each iv_ns of packet time from the first packet,
	 * the worker publishes the interval's end in iv_end_ns (atomic) and
	 * waits until the reporting thread, having taken its snapshot,
	 * stores 0 there (or worker_stop); iv_next_ns is the worker's */
	uint64_t iv_ns, iv_next_ns, iv_end_ns;
	struct {
		const struct worker_sink_ops *ops;
		void *ctx;
	} sinks[WORKER_MAX_SINKS];
	int nsinks;
	struct counters *counters; /* named BPF counters, or NULL */
	unsigned idx;		   /* this worker's counter slot */
	struct worker_stats st;
	struct flowtab_batch batch; /* deferred flow updates (flowtab.h) */
	/* deferred cap_flow deltas (worker_flow): a ring, oldest at
	 * fq_head, their flows' memory prefetched meanwhile */
	struct worker_fq {
		struct flow_key key;
		uint64_t pkts[2], bytes[2], first_ns, last_ns;
	} fq[WORKER_FLOWQ];
	unsigned int fq_head, fq_n;
	struct fragtab *frag; /* first fragments' flows, made on demand */
	pthread_t tid;
	int started;
	int stop;	  /* atomic: set by worker_stop */
	int done;	  /* atomic: the worker has finished */
	int status;	  /* 0, CAP_EOF, or -errno (err holds the line) */
	pthread_t notify; /* gets notify_sig when the worker ends, if set */
	int notify_sig;
	char err[256];
};

/*
 * worker_packet - the per-packet path, callable directly (tests, fuzzing):
 * decode @pkt, account it in @w's stats and flow table. Caller holds
 * rcu_read_lock and is the only writer of @w. The flow-table update is
 * deferred by a few packets (prefetching): call worker_flush before
 * leaving the read-side section.
 */
void worker_packet(void *w, const struct cap_pkt *pkt);

/*
 * worker_flow - the per-record path of a backend that counts in the
 * kernel (cap_ops.dispatch_flows): fold one cap_flow record into @w's
 * flow table (flowtab_add) and stats, as worker_packet would have for
 * the packets it sums. Same thread and lock rules as worker_packet;
 * the flow-table update of a delta is deferred by a few records
 * (prefetching), as worker_packet's: call worker_flush before leaving
 * the read-side section. Named counters and tcpstat lines need frames: the
 * backends that deliver flows count those themselves or refuse them.
 */
void worker_flow(void *w, const struct cap_flow *f);

/* worker_flush - complete the deferred flow updates of worker_packet and
 * worker_flow. Caller holds the same rcu_read_lock as for those. */
void worker_flush(struct worker *w);

/* worker_release - free what worker_packet allocated (the fragment
 * table). The worker's thread when it ends; a direct caller of
 * worker_packet when done. Idempotent. */
void worker_release(struct worker *w);

/* worker_add_sink - append @ops with @ctx to @w's sinks, before
 * worker_start. 0, or -ENOSPC past WORKER_MAX_SINKS. */
int worker_add_sink(struct worker *w, const struct worker_sink_ops *ops,
		    void *ctx);

/* Start the thread (registered with liburcu). 0 or -errno. */
int worker_start(struct worker *w);

/* Ask the worker to stop and wake it. Any thread. */
void worker_stop(struct worker *w);

/* Join the thread; returns its status. */
int worker_join(struct worker *w);

/* Whether the worker has finished (EOF, error or stop). Any thread. */
int worker_done(const struct worker *w);

/* Add @w's counters into @sum (relaxed loads). Any thread. */
void worker_stats_add(const struct worker *w, struct worker_stats *sum);

#endif
