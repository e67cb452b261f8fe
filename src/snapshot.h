/*
 * snapshot.h - a consistent copy of everything a view or report shows.
 *
 * Taken by the engine (engine_snapshot and friends, src/engine.h); owned by
 * the caller; no pointers into the live table. One thread owns a snapshot
 * at a time. Readers walk the rows with snapshot_row_next, whichever way
 * they were taken.
 */
#ifndef PKTSTAT_SNAPSHOT_H
#define PKTSTAT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "capstats.h"
#include "decode.h"
#include "flowtab.h"

struct counters_value;
struct procs;

struct snapshot {
	/* The rows: read them with snapshot_row_next. */
	struct flowtab_row *rows; /* live flows, unordered (a copy) */
	size_t nrows;		  /* live flows */
	/* not NULL: the rows are this stopped table's flows, read in place
	 * (flowtab_row_next), and @rows is unused */
	const struct flowtab *table;
	size_t rows_cap;  /* allocated rows */
	int rows_omitted; /* totals only: nrows flows, no rows */
	/* the table whose app label details the rows show
	 * (flowtab_app_detail), borrowed; NULL: none */
	const struct flowtab *app_table;
	/* the store the rows' processes are looked up in (procs_lookup),
	 * borrowed; NULL: processes not known (a file, --no-procs) */
	struct procs *procs;
	/* the run's interfaces, named by the ordinal a flow key holds
	 * (flow_key's iface): borrowed, they live as long as the run;
	 * nifaces 0: not known (a snapshot received from a daemon) */
	const char *const *ifnames;
	int nifaces;

	/* Every packet seen, per kind; equals live + expired + overflow. */
	struct flowtab_counts kind[KIND_COUNT];
	struct flowtab_counts expired[KIND_COUNT];
	struct flowtab_counts overflow[KIND_COUNT];
	uint64_t expired_flows;
	uint64_t evicted_flows; /* of the expired, evicted under pressure */
	uint64_t err[DEC_ERR_COUNT]; /* malformed packets per reason */
	uint64_t pkts, bytes;	     /* all packets */

	struct cap_stats cap; /* summed over capture threads */
	/* why some frames were not counted, "" when none was missed: a
	 * file not read to its end ("FILE: file truncated after N frames") */
	char incomplete[320];
	int link_down; /* some interface is down (capture paused) */

	uint64_t mono_ns;     /* CLOCK_MONOTONIC when taken */
	uint64_t wall_ns;     /* CLOCK_REALTIME when taken */
	uint64_t first_ts_ns; /* timestamp of the first packet, 0 if none */
	uint64_t last_ts_ns;  /* timestamp of the latest packet */
	uint64_t start_ns;    /* wall time the run started */
	uint64_t now_ns;      /* the run's notion of "now": packet time for
				 files, wall time live */
	size_t max_flows;

	/* named BPF counters (--count), copied; NULL when none */
	struct counters_value *counters;
	size_t ncounters;
};

/* Protocol totals shown to people, derived from per-kind counts. */
enum snapshot_proto {
	PROTO_IPV4,
	PROTO_IPV6,
	PROTO_TCP,
	PROTO_UDP,
	PROTO_ICMP,
	PROTO_ICMP6,
	PROTO_ARP,
	PROTO_OTHER,
	PROTO_COUNT
};

/* "IPv4", "IPv6", "TCP", "UDP", "ICMP", "ICMPv6", "ARP", "other" */
const char *snapshot_proto_name(int proto);

/* Sum the per-kind counts @kind into protocol totals @out. */
void snapshot_proto_totals(const struct flowtab_counts kind[KIND_COUNT],
			   struct flowtab_counts out[PROTO_COUNT]);

/* Malformed packets in total. */
uint64_t snapshot_malformed(const struct snapshot *s);

/* Whether the counts are exact: no ring drops and no queue freezes (the
 * interface's rx_dropped also counts frames the capture did see), no
 * frame left in the ring at stop (cap.unread), and nothing left unread
 * (@incomplete). */
int snapshot_exact(const struct snapshot *s);

/* Duration covered, in ns: packet time for files, wall time live. */
uint64_t snapshot_duration_ns(const struct snapshot *s);

/* A walk over a snapshot's rows: start zeroed. */
struct snapshot_iter {
	size_t i;
	struct flowtab_iter ft;
};

/*
 * snapshot_row_next - the next row of @s, copied or read in place alike,
 * in no particular order; NULL after the last (at once when the rows were
 * omitted). The row lives as long as the snapshot.
 */
const struct flowtab_row *snapshot_row_next(const struct snapshot *s,
					    struct snapshot_iter *it);

void snapshot_init(struct snapshot *s);
/* Release rows; snapshot_free on an inited-but-empty snapshot is fine. */
void snapshot_free(struct snapshot *s);

#endif
