/*
 * cpanel.h - the model behind the UI's counters panel: the named counters
 * of the latest snapshot with their rates against the previous update,
 * matched by name, and a reset baseline (the `r` key). Pure: no curses,
 * no locks; one thread (the UI's) owns a panel.
 */
#ifndef PKTSTAT_UI_CPANEL_H
#define PKTSTAT_UI_CPANEL_H

#include <stddef.h>
#include <stdint.h>

#include "../src/counters.h"

/* Rates need at least this much time between two updates; a sooner update
 * (a refresh forced by a command) shows the new counts, the rates stay. */
#define CPANEL_MIN_DT_NS 50000000ull

struct cpanel;

struct cpanel_row {
	char name[COUNTERS_NAME_MAX];
	char expr[COUNTERS_EXPR_MAX];
	uint64_t pkts, bytes; /* since creation, modify or the last reset */
	double pps, Bps;      /* per second, against the previous update */
};

/* An empty panel, or NULL. cpanel_free(NULL) is a no-op. */
struct cpanel *cpanel_new(void);
void cpanel_free(struct cpanel *p);

/*
 * cpanel_update - take the @n counters @v (a snapshot's, in their order)
 * at monotonic time @mono_ns. A counter seen in the previous update under
 * the same name and expression, with counts not smaller, is the same
 * counter: its rate is its growth over the time since the previous update
 * (rates are 0 on the first update); anything else (new, modified) counts
 * from 0 at the previous update. Returns 0 or -ENOMEM (panel unchanged).
 */
int cpanel_update(struct cpanel *p, const struct counters_value *v, size_t n,
		  uint64_t mono_ns);

/* Counts shown restart from 0 (rates go on). */
void cpanel_reset(struct cpanel *p);

/* Number of counters, and counter @i (0 .. count-1), in snapshot order. */
size_t cpanel_count(const struct cpanel *p);
const struct cpanel_row *cpanel_row(const struct cpanel *p, size_t i);

#endif
