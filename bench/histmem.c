/*
 * histmem.c - the rewind history's memory and time (src/history.c) at N
 * flows: a --history window of W seconds recorded from synthetic
 * snapshots in which PCT percent of the flows change every second (the
 * others idle), as the monitor records one snapshot per refresh.
 *
 *	histmem [-w SECONDS] [-m MAX_BYTES] FLOWS PCT
 *
 * Prints one line of key=value words: flows, pct, window_s, held_s (the
 * seconds held at the end), truncated (the cap bit), bytes (what the
 * history holds, history_bytes), records, rss_kb (the process's resident
 * memory growth over the run), record_us (median time of one second's
 * history_record), rewind_us (history_snapshot of the oldest second
 * held, the cursor made from scratch), step_us (one [ in the monitor
 * thirty seconds back: the seconds it rebuilds the table from, the
 * cursor already near), bytes_per_flow_s (bytes / (changing flows x held
 * seconds)).
 * Nothing but memory and CPU: no network, no privileges.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history.h"

#define NS 1000000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	uint64_t window = HISTORY_DEFAULT_S, max = HISTORY_DEFAULT_MAX;
	uint64_t *rec_ns, t0, t1, step_ns = 0;
	struct snapshot s, out;
	struct history *h;
	size_t flows, step, i;
	double pct;
	long rss0, rss1;
	int a = 1, rc;

	while (a + 1 < argc && argv[a][0] == '-') {
		if (!strcmp(argv[a], "-w"))
			window = strtoull(argv[a + 1], NULL, 10);
		else if (!strcmp(argv[a], "-m"))
			max = strtoull(argv[a + 1], NULL, 10);
		else
			break;
		a += 2;
	}
	if (argc - a != 2) {
		fprintf(stderr, "usage: histmem [-w S] [-m BYTES] FLOWS PCT\n");
		return 2;
	}
	flows = strtoul(argv[a], NULL, 10);
	pct = strtod(argv[a + 1], NULL);
	if (!flows || pct < 0 || pct > 100 || !window) {
		fprintf(stderr, "histmem: bad arguments\n");
		return 2;
	}
	/* every step-th flow changes each second */
	step = pct > 0 ? (size_t)(100.0 / pct + 0.5) : 0;
	snapshot_init(&s);
	snapshot_init(&out);
	s.rows = calloc(flows, sizeof(*s.rows));
	rec_ns = calloc(window + 1, sizeof(*rec_ns));
	if (!s.rows || !rec_ns)
		return 1;
	s.nrows = s.rows_cap = flows;
	for (i = 0; i < flows; i++) {
		struct flowtab_row *r = &s.rows[i];

		r->id = i + 1;
		r->key.kind = 1;
		memcpy(r->key.a, &i, sizeof(i));
		r->key.aport = (uint16_t)i;
		r->key.bport = 443;
		r->first_ns = NS;
		r->pkts[0] = r->pkts[1] = 1;
		r->bytes[0] = r->bytes[1] = 100;
		r->last_ns = NS;
	}
	rss0 = rss_kb();
	h = history_new(window, max);
	if (!h)
		return 1;
	for (uint64_t sec = 0; sec <= window; sec++) {
		for (i = 0; step && i < flows; i += step) {
			struct flowtab_row *r = &s.rows[(i + sec) % flows];

			r->pkts[0] += 10;
			r->pkts[1] += 8;
			r->bytes[0] += 14000;
			r->bytes[1] += 640;
			r->last_ns = (sec + 1) * NS;
		}
		s.mono_ns = s.now_ns = (sec + 1) * NS;
		t0 = now_ns();
		rc = history_record(h, &s, s.mono_ns);
		rec_ns[sec] = now_ns() - t0;
		if (rc) {
			fprintf(stderr, "histmem: history_record: %d\n", rc);
			return 1;
		}
	}
	rss1 = rss_kb();
	t0 = now_ns();
	rc = history_snapshot(h, history_oldest(h), &out);
	t1 = now_ns();
	{
		/* as ui.c's rewind_build: the seconds it feeds a new view */
		static const int64_t back[] = { 120, 80, 60, 45, 30, 20, 14, 10,
						7,   5,	 4,  3,	 2,  1,	 0 };
		const size_t nback = sizeof(back) / sizeof(back[0]);
		int64_t at = history_newest(h) - 30;

		for (int pass = 0; pass < 2; pass++, at--) {
			uint64_t u0 = now_ns();

			for (i = 0; i < nback; i++) {
				int64_t x = history_floor(h, at - back[i]);

				if (x != HISTORY_NONE)
					history_snapshot(h, x, &out);
			}
			step_ns = now_ns() - u0;
		}
	}
	qsort(rec_ns, window + 1, sizeof(*rec_ns), cmp_u64);
	{
		int64_t held = history_newest(h) - history_oldest(h);
		double changing = step ? (double)flows / (double)step : 0;

		printf("histmem flows=%zu pct=%g window_s=%llu held_s=%lld "
		       "truncated=%d bytes=%zu records=%llu rss_kb=%ld "
		       "record_us=%llu rewind_us=%llu step_us=%llu "
		       "rewind_rows=%zu rewind_rc=%d bytes_per_flow_s=%.1f\n",
		       flows, pct, (unsigned long long)window, (long long)held,
		       history_truncated(h), history_bytes(h),
		       (unsigned long long)history_records(h),
		       rss0 >= 0 && rss1 >= 0 ? rss1 - rss0 : -1,
		       (unsigned long long)(rec_ns[window / 2] / 1000),
		       (unsigned long long)((t1 - t0) / 1000),
		       (unsigned long long)(step_ns / 1000), out.nrows, rc,
		       changing > 0 && held > 0
			       ? (double)history_bytes(h) /
					 (changing * (double)held)
			       : 0.0);
	}
	history_free(h);
	snapshot_free(&s);
	snapshot_free(&out);
	free(rec_ns);
	return 0;
}
