/*
 * summary.h - what the monitor leaves on the terminal when it quits: a
 * few lines (totals, the largest flows) instead of the whole report,
 * which is in the snapshot file (or on stdout with --report).
 *
 * Pure: reads a snapshot, writes a FILE; any one thread.
 */
#ifndef PKTSTAT_UI_SUMMARY_H
#define PKTSTAT_UI_SUMMARY_H

#include <stddef.h>
#include <stdio.h>

struct snapshot;
struct report_meta;

/* Flows the summary lists by default. */
#define SUMMARY_TOP 10

/*
 * summary_write - to @out: the source, how long, packets, bytes, the
 * average rate and whether the counts are exact; the protocols seen;
 * the flow table's figures; the @top largest flows by bytes (both
 * directions; ties by flow id), one line each. Returns 0, or -EIO with
 * errno set when a write failed, or -ENOMEM.
 */
int summary_write(FILE *out, const struct snapshot *s,
		  const struct report_meta *m, size_t top);

#endif
