/*
 * report.h - reports: text, JSON and CSV from a snapshot.
 *
 * Every field is defined once in a table that serves all formats (the ss
 * habit). Pure with respect to the run: reads a snapshot, writes a FILE.
 */
#ifndef PKTSTAT_REPORT_H
#define PKTSTAT_REPORT_H

#include <stdio.h>

#include "savefile.h"
#include "snapshot.h"

enum report_format {
	REPORT_TEXT, /* dkorunic/pktstat line format + protocol totals */
	REPORT_JSON, /* one JSON document */
	REPORT_CSV,
	REPORT_JSON_ARRAY, /* dkorunic/pktstat: one compact array, one line */
};

struct filterlog;

/* --ipfix at exit: what reached the collector and what was lost. */
struct report_ipfix {
	const char *collector; /* "HOST:PORT/udp" */
	uint64_t records, pkts, octets;
	uint64_t drop_records, drop_pkts, drop_octets;
};

struct report_meta {
	const char *source;  /* interface(s) or file */
	const char *filter;  /* capture filter, "" for none */
	const char *backend; /* backend name */
	int threads;
	const char *path; /* file being written (format), or NULL */
	/* Optional: the same bytes also go to @tee (its errors are the
	 * caller's to check with ferror), and *@tee_done is set to 1 once
	 * the whole report went to it. Lets the final snapshot and the
	 * stdout report, when they have one format, be made once. */
	FILE *tee;
	int *tee_done;
	/* --group-by: rows are groups of flows (group.h), not flows */
	int group_by; /* enum group_by; 0 = GROUP_FLOW */
	int group_v4_prefix, group_v6_prefix;
	/* with group_by: every flow, and the groups after them (JSON:
	 * "groupBy" and "groups"; text: a "groups by KEY" part; CSV: the
	 * flows only) -- a snapshot of the monitor's grouped table */
	int group_with_flows;
	/* --ipfix: the export's final figures, NULL when it is off */
	const struct report_ipfix *ipfix;
	/* the filters in force during the run, with times (filterlog.h);
	 * NULL or empty: none printed */
	const struct filterlog *filters;
	/* an interval report (-l): the interval's start and end are said
	 * (a text line, each JSON row's "start" and "end") */
	int interval;
	/* why no flow can have a process ("read from a file"), said once:
	 * a "Processes: unknown (WHY)" text line, a JSON "processes":
	 * "unknown: WHY" member (CSV, one table, has no place for it);
	 * NULL: nothing said */
	const char *procs_unknown;
};

/*
 * report_write - write @s in @fmt to @out, one row per direction of each
 * flow in a deterministic order: bytes descending, then packets
 * descending, then the flow key (flowkey_cmp), then A->B before B->A.
 * @s is not modified. Returns 0, -ENOMEM, or -EIO when a write failed
 * (ferror), with errno set to the first failed write's reason.
 */
int report_write(FILE *out, enum report_format fmt, struct snapshot *s,
		 const struct report_meta *meta);

/* Format by the file name's extension: .json, .csv, else text. */
enum report_format report_format_for(const char *path);

/*
 * report_format_bitrate - dkorunic/pktstat style: "12.34 Mbps". Writes at
 * most @len bytes including the NUL.
 */
void report_format_bitrate(double bps, char *buf, size_t len);

/* report_write_file's flags: SAVEFILE_NEW (savefile.h) never replaces a
 * file. */
#define REPORT_SAVE_NEW SAVEFILE_NEW

/*
 * report_write_file - write a report to @path safely: a temporary file in
 * the same directory (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), fsync,
 * rename over @path (or, with REPORT_SAVE_NEW, to a name nothing has),
 * fsync the directory. A symlink at @path is refused. On failure no
 * temporary file is left and the old file is intact. The name written
 * goes to @final (may be NULL). Returns 0 or -errno with "path: reason"
 * in @err.
 */
int report_write_file(const char *path, int flags, struct snapshot *s,
		      const struct report_meta *meta, char *final, size_t flen,
		      char *err, size_t errlen);

#endif
