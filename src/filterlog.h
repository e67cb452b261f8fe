/*
 * filterlog.h - every filter in force during a run, with the time each
 * was set: the capture filter (at start and at each change), the
 * monitor's display filter, the named counters (made, changed, stopped).
 * Snapshots print it (report.h), so a snapshot says what was being
 * looked at and since when.
 *
 * Threads: one thread adds entries (the run's main thread: the engine's
 * caller and the monitor); readers on other threads (the exit's snapshot
 * writer) read only after the adding stopped. At most FILTERLOG_MAX
 * entries are kept; later ones are counted (filterlog_omitted).
 */
#ifndef PKTSTAT_FILTERLOG_H
#define PKTSTAT_FILTERLOG_H

#include <stddef.h>
#include <stdint.h>

#define FILTERLOG_MAX 1024

enum filterlog_kind {
	FILTERLOG_CAPTURE, /* the BPF capture filter ("" when cleared) */
	FILTERLOG_DISPLAY, /* the monitor's display filter ("" cleared) */
	FILTERLOG_COUNTER, /* a named counter's expression (NULL: stopped) */
};

struct filterlog_entry {
	uint64_t wall_ns; /* CLOCK_REALTIME when set */
	enum filterlog_kind kind;
	char *name; /* the counter's name; NULL for the other kinds */
	char *text; /* the expression; NULL for a stopped counter */
};

struct filterlog;

/* An empty log; NULL when out of memory. */
struct filterlog *filterlog_new(void);

/*
 * filterlog_add - note that @kind (@name for a counter) became @text at
 * @wall_ns. A display filter equal to the last one noted is not noted
 * again. 0, or -ENOMEM (nothing noted). A NULL log is a no-op.
 */
int filterlog_add(struct filterlog *l, uint64_t wall_ns,
		  enum filterlog_kind kind, const char *name, const char *text);

/* Entries in the order they were added; NULL past the end or for a NULL
 * log. */
const struct filterlog_entry *filterlog_at(const struct filterlog *l, size_t i);
size_t filterlog_count(const struct filterlog *l);
/* Entries not kept (beyond FILTERLOG_MAX). */
uint64_t filterlog_omitted(const struct filterlog *l);

/* "capture", "display", "counter" */
const char *filterlog_kind_name(enum filterlog_kind kind);

/* NULL is a no-op. */
void filterlog_free(struct filterlog *l);

#endif
