/*
 * pulse.h - what happens once per refresh (or -l interval) besides the
 * screen: the JSON Lines tee (--jsonl) and the threshold exit
 * (--exit-over).
 *
 * Front-end layer: given the snapshot the caller took for its tick, with
 * its time (packet time for files, wall time live). One thread owns a
 * struct pulse_run (the UI thread, or the batch loop).
 */
#ifndef PKTSTAT_PULSE_H
#define PKTSTAT_PULSE_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "snapshot.h"

struct pulse_config {
	const char *jsonl_path; /* NULL: no tee */
	uint64_t jsonl_max;	/* rotate at this size; 0 never */
	size_t jsonl_top;	/* flows per line */
	double exit_over_bps;	/* 0: off */
};

struct pulse_run;

/* NULL with one line in @err (the tee's file cannot be opened). A config
 * with nothing on gives a pulse whose ticks do nothing. */
struct pulse_run *pulse_new(const struct pulse_config *cfg, char *err,
			    size_t errlen);

/*
 * pulse_tick - one interval ends at @s (rows copied, not in place; @s is
 * not modified). Appends a line to the tee and checks the threshold over
 * the interval since the previous tick. Returns 1 the first time the
 * traffic rate exceeded --exit-over, else 0. A tee write error is kept
 * for pulse_error (the tee stops; nothing else does).
 */
int pulse_tick(struct pulse_run *p, const struct snapshot *s,
	       const struct report_meta *m);

/* The tee's error line, once: NULL when none is pending. */
const char *pulse_error(struct pulse_run *p);

/* The rate that crossed the threshold, bits per second (0 if none). */
double pulse_exceeded_bps(const struct pulse_run *p);

void pulse_free(struct pulse_run *p);

/* Exit status when --exit-over fired. */
#define PULSE_EXIT_OVER 3

#endif
